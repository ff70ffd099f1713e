package dashboards

import (
	"fmt"
	"strings"
)

// RunbookBase is where the runbook lives; each alert links to its section.
const RunbookBase = "https://github.com/crossteam/crossteam/blob/main/RUNBOOK.md"

// Alert thresholds. They are constants of the generated rules: change them
// here and regenerate (`go test ./dashboards -update`).
const (
	// Burn-rate alerts on working agreements (multi-window, in the style
	// of the SRE workbook, scaled to handoffs that come a few a day): the
	// budget is 1 - objective over 28 days; a burn rate of 4 spends it in
	// 7 days, 2 in 14. Each needs the long window and the short one above
	// the rate, so an alert ends soon after the burning stops.
	BurnFastRate, BurnFastLong, BurnFastShort = 4, "3d", "1d"
	BurnSlowRate, BurnSlowLong, BurnSlowShort = 2, "7d", "2d"
	// FasterMargin: a pair whose median pickup over the last 28 days is
	// at least this much below the 28 days before counts as a small win
	// for both teams; FasterMinPickups pickups are needed in each window
	// so that one lucky handoff is no win.
	FasterMargin     = 0.2
	FasterMinPickups = 5
	// DataStaleSeconds: no successful sync for this long (12 default
	// sync intervals) means the numbers on the boards are stale.
	DataStaleSeconds = 3600
	// RateLimitLow: API requests left in the window below which syncs
	// are about to be throttled.
	RateLimitLow = 100
)

// RuleGroups is a Prometheus rule file.
type RuleGroups struct {
	Groups []RuleGroup `yaml:"groups"`
}

// RuleGroup is one rule group.
type RuleGroup struct {
	Name     string `yaml:"name"`
	Interval string `yaml:"interval,omitempty"`
	Rules    []Rule `yaml:"rules"`
}

// Rule is a recording or alerting rule.
type Rule struct {
	Record      string            `yaml:"record,omitempty"`
	Alert       string            `yaml:"alert,omitempty"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for,omitempty"`
	Labels      map[string]string `yaml:"labels,omitempty"`
	Annotations map[string]string `yaml:"annotations,omitempty"`
}

// Rule file names under the rules directory.
const (
	RecordingRulesFile = "crossteam.rules.yml"
	AlertingRulesFile  = "crossteam.alerts.yml"
)

// RecordingRules are, per long window (TrendWindows), the increases of the
// series the boards' trends read (windows.go) and, from them, the p50/p90
// pickup and cycle times per team pair, source and shard, and the 28-day
// bucket increases per receiving team (levelRules), the working
// agreements' error ratios over that window and the faster-handoff wins; the agreements' objectives and their short-window
// error ratios for the burn alerts; and the per-milestone aggregates across
// exporter shards. Names follow level:metric:operations.
func RecordingRules() RuleGroups {
	var groups []RuleGroup
	for _, t := range TrendWindows {
		rules := append(trendRules(t.Window), levelRules(t.Window)...)
		rules = append(rules, agreementWindowRules(t.Window)...)
		if t.Window == "28d" {
			rules = append(rules,
				Rule{Record: fasterRecorded, Expr: fasterPairs(
					func(short string) string { return rtrend(short, "28d") },
					func(short string) string {
						return fmt.Sprintf("last_over_time(%s[%s] offset 28d)", rtrend(short, "28d"), t.Interval)
					})},
				Rule{Record: "team:handoff_pickup_faster_wins:count_28d", Expr: teamsOfPairs(fasterRecorded)})
		}
		groups = append(groups, RuleGroup{Name: "crossteam.trends." + t.Window + ".rules", Interval: t.Interval, Rules: rules})
	}
	// Milestone aggregates across exporter instances (milestoneAggs): the
	// at-risk alert reads them. Evaluated at the global interval, like the
	// alerts, so they never go stale between two evaluations.
	inline, rec := milestoneInline(rsel), milestoneRecorded()
	milestones := []Rule{
		{Record: rec.progress, Expr: inline.progress},
		{Record: rec.open, Expr: inline.open},
		{Record: rec.teams, Expr: inline.teams},
		{Record: rec.due, Expr: inline.due},
		{Record: rec.completed, Expr: inline.completed},
	}
	return RuleGroups{Groups: append(groups,
		RuleGroup{Name: "crossteam.agreements.rules", Interval: "5m", Rules: agreementRules()},
		RuleGroup{Name: "crossteam.milestones.rules", Rules: milestones},
	)}
}

// fasterRecorded is the recorded fasterPairs.
const fasterRecorded = "from_team_to_team:handoff_pickup_p50_faster:ratio_28d"

