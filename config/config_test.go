package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the tests name time zones; do not depend on the host's zoneinfo

	"github.com/prometheus/common/model"
)

const examplePath = "example.yml"

func TestExampleLoads(t *testing.T) {
	c, err := Load(examplePath)
	if err != nil {
		t.Fatalf("Load(%s): %v", examplePath, err)
	}
	if got, want := c.TeamNames(), []string{"backend", "design", "platform"}; !reflect.DeepEqual(got, want) {
		t.Errorf("TeamNames() = %v, want %v", got, want)
	}
	if n := len(c.Sources.GitHub); n != 2 || c.Sources.GitHub[1].App == nil {
		t.Errorf("want a token target and a GitHub App target, got %d github targets", n)
	}
	if g := c.Sources.GitHub; len(g) == 2 && (g[0].Concurrency == nil || g[0].Workers() != 2 || g[1].Concurrency != nil || g[1].Workers() != DefaultGitHubConcurrency) {
		t.Errorf("github concurrency: %v %d, %v %d; want 2 set, and unset = the default %d", g[0].Concurrency, g[0].Workers(), g[1].Concurrency, g[1].Workers(), DefaultGitHubConcurrency)
	}
	if n := len(c.Sources.Jira); n != 2 || c.Sources.Jira[0].Deployment != JiraCloud || c.Sources.Jira[1].Deployment != JiraDataCenter {
		t.Errorf("want a cloud and a datacenter Jira target, got %+v", c.Sources.Jira)
	}
	for _, g := range c.Sources.GitHub {
		if g.Token != "" || (g.App != nil && g.App.PrivateKey != "") {
			t.Errorf("github/%s: the example must not hold an inline secret", g.Name)
		}
	}
	for _, j := range c.Sources.Jira {
		if j.Token != "" {
			t.Errorf("jira/%s: the example must not hold an inline secret", j.Name)
		}
	}
	if c.Teams["design"].Calendar == nil || c.Teams["backend"].Calendar == nil || c.Calendar == nil {
		t.Error("want per-team calendars and a default calendar")
	}
	// backend's calendar sets only some keys: the rest keep their defaults.
	if cal := c.Teams["backend"].Calendar; !reflect.DeepEqual(cal.WorkingDays, DefaultCalendar.WorkingDays) || cal.StartMin != 8*60+30 {
		t.Errorf("backend calendar: working_days %v, start %d", cal.WorkingDays, cal.StartMin)
	}
	if len(c.Handoffs.Pairs) == 0 || len(c.Signals) == 0 {
		t.Error("want pair overrides and signals")
	}
}

// TestExampleDocumentsEveryKey fails when a field is added to the schema
// without being shown in example.yml.
func TestExampleDocumentsEveryKey(t *testing.T) {
	b, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string][]string{} // yaml key -> types that have it
	schemaKeys(reflect.TypeOf(Config{}), map[reflect.Type]bool{}, keys)
	if len(keys) < 60 {
		t.Fatalf("found only %d keys; is the walk broken?", len(keys))
	}
	for key, types := range keys {
		re := regexp.MustCompile(`(?m)(^|[\s{,])` + regexp.QuoteMeta(key) + `:`)
		if !re.Match(b) {
			t.Errorf("%s: key %q (of %s) is not documented", examplePath, key, strings.Join(types, ", "))
		}
	}
}

// schemaKeys collects the yaml keys of every struct of this package that
// is reachable from t.
func schemaKeys(t reflect.Type, seen map[reflect.Type]bool, keys map[string][]string) {
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Map:
		schemaKeys(t.Elem(), seen, keys)
		return
	case reflect.Struct:
	default:
		return
	}
	if seen[t] || t.PkgPath() != reflect.TypeOf(Config{}).PkgPath() {
		return
	}
	seen[t] = true
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		keys[name] = append(keys[name], t.Name())
		schemaKeys(f.Type, seen, keys)
	}
}

