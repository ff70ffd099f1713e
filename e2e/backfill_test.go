package e2e

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/crossteam/crossteam/collectors"
	"github.com/crossteam/crossteam/config"
	"github.com/crossteam/crossteam/engine"
	"github.com/crossteam/crossteam/model"
)

// A fresh Prometheus has no history, so every increase() over the boards'
// windows (7d, 28d, the 90d range) would be zero and every quantile of it
// NaN. The test therefore gives Prometheus the history the demo would have
// exported had it been scraped all along: engine snapshots of the
// simulator's own dataset (the ground truth the collectors recover, see
// package sim) at instants before the demo's clock, exposed by the same
// snapshot collector as /metrics, with the job and instance labels of the
// live scrape, turned into TSDB blocks by promtool. Metrics are a pure
// function of (events, config, asOf), so this is what the exporter showed
// then. The live scrape then continues the same series.

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

// history is the backfilled exposition, merged per family.
type history struct {
	families map[string]*dto.MetricFamily
	// last value of each counter and histogram series (name{labels}, the
	// job and instance labels left out), for the continuity checks.
	last map[string]float64
	// instants is the number of snapshots.
	instants int
}

// seriesKey names a sample: metric name and sorted labels, without job
// and instance.
func seriesKey(name string, labels []*dto.LabelPair, extra ...string) string {
	var parts []string
	for _, l := range labels {
		if l.GetName() == "job" || l.GetName() == "instance" {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
	}
	parts = append(parts, extra...)
	sort.Strings(parts)
	return name + "{" + strings.Join(parts, ",") + "}"
}

// cumulative lists a counter's or histogram's cumulative values by series
// key (a histogram: each bucket and the count); nil for other types.
func cumulative(mf *dto.MetricFamily) map[string]float64 {
	out := map[string]float64{}
	for _, m := range mf.GetMetric() {
		switch mf.GetType() {
		case dto.MetricType_COUNTER:
			out[seriesKey(mf.GetName(), m.GetLabel())] = m.GetCounter().GetValue()
		case dto.MetricType_HISTOGRAM:
			h := m.GetHistogram()
			out[seriesKey(mf.GetName()+"_count", m.GetLabel())] = float64(h.GetSampleCount())
			for _, b := range h.GetBucket() {
				out[seriesKey(mf.GetName()+"_bucket", m.GetLabel(), fmt.Sprintf("le=%q", fmt.Sprint(b.GetUpperBound())))] = float64(b.GetCumulativeCount())
			}
		default:
			return nil
		}
	}
	return out
}

// buildHistory computes the snapshots at now-span, now-span+step, ...,
// before now, keeps their counters and histograms, and checks that each
// only grows from one instant to the next.
func buildHistory(t *testing.T, cfg *config.Config, ds *model.Dataset, now time.Time, span, step time.Duration, labels map[string]string) *history {
	t.Helper()
	h := &history{families: map[string]*dto.MetricFamily{}, last: map[string]float64{}}
	eng := engine.New(cfg, ds.Members, engine.Options{})
	var extra []*dto.LabelPair
	for k, v := range labels {
		extra = append(extra, &dto.LabelPair{Name: ptr(k), Value: ptr(v)})
	}
	for asOf := now.Add(-span); asOf.Before(now); asOf = asOf.Add(step) {
		c := collectors.NewSnapshotCollector()
		c.Set(eng.Compute(ds, asOf), 0)
		reg := prometheus.NewRegistry()
		reg.MustRegister(c)
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatalf("snapshot at %s: %v", asOf, err)
		}
		for _, mf := range mfs {
			if t := mf.GetType(); t != dto.MetricType_COUNTER && t != dto.MetricType_HISTOGRAM {
				// Instant queries see only the live gauges (the lookback
				// is 5m); the windows need the counters' history.
				continue
			}
			for k, v := range cumulative(mf) {
				if prev, ok := h.last[k]; ok && v < prev {
					t.Errorf("%s went down from %g to %g at %s: a counter must only grow as asOf moves on", k, prev, v, asOf.Format(time.RFC3339))
				}
				h.last[k] = v
			}
			acc := h.families[mf.GetName()]
			if acc == nil {
				acc = &dto.MetricFamily{Name: mf.Name, Help: mf.Help, Type: mf.Type}
				h.families[mf.GetName()] = acc
			}
			for _, m := range mf.GetMetric() {
				m.Label = append(m.Label, extra...)
				m.TimestampMs = ptr(asOf.UnixMilli())
				acc.Metric = append(acc.Metric, m)
			}
		}
		h.instants++
	}
	return h
}

// checkContinues: every backfilled counter and histogram series is a
// series of the live exposition (else the boards' windows would join a
// dead backfilled series and hide a live one), and the live value is not
// below the last backfilled one.
func (h *history) checkContinues(t *testing.T, live map[string]*dto.MetricFamily) {
	t.Helper()
	now := map[string]float64{}
	for _, mf := range live {
		for k, v := range cumulative(mf) {
			now[k] = v
		}
	}
	for k, v := range h.last {
		lv, ok := now[k]
		switch {
		case !ok:
			t.Errorf("backfilled series %s is not in the demo's /metrics", k)
		case lv < v:
			t.Errorf("%s: live value %g below the last backfilled %g", k, lv, v)
		}
	}
}

// writeBlocks writes the history as OpenMetrics and has promtool turn it
// into TSDB blocks in dataDir.
func (h *history) writeBlocks(t *testing.T, promtool, dir, dataDir string) {
	t.Helper()
	path := filepath.Join(dir, "history.om.txt")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	names := make([]string, 0, len(h.families))
	for n := range h.families {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if _, err := expfmt.MetricFamilyToOpenMetrics(w, h.families[n]); err != nil {
			t.Fatalf("%s: %v", n, err)
		}
	}
	if _, err := w.WriteString("# EOF\n"); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	cmd := exec.Command(promtool, "tsdb", "create-blocks-from", "openmetrics", "--quiet", path, dataDir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtool tsdb create-blocks-from openmetrics: %v\n%s", err, tail(string(out), 4000))
	}
	fi, _ := os.Stat(path)
	t.Logf("backfilled %d snapshots (%d bytes of OpenMetrics) in %s", h.instants, fi.Size(), time.Since(began).Round(time.Millisecond))
}

func ptr[T any](v T) *T { return &v }
