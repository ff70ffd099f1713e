// Package review computes the weekly cross-team review of one ISO week:
// small wins, the week's handoffs per team pair against the four weeks
// before, what is stalled or at risk, the rituals' signals, and what changed
// in the numbers. It renders it as Markdown (the digest a team channel
// gets) and as one self-contained HTML page (the /review page).
//
// Guarantees:
//   - It is a pure function of (stored dataset, configuration, instant),
//     like backfill: it never calls GitHub or Jira, and never reads a clock.
//   - Its numbers are the boards' numbers: every figure comes from engine
//     snapshots at the week boundaries (Monday 00:00 in the configured
//     calendar's time zone, UTC without one), the instants backfill and the
//     live exporter evaluate too. A week's count is the counter at its end
//     minus the counter at its start; a week's median and p90 are
//     histogram_quantile, as Prometheus computes it, over the difference of
//     the cumulative buckets at the two boundaries.
//   - Only complete weeks are reviewed: a week that has not ended at the
//     instant, or that ended before the first stored event, is an error
//     naming the week (and the first stored week).
//   - The HTML requests nothing: styles are inline, charts are inline SVG
//     drawn by gonum.org/v1/plot without embedded or external fonts.
package review

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/crossteam/crossteam/config"
	"github.com/crossteam/crossteam/dashboards"
	"github.com/crossteam/crossteam/engine"
	"github.com/crossteam/crossteam/model"
)

// PreviousWeeks is how many weeks before the reviewed one its figures are
// compared with.
const PreviousWeeks = 4

// Options are the inputs besides the dataset and configuration.
type Options struct {
	Week Week
	// Now is the instant of the review: the week must have ended by then.
	Now time.Time
	// Engine options (Sharded for a shard's store).
	Engine engine.Options
	// Sources is the health of the sources as the caller knows it (the
	// running exporter does; the command line does not and leaves it nil).
	Sources []SourceHealth
	// ConfigLoaded is when the running configuration was loaded (the
	// exporter knows; zero: unknown). Every number is derived with it, so
	// a load inside or after the week means earlier figures were
	// re-derived.
	ConfigLoaded time.Time
}

// SourceHealth is one source target's last sync, as the exporter saw it.
type SourceHealth struct {
	Source, Target string
	Up             bool
	LastSuccess    time.Time // zero: never succeeded
}

// Location is the time zone weeks are cut in: the top-level calendar's,
// else UTC.
func Location(cfg *config.Config) *time.Location {
	if cfg.Calendar != nil && cfg.Calendar.Location != nil {
		return cfg.Calendar.Location
	}
	return time.UTC
}

// Review is the computed review of one week.
type Review struct {
	Week       Week
	Start, End time.Time // the week's boundaries in the calendar's zone
	Location   *time.Location
	// Weeks are the previous weeks and the reviewed one, oldest first.
	Weeks []Week

	Wins         []Win
	Pairs        []PairWeek
	Stalled      []engine.StalledHandoff
	StalledTotal int
	AtRisk       []MilestoneRisk
	Signals      []SignalWeek
	Changes      Changes
}

// Win is one small win. Kind says which finder produced it.
type Win struct {
	Kind  string // WinMilestone, WinFasterPair, or an extension's kind
	Title string
	URL   string
	// Teams are the teams acknowledged, with their share (items for a
	// milestone).
	Teams []TeamShare
	// Detail is one line of debrief.
	Detail string
}

// TeamShare is a contributing team and its item count.
type TeamShare struct {
	Team  string
	Items int
}

// Win kinds.
const (
	WinMilestone  = "milestone"   // a joint milestone completed this week
	WinFasterPair = "faster_pair" // a pair's median pickup beat its previous weeks
)

// WinFinder finds one kind of small win in a computed window. Finders is
// the extension point: agreements kept (issue 18) append their finder
// here, reading the same snapshots.
type WinFinder func(w *Window) []Win