// TestBadConfigs maps each file in testdata/bad-*.yml to the exact error
// Load returns for it, less the "config <path>: " prefix.
func TestBadConfigs(t *testing.T) {
	tests := []struct{ file, want string }{
		{"bad-agreement-clock.yml", "agreements[\"design->*\"].pickup.clock: unknown clock \"office\" (want working or calendar)"},
		{"bad-agreement-no-pickup.yml", "agreements[\"*->backend\"].pickup: must be set (objective and within)"},
		{"bad-agreement-objective.yml", "agreements[\"design->backend\"].pickup.objective: 1.5 must be in (0, 1], e.g. 0.9 for 90%"},
		{"bad-agreement-team.yml", "agreements[\"design->ops\"]: unknown team \"ops\""},
		{"bad-agreement-window-short.yml", "agreements[\"design->backend\"].cycle.within: 10d is longer than the window 1w"},
		{"bad-agreement-within.yml", "line 6: agreements[\"design->backend\"].pickup.within: not a valid duration string: \"soon\""},
		{"bad-flow-label-empty.yml", "flow.blocked_labels[1]: must not be empty"},
		// Every decoding problem at once: two bad durations (the second
		// quoted) and the unknown keys decoding stopped before.
		{"bad-several-decode-errors.yml", "line 4: handoffs.stall_after: not a valid duration string: \"3\"\nline 5: handoffs.bounce.window: not a valid duration string: \"soon\"\nline 2: teams.design: unknown key \"membrs\" (did you mean \"members\"?); line 6: sync: unknown key \"intervall\" (did you mean \"interval\"?)"},
		// yaml.v3 names the 0-based line of the enclosing block for parser
		// errors (line 3 here, the flow sequence opens on line 4).
		{"bad-syntax-flow-sequence.yml", "line 4: did not find expected ',' or ']' (in the block that starts on that line)"},
		{"bad-syntax-flow-mapping.yml", "line 3: did not find expected ',' or '}' (in the block that starts on that line)"},
		{"bad-bounce-window-negative.yml", "line 5: handoffs.bounce.window: not a valid duration string: \"-1h\""},
		{"bad-calendar-day.yml", "calendar.working_days[1]: unknown day \"tues\" (want mon, tue, wed, thu, fri, sat or sun)"},
		{"bad-calendar-days-empty.yml", "calendar.working_days: must list at least one day"},
		{"bad-calendar-holiday.yml", "teams.design.calendar.holidays[1]: \"25.12.2025\" is not a date YYYY-MM-DD"},
		{"bad-calendar-hours-24.yml", "calendar.working_hours.end: \"24:30\" is not a time of day HH:MM"},
		{"bad-calendar-hours.yml", "calendar.working_hours.start: \"9:00\" is not a time of day HH:MM"},
		{"bad-calendar-start-after-end.yml", "teams.design.calendar.working_hours: start 17:00 must be before end 09:00"},
		{"bad-calendar-start-equals-end.yml", "calendar.working_hours: start 09:00 must be before end 09:00"},
		{"bad-calendar-timezone-empty.yml", "calendar.timezone: unknown time zone \"\""},
		{"bad-calendar-timezone.yml", "teams.design.calendar.timezone: unknown time zone \"Europe/Atlantis\""},
		{"bad-comments-only.yml", "empty configuration: at least one team is required"},
		{"bad-component-duplicate.yml", "teams.design.markers.jira_components[0]: component \"UX\" already marks team \"backend\""},
		{"bad-component-empty.yml", "teams.design.markers.jira_components[0]: component \"\" must not be empty"},
		{"bad-duplicate-key-nested.yml", "line 5: mapping key \"stall_after\" already defined at line 4"},
		{"bad-duplicate-key.yml", "line 5: mapping key \"store\" already defined at line 3"},
		{"bad-duplicate-team.yml", "line 4: mapping key \"design\" already defined at line 2"},
		{"bad-duration-pair.yml", "line 6: handoffs.pairs[\"design->backend\"].stall_after: not a valid duration string: \"soon\""},
		{"bad-duration.yml", "line 4: handoffs.stall_after: unknown unit \"days\" in duration \"3days\""},
		{"bad-empty.yml", "empty configuration: at least one team is required"},
		{"bad-github-base-url-query.yml", "sources.github[0].base_url: \"https://ghe.example.com/api/v3/?...\" must not have a query string or fragment (put credentials in token, token_file or token_env)"},
		{"bad-jira-url-fragment.yml", "sources.jira[0].url: \"https://acme.atlassian.net/?...\" must not have a query string or fragment (put credentials in token, token_file or token_env)"},
		{"bad-github-app-and-token.yml", "sources.github[0]: set either app or one of token, token_file, token_env, not both"},
		{"bad-github-app-id.yml", "sources.github[0].app.app_id: must be a positive number"},
		{"bad-github-app-installation-id.yml", "sources.github[0].app.installation_id: must be a positive number"},
		{"bad-github-app-key-both.yml", "sources.github[0].app: set exactly one of private_key, private_key_file"},
		{"bad-github-app-key-none.yml", "sources.github[0].app: set exactly one of private_key, private_key_file"},
		{"bad-github-auth-multiple.yml", "sources.github[0]: set only one of token, token_file, token_env"},
		{"bad-github-auth-none.yml", "sources.github[0]: set one of token, token_file, token_env or app"},
		{"bad-github-base-url.yml", "sources.github[0].base_url: \"api.github.com\" is not an absolute http(s) URL"},
		{"bad-github-credentials-url.yml", "sources.github[0].base_url: credentials must not be part of the URL (use token, token_file or token_env)"},
		{"bad-github-concurrency-large.yml", "sources.github[0].concurrency: 11 must be between 1 and 10 (repositories synced at once)"},
		{"bad-github-concurrency-zero.yml", "sources.github[0].concurrency: 0 must be between 1 and 10 (repositories synced at once)"},
		{"bad-github-graphql.yml", "sources.github[0].graphql: \"yes\" is not one of auto, on, off"},
		{"bad-github-http.yml", "sources.github[0].base_url: \"http://ghe.example.com/api/v3/\" uses plain http; use https, or set insecure_http: true"},
		{"bad-github-name-duplicate.yml", "sources.github[1].name: target \"gh\" is already defined at sources.github[0]"},
		{"bad-github-name.yml", "sources.github[0].name: name must not be empty"},
		{"bad-github-no-repos.yml", "sources.github[0]: set repos or orgs"},
		{"bad-github-null.yml", "sources.github[0]: empty target"},
		{"bad-github-org-empty.yml", "sources.github[0].orgs[0].org: must not be empty"},
		{"bad-github-org-exclude.yml", "sources.github[0].orgs[0].exclude[0]: invalid regular expression \"*-archive\": error parsing regexp: missing argument to repetition operator: `*`"},
		{"bad-github-org-include.yml", "sources.github[0].orgs[0].include[0]: invalid regular expression \"svc-(\": error parsing regexp: missing closing ): `^(?:svc-()$`"},
		{"bad-github-repo-duplicate.yml", "sources.github[0].repos[1]: repository \"O/Web\" is listed twice"},
		{"bad-github-repo.yml", "sources.github[0].repos[0]: \"example-org\" must be \"owner/name\""},
		{"bad-github-team.yml", "teams.design.github_teams[0]: \"design\" must be \"org/slug\""},
		{"bad-jira-auth-multiple.yml", "sources.jira[0]: set only one of token, token_file, token_env"},
		{"bad-jira-auth-none.yml", "sources.jira[0]: set one of token, token_file, token_env"},
		{"bad-jira-credentials-url.yml", "sources.jira[0].url: credentials must not be part of the URL (use token, token_file or token_env)"},
		{"bad-jira-deployment.yml", "sources.jira[0].deployment: unknown deployment \"server\" (want cloud or datacenter)"},
		{"bad-jira-email.yml", "sources.jira[0].email: Jira Cloud needs the email of the API token's owner"},
		{"bad-jira-http.yml", "sources.jira[0].url: \"http://jira.example.com\" uses plain http; use https, or set insecure_http: true"},
		{"bad-jira-name-duplicate.yml", "sources.jira[1].name: target \"j\" is already defined at sources.jira[0]"},
		{"bad-jira-name.yml", "sources.jira[0].name: name must not be \"*\" or contain \"->\""},
		{"bad-jira-null.yml", "sources.jira[0]: empty target"},
		{"bad-jira-project-key.yml", "sources.jira[0].projects[1]: \"design\" is not a Jira project key (upper-case letters, digits, _)"},
		{"bad-jira-projects.yml", "sources.jira[0].projects: list at least one project key"},
		{"bad-jira-url-invalid-credentials.yml", "sources.jira[0].url: \"https://xxxxx@jira.example.com\" is not an absolute http(s) URL"},
		{"bad-jira-url-missing.yml", "sources.jira[0].url: \"\" is not an absolute http(s) URL"},
		{"bad-jira-url-relative.yml", "sources.jira[0].url: \"jira.example.com\" is not an absolute http(s) URL"},
		{"bad-jira-url-scheme-credentials.yml", "sources.jira[0].url: credentials must not be part of the URL (use token, token_file or token_env)"},
		{"bad-keep-completed-negative.yml", "line 4: milestones.keep_completed: not a valid duration string: \"-1d\""},
		{"bad-label-duplicate.yml", "teams.design.markers.github_labels[0]: label \"team:design\" already marks team \"backend\""},
		{"bad-label-empty.yml", "teams.design.markers.github_labels[0]: label \" \" must not be empty"},
		{"bad-many.yml", "teams.design.members[0]: github login \"alice\" is already a member of team \"backend\"\nteams.design.members[1]: a member needs at least one of github, jira or email\nhandoffs.stall_clock: unknown clock \"business\" (want working or calendar)\nhandoffs.pairs[\"design->qa\"]: unknown team \"qa\"\nsources.github[0]: set one of token, token_file, token_env or app\nsync.interval: must be greater than 0"},
		{"bad-max-stalled-negative.yml", "handoffs.max_stalled_exported: must not be negative"},
		{"bad-member-blank.yml", "teams.design.members[0]: a member needs at least one of github, jira or email"},
		{"bad-member-duplicate-email.yml", "teams.design.members[0]: email \"Alice@Example.com\" is already a member of team \"backend\""},
		{"bad-member-duplicate-github.yml", "teams.design.members[0]: github login \"Alice\" is already a member of team \"backend\""},
		{"bad-member-duplicate-jira.yml", "teams.design.members[0]: jira account \"5b10ac8d\" is already a member of team \"backend\""},
		{"bad-member-duplicate-plain.yml", "teams.design.members[0]: github login \"alice\" is already a member of team \"backend\""},
		{"bad-member-email.yml", "teams.design.members[0].email: \"alice.example.com\" is not an email address"},
		{"bad-member-empty.yml", "teams.design.members[1]: a member needs at least one of github, jira or email"},
		{"bad-milestones-max-exported.yml", "milestones.max_exported: must not be negative"},
		{"bad-milestones-min-teams.yml", "milestones.min_teams: must be at least 1"},
		{"bad-no-teams.yml", "teams: at least one team is required"},
		{"bad-null-document.yml", "teams: at least one team is required"},
		{"bad-ownership-duplicate.yml", "ownership.precedence[2]: rule \"marker\" is listed twice"},
		{"bad-ownership-empty.yml", "ownership.precedence: must list at least one of marker, assignee, author"},
		{"bad-ownership-unknown.yml", "ownership.precedence[1]: unknown rule \"label\" (want marker, assignee or author)"},
		{"bad-pair-key-side.yml", "handoffs.pairs[\"design->\"]: key must be \"from->to\" (either side may be \"*\")"},
		{"bad-pair-key.yml", "handoffs.pairs[\"design-backend\"]: key must be \"from->to\" (either side may be \"*\")"},
		{"bad-pair-self.yml", "handoffs.pairs[\"design->design\"]: a team does not hand off to itself"},
		{"bad-pair-stall-after.yml", "handoffs.pairs[\"*->backend\"].stall_after: must be greater than 0"},
		{"bad-pair-unknown-team.yml", "handoffs.pairs[\"design->frontend\"]: unknown team \"frontend\""},
		{"bad-signal-duplicate.yml", "signals[1].name: signal \"decision\" is defined twice"},
		{"bad-signal-name.yml", "signals[0].name: name must not be empty"},
		{"bad-signal-no-filter.yml", "signals[0]: set github_labels or jira_jql"},
		{"bad-signal-null.yml", "signals[0]: empty signal"},
		{"bad-signal-kind.yml", "signals[0].kind: unknown kind \"adr\" (want decision or postmortem, or leave it out for a plain signal)"},
		{"bad-signal-plain-record-key.yml", "signals[0]: decided_statuses, decided_labels, date_label_prefix, jira_date_field, max_exported and keep_decided need kind: decision or postmortem"},
		{"bad-signal-postmortem-decided.yml", "signals[0]: decided_statuses, decided_labels and keep_decided apply to kind: decision only"},
		{"bad-signal-date-field.yml", "signals[0].jira_date_field: \"Revisit date\" is not a Jira field id (duedate, or customfield_NNNNN)"},
		{"bad-signal-decided-empty.yml", "signals[0].decided_labels[1]: must not be empty"},
		{"bad-signal-max-exported.yml", "signals[0].max_exported: must not be negative"},
		{"bad-dependencies-link-type.yml", "dependencies.jira_link_types[1]: must not be empty\ndependencies.jira_link_types[2]: link type \"blocks\" is listed twice\ndependencies.max_exported: must not be negative"},
		{"bad-stall-after-zero.yml", "handoffs.stall_after: must be greater than 0"},
		{"bad-stall-clock.yml", "handoffs.stall_clock: unknown clock \"business\" (want working or calendar)"},
		{"bad-status-duplicate.yml", "teams.design.markers.jira_statuses[0]: status \"In Review\" already marks team \"backend\""},
		{"bad-status-empty.yml", "teams.design.markers.jira_statuses[0].name: status name must not be empty"},
		{"bad-store-path.yml", "store.path: must not be empty"},
		{"bad-sync-interval.yml", "sync.interval: must be greater than 0"},
		{"bad-sync-since.yml", "sync.since: \"last tuesday\" is neither an RFC 3339 time nor a date YYYY-MM-DD"},
		{"bad-team-name-arrow.yml", "teams[\"design->backend\"]: name must not be \"*\" or contain \"->\""},
		{"bad-team-name-control.yml", "teams[\"design\\t\"]: name must not contain control characters"},
		{"bad-team-name-empty.yml", "teams[\"\"]: name must not be empty"},
		{"bad-team-name-long.yml", "teams[\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"]: name is longer than 64 bytes"},
		{"bad-team-name-star.yml", "teams[\"*\"]: name must not be \"*\" or contain \"->\""},
		{"bad-team-null.yml", "teams.design: team has no settings (write {} for an empty team)"},
		{"bad-team-value-duplicate.yml", "teams.design.markers.jira_team_values[0]: team field value \"Design\" already marks team \"backend\""},
		{"bad-two-documents.yml", "line 3: only one YAML document is allowed"},
		{"bad-unknown-key-app.yml", "line 11: sources.github[0].app: unknown key \"key_id\""},
		{"bad-unknown-key-bounce.yml", "line 6: handoffs.bounce: unknown key \"windw\" (did you mean \"window\"?)"},
		{"bad-unknown-key-calendar.yml", "line 5: teams.design.calendar: unknown key \"time_zone\" (did you mean \"timezone\"?)"},
		{"bad-unknown-key-github.yml", "line 8: sources.github[0]: unknown key \"tokens_file\" (did you mean \"token_file\"?)"},
		{"bad-unknown-key-handoffs.yml", "line 4: handoffs: unknown key \"stall_afer\" (did you mean \"stall_after\"?)"},
		{"bad-unknown-key-jira-status.yml", "line 6: teams.design.markers.jira_statuses[0]: unknown key \"wait\" (did you mean \"waiting\"?)"},
		{"bad-unknown-key-jira.yml", "line 10: sources.jira[0]: unknown key \"project\" (did you mean \"projects\"?)"},
		{"bad-unknown-key-markers.yml", "line 4: teams.design.markers: unknown key \"labels\""},
		{"bad-unknown-key-member.yml", "line 5: teams.design.members[0]: unknown key \"slack\""},
		{"bad-unknown-key-milestones.yml", "line 4: milestones: unknown key \"min_team\" (did you mean \"min_teams\"?)"},
		{"bad-unknown-key-org.yml", "line 8: sources.github[0].orgs[0]: unknown key \"includes\" (did you mean \"include\"?)"},
		{"bad-unknown-key-ownership.yml", "line 4: ownership: unknown key \"order\""},
		{"bad-unknown-key-pair.yml", "line 8: handoffs.pairs.design->backend: unknown key \"stall_clock\""},
		{"bad-unknown-key-signal.yml", "line 5: signals[0]: unknown key \"labels\""},
		{"bad-unknown-key-store.yml", "line 4: store: unknown key \"file\""},
		{"bad-unknown-key-sync.yml", "line 4: sync: unknown key \"every\""},
		{"bad-unknown-key-top.yml", "line 3: unknown key \"team_calendar\""},
		{"bad-unknown-key-working-hours.yml", "line 4: calendar.working_hours: unknown key \"stop\""},
		{"bad-unknown-key.yml", "line 3: teams.design: unknown key \"membrs\" (did you mean \"members\"?)"},
		{"bad-wrong-type-bool.yml", "line 5: cannot unmarshal !!str `maybe` into a boolean (true or false)"},
		{"bad-wrong-type-int.yml", "line 4: cannot unmarshal !!str `many` into an integer"},
		{"bad-wrong-type-list.yml", "line 5: cannot unmarshal !!str `decision` into a list"},
		{"bad-wrong-type-map.yml", "line 1: cannot unmarshal !!seq into a mapping"},
		{"bad-wrong-type-member.yml", "line 4: cannot unmarshal !!seq into a mapping"},
		{"bad-wrong-type-struct.yml", "line 3: cannot unmarshal !!int `3` into a mapping"},
	}
	listed := map[string]bool{}
	for _, tt := range tests {
		listed[tt.file] = true
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join("testdata", tt.file)
			c, err := Load(path)
			if err == nil {
				t.Fatalf("Load(%s) = %+v, want an error", path, c)
			}
			if got, want := err.Error(), "config "+path+": "+tt.want; got != want {
				t.Errorf("Load(%s) error:\n got: %s\nwant: %s", path, got, want)
			}
		})
	}
	files, err := filepath.Glob("testdata/bad-*.yml")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if !listed[filepath.Base(f)] {
			t.Errorf("%s has no entry in TestBadConfigs", f)
		}
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join("testdata", "no-such-file.yml"))
	if err == nil || !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "no-such-file.yml") {
		t.Fatalf("Load(missing) = %v, want a not-exist error naming the file", err)
	}
}

