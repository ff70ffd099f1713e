package screenshots

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeProm answers from fixed series and records the queries.
type fakeProm struct {
	now     time.Time
	instant map[string][]Series
	ranged  map[string][]Series
	asked   []string
}

func (f *fakeProm) Query(_ context.Context, expr string, at time.Time) ([]Series, error) {
	f.asked = append(f.asked, "instant "+expr+" @"+at.Format(time.RFC3339))
	s, ok := f.instant[expr]
	if !ok {
		return nil, &Error{Status: 400, ErrorType: "bad_data", Message: "unknown " + expr}
	}
	return s, nil
}

func (f *fakeProm) QueryRange(_ context.Context, expr string, start, end time.Time, step time.Duration) ([]Series, error) {
	f.asked = append(f.asked, fmt.Sprintf("range %s %s..%s step %s", expr, start.Format(time.RFC3339), end.Format(time.RFC3339), step))
	s, ok := f.ranged[expr]
	if !ok {
		return nil, &Error{Status: 400, ErrorType: "bad_data", Message: "unknown " + expr}
	}
	return s, nil
}

const testBoard = `{
  "title": "Test board",
  "time": {"from": "now-90d", "to": "now"},
  "panels": [
    {"type": "row", "title": "Now", "gridPos": {"h": 1, "w": 24, "x": 0, "y": 0}},
    {"type": "stat", "title": "Stalled on $team", "gridPos": {"h": 5, "w": 6, "x": 0, "y": 1},
     "targets": [{"refId": "A", "expr": "sum(stalled{team=\"$team\"})", "instant": true}],
     "options": {"colorMode": "background"},
     "fieldConfig": {"defaults": {"unit": "short", "thresholds": {"steps": [{"value": null, "color": "green"}, {"value": 1, "color": "red"}]}}}},
    {"type": "stat", "title": "Empty", "gridPos": {"h": 5, "w": 6, "x": 6, "y": 1},
     "targets": [{"refId": "A", "expr": "nothing", "instant": true}]},
    {"type": "table", "title": "Milestones", "gridPos": {"h": 5, "w": 12, "x": 12, "y": 1},
     "targets": [{"refId": "A", "expr": "progress", "instant": true, "format": "table"},
                 {"refId": "B", "expr": "due", "instant": true, "format": "table"}],
     "transformations": [{"id": "merge", "options": {}},
       {"id": "organize", "options": {"excludeByName": {"Time": true}, "indexByName": {"milestone": 0, "progress": 1, "due in": 2},
        "renameByName": {"Value #A": "progress", "Value #B": "due in"}}}],
     "options": {"sortBy": [{"displayName": "due in", "desc": false}]},
     "fieldConfig": {"defaults": {"unit": "short"}, "overrides": [
       {"matcher": {"id": "byName", "options": "progress"}, "properties": [{"id": "unit", "value": "percentunit"}]},
       {"matcher": {"id": "byName", "options": "due in"}, "properties": [{"id": "unit", "value": "s"}]}]}},
    {"type": "table", "title": "Pickup p50", "gridPos": {"h": 6, "w": 12, "x": 0, "y": 6},
     "targets": [{"refId": "A", "expr": "p50", "instant": true, "format": "table"}],
     "transformations": [{"id": "groupingToMatrix", "options": {"rowField": "from_team", "columnField": "to_team", "valueField": "Value"}}],
     "fieldConfig": {"defaults": {"unit": "s"}}},
    {"type": "timeseries", "title": "Handoffs per week", "gridPos": {"h": 6, "w": 24, "x": 12, "y": 6}, "interval": "1w",
     "targets": [{"refId": "A", "expr": "weekly[$__range]", "legendFormat": "{{from_team}} → {{to_team}}"}],
     "fieldConfig": {"defaults": {"unit": "short", "min": 0}}}
  ]
}`

