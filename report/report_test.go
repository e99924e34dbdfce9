package report

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cofiharness/cofi/report/runs"
	"github.com/cofiharness/cofi/report/table"
	"github.com/cofiharness/cofi/results/reference"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/golden")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (go test -update creates it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from golden (go test -update rewrites it):\n--- got\n%s", p, got)
	}
}

func load(t *testing.T, exps ...string) *runs.Set {
	t.Helper()
	if len(exps) == 1 && exps[0] == "evals" {
		evals, err := runs.LoadEvals(filepath.Join("testdata", "evals"))
		if err != nil {
			t.Fatal(err)
		}
		s := runs.FromRecords("none", nil)
		s.Evals = evals
		return s
	}
	var paths []string
	for _, e := range exps {
		paths = append(paths, filepath.Join("testdata", e))
	}
	s, err := runs.Load(paths...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestTablesGolden renders every table in every format from the fixture
// experiment it belongs to.
func TestTablesGolden(t *testing.T) {
	ref := reference.Default()
	for _, c := range []struct {
		table, exp string
	}{
		{"table2", "grid"}, {"table4", "ablation"}, {"table5", "ablation"},
		{"table6", "grid"}, {"structure", "grid"}, {"runs", "grid"}, {"table1", "sweep"}, {"released", "evals"}, {"history", "nightly"},
	} {
		set := load(t, c.exp)
		tb, err := BuildTable(c.table, set, ref, Selection{})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range table.Formats {
			t.Run(c.table+"."+string(f), func(t *testing.T) {
				var b bytes.Buffer
				if err := table.Write(&b, tb, f); err != nil {
					t.Fatal(err)
				}
				golden(t, c.table+"."+string(f), b.Bytes())
			})
		}
	}
}

// row finds a row by label.
func row(t *testing.T, tb *table.Table, label string) table.Row {
	t.Helper()
	for _, r := range tb.Rows {
		if r.Label == label {
			return r
		}
	}
	var labels []string
	for _, r := range tb.Rows {
		labels = append(labels, r.Label)
	}
	t.Fatalf("no row %q in %v", label, labels)
	return table.Row{}
}

func col(t *testing.T, tb *table.Table, key string) int {
	t.Helper()
	for i, c := range tb.Columns {
		if c.Key == key {
			return i
		}
	}
	t.Fatalf("no column %q", key)
	return -1
}

// TestTable2MissingShowsPaperAndGaps is the acceptance check: where
// we have no value, the paper's value is still shown and the gap is marked
// with its reason.
func TestTable2MissingShowsPaperAndGaps(t *testing.T) {
	ref := reference.Default()
	tb := Table2(load(t, "grid"), ref, Selection{})
	ours, paper, diff := row(t, tb, "CoFi — ours"), row(t, tb, "CoFi — paper"), row(t, tb, "CoFi — Δ")
	for _, c := range []struct {
		task        string
		kind        table.Kind
		printed     string
		note        string
		paper, diff string
	}{
		{"qqp", table.Missing, "—", "no records in this experiment", "90.1", ""},
		{"mrpc", table.Missing, "—", "no records in this experiment", "82.6", ""},
		{"cola", table.Missing, "—", "cola cofi 95% seed 57: final stage failed (nan)", "35.6", ""},
		{"rte", table.Number, "64.8 ± 1.3 (n=2)", "mean over 2 of 3 runs; rte cofi 95% seed 59: final stage failed (oom)", "64.7", "+0.1"},
		{"sst2", table.Number, "90.3 ± 0.4 (n=3)", "", "90.6", "-0.3"},
		{"qnli", table.Number, "84.4", "score from the prune stage", "86.1", "-1.7"},
		{"squad", table.Number, "82.2", "", "82.6", "-0.5"},
	} {
		j := col(t, tb, c.task)
		o := ours.Cells[j]
		if o.Kind != c.kind || o.Value() != c.printed || !strings.Contains(o.Note, c.note) {
			t.Errorf("%s ours: %v %q note %q; want %v %q note containing %q", c.task, o.Kind, o.Value(), o.Note, c.kind, c.printed, c.note)
		}
		// Footnotes are short: the failure's class, not its log (the runs table has that).
		if strings.Contains(o.Note, "loss became NaN") || strings.Contains(o.Note, "Tried to allocate") {
			t.Errorf("%s ours: log text in the footnote %q", c.task, o.Note)
		}
		if got := paper.Cells[j].Value(); got != c.paper {
			t.Errorf("%s paper: %q, want %q", c.task, got, c.paper)
		}
		if got := diff.Cells[j].Value(); got != c.diff {
			t.Errorf("%s Δ: %q, want %q", c.task, got, c.diff)
		}
	}
	// Speed failed for STS-B: the speedup is missing with its reason, the score is not.
	sp := row(t, tb, "speedup CoFi — ours").Cells[col(t, tb, "stsb")]
	if sp.Kind != table.Missing || !strings.Contains(sp.Note, "speed stage failed (timeout)") {
		t.Errorf("stsb speedup %+v", sp)
	}
	// TinyBERT4 has records on SST-2 only: our rows exist, gaps elsewhere.
	tiny := row(t, tb, "TinyBERT4 — ours")
	if v := tiny.Cells[col(t, tb, "sst2")].Value(); v != "89.5" {
		t.Errorf("tinybert4 sst2 %q", v)
	}
	if c := tiny.Cells[col(t, tb, "mnli")]; c.Kind != table.Missing {
		t.Errorf("tinybert4 mnli %+v", c)
	}
	// TinyBERT4 w/o GD is published only, and its SQuAD cell is "-" in the paper.
	if c := row(t, tb, "TinyBERT4 w/o GD — paper").Cells[col(t, tb, "squad")]; c.Kind != table.Missing || !strings.Contains(c.Note, "not reported") {
		t.Errorf("w/o GD squad %+v", c)
	}
	for _, r := range tb.Rows {
		if r.Label == "TinyBERT4 w/o GD — ours" {
			t.Error("a baseline nobody ran has no 'ours' row")
		}
	}
	if !strings.Contains(tb.Caption, "NVIDIA H100 80GB HBM3") || !strings.Contains(tb.Caption, "NVIDIA V100") {
		t.Errorf("caption lacks hardware: %s", tb.Caption)
	}
}

// TestTable2WithoutRecords: nothing run yet, every paper value is shown and
// every one of ours is a marked gap.
func TestTable2WithoutRecords(t *testing.T) {
	tb := Table2(runs.FromRecords("none", nil), reference.Default(), Selection{})
	var b bytes.Buffer
	if err := table.Write(&b, tb, table.Markdown); err != nil {
		t.Fatal(err)
	}
	golden(t, "table2-empty.md", b.Bytes())
	ours := row(t, tb, "CoFi — ours")
	for j, c := range ours.Cells[:9] {
		if c.Kind != table.Missing || c.Note != noRecords {
			t.Errorf("column %s: %+v", tb.Columns[j].Key, c)
		}
	}
	if v := row(t, tb, "CoFi — paper").Cells[col(t, tb, "mnli")].Value(); v != "80.6" {
		t.Errorf("paper MNLI %q", v)
	}
	if len(tb.Columns) != 10 {
		t.Errorf("%d columns, want 9 tasks + train time", len(tb.Columns))
	}
}

func TestTable2Columns(t *testing.T) {
	ref := reference.Default()
	// Only synthetic tasks run: only their columns, no paper rows filled.
	set := runs.FromRecords("demo", nil)
	if got := (Selection{}).columns(set, ref.Table2Tasks()); len(got) != 9 {
		t.Errorf("no runs: %v", got)
	}
	if got := (Selection{Tasks: []string{"rte", "mnli"}}).columns(set, ref.Table2Tasks()); strings.Join(got, ",") != "rte,mnli" {
		t.Errorf("explicit: %v", got)
	}
	if got := (Selection{}).columns(load(t, "grid"), ref.Table2Tasks()); len(got) != 9 {
		t.Errorf("grid: %v", got)
	}
}

func TestTable4PicksNearestSparsityWithNote(t *testing.T) {
	tb := Table4(load(t, "ablation"), reference.Default())
	ours := row(t, tb, "-layer — ours")
	if c := ours.Cells[col(t, tb, "qnli@95%/score")]; c.Kind != table.Missing || !strings.Contains(c.Note, "final stage failed (signal)") {
		t.Errorf("failed -layer QNLI cell %+v", c)
	}
	if v := row(t, tb, "CoFi — ours").Cells[col(t, tb, "mnli@95%/score")].Value(); v != "80.4" {
		t.Errorf("CoFi MNLI 95 %q", v)
	}
	if v := row(t, tb, "-hidden — paper").Cells[col(t, tb, "mnli@95%/speedup")].Value(); v != "13.7×" {
		t.Errorf("paper -hidden speedup %q", v)
	}
}

func TestApplicable(t *testing.T) {
	for _, c := range []struct {
		exp             string
		tables, figures string
	}{
		{"grid", "table1,table2,table6,structure,runs", "layers-grid"},
		{"ablation", "table1,table2,table4,table5,table6,structure,runs", "figure2,figure3,layers-grid"},
		{"sweep", "table1,table2,table6,structure,runs", "figure2,figure3,layers-grid"},
	} {
		tb, fg := Applicable(load(t, c.exp))
		if strings.Join(tb, ",") != c.tables || strings.Join(fg, ",") != c.figures {
			t.Errorf("%s: tables %v figures %v, want %s / %s", c.exp, tb, fg, c.tables, c.figures)
		}
	}
	if tb, fg := Applicable(runs.FromRecords("none", nil)); tb != nil || fg != nil {
		t.Errorf("no runs: %v %v", tb, fg)
	}
}

func TestBenchGolden(t *testing.T) {
	var b bytes.Buffer
	if err := WriteBench(&b, load(t, "sweep")); err != nil {
		t.Fatal(err)
	}
	golden(t, "sweep.bench", b.Bytes())
	// Every benchmark line is "name iterations (value unit)+".
	for _, l := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if !strings.HasPrefix(l, "Benchmark") {
			continue
		}
		f := strings.Fields(l)
		if len(f) < 4 || len(f)%2 != 0 || f[1] != "1" {
			t.Errorf("malformed benchmark line %q", l)
		}
	}
}

// TestGenerate renders a whole report and checks the file set and the index.
func TestGenerate(t *testing.T) {
	out := t.TempDir()
	set := load(t, "sweep")
	res, err := Generate(set, reference.Default(), Options{Out: out, Tables: []string{"table2"}, Figures: []string{"figure3"}, Formats: []string{"md", "csv", "svg", "bench"}})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range res.Files {
		names = append(names, filepath.Base(f))
	}
	if got := strings.Join(names, " "); got != "table2.md table2.csv figure3.svg figure3.caption.txt runs.bench report.md" {
		t.Errorf("files %s", got)
	}
	index, err := os.ReadFile(filepath.Join(out, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"### Table 2", "![figure3](figure3.svg)", "Structured Pruning Learns Compact and Accurate Models"} {
		if !bytes.Contains(index, []byte(want)) {
			t.Errorf("report.md lacks %q", want)
		}
	}
	// Same records, same bytes.
	out2 := t.TempDir()
	if _, err := Generate(set, reference.Default(), Options{Out: out2, Tables: []string{"table2"}, Figures: []string{"figure3"}, Formats: []string{"md", "csv", "svg", "bench"}}); err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		a, _ := os.ReadFile(filepath.Join(out, n))
		b, _ := os.ReadFile(filepath.Join(out2, n))
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs between two runs", n)
		}
	}
	if _, err := Generate(set, reference.Default(), Options{Out: out, Tables: []string{"table9"}}); err == nil || !strings.Contains(err.Error(), `unknown table "table9"`) {
		t.Errorf("err %v", err)
	}
	if _, err := Generate(set, reference.Default(), Options{Out: out, Formats: []string{"docx"}}); err == nil || !strings.Contains(err.Error(), `unknown format "docx"`) {
		t.Errorf("err %v", err)
	}
}

