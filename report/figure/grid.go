package figure

import (
	"fmt"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/cofiharness/cofi/report/runs"
	"github.com/cofiharness/cofi/results/reference"
)

// gridRun is one row pair of the layers grid.
type gridRun struct {
	label    string
	mha, ffn []bool
}

// LayersGrid draws which MHA (circles) and FFN (squares) sublayers each run
// kept, layer by layer: the paper's runs at 95 % sparsity and every one of
// ours near 95 % (tasks limits the tasks; nil means the paper's and ours).
func LayersGrid(set *runs.Set, ref *reference.Data, tasks []string) (*Figure, error) {
	var rows []gridRun
	layers := 0
	taskList := tasks
	if len(taskList) == 0 {
		for _, l := range ref.RemainingLayers("") {
			if !containsStr(taskList, l.Task) {
				taskList = append(taskList, l.Task)
			}
		}
		for _, t := range set.Tasks() {
			if !containsStr(taskList, t) && len(set.Sparsities(t, "cofi")) > 0 {
				taskList = append(taskList, t)
			}
		}
	}
	for _, tk := range taskList {
		for _, l := range ref.RemainingLayers(tk) {
			layers = max(layers, ref.LayerCount)
			rows = append(rows, gridRun{fmt.Sprintf("%s run %d (paper)", displayTask(tk), l.Run), flags(l.MHA, layers), flags(l.FFN, layers)})
		}
		sp, ok := set.Closest(tk, "cofi", 0.95, 0.03)
		if !ok {
			continue
		}
		for _, r := range set.Select(tk, "cofi", sp) {
			st, _ := r.Structure()
			if st == nil {
				continue
			}
			if st.Layers > layers {
				layers = st.Layers
			}
			rows = append(rows, gridRun{fmt.Sprintf("%s %s seed %d (ours)", displayTask(tk), runs.Percent(sp), r.Seed), st.MHA, st.FFN})
		}
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("figure layers: no runs to draw")
	}
	p := newPlot("", "layer", "")
	var keptM, keptF, gone plotter.XYs
	var ticks []plot.Tick
	n := len(rows)
	for i, r := range rows {
		y := float64(n - 1 - i) // first row on top
		ticks = append(ticks, plot.Tick{Value: y, Label: r.label})
		for l := 0; l < layers; l++ {
			xm, xf := float64(l+1)-0.17, float64(l+1)+0.17
			if l < len(r.mha) && r.mha[l] {
				keptM = append(keptM, plotter.XY{X: xm, Y: y})
			} else {
				gone = append(gone, plotter.XY{X: xm, Y: y})
			}
			if l < len(r.ffn) && r.ffn[l] {
				keptF = append(keptF, plotter.XY{X: xf, Y: y})
			} else {
				gone = append(gone, plotter.XY{X: xf, Y: y})
			}
		}
	}
	cofi := StyleOf("cofi")
	var entries []legendEntry
	for _, s := range []struct {
		xys   plotter.XYs
		glyph draw.GlyphStyle
		label string
	}{
		{keptM, draw.GlyphStyle{Color: cofi.Color, Radius: vg.Points(2), Shape: draw.CircleGlyph{}}, "MHA kept"},
		{keptF, draw.GlyphStyle{Color: rgb(0x8C, 0x2D, 0x04), Radius: vg.Points(2), Shape: draw.BoxGlyph{}}, "FFN kept"},
		{gone, draw.GlyphStyle{Color: rgb(0xC8, 0xC8, 0xC8), Radius: vg.Points(0.8), Shape: draw.CircleGlyph{}}, "pruned"},
	} {
		if len(s.xys) == 0 {
			continue
		}
		sc, err := plotter.NewScatter(s.xys)
		if err != nil {
			return nil, fmt.Errorf("figure layers: %w", err)
		}
		sc.GlyphStyle = s.glyph
		p.Add(sc)
		entries = append(entries, legendEntry{s.label, []plot.Thumbnailer{sc}})
	}
	p.X.Min, p.X.Max = 0.4, float64(layers)+0.6
	p.X.Tick.Marker = plot.ConstantTicks(layerTicks(layers))
	p.Y.Min, p.Y.Max = -0.6, float64(n)-0.4
	p.Y.Tick.Marker = plot.ConstantTicks(ticks)
	p.Y.Tick.Length = 0
	p.Y.LineStyle.Width = 0
	p.Add(plotter.NewGrid())
	legendH := legendRows(len(entries), 3)
	h := vg.Points(40) + vg.Length(n)*vg.Points(11) + legendH
	caption := "MHA (circles) and FFN (squares) sublayers kept, per layer, at 95% sparsity: the paper's remaining-layers table (3 runs per task) and each of our runs near 95%."
	f := &Figure{ID: "layers", Caption: caption, Width: ColumnWidth, Height: h, Date: set.Latest()}
	f.draw = func(dc draw.Canvas) {
		p.Draw(draw.Crop(dc, 0, -vg.Points(4), legendH, 0))
		drawLegend(draw.Crop(dc, vg.Points(4), 0, 0, -(h-legendH)), entries, 3)
	}
	return f, nil
}

// flags turns 1-based layer numbers into kept flags.
func flags(kept []int, layers int) []bool {
	out := make([]bool, layers)
	for _, l := range kept {
		if l >= 1 && l <= layers {
			out[l-1] = true
		}
	}
	return out
}
