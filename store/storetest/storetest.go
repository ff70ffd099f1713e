// Package storetest checks, for the collectors' fuzz targets, that a page a
// collector maps survives a real store: ApplyPage on a SQLite file, then
// Load, reads back exactly what was written (or the store refuses the page
// with store.ErrInvalidPage and nothing of it is stored). The expected read
// is derived from the store's documented semantics, not from the mapping:
// items, milestones and identities upserted (last write wins), events
// inserted once (first write wins), instants in UTC at millisecond
// precision, empty lists read back as nil.
package storetest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/crossteam/crossteam/model"
	"github.com/crossteam/crossteam/store"
)

// RoundTrip is one store file reused by every input of a fuzz target (one
// per fuzz worker process): each Check empties it first.
type RoundTrip struct {
	st *store.Store
	db *sql.DB // a second connection, to empty the tables between inputs
}

// Open opens a store on a file in tb's temporary directory, closed at
// tb's cleanup.
func Open(tb testing.TB) *RoundTrip {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "fuzz.db")
	st, err := store.Open(context.Background(), path, slog.New(slog.DiscardHandler))
	if err != nil {
		tb.Fatal(err)
	}
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		db.Close()
		st.Close()
	})
	return &RoundTrip{st: st, db: db}
}

// tables ApplyPage writes.
var tables = []string{"items", "events", "milestones", "identities", "cursors", "etags"}

func (r *RoundTrip) reset() error {
	for _, tbl := range tables {
		if _, err := r.db.Exec("DELETE FROM " + tbl); err != nil {
			return fmt.Errorf("empty %s: %w", tbl, err)
		}
	}
	return nil
}

// Check writes p to the emptied store and fails t unless Load returns what
// p should store, or ApplyPage refused p with store.ErrInvalidPage and the
// store is still empty. It returns whether p was stored.
func (r *RoundTrip) Check(t testing.TB, p store.Page) bool {
	t.Helper()
	ctx := context.Background()
	if err := r.reset(); err != nil {
		t.Fatal(err)
	}
	applyErr := r.st.ApplyPage(ctx, p)
	got, err := r.st.Load(ctx)
	if err != nil {
		t.Fatalf("load after ApplyPage: %v", err)
	}
	if applyErr != nil {
		if !errors.Is(applyErr, store.ErrInvalidPage) {
			t.Fatalf("ApplyPage failed without ErrInvalidPage (the store's validation let through what the database refuses): %v", applyErr)
		}
		if len(got.Items)+len(got.Events)+len(got.Milestones)+len(got.Identities) != 0 {
			t.Fatalf("ApplyPage refused the page (%v) yet stored %d items, %d events, %d milestones, %d identities",
				applyErr, len(got.Items), len(got.Events), len(got.Milestones), len(got.Identities))
		}
		return false
	}
	want := Expected(p)
	compare(t, "items", got.Items, want.Items)
	compare(t, "events", got.Events, want.Events)
	compare(t, "milestones", got.Milestones, want.Milestones)
	compare(t, "identities", got.Identities, want.Identities)
	for name, v := range p.Cursors {
		c, ok, err := r.st.Cursor(ctx, p.Source, p.Target, name)
		if err != nil || !ok || c != v {
			t.Errorf("cursor %q: read back %q (stored %v, err %v), wrote %q", name, c, ok, err, v)
		}
	}
	return true
}

func compare[T any](t testing.TB, what string, got, want []T) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: read back %d, wrote %d\n got %+v\nwant %+v", what, len(got), len(want), got, want)
		return
	}
	for i := range got {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("%s %d does not read back equal:\n got %+v\nwant %+v", what, i, got[i], want[i])
			return
		}
	}
}

// instant is an instant as the store keeps it: UTC, milliseconds, zero
// stays zero.
func instant(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return time.UnixMilli(t.UnixMilli()).UTC()
}

func list(l []string) []string {
	if len(l) == 0 {
		return nil
	}
	return append([]string(nil), l...)
}

// Expected is what Load returns after p was applied to an empty store.
func Expected(p store.Page) *model.Dataset {
	ds := &model.Dataset{}
	items := map[string]model.Item{}
	for _, it := range p.Items {
		it.Created, it.Closed, it.Updated = instant(it.Created), instant(it.Closed), instant(it.Updated)
		it.Milestones, it.Labels, it.Assignees = list(it.Milestones), list(it.Labels), list(it.Assignees)
		it.Components, it.Signals = list(it.Components), list(it.Signals)
		items[it.Key] = it
	}
	for _, it := range items {
		ds.Items = append(ds.Items, it)
	}
	sort.Slice(ds.Items, func(i, j int) bool { return ds.Items[i].Key < ds.Items[j].Key })

	seen := map[string]bool{}
	for _, e := range p.Events {
		if seen[e.ID] {
			continue
		}
		seen[e.ID] = true
		e.At = instant(e.At)
		ds.Events = append(ds.Events, e)
	}
	// (item, instant), then insertion order.
	sort.SliceStable(ds.Events, func(i, j int) bool {
		a, b := ds.Events[i], ds.Events[j]
		if a.ItemKey != b.ItemKey {
			return a.ItemKey < b.ItemKey
		}
		return a.At.Before(b.At)
	})

	ms := map[string]model.Milestone{}
	for _, m := range p.Milestones {
		m.Due, m.Closed = instant(m.Due), instant(m.Closed)
		ms[m.Key] = m
	}
	for _, m := range ms {
		ds.Milestones = append(ds.Milestones, m)
	}
	sort.Slice(ds.Milestones, func(i, j int) bool { return ds.Milestones[i].Key < ds.Milestones[j].Key })

	type idKey struct{ account, kind string }
	ids := map[idKey]model.Identity{}
	for _, id := range p.Identities {
		ids[idKey{id.Account, id.Kind}] = id
	}
	for _, id := range ids {
		ds.Identities = append(ds.Identities, id)
	}
	sort.Slice(ds.Identities, func(i, j int) bool {
		a, b := ds.Identities[i], ds.Identities[j]
		if a.Account != b.Account {
			return a.Account < b.Account
		}
		return a.Kind < b.Kind
	})
	return ds
}
