package screenshots

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"sort"
	"strings"
	"time"

	"gonum.org/v1/plot"
	pfont "gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

var (
	pageBG    = color.RGBA{0xf4, 0xf5, 0xf5, 0xff}
	panelBG   = color.White
	border    = color.RGBA{0xd8, 0xd9, 0xda, 0xff}
	textDark  = color.RGBA{0x24, 0x29, 0x2e, 0xff}
	textMuted = color.RGBA{0x6e, 0x76, 0x7e, 0xff}
	headerBG  = color.RGBA{0xee, 0xef, 0xf1, 0xff}
	gridLine  = color.RGBA{0xe6, 0xe7, 0xe8, 0xff}
	errorRed  = color.RGBA{0xc4, 0x16, 0x2a, 0xff}
	// palette is Grafana's classic series palette.
	palette = []color.RGBA{
		{0x7e, 0xb2, 0x6d, 0xff}, {0xea, 0xb8, 0x39, 0xff}, {0x6e, 0xd0, 0xe0, 0xff}, {0xef, 0x84, 0x3c, 0xff},
		{0xe2, 0x4d, 0x42, 0xff}, {0x1f, 0x78, 0xc1, 0xff}, {0xba, 0x43, 0xa9, 0xff}, {0x70, 0x5d, 0xa0, 0xff},
		{0x50, 0x86, 0x42, 0xff}, {0xcc, 0xa3, 0x00, 0xff}, {0x44, 0x7e, 0xbc, 0xff}, {0xc1, 0x5c, 0x17, 0xff},
		{0x89, 0x0f, 0x02, 0xff}, {0x0a, 0x43, 0x7c, 0xff}, {0x6d, 0x1f, 0x62, 0xff}, {0x58, 0x44, 0x77, 0xff},
	}
	// namedColors are the Grafana colour names the thresholds use.
	namedColors = map[string]color.RGBA{
		"green": {0x73, 0xbf, 0x69, 0xff}, "red": {0xf2, 0x49, 0x5c, 0xff}, "orange": {0xff, 0x98, 0x30, 0xff},
		"yellow": {0xfa, 0xde, 0x2a, 0xff}, "blue": {0x57, 0x94, 0xf2, 0xff}, "purple": {0xb8, 0x77, 0xd9, 0xff},
		"text": {0x24, 0x29, 0x2e, 0xff}, "transparent": {0, 0, 0, 0},
	}
)

// font is a Liberation Sans text style of size points.
func font(size float64, bold bool) text.Style {
	f := pfont.Font{Typeface: "Liberation", Variant: "Sans", Size: vg.Points(size)}
	if bold {
		f.Weight = 3 // golang.org/x/image/font.WeightBold (an indirect dependency here)
	}
	return text.Style{Font: f, Handler: plot.DefaultTextHandler, XAlign: text.XLeft, YAlign: text.YTop}
}

// picture draws on the board's canvas in pixel coordinates from the top
// left.
type picture struct {
	c      draw.Canvas
	height float64
}

func (p *picture) pt(x, y float64) vg.Point { return vg.Point{X: px(x), Y: px(p.height - y)} }

// text draws txt with its top left at (x, y), cut to maxW pixels (0: no
// limit).
func (p *picture) text(x, y float64, txt string, sty text.Style, clr color.Color, maxW float64) {
	if maxW > 0 {
		txt = fit(sty, txt, maxW)
	}
	sty.Color = clr
	p.c.FillText(sty, p.pt(x, y), txt)
}

// fit cuts txt with an ellipsis to at most w pixels.
func fit(sty text.Style, txt string, w float64) string {
	if sty.Width(txt) <= px(w) {
		return txt
	}
	r := []rune(txt)
	for len(r) > 0 && sty.Width(string(r)+"…") > px(w) {
		r = r[:len(r)-1]
	}
	return string(r) + "…"
}

