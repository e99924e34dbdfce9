package reference

import (
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/cofiharness/cofi/task"
)

// paperMD is a copy of the shared PAPER-RESULTS.md the data was transcribed
// from; the tests below parse its tables independently of the JSON and
// compare every cell, so a typo in either shows up.
const paperMD = "testdata/PAPER-RESULTS.md"

func readPaper(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(paperMD)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// section returns the text from the heading that starts with title to the next "## ".
func section(t *testing.T, md, title string) string {
	t.Helper()
	i := strings.Index(md, "## "+title)
	if i < 0 {
		t.Fatalf("no section %q in %s", title, paperMD)
	}
	rest := md[i+3:]
	if j := strings.Index(rest, "\n## "); j >= 0 {
		rest = rest[:j]
	}
	return rest
}

// mdRows returns the body rows of the first pipe table in s, cells trimmed.
func mdRows(s string) [][]string {
	var rows [][]string
	header := true
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "|") {
			if len(rows) > 0 || !header {
				if len(rows) > 0 {
					break
				}
			}
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		if header {
			header = false
			continue
		}
		if strings.HasPrefix(cells[0], "---") {
			continue
		}
		rows = append(rows, cells)
	}
	return rows
}

func num(t *testing.T, s string) float64 {
	t.Helper()
	s = strings.TrimSuffix(strings.TrimSpace(s), "×")
	s = strings.TrimSuffix(s, "M")
	s = strings.TrimSuffix(strings.TrimSpace(s), "%")
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		t.Fatalf("not a number: %q", s)
	}
	return v
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestEmbeddedDataLoadsAndCounts(t *testing.T) {
	d := Default()
	for _, c := range []struct {
		src  string
		want int
	}{{Table1, 11}, {Table2, 36}, {Table3, 16}, {Table4, 24}, {Table5, 16}} {
		if got := len(d.Points(c.src)); got != c.want {
			t.Errorf("%s: %d entries, want %d", c.src, got, c.want)
		}
	}
	if len(d.Layers) != 15 || len(d.Structure) != 5 || len(d.Checkpoints) != 14 || len(d.TrainTime) != 4 {
		t.Errorf("layers %d, structure %d, checkpoints %d, train time %d", len(d.Layers), len(d.Structure), len(d.Checkpoints), len(d.TrainTime))
	}
	if d.Paper.SpeedupHardware != "NVIDIA V100" {
		t.Errorf("hardware %q", d.Paper.SpeedupHardware)
	}
}

func TestTable2MatchesPaperAndIsComplete(t *testing.T) {
	d := Default()
	rows := mdRows(section(t, readPaper(t), "Table 2"))
	tasks := []string{"sst2", "qnli", "mnli", "qqp", "cola", "rte", "stsb", "mrpc", "squad"}
	if got := d.Table2Tasks(); strings.Join(got, ",") != strings.Join(tasks, ",") {
		t.Fatalf("Table2Tasks = %v", got)
	}
	if got := d.Table2Methods(); strings.Join(got, ",") != "teacher,tinybert4-no-gd,tinybert4,cofi" {
		t.Fatalf("Table2Methods = %v", got)
	}
	methodOf := map[string]string{"BERT-base (teacher)": "teacher", "TinyBERT4 w/o GD": "tinybert4-no-gd", "TinyBERT4": "tinybert4", "CoFi": "cofi"}
	checked := 0
	for _, r := range rows {
		label := r[0]
		if m, ok := strings.CutPrefix(label, "speedup "); ok {
			m = methodOf[m]
			for i, tk := range tasks {
				p, ok := d.Table2(m, tk)
				if !ok || p.Speedup == nil || !near(*p.Speedup, num(t, r[i+1])) {
					t.Errorf("speedup %s %s: data %+v, paper %s", m, tk, p, r[i+1])
				}
				checked++
			}
			continue
		}
		m := methodOf[label]
		if m == "" {
			t.Fatalf("unexpected row %q", label)
		}
		for i, tk := range tasks {
			p, ok := d.Table2(m, tk)
			if !ok {
				t.Errorf("table 2 %s %s missing", m, tk)
				continue
			}
			if r[i+1] == "-" {
				if p.Score != nil || p.Note == "" {
					t.Errorf("%s %s: paper has no value, data %+v", m, tk, p)
				}
			} else if p.Score == nil || !near(*p.Score, num(t, r[i+1])) {
				t.Errorf("%s %s: data %v, paper %s", m, tk, p.Score, r[i+1])
			}
			if want := task.MustLookup(tk).Headline; p.Metric != want {
				t.Errorf("%s %s: metric %q, want headline %q", m, tk, p.Metric, want)
			}
			checked++
		}
		tt, ok := d.Table2TrainTime(m)
		if !ok || tt.Text != r[10] {
			t.Errorf("train time %s: %+v, paper %q", m, tt, r[10])
		}
	}
	if checked != 6*9 {
		t.Errorf("checked %d cells, want 54", checked)
	}
	if s, ok := d.Table2Sparsity("squad"); !ok || s != 0.924 {
		t.Errorf("SQuAD sparsity %v %v, want 0.924", s, ok)
	}
	if s, ok := d.Table2Sparsity("rte"); !ok || s != 0.95 {
		t.Errorf("RTE sparsity %v %v", s, ok)
	}
	if v, ok := d.Teacher("mnli"); !ok || v != 84.8 {
		t.Errorf("teacher MNLI %v", v)
	}
}

