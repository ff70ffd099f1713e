package dashboards

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/crossteam/crossteam/catalogue"
)

// boardExprs collects every PromQL expression of a dashboard: targets of
// panels (and of panels inside collapsed rows) and query variables.
func boardExprs(d lintDashboard) map[string]string {
	out := map[string]string{}
	for _, p := range d.allPanels() {
		for _, t := range p.Targets {
			out[p.Title+" "+t.RefID] = t.Expr
		}
	}
	for _, v := range d.Templating.List {
		if q := variableExpr(v); q != "" {
			out["variable "+v.Name] = q
		}
	}
	for _, a := range d.Annotations.List {
		if a.Expr != "" {
			out["annotation "+a.Name] = a.Expr
		}
	}
	return out
}

func TestDashboardsNameOnlyCatalogueMetrics(t *testing.T) {
	for file, data := range committedBoards(t) {
		d := decodeLint(t, file, data)
		exprs := boardExprs(d)
		if len(exprs) == 0 {
			t.Fatalf("%s: no expressions found", file)
		}
		for where, expr := range exprs {
			for _, p := range catalogueProblems(expr, recordedSeries()) {
				t.Errorf("%s: %s: %s", file, where, p)
			}
		}
	}
}

func TestRulesNameOnlyCatalogueMetrics(t *testing.T) {
	for _, name := range []string{RecordingRulesFile, AlertingRulesFile} {
		data, err := os.ReadFile(filepath.Join(RulesDir, name))
		if err != nil {
			t.Fatal(err)
		}
		var rg RuleGroups
		if err := yaml.Unmarshal(data, &rg); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		// Rules may read the series the recording rules write.
		recorded := recordedSeries()
		n := 0
		for _, g := range rg.Groups {
			for _, r := range g.Rules {
				n++
				for _, p := range catalogueProblems(r.Expr, recorded) {
					t.Errorf("%s: %s%s: %s", name, r.Record, r.Alert, p)
				}
			}
		}
		if n == 0 {
			t.Errorf("%s: no rules", name)
		}
	}
}

func TestCatalogueCheckCatchesStrangers(t *testing.T) {
	cases := []struct{ expr, want string }{
		{`sum(crossteam_handoffs_total)`, ""},
		{`histogram_quantile(0.9, sum by (le) (rate(crossteam_handoff_pickup_seconds_bucket{to_team=~"$team"}[$__rate_interval])))`, ""},
		{`sum(crossteam_handoff_total)`, "metric crossteam_handoff_total is not in the catalogue"},
		{`up{job="crossteam"}`, "metric up is not in the catalogue"},
		{`crossteam_handoffs_open{team="a"}`, `metric crossteam_handoffs_open has no label "team"`},
		{`crossteam_handoffs_open{le="1"}`, `metric crossteam_handoffs_open has no label "le"`},
		{`{__name__=~"crossteam_.*"}`, "has no metric name"},
		{`sum(`, "does not parse"},
		{`last_over_time(pair:crossteam_handoffs_total:increase7d{job=~"$job", from_team=~"$from_team"}[1h])`, ""},
		{`pair:crossteam_handoffs_total:increase7d{team="a"}`, `recorded series pair:crossteam_handoffs_total:increase7d has no label "team"`},
		{`pair:crossteam_handoffs_total:increase1d`, "metric pair:crossteam_handoffs_total:increase1d is not in the catalogue"},
	}
	for _, c := range cases {
		got := strings.Join(catalogueProblems(c.expr, recordedSeries()), "; ")
		if c.want == "" && got != "" || c.want != "" && !strings.Contains(got, c.want) {
			t.Errorf("%s: problems %q, want %q", c.expr, got, c.want)
		}
	}
}

// recordedSeries are the recording rules' series, with the labels the
// trend increases keep (nil for the others: not checked).
func recordedSeries() map[string][]string {
	out := trendRecordedLabels()
	for _, g := range RecordingRules().Groups {
		for _, r := range g.Rules {
			if _, ok := out[r.Record]; !ok {
				out[r.Record] = nil
			}
		}
	}
	return out
}

// unusedMetrics are catalogue metrics no dashboard or rule needs, each with
// the reason.
var unusedMetrics = map[string]string{
	"crossteam_joint_milestones_completed_total": "each exporter shard counts a milestone group it shares with other shards, so the counter does not sum; boards count small wins from the milestone gauges instead (milestoneWins)",
	"crossteam_milestone_teams":                  "boards count per-team milestone_team_items series instead, which stays right when exporter shards each see some of a milestone's teams",
	// Deprecated (issue 17): the boards read the timestamps beside them.
	"crossteam_handoff_oldest_waiting_seconds": "deprecated: boards compute time() - crossteam_handoff_oldest_waiting_timestamp_seconds",
	"crossteam_signal_oldest_open_seconds":     "deprecated: boards compute time() - crossteam_signal_oldest_open_timestamp_seconds",
	"crossteam_stalled_handoff_idle_seconds":   "deprecated: boards and CrossteamHandoffStalled compute time() - crossteam_stalled_handoff_idle_since_timestamp_seconds",
}

// Every catalogue metric is on a board or in a rule: the catalogue feeds
// the dashboards, so a new metric needs a panel (or a stated reason).
func TestEveryCatalogueMetricIsShown(t *testing.T) {
	used := map[string]bool{}
	collect := func(expr string) {
		for _, name := range catalogue.Names() {
			for _, suffix := range []string{"", "_bucket", "_sum", "_count"} {
				if regexp.MustCompile(`\b` + name + suffix + `\b`).MatchString(expr) {
					used[name] = true
				}
			}
		}
	}
	for file, data := range committedBoards(t) {
		for _, expr := range boardExprs(decodeLint(t, file, data)) {
			collect(expr)
		}
	}
	for _, rg := range []RuleGroups{RecordingRules(), AlertingRules()} {
		for _, g := range rg.Groups {
			for _, r := range g.Rules {
				collect(r.Expr)
			}
		}
	}
	for _, name := range catalogue.Names() {
		_, excused := unusedMetrics[name]
		if !used[name] && !excused {
			t.Errorf("%s is on no dashboard and in no rule", name)
		}
		if used[name] && excused {
			t.Errorf("%s is used; drop it from unusedMetrics", name)
		}
	}
}
