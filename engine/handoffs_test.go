package engine

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/crossteam/crossteam/config"
	"github.com/crossteam/crossteam/model"
)

const (
	L  = model.EventLabeled
	UL = model.EventUnlabeled
	AS = model.EventAssigned
	UA = model.EventUnassigned
	CM = model.EventCommented
	CL = model.EventClosed
	RO = model.EventReopened
	RV = model.EventReviewed
)

// TestHandoffRules is one row per rule in doc.go. Expected values were
// worked out by hand from the event times (base = Monday 2026-03-02 00:00 UTC).
func TestHandoffRules(t *testing.T) {
	I := model.SourceGitHub
	cases := []struct {
		name   string
		extra  string // appended config
		items  []model.Item
		events []*evb
		asOf   string
		want   []string
	}{
		{
			name:  "label swap handoff, pickup by comment, done by close",
			items: []model.Item{item(I, "acme/web#1", "alice", "0s")},
			events: []*evb{gh("acme/web#1").
				add("0s", "alice", L, "team:design").
				add("1h", "alice", UL, "team:design").add("1h", "alice", L, "team:backend").
				add("3h", "bob", CM, "").
				add("10h", "bob", CL, "")},
			asOf: "100h",
			want: []string{"acme/web#1 owner design->backend start=1h pickup=3h done=10h/closed"},
		},
		{
			name:  "label swap listed labeled-first is the same single handoff",
			items: []model.Item{item(I, "acme/web#1", "alice", "0s")},
			events: []*evb{gh("acme/web#1").
				add("0s", "alice", L, "team:design").
				add("1h", "alice", L, "team:backend").add("1h", "alice", UL, "team:design").
				add("3h", "bob", CM, "")},
			asOf: "5h",
			want: []string{"acme/web#1 owner design->backend start=1h pickup=3h done=-"},
		},
		{
			name:  "assignee-based handoff; the assigning event by the receiver is not a pickup",
			items: []model.Item{item(I, "acme/web#2", "alice", "0s")},
			events: []*evb{gh("acme/web#2").
				add("0s", "alice", AS, "alice").
				add("2h", "bob", AS, "bob").add("2h", "bob", UA, "alice").
				add("6h", "bob", CM, "")},
			asOf: "7h",
			want: []string{"acme/web#2 owner design->backend start=2h pickup=6h done=-"},
		},
		{
			name:  "marker beats assignee: assigning a backend member to a design-labelled item is no handoff",
			items: []model.Item{item(I, "acme/web#3", "alice", "0s")},
			events: []*evb{gh("acme/web#3").
				add("0s", "alice", L, "team:design").
				add("1h", "alice", AS, "bob").
				add("2h", "alice", UL, "team:design")},
			asOf: "3h",
			// Removing the marker leaves the assignee: ownership passes to backend.
			want: []string{"acme/web#3 owner design->backend start=2h pickup=- done=-"},
		},
		{
			name:  "review request to another team's GitHub team, pickup by review comment, done by approval",
			items: []model.Item{{Source: I, Key: "acme/web#4", Kind: model.KindPullRequest, Author: "fred", Created: at("0s")}},
			events: []*evb{gh("acme/web#4").
				teamReview("1h", "fred", "acme/backend").
				add("5h", "bill", RV, "commented").
				add("8h", "bob", RV, "approved")},
			asOf: "9h",
			want: []string{"acme/web#4 review frontend->backend start=1h pickup=5h done=8h/approved"},
		},
		{
			name:  "review request to a user, second request while open is the same handoff, merge ends it",
			items: []model.Item{{Source: I, Key: "acme/web#5", Kind: model.KindPullRequest, Author: "fred", Created: at("0s")}},
			events: []*evb{gh("acme/web#5").
				add("1h", "fred", model.EventReviewRequested, "bob").
				add("2h", "fred", model.EventReviewRequested, "bill").
				add("4h", "bob", RV, "changes_requested").
				add("9h", "fred", model.EventMerged, "")},
			asOf: "10h",
			want: []string{"acme/web#5 review frontend->backend start=1h pickup=4h done=9h/closed"},
		},
		{
			name:  "review request within the author's own team is no handoff",
			items: []model.Item{{Source: I, Key: "acme/web#6", Kind: model.KindPullRequest, Author: "bob", Created: at("0s")}},
			events: []*evb{gh("acme/web#6").
				teamReview("1h", "bob", "acme/backend")},
			asOf: "2h",
			want: nil,
		},
		{
			name:  "pickup by label",
			items: []model.Item{item(I, "acme/web#7", "alice", "0s")},
			events: []*evb{gh("acme/web#7").
				add("0s", "alice", L, "team:design").
				add("1h", "alice", L, "team:backend").
				add("90m", "bill", L, "bug")},
			asOf: "2h",
			want: []string{"acme/web#7 owner design->backend start=1h pickup=1h30m done=-"},
		},
		{
			name:  "Jira: handoff into a waiting status, pickup by move to the active status (by anyone)",
			items: []model.Item{{Source: model.SourceJira, Key: "WEB-1", Author: "alice", Created: at("0s"), Status: "In Dev"}},
			events: []*evb{jira("WEB-1").
				status("1h", "alice", "Design Review", "Ready for Dev").
				status("4h", "alice", "Ready for Dev", "In Dev")},
			asOf: "5h",
			want: []string{"WEB-1 owner design->backend start=1h pickup=4h done=-"},
		},
		{
			name:  "Jira: landing directly in an active status is picked up at once; a comment while waiting also picks up",
			items: []model.Item{{Source: model.SourceJira, Key: "WEB-2", Author: "alice", Created: at("0s")}},
			events: []*evb{jira("WEB-2").
				status("1h", "alice", "Design Review", "In Dev").
				status("5h", "bob", "In Dev", "Ready for QA").
				add("7h", "quinn", CM, "")},
			asOf: "8h",
			want: []string{
				"WEB-2 owner design->backend start=1h pickup=1h done=5h/owner_left",
				"WEB-2 owner backend->qa start=5h pickup=7h done=-",
			},
		},
		{
			name:  "Jira: team field and component markers, newest marker wins",
			items: []model.Item{{Source: model.SourceJira, Key: "WEB-3", Author: "alice", Created: at("0s"), Status: "Design Review"}},
			events: []*evb{jira("WEB-3").
				add("1h", "alice", model.EventComponentAdded, "API").
				field("3h", "bob", "", "QA")},
			asOf: "4h",
			want: []string{
				"WEB-3 owner design->backend start=1h pickup=3h done=3h/owner_left",
				"WEB-3 owner backend->qa start=3h pickup=- done=-",
			},
		},
		{
			name:  "unknown actor belongs to no team: no pickup, no handoff from an unknown team",
			items: []model.Item{item(I, "acme/web#8", "stranger", "0s")},
			events: []*evb{gh("acme/web#8").
				add("0s", "stranger", L, "team:design").
				add("1h", "stranger", UL, "team:design").add("1h", "stranger", L, "team:backend").
				add("2h", "stranger", CM, "")},
			asOf: "3h",
			want: []string{"acme/web#8 owner design->backend start=1h pickup=- done=-"},
		},
		{
			name:  "item moved between three teams",
			items: []model.Item{item(I, "acme/web#9", "alice", "0s")},
			events: []*evb{gh("acme/web#9").
				add("0s", "alice", L, "team:design").
				add("1h", "alice", UL, "team:design").add("1h", "alice", L, "team:backend").
				add("2h", "bob", CM, "").
				add("6h", "bob", UL, "team:backend").add("6h", "bob", L, "team:qa").
				add("30h", "quinn", CM, "")},
			asOf: "31h",
			want: []string{
				"acme/web#9 owner design->backend start=1h pickup=2h done=6h/owner_left",
				"acme/web#9 owner backend->qa start=6h pickup=30h done=-",
			},
		},
		{
			name:  "bounce back to the sending team",
			items: []model.Item{item(I, "acme/web#10", "alice", "0s")},
			events: []*evb{gh("acme/web#10").
				add("0s", "alice", L, "team:design").
				add("1h", "alice", UL, "team:design").add("1h", "alice", L, "team:backend").
				add("3h", "bob", UL, "team:backend").add("3h", "bob", L, "team:design").
				add("4h", "alice", CM, "")},
			asOf: "5h",
			want: []string{
				"acme/web#10 owner design->backend start=1h pickup=3h done=3h/owner_left",
				"acme/web#10 owner backend->design start=3h pickup=4h done=- bounce",
			},
		},
		{
			name:  "bounce outside the window is a plain handoff",
			extra: "handoffs:\n  bounce: {window: 1h}\n",
			items: []model.Item{item(I, "acme/web#10", "alice", "0s")},
			events: []*evb{gh("acme/web#10").
				add("0s", "alice", L, "team:design").
				add("1h", "alice", UL, "team:design").add("1h", "alice", L, "team:backend").
				add("3h", "bob", UL, "team:backend").add("3h", "bob", L, "team:design")},
			asOf: "5h",
			want: []string{
				"acme/web#10 owner design->backend start=1h pickup=3h done=3h/owner_left",
				"acme/web#10 owner backend->design start=3h pickup=- done=-",
			},
		},
		{
			name:  "marker removed without replacement ends the handoff; relabelling later hands off from the last owner",
			items: []model.Item{item(I, "acme/web#11", "alice", "0s")},
			events: []*evb{gh("acme/web#11").
				add("0s", "alice", L, "team:design").
				add("1h", "alice", UL, "team:design").add("1h", "alice", L, "team:backend").
				add("2h", "bob", UL, "team:backend").
				add("50h", "alice", L, "team:qa")},
			asOf: "51h",
			want: []string{
				"acme/web#11 owner design->backend start=1h pickup=2h done=2h/owner_unset",
				"acme/web#11 owner backend->qa start=50h pickup=- done=-",
			},
		},
		{
			name:  "reopen after close: no handoff on reopen, relabel hands off from the owner at reopen",
			items: []model.Item{item(I, "acme/web#12", "alice", "0s")},
			events: []*evb{gh("acme/web#12").
				add("0s", "alice", L, "team:design").
				add("1h", "alice", UL, "team:design").add("1h", "alice", L, "team:backend").
				add("5h", "bob", CL, "").
				add("20h", "alice", RO, "").
				add("21h", "alice", UL, "team:backend").add("21h", "alice", L, "team:qa")},
			asOf: "22h",
			want: []string{
				"acme/web#12 owner design->backend start=1h pickup=5h done=5h/closed",
				"acme/web#12 owner backend->qa start=21h pickup=- done=-",
			},
		},
		{
			name:  "events after asOf are ignored",
			items: []model.Item{item(I, "acme/web#13", "alice", "0s")},
			events: []*evb{gh("acme/web#13").
				add("0s", "alice", L, "team:design").
				add("1h", "alice", UL, "team:design").add("1h", "alice", L, "team:backend").
				add("3h", "bob", CM, "")},
			asOf: "2h",
			want: []string{"acme/web#13 owner design->backend start=1h pickup=- done=-"},
		},
		{
			name: "labels on the item record without events count from creation",
			items: []model.Item{func() model.Item {
				i := item(I, "acme/web#14", "alice", "0s")
				i.Labels = []string{"Team:Design"}
				return i
			}()},
			events: []*evb{gh("acme/web#14").
				add("2h", "alice", L, "team:backend")},
			asOf: "3h",
			want: []string{"acme/web#14 owner design->backend start=2h pickup=- done=-"},
		},
		{
			name:  "author precedence when configured",
			extra: "ownership:\n  precedence: [marker, assignee, author]\n",
			items: []model.Item{item(I, "acme/web#15", "alice", "0s")},
			events: []*evb{gh("acme/web#15").
				add("2h", "alice", L, "team:backend")},
			asOf: "3h",
			want: []string{"acme/web#15 owner design->backend start=2h pickup=- done=-"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := mustConfig(t, tc.extra)
			s := compute(t, cfg, dataset(tc.items, tc.events...), at(tc.asOf))
			var got []string
			for _, h := range s.Handoffs {
				got = append(got, fmtHandoff(h))
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("handoffs:\n got  %q\n want %q", got, tc.want)
			}
		})
	}
}

