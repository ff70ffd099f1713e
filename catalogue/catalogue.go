// Package catalogue is the single list of crossteam's metrics: name, type,
// help text and labels. The exposition builds its descriptors from it, the
// README's metric table is generated from it (and a test keeps them equal),
// and the dashboards and rules may only name metrics found here.
//
// Metric policy (after kube-state-metrics): base units (seconds), counters
// end in _total, instants in _timestamp_seconds, no unbounded labels — labels
// are sources, targets, teams, team pairs, milestones (capped by
// milestones.max_exported), signals and Jira statuses; per-item series exist
// only for stalled handoffs, capped by handoffs.max_stalled_exported, and for
// the record lists (decisions, overdue post-mortem actions, open
// dependencies), capped per signal by max_exported and by
// dependencies.max_exported. Label values taken from titles are cut to
// MaxLabelValueLength bytes.
//
// Series presence of the records: the count gauges and the histograms of
// a team (pair) are exported while the team (pair) has a record
// (dependency) at the instant, or once it has an observation (then for
// good), 0 / zero observations until then. A histogram series therefore
// exists before its team's first observation (the record was open under
// that team first), so increase() over a window counts that observation;
// tests expect zero-count _bucket series for a team that has open records
// but has decided, closed or resolved nothing yet. Per-item series exist
// while the item is in its list.
package catalogue

import (
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"
)

// Namespace prefixes every metric name.
const Namespace = "crossteam"

// MaxLabelValueLength caps label values that come from free text (item
// keys, titles and URLs, milestone titles, Jira status names): longer values
// are cut at a UTF-8 boundary and end in "…".
const MaxLabelValueLength = 200

// Type is a metric type.
type Type string

// Metric types.
const (
	Counter   Type = "counter"
	Gauge     Type = "gauge"
	Histogram Type = "histogram"
)

// Group says which part of the kit a metric belongs to.
type Group string

// Groups.
const (
	Handoffs   Group = "handoffs"
	Items      Group = "items"
	Milestones Group = "milestones"
	Signals    Group = "signals"
	Records    Group = "records" // decisions, post-mortem actions, dependencies
	Health     Group = "health"  // the exporter's own health, kept apart in code
)

// Metric is one catalogue entry.
type Metric struct {
	Name   string // full name including the namespace
	Type   Type
	Help   string
	Labels []string
	Group  Group
}

func m(name string, t Type, g Group, help string, labels ...string) Metric {
	return Metric{Name: Namespace + "_" + name, Type: t, Help: help, Labels: labels, Group: g}
}

var pair = []string{"source", "from_team", "to_team"}

// stalledLabels identify one stalled handoff.
var stalledLabels = []string{"source", "key", "url", "title", "kind", "from_team", "to_team"}

func with(base []string, more ...string) []string {
	return append(append([]string(nil), base...), more...)
}

