package e2e

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/crossteam/crossteam/screenshots"
)

// A board variable that selects nothing (a team with no handoffs yet, a
// typo in a URL's var-to_team) must give "no data", never an error: every
// panel query must still succeed (HTTP 200, status success) and return
// nothing, or, for a count shown as a number ("... or vector(0)"), zero.

// noMatch is a variable value no series has.
const noMatch = "no-such-team"

// checkNoData sets each variable of each board (the job, instance, team,
// from_team, to_team and milestone, one at a time, the others at All) to
// a value that matches nothing and runs every panel query as Grafana
// sends it: instant queries at now, range queries over the panel's range.
func checkNoData(ctx context.Context, t *testing.T, p *promAPI, root string) {
	prom := &screenshots.Prometheus{URL: p.base}
	now := time.Now()
	ran, empty := 0, 0
	for _, d := range loadDashboards(t, root+"/dashboards/json") {
		rng, err := d.rangeDuration()
		if err != nil {
			t.Fatal(err)
		}
		vals, _, err := resolveVariables(ctx, p, d, builtins(rng, scrapeInterval), nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range d.Templating.List {
			if v.Type != "query" || !d.uses(v.Name) {
				continue
			}
			nothing := copyVals(vals)
			nothing[v.Name] = varValue{values: []string{noMatch}, allValue: v.AllValue, multiOrAll: v.Multi || v.IncludeAll}
			for _, bq := range benchQueries(t, d) {
				prng := bq.rangeFor(rng, now)
				refs := false
				for _, r := range variableRefs(bq.expr) {
					refs = refs || r == v.Name
				}
				step := max(time.Second, (prng / 1000).Truncate(time.Second))
				expr, err := panelExpander(nothing)(bq.expr, prng, step)
				if err != nil {
					t.Errorf("%s with %s=%s: %v", bq.q, v.Name, noMatch, err)
					continue
				}
				ran++
				problem, n := noDataProblem(ctx, prom, expr, bq.instant, refs, now, prng, step)
				if problem != "" {
					t.Errorf("%s with %s=%s: %s\n  expr: %s", bq.q, v.Name, noMatch, problem, expr)
				}
				if refs && n == 0 {
					empty++
				}
			}
		}
	}
	if ran == 0 {
		t.Fatal("no panel query ran")
	}
	t.Logf("%d panel queries with one variable selecting nothing: every one succeeded; %d of those filtered by it returned no series", ran, empty)
}

func copyVals(m map[string]varValue) map[string]varValue {
	out := make(map[string]varValue, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// noDataProblem runs one query (instant at now, or over rng at step) and
// says what is wrong: "" when it succeeded and, if filtered reports that
// the variable selecting nothing filters it, returned no series or only
// zeros (a count "or vector(0)"). n is the number of series.
func noDataProblem(ctx context.Context, prom *screenshots.Prometheus, expr string, instant, filtered bool, now time.Time, rng, step time.Duration) (problem string, n int) {
	var series []screenshots.Series
	var err error
	if instant {
		series, err = prom.Query(ctx, expr, now)
	} else {
		series, err = prom.QueryRange(ctx, expr, now.Add(-rng), now, step)
	}
	if err != nil {
		var pe *screenshots.Error
		if errors.As(err, &pe) {
			return fmt.Sprintf("HTTP %d, %s: %s", pe.Status, pe.ErrorType, pe.Message), 0
		}
		return err.Error(), 0
	}
	if !filtered {
		return "", len(series)
	}
	for _, s := range series {
		for _, pt := range s.Points {
			if pt.V != 0 || math.IsNaN(pt.V) {
				return fmt.Sprintf("returns %s = %g at %s although the variable selects nothing", labelsString(s.Labels), pt.V, pt.T.Format(time.RFC3339)), len(series)
			}
		}
	}
	return "", len(series)
}

func labelsString(l map[string]string) string {
	var parts []string
	for k, v := range l {
		parts = append(parts, k+"="+v)
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// checkNoDataChecker: noDataProblem reports each kind of bad query.
func checkNoDataChecker(ctx context.Context, t *testing.T, p *promAPI) {
	prom := &screenshots.Prometheus{URL: p.base}
	now := time.Now()
	sel := fmt.Sprintf(`crossteam_handoffs_open{job=%q, to_team=~%q}`, jobName, noMatch)
	for _, tc := range []struct {
		expr     string
		instant  bool
		filtered bool
		want     string // part of the problem; "" = none
	}{
		{"sum(" + sel + ")", true, true, ""},
		{"sum(" + sel + ") or vector(0)", true, true, ""},
		{"sum(" + sel + ") or vector(0)", false, true, ""},
		{"sum(" + sel + ") or vector(1)", true, true, "although the variable selects nothing"},
		{"sum(" + sel + ") or vector(1)", false, true, "although the variable selects nothing"},
		{"sum(" + sel, true, true, "HTTP 400, bad_data"},
		{`histogram_quantile(0.5, sum by (le) (rate(crossteam_handoff_pickup_seconds_bucket{to_team=~"` + noMatch + `"}[1h])))`, false, true, ""},
		{`label_replace(` + sel + `, "x", "$1", "to_team", "(")`, true, true, "HTTP 422, execution: invalid regular expression"},
		{fmt.Sprintf(`sum(crossteam_handoffs_open{job=%q})`, jobName), true, false, ""},
	} {
		got, _ := noDataProblem(ctx, prom, tc.expr, tc.instant, tc.filtered, now, time.Hour, time.Minute)
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("noDataProblem(%s, instant %v) = %q, want a problem containing %q", tc.expr, tc.instant, got, tc.want)
		}
	}
}