// Finders run in order; their wins are listed in that order.
var Finders = []WinFinder{milestoneWins, fasterPairWins, agreementWins}

// Window is what finders read: engine snapshots at the boundaries
// Bounds[0..PreviousWeeks+1] (Bounds[PreviousWeeks] is the week's start,
// the last one its end), and the per-pair figures derived from them.
type Window struct {
	Bounds []time.Time
	Snaps  []*engine.Snapshot
	Pairs  []PairWeek
}

// Quantile is a histogram_quantile result.
type Quantile struct {
	Seconds float64
	OK      bool // false: no observations (NaN in PromQL)
	Inf     bool // in the +Inf bucket: Seconds is the highest finite bound
}

// PairWeek is one pair's handoffs in the week and the weeks before.
type PairWeek struct {
	engine.PairKey
	Started, PickedUp uint64
	Median, P90       Quantile
	// Prev*: the previous PreviousWeeks weeks together.
	PrevStarted, PrevPickedUp uint64
	PrevMedian, PrevP90       Quantile
	// Weekly is the median pickup and handoffs started of each week of
	// Review.Weeks, oldest first: the trend.
	Weekly []WeekPoint
}

// WeekPoint is one week of a pair's trend.
type WeekPoint struct {
	Week     Week
	Started  uint64
	PickedUp uint64
	Median   Quantile
}

// MilestoneRisk is an open joint milestone at risk at the week's end, by
// the boards' rule (dashboards.AtRiskDueDays, AtRiskHorizonDays).
type MilestoneRisk struct {
	engine.MilestoneStats
	Progress, Expected float64
}

// SignalWeek is one signal's open items at the week's start and end.
type SignalWeek struct {
	Signal     string
	OpenStart  int
	OpenEnd    int
	Oldest     time.Duration // oldest open at the end
	OldestTeam string
	TeamsAtEnd []TeamShare
	// Opened: open at the end and not at the start (a decision taken, an
	// action opened); Resolved: open at the start and not at the end
	// (closed, or its label removed).
	Opened, Resolved []SignalItem
}

// SignalItem is an item of a signal with the team owning it.
type SignalItem struct {
	engine.SignalItem
	Team string
}

// Changes is the "what changed in the numbers" section.
type Changes struct {
	// ConfigFingerprint identifies the configuration the numbers were
	// derived with (secrets masked): when it differs from last week's
	// review, history was re-derived with the new mapping.
	ConfigFingerprint string
	Sources           []SourceChange
	Health            []SourceHealth
	HealthKnown       bool
	FirstStored       time.Time
	ConfigLoaded      time.Time // zero: unknown
	Start, End        time.Time // the week's boundaries
}

// SourceChange is one source's stored data at the week's boundaries.
type SourceChange struct {
	Source                 string
	ItemsStart, ItemsEnd   int
	EventsStart, EventsEnd int
	Newest                 time.Time     // newest stored event at or before the end
	Age                    time.Duration // End - Newest
}

// FirstStored is the earliest stored instant (item creation or event).
func FirstStored(ds *model.Dataset) (time.Time, bool) {
	var first time.Time
	for i := range ds.Items {
		if c := ds.Items[i].Created; !c.IsZero() && (first.IsZero() || c.Before(first)) {
			first = c
		}
	}
	for i := range ds.Events {
		if a := ds.Events[i].At; first.IsZero() || a.Before(first) {
			first = a
		}
	}
	return first, !first.IsZero()
}

// Check says whether week can be reviewed at now: it must have ended and
// must not end before the stored history begins.
func Check(cfg *config.Config, ds *model.Dataset, week Week, now time.Time) error {
	loc := Location(cfg)
	if err := CheckComplete(week, now, loc); err != nil {
		return err
	}
	first, ok := FirstStored(ds)
	if !ok {
		return fmt.Errorf("week %s: the store holds no items or events yet (run serve first)", week)
	}
	if !week.End(loc).After(first) {
		return fmt.Errorf("week %s is before the stored history, whose first week is %s (first stored event %s)",
			week, WeekOf(first, loc), first.In(loc).Format(time.RFC3339))
	}
	return nil
}

