package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"
	"unicode"
)

// MaxNameLength bounds team, target and signal names (they become label values).
const MaxNameLength = 64

type civilDate struct {
	Y int
	M time.Month
	D int
}

type identityIndex struct {
	github map[string]string // lower(login) -> team
	jira   map[string]string // account id -> team
	email  map[string]string // lower(email) -> team
}

// StatusMarker is a Jira status owned by a team.
type StatusMarker struct {
	Team    string
	Waiting bool
}

type markerIndex struct {
	labels     map[string]string // lower(label) -> team
	statuses   map[string]StatusMarker
	components map[string]string
	teamValues map[string]string
}

type pairKey struct{ from, to string }

var (
	repoRE    = regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$`)
	ghTeamRE  = regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$`)
	projectRE = regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)
	hhmmRE    = regexp.MustCompile(`^([01][0-9]|2[0-4]):([0-5][0-9])$`)
	weekdays  = map[string]time.Weekday{"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday, "thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday}
)

// errs collects validation errors in a stable order.
type errs []error

// maxQuoted bounds how much of a value from the file an error repeats: a
// 64 MB value must not come back whole in the message.
const maxQuoted = 100

func (e *errs) add(path, format string, args ...any) {
	for i, a := range args {
		if s, ok := a.(string); ok && len(s) > maxQuoted {
			args[i] = cutValue(s)
		}
	}
	*e = append(*e, fmt.Errorf("%s: %s", cutValue(path), fmt.Sprintf(format, args...)))
}

// cutValue cuts s to maxQuoted bytes at a rune boundary, saying how long
// it was.
func cutValue(s string) string {
	if len(s) <= maxQuoted {
		return s
	}
	n := maxQuoted
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return fmt.Sprintf("%s... (%d bytes)", s[:n], len(s))
}

func (c *Config) validate() error {
	var e errs
	c.teamNames = c.teamNames[:0]
	for name := range c.Teams {
		c.teamNames = append(c.teamNames, name)
	}
	sort.Strings(c.teamNames)
	if len(c.Teams) == 0 {
		e.add("teams", "at least one team is required")
	}
	c.ids = identityIndex{github: map[string]string{}, jira: map[string]string{}, email: map[string]string{}}
	c.markers = markerIndex{labels: map[string]string{}, statuses: map[string]StatusMarker{}, components: map[string]string{}, teamValues: map[string]string{}}
	for _, name := range c.teamNames {
		c.validateTeam(&e, name)
	}
	c.validateOwnership(&e)
	c.validateHandoffs(&e)
	if c.Calendar != nil {
		validateCalendar(&e, "calendar", c.Calendar)
	}
	c.validateAgreements(&e)
	c.validateFlow(&e)
	c.validateSources(&e)
	c.validateMilestones(&e)
	c.validateSignals(&e)
	c.validateDependencies(&e)
	if strings.TrimSpace(c.Store.Path) == "" {
		e.add("store.path", "must not be empty")
	}
	if c.Sync.Interval <= 0 {
		e.add("sync.interval", "must be greater than 0")
	}
	if c.Sync.Since != "" {
		t, err := ParseInstant(c.Sync.Since)
		if err != nil {
			e.add("sync.since", "%v", err)
		}
		c.Sync.since = t.UTC()
	}
	if len(e) > maxErrors {
		// Every error of a file at once, but not 200,000 of them.
		e = append(e[:maxErrors], fmt.Errorf("... and %d more errors", len(e)-maxErrors))
	}
	return errors.Join(e...)
}

// maxErrors bounds the errors one validation reports.
const maxErrors = 50

func validName(name string) error {
	switch {
	case strings.TrimSpace(name) == "":
		return errors.New("name must not be empty")
	case len(name) > MaxNameLength:
		return fmt.Errorf("name is longer than %d bytes", MaxNameLength)
	case strings.Contains(name, "->") || name == "*":
		return errors.New(`name must not be "*" or contain "->"`)
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return errors.New("name must not contain control characters")
		}
	}
	return nil
}

