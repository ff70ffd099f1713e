package exposition

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"
	prommodel "github.com/prometheus/common/model"

	"github.com/crossteam/crossteam/catalogue"
	"github.com/crossteam/crossteam/config"
	"github.com/crossteam/crossteam/engine"
	"github.com/crossteam/crossteam/model"
)

var update = flag.Bool("update", false, "rewrite golden files")

const scenarioConfig = `
teams:
  design:
    members: [alice]
    markers: {github_labels: ["team:design"]}
  backend:
    members: [bob]
    markers:
      github_labels: ["team:backend"]
      jira_statuses: [{name: "Ready for Dev", waiting: true}, {name: "In Dev"}]
handoffs:
  stall_after: 24h
agreements:
  "design->backend":
    pickup: {objective: 0.9, within: 4h}
    cycle: {objective: 0.5, within: 1d, clock: calendar}
signals:
  - name: decision
    kind: decision
    github_labels: [decision]
  - name: postmortem_action
    kind: postmortem
    github_labels: [postmortem-action]
`

// scenario: two GitHub items handed design->backend (one picked up after 2h
// and closed after 5h, one stalled for 47h), a joint milestone, a Jira item
// in an unmapped status, an open decision (#2) and a decided one (#3, with
// an invalid revisit label), an overdue post-mortem action (#4) and a
// closed one (#5), and design's #6 blocked by backend's #4 (open) and #5
// (resolved when #5 closed). Times from 2026-03-02 UTC.
func scenario(t testing.TB) (*config.Config, *model.Dataset, time.Time) {
	cfg, err := config.Parse([]byte(scenarioConfig))
	if err != nil {
		t.Fatal(err)
	}
	b := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	h := func(n int) time.Time { return b.Add(time.Duration(n) * time.Hour) }
	ev := func(key string, id, hour int, actor string, kind model.EventKind, v string) model.Event {
		src := model.SourceGitHub
		if !strings.Contains(key, "#") {
			src = model.SourceJira
		}
		return model.Event{Source: src, ID: fmt.Sprint(id), ItemKey: key, At: h(hour), Actor: actor, Kind: kind, Value: v}
	}
	ds := &model.Dataset{
		Items: []model.Item{
			{Source: "github", Key: "acme/web#1", URL: "https://github.com/acme/web/issues/1", Title: "Checkout \"button\"\nbroken ✓", Author: "alice", Created: h(0), Milestones: []string{"v1.0"}},
			{Source: "github", Key: "acme/web#2", URL: "https://github.com/acme/web/issues/2", Title: "Slow search", Author: "alice", Created: h(0), Labels: []string{"decision"}},
			{Source: "github", Key: "acme/web#3", URL: "https://github.com/acme/web/issues/3", Title: "Adopt gRPC", Author: "alice", Created: h(0), Labels: []string{"decision", "team:design", "revisit:2026-13-40"}},
			{Source: "github", Key: "acme/web#4", URL: "https://github.com/acme/web/issues/4", Title: "Add alerting", Author: "bob", Created: h(0), Labels: []string{"postmortem-action", "team:backend", "due:2026-03-02"}},
			{Source: "github", Key: "acme/web#5", URL: "https://github.com/acme/web/issues/5", Title: "Fix retry", Author: "bob", Created: h(0), Labels: []string{"postmortem-action", "team:backend"}},
			{Source: "github", Key: "acme/web#6", URL: "https://github.com/acme/web/issues/6", Title: "New checkout", Author: "alice", Created: h(0), Labels: []string{"team:design"}},
			{Source: "jira", Key: "WEB-1", URL: "https://acme.atlassian.net/browse/WEB-1", Title: "Limbo", Created: h(0), Status: "Parked"},
		},
		Events: []model.Event{
			ev("acme/web#1", 1, 0, "alice", model.EventLabeled, "team:design"),
			ev("acme/web#1", 2, 1, "alice", model.EventUnlabeled, "team:design"),
			ev("acme/web#1", 3, 1, "alice", model.EventLabeled, "team:backend"),
			ev("acme/web#1", 4, 3, "bob", model.EventCommented, ""),
			ev("acme/web#1", 5, 6, "bob", model.EventClosed, ""),
			ev("acme/web#2", 6, 0, "alice", model.EventLabeled, "team:design"),
			ev("acme/web#2", 7, 1, "alice", model.EventLabeled, "team:backend"),
			ev("acme/web#3", 8, 10, "alice", model.EventClosed, ""),
			ev("acme/web#5", 9, 4, "bob", model.EventClosed, ""),
			ev("acme/web#6", 10, 2, "alice", model.EventBlockedByAdded, "acme/web#4"),
			ev("acme/web#6", 11, 3, "alice", model.EventBlockedByAdded, "acme/web#5"),
		},
		Milestones: []model.Milestone{{Source: "github", Key: "acme/web/milestones/1", Title: "v1.0", Due: h(240)}},
	}
	return cfg, ds, h(48)
}