// TestStalled checks the stall rule, the per-pair override, the per-item
// series and the pair gauges.
func TestStalled(t *testing.T) {
	cfg := mustConfig(t, "handoffs:\n  pairs:\n    design->backend: {stall_after: 24h}\n")
	I := model.SourceGitHub
	items := []model.Item{item(I, "acme/web#1", "alice", "0s"), item(I, "acme/web#2", "bob", "0s"), item(I, "acme/web#3", "alice", "0s")}
	ds := dataset(items,
		// design->backend, never picked up: idle 30h > 24h override -> stalled.
		gh("acme/web#1").add("0s", "alice", L, "team:design").add("2h", "alice", L, "team:backend"),
		// backend->qa, never picked up: idle 30h < 72h default -> not stalled.
		gh("acme/web#2").add("0s", "bob", L, "team:backend").add("2h", "bob", L, "team:qa"),
		// design->backend picked up at 4h, last backend activity 5h: idle 27h > 24h -> stalled, in progress.
		gh("acme/web#3").add("0s", "alice", L, "team:design").add("2h", "alice", L, "team:backend").
			add("4h", "bob", CM, "").add("5h", "bill", CM, "").add("6h", "alice", CM, ""),
	)
	s := compute(t, cfg, ds, at("32h"))
	want := []string{
		"acme/web#1 owner design->backend start=2h pickup=- done=- stalled idle=30h working=30h",
		"acme/web#2 owner backend->qa start=2h pickup=- done=-",
		"acme/web#3 owner design->backend start=2h pickup=4h done=- stalled idle=27h working=27h",
	}
	var got []string
	for _, h := range s.Handoffs {
		got = append(got, fmtHandoff(h))
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("handoffs:\n got  %q\n want %q", got, want)
	}
	db := pairOf(s, I, "design", "backend")
	if db == nil || db.Handoffs != 2 || db.Stalled != 2 || db.OpenWaiting != 1 || db.OpenInProgress != 1 || db.OldestWaiting != 30*time.Hour {
		t.Errorf("design->backend pair = %+v", db)
	}
	if db.Pickup.Count != 1 || db.Pickup.Sum != 2*3600 {
		t.Errorf("pickup histogram = %+v, want one 2h observation", db.Pickup)
	}
	bq := pairOf(s, I, "backend", "qa")
	if bq == nil || bq.Stalled != 0 || bq.OpenWaiting != 1 || bq.OldestWaiting != 30*time.Hour {
		t.Errorf("backend->qa pair = %+v", bq)
	}
	if s.StalledTotal != 2 || len(s.Stalled) != 2 || s.Stalled[0].Key != "acme/web#1" || s.Stalled[0].Idle != 30*time.Hour ||
		s.Stalled[1].Key != "acme/web#3" || s.Stalled[0].URL != "https://example.test/acme/web#1" || s.Stalled[0].To != "backend" {
		t.Errorf("stalled = %+v", s.Stalled)
	}
	// The cap keeps the longest idle.
	cfg2 := mustConfig(t, "handoffs:\n  max_stalled_exported: 1\n  pairs:\n    design->backend: {stall_after: 24h}\n")
	s2 := compute(t, cfg2, ds, at("32h"))
	if s2.StalledTotal != 2 || len(s2.Stalled) != 1 || s2.Stalled[0].Key != "acme/web#1" {
		t.Errorf("capped stalled = %d %+v", s2.StalledTotal, s2.Stalled)
	}
}

