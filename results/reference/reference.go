// Package reference holds the numbers published in the CoFi paper (Xia,
// Zhong & Chen, ACL 2022) as data: every table cell and every point read off
// a figure, each with its provenance and metric. The JSON files next to this
// source are the one source of truth; reports read them through the typed
// accessors here and never hard-code a published number.
//
// Units follow package record: scores in percent (Matthews and correlations
// ×100), sparsities as fractions, sizes in millions of non-embedding
// parameters, speedups relative to BERT-base measured by the authors on a
// V100 (see Paper.SpeedupHardware).
package reference

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/cofiharness/cofi/task"
)

//go:embed *.json
var embedded embed.FS

// Paper describes the publication and the conditions of its measurements.
type Paper struct {
	Title           string       `json:"title"`
	Authors         string       `json:"authors"`
	Venue           string       `json:"venue"`
	EvalSplit       string       `json:"eval_split"`
	SpeedupHardware string       `json:"speedup_hardware"` // "NVIDIA V100"
	SpeedupProtocol string       `json:"speedup_protocol"`
	ParamsUnit      string       `json:"params_unit"`
	Methods         []MethodInfo `json:"methods"`
}

// MethodInfo names a method as the paper prints it. Runnable methods share
// their name with package method; the others are published-only baselines.
type MethodInfo struct {
	Name        string `json:"name"`
	Display     string `json:"display"`
	Description string `json:"description"`
}

// Point is one published measurement: a table cell (with its speedup and size
// when the table gives them) or a point read off a figure.
type Point struct {
	Source     string   `json:"-"`                  // "table1".."table5", "figure2": the file it came from
	Row        string   `json:"row,omitempty"`      // row label as printed
	Method     string   `json:"method"`             // method name (Paper.Methods)
	Task       string   `json:"task"`               // task catalogue name
	Sparsity   float64  `json:"sparsity,omitempty"` // target sparsity of a CoFi model (0: not a pruned model or not stated)
	Setting    string   `json:"setting,omitempty"`  // table 3: "no-aug" or "aug"
	Metric     string   `json:"metric"`             // metric key of Score, "<evalset>/<metric>"
	Score      *float64 `json:"score,omitempty"`    // nil when the paper reports none ("-")
	Speedup    *float64 `json:"speedup,omitempty"`  // × over BERT-base on the paper's hardware
	ParamsM    *float64 `json:"params_m,omitempty"` // millions of non-embedding parameters
	Unlabeled  *bool    `json:"unlabeled_data,omitempty"`
	TaskData   *bool    `json:"task_data,omitempty"`
	Note       string   `json:"note,omitempty"`
	Provenance string   `json:"provenance"`
	ScoreTol   float64  `json:"score_tol,omitempty"` // ± uncertainty of a value read off a figure (score points)
	XTolRel    float64  `json:"x_tol_rel,omitempty"` // relative uncertainty of x (speedup or size) read off a figure
}

// TrainTime is Table 2's training-time column, as printed ("≤ 20").
type TrainTime struct {
	Row        string   `json:"row"`
	Method     string   `json:"method"`
	Metric     string   `json:"metric"` // "train time (GPU hours)"
	Text       string   `json:"text"`
	Hours      *float64 `json:"hours,omitempty"` // the bound or approximate value in GPU hours, nil for "-"
	Provenance string   `json:"provenance"`
}

// LayerRun is one row of the remaining-layers table: which MHA and FFN
// sublayers (1-based) survived pruning in one run.
type LayerRun struct {
	Task       string  `json:"task"`
	Run        int     `json:"run"`
	Method     string  `json:"method"`
	Sparsity   float64 `json:"sparsity"`
	Metric     string  `json:"metric"`
	MHA        []int   `json:"mha"`
	FFN        []int   `json:"ffn"`
	Provenance string  `json:"provenance"`
}

// Profile is one sparsity of Figure 3: mean heads and intermediate units kept
// per layer (index 0 = layer 1), averaged over Tasks.
type Profile struct {
	Method       string    `json:"method"`
	Sparsity     float64   `json:"sparsity"`
	Tasks        []string  `json:"tasks"`
	Metric       string    `json:"metric"`
	Heads        []float64 `json:"heads"`
	Intermediate []float64 `json:"intermediate"`
	Provenance   string    `json:"provenance"`
}

