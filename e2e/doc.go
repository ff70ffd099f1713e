// Package e2e holds the end-to-end test of the whole kit against a real
// Prometheus server: `crossteam demo` (the simulated organisation served on
// loopback, the real collectors, /metrics) is scraped by Prometheus 2.x
// (Debian's `prometheus` package) loaded with the shipped recording and
// alerting rules, and the test then checks, through Prometheus's HTTP API,
// that
//
//   - every PromQL query of every panel of every shipped dashboard
//     (dashboards/json/*.json), after substituting the Grafana variables the
//     way Grafana would, parses and returns data; the template variables'
//     own queries (label_values, query_result) return options too;
//   - every recording rule of dashboards/rules/crossteam.rules.yml produces
//     series;
//   - CrossteamHandoffStalled fires for exactly the stalled handoffs the
//     simulator created (its ground truth, regenerated in the test from the
//     demo's seed and clock), with the demo's labels, links and idle times.
//
// The package has no non-test code. Prometheus missing from the machine
// skips the test, unless CROSSTEAM_REQUIRE_TOOLS=1 (set by `make test` and
// CI), where it is a failure.
package e2e