func (p *picture) rect(r image.Rectangle, fill, stroke color.Color) {
	pts := []vg.Point{p.pt(float64(r.Min.X), float64(r.Min.Y)), p.pt(float64(r.Max.X), float64(r.Min.Y)),
		p.pt(float64(r.Max.X), float64(r.Max.Y)), p.pt(float64(r.Min.X), float64(r.Max.Y))}
	if fill != nil {
		p.c.FillPolygon(fill, pts)
	}
	if stroke != nil {
		p.c.StrokeLines(draw.LineStyle{Color: stroke, Width: px(1)}, append(pts, pts[0]))
	}
}

// panel draws a panel's box and title.
func (p *picture) panel(r image.Rectangle, title string) {
	p.rect(r, panelBG, border)
	p.text(float64(r.Min.X)+8, float64(r.Min.Y)+7, title, font(10, true), textDark, float64(r.Dx())-16)
}

// centered draws txt in the middle of r.
func (p *picture) centered(r image.Rectangle, txt string, sty text.Style, clr color.Color) {
	sty.XAlign, sty.YAlign, sty.Color = text.XCenter, text.YCenter, clr
	p.c.FillText(sty, p.pt(float64(r.Min.X+r.Max.X)/2, float64(r.Min.Y+r.Max.Y)/2), fit(sty, txt, float64(r.Dx())))
}

// sub is a canvas for r.
func (p *picture) sub(r image.Rectangle) draw.Canvas {
	return draw.Canvas{Canvas: p.c.Canvas, Rectangle: vg.Rectangle{
		Min: p.pt(float64(r.Min.X), float64(r.Max.Y)), Max: p.pt(float64(r.Max.X), float64(r.Min.Y))}}
}

// line is one series to draw.
type line struct {
	name   string
	points []Point
	step   time.Duration
}

