package engine

import (
	"reflect"
	"testing"
	"time"

	"github.com/crossteam/crossteam/model"
)

// TestJiraRules covers the Jira-specific ownership rules (statuses with
// waiting/active meaning, unmapped statuses, the team field, assignees across
// teams). Expected values are worked out by hand from the event times
// (base = Monday 2026-03-02 00:00 UTC) and the team mapping in helpers_test.go:
// design owns "Design Review" (active); backend "Ready for Dev" (waiting),
// "In Dev" (active) and component API; qa "Ready for QA" (waiting),
// "Testing" (active) and team field value QA.
func TestJiraRules(t *testing.T) {
	J := model.SourceJira
	jitem := func(key, author, status, team string) model.Item {
		return model.Item{Source: J, Key: key, Author: author, Created: at("0s"), Status: status, TeamValue: team}
	}
	cases := []struct {
		name         string
		items        []model.Item
		events       []*evb
		asOf         string
		want         []string
		wantUnmapped map[string]int
	}{
		{
			// No status marker ("Open" is nobody's); ownership follows the
			// assignee. bob (backend) is the first owner: no handoff. Then
			// quinn (qa): backend->qa at 3h, picked up by quinn's comment at 5h.
			name:  "assignee moves across teams while the status is unmapped",
			items: []model.Item{jitem("WEB-10", "alice", "Open", "")},
			events: []*evb{jira("WEB-10").
				add("1h", "alice", AS, "bob").
				add("3h", "bob", UA, "bob").add("3h", "bob", AS, "quinn").
				add("5h", "quinn", CM, "")},
			asOf:         "6h",
			want:         []string{"WEB-10 owner backend->qa start=3h pickup=5h done=-"},
			wantUnmapped: map[string]int{"Open": 1},
		},
		{
			// A member's comment picks up a handoff that waits in a waiting
			// status; moving to the next team's waiting status passes it on;
			// the active status picks it up; resolution ends it.
			name:  "waiting status picked up by a member's action, passed on, resolved",
			items: []model.Item{jitem("WEB-11", "alice", "Testing", "")},
			events: []*evb{jira("WEB-11").
				status("1h", "alice", "Design Review", "Ready for Dev").
				add("2h", "bob", CM, "").
				status("3h", "bob", "Ready for Dev", "In Dev").
				status("6h", "bob", "In Dev", "Ready for QA").
				status("8h", "quinn", "Ready for QA", "Testing").
				add("10h", "quinn", CL, "")},
			asOf: "12h",
			want: []string{
				"WEB-11 owner design->backend start=1h pickup=2h done=6h/owner_left",
				"WEB-11 owner backend->qa start=6h pickup=8h done=10h/closed",
			},
			wantUnmapped: map[string]int{},
		},
		{
			// "Blocked" maps to no team: backend loses ownership at 3h
			// (owner_unset, counted as unmapped while it sits there), and the
			// move to Ready for QA at 5h is a handoff from the last owner.
			name:  "an unmapped status in between: ownership unset, next handoff from the last owner",
			items: []model.Item{jitem("WEB-12", "alice", "Ready for QA", "")},
			events: []*evb{jira("WEB-12").
				status("1h", "alice", "Design Review", "Ready for Dev").
				status("3h", "alice", "Ready for Dev", "Blocked").
				status("5h", "alice", "Blocked", "Ready for QA")},
			asOf: "6h",
			want: []string{
				"WEB-12 owner design->backend start=1h pickup=- done=3h/owner_unset",
				"WEB-12 owner backend->qa start=5h pickup=- done=-",
			},
			wantUnmapped: map[string]int{},
		},
		{
			// The team field (newest marker) takes the item from design (its
			// status since creation) to qa; clearing it leaves the status
			// marker, so design owns it again: a bounce, picked up at once
			// because Design Review is design's active status.
			name:  "team field set then cleared: handoff and bounce back to the status owner",
			items: []model.Item{jitem("WEB-13", "alice", "Design Review", "")},
			events: []*evb{jira("WEB-13").
				field("1h", "alice", "", "QA").
				add("2h", "quinn", CM, "").
				field("4h", "bob", "QA", "")},
			asOf: "5h",
			want: []string{
				"WEB-13 owner design->qa start=1h pickup=2h done=4h/owner_left",
				"WEB-13 owner qa->design start=4h pickup=4h done=- bounce",
			},
			wantUnmapped: map[string]int{},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := compute(t, mustConfig(t, ""), dataset(tc.items, tc.events...), at(tc.asOf))
			var got []string
			for _, h := range s.Handoffs {
				got = append(got, fmtHandoff(h))
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("handoffs:\n got  %q\n want %q", got, tc.want)
			}
			if !reflect.DeepEqual(s.UnmappedStatuses, tc.wantUnmapped) {
				t.Errorf("unmapped statuses = %v, want %v", s.UnmappedStatuses, tc.wantUnmapped)
			}
		})
	}
}

