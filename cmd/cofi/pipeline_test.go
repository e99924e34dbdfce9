//go:build torch

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/cofiharness/cofi/experiments/synth"
	"github.com/cofiharness/cofi/record"
	"github.com/cofiharness/cofi/record/steplog"
)

// TestPipelineOnSyntheticTask runs the libtorch commands end to end, in
// process, on a built-in synthetic task with a tiny random BERT: init-model,
// finetune (the teacher), prune (prune, final, speed), eval of the compact
// model, and distill. It checks the records every stage writes, not scores:
// a few dozen steps are not enough to learn anything.
func TestPipelineOnSyntheticTask(t *testing.T) {
	runtime.LockOSThread()
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if err := synth.Write(data, "syn-pair", 96, 32, 1); err != nil {
		t.Fatal(err)
	}
	must := func(args ...string) {
		t.Helper()
		if code := run(args); code != 0 {
			t.Fatalf("cofi %s: exit %d", strings.Join(args, " "), code)
		}
	}
	model := filepath.Join(dir, "tiny")
	must("init-model", "--config", "tiny", "--out", model, "--layers", "2")
	teacher := filepath.Join(dir, "teacher")
	must("finetune", "--task", "syn-pair", "--data", data, "--model", model, "--out", teacher,
		"--threads", "1", "--epochs", "2", "--eval-every", "3", "--batch", "16")
	tr, err := record.ReadResult(teacher)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := tr.Metrics["syn-pair/acc"]; !ok || tr.Train.Steps != 12 || tr.Size.Sparsity != 0 {
		t.Fatalf("teacher result %+v / %+v", tr.Metrics, tr.Train)
	}
	out := filepath.Join(dir, "cofi")
	must("prune", "--task", "syn-pair", "--data", data, "--teacher", filepath.Join(teacher, "model"), "--student", model,
		"--out", out, "--sparsity", "0.5", "--threads", "1",
		"--set", "prune.epochs=4", "--set", "prune.prepruning_epochs=1", "--set", "prune.sparsity_warmup_epochs=2",
		"--set", "prune.batch=16", "--set", "prune.eval_every=6", "--set", "prune.reg_lr=0.2",
		"--set", "final.epochs=1", "--set", "final.batch=16",
		"--set", "speed.batch=8", "--set", "speed.rounds=2", "--set", "speed.batches=1")
	pr, err := record.ReadResult(filepath.Join(out, "prune"))
	if err != nil {
		t.Fatal(err)
	}
	if pr.Structure == nil || pr.Size == nil || pr.Size.TargetSparsity != 0.5 || len(pr.Structure.Heads) != 2 {
		t.Fatalf("prune result: size %+v structure %+v", pr.Size, pr.Structure)
	}
	fr, err := record.ReadResult(filepath.Join(out, "final"))
	if err != nil || len(fr.Metrics) == 0 || fr.Size.TargetSparsity != 0.5 {
		t.Fatalf("final result %v %+v", err, fr)
	}
	sr, err := record.ReadResult(filepath.Join(out, "speed"))
	if err != nil {
		t.Fatal(err)
	}
	if l := sr.Latency; l == nil || len(l.RoundsMS) != 1 || len(l.BaselineRoundsMS) != 1 || l.Speedup <= 0 || !strings.HasPrefix(l.Device, "cpu") {
		t.Fatalf("speed result %+v", sr.Latency)
	}
	// The compact model loads and evaluates from its directory alone.
	ev := filepath.Join(dir, "eval")
	must("eval", "--task", "syn-pair", "--data", data, "--model", filepath.Join(out, "final", "model"), "--out", ev, "--threads", "1")
	er, err := record.ReadResult(ev)
	if err != nil {
		t.Fatal(err)
	}
	if er.Size.Params != fr.Size.Params || er.Structure.Hidden != pr.Structure.Hidden {
		t.Fatalf("eval of the compact model: size %d vs %d, hidden %d vs %d", er.Size.Params, fr.Size.Params, er.Structure.Hidden, pr.Structure.Hidden)
	}
	// Without --out, standard output is the result's JSON alone; with
	// --save-predictions every dev example's prediction is written.
	preds := filepath.Join(dir, "preds.jsonl")
	code, stdout, _ := captured(t, "eval", "--task", "syn-pair", "--data", data, "--model", filepath.Join(out, "final", "model"), "--threads", "1", "--save-predictions", preds)
	var printed record.Result
	if err := json.Unmarshal([]byte(stdout), &printed); code != 0 || err != nil || printed.Kind != record.KindEval || !reflect.DeepEqual(printed.Metrics, er.Metrics) {
		t.Fatalf("eval stdout is not the result's JSON (exit %d, %v): %q", code, err, stdout)
	}
	b, err := os.ReadFile(preds)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	correct := 0
	for _, l := range lines {
		var p struct {
			EvalSet   string   `json:"eval_set"`
			ID        string   `json:"id"`
			Gold      string   `json:"gold"`
			Predicted string   `json:"predicted"`
			Score     *float64 `json:"score"`
		}
		if err := json.Unmarshal([]byte(l), &p); err != nil || p.EvalSet != "syn-pair" || p.ID == "" || p.Gold == "" || p.Score == nil || *p.Score < 0 || *p.Score > 1 {
			t.Fatalf("prediction line %q: %v", l, err)
		}
		if p.Gold == p.Predicted {
			correct++
		}
	}
	if len(lines) != 32 || 100*float64(correct)/32 != er.Metrics["syn-pair/acc"] {
		t.Errorf("%d predictions, %d correct; accuracy %v", len(lines), correct, er.Metrics["syn-pair/acc"])
	}
	// Every training stage wrote its training curve.
	for _, d := range []string{teacher, filepath.Join(out, "prune"), filepath.Join(out, "final")} {
		c, err := steplog.Read(filepath.Join(d, steplog.File))
		if err != nil || len(c.Steps) == 0 || len(c.Evals) == 0 {
			t.Errorf("%s: training curve %v, %+v", d, err, c)
		}
	}
	// Running the pipeline again does nothing: every stage is done.
	must("prune", "--task", "syn-pair", "--data", data, "--teacher", filepath.Join(teacher, "model"), "--student", model, "--out", out, "--threads", "1")
	// The TinyBERT-style baseline, shrunk to a 1-layer student.
	db := filepath.Join(dir, "distill")
	must("distill", "--task", "syn-pair", "--data", data, "--teacher", filepath.Join(teacher, "model"), "--out", db, "--threads", "1",
		"--epochs", "1", "--batch", "16", "--layers", "1", "--hidden", "32", "--heads", "2", "--intermediate", "64")
	if r, err := record.ReadResult(db); err != nil || r.Size.Sparsity <= 0.5 {
		t.Fatalf("distill result %v %+v", err, r)
	}
	if _, err := os.Stat(filepath.Join(db, "model", "model.safetensors")); err != nil {
		t.Fatal(err)
	}
}
