package engine

import (
	"sort"
	"strings"
	"time"

	"github.com/crossteam/crossteam/config"
	"github.com/crossteam/crossteam/model"
)

// Options change what a computation keeps.
type Options struct {
	// KeepHandoffs fills Snapshot.Handoffs with every derived handoff (for
	// tests, the demo's ground-truth check and debugging).
	KeepHandoffs bool
	// KeepSignalItems fills SignalStats.Items with the open items of each
	// signal (for the weekly review, which lists what changed).
	KeepSignalItems bool
	// Sharded: this exporter holds one shard of the items (--shard=i/n).
	// Milestone groups are then exported whatever their number of teams
	// and however long ago they completed here, because joint-ness and
	// completion are only known across shards: the dashboards and rules
	// aggregate them (see doc.go, Sharding).
	Sharded bool
}

// Engine holds the lookup tables derived from one configuration. It is
// immutable after New, so one Engine may serve concurrent Compute calls.
type Engine struct {
	cfg          *config.Config
	opts         Options
	teams        []string
	teamIdx      map[string]int
	ghExtra      map[string]int // lower(login) -> team, from expanded GitHub teams
	ghTeams      map[string]int // lower("org/slug") -> team
	clocks       []*workClock   // per team; nil = calendar time
	stallAfter   [][]time.Duration
	agreements   [][]*Agreement // [from][to]; nil: no agreement
	stallWorking bool
	sigLabels    map[string][]int // lower(label) -> signal indexes
	sigNames     map[string]int
	recs         recordSignals
}

// New prepares an engine for cfg. members are the stored expansions of
// GitHub teams; a login configured explicitly keeps its configured team.
func New(cfg *config.Config, members []model.TeamMember, opts Options) *Engine {
	e := &Engine{
		cfg:          cfg,
		opts:         opts,
		teams:        cfg.TeamNames(),
		teamIdx:      map[string]int{},
		ghExtra:      map[string]int{},
		ghTeams:      map[string]int{},
		stallWorking: cfg.Handoffs.StallClock == config.ClockWorking,
		sigLabels:    map[string][]int{},
		sigNames:     map[string]int{},
	}
	for i, t := range e.teams {
		e.teamIdx[t] = i
		for _, gt := range cfg.Teams[t].GitHubTeams {
			e.ghTeams[strings.ToLower(gt)] = i
		}
		e.clocks = append(e.clocks, newWorkClock(cfg.CalendarOf(t)))
	}
	for _, m := range members {
		if m.Source != model.SourceGitHub {
			continue
		}
		if i, ok := e.teamIdx[m.Team]; ok {
			e.ghExtra[strings.ToLower(m.Identity)] = i
		}
	}
	n := len(e.teams)
	e.stallAfter = make([][]time.Duration, n)
	e.agreements = make([][]*Agreement, n)
	for i := range e.stallAfter {
		e.stallAfter[i] = make([]time.Duration, n)
		e.agreements[i] = make([]*Agreement, n)
		for j := range e.stallAfter[i] {
			e.stallAfter[i][j] = cfg.StallAfter(e.teams[i], e.teams[j])
			e.agreements[i][j] = agreementOf(cfg, e.teams[i], e.teams[j])
		}
	}
	e.recs = newRecordSignals(cfg)
	for i, s := range cfg.Signals {
		e.sigNames[s.Name] = i
		for _, l := range s.GitHubLabels {
			k := strings.ToLower(l)
			e.sigLabels[k] = append(e.sigLabels[k], i)
		}
	}
	return e
}

// Compute derives the snapshot as of asOf from a stored dataset. It is a pure
// function of (ds, configuration, asOf): events after asOf are ignored, so
// evaluating an earlier instant reproduces what the exporter would have shown
// then.
func Compute(ds *model.Dataset, cfg *config.Config, asOf time.Time) *Snapshot {
	return New(cfg, ds.Members, Options{}).Compute(ds, asOf)
}

// Compute derives the snapshot as of asOf.
func (e *Engine) Compute(ds *model.Dataset, asOf time.Time) *Snapshot {
	c := newComputation(e, asOf)
	c.aliases = aliasesOf(ds.Identities)
	for i := range ds.Milestones {
		if m := &ds.Milestones[i]; m.Source == model.SourceJira && strings.HasPrefix(m.Key, model.JiraEpicPrefix) {
			c.epicTitles[m.Key] = m.Title
		}
	}
	type ikey struct{ source, key string }
	index := make(map[ikey]int, len(ds.Items))
	for i := range ds.Items {
		index[ikey{ds.Items[i].Source, ds.Items[i].Key}] = i
	}
	c.rset.targets = dependencyTargets(ds.Events)
	seen := make([]bool, len(ds.Items))
	evs := ds.Events
	for start := 0; start < len(evs); {
		end := start + 1
		for end < len(evs) && evs[end].ItemKey == evs[start].ItemKey && evs[end].Source == evs[start].Source {
			end++
		}
		var it *model.Item
		if i, ok := index[ikey{evs[start].Source, evs[start].ItemKey}]; ok {
			it = &ds.Items[i]
			seen[i] = true
		} else {
			// Events whose item record is missing (not synced yet): replay
			// them with what the events say.
			it = &model.Item{Source: evs[start].Source, Key: evs[start].ItemKey, Created: evs[start].At}
		}
		c.item(it, evs[start:end])
		start = end
	}
	for i := range ds.Items {
		if !seen[i] {
			c.item(&ds.Items[i], nil)
		}
	}
	return c.finish(ds.Milestones)
}

