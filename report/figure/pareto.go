package figure

import (
	"fmt"
	"sort"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/cofiharness/cofi/report/runs"
	"github.com/cofiharness/cofi/report/stats"
	"github.com/cofiharness/cofi/results/reference"
	"github.com/cofiharness/cofi/task"
)

// Axis of a Figure 2 panel.
type Axis int

const (
	Speed Axis = iota // x = speedup over BERT-base
	Size              // x = non-embedding parameters (M)
)

// point is one (x, y) with the spread of y over seeds.
type point struct {
	x, y, yerr float64
	n          int
}

// curve is one method's points in a panel.
type curve struct {
	method string
	ours   bool
	label  string
	pts    []point
	line   bool // connect the points
}

// Figure2Tasks returns the tasks to draw: the paper's panels plus any other
// task with CoFi runs at two or more sparsities, or only the tasks run when
// none of them is in the paper (the synthetic demo). tasks overrides.
func Figure2Tasks(set *runs.Set, ref *reference.Data, tasks []string) []string {
	if len(tasks) > 0 {
		return tasks
	}
	paper := ref.Figure2Tasks()
	var extra []string
	anyPaper := false
	for _, tk := range set.Tasks() {
		inPaper := false
		for _, p := range paper {
			if p == tk {
				inPaper = true
			}
		}
		if inPaper {
			anyPaper = true
		} else if len(set.Sparsities(tk, "cofi")) >= 2 {
			extra = append(extra, tk)
		}
	}
	if len(extra) > 0 && !anyPaper {
		return extra
	}
	return append(append([]string(nil), paper...), extra...)
}

// oursCurve summarises a method's runs per sparsity (CoFi) or over all its
// runs (others) into points: mean x, mean y ± std over the seeds with both.
func oursCurve(set *runs.Set, ref *reference.Data, taskName, method string, axis Axis) curve {
	c := curve{method: method, ours: true, label: ref.Display(method) + " (ours)", line: method == "cofi"}
	sps := []float64{-1}
	if method == "cofi" {
		sps = set.Sparsities(taskName, method)
	}
	for _, sp := range sps {
		var xs, ys []float64
		for _, r := range set.Select(taskName, method, sp) {
			y := r.Headline()
			if !y.OK {
				continue
			}
			var x runs.Value
			if axis == Speed {
				x = r.Speedup()
			} else if sz, _ := r.Size(); sz != nil {
				x = runs.Value{V: float64(sz.Params) / 1e6, OK: true}
			}
			if !x.OK {
				continue
			}
			xs = append(xs, x.V)
			ys = append(ys, y.V)
		}
		if len(ys) == 0 {
			continue
		}
		sy := stats.Summarize(ys)
		c.pts = append(c.pts, point{x: stats.Summarize(xs).Mean, y: sy.Mean, yerr: sy.Std, n: sy.N})
	}
	sort.SliceStable(c.pts, func(i, j int) bool { return c.pts[i].x < c.pts[j].x })
	return c
}

// paperCurves returns the published series of a task in one panel.
func paperCurves(ref *reference.Data, taskName string, axis Axis) []curve {
	var out []curve
	for _, s := range ref.Figure2(taskName) {
		c := curve{method: s.Method, label: ref.Display(s.Method) + " (paper)", line: len(s.Points) > 1}
		if s.Method != "cofi" {
			c.label = ref.Display(s.Method)
		}
		for _, p := range s.Points {
			x := p.Speedup
			if axis == Size {
				x = p.ParamsM
			}
			if x == nil || p.Score == nil {
				continue
			}
			c.pts = append(c.pts, point{x: *x, y: *p.Score})
		}
		sort.SliceStable(c.pts, func(i, j int) bool { return c.pts[i].x < c.pts[j].x })
		// A published trade-off curve is drawn as a line; a cloud of
		// configurations (DynaBERT's speed panel) only as markers.
		c.line = c.line && monotone(c.pts)
		if len(c.pts) > 0 {
			out = append(out, c)
		}
	}
	return out
}

// teacherLines returns the published teacher score (or ours when the paper
// has none for the task) and ours.
func teacherLines(set *runs.Set, ref *reference.Data, taskName string) (paper float64, paperOK bool, ours float64, oursOK bool) {
	paper, paperOK = ref.Teacher(taskName)
	var ys []float64
	for _, r := range set.Select(taskName, "teacher", -1) {
		if v := r.Headline(); v.OK {
			ys = append(ys, v.V)
		}
	}
	if len(ys) > 0 {
		ours, oursOK = stats.Summarize(ys).Mean, true
	}
	return
}