// timeSeries draws a time series panel: lines (or stacked bars) and the
// legend under them.
func (p *picture) timeSeries(r image.Rectangle, pn Panel, results []targetResult, start, end time.Time, shot *PanelShot) error {
	var lines []line
	for _, tr := range results {
		for _, s := range tr.series {
			lines = append(lines, line{name: legend(tr.t.LegendFormat, s.Labels), points: s.Points, step: tr.step})
		}
	}
	shot.Series = len(lines)
	if len(lines) == 0 {
		p.centered(r, "No data", font(12, false), textMuted)
		return nil
	}
	sort.SliceStable(lines, func(i, j int) bool { return lines[i].name < lines[j].name })
	unit := pn.FieldConfig.Defaults.Unit

	// The legend: as many rows as it needs, up to a third of the panel.
	lsty := font(8, false)
	rowH := 14.0
	maxRows := max(1, int(float64(r.Dy())/3/rowH))
	type entry struct {
		x, y float64
		name string
		clr  color.Color
	}
	var entries []entry
	x, row := 0.0, 0
	hidden := 0
	for i, l := range lines {
		w := 16 + float64(lsty.Width(l.name))*dpi/72 + 14
		if x+w > float64(r.Dx()) && x > 0 {
			x, row = 0, row+1
		}
		if row >= maxRows {
			hidden = len(lines) - i
			break
		}
		entries = append(entries, entry{x, float64(row) * rowH, l.name, palette[i%len(palette)]})
		x += w
	}
	rows := row + 1
	if rows > maxRows {
		rows = maxRows
	}
	legendTop := float64(r.Max.Y) - float64(rows)*rowH
	for _, e := range entries {
		ex, ey := float64(r.Min.X)+e.x, legendTop+e.y
		p.rect(image.Rect(int(ex), int(ey+3), int(ex+10), int(ey+7)), e.clr, nil)
		p.text(ex+14, ey, e.name, lsty, textDark, float64(r.Max.X)-ex-14)
	}
	if hidden > 0 {
		note := fmt.Sprintf("+%d more", hidden)
		p.text(float64(r.Max.X)-float64(lsty.Width(note))*dpi/72-2, legendTop+float64(rows-1)*rowH, note, lsty, textMuted, 0)
	}

	pl := plot.New()
	pl.BackgroundColor = color.Transparent
	pl.X.Min, pl.X.Max = float64(start.Unix()), float64(end.Unix())
	pl.X.Tick.Marker = timeTicks{}
	pl.Y.Tick.Marker = unitTicks{unit}
	for _, ax := range []*plot.Axis{&pl.X, &pl.Y} {
		ax.Tick.Label.Font = pfont.Font{Typeface: "Liberation", Variant: "Sans", Size: vg.Points(7.5)}
		ax.Tick.Label.Color = textMuted
		ax.Color, ax.Tick.Color = border, border
		ax.Padding = 0
	}
	if m := pn.FieldConfig.Defaults.Min; m != nil {
		pl.Y.Min = *m
	}
	grid := plotter.NewGrid()
	grid.Vertical.Color, grid.Horizontal.Color = gridLine, gridLine
	pl.Add(grid)
	bars := pn.FieldConfig.Defaults.Custom.DrawStyle == "bars"
	stacked := pn.FieldConfig.Defaults.Custom.Stacking.Mode == "normal"
	ymax := math.Inf(-1)
	if bars {
		base := map[int64]float64{}
		for i, l := range lines {
			clr := palette[i%len(palette)]
			w := l.step.Seconds() * 0.4
			for _, pt := range l.points {
				if math.IsNaN(pt.V) || pt.V == 0 {
					continue
				}
				t := pt.T.Unix()
				b := 0.0
				if stacked {
					b = base[t]
					base[t] += pt.V
				}
				x := float64(t)
				poly, err := plotter.NewPolygon(plotter.XYs{{X: x - w, Y: b}, {X: x + w, Y: b}, {X: x + w, Y: b + pt.V}, {X: x - w, Y: b + pt.V}})
				if err != nil {
					return err
				}
				poly.Color, poly.LineStyle.Width = clr, 0
				pl.Add(poly)
				ymax = math.Max(ymax, b+pt.V)
			}
		}
	} else {
		for i, l := range lines {
			clr := palette[i%len(palette)]
			for _, seg := range segments(l.points, l.step) {
				for _, xy := range seg {
					ymax = math.Max(ymax, xy.Y)
				}
				if len(seg) == 1 {
					sc, err := plotter.NewScatter(seg)
					if err != nil {
						return err
					}
					sc.GlyphStyle = draw.GlyphStyle{Color: clr, Radius: px(2), Shape: draw.CircleGlyph{}}
					pl.Add(sc)
					continue
				}
				ln, err := plotter.NewLine(seg)
				if err != nil {
					return err
				}
				ln.Color, ln.Width = clr, px(1.5)
				pl.Add(ln)
			}
		}
	}
	if math.IsInf(ymax, -1) {
		p.centered(image.Rect(r.Min.X, r.Min.Y, r.Max.X, int(legendTop)), "No data (every value NaN)", font(11, false), textMuted)
		return nil
	}
	if mx := pn.FieldConfig.Defaults.Max; mx != nil {
		pl.Y.Max = *mx
	} else if ymax == pl.Y.Min {
		pl.Y.Max = pl.Y.Min + 1
	}
	pl.Draw(p.sub(image.Rect(r.Min.X, r.Min.Y, r.Max.X, int(legendTop)-4)))
	return nil
}

