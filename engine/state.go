package engine

import (
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/crossteam/crossteam/model"
)

// The incremental engine. A computation is split in two:
//
//   - derive (per item, instant-independent): replaying an item's events
//     gives its closed handoff observations, its open handoffs, its
//     milestone and signal membership, its owner and item cycle time
//     (type derived);
//   - evaluate (per instant, State.Snapshot): idle times, stalls, the
//     oldest waiting handoff and signal ages, from the open handoffs only.
//
// A State keeps every item's derived contribution and the sums of all of
// them. Update replaces one item's contribution (subtract the old, add the
// new), so a sync that touched 1% of the items costs 1% of a derivation.
// Sums are exact integers (counts, and durations as whole seconds plus
// nanoseconds), so the order items were added and removed in never shows:
// the snapshot is byte-identical to one computed from scratch
// (TestIncrementalMatchesScratch). Engine.Compute runs the same code.

// farFuture is the derivation horizon of a live State: every stored event
// counts. Snapshot checks that the instant is not before any of them.
var farFuture = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

// ErrBeforeHorizon: a State was asked for a snapshot at an instant before
// some stored event, item creation or close it has derived; a State
// derives everything stored, so such an instant needs Engine.Compute.
var ErrBeforeHorizon = errors.New("instant before stored history")

// handoffObs flags.
const (
	obsPickup uint8 = 1 << iota
	obsDone
	obsPickupWithin
	obsCycleWithin
	obsBounce
)

// handoffObs is what one handoff adds to its pair's counters and histograms.
type handoffObs struct {
	from, to int16
	flags    uint8
	// pickup and cycle times (calendar, working); flow time of a done
	// handoff.
	pickup, pickupW, cycle, cycleW time.Duration
	waiting, active, blocked       time.Duration
}

// openHandoff is an open handoff, evaluated at each instant.
type openHandoff struct {
	kind                        string
	from, to                    int16
	index                       int32 // in derived.all (Options.KeepHandoffs)
	start, pickup, lastActivity time.Time
}

// rawMs is a milestone value on an item before grouping: the group depends
// on milestone records (epic summaries) that change between syncs.
type rawMs struct{ source, repo, title string }

// derived is one item's instant-independent contribution.
type derived struct {
	source, key string
	url, title  string // only with open handoffs or kept signal items
	created     time.Time
	maxAt       time.Time // latest stored instant the derivation used
	counted     bool      // created at or before the horizon
	closed      bool
	events      int32
	obs         []handoffObs
	open        []openHandoff
	all         []Handoff // Options.KeepHandoffs only
	cycleTeams  string    // item cycle time's teams label; "" not observed
	cycle       time.Duration
	ms          []rawMs
	touched     []int16      // teams that owned or acted on it (only with ms)
	owner       int          // owner when open, -1 none
	sigs        []int16      // signals it matches, sorted, when open
	unmapped    string       // its Jira status when open and mapped to no team
	recs        *itemRecords // decisions, actions, dependency edges and node (records.go)
}

// exactHist is a Histogram with an exact sum: adding and removing
// observations in any order gives the same figures.
type exactHist struct {
	counts    [12]uint64
	count     uint64
	sec, nsec int64
}

func (h *exactHist) add(d time.Duration, sign int64) {
	s := d.Seconds()
	i := 0
	for i < len(Buckets) && s > Buckets[i] {
		i++
	}
	h.counts[i] += uint64(sign)
	h.count += uint64(sign)
	h.sec += sign * int64(d/time.Second)
	h.nsec += sign * int64(d%time.Second)
}

func (h *exactHist) histogram() Histogram {
	return Histogram{Counts: h.counts, Count: h.count, Sum: float64(h.sec) + float64(h.nsec)/1e9}
}

type pairK struct {
	source   string
	from, to int16
}