func (c *Config) validateTeam(e *errs, name string) {
	p := "teams." + name
	t := c.Teams[name]
	if t == nil {
		e.add(p, "team has no settings (write {} for an empty team)")
		c.Teams[name] = &Team{Name: name}
		return
	}
	t.Name = name
	if err := validName(name); err != nil {
		e.add(fmt.Sprintf("teams[%q]", name), "%v", err)
	}
	claim := func(index map[string]string, key, what, path string) bool {
		if key == "" {
			return true
		}
		if other, ok := index[key]; ok && other != name {
			e.add(path, "%s is already a member of team %q", what, other)
			return false
		}
		index[key] = name
		return true
	}
	for i, m := range t.Members {
		mp := fmt.Sprintf("%s.members[%d]", p, i)
		m.GitHub, m.Jira, m.Email = strings.TrimSpace(m.GitHub), strings.TrimSpace(m.Jira), strings.TrimSpace(m.Email)
		t.Members[i] = m
		if m.GitHub == "" && m.Jira == "" && m.Email == "" {
			e.add(mp, "a member needs at least one of github, jira or email")
			continue
		}
		if m.Email != "" && !strings.Contains(m.Email, "@") {
			e.add(mp+".email", "%q is not an email address", m.Email)
		}
		// A plain-string member has the same identity in both sources:
		// report a conflict once.
		if claim(c.ids.github, strings.ToLower(m.GitHub), fmt.Sprintf("github login %q", m.GitHub), mp) || m.Jira != m.GitHub {
			claim(c.ids.jira, m.Jira, fmt.Sprintf("jira account %q", m.Jira), mp)
		}
		claim(c.ids.email, strings.ToLower(m.Email), fmt.Sprintf("email %q", m.Email), mp)
	}
	for i, gt := range t.GitHubTeams {
		if !ghTeamRE.MatchString(gt) {
			e.add(fmt.Sprintf("%s.github_teams[%d]", p, i), "%q must be \"org/slug\"", gt)
		}
	}
	mark := func(index map[string]string, key, kind, path string) {
		if strings.TrimSpace(key) == "" {
			e.add(path, "%s must not be empty", kind)
			return
		}
		if other, ok := index[key]; ok && other != name {
			e.add(path, "%s already marks team %q", kind, other)
			return
		}
		index[key] = name
	}
	mk := &t.Markers
	for i, l := range mk.GitHubLabels {
		mark(c.markers.labels, strings.ToLower(l), fmt.Sprintf("label %q", l), fmt.Sprintf("%s.markers.github_labels[%d]", p, i))
	}
	for i, s := range mk.JiraStatuses {
		sp := fmt.Sprintf("%s.markers.jira_statuses[%d]", p, i)
		key := strings.ToLower(strings.TrimSpace(s.Name))
		if key == "" {
			e.add(sp+".name", "status name must not be empty")
			continue
		}
		if other, ok := c.markers.statuses[key]; ok {
			e.add(sp, "status %q already marks team %q", s.Name, other.Team)
			continue
		}
		c.markers.statuses[key] = StatusMarker{Team: name, Waiting: s.Waiting}
	}
	for i, comp := range mk.JiraComponents {
		mark(c.markers.components, strings.ToLower(comp), fmt.Sprintf("component %q", comp), fmt.Sprintf("%s.markers.jira_components[%d]", p, i))
	}
	for i, v := range mk.JiraTeamValues {
		mark(c.markers.teamValues, strings.ToLower(v), fmt.Sprintf("team field value %q", v), fmt.Sprintf("%s.markers.jira_team_values[%d]", p, i))
	}
	if t.Calendar != nil {
		validateCalendar(e, p+".calendar", t.Calendar)
	}
}

func (c *Config) validateOwnership(e *errs) {
	if len(c.Ownership.Precedence) == 0 {
		e.add("ownership.precedence", "must list at least one of marker, assignee, author")
	}
	seen := map[string]bool{}
	for i, r := range c.Ownership.Precedence {
		p := fmt.Sprintf("ownership.precedence[%d]", i)
		switch r {
		case ByMarker, ByAssignee, ByAuthor:
		default:
			e.add(p, "unknown rule %q (want marker, assignee or author)", r)
			continue
		}
		if seen[r] {
			e.add(p, "rule %q is listed twice", r)
		}
		seen[r] = true
	}
}

