package engine

// Records: decisions, post-mortem actions and cross-team dependencies.
//
// The work is split the way the incremental engine needs it:
//   - deriveRecords is a pure function of ONE item and its events (cut at
//     the instant by the caller), the engine's lookup tables and the
//     item's owner timeline from the replay. It holds no instant and no
//     floats: every time is integer unix seconds.
//   - recordSet.add collects the per-item results; evaluate turns them,
//     at one instant, into the snapshot's Records: counts per team and
//     state, the histograms, and the capped lists ordered with explicit
//     tie-breaks.
// The rules are listed in doc.go (Records) and tested in records_test.go.

import (
	"sort"
	"strings"
	"time"

	"github.com/crossteam/crossteam/config"
	"github.com/crossteam/crossteam/model"
)

// Decision states (the state label).
const (
	DecisionOpen       = "open"        // not decided yet
	DecisionDecided    = "decided"     // decided; no revisit date, or not reached
	DecisionRevisitDue = "revisit_due" // decided and its revisit date has passed
)

// ownerAt is one step of an item's owner timeline: from At on (unix
// seconds) the item is owned by Team (-1: no team).
type ownerAt struct {
	At   int64
	Team int
}

// ownerBefore is the owner just before t: the team that had the item when
// something happened at t (closing it often moves it to an unmapped
// status; the team that closed it is the one that counts).
func ownerBefore(tl []ownerAt, t int64) int {
	team := -1
	for i, o := range tl {
		if i > 0 && o.At >= t {
			break
		}
		team = o.Team
	}
	return team
}

// ownerLast is the last owner of the timeline.
func ownerLast(tl []ownerAt) int {
	if len(tl) == 0 {
		return -1
	}
	return tl[len(tl)-1].Team
}

// span64 is a closed-from..reopened-at span in unix seconds; End 0: still
// closed.
type span64 struct{ Start, End int64 }

// record is one decision or post-mortem action as derived from its item.
type record struct {
	Signal                  int // config signal index
	Source, Key, URL, Title string
	Opened                  int64
	Teams                   []int     // teams that touched the item, sorted
	Owners                  []ownerAt // the item's owner timeline
	// Decided / Closed: the start of the current decided (decision) or
	// closed span; 0 when not. First: the first instant it ever was, 0
	// never (the histograms observe it, so they never go back).
	Current, First int64
	// Date is the revisit (decision) or due (action) date as the end of
	// that day UTC; 0 none. Milestone: the item's milestone group, whose
	// due date applies when Date is 0 (resolved at evaluation).
	Date      int64
	Milestone string
	// InvalidDate: a date label or field value did not parse.
	InvalidDate bool
}

// depEdge is one "blocked by" span of an item: Blocked is blocked by
// Blocking (same source) from Added until Removed (0: still linked).
type depEdge struct {
	Source, Blocked, Blocking string
	URL, Title                string // of the blocked item
	Added, Removed            int64
}

// depNode is what a dependency needs to know of an item on either side:
// who owned it when, and when it was closed.
type depNode struct {
	Owners []ownerAt
	Closed []span64
}

// itemRecords is deriveRecords' result for one item.
type itemRecords struct {
	Records []record
	Edges   []depEdge
	Node    depNode
}

// recordSignals are the engine's lookups for records, built once in New.
type recordSignals struct {
	any      bool                    // some signal is a record signal
	decided  map[int]map[string]bool // signal -> lower(decided status or label)
	prefixes map[int]string          // signal -> lower(date label prefix)
}

func newRecordSignals(cfg *config.Config) recordSignals {
	rs := recordSignals{decided: map[int]map[string]bool{}, prefixes: map[int]string{}}
	for i, s := range cfg.Signals {
		if s == nil || !s.IsRecord() {
			continue
		}
		rs.any = true
		m := map[string]bool{}
		for _, v := range s.DecidedStatuses {
			m["s:"+strings.ToLower(v)] = true
		}
		for _, v := range s.DecidedLabels {
			m["l:"+strings.ToLower(v)] = true
		}
		rs.decided[i] = m
		rs.prefixes[i] = strings.ToLower(s.LabelPrefix())
	}
	return rs
}