type pairAgg struct {
	refs                                           int // handoffs and bounces referring to the pair
	handoffs, bounces, pickupsWithin, cyclesWithin uint64
	pickup, pickupW, cycle, cycleW                 exactHist
	waiting, active, blocked                       exactHist
	openWaiting, openInProgress                    int
}

type sigK struct{ sig, owner int16 }

type sigAgg struct {
	items map[*derived]struct{}
	// oldest is the earliest creation among items; stale after the item
	// holding it is removed, then recomputed on the next snapshot.
	oldest time.Time
	stale  bool
}

type itemK struct{ source, key string }

// State is the incremental engine: every item's derived contribution and
// their sums, for one Engine (configuration and team members) and one set
// of identity facts. Feed it with Update, read it with Snapshot. A State is
// not safe for concurrent use.
type State struct {
	c       *computation
	e       *Engine
	bounded bool // Compute: derived up to the snapshot instant
	horizon time.Time
	items   map[itemK]*derived
	openIt  map[*derived]struct{}
	pairs   map[pairK]*pairAgg
	cycle   map[ItemCycleKey]*exactHist
	ms      map[rawMs]*msAgg
	sigs    map[sigK]*sigAgg
	nItems  map[string]int
	nEvents map[string]int
	unmap   map[string]int
	// milestone records and the epic summaries they give
	records    []model.Milestone
	epicTitles map[string]string
	// Records (records.go): the items with decisions, actions or
	// dependency edges, the dependency nodes by (source, key), and how
	// many edges are held.
	recItems map[*derived]struct{}
	nodes    map[[2]string]*depNode
	edges    int
}

// NewState returns an empty State over the engine's configuration and team
// members, the stored identity facts and milestone records. Identities and
// members decide every item's teams: when they change, build a new State.
//
// dependencies: keep every item's dependency node (who owned it when, when
// it was closed), which a dependency edge naming it as the blocking item
// needs. Without it only items with edges keep one, and the first edge
// makes NeedsDependencies true: build a new State with dependencies then.
func (e *Engine) NewState(identities []model.Identity, milestones []model.Milestone, dependencies bool) *State {
	return e.newState(identities, milestones, farFuture, dependencies)
}

// NeedsDependencies reports that the State holds a dependency edge but was
// built without dependencies: an edge may name an item whose node it did
// not keep. Rebuild it with dependencies.
func (s *State) NeedsDependencies() bool { return s.edges > 0 && !s.c.deps }

// NewStateAsOf returns an empty State whose derivation ignores everything
// after asOf, for one Snapshot at exactly asOf: a computation from scratch
// fed item by item (Engine.Compute without holding a Dataset).
func (e *Engine) NewStateAsOf(identities []model.Identity, milestones []model.Milestone, asOf time.Time, dependencies bool) *State {
	return e.newState(identities, milestones, asOf, dependencies)
}

func (e *Engine) newState(identities []model.Identity, milestones []model.Milestone, horizon time.Time, deps bool) *State {
	s := &State{
		c: &computation{e: e, horizon: horizon, deps: deps, teamMemo: map[string]map[string]int{},
			aliases: aliasesOf(identities)},
		recItems: map[*derived]struct{}{},
		nodes:    map[[2]string]*depNode{},
		e:        e,
		bounded:  !horizon.Equal(farFuture),
		items:    map[itemK]*derived{},
		openIt:   map[*derived]struct{}{},
		pairs:    map[pairK]*pairAgg{},
		cycle:    map[ItemCycleKey]*exactHist{},
		ms:       map[rawMs]*msAgg{},
		sigs:     map[sigK]*sigAgg{},
		nItems:   map[string]int{},
		nEvents:  map[string]int{},
		unmap:    map[string]int{},
	}
	s.SetMilestones(milestones)
	return s
}