// TestJiraMilestones: fix versions and epics as milestones, and merging with
// GitHub milestones of the same title.
func TestJiraMilestones(t *testing.T) {
	G, J := model.SourceGitHub, model.SourceJira
	items := []model.Item{
		item(G, "acme/web#1", "alice", "0s"),                                                       // design, in GitHub milestone 2.0
		{Source: J, Key: "WEB-1", Author: "bob", Created: at("0s")},                                // backend, fix version 2.0
		{Source: J, Key: "WEB-2", Author: "bob", Created: at("0s")},                                // backend then qa, in epic WEB-9
		{Source: J, Key: "WEB-3", Author: "quinn", Created: at("0s")},                              // qa, fix version 2.0 then removed
		{Source: J, Key: "WEB-4", Author: "quinn", Created: at("0s"), Milestones: []string{"2.0"}}, // qa, 2.0 on the record only
	}
	ds := dataset(items,
		gh("acme/web#1").add("0s", "alice", L, "team:design").add("0s", "alice", model.EventMilestoned, "2.0"),
		jira("WEB-1").add("0s", "bob", model.EventMilestoned, "2.0").status("1h", "bob", "Ready for Dev", "In Dev").add("20h", "bob", CL, ""),
		jira("WEB-2").add("0s", "bob", model.EventMilestoned, model.JiraEpicPrefix+"WEB-9").
			status("1h", "bob", "In Dev", "Ready for QA").add("2h", "quinn", CM, ""),
		jira("WEB-3").add("0s", "quinn", model.EventMilestoned, "2.0").add("1h", "quinn", model.EventDemilestoned, "2.0"),
		jira("WEB-4").add("1h", "quinn", CM, ""),
	)
	ds.Milestones = []model.Milestone{
		{Source: G, Key: "acme/web/milestones/1", Title: "2.0", Due: at("50h")},
		{Source: J, Key: model.JiraVersionPrefix + "10001", Title: "2.0", Due: at("40h")},
		{Source: J, Key: model.JiraEpicPrefix + "WEB-9", Title: "Checkout redesign", Due: at("30h"), Closed: at("25h")},
	}
	type ms struct {
		source, title string
		open, closed  int
		teams         []string
		due           time.Duration
		completed     time.Duration // 0 = open
	}
	summary := func(s *Snapshot) []ms {
		var out []ms
		for _, m := range s.Milestones {
			x := ms{source: m.Source, title: m.Title, open: m.Open, closed: m.Closed, teams: m.Teams}
			if !m.Due.IsZero() {
				x.due = m.Due.Sub(base)
			}
			if !m.Completed.IsZero() {
				x.completed = m.Completed.Sub(base)
			}
			out = append(out, x)
		}
		return out
	}
	cases := []struct {
		name  string
		extra string
		want  []ms
	}{
		// Separate sources: GitHub 2.0 has design only; Jira 2.0 has WEB-1
		// (backend) and WEB-4 (qa, from its record): joint, due 40h.
		{"fix versions by source", "", []ms{{J, "2.0", 1, 1, []string{"backend", "qa"}, 40 * time.Hour, 0}}},
		// Merged: design + backend + qa, due the earliest (40h).
		{"merged with GitHub by title", "milestones:\n  merge_sources: true\n",
			[]ms{{"all", "2.0", 2, 1, []string{"backend", "design", "qa"}, 40 * time.Hour, 0}}},
		// Fix versions off: only GitHub's design-only 2.0 remains: not joint.
		{"fix versions off", "milestones:\n  jira_fix_versions: false\n  merge_sources: true\n", nil},
		// Epics on: WEB-2 (backend, then qa acting) under the epic's summary;
		// the epic record is closed at 25h, before its due 30h.
		{"epics on", "milestones:\n  jira_epics: true\n", []ms{
			{J, "2.0", 1, 1, []string{"backend", "qa"}, 40 * time.Hour, 0},
			{J, "Checkout redesign", 1, 0, []string{"backend", "qa"}, 30 * time.Hour, 25 * time.Hour},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := compute(t, mustConfig(t, tc.extra), ds, at("26h"))
			if got := summary(s); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("milestones:\n got  %+v\n want %+v", got, tc.want)
			}
		})
	}
}