// itemState is a small replay of what records read: labels, status,
// closed state and the Jira date fields, instant by instant.
type itemState struct {
	labels []string // lower-cased active labels
	status string   // lower-cased
	closed bool
	dates  map[string]string // field -> YYYY-MM-DD
}

// recordInput is what deriveRecords takes from the item's replay.
type recordInput struct {
	Owners  []ownerAt // the owner timeline (not retained: copied when kept)
	Touched []int     // teams that owned or acted on the item
	Signals []int     // indexes of the signals the item matches
	// FallbackClose: the item's own close instant, when no close events
	// are stored (zero otherwise).
	FallbackClose time.Time
	// DepTarget: some stored edge names this item as the blocking one.
	DepTarget bool
}

// deriveRecords derives the records, dependency edges and dependency node
// of one item from its events (in time order) and what its replay found.
// The first n events are applied; all of them tell which current values
// of the item record were there from creation (as in the handoff replay).
// Nothing here depends on the instant.
func deriveRecords(e *Engine, it *model.Item, all []model.Event, n int, in recordInput) itemRecords {
	evs := all[:n]
	var out itemRecords
	signals, touched, depTarget := in.Signals, in.Touched, in.DepTarget
	created := it.Created
	if created.IsZero() && len(evs) > 0 {
		created = evs[0].At
	}
	var recSigs []int
	for _, s := range signals {
		if e.cfg.Signals[s].IsRecord() {
			recSigs = append(recSigs, s)
		}
	}
	hasEdges := false
	for i := range evs {
		if evs[i].Kind == model.EventBlockedByAdded {
			hasEdges = true
			break
		}
	}
	if len(recSigs) == 0 && !hasEdges && !depTarget {
		return out
	}

	// Replay labels, status, close state and dates. Current values that
	// no event changed were there from creation, as in the handoff replay.
	st := itemState{dates: map[string]string{}}
	changedLabel := map[string]bool{}
	statusSeen, closeEvents := false, false
	st.status = strings.ToLower(it.Status)
	for i := range all {
		switch ev := &all[i]; ev.Kind {
		case model.EventLabeled, model.EventUnlabeled:
			changedLabel[strings.ToLower(ev.Value)] = true
		case model.EventStatusChanged:
			if !statusSeen {
				st.status, statusSeen = strings.ToLower(ev.From), true
			}
		}
	}
	for i := range evs {
		switch evs[i].Kind {
		case model.EventClosed, model.EventMerged, model.EventReopened:
			closeEvents = true
		}
	}
	for _, l := range it.Labels {
		if l := strings.ToLower(l); !changedLabel[l] {
			st.labels = addString(st.labels, l)
		}
	}
	createdAt := created.Unix()
	owners := append([]ownerAt(nil), in.Owners...)
	recs := make([]record, len(recSigs))
	for k, s := range recSigs {
		teams := append([]int(nil), touched...)
		sort.Ints(teams)
		recs[k] = record{Signal: s, Source: it.Source, Key: it.Key, URL: it.URL, Title: it.Title, Opened: createdAt, Teams: teams, Owners: owners}
	}
	isDone := func(k int) bool {
		if st.closed {
			return true
		}
		s := recSigs[k]
		if e.cfg.Signals[s].Kind != config.KindDecision {
			return false
		}
		d := e.recs.decided[s]
		if st.status != "" && d["s:"+st.status] {
			return true
		}
		for _, l := range st.labels {
			if d["l:"+l] {
				return true
			}
		}
		return false
	}
	mark := func(at int64) {
		for k := range recs {
			r := &recs[k]
			if isDone(k) {
				if r.Current == 0 {
					r.Current = at
				}
				if r.First == 0 {
					r.First = at
				}
			} else {
				r.Current = 0
			}
		}
	}
	links := map[string]int{} // blocking key -> open edge index
	var closedSpans []span64
	setClosed := func(closed bool, at int64) {
		if closed == st.closed {
			return
		}
		st.closed = closed
		if closed {
			closedSpans = append(closedSpans, span64{Start: at})
		} else if n := len(closedSpans); n > 0 {
			closedSpans[n-1].End = at
		}
	}
	mark(createdAt)
	for i := 0; i < len(evs); {
		at := evs[i].At.Unix()
		j := i
		for ; j < len(evs) && evs[j].At.Unix() == at; j++ {
			switch ev := &evs[j]; ev.Kind {
			case model.EventLabeled:
				st.labels = addString(st.labels, strings.ToLower(ev.Value))
			case model.EventUnlabeled:
				st.labels = dropString(st.labels, strings.ToLower(ev.Value))
			case model.EventStatusChanged:
				st.status = strings.ToLower(ev.To)
			case model.EventClosed, model.EventMerged:
				setClosed(true, at)
			case model.EventReopened:
				setClosed(false, at)
			case model.EventDateSet:
				st.dates[ev.Value] = ev.To
			case model.EventBlockedByAdded:
				if _, open := links[ev.Value]; !open && ev.Value != it.Key {
					links[ev.Value] = len(out.Edges)
					// A copy of the event's value (see finishItem's milestones).
					out.Edges = append(out.Edges, depEdge{Source: it.Source, Blocked: it.Key, Blocking: strings.Clone(ev.Value), URL: it.URL, Title: it.Title, Added: at})
				}
			case model.EventBlockedByRemoved:
				if k, open := links[ev.Value]; open {
					out.Edges[k].Removed = at
					delete(links, ev.Value)
				}
			}
		}
		mark(at)
		i = j
	}
	if !closeEvents && !in.FallbackClose.IsZero() {
		// No close events stored (beyond the history horizon): the item's
		// own close instant, as the handoff replay takes it.
		setClosed(true, in.FallbackClose.Unix())
		mark(in.FallbackClose.Unix())
	}
	out.Node = depNode{Owners: owners, Closed: closedSpans}

	// Dates at the end of the replay.
	for k := range recs {
		r := &recs[k]
		s := e.cfg.Signals[r.Signal]
		if it.Source == model.SourceJira {
			if v := st.dates[s.DateField()]; v != "" {
				if d, ok := parseDay(v); ok {
					r.Date = d
				} else {
					r.InvalidDate = true
				}
			}
			continue
		}
		prefix := e.recs.prefixes[r.Signal]
		// The newest date label wins: labels are kept in the order added.
		for _, l := range st.labels {
			if strings.HasPrefix(l, prefix) {
				if d, ok := parseDay(strings.TrimSpace(l[len(prefix):])); ok {
					r.Date = d
				} else {
					r.InvalidDate = true
				}
			}
		}
		if r.Date == 0 {
			r.Milestone = lastMilestone(it, all, n)
		}
	}
	out.Records = recs
	return out
}

