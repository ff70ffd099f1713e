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
	// PickupSlowSeconds: p90 pickup time over 28 days above which a team
	// pair's handoffs are called slow (2 days).
	PickupSlowSeconds = 2 * 86400
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

// RecordingRules are the p50/p90 pickup and cycle times per team pair over
// 7 and 28 days, for long-range boards and for anyone querying Prometheus
// directly, and the per-milestone aggregates across exporter shards the
// milestone alert reads. Each sums or combines every instance's series (no
// instance label survives). Names follow level:metric:operations.
func RecordingRules() RuleGroups {
	var rules []Rule
	for _, h := range []string{"handoff_pickup_seconds", "handoff_cycle_seconds"} {
		for _, w := range []string{"7d", "28d"} {
			for _, p := range []struct {
				q    float64
				name string
			}{{0.5, "p50"}, {0.9, "p90"}} {
				rules = append(rules, Rule{
					Record: fmt.Sprintf("from_team_to_team:%s:%s_%s", metric(h), p.name, w),
					Expr:   pairQuantile(p.q, rsel(h+"_bucket"), w, "from_team", "to_team"),
				})
			}
		}
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
	return RuleGroups{Groups: []RuleGroup{
		{Name: "crossteam.handoffs.rules", Interval: "5m", Rules: rules},
		{Name: "crossteam.milestones.rules", Rules: milestones},
	}}
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
// slow pickups, a milestone at risk) are tickets for the teams, routed by
// to_team; the health ones are for whoever runs the exporter.
func AlertingRules() RuleGroups {
	domain := []Rule{
		alert("CrossteamHandoffStalled",
			fmt.Sprintf("max by (source, key, url, title, kind, from_team, to_team) (%s)", rsel("stalled_handoff_idle_seconds")),
			"10m", "warning",
			"A handoff is stalled waiting on {{ $labels.to_team }}.",
			"{{ $labels.key }} ({{ $labels.title }}) was handed from {{ $labels.from_team }} to {{ $labels.to_team }}, and {{ $labels.to_team }} has not acted on it for {{ $value | humanizeDuration }}, longer than the pair's stall_after. Open it: {{ $labels.url }}"),
		alert("CrossteamPickupSlow",
			pairQuantile(0.9, rsel("handoff_pickup_seconds_bucket"), "28d", "from_team", "to_team")+fmt.Sprintf(" > %d", PickupSlowSeconds),
			"1h", "info",
			"Handoffs from {{ $labels.from_team }} to {{ $labels.to_team }} wait long for pickup.",
			fmt.Sprintf("Over the last 28 days, 90%% of handoffs from {{ $labels.from_team }} to {{ $labels.to_team }} were picked up within {{ $value | humanizeDuration }}, above the %s threshold (p90 of calendar time from handoff to the first activity by {{ $labels.to_team }}).", humanDays(PickupSlowSeconds))),
		alert("CrossteamMilestoneAtRisk",
			milestoneRecorded().atRisk(),
			"1h", "warning",
			"Joint milestone {{ $labels.milestone }} is at risk.",
			fmt.Sprintf("Joint milestone {{ $labels.milestone }} ({{ $labels.source }}) is due within %d days and only {{ $value | humanizePercentage }} of its items are closed. Expected progress is a straight line over the %d days before the due date (1 - time left / %d days); it is below that line. The milestones metrics have no start date, so this horizon is a convention, not the milestone's real plan.", AtRiskDueDays, AtRiskHorizonDays, AtRiskHorizonDays)),
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
		alert("CrossteamRateLimitLow",
			fmt.Sprintf("min by (source, target) (%s) < %d", rsel("api_rate_limit_remaining"), RateLimitLow),
			"15m", "warning",
			"crossteam is close to the {{ $labels.source }} API rate limit.",
			"Only {{ $value }} API requests are left in the current rate-limit window for {{ $labels.source }} target {{ $labels.target }}; syncs will pause until the window resets."),
	}
	return RuleGroups{Groups: []RuleGroup{
		{Name: "crossteam.handoffs.alerts", Rules: domain},
		{Name: "crossteam.health.alerts", Rules: health},
	}}
}

func humanDays(s int) string {
	if s%86400 == 0 {
		return fmt.Sprintf("%dd", s/86400)
	}
	return fmt.Sprintf("%ds", s)
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
		{Path: RecordingRulesFile, Data: yamlFile("Recording rules: p50/p90 handoff pickup and cycle time per team pair over 7d and 28d; joint milestone aggregates across exporter shards.", RecordingRules())},
		{Path: AlertingRulesFile, Data: yamlFile("Alerting rules; each alert's runbook_url points at its section of RUNBOOK.md.", AlertingRules())},
	}, nil
}
