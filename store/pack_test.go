package store

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/crossteam/crossteam/model"
)

// packState returns, per item, its stored packed row (and whether it is
// marked stale) and the pack the events table gives (packOf, as Repack
// writes it).
func packState(t *testing.T, s *Store) (rows map[string]string, stale map[string]bool, want map[string]string) {
	t.Helper()
	rows, stale, want = map[string]string{}, map[string]bool{}, map[string]string{}
	q := func(sql string, fn func(key, v string)) {
		r, err := s.w.Query(sql)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		for r.Next() {
			var k, v string
			if err := r.Scan(&k, &v); err != nil {
				t.Fatal(err)
			}
			fn(k, v)
		}
		if err := r.Err(); err != nil {
			t.Fatal(err)
		}
	}
	q(`SELECT key, packed || '/' || n FROM item_events`, func(k, v string) { rows[k] = v })
	q(`SELECT key, '' FROM stale_events`, func(k, _ string) { stale[k] = true })
	q(`SELECT s.key, (`+packOf+`) || '/' || (SELECT count(*) FROM events WHERE events.source = s.source AND events.item_key = s.key)
		FROM (SELECT DISTINCT source, item_key AS key FROM events) s`, func(k, v string) { want[k] = v })
	return rows, stale, want
}

// TestPackAtWriteMatchesRepack: over random pages (items whose events
// arrive in order, out of order, in one page or many, duplicates, equal
// instants, multi-byte text), every item's packed row is either marked
// stale or byte-identical, with its count, to what Repack writes from the
// events table; an item whose events only ever arrive in order is marked
// stale only by a page adding few events to a long row (maxAppendEvents).
func TestPackAtWriteMatchesRepack(t *testing.T) {
	ctx := context.Background()
	for seed := uint64(1); seed <= 20; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			s, _ := openTest(t)
			rng := rand.New(rand.NewPCG(seed, 7))
			base := at(1, 0, 0)
			last := map[string]time.Time{} // the latest instant written per item
			outOfOrder := map[string]bool{}
			count := map[string]int{} // events stored per item
			id := 0
			for page := 0; page < 30; page++ {
				var p Page
				p.Source = model.SourceGitHub
				before := maps.Clone(count)
				wasStale := map[string]bool{}
				_, st, _ := packState(t, s)
				maps.Copy(wasStale, st)
				for range 1 + rng.IntN(40) {
					n := rng.IntN(12)
					item := fmt.Sprintf("acme/r#%d", n)
					var when time.Time
					choice := rng.IntN(10)
					if n < 4 && choice == 0 { // items 0-3 only ever get events in order
						choice = 2
					}
					switch choice {
					case 0: // older than what is stored, or the same instant
						when = base.Add(time.Duration(rng.IntN(page*60+1)) * time.Minute)
					case 1: // a duplicate of an earlier event: stored once
						if id > 0 {
							dup := rng.IntN(id)
							p.Events = append(p.Events, model.Event{Source: model.SourceGitHub, ID: fmt.Sprint(dup), ItemKey: "ignored", At: base, Kind: model.EventCommented})
							continue
						}
						fallthrough
					default:
						when = base.Add(time.Duration(page*60+rng.IntN(60)) * time.Minute)
					}
					if l, ok := last[item]; ok && when.Before(l) {
						outOfOrder[item] = true
					}
					if when.After(last[item]) {
						last[item] = when
					}
					count[item]++
					p.Events = append(p.Events, model.Event{Source: model.SourceGitHub, ID: fmt.Sprint(id), ItemKey: item, At: when,
						Actor: []string{"alice", "bøb", ""}[rng.IntN(3)], Kind: model.EventLabeled, Value: []string{"team:α", "x", ""}[rng.IntN(3)],
						Team: "t", From: "f:1", To: "12:3"})
					id++
				}
				mustApply(t, s, p)
				rows, stale, want := packState(t, s)
				for item, w := range want {
					if stale[item] {
						continue
					}
					if rows[item] != w {
						t.Fatalf("page %d, item %s: packed row\n%q\nwant (packOf)\n%q", page, item, rows[item], w)
					}
				}
				for item := range stale {
					added := count[item] - before[item]
					if !outOfOrder[item] && !wasStale[item] && (before[item] <= maxAppendEvents || 4*added >= before[item]) {
						t.Errorf("page %d: item %s (%d events stored, %d added) marked stale though its events came in order", page, item, before[item], added)
					}
				}
				if rng.IntN(5) == 0 {
					if _, err := s.Repack(ctx); err != nil {
						t.Fatal(err)
					}
				}
			}
		})
	}
}
