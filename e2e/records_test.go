package e2e

import (
	"reflect"
	"testing"

	dto "github.com/prometheus/client_model/go"

	"github.com/crossteam/crossteam/sim"
)

// labelsOf renders a series' labels as a map.
func labelsOf(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, l := range m.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

// checkRecords compares the demo's /metrics with the simulator's record
// ground truth (sim/records.go) at the demo's clock, exactly: decisions by
// team and state, post-mortem actions open and overdue, the overdue list,
// and open dependencies by team pair with the list of them.
func checkRecords(t *testing.T, dw *demoWorld) {
	truth := dw.world.Records(dw.now)
	// Values are summed over the sources (GitHub and Jira), ages take the max.
	gaugeAgg := func(name string, keep func(l map[string]string) bool, key func(l map[string]string) string, maxOf bool) map[string]float64 {
		out := map[string]float64{}
		mf := dw.live[name]
		if mf == nil {
			t.Errorf("/metrics has no %s", name)
			return out
		}
		for _, m := range mf.GetMetric() {
			if l := labelsOf(m); keep(l) {
				if v := m.GetGauge().GetValue(); maxOf {
					out[key(l)] = max(out[key(l)], v)
				} else {
					out[key(l)] += v
				}
			}
		}
		return out
	}
	gauge := func(name string, keep func(l map[string]string) bool, key func(l map[string]string) string) map[string]float64 {
		return gaugeAgg(name, keep, key, false)
	}
	adr := func(l map[string]string) bool { return l["signal"] == sim.DecisionSignal }
	pm := func(l map[string]string) bool { return l["signal"] == sim.PostmortemSignal }
	all := func(l map[string]string) bool { return true }

	wantDec := map[string]float64{}
	for team, states := range truth.Decisions {
		for st, n := range states {
			wantDec[team+"/"+st] = float64(n)
		}
	}
	if got := gauge("crossteam_decision_records", adr, func(l map[string]string) string { return l["team"] + "/" + l["state"] }); !reflect.DeepEqual(got, wantDec) {
		t.Errorf("decision_records:\n got  %v\n want %v", got, wantDec)
	}
	wantOpen, wantOver := map[string]float64{}, map[string]float64{}
	for team, n := range truth.ActionsOpen {
		wantOpen[team] = float64(n)
	}
	for team, n := range truth.ActionsOverdue {
		wantOver[team] = float64(n)
	}
	team := func(l map[string]string) string { return l["team"] }
	if got := gauge("crossteam_postmortem_actions_open", pm, team); !reflect.DeepEqual(got, wantOpen) {
		t.Errorf("postmortem_actions_open: got %v, want %v", got, wantOpen)
	}
	if got := gauge("crossteam_postmortem_actions_overdue", pm, team); !reflect.DeepEqual(got, wantOver) {
		t.Errorf("postmortem_actions_overdue: got %v, want %v", got, wantOver)
	}
	wantList := map[string]float64{}
	for key, s := range truth.Overdue {
		wantList[key] = float64(s)
	}
	if got := gauge("crossteam_postmortem_action_overdue_seconds", pm, func(l map[string]string) string { return l["key"] }); !reflect.DeepEqual(got, wantList) {
		t.Errorf("postmortem_action_overdue_seconds: got %v, want %v", got, wantList)
	}
	wantDeps, wantOldest := map[string]float64{}, map[string]float64{}
	for p, n := range truth.DepsOpen {
		wantDeps[p[0]+"->"+p[1]] = float64(n)
		wantOldest[p[0]+"->"+p[1]] = float64(truth.DepsOldest[p])
	}
	pair := func(l map[string]string) string { return l["blocked_team"] + "->" + l["blocking_team"] }
	if got := gauge("crossteam_dependencies_open", all, pair); !reflect.DeepEqual(got, wantDeps) {
		t.Errorf("dependencies_open: got %v, want %v", got, wantDeps)
	}
	if got := gaugeAgg("crossteam_dependency_oldest_open_seconds", all, pair, true); !reflect.DeepEqual(got, wantOldest) {
		t.Errorf("dependency_oldest_open_seconds: got %v, want %v", got, wantOldest)
	}
	wantOpenList := map[string]float64{}
	for blocked, blocking := range truth.OpenDependencies {
		wantOpenList[blocked+" "+blocking] = 1
	}
	if got := gauge("crossteam_dependency_open_seconds", all, func(l map[string]string) string { return l["blocked_key"] + " " + l["blocking_key"] }); len(got) != len(wantOpenList) {
		t.Errorf("dependency_open_seconds: %d series %v, want %v", len(got), got, wantOpenList)
	} else {
		for k := range got {
			if wantOpenList[k] == 0 {
				t.Errorf("dependency_open_seconds: %s is not an open dependency of the truth %v", k, wantOpenList)
			}
		}
	}
	// Histograms: the resolved dependencies, every pair exported (zero
	// observations until the first).
	if mf := dw.live["crossteam_dependency_resolved_seconds"]; mf == nil {
		t.Errorf("/metrics has no crossteam_dependency_resolved_seconds")
	} else {
		got := map[string]uint64{}
		for _, m := range mf.GetMetric() {
			if l := labelsOf(m); all(l) {
				got[pair(l)] += m.GetHistogram().GetSampleCount()
			}
		}
		want := map[string]uint64{}
		for p := range truth.DepsOpen {
			want[p[0]+"->"+p[1]] = uint64(len(truth.DepsResolved[p]))
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("dependency_resolved_seconds counts: got %v, want %v", got, want)
		}
	}
}

// recordPanelTruth are the single-number panels of the decisions board.
func recordPanelTruth(dw *demoWorld) map[string]func(string) float64 {
	truth := dw.world.Records(dw.now)
	sum := func(state string) float64 {
		n := 0
		for _, st := range truth.Decisions {
			n += st[state]
		}
		return float64(n)
	}
	return map[string]func(string) float64{
		`decisions.json / "Open decisions" / A`:              func(string) float64 { return sum("open") },
		`decisions.json / "Decisions due for a revisit" / A`: func(string) float64 { return sum("revisit_due") },
		`decisions.json / "Dates that do not parse" / A`:     func(string) float64 { return float64(truth.InvalidDates) },
		`decisions.json / "Records not listed" / A`: func(string) float64 {
			// Only the decision list is over its cap in the demo.
			return float64(max(0, truth.DecisionsListed-sim.DecisionsExported))
		},
	}
}
