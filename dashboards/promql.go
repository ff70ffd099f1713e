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

// Milestones across exporter shards (engine/doc.go, "Sharding"; the
// in-process definition is engine.MergeShards). A sharded exporter exports
// every milestone group it has items or records for, whatever its team count
// and however long ago it was completed; one unsharded exporter exports only
// joint groups, and completed ones for keep_completed. milestoneAggs
// aggregates the instances' series into the single exporter's figures (a
// no-op on one exporter):
//   - items and per-team items: sum; a group's teams are the teams whose
//     summed items are above 0; it is joint at MilestoneMinTeams of them;
//   - due date: the earliest;
//   - completed: only when every instance exporting the group (each exports
//     its milestone_items{state="open"} series) exports a completion
//     instant, and then at the latest of them;
//   - shown (what one exporter would export): joint, and not completed more
//     than KeepCompletedDays ago.
const (
	// MilestoneMinTeams is milestones.min_teams (default 2). One exporter
	// exports only groups with that many teams, sharded ones every group,
	// so the boards and rules apply it: deployments that set another
	// min_teams change it here and regenerate.
	MilestoneMinTeams = 2
	// KeepCompletedDays is milestones.keep_completed (default 14d), applied
	// the same way.
	KeepCompletedDays = 14
)

// selector builds a metric selector from a short name and matchers: sel
// for boards, rsel for rules, or lastIn(...) for the last value within a
// window.
type selector func(short string, matchers ...string) string

// msBy aggregates expr per milestone group.
func msBy(agg, expr string) string {
	return fmt.Sprintf("%s by (source, milestone) (%s)", agg, expr)
}

// onGroups keeps the groups of expr that filter also has; parenthesised,
// so it can be an operand (and binds looser than arithmetic).
func onGroups(expr, filter string) string {
	return fmt.Sprintf("((%s)\nand on (source, milestone)\n(%s))", expr, filter)
}

// lastIn reads every selector as its last value within window, so a
// group seen at any time in a dashboard's range counts (a completed group
// leaves a single exporter keep_completed after its completion).
func lastIn(sel selector, window string) selector {
	return func(short string, matchers ...string) string {
		return fmt.Sprintf("last_over_time(%s[%s])", sel(short, matchers...), window)
	}
}

// milestoneAggs are the per-group aggregates across instances, each an
// expression labelled (source, milestone): either computed from the
// exporters' series (milestoneInline) or the recording rules that hold
// them (milestoneRecorded). Every milestone figure on a board or in a rule
// derives from these.
type milestoneAggs struct {
	progress  string // closed / all items (groups with items)
	open      string // open items
	teams     string // teams whose summed items are above 0
	due       string // earliest due date
	completed string // latest completion instant, when every instance says completed
}

// milestoneInline computes the aggregates from the exporters' series.
func milestoneInline(sel selector, extra ...string) milestoneAggs {
	items := func(state string) string {
		if state == "" {
			return sel("milestone_items", extra...)
		}
		return sel("milestone_items", append([]string{`state="` + state + `"`}, extra...)...)
	}
	completed := sel("milestone_completed_timestamp_seconds", extra...)
	return milestoneAggs{
		progress: fmt.Sprintf("%s / (%s > 0)", msBy("sum", items("closed")), msBy("sum", items(""))),
		open:     msBy("sum", items("open")),
		teams:    msBy("count", fmt.Sprintf("sum by (source, milestone, team) (%s) > 0", sel("milestone_team_items", extra...))),
		due:      msBy("min", sel("milestone_due_timestamp_seconds", extra...)),
		// Every instance that exports a group exports its open items.
		completed: onGroups(msBy("max", completed), fmt.Sprintf("%s == %s", msBy("count", completed), msBy("count", items("open")))),
	}
}