// CheckComplete says whether week has ended at now in loc.
func CheckComplete(week Week, now time.Time, loc *time.Location) error {
	if end := week.End(loc); end.After(now) {
		return fmt.Errorf("week %s is not complete yet (it ends %s); the last complete week is %s",
			week, end.Format(time.RFC3339), LastComplete(now, loc))
	}
	return nil
}

// Compute computes the review of o.Week.
func Compute(cfg *config.Config, ds *model.Dataset, o Options) (*Review, error) {
	if err := Check(cfg, ds, o.Week, o.Now); err != nil {
		return nil, err
	}
	loc := Location(cfg)
	r := &Review{Week: o.Week, Location: loc, Start: o.Week.Start(loc), End: o.Week.End(loc)}
	for i := PreviousWeeks; i >= 0; i-- {
		r.Weeks = append(r.Weeks, o.Week.Add(-i))
	}
	w := &Window{}
	for _, wk := range r.Weeks {
		w.Bounds = append(w.Bounds, wk.Start(loc))
	}
	w.Bounds = append(w.Bounds, r.End)
	opts := o.Engine
	opts.KeepSignalItems = true
	eng := engine.New(cfg, ds.Members, opts)
	for _, b := range w.Bounds {
		w.Snaps = append(w.Snaps, eng.Compute(ds, b))
	}
	w.Pairs = pairWeeks(r.Weeks, w.Snaps)
	r.Pairs = w.Pairs
	for _, f := range Finders {
		r.Wins = append(r.Wins, f(w)...)
	}
	end := w.Snaps[len(w.Snaps)-1]
	startSnap := w.Snaps[PreviousWeeks]
	r.Stalled, r.StalledTotal = end.Stalled, end.StalledTotal
	r.AtRisk = atRisk(end)
	r.Signals = signalWeeks(startSnap, end)
	r.Changes = changes(cfg, ds, startSnap, end, o)
	return r, nil
}

// delta is the histogram of the observations between two snapshots.
func delta(a, b engine.Histogram) engine.Histogram {
	var d engine.Histogram
	for i := range d.Counts {
		d.Counts[i] = b.Counts[i] - a.Counts[i]
	}
	d.Count = b.Count - a.Count
	d.Sum = b.Sum - a.Sum
	return d
}

// HistogramQuantile is PromQL's histogram_quantile over h's buckets
// (engine.Buckets and +Inf), in Prometheus' bucketQuantile algorithm:
// find the first bucket whose cumulative count reaches q*count and
// interpolate linearly inside it (from 0 in the first bucket); the +Inf
// bucket answers the highest finite bound.
func HistogramQuantile(q float64, h engine.Histogram) Quantile {
	if h.Count == 0 {
		return Quantile{}
	}
	rank := q * float64(h.Count)
	var cum, lower float64
	for i, ub := range engine.Buckets {
		c := float64(h.Counts[i])
		if cum+c >= rank {
			return Quantile{Seconds: lower + (ub-lower)*((rank-cum)/c), OK: true}
		}
		cum += c
		lower = ub
	}
	return Quantile{Seconds: engine.Buckets[len(engine.Buckets)-1], OK: true, Inf: true}
}

