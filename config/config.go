// Package config defines crossteam's configuration file: its schema, strict
// decoding, defaults, validation and the resolved forms the engine uses.
//
// Loading happens in three steps, as in blackbox_exporter:
//  1. strict YAML decoding: unknown keys and duplicate keys are errors that
//     name the line and the key;
//  2. defaults, applied at decode time (a struct's defaults are set before its
//     fields are decoded, so a key left out keeps its default);
//  3. validation, which resolves derived forms (time zones, pair overrides,
//     identity lookups) and reports every problem, one per line (joined
//     with errors.Join), each with the path of the field it concerns, e.g.
//     `teams.design.members[2]: ...`.
//
// Secrets (tokens, passwords, private keys) are never taken from flags; they
// come from the file, a file named by *_file (re-read when it changes) or an
// environment variable named by *_env, and they print as <secret>.
package config

import (
	"regexp"
	"time"

	"github.com/prometheus/common/model"
)

// Config is the whole configuration file.
type Config struct {
	// Teams by name. The name is the label value in every metric.
	Teams TeamMap `yaml:"teams"`
	// Ownership decides which team owns an item at an instant.
	Ownership Ownership `yaml:"ownership"`
	// Handoffs holds stall thresholds, per-pair overrides and bounce detection.
	Handoffs Handoffs `yaml:"handoffs"`
	// Agreements between teams, keyed "from->to" (see Agreement); nil
	// means DefaultAgreements.
	Agreements map[string]Agreement `yaml:"agreements,omitempty"`
	// Flow: the markers that make a handed-off item's time count as
	// blocked; nil means DefaultFlow.
	Flow *Flow `yaml:"flow,omitempty"`
	// Calendar is the default working calendar of teams that set none. When
	// absent, working time equals calendar time for those teams.
	Calendar *Calendar `yaml:"calendar,omitempty"`
	// Sources are the GitHub and Jira targets to sync.
	Sources Sources `yaml:"sources"`
	// Milestones controls how joint milestones are formed and exported.
	Milestones Milestones `yaml:"milestones"`
	// Signals are named filters for items the team rituals care about.
	Signals []*Signal `yaml:"signals,omitempty"`
	// Dependencies: cross-team "blocked by" links (see records.go).
	Dependencies Dependencies `yaml:"dependencies"`
	// Store is where events are kept.
	Store Store `yaml:"store"`
	// Sync controls the background sync.
	Sync Sync `yaml:"sync"`

	// Resolved at validation.
	teamNames  []string
	ids        identityIndex
	markers    markerIndex
	pairs      map[pairKey]PairOverride
	agreements map[pairKey]Agreement
	blocked    blockedIndex
}

// Team is one team: who is in it and what marks an item as its own.
type Team struct {
	Name string `yaml:"-"` // the map key
	// Members by identity. A plain string applies to every source.
	Members []Member `yaml:"members,omitempty"`
	// GitHubTeams are GitHub teams ("org/slug") whose members belong to this
	// team; the GitHub collector expands them.
	GitHubTeams []string `yaml:"github_teams,omitempty"`
	// Markers show ownership in each source.
	Markers Markers `yaml:"markers"`
	// Calendar, when set, makes working-time durations use this team's
	// working days, hours and holidays (the receiving team's calendar is
	// used for a handoff).
	Calendar *Calendar `yaml:"calendar,omitempty"`
}

// Member is a person's identities. In YAML either a mapping with the keys
// below, or a plain string that is used as the identity in every source.
type Member struct {
	GitHub string `yaml:"github,omitempty"` // GitHub login
	Jira   string `yaml:"jira,omitempty"`   // Jira account id (Cloud) or user name/key (Data Center)
	Email  string `yaml:"email,omitempty"`  // matched against Jira actors that expose an email
}

// UnmarshalYAML accepts a plain string or a mapping; the mapping form is
// decoded strictly (KnownFields propagates through this unmarshal style).
func (m *Member) UnmarshalYAML(unmarshal func(any) error) error {
	var s string
	if err := unmarshal(&s); err == nil {
		*m = Member{GitHub: s, Jira: s}
		return nil
	}
	type plain Member
	return unmarshal((*plain)(m))
}

