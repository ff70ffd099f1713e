package dashboards

import (
	"fmt"
	"strings"

	"github.com/crossteam/crossteam/catalogue"
)

// Trends over long windows read recording rules, never raw series.
//
// A board's trend panel over 90 days or a year evaluates its expression at
// every step; increase(x[28d]) on raw series rescans 28 days of samples per
// step and per series (about 80,000 samples per series at 30 s scrapes), so
// a year-long panel of per-pair histogram buckets reads tens of billions of
// samples. Instead one rule group per window records the increase of each
// series the boards need over that window, keeping every label a board
// filters or groups on (job, instance, source, the teams, le), evaluated at
// an interval that fits the window: a 28th of it, so a recorded value lags
// its window by under 4% (a 7-day increase moves little in 6 hours) and a
// year of a recorded series is 1,460 or 365 samples, which is what a
// year-long board range reads (make bench-boards measures it).
// Boards and alerts then read the recorded value with
// last_over_time(series[interval]) (a recorded sample is older than
// Prometheus' 5-minute lookback for most of its interval) and aggregate it
// as they need: sums of increases, then quantiles of the sums, so any
// selection of instances, sources and team pairs stays exact.

// trendWindow is one long window and the evaluation interval of its group.
type trendWindow struct {
	Window   string // as in PromQL: 7d, 28d
	Interval string // the group's evaluation interval
}

// TrendWindows are the windows the boards' trends use, each recorded by its
// own group.
var TrendWindows = []trendWindow{{"7d", "6h"}, {"28d", "1d"}}

func windowInterval(w string) string {
	for _, t := range TrendWindows {
		if t.Window == w {
			return t.Interval
		}
	}
	panic(genError{fmt.Errorf("window %s has no recording rule group (TrendWindows)", w)})
}

// trendSeries are the catalogue series (short names, histogram suffixes
// included) whose increase is recorded, per window, with the labels kept.
var trendSeries = map[string][]string{
	"7d": {
		"handoff_pickup_seconds_bucket", "handoff_cycle_seconds_bucket",
		"handoffs_total", "handoff_bounces_total",
		"handoff_pickups_within_agreement_total", "handoff_pickup_seconds_count",
		"handoff_cycles_within_agreement_total", "handoff_cycle_seconds_count",
	},
	"28d": {
		"handoff_pickup_seconds_bucket", "handoff_cycle_seconds_bucket",
		"handoff_pickup_working_seconds_bucket", "handoff_cycle_working_seconds_bucket",
		"item_cycle_seconds_bucket",
		"handoffs_total", "handoff_bounces_total",
		"handoff_waiting_seconds_sum", "handoff_active_seconds_sum", "handoff_blocked_seconds_sum",
		"handoff_pickups_within_agreement_total", "handoff_pickup_seconds_count",
		"handoff_cycles_within_agreement_total", "handoff_cycle_seconds_count",
		"decision_time_to_decide_seconds_bucket", "postmortem_action_close_seconds_bucket",
		"dependency_resolved_seconds_bucket",
	},
}

// baseMetric finds the catalogue metric of a short series name (histogram
// suffixes allowed).
func baseMetric(short string) catalogue.Metric {
	name := metric(short) // stops generation on a stranger
	for _, s := range []string{"_bucket", "_sum", "_count"} {
		if b, ok := catalogue.ByName(strings.TrimSuffix(name, s)); ok && b.Type == catalogue.Histogram && strings.HasSuffix(name, s) {
			return b
		}
	}
	m, _ := catalogue.ByName(name)
	return m
}

// trendLabels are the labels a recorded increase keeps: job and instance
// (so boards filter on them like on raw series), the metric's own labels,
// and le for buckets.
func trendLabels(short string) []string {
	labels := append([]string{"job", "instance"}, baseMetric(short).Labels...)
	if strings.HasSuffix(short, "_bucket") {
		labels = append(labels, "le")
	}
	return labels
}