func pairWeeks(weeks []Week, snaps []*engine.Snapshot) []PairWeek {
	n := len(snaps)
	at := make([]map[engine.PairKey]engine.PairStats, n)
	var keys []engine.PairKey
	for i, s := range snaps {
		at[i] = map[engine.PairKey]engine.PairStats{}
		for _, p := range s.Pairs {
			at[i][p.PairKey] = p
		}
	}
	for _, p := range snaps[n-1].Pairs {
		keys = append(keys, p.PairKey)
	}
	var out []PairWeek
	for _, k := range keys {
		pw := PairWeek{PairKey: k}
		for i := range weeks {
			a, b := at[i][k], at[i+1][k]
			d := delta(a.Pickup, b.Pickup)
			pw.Weekly = append(pw.Weekly, WeekPoint{Week: weeks[i], Started: b.Handoffs - a.Handoffs, PickedUp: d.Count,
				Median: HistogramQuantile(0.5, d)})
		}
		first, start, end := at[0][k], at[n-2][k], at[n-1][k]
		if end.Handoffs == first.Handoffs && end.Pickup.Count == first.Pickup.Count {
			continue // nothing in the window
		}
		cur, prev := delta(start.Pickup, end.Pickup), delta(first.Pickup, start.Pickup)
		pw.Started, pw.PickedUp = end.Handoffs-start.Handoffs, cur.Count
		pw.Median, pw.P90 = HistogramQuantile(0.5, cur), HistogramQuantile(0.9, cur)
		pw.PrevStarted, pw.PrevPickedUp = start.Handoffs-first.Handoffs, prev.Count
		pw.PrevMedian, pw.PrevP90 = HistogramQuantile(0.5, prev), HistogramQuantile(0.9, prev)
		out = append(out, pw)
	}
	return out
}

// milestoneWins: joint milestones completed in the week, on time or not,
// with every contributing team and its items.
func milestoneWins(w *Window) []Win {
	start, end := w.Bounds[len(w.Bounds)-2], w.Bounds[len(w.Bounds)-1]
	var out []Win
	for _, m := range w.Snaps[len(w.Snaps)-1].Milestones {
		if m.Completed.IsZero() || m.Completed.Before(start) || !m.Completed.Before(end) {
			continue
		}
		win := Win{Kind: WinMilestone, Title: m.Title, URL: m.URL}
		for _, t := range m.Teams {
			win.Teams = append(win.Teams, TeamShare{Team: t, Items: m.TeamOpen[t] + m.TeamClosed[t]})
		}
		switch {
		case m.Due.IsZero():
			win.Detail = fmt.Sprintf("completed %s (%s), no due date; %d items", m.Completed.Format("Mon 2 Jan"), m.Source, m.Open+m.Closed)
		case m.Completed.After(m.Due):
			win.Detail = fmt.Sprintf("completed %s (%s), %s after its due date; %d items", m.Completed.Format("Mon 2 Jan"), m.Source, Short(m.Completed.Sub(m.Due)), m.Open+m.Closed)
		default:
			win.Detail = fmt.Sprintf("completed %s (%s), on time; %d items", m.Completed.Format("Mon 2 Jan"), m.Source, m.Open+m.Closed)
		}
		out = append(out, win)
	}
	return out
}

// MinPickups is how many pickups a pair needs this week and in the
// previous weeks before a faster median counts as a win: one handoff
// picked up quickly is luck, not a trend.
const MinPickups = 2

// fasterPairWins: pairs whose median pickup this week is below their
// median over the previous weeks (both from the same histograms).
func fasterPairWins(w *Window) []Win {
	var out []Win
	for _, p := range w.Pairs {
		if p.PickedUp < MinPickups || p.PrevPickedUp < MinPickups ||
			!p.Median.OK || !p.PrevMedian.OK || p.Median.Inf || p.Median.Seconds >= p.PrevMedian.Seconds {
			continue
		}
		out = append(out, Win{Kind: WinFasterPair, Title: p.From + " → " + p.To + " (" + p.Source + ")",
			Teams: []TeamShare{{Team: p.From}, {Team: p.To}},
			Detail: fmt.Sprintf("median pickup %s, down from %s over the previous %d weeks (%d picked up this week)",
				QuantileLabel(p.Median), QuantileLabel(p.PrevMedian), PreviousWeeks, p.PickedUp)})
	}
	return out
}

