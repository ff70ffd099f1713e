package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crossteam/crossteam/model"
)

func openTest(t testing.TB) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "crossteam.db")
	s, err := Open(context.Background(), path, nil)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

// at returns a millisecond-precision UTC instant: day d of January 2024,
// plus m minutes and ms milliseconds.
func at(d, m, ms int) time.Time {
	return time.Date(2024, 1, d, 0, m, 0, ms*int(time.Millisecond), time.UTC)
}

func ev(source, id, item string, t time.Time, kind model.EventKind) model.Event {
	return model.Event{Source: source, ID: id, ItemKey: item, At: t, Kind: kind}
}

func mustApply(t testing.TB, s *Store, p Page) {
	t.Helper()
	if err := s.ApplyPage(context.Background(), p); err != nil {
		t.Fatalf("ApplyPage: %v", err)
	}
}

func mustLoad(t testing.TB, s *Store) *model.Dataset {
	t.Helper()
	ds, err := s.Load(context.Background())
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return ds
}

func mustCursor(t testing.TB, s *Store, source, target, name string) (string, bool) {
	t.Helper()
	v, ok, err := s.Cursor(context.Background(), source, target, name)
	if err != nil {
		t.Fatalf("Cursor: %v", err)
	}
	return v, ok
}

func eventIDs(evs []model.Event) []string {
	ids := make([]string, len(evs))
	for i, e := range evs {
		ids[i] = e.ID
	}
	return ids
}

func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	berlin := time.FixedZone("CET", 3600)

	items := []model.Item{
		{
			Source: model.SourceGitHub, Key: "acme/web#1", Target: "acme", Kind: model.KindPullRequest,
			URL: "https://github.com/acme/web/pull/1", Title: "Fix the thing", Author: "alice",
			Created: at(1, 0, 1), Closed: at(3, 5, 999), Updated: at(3, 6, 0),
			Milestones: []string{"v1.0", "Q1 \"quoted\""}, Labels: []string{"bug", "ü-nicode"}, Signals: []string{"stale"},
			Assignees: []string{"alice", "bob"},
		},
		{
			// Zero Closed, nil lists, instants given in another zone.
			Source: model.SourceGitHub, Key: "acme/web#2", Target: "acme", Kind: model.KindIssue,
			Title: "Open issue", Author: "bob",
			Created: time.Date(2024, 1, 2, 10, 0, 0, 0, berlin), Updated: time.Date(2024, 1, 2, 11, 0, 0, 0, berlin),
		},
	}
	jiraItems := []model.Item{{
		Source: model.SourceJira, Key: "PROJ-7", Target: "jira-main", Kind: model.KindJiraIssue,
		Title: "Jira", Created: at(1, 0, 0), Labels: []string{}, Assignees: []string{"acc-1"},
		Status: "In Progress", TeamValue: "Design", Components: []string{"api", "ui"},
	}}
	events := []model.Event{
		{Source: model.SourceGitHub, ID: "1001", ItemKey: "acme/web#1", At: at(1, 0, 1), Actor: "alice", Kind: model.EventCreated},
		{Source: model.SourceGitHub, ID: "1002", ItemKey: "acme/web#1", At: at(1, 1, 0), Actor: "alice", Kind: model.EventReviewRequested, Team: "acme/design"},
		{Source: model.SourceGitHub, ID: "1003", ItemKey: "acme/web#1", At: at(2, 0, 0), Actor: "carol", Kind: model.EventLabeled, Value: "bug"},
		{Source: model.SourceGitHub, ID: "c77", ItemKey: "acme/web#2", At: time.Date(2024, 1, 2, 10, 0, 0, 0, berlin), Kind: model.EventCommented},
	}
	jiraEvents := []model.Event{
		{Source: model.SourceJira, ID: "5/0", ItemKey: "PROJ-7", At: at(1, 2, 3), Actor: "acc-1", Kind: model.EventStatusChanged, From: "To Do", To: "In Progress"},
	}
	milestones := []model.Milestone{
		{Source: model.SourceGitHub, Key: "acme/web/milestones/3", Title: "v1.0", URL: "https://github.com/acme/web/milestone/3", Due: at(31, 0, 0)},
		{Source: model.SourceGitHub, Key: "acme/web/milestones/4", Title: "v0.9", Closed: at(2, 0, 0)},
	}
	mustApply(t, s, Page{
		Source: model.SourceGitHub, Target: "acme",
		Items: items, Events: events, Milestones: milestones,
		Cursors: map[string]string{"issues_since": "2024-01-03T00:06:00Z", "page": "2"},
		ETags:   map[string]string{"https://api.github.com/repos/acme/web/issues": `W/"abc"`},
	})
	mustApply(t, s, Page{
		Source: model.SourceJira, Target: "jira-main", Items: jiraItems, Events: jiraEvents,
		Cursors: map[string]string{"updated": "2024-01-01 00:02"},
	})
	members := []model.TeamMember{
		{Team: "design", Source: model.SourceGitHub, Identity: "dora", Via: "acme/design"},
		{Team: "design", Identity: "erin"}, // Source and Via filled in
	}
	if err := s.ReplaceTeamMembers(ctx, model.SourceGitHub, "acme/design", members); err != nil {
		t.Fatal(err)
	}

	ds := mustLoad(t, s)

	// Expected values: instants in UTC, empty lists as nil.
	wantItems := []model.Item{items[0], items[1], jiraItems[0]}
	wantItems[1].Created = wantItems[1].Created.UTC()
	wantItems[1].Updated = wantItems[1].Updated.UTC()
	wantItems[2].Labels = nil
	wantEvents := append(append([]model.Event{}, events...), jiraEvents...)
	wantEvents[3].At = wantEvents[3].At.UTC()
	wantMembers := []model.TeamMember{
		{Team: "design", Source: model.SourceGitHub, Identity: "dora", Via: "acme/design"},
		{Team: "design", Source: model.SourceGitHub, Identity: "erin", Via: "acme/design"},
	}

	if len(ds.Items) != len(wantItems) {
		t.Fatalf("items: got %d, want %d", len(ds.Items), len(wantItems))
	}
	for i := range wantItems {
		if !reflect.DeepEqual(ds.Items[i], wantItems[i]) {
			t.Errorf("item %d:\n got %#v\nwant %#v", i, ds.Items[i], wantItems[i])
		}
		for _, tm := range []time.Time{ds.Items[i].Created, ds.Items[i].Closed, ds.Items[i].Updated} {
			if !tm.IsZero() && tm.Location() != time.UTC {
				t.Errorf("item %d: instant %v not in UTC", i, tm)
			}
		}
	}
	if !ds.Items[1].Closed.IsZero() {
		t.Errorf("zero Closed read back as %v", ds.Items[1].Closed)
	}
	if !reflect.DeepEqual(ds.Events, wantEvents) {
		t.Errorf("events:\n got %#v\nwant %#v", ds.Events, wantEvents)
	}
	if !reflect.DeepEqual(ds.Milestones, milestones) {
		t.Errorf("milestones:\n got %#v\nwant %#v", ds.Milestones, milestones)
	}
	if !reflect.DeepEqual(ds.Members, wantMembers) {
		t.Errorf("members:\n got %#v\nwant %#v", ds.Members, wantMembers)
	}

	for _, c := range []struct{ source, target, name, want string }{
		{"github", "acme", "issues_since", "2024-01-03T00:06:00Z"},
		{"github", "acme", "page", "2"},
		{"jira", "jira-main", "updated", "2024-01-01 00:02"},
	} {
		if v, ok := mustCursor(t, s, c.source, c.target, c.name); !ok || v != c.want {
			t.Errorf("cursor %s/%s/%s = %q, %v; want %q", c.source, c.target, c.name, v, ok, c.want)
		}
	}
	if _, ok := mustCursor(t, s, "github", "other", "page"); ok {
		t.Error("cursor of another target found")
	}
	if v, ok, err := s.ETag(ctx, "github", "acme", "https://api.github.com/repos/acme/web/issues"); err != nil || !ok || v != `W/"abc"` {
		t.Errorf("etag = %q, %v, %v", v, ok, err)
	}
	if _, ok, err := s.ETag(ctx, "github", "acme", "nope"); err != nil || ok {
		t.Errorf("missing etag: ok=%v err=%v", ok, err)
	}

	// Cursors and etags are upserted.
	mustApply(t, s, Page{Source: "github", Target: "acme",
		Cursors: map[string]string{"page": "3"}, ETags: map[string]string{"https://api.github.com/repos/acme/web/issues": `W/"def"`}})
	if v, _ := mustCursor(t, s, "github", "acme", "page"); v != "3" {
		t.Errorf("cursor after upsert = %q", v)
	}
	if v, _, _ := s.ETag(ctx, "github", "acme", "https://api.github.com/repos/acme/web/issues"); v != `W/"def"` {
		t.Errorf("etag after upsert = %q", v)
	}
}

