package config

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// TeamNames returns the team names, sorted.
func (c *Config) TeamNames() []string { return c.teamNames }

// TeamOf returns the team of an actor identity in a source ("github" or
// "jira"); Jira actors are also matched by email. Unknown actors belong to no
// team.
func (c *Config) TeamOf(source, identity string) (string, bool) {
	if identity == "" {
		return "", false
	}
	if source == "github" {
		t, ok := c.ids.github[strings.ToLower(identity)]
		return t, ok
	}
	if t, ok := c.ids.jira[identity]; ok {
		return t, true
	}
	t, ok := c.ids.email[strings.ToLower(identity)]
	return t, ok
}

// LabelTeam returns the team a GitHub label marks (case-insensitive, as
// GitHub label names are).
func (c *Config) LabelTeam(label string) (string, bool) {
	t, ok := c.markers.labels[strings.ToLower(label)]
	return t, ok
}

// JiraStatus returns the team owning a Jira status and whether it is a
// waiting status (case-insensitive).
func (c *Config) JiraStatus(name string) (StatusMarker, bool) {
	m, ok := c.markers.statuses[strings.ToLower(name)]
	return m, ok
}

// ComponentTeam returns the team owning a Jira component.
func (c *Config) ComponentTeam(name string) (string, bool) {
	t, ok := c.markers.components[strings.ToLower(name)]
	return t, ok
}

// TeamFieldTeam returns the team named by a Jira team field value.
func (c *Config) TeamFieldTeam(value string) (string, bool) {
	t, ok := c.markers.teamValues[strings.ToLower(value)]
	return t, ok
}

// StallAfter returns the stall threshold for a pair: an exact "from->to"
// override first, then "from->*", then "*->to", then "*->*", then the default.
func (c *Config) StallAfter(from, to string) time.Duration {
	for _, k := range []pairKey{{from, to}, {from, "*"}, {"*", to}, {"*", "*"}} {
		if o, ok := c.pairs[k]; ok {
			return time.Duration(o.StallAfter)
		}
	}
	return time.Duration(c.Handoffs.StallAfter)
}

// CalendarOf returns the working calendar of a team: its own, else the
// default calendar, else nil (working time equals calendar time).
func (c *Config) CalendarOf(team string) *Calendar {
	if t := c.Teams[team]; t != nil && t.Calendar != nil {
		return t.Calendar
	}
	return c.Calendar
}

// WriteSummary prints the short resolved summary that check-config shows:
// teams with member counts and markers, pair overrides, sources and targets.
// It prints no secret.
func (c *Config) WriteSummary(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "teams: %d\n", len(c.teamNames))
	for _, n := range c.teamNames {
		t := c.Teams[n]
		cal := "calendar time"
		if cal2 := c.CalendarOf(n); cal2 != nil {
			cal = fmt.Sprintf("%s %s-%s %s", cal2.Timezone, cal2.WorkingHours.Start, cal2.WorkingHours.End, strings.Join(cal2.WorkingDays, ","))
		}
		fmt.Fprintf(&b, "  %s: %d members, %d github teams, %d labels, %d jira statuses, %d components, %d team field values; working time: %s\n",
			n, len(t.Members), len(t.GitHubTeams), len(t.Markers.GitHubLabels), len(t.Markers.JiraStatuses),
			len(t.Markers.JiraComponents), len(t.Markers.JiraTeamValues), cal)
	}
	n := len(c.teamNames)
	fmt.Fprintf(&b, "team pairs: %d possible; stall after %s (%s time)\n", n*(n-1), c.Handoffs.StallAfter, c.Handoffs.StallClock)
	for _, k := range sortedPairKeys(c.pairs) {
		fmt.Fprintf(&b, "  override %s->%s: stall after %s\n", k.from, k.to, c.pairs[k].StallAfter)
	}
	fmt.Fprintf(&b, "ownership: %s\n", strings.Join(c.Ownership.Precedence, " > "))
	fmt.Fprintf(&b, "sources: %d github, %d jira\n", len(c.Sources.GitHub), len(c.Sources.Jira))
	for _, g := range c.Sources.GitHub {
		auth := "token"
		switch {
		case g.App != nil:
			auth = fmt.Sprintf("github app %d", g.App.AppID)
		case g.TokenFile != "":
			auth = "token_file " + g.TokenFile
		case g.TokenEnv != "":
			auth = "token_env " + g.TokenEnv
		}
		fmt.Fprintf(&b, "  github/%s: %s, %d repos, %d org patterns, auth %s\n", g.Name, g.BaseURL, len(g.Repos), len(g.Orgs), auth)
	}
	for _, j := range c.Sources.Jira {
		auth := "token"
		switch {
		case j.TokenFile != "":
			auth = "token_file " + j.TokenFile
		case j.TokenEnv != "":
			auth = "token_env " + j.TokenEnv
		}
		fmt.Fprintf(&b, "  jira/%s: %s (%s), projects %s, auth %s\n", j.Name, j.URL, j.Deployment, strings.Join(j.Projects, ","), auth)
	}
	fmt.Fprintf(&b, "milestones: min %d teams, at most %d exported\n", c.Milestones.MinTeams, c.Milestones.MaxExported)
	fmt.Fprintf(&b, "signals: %d\n", len(c.Signals))
	fmt.Fprintf(&b, "store: %s; sync every %s\n", c.Store.Path, c.Sync.Interval)
	_, err := io.WriteString(w, b.String())
	return err
}

func sortedPairKeys(m map[pairKey]PairOverride) []pairKey {
	keys := make([]pairKey, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].from != keys[j].from {
			return keys[i].from < keys[j].from
		}
		return keys[i].to < keys[j].to
	})
	return keys
}

// Redacted returns the configuration as YAML with every secret shown as
// <secret>, for a /config view or debug output.
func (c *Config) Redacted() (string, error) {
	b, err := yaml.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("config: marshal: %w", err)
	}
	return string(b), nil
}

// RedactedWithoutMembers is Redacted with every team's members left out:
// /config is read by anyone who can reach the exporter, and members are
// people's logins, Jira account ids and emails. Each team shows how many
// members it has instead.
func (c *Config) RedactedWithoutMembers() (string, error) {
	cp := *c
	cp.Teams = make(map[string]*Team, len(c.Teams))
	for name, t := range c.Teams {
		if t == nil {
			cp.Teams[name] = nil
			continue
		}
		tc := *t
		tc.Members = nil
		cp.Teams[name] = &tc
	}
	var doc yaml.Node
	if err := doc.Encode(&cp); err != nil {
		return "", fmt.Errorf("config: marshal: %w", err)
	}
	// Annotate each team mapping with its member count.
	if root := &doc; root.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(root.Content); i += 2 {
			if root.Content[i].Value != "teams" {
				continue
			}
			teams := root.Content[i+1]
			for j := 0; j+1 < len(teams.Content); j += 2 {
				if t := c.Teams[teams.Content[j].Value]; t != nil {
					teams.Content[j].LineComment = fmt.Sprintf("%d members (not shown)", len(t.Members))
				}
			}
		}
	}
	b, err := yaml.Marshal(&doc)
	if err != nil {
		return "", fmt.Errorf("config: marshal: %w", err)
	}
	return string(b), nil
}
