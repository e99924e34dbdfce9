package figure

import (
	"fmt"
	"math"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/cofiharness/cofi/record/steplog"
)

// CurveRun is one stage's training curve with what to call it.
type CurveRun struct {
	ID     string // file stem: "curve-mnli-cofi-95-s57"
	Label  string // "mnli cofi 95% seed 57 (prune stage)"
	Metric string // the dev metric to draw ("mnli-m/acc"); empty: the first one logged
	Curve  *steplog.Curve
	Date   time.Time
}

// curveColors name the series of a panel; loss terms and λ in the order they appear.
var curveColors = []Style{
	{rgb(0x00, 0x00, 0x00), NoMarker}, {rgb(0x00, 0x72, 0xB2), NoMarker}, {rgb(0xD5, 0x5E, 0x00), NoMarker},
	{rgb(0x00, 0x9E, 0x73), NoMarker}, {rgb(0xCC, 0x79, 0xA7), NoMarker},
}

// TrainingCurve draws a stage's metrics file as stacked panels sharing the
// step axis: the loss terms, the learning rate, and while pruning the
// expected sparsity against its target (with the compact model's at each
// evaluation) and the multipliers λ1, λ2; at the bottom the dev metric at
// each evaluation.
func TrainingCurve(c CurveRun) (*Figure, error) {
	if c.Curve == nil || (len(c.Curve.Steps) == 0 && len(c.Curve.Evals) == 0) {
		return nil, fmt.Errorf("figure %s: empty curve", c.ID)
	}
	steps, evals := c.Curve.Steps, c.Curve.Evals
	lastStep := 0.0
	for _, l := range steps {
		lastStep = max(lastStep, float64(l.Step))
	}
	for _, l := range evals {
		lastStep = max(lastStep, float64(l.Step))
	}
	type series struct {
		label  string
		pts    plotter.XYs
		style  draw.LineStyle
		glyph  *draw.GlyphStyle // markers instead of a line
		dashed bool
	}
	type panel struct {
		ylabel string
		series []series
	}
	line := func(i int) draw.LineStyle {
		return draw.LineStyle{Color: curveColors[i%len(curveColors)].Color, Width: vg.Points(0.9)}
	}
	collect := func(get func(steplog.Line) *float64, from []steplog.Line) plotter.XYs {
		var pts plotter.XYs
		for _, l := range from {
			if v := get(l); v != nil && !math.IsNaN(*v) && !math.IsInf(*v, 0) {
				pts = append(pts, plotter.XY{X: float64(l.Step), Y: *v})
			}
		}
		return pts
	}
	var panels []panel
	// Loss terms.
	var loss panel
	loss.ylabel = "loss"
	for i, term := range c.Curve.Terms() {
		term := term
		pts := collect(func(l steplog.Line) *float64 {
			if v, ok := l.Loss[term]; ok {
				return &v
			}
			return nil
		}, steps)
		loss.series = append(loss.series, series{label: term, pts: pts, style: line(i)})
	}
	if len(loss.series) > 0 {
		panels = append(panels, loss)
	}
	if pts := collect(func(l steplog.Line) *float64 { return l.LR }, steps); len(pts) > 0 {
		panels = append(panels, panel{ylabel: "learning rate", series: []series{{label: "lr", pts: pts, style: line(1)}}})
	}
	// Sparsity: expected vs target while pruning, the compact model's at evaluations.
	var sp panel
	sp.ylabel = "sparsity"
	if pts := collect(func(l steplog.Line) *float64 { return l.ExpectedSparsity }, steps); len(pts) > 0 {
		sp.series = append(sp.series, series{label: "expected", pts: pts, style: line(2)})
	}
	if pts := collect(func(l steplog.Line) *float64 { return l.TargetSparsity }, steps); len(pts) > 0 {
		ls := line(0)
		ls.Dashes = []vg.Length{vg.Points(3), vg.Points(2)}
		sp.series = append(sp.series, series{label: "target", pts: pts, style: ls})
	}
	if pts := collect(func(l steplog.Line) *float64 { return l.CompactSparsity }, evals); len(pts) > 0 {
		g := draw.GlyphStyle{Color: curveColors[1].Color, Radius: vg.Points(1.8), Shape: draw.CircleGlyph{}}
		sp.series = append(sp.series, series{label: "compact", pts: pts, glyph: &g})
	}
	if len(sp.series) > 0 {
		panels = append(panels, sp)
	}
	var lam panel
	lam.ylabel = "Lagrange multiplier"
	for i, get := range []func(steplog.Line) *float64{func(l steplog.Line) *float64 { return l.Lambda1 }, func(l steplog.Line) *float64 { return l.Lambda2 }} {
		if pts := collect(get, steps); len(pts) > 0 {
			lam.series = append(lam.series, series{label: fmt.Sprintf("λ%d", i+1), pts: pts, style: line(i + 3)})
		}
	}
	if len(lam.series) > 0 {
		panels = append(panels, lam)
	}
	// Dev metric at the evaluations.
	metric := c.Metric
	if metric == "" && len(evals) > 0 {
		for k := range evals[0].Eval {
			if metric == "" || k < metric {
				metric = k
			}
		}
	}
	if pts := collect(func(l steplog.Line) *float64 {
		if v, ok := l.Eval[metric]; ok {
			return &v
		}
		return nil
	}, evals); len(pts) > 0 {
		g := draw.GlyphStyle{Color: curveColors[0].Color, Radius: vg.Points(1.8), Shape: draw.CircleGlyph{}}
		panels = append(panels, panel{ylabel: "dev " + metric, series: []series{{label: metric, pts: pts, style: line(0), glyph: &g}}})
	}
	if len(panels) == 0 {
		return nil, fmt.Errorf("figure %s: nothing to draw", c.ID)
	}

	var plots [][]*plot.Plot
	var legends [][]legendEntry
	for i, pn := range panels {
		xlabel := ""
		if i == len(panels)-1 {
			xlabel = "step"
		}
		p := newPlot("", xlabel, pn.ylabel)
		p.X.Min, p.X.Max = 0, max(1, lastStep)
		var entries []legendEntry
		for _, s := range pn.series {
			if len(s.pts) == 0 {
				continue
			}
			if s.glyph != nil {
				sc, err := plotter.NewScatter(s.pts)
				if err != nil {
					return nil, fmt.Errorf("figure %s: %w", c.ID, err)
				}
				sc.GlyphStyle = *s.glyph
				p.Add(sc)
				things := []plot.Thumbnailer{sc}
				if s.style.Width > 0 && len(s.pts) > 1 {
					ln, err := plotter.NewLine(s.pts)
					if err != nil {
						return nil, err
					}
					ln.LineStyle = s.style
					ln.LineStyle.Width = vg.Points(0.6)
					p.Add(ln)
					things = append([]plot.Thumbnailer{ln}, things...)
				}
				entries = append(entries, legendEntry{s.label, things})
				continue
			}
			ln, err := plotter.NewLine(s.pts)
			if err != nil {
				return nil, fmt.Errorf("figure %s: %w", c.ID, err)
			}
			ln.LineStyle = s.style
			p.Add(ln)
			entries = append(entries, legendEntry{s.label, []plot.Thumbnailer{ln}})
		}
		plots = append(plots, []*plot.Plot{p})
		legends = append(legends, entries)
	}
	panelH := vg.Length(1.05) * vg.Inch
	legendH := vg.Points(fontLegend + 5)
	h := vg.Length(len(panels))*(panelH+legendH) + vg.Points(6)
	var names []string
	for _, pn := range panels {
		names = append(names, pn.ylabel)
	}
	caption := fmt.Sprintf("Training curve of %s from its %s: %s against the training step (loss terms are means over the steps between two points; sparsity: expected from the masks, the target schedule, and the compact model's at each evaluation).",
		c.Label, steplog.File, strings.Join(names, ", "))
	f := &Figure{ID: c.ID, Caption: caption, Width: ColumnWidth, Height: h, Date: c.Date}
	f.draw = func(dc draw.Canvas) {
		// Aligned panels (one y-axis width), each with its legend above it.
		tiles := draw.Tiles{Rows: len(panels), Cols: 1, PadY: legendH + vg.Points(2), PadTop: legendH, PadRight: vg.Points(4), PadLeft: vg.Points(1), PadBottom: vg.Points(1)}
		cs := plot.Align(plots, tiles, dc)
		for i := range panels {
			plots[i][0].Draw(cs[i][0])
			top := cs[i][0].Max.Y
			leg := draw.Canvas{Canvas: dc.Canvas, Rectangle: vg.Rectangle{Min: vg.Point{X: dc.Min.X + vg.Points(14), Y: top}, Max: vg.Point{X: dc.Max.X, Y: top + legendH}}}
			drawLegend(leg, legends[i], len(legends[i]))
		}
	}
	return f, nil
}