// lastMilestone is the GitHub milestone the item is in after evs[:n]
// (the most recently set one); milestones on the item record that no event
// changed count from creation.
func lastMilestone(it *model.Item, all []model.Event, n int) string {
	changed := map[string]bool{}
	for i := range all {
		if k := all[i].Kind; k == model.EventMilestoned || k == model.EventDemilestoned {
			changed[all[i].Value] = true
		}
	}
	var ms []string
	for _, m := range it.Milestones {
		if !changed[m] {
			ms = append(ms, m)
		}
	}
	for i := range all[:n] {
		switch all[i].Kind {
		case model.EventMilestoned:
			ms = addString(ms, all[i].Value)
		case model.EventDemilestoned:
			ms = dropString(ms, all[i].Value)
		}
	}
	if len(ms) == 0 {
		return ""
	}
	return ms[len(ms)-1]
}

// parseDay parses YYYY-MM-DD as the end of that day UTC (due dates are
// met during their day, as milestone due dates).
func parseDay(s string) (int64, bool) {
	d, err := time.Parse("2006-01-02", s)
	if err != nil {
		return 0, false
	}
	return d.Unix() + 86400 - 1, true
}

// firstCloseFrom is the first instant at or after t at which the node is
// closed (t itself when it is closed at t), or 0.
func firstCloseFrom(n *depNode, t int64) int64 {
	for _, s := range n.Closed {
		if s.Start <= t && (s.End == 0 || s.End > t) {
			return t
		}
		if s.Start > t {
			return s.Start
		}
	}
	return 0
}