func TestTable1And3MatchPaper(t *testing.T) {
	d := Default()
	md := readPaper(t)
	rows := mdRows(section(t, md, "Table 1"))
	pts := d.Points(Table1)
	if len(rows) != len(pts) {
		t.Fatalf("%d rows, %d entries", len(rows), len(pts))
	}
	for i, r := range rows {
		p := pts[i]
		yes := func(s string) bool { return s == "yes" }
		if p.Row != r[0] || *p.Unlabeled != yes(r[1]) || *p.TaskData != yes(r[2]) ||
			!near(*p.Speedup, num(t, r[3])) || !near(*p.ParamsM, num(t, r[4])) || !near(*p.Score, num(t, r[5])) {
			t.Errorf("table 1 row %d: data %+v, paper %v", i, p, r)
		}
	}
	for _, r := range mdRows(section(t, md, "Table 3")) {
		tk := map[string]string{"SST-2": "sst2", "QNLI": "qnli", "RTE": "rte", "MRPC": "mrpc"}[r[0]]
		for j, m := range []string{"tinybert4", "cofi"} {
			before, after, _ := strings.Cut(r[j+1], "→")
			for setting, v := range map[string]string{"no-aug": before, "aug": after} {
				p, ok := d.Find(Table3, m, tk, -1, setting)
				if !ok || !near(*p.Score, num(t, v)) {
					t.Errorf("table 3 %s %s %s: %+v, paper %s", m, tk, setting, p, v)
				}
			}
		}
	}
}

func TestTable4And5MatchPaper(t *testing.T) {
	d := Default()
	md := readPaper(t)
	methodOf := map[string]string{"CoFi": "cofi", "-hidden": "cofi-no-hidden", "-layer & hidden": "cofi-no-layer-hidden", "-layer": "cofi-no-layer"}
	cols := []Cell{{"qnli", 0.6}, {"qnli", 0.95}, {"mnli", 0.6}, {"mnli", 0.95}, {"squad", 0.6}, {"squad", 0.95}}
	if got := d.Columns(Table4); len(got) != len(cols) || got[1] != cols[1] || got[5] != cols[5] {
		t.Errorf("table 4 columns %v", got)
	}
	n := 0
	for _, r := range mdRows(section(t, md, "Table 4")) {
		m := methodOf[r[0]]
		for i, c := range cols {
			sp, sc, _ := strings.Cut(r[i+1], "/")
			p, ok := d.Find(Table4, m, c.Task, c.Sparsity, "")
			if !ok || !near(*p.Speedup, num(t, sp)) || !near(*p.Score, num(t, sc)) {
				t.Errorf("table 4 %s %v: %+v, paper %s", m, c, p, r[i+1])
			}
			n++
		}
	}
	methodOf = map[string]string{"CoFi (L_pred + dynamic L_layer)": "cofi", "-L_layer": "cofi-no-llayer",
		"-L_pred, L_layer (no distillation)": "cofi-no-distill", "fixed hidden distillation": "cofi-fixed-hidden"}
	for _, r := range mdRows(section(t, md, "Table 5")) {
		m := methodOf[r[0]]
		for i, tk := range []string{"sst2", "qnli", "mnli", "squad"} {
			p, ok := d.Find(Table5, m, tk, 0.95, "")
			if !ok || !near(*p.Score, num(t, r[i+1])) {
				t.Errorf("table 5 %s %s: %+v, paper %s", m, tk, p, r[i+1])
			}
			n++
		}
	}
	if n != 24+16 {
		t.Errorf("checked %d cells", n)
	}
}

func TestRemainingLayersMatchPaper(t *testing.T) {
	d := Default()
	rows := mdRows(section(t, readPaper(t), "Remaining layers"))
	if len(rows) != len(d.Layers) {
		t.Fatalf("%d rows, %d entries", len(rows), len(d.Layers))
	}
	join := func(v []int) string {
		s := make([]string, len(v))
		for i, x := range v {
			s[i] = strconv.Itoa(x)
		}
		return strings.Join(s, ",")
	}
	for i, r := range rows {
		l := d.Layers[i]
		if task.MustLookup(r[0]).Name != l.Task || strconv.Itoa(l.Run) != r[1] || join(l.MHA) != r[2] || join(l.FFN) != r[3] {
			t.Errorf("row %d: data %+v, paper %v", i, l, r)
		}
	}
	if got := len(d.RemainingLayers("qqp")); got != 3 {
		t.Errorf("QQP runs %d", got)
	}
}

