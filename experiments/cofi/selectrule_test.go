package cofi

import "testing"

func TestSelectRule(t *testing.T) {
	authors := SelectRule{Target: 0.95, Epsilon: 0.01, GateOnce: true}
	harness := SelectRule{Target: 0.95, Epsilon: 0.01, TiesLater: true}
	type eval struct{ es, score float64 }
	// Expected sparsity reaches 0.94, then dips below it; scores tie at 70.
	evals := []eval{{0.90, 80}, {0.941, 70}, {0.935, 75}, {0.945, 70}, {0.95, 70}}
	kept := func(r SelectRule) []int {
		var out []int
		var reached, has bool
		var best float64
		for i, e := range evals {
			if r.Keep(&reached, true, has, best, e.es, e.es, e.score) {
				has, best = true, e.score
				out = append(out, i)
			}
		}
		return out
	}
	// The authors: from the first evaluation at 0.94 on, any better score
	// (the dip at 0.935 included); ties keep the earlier.
	if got := kept(authors); len(got) != 2 || got[0] != 1 || got[1] != 2 {
		t.Errorf("authors' rule kept %v, want [1 2]", got)
	}
	// The harness's other rule: only evaluations at the target, ties to the later.
	if got := kept(harness); len(got) != 3 || got[0] != 1 || got[1] != 3 || got[2] != 4 {
		t.Errorf("every/later kept %v, want [1 3 4]", got)
	}
	// Before pruning nothing qualifies, whatever the expected sparsity.
	var reached bool
	if authors.Keep(&reached, false, false, 0, 0.99, 0.99, 90) || reached {
		t.Error("a pre-pruning evaluation was kept")
	}
	// select_within: the compact model must be near the target too.
	w := SelectRule{Target: 0.95, Epsilon: 0.01, Within: 0.02}
	if w.Keep(&reached, true, false, 0, 0.95, 0.90, 70) || !w.Keep(&reached, true, false, 0, 0.95, 0.94, 70) {
		t.Error("select_within not applied")
	}
}