// SetMilestones replaces the milestone records (due dates, completion, epic
// summaries). They are few and read whole on every sync.
func (s *State) SetMilestones(ms []model.Milestone) {
	s.records = ms
	s.epicTitles = map[string]string{}
	for i := range ms {
		if m := &ms[i]; m.Source == model.SourceJira && len(m.Key) > len(model.JiraEpicPrefix) && m.Key[:len(model.JiraEpicPrefix)] == model.JiraEpicPrefix {
			s.epicTitles[m.Key] = m.Title
		}
	}
}

// Len is the number of items the State holds.
func (s *State) Len() int { return len(s.items) }

// Update replaces the contribution of item (source, key) with the one its
// stored record it and events (all of them, ordered by time as the store
// returns them) give. it may be nil for events whose item record is not
// stored yet; with it nil and no events the item is removed.
func (s *State) Update(source, key string, it *model.Item, events []model.Event) {
	k := itemK{source, key}
	if old := s.items[k]; old != nil {
		s.apply(old, -1)
		delete(s.items, k)
	}
	if it == nil {
		if len(events) == 0 {
			return
		}
		// Events whose item record is missing (not synced yet): replay
		// them with what the events say.
		it = &model.Item{Source: source, Key: key, Created: events[0].At}
	}
	d := s.c.item(it, events)
	d.source, d.key = source, key
	for i := range d.all {
		d.all[i].Source, d.all[i].ItemKey = source, key
	}
	s.items[k] = d
	s.apply(d, 1)
	if d.maxAt.After(s.horizon) {
		s.horizon = d.maxAt
	}
}

func (s *State) pair(source string, from, to int16, create bool) *pairAgg {
	k := pairK{source, from, to}
	p := s.pairs[k]
	if p == nil && create {
		p = &pairAgg{}
		s.pairs[k] = p
	}
	return p
}

func addCount(m map[string]int, k string, n int) {
	if v := m[k] + n; v != 0 {
		m[k] = v
	} else {
		delete(m, k)
	}
}

// apply adds (sign 1) or removes (sign -1) one item's contribution.
func (s *State) apply(d *derived, sign int) {
	if !d.counted {
		return
	}
	s.applyRecords(d, sign)
	sg := int64(sign)
	u := uint64(sg)
	addCount(s.nItems, d.source, sign)
	if d.events > 0 {
		addCount(s.nEvents, d.source, sign*int(d.events))
	}
	for i := range d.obs {
		o := &d.obs[i]
		p := s.pair(d.source, o.from, o.to, true)
		p.refs += sign
		p.handoffs += u
		if o.flags&obsBounce != 0 {
			b := s.pair(d.source, o.to, o.from, true)
			b.refs += sign
			b.bounces += u
			if b.refs == 0 {
				delete(s.pairs, pairK{d.source, o.to, o.from})
			}
		}
		if o.flags&obsPickup != 0 {
			p.pickup.add(o.pickup, sg)
			p.pickupW.add(o.pickupW, sg)
			if o.flags&obsPickupWithin != 0 {
				p.pickupsWithin += u
			}
		}
		if o.flags&obsDone != 0 {
			p.cycle.add(o.cycle, sg)
			p.cycleW.add(o.cycleW, sg)
			if o.flags&obsCycleWithin != 0 {
				p.cyclesWithin += u
			}
			p.waiting.add(o.waiting, sg)
			p.active.add(o.active, sg)
			p.blocked.add(o.blocked, sg)
		} else if o.flags&obsPickup != 0 {
			p.openInProgress += sign
		} else {
			p.openWaiting += sign
		}
		if p.refs == 0 {
			delete(s.pairs, pairK{d.source, o.from, o.to})
		}
	}
	if len(d.open) > 0 {
		if sign > 0 {
			s.openIt[d] = struct{}{}
		} else {
			delete(s.openIt, d)
		}
	}
	if d.cycleTeams != "" {
		k := ItemCycleKey{Source: d.source, Teams: d.cycleTeams}
		h := s.cycle[k]
		if h == nil {
			h = &exactHist{}
			s.cycle[k] = h
		}
		h.add(d.cycle, sg)
		if h.count == 0 {
			delete(s.cycle, k)
		}
	}
	for _, raw := range d.ms {
		a := s.ms[raw]
		if a == nil {
			n := len(s.e.teams)
			a = &msAgg{teamOpen: make([]int, n), teamClosed: make([]int, n)}
			s.ms[raw] = a
		}
		if d.closed {
			a.closed += sign
		} else {
			a.open += sign
		}
		for _, t := range d.touched {
			if d.closed {
				a.teamClosed[t] += sign
			} else {
				a.teamOpen[t] += sign
			}
		}
		if a.open+a.closed == 0 {
			delete(s.ms, raw)
		}
	}
	if d.closed {
		return
	}
	for _, sig := range d.sigs {
		k := sigK{sig, int16(d.owner)}
		a := s.sigs[k]
		if sign > 0 {
			if a == nil {
				a = &sigAgg{items: map[*derived]struct{}{}, oldest: d.created}
				s.sigs[k] = a
			}
			a.items[d] = struct{}{}
			if !a.stale && d.created.Before(a.oldest) {
				a.oldest = d.created
			}
			continue
		}
		delete(a.items, d)
		if len(a.items) == 0 {
			delete(s.sigs, k)
		} else if d.created.Equal(a.oldest) {
			a.stale = true
		}
	}
	if d.unmapped != "" {
		addCount(s.unmap, d.unmapped, sign)
	}
}

