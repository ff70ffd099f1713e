// Package exposition turns engine snapshots into /metrics: the domain
// metrics of the published snapshot (this file) and the exporter's own
// health metrics (health.go), kept apart. It sits after the engine in the
// data flow; a scrape only serialises what was published, it never calls
// GitHub or Jira and never recomputes.
package exposition

import (
	"bytes"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/crossteam/crossteam/catalogue"
	"github.com/crossteam/crossteam/engine"
)

// SnapshotCollector exposes the domain metrics of the current snapshot as
// const metrics. Swap in a new snapshot with Set; Collect reads whichever
// snapshot is current, so concurrent scrapes never see a half-built one.
type SnapshotCollector struct {
	snap    atomic.Pointer[published]
	descs   map[string]*prometheus.Desc
	buckets []float64
}

type published struct {
	s       *engine.Snapshot
	compute time.Duration
	// encoded caches the snapshot's exposition per format (*encoded by
	// expfmt.Format), filled by the first scrape in that format.
	encoded sync.Map
}

// NewSnapshotCollector builds the descriptors of every non-health metric in
// the catalogue, plus the snapshot's own timestamp and compute time.
func NewSnapshotCollector() *SnapshotCollector {
	c := &SnapshotCollector{descs: map[string]*prometheus.Desc{}, buckets: engine.Buckets}
	for _, m := range catalogue.Metrics {
		if m.Group == catalogue.Health && m.Name != catalogue.Namespace+"_snapshot_timestamp_seconds" && m.Name != catalogue.Namespace+"_snapshot_compute_seconds" {
			continue
		}
		c.descs[m.Name] = prometheus.NewDesc(m.Name, m.Help, m.Labels, nil)
	}
	return c
}

// Set publishes a snapshot and how long it took to compute.
//
// The formats the previous snapshot was scraped in (and gzipped in) within
// keepEncoded are encoded for the new one first, here on the
// recomputation's goroutine, and only then is it published: a scrape
// never waits for an encoding, which the first scrape after each new
// snapshot (one per target synced, during a full sync) used to do while
// the scrapes arriving meanwhile waited for it. (It was not what the
// slowest 1% of scrapes waited for at large: BENCHMARKS.md, stop 28.)
func (c *SnapshotCollector) Set(s *engine.Snapshot, compute time.Duration) {
	p := &published{s: s, compute: compute}
	if prev := c.snap.Load(); prev != nil {
		now := time.Now().UnixNano()
		prev.encoded.Range(func(k, v any) bool {
			pe := v.(*encoded)
			served, zserved := pe.served.Load(), pe.zserved.Load()
			if now-served > int64(keepEncoded) {
				return true
			}
			e := c.in(p, k.(expfmt.Format))
			e.served.Store(served)
			if now-zserved <= int64(keepEncoded) {
				e.gzipped()
				e.zserved.Store(zserved)
			}
			return true
		})
	}
	c.snap.Store(p)
}

// keepEncoded is how long a format (or its gzip) nobody scrapes any more
// is still encoded for each new snapshot: longer than any scrape interval
// in use (Prometheus's default is 1m), so that a format someone asked for
// once (a person's curl) is not encoded for ever.
const keepEncoded = 10 * time.Minute

// in returns p encoded in format, encoding it on the first call.
func (c *SnapshotCollector) in(p *published, format expfmt.Format) *encoded {
	v, _ := p.encoded.LoadOrStore(format, &encoded{})
	e := v.(*encoded)
	e.once.Do(func() { e.plain, e.err = c.encode(p, format, nil) })
	return e
}

