package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/crossteam/crossteam/catalogue"
	"github.com/crossteam/crossteam/config"
	"github.com/crossteam/crossteam/engine"
	"github.com/crossteam/crossteam/model"
	"github.com/crossteam/crossteam/review"
)

// reviewPages serves /review (the last complete week as of the published
// snapshot) and /review/2026-W48. A page is computed from the store as of
// the current snapshot's instant, in the request's goroutine (scrapes
// never wait for it: they read the published snapshot), and cached per
// week until a new snapshot is published.
type reviewPages struct {
	logger   *slog.Logger
	snapshot func() *engine.Snapshot
	config   func() *config.Config
	load     func(ctx context.Context) (*model.Dataset, error)
	health   prometheus.Gatherer // crossteam_source_up and last sync
	engine   engine.Options

	mu    sync.Mutex // one computation at a time; guards the cache
	for_  *engine.Snapshot
	cfg   *config.Config
	pages map[review.Week]cachedPage
}

// cachedPage is a computed page, or the week's error (before the stored
// history), so a repeated bad week does not read the store again.
type cachedPage struct {
	html []byte
	err  error
}

// errNoSnapshot: the first sync has not finished.
var errNoSnapshot = errors.New("no snapshot yet (first sync running); the review is computed as of the current snapshot")

func (p *reviewPages) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "This endpoint requires a GET request.", http.StatusMethodNotAllowed)
		return
	}
	week := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, "/review"), "/")
	page, status, err := p.page(r.Context(), week)
	if err != nil {
		http.Error(w, err.Error(), status)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	// The page requests nothing: say so to the browser too.
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:")
	w.Write(page)
}

// page returns the HTML of week ("" for the last complete one).
func (p *reviewPages) page(ctx context.Context, week string) ([]byte, int, error) {
	snap := p.snapshot()
	if snap == nil {
		return nil, http.StatusServiceUnavailable, errNoSnapshot
	}
	cfg := p.config()
	loc := review.Location(cfg)
	wk := review.LastComplete(snap.AsOf, loc)
	if week != "" {
		var err error
		if wk, err = review.ParseWeek(week); err != nil {
			return nil, http.StatusNotFound, err
		}
	}
	if err := review.CheckComplete(wk, snap.AsOf, loc); err != nil {
		return nil, http.StatusNotFound, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.for_ != snap || p.cfg != cfg {
		p.for_, p.cfg, p.pages = snap, cfg, map[review.Week]cachedPage{}
	}
	if c, ok := p.pages[wk]; ok {
		if c.err != nil {
			return nil, http.StatusNotFound, c.err
		}
		return c.html, http.StatusOK, nil
	}
	ds, err := p.load(ctx)
	if err != nil {
		p.logger.Error("review: loading the store failed", "week", wk.String(), "err", err)
		return nil, http.StatusInternalServerError, fmt.Errorf("review %s: loading the store failed", wk)
	}
	if err := review.Check(cfg, ds, wk, snap.AsOf); err != nil {
		p.pages[wk] = cachedPage{err: err}
		return nil, http.StatusNotFound, err
	}
	sources, loaded := p.sources()
	rv, err := review.Compute(cfg, ds, review.Options{Week: wk, Now: snap.AsOf, Engine: p.engine, Sources: sources, ConfigLoaded: loaded})
	if err != nil {
		return nil, http.StatusInternalServerError, err
	}
	var buf bytes.Buffer
	if err := rv.HTML(&buf); err != nil {
		return nil, http.StatusInternalServerError, err
	}
	p.pages[wk] = cachedPage{html: buf.Bytes()}
	return buf.Bytes(), http.StatusOK, nil
}

// sources reads the sources' health and the configuration's load time
// from the health metrics (the same figures the boards and alerts show).
func (p *reviewPages) sources() ([]review.SourceHealth, time.Time) {
	var loaded time.Time
	mfs, err := p.health.Gather()
	if err != nil {
		p.logger.Warn("review: reading source health failed", "err", err)
		return nil, loaded
	}
	type key struct{ source, target string }
	by := map[key]*review.SourceHealth{}
	var order []key
	get := func(labels map[string]string) *review.SourceHealth {
		k := key{labels["source"], labels["target"]}
		if h, ok := by[k]; ok {
			return h
		}
		h := &review.SourceHealth{Source: k.source, Target: k.target}
		by[k] = h
		order = append(order, k)
		return h
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			switch mf.GetName() {
			case catalogue.Namespace + "_source_up":
				get(labels).Up = m.GetGauge().GetValue() == 1
			case catalogue.Namespace + "_config_last_reload_success_timestamp_seconds":
				if v := m.GetGauge().GetValue(); v > 0 {
					loaded = time.Unix(0, int64(v*1e9))
				}
			case catalogue.Namespace + "_last_sync_success_timestamp_seconds":
				if v := m.GetGauge().GetValue(); v > 0 {
					get(labels).LastSuccess = time.Unix(0, int64(v*1e9))
				}
			}
		}
	}
	out := make([]review.SourceHealth, 0, len(order))
	for _, k := range order {
		out = append(out, *by[k])
	}
	return out, loaded
}
