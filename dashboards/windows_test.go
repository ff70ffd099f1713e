package dashboards

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql/parser"
	"go.yaml.in/yaml/v3"
)

// longRawWindows lists every range of a day or more over a series that no
// recording rule writes: what a board must never evaluate at each step of
// a 90-day or year-long range. $__range counts as long (boards default to
// 90 days).
func longRawWindows(expr string, recorded map[string][]string) []string {
	e, err := parsePromQL(expr)
	if err != nil {
		return []string{fmt.Sprintf("does not parse: %v", err)}
	}
	var out []string
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		ms, ok := n.(*parser.MatrixSelector)
		if !ok {
			return nil
		}
		vs := ms.VectorSelector.(*parser.VectorSelector)
		rng := ms.Range.Round(time.Millisecond)
		// $__rate_interval and $__interval follow the step.
		if _, rec := recorded[vs.Name]; rec || rng < 24*time.Hour || rng == rateIntervalMagic || rng == intervalMagic {
			return nil
		}
		w := rng.String()
		if rng == rangeMagic {
			w = "$__range"
		}
		out = append(out, fmt.Sprintf("%s over %s on raw series", vs.Name, w))
		return nil
	})
	return out
}

// rangeExempt are the board panels allowed a raw $__range window, each with
// the reason: instant stats counting milestones completed in the panel's
// range, evaluated once (not per step) over the milestone gauges (a series
// per milestone group and state, capped by milestones.max_exported).
var rangeExempt = map[string]string{
	"overview.json/Small wins this quarter":       "one instant evaluation over this quarter",
	"overview.json/On time this quarter":          "one instant evaluation over this quarter",
	"milestones.json/Completed in the time range": "one instant evaluation over the range",
}

// Every board query over a window of a day or more reads a recording rule:
// the raw windows stay inside the rules.
func TestBoardsReadLongWindowsFromRules(t *testing.T) {
	recorded := recordedSeries()
	exempted := 0
	for file, data := range committedBoards(t) {
		d := decodeLint(t, file, data)
		for _, p := range d.allPanels() {
			for _, tg := range p.Targets {
				problems := longRawWindows(tg.Expr, recorded)
				if _, ok := rangeExempt[file+"/"+p.Title]; ok && len(problems) > 0 {
					exempted++
					for _, pr := range problems {
						if !strings.HasSuffix(pr, "over $__range on raw series") {
							t.Errorf("%s: %s %s: %s", file, p.Title, tg.RefID, pr)
						}
					}
					continue
				}
				for _, pr := range problems {
					t.Errorf("%s: %s %s: %s", file, p.Title, tg.RefID, pr)
				}
			}
		}
	}
	if exempted == 0 {
		t.Error("no exempted panel reads $__range: drop rangeExempt")
	}
}

// The alerts read long windows only from recording rules too.
func TestAlertsReadLongWindowsFromRules(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(RulesDir, AlertingRulesFile))
	if err != nil {
		t.Fatal(err)
	}
	var rg RuleGroups
	if err := yaml.Unmarshal(data, &rg); err != nil {
		t.Fatal(err)
	}
	recorded := recordedSeries()
	for _, g := range rg.Groups {
		for _, r := range g.Rules {
			for _, pr := range longRawWindows(r.Expr, recorded) {
				t.Errorf("%s: %s", r.Alert, pr)
			}
		}
	}
}

func TestLongRawWindowsCatches(t *testing.T) {
	recorded := recordedSeries()
	cases := []struct{ expr, want string }{
		{`sum(increase(crossteam_handoffs_total{job=~"$job"}[28d]))`, "crossteam_handoffs_total over 672h0m0s on raw series"},
		{`histogram_quantile(0.9, sum by (le) (increase(crossteam_handoff_pickup_seconds_bucket[1d])))`, "over 24h0m0s on raw series"},
		{`count(last_over_time(crossteam_milestone_items[$__range]))`, "crossteam_milestone_items over $__range on raw series"},
		{`sum(rate(crossteam_api_requests_total[$__rate_interval]))`, ""},
		{`sum(increase(crossteam_handoffs_total[12h]))`, ""},
		{`sum(last_over_time(pair:crossteam_handoffs_total:increase28d[1d] offset 28d))`, ""},
		{`sum(last_over_time(pair:crossteam_handoffs_total:increase28d[30d]))`, ""},
	}
	for _, c := range cases {
		got := strings.Join(longRawWindows(c.expr, recorded), "; ")
		if c.want == "" && got != "" || c.want != "" && !strings.Contains(got, c.want) {
			t.Errorf("%s: got %q, want %q", c.expr, got, c.want)
		}
	}
}

// A recording group's interval fits its window: a window is at least 28
// intervals long (so a recorded value lags its window by under 4%).
func TestTrendGroupsFitTheirWindows(t *testing.T) {
	for _, tw := range TrendWindows {
		w, err := parseDuration(tw.Window)
		if err != nil {
			t.Fatal(err)
		}
		iv, err := parseDuration(tw.Interval)
		if err != nil {
			t.Fatal(err)
		}
		if w < 28*iv || iv < 5*time.Minute {
			t.Errorf("window %s evaluated every %s: want at most 1/28 of the window and at least 5m", tw.Window, tw.Interval)
		}
		found := false
		for _, g := range RecordingRules().Groups {
			if g.Name == "crossteam.trends."+tw.Window+".rules" {
				found = true
				if g.Interval != tw.Interval {
					t.Errorf("group %s interval %s, want %s", g.Name, g.Interval, tw.Interval)
				}
				for _, r := range g.Rules {
					if strings.Contains(r.Expr, "increase(") && !strings.Contains(r.Expr, "["+tw.Window+"]") {
						t.Errorf("%s in the %s group: %s", r.Record, tw.Window, r.Expr)
					}
				}
			}
		}
		if !found {
			t.Errorf("no recording group for window %s", tw.Window)
		}
	}
}

// A board variable that selects nothing (no team matches, a job gone)
// leaves its matchers empty (=~""): every query must still be valid
// PromQL, so the panel shows "no data" rather than an error.
func TestEmptyVariableSelectionIsNoDataNotAnError(t *testing.T) {
	userVar := regexp.MustCompile(`\$\{?([A-Za-z][A-Za-z0-9_]*)\}?`)
	n := 0
	for file, data := range committedBoards(t) {
		d := decodeLint(t, file, data)
		for where, expr := range boardExprs(d) {
			if !userVar.MatchString(expr) {
				continue
			}
			n++
			empty := userVar.ReplaceAllString(expr, "")
			if _, err := parsePromQL(empty); err != nil {
				t.Errorf("%s: %s with every variable empty: %v\n%s", file, where, err, empty)
			}
		}
	}
	if n == 0 {
		t.Fatal("no board query uses a variable")
	}
}
