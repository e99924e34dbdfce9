//go:build torch

package cofi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/cofiharness/cofi/experiments/bert"
	"github.com/cofiharness/cofi/experiments/checkpoint"
	"github.com/cofiharness/cofi/experiments/synth"
	"github.com/cofiharness/cofi/experiments/train"
	"github.com/cofiharness/cofi/experiments/train/traintest"
	"github.com/cofiharness/cofi/hparams"
	"github.com/cofiharness/cofi/method"
	"github.com/cofiharness/cofi/record"
	"github.com/cofiharness/cofi/record/steplog"
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

// TestPruneAndFinalResumeAreBitExact stops the pruning stage at every step,
// before the pruning phase and inside it, and the final fine-tuning at every
// step; each resumed run must write the same model bytes and metrics as the
// same stage run straight through. Every step, not a random one: a resume
// that differs only at some steps (a parameter the first resumed step does
// not touch, say) must fail every time, not once in a while.
func TestPruneAndFinalResumeAreBitExact(t *testing.T) {
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
	env := train.Env{Device: "cpu", Threads: 1}
	// 4 steps per epoch: distillation only for steps 0-3, pruning from step 4.
	const total, pruneStart = 14, 4
	pp, err := hparams.Resolve(record.KindPrune, tk, map[string]any{"max_steps": total, "batch": 16, "eval_every": 3,
		"epochs": 10.0, "prepruning_epochs": 1.0, "sparsity_warmup_epochs": 2.0, "target_sparsity": 0.3, "sparsity_epsilon": 1.0})
	if err != nil {
		t.Fatal(err)
	}
	prune := func(ctx context.Context, out string) (*record.Result, error) {
		return Prune(ctx, PruneConfig{Task: tk, DataDir: data, TeacherDir: model, StudentDir: model, OutDir: out, Params: pp, Switches: sw.Switches, Env: env})
	}
	straight, err := prune(context.Background(), filepath.Join(dir, "prune"))
	if err != nil {
		t.Fatal(err)
	}
	check := func(what string, k int, dirA, dirB string, a, b *record.Result) {
		t.Helper()
		if ha, hb := traintest.ModelHash(t, dirA), traintest.ModelHash(t, dirB); ha != hb {
			t.Errorf("%s stopped at step %d: resumed model %s differs from the uninterrupted %s", what, k, hb, ha)
		}
		if !reflect.DeepEqual(a.Metrics, b.Metrics) || !reflect.DeepEqual(a.Size, b.Size) {
			t.Errorf("%s stopped at step %d: metrics %v size %+v, uninterrupted %v size %+v", what, k, b.Metrics, b.Size, a.Metrics, a.Size)
		}
		if b.Train.ResumedFrom != k || b.Train.Resumes != 1 {
			t.Errorf("%s stopped at step %d: record says resumed from %d (%d resumes)", what, k, b.Train.ResumedFrom, b.Train.Resumes)
		}
		// The training curve too: the same bytes, cut back and continued.
		if ha, hb := traintest.FileHash(t, filepath.Join(dirA, steplog.File)), traintest.FileHash(t, filepath.Join(dirB, steplog.File)); ha != hb {
			t.Errorf("%s stopped at step %d: resumed %s differs from the uninterrupted one", what, k, steplog.File)
		}
	}
	for k := 1; k < total; k++ {
		out := filepath.Join(dir, fmt.Sprint("prune-stop-", k))
		check("prune", k, filepath.Join(dir, "prune"), out, straight, traintest.StopAndResume(t, k, out, prune))
	}

	fp, err := hparams.Resolve(record.KindFinal, tk, map[string]any{"max_steps": 10, "batch": 16, "eval_every": 4, "epochs": 10.0})
	if err != nil {
		t.Fatal(err)
	}
	final := func(ctx context.Context, out string) (*record.Result, error) {
		return Final(ctx, FinalConfig{Task: tk, DataDir: data, PruneDir: filepath.Join(dir, "prune"), TeacherDir: model, OutDir: out, Params: fp, Switches: sw.Switches, Env: env})
	}
	fa, err := final(context.Background(), filepath.Join(dir, "final"))
	if err != nil {
		t.Fatal(err)
	}
	for k := 1; k < 10; k++ {
		out := filepath.Join(dir, fmt.Sprint("final-stop-", k))
		check("final", k, filepath.Join(dir, "final"), out, fa, traintest.StopAndResume(t, k, out, final))
	}
}
