// Package screenshots draws a picture of a crossteam board: it reads a
// board's Grafana JSON model (dashboards/json/*.json), runs each panel's
// PromQL against a real Prometheus the way Grafana's Prometheus data
// source sends it (instant targets at the board's end, range targets over
// the panel's time range at the step Grafana picks for the panel's width,
// with the board's variables substituted by the caller's Expander), and
// draws what each panel shows with gonum.org/v1/plot, one PNG per board:
//
//   - rows as headings, every panel at its gridPos on a 24-column grid;
//   - time series as lines (or stacked bars for drawStyle "bars"), one per
//     returned series, named by the target's legendFormat, with the legend
//     under the plot and the y axis in the panel's unit;
//   - stat panels as one big number (lastNotNull of each returned series),
//     coloured by the panel's thresholds;
//   - tables (and the node graph, which has no picture here) as text rows:
//     the frames of the instant table queries after the panel's merge,
//     groupingToMatrix and organize transformations, hidden columns left
//     out, sorted by the panel's sortBy, values in each column's unit.
//
// It is not Grafana and does not try to look like it pixel for pixel: no
// tooltips, thresholds lines, value mappings beyond yes/no, cell gauges or
// links. What it shows is what the panels' own queries return from the
// Prometheus it is given, so the pictures in docs/screenshots (make
// screenshots: the demo fed into a real Prometheus by the end-to-end test's
// set-up) are the numbers a user of the boards would see.
package screenshots