func TestSnapshotExposition(t *testing.T) {
	cfg, ds, asOf := scenario(t)
	c := NewSnapshotCollector()
	c.Set(engine.Compute(ds, cfg, asOf), 1500*time.Millisecond)

	problems, err := testutil.CollectAndLint(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}

	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	golden := filepath.Join("testdata", "snapshot.prom")
	got, err := gatherText(reg)
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("exposition differs from %s (run go test ./exposition -update after checking):\n%s", golden, got)
	}
	// Hand-computed values, independent of the golden file.
	for _, tc := range []struct {
		name, labels string
		want         float64
	}{
		{"crossteam_handoffs_total", `from_team="design",source="github",to_team="backend"`, 2},
		{"crossteam_handoff_pickup_seconds_sum", `from_team="design",source="github",to_team="backend"`, 2 * 3600},
		{"crossteam_handoff_cycle_seconds_sum", `from_team="design",source="github",to_team="backend"`, 5 * 3600},
		{"crossteam_handoffs_stalled", `from_team="design",source="github",to_team="backend"`, 1},
		{"crossteam_handoff_oldest_waiting_seconds", `from_team="design",source="github",to_team="backend"`, 47 * 3600},
		{"crossteam_jira_unmapped_status_items", `status="Parked"`, 1},
		{"crossteam_signal_items_open", `signal="decision",team="backend"`, 1},
		{"crossteam_item_cycle_seconds_count", `source="github",teams="2"`, 1},
		// Timestamps: acme/web#2 handed to backend at 2026-03-02T01:00Z
		// (1772413200) and never touched by backend; the decision item
		// created at 2026-03-02T00:00Z (1772409600).
		{"crossteam_handoff_oldest_waiting_timestamp_seconds", `from_team="design",source="github",to_team="backend"`, 1772413200},
		{"crossteam_stalled_handoff_idle_since_timestamp_seconds", `from_team="design",key="acme/web#2",kind="owner",source="github",title="Slow search",to_team="backend",url="https://github.com/acme/web/issues/2"`, 1772413200},
		{"crossteam_signal_oldest_open_timestamp_seconds", `signal="decision",team="backend"`, 1772409600},
		{"crossteam_decision_records", `signal="decision",source="github",state="open",team="backend"`, 1},
		{"crossteam_decision_records", `signal="decision",source="github",state="decided",team="design"`, 1},
		{"crossteam_decision_time_to_decide_seconds_sum", `signal="decision",source="github",team="design"`, 10 * 3600},
		// backend has an open decision and has decided none: its histogram
		// is there with no observations (the metric policy), so increase()
		// counts its first one.
		{"crossteam_decision_time_to_decide_seconds_count", `signal="decision",source="github",team="backend"`, 0},
		{"crossteam_decision_decided_timestamp_seconds", `key="acme/web#3",signal="decision",source="github",team="design",title="Adopt gRPC"`, 1772445600}, // 2026-03-02 10:00 UTC,
		{"crossteam_record_dates_invalid", `signal="decision",source="github"`, 1},
		{"crossteam_postmortem_actions_open", `signal="postmortem_action",source="github",team="backend"`, 1},
		{"crossteam_postmortem_actions_overdue", `signal="postmortem_action",source="github",team="backend"`, 1},
		{"crossteam_postmortem_action_close_seconds_sum", `signal="postmortem_action",source="github",team="backend"`, 4 * 3600},
		// due 2026-03-02 ends at 23:59:59; asOf is 2026-03-04 00:00.
		{"crossteam_postmortem_action_overdue_seconds", `key="acme/web#4",signal="postmortem_action",source="github",team="backend",title="Add alerting",url="https://github.com/acme/web/issues/4"`, 24*3600 + 1},
		{"crossteam_dependencies_open", `blocked_team="design",blocking_team="backend",source="github"`, 1},
		{"crossteam_dependency_oldest_open_seconds", `blocked_team="design",blocking_team="backend",source="github"`, 46 * 3600},
		{"crossteam_dependency_resolved_seconds_sum", `blocked_team="design",blocking_team="backend",source="github"`, 3600},
		{"crossteam_dependency_open_seconds", `blocked_key="acme/web#6",blocked_team="design",blocking_key="acme/web#4",blocking_team="backend",source="github",title="New checkout",url="https://github.com/acme/web/issues/6"`, 46 * 3600},
		{"crossteam_records_unexported", `list="decisions"`, 0},
	} {
		line := tc.name + "{" + tc.labels + "} " + fmt.Sprint(tc.want)
		if !strings.Contains(got, line+"\n") {
			t.Errorf("missing %q", line)
		}
	}
}