// Markers are the ownership markers of a team, per source.
type Markers struct {
	GitHubLabels   []string     `yaml:"github_labels,omitempty"`    // e.g. "team:design"
	JiraStatuses   []JiraStatus `yaml:"jira_statuses,omitempty"`    // statuses that mean "this team has it"
	JiraComponents []string     `yaml:"jira_components,omitempty"`  // components owned by the team
	JiraTeamValues []string     `yaml:"jira_team_values,omitempty"` // values of the Jira team field
}

// JiraStatus is a Jira status owned by a team. A waiting status means the
// work sits in the team's queue; moving from it to an active status of the
// same team is a pickup.
type JiraStatus struct {
	Name    string `yaml:"name"`
	Waiting bool   `yaml:"waiting"`
	// Blocked: while an item is in this status its handoff time counts as
	// blocked (flow time), the team still owning it.
	Blocked bool `yaml:"blocked,omitempty"`
}

// Ownership precedence values.
const (
	ByMarker   = "marker"   // a team marker (label, Jira status, team field, component)
	ByAssignee = "assignee" // the team of an assignee
	ByAuthor   = "author"   // the team of the item's author
)

// Ownership decides the owning team of an item at an instant: the first rule
// in Precedence that yields a team wins.
type Ownership struct {
	Precedence []string `yaml:"precedence"`
}

// Handoffs holds the handoff settings.
type Handoffs struct {
	// StallAfter: an open handoff with no activity by the receiving team for
	// longer than this is stalled.
	StallAfter model.Duration `yaml:"stall_after"`
	// StallClock is "working" (measure idle time in the receiving team's
	// working calendar; equals calendar time for teams without one) or
	// "calendar".
	StallClock string `yaml:"stall_clock"`
	// Pairs overrides settings per team pair, keyed "from->to"; either side
	// may be "*".
	Pairs map[string]PairOverride `yaml:"pairs,omitempty"`
	// Bounce detection.
	Bounce Bounce `yaml:"bounce"`
	// MaxStalledExported caps the per-item stalled series (the longest idle
	// first).
	MaxStalledExported int `yaml:"max_stalled_exported"`
}

// Stall clocks.
const (
	ClockWorking  = "working"
	ClockCalendar = "calendar"
)

// PairOverride overrides handoff settings for one team pair.
type PairOverride struct {
	StallAfter model.Duration `yaml:"stall_after"`
}

// Bounce controls bounce detection: B handing an item back to A, the team
// it came from.
type Bounce struct {
	Enabled bool `yaml:"enabled"`
	// Window: only a return within this time of the original handoff counts;
	// 0 means any time.
	Window model.Duration `yaml:"window"`
}

// Calendar is a working calendar.
type Calendar struct {
	Timezone     string       `yaml:"timezone"`      // IANA name, e.g. Europe/Berlin
	WorkingDays  []string     `yaml:"working_days"`  // mon..sun
	WorkingHours WorkingHours `yaml:"working_hours"` // local start/end, "09:00"-"17:00"
	Holidays     []string     `yaml:"holidays,omitempty"`

	// Resolved at validation.
	Location *time.Location       `yaml:"-" json:"-"`
	Days     [7]bool              `yaml:"-" json:"-"` // indexed by time.Weekday
	StartMin int                  `yaml:"-" json:"-"` // minutes after local midnight
	EndMin   int                  `yaml:"-" json:"-"`
	Holiday  map[civilDate]bool   `yaml:"-" json:"-"`
	holidays map[civilDate]string // date -> original text, for error messages
}

// WorkingHours is a daily working window in local time.
type WorkingHours struct {
	Start string `yaml:"start"`
	End   string `yaml:"end"`
}

// Sources lists the targets.
type Sources struct {
	GitHub []*GitHubSource `yaml:"github,omitempty"`
	Jira   []*JiraSource   `yaml:"jira,omitempty"`
}

