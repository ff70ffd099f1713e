// Package syncer runs the background work between the sources and the
// exposition: every target synced on its interval in its own goroutine (a
// failing or slow target never holds up the others), then one coalesced
// recomputation of the engine's snapshot from the store, published to the
// exposition. Scrapes read the published snapshot only; nothing here runs
// on the scrape path.
package syncer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"runtime/debug"
	"sync"
	"time"

	"github.com/crossteam/crossteam/config"
	"github.com/crossteam/crossteam/engine"
	"github.com/crossteam/crossteam/exposition"
	"github.com/crossteam/crossteam/model"
	"github.com/crossteam/crossteam/resilience"
	"github.com/crossteam/crossteam/store"
)

// Target is one configured source target (a GitHub host with its repos, a
// Jira site). Sync fetches what changed since the stored cursors and writes
// it to the store page by page; it must be safe to cancel at any point (each
// page is one transaction) and must not be called concurrently with itself.
type Target interface {
	Source() string
	Name() string
	Sync(ctx context.Context) error
}

// Syncer runs the background sync: every target on the configured interval,
// each in its own goroutine so a failing or slow target never holds up the
// others, and a snapshot recomputation after every sync that stored
// something. Scrapes read the published snapshot only.
type Syncer struct {
	Store    *store.Store
	Logger   *slog.Logger
	Snapshot *exposition.SnapshotCollector
	Health   *exposition.Health
	// Now is the clock (asOf of live snapshots); time.Now by default.
	Now func() time.Time
	// Engine are the engine options of every snapshot (Sharded with
	// --shard).
	Engine engine.Options
	// SyncContext, when set, is the context syncs run under instead of
	// Run's: ending Run (a configuration reload) then lets a sync in
	// flight finish and Run returns after it, so reloads never cancel a
	// sync. Only SyncContext's end (shutdown) cancels one.
	SyncContext context.Context
	// Started, when set, runs once, after Run's first computation from
	// the store and before the first sync starts (serve then gives the
	// runtime its processor for scrapes, which the computation alone
	// would share with nothing: see cpulane.Processors).
	Started func()

	started sync.Once
	mu      sync.Mutex
	cfg     *config.Config

	// The engine state and what it was built from, guarded by stateMu:
	// seq is the store's change sequence it has seen.
	stateMu       sync.Mutex
	eng           *engine.Engine
	state         *engine.State
	stateCfg      *config.Config
	members       []model.TeamMember
	identities    []model.Identity
	seq           int64
	lastUpdated   int
	deps          bool // some stored item has a dependency edge: keep every node
	hasMilestones bool

	// comments: the Jira comment policy, set from the engine state on
	// every rebuild (comments.go).
	comments CommentPolicy

	ready bool
	// synced: a sync of some target succeeded since the start; failed:
	// the last recomputation's error (nil when it succeeded).
	synced  bool
	failed  error
	trigger chan struct{}
}

// Ready reports whether a snapshot worth serving is published: the last
// recomputation succeeded, and it saw stored data or followed a successful
// sync. A fresh store that no sync has filled yet is not ready: a new
// install that cannot reach its sources must not look healthy.
func (s *Syncer) Ready() bool {
	ok, _ := s.Readiness()
	return ok
}

// Readiness is Ready with the reason when not ready: "first sync running"
// or "recomputation failing: <error naming the store file>".
func (s *Syncer) Readiness() (bool, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.failed != nil:
		return false, "recomputation failing: " + s.failed.Error()
	case !s.ready:
		return false, "first sync running"
	}
	return true, ""
}

// recomputed records the outcome of a recomputation in the readiness
// state and the health metrics.
func (s *Syncer) recomputed(err error, ready bool) {
	s.mu.Lock()
	s.failed = err
	if ready {
		s.ready = true
	}
	s.mu.Unlock()
	s.Health.SetSnapshot(err == nil, s.now())
}