// Metrics is the catalogue, in README order.
var Metrics = []Metric{
	m("handoffs_total", Counter, Handoffs, "Handoffs from one team to another since the start of stored history (computed from stored events in the background).", pair...),
	m("handoff_bounces_total", Counter, Handoffs, "Handoffs from_team->to_team that to_team later handed straight back to from_team.", pair...),
	m("handoff_pickup_seconds", Histogram, Handoffs, "Time from a handoff to the first activity by the receiving team, calendar time.", pair...),
	m("handoff_pickup_working_seconds", Histogram, Handoffs, "Time from a handoff to the first activity by the receiving team, in the receiving team's working hours.", pair...),
	m("handoff_cycle_seconds", Histogram, Handoffs, "Time from a handoff until the receiving team is done with it (passed it on, closed, approved), calendar time.", pair...),
	m("handoff_cycle_working_seconds", Histogram, Handoffs, "Handoff cycle time in the receiving team's working hours.", pair...),
	m("handoff_waiting_seconds", Histogram, Handoffs, "Flow time of done handoffs: how long the item waited for the receiving team (handoff to pickup) while not blocked, calendar time.", pair...),
	m("handoff_active_seconds", Histogram, Handoffs, "Flow time of done handoffs: how long the item was active with the receiving team (pickup to done) while not blocked, calendar time.", pair...),
	m("handoff_blocked_seconds", Histogram, Handoffs, "Flow time of done handoffs: how long the item carried a blocked marker (flow.blocked_labels / blocked_statuses) between handoff and done, calendar time; waiting + active + blocked = the cycle time.", pair...),
	m("handoff_pickups_within_agreement_total", Counter, Handoffs, "Pickups within the pickup target of the pair's working agreement (its denominator: handoff_pickup_seconds_count), on the agreement's clock.", pair...),
	m("handoff_cycles_within_agreement_total", Counter, Handoffs, "Handoffs done within the cycle target of the pair's working agreement (its denominator: handoff_cycle_seconds_count); only for agreements with a cycle objective.", pair...),
	m("handoff_agreement_objective_ratio", Gauge, Handoffs, "The share of handoffs the pair's working agreement expects within its target, by kind (pickup, cycle); notify_sender says whether the sending team is copied when the budget burns.", with(pair, "kind", "notify_sender")...),
	m("handoff_agreement_target_seconds", Gauge, Handoffs, "The target time of the pair's working agreement, by kind (pickup, cycle).", with(pair, "kind")...),
	m("handoffs_open", Gauge, Handoffs, "Open handoffs: waiting (not picked up yet) or in_progress.", with(pair, "state")...),
	m("handoffs_stalled", Gauge, Handoffs, "Open handoffs with no activity by the receiving team for longer than the pair's stall_after.", pair...),
	m("handoff_oldest_waiting_seconds", Gauge, Handoffs, "Deprecated, use handoff_oldest_waiting_timestamp_seconds: age of the oldest handoff still waiting for pickup, calendar time; 0 when none waits.", pair...),
	m("handoff_oldest_waiting_timestamp_seconds", Gauge, Handoffs, "When the oldest handoff still waiting for pickup was made (Unix time; its age is time() minus this); absent when none waits.", pair...),
	m("stalled_handoff_idle_seconds", Gauge, Handoffs, "Deprecated, use stalled_handoff_idle_since_timestamp_seconds: one series per stalled handoff (capped, longest idle first): calendar time since the receiving team last acted on it.", stalledLabels...),
	m("stalled_handoff_idle_since_timestamp_seconds", Gauge, Handoffs, "One series per stalled handoff (capped, longest idle first): when the receiving team last acted on it, or the handoff if it never did (Unix time; idle time is time() minus this).", stalledLabels...),
	m("stalled_handoffs_unexported", Gauge, Handoffs, "Stalled handoffs left out of stalled_handoff_idle_seconds by the handoffs.max_stalled_exported cap."),
	m("item_cycle_seconds", Histogram, Items, "Creation to close of closed items, by how many teams owned or acted on them (1, 2, 3, 4+).", "source", "teams"),
	m("jira_unmapped_status_items", Gauge, Items, "Open Jira items in a status that no team's jira_statuses maps; fix the mapping to count their handoffs.", "status"),
	m("milestone_items", Gauge, Milestones, "Items in a joint milestone, by state (open, closed).", "source", "milestone", "state"),
	m("milestone_team_items", Gauge, Milestones, "Items in a joint milestone that a team owned or acted on, by state.", "source", "milestone", "team", "state"),
	m("milestone_teams", Gauge, Milestones, "Teams that contributed to a joint milestone.", "source", "milestone"),
	m("milestone_due_timestamp_seconds", Gauge, Milestones, "Due date of a joint milestone (the earliest in its group); absent when it has none.", "source", "milestone"),
	m("milestone_completed_timestamp_seconds", Gauge, Milestones, "When a joint milestone was completed (all its milestones closed); absent while open.", "source", "milestone"),
	m("joint_milestones_completed_total", Counter, Milestones, "Joint milestones completed: the small wins, by whether they met their due date (true, false, none).", "source", "on_time"),
	m("signal_items_open", Gauge, Signals, "Open items matching a signal (e.g. decision, postmortem_action), by owning team (none when unowned).", "signal", "team"),
	m("signal_oldest_open_seconds", Gauge, Signals, "Deprecated, use signal_oldest_open_timestamp_seconds: age of the oldest open item matching a signal, by owning team.", "signal", "team"),
	m("signal_oldest_open_timestamp_seconds", Gauge, Signals, "When the oldest open item matching a signal was created, by owning team (Unix time; its age is time() minus this).", "signal", "team"),
	m("decision_records", Gauge, Records, "Decision records (items of a kind: decision signal) by owning team and state: open, decided, revisit_due (decided and past its revisit date). A decided one counts for the team that had it when it was decided.", "signal", "source", "team", "state"),
	m("decision_time_to_decide_seconds", Histogram, Records, "Time from opening a decision to first deciding it (closed, a decided status or label), by the team that decided it.", "signal", "source", "team"),
	m("decision_info", Gauge, Records, "One series (value 1) per listed decision (capped per signal: revisit due first, then open and recently decided ones, newest first) with its link, teams (every team that touched it, comma-separated), state and dates (YYYY-MM-DD, empty when none).", "signal", "source", "key", "url", "title", "team", "teams", "state", "opened", "decided", "revisit"),
	m("decision_decided_timestamp_seconds", Gauge, Records, "When a listed decision was decided (the decision annotations on the trend panels).", "signal", "source", "key", "title", "team"),
	m("postmortem_actions_open", Gauge, Records, "Open post-mortem actions (items of a kind: postmortem signal) by owning team.", "signal", "source", "team"),
	m("postmortem_actions_overdue", Gauge, Records, "Open post-mortem actions past their due date, by owning team.", "signal", "source", "team"),
	m("postmortem_action_close_seconds", Histogram, Records, "Time from opening a post-mortem action to first closing it, by the team that closed it.", "signal", "source", "team"),
	m("postmortem_action_overdue_seconds", Gauge, Records, "One series per overdue post-mortem action (capped per signal, longest overdue first): time since its due date.", "signal", "source", "key", "url", "title", "team"),
	m("dependencies_open", Gauge, Records, "Open cross-team dependencies: items of blocked_team blocked by items of blocking_team (Jira \"is blocked by\" links, GitHub issue dependencies).", "source", "blocked_team", "blocking_team"),
	m("dependency_oldest_open_seconds", Gauge, Records, "Age of the oldest open dependency of the pair; 0 when none is open.", "source", "blocked_team", "blocking_team"),
	m("dependency_resolved_seconds", Histogram, Records, "Time from a dependency link to its resolution (link removed, or either item closed), by the pair just before it was resolved.", "source", "blocked_team", "blocking_team"),
	m("dependency_open_seconds", Gauge, Records, "One series per open cross-team dependency (capped, oldest first): how long the blocked item has waited on the blocking one.", "source", "blocked_key", "blocking_key", "url", "title", "blocked_team", "blocking_team"),
	m("records_unexported", Gauge, Records, "Entries left out of a record list by its cap, by list (decisions, postmortem_actions, dependencies).", "list"),
	m("record_dates_invalid", Gauge, Records, "Records whose revisit/due date label or field does not parse as YYYY-MM-DD: the record is kept and counted, the date ignored.", "signal", "source"),

	m("snapshot_timestamp_seconds", Gauge, Health, "The instant the served snapshot was computed for (asOf)."),
	m("snapshot_compute_seconds", Gauge, Health, "How long computing the served snapshot took."),
	m("snapshot_up", Gauge, Health, "1 if the last recomputation of the snapshot from the store succeeded, else 0 (the boards then show an older snapshot, or nothing)."),
	m("snapshot_last_success_timestamp_seconds", Gauge, Health, "When a snapshot was last computed from the store successfully."),
	m("source_up", Gauge, Health, "1 if the last sync of the target succeeded, else 0.", "source", "target"),
	m("sync_duration_seconds", Gauge, Health, "Duration of the last sync of the target.", "source", "target"),
	m("last_sync_success_timestamp_seconds", Gauge, Health, "When the target last synced successfully.", "source", "target"),
	m("api_requests_total", Counter, Health, "API requests sent to the target (every attempt, retries included), by endpoint (the route template, other for an unknown path) and HTTP status code (0 for transport errors).", "source", "target", "endpoint", "code"),
	m("api_request_duration_seconds", Histogram, Health, "Duration of API requests to the target, from sending to the response headers (or the transport error), by endpoint (the route template).", "source", "target", "endpoint"),
	m("api_rate_limit_remaining", Gauge, Health, "API requests left in the current rate-limit window, as the source last reported (X-RateLimit-Remaining), by resource (GitHub's x-ratelimit-resource: core, graphql, ...; default for Jira).", "source", "target", "resource"),
	m("api_rate_limit_limit", Gauge, Health, "API requests allowed in the rate-limit window, as the source last reported (X-RateLimit-Limit), by resource.", "source", "target", "resource"),
	m("api_rate_limit_reset_timestamp_seconds", Gauge, Health, "When the current rate-limit window resets, as the source last reported (X-RateLimit-Reset; GitHub epoch seconds, Jira ISO 8601), by resource.", "source", "target", "resource"),
	m("jira_link_types_missing", Gauge, Health, "1 per link type in dependencies.jira_link_types that the Jira target does not have (GET /issueLinkType): its dependencies are not collected; the target keeps syncing.", "source", "target", "link_type"),
	m("jira_comments_deferred", Gauge, Health, "Jira issues whose comments beyond the 20 Cloud's search embeds were not fetched, because under the current configuration they can change no metric (engine CommentJudge); a reload that makes them matter fetches them on the next sync.", "source", "target"),
	m("store_events", Gauge, Health, "Events held in the store.", "source"),
	m("config_last_reload_successful", Gauge, Health, "1 if the last configuration reload succeeded, else 0."),
	m("config_last_reload_success_timestamp_seconds", Gauge, Health, "When the configuration was last loaded successfully."),
	m("build_info", Gauge, Health, "A metric with a constant '1' value labeled by version, revision, branch, goversion from which crossteam was built, and the goos and goarch for the build.", "version", "revision", "branch", "goversion", "goos", "goarch", "tags"),
}