func (c *Config) validateHandoffs(e *errs) {
	h := &c.Handoffs
	if h.StallAfter <= 0 {
		e.add("handoffs.stall_after", "must be greater than 0")
	}
	if h.StallClock != ClockWorking && h.StallClock != ClockCalendar {
		e.add("handoffs.stall_clock", "unknown clock %q (want working or calendar)", h.StallClock)
	}
	if h.Bounce.Window < 0 {
		e.add("handoffs.bounce.window", "must not be negative")
	}
	if h.MaxStalledExported < 0 {
		e.add("handoffs.max_stalled_exported", "must not be negative")
	}
	c.pairs = map[pairKey]PairOverride{}
	keys := make([]string, 0, len(h.Pairs))
	for k := range h.Pairs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p := fmt.Sprintf("handoffs.pairs[%q]", k)
		from, to, ok := c.pairKeyOf(e, p, k)
		if from == "" {
			continue
		}
		bad := !ok
		o := h.Pairs[k]
		if o.StallAfter <= 0 {
			e.add(p+".stall_after", "must be greater than 0")
			bad = true
		}
		if !bad {
			c.pairs[pairKey{from, to}] = o
		}
	}
}

// pairKeyOf parses a "from->to" key (either side "*") of handoffs.pairs or
// agreements at field path p. It reports each problem on e; from is empty
// when the key does not parse, ok false when it names an unknown team or a
// team handing off to itself.
func (c *Config) pairKeyOf(e *errs, p, k string) (from, to string, ok bool) {
	from, to, cut := strings.Cut(k, "->")
	from, to = strings.TrimSpace(from), strings.TrimSpace(to)
	if !cut || from == "" || to == "" {
		e.add(p, `key must be "from->to" (either side may be "*")`)
		return "", "", false
	}
	ok = true
	for _, side := range []string{from, to} {
		if side != "*" && c.Teams[side] == nil {
			e.add(p, "unknown team %q", side)
			ok = false
		}
	}
	if ok && from == to && from != "*" {
		e.add(p, "a team does not hand off to itself")
		ok = false
	}
	return from, to, ok
}

func validateCalendar(e *errs, p string, cal *Calendar) {
	loc, err := time.LoadLocation(cal.Timezone)
	if err != nil || cal.Timezone == "" {
		e.add(p+".timezone", "unknown time zone %q", cal.Timezone)
		loc = time.UTC
	}
	cal.Location = loc
	cal.Days = [7]bool{}
	if len(cal.WorkingDays) == 0 {
		e.add(p+".working_days", "must list at least one day")
	}
	for i, d := range cal.WorkingDays {
		wd, ok := weekdays[strings.ToLower(d)]
		if !ok {
			e.add(fmt.Sprintf("%s.working_days[%d]", p, i), "unknown day %q (want mon, tue, wed, thu, fri, sat or sun)", d)
			continue
		}
		cal.Days[wd] = true
	}
	parse := func(s, field string) (int, bool) {
		m := hhmmRE.FindStringSubmatch(s)
		if m == nil {
			e.add(p+".working_hours."+field, "%q is not a time of day HH:MM", s)
			return 0, false
		}
		h, mm := int(m[1][0]-'0')*10+int(m[1][1]-'0'), int(m[2][0]-'0')*10+int(m[2][1]-'0')
		if h == 24 && mm != 0 {
			e.add(p+".working_hours."+field, "%q is not a time of day HH:MM", s)
			return 0, false
		}
		return h*60 + mm, true
	}
	s, ok1 := parse(cal.WorkingHours.Start, "start")
	en, ok2 := parse(cal.WorkingHours.End, "end")
	if ok1 && ok2 && s >= en {
		e.add(p+".working_hours", "start %s must be before end %s", cal.WorkingHours.Start, cal.WorkingHours.End)
	}
	cal.StartMin, cal.EndMin = s, en
	cal.Holiday = map[civilDate]bool{}
	for i, h := range cal.Holidays {
		d, err := time.Parse("2006-01-02", h)
		if err != nil {
			e.add(fmt.Sprintf("%s.holidays[%d]", p, i), "%q is not a date YYYY-MM-DD", h)
			continue
		}
		cal.Holiday[civilDate{d.Year(), d.Month(), d.Day()}] = true
	}
}

