package engine

import (
	"fmt"
	"math/rand"
	"testing"
	"time"

	"github.com/crossteam/crossteam/model"
)

// synthetic builds a dataset of n items with about perItem events each:
// items move between the four test teams by label swaps, get comments from
// members and strangers, review requests, milestones, and most close.
func synthetic(n, perItem int) *model.Dataset {
	rng := rand.New(rand.NewSource(1))
	teams := []string{"design", "backend", "qa", "frontend"}
	members := map[string][]string{"design": {"alice"}, "backend": {"bob", "bill"}, "qa": {"quinn"}, "frontend": {"fred"}}
	ds := &model.Dataset{Items: make([]model.Item, 0, n), Events: make([]model.Event, 0, n*perItem)}
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	id := 0
	for i := 0; i < n; i++ {
		key := fmt.Sprintf("acme/r%d#%d", i%20, i)
		created := start.Add(time.Duration(rng.Intn(500*24)) * time.Hour)
		owner := teams[rng.Intn(len(teams))]
		author := members[owner][0]
		ds.Items = append(ds.Items, model.Item{Source: model.SourceGitHub, Key: key, Author: author, Created: created,
			URL: "https://github.com/" + key, Title: "item " + key, Milestones: []string{fmt.Sprintf("m%d", i%40)}})
		t := created
		emit := func(actor string, kind model.EventKind, value string) {
			id++
			ds.Events = append(ds.Events, model.Event{Source: model.SourceGitHub, ID: fmt.Sprint(id), ItemKey: key, At: t, Actor: actor, Kind: kind, Value: value})
		}
		emit(author, model.EventLabeled, "team:"+owner)
		for k := 1; k < perItem-1; k++ {
			t = t.Add(time.Duration(rng.Intn(72*60)) * time.Minute)
			switch r := rng.Intn(10); {
			case r < 3: // handoff by label swap
				next := teams[rng.Intn(len(teams))]
				emit(members[owner][0], model.EventUnlabeled, "team:"+owner)
				emit(members[owner][0], model.EventLabeled, "team:"+next)
				owner = next
				k++
			case r < 7:
				ms := members[owner]
				emit(ms[rng.Intn(len(ms))], model.EventCommented, "")
			case r < 8:
				emit("stranger", model.EventCommented, "")
			case r < 9:
				emit(author, model.EventReviewRequested, members[teams[rng.Intn(len(teams))]][0])
			default:
				ms := members[owner]
				emit(ms[0], model.EventAssigned, ms[0])
			}
		}
		if rng.Intn(10) < 8 {
			t = t.Add(time.Duration(rng.Intn(48*60)) * time.Minute)
			emit(members[owner][0], model.EventClosed, "")
		}
	}
	return ds
}

// BenchmarkCompute measures one snapshot evaluation at 100k items / ~1M
// events. Result on the 2-core reference machine: see the package doc and
// BENCHMARKS.md.
func BenchmarkCompute(b *testing.B) {
	cfg := mustConfig(b, "")
	ds := synthetic(100_000, 10)
	e := New(cfg, nil, Options{})
	asOf := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	b.ResetTimer()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		s := e.Compute(ds, asOf)
		if len(s.Pairs) == 0 {
			b.Fatal("no pairs")
		}
	}
	b.ReportMetric(float64(len(ds.Events)), "events")
}

// byItemIndex groups a dataset's events by item (the store streams them so).
func byItemIndex(ds *model.Dataset) map[string][]model.Event {
	out := map[string][]model.Event{}
	for start := 0; start < len(ds.Events); {
		end := start + 1
		for end < len(ds.Events) && ds.Events[end].ItemKey == ds.Events[start].ItemKey {
			end++
		}
		out[ds.Events[start].ItemKey] = ds.Events[start:end]
		start = end
	}
	return out
}

// BenchmarkStateBuild is the first computation after start-up or a
// reload: every item derived into a new State (as the syncer streams the
// store), then one snapshot. 100k items / ~1M events.
func BenchmarkStateBuild(b *testing.B) {
	cfg := mustConfig(b, "")
	ds := synthetic(100_000, 10)
	evs := byItemIndex(ds)
	e := New(cfg, nil, Options{})
	asOf := time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC) // after every synthetic event
	b.ResetTimer()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		st := e.NewState(nil, nil, false)
		for j := range ds.Items {
			it := &ds.Items[j]
			st.Update(it.Source, it.Key, it, evs[it.Key])
		}
		if _, err := st.Snapshot(asOf); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStateUpdate1pct is the recomputation after a sync that touched
// 1% of the items: 1,000 of 100k items re-derived, then one snapshot.
func BenchmarkStateUpdate1pct(b *testing.B) {
	cfg := mustConfig(b, "")
	ds := synthetic(100_000, 10)
	evs := byItemIndex(ds)
	e := New(cfg, nil, Options{})
	asOf := time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC) // after every synthetic event
	st := e.NewState(nil, nil, false)
	for j := range ds.Items {
		it := &ds.Items[j]
		st.Update(it.Source, it.Key, it, evs[it.Key])
	}
	b.ResetTimer()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		for j := 0; j < 1000; j++ {
			it := &ds.Items[(i*1000+j*97)%len(ds.Items)]
			st.Update(it.Source, it.Key, it, evs[it.Key])
		}
		if _, err := st.Snapshot(asOf); err != nil {
			b.Fatal(err)
		}
	}
}