// trendName is the recorded increase of a series over w, named
// level:metric:operation. The level says which labels survive: "pair"
// (job, instance, source, from_team, to_team), "teams" (job, instance,
// source, teams), "team" (job, instance, signal, source, team) or
// "team_pair" (job, instance, source, blocked_team, blocking_team); le
// stays on buckets.
func trendName(short, w string) string {
	level := "pair"
	switch baseMetric(short).Name {
	case metric("item_cycle_seconds"):
		level = "teams"
	case metric("decision_time_to_decide_seconds"), metric("postmortem_action_close_seconds"):
		level = "team"
	case metric("dependency_resolved_seconds"):
		level = "team_pair" // blocked_team, blocking_team
	}
	return fmt.Sprintf("%s:%s:increase%s", level, metric(short), w)
}

// trendRecorded reports whether short is recorded over w.
func trendRecorded(short, w string) bool {
	for _, s := range trendSeries[w] {
		if s == short {
			return true
		}
	}
	return false
}

// trend is how a board reads the recorded increase of short over w: the
// last recorded value (within the group's interval), with the job and
// instance matchers and the given ones. A series not recorded over w stops
// generation.
func trend(short, w string, matchers ...string) string {
	return trendAt(short, w, "", matchers...)
}

// trendAt is trend with an offset ("" for none).
func trendAt(short, w, offset string, matchers ...string) string {
	if !trendRecorded(short, w) {
		panic(genError{fmt.Errorf("%s is not recorded over %s (trendSeries)", short, w)})
	}
	checkLabels(metric(short), matchers)
	all := append([]string{jobMatcher, instanceMatcher}, matchers...)
	off := ""
	if offset != "" {
		off = " offset " + offset
	}
	return fmt.Sprintf("last_over_time(%s{%s}[%s]%s)", trendName(short, w), strings.Join(all, ", "), windowInterval(w), off)
}

// rtrend is how a rule of the same group reads a recorded increase:
// the group evaluates in order, so the value just written is there.
func rtrend(short, w string, matchers ...string) string {
	if !trendRecorded(short, w) {
		panic(genError{fmt.Errorf("%s is not recorded over %s (trendSeries)", short, w)})
	}
	checkLabels(metric(short), matchers)
	if len(matchers) == 0 {
		return trendName(short, w)
	}
	return trendName(short, w) + "{" + strings.Join(matchers, ", ") + "}"
}

// trendQuantile is the q-quantile of a recorded bucket increase, summed
// by the given labels (any selection of instances and sources adds up).
func trendQuantile(q float64, bucketShort, w string, matchers []string, by ...string) string {
	labels := append([]string{"le"}, by...)
	return fmt.Sprintf("histogram_quantile(%g, sum by (%s) (%s))", q, strings.Join(labels, ", "), trend(bucketShort, w, matchers...))
}

// trendSum sums a recorded increase by the given labels.
func trendSum(short, w string, matchers []string, by ...string) string {
	if len(by) == 0 {
		return fmt.Sprintf("sum(%s)", trend(short, w, matchers...))
	}
	return fmt.Sprintf("sum by (%s) (%s)", strings.Join(by, ", "), trend(short, w, matchers...))
}

// trendRules are the increase recording rules of window w.
func trendRules(w string) []Rule {
	var rules []Rule
	for _, short := range trendSeries[w] {
		rules = append(rules, Rule{Record: trendName(short, w),
			Expr: fmt.Sprintf("sum by (%s) (increase(%s[%s]))", strings.Join(trendLabels(short), ", "), rsel(short), w)})
	}
	return rules
}

// trendRecordedLabels maps every recorded increase (and level series) to
// the labels it keeps
// (for the tests' catalogue check).
func trendRecordedLabels() map[string][]string {
	out := map[string][]string{}
	for _, t := range TrendWindows {
		for _, short := range trendSeries[t.Window] {
			out[trendName(short, t.Window)] = trendLabels(short)
		}
	}
	for name, labels := range levelRecordedLabels() {
		out[name] = labels
	}
	return out
}

// Levels recorded from the pair increases, so that a panel reads tens or
// hundreds of series at each step instead of the thousands of per-pair
// bucket series (380 pairs x 12 buckets x sources x exporter shards at 20
// teams): per-pair quantiles for the panels that draw a line per pair, and
// bucket increases summed over the sending team for the panels that draw
// one line for all selected pairs measured in the receiving team's working
// hours. Both keep job, instance, source and the teams they are about.

