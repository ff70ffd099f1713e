package syncer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/crossteam/crossteam/config"
	"github.com/crossteam/crossteam/exposition"
	"github.com/crossteam/crossteam/model"
	"github.com/crossteam/crossteam/store"
)

// scenario: two GitHub items handed design->backend by labels (one picked
// up and closed), 7 events in all, as of two days later.
func scenario(t *testing.T) (*config.Config, *model.Dataset, time.Time) {
	t.Helper()
	cfg, err := config.Parse([]byte(`
teams:
  design: {members: [alice], markers: {github_labels: ["team:design"]}}
  backend: {members: [bob], markers: {github_labels: ["team:backend"]}}
`))
	if err != nil {
		t.Fatal(err)
	}
	b := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	h := func(n int) time.Time { return b.Add(time.Duration(n) * time.Hour) }
	ev := func(key string, id, hour int, actor string, kind model.EventKind, v string) model.Event {
		return model.Event{Source: model.SourceGitHub, ID: fmt.Sprint(id), ItemKey: key, At: h(hour), Actor: actor, Kind: kind, Value: v}
	}
	ds := &model.Dataset{
		Items: []model.Item{
			{Source: "github", Key: "acme/web#1", URL: "https://github.com/acme/web/issues/1", Title: "one", Author: "alice", Created: h(0)},
			{Source: "github", Key: "acme/web#2", URL: "https://github.com/acme/web/issues/2", Title: "two", Author: "alice", Created: h(0)},
		},
		Events: []model.Event{
			ev("acme/web#1", 1, 0, "alice", model.EventLabeled, "team:design"),
			ev("acme/web#1", 2, 1, "alice", model.EventUnlabeled, "team:design"),
			ev("acme/web#1", 3, 1, "alice", model.EventLabeled, "team:backend"),
			ev("acme/web#1", 4, 3, "bob", model.EventCommented, ""),
			ev("acme/web#1", 5, 6, "bob", model.EventClosed, ""),
			ev("acme/web#2", 6, 0, "alice", model.EventLabeled, "team:design"),
			ev("acme/web#2", 7, 1, "alice", model.EventLabeled, "team:backend"),
		},
	}
	return cfg, ds, h(48)
}

// pageTarget writes the scenario's events as one page on its first sync.
type pageTarget struct {
	st    *store.Store
	ds    *model.Dataset
	syncs atomic.Int32
}

func (p *pageTarget) Source() string { return "github" }
func (p *pageTarget) Name() string   { return "good" }
func (p *pageTarget) Sync(ctx context.Context) error {
	if p.syncs.Add(1) > 1 {
		return nil
	}
	return p.st.ApplyPage(ctx, store.Page{Source: "github", Target: "good", Items: p.ds.Items[:2], Events: p.ds.Events, Milestones: p.ds.Milestones,
		Cursors: map[string]string{"issues_since": "x"}})
}

type failingTarget struct{ n atomic.Int32 }

func (f *failingTarget) Source() string { return "jira" }
func (f *failingTarget) Name() string   { return "broken" }
func (f *failingTarget) Sync(context.Context) error {
	f.n.Add(1)
	return errors.New("jira/broken: GET /rest/api/3/search/jql: 403 Forbidden")
}

// panickingTarget panics in every sync, as a collector bug would.
type panickingTarget struct{ n atomic.Int32 }

func (p *panickingTarget) Source() string { return "github" }
func (p *panickingTarget) Name() string   { return "buggy" }
func (p *panickingTarget) Sync(context.Context) error {
	p.n.Add(1)
	var m map[string]int
	m["boom"]++ // assignment to entry in nil map
	return nil
}

