package config

import (
	"reflect"
	"testing"
	"time"
)

func TestRecordDefaults(t *testing.T) {
	c, err := Parse([]byte(`
teams:
  design: {}
signals:
  - name: decision
    kind: decision
    github_labels: [decision]
    jira_jql: issuetype = Decision
  - name: action
    kind: postmortem
    github_labels: [pm]
    jira_jql: labels = pm
    jira_date_field: customfield_10042
    max_exported: 0
  - name: plain
    github_labels: [x]
`))
	if err != nil {
		t.Fatal(err)
	}
	d, a, p := c.Signals[0], c.Signals[1], c.Signals[2]
	if !d.IsRecord() || !a.IsRecord() || p.IsRecord() {
		t.Errorf("IsRecord = %v %v %v, want true true false", d.IsRecord(), a.IsRecord(), p.IsRecord())
	}
	for _, tt := range []struct {
		name      string
		got, want any
	}{
		{"decision prefix", d.LabelPrefix(), "revisit:"},
		{"action prefix", a.LabelPrefix(), "due:"},
		{"decision field", d.DateField(), "duedate"},
		{"action field", a.DateField(), "customfield_10042"},
		{"decision cap", d.Cap(), 50},
		{"action cap", a.Cap(), 0},
		{"keep decided", d.KeepDecidedFor(), 14 * 24 * time.Hour},
		{"date fields", c.JiraDateFields(), []string{"duedate", "customfield_10042"}},
		{"dependencies", c.Dependencies, Dependencies{JiraLinkTypes: []string{"Blocks"}, GitHub: true, MaxExported: 50}},
	} {
		if !reflect.DeepEqual(tt.got, tt.want) {
			t.Errorf("%s = %v, want %v", tt.name, tt.got, tt.want)
		}
	}

	c, err = Parse([]byte(`
teams:
  design: {}
dependencies:
  jira_link_types: []
  github: false
`))
	if err != nil {
		t.Fatal(err)
	}
	if want := (Dependencies{JiraLinkTypes: []string{}, MaxExported: 50}); !reflect.DeepEqual(c.Dependencies, want) {
		t.Errorf("dependencies = %+v, want %+v", c.Dependencies, want)
	}
}
