package exposition

import (
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/crossteam/crossteam/apimetrics"
	"github.com/crossteam/crossteam/catalogue"
)

// APIDurationBuckets are the buckets of crossteam_api_request_duration_seconds:
// from a fast conditional request (tens of ms) to resilience.RequestTimeout.
var APIDurationBuckets = []float64{0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

// Health holds the exporter's own health metrics (source_up, sync
// durations, API requests, rate limits, store size, config reloads; the
// build's version is BuildInfo). It is kept apart from the domain exposition: the domain
// numbers come from snapshots, these from the exporter's operation.
type Health struct {
	mu      sync.Mutex
	targets map[targetKey]*targetHealth
	stored  map[string]int64
	reload  struct {
		ok   bool
		last time.Time
		set  bool
	}
	// snapshot is the outcome of the last recomputation from the store.
	snapshot struct {
		ok, set bool
		last    time.Time
	}
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	descs    map[string]*prometheus.Desc
}

type targetKey struct{ source, target string }

type targetHealth struct {
	synced      bool // a sync finished, successfully or not
	up          bool
	duration    time.Duration
	lastSuccess time.Time
	// limits: the last rate-limit figures per resource (core, graphql, ...).
	limits  map[string]*apimetrics.RateLimit
	lastErr string
	// missingLinkTypes: configured Jira link types the target lacks.
	missingLinkTypes []string
	// deferred: issues whose cut comments were not fetched (Jira).
	deferred    int
	hasDeferred bool
}

// NewHealth creates the health metrics.
func NewHealth() *Health {
	h := &Health{targets: map[targetKey]*targetHealth{}, stored: map[string]int64{}, descs: map[string]*prometheus.Desc{}}
	for _, m := range catalogue.Metrics {
		if m.Group != catalogue.Health {
			continue
		}
		switch m.Name {
		case catalogue.Namespace + "_api_requests_total":
			h.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: m.Name, Help: m.Help}, m.Labels)
		case catalogue.Namespace + "_api_request_duration_seconds":
			h.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: m.Name, Help: m.Help, Buckets: APIDurationBuckets}, m.Labels)
		case catalogue.Namespace + "_snapshot_timestamp_seconds", catalogue.Namespace + "_snapshot_compute_seconds":
			// exposed by SnapshotCollector
		case catalogue.Namespace + "_build_info":
			// exposed by client_golang's version collector (BuildInfo)
		default:
			h.descs[m.Name] = prometheus.NewDesc(m.Name, m.Help, m.Labels, nil)
		}
	}
	return h
}

// BuildInfo is crossteam_build_info from client_golang's version collector:
// the version, revision (from the VCS stamp in Go's build info when the
// build set none), branch, Go version, OS and architecture of this build.
func BuildInfo() prometheus.Collector {
	return versioncollector.NewCollector(catalogue.Namespace)
}

func (h *Health) target(source, target string) *targetHealth {
	k := targetKey{source, target}
	t := h.targets[k]
	if t == nil {
		t = &targetHealth{}
		h.targets[k] = t
	}
	return t
}

// Register makes a target known so its series exist (source_up 0) before
// its first sync.
func (h *Health) Register(source, target string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.target(source, target)
}

// Forget drops a target removed by a configuration reload.
func (h *Health) Forget(source, target string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.targets, targetKey{source, target})
}

// SetLinkTypesMissing records the configured Jira link types a target
// lacks (none: empty), exported as crossteam_jira_link_types_missing.
func (h *Health) SetLinkTypesMissing(source, target string, missing []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.target(source, target).missingLinkTypes = append([]string(nil), missing...)
}

// SetCommentsDeferred records how many issues of a Jira target have
// comments not fetched (exported as crossteam_jira_comments_deferred).
func (h *Health) SetCommentsDeferred(source, target string, n int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	t := h.target(source, target)
	t.deferred, t.hasDeferred = n, true
}

// SyncDone records the outcome of one sync. It reports whether the error
// text changed since the previous sync (so callers log a failure once per
// change, not once per retry).
func (h *Health) SyncDone(source, target string, d time.Duration, err error, now time.Time) (changed bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	t := h.target(source, target)
	t.duration = d
	t.synced = true
	t.up = err == nil
	msg := ""
	if err != nil {
		msg = err.Error()
	} else {
		t.lastSuccess = now
	}
	changed = msg != t.lastErr
	t.lastErr = msg
	return changed
}

// TargetStatus is one target's sync state, for the landing page.
type TargetStatus struct {
	Source, Target string
	// Synced: a sync finished (successfully or not); Up: the last one
	// succeeded.
	Synced, Up   bool
	LastSuccess  time.Time // zero: never
	LastDuration time.Duration
	// LastError is the last sync's error text ("" when it succeeded), as
	// the collectors returned it (they scrub secrets from their errors).
	LastError string
}

// Targets returns every known target's state, by source and name.
func (h *Health) Targets() []TargetStatus {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]TargetStatus, 0, len(h.targets))
	for k, t := range h.targets {
		out = append(out, TargetStatus{Source: k.source, Target: k.target, Synced: t.synced, Up: t.up,
			LastSuccess: t.lastSuccess, LastDuration: t.duration, LastError: t.lastErr})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Source != out[j].Source {
			return out[i].Source < out[j].Source
		}
		return out[i].Target < out[j].Target
	})
	return out
}

// SetStored records the number of stored events per source.
func (h *Health) SetStored(counts map[string]int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.stored = counts
}