func TestTimePrecisionAndZero(t *testing.T) {
	s, _ := openTest(t)
	tests := []struct {
		name string
		in   time.Time
		want time.Time
	}{
		{"zero", time.Time{}, time.Time{}},
		{"ms", at(5, 1, 123), at(5, 1, 123)},
		{"sub-ms truncated", at(5, 1, 123).Add(456 * time.Microsecond), at(5, 1, 123)},
		{"zone to UTC", time.Date(2024, 6, 1, 12, 0, 0, 0, time.FixedZone("X", -7*3600)), time.Date(2024, 6, 1, 19, 0, 0, 0, time.UTC)},
		{"before 1970", time.Date(1960, 3, 4, 5, 6, 7, 8e6, time.UTC), time.Date(1960, 3, 4, 5, 6, 7, 8e6, time.UTC)},
	}
	for i, tt := range tests {
		key := fmt.Sprintf("k%d", i)
		mustApply(t, s, Page{Source: "github", Items: []model.Item{{Source: "github", Key: key, Closed: tt.in}}})
	}
	ds := mustLoad(t, s)
	for i, tt := range tests {
		got := ds.Items[i].Closed
		if got != tt.want { // == also compares the location
			t.Errorf("%s: got %v (%v), want %v", tt.name, got, got.Location(), tt.want)
		}
	}
}