// fasterPairs is, per pair whose median pickup over the last 28 days is at
// least FasterMargin below the median of the 28 days before (with
// FasterMinPickups pickups in each), how much faster it got: 1 - now /
// before. now and before read a recorded 28-day increase (of a pickup
// series) now and 28 days ago; sums over sources and exporter shards.
func fasterPairs(now, before func(short string) string) string {
	by := "from_team, to_team"
	q := func(read func(string) string) string {
		return fmt.Sprintf("histogram_quantile(0.5, sum by (le, %s) (%s))", by, read("handoff_pickup_seconds_bucket"))
	}
	return fmt.Sprintf("(1 - %s / %s) >= %g\nand on (%s) sum by (%s) (%s) >= %d\nand on (%s) sum by (%s) (%s) >= %d",
		q(now), q(before), FasterMargin, by, by, now("handoff_pickup_seconds_count"), FasterMinPickups, by, by, before("handoff_pickup_seconds_count"), FasterMinPickups)
}

// teamsOfPairs counts, per team, the pairs of a per-pair series the team is
// part of on either side: a win for both teams.
func teamsOfPairs(series string) string {
	return fmt.Sprintf("count by (team) (label_replace(%[1]s, \"team\", \"$1\", \"from_team\", \"(.+)\") or label_replace(%[1]s, \"team\", \"$1\", \"to_team\", \"(.+)\"))", series)
}

// agreementKinds pairs each side of a working agreement with its counter
// of handoffs within the target and the histogram counting them all.
var agreementKinds = []struct{ kind, within, all string }{
	{"pickup", "handoff_pickups_within_agreement_total", "handoff_pickup_seconds_count"},
	{"cycle", "handoff_cycles_within_agreement_total", "handoff_cycle_seconds_count"},
}

// agreementWindows are the short windows error ratios are recorded over
// from raw counters for the burn alerts, every 5m; the 7d and 28d ratios
// come from the trend groups (agreementWindowRules).
var agreementWindows = []string{"1d", "2d", "3d"}

// Recorded agreement series, per (source, from_team, to_team) summed over
// exporter instances.
func agreementObjective() string { return "source_from_team_to_team:handoff_agreement_objective:ratio" }
func agreementErrors(kind, w string) string {
	return fmt.Sprintf("source_from_team_to_team:handoff_agreement_%s_errors:ratio_%s", kind, w)
}
func agreementAttainment(kind string) string {
	return fmt.Sprintf("source_from_team_to_team:handoff_agreement_%s_attainment:ratio_28d", kind)
}
func agreementBudget(kind string) string {
	return fmt.Sprintf("source_from_team_to_team:handoff_agreement_%s_budget_remaining:ratio_28d", kind)
}

// agreementRules record, per pair with an agreement: its objective and
// target, and the share of handoffs outside the target over the short
// windows (exact: counted handoffs, not bucket estimates).
func agreementRules() []Rule {
	by := "source, from_team, to_team"
	rules := []Rule{
		{Record: agreementObjective(),
			Expr: fmt.Sprintf("max by (%s, kind, notify_sender) (%s)", by, rsel("handoff_agreement_objective_ratio"))},
		{Record: "source_from_team_to_team:handoff_agreement_target:seconds",
			Expr: fmt.Sprintf("max by (%s, kind) (%s)", by, rsel("handoff_agreement_target_seconds"))},
	}
	for _, k := range agreementKinds {
		for _, w := range agreementWindows {
			rules = append(rules, Rule{Record: agreementErrors(k.kind, w),
				Expr: fmt.Sprintf("1 - sum by (%[1]s) (increase(%[2]s[%[4]s])) / sum by (%[1]s) (increase(%[3]s[%[4]s]))",
					by, rsel(k.within), rsel(k.all), w)})
		}
	}
	return rules
}

// agreementWindowRules are the error ratios over a trend window, from the
// increases its group has just recorded, and over 28 days the attainment
// and the error budget left (1 = untouched, 0 = spent, below 0 =
// overspent). The objective is read from the exporters' gauge (its last
// value within 10 minutes), not from the 5m group's record, so this group
// depends on no other group's timing.
func agreementWindowRules(w string) []Rule {
	by := "source, from_team, to_team"
	var rules []Rule
	for _, k := range agreementKinds {
		rules = append(rules, Rule{Record: agreementErrors(k.kind, w),
			Expr: fmt.Sprintf("1 - sum by (%[1]s) (%[2]s) / sum by (%[1]s) (%[3]s)", by, rtrend(k.within, w), rtrend(k.all, w))})
		if w == "28d" {
			rules = append(rules,
				Rule{Record: agreementAttainment(k.kind), Expr: "1 - " + agreementErrors(k.kind, "28d")},
				Rule{Record: agreementBudget(k.kind), Expr: fmt.Sprintf("1 - %s / on (%s) group_left () (1 - max by (%s) (last_over_time(%s[10m])))",
					agreementErrors(k.kind, "28d"), by, by, rsel("handoff_agreement_objective_ratio", fmt.Sprintf("kind=%q", k.kind)))})
		}
	}
	return rules
}