// ByName finds a metric by its full name. Histogram series names
// (_bucket, _sum, _count) resolve to their histogram.
func ByName(name string) (Metric, bool) {
	for _, x := range Metrics {
		if x.Name == name {
			return x, true
		}
		if x.Type == Histogram {
			for _, suf := range []string{"_bucket", "_sum", "_count"} {
				if name == x.Name+suf {
					return x, true
				}
			}
		}
	}
	return Metric{}, false
}

// MarkdownTable renders the catalogue as the README's metric table.
func MarkdownTable() string {
	var b strings.Builder
	b.WriteString("| metric | type | labels | meaning |\n|---|---|---|---|\n")
	for _, x := range Metrics {
		labels := make([]string, len(x.Labels))
		copy(labels, x.Labels)
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", x.Name, x.Type, strings.Join(labels, ", "), x.Help)
	}
	return b.String()
}

// Names returns every metric name, sorted.
func Names() []string {
	out := make([]string, 0, len(Metrics))
	for _, x := range Metrics {
		out = append(out, x.Name)
	}
	sort.Strings(out)
	return out
}

// CapLabelValue cuts free-text label values to MaxLabelValueLength bytes at
// a rune boundary, after replacing invalid UTF-8 (which the client library
// would refuse, failing the scrape) with U+FFFD.
func CapLabelValue(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if len(s) <= MaxLabelValueLength {
		return s
	}
	cut := MaxLabelValueLength - len("…")
	for cut > 0 && !utf8RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }
