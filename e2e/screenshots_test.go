package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"math"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/crossteam/crossteam/screenshots"
)

// The board screenshots (make screenshots, docs/screenshots/*.png) are
// drawn by package screenshots from the panels' own queries against the
// end-to-end test's Prometheus, fed by the demo: the same queries, with
// the variables substituted by the same code (grafana_test.go) as the
// dashboard check. The default run draws every board into a temporary
// directory and checks what was drawn; CROSSTEAM_SCREENSHOTS_OUT=dir
// writes the pictures there.

// screenshotWidth is the pictures' width in pixels.
const screenshotWidth = 1600

// panelExpander substitutes d's variables (vals) in a panel query as
// Grafana does for a panel showing rng at a query interval: the built-ins
// of the dashboard check (builtins), with $__interval the query's step and
// $__rate_interval Grafana's max($__interval + scrape, 4 * scrape).
func panelExpander(vals map[string]varValue) screenshots.Expander {
	return func(expr string, rng, interval time.Duration) (string, error) {
		g := builtins(rng, scrapeInterval)
		if interval > scrapeInterval {
			g["__interval"] = model.Duration(interval).String()
			g["__interval_ms"] = strconv.FormatInt(interval.Milliseconds(), 10)
			g["__rate_interval"] = model.Duration(max(interval+scrapeInterval, 4*scrapeInterval)).String()
		}
		return interpolate(expr, vals, g)
	}
}

// screenshotKit is what backfillHourly needs of the end-to-end set-up.
type screenshotKit struct {
	bin, promtool, tmp, dataDir string
	dw                          *demoWorld
	labels                      map[string]string
}

// backfillHourly gives the pictures for the README (make screenshots)
// the demo's history every hour, on the hour, over the boards' 90 days:
// the end-to-end history has a sample every two days, which a panel's
// range query (a point every 1h or 3h, on the hour, each looking back 5
// minutes) would miss, leaving the gauge panels empty. It is what a user
// who backfilled hourly sees. The default run does not need it.
func backfillHourly(ctx context.Context, t *testing.T, p *promAPI, k screenshotKit) {
	t.Helper()
	from := k.dw.now.Add(-backfillSpan).Truncate(time.Hour).Add(time.Hour)
	to := k.dw.now.Add(-recentGap)
	file := filepath.Join(k.tmp, "hourly.om")
	args := []string{"backfill", "--config.file=" + k.dw.cfgPath, "--backfill.from=" + from.Format(time.RFC3339),
		"--backfill.to=" + to.Format(time.RFC3339), "--backfill.step=1h", "--backfill.out=" + file}
	for name, v := range k.labels {
		args = append(args, "--backfill.label="+name+"="+v)
	}
	began := time.Now()
	if out, err := exec.Command(k.bin, args...).CombinedOutput(); err != nil {
		t.Fatalf("crossteam backfill, hourly: %v\n%s", err, out)
	}
	createBlocks(t, k.promtool, file, k.dataDir)
	os.Remove(file)
	// Prometheus opens the new blocks at its next compaction cycle, one
	// reload at a time as promtool writes them: wait for an hour's sample
	// at the start, the middle and the end.
	last := to.Truncate(time.Hour)
	for _, at := range []time.Time{from.Add(25 * time.Hour), from.Add(last.Sub(from) / 2).Truncate(time.Hour), last} {
		check := fmt.Sprintf(`count(count_over_time(crossteam_handoffs_open{job=%q}[1s] @ %d))`, jobName, at.Unix())
		for deadline := time.Now().Add(5 * time.Minute); ; {
			if v, err := p.query(ctx, check); err == nil && len(v) == 1 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("Prometheus did not load the hourly blocks within 5 minutes (%s)", check)
			}
			time.Sleep(2 * time.Second)
		}
	}
	t.Logf("backfilled the demo's history hourly from %s to %s and loaded it in %s", from.Format(time.RFC3339), to.Format(time.RFC3339), time.Since(began).Round(time.Second))
}

