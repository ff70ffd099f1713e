// Package e2e holds the end-to-end test of the whole kit against a real
// Prometheus server: `crossteam demo` (the simulated organisation served on
// loopback, the real collectors, /metrics) is scraped by Prometheus 2.x
// (Debian's `prometheus` package) loaded with the shipped recording and
// alerting rules and with the demo's earlier history (backfilled with
// promtool from engine snapshots of the simulator's dataset, so the boards'
// 7d/28d/90d windows have something to measure), and the test then checks,
// through Prometheus's HTTP API, that
//
//   - every PromQL query of every panel of every shipped dashboard
//     (dashboards/json/*.json), after substituting the Grafana variables the
//     way Grafana would, parses and returns data (and the single-number
//     handoff panels equal the ground truth); the template variables' own
//     queries (label_values, query_result) return the demo's job and teams;
//   - every recording rule of dashboards/rules/crossteam.rules.yml produces
//     series;
//   - CrossteamHandoffStalled fires for exactly the stalled handoffs the
//     simulator created (its ground truth, regenerated in the test from the
//     demo's seed and clock), with the demo's labels, links and idle times.
//
// The package has no non-test code. Prometheus or promtool missing from the
// machine skips the test, unless CROSSTEAM_REQUIRE_TOOLS=1 (set by `make
// test` and CI), where it is a failure.
package e2e