// Recording rules of the milestone aggregates (level:metric:operation).
const (
	recMilestoneProgress  = "source_milestone:crossteam_milestone_items:closed_ratio"
	recMilestoneOpen      = "source_milestone:crossteam_milestone_items:open_sum"
	recMilestoneTeams     = "source_milestone:crossteam_milestone_team_items:teams"
	recMilestoneDue       = "source_milestone:crossteam_milestone_due_timestamp_seconds:min"
	recMilestoneCompleted = "source_milestone:crossteam_milestone_completed_timestamp_seconds:max"
)

// milestoneRecorded names the recording rules that hold the aggregates.
func milestoneRecorded() milestoneAggs {
	return milestoneAggs{progress: recMilestoneProgress, open: recMilestoneOpen, teams: recMilestoneTeams,
		due: recMilestoneDue, completed: recMilestoneCompleted}
}

// joint selects the joint groups, valued by their team count.
func (m milestoneAggs) joint() string {
	return fmt.Sprintf("%s >= %d", m.teams, MilestoneMinTeams)
}

// shown selects the groups one exporter would export: joint, and not
// completed more than KeepCompletedDays ago. Valued by the team count.
func (m milestoneAggs) shown() string {
	return fmt.Sprintf("((%s)\nunless on (source, milestone)\n(%s < time() - %d))", m.joint(), m.completed, KeepCompletedDays*86400)
}

// of keeps the shown groups of expr.
func (m milestoneAggs) of(expr string) string { return onGroups(expr, m.shown()) }

// At-risk line for joint milestones. There is no start-date metric, so the
// expected progress is a straight line over the AtRiskHorizonDays before the
// due date: expected = 1 - time_left / horizon. A milestone is at risk when
// it is joint, not completed, due within AtRiskDueDays, and its progress is
// below that line.
const (
	AtRiskDueDays     = 7
	AtRiskHorizonDays = 28
)

// atRisk selects the progress of at-risk milestones.
func (m milestoneAggs) atRisk() string {
	return fmt.Sprintf("(%s)\n< on (source, milestone)\n(1 - (%s - time()) / %d)\nand on (source, milestone)\n((%s - time()) > 0 <= %d)\nand on (source, milestone)\n(%s)\nunless on (source, milestone)\n(%s)",
		m.progress, m.due, AtRiskHorizonDays*86400, m.due, AtRiskDueDays*86400, m.joint(), m.completed)
}

// late selects the open item count of shown milestones past due.
func (m milestoneAggs) late() string {
	return fmt.Sprintf("(%s > 0)\nand on (source, milestone)\n(%s < time())", m.of(m.open), m.due)
}

// milestoneTeamItems is the items per team of each shown group (state:
// open, closed or "" for both), summed over shards and sources (one row per
// milestone title).
func milestoneTeamItems(sel selector, state string, extra ...string) string {
	m := extra
	if state != "" {
		m = append([]string{`state="` + state + `"`}, extra...)
	}
	return fmt.Sprintf("sum by (milestone, team) %s",
		milestoneInline(sel, extra...).of(fmt.Sprintf("sum by (source, milestone, team) (%s)", sel("milestone_team_items", m...))))
}

// milestoneWins is the completion instant of every joint group completed
// within the dashboard's time range (the small wins), from the aggregates'
// last values in the range: right on one exporter (a completed group's
// gauges stay keep_completed after its completion; older completions in
// the range are seen as long as Prometheus keeps them) and on shards,
// where joint_milestones_completed_total counts a group once per shard.
func milestoneWins(sel selector, extra ...string) string {
	in := milestoneInline(lastIn(sel, "$__range"), extra...)
	return onGroups(fmt.Sprintf("%s > time() - $__range_s", in.completed), in.joint())
}

// milestoneWinsWithDue is milestoneWins for the groups with a due date;
// onTime keeps those completed at or before it.
func milestoneWinsWithDue(onTime bool, sel selector, extra ...string) string {
	due := milestoneInline(lastIn(sel, "$__range"), extra...).due
	if onTime {
		return fmt.Sprintf("(%s\n<= on (source, milestone)\n%s)", milestoneWins(sel, extra...), due)
	}
	return onGroups(milestoneWins(sel, extra...), due)
}
