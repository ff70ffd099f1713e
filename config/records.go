package config

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/prometheus/common/model"
)

// Record kinds (Signal.Kind). Items matching a signal of one of these kinds
// are records with an owner, a date and a state, not only an open count.
const (
	// KindDecision: a decision log entry; decided when closed or in a
	// decided status/label; revisited at its date.
	KindDecision = "decision"
	// KindPostmortem: a post-mortem action item; done when closed,
	// overdue after its due date.
	KindPostmortem = "postmortem"
)

// Defaults of record signals.
const (
	DefaultRevisitLabelPrefix = "revisit:" // GitHub: revisit:YYYY-MM-DD on a decision
	DefaultDueLabelPrefix     = "due:"     // GitHub: due:YYYY-MM-DD on a post-mortem action
	DefaultJiraDateField      = "duedate"  // Jira: the field holding the revisit / due date
	DefaultRecordsExported    = 50
)

// DefaultKeepDecided is how long a decided decision stays in the exported
// decision list after it was decided.
const DefaultKeepDecided = model.Duration(14 * 24 * time.Hour)

// IsRecord reports whether the signal's items are records.
func (s *Signal) IsRecord() bool { return s.Kind == KindDecision || s.Kind == KindPostmortem }

// LabelPrefix is the GitHub date label prefix of a record signal.
func (s *Signal) LabelPrefix() string {
	if s.DateLabelPrefix != "" {
		return s.DateLabelPrefix
	}
	if s.Kind == KindPostmortem {
		return DefaultDueLabelPrefix
	}
	return DefaultRevisitLabelPrefix
}

// DateField is the Jira date field of a record signal.
func (s *Signal) DateField() string {
	if s.JiraDateField != "" {
		return s.JiraDateField
	}
	return DefaultJiraDateField
}

// Cap is the per-item list cap of a record signal.
func (s *Signal) Cap() int {
	if s.MaxExported != nil {
		return *s.MaxExported
	}
	return DefaultRecordsExported
}

// KeepDecidedFor is how long a decided decision stays listed.
func (s *Signal) KeepDecidedFor() time.Duration {
	if s.KeepDecided != nil {
		return time.Duration(*s.KeepDecided)
	}
	return time.Duration(DefaultKeepDecided)
}

// JiraDateFields are the distinct Jira date fields that record signals
// read, in signal order (the collector asks for them in its searches).
func (c *Config) JiraDateFields() []string {
	var out []string
	for _, s := range c.Signals {
		if s == nil || !s.IsRecord() {
			continue
		}
		f := s.DateField()
		dup := false
		for _, x := range out {
			dup = dup || x == f
		}
		if !dup {
			out = append(out, f)
		}
	}
	return out
}

// Dependencies configures cross-team dependencies: an item blocked by an
// item another team owns.
type Dependencies struct {
	// JiraLinkTypes are the Jira issue link type names whose inward side
	// ("is blocked by") makes a dependency; default ["Blocks"]. Checked
	// against /issueLinkType at the first sync: a missing type is reported
	// by name and the target keeps syncing. Empty: no Jira dependencies.
	JiraLinkTypes []string `yaml:"jira_link_types"`
	// GitHub: collect GitHub issue dependencies ("blocked by") for the
	// issues a sync changed; default true.
	GitHub bool `yaml:"github"`
	// MaxExported caps the per-dependency series (the oldest open first).
	MaxExported int `yaml:"max_exported"`
}

// DefaultDependencies applies when the file has no dependencies key.
var DefaultDependencies = Dependencies{JiraLinkTypes: []string{"Blocks"}, GitHub: true, MaxExported: 50}

// UnmarshalYAML implements yaml.Unmarshaler (defaults before decoding).
func (d *Dependencies) UnmarshalYAML(unmarshal func(any) error) error {
	*d = DefaultDependencies
	d.JiraLinkTypes = append([]string(nil), DefaultDependencies.JiraLinkTypes...)
	type plain Dependencies
	return unmarshal((*plain)(d))
}

// jiraFieldRE: the Jira date fields a record may read. Only the system due
// date and custom fields hold dates a team sets.
var jiraFieldRE = regexp.MustCompile(`^(duedate|customfield_[0-9]+)$`)

// validateRecord checks the record settings of signal s at path p.
func (c *Config) validateRecord(e *errs, p string, s *Signal) {
	switch s.Kind {
	case "", KindDecision, KindPostmortem:
	default:
		e.add(p+".kind", "unknown kind %q (want decision or postmortem, or leave it out for a plain signal)", s.Kind)
		return
	}
	if !s.IsRecord() {
		r := s
		if len(r.DecidedStatuses) > 0 || len(r.DecidedLabels) > 0 || r.DateLabelPrefix != "" || r.JiraDateField != "" || r.MaxExported != nil || r.KeepDecided != nil {
			e.add(p, "decided_statuses, decided_labels, date_label_prefix, jira_date_field, max_exported and keep_decided need kind: decision or postmortem")
		}
		return
	}
	if s.Kind == KindPostmortem && (len(s.DecidedStatuses) > 0 || len(s.DecidedLabels) > 0 || s.KeepDecided != nil) {
		e.add(p, "decided_statuses, decided_labels and keep_decided apply to kind: decision only")
	}
	for _, l := range []struct {
		key  string
		list []string
	}{{"decided_statuses", s.DecidedStatuses}, {"decided_labels", s.DecidedLabels}} {
		for i, v := range l.list {
			if strings.TrimSpace(v) == "" {
				e.add(fmt.Sprintf("%s.%s[%d]", p, l.key, i), "must not be empty")
			}
		}
	}
	if s.DateLabelPrefix != "" && strings.TrimSpace(s.DateLabelPrefix) != s.DateLabelPrefix {
		e.add(p+".date_label_prefix", "%q must not start or end with spaces", s.DateLabelPrefix)
	}
	if s.JiraDateField != "" && !jiraFieldRE.MatchString(s.JiraDateField) {
		e.add(p+".jira_date_field", "%q is not a Jira field id (duedate, or customfield_NNNNN)", s.JiraDateField)
	}
	if s.MaxExported != nil && *s.MaxExported < 0 {
		e.add(p+".max_exported", "must not be negative")
	}
	if s.KeepDecided != nil && *s.KeepDecided < 0 {
		e.add(p+".keep_decided", "must not be negative")
	}
}

func (c *Config) validateDependencies(e *errs) {
	d := &c.Dependencies
	seen := map[string]bool{}
	for i, t := range d.JiraLinkTypes {
		p := fmt.Sprintf("dependencies.jira_link_types[%d]", i)
		switch {
		case strings.TrimSpace(t) == "":
			e.add(p, "must not be empty")
		case seen[strings.ToLower(t)]:
			e.add(p, "link type %q is listed twice", t)
		}
		seen[strings.ToLower(t)] = true
	}
	if d.MaxExported < 0 {
		e.add("dependencies.max_exported", "must not be negative")
	}
}