// Checkpoint is a model the authors released on the Hugging Face hub.
type Checkpoint struct {
	Model          string  `json:"model"` // "CoFi-MNLI-s60"
	Hub            string  `json:"hub"`   // "princeton-nlp/CoFi-MNLI-s60"
	Task           string  `json:"task"`
	Method         string  `json:"method"`
	TargetSparsity float64 `json:"target_sparsity"` // from the name (s60 = 0.60)
	Sparsity       float64 `json:"sparsity"`        // measured
	Speedup        float64 `json:"speedup"`
	Metric         string  `json:"metric"`
	Score          float64 `json:"score"`
	Provenance     string  `json:"provenance"`
}

// Data is the whole set of published numbers.
type Data struct {
	Paper       Paper
	points      map[string][]Point // by source, in file order
	titles      map[string]string
	TrainTime   []TrainTime
	Layers      []LayerRun
	LayerCount  int
	Structure   []Profile
	Checkpoints []Checkpoint
}

// Point sources.
const (
	Table1  = "table1"
	Table2  = "table2"
	Table3  = "table3"
	Table4  = "table4"
	Table5  = "table5"
	Figure2 = "figure2"
)

var (
	once    sync.Once
	dflt    *Data
	dfltErr error
)

// Default returns the embedded data, parsed once. The data ships with the
// binary and a test validates it, so an error here is a build defect: it
// panics rather than letting every caller handle an impossible error.
func Default() *Data {
	once.Do(func() { dflt, dfltErr = Load(embedded) })
	if dfltErr != nil {
		panic(dfltErr)
	}
	return dflt
}

type pointFile struct {
	Source    string      `json:"source"`
	Title     string      `json:"title"`
	Note      string      `json:"note"`
	Entries   []Point     `json:"entries"`
	TrainTime []TrainTime `json:"train_time"`
}

type layersFile struct {
	Source  string     `json:"source"`
	Title   string     `json:"title"`
	Layers  int        `json:"layers"`
	Entries []LayerRun `json:"entries"`
}

type profileFile struct {
	Source  string    `json:"source"`
	Title   string    `json:"title"`
	Entries []Profile `json:"entries"`
}

type checkpointFile struct {
	Source  string       `json:"source"`
	Title   string       `json:"title"`
	Note    string       `json:"note"`
	Entries []Checkpoint `json:"entries"`
}

// Load parses and validates the data files in fsys (the embedded set, or
// another directory for tests). Every problem is reported, each naming its
// file and, for syntax and type errors, line and column.
func Load(fsys fs.FS) (*Data, error) {
	d := &Data{points: map[string][]Point{}, titles: map[string]string{}}
	var errs []error
	if err := decodeFile(fsys, "paper.json", &d.Paper); err != nil {
		errs = append(errs, err)
	}
	for _, src := range []string{Table1, Table2, Table3, Table4, Table5, Figure2} {
		var f pointFile
		name := src + ".json"
		if err := decodeFile(fsys, name, &f); err != nil {
			errs = append(errs, err)
			continue
		}
		if f.Source != src {
			errs = append(errs, fmt.Errorf("%s: source %q, want %q", name, f.Source, src))
		}
		for i := range f.Entries {
			f.Entries[i].Source = src
		}
		d.points[src] = f.Entries
		d.titles[src] = f.Title
		if src == Table2 {
			d.TrainTime = f.TrainTime
		} else if len(f.TrainTime) > 0 {
			errs = append(errs, fmt.Errorf("%s: train_time belongs to table2 only", name))
		}
	}
	var lf layersFile
	if err := decodeFile(fsys, "layers.json", &lf); err != nil {
		errs = append(errs, err)
	}
	d.Layers, d.LayerCount, d.titles["layers"] = lf.Entries, lf.Layers, lf.Title
	var pf profileFile
	if err := decodeFile(fsys, "figure3.json", &pf); err != nil {
		errs = append(errs, err)
	}
	d.Structure, d.titles["figure3"] = pf.Entries, pf.Title
	var cf checkpointFile
	if err := decodeFile(fsys, "checkpoints.json", &cf); err != nil {
		errs = append(errs, err)
	}
	d.Checkpoints, d.titles["checkpoints"] = cf.Entries, cf.Title
	if len(errs) == 0 {
		errs = d.validate()
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("published numbers: %w", errors.Join(errs...))
	}
	return d, nil
}