// GitHubSource is one GitHub (or GitHub Enterprise) target.
type GitHubSource struct {
	// Name of the target: the `target` label on health metrics.
	Name string `yaml:"name"`
	// BaseURL of the REST API; https://api.github.com/ by default, or
	// https://HOST/api/v3/ for GitHub Enterprise Server.
	BaseURL string `yaml:"base_url"`
	// InsecureHTTP allows a plain-http BaseURL on a non-loopback host.
	InsecureHTTP bool `yaml:"insecure_http,omitempty"`
	// Repos by full name "owner/name".
	Repos []string `yaml:"repos,omitempty"`
	// Orgs: every repository of an org whose name matches Include and not
	// Exclude (regular expressions, anchored).
	Orgs []OrgPattern `yaml:"orgs,omitempty"`
	// Token auth: exactly one of Token, TokenFile, TokenEnv, or App.
	Token     Secret `yaml:"token,omitempty"`
	TokenFile string `yaml:"token_file,omitempty"`
	TokenEnv  string `yaml:"token_env,omitempty"`
	// App authenticates as a GitHub App installation.
	App *GitHubApp `yaml:"app,omitempty"`
	// GraphQL selects how history (timeline events, comments, reviews) is
	// fetched: "auto" (default: GraphQL, falling back to REST when the
	// endpoint has none), "on" (GraphQL; a missing endpoint is an error)
	// or "off" (REST only). Change detection is REST in every mode.
	GraphQL string `yaml:"graphql,omitempty"`
	// Concurrency is how many repositories sync at once (each with one
	// request in flight), under the target's one rate-limit budget; nil =
	// DefaultGitHubConcurrency, 1: GitHub asks integrators to make
	// requests serially rather than concurrently to stay clear of its
	// secondary rate limits (which also cap concurrent requests at 100 for
	// everything using the token), and on the 2-core benchmark machine 2
	// made the medium full sync 19% faster but the scrapes during it
	// slower (p99 60-106 ms against 46-48 ms). One repository at a time
	// still fetches its next page while the last one is written.
	Concurrency *int `yaml:"concurrency,omitempty"`
}

// GitHub repository concurrency: the default and the largest accepted.
const (
	DefaultGitHubConcurrency = 1
	MaxGitHubConcurrency     = 10
)

// Workers is the target's concurrency with the default applied.
func (g *GitHubSource) Workers() int {
	if g.Concurrency == nil {
		return DefaultGitHubConcurrency
	}
	return *g.Concurrency
}

// GraphQL modes of a GitHub target.
const (
	GraphQLAuto = "auto"
	GraphQLOn   = "on"
	GraphQLOff  = "off"
)

// GraphQLMode is the target's graphql mode with the default applied.
func (g *GitHubSource) GraphQLMode() string {
	if g.GraphQL == "" {
		return GraphQLAuto
	}
	return g.GraphQL
}

// OrgPattern selects repositories of an organisation by name.
type OrgPattern struct {
	Org     string   `yaml:"org"`
	Include []string `yaml:"include,omitempty"`
	Exclude []string `yaml:"exclude,omitempty"`

	// Compiled by validation (anchored), so collectors never parse them.
	include, exclude []*regexp.Regexp
}

// Match reports whether a repository name of the org is selected: it
// matches an Include pattern (or there are none) and no Exclude pattern.
// Patterns are compiled when the configuration is validated; a pattern
// built in code without validation selects by Compile on first use.
func (o *OrgPattern) Match(name string) bool {
	if o.include == nil && o.exclude == nil {
		o.compile()
	}
	ok := len(o.Include) == 0
	for _, re := range o.include {
		if re.MatchString(name) {
			ok = true
			break
		}
	}
	for _, re := range o.exclude {
		if re.MatchString(name) {
			return false
		}
	}
	return ok
}

// compile compiles Include and Exclude, returning the first error of each
// list by index (nil slices entries are skipped by Match).
func (o *OrgPattern) compile() (include, exclude map[int]error) {
	comp := func(pats []string) ([]*regexp.Regexp, map[int]error) {
		out := make([]*regexp.Regexp, 0, len(pats))
		var errs map[int]error
		for i, p := range pats {
			re, err := regexp.Compile("^(?:" + p + ")$")
			if err != nil {
				if errs == nil {
					errs = map[int]error{}
				}
				errs[i] = err
				continue
			}
			out = append(out, re)
		}
		return out, errs
	}
	o.include, include = comp(o.Include)
	o.exclude, exclude = comp(o.Exclude)
	return include, exclude
}

// GitHubApp is GitHub App installation auth.
type GitHubApp struct {
	AppID          int64  `yaml:"app_id"`
	InstallationID int64  `yaml:"installation_id"`
	PrivateKey     Secret `yaml:"private_key,omitempty"`
	PrivateKeyFile string `yaml:"private_key_file,omitempty"`
}

// Jira deployments.
const (
	JiraCloud      = "cloud"
	JiraDataCenter = "datacenter"
)

