package engine

import (
	"time"
)

// Buckets are the upper bounds, in seconds, of every duration histogram:
// 15m, 1h, 4h, 12h, 1d, 2d, 3d, 5d, 7d, 14d, 30d.
var Buckets = []float64{
	15 * 60, 3600, 4 * 3600, 12 * 3600,
	86400, 2 * 86400, 3 * 86400, 5 * 86400, 7 * 86400, 14 * 86400, 30 * 86400,
}

// Histogram counts observations per bucket (not cumulative; the last slot is
// +Inf) with their sum, in seconds.
type Histogram struct {
	Counts [12]uint64
	Count  uint64
	Sum    float64
}

// Observe adds one duration.
func (h *Histogram) Observe(d time.Duration) {
	s := d.Seconds()
	i := 0
	for i < len(Buckets) && s > Buckets[i] {
		i++
	}
	h.Counts[i]++
	h.Count++
	h.Sum += s
}

// Cumulative returns the cumulative counts per upper bound, as Prometheus
// exposes them (without +Inf, which equals Count).
func (h *Histogram) Cumulative() map[float64]uint64 {
	m := make(map[float64]uint64, len(Buckets))
	var c uint64
	for i, b := range Buckets {
		c += h.Counts[i]
		m[b] = c
	}
	return m
}

// PairKey identifies a directed team pair in one source.
type PairKey struct {
	Source, From, To string
}

// PairStats are the handoff figures of one pair as of the snapshot instant.
// Counters and histograms cover the whole stored history up to AsOf.
type PairStats struct {
	PairKey
	Handoffs      uint64    // handoffs started
	Bounces       uint64    // handoffs From->To that To later handed back to From
	Pickup        Histogram // pickup time, calendar
	PickupWorking Histogram // pickup time, receiving team's working time
	Cycle         Histogram // handoff cycle time, calendar
	CycleWorking  Histogram // handoff cycle time, working time
	// Flow time of done handoffs (calendar): Waiting + Active + Blocked
	// is the cycle time.
	Waiting        Histogram // before the pickup, not blocked
	Active         Histogram // after the pickup, not blocked
	Blocked        Histogram // while the item was blocked
	OpenWaiting    int       // open, not picked up
	OpenInProgress int       // open, picked up
	Stalled        int       // open and idle past the pair's stall threshold
	OldestWaiting  time.Duration
	// Agreement is the working agreement that applies to the pair, nil
	// when none does.
	Agreement *Agreement
	// PickupsWithin counts the pickups within the agreement's pickup
	// target; CyclesWithin the handoffs done within its cycle target.
	// Their denominators are Pickup.Count and Cycle.Count.
	PickupsWithin uint64
	CyclesWithin  uint64
}

// Agreement is a resolved working agreement (config.Agreement).
type Agreement struct {
	Key    string     // the configured key, e.g. "design->backend" or "*->*"
	Pickup Objective  // required
	Cycle  *Objective // nil: no cycle objective
	Window time.Duration
	// NotifySender: copy the sending team when the budget burns.
	NotifySender bool
}

// Objective is one side of an agreement: Ratio of handoffs within Target,
// on the receiving team's working clock when Working.
type Objective struct {
	Ratio   float64
	Target  time.Duration
	Working bool
}

// Handoff kinds.
const (
	KindOwner  = "owner"  // the owning team changed
	KindReview = "review" // a pull request requested review from another team
)

// Done reasons.
const (
	DoneOwnerLeft = "owner_left"  // ownership moved on from the receiving team
	DoneClosed    = "closed"      // the item was closed or merged
	DoneApproved  = "approved"    // the receiving team approved the pull request
	DoneWithdrawn = "withdrawn"   // the review request was removed
	DoneUnowned   = "owner_unset" // the receiving team's marker/assignee was removed
)

// Handoff is one handoff as derived by the rules in handoffs.go.
type Handoff struct {
	Source, ItemKey, Kind string
	From, To              string
	Start                 time.Time
	Pickup                time.Time // zero: not picked up (yet)
	Done                  time.Time // zero: still open
	DoneReason            string
	Bounce                bool      // this handoff returned the item to the team it came from
	LastActivity          time.Time // last activity by the receiving team after Start (zero: none)
	Idle                  time.Duration
	IdleWorking           time.Duration
	Stalled               bool
}

// StalledHandoff is an open stalled handoff, exported per item (capped).
type StalledHandoff struct {
	Source, Key, URL, Title, Kind string
	From, To                      string
	Start                         time.Time
	Idle                          time.Duration // calendar time since the last activity by To (or the start)
	IdleWorking                   time.Duration // the same in To's working time
}

// ItemCycleKey groups item cycle times.
type ItemCycleKey struct {
	Source string
	Teams  string // "1", "2", "3", "4+"
}

// MilestoneStats describes one joint milestone.
type MilestoneStats struct {
	Source, Title string
	URL           string
	Due           time.Time // zero: no due date
	Completed     time.Time // zero: not completed
	Open, Closed  int       // items by state
	// TeamOpen/TeamClosed: items each contributing team owned or acted on.
	TeamOpen, TeamClosed map[string]int
	Teams                []string // contributing teams, sorted
}

// CompletedKey groups completed joint milestones.
type CompletedKey struct {
	Source string
	OnTime string // "true", "false", or "none" when there was no due date
}

// SignalStats are the open items of one signal owned by one team ("none"
// when no team owns them).
type SignalStats struct {
	Signal, Team string
	Open         int
	Oldest       time.Duration // age of the oldest open item
	// Items are the open items, in dataset order; filled only with
	// Options.KeepSignalItems.
	Items []SignalItem
}

// SignalItem is one open item of a signal.
type SignalItem struct {
	Source, Key, URL, Title string
	Created                 time.Time
}

// Snapshot is everything in the metric catalogue's domain part, as of AsOf.
type Snapshot struct {
	AsOf time.Time
	// Pairs, sorted by (Source, From, To).
	Pairs []PairStats
	// Stalled, longest idle first, at most handoffs.max_stalled_exported.
	Stalled      []StalledHandoff
	StalledTotal int // before the cap
	ItemCycle    map[ItemCycleKey]*Histogram
	// Milestones: joint milestones to export, capped (see config).
	Milestones          []MilestoneStats
	MilestonesCompleted map[CompletedKey]uint64
	// Signals, sorted by (Signal, Team).
	Signals []SignalStats
	// Items and events considered, per source.
	Items, Events map[string]int
	// UnmappedStatuses counts items whose current Jira status maps to no
	// team, per status name, so the mapping can be fixed.
	UnmappedStatuses map[string]int
	// Records: decisions, post-mortem actions, dependencies (records.go).
	Records Records
	// Handoffs is every derived handoff; filled only with Options.KeepHandoffs.
	Handoffs []Handoff
}
