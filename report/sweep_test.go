package report

import (
	"strings"
	"testing"
	"time"

	"github.com/cofiharness/cofi/record"
	"github.com/cofiharness/cofi/report/runs"
	"github.com/cofiharness/cofi/report/table"
	"github.com/cofiharness/cofi/results/reference"
)

// sweptCell is one RTE CoFi cell at 95 % whose final stage was swept over
// three learning rates, plus its teacher; heldout > 0 makes every stage hold
// out that fraction of train and select on it.
func sweptCell(dev []float64, heldoutScores []float64, heldout float64) []record.Record {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	p := record.Params{"target_sparsity": 0.95}
	metric, on := "rte/acc", "dev"
	if heldout > 0 {
		p["heldout"], metric, on = heldout, "heldout/acc", "heldout"
	}
	rec := func(kind string, n int, m map[string]float64) record.Record {
		return record.Record{Stage: kind + string(rune('a'+n)), StageKind: kind, Task: "rte", Method: "cofi", Sparsity: 0.95, Seed: 57,
			Status: record.StatusOK, Params: p, End: t0.Add(time.Duration(n) * time.Minute),
			Result: &record.Result{Kind: kind, Metrics: m, Latency: &record.Latency{Speedup: 12}}}
	}
	out := []record.Record{rec("teacher", 0, map[string]float64{"rte/acc": 70}), rec("prune", 1, map[string]float64{"rte/acc": 50}), rec("speed", 2, nil)}
	for i, v := range dev {
		r := rec("final", 3+i, map[string]float64{"rte/acc": v, "heldout/acc": heldoutScores[i]})
		r.Sweep = &record.Sweep{Group: "g", Name: "authors", Index: i, Size: len(dev), Setting: map[string]any{"final.lr": []float64{1e-5, 2e-5, 3e-5}[i]},
			Select: "best", Metric: metric, On: on}
		out = append(out, r)
	}
	return out
}

func TestTable2ReportsTheSelectedSetting(t *testing.T) {
	set := runs.FromRecords("mem", sweptCell([]float64{61, 65.5, 63}, []float64{0, 0, 0}, 0))
	tb := Table2(set, reference.Default(), Selection{Tasks: []string{"rte"}})
	var ours *table.Row
	for i := range tb.Rows {
		if strings.HasPrefix(tb.Rows[i].Label, "CoFi") && strings.HasSuffix(tb.Rows[i].Label, "ours") {
			ours = &tb.Rows[i]
		}
	}
	if ours == nil {
		t.Fatalf("no CoFi row in %v", tb.Rows)
	}
	c := ours.Cells[0]
	if c.Kind != table.Number || c.Mean != 65.5 || c.N != 1 {
		t.Errorf("RTE CoFi cell %+v, want the best setting's 65.5", c)
	}
	if !strings.Contains(c.Note, "final.lr=2e-05") || !strings.Contains(c.Note, "of 3 settings on dev") {
		t.Errorf("cell footnote %q does not say what was selected from how many", c.Note)
	}
	if !strings.Contains(tb.Caption, `sweep "authors": the best of 3 settings on dev, as the authors did`) {
		t.Errorf("caption does not describe the selection: %s", tb.Caption)
	}
	// The runs table lists all three settings, the selected one marked.
	rt := RunsTable(set)
	n, marked := 0, 0
	for _, r := range rt.Rows {
		if strings.Contains(r.Label, "cofi") {
			n++
			if strings.HasSuffix(r.Label, "selected") {
				marked++
			}
		}
	}
	if n != 3 || marked != 1 {
		t.Errorf("runs table: %d CoFi rows, %d marked selected", n, marked)
	}
}

func TestSelectionTableMeasuresOptimism(t *testing.T) {
	recs := sweptCell([]float64{61, 65.5, 63}, []float64{0, 0, 0}, 0)
	// Selected on held-out data: the third setting wins there (dev 62).
	recs = append(recs, sweptCell([]float64{60, 64, 62}, []float64{70, 71, 74}, 0.1)...)
	set := runs.FromRecords("mem", recs)
	if tabs, _ := Applicable(set); !strings.Contains(strings.Join(tabs, ","), "selection") {
		t.Errorf("selection table not applicable: %v", tabs)
	}
	tb := SelectionTable(set, reference.Default())
	if len(tb.Rows) != 1 {
		t.Fatalf("rows %v", tb.Rows)
	}
	c := tb.Rows[0].Cells
	if c[0].Mean != 65.5 || c[1].Mean != 62 || c[2].Mean != 3.5 || c[3].Mean != 74 {
		t.Errorf("dev-selected %v, held-out-selected %v, optimism %v, held-out score %v", c[0].Mean, c[1].Mean, c[2].Mean, c[3].Mean)
	}
	// Table 2 keeps to the authors' protocol.
	t2 := Table2(set, reference.Default(), Selection{Tasks: []string{"rte"}})
	for _, r := range t2.Rows {
		if r.Label == "CoFi — ours" && r.Cells[0].Mean != 65.5 {
			t.Errorf("Table 2 mixes in held-out selection: %+v", r.Cells[0])
		}
	}
}
