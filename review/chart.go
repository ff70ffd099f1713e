package review

import (
	"bytes"
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/gonum/stat"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// pairChart draws a pair's weekly median pickup (hours) as inline SVG, with
// a dashed least-squares trend line when two or more weeks have a median.
// Fonts are referenced by family name, never embedded or fetched: the
// browser falls back to a local sans-serif.
func pairChart(p PairWeek) ([]byte, error) {
	pl := plot.New()
	pl.Title.Text = fmt.Sprintf("%s → %s (%s)", p.From, p.To, p.Source)
	pl.Y.Label.Text = "median pickup, h"
	pl.Y.Min = 0
	var pts plotter.XYs
	labels := make([]string, len(p.Weekly))
	for i, wp := range p.Weekly {
		labels[i] = fmt.Sprintf("W%02d", wp.Week.Num)
		if wp.Median.OK {
			pts = append(pts, plotter.XY{X: float64(i), Y: wp.Median.Seconds / 3600})
		}
	}
	pl.NominalX(labels...)
	pl.X.Min, pl.X.Max = -0.5, float64(len(p.Weekly))-0.5
	if len(pts) > 0 {
		line, points, err := plotter.NewLinePoints(pts)
		if err != nil {
			return nil, err
		}
		line.Color = color.RGBA{R: 0x1f, G: 0x6f, B: 0xb4, A: 0xff}
		points.Shape = draw.CircleGlyph{}
		points.Color = line.Color
		pl.Add(line, points)
		if len(pts) >= 2 {
			// The trend: a least-squares line through the weekly medians.
			xs, ys := make([]float64, len(pts)), make([]float64, len(pts))
			for i, pt := range pts {
				xs[i], ys[i] = pt.X, pt.Y
			}
			alpha, beta := stat.LinearRegression(xs, ys, nil, false)
			x0, x1 := pts[0].X, pts[len(pts)-1].X
			trend, err := plotter.NewLine(plotter.XYs{{X: x0, Y: math.Max(0, alpha+beta*x0)}, {X: x1, Y: math.Max(0, alpha+beta*x1)}})
			if err != nil {
				return nil, err
			}
			trend.Color = color.RGBA{R: 0x99, G: 0x99, B: 0x99, A: 0xff}
			trend.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
			pl.Add(trend)
		}
	} else {
		pl.Y.Max = 1
	}
	c := vgsvg.NewWith(vgsvg.UseWH(3.2*vg.Inch, 1.8*vg.Inch), vgsvg.EmbedFonts(false))
	pl.Draw(draw.New(c))
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return nil, err
	}
	return stripProlog(buf.Bytes()), nil
}

// stripProlog drops the XML declaration and doctype before <svg, which
// are not allowed inside an HTML document.
func stripProlog(b []byte) []byte {
	if i := bytes.Index(b, []byte("<svg")); i > 0 {
		return b[i:]
	}
	return b
}