// recordSet collects the derived records of all items for one evaluation.
type recordSet struct {
	records []record
	edges   []depEdge
	nodes   map[[2]string]*depNode // (source, key) of items that are blocking ones
	targets map[[2]string]bool     // (source, key) that some edge names as blocking
}

// dependencyTargets lists the items named as blocking by some stored
// edge, so nodes are kept only for those.
func dependencyTargets(evs []model.Event) map[[2]string]bool {
	var out map[[2]string]bool
	for i := range evs {
		if evs[i].Kind == model.EventBlockedByAdded {
			if out == nil {
				out = map[[2]string]bool{}
			}
			out[[2]string{evs[i].Source, evs[i].Value}] = true
		}
	}
	return out
}

func (rs *recordSet) add(it *model.Item, ir itemRecords) {
	rs.records = append(rs.records, ir.Records...)
	rs.edges = append(rs.edges, ir.Edges...)
	k := [2]string{it.Source, it.Key}
	if len(ir.Edges) > 0 || rs.targets[k] {
		if rs.nodes == nil {
			rs.nodes = map[[2]string]*depNode{}
		}
		n := ir.Node
		rs.nodes[k] = &n
	}
}

// RecordKey groups record figures: one signal, one source, one team
// ("none" when no team owns the records).
type RecordKey struct {
	Signal, Source, Team string
}

// DependencyKey is a directed (blocked team, blocking team) pair in one
// source.
type DependencyKey struct {
	Source, Blocked, Blocking string
}

// DecisionCounts are the decisions of one RecordKey by state.
type DecisionCounts struct {
	RecordKey
	Open, Decided, RevisitDue int
	// Decide observes opened -> first decided, under the team that had
	// the decision when it was decided.
	Decide Histogram
}

// ActionCounts are the post-mortem actions of one RecordKey.
type ActionCounts struct {
	RecordKey
	Open, Overdue int
	// Close observes opened -> first close, under the team that closed it.
	Close Histogram
}

// DependencyStats are the cross-team dependencies of one pair.
type DependencyStats struct {
	DependencyKey
	Open   int
	Oldest time.Duration // age of the oldest open one; 0 when none is open
	// Resolved observes added -> resolved (link removed, or either item
	// closed), under the pair just before it was resolved.
	Resolved Histogram
}

// DecisionRecord is one decision in the exported list.
type DecisionRecord struct {
	Signal, Source, Key, URL, Title string
	Team                            string   // the owning team (or the one that decided it)
	Teams                           []string // every team that touched it, sorted
	State                           string
	Opened, Decided, Revisit        time.Time // zero: not decided / no revisit date
}

// ActionRecord is one overdue post-mortem action in the exported list.
type ActionRecord struct {
	Signal, Source, Key, URL, Title string
	Team                            string
	Due                             time.Time
	Overdue                         time.Duration
}

// Dependency is one open cross-team dependency in the exported list.
type Dependency struct {
	DependencyKey
	BlockedKey, BlockingKey, URL, Title string
	Since                               time.Time
	Age                                 time.Duration
}

// Records are the record figures of a snapshot.
type Records struct {
	// Decisions and Actions, sorted by (Signal, Source, Team).
	Decisions []DecisionCounts
	Actions   []ActionCounts
	// Dependencies, sorted by (Source, Blocked, Blocking).
	Dependencies []DependencyStats
	// Lists, capped; *Total count them before the cap. Decision list:
	// revisit due first, then open and recently decided ones, most
	// recent first. Overdue: the longest overdue first. Dependencies:
	// the oldest first.
	DecisionList    []DecisionRecord
	DecisionTotal   int
	OverdueList     []ActionRecord
	OverdueTotal    int
	DependencyList  []Dependency
	DependencyTotal int
	// InvalidDates counts records whose date label or field did not parse
	// (the record is kept, the date ignored), by (signal, source).
	InvalidDates map[[2]string]int
}

