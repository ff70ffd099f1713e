package dashboards

import (
	"fmt"
	"strings"

	"github.com/crossteam/crossteam/catalogue"
)

// Matchers that every dashboard query carries so one board can show one
// exporter job, one shard or all of them summed.
const (
	jobMatcher      = `job=~"$job"`
	instanceMatcher = `instance=~"$instance"`
	fromTeamMatcher = `from_team=~"$from_team"`
	toTeamMatcher   = `to_team=~"$to_team"`
)

// FixedWindows are the range windows a query may use instead of
// $__rate_interval, deliberately: the p50/p90 windows of the issue (7d,
// 28d), a week per bar, and the panel's own range for "this quarter so far"
// stats. The linter test allows exactly these.
var FixedWindows = []string{"7d", "28d", "1w", "$__range"}

// genError is raised inside the generator when a query names a metric or a
// label the catalogue lacks; All turns it into an error.
type genError struct{ err error }

// metric returns the full name of a catalogue metric given without the
// namespace; a name outside the catalogue stops generation.
func metric(short string) string {
	name := catalogue.Namespace + "_" + short
	if _, ok := catalogue.ByName(name); !ok {
		panic(genError{fmt.Errorf("metric %s is not in the catalogue", name)})
	}
	return name
}

// checkLabels stops generation when a matcher names a label the metric does
// not carry (job and instance are added by Prometheus, le by histograms).
func checkLabels(name string, matchers []string) {
	m, _ := catalogue.ByName(name)
	for _, mt := range matchers {
		label := mt[:strings.IndexAny(mt, "=!")]
		if label == "job" || label == "instance" || (label == "le" && m.Type == catalogue.Histogram) {
			continue
		}
		found := false
		for _, l := range m.Labels {
			found = found || l == label
		}
		if !found {
			panic(genError{fmt.Errorf("metric %s has no label %q", name, label)})
		}
	}
}

// sel is a dashboard selector: the metric (short name, histogram suffixes
// allowed) with the job and instance matchers plus the given ones.
func sel(short string, matchers ...string) string {
	name := metric(short)
	checkLabels(name, matchers)
	all := append([]string{jobMatcher, instanceMatcher}, matchers...)
	return name + "{" + strings.Join(all, ", ") + "}"
}

// rsel is a rule selector: no dashboard variables.
func rsel(short string, matchers ...string) string {
	name := metric(short)
	checkLabels(name, matchers)
	if len(matchers) == 0 {
		return name
	}
	return name + "{" + strings.Join(matchers, ", ") + "}"
}

// pairQuantile is the q-quantile of a per-pair histogram over window,
// summed over sources and exporter shards: the histograms are cumulative
// over the stored history, so increase() over the window keeps only the
// handoffs whose time was observed inside it.
func pairQuantile(q float64, bucketSelector, window string, by ...string) string {
	labels := append([]string{"le"}, by...)
	return fmt.Sprintf("histogram_quantile(%g, sum by (%s) (increase(%s[%s])))",
		q, strings.Join(labels, ", "), bucketSelector, window)
}

// milestoneProgress is closed / all items per joint milestone, summed over
// shards (a milestone grouped across repos may be split between shards).
func milestoneProgress(sel func(string, ...string) string, extra ...string) string {
	closed := sel("milestone_items", append([]string{`state="closed"`}, extra...)...)
	all := sel("milestone_items", extra...)
	return fmt.Sprintf("sum by (source, milestone) (%s) / sum by (source, milestone) (%s)", closed, all)
}

// milestoneDue is the earliest due date per joint milestone.
func milestoneDue(sel func(string, ...string) string, extra ...string) string {
	return fmt.Sprintf("min by (source, milestone) (%s)", sel("milestone_due_timestamp_seconds", extra...))
}

// milestoneOpen is the open item count per joint milestone.
func milestoneOpen(sel func(string, ...string) string, extra ...string) string {
	return fmt.Sprintf("sum by (source, milestone) (%s)", sel("milestone_items", append([]string{`state="open"`}, extra...)...))
}

// milestoneTeamCount counts the teams with items in a milestone by counting
// per-team series, which stays right when shards each see some teams.
func milestoneTeamCount(sel func(string, ...string) string, extra ...string) string {
	return fmt.Sprintf("count by (source, milestone) (sum by (source, milestone, team) (%s))", sel("milestone_team_items", extra...))
}

// At-risk line for joint milestones. There is no start-date metric, so the
// expected progress is a straight line over the AtRiskHorizonDays before the
// due date: expected = 1 - time_left / horizon. A milestone is at risk when
// it is due within AtRiskDueDays and its progress is below that line.
const (
	AtRiskDueDays     = 7
	AtRiskHorizonDays = 28
)

// milestoneAtRisk selects the progress of at-risk milestones.
func milestoneAtRisk(sel func(string, ...string) string, extra ...string) string {
	due := milestoneDue(sel, extra...)
	return fmt.Sprintf("(%s)\n< on (source, milestone)\n(1 - (%s - time()) / %d)\nand on (source, milestone)\n((%s - time()) > 0 <= %d)",
		milestoneProgress(sel, extra...), due, AtRiskHorizonDays*86400, due, AtRiskDueDays*86400)
}

// milestoneLate selects the open item count of milestones past due.
func milestoneLate(sel func(string, ...string) string, extra ...string) string {
	return fmt.Sprintf("(%s > 0)\nand on (source, milestone)\n(%s < time())", milestoneOpen(sel, extra...), milestoneDue(sel, extra...))
}
