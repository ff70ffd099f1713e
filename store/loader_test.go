package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/crossteam/crossteam/model"
)

// TestLoaderEqualsLoad applies pages in rounds and checks after each round
// that the incremental Loader returns exactly what a full Load returns:
// new events interleave with kept ones (same items, equal instants, where
// insertion order decides), duplicates by id are ignored, items and
// milestones are updated in place.
func TestLoaderEqualsLoad(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	l := s.NewLoader()
	rng := rand.New(rand.NewPCG(7, 9))
	id := 0
	for round := range 6 {
		for page := range 3 {
			p := Page{Source: []string{"github", "jira"}[page%2], Target: "t"}
			for range 40 {
				item := fmt.Sprintf("acme/web#%d", rng.IntN(12))
				// Few distinct instants, so ties on (source, item, at) are common.
				e := ev(p.Source, fmt.Sprint(id), item, at(1, rng.IntN(4), 0), model.EventLabeled)
				e.Value = fmt.Sprintf("r%d", round)
				p.Events = append(p.Events, e)
				if rng.IntN(5) == 0 && id > 0 {
					// A re-sent event (same id, other content) is ignored.
					dup := ev(p.Source, fmt.Sprint(rng.IntN(id)), item, at(2, 0, 0), model.EventClosed)
					p.Events = append(p.Events, dup)
				}
				id++
			}
			p.Items = []model.Item{{Source: p.Source, Key: "acme/web#1", Kind: model.KindIssue, Title: fmt.Sprintf("round %d", round), Created: at(1, 0, 0)}}
			p.Milestones = []model.Milestone{{Source: p.Source, Key: "m1", Title: fmt.Sprintf("v%d", round), Due: at(3, round, 0)}}
			mustApply(t, s, p)
		}
		want := mustLoad(t, s)
		got, err := l.Load(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("round %d: Loader differs from Load:\n got %d events %v\nwant %d events %v", round, len(got.Events), eventIDs(got.Events), len(want.Events), eventIDs(want.Events))
		}
		// A load with nothing new returns the same dataset again.
		again, err := l.Load(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(again, want) {
			t.Fatalf("round %d: second Loader.Load differs", round)
		}
	}
	if id != 6*3*40 {
		t.Fatalf("wrote %d events", id)
	}
}

// BenchmarkLoaderIncremental is the exporter's reload after a small sync: a
// store of 200,000 events, 1,000 new ones per load.
func BenchmarkLoaderIncremental(b *testing.B) {
	s, _ := openTest(b)
	fill(b, s, 200_000, 10_000)
	ctx := context.Background()
	l := s.NewLoader()
	if _, err := l.Load(ctx); err != nil {
		b.Fatal(err)
	}
	seq := 0
	for b.Loop() {
		b.StopTimer()
		p := Page{Source: "github", Target: "acme"}
		for i := range 1000 {
			p.Events = append(p.Events, model.Event{Source: "github", ID: fmt.Sprint(2_000_000_000 + seq), ItemKey: fmt.Sprintf("acme/repo%d#%d", i%20, i),
				At: time.UnixMilli(1_700_000_000_000 + int64(seq)).UTC(), Kind: model.EventCommented})
			seq++
		}
		if err := s.ApplyPage(ctx, p); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		ds, err := l.Load(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if len(ds.Events) != 200_000+seq {
			b.Fatalf("loaded %d events", len(ds.Events))
		}
	}
}
