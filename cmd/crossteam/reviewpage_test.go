package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/crossteam/crossteam/config"
	"github.com/crossteam/crossteam/engine"
	"github.com/crossteam/crossteam/exposition"
	"github.com/crossteam/crossteam/model"
	"github.com/crossteam/crossteam/store"
)

// TestReviewPages serves the fake org's store as of a snapshot at
// 2026-03-10: /review is W10 (its one handoff), weeks are cached until a
// new snapshot is published, and bad weeks are 404 with the review's
// message.
func TestReviewPages(t *testing.T) {
	_, cfgPath := syncedServeConfig(t)
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), cfg.Store.Path, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var snap atomic.Pointer[engine.Snapshot]
	snap.Store(&engine.Snapshot{AsOf: time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)})
	var loads atomic.Int32
	health := exposition.NewHealth()
	health.Register("github", "acme")
	health.SyncDone("github", "acme", time.Second, io.ErrUnexpectedEOF, time.Now())
	health.SetReload(true, time.Date(2026, 3, 5, 8, 0, 0, 0, time.UTC))
	reg := prometheus.NewRegistry()
	reg.MustRegister(health)
	p := &reviewPages{logger: slog.New(slog.DiscardHandler), snapshot: snap.Load, config: func() *config.Config { return cfg },
		load: func(ctx context.Context) (*model.Dataset, error) { loads.Add(1); return st.Load(ctx) }, health: reg}
	mux := http.NewServeMux()
	mux.Handle("/review", p)
	mux.Handle("/review/", p)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	for _, tc := range []struct {
		path  string
		code  int
		want  string
		loads int32
	}{
		{"/review", 200, "Cross-team review, week 2026-W10", 1},
		{"/review/2026-W10", 200, "Cross-team review, week 2026-W10", 1}, // cached
		{"/review/2026-W10", 200, "github/acme is failing; last successful sync never", 1},
		{"/review/2026-W10", 200, "Configuration loaded 2026-03-05T08:00:00Z: during or after this week", 1},
		{"/review/2026-W11", 404, "week 2026-W11 is not complete yet", 1},
		{"/review/2026-W09", 404, "week 2026-W09 is before the stored history, whose first week is 2026-W10", 2},
		{"/review/2026-W09", 404, "week 2026-W09 is before the stored history", 2}, // cached
		{"/review/next", 404, `week "next": want an ISO week like 2026-W48`, 2},
	} {
		code, body := get(t, srv.URL+tc.path)
		if code != tc.code || !strings.Contains(body, tc.want) || loads.Load() != tc.loads {
			t.Errorf("%s: %d, %d loads, body %.300q; want %d, %d loads, %q", tc.path, code, loads.Load(), body, tc.code, tc.loads, tc.want)
		}
	}
	resp, err := http.Get(srv.URL + "/review")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if ct, csp := resp.Header.Get("Content-Type"), resp.Header.Get("Content-Security-Policy"); ct != "text/html; charset=utf-8" || !strings.HasPrefix(csp, "default-src 'none'") {
		t.Errorf("headers: %q %q", ct, csp)
	}
	// A new snapshot invalidates the cache.
	snap.Store(&engine.Snapshot{AsOf: time.Date(2026, 3, 10, 0, 10, 0, 0, time.UTC)})
	if code, _ := get(t, srv.URL+"/review/2026-W10"); code != 200 || loads.Load() != 3 {
		t.Errorf("after a new snapshot: %d, %d loads, want 200 and a fresh load", code, loads.Load())
	}
	// No snapshot yet: 503.
	snap.Store(nil)
	if code, body := get(t, srv.URL+"/review"); code != http.StatusServiceUnavailable || !strings.Contains(body, "no snapshot yet") {
		t.Errorf("no snapshot: %d %q", code, body)
	}
}
