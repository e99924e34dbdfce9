//go:build torch

package cofi

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/cofiharness/cofi/experiments/bert"
	"github.com/cofiharness/cofi/experiments/checkpoint"
	"github.com/cofiharness/cofi/experiments/synth"
	"github.com/cofiharness/cofi/experiments/train"
	"github.com/cofiharness/cofi/hparams"
	"github.com/cofiharness/cofi/method"
	"github.com/cofiharness/cofi/record"
	"github.com/cofiharness/cofi/report/stats"
	"github.com/cofiharness/cofi/task"
)

// evidenceSeeds: the evidence must hold for more than one random stream (one
// seed can pass on one libtorch and fail on the next, whose kernels round
// differently), so it is the median over these seeds that must hold, with the
// tolerance unchanged. 57 is the profile's default seed.
var evidenceSeeds = []int{57, 1, 2}

// TestSparsityTargetsOnSyntheticTask is the CPU evidence of issue 3: a tiny
// BERT fine-tuned on syn-single, pruned by CoFi (default switches, the
// synthetic profile) to 50, 70 and 90 % sparsity, ends within 0.02 of each
// target counted on the compact model, keeping its accuracy (within 10
// points of its teacher), in the median over three seeds. When the first two
// seeds both pass on every target the third cannot change the median's
// verdict (the median of three lies between two of them, and the passing
// ranges are intervals), so it runs only when they do not. Two to six
// minutes on one core.
func TestSparsityTargetsOnSyntheticTask(t *testing.T) {
	targets := []float64{0.5, 0.7, 0.9}
	type outcome struct {
		done           bool
		sparsity, drop float64
	}
	pass := func(o outcome, target float64) bool {
		return o.done && math.Abs(o.sparsity-target) <= 0.02 && o.drop <= 10
	}
	decided := func(got [][]outcome) bool { // two seeds that pass everywhere
		for j, target := range targets {
			if !pass(got[0][j], target) || !pass(got[1][j], target) {
				return false
			}
		}
		return true
	}
	got := make([][]outcome, 0, len(evidenceSeeds))
	// One seed after the other: libtorch scopes are process-wide.
	for i, seed := range evidenceSeeds {
		if i == 2 && decided(got) {
			t.Logf("seeds %v pass on every target: seed %d cannot change the median", evidenceSeeds[:2], seed)
			break
		}
		got = append(got, make([]outcome, len(targets)))
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			runtime.LockOSThread()
			pruneAtTargets(t, seed, targets, func(j int, sparsity, drop float64) {
				got[i][j] = outcome{true, sparsity, drop}
			})
		})
	}
	for j, target := range targets {
		var sp, drop []float64
		for i := range got {
			if o := got[i][j]; o.done {
				sp, drop = append(sp, o.sparsity), append(drop, o.drop)
			}
		}
		if len(sp) < len(got) {
			t.Errorf("target %.2f: only %d of %d seeds finished", target, len(sp), len(got))
			continue
		}
		ms, md := stats.Median(sp), stats.Median(drop)
		t.Logf("target %.2f: compact sparsity %v, median %.4f; accuracy drop %v, median %.1f", target, sp, ms, drop, md)
		if math.Abs(ms-target) > 0.02 {
			t.Errorf("target %.2f: median compact model sparsity over seeds %v is %.4f (%v), more than 0.02 away", target, evidenceSeeds[:len(got)], ms, sp)
		}
		if md > 10 {
			t.Errorf("target %.2f: median accuracy drop from the teacher %.1f points (%v), more than 10", target, md, drop)
		}
	}
}

// pruneAtTargets fine-tunes a teacher with seed and prunes it to each
// target, reporting the compact model's sparsity and its accuracy drop from
// the teacher.
func pruneAtTargets(t *testing.T, seed int, targets []float64, report func(i int, sparsity, drop float64)) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if err := synth.Write(data, "syn-single", synth.DefaultTrain, synth.DefaultDev, 1); err != nil {
		t.Fatal(err)
	}
	tk := task.MustLookup("syn-single")
	model := filepath.Join(dir, "tiny")
	if err := bert.WriteRandomEncoder(checkpoint.Tiny(), 0, model); err != nil {
		t.Fatal(err)
	}
	env := train.Env{Device: "cpu", Threads: 1}
	tp, err := hparams.Resolve(record.KindTeacher, tk, map[string]any{"seed": seed})
	if err != nil {
		t.Fatal(err)
	}
	teacher := filepath.Join(dir, "teacher")
	tr, err := train.Finetune(context.Background(), train.FinetuneConfig{Task: tk, DataDir: data, ModelDir: model, OutDir: teacher, Params: tp, Env: env})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("seed %d teacher: %s", seed, train.FormatMetrics(tr.Metrics))
	sw, _ := method.Lookup("cofi")
	for i, target := range targets {
		p, err := hparams.Resolve(record.KindPrune, tk, map[string]any{"target_sparsity": target, "seed": seed})
		if err != nil {
			t.Fatal(err)
		}
		res, err := Prune(context.Background(), PruneConfig{Task: tk, DataDir: data, TeacherDir: filepath.Join(teacher, "model"),
			StudentDir: model, OutDir: filepath.Join(dir, fmt.Sprint("prune-", target)), Params: p, Switches: sw.Switches, Env: env})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("seed %d target %.2f: compact model sparsity %.4f (expected %.4f), %d parameters, %s, heads %v, FFN %v, hidden %d",
			seed, target, res.Size.Sparsity, res.Size.ExpectedSparsity, res.Size.Params, train.FormatMetrics(res.Metrics), res.Structure.Heads, res.Structure.Intermediate, res.Structure.Hidden)
		report(i, res.Size.Sparsity, tr.Metrics["syn-single/acc"]-res.Metrics["syn-single/acc"])
	}
}