func TestEventDedupAndItemUpsert(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	e := model.Event{Source: "github", ID: "42", ItemKey: "a/b#1", At: at(1, 0, 0), Actor: "alice", Kind: model.EventLabeled, Value: "bug"}
	it := model.Item{Source: "github", Key: "a/b#1", Title: "first", Labels: []string{"bug"}, Milestones: []string{"v1"}}
	mustApply(t, s, Page{Source: "github", Items: []model.Item{it}, Events: []model.Event{e}})

	// Same event again, even with different content, and twice in one page.
	e2 := e
	e2.Value = "changed"
	mustApply(t, s, Page{Source: "github", Events: []model.Event{e, e2, e}})
	counts, err := s.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if counts["github"] != 1 {
		t.Errorf("count after duplicate writes = %d, want 1", counts["github"])
	}

	it2 := model.Item{Source: "github", Key: "a/b#1", Title: "second", Closed: at(2, 0, 0), Signals: []string{"x"}}
	mustApply(t, s, Page{Source: "github", Items: []model.Item{it2}})
	ds := mustLoad(t, s)
	if len(ds.Events) != 1 || ds.Events[0].Value != "bug" {
		t.Errorf("events = %#v, want the first write only", ds.Events)
	}
	if len(ds.Items) != 1 || !reflect.DeepEqual(ds.Items[0], it2) {
		t.Errorf("items = %#v, want exactly %#v", ds.Items, it2)
	}

	// Milestones are upserted too.
	m := model.Milestone{Source: "github", Key: "a/b/milestones/1", Title: "v1", Due: at(9, 0, 0)}
	mustApply(t, s, Page{Source: "github", Milestones: []model.Milestone{m}})
	m.Title, m.Due, m.Closed = "v1.0", time.Time{}, at(10, 0, 0)
	mustApply(t, s, Page{Source: "github", Milestones: []model.Milestone{m}})
	ds = mustLoad(t, s)
	if len(ds.Milestones) != 1 || !reflect.DeepEqual(ds.Milestones[0], m) {
		t.Errorf("milestones = %#v, want %#v", ds.Milestones, m)
	}
}

func TestLoadOrder(t *testing.T) {
	s, _ := openTest(t)
	// Pages arrive out of order; e3a/e3b/e3c share an instant and must come
	// back in the order they were stored.
	pages := []Page{
		{Source: "jira", Events: []model.Event{
			ev("jira", "j2", "PROJ-1", at(2, 0, 0), model.EventCommented),
			ev("jira", "j1", "PROJ-1", at(1, 0, 0), model.EventCreated),
		}},
		{Source: "github", Events: []model.Event{
			ev("github", "b2", "b/b#1", at(2, 0, 0), model.EventClosed),
			ev("github", "e3b", "a/a#2", at(3, 0, 0), model.EventLabeled),
			ev("github", "e4", "a/a#2", at(4, 0, 0), model.EventClosed),
		}},
		{Source: "github", Events: []model.Event{
			ev("github", "e3a", "a/a#2", at(3, 0, 0), model.EventUnlabeled), // same instant, stored later
			ev("github", "e1", "a/a#2", at(1, 0, 0), model.EventCreated),
			ev("github", "b1", "b/b#1", at(1, 0, 0), model.EventCreated),
			ev("github", "x1", "a/a#10", at(9, 0, 0), model.EventCreated),
		}},
		{Source: "github", Events: []model.Event{
			ev("github", "e3c", "a/a#2", at(3, 0, 0), model.EventLabeled),
			ev("github", "e2", "a/a#2", at(2, 0, 0), model.EventCommented),
			ev("github", "e3b", "a/a#2", at(3, 0, 0), model.EventLabeled), // duplicate: keeps its first position
		}},
	}
	for _, p := range pages {
		mustApply(t, s, p)
	}
	want := []string{"x1", "e1", "e2", "e3b", "e3a", "e3c", "e4", "b1", "b2", "j1", "j2"}
	got := eventIDs(mustLoad(t, s).Events)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("order:\n got %v\nwant %v", got, want)
	}
}