// Negative durations cannot be written in YAML (model.Duration does not
// parse a sign; see bad-bounce-window-negative.yml), but the checks guard
// configurations built in code.
func TestNegativeDurationsInCode(t *testing.T) {
	c := mustParse(t, "teams: {design: {}}\n")
	c.Handoffs.Bounce.Window = model.Duration(-time.Hour)
	c.Milestones.KeepCompleted = model.Duration(-time.Hour)
	err := c.validate()
	want := "handoffs.bounce.window: must not be negative\nmilestones.keep_completed: must not be negative"
	if err == nil || err.Error() != want {
		t.Fatalf("validate() = %v, want %q", err, want)
	}
}

func mustParse(t *testing.T, doc string) *Config {
	t.Helper()
	c, err := Parse([]byte(doc))
	if err != nil {
		t.Fatalf("Parse: %v\n%s", err, doc)
	}
	return c
}

func TestDefaults(t *testing.T) {
	c := mustParse(t, `
teams:
  design: {}
sources:
  github:
    - {name: gh, repos: [o/r], token_env: GITHUB_TOKEN}
  jira:
    - {name: j, url: "https://example.atlassian.net/", email: bot@example.com, token_env: JIRA_TOKEN, projects: [P]}
`)
	checks := []struct {
		name      string
		got, want any
	}{
		{"handoffs.stall_after", c.Handoffs.StallAfter, model.Duration(72 * time.Hour)},
		{"handoffs.stall_clock", c.Handoffs.StallClock, ClockWorking},
		{"handoffs.bounce.enabled", c.Handoffs.Bounce.Enabled, true},
		{"handoffs.bounce.window", c.Handoffs.Bounce.Window, model.Duration(0)},
		{"handoffs.max_stalled_exported", c.Handoffs.MaxStalledExported, 100},
		{"ownership.precedence", c.Ownership.Precedence, []string{ByMarker, ByAssignee}},
		{"calendar", c.Calendar, (*Calendar)(nil)},
		{"milestones.github_by_title", c.Milestones.GitHubByTitle, true},
		{"milestones.jira_fix_versions", c.Milestones.JiraFixVersions, true},
		{"milestones.jira_epics", c.Milestones.JiraEpics, false},
		{"milestones.merge_sources", c.Milestones.MergeSources, false},
		{"milestones.min_teams", c.Milestones.MinTeams, 2},
		{"milestones.max_exported", c.Milestones.MaxExported, 50},
		{"milestones.keep_completed", c.Milestones.KeepCompleted, model.Duration(14 * 24 * time.Hour)},
		{"store.path", c.Store.Path, "crossteam.db"},
		{"sync.interval", c.Sync.Interval, model.Duration(5 * time.Minute)},
		{"sync.since", c.Sync.Since, ""},
		{"sources.github[0].base_url", c.Sources.GitHub[0].BaseURL, "https://api.github.com/"},
		{"sources.github[0].insecure_http", c.Sources.GitHub[0].InsecureHTTP, false},
		{"sources.jira[0].deployment", c.Sources.Jira[0].Deployment, JiraCloud},
		{"sources.jira[0].url (trailing slash trimmed)", c.Sources.Jira[0].URL, "https://example.atlassian.net"},
	}
	for _, ch := range checks {
		if !reflect.DeepEqual(ch.got, ch.want) {
			t.Errorf("%s = %#v, want %#v", ch.name, ch.got, ch.want)
		}
	}
	// A default is a copy: changing one config does not change the next.
	c.Ownership.Precedence[0] = ByAuthor
	if c2 := mustParse(t, "teams: {design: {}}\n"); c2.Ownership.Precedence[0] != ByMarker {
		t.Errorf("defaults shared between configs: precedence %v", c2.Ownership.Precedence)
	}
}