// TestReleasedTable: evals are matched to released checkpoints by the name of
// the directory evaluated, averaged, and compared with the published score.
func TestReleasedTable(t *testing.T) {
	tb := ReleasedTable(load(t, "evals"), reference.Default())
	mnli := row(t, tb, "CoFi-MNLI-s95")
	for key, want := range map[string]string{"paper_score": "80.6", "score": "80.5", "delta": "-0.1", "sparsity": "94.3%", "speedup": "5.2×", "paper_speedup": "12.1×"} {
		if got := mnli.Cells[col(t, tb, key)].Value(); got != want {
			t.Errorf("MNLI-s95 %s = %q, want %q", key, got, want)
		}
	}
	sst := row(t, tb, "CoFi-SST2-s60")
	if c := sst.Cells[col(t, tb, "speedup")]; c.Kind != table.Missing || !strings.Contains(c.Note, "--latency") {
		t.Errorf("SST2-s60 speedup without latency: %+v", c)
	}
	if c := row(t, tb, "CoFi-RTE-s96").Cells[col(t, tb, "score")]; c.Kind != table.Missing {
		t.Errorf("RTE-s96 not evaluated: %+v", c)
	}
	if len(tb.Notes) != 1 || !strings.Contains(tb.Notes[0], "my-bert") {
		t.Errorf("notes %v", tb.Notes)
	}
	if !strings.Contains(tb.Caption, "ours measured on cuda: NVIDIA A100") {
		t.Errorf("caption lacks the eval's device: %s", tb.Caption)
	}
}