// segments splits a series where it has no value (NaN, or a gap of more
// than one and a half steps): a line is drawn only between neighbouring
// samples, as Grafana does.
func segments(pts []Point, step time.Duration) []plotter.XYs {
	var out []plotter.XYs
	var cur plotter.XYs
	var last time.Time
	for _, pt := range pts {
		if math.IsNaN(pt.V) || math.IsInf(pt.V, 0) {
			if len(cur) > 0 {
				out = append(out, cur)
			}
			cur = nil
			continue
		}
		if len(cur) > 0 && pt.T.Sub(last) > step*3/2 {
			out = append(out, cur)
			cur = nil
		}
		cur = append(cur, plotter.XY{X: float64(pt.T.Unix()), Y: pt.V})
		last = pt.T
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// timeTicks labels the x axis with dates.
type timeTicks struct{}

func (timeTicks) Ticks(min, max float64) []plot.Tick {
	span := max - min
	var step float64
	for _, s := range []float64{3600, 6 * 3600, 86400, 7 * 86400, 14 * 86400, 28 * 86400, 91 * 86400} {
		step = s
		if span/s <= 8 {
			break
		}
	}
	format := "Jan 02"
	if step < 86400 {
		format = "Jan 02 15:04"
	}
	var out []plot.Tick
	for t := math.Ceil(min/step) * step; t <= max; t += step {
		out = append(out, plot.Tick{Value: t, Label: time.Unix(int64(t), 0).UTC().Format(format)})
	}
	return out
}

// unitTicks labels the y axis in the panel's unit.
type unitTicks struct{ unit string }

func (u unitTicks) Ticks(min, max float64) []plot.Tick {
	ts := plot.DefaultTicks{}.Ticks(min, max)
	for i := range ts {
		if ts[i].Label != "" {
			ts[i].Label = formatValue(u.unit, ts[i].Value)
		}
	}
	return ts
}

// thresholdColor is the colour of the highest threshold step at or below v.
func thresholdColor(fd FieldDefaults, v float64) color.RGBA {
	clr := namedColors["green"]
	for _, s := range fd.Thresholds.Steps {
		if s.Value == nil || v >= *s.Value {
			if c, ok := namedColors[s.Color]; ok {
				clr = c
			} else if c, ok := parseHex(s.Color); ok {
				clr = c
			}
		}
	}
	return clr
}

func parseHex(s string) (color.RGBA, bool) {
	var r, g, b uint8
	if len(s) == 7 && s[0] == '#' {
		if _, err := fmt.Sscanf(s, "#%02x%02x%02x", &r, &g, &b); err == nil {
			return color.RGBA{r, g, b, 0xff}, true
		}
	}
	return color.RGBA{}, false
}

// stat draws a stat panel: each series' last value, big.
func (p *picture) stat(r image.Rectangle, pn Panel, results []targetResult, shot *PanelShot) {
	type value struct {
		name string
		v    float64
	}
	var vals []value
	for _, tr := range results {
		for _, s := range tr.series {
			v, _ := lastNotNull(s)
			name := ""
			if tr.t.LegendFormat != "" || len(s.Labels) > 0 {
				name = legend(tr.t.LegendFormat, s.Labels)
			}
			vals = append(vals, value{name, v})
		}
	}
	if len(vals) == 0 {
		p.centered(r, "No data", font(14, false), textMuted)
		return
	}
	fd := pn.FieldConfig.Defaults
	n := min(len(vals), 4)
	w := r.Dx() / n
	for i, v := range vals[:n] {
		shot.Values = append(shot.Values, v.v)
		cell := image.Rect(r.Min.X+i*w, r.Min.Y, r.Min.X+(i+1)*w, r.Max.Y)
		clr := thresholdColor(fd, v.v)
		txtClr := color.Color(clr)
		if pn.Options.ColorMode == "background" && !math.IsNaN(v.v) {
			p.rect(cell.Inset(2), clr, nil)
			txtClr = color.White
		}
		txt := formatValue(fd.Unit, v.v)
		if math.IsNaN(v.v) {
			txt, txtClr = "No data", textMuted
		}
		size := math.Min(float64(cell.Dy())*0.45, 40)
		sty := font(size, true)
		for size > 8 && float64(sty.Width(txt))*dpi/72 > float64(cell.Dx())-12 {
			size--
			sty = font(size, true)
		}
		body := cell
		if v.name != "" {
			p.centered(image.Rect(cell.Min.X, cell.Min.Y, cell.Max.X, cell.Min.Y+14), v.name, font(8, false), txtClr)
			body.Min.Y += 12
		}
		p.centered(body, txt, sty, txtClr)
	}
	// Every value was read; only the first four fit.
	for _, v := range vals[n:] {
		shot.Values = append(shot.Values, v.v)
	}
}

// table draws a table panel's rows as text.
func (p *picture) table(r image.Rectangle, pn Panel, results []targetResult, shot *PanelShot) error {
	var frames []frame
	for _, tr := range results {
		frames = append(frames, tableFrame(tr.series, tr.t.RefID, len(pn.Targets) > 1))
	}
	f, err := transform(frames, pn.Transformations)
	if err != nil {
		return err
	}
	units := map[string]string{"Time": "dateTimeAsIso"}
	hidden := map[string]bool{}
	for _, ov := range pn.FieldConfig.Overrides {
		if ov.Matcher.ID != "byName" {
			continue
		}
		for _, pr := range ov.Properties {
			switch pr.ID {
			case "unit":
				var u string
				if err := jsonString(pr.Value, &u); err == nil {
					units[ov.Matcher.Options] = u
				}
			case "custom.hidden":
				hidden[ov.Matcher.Options] = string(pr.Value) == "true"
			}
		}
	}
	var keep []int
	for i, c := range f.cols {
		if !hidden[c] {
			keep = append(keep, i)
		}
	}
	if len(pn.Options.SortBy) > 0 {
		sortRows(&f, pn.Options.SortBy[0].DisplayName, pn.Options.SortBy[0].Desc)
	}
	shot.Rows = len(f.rows)
	for _, i := range keep {
		shot.Columns = append(shot.Columns, f.cols[i])
	}
	if len(f.rows) == 0 {
		p.centered(r, "No data", font(12, false), textMuted)
		return nil
	}
	render := func(col string, c cell) string {
		switch {
		case !c.valid:
			return ""
		case c.num:
			u, ok := units[col]
			if !ok {
				u = pn.FieldConfig.Defaults.Unit
			}
			return formatValue(u, c.f)
		}
		return c.s
	}
	// Column widths: the widest text of each column, shrunk to fit.
	hsty, csty := font(8, true), font(8, false)
	widths := make([]float64, len(keep))
	total := 0.0
	for j, i := range keep {
		w := float64(hsty.Width(f.cols[i]))
		for _, row := range f.rows {
			w = math.Max(w, float64(csty.Width(render(f.cols[i], row[i]))))
		}
		widths[j] = math.Min(w*dpi/72+14, float64(r.Dx())*0.45)
		total += widths[j]
	}
	if avail := float64(r.Dx()); total > avail {
		for j := range widths {
			widths[j] *= avail / total
		}
	}
	rowH := 18.0
	y := float64(r.Min.Y)
	p.rect(image.Rect(r.Min.X, int(y), r.Max.X, int(y+rowH)), headerBG, nil)
	x := float64(r.Min.X)
	for j, i := range keep {
		p.text(x+4, y+4, f.cols[i], hsty, textDark, widths[j]-8)
		x += widths[j]
	}
	y += rowH
	fits := int((float64(r.Max.Y) - y) / rowH)
	shown := len(f.rows)
	if shown > fits {
		shown = max(0, fits-1)
	}
	for _, row := range f.rows[:shown] {
		x = float64(r.Min.X)
		for j, i := range keep {
			p.text(x+4, y+3, render(f.cols[i], row[i]), csty, textDark, widths[j]-8)
			x += widths[j]
		}
		p.c.StrokeLine2(draw.LineStyle{Color: gridLine, Width: px(1)}, px(float64(r.Min.X)), px(p.height-y-rowH+1), px(float64(r.Max.X)), px(p.height-y-rowH+1))
		y += rowH
	}
	if shown < len(f.rows) {
		p.text(float64(r.Min.X)+4, y+3, fmt.Sprintf("… %d more rows", len(f.rows)-shown), csty, textMuted, 0)
	}
	return nil
}

func jsonString(raw []byte, s *string) error {
	t := strings.TrimSpace(string(raw))
	if len(t) < 2 || t[0] != '"' || t[len(t)-1] != '"' {
		return fmt.Errorf("not a string: %s", t)
	}
	*s = t[1 : len(t)-1]
	return nil
}