// A section that is present but partly set keeps the defaults of the keys
// it leaves out, and so does a section written with no value.
func TestPartialSectionsKeepDefaults(t *testing.T) {
	c := mustParse(t, `
teams:
  design: {}
handoffs:
  stall_after: 24h
  bounce:
    window: 1w
milestones:
  min_teams: 3
store:
sync:
  since: 2024-06-01
`)
	if c.Handoffs.StallAfter != model.Duration(24*time.Hour) || c.Handoffs.StallClock != ClockWorking || c.Handoffs.MaxStalledExported != 100 {
		t.Errorf("handoffs = %+v", c.Handoffs)
	}
	if !c.Handoffs.Bounce.Enabled || c.Handoffs.Bounce.Window != model.Duration(7*24*time.Hour) {
		t.Errorf("handoffs.bounce = %+v, want enabled with a 1w window", c.Handoffs.Bounce)
	}
	if c.Milestones.MinTeams != 3 || c.Milestones.MaxExported != 50 || !c.Milestones.GitHubByTitle || c.Milestones.KeepCompleted != DefaultMilestones.KeepCompleted {
		t.Errorf("milestones = %+v", c.Milestones)
	}
	if c.Store.Path != DefaultStore.Path {
		t.Errorf("store.path = %q, want the default", c.Store.Path)
	}
	if c.Sync.Interval != DefaultSync.Interval || c.Sync.Since != "2024-06-01" {
		t.Errorf("sync = %+v", c.Sync)
	}
}