// TeacherName names our teacher of a task from its recorded structure:
// "BERT-base" only when it has BERT-base's shape, else its layers and width
// (the demo's tiny random model is not BERT-base).
func TeacherName(set *runs.Set, taskName string) string {
	for _, r := range set.Select(taskName, "teacher", -1) {
		if st, _ := r.Structure(); st != nil {
			return ModelName(st.Layers, st.HiddenFull)
		}
	}
	return "teacher"
}

// ModelName is "BERT-base", "BERT-large" or "2-layer BERT (hidden 64)".
func ModelName(layers, hidden int) string {
	switch {
	case layers == 12 && hidden == 768:
		return "BERT-base"
	case layers == 24 && hidden == 1024:
		return "BERT-large"
	}
	return fmt.Sprintf("%d-layer BERT (hidden %d)", layers, hidden)
}

// panel draws one Figure 2 panel and returns its legend entries.
func panel(set *runs.Set, ref *reference.Data, taskName string, axis Axis) (*plot.Plot, []legendEntry, error) {
	t, err := task.Lookup(taskName)
	title := taskName
	ylabel := "score"
	if err == nil {
		title = t.Display
		ylabel = metricWord(t.Headline)
	}
	xlabel := "speedup (×)"
	if axis == Size {
		xlabel = "non-embedding parameters (M)"
	}
	p := newPlot(title, xlabel, ylabel)
	var entries []legendEntry

	curves := paperCurves(ref, taskName, axis)
	// Our runs of the methods the figure shows: CoFi and the runnable baseline.
	for _, m := range []string{"cofi", "tinybert4"} {
		if c := oursCurve(set, ref, taskName, m, axis); len(c.pts) > 0 {
			curves = append(curves, c)
		}
	}
	xmin, xmax := 1e9, -1e9
	ymin, ymax := 1e9, -1e9
	for _, c := range curves {
		st := StyleOf(c.method)
		xys := make(plotter.XYs, len(c.pts))
		for i, q := range c.pts {
			xys[i] = plotter.XY{X: q.x, Y: q.y}
			xmin, xmax = min(xmin, q.x), max(xmax, q.x)
			ymin, ymax = min(ymin, q.y-q.yerr), max(ymax, q.y+q.yerr)
		}
		sc, err := plotter.NewScatter(xys)
		if err != nil {
			return nil, nil, fmt.Errorf("%s %s: %w", taskName, c.label, err)
		}
		sc.GlyphStyle = st.Glyph(c.ours)
		things := []plot.Thumbnailer{sc}
		if c.line {
			ln, err := plotter.NewLine(xys)
			if err != nil {
				return nil, nil, err
			}
			ln.LineStyle = st.Line(c.ours)
			p.Add(ln)
			things = append([]plot.Thumbnailer{ln}, things...)
		}
		p.Add(sc)
		if c.ours && hasSpread(c.pts) {
			eb, err := errorBars(c.pts)
			if err != nil {
				return nil, nil, err
			}
			eb.LineStyle.Color = st.Color
			eb.LineStyle.Width = vg.Points(0.5)
			eb.CapWidth = vg.Points(2)
			p.Add(eb)
		}
		entries = append(entries, legendEntry{c.label, things})
	}

	// Reference lines: the teacher and 95 % of it, across the panel.
	paperT, paperOK, oursT, oursOK := teacherLines(set, ref, taskName)
	ref95 := 0.0
	if paperOK {
		ref95 = 0.95 * paperT
	} else if oursOK {
		ref95 = 0.95 * oursT
	}
	if xmin > xmax {
		xmin, xmax = 1, 2
	}
	pad := (xmax - xmin) * 0.04
	if pad == 0 {
		pad = 0.5
	}
	hline := func(y float64, ls draw.LineStyle, label string) error {
		ln, err := plotter.NewLine(plotter.XYs{{X: xmin - pad, Y: y}, {X: xmax + pad, Y: y}})
		if err != nil {
			return err
		}
		ln.LineStyle = ls
		p.Add(ln)
		ymin, ymax = min(ymin, y), max(ymax, y)
		entries = append(entries, legendEntry{label, []plot.Thumbnailer{ln}})
		return nil
	}
	teacher := StyleOf("teacher")
	oursName := TeacherName(set, taskName)
	if paperOK {
		if err := hline(paperT, teacher.Line(false), "BERT-base (paper)"); err != nil {
			return nil, nil, err
		}
	}
	if oursOK {
		if err := hline(oursT, teacher.Line(true), oursName+" (ours)"); err != nil {
			return nil, nil, err
		}
	}
	if ref95 > 0 {
		of := "BERT-base"
		if !paperOK {
			of = oursName
		}
		ls := draw.LineStyle{Color: rgb(0x80, 0x80, 0x80), Width: vg.Points(0.7), Dashes: []vg.Length{vg.Points(1), vg.Points(1.5)}}
		if err := hline(ref95, ls, "95% of "+of); err != nil {
			return nil, nil, err
		}
	}
	p.X.Min, p.X.Max = xmin-pad, xmax+pad
	if ymin < ymax {
		// Room above the teacher line and below the lowest point.
		ypad := (ymax - ymin) * 0.04
		p.Y.Min, p.Y.Max = ymin-ypad, ymax+ypad
	}
	return p, entries, nil
}