// evaluate computes the record figures at asOf. msDue resolves a GitHub
// record's milestone (item key, milestone title) to its due date (0: none).
func (rs *recordSet) evaluate(e *Engine, asOf time.Time, msDue func(key, title string) int64) Records {
	now := asOf.Unix()
	out := Records{InvalidDates: map[[2]string]int{}}
	teamName := func(t int) string {
		if t < 0 {
			return "none"
		}
		return e.teams[t]
	}
	dec := map[RecordKey]*DecisionCounts{}
	act := map[RecordKey]*ActionCounts{}
	for i := range rs.records {
		r := &rs.records[i]
		sig := e.cfg.Signals[r.Signal]
		if r.InvalidDate {
			out.InvalidDates[[2]string{sig.Name, r.Source}]++
		}
		date := r.Date
		if date == 0 && r.Milestone != "" && msDue != nil {
			date = msDue(r.Key, r.Milestone)
		}
		owners := r.Owners
		team := ownerLast(owners)
		if r.Current != 0 {
			team = ownerBefore(owners, r.Current)
		}
		var firstTeam int
		if r.First != 0 {
			firstTeam = ownerBefore(owners, r.First)
		}
		switch sig.Kind {
		case config.KindDecision:
			k := RecordKey{Signal: sig.Name, Source: r.Source, Team: teamName(team)}
			d := dec[k]
			if d == nil {
				d = &DecisionCounts{RecordKey: k}
				dec[k] = d
			}
			state := DecisionOpen
			switch {
			case r.Current == 0:
				d.Open++
			case date != 0 && now > date:
				state = DecisionRevisitDue
				d.RevisitDue++
			default:
				state = DecisionDecided
				d.Decided++
			}
			if r.First != 0 {
				fk := RecordKey{Signal: sig.Name, Source: r.Source, Team: teamName(firstTeam)}
				if dec[fk] == nil {
					dec[fk] = &DecisionCounts{RecordKey: fk}
				}
				dec[fk].Decide.Observe(time.Duration(r.First-r.Opened) * time.Second)
			}
			if state == DecisionDecided && now-r.Current > int64(sig.KeepDecidedFor()/time.Second) {
				continue
			}
			dr := DecisionRecord{Signal: sig.Name, Source: r.Source, Key: r.Key, URL: r.URL, Title: r.Title,
				Team: teamName(team), State: state, Opened: time.Unix(r.Opened, 0).UTC()}
			for _, t := range r.Teams {
				dr.Teams = append(dr.Teams, e.teams[t])
			}
			sort.Strings(dr.Teams)
			if r.Current != 0 {
				dr.Decided = time.Unix(r.Current, 0).UTC()
			}
			if date != 0 {
				dr.Revisit = time.Unix(date, 0).UTC()
			}
			out.DecisionList = append(out.DecisionList, dr)
		case config.KindPostmortem:
			k := RecordKey{Signal: sig.Name, Source: r.Source, Team: teamName(team)}
			a := act[k]
			if a == nil {
				a = &ActionCounts{RecordKey: k}
				act[k] = a
			}
			if r.First != 0 {
				fk := RecordKey{Signal: sig.Name, Source: r.Source, Team: teamName(firstTeam)}
				if act[fk] == nil {
					act[fk] = &ActionCounts{RecordKey: fk}
				}
				act[fk].Close.Observe(time.Duration(r.First-r.Opened) * time.Second)
			}
			if r.Current != 0 {
				continue
			}
			a.Open++
			if date != 0 && now > date {
				a.Overdue++
				out.OverdueList = append(out.OverdueList, ActionRecord{Signal: sig.Name, Source: r.Source, Key: r.Key,
					URL: r.URL, Title: r.Title, Team: teamName(team), Due: time.Unix(date, 0).UTC(),
					Overdue: time.Duration(now-date) * time.Second})
			}
		}
	}
	for _, d := range dec {
		out.Decisions = append(out.Decisions, *d)
	}
	sort.Slice(out.Decisions, func(i, j int) bool { return lessRecordKey(out.Decisions[i].RecordKey, out.Decisions[j].RecordKey) })
	for _, a := range act {
		out.Actions = append(out.Actions, *a)
	}
	sort.Slice(out.Actions, func(i, j int) bool { return lessRecordKey(out.Actions[i].RecordKey, out.Actions[j].RecordKey) })
	rs.evaluateDependencies(e, now, &out, teamName)

	sortDecisionList(out.DecisionList)
	out.DecisionTotal = len(out.DecisionList)
	out.DecisionList = capDecisions(e.cfg, out.DecisionList)
	sortOverdue(out.OverdueList)
	out.OverdueTotal = len(out.OverdueList)
	out.OverdueList = capOverdue(e.cfg, out.OverdueList)
	return out
}

