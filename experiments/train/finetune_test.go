//go:build torch

package train

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/cofiharness/cofi/experiments/bert"
	"github.com/cofiharness/cofi/experiments/checkpoint"
	"github.com/cofiharness/cofi/experiments/synth"
	"github.com/cofiharness/cofi/hparams"
	"github.com/cofiharness/cofi/record"
	"github.com/cofiharness/cofi/task"
)

func tinyModel(t *testing.T, dir string) {
	t.Helper()
	c := checkpoint.Tiny()
	c.NumHiddenLayers = 1
	if err := bert.WriteRandomEncoder(c, 0, dir); err != nil {
		t.Fatal(err)
	}
}

// TestFinetuneResumesFromSnapshot stops a run (interrupt, then a step
// limit) and checks the next run continues from the snapshot: same step
// count, same iterator position, the best model kept.
func TestFinetuneResumesFromSnapshot(t *testing.T) {
	runtime.LockOSThread()
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if err := synth.Write(data, "syn-single", 64, 16, 3); err != nil {
		t.Fatal(err)
	}
	model := filepath.Join(dir, "model")
	tinyModel(t, model)
	tk := task.MustLookup("syn-single")
	out := filepath.Join(dir, "out")
	var log bytes.Buffer
	cfg := func(maxSteps int) FinetuneConfig {
		p, err := hparams.Resolve(record.KindTeacher, tk, map[string]any{"max_steps": maxSteps, "batch": 16, "eval_every": 2, "epochs": 10.0})
		if err != nil {
			t.Fatal(err)
		}
		return FinetuneConfig{Task: tk, DataDir: data, ModelDir: model, OutDir: out, Params: p, Env: Env{Device: "cpu", Threads: 1, Log: &log}}
	}
	// An interrupted run (context already cancelled) snapshots at step 0 and says so.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Finetune(ctx, cfg(6)); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: err = %v", err)
	}
	if !strings.Contains(log.String(), "interrupted at step 0") {
		t.Fatalf("log:\n%s", log.String())
	}
	res, err := Finetune(context.Background(), cfg(6))
	if err != nil {
		t.Fatal(err)
	}
	if res.Train.Steps != 6 || res.Train.BestStep == 0 {
		t.Fatalf("first run: %+v", res.Train)
	}
	log.Reset()
	res, err = Finetune(context.Background(), cfg(10))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "resuming from") || !strings.Contains(log.String(), "at step 6") {
		t.Fatalf("second run did not resume:\n%s", log.String())
	}
	if res.Train.Steps != 10 || strings.Count(log.String(), "eval step") != 2 {
		t.Fatalf("second run: %+v, log:\n%s", res.Train, log.String())
	}
	var st loopState
	if _, err := ReadSnapshot(filepath.Join(out, "checkpoint"), &st); err != nil || st.Step != 10 || st.Pos.Epoch != 2 || st.Pos.Step != 2 {
		t.Fatalf("snapshot %v %+v (4 batches per epoch: step 10 is epoch 2, batch 2)", err, st)
	}
}
