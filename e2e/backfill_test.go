package e2e

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/crossteam/crossteam/backfill"
	"github.com/crossteam/crossteam/config"
	"github.com/crossteam/crossteam/model"
)

// A fresh Prometheus has no history, so every increase() over the boards'
// windows (7d, 28d, the 90d range) would be zero and every quantile of it
// NaN. The test therefore does what a user does on install day: it runs
// `crossteam backfill` over the demo's store (metrics are a pure function
// of (events, config, asOf), so this is what the exporter showed then),
// with the job and instance labels of the live scrape, and loads the
// result with promtool. The live scrape then continues the same series.

const (
	// backfillSpan covers the widest window the boards use (their 90d
	// range) and the rules' 28d; the simulated history is 4 months.
	backfillSpan = 92 * 24 * time.Hour
	// backfillStep: a snapshot every two days puts three or more in the
	// narrowest window (7d). promtool writes a 2h block per instant and
	// reads the whole file for each, so the cost grows with the square of
	// the number of instants (46 here: a few seconds).
	backfillStep = 48 * time.Hour
)

// backfillDemo runs `crossteam backfill` over the demo's store (its
// configuration names it) and has promtool turn the result into blocks.
func backfillDemo(t *testing.T, bin, promtool, dir, dataDir, cfgPath string, now time.Time, labels map[string]string) {
	t.Helper()
	file := filepath.Join(dir, "history.om")
	args := []string{"backfill", "--config.file=" + cfgPath,
		"--backfill.from=" + now.Add(-backfillSpan).Format(time.RFC3339), "--backfill.to=" + now.Format(time.RFC3339),
		"--backfill.step=" + backfillStep.String(), "--backfill.out=" + file}
	for k, v := range labels {
		args = append(args, "--backfill.label="+k+"="+v)
	}
	if out, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
		t.Fatalf("crossteam backfill: %v\n%s", err, out)
	} else {
		t.Logf("%s", out)
	}
	began := time.Now()
	if out, err := exec.Command(promtool, "tsdb", "create-blocks-from", "openmetrics", "--quiet", file, dataDir).CombinedOutput(); err != nil {
		t.Fatalf("promtool tsdb create-blocks-from openmetrics: %v\n%s", err, tail(string(out), 4000))
	}
	fi, _ := os.Stat(file)
	t.Logf("promtool loaded %d bytes of OpenMetrics in %s", fi.Size(), time.Since(began).Round(time.Millisecond))
}

// checkContinues: every counter and histogram series of the history (as
// computed from the simulator's ground truth) is a series of the live
// exposition, not below its last backfilled value — else the boards'
// windows would join a dead backfilled series, or see a counter reset.
func checkContinues(t *testing.T, cfg *config.Config, ds *model.Dataset, now time.Time, live map[string]*dto.MetricFamily) {
	t.Helper()
	st, err := backfill.Write(io.Discard, cfg, ds, backfill.Options{From: now.Add(-backfillSpan), To: now, Step: backfillStep})
	if err != nil {
		t.Fatal(err)
	}
	current := map[string]float64{}
	for _, mf := range live {
		for k, v := range backfill.Cumulative(mf) {
			current[k] = v
		}
	}
	for k, v := range st.Last {
		lv, ok := current[k]
		switch {
		case !ok:
			t.Errorf("backfilled series %s is not in the demo's /metrics", k)
		case lv < v:
			t.Errorf("%s: live value %g below the last backfilled %g", k, lv, v)
		}
	}
}