// openStore opens a fresh store file, closed when the test ends.
func openStore(ctx context.Context, t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "s.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestSyncerIsolatesFailingTargets(t *testing.T) {
	cfg, ds, asOf := scenario(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st := openStore(ctx, t)
	var logs bytes.Buffer
	s := &Syncer{Store: st, Logger: slog.New(slog.NewTextHandler(&logs, nil)), Snapshot: exposition.NewSnapshotCollector(), Health: exposition.NewHealth(),
		Now: func() time.Time { return asOf }}
	good, bad, buggy := &pageTarget{st: st, ds: ds}, &failingTarget{}, &panickingTarget{}
	done := make(chan struct{})
	go func() { s.Run(ctx, cfg, []Target{good, bad, buggy}); close(done) }()

	deadline := time.Now().Add(10 * time.Second)
	for {
		if snap := s.Snapshot.Snapshot(); snap != nil && len(snap.Pairs) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no snapshot with handoffs published")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if !s.Ready() {
		t.Error("not ready after a snapshot was published")
	}
	if p := s.Snapshot.Snapshot().Pairs[0]; p.Handoffs != 2 {
		t.Errorf("handoffs = %d, want 2", p.Handoffs)
	}
	for buggy.n.Load() == 0 || bad.n.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the failing targets were not synced")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done

	want := `
# HELP crossteam_source_up 1 if the last sync of the target succeeded, else 0.
# TYPE crossteam_source_up gauge
crossteam_source_up{source="github",target="buggy"} 0
crossteam_source_up{source="github",target="good"} 1
crossteam_source_up{source="jira",target="broken"} 0
# HELP crossteam_store_events Events held in the store.
# TYPE crossteam_store_events gauge
crossteam_store_events{source="github"} 7
`
	if err := testutil.CollectAndCompare(s.Health, strings.NewReader(want), "crossteam_source_up", "crossteam_store_events"); err != nil {
		t.Error(err)
	}
	if n := strings.Count(logs.String(), "sync failed"); n != 2 {
		t.Errorf("failures logged %d times, want twice (once per target, same error each time)", n)
	}
	if !strings.Contains(logs.String(), `github target \"buggy\": sync panicked: assignment to entry in nil map`) {
		t.Errorf("the panic is not reported as the target's error:\n%s", logs.String())
	}
}

func TestBackoff(t *testing.T) {
	for failures, want := range map[int]time.Duration{1: 5 * time.Second, 2: 10 * time.Second, 3: 20 * time.Second, 10: time.Minute} {
		for i := 0; i < 50; i++ {
			if got := backoff(failures, time.Minute); got < want/2 || got > want {
				t.Fatalf("backoff(%d) = %s, want in [%s, %s]", failures, got, want/2, want)
			}
		}
	}
}

// switchTarget syncs with the error in err (nil: success, storing nothing).
type switchTarget struct {
	n   atomic.Int32
	err atomic.Pointer[error]
}

func (s *switchTarget) Source() string { return "github" }
func (s *switchTarget) Name() string   { return "acme" }
func (s *switchTarget) Sync(context.Context) error {
	s.n.Add(1)
	if e := s.err.Load(); e != nil {
		return *e
	}
	return nil
}

// TestReadiness: a fresh store is not ready until a sync succeeded (a new
// install that cannot reach GitHub must not look ready), and a failing
// recomputation makes the exporter unready with the store file named and
// crossteam_snapshot_up 0, keeping the last success time.
func TestReadiness(t *testing.T) {
	cfg, _, asOf := scenario(t)
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "fresh.db")
	st, err := store.Open(ctx, path, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	s := &Syncer{Store: st, Logger: slog.New(slog.DiscardHandler), Snapshot: exposition.NewSnapshotCollector(), Health: exposition.NewHealth(),
		Now: func() time.Time { return asOf }}
	target := &switchTarget{}
	unreachable := errors.New("github/acme: dial tcp: connection refused")
	target.err.Store(&unreachable)

	run := func(until func() bool) {
		t.Helper()
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { s.Run(runCtx, cfg, []Target{target}); close(done) }()
		deadline := time.Now().Add(10 * time.Second)
		for !until() {
			if time.Now().After(deadline) {
				t.Fatal("timed out")
			}
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
		<-done
	}
	snapshotUp := func(want string) {
		t.Helper()
		exp := "# HELP crossteam_snapshot_up 1 if the last recomputation of the snapshot from the store succeeded, else 0 (the boards then show an older snapshot, or nothing).\n" +
			"# TYPE crossteam_snapshot_up gauge\ncrossteam_snapshot_up " + want + "\n" +
			"# HELP crossteam_snapshot_last_success_timestamp_seconds When a snapshot was last computed from the store successfully.\n" +
			"# TYPE crossteam_snapshot_last_success_timestamp_seconds gauge\n" +
			fmt.Sprintf("crossteam_snapshot_last_success_timestamp_seconds %d\n", asOf.Unix())
		if err := testutil.CollectAndCompare(s.Health, strings.NewReader(exp), "crossteam_snapshot_up", "crossteam_snapshot_last_success_timestamp_seconds"); err != nil {
			t.Error(err)
		}
	}

	// The empty store is computed at once, the sync fails: not ready.
	run(func() bool { return target.n.Load() >= 1 })
	if ok, why := s.Readiness(); ok || why != "first sync running" {
		t.Errorf("fresh store, failing sync: Readiness = %v %q, want false \"first sync running\"", ok, why)
	}
	snapshotUp("1")

	// A sync succeeds (nothing new upstream): ready.
	target.err.Store(nil)
	run(func() bool { return s.Ready() })

	// The store breaks under the running exporter: unready, file named.
	st.Close()
	err = s.Recompute(ctx)
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("Recompute on a broken store = %v, want an error naming %s", err, path)
	}
	ok, why := s.Readiness()
	if want := "recomputation failing: load store " + path + ": "; ok || !strings.HasPrefix(why, want) {
		t.Errorf("Readiness = %v %q, want false and a reason starting %q", ok, why, want)
	}
	snapshotUp("0")
}

// blockingTarget's sync waits for release and records whether its
// context was cancelled meanwhile.
type blockingTarget struct {
	started   chan struct{}
	release   chan struct{}
	cancelled atomic.Bool
}

func (b *blockingTarget) Source() string { return "jira" }
func (b *blockingTarget) Name() string   { return "slow" }
func (b *blockingTarget) Sync(ctx context.Context) error {
	close(b.started)
	select {
	case <-b.release:
		return nil
	case <-ctx.Done():
		b.cancelled.Store(true)
		return ctx.Err()
	}
}

// TestReloadLetsSyncFinish: ending Run (what a reload does) does not
// cancel a sync in flight when SyncContext is set; Run returns once the
// sync is done.
func TestReloadLetsSyncFinish(t *testing.T) {
	cfg, _, asOf := scenario(t)
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "s.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := &Syncer{Store: st, Logger: slog.New(slog.DiscardHandler), Snapshot: exposition.NewSnapshotCollector(), Health: exposition.NewHealth(),
		Now: func() time.Time { return asOf }, SyncContext: context.Background()}
	target := &blockingTarget{started: make(chan struct{}), release: make(chan struct{})}
	runCtx, reload := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(runCtx, cfg, []Target{target}); close(done) }()
	<-target.started
	reload()
	select {
	case <-done:
		t.Fatal("Run returned while the sync was still in flight")
	case <-time.After(100 * time.Millisecond):
	}
	close(target.release)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after the sync finished")
	}
	if target.cancelled.Load() {
		t.Error("the reload cancelled the sync in flight")
	}
}