// checkURL requires an absolute http(s) URL, and https unless the host is
// loopback or insecure is set.
// The error never repeats credentials written into the URL.
func checkURL(raw string, insecure bool) error {
	u, err := url.Parse(raw)
	if err == nil && u.User != nil {
		return errors.New("credentials must not be part of the URL (use token, token_file or token_env)")
	}
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return fmt.Errorf("%q is not an absolute http(s) URL", withoutQuery(withoutUserinfo(raw)))
	}
	// A token in the query string (?access_token=...) would be printed by
	// check-config and /config and logged with every request error: refuse
	// it, and do not repeat it.
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(raw, "#") {
		return fmt.Errorf("%q must not have a query string or fragment (put credentials in token, token_file or token_env)", withoutQuery(raw))
	}
	if u.Scheme == "http" && !insecure && !isLoopback(u.Hostname()) {
		return fmt.Errorf("%q uses plain http; use https, or set insecure_http: true", raw)
	}
	return nil
}

// withoutUserinfo masks anything between "//" and the last "@" of the
// authority, for a URL that did not parse and may hold a password.
func withoutUserinfo(raw string) string {
	start := strings.Index(raw, "//")
	if start < 0 {
		return raw
	}
	start += 2
	end := len(raw)
	if i := strings.IndexAny(raw[start:], "/?#"); i >= 0 {
		end = start + i
	}
	if at := strings.LastIndex(raw[start:end], "@"); at >= 0 {
		return raw[:start] + "xxxxx" + raw[start+at:]
	}
	return raw
}

