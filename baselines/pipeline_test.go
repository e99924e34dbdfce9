//go:build torch

package baselines

import (
	"context"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/cofiharness/cofi/experiments/bert"
	"github.com/cofiharness/cofi/experiments/checkpoint"
	"github.com/cofiharness/cofi/experiments/synth"
	"github.com/cofiharness/cofi/experiments/train"
	"github.com/cofiharness/cofi/hparams"
	"github.com/cofiharness/cofi/record"
	"github.com/cofiharness/cofi/task"
)

// TestTwoStepsBeatChance runs TinyBERT's step 1 then step 2 from random
// initialisation (w/o GD) on a synthetic task, against a tiny teacher
// fine-tuned first, with the synthetic tasks' default hyperparameters, and
// checks that the student learnt the task: dev accuracy well above chance.
func TestTwoStepsBeatChance(t *testing.T) {
	runtime.LockOSThread()
	dir := t.TempDir()
	tk := task.MustLookup("syn-single")
	if err := synth.Write(dir, tk.Name, 1000, 300, 3); err != nil {
		t.Fatal(err)
	}
	env := train.Env{Device: "cpu", Threads: 1}
	pre := filepath.Join(dir, "pretrained")
	if err := bert.WriteRandomEncoder(checkpoint.Tiny(), 1, pre); err != nil {
		t.Fatal(err)
	}
	params := func(kind string, over map[string]any) record.Params {
		p, err := hparams.Resolve(kind, tk, over)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	began := time.Now()
	tr, err := train.Finetune(context.Background(), train.FinetuneConfig{Task: tk, DataDir: dir, ModelDir: pre, OutDir: filepath.Join(dir, "teacher"),
		Params: params(record.KindTeacher, map[string]any{"epochs": 8.0}), Env: env})
	if err != nil {
		t.Fatal(err)
	}
	teacher := filepath.Join(dir, "teacher", "model")
	t.Logf("teacher %v in %v", tr.Metrics, time.Since(began))
	began = time.Now()
	lr, err := DistillLayers(context.Background(), LayerConfig{Task: tk, DataDir: dir, TeacherDir: teacher, OutDir: filepath.Join(dir, "layer"),
		Params: params(record.KindTinyBERTLayer, nil), Env: env})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("step 1: %d steps in %v", lr.Train.Steps, time.Since(began))
	began = time.Now()
	pr, err := DistillPred(context.Background(), PredConfig{Task: tk, DataDir: dir, TeacherDir: teacher, StartDir: filepath.Join(dir, "layer", "model"),
		OutDir: filepath.Join(dir, "pred"), Params: params(record.KindTinyBERTPred, nil), Env: env})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("step 2: %v in %d steps, %v", pr.Metrics, pr.Train.Steps, time.Since(began))
	if acc := pr.Metrics["syn-single/acc"]; acc < 70 {
		t.Errorf("student dev accuracy %.1f%%: not clearly above chance (50%%); teacher %v", acc, tr.Metrics)
	}
}
