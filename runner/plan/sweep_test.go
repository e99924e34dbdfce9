package plan

import (
	"testing"

	"github.com/cofiharness/cofi/record"
	"github.com/cofiharness/cofi/runner/config"
)

func countKinds(p *Plan) map[string]int {
	n := map[string]int{}
	for _, s := range p.Stages {
		n[s.Kind]++
	}
	return n
}

func TestFinalSweepSharesOnePruneStage(t *testing.T) {
	src := `
experiment = "s"
fake = true
[sweeps.lr]
[sweeps.lr.params]
"final.lr" = [1e-5, 2e-5, 3e-5]
[[grid]]
tasks = ["rte"]
methods = ["teacher", "cofi"]
sparsities = [0.95]
sweep = "lr"
`
	p := build(t, load(t, src), Options{})
	got := countKinds(p)
	// One teacher, one prune stage and one speed stage (it times the prune
	// stage's model) for the cell; one final stage per learning rate.
	want := map[string]int{"teacher": 1, "prune": 1, "final": 3, "speed": 1}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%d %s stages, want %d (%v)", got[k], k, n, got)
		}
	}
	if len(p.Sweeps) != 1 || len(p.Sweeps[0].Cells) != 3 {
		t.Fatalf("sweeps %+v", p.Sweeps)
	}
	g := p.Sweeps[0]
	if g.Metric != "rte/acc" || g.Task != "rte" || g.Method != "cofi" {
		t.Errorf("group %+v", g)
	}
	if sh := kindsOf(g.Shared()); sh != "teacher,prune,speed" {
		t.Errorf("shared stages %s", sh)
	}
	var lrs []float64
	for i, c := range g.Cells {
		final := c.Stages[2]
		if final.Kind != record.KindFinal || final.Upstream[0] != g.Cells[0].Stages[1] {
			t.Errorf("setting %d: final %s does not build on the one prune stage", i, final.Name())
		}
		lrs = append(lrs, final.Spec.Params["lr"].(float64))
		sw := final.Spec.Sweep
		if sw == nil || sw.Index != i || sw.Size != 3 || sw.Group != g.ID || sw.Metric != "rte/acc" || sw.Setting["final.lr"] != lrs[i] {
			t.Errorf("setting %d: final's sweep record %+v", i, sw)
		}
		for _, s := range c.Stages {
			if s.Kind != record.KindFinal && s.Spec.Sweep != nil {
				t.Errorf("%s depends on no swept value but carries a sweep record", s.Name())
			}
		}
		if c.Sweep == nil || c.Sweep.Index != i {
			t.Errorf("cell %s: sweep %+v", c.Label(), c.Sweep)
		}
	}
	if lrs[0] != 1e-5 || lrs[1] != 2e-5 || lrs[2] != 3e-5 {
		t.Errorf("learning rates %v", lrs)
	}
	// The teacher cell is not swept: its chain has no final stage.
	for _, c := range p.Cells {
		if c.Method == "teacher" && c.Sweep != nil {
			t.Error("teacher cell swept by final-stage values")
		}
	}
	if len(p.Cells) != 1+3 {
		t.Errorf("%d cells, want 4", len(p.Cells))
	}
}

func kindsOf(ss []*Stage) string {
	out := ""
	for i, s := range ss {
		if i > 0 {
			out += ","
		}
		out += s.Kind
	}
	return out
}

func TestAuthorsSweep(t *testing.T) {
	src := `
experiment = "a"
fake = true
[[grid]]
tasks = ["rte", "mrpc"]
methods = ["cofi"]
sparsities = [0.95]
seeds = [57, 58]
sweep = "authors"
`
	p := build(t, load(t, src), Options{})
	got := countKinds(p)
	// 2 tasks × 2 seeds = 4 cells, each 1 prune and 9 finals.
	if got["prune"] != 4 || got["final"] != 36 || got["teacher"] != 4 || got["speed"] != 4 || len(p.Sweeps) != 4 {
		t.Fatalf("stages %v, %d sweeps", got, len(p.Sweeps))
	}
	pairs := map[[2]float64]int{}
	for _, c := range p.Sweeps[0].Cells {
		f := c.Stages[2].Spec.Params
		pairs[[2]float64{f["alpha_layer"].(float64), f["alpha_pred"].(float64)}]++
		if c.Stages[1].Spec.Params["alpha_pred"] != 0.1 || c.Stages[1].Spec.Params["alpha_layer"] != 0.9 {
			t.Errorf("the prune stage's weights changed: %v", c.Stages[1].Spec.Params)
		}
	}
	// Tied values: three (layer, pred) pairs, each with three learning rates.
	want := map[[2]float64]int{{0.9, 0.1}: 3, {0.7, 0.3}: 3, {0.5, 0.5}: 3}
	for k, n := range want {
		if pairs[k] != n {
			t.Errorf("pairs %v, want %v", pairs, want)
			break
		}
	}
	if len(pairs) != 3 {
		t.Errorf("pairs %v", pairs)
	}
}