// TestLoadUsesIndex checks that the events query is served by the index
// without a sort step.
func TestLoadUsesIndex(t *testing.T) {
	s, _ := openTest(t)
	rows, err := s.r.Query(`EXPLAIN QUERY PLAN SELECT source, id, item_key, at, actor, kind, value, team, from_value, to_value
	FROM events ORDER BY source, item_key, at, rowid`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	p := strings.Join(plan, "; ")
	if !strings.Contains(p, "events_by_item_at") || strings.Contains(p, "TEMP B-TREE") {
		t.Errorf("query plan %q: want a scan of events_by_item_at without a temp b-tree", p)
	}
}

func TestRejectInvalidPage(t *testing.T) {
	good := func(id, item string) model.Event { return ev("github", id, item, at(1, 0, 0), model.EventCommented) }
	tests := []struct {
		name    string
		page    Page
		wantErr []string // substrings of the error
	}{
		{"missing source", Page{Source: "github", Events: []model.Event{good("n1", "a#1"), {ID: "bad1", ItemKey: "a#1", At: at(1, 0, 0), Kind: "commented"}}},
			[]string{"event 1", `"bad1"`, "Source"}},
		{"missing id", Page{Source: "github", Events: []model.Event{good("n1", "a#1"), good("n2", "a#1"), good("", "a#9")}},
			[]string{"event 2", "missing ID", `"a#9"`}},
		{"missing item key", Page{Source: "github", Events: []model.Event{good("n1", "a#1"), good("bad3", "")}},
			[]string{"event 1", `"bad3"`, "ItemKey"}},
		{"zero at", Page{Source: "github", Events: []model.Event{good("n1", "a#1"), {Source: "github", ID: "bad4", ItemKey: "a#1", Kind: "commented"}}},
			[]string{"event 1", `"bad4"`, "zero At"}},
		{"missing kind", Page{Source: "github", Events: []model.Event{{Source: "github", ID: "bad5", ItemKey: "a#1", At: at(1, 0, 0)}}},
			[]string{"event 0", `"bad5"`, "Kind"}},
		{"other source", Page{Source: "github", Events: []model.Event{good("n1", "a#1"), ev("jira", "bad6", "P-1", at(1, 0, 0), "created")}},
			[]string{"event 1", `"bad6"`, "jira"}},
		{"item without key", Page{Source: "github", Items: []model.Item{{Source: "github", Key: "a#1"}, {Source: "github"}}},
			[]string{"item 1", "Key"}},
		{"milestone without key", Page{Source: "github", Milestones: []model.Milestone{{Source: "github", Title: "v2"}}},
			[]string{"milestone 0", "v2"}},
		{"page without source", Page{Events: []model.Event{good("n1", "a#1")}}, []string{"Source"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := openTest(t)
			mustApply(t, s, Page{Source: "github", Target: "acme",
				Items:   []model.Item{{Source: "github", Key: "a#1", Title: "before"}},
				Events:  []model.Event{good("old", "a#1")},
				Cursors: map[string]string{"since": "v1"}, ETags: map[string]string{"u": "e1"}})
			before := mustLoad(t, s)

			p := tt.page
			p.Target = "acme"
			p.Items = append(p.Items, model.Item{Source: "github", Key: "a#1", Title: "after"})
			p.Cursors = map[string]string{"since": "v2"}
			p.ETags = map[string]string{"u": "e2"}
			err := s.ApplyPage(context.Background(), p)
			if err == nil {
				t.Fatal("ApplyPage accepted an invalid page")
			}
			if !errors.Is(err, ErrInvalidPage) {
				t.Errorf("error %v does not wrap ErrInvalidPage", err)
			}
			for _, sub := range append(tt.wantErr, "store: apply page") {
				if !strings.Contains(err.Error(), sub) {
					t.Errorf("error %q does not mention %q", err, sub)
				}
			}
			if after := mustLoad(t, s); !reflect.DeepEqual(before, after) {
				t.Errorf("data changed by a rejected page:\nbefore %#v\nafter  %#v", before, after)
			}
			if v, _ := mustCursor(t, s, "github", "acme", "since"); v != "v1" {
				t.Errorf("cursor moved to %q", v)
			}
			if v, _, _ := s.ETag(context.Background(), "github", "acme", "u"); v != "e1" {
				t.Errorf("etag changed to %q", v)
			}
		})
	}
}

// TestAtomicity forces failures in the middle of a page's transaction, after
// some of its rows were written, and checks that nothing of it stays.
func TestAtomicity(t *testing.T) {
	errBoom := errors.New("boom")
	tests := []struct {
		name    string
		mutate  func(p *Page)                                               // breaks the page past validation
		hook    func(cancel context.CancelFunc) func(context.Context) error // runs after the events
		wantErr func(error) bool
	}{
		{
			name: "CHECK violation on a later event",
			mutate: func(p *Page) {
				p.Events[len(p.Events)-1].ItemKey = ""
			},
			// The error names the event.
			wantErr: func(err error) bool {
				return strings.Contains(err.Error(), "insert event 49 (id new49)") && strings.Contains(err.Error(), "CHECK constraint")
			},
		},
		{
			name: "NOT NULL violation on a later event",
			mutate: func(p *Page) {
				p.Events[len(p.Events)-1].At = time.Time{}
			},
			wantErr: func(err error) bool {
				return strings.Contains(err.Error(), "insert event 49 (id new49)") && strings.Contains(err.Error(), "NOT NULL")
			},
		},
		{
			name: "failure before the cursors",
			hook: func(context.CancelFunc) func(context.Context) error {
				return func(context.Context) error { return errBoom }
			},
			wantErr: func(err error) bool { return errors.Is(err, errBoom) },
		},
		{
			name: "context cancelled mid-page",
			hook: func(cancel context.CancelFunc) func(context.Context) error {
				return func(context.Context) error { cancel(); return nil }
			},
			wantErr: func(err error) bool {
				return errors.Is(err, context.Canceled) || strings.Contains(err.Error(), "interrupt")
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := openTest(t)
			mustApply(t, s, Page{Source: "github", Target: "acme",
				Items:   []model.Item{{Source: "github", Key: "a#1", Title: "before"}},
				Events:  []model.Event{ev("github", "old", "a#1", at(1, 0, 0), model.EventCreated)},
				Cursors: map[string]string{"since": "v1"}})
			before := mustLoad(t, s)

			p := Page{Source: "github", Target: "acme",
				Items:   []model.Item{{Source: "github", Key: "a#1", Title: "after"}, {Source: "github", Key: "a#2"}},
				Cursors: map[string]string{"since": "v2"}, ETags: map[string]string{"u": "e2"}}
			for i := range 50 {
				p.Events = append(p.Events, ev("github", fmt.Sprint("new", i), "a#2", at(2, i, 0), model.EventCommented))
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var err error
			if tt.mutate != nil {
				tt.mutate(&p)
				err = s.writePage(ctx, &p) // bypass validation: the schema must refuse it
			}
			if tt.hook != nil {
				s.testHookAfterEvents = tt.hook(cancel)
				err = s.ApplyPage(ctx, p)
				s.testHookAfterEvents = nil
			}
			if err == nil || !tt.wantErr(err) {
				t.Fatalf("error = %v", err)
			}
			t.Logf("error: %v", err)

			if v, _ := mustCursor(t, s, "github", "acme", "since"); v != "v1" {
				t.Errorf("cursor moved to %q", v)
			}
			if _, ok, _ := s.ETag(context.Background(), "github", "acme", "u"); ok {
				t.Error("etag of the failed page stored")
			}
			if after := mustLoad(t, s); !reflect.DeepEqual(before, after) {
				t.Errorf("failed page left data:\nbefore %#v\nafter  %#v", before, after)
			}
			// The store is still usable afterwards.
			mustApply(t, s, Page{Source: "github", Target: "acme", Cursors: map[string]string{"since": "v3"}})
			if v, _ := mustCursor(t, s, "github", "acme", "since"); v != "v3" {
				t.Errorf("cursor after recovery = %q", v)
			}
		})
	}
}

func TestReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "crossteam.db")
	s, err := Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	mustApply(t, s, Page{Source: "github", Target: "acme",
		Items:      []model.Item{{Source: "github", Key: "a#1", Created: at(1, 0, 0), Labels: []string{"x"}}},
		Events:     []model.Event{ev("github", "1", "a#1", at(1, 0, 0), model.EventCreated)},
		Milestones: []model.Milestone{{Source: "github", Key: "m/1", Title: "v1"}},
		Cursors:    map[string]string{"since": "c1"}, ETags: map[string]string{"u": "e"}})
	if err := s.ReplaceTeamMembers(ctx, "github", "acme/x", []model.TeamMember{{Team: "x", Identity: "me"}}); err != nil {
		t.Fatal(err)
	}
	before := mustLoad(t, s)
	appliedBefore := appliedMigrations(t, s)
	if len(appliedBefore) != len(migrations) {
		t.Fatalf("applied migrations %v, want %d", appliedBefore, len(migrations))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := fi.Mode().Perm(); mode != 0o600 {
		t.Errorf("file mode %v, want 0600", mode)
	}

	time.Sleep(2 * time.Millisecond) // a re-applied migration would get a later applied_at
	s, err = Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if after := mustLoad(t, s); !reflect.DeepEqual(before, after) {
		t.Errorf("reopened data differs:\nbefore %#v\nafter  %#v", before, after)
	}
	if v, ok := mustCursor(t, s, "github", "acme", "since"); !ok || v != "c1" {
		t.Errorf("cursor after reopen = %q, %v", v, ok)
	}
	if after := appliedMigrations(t, s); !reflect.DeepEqual(after, appliedBefore) {
		t.Errorf("schema_migrations after reopen %v, want unchanged %v", after, appliedBefore)
	}
	if v, err := s.SchemaVersion(ctx); err != nil || v != len(migrations) {
		t.Errorf("SchemaVersion = %d, %v", v, err)
	}
	var mode string
	if err := s.r.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		if fi, err := os.Stat(path + suffix); err == nil && fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, want 0600", suffix, fi.Mode().Perm())
		}
	}
}

