package plan

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/cofiharness/cofi/record"
	"github.com/cofiharness/cofi/runner/config"
)

const tinyGrid = `
experiment = "t"
fake = true
[paths]
tinybert = "/ckpt/general"
glove = "/vec/glove.txt"
[[grid]]
tasks = ["rte", "sst2"]
methods = ["teacher", "cofi", "tinybert4", "tinybert4-no-gd"]
sparsities = [0.95]
seeds = [1, 2]
[grid.axes]
data = ["original", "augmented"]
`

// stageOf returns the stage of kind in a cell's chain, or nil.
func stageOf(c *Cell, kind string) *Stage {
	for _, s := range c.Stages {
		if s.Kind == kind {
			return s
		}
	}
	return nil
}

func TestTinyBERTChainsAndSharedAugmentation(t *testing.T) {
	p := build(t, load(t, tinyGrid), Options{})
	want := map[string]string{
		"teacher":                   "teacher",
		"cofi original":             "teacher,prune,final,speed",
		"cofi augmented":            "teacher,augment,prune,final,speed",
		"tinybert4 original":        "teacher,tinybert-layer,tinybert-pred,speed",
		"tinybert4 augmented":       "teacher,augment,tinybert-layer,tinybert-pred,speed",
		"tinybert4-no-gd original":  "teacher,tinybert-layer,tinybert-pred,speed",
		"tinybert4-no-gd augmented": "teacher,augment,tinybert-layer,tinybert-pred,speed",
	}
	// The teacher ignores the data axis: its two cells per (task, seed) are one.
	if n := len(p.Cells); n != 2*2*(1+3*2) {
		t.Errorf("%d cells, want 28", n)
	}
	augs := map[string]*Stage{} // task -> the augment stage
	teachers := map[string]string{}
	for _, c := range p.Cells {
		key := c.Method
		if c.Method != "teacher" {
			key += " " + c.Params[config.DataAxis].(string)
		}
		if got := kinds(c); got != want[key] {
			t.Errorf("%s: chain %s, want %s", c.Label(), got, want[key])
		}
		tk := c.Task + " " + string(rune('0'+c.Seed))
		if id, ok := teachers[tk]; ok && id != c.Stages[0].ID {
			t.Errorf("%s: a second teacher for %s", c.Label(), tk)
		}
		teachers[tk] = c.Stages[0].ID
		a := stageOf(c, record.KindAugment)
		if a == nil {
			for _, s := range c.Stages {
				if s.Spec.Data != "" || strings.Contains(s.Spec.Inputs["data_root"], "augment-") {
					t.Errorf("%s: %s trains on augmented data", c.Label(), s.Kind)
				}
			}
			continue
		}
		if old, ok := augs[c.Task]; ok && old != a {
			t.Errorf("%s: a second augment stage for %s", c.Label(), c.Task)
		}
		augs[c.Task] = a
		if a.Spec.Method != "" || a.Identity.Method != "" || a.Spec.Inputs["glove"] != "/vec/glove.txt" {
			t.Errorf("augment spec %+v identity %+v", a.Spec, a.Identity)
		}
		// Every training stage after it reads the augmented copy; the teacher does not.
		for _, s := range c.Stages {
			switch s.Kind {
			case record.KindTeacher, record.KindAugment:
				if s.Spec.Data != "" {
					t.Errorf("%s: %s marked augmented", c.Label(), s.Kind)
				}
			default:
				if s.Spec.Data != config.DataAugmented {
					t.Errorf("%s: %s not marked augmented", c.Label(), s.Kind)
				}
				if s.Kind != record.KindSpeed && (s.Spec.Inputs["data_root"] != AugmentedRoot(a.Spec.Dir) || s.Spec.Inputs[record.KindAugment] != a.Spec.Dir) {
					t.Errorf("%s: %s inputs %v", c.Label(), s.Kind, s.Spec.Inputs)
				}
			}
		}
	}
	// One augment stage per task, used by every augmented cell of it (3 methods x 2 seeds).
	if len(augs) != 2 {
		t.Fatalf("augment stages %v", augs)
	}
	for tk, a := range augs {
		if len(a.Cells) != 6 {
			t.Errorf("%s: augment stage used by %d cells, want 6", tk, len(a.Cells))
		}
	}
	// Step 1 starts from the general checkpoint (tinybert4) or random (no GD);
	// the speed stage is timed against the teacher.
	for _, c := range p.Cells {
		layer := stageOf(c, record.KindTinyBERTLayer)
		if layer == nil {
			continue
		}
		wantStudent := "random"
		if c.Method == "tinybert4" {
			wantStudent = "/ckpt/general"
		}
		if layer.Spec.Inputs["student"] != wantStudent || layer.Identity.Model != map[bool]string{true: "absent", false: "random"}[c.Method == "tinybert4"] {
			t.Errorf("%s: step 1 starts from %q (identity %q)", c.Label(), layer.Spec.Inputs["student"], layer.Identity.Model)
		}
		pred := stageOf(c, record.KindTinyBERTPred)
		if pred.Spec.Inputs[record.KindTinyBERTLayer] != layer.Spec.Dir || pred.Spec.Inputs[record.KindTeacher] != c.Stages[0].Spec.Dir {
			t.Errorf("%s: step 2 inputs %v", c.Label(), pred.Spec.Inputs)
		}
		speed := stageOf(c, record.KindSpeed)
		if speed.Spec.Inputs[record.KindTinyBERTPred] != pred.Spec.Dir || speed.Spec.Inputs[record.KindTeacher] != c.Stages[0].Spec.Dir {
			t.Errorf("%s: speed inputs %v", c.Label(), speed.Spec.Inputs)
		}
	}
}

