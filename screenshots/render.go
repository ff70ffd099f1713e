package screenshots

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"math"
	"sort"
	"strings"
	"time"

	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Expander substitutes a board's template variables in a panel query (or
// a title) as Grafana would for a panel showing rng at the given interval
// ($__range, $__interval, $__rate_interval and the board's variables).
type Expander func(expr string, rng, interval time.Duration) (string, error)

// Options configure Render.
type Options struct {
	// Now is the end of every panel's time range (default time.Now()).
	Now time.Time
	// Width of the picture in pixels (default 1600).
	Width int
	// Scrape is the data source's scrape interval, the finest step
	// (default 15s, Grafana's default).
	Scrape time.Duration
	// Expand substitutes the variables (required).
	Expand Expander
}

// Result is a rendered board and what was drawn.
type Result struct {
	PNG           []byte
	Width, Height int
	Panels        []PanelShot // rows included, in grid order
}

// PanelShot is what one panel showed.
type PanelShot struct {
	Title, Type string
	Rect        image.Rectangle // in the picture, pixels from the top left
	Queries     []QueryShot
	// Values are a stat panel's numbers, one per series.
	Values []float64
	// Series is the number of series a time series panel drew.
	Series int
	// Columns and Rows are a table's, after its transformations.
	Columns []string
	Rows    int
}

// QueryShot is one query a panel ran.
type QueryShot struct {
	RefID, Expr string
	Instant     bool
	Start, End  time.Time // Start = End for an instant query
	Step        time.Duration
	Series      int
	Err         error
}

// Errors lists the failed queries of every panel.
func (r *Result) Errors() []error {
	var out []error
	for _, p := range r.Panels {
		for _, q := range p.Queries {
			if q.Err != nil {
				out = append(out, fmt.Errorf("%q / %s: %w", p.Title, q.RefID, q.Err))
			}
		}
	}
	return out
}

// Grid geometry, in pixels: Grafana's cell height and margin.
const (
	cellH    = 30
	margin   = 8
	pad      = 12
	headerPx = 56
	dpi      = 96
)

// px converts pixels to vg lengths at dpi.
func px(n float64) vg.Length { return vg.Length(n * 72 / dpi) }

// Render runs every panel's queries against q and draws the board.
func Render(ctx context.Context, boardJSON []byte, q Querier, o Options) (*Result, error) {
	b, err := ParseBoard(boardJSON)
	if err != nil {
		return nil, err
	}
	if o.Expand == nil {
		return nil, errors.New("screenshots: Options.Expand is required")
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	if o.Width <= 0 {
		o.Width = 1600
	}
	if o.Scrape <= 0 {
		o.Scrape = 15 * time.Second
	}
	boardRange, err := b.Range()
	if err != nil {
		return nil, err
	}
	panels := b.Flat()
	colW := float64(o.Width-2*pad+margin) / 24
	bottom := 0
	for _, p := range panels {
		bottom = max(bottom, p.GridPos.Y+p.GridPos.H)
	}
	height := headerPx + bottom*(cellH+margin) + pad
	res := &Result{Width: o.Width, Height: height}

	c := vgimg.NewWith(vgimg.UseWH(px(float64(o.Width)), px(float64(height))), vgimg.UseDPI(dpi), vgimg.UseBackgroundColor(pageBG))
	dc := draw.New(c)
	pic := &picture{c: dc, height: float64(height)}
	pic.text(pad, 10, b.Title, font(16, true), textDark, 0)
	pic.text(pad, 34, fmt.Sprintf("Drawn by crossteam's screenshots package (gonum/plot, not Grafana) from the panels' own queries against Prometheus, %s, last %s",
		o.Now.UTC().Format("2006-01-02 15:04 MST"), shortDuration(boardRange)), font(9, false), textMuted, 0)

	for _, p := range panels {
		gp := p.GridPos
		// A panel wider than the grid is cut at its right edge.
		gp.X = min(max(gp.X, 0), 23)
		gp.W = min(max(gp.W, 1), 24-gp.X)
		rect := image.Rect(pad+int(float64(gp.X)*colW), headerPx+gp.Y*(cellH+margin),
			pad+int(float64(gp.X+gp.W)*colW)-margin, headerPx+(gp.Y+gp.H)*(cellH+margin)-margin)
		rng, err := panelRange(p, boardRange, o.Now)
		if err != nil {
			return nil, err
		}
		title := p.Title
		if t, err := o.Expand(p.Title, rng, o.Scrape); err == nil {
			title = t
		}
		shot := PanelShot{Title: p.Title, Type: p.Type, Rect: rect}
		if p.Type == "row" {
			pic.text(float64(rect.Min.X), float64(rect.Min.Y)+6, title, font(12, true), textDark, 0)
			res.Panels = append(res.Panels, shot)
			continue
		}
		results := runTargets(ctx, q, o, p, rng, rect.Dx(), &shot)
		pic.panel(rect, title)
		content := image.Rect(rect.Min.X+8, rect.Min.Y+28, rect.Max.X-8, rect.Max.Y-6)
		if msg := firstError(shot.Queries); msg != "" {
			pic.centered(content, "Query error: "+msg, font(9, false), errorRed)
			res.Panels = append(res.Panels, shot)
			continue
		}
		switch p.Type {
		case "timeseries":
			if err := pic.timeSeries(content, p, results, o.Now.Add(-rng), o.Now, &shot); err != nil {
				return nil, fmt.Errorf("panel %q: %w", p.Title, err)
			}
		case "stat":
			pic.stat(content, p, results, &shot)
		case "table", "nodeGraph":
			if err := pic.table(content, p, results, &shot); err != nil {
				return nil, fmt.Errorf("panel %q: %w", p.Title, err)
			}
		default:
			pic.centered(content, fmt.Sprintf("(%s panels are not drawn)", p.Type), font(9, false), textMuted)
		}
		res.Panels = append(res.Panels, shot)
	}
	var buf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: c}).WriteTo(&buf); err != nil {
		return nil, err
	}
	res.PNG = buf.Bytes()
	return res, nil
}