func TestFigure2MatchesPaper(t *testing.T) {
	d := Default()
	md := section(t, readPaper(t), "Figure 2")
	tasks := []string{"sst2", "qnli", "mnli", "squad"}
	if got := d.Figure2Tasks(); strings.Join(got, ",") != strings.Join(tasks, ",") {
		t.Errorf("figure 2 tasks %v", got)
	}
	for _, r := range mdRows(md) {
		s := num(t, r[0]) / 100
		for i, tk := range tasks {
			f := strings.Split(r[i+1], "/")
			p, ok := d.Find(Figure2, "cofi", tk, s, "")
			if !ok || !near(*p.Speedup, num(t, f[0])) || !near(*p.ParamsM, num(t, f[1])) || !near(*p.Score, num(t, f[2])) {
				t.Errorf("figure 2 CoFi %s %v: %+v, paper %v", tk, s, p, f)
			}
			if p.ScoreTol != 0.1 || p.XTolRel != 0.02 || !strings.Contains(p.Provenance, "read from figure 2") {
				t.Errorf("figure 2 CoFi %s %v: tolerance/provenance %v %v %q", tk, s, p.ScoreTol, p.XTolRel, p.Provenance)
			}
		}
	}
	// Baseline point lists: parse every "(x,y)" list of the DynaBERT and
	// Block Pruning bullets and compare with the data, panel by panel.
	count := func(method, tk string, speed bool) [][2]float64 {
		var out [][2]float64
		for _, s := range d.Figure2(tk) {
			if s.Method != method {
				continue
			}
			for _, p := range s.Points {
				if speed && p.Speedup != nil {
					out = append(out, [2]float64{*p.Speedup, *p.Score})
				} else if !speed && p.ParamsM != nil {
					out = append(out, [2]float64{*p.ParamsM, *p.Score})
				}
			}
		}
		return out
	}
	pair := regexp.MustCompile(`\(([\d.]+),([\d.]+)\)`)
	taskList := regexp.MustCompile(`(SST-2|QNLI|MNLI|SQuAD) ((?:\([\d.]+,[\d.]+\))+)`)
	bp := md[strings.Index(md, "- Block Pruning, speed:"):]
	bpSpeed, bpSize, _ := strings.Cut(bp, "Size:")
	dyn := md[strings.Index(md, "- DynaBERT, speed panel:"):strings.Index(md, "Size panel")]
	for _, c := range []struct {
		method string
		text   string
		speed  bool
	}{{"dynabert", dyn, true}, {"block-pruning", bpSpeed, true}, {"block-pruning", bpSize, false}} {
		for _, m := range taskList.FindAllStringSubmatch(c.text, -1) {
			tk := task.MustLookup(m[1]).Name
			var want [][2]float64
			for _, p := range pair.FindAllStringSubmatch(m[2], -1) {
				want = append(want, [2]float64{num(t, p[1]), num(t, p[2])})
			}
			got := count(c.method, tk, c.speed)
			if len(got) != len(want) {
				t.Errorf("%s %s speed=%v: %d points, paper %d", c.method, tk, c.speed, len(got), len(want))
				continue
			}
			// Data is sorted by x; the paper lists by increasing x too.
			for i := range want {
				if !near(got[i][0], want[i][0]) || !near(got[i][1], want[i][1]) {
					t.Errorf("%s %s speed=%v point %d: %v, paper %v", c.method, tk, c.speed, i, got[i], want[i])
				}
			}
		}
	}
	// DynaBERT size panel: shared x list.
	sizes := []float64{10.7, 16.1, 21.4, 32.1, 42.9, 48.2, 64.3, 85.7}
	mnli := []float64{76.4, 79.2, 80.1, 81.2, 82.2, 83.2, 84.2, 84.5}
	got := count("dynabert", "mnli", false)
	for i := range sizes {
		if len(got) != len(sizes) || !near(got[i][0], sizes[i]) || !near(got[i][1], mnli[i]) {
			t.Fatalf("DynaBERT MNLI size panel %v", got)
		}
	}
	// The single-point baselines (a sample; the rest are in the same bullets).
	for _, c := range []struct {
		method, task    string
		speedup, params float64
		score           float64
	}{{"tinybert4", "sst2", 11.4, 4.7, 89.6}, {"tinybert4", "squad", 8.7, 4.7, 82.2}, {"tinybert6", "mnli", 2.0, 43.1, 84.4}, {"distilbert6", "squad", 2.1, 43.1, 86.8}} {
		p, ok := d.Find(Figure2, c.method, c.task, -1, "")
		if !ok || *p.Speedup != c.speedup || *p.ParamsM != c.params || *p.Score != c.score {
			t.Errorf("%s %s: %+v", c.method, c.task, p)
		}
	}
	if v, ok := d.Find(Figure2, "teacher", "squad", -1, ""); !ok || *v.Score != 88.4 {
		t.Errorf("figure 2 teacher line SQuAD %+v", v)
	}
}

