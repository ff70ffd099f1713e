package syncer

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/crossteam/crossteam/config"
	"github.com/crossteam/crossteam/exposition"
	"github.com/crossteam/crossteam/model"
	"github.com/crossteam/crossteam/sim"
	"github.com/crossteam/crossteam/store"
)

// benchStore fills a store with a simulated organisation of about 30k
// items and 400k events (a fifth of the large harness) once per run.
func benchStore(b *testing.B) (*store.Store, *config.Config, *model.Dataset, time.Time) {
	b.Helper()
	ctx := context.Background()
	p := sim.Large()
	p.Repos, p.ItemsPerRepo = 10, 2000
	p.JiraProjects, p.JiraIssuesPerProject = 2, 5000
	w, err := sim.Generate(p)
	if err != nil {
		b.Fatal(err)
	}
	cfg, err := config.Parse([]byte(w.Config(sim.ConfigOptions{GitHubURL: "https://github.test/", JiraURL: "https://jira.test", TokenFile: "token", JiraTokenFile: "token"})))
	if err != nil {
		b.Fatal(err)
	}
	st, err := store.Open(ctx, filepath.Join(b.TempDir(), "bench.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	ds := w.Dataset()
	for _, src := range []string{model.SourceGitHub, model.SourceJira} {
		var items []model.Item
		var evs []model.Event
		for _, it := range ds.Items {
			if it.Source == src {
				items = append(items, it)
			}
		}
		for _, e := range ds.Events {
			if e.Source == src {
				evs = append(evs, e)
			}
		}
		for i := 0; i < len(items) || i < len(evs); i += 5000 {
			pg := store.Page{Source: src, Target: "t"}
			pg.Items = items[min(i, len(items)):min(i+5000, len(items))]
			pg.Events = evs[min(i, len(evs)):min(i+5000, len(evs))]
			if err := st.ApplyPage(ctx, pg); err != nil {
				b.Fatal(err)
			}
		}
		var ms []model.Milestone
		for _, m := range ds.Milestones {
			if m.Source == src {
				ms = append(ms, m)
			}
		}
		if err := st.ApplyPage(ctx, store.Page{Source: src, Target: "t", Milestones: ms}); err != nil {
			b.Fatal(err)
		}
	}
	if err := repack(ctx, st); err != nil {
		b.Fatal(err)
	}
	return st, cfg, ds, w.Now
}

func benchSyncer(st *store.Store, cfg *config.Config, now *time.Time) *Syncer {
	s := &Syncer{Store: st, Logger: slog.New(slog.DiscardHandler), Snapshot: exposition.NewSnapshotCollector(), Health: exposition.NewHealth(),
		Now: func() time.Time { return *now }}
	s.cfg = cfg
	return s
}

// BenchmarkRecompute measures the exporter's recomputation from the
// store: first (start-up: a new Syncer), and after a sync that added a
// comment to 1% of the items.
func BenchmarkRecompute(b *testing.B) {
	st, cfg, ds, now := benchStore(b)
	ctx := context.Background()
	b.Logf("%d items, %d events", len(ds.Items), len(ds.Events))
	b.Run("first", func(b *testing.B) {
		b.ReportAllocs()
		var before runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		var s *Syncer
		for i := 0; i < b.N; i++ {
			s = benchSyncer(st, cfg, &now)
			if err := s.Recompute(ctx); err != nil {
				b.Fatal(err)
			}
		}
		// What the exporter holds between recomputations: the state
		// (and the published snapshot), no events.
		b.StopTimer()
		var m runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m)
		b.ReportMetric(float64(int64(m.HeapAlloc)-int64(before.HeapAlloc))/(1<<20), "state-heap-MiB")
		runtime.KeepAlive(s)
	})
	b.Run("after1pct", func(b *testing.B) {
		s := benchSyncer(st, cfg, &now)
		if err := s.Recompute(ctx); err != nil {
			b.Fatal(err)
		}
		id := 0
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			now = now.Add(time.Minute)
			pages := map[string]*store.Page{}
			for j := 0; j < len(ds.Items)/100; j++ {
				it := ds.Items[(i*7919+j*101)%len(ds.Items)]
				pg := pages[it.Source]
				if pg == nil {
					pg = &store.Page{Source: it.Source, Target: "t"}
					pages[it.Source] = pg
				}
				id++
				pg.Events = append(pg.Events, model.Event{Source: it.Source, ID: fmt.Sprintf("bench-%d", id), ItemKey: it.Key,
					At: now, Actor: it.Author, Kind: model.EventCommented})
			}
			for _, pg := range pages {
				if err := st.ApplyPage(ctx, *pg); err != nil {
					b.Fatal(err)
				}
			}
			b.StartTimer()
			if err := s.Recompute(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
}