func TestAugmentIdentity(t *testing.T) {
	augID := func(src string) string {
		p := build(t, load(t, src), Options{})
		for _, s := range p.Stages {
			if s.Kind == record.KindAugment && s.Spec.Task == "rte" {
				return s.ID
			}
		}
		t.Fatal("no augment stage")
		return ""
	}
	base := augID(tinyGrid)
	// Seeds and methods do not key the augmented data; its own settings do.
	if got := augID(strings.Replace(tinyGrid, "seeds = [1, 2]", "seeds = [7]", 1)); got != base {
		t.Error("the grid's seeds changed the augment stage")
	}
	if got := augID(strings.Replace(tinyGrid, `"tinybert4", "tinybert4-no-gd"`, `"tinybert4-no-gd"`, 1)); got != base {
		t.Error("the methods changed the augment stage")
	}
	if got := augID(tinyGrid + "\"augment.replace_prob\" = [0.3]\n"); got == base {
		t.Error("replace_prob does not key the augment stage")
	}
	// Cells on the original data are the cells of a grid without the axis.
	noAxis := strings.Replace(tinyGrid, "[grid.axes]\ndata = [\"original\", \"augmented\"]\n", "", 1)
	orig := map[string]bool{}
	for _, s := range build(t, load(t, noAxis), Options{}).Stages {
		orig[s.ID] = true
	}
	for _, c := range build(t, load(t, tinyGrid), Options{}).Cells {
		for _, s := range c.Stages {
			if c.Params[config.DataAxis] == config.DataOriginal && !orig[s.ID] {
				t.Errorf("%s: its %s stage differs from the same cell's without the data axis", c.Label(), s.Kind)
			}
		}
	}
}

func TestTinyBERTMissingInputs(t *testing.T) {
	glue, model := writeFixtures(t)
	dir := t.TempDir()
	src := `
experiment = "real"
[paths]
glue = "` + glue + `"
model = "` + model + `"
tinybert = "` + filepath.Join(dir, "notiny") + `"
glove = "` + filepath.Join(dir, "glove.txt") + `"
[[grid]]
tasks = ["rte"]
methods = ["tinybert4", "tinybert4-no-gd"]
[grid.axes]
data = ["augmented"]
`
	p := build(t, load(t, src), Options{})
	var msgs []string
	for _, m := range p.Missing {
		msgs = append(msgs, m.String())
	}
	all := strings.Join(msgs, "\n")
	for _, frag := range []string{"GloVe vectors", filepath.Join(dir, "glove.txt"), "GLOVE_PATH or paths.glove",
		"general-distilled TinyBERT", filepath.Join(dir, "notiny", "config.json"), "TINYBERT_DIR or paths.tinybert"} {
		if !strings.Contains(all, frag) {
			t.Errorf("missing-input messages lack %q:\n%s", frag, all)
		}
	}
	for _, s := range p.Stages {
		wantMissing := s.Kind == record.KindAugment || s.Kind == record.KindTinyBERTLayer && s.Spec.Method == "tinybert4"
		if s.MissingInput != wantMissing {
			t.Errorf("%s %s: missing input %v, want %v", s.Spec.Method, s.Kind, s.MissingInput, wantMissing)
		}
	}
	// A span task has no TinyBERT path.
	if _, err := Build(load(t, strings.Replace(src, `tasks = ["rte"]`, `tasks = ["squad"]`, 1)), Options{}); err == nil || !strings.Contains(err.Error(), "span") {
		t.Errorf("tinybert4 on SQuAD: %v", err)
	}
}

// TestAugmentNeedsTSV: the Hub's parquet form of a task cannot be augmented
// (the augmentation rewrites train.tsv): the plan says so before any work.
func TestAugmentNeedsTSV(t *testing.T) {
	root := t.TempDir()
	for _, f := range []string{"train-00000-of-00001.parquet", "validation-00000-of-00001.parquet"} {
		write(t, filepath.Join(root, "glue", "rte", f), "x")
	}
	_, model := writeFixtures(t)
	glove := filepath.Join(root, "glove.txt")
	write(t, glove, "a 1\n")
	src := `
experiment = "pq"
[paths]
glue = "` + filepath.Join(root, "glue") + `"
model = "` + model + `"
glove = "` + glove + `"
[[grid]]
tasks = ["rte"]
methods = ["tinybert4-no-gd"]
[grid.axes]
data = ["original", "augmented"]
`
	p := build(t, load(t, src), Options{})
	if len(p.Missing) != 1 || !strings.Contains(p.Missing[0].String(), "GLUE TSV train file of RTE") {
		t.Fatalf("missing %v", p.Missing)
	}
	for _, s := range p.Stages {
		if s.MissingInput != (s.Kind == record.KindAugment) {
			t.Errorf("%s (%s): missing input %v", s.Kind, s.Spec.Data, s.MissingInput)
		}
	}
}
