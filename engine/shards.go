package engine

import (
	"sort"
	"time"

	"github.com/crossteam/crossteam/config"
)

// MergeShards combines the snapshots of n sharded exporters (each computed
// with Options.Sharded over its own repositories and projects, at the same
// asOf) into the snapshot one unsharded exporter computes over everything.
// It is the in-process form of the aggregation the dashboards and rules do
// in PromQL (doc.go, Sharding), so the sharding test can check those rules
// against a single instance. Handoffs are not merged.
func MergeShards(cfg *config.Config, shards ...*Snapshot) *Snapshot {
	out := &Snapshot{
		ItemCycle:           map[ItemCycleKey]*Histogram{},
		MilestonesCompleted: map[CompletedKey]uint64{},
		Items:               map[string]int{},
		Events:              map[string]int{},
		UnmappedStatuses:    map[string]int{},
	}
	pairs := map[PairKey]*PairStats{}
	type sigKey struct{ signal, team string }
	signals := map[sigKey]*SignalStats{}
	type msKey struct{ source, title string }
	type msMerge struct {
		MilestoneStats
		exporters, completed int
	}
	ms := map[msKey]*msMerge{}
	for _, s := range shards {
		out.AsOf = s.AsOf
		for _, p := range s.Pairs {
			m := pairs[p.PairKey]
			if m == nil {
				m = &PairStats{PairKey: p.PairKey, Agreement: p.Agreement}
				pairs[p.PairKey] = m
			}
			m.Handoffs += p.Handoffs
			m.PickupsWithin += p.PickupsWithin
			m.CyclesWithin += p.CyclesWithin
			m.Bounces += p.Bounces
			m.Pickup.add(&p.Pickup)
			m.PickupWorking.add(&p.PickupWorking)
			m.Cycle.add(&p.Cycle)
			m.CycleWorking.add(&p.CycleWorking)
			m.Waiting.add(&p.Waiting)
			m.Active.add(&p.Active)
			m.Blocked.add(&p.Blocked)
			m.OpenWaiting += p.OpenWaiting
			m.OpenInProgress += p.OpenInProgress
			m.Stalled += p.Stalled
			m.OldestWaiting = max(m.OldestWaiting, p.OldestWaiting)
		}
		out.Stalled = append(out.Stalled, s.Stalled...)
		out.StalledTotal += s.StalledTotal
		for k, h := range s.ItemCycle {
			if out.ItemCycle[k] == nil {
				out.ItemCycle[k] = &Histogram{}
			}
			out.ItemCycle[k].add(h)
		}
		for _, x := range s.Signals {
			k := sigKey{x.Signal, x.Team}
			m := signals[k]
			if m == nil {
				m = &SignalStats{Signal: x.Signal, Team: x.Team}
				signals[k] = m
			}
			m.Open += x.Open
			m.Oldest = max(m.Oldest, x.Oldest)
		}
		for k, v := range s.Items {
			out.Items[k] += v
		}
		for k, v := range s.Events {
			out.Events[k] += v
		}
		for k, v := range s.UnmappedStatuses {
			out.UnmappedStatuses[k] += v
		}
		for _, x := range s.Milestones {
			k := msKey{x.Source, x.Title}
			m := ms[k]
			if m == nil {
				m = &msMerge{MilestoneStats: MilestoneStats{Source: x.Source, Title: x.Title, URL: x.URL,
					TeamOpen: map[string]int{}, TeamClosed: map[string]int{}}}
				ms[k] = m
			}
			m.exporters++
			m.Open += x.Open
			m.Closed += x.Closed
			for t, n := range x.TeamOpen {
				m.TeamOpen[t] += n
			}
			for t, n := range x.TeamClosed {
				m.TeamClosed[t] += n
			}
			if !x.Due.IsZero() && (m.Due.IsZero() || x.Due.Before(m.Due)) {
				m.Due = x.Due
			}
			if !x.Completed.IsZero() {
				m.completed++
				if x.Completed.After(m.Completed) {
					m.Completed = x.Completed
				}
			}
			if m.URL == "" {
				m.URL = x.URL
			}
		}
	}
	out.Records = mergeRecords(cfg, shards)
	for _, p := range pairs {
		out.Pairs = append(out.Pairs, *p)
	}
	sortPairs(out.Pairs)
	sortStalled(out.Stalled)
	if n := cfg.Handoffs.MaxStalledExported; len(out.Stalled) > n {
		out.Stalled = out.Stalled[:n]
	}
	for _, x := range signals {
		out.Signals = append(out.Signals, *x)
	}
	sort.Slice(out.Signals, func(i, j int) bool {
		if out.Signals[i].Signal != out.Signals[j].Signal {
			return out.Signals[i].Signal < out.Signals[j].Signal
		}
		return out.Signals[i].Team < out.Signals[j].Team
	})
	// Milestones: joint across shards, completed when every shard that
	// exports the group says so, then the single instance's window and cap.
	mc := cfg.Milestones
	for _, m := range ms {
		if m.completed < m.exporters {
			m.Completed = time.Time{}
		}
		var teams []string
		for t := range m.TeamOpen {
			if m.TeamOpen[t]+m.TeamClosed[t] > 0 {
				teams = append(teams, t)
			}
		}
		for t := range m.TeamClosed {
			if m.TeamOpen[t]+m.TeamClosed[t] == 0 {
				continue
			}
			if _, ok := m.TeamOpen[t]; !ok {
				teams = append(teams, t)
			}
		}
		if len(teams) < mc.MinTeams {
			continue
		}
		sort.Strings(teams)
		x := m.MilestoneStats
		x.Teams = teams
		teamOpen, teamClosed := map[string]int{}, map[string]int{}
		for _, t := range teams {
			teamOpen[t], teamClosed[t] = x.TeamOpen[t], x.TeamClosed[t]
		}
		x.TeamOpen, x.TeamClosed = teamOpen, teamClosed
		if !x.Completed.IsZero() {
			onTime := "none"
			if !x.Due.IsZero() {
				onTime = "false"
				if !x.Completed.After(x.Due) {
					onTime = "true"
				}
			}
			out.MilestonesCompleted[CompletedKey{Source: x.Source, OnTime: onTime}]++
			if out.AsOf.Sub(x.Completed) > time.Duration(mc.KeepCompleted) {
				continue
			}
		}
		out.Milestones = append(out.Milestones, x)
	}
	sortMilestones(out.Milestones)
	if len(out.Milestones) > mc.MaxExported {
		out.Milestones = out.Milestones[:mc.MaxExported]
	}
	return out
}

func (h *Histogram) add(o *Histogram) {
	for i := range h.Counts {
		h.Counts[i] += o.Counts[i]
	}
	h.Count += o.Count
	h.Sum += o.Sum
}