// TestExpositionMatchesCatalogue: every series exposed is in the catalogue
// with the catalogue's labels, and every domain metric appears.
func TestExpositionMatchesCatalogue(t *testing.T) {
	cfg, ds, asOf := scenario(t)
	c := NewSnapshotCollector()
	c.Set(engine.Compute(ds, cfg, asOf), time.Second)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, mf := range mfs {
		m, ok := catalogue.ByName(mf.GetName())
		if !ok {
			t.Errorf("%s is not in the catalogue", mf.GetName())
			continue
		}
		seen[m.Name] = true
		if strings.ToLower(mf.GetType().String()) != string(m.Type) {
			t.Errorf("%s: type %s, catalogue says %s", m.Name, mf.GetType(), m.Type)
		}
		for _, metric := range mf.GetMetric() {
			if len(metric.GetLabel()) != len(m.Labels) {
				t.Errorf("%s: %d labels, catalogue has %v", m.Name, len(metric.GetLabel()), m.Labels)
			}
		}
	}
	for _, m := range catalogue.Metrics {
		// Milestone completion needs a completed milestone; the scenario has
		// none, which TestCompletedMilestoneExposed covers.
		if m.Group == catalogue.Health && m.Name != "crossteam_snapshot_timestamp_seconds" && m.Name != "crossteam_snapshot_compute_seconds" {
			continue
		}
		if m.Name == "crossteam_milestone_completed_timestamp_seconds" || m.Name == "crossteam_joint_milestones_completed_total" {
			continue
		}
		if !seen[m.Name] {
			t.Errorf("catalogue metric %s has no series in the scenario", m.Name)
		}
	}
}

func TestCapLabelValue(t *testing.T) {
	long := strings.Repeat("é", 10000)
	got := catalogue.CapLabelValue(long)
	if len(got) > catalogue.MaxLabelValueLength || !strings.HasSuffix(got, "…") || !strings.HasPrefix(got, "éé") {
		t.Errorf("capped to %d bytes: %q...", len(got), got[:10])
	}
	if catalogue.CapLabelValue("short") != "short" {
		t.Error("short value changed")
	}
}

func gatherText(g prometheus.Gatherer) (string, error) {
	mfs, err := g.Gather()
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, mf := range mfs {
		if _, err := expfmt.MetricFamilyToText(&b, mf); err != nil {
			return "", err
		}
	}
	return b.String(), nil
}