// JiraSource is one Jira site.
type JiraSource struct {
	Name         string `yaml:"name"`
	URL          string `yaml:"url"`
	InsecureHTTP bool   `yaml:"insecure_http,omitempty"`
	// Deployment is "cloud" (search/jql + changelog bulkfetch) or
	// "datacenter" (/search with startAt and expand=changelog).
	Deployment string `yaml:"deployment"`
	// Email with an API token (Cloud, basic auth); or only a token, used as
	// a personal access token (Data Center, bearer auth).
	Email     string `yaml:"email,omitempty"`
	Token     Secret `yaml:"token,omitempty"`
	TokenFile string `yaml:"token_file,omitempty"`
	TokenEnv  string `yaml:"token_env,omitempty"`
	// Projects by key.
	Projects []string `yaml:"projects"`
	// JQL is ANDed with the project clause.
	JQL string `yaml:"jql,omitempty"`
	// TeamField is the name of the custom field that holds the team, if any.
	TeamField string `yaml:"team_field,omitempty"`
}

// Milestones controls joint milestones.
type Milestones struct {
	// GitHubByTitle groups GitHub milestones of the same title across repos.
	GitHubByTitle bool `yaml:"github_by_title"`
	// JiraFixVersions makes Jira fix versions milestones (grouped by name).
	JiraFixVersions bool `yaml:"jira_fix_versions"`
	// JiraEpics makes Jira epics milestones too.
	JiraEpics bool `yaml:"jira_epics"`
	// MergeSources merges GitHub milestones and Jira fix versions of the same
	// title into one milestone (source label "all").
	MergeSources bool `yaml:"merge_sources"`
	// MinTeams: a milestone is joint when at least this many teams owned or
	// acted on its items.
	MinTeams int `yaml:"min_teams"`
	// MaxExported caps the per-milestone series (open ones by due date
	// first, then the most recently completed).
	MaxExported int `yaml:"max_exported"`
	// KeepCompleted keeps a completed joint milestone's series this long
	// after completion.
	KeepCompleted model.Duration `yaml:"keep_completed"`
}

// Signal is a named filter for items the team rituals care about.
type Signal struct {
	Name string `yaml:"name"`
	// Kind makes the matching items records: "decision" or "postmortem"
	// (see records.go); empty for a plain signal (open count and age).
	Kind         string   `yaml:"kind,omitempty"`
	GitHubLabels []string `yaml:"github_labels,omitempty"`
	JiraJQL      string   `yaml:"jira_jql,omitempty"`
	// Record settings, for kind decision or postmortem only; every one
	// has a default, so `kind: decision` alone is enough.
	//
	// DecidedStatuses (decision, Jira): statuses meaning the decision is
	// taken although the issue is not resolved (case-insensitive).
	DecidedStatuses []string `yaml:"decided_statuses,omitempty"`
	// DecidedLabels (decision, GitHub): labels meaning the same.
	DecidedLabels []string `yaml:"decided_labels,omitempty"`
	// DateLabelPrefix (GitHub): a label "<prefix>YYYY-MM-DD" carries the
	// revisit date of a decision / the due date of an action; default
	// "revisit:" / "due:". Without one, the milestone's due date applies.
	DateLabelPrefix string `yaml:"date_label_prefix,omitempty"`
	// JiraDateField: the Jira field id holding the revisit / due date
	// (default duedate; or a custom date field such as customfield_10042).
	JiraDateField string `yaml:"jira_date_field,omitempty"`
	// MaxExported caps the per-item series of the signal's list
	// (default 50).
	MaxExported *int `yaml:"max_exported,omitempty"`
	// KeepDecided (decision): how long a decided decision stays listed
	// (default 14d).
	KeepDecided *model.Duration `yaml:"keep_decided,omitempty"`
}

// Store is the event store.
type Store struct {
	Path string `yaml:"path"`
}

// Sync controls background syncing.
type Sync struct {
	Interval model.Duration `yaml:"interval"`
	// Backfill limits the first sync to items updated after this instant
	// (RFC 3339 or a date); empty means all history.
	Since string `yaml:"since,omitempty"`

	since time.Time // Since parsed by validation
}

// SinceTime is sync.since as parsed when the configuration was validated
// (UTC); zero means all history.
func (s Sync) SinceTime() time.Time { return s.since }