func (s *Syncer) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Recompute brings the engine's state up to date with the store and
// publishes a snapshot as of now.
//
// The state (engine.State) is kept between recomputations: after a sync
// only the items the store marked changed since the last read are streamed
// into it and re-derived. The first recomputation, a configuration reload
// (new cfg), and a change of the stored team members or identity facts
// (which decide every item's teams) rebuild it by streaming the whole store
// item by item; no events are held.
func (s *Syncer) Recompute(ctx context.Context) error {
	s.mu.Lock()
	cfg := s.cfg
	synced := s.synced
	s.mu.Unlock()
	if cfg == nil {
		return errors.New("no configuration")
	}
	// One recomputation at a time: the state is not safe for concurrent
	// use, and two Runs may overlap across a reload.
	s.stateMu.Lock()
	defer s.stateMu.Unlock()
	start := time.Now()
	snap, rebuilt, err := s.update(ctx, cfg)
	if err != nil {
		err = fmt.Errorf("load store %s: %w", s.Store.Path(), err)
		if ctx.Err() == nil {
			s.recomputed(err, false)
		}
		return err
	}
	took := time.Since(start)
	// The stored event counts: every stored event belongs to an item the
	// state derived, so the snapshot's counts are the store's (a count(*)
	// over the events table would scan it again). Set before the snapshot
	// so that a scrape seeing the new snapshot sees its counts.
	counts := map[string]int64{}
	for src, n := range snap.Events {
		counts[src] = int64(n)
	}
	s.Health.SetStored(counts)
	s.Snapshot.Set(snap, took)
	s.recomputed(nil, synced || s.state.Len() > 0 || s.hasMilestones)
	s.Logger.Debug("snapshot published", "items", sum(snap.Items), "events", sum(snap.Events), "stalled", snap.StalledTotal,
		"rebuilt", rebuilt, "updated", s.lastUpdated, "took", took)
	// Rewrite the packed events of items whose events came out of order
	// since (the next full read is then one row per item); after the
	// snapshot is published, so it never delays one.
	start = time.Now()
	if n, err := s.Store.Repack(ctx); err != nil {
		if ctx.Err() == nil {
			s.Logger.Error("repacking stored events failed", "err", err)
		}
	} else if n > 0 {
		s.Logger.Debug("stored events repacked", "items", n, "took", time.Since(start))
	}
	return nil
}

// update reads the store and returns the snapshot as of now.
func (s *Syncer) update(ctx context.Context, cfg *config.Config) (_ *engine.Snapshot, rebuilt bool, err error) {
	r, err := s.Store.Read(ctx)
	if err != nil {
		return nil, false, err
	}
	defer r.Close()
	members, err := r.Members(ctx)
	if err != nil {
		return nil, false, err
	}
	ids, err := r.Identities(ctx)
	if err != nil {
		return nil, false, err
	}
	ms, err := r.Milestones(ctx)
	if err != nil {
		return nil, false, err
	}
	s.hasMilestones = len(ms) > 0
	since := s.seq
	// A sequence behind the one last seen: the store file was replaced
	// (restored from a backup); its items are not the state's.
	if s.state == nil || s.stateCfg != cfg || r.Seq() < s.seq ||
		!reflect.DeepEqual(members, s.members) || !reflect.DeepEqual(ids, s.identities) {
		s.eng = engine.New(cfg, members, s.Engine)
		if !s.deps {
			// Known before the walk, so the first walk keeps every
			// item's dependency node instead of walking again at the
			// first edge (twice the first recomputation after a start).
			if s.deps, err = r.HasDependencies(ctx); err != nil {
				return nil, false, err
			}
		}
		s.state = s.eng.NewState(ids, ms, s.deps)
		s.stateCfg, s.members, s.identities = cfg, members, ids
		since, rebuilt = 0, true
		s.comments.set(s.eng.CommentJudge(ids))
	} else {
		s.state.SetMilestones(ms)
	}
	n := 0
	for {
		st := s.state
		if err := pipelined(ctx, r, since, func(source, key string, it *model.Item, evs []model.Event) {
			st.Update(source, key, it, evs)
			n++
		}); err != nil {
			if rebuilt {
				s.state = nil // half built: rebuild next time
			}
			// Otherwise the items updated so far are re-read next time
			// with the rest (an Update is a replacement, so repeating it
			// is safe).
			return nil, rebuilt, err
		}
		if !st.NeedsDependencies() {
			break
		}
		// The first dependency edge: every item's dependency node is
		// needed from now on, so build the state again keeping them.
		s.deps = true
		s.state = s.eng.NewState(ids, ms, true)
		since, rebuilt = 0, true
	}
	st := s.state
	s.seq, s.lastUpdated = r.Seq(), n
	now := s.now()
	snap, err := st.Snapshot(now)
	if errors.Is(err, engine.ErrBeforeHorizon) {
		// Something stored lies after now (a source's clock ahead of
		// ours): the state, which derives everything stored, cannot say
		// what was true now. Compute this snapshot from scratch with
		// the derivation cut at now, streaming the store again.
		s.Logger.Warn("stored events after now (clock skew?); computing the snapshot from scratch", "store", s.Store.Path(), "err", err)
		cut := s.eng.NewStateAsOf(ids, ms, now, true)
		if err := r.Items(ctx, 0, func(source, key string, it *model.Item, evs []model.Event) error {
			cut.Update(source, key, it, evs)
			return nil
		}); err != nil {
			return nil, rebuilt, err
		}
		snap, err = cut.Snapshot(now)
	}
	if err != nil {
		return nil, rebuilt, err
	}
	return snap, rebuilt, nil
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// Run syncs targets until ctx ends. Calling Run again (after a reload)
// with new targets replaces the previous set: cancel the previous ctx first.
func (s *Syncer) Run(ctx context.Context, cfg *config.Config, targets []Target) {
	s.mu.Lock()
	s.cfg = cfg
	s.trigger = make(chan struct{}, 1)
	trigger := s.trigger
	s.mu.Unlock()

	// Serve what is stored at once: a restart shows the last numbers
	// before the first sync finishes.
	if err := s.Recompute(ctx); err != nil && ctx.Err() == nil {
		s.Logger.Error("computing snapshot from the store failed", "err", err)
	}
	if s.Started != nil {
		s.started.Do(s.Started)
	}
	var wg sync.WaitGroup
	interval := time.Duration(cfg.Sync.Interval)
	for _, t := range targets {
		if c, ok := t.(commentPolicied); ok {
			c.SetCommentPolicy(&s.comments)
		}
	}
	for _, t := range targets {
		s.Health.Register(t.Source(), t.Name())
		wg.Add(1)
		go func(t Target) {
			defer wg.Done()
			s.loop(ctx, t, interval, trigger)
		}(t)
	}
	// One recomputation at a time, coalescing triggers from all targets.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-ctx.Done():
				return
			case <-trigger:
				if err := s.Recompute(ctx); err != nil && ctx.Err() == nil {
					s.Logger.Error("computing snapshot failed", "err", err)
				}
			}
		}
	}()
	wg.Wait()
}