// TestWorkingTimeStall: a handoff on Friday 16:00 to a team working
// Mon-Fri 09-17 UTC with Monday 2026-03-09 a holiday, seen on Tuesday 11:00.
// Calendar idle = 91h. Working idle = Fri 16-17 (1h) + Tue 09-11 (2h) = 3h.
func TestWorkingTimeStall(t *testing.T) {
	cal := "    calendar: {timezone: UTC, working_days: [mon, tue, wed, thu, fri], working_hours: {start: \"09:00\", end: \"17:00\"}, holidays: [\"2026-03-09\"]}\n"
	I := model.SourceGitHub
	fri16 := "112h" // Friday 2026-03-06 16:00 = base + 4d16h
	ds := dataset([]model.Item{item(I, "acme/web#1", "alice", "0s")},
		gh("acme/web#1").add("0s", "alice", L, "team:design").add(fri16, "alice", L, "team:backend"))
	asOf := at("203h") // Tuesday 2026-03-10 11:00 = base + 8d11h
	for _, tc := range []struct {
		clock   string
		stalled bool
	}{{"working", false}, {"calendar", true}} {
		t.Run(tc.clock, func(t *testing.T) {
			cfg := mustConfigWithBackendCalendar(t, cal, "handoffs:\n  stall_clock: "+tc.clock+"\n")
			s := compute(t, cfg, ds, asOf)
			h := s.Handoffs[0]
			if h.Idle != 91*time.Hour || h.IdleWorking != 3*time.Hour || h.Stalled != tc.stalled {
				t.Errorf("idle=%s working=%s stalled=%v, want 91h 3h %v", h.Idle, h.IdleWorking, h.Stalled, tc.stalled)
			}
		})
	}
	// Picked up on Tuesday 10:00: pickup 90h calendar, 2h working.
	ds2 := dataset([]model.Item{item(I, "acme/web#1", "alice", "0s")},
		gh("acme/web#1").add("0s", "alice", L, "team:design").add(fri16, "alice", L, "team:backend").add("202h", "bob", CM, ""))
	s := compute(t, mustConfigWithBackendCalendar(t, cal, ""), ds2, asOf)
	p := pairOf(s, I, "design", "backend")
	if p.Pickup.Sum != 90*3600 || p.PickupWorking.Sum != 2*3600 {
		t.Errorf("pickup calendar=%v working=%v, want 90h and 2h in seconds", p.Pickup.Sum, p.PickupWorking.Sum)
	}
}

// mustConfigWithBackendCalendar gives the backend team the calendar cal
// (YAML lines indented for a team's keys).
func mustConfigWithBackendCalendar(t *testing.T, cal, extra string) *config.Config {
	t.Helper()
	c, err := config.Parse([]byte(strings.Replace(testTeams, "  backend:\n", "  backend:\n"+cal, 1) + extra))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return c
}
