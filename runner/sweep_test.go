package runner

import (
	"testing"

	"github.com/cofiharness/cofi/record"
	"github.com/cofiharness/cofi/report/runs"
)

// TestSweepRunRecordsAndSelection runs a final-stage sweep end to end with
// fake stages: one prune stage and one speed stage serve three final stages,
// the final stages' records carry their setting, and the report's runs
// select the best setting and keep all three.
func TestSweepRunRecordsAndSelection(t *testing.T) {
	e := newEnv(t, `
experiment = "t"
fake = true
[fake_stage]
steps = 3
step_ms = 1
[sweeps.lr.params]
"final.lr" = [1e-5, 2e-5, 3e-5]
[[grid]]
tasks = ["rte"]
methods = ["teacher", "cofi"]
sparsities = [0.95]
seeds = [1]
sweep = "lr"
`)
	sum, p, err := e.run(Selection{}, nil)
	if err != nil || !sum.OK() {
		t.Fatalf("run: %v %+v", err, sum)
	}
	n := map[string]int{}
	best, bestLR := -1.0, 0.0
	for _, r := range e.records() {
		n[r.StageKind]++
		switch {
		case r.StageKind == record.KindFinal:
			if r.Sweep == nil || r.Sweep.Size != 3 || r.Sweep.Metric != "rte/acc" || r.Sweep.Setting["final.lr"] != r.Params["lr"] {
				t.Errorf("final record's sweep %+v (lr %v)", r.Sweep, r.Params["lr"])
			}
			if v := r.Result.Metrics["rte/acc"]; v > best {
				best, bestLR = v, r.Params["lr"].(float64)
			}
		case r.Sweep != nil:
			t.Errorf("%s record carries a sweep: %+v", r.StageKind, r.Sweep)
		}
	}
	if n["prune"] != 1 || n["final"] != 3 || n["speed"] != 1 || n["teacher"] != 1 {
		t.Fatalf("records per kind %v", n)
	}
	e.checkRecords(p)
	set, err := runs.Load(p.Dir)
	if err != nil {
		t.Fatal(err)
	}
	rs := set.Select("rte", "cofi", 0.95)
	if len(rs) != 1 || rs[0].Selection == nil {
		t.Fatalf("runs %+v", rs)
	}
	sel := rs[0].Selection
	if h := rs[0].Headline(); h.V != best || sel.Scored != 3 || len(sel.Candidates) != 3 || rs[0].Candidate.Setting["final.lr"] != bestLR {
		t.Errorf("selected %v (lr %v) of %d scored; want the best %v (lr %v) of 3", h.V, rs[0].Candidate.Setting, sel.Scored, best, bestLR)
	}
	if sp := rs[0].Speedup(); !sp.OK {
		t.Errorf("the selected run has no speed: %+v", sp)
	}
}