func TestPruneSweepAndHeldout(t *testing.T) {
	src := `
experiment = "h"
fake = true
[sweeps.w]
on = "heldout"
heldout = 0.2
metric = "f1"
[sweeps.w.params]
"prune.alpha_pred, final.alpha_pred" = [[0.1, 0.1], [0.5, 0.5]]
[[grid]]
tasks = ["mrpc"]
methods = ["teacher", "cofi"]
sparsities = [0.95]
sweep = "w"
[[grid]]
name = "dev"
tasks = ["mrpc"]
methods = ["teacher", "cofi"]
sparsities = [0.95]
`
	p := build(t, load(t, src), Options{})
	got := countKinds(p)
	// Held out: its own teacher; two settings each with their own prune,
	// final and speed. Selected on dev: the usual chain beside it.
	if got["teacher"] != 2 || got["prune"] != 3 || got["final"] != 3 || got["speed"] != 3 {
		t.Fatalf("stages %v", got)
	}
	g := p.Sweeps[0]
	if g.Metric != "heldout/f1" || g.Heldout != 0.2 {
		t.Errorf("group metric %q heldout %v", g.Metric, g.Heldout)
	}
	for _, c := range p.Cells {
		for _, s := range c.Stages {
			h, has := s.Spec.Params["heldout"]
			if !has {
				continue
			}
			want := 0.0
			if c.Grids[0] == "grid1" {
				want = 0.2
			}
			if h != want {
				t.Errorf("%s in %s: heldout %v, want %v", s.Name(), c.Grids[0], h, want)
			}
		}
	}
	for _, c := range g.Cells {
		for _, s := range c.Stages[1:] {
			if s.Spec.Sweep == nil {
				t.Errorf("%s depends on the swept prune stage but has no sweep record", s.Name())
			}
		}
	}
}

func TestSweepConfigErrors(t *testing.T) {
	for name, src := range map[string]string{
		"unknown sweep": `experiment = "x"
[[grid]]
tasks = ["rte"]
methods = ["cofi"]
sparsities = [0.95]
sweep = "nope"`,
		"axis and sweep": `experiment = "x"
[[grid]]
tasks = ["rte"]
methods = ["cofi"]
sparsities = [0.95]
sweep = "authors"
[grid.axes]
"final.lr" = [1e-4]`,
		"tied arity": `experiment = "x"
[sweeps.s.params]
"final.alpha_layer, final.alpha_pred" = [[0.9], [0.7, 0.3]]
[[grid]]
tasks = ["rte"]
methods = ["cofi"]
sparsities = [0.95]`,
		"metric": `experiment = "x"
[sweeps.s]
metric = "mcc"
[sweeps.s.params]
"final.lr" = [1e-5]
[[grid]]
tasks = ["rte"]
methods = ["cofi"]
sparsities = [0.95]
sweep = "s"`,
		"rule": `experiment = "x"
[sweeps.s]
select = "worst"
[sweeps.s.params]
"final.lr" = [1e-5]
[[grid]]
tasks = ["rte"]
methods = ["cofi"]
sparsities = [0.95]`,
		"heldout span": `experiment = "x"
[sweeps.s]
on = "heldout"
[sweeps.s.params]
"final.lr" = [1e-5]
[[grid]]
tasks = ["squad"]
methods = ["cofi"]
sparsities = [0.95]
sweep = "s"`,
		"builtin": `experiment = "x"
[sweeps.authors.params]
"final.lr" = [1e-5]
[[grid]]
tasks = ["rte"]
methods = ["cofi"]
sparsities = [0.95]`,
		"unknown key": `experiment = "x"
[sweeps.s.params]
"final.learning_rate" = [1e-5]
[[grid]]
tasks = ["rte"]
methods = ["cofi"]
sparsities = [0.95]`,
	} {
		if _, err := config.Parse("x.toml", []byte(src), config.Options{Dir: t.TempDir(), Getenv: noEnv}); err == nil {
			t.Errorf("%s: accepted", name)
		} else if _, ok := err.(config.Problems); !ok {
			t.Errorf("%s: %v is not a list of problems", name, err)
		}
	}
}

// TestReproduceConfigsFollowTheProtocol: the paper's grids run the authors'
// final fine-tuning sweep, nine final stages on each prune stage, with
// SQuAD's high-sparsity cell at 92.4 % and Table 6's three seeds.
func TestReproduceConfigsFollowTheProtocol(t *testing.T) {
	for _, name := range []string{"table2", "table4", "table5", "table6", "figure2"} {
		c, err := config.Load("../../configs/"+name+".toml", config.Options{Dir: t.TempDir(), Getenv: noEnv})
		if err != nil {
			t.Fatal(err)
		}
		p := build(t, c, Options{})
		finals := map[*Stage]int{}
		seeds := map[string]map[int64]bool{}
		for _, s := range p.Stages {
			switch s.Kind {
			case record.KindFinal:
				finals[s.Upstream[0]]++
			case record.KindPrune:
				if s.Spec.Task == "squad" && s.Spec.Sparsity > 0.9 && s.Spec.Sparsity != 0.924 {
					t.Errorf("%s: SQuAD pruned to %v, the paper's model is at 92.4%%", name, s.Spec.Sparsity)
				}
				if s.Spec.Sparsity == 0.95 {
					if seeds[s.Spec.Task] == nil {
						seeds[s.Spec.Task] = map[int64]bool{}
					}
					seeds[s.Spec.Task][s.Spec.Seed] = true
				}
			}
		}
		for _, s := range p.Stages {
			if s.Kind == record.KindPrune && finals[s] != 9 {
				t.Errorf("%s: %s has %d final stages, want the authors' 9", name, s.Name(), finals[s])
			}
		}
		for _, g := range p.Sweeps {
			if g.Sweep.Name != config.AuthorsSweep || len(g.Cells) != 9 {
				t.Errorf("%s: sweep %s of %s with %d settings", name, g.Sweep.Name, g.Task, len(g.Cells))
			}
		}
		if name == "table6" {
			for _, tk := range []string{"sst2", "qnli", "mnli", "qqp"} {
				if len(seeds[tk]) != 3 {
					t.Errorf("table6: %s at 95%% with seeds %v, want three runs", tk, seeds[tk])
				}
			}
		}
	}
}