// applyRecords adds or removes an item's records, edges and node.
func (s *State) applyRecords(d *derived, sign int) {
	ir := d.recs
	if ir == nil {
		return
	}
	if len(ir.Records)+len(ir.Edges) > 0 {
		if sign > 0 {
			s.recItems[d] = struct{}{}
		} else {
			delete(s.recItems, d)
		}
	}
	s.edges += sign * len(ir.Edges)
	if len(ir.Edges) > 0 || s.c.deps {
		k := [2]string{d.source, d.key}
		if sign > 0 {
			s.nodes[k] = &ir.Node
		} else {
			delete(s.nodes, k)
		}
	}
}

// Snapshot evaluates the State at asOf: the snapshot Engine.Compute gives
// for the same stored items at asOf. asOf must not be before any stored
// instant the State derived (ErrBeforeHorizon).
func (s *State) Snapshot(asOf time.Time) (*Snapshot, error) {
	if s.bounded && !asOf.Equal(s.c.horizon) {
		return nil, fmt.Errorf("snapshot at %s of a state derived as of %s", asOf.UTC().Format(time.RFC3339), s.c.horizon.UTC().Format(time.RFC3339))
	}
	if asOf.Before(s.horizon) {
		return nil, fmt.Errorf("snapshot at %s: %w (latest %s)", asOf.UTC().Format(time.RFC3339), ErrBeforeHorizon, s.horizon.UTC().Format(time.RFC3339))
	}
	return s.snapshot(asOf), nil
}

