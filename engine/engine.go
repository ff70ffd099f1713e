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

// Compute derives the snapshot as of asOf. It runs the incremental State's
// code path (derive every item, then evaluate at asOf) with the derivation
// cut at asOf, so a State fed the same items gives the same snapshot.
func (e *Engine) Compute(ds *model.Dataset, asOf time.Time) *Snapshot {
	st := e.newState(ds.Identities, ds.Milestones, asOf, dependencyTargets(ds.Events) != nil)
	type ikey struct{ source, key string }
	index := make(map[ikey]int, len(ds.Items))
	for i := range ds.Items {
		index[ikey{ds.Items[i].Source, ds.Items[i].Key}] = i
	}
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
		}
		st.Update(evs[start].Source, evs[start].ItemKey, it, evs[start:end])
		start = end
	}
	for i := range ds.Items {
		if !seen[i] {
			st.Update(ds.Items[i].Source, ds.Items[i].Key, &ds.Items[i], nil)
		}
	}
	return st.snapshot(asOf)
}

// computation derives items: the per-item replay and the memoised actor
// resolution, both pure functions of (configuration, identities, item,
// events up to horizon).
type computation struct {
	e        *Engine
	horizon  time.Time                 // events after it are ignored
	deps     bool                      // keep every item's dependency node (itemRecords)
	teamMemo map[string]map[string]int // source -> actor -> team (-1 none)
	aliases  map[[2]string][]string    // (source, account) -> stored aliases, key before email
	r        replay                    // reused per item
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

// record derives the instant-independent figures of one item's handoffs:
// the observations of pickups and done handoffs, and the open handoffs
// that State.Snapshot evaluates at each instant.
func (c *computation) record(d *derived, hs []handoff) {
	for i := range hs {
		h := &hs[i]
		o := handoffObs{from: int16(h.from), to: int16(h.to)}
		if h.bounce {
			o.flags |= obsBounce
		}
		clock := c.e.clocks[h.to]
		agr := c.e.agreements[h.from][h.to]
		if !h.pickup.IsZero() {
			o.flags |= obsPickup
			o.pickup = h.pickup.Sub(h.start)
			o.pickupW = clock.between(h.start, h.pickup)
			if agr != nil && within(agr.Pickup, clock, h.start, h.pickup) {
				o.flags |= obsPickupWithin
			}
		}
		if !h.done.IsZero() {
			o.flags |= obsDone
			o.cycle = h.done.Sub(h.start)
			o.cycleW = clock.between(h.start, h.done)
			if agr != nil && agr.Cycle != nil && within(*agr.Cycle, clock, h.start, h.done) {
				o.flags |= obsCycleWithin
			}
			pk := h.pickup
			if pk.IsZero() || pk.After(h.done) {
				pk = h.done
			}
			blockedWaiting := c.r.blockedBetween(h.start, pk)
			blocked := c.r.blockedBetween(h.start, h.done)
			o.waiting = pk.Sub(h.start) - blockedWaiting
			o.active = h.done.Sub(pk) - (blocked - blockedWaiting)
			o.blocked = blocked
		} else {
			d.open = append(d.open, openHandoff{kind: h.kind, from: int16(h.from), to: int16(h.to),
				start: h.start, pickup: h.pickup, lastActivity: h.lastActivity, index: int32(i)})
		}
		d.obs = append(d.obs, o)
		if c.e.opts.KeepHandoffs {
			d.all = append(d.all, Handoff{
				Source: d.source, ItemKey: d.key, Kind: h.kind,
				From: c.e.teams[h.from], To: c.e.teams[h.to],
				Start: h.start, Pickup: h.pickup, Done: h.done, DoneReason: h.doneReason,
				Bounce: h.bounce, LastActivity: h.lastActivity,
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
// item, kind, receiving and sending team and start.
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
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		// An item has at most one open handoff per kind and receiving
		// team; these make the order total, so it never depends on the
		// order handoffs were evaluated in.
		if a.To != b.To {
			return a.To < b.To
		}
		if a.From != b.From {
			return a.From < b.From
		}
		return a.Start.Before(b.Start)
	})
}