func TestRender(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	at := func(v float64, l ...string) Series {
		s := Series{Labels: map[string]string{}, Points: []Point{{T: now, V: v}}}
		for i := 0; i+1 < len(l); i += 2 {
			s.Labels[l[i]] = l[i+1]
		}
		return s
	}
	var weekly []Series
	for i, pair := range [][2]string{{"qa", "sre"}, {"sre", "qa"}} {
		s := Series{Labels: map[string]string{"from_team": pair[0], "to_team": pair[1]}}
		for w := 0; w < 13; w++ {
			s.Points = append(s.Points, Point{T: now.Add(-time.Duration(13-w) * 7 * 24 * time.Hour), V: float64(w + i)})
		}
		weekly = append(weekly, s)
	}
	f := &fakeProm{now: now,
		instant: map[string][]Series{
			`sum(stalled{team="qa"})`: {at(3)},
			"nothing":                 nil,
			"progress":                {at(0.5, "milestone", "v1"), at(0.25, "milestone", "v2")},
			"due":                     {at(86400, "milestone", "v2"), at(7*86400, "milestone", "v1")},
			"p50":                     {at(3600, "from_team", "qa", "to_team", "sre"), at(7200, "from_team", "sre", "to_team", "qa")},
		},
		ranged: map[string][]Series{"weekly[7776000s]": weekly},
	}
	expand := func(expr string, rng, interval time.Duration) (string, error) {
		expr = strings.ReplaceAll(expr, "$team", "qa")
		return strings.ReplaceAll(expr, "$__range", fmt.Sprintf("%ds", int(rng.Seconds()))), nil
	}
	res, err := Render(context.Background(), []byte(testBoard), f, Options{Now: now, Width: 1200, Expand: expand})
	if err != nil {
		t.Fatal(err)
	}
	if errs := res.Errors(); len(errs) > 0 {
		t.Fatalf("query errors: %v", errs)
	}
	if len(res.Panels) != 6 {
		t.Fatalf("%d panels drawn, the board has 6", len(res.Panels))
	}
	img, err := png.Decode(bytes.NewReader(res.PNG))
	if err != nil {
		t.Fatal(err)
	}
	// 12 grid rows of 38 px, the header and the bottom padding.
	if b := img.Bounds(); b.Dx() != 1200 || b.Dy() != headerPx+12*38+pad || res.Height != b.Dy() {
		t.Errorf("picture %v, result says %dx%d, want 1200x%d", b, res.Width, res.Height, headerPx+12*38+pad)
	}
	byTitle := map[string]PanelShot{}
	for _, p := range res.Panels {
		byTitle[p.Title] = p
	}
	if v := byTitle["Stalled on $team"].Values; len(v) != 1 || v[0] != 3 {
		t.Errorf("stat values %v, want [3]", v)
	}
	if v := byTitle["Empty"].Values; len(v) != 0 {
		t.Errorf("empty stat values %v", v)
	}
	ms := byTitle["Milestones"]
	if ms.Rows != 2 || strings.Join(ms.Columns, ",") != "milestone,progress,due in" {
		t.Errorf("merged table: %d rows, columns %v; want 2 rows of milestone,progress,due in", ms.Rows, ms.Columns)
	}
	p50 := byTitle["Pickup p50"]
	if p50.Rows != 2 || strings.Join(p50.Columns, ",") != `from_team\to_team,sre,qa` {
		t.Errorf("matrix: %d rows, columns %v", p50.Rows, p50.Columns)
	}
	ts := byTitle["Handoffs per week"]
	// 24 columns wide at column 12: cut at the grid's right edge.
	if ts.Rect.Max.X != 1200-pad || ts.Rect.Min.X != pad+int(12*float64(1200-2*pad+margin)/24) {
		t.Errorf("too wide a panel drawn at %v, want it cut at the right edge (%d)", ts.Rect, 1200-pad)
	}
	if ts.Series != 2 || len(ts.Queries) != 1 {
		t.Fatalf("time series: %d series, %d queries", ts.Series, len(ts.Queries))
	}
	// 90 days over the panel's ~590 px is 3h per point, rounded, but the
	// panel's interval (1w) is the floor; the range is aligned to it.
	q := ts.Queries[0]
	if q.Step != 7*24*time.Hour || q.End != now.Truncate(q.Step) || q.Start != now.Add(-90*24*time.Hour).Truncate(q.Step) {
		t.Errorf("range query %s..%s step %s", q.Start, q.End, q.Step)
	}
	out := filepath.Join(os.TempDir(), "crossteam-screenshots-test.png")
	if err := os.WriteFile(out, res.PNG, 0o644); err == nil {
		t.Logf("picture in %s; queries: %q", out, f.asked)
	}

	// A failing query is reported, and drawn as an error.
	delete(f.instant, "p50")
	res, err = Render(context.Background(), []byte(testBoard), f, Options{Now: now, Width: 1200, Expand: expand})
	if err != nil {
		t.Fatal(err)
	}
	if errs := res.Errors(); len(errs) != 1 || !strings.Contains(errs[0].Error(), `"Pickup p50" / A: HTTP 400: bad_data: unknown p50`) {
		t.Errorf("errors %v, want the failed p50 query", errs)
	}
}

func TestStep(t *testing.T) {
	for _, tc := range []struct {
		interval string
		rng      time.Duration
		width    int
		want     time.Duration
	}{
		{"", 90 * 24 * time.Hour, 800, 3 * time.Hour},        // 2.7h rounds to 3h
		{"", 90 * 24 * time.Hour, 1600, time.Hour},           // 1.35h rounds to 1h
		{"", time.Hour, 1000, 15 * time.Second},              // 3.6s: the scrape interval is the floor
		{"1w", 90 * 24 * time.Hour, 800, 7 * 24 * time.Hour}, // the panel's min interval
		{"", 365 * 24 * time.Hour, 100, 24 * time.Hour},      // 3.65d rounds to 1d
	} {
		got, err := step(Panel{Interval: tc.interval}, Target{}, tc.rng, tc.width, 15*time.Second)
		if err != nil || got != tc.want {
			t.Errorf("step(interval %q, %s over %d px) = %s, %v; want %s", tc.interval, tc.rng, tc.width, got, err, tc.want)
		}
	}
}

func TestFormatValue(t *testing.T) {
	for _, tc := range []struct {
		unit string
		v    float64
		want string
	}{
		{"short", 3, "3"}, {"short", 1500, "1.5 K"}, {"short", 2.345, "2.35"}, {"", 0, "0"},
		{"s", 90, "1.5 min"}, {"s", 2 * 86400, "2 day"}, {"s", 5400, "1.5 hour"}, {"s", 0.25, "250 ms"},
		{"percentunit", 0.125, "12.5%"}, {"bool_yes_no", 1, "Yes"}, {"bool_yes_no", 0, "No"},
		{"dateTimeAsIso", 1796299200000, "2026-12-03 12:00"}, {"short", math.NaN(), "NaN"},
	} {
		if got := formatValue(tc.unit, tc.v); got != tc.want {
			t.Errorf("formatValue(%q, %g) = %q, want %q", tc.unit, tc.v, got, tc.want)
		}
	}
}

func TestLegend(t *testing.T) {
	l := map[string]string{"from_team": "qa", "to_team": "sre", "__name__": "x"}
	if got := legend("{{from_team}} → {{ to_team }} p50", l); got != "qa → sre p50" {
		t.Errorf("legend = %q", got)
	}
	if got := legend("", l); got != `x{from_team="qa", to_team="sre"}` {
		t.Errorf("legend without format = %q", got)
	}
}