func TestFigure3AndCheckpointsMatchPaper(t *testing.T) {
	d := Default()
	md := readPaper(t)
	fig := section(t, md, "Figure 3")
	line := regexp.MustCompile(`(?m)^- (\d+) %: (.+)$`)
	heads := fig[strings.Index(fig, "Average heads"):]
	inter := fig[:strings.Index(fig, "Average heads")]
	for _, c := range []struct {
		text  string
		heads bool
	}{{inter, false}, {heads, true}} {
		ms := line.FindAllStringSubmatch(c.text, -1)
		if len(ms) != 5 {
			t.Fatalf("parsed %d figure 3 lines", len(ms))
		}
		for _, m := range ms {
			p, ok := d.StructureAt(num(t, m[1]) / 100)
			if !ok {
				t.Fatalf("no figure 3 profile at %s%%", m[1])
			}
			vals := p.Intermediate
			if c.heads {
				vals = p.Heads
			}
			for i, f := range strings.Fields(m[2]) {
				if !near(vals[i], num(t, f)) {
					t.Errorf("figure 3 %s%% heads=%v layer %d: %v, paper %s", m[1], c.heads, i+1, vals[i], f)
				}
			}
		}
	}
	rows := mdRows(section(t, md, "Checkpoints"))
	if len(rows) != len(d.Checkpoints) {
		t.Fatalf("%d checkpoint rows, %d entries", len(rows), len(d.Checkpoints))
	}
	for i, r := range rows {
		c := d.Checkpoints[i]
		if c.Model != r[0] || !near(c.Sparsity*100, num(t, r[1])) || !near(c.Speedup, num(t, r[2])) || !near(c.Score, num(t, r[3])) {
			t.Errorf("checkpoint %d: %+v, paper %v", i, c, r)
		}
	}
}

func TestLoadRejectsBadData(t *testing.T) {
	base := fstest.MapFS{}
	for _, name := range Files() {
		b, err := embedded.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		base[name] = &fstest.MapFile{Data: b}
	}
	if _, err := Load(base); err != nil {
		t.Fatalf("unmodified copy: %v", err)
	}
	for _, c := range []struct {
		name, file, from, to, want string
	}{
		{"unknown key", "table5.json", `"row": "-L_layer"`, `"rwo": "-L_layer"`, `unknown field "rwo"`},
		{"syntax error has line and column", "table4.json", `"source": "table4",`, `"source": "table4"`, "table4.json:3:3"},
		{"wrong type has line and column", "table4.json", `"score": 91.8`, `"score": "91.8"`, "table4.json:5:"},
		{"no provenance", "table5.json", `"provenance": "table 5 cell (row -L_layer, column SST-2)"`, `"provenance": ""`, "no provenance"},
		{"unknown task", "table5.json", `"task": "sst2"`, `"task": "sst3"`, `unknown task "sst3"`},
		{"metric of another task", "table2.json", `"task": "qnli", "metric": "qnli/acc"`, `"task": "qnli", "metric": "sst2/acc"`, `metric "sst2/acc"`},
		{"unknown method", "table1.json", `"method": "dynabert"`, `"method": "dynabrt"`, `unknown method "dynabrt"`},
		{"layers out of range", "layers.json", `"mha": [2, 5, 11]`, `"mha": [2, 5, 13]`, "increasing numbers in 1..12"},
		{"checkpoint name", "checkpoints.json", `"model": "CoFi-RTE-s96", "hub": "princeton-nlp/CoFi-RTE-s96"`, `"model": "CoFi-RTE-s95", "hub": "princeton-nlp/CoFi-RTE-s95"`, "does not end in -s96"},
		{"duplicate cell", "table5.json", `"row": "-L_layer", "method": "cofi-no-llayer", "task": "qnli"`, `"row": "-L_layer", "method": "cofi-no-llayer", "task": "sst2"`, "duplicates entries"},
	} {
		t.Run(c.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for k, v := range base {
				fsys[k] = v
			}
			s := string(base[c.file].Data)
			if !strings.Contains(s, c.from) {
				t.Fatalf("%s has no %s", c.file, c.from)
			}
			fsys[c.file] = &fstest.MapFile{Data: []byte(strings.Replace(s, c.from, c.to, 1))}
			_, err := Load(fsys)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want it to contain %q", err, c.want)
			}
		})
	}
}
