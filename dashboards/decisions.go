package dashboards

import (
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/nodegraph"
)

// The "Decisions and dependencies" board and the decision annotations of
// the trend panels (engine/records.go has the rules behind the figures).

// decisionAnnotation marks, on every time series panel of a board, when a
// listed decision was decided: the series' value is the instant.
func decisionAnnotation() *dashboard.AnnotationQueryBuilder {
	return dashboard.NewAnnotationQueryBuilder().Name("Decisions").Datasource(ds).Enable(true).Hide(false).
		IconColor("purple").
		Expr(fmt.Sprintf("max by (key, title, team) (%s) * 1000", sel("decision_decided_timestamp_seconds"))).
		UseValueForTime(true).Step("1h").
		TitleFormat("Decision {{key}} ({{team}})").TextFormat("{{title}}").TagKeys("team")
}

// hide hides a table column.
func hide() []dashboard.DynamicConfigValue {
	return []dashboard.DynamicConfigValue{{Id: "custom.hidden", Value: true}}
}

func decisionsBoard(self Board) *dashboard.DashboardBuilder {
	b := newBoard(self, "Trade-offs made in the open: the decision log with revisit dates, post-mortem actions by owning team, and which teams' work waits on which other teams.")

	b.WithRow(dashboard.NewRowBuilder("Decision log"))
	b.WithPanel(statPanel("Open decisions",
		"Decision records (items matching a kind: decision signal) not decided yet: not closed, not in a decided status, without a decided label.",
		"short", 6, 5, nil,
		q{expr: fmt.Sprintf("sum(%s) or vector(0)", sel("decision_records", `state="open"`))}))
	b.WithPanel(statPanel("Decisions due for a revisit",
		"Decided decisions whose revisit date (Jira due date or configured field; GitHub revisit:YYYY-MM-DD label or milestone due date) has passed. Orange when any: check whether the trade-off still holds (alert CrossteamDecisionRevisitDue).",
		"short", 6, 5, thresholds(1.0, "orange"),
		q{expr: fmt.Sprintf("sum(%s) or vector(0)", sel("decision_records", `state="revisit_due"`))}))
	b.WithPanel(statPanel("Dates that do not parse",
		"Decisions and post-mortem actions whose revisit/due label or field is not a YYYY-MM-DD date: they are counted, their date ignored. Fix the label or field.",
		"short", 6, 5, thresholds(1.0, "orange"),
		q{expr: fmt.Sprintf("sum(%s) or vector(0)", sel("record_dates_invalid"))}))
	b.WithPanel(statPanel("Records not listed",
		"Decisions, overdue actions and dependencies left out of the tables below by their caps (max_exported per signal, dependencies.max_exported). Amber when a table is incomplete.",
		"short", 6, 5, thresholds(1.0, "orange"),
		q{expr: fmt.Sprintf("sum(%s) or vector(0)", sel("records_unexported"))}))
	b.WithPanel(tablePanel("Decision log",
		"Open decisions, those due for a revisit and those decided in the last keep_decided (14d unless configured): click the key to open the record with its context, options and expected effects. team = owner (the team that decided it, once decided); teams = every team that touched it. Dates in UTC.",
		"short", 24, 10,
		q{expr: fmt.Sprintf("max by (signal, source, key, title, url, team, teams, state, opened, decided, revisit) (%s)", sel("decision_info"))}).
		WithTransformation(organize([]string{"Time", "Value"}, nil,
			[]string{"key", "title", "state", "team", "teams", "opened", "decided", "revisit", "signal", "source", "url"})).
		OverrideByName("key", itemLink("key")).
		OverrideByName("url", hide()).
		SortBy(sortDesc("decided")))
	b.WithPanel(tablePanel("Decisions by team and state",
		"Decision records per owning team: open, decided, and revisit_due (decided, revisit date passed).",
		"short", 12, 8,
		q{expr: fmt.Sprintf("sum by (team, state) (%s)", sel("decision_records"))}).
		WithTransformation(matrix("team", "state", "Value")))
	b.WithPanel(tablePanel("Time to decide, median of the last 28d",
		"From opening a decision record to deciding it, for decisions decided in the last 28 days, by the team that decided them (estimated from histogram buckets).",
		"s", 12, 8,
		q{expr: trendQuantile(0.5, "decision_time_to_decide_seconds_bucket", "28d", nil, "signal", "team")}).
		WithTransformation(organize([]string{"Time"}, map[string]string{"Value": "median"}, []string{"team", "signal", "median"})))

	b.WithRow(dashboard.NewRowBuilder("Post-mortem actions"))
	b.WithPanel(tablePanel("Post-mortem actions by team",
		"Open post-mortem actions (items matching a kind: postmortem signal) per owning team, the overdue ones (open after their due date), and the median time to close one over the last 28 days. Teams with overdue actions first.",
		"short", 12, 9,
		q{expr: fmt.Sprintf("sum by (team) (%s)", sel("postmortem_actions_overdue"))},
		q{expr: fmt.Sprintf("sum by (team) (%s)", sel("postmortem_actions_open"))},
		q{expr: trendQuantile(0.5, "postmortem_action_close_seconds_bucket", "28d", nil, "team")}).
		WithTransformation(merge()).
		WithTransformation(organize([]string{"Time"},
			map[string]string{"Value #A": "overdue", "Value #B": "open", "Value #C": "median time to close, 28d"},
			[]string{"team", "overdue", "open", "median time to close, 28d"})).
		OverrideByName("median time to close, 28d", unitOverride("s")).
		SortBy(sortDesc("overdue")))
	b.WithPanel(tablePanel("Overdue post-mortem actions",
		"One row per overdue action, longest overdue first: click the key to open it. overdue = time since the end of its due date (UTC). Alert CrossteamPostmortemActionOverdue tells the owning team.",
		"s", 12, 9,
		q{expr: fmt.Sprintf("max by (signal, source, key, title, url, team) (%s)", sel("postmortem_action_overdue_seconds"))}).
		WithTransformation(organize([]string{"Time"}, map[string]string{"Value": "overdue"},
			[]string{"key", "title", "team", "overdue", "signal", "source", "url"})).
		OverrideByName("key", itemLink("key")).
		OverrideByName("url", hide()).
		SortBy(sortDesc("overdue")))

	b.WithRow(dashboard.NewRowBuilder("Cross-team dependencies"))
	// Edges only: the node graph makes the team nodes from them. Source
	// and target are the blocked and the blocking team (the source label
	// of the metric is summed away first).
	edges := fmt.Sprintf(`label_join(label_replace(label_replace(sum by (blocked_team, blocking_team) (%s) > 0, "source", "$1", "blocked_team", "(.+)"), "target", "$1", "blocking_team", "(.+)"), "id", " waits on ", "blocked_team", "blocking_team")`,
		sel("dependencies_open"))
	b.WithPanel(nodegraph.NewPanelBuilder().Title("Teams waiting on teams").
		Description("One arrow per pair of teams with open dependencies: from the team whose item is blocked to the team whose item blocks it (Jira \"is blocked by\" links of dependencies.jira_link_types, GitHub issue dependencies). The number on an arrow is how many are open; the table beside it gives their age.").
		Span(12).Height(10).Datasource(ds).Unit("short").
		Targets(targets(true, true, []q{{expr: edges}})).
		WithTransformation(organize([]string{"Time", "blocked_team", "blocking_team"}, map[string]string{"Value": "mainstat"}, nil)).
		Edges(nodegraph.NewEdgeOptionsBuilder().MainStatUnit("short")))
	b.WithPanel(tablePanel("Open dependencies by team pair",
		"Per pair: open dependencies of blocked_team's items on blocking_team's items, the age of the oldest, and the median time dependencies resolved in over the last 28 days (link removed or either item closed).",
		"short", 12, 10,
		q{expr: fmt.Sprintf("sum by (blocked_team, blocking_team) (%s)", sel("dependencies_open"))},
		q{expr: fmt.Sprintf("max by (blocked_team, blocking_team) (%s)", sel("dependency_oldest_open_seconds"))},
		q{expr: trendQuantile(0.5, "dependency_resolved_seconds_bucket", "28d", nil, "blocked_team", "blocking_team")}).
		WithTransformation(merge()).
		WithTransformation(organize([]string{"Time"},
			map[string]string{"Value #A": "open", "Value #B": "oldest", "Value #C": "median time to resolve, 28d"},
			[]string{"blocked_team", "blocking_team", "open", "oldest", "median time to resolve, 28d"})).
		OverrideByName("oldest", unitOverride("s")).
		OverrideByName("median time to resolve, 28d", unitOverride("s")).
		SortBy(sortDesc("oldest")))
	b.WithPanel(tablePanel("Oldest open dependencies",
		"One row per open cross-team dependency, oldest first: the blocked item (click to open), the item it waits on, both teams and how long it has waited.",
		"s", 24, 9,
		q{expr: fmt.Sprintf("max by (source, blocked_key, blocking_key, title, url, blocked_team, blocking_team) (%s)", sel("dependency_open_seconds"))}).
		WithTransformation(organize([]string{"Time"}, map[string]string{"Value": "waiting", "blocked_key": "key"},
			[]string{"blocked_key", "title", "blocked_team", "blocking_key", "blocking_team", "waiting", "source", "url"})).
		OverrideByName("key", itemLink("key")).
		OverrideByName("url", hide()).
		SortBy(sortDesc("waiting")))
	return b
}
