// Package deploy holds the files that run crossteam as a stack: the
// Prometheus and Alertmanager configurations and the Grafana provisioning
// used by the repository's docker-compose.yml. It has no Go code of its
// own; its test loads the compose file offline (compose-go) and checks that
// the pieces agree: every bind mount exists in the repository, the exporter
// port matches its listen address and Prometheus' scrape target, rule files
// and dashboards are mounted where the configurations expect them, and
// promtool and amtool accept the configurations.
package deploy
