package figure

import (
	"fmt"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/cofiharness/cofi/report/compare"
)

// History draws each trend (a cell's headline metric across nights) as a
// panel: the nightly values, the baseline as a dashed line inside its
// tolerance band (shaded), and nights outside the band as red squares.
// baseline says what the baseline is, for the caption.
func History(trends []compare.Trend, baseline string, date time.Time) (*Figure, error) {
	if len(trends) == 0 {
		return nil, fmt.Errorf("figure history: no trends")
	}
	var plots [][]*plot.Plot
	nights := len(trends[0].Points)
	var labels []string
	for _, p := range trends[0].Points {
		labels = append(labels, p.Night)
	}
	every := max(1, (nights+5)/6) // at most 6 labelled nights on the axis
	var ticks []plot.Tick
	for i, l := range labels {
		t := plot.Tick{Value: float64(i + 1)}
		if i%every == 0 || i == nights-1 {
			t.Label = l[5:10] // "04-03"
		}
		ticks = append(ticks, t)
	}
	band := rgb(0xDD, 0xDD, 0xDD)
	bad := rgb(0xD5, 0x5E, 0x00)
	ours := Style{Color: rgb(0x00, 0x72, 0xB2), Shape: Circle} // blue: vermillion marks the nights outside
	for i, tr := range trends {
		xlabel := ""
		if i == len(trends)-1 {
			xlabel = "night"
		}
		p := newPlot(tr.Cell.String(), xlabel, metricWord(tr.Metric))
		p.Title.TextStyle.Font.Size = vg.Points(fontLabel)
		lo, hi := tr.Band()
		x0, x1 := 0.6, float64(nights)+0.4
		poly, err := plotter.NewPolygon(plotter.XYs{{X: x0, Y: lo}, {X: x1, Y: lo}, {X: x1, Y: hi}, {X: x0, Y: hi}})
		if err != nil {
			return nil, err
		}
		poly.Color, poly.LineStyle.Width = band, 0
		p.Add(poly)
		bl, err := plotter.NewLine(plotter.XYs{{X: x0, Y: tr.Baseline}, {X: x1, Y: tr.Baseline}})
		if err != nil {
			return nil, err
		}
		bl.LineStyle = draw.LineStyle{Color: rgb(0, 0, 0), Width: vg.Points(0.7), Dashes: []vg.Length{vg.Points(3), vg.Points(2)}}
		p.Add(bl)
		var in, out plotter.XYs
		var all plotter.XYs
		ymin, ymax := lo, hi
		for j, pt := range tr.Points {
			if !pt.OK {
				continue
			}
			xy := plotter.XY{X: float64(j + 1), Y: pt.Value}
			all = append(all, xy)
			if pt.Outside {
				out = append(out, xy)
			} else {
				in = append(in, xy)
			}
			ymin, ymax = min(ymin, pt.Value), max(ymax, pt.Value)
		}
		if len(all) > 1 {
			ln, err := plotter.NewLine(all)
			if err != nil {
				return nil, err
			}
			ln.LineStyle = ours.Line(true)
			p.Add(ln)
		}
		for _, s := range []struct {
			xys plotter.XYs
			g   draw.GlyphStyle
		}{{in, ours.Glyph(true)}, {out, draw.GlyphStyle{Color: bad, Radius: vg.Points(2.5), Shape: draw.BoxGlyph{}}}} {
			if len(s.xys) == 0 {
				continue
			}
			sc, err := plotter.NewScatter(s.xys)
			if err != nil {
				return nil, err
			}
			sc.GlyphStyle = s.g
			p.Add(sc)
		}
		pad := (ymax - ymin) * 0.1
		if pad == 0 {
			pad = 0.5
		}
		p.Y.Min, p.Y.Max = ymin-pad, ymax+pad
		p.X.Min, p.X.Max = x0, x1
		p.X.Tick.Marker = plot.ConstantTicks(ticks)
		plots = append(plots, []*plot.Plot{p})
	}
	panelH := vg.Length(1.15) * vg.Inch
	h := vg.Length(len(trends)) * panelH
	var left []string
	for _, tr := range trends {
		if tr.Left != nil {
			left = append(left, fmt.Sprintf("%s left its band on %s", tr.Cell, tr.LeftLabel))
		}
	}
	status := "Every metric is within its band on the last night."
	if len(left) > 0 {
		status = strings.Join(left, "; ") + "."
	}
	caption := fmt.Sprintf("Headline metric of each nightly cell across %d nights (%s to %s): the baseline (%s, dashed) inside its tolerance band (shaded); vermillion squares: nights worse than the baseline beyond the tolerance. %s",
		nights, labels[0], labels[nights-1], baseline, status)
	f := &Figure{ID: "history", Caption: caption, Width: ColumnWidth, Height: h, Date: date}
	f.draw = func(dc draw.Canvas) {
		cs := plot.Align(plots, draw.Tiles{Rows: len(plots), Cols: 1, PadY: vg.Points(4), PadTop: vg.Points(2), PadRight: vg.Points(4), PadLeft: vg.Points(1)}, dc)
		for i := range plots {
			plots[i][0].Draw(cs[i][0])
		}
	}
	return f, nil
}