func TestCalendarDefaults(t *testing.T) {
	c := mustParse(t, `
teams:
  design:
    calendar:
      timezone: Europe/Berlin
  backend:
    calendar:
      working_hours: {end: "24:00"}
      holidays: [2025-12-25]
`)
	d := c.Teams["design"].Calendar
	if d.Timezone != "Europe/Berlin" || d.Location.String() != "Europe/Berlin" {
		t.Errorf("design timezone = %q (%v)", d.Timezone, d.Location)
	}
	if !reflect.DeepEqual(d.WorkingDays, []string{"mon", "tue", "wed", "thu", "fri"}) || d.WorkingHours != (WorkingHours{"09:00", "17:00"}) {
		t.Errorf("design calendar defaults: %v %+v", d.WorkingDays, d.WorkingHours)
	}
	wantDays := [7]bool{time.Monday: true, time.Tuesday: true, time.Wednesday: true, time.Thursday: true, time.Friday: true}
	if d.Days != wantDays || d.StartMin != 9*60 || d.EndMin != 17*60 || len(d.Holiday) != 0 {
		t.Errorf("design resolved calendar: days %v, %d-%d, holidays %v", d.Days, d.StartMin, d.EndMin, d.Holiday)
	}
	b := c.Teams["backend"].Calendar
	if b.Timezone != "UTC" || b.Location != time.UTC || b.WorkingHours.Start != "09:00" || b.EndMin != 24*60 {
		t.Errorf("backend calendar: %q %v %+v end %d", b.Timezone, b.Location, b.WorkingHours, b.EndMin)
	}
	if !b.Holiday[civilDate{2025, time.December, 25}] || len(b.Holiday) != 1 {
		t.Errorf("backend holidays = %v", b.Holiday)
	}
	// Defaults are copies: decoding one calendar does not change another.
	d.WorkingDays[0] = "sun"
	if b.WorkingDays[0] != "mon" || DefaultCalendar.WorkingDays[0] != "mon" {
		t.Error("calendars share the default working_days slice")
	}
}