// TrendMaxDataPoints is the maxDataPoints of the trend boards' timeseries
// panels. Grafana rounds range/maxDataPoints to a step (kbn.roundInterval):
// 1d for ranges of 50 to 350 days (90 points over 90 days), 1w over a year
// (52 points), and a trend panel's step is never finer than its rule
// group's interval (the panel's interval), which repeats recorded values.
const TrendMaxDataPoints = 50

// quantileHistograms are the histograms whose per-pair quantiles are
// recorded, and pairQuantiles the quantiles.
var (
	quantileHistograms = []string{"handoff_pickup_seconds", "handoff_cycle_seconds"}
	pairQuantiles      = []struct {
		Q    float64
		Name string
	}{{0.5, "p50"}, {0.9, "p90"}}
)

// pairLabels are the labels of the pair level without le.
var pairLabels = []string{"job", "instance", "source", "from_team", "to_team"}

// toTeamLabels are the labels of the to_team level without le.
var toTeamLabels = []string{"job", "instance", "source", "to_team"}

// toTeamSeries are the bucket increases also recorded summed over
// from_team, per window.
var toTeamSeries = map[string][]string{
	"28d": {"handoff_pickup_seconds_bucket", "handoff_pickup_working_seconds_bucket",
		"handoff_cycle_seconds_bucket", "handoff_cycle_working_seconds_bucket"},
}

// pairQuantileName is the recorded name quantile name ("p50") of
// histogram h (short name) over w, per pair.
func pairQuantileName(h, name, w string) string {
	return fmt.Sprintf("pair:%s:%s_%s", metric(h), name, w)
}

// toTeamName is the recorded increase of a bucket series over w summed
// over from_team.
func toTeamName(short, w string) string {
	return fmt.Sprintf("to_team:%s:increase%s", metric(short), w)
}

// levelRules are the per-pair quantiles and the to_team bucket sums of
// window w, read from the increases the same group has just recorded.
func levelRules(w string) []Rule {
	var rules []Rule
	for _, short := range toTeamSeries[w] {
		rules = append(rules, Rule{Record: toTeamName(short, w),
			Expr: fmt.Sprintf("sum by (%s, le) (%s)", strings.Join(toTeamLabels, ", "), rtrend(short, w))})
	}
	for _, h := range quantileHistograms {
		for _, p := range pairQuantiles {
			rules = append(rules, Rule{Record: pairQuantileName(h, p.Name, w),
				Expr: fmt.Sprintf("histogram_quantile(%g, sum by (%s, le) (%s))", p.Q, strings.Join(pairLabels, ", "), rtrend(h+"_bucket", w))})
		}
	}
	return rules
}

// levelRecordedLabels maps the level series to the labels they keep.
func levelRecordedLabels() map[string][]string {
	out := map[string][]string{}
	for _, t := range TrendWindows {
		for _, short := range toTeamSeries[t.Window] {
			out[toTeamName(short, t.Window)] = append(append([]string(nil), toTeamLabels...), "le")
		}
		for _, h := range quantileHistograms {
			for _, p := range pairQuantiles {
				out[pairQuantileName(h, p.Name, t.Window)] = pairLabels
			}
		}
	}
	return out
}

// pairQuantileTrend is how a board reads a recorded per-pair quantile: its
// last value within the group's interval, one series per pair, source and
// exporter shard.
func pairQuantileTrend(h, name, w string, matchers ...string) string {
	checkLabels(metric(h), matchers)
	all := append([]string{jobMatcher, instanceMatcher}, matchers...)
	return fmt.Sprintf("last_over_time(%s{%s}[%s])", pairQuantileName(h, name, w), strings.Join(all, ", "), windowInterval(w))
}

// toTeamQuantile is the q-quantile of a to_team bucket sum over w, all
// selected receiving teams (and sources and shards) together; matchers may
// name only to_team.
func toTeamQuantile(q float64, short, w string, matchers ...string) string {
	ok := false
	for _, s := range toTeamSeries[w] {
		ok = ok || s == short
	}
	if !ok {
		panic(genError{fmt.Errorf("%s is not recorded per to_team over %s (toTeamSeries)", short, w)})
	}
	checkLabels(metric(short), matchers)
	all := append([]string{jobMatcher, instanceMatcher}, matchers...)
	return fmt.Sprintf("histogram_quantile(%g, sum by (le) (last_over_time(%s{%s}[%s])))", q, toTeamName(short, w), strings.Join(all, ", "), windowInterval(w))
}