// gridBoard is the layout of a board, read independently of the renderer.
type gridBoard struct {
	Panels []struct {
		Type    string             `json:"type"`
		Title   string             `json:"title"`
		GridPos struct{ H, Y int } `json:"gridPos"`
		Panels  []struct {
			GridPos struct{ H, Y int } `json:"gridPos"`
		} `json:"panels"`
	} `json:"panels"`
}

// checkScreenshots draws every board and checks each picture: one drawn
// panel per panel of the board, no failed query, the PNG decodes at the
// width asked and the height of the board's grid, every stat panel's
// number is the value of its query (run here through the test's own
// client) and the ground truth where the dashboard check has one, and
// every time series panel drew the series its range query returns.
func checkScreenshots(ctx context.Context, t *testing.T, p *promAPI, root string, truth map[string]func(team string) float64, kit screenshotKit) {
	out := os.Getenv("CROSSTEAM_SCREENSHOTS_OUT")
	if out == "" {
		out = t.TempDir()
	} else {
		if err := os.MkdirAll(out, 0o755); err != nil {
			t.Fatal(err)
		}
		backfillHourly(ctx, t, p, kit)
	}
	dir := filepath.Join(root, "dashboards", "json")
	now := time.Now()
	drawn := 0
	for _, d := range loadDashboards(t, dir) {
		raw, err := os.ReadFile(filepath.Join(dir, d.file))
		if err != nil {
			t.Fatal(err)
		}
		rng, err := d.rangeDuration()
		if err != nil {
			t.Fatal(err)
		}
		// Every variable at All; the team board's team at its first
		// option, as Grafana opens it.
		vals, _, err := resolveVariables(ctx, p, d, builtins(rng, scrapeInterval), nil)
		if err != nil {
			t.Fatal(err)
		}
		team := ""
		if v, ok := vals["team"]; ok && !v.all {
			team = v.values[0]
		}
		began := time.Now()
		res, err := screenshots.Render(ctx, raw, &screenshots.Prometheus{URL: p.base}, screenshots.Options{
			Now: now, Width: screenshotWidth, Scrape: scrapeInterval, Expand: panelExpander(vals)})
		if err != nil {
			t.Errorf("%s: %v", d.file, err)
			continue
		}
		for _, err := range res.Errors() {
			t.Errorf("%s: %v", d.file, err)
		}

		// The layout: every panel and row, on the board's grid.
		var g gridBoard
		if err := json.Unmarshal(raw, &g); err != nil {
			t.Fatal(err)
		}
		panels, bottom := 0, 0
		for _, gp := range g.Panels {
			panels++
			bottom = max(bottom, gp.GridPos.Y+gp.GridPos.H)
			for _, sub := range gp.Panels {
				panels++
				bottom = max(bottom, sub.GridPos.Y+sub.GridPos.H)
			}
		}
		if len(res.Panels) != panels {
			t.Errorf("%s: %d panels drawn, the board has %d", d.file, len(res.Panels), panels)
		}
		img, err := png.Decode(bytes.NewReader(res.PNG))
		if err != nil {
			t.Errorf("%s: the PNG does not decode: %v", d.file, err)
			continue
		}
		// 56 px of heading, 38 px per grid row (30 + 8 margin), 12 below.
		if b := img.Bounds(); b.Dx() != screenshotWidth || b.Dy() != 56+38*bottom+12 {
			t.Errorf("%s: picture %dx%d, want %dx%d", d.file, b.Dx(), b.Dy(), screenshotWidth, 56+38*bottom+12)
		}

		// What the panels show.
		stats, truthChecked, withData := 0, 0, 0
		for _, shot := range res.Panels {
			switch shot.Type {
			case "stat":
				stats++
				var want []float64
				for _, q := range shot.Queries {
					vs, err := p.queryValuesAt(ctx, q.Expr, now)
					if err != nil {
						t.Errorf("%s %q: %v", d.file, shot.Title, err)
					}
					want = append(want, vs...)
				}
				if !sameFloats(shot.Values, want) {
					t.Errorf("%s %q shows %v, its query returns %v", d.file, shot.Title, shot.Values, want)
				}
				key := fmt.Sprintf("%s / %q / A", d.file, shot.Title)
				if f, ok := truth[key]; ok {
					if w := f(team); len(shot.Values) != 1 || shot.Values[0] != w {
						t.Errorf("%s shows %v, the ground truth is %g", key, shot.Values, w)
					}
					truthChecked++
				}
			case "timeseries":
				n := 0
				for _, q := range shot.Queries {
					c, err := p.rangeSeriesCount(ctx, q.Expr, q.Start, q.End, q.Step)
					if err != nil {
						t.Errorf("%s %q / %s: %v", d.file, shot.Title, q.RefID, err)
					}
					n += c
				}
				if shot.Series != n {
					t.Errorf("%s %q drew %d series, its range queries return %d", d.file, shot.Title, shot.Series, n)
				}
				if n > 0 {
					withData++
				}
			}
		}
		path := filepath.Join(out, strings.TrimSuffix(d.file, ".json")+".png")
		if err := os.WriteFile(path, res.PNG, 0o644); err != nil {
			t.Fatal(err)
		}
		drawn++
		t.Logf("%s: %d panels (%d stat, %d checked against the truth, %d time series with data) drawn in %s: %s (%d bytes)",
			d.file, len(res.Panels), stats, truthChecked, withData, time.Since(began).Round(time.Millisecond), path, len(res.PNG))
	}
	if drawn == 0 {
		t.Fatal("no board drawn")
	}
}