func TestMembers(t *testing.T) {
	c := mustParse(t, `
teams:
  design:
    members:
      - Alice
      - {github: Bob-GH, jira: 5b10ac8d, email: Bob@Example.com}
      - {email: carol@example.com}
  backend:
    members:
      - {jira: dave}
      - {github: dave}
`)
	m := c.Teams["design"].Members
	want := []Member{{GitHub: "Alice", Jira: "Alice"}, {GitHub: "Bob-GH", Jira: "5b10ac8d", Email: "Bob@Example.com"}, {Email: "carol@example.com"}}
	if !reflect.DeepEqual(m, want) {
		t.Errorf("members = %+v, want %+v", m, want)
	}
	tests := []struct {
		source, id string
		team       string
		ok         bool
	}{
		{"github", "alice", "design", true}, // GitHub logins are case-insensitive
		{"github", "ALICE", "design", true},
		{"jira", "Alice", "design", true}, // a plain string is a Jira identity too
		{"jira", "alice", "", false},      // Jira ids are case-sensitive
		{"github", "bob-gh", "design", true},
		{"github", "5b10ac8d", "", false},
		{"jira", "5b10ac8d", "design", true},
		{"jira", "bob@example.com", "design", true}, // Jira actors by email, case-insensitive
		{"jira", "CAROL@example.com", "design", true},
		{"github", "carol@example.com", "", false}, // email is not a GitHub identity
		{"jira", "dave", "backend", true},          // the same name in two sources of one team
		{"github", "dave", "backend", true},
		{"github", "nobody", "", false},
		{"github", "", "", false},
		{"jira", "", "", false},
	}
	for _, tt := range tests {
		team, ok := c.TeamOf(tt.source, tt.id)
		if team != tt.team || ok != tt.ok {
			t.Errorf("TeamOf(%q, %q) = %q, %v; want %q, %v", tt.source, tt.id, team, ok, tt.team, tt.ok)
		}
	}
}

func TestMarkerLookups(t *testing.T) {
	c := mustParse(t, `
teams:
  design:
    markers:
      github_labels: ["Team:Design"]
      jira_statuses:
        - {name: Ready for Design, waiting: true}
        - {name: In Design}
      jira_components: [UX]
      jira_team_values: [Design Team]
  backend:
    markers:
      github_labels: ["team:backend", "team:backend"]
      jira_components: [API]
`)
	for _, tt := range []struct {
		fn        func(string) (string, bool)
		name, arg string
		want      string
	}{
		{c.LabelTeam, "LabelTeam", "team:design", "design"},
		{c.LabelTeam, "LabelTeam", "TEAM:DESIGN", "design"},
		{c.LabelTeam, "LabelTeam", "team:backend", "backend"},
		{c.LabelTeam, "LabelTeam", "bug", ""},
		{c.ComponentTeam, "ComponentTeam", "ux", "design"},
		{c.ComponentTeam, "ComponentTeam", "API", "backend"},
		{c.ComponentTeam, "ComponentTeam", "Database", ""},
		{c.TeamFieldTeam, "TeamFieldTeam", "design team", "design"},
		{c.TeamFieldTeam, "TeamFieldTeam", "Design", ""},
	} {
		got, ok := tt.fn(tt.arg)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("%s(%q) = %q, %v; want %q", tt.name, tt.arg, got, ok, tt.want)
		}
	}
	for _, tt := range []struct {
		status string
		want   StatusMarker
		ok     bool
	}{
		{"Ready for Design", StatusMarker{Team: "design", Waiting: true}, true},
		{"ready FOR design", StatusMarker{Team: "design", Waiting: true}, true},
		{"In Design", StatusMarker{Team: "design"}, true},
		{"Done", StatusMarker{}, false},
	} {
		got, ok := c.JiraStatus(tt.status)
		if got != tt.want || ok != tt.ok {
			t.Errorf("JiraStatus(%q) = %+v, %v; want %+v, %v", tt.status, got, ok, tt.want, tt.ok)
		}
	}
}

