package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/cofiharness/cofi/report/runs"
	"github.com/cofiharness/cofi/report/table"
	"github.com/cofiharness/cofi/results/reference"
)

// TestTable3Golden renders Table 3 in every format from the augment fixture
// (TinyBERT4, TinyBERT4 w/o GD and CoFi on SST-2 and RTE, on the task's
// data and on augmented data; see testdata/README.md).
func TestTable3Golden(t *testing.T) {
	tb, err := BuildTable("table3", load(t, "augment"), reference.Default(), Selection{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range table.Formats {
		t.Run(string(f), func(t *testing.T) {
			var b bytes.Buffer
			if err := table.Write(&b, tb, f); err != nil {
				t.Fatal(err)
			}
			golden(t, "table3."+string(f), b.Bytes())
		})
	}
}

// TestTable3Cells checks before → after, the gain, the paper's values and
// the gaps with their reasons.
func TestTable3Cells(t *testing.T) {
	set := load(t, "augment")
	tb := Table3(set, reference.Default(), Selection{})
	if got := len(tb.Columns); got != 4 || tb.Columns[0].Key != "sst2" || tb.Columns[3].Key != "mrpc" {
		t.Fatalf("columns %+v: want the paper's SST-2, QNLI, RTE, MRPC", tb.Columns)
	}
	for _, c := range []struct {
		row, task, value, note string
	}{
		{"TinyBERT4 — ours", "sst2", "89.9", ""},
		{"TinyBERT4 — paper", "sst2", "89.7", ""},
		{"TinyBERT4 — Δ", "sst2", "+0.2", ""},
		{"TinyBERT4 + DA — ours", "sst2", "91.6 ± 0.4 (n=2)", ""},
		{"TinyBERT4 + DA — paper", "sst2", "91.6", ""},
		{"TinyBERT4 gain from DA — ours", "sst2", "+1.7", ""},
		{"TinyBERT4 gain from DA — paper", "sst2", "+1.9", ""},
		{"TinyBERT4 gain from DA — paper", "rte", "-0.7", ""},
		{"TinyBERT4 + DA — ours", "rte", "—", "rte tinybert4 augmented seed 57: tinybert-pred stage failed (nan)"},
		{"TinyBERT4 gain from DA — ours", "rte", "", ""},
		{"CoFi — ours", "sst2", "90.2", ""},
		{"CoFi + DA — ours", "sst2", "92.1", ""},
		{"CoFi + DA — paper", "sst2", "92.4", ""},
		{"CoFi + DA — ours", "rte", "—", noRecords},
		{"CoFi — ours", "rte", "65.0", ""},
		{"CoFi + DA — paper", "mrpc", "84.6", ""},
		{"TinyBERT4 w/o GD + DA — ours", "sst2", "88.0", ""},
		{"TinyBERT4 w/o GD gain from DA — ours", "sst2", "+0.8", ""},
	} {
		cell := row(t, tb, c.row).Cells[col(t, tb, c.task)]
		if cell.Value() != c.value || !strings.Contains(cell.Note, c.note) {
			t.Errorf("%s %s: %q (note %q), want %q (note containing %q)", c.row, c.task, cell.Value(), cell.Note, c.value, c.note)
		}
	}
	for _, r := range tb.Rows {
		if strings.HasPrefix(r.Label, "TinyBERT4 w/o GD") && strings.Contains(r.Label, "paper") {
			t.Errorf("row %q: the paper has no TinyBERT4 w/o GD in Table 3", r.Label)
		}
	}
	// Augment stages are inputs, not runs; runs on augmented data are runs of their own.
	for _, r := range set.Runs {
		if r.Method == "" {
			t.Errorf("an augment record became a run: %v", r.Key)
		}
	}
	if n := len(set.SelectData("sst2", "tinybert4", -1, "augmented")); n != 2 {
		t.Errorf("%d augmented TinyBERT4 SST-2 runs, want 2", n)
	}
	if n := len(set.Select("sst2", "tinybert4", -1)); n != 1 {
		t.Errorf("%d original TinyBERT4 SST-2 runs, want 1", n)
	}
	// The table applies to experiments with augmented runs only.
	if tables, _ := Applicable(set); !strings.Contains(strings.Join(tables, ","), "table3") {
		t.Errorf("augment fixture: applicable tables %v", tables)
	}
	if tables, _ := Applicable(load(t, "grid")); strings.Contains(strings.Join(tables, ","), "table3") {
		t.Errorf("grid fixture: table3 applicable without augmented runs")
	}
	// Without records: the paper's values, our gaps.
	empty := Table3(runs.FromRecords("none", nil), reference.Default(), Selection{})
	if v := row(t, empty, "CoFi + DA — paper").Cells[col(t, empty, "rte")].Value(); v != "67.5" {
		t.Errorf("paper CoFi RTE + DA %q", v)
	}
}
