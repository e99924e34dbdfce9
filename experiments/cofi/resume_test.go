//go:build torch

package cofi

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
	"github.com/cofiharness/cofi/experiments/train"
	"github.com/cofiharness/cofi/hparams"
	"github.com/cofiharness/cofi/method"
	"github.com/cofiharness/cofi/record"
	"github.com/cofiharness/cofi/task"
)

// TestPruneResumes interrupts the pruning stage, then stops it at a step
// limit inside the pruning phase, and checks that each next run continues
// from the snapshot — phase, step, masks, multipliers — rather than
// starting over.
func TestPruneResumes(t *testing.T) {
	runtime.LockOSThread()
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if err := synth.Write(data, "syn-single", 64, 32, 2); err != nil {
		t.Fatal(err)
	}
	model := filepath.Join(dir, "tiny")
	c := checkpoint.Tiny()
	c.NumHiddenLayers = 1
	if err := bert.WriteRandomEncoder(c, 0, model); err != nil {
		t.Fatal(err)
	}
	tk := task.MustLookup("syn-single")
	sw, _ := method.Lookup("cofi")
	out := filepath.Join(dir, "prune")
	var log bytes.Buffer
	cfg := func(maxSteps int) PruneConfig {
		// 4 steps per epoch: distillation only for 4 steps, then pruning.
		p, err := hparams.Resolve(record.KindPrune, tk, map[string]any{"max_steps": maxSteps, "batch": 16, "eval_every": 3,
			"epochs": 10.0, "prepruning_epochs": 1.0, "sparsity_warmup_epochs": 2.0, "target_sparsity": 0.5})
		if err != nil {
			t.Fatal(err)
		}
		return PruneConfig{Task: tk, DataDir: data, TeacherDir: model, StudentDir: model, OutDir: out, Params: p,
			Switches: sw.Switches, Env: train.Env{Device: "cpu", Threads: 1, Log: &log}}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Prune(ctx, cfg(9)); !errors.Is(err, context.Canceled) || !strings.Contains(log.String(), "interrupted at step 0") {
		t.Fatalf("interrupted run: %v\n%s", err, log.String())
	}
	if _, err := Prune(context.Background(), cfg(9)); err != nil {
		t.Fatal(err)
	}
	var st pruneState
	if _, err := train.ReadSnapshot(filepath.Join(out, "checkpoint"), &st); err != nil || st.Step != 9 || !st.Pruning {
		t.Fatalf("after 9 steps: %v %+v", err, st)
	}
	log.Reset()
	res, err := Prune(context.Background(), cfg(15))
	if err != nil {
		t.Fatal(err)
	}
	l := log.String()
	if !strings.Contains(l, "resuming from") || !strings.Contains(l, "at step 9 (pruning: true)") || strings.Contains(l, "pruning starts") {
		t.Fatalf("second run did not resume inside the pruning phase:\n%s", l)
	}
	if res.Train.Steps != 15 || res.Structure == nil {
		t.Fatalf("result %+v", res.Train)
	}
}
