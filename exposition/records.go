package exposition

import (
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/crossteam/crossteam/catalogue"
	"github.com/crossteam/crossteam/engine"
)

// collectRecords exposes the record figures of a snapshot: decisions,
// post-mortem actions and cross-team dependencies (engine/records.go).
// Count gauges and histograms are exported for every team (pair) with a
// record (dependency), histograms with zero observations until the first:
// a series that exists before its first observation lets increase() over
// a window count that observation (catalogue: series presence).
func (c *SnapshotCollector) collectRecords(ch chan<- prometheus.Metric, r *engine.Records) {
	gauge := func(name string, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(c.d(name), prometheus.GaugeValue, v, labels...)
	}
	hist := func(name string, h *engine.Histogram, labels ...string) {
		ch <- prometheus.MustNewConstHistogram(c.d(name), h.Count, h.Sum, h.Cumulative(), labels...)
	}
	invalid := map[[2]string]int{}
	for _, d := range r.Decisions {
		invalid[[2]string{d.Signal, d.Source}] += 0
		gauge("decision_records", float64(d.Open), d.Signal, d.Source, d.Team, engine.DecisionOpen)
		gauge("decision_records", float64(d.Decided), d.Signal, d.Source, d.Team, engine.DecisionDecided)
		gauge("decision_records", float64(d.RevisitDue), d.Signal, d.Source, d.Team, engine.DecisionRevisitDue)
		hist("decision_time_to_decide_seconds", &d.Decide, d.Signal, d.Source, d.Team)
	}
	for _, a := range r.Actions {
		invalid[[2]string{a.Signal, a.Source}] += 0
		gauge("postmortem_actions_open", float64(a.Open), a.Signal, a.Source, a.Team)
		gauge("postmortem_actions_overdue", float64(a.Overdue), a.Signal, a.Source, a.Team)
		hist("postmortem_action_close_seconds", &a.Close, a.Signal, a.Source, a.Team)
	}
	for k, n := range r.InvalidDates {
		invalid[k] += n
	}
	for k, n := range invalid {
		gauge("record_dates_invalid", float64(n), k[0], k[1])
	}
	for _, d := range r.DecisionList {
		key, title := catalogue.CapLabelValue(d.Key), catalogue.CapLabelValue(d.Title)
		gauge("decision_info", 1, d.Signal, d.Source, key, catalogue.CapLabelValue(d.URL), title, d.Team,
			catalogue.CapLabelValue(strings.Join(d.Teams, ",")), d.State, day(d.Opened), day(d.Decided), day(d.Revisit))
		if !d.Decided.IsZero() {
			gauge("decision_decided_timestamp_seconds", float64(d.Decided.Unix()), d.Signal, d.Source, key, title, d.Team)
		}
	}
	for _, a := range r.OverdueList {
		gauge("postmortem_action_overdue_seconds", a.Overdue.Seconds(), a.Signal, a.Source, catalogue.CapLabelValue(a.Key),
			catalogue.CapLabelValue(a.URL), catalogue.CapLabelValue(a.Title), a.Team)
	}
	for _, d := range r.Dependencies {
		gauge("dependencies_open", float64(d.Open), d.Source, d.Blocked, d.Blocking)
		gauge("dependency_oldest_open_seconds", d.Oldest.Seconds(), d.Source, d.Blocked, d.Blocking)
		hist("dependency_resolved_seconds", &d.Resolved, d.Source, d.Blocked, d.Blocking)
	}
	for _, d := range r.DependencyList {
		gauge("dependency_open_seconds", d.Age.Seconds(), d.Source, catalogue.CapLabelValue(d.BlockedKey), catalogue.CapLabelValue(d.BlockingKey),
			catalogue.CapLabelValue(d.URL), catalogue.CapLabelValue(d.Title), d.Blocked, d.Blocking)
	}
	gauge("records_unexported", float64(r.DecisionTotal-len(r.DecisionList)), "decisions")
	gauge("records_unexported", float64(r.OverdueTotal-len(r.OverdueList)), "postmortem_actions")
	gauge("records_unexported", float64(r.DependencyTotal-len(r.DependencyList)), "dependencies")
}

// day renders a date label value: YYYY-MM-DD (UTC), empty for none.
func day(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02")
}