// SetReload records the outcome of a configuration (re)load.
func (h *Health) SetReload(ok bool, now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.reload.ok, h.reload.set = ok, true
	if ok {
		h.reload.last = now
	}
}

// SetSnapshot records the outcome of one recomputation of the snapshot
// from the store (crossteam_snapshot_up and its last success time).
func (h *Health) SetSnapshot(ok bool, now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.snapshot.ok, h.snapshot.set = ok, true
	if ok {
		h.snapshot.last = now
	}
}

// Transport wraps next so every attempt sent to this target is measured by
// endpoint (apimetrics.Endpoint: the route template, a bounded label):
// counted by status code and timed (client_golang's
// promhttp.InstrumentRoundTripperCounter and ...Duration), and its
// rate-limit headers read (apimetrics.ParseRateLimit). Transport errors,
// which promhttp does not count, count as code "0" and are timed too (a
// timeout is the slowest request of all).
func (h *Health) Transport(source, target string, next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	curry := prometheus.Labels{"source": source, "target": target}
	byCode := h.requests.MustCurryWith(curry)
	byEndpoint := h.duration.MustCurryWith(curry)
	endpoint := func(r *http.Request) string {
		if r == nil || r.URL == nil {
			return apimetrics.Other
		}
		return apimetrics.Endpoint(source, r.URL.Path)
	}
	label := promhttp.WithLabelFromRequest("endpoint", endpoint)
	return &rateLimitTransport{h: h, source: source, target: target, byCode: byCode, byEndpoint: byEndpoint, endpoint: endpoint,
		next: promhttp.InstrumentRoundTripperDuration(byEndpoint, promhttp.InstrumentRoundTripperCounter(byCode, next, label), label)}
}

type rateLimitTransport struct {
	h              *Health
	source, target string
	byCode         *prometheus.CounterVec
	byEndpoint     prometheus.ObserverVec
	endpoint       func(*http.Request) string
	next           http.RoundTripper
}

func (c *rateLimitTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := c.next.RoundTrip(r)
	if err != nil {
		e := c.endpoint(r)
		c.byCode.WithLabelValues(e, "0").Inc()
		c.byEndpoint.WithLabelValues(e).Observe(time.Since(start).Seconds())
		return resp, err
	}
	if rl, ok := apimetrics.ParseRateLimit(c.source, resp.Header); ok {
		c.h.mu.Lock()
		t := c.h.target(c.source, c.target)
		if t.limits == nil {
			t.limits = map[string]*apimetrics.RateLimit{}
		}
		cur := t.limits[rl.Resource]
		if cur == nil {
			cur = &apimetrics.RateLimit{Resource: rl.Resource}
			t.limits[rl.Resource] = cur
		}
		// A header missing from one response keeps the last value seen.
		if rl.HasLimit {
			cur.Limit, cur.HasLimit = rl.Limit, true
		}
		if rl.HasRemaining {
			cur.Remaining, cur.HasRemaining = rl.Remaining, true
		}
		if rl.HasReset {
			cur.Reset, cur.HasReset = rl.Reset, true
		}
		c.h.mu.Unlock()
	}
	return resp, nil
}

// Describe implements prometheus.Collector.
func (h *Health) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range h.descs {
		ch <- d
	}
	h.requests.Describe(ch)
	h.duration.Describe(ch)
}

// Collect implements prometheus.Collector.
func (h *Health) Collect(ch chan<- prometheus.Metric) {
	h.requests.Collect(ch)
	h.duration.Collect(ch)
	h.mu.Lock()
	defer h.mu.Unlock()
	g := func(name string, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(h.descs[catalogue.Namespace+"_"+name], prometheus.GaugeValue, v, labels...)
	}
	for k, t := range h.targets {
		up := 0.0
		if t.up {
			up = 1
		}
		g("source_up", up, k.source, k.target)
		g("sync_duration_seconds", t.duration.Seconds(), k.source, k.target)
		if !t.lastSuccess.IsZero() {
			g("last_sync_success_timestamp_seconds", float64(t.lastSuccess.UnixNano())/1e9, k.source, k.target)
		}
		for res, rl := range t.limits {
			if rl.HasRemaining {
				g("api_rate_limit_remaining", rl.Remaining, k.source, k.target, res)
			}
			if rl.HasLimit {
				g("api_rate_limit_limit", rl.Limit, k.source, k.target, res)
			}
			if rl.HasReset {
				g("api_rate_limit_reset_timestamp_seconds", float64(rl.Reset.Unix()), k.source, k.target, res)
			}
		}
		for _, lt := range t.missingLinkTypes {
			g("jira_link_types_missing", 1, k.source, k.target, catalogue.CapLabelValue(lt))
		}
		if t.hasDeferred {
			g("jira_comments_deferred", float64(t.deferred), k.source, k.target)
		}
	}
	for source, n := range h.stored {
		g("store_events", float64(n), source)
	}
	if h.snapshot.set {
		up := 0.0
		if h.snapshot.ok {
			up = 1
		}
		g("snapshot_up", up)
		if !h.snapshot.last.IsZero() {
			g("snapshot_last_success_timestamp_seconds", float64(h.snapshot.last.UnixNano())/1e9)
		}
	}
	if h.reload.set {
		ok := 0.0
		if h.reload.ok {
			ok = 1
		}
		g("config_last_reload_successful", ok)
		if !h.reload.last.IsZero() {
			g("config_last_reload_success_timestamp_seconds", float64(h.reload.last.Unix()))
		}
	}
}