func (rs *recordSet) evaluateDependencies(e *Engine, now int64, out *Records, teamName func(int) string) {
	deps := map[DependencyKey]*DependencyStats{}
	for i := range rs.edges {
		ed := &rs.edges[i]
		blocked, blocking := rs.nodes[[2]string{ed.Source, ed.Blocked}], rs.nodes[[2]string{ed.Source, ed.Blocking}]
		if blocked == nil || blocking == nil {
			continue // the blocking item is not stored (another shard, or not synced)
		}
		if firstCloseFrom(blocking, ed.Added) == ed.Added || firstCloseFrom(blocked, ed.Added) == ed.Added {
			continue // a link to (or from) a closed item blocks nothing
		}
		end := ed.Removed
		for _, c := range []int64{firstCloseFrom(blocking, ed.Added), firstCloseFrom(blocked, ed.Added)} {
			if c != 0 && (end == 0 || c < end) {
				end = c
			}
		}
		var from, to int
		if end != 0 {
			from, to = ownerBefore(blocked.Owners, end), ownerBefore(blocking.Owners, end)
		} else {
			from, to = ownerLast(blocked.Owners), ownerLast(blocking.Owners)
		}
		if from < 0 || to < 0 || from == to {
			continue // only dependencies between two teams count
		}
		k := DependencyKey{Source: ed.Source, Blocked: teamName(from), Blocking: teamName(to)}
		d := deps[k]
		if d == nil {
			d = &DependencyStats{DependencyKey: k}
			deps[k] = d
		}
		if end != 0 {
			d.Resolved.Observe(time.Duration(end-ed.Added) * time.Second)
			continue
		}
		age := time.Duration(now-ed.Added) * time.Second
		d.Open++
		d.Oldest = max(d.Oldest, age)
		out.DependencyList = append(out.DependencyList, Dependency{DependencyKey: k, BlockedKey: ed.Blocked, BlockingKey: ed.Blocking,
			URL: ed.URL, Title: ed.Title, Since: time.Unix(ed.Added, 0).UTC(), Age: age})
	}
	for _, d := range deps {
		out.Dependencies = append(out.Dependencies, *d)
	}
	sort.Slice(out.Dependencies, func(i, j int) bool {
		return lessDependencyKey(out.Dependencies[i].DependencyKey, out.Dependencies[j].DependencyKey)
	})
	sortDependencies(out.DependencyList)
	out.DependencyTotal = len(out.DependencyList)
	if m := e.cfg.Dependencies.MaxExported; len(out.DependencyList) > m {
		out.DependencyList = out.DependencyList[:m]
	}
}

func lessRecordKey(a, b RecordKey) bool {
	if a.Signal != b.Signal {
		return a.Signal < b.Signal
	}
	if a.Source != b.Source {
		return a.Source < b.Source
	}
	return a.Team < b.Team
}

func lessDependencyKey(a, b DependencyKey) bool {
	if a.Source != b.Source {
		return a.Source < b.Source
	}
	if a.Blocked != b.Blocked {
		return a.Blocked < b.Blocked
	}
	return a.Blocking < b.Blocking
}

// recency is the instant a listed decision is ordered by: when it was
// decided, or opened while open.
func (d *DecisionRecord) recency() time.Time {
	if !d.Decided.IsZero() {
		return d.Decided
	}
	return d.Opened
}