// monotone reports whether y only rises or only falls along x, allowing
// dips of half a point (the uncertainty of values read off a figure).
func monotone(pts []point) bool {
	const slack = 0.5
	up, down := true, true
	for i := 1; i < len(pts); i++ {
		if pts[i].y < pts[i-1].y-slack {
			up = false
		}
		if pts[i].y > pts[i-1].y+slack {
			down = false
		}
	}
	return up || down
}

func hasSpread(pts []point) bool {
	for _, q := range pts {
		if q.n > 1 {
			return true
		}
	}
	return false
}

type errs []point

func (e errs) Len() int                        { return len(e) }
func (e errs) XY(i int) (float64, float64)     { return e[i].x, e[i].y }
func (e errs) YError(i int) (float64, float64) { return e[i].yerr, e[i].yerr }

func errorBars(pts []point) (*plotter.YErrorBars, error) { return plotter.NewYErrorBars(errs(pts)) }

// metricWord names a metric key's metric for an axis: "mnli-m/acc" → "accuracy".
func metricWord(key string) string {
	_, m, _ := strings.Cut(key, "/")
	switch m {
	case "acc":
		return "accuracy"
	case "f1":
		return "F1"
	case "em":
		return "exact match"
	case "mcc":
		return "Matthews corr."
	case "spearman":
		return "Spearman corr."
	case "pearson":
		return "Pearson corr."
	}
	return m
}

// mergeEntries keeps the first entry of each label, in order.
func mergeEntries(lists ...[]legendEntry) []legendEntry {
	var out []legendEntry
	seen := map[string]bool{}
	for _, l := range lists {
		for _, e := range l {
			if !seen[e.label] {
				seen[e.label] = true
				out = append(out, e)
			}
		}
	}
	return out
}

// hardwarePhrase says where speedups were measured, ours and the paper's.
func hardwarePhrase(set *runs.Set, ref *reference.Data, withPaper bool) (short, long string) {
	devs := set.Devices()
	if !withPaper {
		if len(devs) == 0 {
			return "no speed records", "We have no speed records."
		}
		var sh []string
		for _, d := range devs {
			sh = append(sh, shortDevice(d))
		}
		return "ours: " + strings.Join(sh, ", "), "Our speedups were measured on " + strings.Join(devs, "; ") + "."
	}
	if len(devs) == 0 {
		return "paper: " + shortDevice(ref.Paper.SpeedupHardware),
			fmt.Sprintf("Published speedups were measured by the authors on an %s (%s); we have no speed records.", ref.Paper.SpeedupHardware, ref.Paper.SpeedupProtocol)
	}
	var sh []string
	for _, d := range devs {
		sh = append(sh, shortDevice(d))
	}
	return fmt.Sprintf("ours: %s; paper: %s", strings.Join(sh, ", "), shortDevice(ref.Paper.SpeedupHardware)),
		fmt.Sprintf("Our speedups were measured on %s; the published ones by the authors on an %s (%s), so speedups are compared across hardware.",
			strings.Join(devs, "; "), ref.Paper.SpeedupHardware, ref.Paper.SpeedupProtocol)
}

