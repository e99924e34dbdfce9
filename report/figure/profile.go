package figure

import (
	"fmt"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/cofiharness/cofi/report/runs"
	"github.com/cofiharness/cofi/results/reference"
)

// profile is the mean heads and intermediate units per layer of some runs.
type profile struct {
	sparsity float64
	heads    []float64
	inter    []float64
	n        int
	tasks    []string
}

// oursProfiles averages the structure of our CoFi runs per sparsity over
// the tasks of the paper's Figure 3 (or over every task when we ran none of them).
func oursProfiles(set *runs.Set, ref *reference.Data) (out []profile, onPaperTasks bool) {
	paperTasks := map[string]bool{}
	for _, p := range ref.Structure {
		for _, t := range p.Tasks {
			paperTasks[t] = true
		}
	}
	anyPaper := false
	for _, t := range set.Tasks() {
		if paperTasks[t] && len(set.Sparsities(t, "cofi")) > 0 {
			anyPaper = true
		}
	}
	for _, sp := range set.Sparsities("", "cofi") {
		pr := profile{sparsity: sp}
		seen := map[string]bool{}
		for _, r := range set.Runs {
			if r.Method != "cofi" || r.Sparsity != sp || (anyPaper && !paperTasks[r.Task]) {
				continue
			}
			st, _ := r.Structure()
			if st == nil {
				continue
			}
			if pr.heads == nil {
				pr.heads, pr.inter = make([]float64, st.Layers), make([]float64, st.Layers)
			}
			for l := range pr.heads {
				pr.heads[l] += float64(at(st.Heads, l))
				pr.inter[l] += float64(at(st.Intermediate, l))
			}
			pr.n++
			if !seen[r.Task] {
				seen[r.Task] = true
				pr.tasks = append(pr.tasks, r.Task)
			}
		}
		if pr.n == 0 {
			continue
		}
		for l := range pr.heads {
			pr.heads[l] /= float64(pr.n)
			pr.inter[l] /= float64(pr.n)
		}
		out = append(out, pr)
	}
	return out, anyPaper
}

func at(v []int, i int) int {
	if i < len(v) {
		return v[i]
	}
	return 0
}

// Figure3 draws the mean heads per MHA layer (top) and intermediate units
// per FFN layer (bottom) for each sparsity, ours next to the paper's.
func Figure3(set *runs.Set, ref *reference.Data) (*Figure, error) {
	ours, onPaperTasks := oursProfiles(set, ref)
	// The paper's profiles are of BERT-base on its tasks: drawn next to ours
	// only when ours are of those tasks too (not for the synthetic demo).
	showPaper := len(ours) == 0 || onPaperTasks
	heads := newPlot("", "layer", "mean heads kept")
	inter := newPlot("", "layer", "mean intermediate units kept")
	var entries []legendEntry
	// Colour says the sparsity; ours are filled squares on solid lines, the
	// paper's open circles on dashed lines, so the two never look alike.
	oursStyle, paperStyle := Style{Shape: Square}, Style{Shape: Circle}
	add := func(sp float64, hs, is []float64, isOurs bool) error {
		col := sparsityColor(sp)
		st := paperStyle
		if isOurs {
			st = oursStyle
		}
		label := fmt.Sprintf("%s (paper)", runs.Percent(sp))
		if isOurs {
			label = fmt.Sprintf("%s (ours)", runs.Percent(sp))
		}
		var things []plot.Thumbnailer
		for k, vals := range [][]float64{hs, is} {
			xys := make(plotter.XYs, len(vals))
			for l, v := range vals {
				xys[l] = plotter.XY{X: float64(l + 1), Y: v}
			}
			ln, sc, err := plotter.NewLinePoints(xys)
			if err != nil {
				return fmt.Errorf("figure 3 %s: %w", label, err)
			}
			st.Color = col
			ln.LineStyle = st.Line(isOurs)
			sc.GlyphStyle = st.Glyph(isOurs)
			if !isOurs {
				sc.GlyphStyle.Color = ln.LineStyle.Color
			}
			if k == 0 {
				heads.Add(ln, sc)
				things = []plot.Thumbnailer{ln, sc}
			} else {
				inter.Add(ln, sc)
			}
		}
		entries = append(entries, legendEntry{label, things})
		return nil
	}
	if showPaper {
		for _, p := range ref.Structure {
			if err := add(p.Sparsity, p.Heads, p.Intermediate, false); err != nil {
				return nil, err
			}
		}
	}
	var tasks []string
	for _, p := range ours {
		if err := add(p.sparsity, p.heads, p.inter, true); err != nil {
			return nil, err
		}
		for _, t := range p.tasks {
			if !containsStr(tasks, t) {
				tasks = append(tasks, t)
			}
		}
	}
	layers := 0
	for _, p := range ref.Structure {
		if showPaper {
			layers = max(layers, len(p.Heads))
		}
	}
	for _, p := range ours {
		layers = max(layers, len(p.heads))
	}
	for _, p := range []*plot.Plot{heads, inter} {
		p.X.Min, p.X.Max = 0.5, float64(layers)+0.5
		p.X.Tick.Marker = plot.ConstantTicks(layerTicks(layers))
		p.Y.Min = 0
	}
	oursText := "we have no CoFi runs with a structure"
	if len(ours) > 0 {
		var names []string
		for _, t := range tasks {
			names = append(names, displayTask(t))
		}
		oursText = "ours averaged over every seed of " + strings.Join(names, ", ")
	}
	paperText := "Paper: read from its Figure 3, mean over SST-2, MNLI, QQP, QNLI and SQuAD; "
	if !showPaper {
		paperText = "The paper's profiles (BERT-base on its tasks) are not drawn next to these tasks; "
	}
	caption := "Mean attention heads kept per MHA layer (top) and intermediate units kept per FFN layer (bottom) for each sparsity, " +
		"0 where a sublayer is pruned away. " + paperText + oursText + ". Colour: sparsity; filled squares, solid lines: ours; open circles, dashed lines: paper."
	cols := 3
	legendH := legendRows(len(entries), cols)
	panelH := vg.Length(1.8) * vg.Inch
	h := 2*panelH + legendH
	f := &Figure{ID: "figure3", Caption: caption, Width: ColumnWidth, Height: h, Date: set.Latest()}
	plots := [][]*plot.Plot{{heads}, {inter}}
	f.draw = func(dc draw.Canvas) {
		top := draw.Crop(dc, 0, 0, legendH, 0)
		cs := plot.Align(plots, draw.Tiles{Rows: 2, Cols: 1, PadY: vg.Points(6), PadTop: vg.Points(2), PadRight: vg.Points(4), PadLeft: vg.Points(1)}, top)
		heads.Draw(cs[0][0])
		inter.Draw(cs[1][0])
		drawLegend(draw.Crop(dc, vg.Points(4), 0, 0, -(h-legendH)), entries, cols)
	}
	return f, nil
}

func layerTicks(n int) []plot.Tick {
	var ts []plot.Tick
	for l := 1; l <= n; l++ {
		ts = append(ts, plot.Tick{Value: float64(l), Label: fmt.Sprint(l)})
	}
	return ts
}

func containsStr(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
