package dashboards

import (
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

var pairM = []string{fromTeamMatcher, toTeamMatcher}

func with(base []string, more ...string) []string {
	return append(append([]string(nil), base...), more...)
}

// stalledTable lists one row per stalled handoff, the key linking to the
// item in GitHub or Jira.
func stalledTable(title, desc string, matchers ...string) *tableBuilder {
	t := tablePanel(title, desc, "s", 24, 9, q{expr: fmt.Sprintf(
		"time() - min by (source, kind, key, title, url, from_team, to_team) (%s)", sel("stalled_handoff_idle_since_timestamp_seconds", matchers...))}).
		WithTransformation(organize([]string{"Time"}, map[string]string{"Value": "idle"},
			[]string{"key", "title", "from_team", "to_team", "idle", "kind", "source", "url"})).
		OverrideByName("key", itemLink("key")).
		OverrideByName("url", []dashboard.DynamicConfigValue{{Id: "custom.hidden", Value: true}}).
		SortBy(sortDesc("idle"))
	return t
}

func overviewBoard(self Board) *dashboard.DashboardBuilder {
	b := newBoard(self, "The shared board: handoffs stuck between teams right now, how fast each team picks up work from each other team, and how the milestones that several teams share are going.", pairVars()...)
	b.Annotation(decisionAnnotation())
	b.WithRow(dashboard.NewRowBuilder("Right now"))
	b.WithPanel(statPanel("Handoffs stalled now",
		"Open handoffs where the receiving team has not acted for longer than the pair's stall_after (72h unless configured). Counted by the exporter from stored GitHub/Jira events; red as soon as one handoff is stalled.",
		"short", 6, 5, thresholds(1.0, "red"),
		q{expr: fmt.Sprintf("sum(%s) or vector(0)", sel("handoffs_stalled", pairM...))}))
	b.WithPanel(statPanel("Waiting for pickup",
		"Open handoffs that the receiving team has not touched yet (no comment, review, status change or other activity by one of its members since the handoff).",
		"short", 6, 5, nil,
		q{expr: fmt.Sprintf("sum(%s) or vector(0)", sel("handoffs_open", with(pairM, `state="waiting"`)...))}))
	b.WithPanel(statPanel("In progress",
		"Open handoffs that the receiving team has picked up but not finished (not passed on, closed or approved yet).",
		"short", 6, 5, nil,
		q{expr: fmt.Sprintf("sum(%s) or vector(0)", sel("handoffs_open", with(pairM, `state="in_progress"`)...))}))
	b.WithPanel(statPanel("Stalled but not listed",
		"Stalled handoffs left out of the table below because the exporter caps per-item series (handoffs.max_stalled_exported). Not filtered by team. Amber when the table is incomplete.",
		"short", 6, 5, thresholds(1.0, "orange"),
		q{expr: fmt.Sprintf("sum(%s) or vector(0)", sel("stalled_handoffs_unexported"))}))
	b.WithPanel(stalledTable("Stalled handoffs",
		"One row per stalled handoff, longest idle first: the item (click the key to open it in GitHub or Jira), the team that handed it over, the team it waits on, and how long since the receiving team last acted on it (calendar time).",
		pairM...))

	b.WithRow(dashboard.NewRowBuilder("Team pairs"))
	for _, p := range []struct {
		quantile float64
		name     string
	}{{0.5, "p50"}, {0.9, "p90"}} {
		b.WithPanel(tablePanel(fmt.Sprintf("Pickup time %s, from team (rows) x to team (columns), last 28d", p.name),
			fmt.Sprintf("For handoffs picked up in the last 28 days: the time from the handoff to the first activity by the receiving team, %s: %s of those pickups took less than this. Calendar time, estimated from histogram buckets (15m to 30d), so values are bucket-interpolated. Empty cells: no pickups for that pair in the window.", p.name, map[string]string{"p50": "half", "p90": "90%"}[p.name]),
			"s", 12, 8,
			q{expr: trendQuantile(p.quantile, "handoff_pickup_seconds_bucket", "28d", pairM, "from_team", "to_team")}).
			WithTransformation(matrix("from_team", "to_team", "Value")))
	}
	b.WithPanel(trendPanel("7d", "Handoffs per week",
		"How many times work passed from one team to another in each week, by team pair: the increase over 7 days of the handoff counter (which the exporter computes from the whole stored history), as recorded by the 7d trend rules.",
		"short", 24, 8,
		q{expr: trendSum("handoffs_total", "7d", pairM, "from_team", "to_team"), legend: "{{from_team}} → {{to_team}}"}).
		Interval("1w").DrawStyle(common.GraphDrawStyleBars).FillOpacity(80).
		Stacking(common.NewStackingConfigBuilder().Mode(common.StackingModeNormal).Group("A")))

	b.WithRow(dashboard.NewRowBuilder("Joint milestones"))
	ms := milestoneInline(sel)
	inProgress := fmt.Sprintf("and on (source, milestone) (%s > 0)", ms.of(ms.open))
	b.WithPanel(tablePanel("Joint milestones in progress",
		"Milestones (GitHub milestones grouped by title, Jira fix versions by name) that at least two teams contribute to and that still have open items. Progress = closed items / all items; due in = time left until the earliest due date of the group (negative: overdue); teams = how many teams owned or acted on its items.",
		"short", 16, 9,
		q{expr: fmt.Sprintf("(%s)\n%s", ms.progress, inProgress)},
		q{expr: fmt.Sprintf("(%s - time())\n%s", ms.due, inProgress)},
		q{expr: fmt.Sprintf("%s\n%s", ms.shown(), inProgress)},
		q{expr: fmt.Sprintf("%s > 0", ms.of(ms.open))}).
		WithTransformation(merge()).
		WithTransformation(organize([]string{"Time"},
			map[string]string{"Value #A": "progress", "Value #B": "due in", "Value #C": "teams", "Value #D": "open items"},
			[]string{"milestone", "progress", "due in", "open items", "teams", "source"})).
		OverrideByName("progress", progressBar()).
		OverrideByName("due in", unitOverride("s")).
		SortBy(sortAsc("due in")))
	b.WithPanel(statPanel("Small wins this quarter",
		"Joint milestones completed since the start of this quarter: every milestone that two or more teams finished together counts once, whether or not it met its due date. Counted from the milestone gauges (completion instant inside the range), so a milestone split between exporter shards counts once.",
		"short", 4, 9, thresholds(1.0, "blue"),
		q{expr: fmt.Sprintf("count(%s) or vector(0)", milestoneWins(sel))}).
		TimeFrom("now/fQ"))
	b.WithPanel(statPanel("On time this quarter",
		"Of the joint milestones completed this quarter that had a due date, the share completed on or before it (the earliest due date of the group). Milestones without a due date are left out; no data when none was completed.",
		"percentunit", 4, 9, thresholds(0.5, "yellow", 0.8, "blue"),
		q{expr: fmt.Sprintf("(count(%s) or vector(0))\n/\ncount(%s)", milestoneWinsWithDue(true, sel), milestoneWinsWithDue(false, sel))}).
		TimeFrom("now/fQ").ColorMode(common.BigValueColorModeValue))
	b.WithPanel(tablePanel("Faster handoffs: small wins, last 28d vs the 28d before",
		fmt.Sprintf("Team pairs whose median pickup time over the last 28 days is at least %.0f%% below the 28 days before (with %d or more pickups in each window): a streamlined handoff is a win for both teams. Faster = 1 - median now / median before; calendar time, estimated from histogram buckets.", 100*FasterMargin, FasterMinPickups),
		"percentunit", 24, 7,
		q{expr: fasterPairs(
			func(short string) string { return trend(short, "28d", pairM...) },
			func(short string) string { return trendAt(short, "28d", "28d", pairM...) })}).
		WithTransformation(organize([]string{"Time"}, map[string]string{"Value": "faster"}, []string{"from_team", "to_team", "faster"})).
		SortBy(sortDesc("faster")))
	return b
}

func handoffsBoard(self Board) *dashboard.DashboardBuilder {
	b := newBoard(self, "Trends of handoffs between teams: how long the receiving team takes to pick work up and to finish it, how often work bounces back, and how much waits.", pairVars()...)
	b.Annotation(decisionAnnotation())
	pair := "{{from_team}} → {{to_team}}"
	for _, h := range []struct{ short, what, def string }{
		{"handoff_pickup", "Pickup time", "time from the handoff to the first activity by the receiving team"},
		{"handoff_cycle", "Cycle time", "time from the handoff until the receiving team is done with it (passed it on, closed it or approved it)"},
	} {
		b.WithRow(dashboard.NewRowBuilder(h.what))
		for _, w := range []string{"7d", "28d"} {
			b.WithPanel(trendPanel(w, fmt.Sprintf("%s p50 and p90, %s window", h.what, w),
				fmt.Sprintf("%s = %s, calendar time. Each point covers the handoffs whose time ended in the %s before it: p50 is the median, p90 the time that 90%% stayed under. Estimated from histogram buckets (15m to 30d), per team pair and source (GitHub, Jira), as recorded by the %s trend rules; with several exporter shards selected, one line per shard.", h.what, h.def, w, w),
				"s", 12, 8,
				q{expr: pairQuantileTrend(h.short+"_seconds", "p50", w, pairM...), legend: pair + " {{source}} p50"},
				q{expr: pairQuantileTrend(h.short+"_seconds", "p90", w, pairM...), legend: pair + " {{source}} p90"}))
		}
	}

	b.WithRow(dashboard.NewRowBuilder("Flow"))
	b.WithPanel(timeseriesPanel("Waiting vs in progress",
		"Open handoffs by state: waiting = the receiving team has not acted yet; in_progress = picked up, not finished. Summed over the selected team pairs.",
		"short", 12, 8,
		q{expr: fmt.Sprintf("sum by (state) (%s)", sel("handoffs_open", pairM...)), legend: "{{state}}"}).
		MaxDataPoints(TrendMaxDataPoints).Stacking(common.NewStackingConfigBuilder().Mode(common.StackingModeNormal).Group("A")))
	b.WithPanel(timeseriesPanel("Oldest handoff waiting for pickup",
		"Per team pair, the age of the oldest handoff the receiving team has not picked up yet (calendar time, from the instant it was handed over); no line while nothing waits.",
		"s", 12, 8,
		q{expr: fmt.Sprintf("time() - min by (from_team, to_team) (%s)", sel("handoff_oldest_waiting_timestamp_seconds", pairM...)), legend: pair}).
		MaxDataPoints(TrendMaxDataPoints))
	b.WithPanel(trendPanel("7d", "Bounces per week",
		"Handoffs that the receiving team handed straight back to the team it came from, per week (the recorded increase over 7 days of the bounce counter), by the original pair.",
		"short", 12, 8,
		q{expr: trendSum("handoff_bounces_total", "7d", pairM, "from_team", "to_team"), legend: pair}).
		Interval("1w").DrawStyle(common.GraphDrawStyleBars).FillOpacity(80))
	b.WithPanel(trendPanel("28d", "Bounce ratio, 28d window",
		"Share of the handoffs in the last 28 days that bounced: bounces divided by handoffs for the same pair and window.",
		"percentunit", 12, 8,
		q{expr: fmt.Sprintf("%s\n/\n%s", trendSum("handoff_bounces_total", "28d", pairM, "from_team", "to_team"),
			trendSum("handoffs_total", "28d", pairM, "from_team", "to_team")), legend: pair}))
	b.WithPanel(timeseriesPanel("Stalled handoffs",
		"Open handoffs with no activity by the receiving team for longer than the pair's stall_after, by team pair.",
		"short", 24, 8,
		q{expr: fmt.Sprintf("sum by (from_team, to_team) (%s)", sel("handoffs_stalled", pairM...)), legend: pair}).
		MaxDataPoints(TrendMaxDataPoints))

	flowSum := func(short string) string {
		return trendSum(short+"_seconds_sum", "28d", pairM, "from_team", "to_team")
	}
	b.WithPanel(trendPanel("28d", "Where the time goes, 28d window",
		"For the handoffs done in the 28 days before each point, all selected pairs together: the time they waited for the receiving team, were active with it, and were blocked (a blocked label or Jira status, flow in the config). The three add up to the handoffs' cycle time. Calendar time.",
		"s", 12, 8,
		q{expr: trendSum("handoff_waiting_seconds_sum", "28d", pairM), legend: "waiting"},
		q{expr: trendSum("handoff_active_seconds_sum", "28d", pairM), legend: "active"},
		q{expr: trendSum("handoff_blocked_seconds_sum", "28d", pairM), legend: "blocked"}).
		Stacking(common.NewStackingConfigBuilder().Mode(common.StackingModeNormal).Group("A")))
	b.WithPanel(trendPanel("28d", "Flow efficiency, 28d window",
		"Per team pair, of the time handoffs done in the last 28 days spent between handoff and done, the share the receiving team was actively on them: active / (active + waiting + blocked). Low: work mostly waits in a queue or is blocked, not worked on.",
		"percentunit", 12, 8,
		q{expr: fmt.Sprintf("%s\n/\n(%s + %s + %s)", flowSum("handoff_active"), flowSum("handoff_active"), flowSum("handoff_waiting"), flowSum("handoff_blocked")), legend: pair}))

	b.WithPanel(trendPanel("28d", "Item cycle time p50 by number of teams involved, 28d window",
		"Median time from creation to close of the items closed in the 28 days before each point, split by how many teams owned or acted on them (1, 2, 3, 4+): what it costs when work crosses team lines. Not filtered by the team variables (items have no team pair).",
		"s", 24, 8,
		q{expr: trendQuantile(0.5, "item_cycle_seconds_bucket", "28d", nil, "teams"), legend: "{{teams}} team(s)"}))

	b.WithRow(dashboard.NewRowBuilder("Calendar vs working time"))
	for _, h := range []struct{ short, what string }{{"handoff_pickup", "Pickup time"}, {"handoff_cycle", "Cycle time"}} {
		b.WithPanel(trendPanel("28d", fmt.Sprintf("%s p50: calendar vs working hours, 28d window", h.what),
			"The same handoffs measured two ways: calendar time, and only the receiving team's working hours (its calendar: weekdays, hours, time zone, holidays). A large gap means work mostly waits over nights and weekends, not on the team. Median over the last 28 days of the handoffs to the selected receiving teams (To team) from every team, all together: filtered by To team only, the team whose calendar counts (recorded per receiving team).",
			"s", 12, 8,
			q{expr: toTeamQuantile(0.5, h.short+"_seconds_bucket", "28d", toTeamMatcher), legend: "calendar"},
			q{expr: toTeamQuantile(0.5, h.short+"_working_seconds_bucket", "28d", toTeamMatcher), legend: "working hours"}))
	}
	return b
}

func milestonesBoard(self Board) *dashboard.DashboardBuilder {
	msVar := queryVar("milestone", "Milestone", `label_values(`+metric("milestone_items")+`{job=~"$job"}, milestone)`, true)
	b := newBoard(self, fmt.Sprintf("Milestones that several teams share: progress, which teams contribute, due dates, and which are late or at risk. At risk = due within %d days and progress below a straight line over the %d days before the due date.", AtRiskDueDays, AtRiskHorizonDays), msVar)
	mm := `milestone=~"$milestone"`
	ms := milestoneInline(sel, mm)
	b.WithRow(dashboard.NewRowBuilder("Status"))
	b.WithPanel(statPanel("Open joint milestones",
		"Joint milestones (at least two contributing teams) that still have open items.",
		"short", 6, 5, nil, q{expr: fmt.Sprintf("count(%s > 0) or vector(0)", ms.of(ms.open))}))
	b.WithPanel(statPanel("Late",
		"Joint milestones past their due date that still have open items. Red when any is late.",
		"short", 6, 5, thresholds(1.0, "red"), q{expr: fmt.Sprintf("count(%s) or vector(0)", ms.late())}))
	b.WithPanel(statPanel("At risk",
		fmt.Sprintf("Joint milestones due within %d days whose progress (closed / all items) is below the expected line: 1 - time left / %d days, i.e. as if the work were spread evenly over the %d days before the due date. Orange when any is at risk.", AtRiskDueDays, AtRiskHorizonDays, AtRiskHorizonDays),
		"short", 6, 5, thresholds(1.0, "orange"), q{expr: fmt.Sprintf("count(%s) or vector(0)", ms.atRisk())}))
	b.WithPanel(statPanel("Completed in the time range",
		"Joint milestones completed within the dashboard's time range (the small wins), whether or not on time: groups whose completion instant, as last exported in the range, falls inside it.",
		"short", 6, 5, thresholds(1.0, "blue"),
		q{expr: fmt.Sprintf("count(%s) or vector(0)", milestoneWins(sel, mm))}))

	b.WithRow(dashboard.NewRowBuilder("Progress and due dates"))
	b.WithPanel(tablePanel("Joint milestones",
		"Every exported joint milestone: progress = closed / all items; open items; teams that owned or acted on its items; due date (earliest of the group) and time left (negative: overdue); completion date once all its milestones are closed (on every exporter shard that has part of it). Completed ones are listed for 14 days.",
		"short", 24, 10,
		q{expr: ms.of(ms.progress)},
		q{expr: ms.of(ms.open)},
		q{expr: ms.shown()},
		q{expr: fmt.Sprintf("%s * 1000", ms.of(ms.due))},
		q{expr: fmt.Sprintf("%s - time()", ms.of(ms.due))},
		q{expr: fmt.Sprintf("%s * 1000", ms.of(ms.completed))}).
		WithTransformation(merge()).
		WithTransformation(organize([]string{"Time"},
			map[string]string{"Value #A": "progress", "Value #B": "open items", "Value #C": "teams", "Value #D": "due", "Value #E": "due in", "Value #F": "completed"},
			[]string{"milestone", "progress", "open items", "teams", "due", "due in", "completed", "source"})).
		OverrideByName("progress", progressBar()).
		OverrideByName("due", unitOverride("dateTimeAsIso")).
		OverrideByName("due in", unitOverride("s")).
		OverrideByName("completed", unitOverride("dateTimeAsIso")).
		SortBy(sortAsc("due")))
	b.WithPanel(tablePanel("Items per team (every contributing team)",
		"For each joint milestone (rows), how many of its items each team (columns) owned or acted on, open and closed together. An item several teams touched counts for each of them.",
		"short", 24, 9,
		q{expr: milestoneTeamItems(sel, "", mm)}).
		WithTransformation(matrix("milestone", "team", "Value")))
	b.WithPanel(tablePanel("Closed items per team",
		"For each joint milestone (rows), how many of the items each team (columns) contributed to are closed.",
		"short", 24, 9,
		q{expr: milestoneTeamItems(sel, "closed", mm)}).
		WithTransformation(matrix("milestone", "team", "Value")))
	b.WithPanel(timeseriesPanel("Progress over time",
		"Closed / all items per joint milestone over time; a flat line is a milestone nobody is closing items on.",
		"percentunit", 24, 8,
		q{expr: ms.of(ms.progress), legend: "{{milestone}}"}).Max(1))

	b.WithRow(dashboard.NewRowBuilder("Late and at risk"))
	b.WithPanel(tablePanel("Late",
		"Joint milestones past their due date with open items, and how many items are still open.",
		"short", 12, 8, q{expr: ms.late()}).
		WithTransformation(organize([]string{"Time"}, map[string]string{"Value": "open items"}, []string{"milestone", "open items", "source"})))
	b.WithPanel(tablePanel("At risk",
		fmt.Sprintf("Joint milestones due within %d days whose progress is below 1 - time left / %d days, with their progress.", AtRiskDueDays, AtRiskHorizonDays),
		"percentunit", 12, 8, q{expr: ms.atRisk()}).
		WithTransformation(organize([]string{"Time"}, map[string]string{"Value": "progress"}, []string{"milestone", "progress", "source"})).
		OverrideByName("progress", progressBar()))
	return b
}

// agreementWithin is the share of a pair's handoffs within its agreement's
// target over window w (exact counters), per pair, with matchers.
func agreementWithin(kind, w string, matchers ...string) string {
	k := map[string][2]string{"pickup": {"handoff_pickups_within_agreement_total", "handoff_pickup_seconds_count"},
		"cycle": {"handoff_cycles_within_agreement_total", "handoff_cycle_seconds_count"}}[kind]
	return fmt.Sprintf("%s\n/\n%s", trendSum(k[0], w, matchers, "from_team", "to_team"), trendSum(k[1], w, matchers, "from_team", "to_team"))
}

// agreementObjectiveQ is the agreed share per pair for one kind.
func agreementObjectiveQ(kind string, matchers ...string) string {
	return fmt.Sprintf("max by (from_team, to_team) (%s)", sel("handoff_agreement_objective_ratio", with(matchers, fmt.Sprintf("kind=%q", kind))...))
}

// agreementTable lists, per pair with an agreement, the agreed share, the
// share attained over 28 days and the budget left.
func agreementTable(title, desc, kind string, w, h uint32, matchers ...string) *tableBuilder {
	att, obj := agreementWithin(kind, "28d", matchers...), agreementObjectiveQ(kind, matchers...)
	return tablePanel(title, desc, "percentunit", w, h,
		q{expr: obj},
		q{expr: att},
		q{expr: fmt.Sprintf("1 - (1 - (%s)) / on (from_team, to_team) (1 - %s)", att, obj)}).
		WithTransformation(merge()).
		WithTransformation(organize([]string{"Time"}, map[string]string{"Value #A": "agreed", "Value #B": "attained", "Value #C": "budget left"},
			[]string{"from_team", "to_team", "agreed", "attained", "budget left"})).
		SortBy(sortAsc("budget left"))
}

func agreementsBoard(self Board) *dashboard.DashboardBuilder {
	b := newBoard(self, "The working agreements between teams (agreements in the config): what share of handoffs each receiving team agreed to pick up and finish within a target, whether it is kept over 28 days, and how fast each pair is spending its error budget. Counted exactly from stored events, not estimated.", pairVars()...)
	pair := "{{from_team}} → {{to_team}}"
	b.WithRow(dashboard.NewRowBuilder("Kept or not, last 28d"))
	b.WithPanel(agreementTable("Pickup agreements",
		"One row per team pair with a working agreement (by default every pair: 90% picked up within 2 calendar days): the agreed share of handoffs picked up within the target, the share that was in the last 28 days, and the error budget left: 1 = untouched, 0 = spent, below 0 = overspent. Pairs with no pickup in the window are empty.",
		"pickup", 12, 9, pairM...))
	b.WithPanel(agreementTable("Cycle agreements",
		"The same for agreements with a cycle objective: the share of handoffs the receiving team was done with (passed on, closed, approved) within the target.",
		"cycle", 12, 9, pairM...))
	b.WithRow(dashboard.NewRowBuilder("Budget burn"))
	for _, k := range []string{"pickup", "cycle"} {
		b.WithPanel(trendPanel("7d", fmt.Sprintf("%s budget burn rate, 7d window", map[string]string{"pickup": "Pickup", "cycle": "Cycle"}[k]),
			fmt.Sprintf("How fast each pair spends its %s error budget: the share of the last 7 days' handoffs that missed the agreed target, divided by the share the agreement allows to miss. 1 spends the 28-day budget in exactly 28 days; above %d (the slow CrossteamHandoffAgreementBurn alert, with the last %s above it too) it is gone within two weeks.", k, BurnSlowRate, BurnSlowShort),
			"short", 12, 8,
			q{expr: fmt.Sprintf("(1 - (%s)) / on (from_team, to_team) (1 - %s)", agreementWithin(k, "7d", pairM...), agreementObjectiveQ(k, pairM...)), legend: pair}))
	}
	b.WithPanel(trendPanel("28d", "Pickups within the agreement, 28d window",
		"Per pair, the share of the last 28 days' pickups that met the agreed target, against the objective (dashed in the legend as 'agreed'). A line under its objective is an agreement not kept.",
		"percentunit", 24, 8,
		q{expr: agreementWithin("pickup", "28d", pairM...), legend: pair},
		q{expr: agreementObjectiveQ("pickup", pairM...), legend: pair + " agreed"}))
	b.WithRow(dashboard.NewRowBuilder("Waiting now"))
	b.WithPanel(stalledTable("Stalled handoffs",
		"The handoffs of the selected pairs that wait longest right now (stalled past stall_after), which are the ones about to miss their agreement: click the key to open the item.",
		pairM...))
	return b
}

// teamQuery lists every team that sent or received a handoff.
func teamQuery() string {
	h := metric("handoffs_total")
	return fmt.Sprintf(`query_result(count by (team) (label_replace(%s{job=~"$job"}, "team", "$1", "to_team", "(.+)")) or count by (team) (label_replace(%s{job=~"$job"}, "team", "$1", "from_team", "(.+)")))`, h, h)
}

func teamBoard(self Board) *dashboard.DashboardBuilder {
	teamVar := queryVar("team", "Team", teamQuery(), false).Regex(`/team="([^"]+)"/`)
	b := newBoard(self, "One team's side of the handoffs: work waiting on this team, and work this team handed to others that is waiting there.", teamVar)
	to := `to_team=~"$team"`
	from := `from_team=~"$team"`
	b.WithRow(dashboard.NewRowBuilder("$team"))
	b.WithPanel(statPanel("Waiting on $team",
		"Open handoffs other teams passed to $team: not yet picked up plus in progress.",
		"short", 6, 5, nil, q{expr: fmt.Sprintf("sum(%s) or vector(0)", sel("handoffs_open", to))}))
	b.WithPanel(statPanel("Stalled on $team",
		"Handoffs to $team with no activity by $team for longer than stall_after. Red when any is stalled.",
		"short", 6, 5, thresholds(1.0, "red"), q{expr: fmt.Sprintf("sum(%s) or vector(0)", sel("handoffs_stalled", to))}))
	b.WithPanel(statPanel("Sent by $team, open elsewhere",
		"Open handoffs $team passed to other teams: waiting for pickup plus in progress there.",
		"short", 6, 5, nil, q{expr: fmt.Sprintf("sum(%s) or vector(0)", sel("handoffs_open", from))}))
	b.WithPanel(statPanel("Sent by $team, stalled elsewhere",
		"Handoffs $team passed on that the receiving team has not acted on for longer than stall_after. Orange when any.",
		"short", 6, 5, thresholds(1.0, "orange"), q{expr: fmt.Sprintf("sum(%s) or vector(0)", sel("handoffs_stalled", from))}))
	b.WithPanel(stalledTable("Stalled handoffs waiting on $team",
		"One row per stalled handoff that $team received, longest idle first; click the key to open the item. Idle = calendar time since $team last acted on it.", to))
	b.WithPanel(stalledTable("Stalled handoffs $team sent, waiting on others",
		"One row per stalled handoff that $team passed to another team, longest idle first; click the key to open the item. Idle = calendar time since the receiving team last acted on it.", from))
	b.WithPanel(tablePanel("Open handoffs to $team, by sending team",
		"Open handoffs waiting on $team (rows: the team that sent them; columns: waiting = not picked up, in_progress = picked up, not finished).",
		"short", 12, 8, q{expr: fmt.Sprintf("sum by (from_team, state) (%s)", sel("handoffs_open", to))}).
		WithTransformation(matrix("from_team", "state", "Value")))
	b.WithPanel(tablePanel("Open handoffs from $team, by receiving team",
		"Open handoffs $team sent (rows: the receiving team; columns: waiting = not picked up, in_progress = picked up, not finished).",
		"short", 12, 8, q{expr: fmt.Sprintf("sum by (to_team, state) (%s)", sel("handoffs_open", from))}).
		WithTransformation(matrix("to_team", "state", "Value")))
	b.WithPanel(trendPanel("28d", "Pickup time p90 of work sent to $team, 28d window",
		"How long $team took to first act on handoffs from each other team: 90% of pickups in the 28 days before each point were faster. Calendar time, from histogram buckets.",
		"s", 12, 8, q{expr: trendQuantile(0.9, "handoff_pickup_seconds_bucket", "28d", []string{to}, "from_team"), legend: "from {{from_team}}"}))
	b.WithPanel(trendPanel("28d", "Pickup time p90 of work $team sent, 28d window",
		"How long each other team took to first act on handoffs from $team: 90% of pickups in the 28 days before each point were faster. Calendar time, from histogram buckets.",
		"s", 12, 8, q{expr: trendQuantile(0.9, "handoff_pickup_seconds_bucket", "28d", []string{from}, "to_team"), legend: "to {{to_team}}"}))
	b.WithPanel(agreementTable("Agreements $team keeps (work sent to $team), last 28d",
		"The working agreements on handoffs $team receives: agreed share picked up within the target, the share attained in the last 28 days, and the budget left (below 0: overspent).",
		"pickup", 12, 8, to))
	b.WithPanel(agreementTable("Agreements others keep with $team (work $team sent), last 28d",
		"The working agreements on handoffs $team sends: how the receiving teams keep them.",
		"pickup", 12, 8, from))
	b.WithPanel(tablePanel("Signals owned by $team",
		"Open items matching each configured signal (for example decision log entries or post-mortem actions) that $team owns, and the age of the oldest.",
		"short", 24, 7,
		q{expr: fmt.Sprintf("sum by (signal) (%s)", sel("signal_items_open", `team=~"$team"`))},
		q{expr: fmt.Sprintf("time() - min by (signal) (%s)", sel("signal_oldest_open_timestamp_seconds", `team=~"$team"`))}).
		WithTransformation(merge()).
		WithTransformation(organize([]string{"Time"}, map[string]string{"Value #A": "open items", "Value #B": "oldest"}, []string{"signal", "open items", "oldest"})).
		OverrideByName("oldest", unitOverride("s")))
	return b
}

func healthBoard(self Board) *dashboard.DashboardBuilder {
	b := newBoard(self, "Is crossteam itself healthy: can it reach GitHub and Jira, how fresh is its data, how much API budget is left.")
	st := "{{source}} {{target}}"
	b.WithRow(dashboard.NewRowBuilder("Sources"))
	b.WithPanel(statPanel("Targets down",
		"Sync targets (a GitHub org or a Jira site) whose last sync failed. Red when any is down.",
		"short", 6, 5, thresholds(1.0, "red"),
		q{expr: fmt.Sprintf("count(min by (source, target) (%s) == 0) or vector(0)", sel("source_up"))}))
	b.WithPanel(statPanel("Snapshot age",
		"How old the numbers the exporter serves are: now minus the instant its last snapshot was computed for. Snapshots are recomputed after each sync.",
		"s", 6, 5, thresholds(3600.0, "orange", 4*3600.0, "red"),
		q{expr: fmt.Sprintf("time() - max(%s)", sel("snapshot_timestamp_seconds"))}))
	b.WithPanel(statPanel("Last good recomputation",
		"Time since the snapshot was last computed from the store successfully, on the worst exporter. It grows while recomputations fail (a damaged store file; alert CrossteamSnapshotFailing) even when syncs succeed.",
		"s", 6, 5, thresholds(1800.0, "orange", 3600.0, "red"),
		q{expr: fmt.Sprintf("time() - min(%s)", sel("snapshot_last_success_timestamp_seconds"))}))
	b.WithPanel(statPanel("Stored events",
		"Events held in the exporter's store, all sources together; every metric is computed from them.",
		"short", 6, 5, nil, q{expr: fmt.Sprintf("sum(%s)", sel("store_events"))}))
	b.WithPanel(statPanel("Deferred Jira comments",
		"Jira issues whose comments beyond the 20 Cloud's search embeds were not fetched: under the current configuration they cannot change any number here. A configuration change that makes them matter fetches them on the next sync.",
		"short", 6, 5, nil, q{expr: fmt.Sprintf("sum(%s) or vector(0)", sel("jira_comments_deferred"))}))
	b.WithPanel(statPanel("Config reload",
		"Whether the last configuration reload succeeded on every exporter (1 = yes). A failed reload keeps the previous configuration running.",
		"bool_yes_no", 6, 5, thresholds(),
		q{expr: fmt.Sprintf("min(%s)", sel("config_last_reload_successful"))}).
		Mappings([]dashboard.ValueMapping{{ValueMap: &dashboard.ValueMap{Type: dashboard.MappingTypeValueToText, Options: map[string]dashboard.ValueMappingResult{
			"0": {Text: ptr("failed"), Color: ptr("red")}, "1": {Text: ptr("ok"), Color: ptr("green")}}}}}))
	b.WithPanel(statPanel("Config age",
		"Time since the configuration was last loaded successfully (at start or by a reload), on the exporter that loaded it longest ago.",
		"s", 12, 5, nil, // the rest of the second row of seven stats
		q{expr: fmt.Sprintf("time() - min(%s)", sel("config_last_reload_success_timestamp_seconds"))}))
	b.WithPanel(tablePanel("Targets",
		"One row per sync target: up (1 = last sync succeeded), time since the last successful sync, how long the last sync took, and the API requests left in the current rate-limit window.",
		"short", 24, 8,
		q{expr: fmt.Sprintf("min by (source, target) (%s)", sel("source_up"))},
		q{expr: fmt.Sprintf("time() - max by (source, target) (%s)", sel("last_sync_success_timestamp_seconds"))},
		q{expr: fmt.Sprintf("max by (source, target) (%s)", sel("sync_duration_seconds"))},
		q{expr: fmt.Sprintf("min by (source, target) (%s)", sel("api_rate_limit_remaining"))}).
		WithTransformation(merge()).
		WithTransformation(organize([]string{"Time"},
			map[string]string{"Value #A": "up", "Value #B": "since last success", "Value #C": "sync duration", "Value #D": "rate limit remaining"},
			[]string{"source", "target", "up", "since last success", "sync duration", "rate limit remaining"})).
		OverrideByName("since last success", unitOverride("s")).
		OverrideByName("sync duration", unitOverride("s")))

	b.WithRow(dashboard.NewRowBuilder("Over time"))
	b.WithPanel(timeseriesPanel("Time since last successful sync",
		"Per target, now minus the last successful sync. It grows steadily while syncs fail.",
		"s", 12, 8, q{expr: fmt.Sprintf("time() - max by (source, target) (%s)", sel("last_sync_success_timestamp_seconds")), legend: st}))
	b.WithPanel(timeseriesPanel("Sync duration",
		"How long the last sync of each target took (incremental syncs are short; the first one after install fetches the history).",
		"s", 12, 8, q{expr: fmt.Sprintf("max by (source, target) (%s)", sel("sync_duration_seconds")), legend: st}))
	b.WithPanel(timeseriesPanel("API requests by status code",
		"Requests per second the exporter sent to GitHub and Jira, by HTTP status code (304 = answered from cache at no rate-limit cost, 0 = transport error).",
		"reqps", 12, 8, q{expr: fmt.Sprintf("sum by (source, code) (rate(%s[$__rate_interval]))", sel("api_requests_total")), legend: "{{source}} {{code}}"}))
	b.WithPanel(timeseriesPanel("API request duration, p90 by endpoint",
		"90th percentile of the time from sending a request to its response headers, per API route (GitHub: REST routes and /graphql; Jira: /rest/api/... routes), retries counted one by one.",
		"s", 12, 8, q{expr: fmt.Sprintf("histogram_quantile(0.9, sum by (le, source, endpoint) (rate(%s[$__rate_interval])))", sel("api_request_duration_seconds_bucket")), legend: "{{source}} {{endpoint}}"}))
	b.WithPanel(timeseriesPanel("Rate limit remaining",
		"API requests (GitHub GraphQL: points) left in the current rate-limit window, per budget (GitHub: core for REST, graphql; Jira: default), as the source last reported it.",
		"short", 12, 8, q{expr: fmt.Sprintf("min by (source, target, resource) (%s)", sel("api_rate_limit_remaining")), legend: st + " {{resource}}"}))
	b.WithPanel(tablePanel("Rate-limit windows",
		"Per target and budget: what is left, the window's limit, and when the window resets (the reset instant minus now). A budget near 0 long before its reset means the syncs wait. The figures are what the source reported on the last request: a reset shown as 0 s has passed since, so the window has started again with its whole limit.",
		"short", 12, 8,
		q{expr: fmt.Sprintf("min by (source, target, resource) (%s)", sel("api_rate_limit_remaining"))},
		q{expr: fmt.Sprintf("max by (source, target, resource) (%s)", sel("api_rate_limit_limit"))},
		q{expr: fmt.Sprintf("clamp_min(max by (source, target, resource) (%s) - time(), 0)", sel("api_rate_limit_reset_timestamp_seconds"))}).
		WithTransformation(merge()).
		WithTransformation(organize([]string{"Time"},
			map[string]string{"Value #A": "remaining", "Value #B": "limit", "Value #C": "resets in"},
			[]string{"source", "target", "resource", "remaining", "limit", "resets in"})).
		OverrideByName("resets in", unitOverride("s")))
	b.WithPanel(timeseriesPanel("Snapshot compute time",
		"How long computing the served metrics from the stored events took, per exporter.",
		"s", 12, 8, q{expr: fmt.Sprintf("max by (instance) (%s)", sel("snapshot_compute_seconds")), legend: "{{instance}}"}))
	b.WithPanel(tablePanel("Jira statuses no team maps",
		"Open Jira items sitting in a status that no team's jira_statuses names; their handoffs cannot be counted until the mapping is fixed.",
		"short", 12, 8, q{expr: fmt.Sprintf("sum by (status) (%s) > 0", sel("jira_unmapped_status_items"))}).
		WithTransformation(organize([]string{"Time"}, map[string]string{"Value": "open items"}, []string{"status", "open items"})))
	b.WithPanel(tablePanel("Build",
		"Version, revision and Go version of each running exporter instance, from its build_info series.",
		"short", 24, 5, q{expr: fmt.Sprintf("max by (instance, version, revision, goversion) (%s)", sel("build_info"))}).
		WithTransformation(organize([]string{"Time", "Value"}, map[string]string{}, []string{"instance", "version", "revision", "goversion"})))
	return b
}