// withoutQuery drops anything from the first "?" or "#" on.
func withoutQuery(raw string) string {
	if i := strings.IndexAny(raw, "?#"); i >= 0 {
		return raw[:i] + "?..."
	}
	return raw
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func authCount(inline Secret, file, env string) int {
	n := 0
	for _, set := range []bool{inline != "", file != "", env != ""} {
		if set {
			n++
		}
	}
	return n
}

func (c *Config) validateSources(e *errs) {
	names := map[string]string{}
	target := func(p, source, name string) {
		if err := validName(name); err != nil {
			e.add(p+".name", "%v", err)
			return
		}
		key := source + "/" + name
		if prev, ok := names[key]; ok {
			e.add(p+".name", "target %q is already defined at %s", name, prev)
		}
		names[key] = p
	}
	for i, g := range c.Sources.GitHub {
		p := fmt.Sprintf("sources.github[%d]", i)
		if g == nil {
			e.add(p, "empty target")
			continue
		}
		target(p, "github", g.Name)
		if err := checkURL(g.BaseURL, g.InsecureHTTP); err != nil {
			e.add(p+".base_url", "%v", err)
		} else if !strings.HasSuffix(g.BaseURL, "/") {
			g.BaseURL += "/"
		}
		if len(g.Repos) == 0 && len(g.Orgs) == 0 {
			e.add(p, "set repos or orgs")
		}
		switch g.GraphQL {
		case "", GraphQLAuto, GraphQLOn, GraphQLOff:
		default:
			e.add(p+".graphql", "%q is not one of auto, on, off", g.GraphQL)
		}
		if n := g.Concurrency; n != nil && (*n < 1 || *n > MaxGitHubConcurrency) {
			e.add(p+".concurrency", "%d must be between 1 and %d (repositories synced at once)", *n, MaxGitHubConcurrency)
		}
		seen := map[string]bool{}
		for j, r := range g.Repos {
			if !repoRE.MatchString(r) {
				e.add(fmt.Sprintf("%s.repos[%d]", p, j), "%q must be \"owner/name\"", r)
			} else if seen[strings.ToLower(r)] {
				e.add(fmt.Sprintf("%s.repos[%d]", p, j), "repository %q is listed twice", r)
			}
			seen[strings.ToLower(r)] = true
		}
		for j := range g.Orgs {
			o := &g.Orgs[j]
			op := fmt.Sprintf("%s.orgs[%d]", p, j)
			if strings.TrimSpace(o.Org) == "" {
				e.add(op+".org", "must not be empty")
			}
			inc, exc := o.compile()
			for k, re := range o.Include {
				if err := inc[k]; err != nil {
					e.add(fmt.Sprintf("%s.include[%d]", op, k), "invalid regular expression %q: %v", re, err)
				}
			}
			for k, re := range o.Exclude {
				if err := exc[k]; err != nil {
					e.add(fmt.Sprintf("%s.exclude[%d]", op, k), "invalid regular expression %q: %v", re, err)
				}
			}
		}
		n := authCount(g.Token, g.TokenFile, g.TokenEnv)
		switch {
		case g.App != nil && n > 0:
			e.add(p, "set either app or one of token, token_file, token_env, not both")
		case g.App != nil:
			a := g.App
			if a.AppID <= 0 {
				e.add(p+".app.app_id", "must be a positive number")
			}
			if a.InstallationID <= 0 {
				e.add(p+".app.installation_id", "must be a positive number")
			}
			if (a.PrivateKey == "") == (a.PrivateKeyFile == "") {
				e.add(p+".app", "set exactly one of private_key, private_key_file")
			}
		case n == 0:
			e.add(p, "set one of token, token_file, token_env or app")
		case n > 1:
			e.add(p, "set only one of token, token_file, token_env")
		}
	}
	for i, j := range c.Sources.Jira {
		p := fmt.Sprintf("sources.jira[%d]", i)
		if j == nil {
			e.add(p, "empty target")
			continue
		}
		target(p, "jira", j.Name)
		if err := checkURL(j.URL, j.InsecureHTTP); err != nil {
			e.add(p+".url", "%v", err)
		} else {
			j.URL = strings.TrimSuffix(j.URL, "/")
		}
		switch j.Deployment {
		case JiraCloud:
			if j.Email == "" {
				e.add(p+".email", "Jira Cloud needs the email of the API token's owner")
			}
		case JiraDataCenter:
		default:
			e.add(p+".deployment", "unknown deployment %q (want cloud or datacenter)", j.Deployment)
		}
		if len(j.Projects) == 0 {
			e.add(p+".projects", "list at least one project key")
		}
		for k, pk := range j.Projects {
			if !projectRE.MatchString(pk) {
				e.add(fmt.Sprintf("%s.projects[%d]", p, k), "%q is not a Jira project key (upper-case letters, digits, _)", pk)
			}
		}
		switch n := authCount(j.Token, j.TokenFile, j.TokenEnv); {
		case n == 0:
			e.add(p, "set one of token, token_file, token_env")
		case n > 1:
			e.add(p, "set only one of token, token_file, token_env")
		}
	}
}

func (c *Config) validateMilestones(e *errs) {
	m := &c.Milestones
	if m.MinTeams < 1 {
		e.add("milestones.min_teams", "must be at least 1")
	}
	if m.MaxExported < 0 {
		e.add("milestones.max_exported", "must not be negative")
	}
	if m.KeepCompleted < 0 {
		e.add("milestones.keep_completed", "must not be negative")
	}
}

func (c *Config) validateSignals(e *errs) {
	seen := map[string]bool{}
	for i, s := range c.Signals {
		p := fmt.Sprintf("signals[%d]", i)
		if s == nil {
			e.add(p, "empty signal")
			continue
		}
		if err := validName(s.Name); err != nil {
			e.add(p+".name", "%v", err)
		} else if seen[s.Name] {
			e.add(p+".name", "signal %q is defined twice", s.Name)
		}
		seen[s.Name] = true
		if len(s.GitHubLabels) == 0 && strings.TrimSpace(s.JiraJQL) == "" {
			e.add(p, "set github_labels or jira_jql")
		}
		c.validateRecord(e, p, s)
	}
}

// ParseInstant parses an RFC 3339 time or a YYYY-MM-DD date (UTC midnight).
func ParseInstant(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time nor a date YYYY-MM-DD", s)
}
