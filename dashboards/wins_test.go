package dashboards

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The small-wins panels, as committed, evaluated by promtool over two
// exporter instances (a, b) with Grafana's variables filled in: a 20-day
// range ending at day 30 (range start day 10). Groups, all github:
//
//	W1  joint only across instances (a: web, b: platform); a completed at
//	    day 12, b at day 15: completed at day 15 (the latest), after its
//	    due date, day 14: a win, late.
//	W2  joint; a completed at day 20, b not: not completed, no win.
//	W3  both instances see only web, both completed at day 20: not joint.
//	W4  joint, completed on both at day 5, before the range: no win.
//	W5  one instance (a) with web and platform, completed at day 18, due
//	    day 19, its series gone after day 25 (keep_completed on a single
//	    exporter): a win within the range, on time.
//	W6  joint across instances, completed on both at day 22, no due date:
//	    a win, left out of the on-time share.
//
// Wins: W1, W5, W6 = 3; on time: W5 of W1 and W5 = 0.5. The milestones
// board lists, at day 30, the joint groups not completed more than 14 days
// ago: W2 and W6 (2 teams each; W1 was completed 15 days ago).
func TestSmallWinsPanelsAcrossShards(t *testing.T) {
	promtool := requireTool(t, "promtool", "prometheus")
	const day = 86400
	type inst struct {
		name      string
		teams     []string
		completed int // day; 0 = not completed
		due       int // day; 0 = none
		until     int // last day of the series (30 = to the end)
	}
	groups := map[string][]inst{
		"W1": {{"a", []string{"web"}, 12, 14, 30}, {"b", []string{"platform"}, 15, 14, 30}},
		"W2": {{"a", []string{"web"}, 20, 25, 30}, {"b", []string{"platform"}, 0, 25, 30}},
		"W3": {{"a", []string{"web"}, 20, 25, 30}, {"b", []string{"web"}, 20, 25, 30}},
		"W4": {{"a", []string{"web"}, 5, 6, 30}, {"b", []string{"platform"}, 5, 6, 30}},
		"W5": {{"a", []string{"web", "platform"}, 18, 19, 25}},
		"W6": {{"a", []string{"web"}, 22, 0, 30}, {"b", []string{"platform"}, 22, 0, 30}},
	}
	var in strings.Builder
	series := func(name, labels string, value, until int) {
		fmt.Fprintf(&in, "      - series: '%s{job=\"crossteam\",%s}'\n        values: '%dx%d'\n", name, labels, value, until)
	}
	for ms, insts := range groups {
		for _, i := range insts {
			l := fmt.Sprintf(`instance=%q,source="github",milestone=%q`, i.name, ms)
			series("crossteam_milestone_items", l+`,state="open"`, 0, i.until)
			series("crossteam_milestone_items", l+`,state="closed"`, 2, i.until)
			for _, team := range i.teams {
				series("crossteam_milestone_team_items", l+fmt.Sprintf(`,team=%q,state="closed"`, team), 2, i.until)
			}
			if i.completed > 0 {
				series("crossteam_milestone_completed_timestamp_seconds", l, i.completed*day, i.until)
			}
			if i.due > 0 {
				series("crossteam_milestone_due_timestamp_seconds", l, i.due*day, i.until)
			}
		}
	}

	boards := committedBoards(t)
	vars := strings.NewReplacer("$job", ".*", "$instance", ".*", "$milestone", ".*",
		"$__range_s", fmt.Sprint(20*day), "$__range", fmt.Sprintf("%ds", 20*day))
	one := func(v float64) map[string]float64 { return map[string]float64{"{}": v} }
	cases := []struct {
		file, query string             // query: panel title and refId
		want        map[string]float64 // labels -> value
	}{
		{"overview.json", "Small wins this quarter A", one(3)},
		{"overview.json", "On time this quarter A", one(0.5)},
		{"milestones.json", "Completed in the time range A", one(3)},
		{"milestones.json", "Joint milestones C", map[string]float64{
			`{source="github", milestone="W2"}`: 2, `{source="github", milestone="W6"}`: 2}},
	}
	var tests strings.Builder
	for _, c := range cases {
		exprs := boardExprs(decodeLint(t, c.file, boards[c.file]))
		expr, ok := exprs[c.query]
		if !ok {
			t.Fatalf("%s: no panel query %q", c.file, c.query)
		}
		fmt.Fprintf(&tests, "      - expr: |-\n          %s\n        eval_time: 30d\n        exp_samples:\n",
			strings.ReplaceAll(vars.Replace(expr), "\n", "\n          "))
		for labels, v := range c.want {
			fmt.Fprintf(&tests, "          - labels: '%s'\n            value: %g\n", labels, v)
		}
	}
	file := fmt.Sprintf("rule_files: []\nevaluation_interval: 1d\ntests:\n  - interval: 1d\n    input_series:\n%s    promql_expr_test:\n%s", in.String(), tests.String())
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "wins.test.yml"), []byte(file), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := runTool(t, dir, promtool, "test", "rules", "wins.test.yml")
	if err != nil || !strings.Contains(out, "SUCCESS") {
		t.Errorf("promtool test rules: %v\n%s\n%s", err, out, file)
	}
}