// sortDecisionList: revisit due first, then the most recent first (decided
// or opened), then by signal, source and key.
func sortDecisionList(l []DecisionRecord) {
	sort.Slice(l, func(i, j int) bool {
		a, b := &l[i], &l[j]
		if ad, bd := a.State == DecisionRevisitDue, b.State == DecisionRevisitDue; ad != bd {
			return ad
		}
		if ra, rb := a.recency(), b.recency(); !ra.Equal(rb) {
			return ra.After(rb)
		}
		if a.Signal != b.Signal {
			return a.Signal < b.Signal
		}
		if a.Source != b.Source {
			return a.Source < b.Source
		}
		return a.Key < b.Key
	})
}

// capPerSignal keeps at most max_exported entries of each signal, in order.
func capPerSignal[T any](cfg *config.Config, l []T, signal func(*T) string) []T {
	n := map[string]int{}
	out := l[:0]
	for i := range l {
		if s := signal(&l[i]); n[s] < signalCap(cfg, s) {
			n[s]++
			out = append(out, l[i])
		}
	}
	return out
}

func capDecisions(cfg *config.Config, l []DecisionRecord) []DecisionRecord {
	return capPerSignal(cfg, l, func(d *DecisionRecord) string { return d.Signal })
}

// sortOverdue: the longest overdue first, then by signal, source and key.
func sortOverdue(l []ActionRecord) {
	sort.Slice(l, func(i, j int) bool {
		a, b := &l[i], &l[j]
		if a.Overdue != b.Overdue {
			return a.Overdue > b.Overdue
		}
		if a.Signal != b.Signal {
			return a.Signal < b.Signal
		}
		if a.Source != b.Source {
			return a.Source < b.Source
		}
		return a.Key < b.Key
	})
}

func capOverdue(cfg *config.Config, l []ActionRecord) []ActionRecord {
	return capPerSignal(cfg, l, func(a *ActionRecord) string { return a.Signal })
}

func signalCap(cfg *config.Config, name string) int {
	for _, s := range cfg.Signals {
		if s != nil && s.Name == name {
			return s.Cap()
		}
	}
	return 0
}

// sortDependencies: the oldest first, then by source, blocked and blocking
// key.
func sortDependencies(l []Dependency) {
	sort.Slice(l, func(i, j int) bool {
		a, b := &l[i], &l[j]
		if !a.Since.Equal(b.Since) {
			return a.Since.Before(b.Since)
		}
		if a.Source != b.Source {
			return a.Source < b.Source
		}
		if a.BlockedKey != b.BlockedKey {
			return a.BlockedKey < b.BlockedKey
		}
		return a.BlockingKey < b.BlockingKey
	})
}

// matchedSignals are the signals the replayed item matches at the end of
// its replay: a watched label active, or the collector's JQL tag.
func (r *replay) matchedSignals() []int {
	var matched []int
	for _, l := range r.sigLabels {
		matched = append(matched, r.c.e.sigLabels[l]...)
	}
	for _, name := range r.it.Signals {
		if i, ok := r.c.e.sigNames[name]; ok {
			matched = append(matched, i)
		}
	}
	sort.Ints(matched)
	out := matched[:0]
	for i, s := range matched {
		if i == 0 || matched[i-1] != s {
			out = append(out, s)
		}
	}
	return out
}

// itemRecords hands the replayed item to deriveRecords and returns the
// result (nil when the item can have none). The first n of evs are up to
// the instant. With c.deps (some stored item has a dependency edge) every
// item keeps its dependency node: whether another item names it as the
// blocking one is not known while deriving this one, and a node no edge
// names is never read.
func (c *computation) itemRecords(evs []model.Event, n int, fallbackClose time.Time) *itemRecords {
	r := &c.r
	if !c.e.recs.any && !c.deps {
		hasEdges := false
		for i := range evs[:n] {
			if evs[i].Kind == model.EventBlockedByAdded {
				hasEdges = true
				break
			}
		}
		if !hasEdges {
			return nil
		}
	}
	in := recordInput{Owners: r.owners, Touched: r.touched, FallbackClose: fallbackClose, DepTarget: c.deps}
	if c.e.recs.any {
		in.Signals = r.matchedSignals()
	}
	ir := deriveRecords(c.e, r.it, evs, n, in)
	if len(ir.Records) == 0 && len(ir.Edges) == 0 && !c.deps {
		return nil
	}
	return &ir
}

