package exposition

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/crossteam/crossteam/catalogue"
)

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
	descs    map[string]*prometheus.Desc
}

type targetKey struct{ source, target string }

type targetHealth struct {
	up          bool
	duration    time.Duration
	lastSuccess time.Time
	remaining   float64
	hasRemain   bool
	// byResource is the last remaining per X-RateLimit-Resource (GitHub
	// budgets REST "core" and "graphql" apart) with its reset; remaining
	// is the minimum of those whose window has not reset, so the figure
	// does not flip between budgets from request to request.
	byResource map[string]resourceRemaining
	lastErr    string
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

// SyncDone records the outcome of one sync. It reports whether the error
// text changed since the previous sync (so callers log a failure once per
// change, not once per retry).
func (h *Health) SyncDone(source, target string, d time.Duration, err error, now time.Time) (changed bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	t := h.target(source, target)
	t.duration = d
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

// Transport wraps next so every response of this target is counted by
// status code (client_golang's promhttp.InstrumentRoundTripperCounter) and
// its rate-limit header read. Transport errors, which promhttp does not
// count, count as code "0".
func (h *Health) Transport(source, target string, next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	byCode := h.requests.MustCurryWith(prometheus.Labels{"source": source, "target": target})
	return &rateLimitTransport{h: h, source: source, target: target, byCode: byCode,
		next: promhttp.InstrumentRoundTripperCounter(byCode, next)}
}

type rateLimitTransport struct {
	h              *Health
	source, target string
	byCode         *prometheus.CounterVec
	next           http.RoundTripper
}

func (c *rateLimitTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := c.next.RoundTrip(r)
	if err != nil {
		c.byCode.WithLabelValues("0").Inc()
		return resp, err
	}
	if v := resp.Header.Get("X-RateLimit-Remaining"); v != "" {
		if f, perr := strconv.ParseFloat(v, 64); perr == nil {
			c.h.mu.Lock()
			t := c.h.target(c.source, c.target)
			if t.byResource == nil {
				t.byResource = map[string]resourceRemaining{}
			}
			var reset time.Time
			if sec, err := strconv.ParseInt(resp.Header.Get("X-RateLimit-Reset"), 10, 64); err == nil {
				reset = time.Unix(sec, 0)
			}
			now, res := time.Now(), resp.Header.Get("X-RateLimit-Resource")
			t.byResource[res] = resourceRemaining{f, reset}
			t.remaining, t.hasRemain = f, true
			for k, v := range t.byResource {
				if k != res && !v.reset.IsZero() && now.After(v.reset) {
					delete(t.byResource, k) // that window is over
					continue
				}
				t.remaining = min(t.remaining, v.left)
			}
			c.h.mu.Unlock()
		}
	}
	return resp, nil
}

// resourceRemaining is one rate-limit budget as last reported.
type resourceRemaining struct {
	left  float64
	reset time.Time
}

// Describe implements prometheus.Collector.
func (h *Health) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range h.descs {
		ch <- d
	}
	h.requests.Describe(ch)
}

// Collect implements prometheus.Collector.
func (h *Health) Collect(ch chan<- prometheus.Metric) {
	h.requests.Collect(ch)
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
		if t.hasRemain {
			g("api_rate_limit_remaining", t.remaining, k.source, k.target)
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