// atRisk applies the boards' at-risk rule at the week's end.
func atRisk(s *engine.Snapshot) []MilestoneRisk {
	var out []MilestoneRisk
	for _, m := range s.Milestones {
		if !m.Completed.IsZero() || m.Due.IsZero() || m.Open+m.Closed == 0 {
			continue
		}
		left := m.Due.Sub(s.AsOf)
		if left > dashboards.AtRiskDueDays*24*time.Hour {
			continue
		}
		progress := float64(m.Closed) / float64(m.Open+m.Closed)
		expected := 1 - left.Hours()/(24*dashboards.AtRiskHorizonDays)
		if progress < expected {
			out = append(out, MilestoneRisk{MilestoneStats: m, Progress: progress, Expected: math.Min(expected, 1)})
		}
	}
	return out
}

func signalWeeks(start, end *engine.Snapshot) []SignalWeek {
	by := map[string]*SignalWeek{}
	var names []string
	get := func(n string) *SignalWeek {
		if s, ok := by[n]; ok {
			return s
		}
		s := &SignalWeek{Signal: n}
		by[n] = s
		names = append(names, n)
		return s
	}
	type itemKey struct{ signal, source, key string }
	items := func(snap *engine.Snapshot) map[itemKey]SignalItem {
		m := map[itemKey]SignalItem{}
		for _, s := range snap.Signals {
			for _, it := range s.Items {
				m[itemKey{s.Signal, it.Source, it.Key}] = SignalItem{SignalItem: it, Team: s.Team}
			}
		}
		return m
	}
	before, after := items(start), items(end)
	for _, s := range start.Signals {
		get(s.Signal).OpenStart += s.Open
	}
	for _, s := range end.Signals {
		g := get(s.Signal)
		g.OpenEnd += s.Open
		g.TeamsAtEnd = append(g.TeamsAtEnd, TeamShare{Team: s.Team, Items: s.Open})
		if s.Oldest > g.Oldest {
			g.Oldest, g.OldestTeam = s.Oldest, s.Team
		}
	}
	for k, it := range after {
		if _, ok := before[k]; !ok {
			get(k.signal).Opened = append(get(k.signal).Opened, it)
		}
	}
	for k, it := range before {
		if _, ok := after[k]; !ok {
			get(k.signal).Resolved = append(get(k.signal).Resolved, it)
		}
	}
	for _, g := range by {
		for _, list := range [][]SignalItem{g.Opened, g.Resolved} {
			sort.Slice(list, func(i, j int) bool {
				if list[i].Source != list[j].Source {
					return list[i].Source < list[j].Source
				}
				return list[i].Key < list[j].Key
			})
		}
	}
	sort.Strings(names)
	out := make([]SignalWeek, 0, len(names))
	for _, n := range names {
		out = append(out, *by[n])
	}
	return out
}

func changes(cfg *config.Config, ds *model.Dataset, start, end *engine.Snapshot, o Options) Changes {
	c := Changes{Health: o.Sources, HealthKnown: o.Sources != nil, ConfigLoaded: o.ConfigLoaded, Start: start.AsOf, End: end.AsOf}
	if s, err := cfg.Redacted(); err == nil {
		sum := sha256.Sum256([]byte(s))
		c.ConfigFingerprint = hex.EncodeToString(sum[:6])
	}
	c.FirstStored, _ = FirstStored(ds)
	newest := map[string]time.Time{}
	for i := range ds.Events {
		e := &ds.Events[i]
		if !e.At.After(end.AsOf) && e.At.After(newest[e.Source]) {
			newest[e.Source] = e.At
		}
	}
	var sources []string
	for s := range end.Items {
		sources = append(sources, s)
	}
	sort.Strings(sources)
	for _, s := range sources {
		sc := SourceChange{Source: s, ItemsStart: start.Items[s], ItemsEnd: end.Items[s],
			EventsStart: start.Events[s], EventsEnd: end.Events[s], Newest: newest[s]}
		if !sc.Newest.IsZero() {
			sc.Age = end.AsOf.Sub(sc.Newest)
		}
		c.Sources = append(c.Sources, sc)
	}
	return c
}