// milestoneDue resolves a GitHub item's milestone title to the due date of
// that milestone in the item's repository (0: none), from the stored
// milestone records.
func milestoneDue(records []model.Milestone) func(key, title string) int64 {
	due := map[[2]string]int64{}
	for i := range records {
		m := &records[i]
		if m.Source != model.SourceGitHub || m.Due.IsZero() {
			continue
		}
		repo, _, ok := strings.Cut(m.Key, "/milestones/")
		if !ok {
			continue
		}
		due[[2]string{repo, m.Title}] = m.Due.Unix()
	}
	return func(key, title string) int64 {
		repo, _, _ := strings.Cut(key, "#")
		return due[[2]string{repo, title}]
	}
}

// mergeRecords combines the record figures of shards (MergeShards): counts
// and histograms sum, oldest ages take the max, lists are the union sorted
// and capped again. Dependencies whose two items live in different shards
// are in neither (doc.go, Records).
// entry is m[k], created when absent.
func entry[K comparable, V any](m map[K]*V, k K, create func() *V) *V {
	v := m[k]
	if v == nil {
		v = create()
		m[k] = v
	}
	return v
}

func mergeRecords(cfg *config.Config, shards []*Snapshot) Records {
	out := Records{InvalidDates: map[[2]string]int{}}
	dec := map[RecordKey]*DecisionCounts{}
	act := map[RecordKey]*ActionCounts{}
	deps := map[DependencyKey]*DependencyStats{}
	for _, s := range shards {
		r := &s.Records
		for _, d := range r.Decisions {
			m := entry(dec, d.RecordKey, func() *DecisionCounts { return &DecisionCounts{RecordKey: d.RecordKey} })
			m.Open += d.Open
			m.Decided += d.Decided
			m.RevisitDue += d.RevisitDue
			m.Decide.add(&d.Decide)
		}
		for _, a := range r.Actions {
			m := entry(act, a.RecordKey, func() *ActionCounts { return &ActionCounts{RecordKey: a.RecordKey} })
			m.Open += a.Open
			m.Overdue += a.Overdue
			m.Close.add(&a.Close)
		}
		for _, d := range r.Dependencies {
			m := entry(deps, d.DependencyKey, func() *DependencyStats { return &DependencyStats{DependencyKey: d.DependencyKey} })
			m.Open += d.Open
			m.Oldest = max(m.Oldest, d.Oldest)
			m.Resolved.add(&d.Resolved)
		}
		out.DecisionList = append(out.DecisionList, r.DecisionList...)
		out.DecisionTotal += r.DecisionTotal
		out.OverdueList = append(out.OverdueList, r.OverdueList...)
		out.OverdueTotal += r.OverdueTotal
		out.DependencyList = append(out.DependencyList, r.DependencyList...)
		out.DependencyTotal += r.DependencyTotal
		for k, n := range r.InvalidDates {
			out.InvalidDates[k] += n
		}
	}
	for _, d := range dec {
		out.Decisions = append(out.Decisions, *d)
	}
	sort.Slice(out.Decisions, func(i, j int) bool { return lessRecordKey(out.Decisions[i].RecordKey, out.Decisions[j].RecordKey) })
	for _, a := range act {
		out.Actions = append(out.Actions, *a)
	}
	sort.Slice(out.Actions, func(i, j int) bool { return lessRecordKey(out.Actions[i].RecordKey, out.Actions[j].RecordKey) })
	for _, d := range deps {
		out.Dependencies = append(out.Dependencies, *d)
	}
	sort.Slice(out.Dependencies, func(i, j int) bool {
		return lessDependencyKey(out.Dependencies[i].DependencyKey, out.Dependencies[j].DependencyKey)
	})
	sortDecisionList(out.DecisionList)
	out.DecisionList = capDecisions(cfg, out.DecisionList)
	sortOverdue(out.OverdueList)
	out.OverdueList = capOverdue(cfg, out.OverdueList)
	sortDependencies(out.DependencyList)
	if m := cfg.Dependencies.MaxExported; len(out.DependencyList) > m {
		out.DependencyList = out.DependencyList[:m]
	}
	return out
}
