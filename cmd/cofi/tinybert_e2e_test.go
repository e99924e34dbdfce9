//go:build torch

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cofiharness/cofi/experiments/synth"
	"github.com/cofiharness/cofi/record"
	"github.com/cofiharness/cofi/runner"
)

// A small Table 3 on a synthetic task through the real runner: one augment
// stage (the tiny random BERT's masked LM and a GloVe file written here)
// shared by TinyBERT4 (from the synthetic stand-in of a general checkpoint)
// and CoFi, each on the original and on the augmented data.
const table3Synth = `
experiment = "t3"
[paths]
results = "results"
synthetic = "data"
glove = "glove.txt"
[executor]
workers = 1
threads = 1
timeout = "20m"
[profiles.small.teacher]
epochs = 3.0
[profiles.small.augment]
copies = 2
[profiles.small.tinybert-layer]
max_steps = 12
[profiles.small.tinybert-pred]
max_steps = 12
[profiles.small.prune]
epochs = 2.0
prepruning_epochs = 0.5
sparsity_warmup_epochs = 1.0
[profiles.small.final]
max_steps = 8
[profiles.small.speed]
rounds = 2
batches = 1
batch = 8
threads = 1
[[grid]]
profile = "small"
tasks = ["syn-single"]
methods = ["tinybert4", "cofi"]
sparsities = [0.5]
[grid.axes]
data = ["original", "augmented"]
`

func TestTable3OnSyntheticTask(t *testing.T) {
	dir := t.TempDir()
	if err := synth.Write(filepath.Join(dir, "data"), "syn-single", 160, 40, 1); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "glove.txt"), []byte("dog 1 0\ncat 0.9 0.1\nhouse 0 1\ntree 0.1 0.9\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "t3.toml"), []byte(table3Synth), 0o644)
	js, code := cofiOut(t, dir, "plan", "t3.toml", "--json")
	var pj runner.PlanJSON
	if code != 0 || json.Unmarshal([]byte(js), &pj) != nil {
		t.Fatalf("plan: exit %d\n%s", code, js)
	}
	kinds := map[string]int{}
	for _, s := range pj.Stages {
		kinds[s.Kind]++
	}
	// teacher, one augment, TinyBERT 2x(layer, pred, speed), CoFi 2x(prune, final, speed).
	if kinds[record.KindAugment] != 1 || kinds[record.KindTinyBERTLayer] != 2 || kinds[record.KindPrune] != 2 || len(pj.Stages) != 14 {
		t.Fatalf("stages by kind %v (%d)", kinds, len(pj.Stages))
	}
	if out, code := cofiOut(t, dir, "run", "t3.toml"); code != 0 {
		t.Fatalf("run: exit %d\n%s", code, out)
	}
	// The augmented data: the task's format, more rows than the original.
	aug, _ := filepath.Glob(filepath.Join(dir, "results", "t3", "stages", "augment-*", "data", "SYN-SINGLE", "train.tsv"))
	if len(aug) != 1 {
		t.Fatalf("augmented train files %v", aug)
	}
	b, _ := os.ReadFile(aug[0])
	if n := strings.Count(string(b), "\n"); n <= 161 {
		t.Errorf("augmented file has %d lines for 160 examples", n)
	}
	out, code := cofiOut(t, dir, "report", "--experiment", filepath.Join("results", "t3"), "--tables", "table3", "--figures", "none", "--formats", "json")
	if code != 0 {
		t.Fatalf("report: exit %d\n%s", code, out)
	}
	var tb struct {
		Rows []struct {
			Label string `json:"label"`
			Cells []struct {
				Kind    string `json:"kind"`
				Printed string `json:"printed"`
			} `json:"cells"`
		} `json:"rows"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "results", "t3", "report", "table3.json"))
	if err != nil || json.Unmarshal(b, &tb) != nil {
		t.Fatalf("table3.json: %v\n%s", err, b)
	}
	got := map[string]string{}
	for _, r := range tb.Rows {
		if r.Cells[0].Kind == "number" {
			got[r.Label] = r.Cells[0].Printed
		}
	}
	for _, label := range []string{"TinyBERT4 — ours", "TinyBERT4 + DA — ours", "TinyBERT4 gain from DA — ours", "CoFi — ours", "CoFi + DA — ours", "CoFi gain from DA — ours"} {
		if _, ok := got[label]; !ok {
			t.Errorf("%s: no number (numbers: %v)", label, got)
		}
	}
}