func TestStallAfterPrecedence(t *testing.T) {
	c := mustParse(t, `
teams: {a: {}, b: {}, c: {}, d: {}}
handoffs:
  stall_after: 100h
  pairs:
    "a->b": {stall_after: 1h}
    "a->*": {stall_after: 2h}
    "*->b": {stall_after: 3h}
    " c -> d ": {stall_after: 4h}
`)
	tests := []struct {
		from, to string
		want     time.Duration
	}{
		{"a", "b", time.Hour},       // exact
		{"a", "c", 2 * time.Hour},   // from->*
		{"c", "b", 3 * time.Hour},   // *->to
		{"c", "d", 4 * time.Hour},   // spaces around the names are ignored
		{"b", "a", 100 * time.Hour}, // handoffs.stall_after
		{"d", "c", 100 * time.Hour},
	}
	for _, tt := range tests {
		if got := c.StallAfter(tt.from, tt.to); got != tt.want {
			t.Errorf("StallAfter(%s, %s) = %v, want %v", tt.from, tt.to, got, tt.want)
		}
	}
	c = mustParse(t, `
teams: {a: {}, b: {}, c: {}}
handoffs:
  pairs:
    "*->*": {stall_after: 5h}
    "*->b": {stall_after: 3h}
    "a->*": {stall_after: 2h}
`)
	for _, tt := range []struct {
		from, to string
		want     time.Duration
	}{
		{"a", "b", 2 * time.Hour}, // from->* beats *->to
		{"c", "b", 3 * time.Hour},
		{"b", "c", 5 * time.Hour}, // *->* beats the default
	} {
		if got := c.StallAfter(tt.from, tt.to); got != tt.want {
			t.Errorf("StallAfter(%s, %s) = %v, want %v", tt.from, tt.to, got, tt.want)
		}
	}
	if got := mustParse(t, "teams: {a: {}, b: {}}\n").StallAfter("a", "b"); got != 72*time.Hour {
		t.Errorf("StallAfter without overrides = %v, want 72h", got)
	}
}

func TestCalendarOf(t *testing.T) {
	c := mustParse(t, `
teams:
  design:
    calendar: {timezone: Europe/Berlin}
  backend: {}
`)
	if cal := c.CalendarOf("design"); cal == nil || cal.Timezone != "Europe/Berlin" {
		t.Errorf("CalendarOf(design) = %+v", cal)
	}
	if cal := c.CalendarOf("backend"); cal != nil {
		t.Errorf("CalendarOf(backend) without a default calendar = %+v, want nil", cal)
	}
	c = mustParse(t, `
teams:
  design:
    calendar: {timezone: Europe/Berlin}
  backend: {}
calendar:
  timezone: America/New_York
`)
	if cal := c.CalendarOf("backend"); cal == nil || cal.Timezone != "America/New_York" {
		t.Errorf("CalendarOf(backend) = %+v, want the default calendar", cal)
	}
	if cal := c.CalendarOf("design"); cal.Timezone != "Europe/Berlin" {
		t.Errorf("CalendarOf(design) = %q, want its own calendar", cal.Timezone)
	}
	if cal := c.CalendarOf("nosuchteam"); cal != c.Calendar {
		t.Errorf("CalendarOf(unknown team) = %+v, want the default calendar", cal)
	}
}