// decodeFile decodes one JSON file strictly: unknown keys and trailing data
// are errors, and positions are reported as file:line:column.
func decodeFile(fsys fs.FS, name string, v any) error {
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		return fmt.Errorf("read %s: %w", name, err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			l, c := position(b, se.Offset-1) // Offset is just past the offending byte
			return fmt.Errorf("%s:%d:%d: %v", name, l, c, se)
		case errors.As(err, &te):
			l, c := position(b, te.Offset)
			return fmt.Errorf("%s:%d:%d: key %q: want %v, got JSON %s", name, l, c, te.Field, te.Type, te.Value)
		default:
			// Unknown-field errors carry no offset; name the key.
			return fmt.Errorf("%s: %v", name, err)
		}
	}
	if _, err := dec.Token(); err != io.EOF {
		l, c := position(b, dec.InputOffset())
		return fmt.Errorf("%s:%d:%d: unexpected data after the top-level object", name, l, c)
	}
	return nil
}

func position(b []byte, off int64) (line, col int) {
	if off > int64(len(b)) {
		off = int64(len(b))
	}
	pre := b[:off]
	line = bytes.Count(pre, []byte{'\n'}) + 1
	col = int(off) - bytes.LastIndexByte(pre, '\n')
	return line, col
}

func (d *Data) validate() []error {
	var errs []error
	bad := func(where, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", where, fmt.Sprintf(format, a...)))
	}
	methods := map[string]bool{}
	for i, m := range d.Paper.Methods {
		if m.Name == "" || m.Display == "" || methods[m.Name] {
			bad(fmt.Sprintf("paper.json methods[%d]", i), "empty or duplicate method %q", m.Name)
		}
		methods[m.Name] = true
	}
	if d.Paper.SpeedupHardware == "" {
		bad("paper.json", "speedup_hardware is empty")
	}
	checkTaskName := func(where, name string) (task.Task, bool) {
		t, err := task.Lookup(name)
		if err != nil {
			bad(where, "%v", err)
			return t, false
		}
		if t.Name != name {
			bad(where, "task %q is not the canonical name %q", name, t.Name)
		}
		return t, true
	}
	checkTask := func(where, name, metric string) {
		t, ok := checkTaskName(where, name)
		if !ok {
			return
		}
		for _, k := range t.MetricKeys() {
			if k == metric {
				return
			}
		}
		bad(where, "metric %q is not one of task %s's metric keys %v", metric, name, t.MetricKeys())
	}
	for _, src := range []string{Table1, Table2, Table3, Table4, Table5, Figure2} {
		seen := map[string]int{}
		for i, p := range d.points[src] {
			where := fmt.Sprintf("%s.json entries[%d]", src, i)
			if strings.TrimSpace(p.Provenance) == "" {
				bad(where, "no provenance")
			}
			if !methods[p.Method] {
				bad(where, "unknown method %q (add it to paper.json methods)", p.Method)
			}
			checkTask(where, p.Task, p.Metric)
			if p.Sparsity < 0 || p.Sparsity >= 1 {
				bad(where, "sparsity %v outside [0, 1)", p.Sparsity)
			}
			if p.Score == nil && p.Note == "" {
				bad(where, "no score and no note saying why")
			}
			if p.Score != nil && (*p.Score < -100 || *p.Score > 100) {
				bad(where, "score %v outside [-100, 100]", *p.Score)
			}
			if p.Speedup != nil && *p.Speedup <= 0 {
				bad(where, "speedup %v is not positive", *p.Speedup)
			}
			if p.ParamsM != nil && (*p.ParamsM <= 0 || *p.ParamsM > 86) {
				bad(where, "params_m %v outside (0, 86]", *p.ParamsM)
			}
			if p.Setting != "" && p.Setting != "aug" && p.Setting != "no-aug" {
				bad(where, "setting %q, want aug or no-aug", p.Setting)
			}
			// Figure points may share a method and task, and so may Table
			// 1's two CoFi rows; other table cells may not.
			key := fmt.Sprintf("%s|%s|%s|%g|%s", p.Row, p.Method, p.Task, p.Sparsity, p.Setting)
			if src == Figure2 || src == Table1 {
				key += fmt.Sprintf("|%v|%v", deref(p.Speedup), deref(p.ParamsM))
			}
			if j, dup := seen[key]; dup {
				bad(where, "duplicates entries[%d]", j)
			}
			seen[key] = i
		}
	}
	for i, t := range d.TrainTime {
		where := fmt.Sprintf("table2.json train_time[%d]", i)
		if !methods[t.Method] || t.Text == "" || t.Provenance == "" || t.Metric == "" {
			bad(where, "needs a known method, metric, text and provenance")
		}
	}
	if d.LayerCount <= 0 {
		bad("layers.json", "layers must be positive")
	}
	for i, r := range d.Layers {
		where := fmt.Sprintf("layers.json entries[%d]", i)
		checkTaskName(where, r.Task)
		if r.Provenance == "" || r.Metric == "" || !methods[r.Method] || r.Run < 1 {
			bad(where, "needs provenance, metric, a known method and run >= 1")
		}
		for _, ls := range [][]int{r.MHA, r.FFN} {
			for j, l := range ls {
				if l < 1 || l > d.LayerCount || (j > 0 && l <= ls[j-1]) {
					bad(where, "layer list %v must be increasing numbers in 1..%d", ls, d.LayerCount)
					break
				}
			}
		}
	}
	for i, p := range d.Structure {
		where := fmt.Sprintf("figure3.json entries[%d]", i)
		if len(p.Heads) != d.LayerCount || len(p.Intermediate) != d.LayerCount {
			bad(where, "want %d heads and intermediate values, got %d and %d", d.LayerCount, len(p.Heads), len(p.Intermediate))
		}
		if p.Provenance == "" || p.Metric == "" || !methods[p.Method] || p.Sparsity <= 0 || p.Sparsity >= 1 {
			bad(where, "needs provenance, metric, a known method and a sparsity in (0, 1)")
		}
		for _, t := range p.Tasks {
			checkTaskName(where, t)
		}
	}
	for i, c := range d.Checkpoints {
		where := fmt.Sprintf("checkpoints.json entries[%d]", i)
		checkTask(where, c.Task, c.Metric)
		if c.Provenance == "" || !methods[c.Method] || c.Hub != "princeton-nlp/"+c.Model {
			bad(where, "needs provenance, a known method and hub princeton-nlp/<model>")
		}
		if n := strings.LastIndex(c.Model, "-s"); n < 0 || c.Model[n+2:] != strconv.Itoa(int(math.Round(c.TargetSparsity*100))) {
			bad(where, "model name %q does not end in -s%d", c.Model, int(math.Round(c.TargetSparsity*100)))
		}
		if math.Abs(c.Sparsity-c.TargetSparsity) > 0.02 {
			bad(where, "measured sparsity %v far from target %v", c.Sparsity, c.TargetSparsity)
		}
	}
	return errs
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

// Title returns the caption-like title of a source ("table2", "figure3", "layers", "checkpoints").
func (d *Data) Title(source string) string { return d.titles[source] }

// Points returns every entry of a source in file order.
func (d *Data) Points(source string) []Point { return d.points[source] }

// sameSparsity compares sparsities as stored (two decimals or three for 0.924).
func sameSparsity(a, b float64) bool { return math.Abs(a-b) < 1e-6 }

// Find returns the entry of source for method and task; sparsity < 0 matches
// any sparsity, setting "" matches entries without a setting.
func (d *Data) Find(source, method, taskName string, sparsity float64, setting string) (Point, bool) {
	for _, p := range d.points[source] {
		if p.Method == method && p.Task == taskName && p.Setting == setting && (sparsity < 0 || sameSparsity(p.Sparsity, sparsity)) {
			return p, true
		}
	}
	return Point{}, false
}

// Table2 returns the Table 2 cell of a method (teacher, tinybert4-no-gd, tinybert4, cofi) on a task.
func (d *Data) Table2(method, taskName string) (Point, bool) {
	return d.Find(Table2, method, taskName, -1, "")
}

// Table2Methods lists Table 2's rows in the paper's order.
func (d *Data) Table2Methods() []string {
	return uniq(d.points[Table2], func(p Point) string { return p.Method })
}

// Table2Tasks lists Table 2's columns in the paper's order.
func (d *Data) Table2Tasks() []string {
	return uniq(d.points[Table2], func(p Point) string { return p.Task })
}

// Table2TrainTime returns the train-time cell of a Table 2 row.
func (d *Data) Table2TrainTime(method string) (TrainTime, bool) {
	for _, t := range d.TrainTime {
		if t.Method == method {
			return t, true
		}
	}
	return TrainTime{}, false
}

// Table2Sparsity is the sparsity of the CoFi model the paper reports for a
// task in Table 2 (0.95, SQuAD 0.924), and false for tasks not in it.
func (d *Data) Table2Sparsity(taskName string) (float64, bool) {
	p, ok := d.Table2("cofi", taskName)
	return p.Sparsity, ok && p.Sparsity > 0
}

// Teacher returns the published BERT-base score on a task (Table 2's first row).
func (d *Data) Teacher(taskName string) (float64, bool) {
	p, ok := d.Table2("teacher", taskName)
	if !ok || p.Score == nil {
		return 0, false
	}
	return *p.Score, true
}

// Cell is a (task, sparsity) column of a table.
type Cell struct {
	Task     string
	Sparsity float64
}

// Methods lists the methods (rows) of a point source in order of appearance.
func (d *Data) Methods(source string) []string {
	return uniq(d.points[source], func(p Point) string { return p.Method })
}

// Columns lists the (task, sparsity) columns of a point source in order of appearance.
func (d *Data) Columns(source string) []Cell {
	var out []Cell
	seen := map[Cell]bool{}
	for _, p := range d.points[source] {
		c := Cell{p.Task, p.Sparsity}
		if !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	return out
}

// Figure2Tasks lists the tasks of Figure 2's panels in the paper's order.
func (d *Data) Figure2Tasks() []string {
	return uniq(d.points[Figure2], func(p Point) string { return p.Task })
}

// Series is one method's points on one task of Figure 2.
type Series struct {
	Method string
	Points []Point
}

// Figure2 returns a task's Figure 2 points grouped by method (in order of
// first appearance), CoFi points sorted by sparsity, others by x. The
// teacher is a reference line, not a series, and is left out; see Teacher.
func (d *Data) Figure2(taskName string) []Series {
	var out []Series
	idx := map[string]int{}
	for _, p := range d.points[Figure2] {
		if p.Task != taskName || p.Method == "teacher" {
			continue
		}
		i, ok := idx[p.Method]
		if !ok {
			i = len(out)
			idx[p.Method] = i
			out = append(out, Series{Method: p.Method})
		}
		out[i].Points = append(out[i].Points, p)
	}
	for _, s := range out {
		sort.SliceStable(s.Points, func(a, b int) bool { return xOf(s.Points[a]) < xOf(s.Points[b]) })
	}
	return out
}

func xOf(p Point) float64 {
	if p.Sparsity > 0 {
		return p.Sparsity
	}
	if p.Speedup != nil {
		return *p.Speedup
	}
	if p.ParamsM != nil {
		return *p.ParamsM
	}
	return 0
}

// RemainingLayers returns the published remaining-layers rows of a task ("" for all).
func (d *Data) RemainingLayers(taskName string) []LayerRun {
	var out []LayerRun
	for _, r := range d.Layers {
		if taskName == "" || r.Task == taskName {
			out = append(out, r)
		}
	}
	return out
}

// StructureAt returns Figure 3's profile at a sparsity.
func (d *Data) StructureAt(sparsity float64) (Profile, bool) {
	for _, p := range d.Structure {
		if sameSparsity(p.Sparsity, sparsity) {
			return p, true
		}
	}
	return Profile{}, false
}

// Display returns the paper's label for a method, or the name itself.
func (d *Data) Display(method string) string {
	for _, m := range d.Paper.Methods {
		if m.Name == method {
			return m.Display
		}
	}
	return method
}

func uniq(ps []Point, key func(Point) string) []string {
	var out []string
	seen := map[string]bool{}
	for _, p := range ps {
		k := key(p)
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out
}

// Files lists the embedded data files (for tools that copy them next to a report).
func Files() []string {
	ents, _ := fs.ReadDir(embedded, ".")
	var out []string
	for _, e := range ents {
		if path.Ext(e.Name()) == ".json" {
			out = append(out, e.Name())
		}
	}
	return out
}