// TestHostileValues: quotes, backslashes, newlines, unicode, invalid UTF-8
// and 10 kB values in team names, titles, URLs, keys, milestone titles and
// Jira statuses never break the exposition: it lints, parses back, every
// free-text label value is at most MaxLabelValueLength bytes of valid UTF-8,
// and the hostile team name round-trips exactly.
func TestHostileValues(t *testing.T) {
	team := `de"si\gn ☃ {x="y"}`
	cfg, err := config.Parse([]byte(`
teams:
  '` + team + `':
    members: [alice]
    markers: {github_labels: ["team:design"]}
  backend:
    members: [bob]
    markers: {github_labels: ["team:backend"]}
handoffs:
  stall_after: 1h
`))
	if err != nil {
		t.Fatal(err)
	}
	b := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	huge := strings.Repeat("x\"\\\n€", 2000) // 10 kB
	bad := "bad \xff\xfe utf8"
	ds := &model.Dataset{
		Items: []model.Item{
			{Source: "github", Key: "acme/web#1" + huge, URL: "https://github.com/acme/web/issues/1?" + huge, Title: huge + bad, Author: "alice", Created: b, Milestones: []string{"v1 " + bad + huge}},
			{Source: "jira", Key: "WEB-1", Title: "x", Created: b, Status: "Parked\n\"" + bad + huge},
		},
		Events: []model.Event{
			{Source: "github", ID: "1", ItemKey: "acme/web#1" + huge, At: b, Actor: "alice", Kind: model.EventLabeled, Value: "team:design"},
			{Source: "github", ID: "2", ItemKey: "acme/web#1" + huge, At: b.Add(time.Hour), Actor: "alice", Kind: model.EventLabeled, Value: "team:backend"},
			{Source: "github", ID: "3", ItemKey: "acme/web#1" + huge, At: b.Add(2 * time.Hour), Actor: "bob", Kind: model.EventCommented},
		},
		Milestones: []model.Milestone{{Source: "github", Key: "m1", Title: "v1 " + bad + huge, Due: b.Add(100 * time.Hour)}},
	}
	c := NewSnapshotCollector()
	c.Set(engine.Compute(ds, cfg, b.Add(10*time.Hour)), time.Second)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	text, err := gatherText(reg)
	if err != nil {
		t.Fatal(err)
	}
	parser := expfmt.NewTextParser(prommodel.LegacyValidation)
	mfs, err := parser.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("exposition does not parse back: %v", err)
	}
	problems, err := testutil.CollectAndLint(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
	sawTeam, sawStalled, sawStatus, sawMilestone := false, false, false, false
	for name, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				v := lp.GetValue()
				if !utf8.ValidString(v) {
					t.Errorf("%s{%s}: invalid UTF-8", name, lp.GetName())
				}
				if len(v) > catalogue.MaxLabelValueLength {
					t.Errorf("%s{%s}: %d bytes", name, lp.GetName(), len(v))
				}
				sawTeam = sawTeam || v == team
				switch {
				case name == "crossteam_stalled_handoff_idle_seconds" && lp.GetName() == "title":
					sawStalled = strings.HasPrefix(v, "x\"\\\n€") && strings.HasSuffix(v, "…")
				case name == "crossteam_jira_unmapped_status_items":
					sawStatus = strings.HasPrefix(v, "Parked\n\"")
				case name == "crossteam_milestone_teams" && lp.GetName() == "milestone":
					sawMilestone = strings.HasPrefix(v, "v1 bad \uFFFD utf8")
				}
			}
		}
	}
	if !sawTeam || !sawStalled || !sawStatus || !sawMilestone {
		t.Errorf("series missing: team %v stalled %v status %v milestone %v", sawTeam, sawStalled, sawStatus, sawMilestone)
	}
}

// TestAgeTimestamps: the timestamp gauges are asOf minus the age, to the
// nanosecond of a sub-second asOf, and absent where the age gauge reads 0
// for nothing open.
func TestAgeTimestamps(t *testing.T) {
	asOf := time.Date(2026, 12, 3, 12, 0, 0, 500_000_000, time.UTC) // 1796299200.5
	s := &engine.Snapshot{
		AsOf: asOf,
		Pairs: []engine.PairStats{
			{PairKey: engine.PairKey{Source: "github", From: "a", To: "b"}, OpenWaiting: 2, OldestWaiting: 90 * time.Minute},
			{PairKey: engine.PairKey{Source: "jira", From: "b", To: "a"}, OpenInProgress: 1}, // nothing waits
		},
		Stalled: []engine.StalledHandoff{{Source: "github", Key: "o/r#1", URL: "u", Title: "t", Kind: "review", From: "a", To: "b", Idle: 4 * 24 * time.Hour}},
		Signals: []engine.SignalStats{{Signal: "decision", Team: "a", Open: 1, Oldest: 36 * time.Hour}},
	}
	c := NewSnapshotCollector()
	c.Set(s, 0)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	got, err := gatherText(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		series string
		want   float64
	}{
		// 1796299200.5 - 5400
		{`crossteam_handoff_oldest_waiting_timestamp_seconds{from_team="a",source="github",to_team="b"}`, 1796293800.5},
		// 1796299200.5 - 4*86400
		{`crossteam_stalled_handoff_idle_since_timestamp_seconds{from_team="a",key="o/r#1",kind="review",source="github",title="t",to_team="b",url="u"}`, 1795953600.5},
		// 1796299200.5 - 36*3600
		{`crossteam_signal_oldest_open_timestamp_seconds{signal="decision",team="a"}`, 1796169600.5},
	} {
		if line := tc.series + " " + fmt.Sprint(tc.want) + "\n"; !strings.Contains(got, line) {
			t.Errorf("missing %q", line)
		}
	}
	if strings.Contains(got, `crossteam_handoff_oldest_waiting_timestamp_seconds{from_team="b",source="jira"`) {
		t.Error("a pair with nothing waiting has an oldest-waiting timestamp")
	}
}
