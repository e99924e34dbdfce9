package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cofiharness/cofi/record"
	"github.com/cofiharness/cofi/runner"
)

// TestPlanBaselineConfigs: cofi plan lists the TinyBERT4 stages of
// table2.toml (with and without general distillation) and Table 3's
// augmentation, one augment stage per task shared by TinyBERT4 and CoFi;
// without data, models, the general TinyBERT and GloVe, cofi run stops
// before any work and says where it looked for each.
func TestPlanBaselineConfigs(t *testing.T) {
	dir := t.TempDir()
	plan := func(name string) runner.PlanJSON {
		abs, _ := filepath.Abs(filepath.Join("..", "..", "configs", name))
		js, code := cofiOut(t, dir, "plan", abs, "--json")
		var pj runner.PlanJSON
		if code != 0 || json.Unmarshal([]byte(js), &pj) != nil {
			t.Fatalf("cofi plan %s: exit %d\n%s", name, code, js)
		}
		return pj
	}
	t2 := plan("table2.toml")
	byMethod := map[string]map[string]int{}
	for _, s := range t2.Stages {
		if byMethod[s.Method] == nil {
			byMethod[s.Method] = map[string]int{}
		}
		byMethod[s.Method][s.Kind]++
	}
	for _, m := range []string{"tinybert4", "tinybert4-no-gd"} {
		k := byMethod[m]
		if k[record.KindTinyBERTLayer] != 8 || k[record.KindTinyBERTPred] != 8 || k[record.KindSpeed] != 8 {
			t.Errorf("table2 %s stages %v: want step 1, step 2 and speed on the 8 GLUE tasks", m, k)
		}
	}
	t3 := plan("table3.toml")
	augs := map[string]int{}
	for _, s := range t3.Stages {
		if s.Kind == record.KindAugment {
			augs[s.Task] = len(s.Cells)
		}
	}
	for _, tk := range []string{"sst2", "qnli", "rte", "mrpc"} {
		if augs[tk] != 10 {
			t.Errorf("table3 %s: augment stage used by %d cells, want 10 (TinyBERT4 and CoFi's 9 sweep candidates on augmented data); all %v", tk, augs[tk], augs)
		}
	}
	abs, _ := filepath.Abs(filepath.Join("..", "..", "configs", "table3.toml"))
	out, code := cofiOut(t, dir, "run", abs)
	for _, want := range []string{"missing inputs, nothing was run", "GLUE data for RTE", "set BERT_DIR", "general-distilled TinyBERT", "set TINYBERT_DIR",
		"GloVe vectors", "set GLOVE_PATH", "REPRODUCE.md"} {
		if code != 1 || !strings.Contains(out, want) {
			t.Errorf("cofi run table3.toml without data: exit %d, output lacks %q:\n%s", code, want, out)
		}
	}
}
