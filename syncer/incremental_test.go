package syncer

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/crossteam/crossteam/config"
	"github.com/crossteam/crossteam/engine"
	"github.com/crossteam/crossteam/exposition"
	"github.com/crossteam/crossteam/model"
	"github.com/crossteam/crossteam/sim"
	"github.com/crossteam/crossteam/store"
)

func exposed(t *testing.T, s *engine.Snapshot) string {
	t.Helper()
	c := exposition.NewSnapshotCollector()
	c.Set(s, 0)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, mf := range mfs {
		if _, err := expfmt.MetricFamilyToText(&b, mf); err != nil {
			t.Fatal(err)
		}
	}
	return b.String()
}

// storeWorld writes what the simulated world holds now into the store, as
// the collectors would: one page per source (items, events, milestones,
// identities) and the GitHub team expansions.
func storeWorld(t *testing.T, st *store.Store, w *sim.World) *model.Dataset {
	t.Helper()
	ctx := context.Background()
	ds := w.Dataset()
	for _, src := range []string{model.SourceGitHub, model.SourceJira} {
		p := store.Page{Source: src, Target: "t"}
		for _, it := range ds.Items {
			if it.Source == src {
				p.Items = append(p.Items, it)
			}
		}
		for _, e := range ds.Events {
			// The simulator's dependency edges are left out: the test adds
			// the first edge itself, below, to see the state rebuilt.
			if e.Source == src && e.Kind != model.EventBlockedByAdded && e.Kind != model.EventBlockedByRemoved {
				p.Events = append(p.Events, e)
			}
		}
		for _, m := range ds.Milestones {
			if m.Source == src {
				p.Milestones = append(p.Milestones, m)
			}
		}
		for _, id := range ds.Identities {
			if id.Source == src {
				p.Identities = append(p.Identities, id)
			}
		}
		if err := st.ApplyPage(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	byVia := map[[2]string][]model.TeamMember{}
	for _, m := range ds.Members {
		k := [2]string{m.Source, m.Via}
		byVia[k] = append(byVia[k], m)
	}
	for k, ms := range byVia {
		if err := st.ReplaceTeamMembers(ctx, k[0], k[1], ms); err != nil {
			t.Fatal(err)
		}
	}
	return ds
}

// TestRecomputeIncremental: the syncer's kept state, fed only the items a
// sync changed, publishes after every sync, a reload and a change of the
// stored team members the exposition a computation from scratch over the
// whole store gives; a sync re-derives only the items it touched, and the
// first recomputation and a reload re-derive everything.
func TestRecomputeIncremental(t *testing.T) {
	ctx := context.Background()
	p := sim.Small()
	p.Seed = 11
	p.Months = 2
	p.Repos, p.ItemsPerRepo, p.JiraIssuesPerProject = 2, 40, 40
	w, err := sim.Generate(p)
	if err != nil {
		t.Fatal(err)
	}
	text := w.Config(sim.ConfigOptions{GitHubURL: "https://github.test/", JiraURL: "https://jira.test", TokenFile: "token", JiraTokenFile: "token"})
	cfg, err := config.Parse([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "s.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := w.Now
	s := &Syncer{Store: st, Logger: slog.New(slog.DiscardHandler), Snapshot: exposition.NewSnapshotCollector(), Health: exposition.NewHealth(),
		Now: func() time.Time { return now }}
	s.cfg = cfg

	check := func(step string) {
		t.Helper()
		if err := s.Recompute(ctx); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		ds, err := st.Load(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := engine.New(s.cfg, ds.Members, engine.Options{}).Compute(ds, now)
		if g, w := exposed(t, s.Snapshot.Snapshot()), exposed(t, want); g != w {
			t.Fatalf("%s: published exposition differs from a computation from scratch", step)
		}
	}
	ds := storeWorld(t, st, w)
	check("first")
	if s.lastUpdated != s.state.Len() || s.lastUpdated < len(ds.Items) {
		t.Errorf("first recomputation derived %d items, want all %d", s.lastUpdated, s.state.Len())
	}
	total := s.state.Len()
	for step := range 4 {
		now = now.Add(7 * time.Hour)
		if err := w.Advance(now); err != nil {
			t.Fatal(err)
		}
		storeWorld(t, st, w)
		check("sync")
		if s.lastUpdated == 0 || s.lastUpdated >= total/2 {
			t.Errorf("sync %d re-derived %d of %d items, want only the changed ones", step, s.lastUpdated, total)
		}
		total = s.state.Len()
	}
	// Nothing new: nothing re-derived, the figures move with the clock.
	now = now.Add(time.Hour)
	check("idle")
	if s.lastUpdated != 0 {
		t.Errorf("recomputation with nothing stored re-derived %d items", s.lastUpdated)
	}
	// A reload rebuilds the state under the new configuration.
	cfg2, err := config.Parse([]byte(strings.Replace(text, "stall_after: 72h", "stall_after: 10h", 1)))
	if err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	s.cfg = cfg2
	s.mu.Unlock()
	check("reload")
	if s.lastUpdated != s.state.Len() {
		t.Errorf("reload re-derived %d of %d items", s.lastUpdated, s.state.Len())
	}
	// A GitHub team expansion changes: every item's teams may change.
	if err := st.ReplaceTeamMembers(ctx, model.SourceGitHub, "acme/design", nil); err != nil {
		t.Fatal(err)
	}
	check("members")
	if s.lastUpdated != s.state.Len() {
		t.Errorf("a members change re-derived %d of %d items", s.lastUpdated, s.state.Len())
	}
	// The first dependency edge: the state is rebuilt keeping every
	// item's dependency node (the blocking item was derived without one).
	var a, b string
	for _, it := range ds.Items {
		if it.Source == model.SourceGitHub {
			if a == "" {
				a = it.Key
			} else if b == "" {
				b = it.Key
			}
		}
	}
	if s.deps {
		t.Fatal("dependencies kept before any edge")
	}
	if err := st.ApplyPage(ctx, store.Page{Source: model.SourceGitHub, Target: "t", Events: []model.Event{{Source: model.SourceGitHub,
		ID: "edge-1", ItemKey: b, At: now.Add(-time.Minute), Kind: model.EventBlockedByAdded, Value: a}}}); err != nil {
		t.Fatal(err)
	}
	check("dependency edge")
	if !s.deps || s.lastUpdated <= s.state.Len() {
		t.Errorf("first edge: deps %v, re-derived %d of %d items; want a rebuild keeping dependencies", s.deps, s.lastUpdated, s.state.Len())
	}
	// The clock behind a stored event: computed from scratch at that instant.
	now = now.Add(-30 * time.Hour)
	check("clock behind")
}