// computation is the mutable state of one Compute call.
type computation struct {
	e        *Engine
	asOf     time.Time
	snap     *Snapshot
	pairs    map[PairKey]*PairStats
	teamMemo map[string]map[string]int // source -> actor -> team (-1 none)
	aliases  map[[2]string][]string    // (source, account) -> stored aliases, key before email
	ms       map[msKey]*msAgg
	signals  map[[2]string]*SignalStats
	// epicTitles maps a Jira epic milestone value to the epic's summary.
	epicTitles map[string]string
	stalled    []StalledHandoff
	rset       recordSet // decisions, actions, dependencies (records.go)
	r          replay    // reused per item
}

func newComputation(e *Engine, asOf time.Time) *computation {
	return &computation{
		e:    e,
		asOf: asOf,
		snap: &Snapshot{
			AsOf:                asOf,
			ItemCycle:           map[ItemCycleKey]*Histogram{},
			MilestonesCompleted: map[CompletedKey]uint64{},
			Items:               map[string]int{},
			Events:              map[string]int{},
			UnmappedStatuses:    map[string]int{},
		},
		pairs:      map[PairKey]*PairStats{},
		teamMemo:   map[string]map[string]int{},
		ms:         map[msKey]*msAgg{},
		signals:    map[[2]string]*SignalStats{},
		epicTitles: map[string]string{},
	}
}

// actorTeam resolves an actor identity to a team index, or -1.
func (c *computation) actorTeam(source, actor string) int {
	if actor == "" {
		return -1
	}
	m := c.teamMemo[source]
	if m == nil {
		m = map[string]int{}
		c.teamMemo[source] = m
	}
	if t, ok := m[actor]; ok {
		return t
	}
	t := -1
	if name, ok := c.e.cfg.TeamOf(source, actor); ok {
		t = c.e.teamIdx[name]
	} else if source == model.SourceGitHub {
		if i, ok := c.e.ghExtra[strings.ToLower(actor)]; ok {
			t = i
		}
	} else {
		for _, alias := range c.aliases[[2]string{source, actor}] {
			if name, ok := c.e.cfg.TeamOf(source, alias); ok {
				t = c.e.teamIdx[name]
				break
			}
		}
	}
	m[actor] = t
	return t
}

// aliasesOf indexes the stored identity facts by account. A member
// configured by a Data Center user key is matched before one configured by
// email (a key cannot change; an email can).
func aliasesOf(ids []model.Identity) map[[2]string][]string {
	out := make(map[[2]string][]string, len(ids))
	for i := range ids {
		id := &ids[i]
		k := [2]string{id.Source, id.Account}
		if id.Kind == model.IdentityKey {
			out[k] = append([]string{id.Value}, out[k]...)
		} else {
			out[k] = append(out[k], id.Value)
		}
	}
	return out
}

func (c *computation) pair(source string, from, to int) *PairStats {
	k := PairKey{Source: source, From: c.e.teams[from], To: c.e.teams[to]}
	p := c.pairs[k]
	if p == nil {
		p = &PairStats{PairKey: k, Agreement: c.e.agreements[from][to]}
		c.pairs[k] = p
	}
	return p
}

// agreementOf resolves the agreement of a pair, nil when none applies.
func agreementOf(cfg *config.Config, from, to string) *Agreement {
	a, key, ok := cfg.AgreementOf(from, to)
	if !ok {
		return nil
	}
	obj := func(o *config.Objective) Objective {
		return Objective{Ratio: o.Ratio, Target: time.Duration(o.Within), Working: o.Clock == config.ClockWorking}
	}
	out := &Agreement{Key: key, Pickup: obj(a.Pickup), Window: time.Duration(a.Window), NotifySender: a.NotifySender}
	if a.Cycle != nil {
		c := obj(a.Cycle)
		out.Cycle = &c
	}
	return out
}

// within reports whether a time from start to end meets an objective's
// target, on the clock the objective names.
func within(o Objective, clock *workClock, start, end time.Time) bool {
	d := end.Sub(start)
	if o.Working {
		d = clock.between(start, end)
	}
	return d <= o.Target
}

