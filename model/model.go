// Package model holds the source-agnostic domain records that the collectors
// write to the store and the engine reads back: items, events on items, and
// milestones. Nothing here knows about GitHub or Jira wire formats; the
// collectors translate into these types, and every later stage (store,
// engine, exposition) works only with them.
package model

import "time"

// Source names. They appear as the `source` label on every domain metric.
const (
	SourceGitHub = "github"
	SourceJira   = "jira"
)

// Item kinds.
const (
	KindIssue       = "issue"
	KindPullRequest = "pull_request"
	KindJiraIssue   = "jira_issue"
)

// Jira milestones. A Jira item's milestone value (EventMilestoned Value,
// Item.Milestones) is a fix version name, or JiraEpicPrefix + the epic's key
// for epic membership. Milestone records use JiraVersionPrefix + version id
// or JiraEpicPrefix + epic key as Key, and the version name or epic summary
// as Title. The collector stores both kinds; the engine decides from
// milestones.jira_fix_versions / jira_epics which ones count, so changing
// the config needs no re-fetch.
const (
	JiraVersionPrefix = "version:"
	JiraEpicPrefix    = "epic:"
)

// Item is an issue, a pull request or a Jira issue in its latest known state.
// History lives in events; the engine derives the state at any instant from
// those, and uses the item record only for what events do not carry (title,
// URL, creation, and the current milestones when no milestone events exist).
type Item struct {
	Source  string    // SourceGitHub or SourceJira
	Key     string    // unique within Source: "owner/repo#123" or "PROJ-12"
	Target  string    // the configured source target it came from (for sharding and health)
	Kind    string    // KindIssue, KindPullRequest, KindJiraIssue
	URL     string    // human (HTML) URL of the item
	Title   string    // title or summary
	Author  string    // GitHub login or Jira account id of the creator/reporter
	Created time.Time // creation instant
	// Closed is the latest close/resolution instant; zero while open. The
	// engine takes close state from events (EventClosed/EventReopened) when
	// present and falls back to this.
	Closed  time.Time
	Updated time.Time // last update as reported by the source (sync watermark)
	// Milestones are the current milestone titles (GitHub milestone, Jira fix
	// versions, and the epic key when epics are grouped as milestones). Used
	// as membership since creation when an item has no milestone events.
	Milestones []string
	// Labels are the current GitHub labels (Jira labels for Jira items).
	// Used as state since creation when an item has no label events.
	Labels []string
	// Assignees are the current assignees (GitHub logins, Jira account id).
	// Used as state since creation for assignees without assign events.
	Assignees []string
	// Status, TeamValue and Components are the current Jira status, team
	// field value and components; the engine uses them as the state since
	// creation when the item has no events changing them.
	Status     string
	TeamValue  string
	Components []string
	// Signals are names of configured signals whose source-side filter (for
	// example a JQL) matched this item at the last sync.
	Signals []string
}

// EventKind is what happened to an item.
type EventKind string

// Event kinds. Value/From/To carry the payload as documented per kind.
const (
	EventCreated              EventKind = "created"                // Actor opened the item
	EventLabeled              EventKind = "labeled"                // Value = label
	EventUnlabeled            EventKind = "unlabeled"              // Value = label
	EventAssigned             EventKind = "assigned"               // Value = assignee identity
	EventUnassigned           EventKind = "unassigned"             // Value = assignee identity
	EventReviewRequested      EventKind = "review_requested"       // Value = user login, or Team = "org/slug"
	EventReviewRequestRemoved EventKind = "review_request_removed" // Value = user login, or Team = "org/slug"
	EventReviewed             EventKind = "reviewed"               // Value = approved | changes_requested | commented | dismissed
	EventCommented            EventKind = "commented"              // Actor commented
	EventCommitted            EventKind = "committed"              // Actor pushed a commit
	EventClosed               EventKind = "closed"                 // item closed / resolved
	EventMerged               EventKind = "merged"                 // pull request merged (also closes)
	EventReopened             EventKind = "reopened"               // item reopened
	EventMilestoned           EventKind = "milestoned"             // Value = milestone title / fix version / epic
	EventDemilestoned         EventKind = "demilestoned"           // Value = milestone title / fix version / epic
	EventStatusChanged        EventKind = "status_changed"         // Jira status: From -> To (status names)
	EventTeamFieldChanged     EventKind = "team_field_changed"     // Jira team field: From -> To
	EventComponentAdded       EventKind = "component_added"        // Jira component: Value
	EventComponentRemoved     EventKind = "component_removed"      // Jira component: Value
	// Dependencies: the item is blocked by another item of the same source
	// (Value = its key: "owner/repo#12", "PROJ-7"): a Jira "is blocked by"
	// link of a configured type, a GitHub issue dependency.
	EventBlockedByAdded   EventKind = "blocked_by_added"
	EventBlockedByRemoved EventKind = "blocked_by_removed"
	// EventDateSet: a Jira date field changed: Value = field id (duedate,
	// customfield_NNNNN), From -> To as YYYY-MM-DD ("" when unset). The
	// collector stores the value the item was created with as one at
	// creation, so the date at any instant is the last one set before it.
	EventDateSet EventKind = "date_set"
)

// Event is one thing that happened to an item at an instant, by an actor.
type Event struct {
	Source  string    // SourceGitHub or SourceJira
	ID      string    // natural id, unique within Source (GitHub event id, "c<comment id>", Jira "<history id>/<n>")
	ItemKey string    // Item.Key
	At      time.Time // when it happened
	Actor   string    // GitHub login or Jira account id; "" when unknown
	Kind    EventKind
	Value   string // see the kind's comment
	Team    string // for review requests to a GitHub team: "org/slug"
	From    string // previous value for *_changed kinds
	To      string // new value for *_changed kinds
}

// Milestone is one milestone in one place: a GitHub milestone of one repo or
// a Jira fix version of one project. The engine groups them by title.
type Milestone struct {
	Source string    // SourceGitHub or SourceJira
	Key    string    // unique within Source: "owner/repo/milestones/3", "jira/version/10001"
	Title  string    // grouping key across repositories and projects
	URL    string    // human URL when known
	Due    time.Time // zero when no due date; date-only sources use the end of that day UTC
	Closed time.Time // zero while open; GitHub closed_at, Jira release date of a released version
}

// TeamMember records that an identity belongs to a team because a source
// expanded a group (a GitHub team "org/slug") into its members.
type TeamMember struct {
	Team     string // configured team name
	Source   string // where the identity is valid
	Identity string // GitHub login / Jira account id
	Via      string // the group that was expanded, e.g. "acme/design"
}

// Identity is a fact a source reported about an account: besides the id
// that events and items carry as Actor/Author (Account), the account is
// also known as Value of the given Kind. Collectors store these as reported
// and never resolve teams; the engine matches a configured member against
// the account's id and every stored alias, so adding a member by email
// after a sync re-derives history without a re-fetch.
type Identity struct {
	Source  string // "jira" (GitHub actors are logins and need none)
	Account string // Jira Cloud account id / Data Center user name
	Kind    string // IdentityKey or IdentityEmail
	Value   string // the alias
}

// Identity kinds.
const (
	IdentityKey   = "key"   // Jira Data Center user key
	IdentityEmail = "email" // the email address the API exposes
)

// Dataset is everything stored, as the engine reads it. Events are ordered by
// (Source, ItemKey, At) and, for equal instants, by the order they were
// stored; the engine relies on that order and does not re-sort.
type Dataset struct {
	Items      []Item
	Events     []Event
	Milestones []Milestone
	Members    []TeamMember
	Identities []Identity // ordered by (Source, Account, Kind)
}