// errorsLookback is how far back an alert finds the last recorded error
// ratio of window w: its group's interval and 10 minutes to spare, so a
// sample falling just out of the lookback between two rule evaluations
// never resets an alert's for: clock.
func errorsLookback(w string) string {
	for _, t := range TrendWindows {
		if t.Window == w {
			return t.Interval + "10m"
		}
	}
	return "10m"
}

// burnRate is the burn rate of a pair's error budget over window w: the
// error ratio over w divided by the budget (1 - objective), with the
// objective's notify_sender label brought along for routing.
//
// The error ratios are recorded every 5m (short windows) or at their trend
// group's interval (errorsLookback); the alerts, evaluated more often, read
// their last value.
func burnRate(kind, w string) string {
	return fmt.Sprintf("(last_over_time(%s[%s]) / on (source, from_team, to_team) group_left (notify_sender) (1 - last_over_time(%s{kind=%q}[10m])))",
		agreementErrors(kind, w), errorsLookback(w), agreementObjective(), kind)
}

// burnAlerts are CrossteamHandoffAgreementBurn, fast and slow, for each
// side of an agreement: the long and the short window both above the rate.
func burnAlerts() []Rule {
	var out []Rule
	for _, k := range agreementKinds {
		for _, b := range []struct {
			speed, severity string
			rate            int
			long, short     string
			days            int
		}{
			{"fast", "warning", BurnFastRate, BurnFastLong, BurnFastShort, 28 / BurnFastRate},
			{"slow", "info", BurnSlowRate, BurnSlowLong, BurnSlowShort, 28 / BurnSlowRate},
		} {
			r := alert("CrossteamHandoffAgreementBurn",
				fmt.Sprintf("%s > %d and on (source, from_team, to_team) %s > %d", burnRate(k.kind, b.long), b.rate, burnRate(k.kind, b.short), b.rate),
				"1h", b.severity,
				fmt.Sprintf("{{ $labels.to_team }} is burning the %s budget of its agreement with {{ $labels.from_team }}.", k.kind),
				fmt.Sprintf("Over the last %s, handoffs from {{ $labels.from_team }} to {{ $labels.to_team }} ({{ $labels.source }}) missed the agreed %s target {{ $value | printf \"%%.1f\" }} times as often as the agreement allows (also over the last %s): at this rate the 28-day error budget is gone in %d days.", b.long, k.kind, b.short, b.days))
			r.Labels["speed"] = b.speed
			r.Labels["kind"] = k.kind
			out = append(out, r)
		}
	}
	return out
}

// alert builds an alerting rule with the labels and annotations every
// crossteam alert carries.
func alert(name, expr, forDur, severity, summary, description string) Rule {
	return Rule{
		Alert: name, Expr: expr, For: forDur,
		Labels: map[string]string{"severity": severity},
		Annotations: map[string]string{
			"summary":     summary,
			"description": description,
			"runbook_url": RunbookBase + "#" + strings.ToLower(name),
		},
	}
}

// AlertingRules are crossteam's alerts: the domain ones (a stalled handoff,
// a milestone at risk, a working agreement's budget burning) are tickets
// for the teams, routed by to_team (and from_team for agreements with
// notify_sender); the health ones are for whoever runs the exporter.
func AlertingRules() RuleGroups {
	domain := []Rule{
		alert("CrossteamHandoffStalled",
			// The series exist only for stalled handoffs and hold the
			// instant they went idle: the value is the idle time, positive;
			// the comparison says so.
			fmt.Sprintf("time() - min by (source, key, url, title, kind, from_team, to_team) (%s) > 0", rsel("stalled_handoff_idle_since_timestamp_seconds")),
			"10m", "warning",
			"A handoff is stalled waiting on {{ $labels.to_team }}.",
			"{{ $labels.key }} ({{ $labels.title }}) was handed from {{ $labels.from_team }} to {{ $labels.to_team }}, and {{ $labels.to_team }} has not acted on it for {{ $value | humanizeDuration }}, longer than the pair's stall_after. Open it: {{ $labels.url }}"),
		alert("CrossteamMilestoneAtRisk",
			milestoneRecorded().atRisk(),
			"1h", "warning",
			"Joint milestone {{ $labels.milestone }} is at risk.",
			fmt.Sprintf("Joint milestone {{ $labels.milestone }} ({{ $labels.source }}) is due within %d days and only {{ $value | humanizePercentage }} of its items are closed. Expected progress is a straight line over the %d days before the due date (1 - time left / %d days); it is below that line. The milestones metrics have no start date, so this horizon is a convention, not the milestone's real plan.", AtRiskDueDays, AtRiskHorizonDays, AtRiskHorizonDays)),
		// Records: to the owning team, as to_team so the handoff routes
		// deliver them.
		alert("CrossteamPostmortemActionOverdue",
			fmt.Sprintf(`label_replace(max by (signal, source, key, url, title, team) (%s), "to_team", "$1", "team", "(.+)") > 0`, rsel("postmortem_action_overdue_seconds")),
			"1h", "warning",
			"A post-mortem action owned by {{ $labels.team }} is overdue.",
			"{{ $labels.key }} ({{ $labels.title }}) passed its due date {{ $value | humanizeDuration }} ago and is still open. Close it, or agree a new due date with the teams of the post-mortem: {{ $labels.url }}"),
		alert("CrossteamDecisionRevisitDue",
			fmt.Sprintf(`label_replace(max by (signal, source, key, url, title, team, teams, revisit) (%s), "to_team", "$1", "team", "(.+)") > 0`, rsel("decision_info", `state="revisit_due"`)),
			"1h", "info",
			"Decision {{ $labels.key }} of {{ $labels.team }} is due for a revisit.",
			"{{ $labels.key }} ({{ $labels.title }}) was to be revisited on {{ $labels.revisit }}: check with {{ $labels.teams }} whether the trade-off still holds, then set a new revisit date or record a new decision: {{ $labels.url }}"),
	}
	health := []Rule{
		alert("CrossteamSourceDown",
			fmt.Sprintf("min by (source, target) (%s) == 0", rsel("source_up")),
			"30m", "warning",
			"crossteam cannot sync {{ $labels.source }} target {{ $labels.target }}.",
			"The last syncs of {{ $labels.source }} target {{ $labels.target }} failed for 30 minutes; the boards keep showing the numbers from the last successful sync."),
		alert("CrossteamSnapshotFailing",
			fmt.Sprintf("min by (job, instance) (%s) == 0", rsel("snapshot_up")),
			"10m", "critical",
			"crossteam cannot compute its numbers from the store.",
			"Every recomputation of the snapshot from the store of {{ $labels.instance }} has failed for 10 minutes: the boards show an older snapshot, or nothing, while syncs may still succeed. The exporter's log and /-/ready name the store file and the error."),
		alert("CrossteamDataStale",
			fmt.Sprintf("time() - max by (source, target) (%s) > %d", rsel("last_sync_success_timestamp_seconds"), DataStaleSeconds),
			"5m", "warning",
			"crossteam data for {{ $labels.source }} target {{ $labels.target }} is stale.",
			"{{ $labels.source }} target {{ $labels.target }} last synced successfully {{ $value | humanizeDuration }} ago; handoffs and milestones on the boards are at least that old."),
		alert("CrossteamJiraLinkTypeMissing",
			fmt.Sprintf("max by (source, target, link_type) (%s) > 0", rsel("jira_link_types_missing")),
			"15m", "warning",
			"Jira target {{ $labels.target }} has no link type {{ $labels.link_type }}.",
			"dependencies.jira_link_types names the link type {{ $labels.link_type }}, which Jira target {{ $labels.target }} does not have (GET /issueLinkType): its cross-team dependencies are not collected. The target keeps syncing everything else. Fix the name in the config (the exporter log lists the site's link types)."),
		alert("CrossteamRateLimitLow",
			fmt.Sprintf("min by (source, target) (%s) < %d", rsel("api_rate_limit_remaining"), RateLimitLow),
			"15m", "warning",
			"crossteam is close to the {{ $labels.source }} API rate limit.",
			"Only {{ $value }} API requests are left in the current rate-limit window for {{ $labels.source }} target {{ $labels.target }}; syncs will pause until the window resets."),
	}
	domain = append(domain, burnAlerts()...)
	return RuleGroups{Groups: []RuleGroup{
		{Name: "crossteam.handoffs.alerts", Rules: domain},
		{Name: "crossteam.health.alerts", Rules: health},
	}}
}

// RuleFiles renders the recording and alerting rule files.
func RuleFiles() (files []File, err error) {
	defer func() {
		if r := recover(); r != nil {
			g, ok := r.(genError)
			if !ok {
				panic(r)
			}
			err = fmt.Errorf("rules: %w", g.err)
		}
	}()
	return []File{
		{Path: RecordingRulesFile, Data: yamlFile("Recording rules: per long window (7d every 6h, 28d every 1d) the increases the boards' trends read, keeping job, instance, source, teams and le, and from them p50/p90 pickup and cycle time per team pair, agreement error ratios and faster-handoff wins; agreement objectives and short-window error ratios (5m); joint milestone aggregates across exporter shards.", RecordingRules())},
		{Path: AlertingRulesFile, Data: yamlFile("Alerting rules; each alert's runbook_url points at its section of RUNBOOK.md.", AlertingRules())},
	}, nil
}
