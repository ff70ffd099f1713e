package sim_test

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/crossteam/crossteam/config"
	"github.com/crossteam/crossteam/engine"
	"github.com/crossteam/crossteam/model"
	"github.com/crossteam/crossteam/sim"
)

// TestRecordsGroundTruth: the engine over the generated history derives
// exactly the designed decisions, post-mortem actions and dependencies, at
// Now and a week later (revisit and due dates pass, ages grow).
func TestRecordsGroundTruth(t *testing.T) {
	w := generate(t, sim.Small())
	tok := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tok, []byte(w.GitHubToken), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse([]byte(w.Config(sim.ConfigOptions{GitHubURL: "http://127.0.0.1:1/", TokenFile: tok})))
	if err != nil {
		t.Fatal(err)
	}
	ds := w.Dataset()
	for _, asOf := range []time.Time{w.Now, w.Now.Add(7 * 24 * time.Hour)} {
		truth := w.Records(asOf)
		r := engine.New(cfg, ds.Members, engine.Options{}).Compute(ds, asOf).Records
		if len(truth.Decisions) == 0 || len(truth.DepsOpen) == 0 || len(truth.Overdue) == 0 {
			t.Fatalf("the world has too few records to test: %+v", truth)
		}
		secs := func(h engine.Histogram) (n uint64, sum float64) { return h.Count, h.Sum }
		sum := func(l []int64) (n uint64, s float64) {
			for _, x := range l {
				s += float64(x)
			}
			return uint64(len(l)), s
		}
		gotDec, gotDecide := map[string]map[string]int{}, map[string][2]float64{}
		// Summed over the sources (the truth covers GitHub and Jira).
		sources := map[string]bool{}
		for _, d := range r.Decisions {
			if d.Signal != sim.DecisionSignal {
				t.Errorf("decision figures of %+v: only signal %s expected", d.RecordKey, sim.DecisionSignal)
				continue
			}
			sources[d.Source] = true
			if gotDec[d.Team] == nil {
				gotDec[d.Team] = map[string]int{"open": 0, "decided": 0, "revisit_due": 0}
			}
			gotDec[d.Team]["open"] += d.Open
			gotDec[d.Team]["decided"] += d.Decided
			gotDec[d.Team]["revisit_due"] += d.RevisitDue
			if n, s := secs(d.Decide); n > 0 {
				x := gotDecide[d.Team]
				gotDecide[d.Team] = [2]float64{x[0] + float64(n), x[1] + s}
			}
		}
		if !sources[model.SourceGitHub] || !sources[model.SourceJira] {
			t.Errorf("decisions from sources %v, want github and jira", sources)
		}
		wantDecide := map[string][2]float64{}
		for team, l := range truth.DecideSeconds {
			n, s := sum(l)
			wantDecide[team] = [2]float64{float64(n), s}
		}
		if !reflect.DeepEqual(gotDec, truth.Decisions) || !reflect.DeepEqual(gotDecide, wantDecide) {
			t.Errorf("%s: decisions\n got  %v %v\n want %v %v", asOf, gotDec, gotDecide, truth.Decisions, wantDecide)
		}
		gotOpen, gotOver, gotClose := map[string]int{}, map[string]int{}, map[string][2]float64{}
		for _, a := range r.Actions {
			gotOpen[a.Team] += a.Open
			gotOver[a.Team] += a.Overdue
			if n, s := secs(a.Close); n > 0 {
				x := gotClose[a.Team]
				gotClose[a.Team] = [2]float64{x[0] + float64(n), x[1] + s}
			}
		}
		wantClose := map[string][2]float64{}
		for team, l := range truth.CloseSeconds {
			n, s := sum(l)
			wantClose[team] = [2]float64{float64(n), s}
		}
		if !reflect.DeepEqual(gotOpen, truth.ActionsOpen) || !reflect.DeepEqual(gotOver, truth.ActionsOverdue) || !reflect.DeepEqual(gotClose, wantClose) {
			t.Errorf("%s: actions\n got  %v %v %v\n want %v %v %v", asOf, gotOpen, gotOver, gotClose, truth.ActionsOpen, truth.ActionsOverdue, wantClose)
		}
		gotOverdue := map[string]int64{}
		for _, a := range r.OverdueList {
			gotOverdue[a.Key] = int64(a.Overdue / time.Second)
		}
		if !reflect.DeepEqual(gotOverdue, truth.Overdue) {
			t.Errorf("%s: overdue list %v, want %v", asOf, gotOverdue, truth.Overdue)
		}
		gotDeps, gotOldest, gotRes := map[[2]string]int{}, map[[2]string]int64{}, map[[2]string][2]float64{}
		for _, d := range r.Dependencies {
			k := [2]string{d.Blocked, d.Blocking}
			gotDeps[k] += d.Open
			if d.Open > 0 {
				gotOldest[k] = max(gotOldest[k], int64(d.Oldest/time.Second))
			}
			if n, s := secs(d.Resolved); n > 0 {
				x := gotRes[k]
				gotRes[k] = [2]float64{x[0] + float64(n), x[1] + s}
			}
		}
		wantRes := map[[2]string][2]float64{}
		for k, l := range truth.DepsResolved {
			n, s := sum(l)
			wantRes[k] = [2]float64{float64(n), s}
		}
		if !reflect.DeepEqual(gotDeps, truth.DepsOpen) || !reflect.DeepEqual(gotOldest, truth.DepsOldest) || !reflect.DeepEqual(gotRes, wantRes) {
			t.Errorf("%s: dependencies\n got  %v %v %v\n want %v %v %v", asOf, gotDeps, gotOldest, gotRes, truth.DepsOpen, truth.DepsOldest, wantRes)
		}
		if r.DecisionTotal != truth.DecisionsListed || len(r.DecisionList) != min(truth.DecisionsListed, sim.DecisionsExported) {
			t.Errorf("%s: decision list %d of %d, want %d of %d", asOf, len(r.DecisionList), r.DecisionTotal, min(truth.DecisionsListed, sim.DecisionsExported), truth.DecisionsListed)
		}
		invalid := 0
		for _, n := range r.InvalidDates {
			invalid += n
		}
		if invalid != truth.InvalidDates || invalid == 0 {
			t.Errorf("%s: %d invalid dates, want %d (and some)", asOf, invalid, truth.InvalidDates)
		}
		gotList := map[string]string{}
		for _, d := range r.DependencyList {
			gotList[d.BlockedKey] = d.BlockingKey
		}
		if !reflect.DeepEqual(gotList, truth.OpenDependencies) {
			t.Errorf("%s: open dependencies %v, want %v", asOf, gotList, truth.OpenDependencies)
		}
	}
}