// targetResult is one target's series, with the target.
type targetResult struct {
	t      Target
	series []Series
	step   time.Duration
}

// runTargets runs a panel's visible targets: instant ones at now, range
// ones over the panel's range at its step, aligned to the step as
// Grafana does.
func runTargets(ctx context.Context, q Querier, o Options, p Panel, rng time.Duration, widthPx int, shot *PanelShot) []targetResult {
	var out []targetResult
	for _, tg := range p.Targets {
		if tg.Hide || strings.TrimSpace(tg.Expr) == "" {
			continue
		}
		qs := QueryShot{RefID: tg.RefID, Instant: tg.Instant, End: o.Now, Start: o.Now}
		st, err := step(p, tg, rng, widthPx, o.Scrape)
		if err != nil {
			qs.Err = err
			shot.Queries = append(shot.Queries, qs)
			continue
		}
		interval := st
		if tg.Instant {
			interval = o.Scrape
		}
		expr, err := o.Expand(tg.Expr, rng, interval)
		qs.Expr = expr
		var series []Series
		switch {
		case err != nil:
		case tg.Instant:
			series, err = q.Query(ctx, expr, o.Now)
		default:
			end := o.Now.Truncate(st)
			start := o.Now.Add(-rng).Truncate(st)
			qs.Start, qs.End, qs.Step = start, end, st
			series, err = q.QueryRange(ctx, expr, start, end, st)
		}
		qs.Err, qs.Series = err, len(series)
		shot.Queries = append(shot.Queries, qs)
		if err == nil {
			out = append(out, targetResult{t: tg, series: series, step: st})
		}
	}
	return out
}

func firstError(qs []QueryShot) string {
	for _, q := range qs {
		if q.Err != nil {
			return q.Err.Error()
		}
	}
	return ""
}

// legend renders a series name from a legendFormat ({{label}}), or the
// labels when there is none.
func legend(format string, labels map[string]string) string {
	if format == "" || format == "__auto" {
		keys := make([]string, 0, len(labels))
		for k := range labels {
			if k != "__name__" {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = fmt.Sprintf("%s=%q", k, labels[k])
		}
		return labels["__name__"] + "{" + strings.Join(parts, ", ") + "}"
	}
	out := format
	for {
		i := strings.Index(out, "{{")
		if i < 0 {
			return out
		}
		j := strings.Index(out[i:], "}}")
		if j < 0 {
			return out
		}
		name := strings.TrimSpace(out[i+2 : i+j])
		out = out[:i] + labels[name] + out[i+j+2:]
	}
}

// lastNotNull is the last value of a series that is a number.
func lastNotNull(s Series) (float64, bool) {
	for i := len(s.Points) - 1; i >= 0; i-- {
		if v := s.Points[i].V; !math.IsNaN(v) {
			return v, true
		}
	}
	return math.NaN(), false
}

func shortDuration(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return d.String()
}
