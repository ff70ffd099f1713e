package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/crossteam/crossteam/model"
)

// streamed is one item as Reader.Items gave it (copied).
type streamed struct {
	Source, Key string
	Item        *model.Item
	Events      []model.Event
}

func readAll(t *testing.T, s *Store, since int64) ([]streamed, int64) {
	t.Helper()
	ctx := context.Background()
	r, err := s.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out []streamed
	err = r.Items(ctx, since, func(source, key string, it *model.Item, evs []model.Event) error {
		x := streamed{Source: source, Key: key, Events: append([]model.Event(nil), evs...)}
		if it != nil {
			c := *it
			x.Item = &c
		}
		out = append(out, x)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out, r.Seq()
}

// fromLoad groups a Load the way Reader.Items streams it: every item with
// a record or events, in (source, key) order, events without ids.
func fromLoad(ds *model.Dataset) []streamed {
	m := map[[2]string]*streamed{}
	var keys [][2]string
	get := func(source, key string) *streamed {
		k := [2]string{source, key}
		if m[k] == nil {
			m[k] = &streamed{Source: source, Key: key}
			keys = append(keys, k)
		}
		return m[k]
	}
	for i := range ds.Items {
		c := ds.Items[i]
		get(c.Source, c.Key).Item = &c
	}
	for _, e := range ds.Events {
		x := get(e.Source, e.ItemKey)
		e.ID = ""
		x.Events = append(x.Events, e)
	}
	sort.Slice(keys, func(i, j int) bool { return less(keys[i][0], keys[i][1], keys[j][0], keys[j][1]) })
	out := make([]streamed, 0, len(keys))
	for _, k := range keys {
		out = append(out, *m[k])
	}
	return out
}

func keysOf(l []streamed) []string {
	var out []string
	for _, x := range l {
		out = append(out, x.Source+"/"+x.Key)
	}
	return out
}

// TestReaderItems: the stream of every item equals Load grouped by item
// (items with no events, events with no item record, ties on instants in
// insertion order, two sources), and a read since a sequence returns
// exactly the items whose record changed or that got a new event: not the
// items re-sent unchanged, nor those whose events were all duplicates.
func TestReaderItems(t *testing.T) {
	s, _ := openTest(t)
	rng := rand.New(rand.NewPCG(3, 4))
	id := 0
	item := func(source string, n int, title string) model.Item {
		return model.Item{Source: source, Key: fmt.Sprintf("acme/web#%d", n), Kind: model.KindIssue, Title: title,
			Created: at(1, 0, 0), Labels: []string{"l" + title}}
	}
	var lastSeq int64
	for round := range 5 {
		for page := range 4 {
			p := Page{Source: []string{model.SourceGitHub, model.SourceJira}[page%2], Target: "t"}
			for range 6 {
				n := rng.IntN(15)
				e := ev(p.Source, fmt.Sprint(id), fmt.Sprintf("acme/web#%d", n), at(1, rng.IntN(3), 0), model.EventCommented)
				p.Events = append(p.Events, e)
				id++
			}
			if id > 10 {
				// A duplicate of an old event: stored already, changes nothing.
				p.Events = append(p.Events, ev(p.Source, fmt.Sprint(rng.IntN(10)), "acme/web#99", at(5, 0, 0), model.EventClosed))
			}
			n := 20 + rng.IntN(4) // items 20..23: records, some never with events
			title := fmt.Sprint(rng.IntN(2))
			p.Items = append(p.Items, item(p.Source, n, title))
			mustApply(t, s, p)
		}
		got, seq := readAll(t, s, 0)
		want := fromLoad(mustLoad(t, s))
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("round %d: stream of every item differs from Load:\n got %v\nwant %v", round, keysOf(got), keysOf(want))
		}
		// Events arrive out of order: some rows are stale, packed on the
		// fly until Repack rewrites them.
		var stale int
		if err := s.r.QueryRow(`SELECT count(*) FROM stale_events`).Scan(&stale); err != nil {
			t.Fatal(err)
		}
		if stale == 0 {
			t.Errorf("round %d: no stale packed rows; the test misses the on-the-fly path", round)
		}
		n, err := s.Repack(context.Background())
		if err != nil || n != stale {
			t.Fatalf("Repack = %d, %v; want %d", n, err, stale)
		}
		if again, _ := readAll(t, s, 0); !reflect.DeepEqual(again, want) {
			t.Fatalf("round %d: after Repack the stream differs from Load", round)
		}
		if n, err := s.Repack(context.Background()); err != nil || n != 0 {
			t.Errorf("second Repack = %d, %v; want nothing to do", n, err)
		}
		if seq <= lastSeq {
			t.Fatalf("round %d: sequence %d not after %d", round, seq, lastSeq)
		}
		lastSeq = seq
	}

	// Changes after a read: one new event on item 3, item 21's record
	// changed, item 22 re-sent unchanged, a duplicate event on item 99.
	_, seq := readAll(t, s, 0)
	before := mustLoad(t, s)
	var rec22 model.Item
	for _, it := range before.Items {
		if it.Source == model.SourceGitHub && it.Key == "acme/web#22" {
			rec22 = it
		}
	}
	if rec22.Key == "" {
		rec22 = item(model.SourceGitHub, 22, "x")
		mustApply(t, s, Page{Source: model.SourceGitHub, Items: []model.Item{rec22}})
		_, seq = readAll(t, s, 0)
	}
	mustApply(t, s, Page{Source: model.SourceGitHub, Target: "t",
		Events: []model.Event{ev(model.SourceGitHub, "new-1", "acme/web#3", at(6, 0, 0), model.EventCommented),
			ev(model.SourceGitHub, "0", "acme/web#99", at(7, 0, 0), model.EventClosed)},
		Items: []model.Item{item(model.SourceGitHub, 21, "changed"), rec22}})
	got, seq2 := readAll(t, s, seq)
	if want := []string{"github/acme/web#21", "github/acme/web#3"}; !reflect.DeepEqual(keysOf(got), want) {
		t.Fatalf("changed since %d: %v, want %v", seq, keysOf(got), want)
	}
	all := fromLoad(mustLoad(t, s))
	for _, g := range got {
		for _, w := range all {
			if w.Source == g.Source && w.Key == g.Key && !reflect.DeepEqual(g, w) {
				t.Errorf("changed item %s differs from Load:\n got %+v\nwant %+v", g.Key, g, w)
			}
		}
	}
	if got, _ := readAll(t, s, seq2); len(got) != 0 {
		t.Errorf("nothing changed since %d, got %v", seq2, keysOf(got))
	}
}

// TestReaderStopsOnError: an ItemFunc error ends the walk and comes back
// unwrapped.
func TestReaderStopsOnError(t *testing.T) {
	s, _ := openTest(t)
	mustApply(t, s, Page{Source: model.SourceGitHub, Events: []model.Event{
		ev(model.SourceGitHub, "1", "a#1", at(1, 0, 0), model.EventCommented),
		ev(model.SourceGitHub, "2", "a#2", at(1, 0, 0), model.EventCommented)}})
	ctx := context.Background()
	r, err := s.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	stop := errors.New("stop")
	calls := 0
	err = r.Items(ctx, 0, func(string, string, *model.Item, []model.Event) error { calls++; return stop })
	if err != stop || calls != 1 {
		t.Errorf("Items = %v after %d calls, want stop after 1", err, calls)
	}
}

// TestMigrateChangeSequence opens a store written by schema version 3
// (the version before item_changes; written with version 3's statements)
// and checks nothing is lost: Load returns what was there, every item
// and every item with events is in the first full stream, and the change
// sequence then follows new pages only.
func TestMigrateChangeSequence(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "v3.db")
	all := migrations
	migrations = all[:3]
	s, err := Open(ctx, path, nil)
	if err != nil {
		migrations = all
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO items (source, key, kind, title, created_at, labels) VALUES ('github', 'a#1', 'issue', 'one', 1000, '["x"]')`,
		`INSERT INTO items (source, key, kind, title, created_at) VALUES ('jira', 'P-1', 'issue', 'no events', 2000)`,
		`INSERT INTO events (source, id, item_key, at, actor, kind) VALUES ('github', 'e1', 'a#1', 3000, 'ann', 'commented')`,
		`INSERT INTO events (source, id, item_key, at, actor, kind) VALUES ('github', 'e2', 'a#1', 3000, 'bob', 'commented')`,
		`INSERT INTO events (source, id, item_key, at, actor, kind, value) VALUES ('github', 'e3', 'a#2', 4000, 'ann', 'labeled', 'bug')`,
		`INSERT INTO milestones (source, key, title) VALUES ('github', 'a/milestones/1', 'v1')`,
		`INSERT INTO identities (source, account, kind, value) VALUES ('jira', 'acc', 'email', 'a@example.com')`,
	} {
		if _, err := s.w.Exec(q); err != nil {
			s.Close()
			migrations = all
			t.Fatal(err)
		}
	}
	want := mustLoad(t, s)
	s.Close()
	migrations = all

	s = openMigrated(t, ctx, path)
	if got := mustLoad(t, s); !reflect.DeepEqual(got, want) {
		t.Fatalf("after migration Load differs:\n got %+v\nwant %+v", got, want)
	}
	stream, seq := readAll(t, s, 0)
	if w := []string{"github/a#1", "github/a#2", "jira/P-1"}; !reflect.DeepEqual(keysOf(stream), w) {
		t.Errorf("first stream %v, want %v", keysOf(stream), w)
	}
	if !reflect.DeepEqual(stream, fromLoad(want)) {
		t.Errorf("first stream differs from the old store's Load")
	}
	if seq != 1 {
		t.Errorf("sequence after migration %d, want 1", seq)
	}
	// Items changed since the migration: none, then only the new page's.
	if got, _ := readAll(t, s, seq); len(got) != 0 {
		t.Errorf("changed since migration: %v", keysOf(got))
	}
	mustApply(t, s, Page{Source: model.SourceJira, Events: []model.Event{ev(model.SourceJira, "j1", "P-1", at(2, 0, 0), model.EventCommented)}})
	if got, _ := readAll(t, s, seq); !reflect.DeepEqual(keysOf(got), []string{"jira/P-1"}) || len(got[0].Events) != 1 || got[0].Item == nil {
		t.Errorf("changed after a page: %+v", got)
	}
}

// TestReaderPlans: the full walk scans items and packed events in key
// order with no sort, packing a stale item by a search of its events; the
// changed walk starts from the sequence index.
func TestReaderPlans(t *testing.T) {
	s, _ := openTest(t)
	plan := func(q string) string {
		rows, err := s.r.Query(`EXPLAIN QUERY PLAN `+q, 1)
		if err != nil {
			rows, err = s.r.Query(`EXPLAIN QUERY PLAN ` + q)
		}
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var id, parent, notused int
			var detail string
			if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
				t.Fatal(err)
			}
			out = append(out, detail)
		}
		return strings.Join(out, "; ")
	}
	for _, q := range []string{allItemsSQL, allPackedSQL, allStaleSQL} {
		if p := plan(q); strings.Contains(p, "TEMP B-TREE FOR ORDER BY") || strings.Contains(p, "TEMP B-TREE FOR GROUP BY") {
			t.Errorf("full walk plan %q: want a scan in key order, no sort", p)
		}
	}
	if p := plan(allStaleSQL); !strings.Contains(p, "events_by_item_at (source=? AND item_key=?)") {
		t.Errorf("stale walk plan %q: want a search of events_by_item_at per item", p)
	}
	for _, q := range []string{changedItemsSQL, changedPackedSQL, changedStaleSQL} {
		if p := plan(q); !strings.Contains(p, "item_changes_by_seq") {
			t.Errorf("changed plan %q: want item_changes_by_seq", p)
		}
	}
}

// BenchmarkWriteInterleaved writes 100,000 events of 2,000 items in time
// order, pages of 100: the shape of a full sync, where each item's events
// arrive over many pages (what repacking per page made 7x slower).
func BenchmarkWriteInterleaved(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	var evs []model.Event
	for i := 0; i < 100_000; i++ {
		evs = append(evs, model.Event{Source: "github", ID: fmt.Sprint(i), ItemKey: fmt.Sprintf("acme/r#%d", rng.IntN(2000)),
			At: at(1, 0, 0).Add(time.Duration(rng.IntN(1e9)) * time.Millisecond), Actor: "u", Kind: model.EventCommented})
	}
	sort.Slice(evs, func(i, j int) bool { return evs[i].At.Before(evs[j].At) })
	ctx := context.Background()
	for b.Loop() {
		b.StopTimer()
		s, _ := openTest(b)
		b.StartTimer()
		for i := 0; i < len(evs); i += 100 {
			if err := s.ApplyPage(ctx, Page{Source: "github", Target: "t", Events: evs[i:min(i+100, len(evs))]}); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// TestOlderWriter: events written by a binary from before schema 5 (no
// item_changes, no stale marks) are taken into account when the store is
// opened again: the stream equals Load, and a read since the last sequence
// returns their items.
func TestOlderWriter(t *testing.T) {
	ctx := context.Background()
	s, path := openTest(t)
	mustApply(t, s, Page{Source: model.SourceGitHub, Events: []model.Event{ev(model.SourceGitHub, "1", "a#1", at(1, 0, 0), model.EventCommented)}})
	if _, err := s.Repack(ctx); err != nil {
		t.Fatal(err)
	}
	_, seq := readAll(t, s, 0)
	// What an older binary writes: the event row only.
	if _, err := s.w.Exec(`INSERT INTO events (source, id, item_key, at, actor, kind) VALUES ('github', '2', 'a#1', ?, 'bob', 'commented'),
		('github', '3', 'a#2', ?, 'bob', 'commented')`, at(2, 0, 0).UnixMilli(), at(2, 0, 0).UnixMilli()); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err := Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, _ := readAll(t, s, 0)
	if want := fromLoad(mustLoad(t, s)); !reflect.DeepEqual(got, want) {
		t.Fatalf("after an older writer: stream %+v, want %+v", got, want)
	}
	changed, _ := readAll(t, s, seq)
	if !reflect.DeepEqual(keysOf(changed), []string{"github/a#1", "github/a#2"}) || len(changed[0].Events) != 2 {
		t.Errorf("changed since %d: %+v", seq, changed)
	}
}

// TestHasDependencies: a store knows whether a "blocked by" event is
// stored, through the partial index (no scan of the events), also for a
// store written before schema 7 and migrated on open.
func TestHasDependencies(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	has := func() bool {
		t.Helper()
		r, err := s.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		ok, err := r.HasDependencies(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if has() {
		t.Error("empty store: dependencies reported")
	}
	mustApply(t, s, Page{Source: model.SourceGitHub, Events: []model.Event{
		ev(model.SourceGitHub, "1", "a#1", at(1, 0, 0), model.EventCommented),
		ev(model.SourceGitHub, "2", "a#1", at(1, 1, 0), model.EventBlockedByRemoved)}})
	if has() {
		t.Error("only a removal stored: dependencies reported")
	}
	e := ev(model.SourceGitHub, "3", "a#1", at(1, 2, 0), model.EventBlockedByAdded)
	e.Value = "a#2"
	mustApply(t, s, Page{Source: model.SourceGitHub, Events: []model.Event{e}})
	if !has() {
		t.Error("a blocked_by_added event stored: no dependencies reported")
	}
	var plan string
	rows, err := s.r.Query(`EXPLAIN QUERY PLAN SELECT EXISTS (SELECT 1 FROM events INDEXED BY events_blocked_by WHERE kind = 'blocked_by_added')`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		plan += detail + "; "
	}
	rows.Close()
	if !strings.Contains(plan, "events_blocked_by") {
		t.Errorf("plan %q does not use the partial index", plan)
	}
}