// encode encodes p's families (those in filter, when set) without a
// closing "# EOF"; p nil: nothing.
func (c *SnapshotCollector) encode(p *published, format expfmt.Format, filter map[string]bool) ([]byte, error) {
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(pinned{c, p}); err != nil {
		return nil, err
	}
	mfs, err := reg.Gather()
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := encodeFamilies(&b, format, mfs, filter, false); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// pinned collects one published snapshot, whichever is current: an
// encoding cached for p holds p's metrics even when a newer one is
// published while it runs.
type pinned struct {
	c *SnapshotCollector
	p *published
}

func (x pinned) Describe(ch chan<- *prometheus.Desc) { x.c.Describe(ch) }

func (x pinned) Collect(ch chan<- prometheus.Metric) {
	if x.p != nil {
		x.c.collect(x.p, ch)
	}
}

// Snapshot returns the published snapshot, or nil.
func (c *SnapshotCollector) Snapshot() *engine.Snapshot {
	if p := c.snap.Load(); p != nil {
		return p.s
	}
	return nil
}

// Describe implements prometheus.Collector.
func (c *SnapshotCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

func (c *SnapshotCollector) d(name string) *prometheus.Desc {
	return c.descs[catalogue.Namespace+"_"+name]
}

// Collect implements prometheus.Collector: the current snapshot's metrics.
func (c *SnapshotCollector) Collect(ch chan<- prometheus.Metric) {
	if p := c.snap.Load(); p != nil {
		c.collect(p, ch)
	}
}

func (c *SnapshotCollector) collect(p *published, ch chan<- prometheus.Metric) {
	s := p.s
	gauge := func(name string, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(c.d(name), prometheus.GaugeValue, v, labels...)
	}
	counter := func(name string, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(c.d(name), prometheus.CounterValue, v, labels...)
	}
	hist := func(name string, h *engine.Histogram, labels ...string) {
		ch <- prometheus.MustNewConstHistogram(c.d(name), h.Count, h.Sum, h.Cumulative(), labels...)
	}
	// Timestamps of what the snapshot holds as ages: asOf minus the age is
	// the instant itself, exactly (the engine computes the ages from asOf).
	ts := func(age time.Duration) float64 { return float64(s.AsOf.Add(-age).UnixNano()) / 1e9 }
	gauge("snapshot_timestamp_seconds", float64(s.AsOf.UnixNano())/1e9)
	gauge("snapshot_compute_seconds", p.compute.Seconds())

	for i := range s.Pairs {
		ps := &s.Pairs[i]
		l := []string{ps.Source, ps.From, ps.To}
		counter("handoffs_total", float64(ps.Handoffs), l...)
		counter("handoff_bounces_total", float64(ps.Bounces), l...)
		hist("handoff_pickup_seconds", &ps.Pickup, l...)
		hist("handoff_pickup_working_seconds", &ps.PickupWorking, l...)
		hist("handoff_cycle_seconds", &ps.Cycle, l...)
		hist("handoff_cycle_working_seconds", &ps.CycleWorking, l...)
		hist("handoff_waiting_seconds", &ps.Waiting, l...)
		hist("handoff_active_seconds", &ps.Active, l...)
		hist("handoff_blocked_seconds", &ps.Blocked, l...)
		if a := ps.Agreement; a != nil {
			counter("handoff_pickups_within_agreement_total", float64(ps.PickupsWithin), l...)
			gauge("handoff_agreement_objective_ratio", a.Pickup.Ratio, ps.Source, ps.From, ps.To, "pickup", strconv.FormatBool(a.NotifySender))
			gauge("handoff_agreement_target_seconds", a.Pickup.Target.Seconds(), ps.Source, ps.From, ps.To, "pickup")
			if a.Cycle != nil {
				counter("handoff_cycles_within_agreement_total", float64(ps.CyclesWithin), l...)
				gauge("handoff_agreement_objective_ratio", a.Cycle.Ratio, ps.Source, ps.From, ps.To, "cycle", strconv.FormatBool(a.NotifySender))
				gauge("handoff_agreement_target_seconds", a.Cycle.Target.Seconds(), ps.Source, ps.From, ps.To, "cycle")
			}
		}
		gauge("handoffs_open", float64(ps.OpenWaiting), ps.Source, ps.From, ps.To, "waiting")
		gauge("handoffs_open", float64(ps.OpenInProgress), ps.Source, ps.From, ps.To, "in_progress")
		gauge("handoffs_stalled", float64(ps.Stalled), l...)
		gauge("handoff_oldest_waiting_seconds", ps.OldestWaiting.Seconds(), l...)
		if ps.OpenWaiting > 0 {
			gauge("handoff_oldest_waiting_timestamp_seconds", ts(ps.OldestWaiting), l...)
		}
	}
	for _, st := range s.Stalled {
		l := []string{st.Source, catalogue.CapLabelValue(st.Key), catalogue.CapLabelValue(st.URL), catalogue.CapLabelValue(st.Title), st.Kind, st.From, st.To}
		gauge("stalled_handoff_idle_seconds", st.Idle.Seconds(), l...)
		gauge("stalled_handoff_idle_since_timestamp_seconds", ts(st.Idle), l...)
	}
	gauge("stalled_handoffs_unexported", float64(s.StalledTotal-len(s.Stalled)))
	for k, h := range s.ItemCycle {
		hist("item_cycle_seconds", h, k.Source, k.Teams)
	}
	for status, n := range s.UnmappedStatuses {
		gauge("jira_unmapped_status_items", float64(n), catalogue.CapLabelValue(status))
	}
	for _, ms := range s.Milestones {
		title := catalogue.CapLabelValue(ms.Title)
		gauge("milestone_items", float64(ms.Open), ms.Source, title, "open")
		gauge("milestone_items", float64(ms.Closed), ms.Source, title, "closed")
		for _, team := range ms.Teams {
			gauge("milestone_team_items", float64(ms.TeamOpen[team]), ms.Source, title, team, "open")
			gauge("milestone_team_items", float64(ms.TeamClosed[team]), ms.Source, title, team, "closed")
		}
		gauge("milestone_teams", float64(len(ms.Teams)), ms.Source, title)
		if !ms.Due.IsZero() {
			gauge("milestone_due_timestamp_seconds", float64(ms.Due.Unix()), ms.Source, title)
		}
		if !ms.Completed.IsZero() {
			gauge("milestone_completed_timestamp_seconds", float64(ms.Completed.Unix()), ms.Source, title)
		}
	}
	for k, n := range s.MilestonesCompleted {
		counter("joint_milestones_completed_total", float64(n), k.Source, k.OnTime)
	}
	for _, sg := range s.Signals {
		gauge("signal_items_open", float64(sg.Open), sg.Signal, sg.Team)
		gauge("signal_oldest_open_seconds", sg.Oldest.Seconds(), sg.Signal, sg.Team)
		if sg.Open > 0 {
			gauge("signal_oldest_open_timestamp_seconds", ts(sg.Oldest), sg.Signal, sg.Team)
		}
	}
	c.collectRecords(ch, &s.Records)
}