func (s *State) snapshot(asOf time.Time) *Snapshot {
	e := s.e
	snap := &Snapshot{
		AsOf:                asOf,
		ItemCycle:           make(map[ItemCycleKey]*Histogram, len(s.cycle)),
		MilestonesCompleted: map[CompletedKey]uint64{},
		Items:               make(map[string]int, len(s.nItems)),
		Events:              make(map[string]int, len(s.nEvents)),
		UnmappedStatuses:    make(map[string]int, len(s.unmap)),
	}
	for k, v := range s.nItems {
		snap.Items[k] = v
	}
	for k, v := range s.nEvents {
		snap.Events[k] = v
	}
	for k, v := range s.unmap {
		snap.UnmappedStatuses[k] = v
	}
	for k, h := range s.cycle {
		x := h.histogram()
		snap.ItemCycle[k] = &x
	}

	// Pairs: the sums, then the open handoffs evaluated at asOf.
	index := make(map[pairK]int, len(s.pairs))
	snap.Pairs = make([]PairStats, 0, len(s.pairs))
	for k, p := range s.pairs {
		index[k] = len(snap.Pairs)
		snap.Pairs = append(snap.Pairs, PairStats{
			PairKey:  PairKey{Source: k.source, From: e.teams[k.from], To: e.teams[k.to]},
			Handoffs: p.handoffs, Bounces: p.bounces,
			Pickup: p.pickup.histogram(), PickupWorking: p.pickupW.histogram(),
			Cycle: p.cycle.histogram(), CycleWorking: p.cycleW.histogram(),
			Waiting: p.waiting.histogram(), Active: p.active.histogram(), Blocked: p.blocked.histogram(),
			OpenWaiting: p.openWaiting, OpenInProgress: p.openInProgress,
			Agreement:     e.agreements[k.from][k.to],
			PickupsWithin: p.pickupsWithin, CyclesWithin: p.cyclesWithin,
		})
	}
	// Stalled: only the top max_stalled_exported are kept (in sortStalled's
	// order), the rest are counted: a large backlog of stalled handoffs
	// would otherwise cost a big slice and a full sort per snapshot.
	maxStalled := e.cfg.Handoffs.MaxStalledExported
	var top []stallCand
	total := 0
	type eval struct {
		idle, idleW time.Duration
		stalled     bool
	}
	var evals map[*Handoff]eval
	if e.opts.KeepHandoffs {
		evals = map[*Handoff]eval{}
	}
	for d := range s.openIt {
		for i := range d.open {
			h := &d.open[i]
			p := &snap.Pairs[index[pairK{d.source, h.from, h.to}]]
			clock := e.clocks[h.to]
			if h.pickup.IsZero() {
				if w := asOf.Sub(h.start); w > p.OldestWaiting {
					p.OldestWaiting = w
				}
			}
			since := h.start
			if h.lastActivity.After(since) {
				since = h.lastActivity
			}
			idle := asOf.Sub(since)
			idleW := clock.between(since, asOf)
			measure := idle
			if e.stallWorking {
				measure = idleW
			}
			st := measure > e.stallAfter[h.from][h.to]
			if st {
				p.Stalled++
				total++
				top = keepTop(top, stallCand{d: d, h: h, idle: idle, idleW: idleW}, maxStalled, e.teams)
			}
			if evals != nil {
				evals[&d.all[h.index]] = eval{idle, idleW, st}
			}
		}
	}
	sortPairs(snap.Pairs)
	snap.StalledTotal = total
	if len(top) > 0 {
		snap.Stalled = make([]StalledHandoff, len(top))
		for i, c := range top {
			d, h := c.d, c.h
			snap.Stalled[i] = StalledHandoff{
				Source: d.source, Key: d.key, URL: d.url, Title: d.title, Kind: h.kind,
				From: e.teams[h.from], To: e.teams[h.to], Start: h.start, Idle: c.idle, IdleWorking: c.idleW,
			}
		}
	}

	for k, a := range s.sigs {
		if a.stale {
			a.oldest, a.stale = time.Time{}, false
			for d := range a.items {
				if a.oldest.IsZero() || d.created.Before(a.oldest) {
					a.oldest = d.created
				}
			}
		}
		owner := "none"
		if k.owner >= 0 {
			owner = e.teams[k.owner]
		}
		st := SignalStats{Signal: e.cfg.Signals[k.sig].Name, Team: owner, Open: len(a.items), Oldest: asOf.Sub(a.oldest)}
		if e.opts.KeepSignalItems {
			for d := range a.items {
				st.Items = append(st.Items, SignalItem{Source: d.source, Key: d.key, URL: d.url, Title: d.title, Created: d.created})
			}
			sort.Slice(st.Items, func(i, j int) bool {
				a, b := st.Items[i], st.Items[j]
				if a.Source != b.Source {
					return a.Source < b.Source
				}
				return a.Key < b.Key
			})
		}
		snap.Signals = append(snap.Signals, st)
	}
	sort.Slice(snap.Signals, func(i, j int) bool {
		if snap.Signals[i].Signal != snap.Signals[j].Signal {
			return snap.Signals[i].Signal < snap.Signals[j].Signal
		}
		return snap.Signals[i].Team < snap.Signals[j].Team
	})

	if e.opts.KeepHandoffs {
		keys := make([]itemK, 0, len(s.items))
		for k, d := range s.items {
			if len(d.all) > 0 {
				keys = append(keys, k)
			}
		}
		sort.Slice(keys, func(i, j int) bool {
			if keys[i].source != keys[j].source {
				return keys[i].source < keys[j].source
			}
			return keys[i].key < keys[j].key
		})
		for _, k := range keys {
			d := s.items[k]
			for i := range d.all {
				h := d.all[i]
				if ev, ok := evals[&d.all[i]]; ok {
					h.Idle, h.IdleWorking, h.Stalled = ev.idle, ev.idleW, ev.stalled
				}
				snap.Handoffs = append(snap.Handoffs, h)
			}
		}
		sort.SliceStable(snap.Handoffs, func(i, j int) bool {
			a, b := snap.Handoffs[i], snap.Handoffs[j]
			if a.Source != b.Source {
				return a.Source < b.Source
			}
			if a.ItemKey != b.ItemKey {
				return a.ItemKey < b.ItemKey
			}
			return a.Start.Before(b.Start)
		})
	}
	s.finishMilestones(snap, asOf)
	snap.Records = s.evaluateRecords(asOf)
	return snap
}

