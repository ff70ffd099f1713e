package config

import (
	"fmt"
	"strings"
)

// Flow configures where a handed-off item's time goes: waiting for the
// receiving team, active with it, or blocked. An item is blocked while it
// carries a blocked marker: a label or status listed here, or a team's
// Jira status marked blocked: true.
type Flow struct {
	// BlockedLabels are GitHub labels that mark an item blocked
	// (case-insensitive).
	BlockedLabels []string `yaml:"blocked_labels"`
	// BlockedStatuses are Jira statuses that mark an item blocked
	// (case-insensitive).
	BlockedStatuses []string `yaml:"blocked_statuses"`
}

// DefaultFlow applies when the file has no flow key.
var DefaultFlow = Flow{BlockedLabels: []string{"blocked"}, BlockedStatuses: []string{"Blocked"}}

// Blocked reports whether a GitHub label or a Jira status (by source)
// marks an item blocked.
func (c *Config) Blocked(source, value string) bool {
	if source == "github" {
		return c.blocked.labels[strings.ToLower(value)]
	}
	return c.blocked.statuses[strings.ToLower(value)]
}

type blockedIndex struct{ labels, statuses map[string]bool }

func (c *Config) validateFlow(e *errs) {
	f := c.Flow
	if f == nil {
		f = &DefaultFlow
	}
	c.blocked = blockedIndex{labels: map[string]bool{}, statuses: map[string]bool{}}
	for _, l := range []struct {
		key  string
		list []string
		into map[string]bool
	}{{"blocked_labels", f.BlockedLabels, c.blocked.labels}, {"blocked_statuses", f.BlockedStatuses, c.blocked.statuses}} {
		for i, v := range l.list {
			if strings.TrimSpace(v) == "" {
				e.add(fmt.Sprintf("flow.%s[%d]", l.key, i), "must not be empty")
				continue
			}
			l.into[strings.ToLower(v)] = true
		}
	}
	// A team's own Jira statuses marked blocked: true.
	for _, t := range c.Teams {
		if t == nil {
			continue
		}
		for _, st := range t.Markers.JiraStatuses {
			if st.Blocked {
				c.blocked.statuses[strings.ToLower(st.Name)] = true
			}
		}
	}
}
