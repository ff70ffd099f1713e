package e2e

import (
	"context"
	"fmt"
	"math"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/crossteam/crossteam/dashboards"
	"github.com/crossteam/crossteam/engine"
)

// The burn alerts read windows of a day: the two-day history steps leave
// none of their samples there. recentStep puts a sample every 4 hours in
// the last 3 days (ending an hour before the demo's clock, clear of the
// head block the live scrapes write).
const (
	recentSpan = 74 * time.Hour
	recentStep = 4 * time.Hour
	recentGap  = time.Hour
)

// recentInstants are the instants backfillRecent writes.
func recentInstants(now time.Time) []time.Time {
	var out []time.Time
	for at := now.Add(-recentSpan); at.Before(now.Add(-recentGap)); at = at.Add(recentStep) {
		out = append(out, at)
	}
	return out
}

// backfillRecent writes the last days' history densely (a third backfill;
// Prometheus merges the overlapping blocks).
func backfillRecent(t *testing.T, bin, promtool, dir, dataDir string, dw *demoWorld, labels map[string]string) {
	t.Helper()
	file := filepath.Join(dir, "recent.om")
	args := []string{"backfill", "--config.file=" + dw.cfgPath, "--backfill.from=" + dw.now.Add(-recentSpan).Format(time.RFC3339),
		"--backfill.to=" + dw.now.Add(-recentGap).Format(time.RFC3339), "--backfill.step=" + recentStep.String(), "--backfill.out=" + file}
	for k, v := range labels {
		args = append(args, "--backfill.label="+k+"="+v)
	}
	if out, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
		t.Fatalf("crossteam backfill of the last days: %v\n%s", err, out)
	}
	if out, err := exec.Command(promtool, "tsdb", "create-blocks-from", "openmetrics", "--quiet", file, dataDir).CombinedOutput(); err != nil {
		t.Fatalf("promtool tsdb create-blocks-from openmetrics: %v\n%s", err, tail(string(out), 4000))
	}
}

// sampleInstants are every instant Prometheus holds a sample of the
// demo's metrics at, before the live scrapes (which continue the demo's
// frozen snapshot at dw.now): the history, the review's week boundaries
// and the recent history.
func sampleInstants(dw *demoWorld) []time.Time {
	var out []time.Time
	for at := dw.now.Add(-backfillSpan); at.Before(dw.now); at = at.Add(backfillStep) {
		out = append(out, at)
	}
	out = append(out, reviewBounds(dw, reviewWeek(dw))...)
	out = append(out, recentInstants(dw.now)...)
	sort.Slice(out, func(i, j int) bool { return out[i].Before(out[j]) })
	return out
}

// checkAgreementBurn: CrossteamHandoffAgreementBurn fires for exactly the
// pairs, kinds and speeds whose error budget the simulator's history burns,
// computed here from the engine over the simulator's dataset: for each
// window, the share of handoffs outside the target between the first
// sample Prometheus holds in the window and the demo's clock, over the
// agreement's budget, against the alert's rate in both windows. Pairs
// within 10% of a rate are left out of the comparison (Prometheus
// extrapolates increase() to the window's edges; the engine does not).
func checkAgreementBurn(ctx context.Context, t *testing.T, p *promAPI, dw *demoWorld) {
	groups, err := p.rules(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var at time.Time
	for _, g := range groups {
		if g.Name == "crossteam.agreements.rules" {
			at = g.LastEvaluation
		}
	}
	if at.IsZero() {
		t.Fatal("group crossteam.agreements.rules not evaluated")
	}
	firing := map[string]bool{}
	res, err := p.query(ctx, `ALERTS{alertname="CrossteamHandoffAgreementBurn", alertstate="firing"}`)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range res {
		firing[fmt.Sprintf("%s %s->%s %s %s", s.Metric["source"], s.Metric["from_team"], s.Metric["to_team"], s.Metric["kind"], s.Metric["speed"])] = true
	}

	ds := dw.world.Dataset()
	snaps := map[time.Time]map[engine.PairKey]engine.PairStats{}
	pairsAt := func(ts time.Time) map[engine.PairKey]engine.PairStats {
		if m, ok := snaps[ts]; ok {
			return m
		}
		m := map[engine.PairKey]engine.PairStats{}
		for _, ps := range engine.Compute(ds, dw.cfg, ts).Pairs {
			m[ps.PairKey] = ps
		}
		snaps[ts] = m
		return m
	}
	instants := sampleInstants(dw)
	end := pairsAt(dw.now)
	// burn is the burn rate of a pair's kind over window w, NaN when no
	// handoff of that kind ended in it.
	burn := func(k engine.PairKey, kind string, w time.Duration) float64 {
		e := end[k]
		var first *engine.PairStats
		for _, ts := range instants {
			if ts.Before(at.Add(-w)) {
				continue
			}
			if ps, ok := pairsAt(ts)[k]; ok {
				first = &ps
				break
			}
		}
		within, all, obj := e.PickupsWithin, e.Pickup.Count, e.Agreement.Pickup.Ratio
		if kind == "cycle" {
			within, all, obj = e.CyclesWithin, e.Cycle.Count, e.Agreement.Cycle.Ratio
		}
		if first != nil {
			if kind == "cycle" {
				within, all = within-first.CyclesWithin, all-first.Cycle.Count
			} else {
				within, all = within-first.PickupsWithin, all-first.Pickup.Count
			}
		}
		if all == 0 {
			return math.NaN()
		}
		return (1 - float64(within)/float64(all)) / (1 - obj)
	}
	day := 24 * time.Hour
	speeds := []struct {
		name        string
		rate        float64
		long, short time.Duration
	}{
		{"fast", dashboards.BurnFastRate, 3 * day, 1 * day},
		{"slow", dashboards.BurnSlowRate, 7 * day, 2 * day},
	}
	want, borderline := map[string]bool{}, 0
	for k, ps := range end {
		if ps.Agreement == nil {
			continue
		}
		for _, kind := range []string{"pickup", "cycle"} {
			if kind == "cycle" && ps.Agreement.Cycle == nil {
				continue
			}
			for _, sp := range speeds {
				l, s := burn(k, kind, sp.long), burn(k, kind, sp.short)
				key := fmt.Sprintf("%s %s->%s %s %s", k.Source, k.From, k.To, kind, sp.name)
				near := func(x float64) bool { return math.Abs(x-sp.rate) < 0.1*sp.rate }
				if near(l) || near(s) {
					borderline++
					delete(firing, key)
					continue
				}
				if l > sp.rate && s > sp.rate {
					want[key] = true
				}
			}
		}
	}
	for k := range want {
		if !firing[k] {
			t.Errorf("CrossteamHandoffAgreementBurn does not fire for %s, which the simulator's history burns", k)
		}
	}
	for k := range firing {
		if !want[k] {
			t.Errorf("CrossteamHandoffAgreementBurn fires for %s, which the simulator's history does not burn", k)
		}
	}
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	t.Logf("CrossteamHandoffAgreementBurn firing for %d (pair, kind, speed), as the simulator's history says: %v; %d left out within 10%% of a rate", len(want), keys, borderline)
}
