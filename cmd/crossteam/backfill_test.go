package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crossteam/crossteam/config"
	"github.com/crossteam/crossteam/exposition"
	"github.com/crossteam/crossteam/shard"
	"github.com/crossteam/crossteam/store"
)

// TestBackfill syncs the fake org of the serve test (a handoff at 10:00,
// picked up at 12:00 on 2026-03-02) into a store, then runs `crossteam
// backfill` over it at 08:00, 10:00 and 12:00: hand-computed, no handoff at
// 08:00, one from 10:00, its 2h pickup observed at 12:00.
func TestBackfill(t *testing.T) {
	api := fakeOrg(t)
	dir := t.TempDir()
	cfgPath := writeServeConfig(t, dir, api.URL)
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.DiscardHandler)
	st, err := store.Open(context.Background(), cfg.Store.Path, logger)
	if err != nil {
		t.Fatal(err)
	}
	targets, err := newTargets(cfg, st, exposition.NewHealth(), logger, nil, shard.Spec{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tg := range targets {
		if err := tg.Sync(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()

	out := filepath.Join(dir, "history.om")
	code, stdout, stderr := runCmd(t, "backfill", "--config.file="+cfgPath, "--backfill.from=2026-03-02T08:00:00Z",
		"--backfill.to=2026-03-02T13:00:00Z", "--backfill.step=2h", "--backfill.out="+out,
		"--backfill.label=job=crossteam", "--backfill.label=instance=exporter:19280")
	if code != 0 || stdout != "" {
		t.Fatalf("exit %d, stdout %q, stderr %s", code, stdout, stderr)
	}
	if !strings.Contains(stderr, "3 instants from 2026-03-02T08:00:00Z to 2026-03-02T13:00:00Z every 2h") ||
		!strings.Contains(stderr, "promtool tsdb create-blocks-from openmetrics "+out) {
		t.Errorf("stderr = %q", stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	// 2026-03-02T10:00Z is Unix 1772445600; 12:00 is 1772452800.
	pair := `{from_team="design",source="github",to_team="backend",instance="exporter:19280",job="crossteam"}`
	for _, want := range []string{
		"crossteam_handoffs_total" + pair + " 1.0 1.7724456e+09\n",
		"crossteam_handoffs_total" + pair + " 1.0 1.7724528e+09\n",
		"crossteam_handoff_pickup_seconds_sum" + pair + " 7200.0 1.7724528e+09\n",
		"crossteam_handoff_pickup_seconds_count" + pair + " 0 1.7724456e+09\n",
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("history lacks %q", want)
		}
	}
	if strings.Count(string(b), "crossteam_handoffs_total"+pair) != 2 {
		t.Error("want the handoff counter at 10:00 and 12:00 only (nothing at 08:00)")
	}

	// A Prometheus keeping less than the span: an error naming it, and
	// nothing written; one keeping enough but less than the rules need:
	// a warning, and the history written.
	prom := func(retention string) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/api/v1/status/runtimeinfo" {
				http.NotFound(w, r)
				return
			}
			fmt.Fprintf(w, `{"status":"success","data":{"GOMAXPROCS":2,"storageRetention":%q}}`, retention)
		}))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	short := prom("2h")
	out2 := filepath.Join(dir, "short.om")
	code, _, stderr = runCmd(t, "backfill", "--config.file="+cfgPath, "--backfill.from=2026-03-02T08:00:00Z",
		"--backfill.to=2026-03-02T13:00:00Z", "--backfill.step=2h", "--backfill.out="+out2, "--backfill.prometheus-url="+short)
	if code != exitError || !strings.Contains(stderr, "--backfill.prometheus-url "+short+": Prometheus keeps 2h (storage retention 2h) but the backfill starts 5h ago: it would delete the older 3h") {
		t.Errorf("short retention: exit %d, stderr %q", code, stderr)
	}
	if _, err := os.Stat(out2); err == nil {
		t.Error("short retention: the history was written anyway")
	}
	code, _, stderr = runCmd(t, "backfill", "--config.file="+cfgPath, "--backfill.from=2026-03-02T08:00:00Z",
		"--backfill.to=2026-03-02T13:00:00Z", "--backfill.step=2h", "--backfill.out="+out2, "--backfill.prometheus-url="+prom("15d"))
	if code != 0 || !strings.Contains(stderr, "warning: Prometheus keeps 15d; the recording rules read 56d back") {
		t.Errorf("15d retention: exit %d, stderr %q", code, stderr)
	}

	// Bad input names the flag.
	for _, tc := range []struct{ arg, want string }{
		{"--backfill.from=yesterday", "--backfill.from"},
		{"--backfill.to=noon", "--backfill.to"},
	} {
		if code, _, stderr := runCmd(t, "backfill", "--config.file="+cfgPath, tc.arg); code != exitError || !strings.Contains(stderr, tc.want) {
			t.Errorf("%s: exit %d, stderr %q", tc.arg, code, stderr)
		}
	}
}