// appliedMigrations returns "version@applied_at" for every row of
// schema_migrations.
func appliedMigrations(t *testing.T, s *Store) []string {
	t.Helper()
	rows, err := s.r.Query(`SELECT version, applied_at FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v, at int64
		if err := rows.Scan(&v, &at); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%d@%d", v, at))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	for _, path := range []string{
		filepath.Join(dir, "missing", "crossteam.db"),
		"",
		":memory:",
		filepath.Join(dir, "x.db?mode=ro"),
	} {
		if s, err := Open(ctx, path, nil); err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded", path)
		} else if !strings.HasPrefix(err.Error(), "store: open") {
			t.Errorf("Open(%q) error %q lacks context", path, err)
		}
	}
	// A file that is not a database.
	bad := filepath.Join(dir, "bad.db")
	if err := os.WriteFile(bad, []byte(strings.Repeat("not a database ", 100)), 0o600); err != nil {
		t.Fatal(err)
	}
	if s, err := Open(ctx, bad, nil); err == nil {
		s.Close()
		t.Error("Open of a non-database succeeded")
	}
}

func TestReplaceTeamMembers(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	set := func(source, via string, team string, ids ...string) {
		t.Helper()
		var ms []model.TeamMember
		for _, id := range ids {
			ms = append(ms, model.TeamMember{Team: team, Source: source, Identity: id, Via: via})
		}
		if err := s.ReplaceTeamMembers(ctx, source, via, ms); err != nil {
			t.Fatal(err)
		}
	}
	members := func() []string {
		var out []string
		for _, m := range mustLoad(t, s).Members {
			out = append(out, m.Team+":"+m.Source+":"+m.Via+":"+m.Identity)
		}
		return out
	}
	set("github", "acme/design", "design", "ann", "bob")
	set("github", "acme/web", "web", "bob", "cy")
	set("jira", "acme/design", "design", "acc-1")

	tests := []struct {
		name string
		do   func() error
		want []string
	}{
		{"initial", func() error { return nil }, []string{
			"design:github:acme/design:ann", "design:github:acme/design:bob", "design:jira:acme/design:acc-1",
			"web:github:acme/web:bob", "web:github:acme/web:cy"}},
		{"replace one group", func() error {
			return s.ReplaceTeamMembers(ctx, "github", "acme/design", []model.TeamMember{
				{Team: "design", Identity: "dan"}, {Team: "design", Identity: "dan"}, {Team: "ux", Identity: "dan"}})
		}, []string{
			"design:github:acme/design:dan", "design:jira:acme/design:acc-1",
			"ux:github:acme/design:dan", "web:github:acme/web:bob", "web:github:acme/web:cy"}},
		{"empty group", func() error { return s.ReplaceTeamMembers(ctx, "github", "acme/web", nil) }, []string{
			"design:github:acme/design:dan", "design:jira:acme/design:acc-1", "ux:github:acme/design:dan"}},
		{"invalid member leaves everything", func() error {
			err := s.ReplaceTeamMembers(ctx, "github", "acme/design", []model.TeamMember{
				{Team: "design", Identity: "eve"}, {Team: "design", Identity: "x", Via: "acme/other"}})
			if !errors.Is(err, ErrInvalidMembers) {
				return fmt.Errorf("want ErrInvalidMembers, got %v", err)
			}
			return nil
		}, []string{
			"design:github:acme/design:dan", "design:jira:acme/design:acc-1", "ux:github:acme/design:dan"}},
	}
	for _, tt := range tests {
		if err := tt.do(); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got := members(); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s:\n got %v\nwant %v", tt.name, got, tt.want)
		}
	}
}

func TestCounts(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	counts, err := s.Counts(ctx)
	if err != nil || len(counts) != 0 {
		t.Fatalf("empty store counts = %v, %v", counts, err)
	}
	var gh, jira []model.Event
	for i := range 7 {
		gh = append(gh, ev("github", fmt.Sprint(i), "a#1", at(1, i, 0), model.EventCommented))
	}
	for i := range 3 {
		jira = append(jira, ev("jira", fmt.Sprint(i), "P-1", at(1, i, 0), model.EventCommented))
	}
	mustApply(t, s, Page{Source: "github", Events: gh})
	mustApply(t, s, Page{Source: "github", Events: gh[:2]}) // duplicates
	mustApply(t, s, Page{Source: "jira", Events: jira})
	counts, err = s.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]int64{"github": 7, "jira": 3}; !reflect.DeepEqual(counts, want) {
		t.Errorf("counts = %v, want %v", counts, want)
	}
}

func TestReadableViews(t *testing.T) {
	s, _ := openTest(t)
	mustApply(t, s, Page{Source: "github",
		Items:  []model.Item{{Source: "github", Key: "a#1", Created: time.Date(2024, 2, 3, 4, 5, 6, 7e6, time.UTC)}},
		Events: []model.Event{ev("github", "1", "a#1", time.Date(2024, 2, 3, 4, 5, 6, 789e6, time.UTC), model.EventCreated)}})
	var created string
	var closed *string
	if err := s.r.QueryRow(`SELECT created, closed FROM items_readable`).Scan(&created, &closed); err != nil {
		t.Fatal(err)
	}
	if created != "2024-02-03T04:05:06.007Z" || closed != nil {
		t.Errorf("items_readable created=%q closed=%v", created, closed)
	}
	var evAt string
	if err := s.r.QueryRow(`SELECT at FROM events_readable`).Scan(&evAt); err != nil {
		t.Fatal(err)
	}
	if evAt != "2024-02-03T04:05:06.789Z" {
		t.Errorf("events_readable at=%q", evAt)
	}
	if _, err := s.r.Exec(`SELECT * FROM milestones_readable`); err != nil {
		t.Error(err)
	}
}

// TestConcurrent writes and reads from several goroutines at once (run with
// -race to check the store's own state).
func TestConcurrent(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	const writers, pages, perPage = 4, 10, 20
	var wg sync.WaitGroup
	errc := make(chan error, 64)
	for w := range writers {
		wg.Go(func() {
			for p := range pages {
				var evs []model.Event
				for i := range perPage {
					evs = append(evs, ev("github", fmt.Sprintf("w%d-p%d-%d", w, p, i), fmt.Sprintf("r#%d", i), at(1, p, i), model.EventCommented))
				}
				err := s.ApplyPage(ctx, Page{Source: "github", Target: fmt.Sprint("t", w), Events: evs,
					Cursors: map[string]string{"page": fmt.Sprint(p)}})
				if err != nil {
					errc <- err
					return
				}
			}
		})
	}
	for range 2 {
		wg.Go(func() {
			for range 10 {
				ds, err := s.Load(ctx)
				if err != nil {
					errc <- err
					return
				}
				if len(ds.Events)%perPage != 0 {
					errc <- fmt.Errorf("Load saw a partial page: %d events", len(ds.Events))
					return
				}
				if _, err := s.Counts(ctx); err != nil {
					errc <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	counts, err := s.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if counts["github"] != writers*pages*perPage {
		t.Errorf("count = %d, want %d", counts["github"], writers*pages*perPage)
	}
}

// fill stores n synthetic events spread over items, in pages of pageSize
// whose events hit random items (as an incremental sync does), so that the
// insertion order differs from Load's order.
func fill(tb testing.TB, s *Store, n, pageSize int) {
	tb.Helper()
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	nItems := max(n/50, 1)
	kinds := []model.EventKind{model.EventCommented, model.EventLabeled, model.EventAssigned, model.EventReviewed, model.EventCommitted}
	labels := []string{"bug", "feature", "p1", "p2", "needs-review", "team/design", "team/web"}
	seq := 0
	for seq < n {
		p := Page{Source: "github", Target: "acme", Cursors: map[string]string{"since": fmt.Sprint(seq)}}
		for range min(pageSize, n-seq) {
			item := rng.IntN(nItems)
			p.Events = append(p.Events, model.Event{
				Source: "github", ID: fmt.Sprint(1_000_000_000 + seq), ItemKey: fmt.Sprintf("acme/repo%d#%d", item%20, item),
				At:    time.UnixMilli(1_700_000_000_000 + int64(rng.IntN(1e9))).UTC(),
				Actor: fmt.Sprintf("user%d", rng.IntN(200)), Kind: kinds[rng.IntN(len(kinds))], Value: labels[rng.IntN(len(labels))],
			})
			seq++
		}
		if err := s.writePage(ctx, &p); err != nil {
			tb.Fatal(err)
		}
	}
}

func BenchmarkApplyPage(b *testing.B) {
	s, _ := openTest(b)
	// A sync's context can end, as here: the driver watches such a
	// context per statement unless the store stops it.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const perPage = 100
	pages := 0
	for b.Loop() {
		p := Page{Source: "github", Target: "acme", Cursors: map[string]string{"since": fmt.Sprint(pages)},
			ETags: map[string]string{"https://api.github.com/repos/acme/web/issues/events": fmt.Sprint(pages)}}
		for i := range perPage {
			p.Events = append(p.Events, model.Event{Source: "github", ID: fmt.Sprint(pages*perPage + i),
				ItemKey: fmt.Sprintf("acme/web#%d", i%10), At: at(1, i, pages%1000), Actor: "alice", Kind: model.EventCommented})
		}
		if err := s.ApplyPage(ctx, p); err != nil {
			b.Fatal(err)
		}
		pages++
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(pages*perPage), "ns/event")
}

func benchmarkLoad(b *testing.B, n int) {
	s, _ := openTest(b)
	fill(b, s, n, 10_000)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		ds, err := s.Load(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if len(ds.Events) != n {
			b.Fatalf("loaded %d events, want %d", len(ds.Events), n)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/event")
}

func BenchmarkLoad(b *testing.B) { benchmarkLoad(b, 200_000) }

// BenchmarkLoad1M loads a million events; it takes about a minute to set up,
// so it runs only with CROSSTEAM_STORE_BENCH_1M=1:
//
//	CROSSTEAM_STORE_BENCH_1M=1 go test ./store -run '^$' -bench Load1M -benchtime=1x
func BenchmarkLoad1M(b *testing.B) {
	if os.Getenv("CROSSTEAM_STORE_BENCH_1M") == "" {
		b.Skip("set CROSSTEAM_STORE_BENCH_1M=1 to run")
	}
	benchmarkLoad(b, 1_000_000)
}

// TestMigrateFromV1 opens a database at schema version 1 (before the item
// columns of migration 2) and checks that Open upgrades it and keeps its data.
// openMigrated opens path with every migration (a migration test
// restores the list first) and checks the store reached the newest schema.
func openMigrated(t *testing.T, ctx context.Context, path string) *Store {
	t.Helper()
	s, err := Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if v, err := s.SchemaVersion(ctx); err != nil || v != len(migrations) {
		t.Fatalf("SchemaVersion = %d, %v; want %d", v, err, len(migrations))
	}
	return s
}

func TestMigrateFromV1(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	all := migrations
	migrations = all[:1]
	s, err := Open(ctx, path, nil)
	if err != nil {
		migrations = all
		t.Fatal(err)
	}
	_, err = s.w.Exec(`INSERT INTO items (source, key, title, labels) VALUES ('github', 'a#1', 'old', '["bug"]')`)
	s.Close()
	migrations = all
	if err != nil {
		t.Fatal(err)
	}

	s = openMigrated(t, ctx, path)
	ds := mustLoad(t, s)
	want := []model.Item{{Source: "github", Key: "a#1", Title: "old", Labels: []string{"bug"}}}
	if !reflect.DeepEqual(ds.Items, want) {
		t.Errorf("items after upgrade = %#v", ds.Items)
	}
	mustApply(t, s, Page{Source: "github", Items: []model.Item{{Source: "github", Key: "a#1", Status: "Done", Components: []string{"c"}}}})
	var status, components string
	if err := s.r.QueryRow(`SELECT status, components FROM items_readable`).Scan(&status, &components); err != nil {
		t.Fatal(err)
	}
	if status != "Done" || components != `["c"]` {
		t.Errorf("items_readable status=%q components=%q", status, components)
	}
}

// TestIdentities: identity facts are upserted by (source, account, kind)
// in the page's transaction, read back ordered, and a store written at
// schema version 2 (before the identities table) opens, migrates and keeps
// its events.
func TestIdentities(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "v2.db")
	all := migrations
	migrations = all[:2]
	s, err := Open(ctx, path, nil)
	if err != nil {
		migrations = all
		t.Fatal(err)
	}
	old := model.Event{Source: model.SourceJira, ID: "1/0", ItemKey: "P-1", At: at(1, 0, 0), Actor: "dora@example.com", Kind: model.EventCommented}
	// Written as version 2 wrote it (today's ApplyPage also maintains
	// tables version 2 did not have).
	_, err = s.w.Exec(`INSERT INTO events (source, id, item_key, at, actor, kind) VALUES (?, ?, ?, ?, ?, ?)`,
		old.Source, old.ID, old.ItemKey, old.At.UnixMilli(), old.Actor, string(old.Kind))
	s.Close()
	migrations = all
	if err != nil {
		t.Fatal(err)
	}

	s, err = Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	mustApply(t, s, Page{Source: model.SourceJira, Target: "j", Identities: []model.Identity{
		{Source: model.SourceJira, Account: "acc-dora", Kind: model.IdentityEmail, Value: "dora@old.example"},
		{Source: model.SourceJira, Account: "acc-bob", Kind: model.IdentityKey, Value: "JIRAUSER10001"},
	}})
	// The email changed upstream: the later write wins.
	mustApply(t, s, Page{Source: model.SourceJira, Target: "j", Identities: []model.Identity{
		{Source: model.SourceJira, Account: "acc-dora", Kind: model.IdentityEmail, Value: "dora@example.com"},
	}})
	ds := mustLoad(t, s)
	want := []model.Identity{
		{Source: model.SourceJira, Account: "acc-bob", Kind: model.IdentityKey, Value: "JIRAUSER10001"},
		{Source: model.SourceJira, Account: "acc-dora", Kind: model.IdentityEmail, Value: "dora@example.com"},
	}
	if !reflect.DeepEqual(ds.Identities, want) {
		t.Errorf("identities = %+v, want %+v", ds.Identities, want)
	}
	if len(ds.Events) != 1 || ds.Events[0].Actor != old.Actor {
		t.Errorf("events after migration = %+v, want the one stored before", ds.Events)
	}
	err = s.ApplyPage(ctx, Page{Source: model.SourceJira, Identities: []model.Identity{{Source: model.SourceJira, Account: "acc-x", Kind: model.IdentityEmail}}})
	if !errors.Is(err, ErrInvalidPage) || !strings.Contains(err.Error(), `identity 0 (account "acc-x")`) {
		t.Errorf("identity without value: err = %v, want ErrInvalidPage naming it", err)
	}
}

// TestOpenRefusesCorruptStore: two overwritten pages in the middle of a
// store (the probe that froze the boards) make Open refuse the file with
// its name and what to do, and leave the file as it was.
func TestOpenRefusesCorruptStore(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		fill byte
	}{{"zeroed pages", 0x00}, {"garbage pages", 0xA5}} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "crossteam.db")
			s, err := Open(ctx, path, nil)
			if err != nil {
				t.Fatal(err)
			}
			for p := 0; p < 20; p++ {
				var events []model.Event
				for i := 0; i < 100; i++ {
					events = append(events, ev("github", fmt.Sprintf("%d-%d", p, i), fmt.Sprintf("acme/web#%d", i), at(1, p, i%60), model.EventCommented))
				}
				mustApply(t, s, Page{Source: "github", Target: "acme", Events: events})
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			const pageSize = 4096
			if len(b) < 20*pageSize {
				t.Fatalf("store is only %d bytes", len(b))
			}
			mid := len(b) / pageSize / 2
			for i := mid * pageSize; i < (mid+2)*pageSize; i++ {
				b[i] = tc.fill
			}
			if err := os.WriteFile(path, b, 0o600); err != nil {
				t.Fatal(err)
			}
			s, err = Open(ctx, path, nil)
			if err == nil {
				s.Close()
				t.Fatal("Open accepted a corrupt store")
			}
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("error %v does not wrap ErrCorrupt", err)
			}
			for _, want := range []string{path, "restore the file from a backup", "resync everything", "RUNBOOK.md"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
			after, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(after, b) {
				t.Error("Open changed the corrupt file")
			}
		})
	}
}

// BenchmarkOpen measures Open of an existing store of 200,000 events,
// most of which is PRAGMA quick_check reading the whole file:
//
//	go test ./store -run '^$' -bench Open -benchtime 3x
func BenchmarkOpen(b *testing.B) {
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "crossteam.db")
	s, err := Open(ctx, path, nil)
	if err != nil {
		b.Fatal(err)
	}
	for p := 0; p < 200; p++ {
		events := make([]model.Event, 0, 1000)
		for i := 0; i < 1000; i++ {
			events = append(events, ev("github", fmt.Sprintf("%d-%d", p, i), fmt.Sprintf("acme/web#%d", (p*1000+i)%5000), at(1, p%60, i%60), model.EventCommented))
		}
		mustApply(b, s, Page{Source: "github", Target: "acme", Events: events})
	}
	s.Close()
	fi, _ := os.Stat(path)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s, err := Open(ctx, path, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		s.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(fi.Size())/(1<<20), "MiB")
}