// sameFloats compares two lists of values as multisets (NaN equals NaN).
func sameFloats(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	a, b = append([]float64(nil), a...), append([]float64(nil), b...)
	key := func(f float64) float64 {
		if math.IsNaN(f) {
			return math.Inf(-1)
		}
		return f
	}
	sort.Slice(a, func(i, j int) bool { return key(a[i]) < key(a[j]) })
	sort.Slice(b, func(i, j int) bool { return key(b[i]) < key(b[j]) })
	for i := range a {
		if a[i] != b[i] && !(math.IsNaN(a[i]) && math.IsNaN(b[i])) {
			return false
		}
	}
	return true
}

// rangeSeriesCount is the number of series a range query returns.
func (p *promAPI) rangeSeriesCount(ctx context.Context, expr string, start, end time.Time, step time.Duration) (int, error) {
	data, err := p.slowGet(ctx, "/api/v1/query_range", url.Values{"query": {expr},
		"start": {strconv.FormatInt(start.Unix(), 10)}, "end": {strconv.FormatInt(end.Unix(), 10)},
		"step": {strconv.FormatInt(int64(step/time.Second), 10)}})
	if err != nil {
		return 0, err
	}
	var d struct {
		Result []json.RawMessage `json:"result"`
	}
	err = json.Unmarshal(data, &d)
	return len(d.Result), err
}

// queryValuesAt runs an instant query at at and returns its values
// (NaN where Prometheus wrote one, or anything not a number).
func (p *promAPI) queryValuesAt(ctx context.Context, expr string, at time.Time) ([]float64, error) {
	samples, err := p.queryAt(ctx, expr, at)
	if err != nil {
		return nil, err
	}
	out := make([]float64, 0, len(samples))
	for _, s := range samples {
		f, err := strconv.ParseFloat(s.Value, 64)
		if err != nil {
			f = math.NaN()
		}
		out = append(out, f)
	}
	return out, nil
}

func TestSameFloats(t *testing.T) {
	nan := math.NaN()
	for _, tc := range []struct {
		a, b []float64
		want bool
	}{
		{[]float64{1, 2}, []float64{2, 1}, true},
		{[]float64{nan, 1}, []float64{1, nan}, true},
		{[]float64{1}, []float64{1, 1}, false},
		{[]float64{1, 2}, []float64{1, 3}, false},
		{nil, nil, true},
	} {
		if got := sameFloats(tc.a, tc.b); got != tc.want {
			t.Errorf("sameFloats(%v, %v) = %v", tc.a, tc.b, got)
		}
	}
}