// Figure2Task is one task's Figure 2 for a paper column: the speed panel
// above the size panel, the legend below.
func Figure2Task(set *runs.Set, ref *reference.Data, taskName string) (*Figure, error) {
	return figure2(set, ref, []string{taskName}, "figure2-"+taskName, ColumnWidth)
}

// Figure2 is the paper's Figure 2 for the page width: one column per task,
// the speed panels above the size panels.
func Figure2(set *runs.Set, ref *reference.Data, tasks []string) (*Figure, error) {
	return figure2(set, ref, tasks, "figure2", PageWidth)
}

func figure2(set *runs.Set, ref *reference.Data, tasks []string, id string, width vg.Length) (*Figure, error) {
	if len(tasks) == 0 {
		return nil, fmt.Errorf("figure %s: no tasks", id)
	}
	withPaper := false
	for _, tk := range tasks {
		if len(ref.Figure2(tk)) > 0 {
			withPaper = true
		}
	}
	short, long := hardwarePhrase(set, ref, withPaper)
	plots := [][]*plot.Plot{make([]*plot.Plot, len(tasks)), make([]*plot.Plot, len(tasks))}
	var all []legendEntry
	for j, tk := range tasks {
		for i, axis := range []Axis{Speed, Size} {
			p, entries, err := panel(set, ref, tk, axis)
			if err != nil {
				return nil, fmt.Errorf("figure %s: %w", id, err)
			}
			if axis == Speed {
				p.X.Label.Text = "speedup (" + short + ")"
				if len(tasks) > 1 {
					p.X.Label.Text = "speedup (×)"
				}
			}
			if i == 1 {
				p.Title.Text = ""
				if len(tasks) > 1 {
					p.X.Label.Text = "params (M)" // narrow panels; the caption says which
				}
			}
			plots[i][j] = p
			all = mergeEntries(all, entries)
		}
	}
	cols := 2
	if len(tasks) > 1 {
		cols = 4
	}
	// Long labels (a teacher named after its shape) get a column of their own.
	for _, e := range all {
		if cols == 2 && len([]rune(e.label)) > 24 {
			cols = 1
		}
	}
	legendH := legendRows(len(all), cols)
	panelH := vg.Length(1.9) * vg.Inch
	if len(tasks) == 1 {
		panelH = vg.Length(2.0) * vg.Inch
	}
	h := 2*panelH + legendH
	var names []string
	for _, tk := range tasks {
		names = append(names, displayTask(tk))
	}
	caption := fmt.Sprintf("Dev-set score vs speedup (top) and vs model size (non-embedding parameters, bottom) on %s. CoFi ours (filled markers, solid lines; bars: ± std over seeds) and published (outlined, lighter, dashed), published baselines as in the paper's Figure 2 (values read from the figure: ±0.1 score, ±2%% x), BERT-base teacher and 95%% of it. %s",
		strings.Join(names, ", "), long)
	if !withPaper {
		caption = fmt.Sprintf("Dev-set score vs speedup (top) and vs model size (non-embedding parameters, bottom) on %s: CoFi (bars: ± std over seeds), the teacher (%s) and 95%% of it; the paper has no results on these tasks. %s",
			strings.Join(names, ", "), TeacherName(set, tasks[0]), long)
	}
	if len(tasks) > 1 {
		caption += " Speed axis hardware: " + short + "."
	}
	f := &Figure{ID: id, Caption: caption, Width: width, Height: h, Date: set.Latest()}
	f.draw = func(dc draw.Canvas) {
		top := draw.Crop(dc, 0, 0, legendH, 0)
		tiles := draw.Tiles{Rows: 2, Cols: len(tasks), PadX: vg.Points(6), PadY: vg.Points(6), PadTop: vg.Points(2), PadRight: vg.Points(4), PadLeft: vg.Points(1)}
		canvases := plot.Align(plots, tiles, top)
		for i := range plots {
			for j := range plots[i] {
				plots[i][j].Draw(canvases[i][j])
			}
		}
		drawLegend(draw.Crop(dc, vg.Points(4), 0, 0, -(h-legendH)), all, cols)
	}
	return f, nil
}

func displayTask(name string) string {
	if t, err := task.Lookup(name); err == nil {
		return t.Display
	}
	return name
}