// TestStartedRunsOnceBeforeTheFirstSync: Started runs after the first
// computation from the store (a snapshot is published) and before any
// target syncs, and only once across two Runs (a reload).
func TestStartedRunsOnceBeforeTheFirstSync(t *testing.T) {
	cfg, ds, asOf := scenario(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st := openStore(ctx, t)
	s := &Syncer{Store: st, Logger: slog.New(slog.DiscardHandler), Snapshot: exposition.NewSnapshotCollector(), Health: exposition.NewHealth(),
		Now: func() time.Time { return asOf }}
	target := &pageTarget{st: st, ds: ds}
	var calls, syncsAtCall atomic.Int32
	published := false
	s.Started = func() {
		calls.Add(1)
		syncsAtCall.Store(target.syncs.Load())
		published = s.Snapshot.Snapshot() != nil
	}
	for run := 0; run < 2; run++ {
		runCtx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { s.Run(runCtx, cfg, []Target{target}); close(done) }()
		deadline := time.Now().Add(10 * time.Second)
		for target.syncs.Load() <= int32(run) {
			if time.Now().After(deadline) {
				t.Fatalf("run %d: the target was not synced", run)
			}
			time.Sleep(5 * time.Millisecond)
		}
		stop()
		<-done
	}
	if calls.Load() != 1 {
		t.Errorf("Started ran %d times, want 1", calls.Load())
	}
	if syncsAtCall.Load() != 0 || !published {
		t.Errorf("Started ran after %d syncs with a snapshot published %v, want after none, with one", syncsAtCall.Load(), published)
	}
}