// record folds one item's handoffs into the pair figures.
func (c *computation) record(it *model.Item, hs []handoff) {
	for i := range hs {
		h := &hs[i]
		p := c.pair(it.Source, h.from, h.to)
		p.Handoffs++
		if h.bounce {
			c.pair(it.Source, h.to, h.from).Bounces++
		}
		clock := c.e.clocks[h.to]
		if !h.pickup.IsZero() {
			p.Pickup.Observe(h.pickup.Sub(h.start))
			p.PickupWorking.Observe(clock.between(h.start, h.pickup))
			if a := p.Agreement; a != nil && within(a.Pickup, clock, h.start, h.pickup) {
				p.PickupsWithin++
			}
		}
		var idle, idleW time.Duration
		stalled := false
		if !h.done.IsZero() {
			p.Cycle.Observe(h.done.Sub(h.start))
			p.CycleWorking.Observe(clock.between(h.start, h.done))
			if a := p.Agreement; a != nil && a.Cycle != nil && within(*a.Cycle, clock, h.start, h.done) {
				p.CyclesWithin++
			}
			pk := h.pickup
			if pk.IsZero() || pk.After(h.done) {
				pk = h.done
			}
			blockedWaiting := c.r.blockedBetween(h.start, pk)
			blocked := c.r.blockedBetween(h.start, h.done)
			p.Waiting.Observe(pk.Sub(h.start) - blockedWaiting)
			p.Active.Observe(h.done.Sub(pk) - (blocked - blockedWaiting))
			p.Blocked.Observe(blocked)
		} else {
			if h.pickup.IsZero() {
				p.OpenWaiting++
				if w := c.asOf.Sub(h.start); w > p.OldestWaiting {
					p.OldestWaiting = w
				}
			} else {
				p.OpenInProgress++
			}
			since := h.start
			if h.lastActivity.After(since) {
				since = h.lastActivity
			}
			idle = c.asOf.Sub(since)
			idleW = clock.between(since, c.asOf)
			measure := idle
			if c.e.stallWorking {
				measure = idleW
			}
			if measure > c.e.stallAfter[h.from][h.to] {
				stalled = true
				p.Stalled++
				c.stalled = append(c.stalled, StalledHandoff{
					Source: it.Source, Key: it.Key, URL: it.URL, Title: it.Title, Kind: h.kind,
					From: c.e.teams[h.from], To: c.e.teams[h.to], Start: h.start, Idle: idle, IdleWorking: idleW,
				})
			}
		}
		if c.e.opts.KeepHandoffs {
			c.snap.Handoffs = append(c.snap.Handoffs, Handoff{
				Source: it.Source, ItemKey: it.Key, Kind: h.kind,
				From: c.e.teams[h.from], To: c.e.teams[h.to],
				Start: h.start, Pickup: h.pickup, Done: h.done, DoneReason: h.doneReason,
				Bounce: h.bounce, LastActivity: h.lastActivity,
				Idle: idle, IdleWorking: idleW, Stalled: stalled,
			})
		}
	}
}

// teamsBucket is the item_cycle_seconds `teams` label.
func teamsBucket(n int) string {
	switch n {
	case 1:
		return "1"
	case 2:
		return "2"
	case 3:
		return "3"
	}
	return "4+"
}

func (c *computation) finish(milestones []model.Milestone) *Snapshot {
	s := c.snap
	for _, p := range c.pairs {
		s.Pairs = append(s.Pairs, *p)
	}
	sortPairs(s.Pairs)
	sortStalled(c.stalled)
	s.StalledTotal = len(c.stalled)
	if max := c.e.cfg.Handoffs.MaxStalledExported; len(c.stalled) > max {
		c.stalled = c.stalled[:max]
	}
	s.Stalled = c.stalled
	for _, st := range c.signals {
		s.Signals = append(s.Signals, *st)
	}
	sort.Slice(s.Signals, func(i, j int) bool {
		if s.Signals[i].Signal != s.Signals[j].Signal {
			return s.Signals[i].Signal < s.Signals[j].Signal
		}
		return s.Signals[i].Team < s.Signals[j].Team
	})
	if c.e.opts.KeepHandoffs {
		sort.SliceStable(s.Handoffs, func(i, j int) bool {
			a, b := s.Handoffs[i], s.Handoffs[j]
			if a.Source != b.Source {
				return a.Source < b.Source
			}
			if a.ItemKey != b.ItemKey {
				return a.ItemKey < b.ItemKey
			}
			return a.Start.Before(b.Start)
		})
	}
	c.finishMilestones(milestones)
	s.Records = c.rset.evaluate(c.e, c.asOf, milestoneDue(milestones))
	return s
}

// sortPairs orders pairs by source, from team and to team.
func sortPairs(pairs []PairStats) {
	sort.Slice(pairs, func(i, j int) bool {
		a, b := pairs[i].PairKey, pairs[j].PairKey
		if a.Source != b.Source {
			return a.Source < b.Source
		}
		if a.From != b.From {
			return a.From < b.From
		}
		return a.To < b.To
	})
}

// sortStalled orders stalled handoffs longest idle first, then by source,
// item and kind.
func sortStalled(list []StalledHandoff) {
	sort.Slice(list, func(i, j int) bool {
		a, b := list[i], list[j]
		if a.Idle != b.Idle {
			return a.Idle > b.Idle
		}
		if a.Source != b.Source {
			return a.Source < b.Source
		}
		if a.Key != b.Key {
			return a.Key < b.Key
		}
		return a.Kind < b.Kind
	})
}