func TestParseInstant(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
		err  string
	}{
		{in: "2024-01-02", want: time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)},
		{in: "2024-01-02T03:04:05Z", want: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)},
		{in: "2024-01-02T03:04:05+02:00", want: time.Date(2024, 1, 2, 1, 4, 5, 0, time.UTC)},
		{in: "2024-01-02 03:04", err: `"2024-01-02 03:04" is neither an RFC 3339 time nor a date YYYY-MM-DD`},
		{in: "", err: `"" is neither an RFC 3339 time nor a date YYYY-MM-DD`},
	}
	for _, tt := range tests {
		got, err := ParseInstant(tt.in)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("ParseInstant(%q) error = %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || !got.Equal(tt.want) {
			t.Errorf("ParseInstant(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestURLs(t *testing.T) {
	c := mustParse(t, `
teams: {design: {}}
sources:
  github:
    - {name: local, base_url: "http://127.0.0.1:8080/api/v3", repos: [o/r], token_env: T}
    - {name: localhost, base_url: "http://localhost:8080/", repos: [o/r], token_env: T}
    - {name: v6, base_url: "http://[::1]/", repos: [o/r], token_env: T}
    - {name: lab, base_url: "http://ghe.lab:8080/api/v3/", insecure_http: true, repos: [o/r], token_env: T}
  jira:
    - {name: local, url: "http://127.0.0.1:8081/", deployment: datacenter, token_env: T, projects: [P]}
    - {name: lab, url: "http://jira.lab", insecure_http: true, deployment: datacenter, token_env: T, projects: [P]}
`)
	wantGH := []string{"http://127.0.0.1:8080/api/v3/", "http://localhost:8080/", "http://[::1]/", "http://ghe.lab:8080/api/v3/"}
	for i, g := range c.Sources.GitHub {
		if g.BaseURL != wantGH[i] {
			t.Errorf("github[%d].base_url = %q, want %q (with a trailing slash)", i, g.BaseURL, wantGH[i])
		}
	}
	wantJira := []string{"http://127.0.0.1:8081", "http://jira.lab"}
	for i, j := range c.Sources.Jira {
		if j.URL != wantJira[i] {
			t.Errorf("jira[%d].url = %q, want %q (without a trailing slash)", i, j.URL, wantJira[i])
		}
	}
}

func TestTargetNamesPerSource(t *testing.T) {
	// The same target name in GitHub and Jira is fine: health metrics carry
	// both source and target.
	c := mustParse(t, `
teams: {design: {}}
sources:
  github: [{name: acme, repos: [o/r], token_env: T}]
  jira: [{name: acme, url: "https://acme.atlassian.net", email: a@acme.com, token_env: T, projects: [P]}]
`)
	if c.Sources.GitHub[0].Name != c.Sources.Jira[0].Name {
		t.Fatal("unexpected names")
	}
}

func TestWriteSummary(t *testing.T) {
	c := mustParse(t, `
teams:
  design:
    members: [alice, {github: bob}]
    markers:
      github_labels: ["team:design"]
    calendar: {timezone: Europe/Berlin}
  backend:
    github_teams: [o/backend]
handoffs:
  pairs:
    "design->*": {stall_after: 1d}
sources:
  github:
    - {name: gh, repos: [o/r, o/s], token_file: /run/secrets/gh}
    - {name: app, base_url: "https://ghe.example.com/api/v3", orgs: [{org: o}], app: {app_id: 7, installation_id: 8, private_key_file: /k}}
  jira:
    - {name: dc, url: "https://jira.example.com/", deployment: datacenter, token_env: JIRA_PAT, projects: [A, B]}
signals:
  - {name: decision, github_labels: [decision]}
`)
	var b strings.Builder
	if err := c.WriteSummary(&b); err != nil {
		t.Fatal(err)
	}
	want := `teams: 2
  backend: 0 members, 1 github teams, 0 labels, 0 jira statuses, 0 components, 0 team field values; working time: calendar time
  design: 2 members, 0 github teams, 1 labels, 0 jira statuses, 0 components, 0 team field values; working time: Europe/Berlin 09:00-17:00 mon,tue,wed,thu,fri
team pairs: 2 possible; stall after 3d (working time)
  override design->*: stall after 1d
ownership: marker > assignee
sources: 2 github, 1 jira
  github/gh: https://api.github.com/, 2 repos, 0 org patterns, auth token_file /run/secrets/gh
  github/app: https://ghe.example.com/api/v3/, 0 repos, 1 org patterns, auth github app 7
  jira/dc: https://jira.example.com (datacenter), projects A,B, auth token_env JIRA_PAT
milestones: min 2 teams, at most 50 exported
signals: 1
store: crossteam.db; sync every 5m
`
	if got := b.String(); got != want {
		t.Errorf("WriteSummary:\n%s\nwant:\n%s", got, want)
	}
}

// TestErrorsAreStable checks that all errors are reported, in a stable order
// whatever the map iteration order: teams by name, pairs by key.
func TestErrorsAreStable(t *testing.T) {
	doc := `
teams:
  c: {members: [{}]}
  a: {members: [{}]}
  b: {members: [{}]}
handoffs:
  pairs:
    "x->a": {stall_after: 1h}
    "a->y": {stall_after: 1h}
`
	want := `teams.a.members[0]: a member needs at least one of github, jira or email
teams.b.members[0]: a member needs at least one of github, jira or email
teams.c.members[0]: a member needs at least one of github, jira or email
handoffs.pairs["a->y"]: unknown team "y"
handoffs.pairs["x->a"]: unknown team "x"`
	for i := 0; i < 20; i++ {
		_, err := Parse([]byte(doc))
		if err == nil || err.Error() != want {
			t.Fatalf("Parse error:\n%v\nwant:\n%s", err, want)
		}
	}
}

// TestLoadRefusesHugeFile: a file over MaxFileSize is refused by size,
// before parsing, naming the file.
func TestLoadRefusesHugeFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "huge.yml")
	b := append([]byte("teams:\n  design: {}\n# "), bytes.Repeat([]byte("x"), MaxFileSize)...)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	if want := "config " + path + ": the file is larger than 4 MiB; is it the right file?"; err == nil || err.Error() != want {
		t.Errorf("Load = %v, want %q", err, want)
	}
}

// TestLongValuesAreCut: a huge value is repeated in the error only cut,
// with its length.
func TestLongValuesAreCut(t *testing.T) {
	long := strings.Repeat("é", 1<<20) // 2 MiB
	_, err := Parse([]byte("teams:\n  design:\n    members: [{email: \"" + long + "\"}]\n"))
	want := "teams.design.members[0].email: \"" + strings.Repeat("é", 50) + "... (2097152 bytes)\" is not an email address"
	if err == nil || err.Error() != want {
		t.Errorf("error = %.300v, want %q", err, want)
	}
}

// TestErrorsCapped: every error is reported up to 50, then a count.
func TestErrorsCapped(t *testing.T) {
	var b strings.Builder
	b.WriteString("teams:\n")
	for i := 0; i < 80; i++ {
		fmt.Fprintf(&b, "  t%02d: {members: [{email: nomail%d}]}\n", i, i)
	}
	_, err := Parse([]byte(b.String()))
	if err == nil {
		t.Fatal("accepted")
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 51 || lines[0] != `teams.t00.members[0].email: "nomail0" is not an email address` || lines[50] != "... and 30 more errors" {
		t.Errorf("%d lines, first %q, last %q", len(lines), lines[0], lines[len(lines)-1])
	}
}

// BenchmarkParseTeams parses configurations with many teams (each with a
// member and a label marker), to watch how parse time grows with size:
//
//	go test ./config -run '^$' -bench ParseTeams -benchtime 1x
func BenchmarkParseTeams(b *testing.B) {
	for _, n := range []int{2000, 20000, 200000} {
		var sb strings.Builder
		sb.WriteString("teams:\n")
		for i := 0; i < n; i++ {
			fmt.Fprintf(&sb, "  team%d: {members: [user%d], markers: {github_labels: [\"team:%d\"]}}\n", i, i, i)
		}
		doc := []byte(sb.String())
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, err := Parse(doc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