// evaluateRecords evaluates the held records at asOf, items in (source,
// key) order so the histograms' float sums never depend on map order.
func (s *State) evaluateRecords(asOf time.Time) Records {
	items := make([]*derived, 0, len(s.recItems))
	for d := range s.recItems {
		items = append(items, d)
	}
	sort.Slice(items, func(i, j int) bool {
		if items[i].source != items[j].source {
			return items[i].source < items[j].source
		}
		return items[i].key < items[j].key
	})
	rs := recordSet{nodes: s.nodes}
	for _, d := range items {
		rs.records = append(rs.records, d.recs.Records...)
		rs.edges = append(rs.edges, d.recs.Edges...)
	}
	return rs.evaluate(s.e, asOf, milestoneDue(s.records))
}

// stallCand is a stalled handoff before the cap.
type stallCand struct {
	d           *derived
	h           *openHandoff
	idle, idleW time.Duration
}

// stallLess is sortStalled's order on candidates.
func stallLess(a, b *stallCand, teams []string) bool {
	if a.idle != b.idle {
		return a.idle > b.idle
	}
	if a.d.source != b.d.source {
		return a.d.source < b.d.source
	}
	if a.d.key != b.d.key {
		return a.d.key < b.d.key
	}
	if a.h.kind != b.h.kind {
		return a.h.kind < b.h.kind
	}
	if ta, tb := teams[a.h.to], teams[b.h.to]; ta != tb {
		return ta < tb
	}
	if fa, fb := teams[a.h.from], teams[b.h.from]; fa != fb {
		return fa < fb
	}
	return a.h.start.Before(b.h.start)
}

// keepTop inserts c into top (sorted by stallLess, at most n long).
func keepTop(top []stallCand, c stallCand, n int, teams []string) []stallCand {
	if n <= 0 {
		return top
	}
	if len(top) == n && !stallLess(&c, &top[n-1], teams) {
		return top
	}
	i := sort.Search(len(top), func(i int) bool { return stallLess(&c, &top[i], teams) })
	if len(top) < n {
		top = append(top, stallCand{})
	}
	copy(top[i+1:], top[i:len(top)-1])
	top[i] = c
	return top
}
