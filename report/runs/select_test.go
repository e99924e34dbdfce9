package runs

import (
	"strings"
	"testing"
	"time"

	"github.com/cofiharness/cofi/record"
)

// sweepRecords is one RTE CoFi cell with a 3-setting final-stage sweep: one
// teacher, prune and speed stage, and a final stage per learning rate.
func sweepRecords(scores []float64, failed int, heldout float64) []record.Record {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	params := record.Params{"target_sparsity": 0.95}
	if heldout > 0 {
		params["heldout"] = heldout
	}
	ok := func(kind string, n int, metrics map[string]float64) record.Record {
		return record.Record{Stage: kind + string(rune('a'+n)), StageKind: kind, Task: "rte", Method: "cofi", Sparsity: 0.95, Seed: 57,
			Status: record.StatusOK, Params: params, End: t0.Add(time.Duration(n) * time.Minute),
			Result: &record.Result{Kind: kind, Metrics: metrics, Latency: &record.Latency{Speedup: 11}}}
	}
	recs := []record.Record{ok("teacher", 0, map[string]float64{"rte/acc": 70}), ok("prune", 1, map[string]float64{"rte/acc": 55}), ok("speed", 2, nil)}
	lrs := []float64{1e-5, 2e-5, 3e-5}
	for i, sc := range scores {
		r := ok("final", 3+i, map[string]float64{"rte/acc": sc, "heldout/acc": 100 - sc})
		metric := "rte/acc"
		if heldout > 0 {
			metric = "heldout/acc"
		}
		r.Sweep = &record.Sweep{Group: "g1", Name: "lr", Index: i, Size: len(scores), Setting: map[string]any{"final.lr": lrs[i]},
			Select: "best", Metric: metric, On: map[bool]string{true: "heldout", false: "dev"}[heldout > 0]}
		if i == failed {
			r.Status, r.Result = record.StatusFailed, nil
			r.Failure = &record.Failure{Class: record.FailNaN, Message: "loss is NaN"}
		}
		recs = append(recs, r)
	}
	return recs
}

func TestSweepSelectsTheBestSetting(t *testing.T) {
	set := FromRecords("mem", sweepRecords([]float64{60, 66, 63}, -1, 0))
	rs := set.Select("rte", "cofi", 0.95)
	if len(rs) != 1 {
		t.Fatalf("%d runs, want the one selected", len(rs))
	}
	r := rs[0]
	h := r.Headline()
	if !h.OK || h.V != 66 {
		t.Fatalf("headline %+v, want the best setting's 66", h)
	}
	for _, want := range []string{"final.lr=2e-05", "best rte/acc 66.00 of 3 settings on dev", `sweep "lr"`} {
		if !strings.Contains(h.Note, want) {
			t.Errorf("note %q lacks %q", h.Note, want)
		}
	}
	if sp := r.Speedup(); !sp.OK || sp.V != 11 {
		t.Errorf("the shared speed stage is not the selected run's: %+v", sp)
	}
	if r.Stages["prune"] == nil || r.Stages["teacher"] != nil {
		t.Errorf("stages %v", r.Stages)
	}
	every := set.Every()
	var labels []string
	selected := 0
	for _, c := range every {
		if c.Method != "cofi" {
			continue
		}
		labels = append(labels, c.Label())
		if c.Candidate != nil && c.Candidate.Selected {
			selected++
		}
	}
	if len(labels) != 3 || selected != 1 || !strings.HasSuffix(labels[1], "[final.lr=2e-05] selected") {
		t.Errorf("every run: %q", labels)
	}
	if len(set.Warnings) != 0 {
		t.Errorf("warnings %v", set.Warnings)
	}
}

func TestSweepTiesFailuresAndHeldout(t *testing.T) {
	// Ties go to the earlier setting.
	r := FromRecords("mem", sweepRecords([]float64{64, 64, 61}, -1, 0)).Select("rte", "cofi", 0.95)[0]
	if r.Candidate.Index != 0 {
		t.Errorf("tie chose setting %d, want 0", r.Candidate.Index)
	}
	// A failed setting is not a candidate with a score; the note says so.
	r = FromRecords("mem", sweepRecords([]float64{70, 64, 61}, 0, 0)).Select("rte", "cofi", 0.95)[0]
	if h := r.Headline(); h.V != 64 || !strings.Contains(h.Note, "of the 2 of 3 settings with results") {
		t.Errorf("with a failed setting: %+v", h)
	}
	// Selection on the held-out slice picks by heldout/acc (100 − dev here)
	// and reports dev; such runs are apart from the authors' protocol.
	set := FromRecords("mem", append(sweepRecords([]float64{60, 66, 63}, -1, 0.1), sweepRecords([]float64{60, 66, 63}, -1, 0)...))
	dev, held := set.Select("rte", "cofi", 0.95), set.SelectHeldout("rte", "cofi", 0.95)
	if len(dev) != 1 || len(held) != 1 {
		t.Fatalf("%d dev-selected, %d held-out-selected runs", len(dev), len(held))
	}
	if h := held[0].Headline(); h.V != 60 || !strings.Contains(h.Note, "held-out") {
		t.Errorf("held-out selection %+v, want dev 60 of the setting best on heldout/acc", h)
	}
	if h := dev[0].Headline(); h.V != 66 {
		t.Errorf("dev selection %+v", h)
	}
}

// TestSweepIgnoresUnsweptRecords: a final record of the same cell from
// before the sweep is nobody's candidate; a setting without its own final
// stage is not scored.
func TestSweepIgnoresUnsweptRecords(t *testing.T) {
	recs := sweepRecords([]float64{60, 66, 63}, -1, 0)
	old := recs[3]
	old.Sweep, old.Stage = nil, "old-final"
	old.Result = &record.Result{Kind: "final", Metrics: map[string]float64{"rte/acc": 99}}
	recs = append([]record.Record{old}, append(recs[:4], recs[5:]...)...) // setting 1 has no final yet
	set := FromRecords("mem", recs)
	r := set.Select("rte", "cofi", 0.95)[0]
	if h := r.Headline(); h.V != 63 || r.Selection.Scored != 2 {
		t.Errorf("headline %+v from %d scored settings; want 63 of 2 (the unswept 99 ignored)", h, r.Selection.Scored)
	}
	if len(set.Warnings) != 1 || !strings.Contains(set.Warnings[0], "outside the sweep") {
		t.Errorf("warnings %v", set.Warnings)
	}
}
