package report

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cofiharness/cofi/record"
	"github.com/cofiharness/cofi/report/runs"
	"github.com/cofiharness/cofi/results/reference"
)

// demoRecords is what the offline demo produces: a tiny 2-layer BERT on the
// synthetic tasks, a teacher and CoFi at three sparsities, timed on a CPU.
func demoRecords() []record.Record {
	var recs []record.Record
	end := time.Date(2025, 4, 1, 12, 0, 0, 0, time.UTC)
	add := func(kind, tk, m string, sp float64, res *record.Result) {
		end = end.Add(time.Minute)
		recs = append(recs, record.Record{Schema: 1, Experiment: "demo", Stage: kind + tk + m, StageKind: kind, Attempt: 1,
			Status: record.StatusOK, Task: tk, Method: m, Sparsity: sp, Seed: 1, Result: res, End: end})
	}
	for _, tk := range []string{"syn-single", "syn-pair"} {
		key := tk + "/acc"
		add("teacher", tk, "teacher", 0, &record.Result{Kind: "teacher", Metrics: map[string]float64{key: 98},
			Structure: &record.Structure{Layers: 2, Hidden: 64, HiddenFull: 64, HeadsFull: 4, InterFull: 256, Heads: []int{4, 4}, Intermediate: []int{256, 256}, MHA: []bool{true, true}, FFN: []bool{true, true}}})
		for i, sp := range []float64{0.5, 0.7, 0.95} {
			st := &record.Structure{Layers: 2, Hidden: 64, HiddenFull: 64, HeadsFull: 4, InterFull: 256,
				Heads: []int{4 - i, 3 - i}, Intermediate: []int{200 - 60*i, 150 - 50*i}, MHA: []bool{true, i < 2}, FFN: []bool{true, true}}
			size := &record.Size{Params: int64(100000 * (1 - sp)), FullParams: 100000, Sparsity: sp}
			add("prune", tk, "cofi", sp, &record.Result{Kind: "prune", Metrics: map[string]float64{key: 95 - 5*float64(i)}, Size: size, Structure: st})
			add("final", tk, "cofi", sp, &record.Result{Kind: "final", Metrics: map[string]float64{key: 96 - 5*float64(i)}, Size: size})
			add("speed", tk, "cofi", sp, &record.Result{Kind: "speed", Latency: &record.Latency{Device: "cpu: test (2 threads)",
				RoundsMS: []float64{10 - 3*float64(i)}, BaselineRoundsMS: []float64{20}, MeanMS: 10 - 3*float64(i), BaselineMeanMS: 20, Speedup: 20 / (10 - 3*float64(i))}})
		}
	}
	return recs
}

// TestSyntheticDemo: a demo experiment renders every applicable table and
// figure, with its own tasks as columns and panels and no paper columns.
func TestSyntheticDemo(t *testing.T) {
	set := runs.FromRecords("demo", demoRecords())
	ref := reference.Default()
	tb := Table2(set, ref, Selection{})
	var keys []string
	for _, c := range tb.Columns {
		keys = append(keys, c.Key)
	}
	if got := strings.Join(keys, ","); got != "syn-single,syn-pair,train_h" {
		t.Errorf("columns %s", got)
	}
	if v := row(t, tb, "CoFi — ours").Cells[0].Value(); v != "86.0" {
		t.Errorf("CoFi at 95%%: %q", v)
	}
	tables, figures := Applicable(set)
	if strings.Join(tables, ",") != "table2,table6,structure,runs" || strings.Join(figures, ",") != "figure2,figure3,layers-grid" {
		t.Errorf("applicable %v %v", tables, figures)
	}
	out := t.TempDir()
	res, err := Generate(set, ref, Options{Out: out, Formats: []string{"md", "svg"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(res.Figures, ","); got != "figure2,figure2-syn-single,figure2-syn-pair,figure3,layers" {
		t.Errorf("figures %s", got)
	}
	cap, err := os.ReadFile(filepath.Join(out, "figure3.caption.txt"))
	if err != nil || !strings.Contains(string(cap), "not drawn next to these tasks") {
		t.Errorf("figure 3 caption %q %v", cap, err)
	}
}

func TestSyntheticTable2HasNoPaperRows(t *testing.T) {
	tb := Table2(runs.FromRecords("demo", demoRecords()), reference.Default(), Selection{})
	var labels []string
	for _, r := range tb.Rows {
		labels = append(labels, r.Label)
	}
	// The tiny teacher is named after its shape, not "BERT-base".
	if got := strings.Join(labels, "|"); got != "2-layer BERT (hidden 64) (teacher) — ours|CoFi — ours|speedup CoFi — ours" {
		t.Errorf("rows %s", got)
	}
}

// TestSpeedupSourceInCaption: FLOP-ratio speed records (speed.speedup =
// flops) are said to be FLOP ratios, timed ones name their device.
func TestSpeedupSourceInCaption(t *testing.T) {
	ref := reference.Default()
	recs := demoRecords()
	if got := devicesNote(runs.FromRecords("demo", recs), ref); !strings.Contains(got, "ours measured on cpu: test (2 threads);") {
		t.Errorf("timed: %s", got)
	}
	for i := range recs {
		if l := recs[i].Result.Latency; l != nil {
			recs[i].Result.Latency = &record.Latency{Device: "FLOP ratio", SeqLen: 128, Speedup: l.Speedup, Method: record.LatencyFLOPs}
		}
	}
	if got := devicesNote(runs.FromRecords("demo", recs), ref); !strings.Contains(got, "ours are FLOP ratios to the unpruned model, not timed") {
		t.Errorf("FLOP ratios: %s", got)
	}
}