// loop syncs one target on the interval. A failed sync is retried with
// capped exponential backoff (with jitter), never faster than 5 s and never
// slower than the interval.
func (s *Syncer) loop(ctx context.Context, t Target, interval time.Duration, trigger chan<- struct{}) {
	failures := 0
	for {
		start := time.Now()
		syncCtx := ctx
		if s.SyncContext != nil {
			syncCtx = s.SyncContext
		}
		err := s.syncSafely(syncCtx, t)
		if ctx.Err() != nil || syncCtx.Err() != nil {
			return
		}
		d := time.Since(start)
		if s.Health.SyncDone(t.Source(), t.Name(), d, err, s.now()) {
			if err != nil {
				s.Logger.Error("sync failed", "source", t.Source(), "target", t.Name(), "err", err)
			} else {
				s.Logger.Info("sync recovered", "source", t.Source(), "target", t.Name())
			}
		}
		wait := interval
		if err != nil {
			failures++
			wait = backoff(failures, interval)
		} else {
			failures = 0
			s.mu.Lock()
			s.synced = true
			s.mu.Unlock()
			s.Logger.Debug("sync done", "source", t.Source(), "target", t.Name(), "took", d)
			select {
			case trigger <- struct{}{}:
			default:
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// syncSafely runs one sync and turns a panic into that target's error, so
// a bug or a surprising payload in one collector never takes the exporter
// (and every other target) down. The stack goes to the debug log only.
func (s *Syncer) syncSafely(ctx context.Context, t Target) (err error) {
	defer func() {
		if r := recover(); r != nil {
			s.Logger.Debug("sync panicked", "source", t.Source(), "target", t.Name(), "stack", string(debug.Stack()))
			err = fmt.Errorf("%s target %q: sync panicked: %v", t.Source(), t.Name(), r)
		}
	}()
	return t.Sync(ctx)
}

func backoff(failures int, max time.Duration) time.Duration {
	return resilience.HalfJitter(resilience.Exponential(failures, 5*time.Second, max))
}
