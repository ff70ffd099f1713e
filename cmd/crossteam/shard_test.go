package main

import (
	"context"
	"log/slog"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/crossteam/crossteam/config"
	"github.com/crossteam/crossteam/engine"
	"github.com/crossteam/crossteam/exposition"
	"github.com/crossteam/crossteam/model"
	"github.com/crossteam/crossteam/shard"
	"github.com/crossteam/crossteam/sim"
	"github.com/crossteam/crossteam/store"
)

// TestShardsAddUpToOneInstance runs three shards (--shard=0/3, 1/3, 2/3),
// each with its own store and the real collectors, and one unsharded
// instance against the same simulated organisation (GitHub and Jira), and
// checks that the shards' snapshots, aggregated the way the dashboards do
// (engine.MergeShards), equal the single instance's; and that each shard
// stored only the items of the repositories and projects it owns.
func TestShardsAddUpToOneInstance(t *testing.T) {
	p := sim.Small()
	p.Repos, p.ItemsPerRepo, p.JiraProjects, p.JiraIssuesPerProject = 6, 40, 3, 40
	srv := serveSim(t, p)
	w := srv.w
	dir := t.TempDir()
	asOf := w.Clock.Now()
	logger := slog.New(slog.DiscardHandler)

	run := func(spec shard.Spec) (*config.Config, *model.Dataset, *engine.Snapshot) {
		t.Helper()
		name := "single"
		if spec.Sharded() {
			name = strings.ReplaceAll(spec.String(), "/", "of")
		}
		cfg := srv.Config(t, filepath.Join(dir, name+".db"))
		cfg.Milestones.MaxExported = 1000 // sharded exporters list every group; see README
		st, err := store.Open(context.Background(), cfg.Store.Path, logger)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		targets, err := newTargets(cfg, st, exposition.NewHealth(), logger, w.Clock.Now, spec)
		if err != nil {
			t.Fatal(err)
		}
		for _, tg := range targets {
			for attempt := 0; ; attempt++ {
				err := tg.Sync(context.Background())
				if err == nil {
					break
				}
				if attempt == 2 {
					t.Fatalf("%s: %s/%s: %v", name, tg.Source(), tg.Name(), err)
				}
			}
		}
		ds, err := st.Load(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return cfg, ds, engine.New(cfg, ds.Members, engine.Options{Sharded: spec.Sharded()}).Compute(ds, asOf)
	}

	cfg, all, want := run(shard.Spec{})
	var shards []*engine.Snapshot
	items := 0
	for i := 0; i < 3; i++ {
		spec := shard.Spec{Index: i, Count: 3}
		_, ds, snap := run(spec)
		shards = append(shards, snap)
		items += len(ds.Items)
		for _, it := range ds.Items {
			key := it.Key
			if it.Source == model.SourceGitHub {
				key, _, _ = strings.Cut(it.Key, "#")
			} else {
				project, _, _ := strings.Cut(it.Key, "-")
				key = shard.JiraKey(srv.jiraURL, project)
			}
			if !spec.Owns(key) {
				t.Errorf("shard %s stored %s %s, which another shard owns", spec, it.Source, it.Key)
			}
		}
		if len(ds.Items) == 0 {
			t.Errorf("shard %s stored nothing; the organisation is too small to test sharding", spec)
		}
	}
	if items != len(all.Items) {
		t.Errorf("shards stored %d items together, the single instance %d", items, len(all.Items))
	}

	got := engine.MergeShards(cfg, shards...)
	if !reflect.DeepEqual(got.Pairs, want.Pairs) {
		t.Errorf("pairs differ:\n got %+v\nwant %+v", got.Pairs, want.Pairs)
	}
	if !reflect.DeepEqual(got.Stalled, want.Stalled) || got.StalledTotal != want.StalledTotal {
		t.Errorf("stalled differ:\n got %d %+v\nwant %d %+v", got.StalledTotal, got.Stalled, want.StalledTotal, want.Stalled)
	}
	if !reflect.DeepEqual(got.ItemCycle, want.ItemCycle) || !reflect.DeepEqual(got.Signals, want.Signals) ||
		!reflect.DeepEqual(got.UnmappedStatuses, want.UnmappedStatuses) ||
		!reflect.DeepEqual(got.Items, want.Items) || !reflect.DeepEqual(got.Events, want.Events) {
		t.Errorf("item cycle, signals, unmapped statuses or counts differ:\n got %v %+v %v %v %v\nwant %v %+v %v %v %v",
			got.ItemCycle, got.Signals, got.UnmappedStatuses, got.Items, got.Events,
			want.ItemCycle, want.Signals, want.UnmappedStatuses, want.Items, want.Events)
	}
	// A group's URL is its first record's, which a shard cannot know.
	strip := func(ms []engine.MilestoneStats) []engine.MilestoneStats {
		out := append([]engine.MilestoneStats(nil), ms...)
		for i := range out {
			out[i].URL = ""
		}
		return out
	}
	if !reflect.DeepEqual(strip(got.Milestones), strip(want.Milestones)) || !reflect.DeepEqual(got.MilestonesCompleted, want.MilestonesCompleted) {
		t.Errorf("milestones differ:\n got %+v %v\nwant %+v %v", got.Milestones, got.MilestonesCompleted, want.Milestones, want.MilestonesCompleted)
	}
	spanning := 0
	for _, m := range want.Milestones {
		n := 0
		for _, s := range shards {
			for _, x := range s.Milestones {
				if x.Source == m.Source && x.Title == m.Title && x.Open+x.Closed > 0 {
					n++
				}
			}
		}
		if n > 1 {
			spanning++
		}
	}
	if len(want.Milestones) == 0 || spanning == 0 || len(want.Pairs) == 0 || want.StalledTotal == 0 {
		t.Errorf("too little to compare: %d joint milestones (%d spanning shards), %d pairs, %d stalled",
			len(want.Milestones), spanning, len(want.Pairs), want.StalledTotal)
	}
	t.Logf("%d items in 3 shards; %d pairs, %d stalled, %d joint milestones (%d spanning shards)",
		items, len(want.Pairs), want.StalledTotal, len(want.Milestones), spanning)
}