// TestTable1OursAt60And95: our CoFi rows of Table 1 at 60 % and 95 % on MNLI.
func TestTable1OursAt60And95(t *testing.T) {
	tb := Table1(load(t, "sweep"), reference.Default())
	if got := row(t, tb, "CoFi 95% (ours)").Cells[col(t, tb, "mnli")].Value(); got != "80.7 ± 0.4 (n=2)" {
		t.Errorf("ours at 95%%: %q", got)
	}
	if got := row(t, tb, "CoFi 60% (ours)").Cells[col(t, tb, "mnli")].Value(); got == "—" || got == "" {
		t.Errorf("ours at 60%%: %q", got)
	}
	if got := row(t, tb, "CoFi 12.1× (paper)").Cells[col(t, tb, "params_m")].Value(); got != "4.4" {
		t.Errorf("paper CoFi params %q", got)
	}
	if got := row(t, tb, "DistilBERT6").Cells[col(t, tb, "unlabeled")].Value(); got != "yes" {
		t.Errorf("DistilBERT6 unlabeled %q", got)
	}
}

// TestCurves: one training-curve figure per run from its stage's
// metrics.jsonl (a failed stage's too), linked from report.md.
func TestCurves(t *testing.T) {
	out := t.TempDir()
	set := load(t, "curves")
	if _, fg := Applicable(set); !strings.Contains(strings.Join(fg, ","), "curves") {
		t.Errorf("curves not applicable: %v", fg)
	}
	res, err := Generate(set, reference.Default(), Options{Out: out, Tables: []string{}, Figures: []string{"curves"}, Formats: []string{"svg"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(res.Figures, ","); got != "curve-rte-teacher-s57,curve-rte-cofi-95-s57" {
		t.Errorf("figures %s", got)
	}
	index, _ := os.ReadFile(filepath.Join(out, "report.md"))
	if !strings.Contains(string(index), "- [curve-rte-cofi-95-s57](curve-rte-cofi-95-s57.svg): Training curve of rte cofi 95% seed 57 (prune stage)") {
		t.Errorf("report.md does not link the curve:\n%s", index)
	}
	svg, _ := os.ReadFile(filepath.Join(out, "curve-rte-cofi-95-s57.svg"))
	for _, want := range []string{"expected", "target", "λ1", "lagrangian", "dev rte/acc"} {
		if !strings.Contains(string(svg), want) {
			t.Errorf("curve lacks %q", want)
		}
	}
}

// TestHistoryTable: the nights in order, the baseline first, values outside
// the band marked, and the night a metric left its band named.
func TestHistoryTable(t *testing.T) {
	set := load(t, "nightly")
	tb := HistoryTable(set, Selection{Baseline: load(t, "nightly-baseline")})
	if len(tb.Rows) != 5 || tb.Rows[0].Label != "baseline" || tb.Rows[3].Label != "2025-04-03 ccccccc" {
		t.Fatalf("rows %+v", tb.Rows)
	}
	if c := tb.Rows[3].Cells[col(t, tb, "rte cofi 95% seed 57/rte/acc")]; c.Value() != "63.2" || !strings.Contains(c.Note, "outside the tolerance band 64.2–65.2") {
		t.Errorf("night 3 rte cofi %+v", c)
	}
	if len(tb.Notes) != 1 || !strings.Contains(tb.Notes[0], "left its band on 2025-04-03 ccccccc") || !strings.Contains(tb.Caption, "accepted baseline") {
		t.Errorf("notes %v caption %s", tb.Notes, tb.Caption)
	}
	if tb := HistoryTable(load(t, "sweep"), Selection{}); len(tb.Rows) != 0 {
		t.Error("one version of the code has no history")
	}
}
