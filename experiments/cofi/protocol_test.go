//go:build torch

package cofi

import (
	"bytes"
	"context"
	"math"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/cofiharness/cofi/experiments/bert"
	"github.com/cofiharness/cofi/experiments/checkpoint"
	"github.com/cofiharness/cofi/experiments/synth"
	"github.com/cofiharness/cofi/experiments/torch"
	"github.com/cofiharness/cofi/experiments/train"
	"github.com/cofiharness/cofi/hparams"
	"github.com/cofiharness/cofi/method"
	"github.com/cofiharness/cofi/record"
	"github.com/cofiharness/cofi/task"
)

// pruneRun runs a short pruning stage on syn-single (4 steps per epoch,
// pruning from step 4) and returns the starting weights and the snapshot
// directory it ended with.
func pruneRun(t *testing.T, maxSteps int, over map[string]any) (start map[string]checkpoint.Raw, snap string) {
	t.Helper()
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
	o := map[string]any{"max_steps": maxSteps, "batch": 16, "eval_every": 100, "epochs": 10.0, "prepruning_epochs": 1.0,
		"sparsity_warmup_epochs": 2.0, "target_sparsity": 0.5}
	for k, v := range over {
		o[k] = v
	}
	p, err := hparams.Resolve(record.KindPrune, tk, o)
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	out := filepath.Join(dir, "prune")
	if _, err := Prune(context.Background(), PruneConfig{Task: tk, DataDir: data, TeacherDir: model, StudentDir: model, OutDir: out,
		Params: p, Switches: sw.Switches, Env: train.Env{Device: "cpu", Threads: 1, Log: &log}}); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	start, _, err = checkpoint.ReadSafetensors(filepath.Join(model, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	snap, err = train.ReadSnapshot(filepath.Join(out, "checkpoint"), &pruneState{})
	if err != nil {
		t.Fatal(err)
	}
	return start, snap
}

// TestPruneFreezesEmbeddings: after a prune stage (distillation, then
// pruning) the embeddings are bit-identical to the start while the encoder
// trained; with freeze_embeddings = false they train too.
func TestPruneFreezesEmbeddings(t *testing.T) {
	for _, freeze := range []bool{true, false} {
		start, snap := pruneRun(t, 6, map[string]any{"freeze_embeddings": freeze})
		after, _, err := checkpoint.ReadSafetensors(filepath.Join(snap, "model.safetensors"))
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range []string{"bert.embeddings.word_embeddings.weight", "bert.embeddings.LayerNorm.weight"} {
			if same := bytes.Equal(start[n].Data, after[n].Data); same != freeze {
				t.Errorf("freeze_embeddings = %v: %s unchanged = %v", freeze, n, same)
			}
		}
		q := "bert.encoder.layer.0.attention.self.query.weight"
		if bytes.Equal(start[q].Data, after[q].Data) {
			t.Errorf("freeze_embeddings = %v: the encoder did not train", freeze)
		}
	}
}

// TestClampFrom: the released trainer clamps log_alpha from the first step,
// so after distillation-only steps the masks initialised at 10 sit at ln 100;
// clamping only while pruning leaves them at 10.
func TestClampFrom(t *testing.T) {
	for _, c := range []struct {
		from string
		want float64
	}{{"start", LogAlphaMax}, {"pruning", 10}} {
		_, snap := pruneRun(t, 2, map[string]any{"clamp_from": c.from}) // pruning starts at step 4
		ts, _, err := checkpoint.ReadSafetensors(filepath.Join(snap, "cofi.safetensors"))
		if err != nil {
			t.Fatal(err)
		}
		v, err := ts["head_loga"].Float32()
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range v {
			if math.Abs(float64(x)-c.want) > 0.05 {
				t.Fatalf("clamp_from = %s: head log_alpha %v after pre-pruning, want %v", c.from, v, c.want)
			}
		}
	}
}

// TestEmptySublayerBias: a layer whose heads are all masked (layer mask
// not 0) is skipped by default, as in the pruned model; with BiasOfEmpty the
// masked model adds the attention output's bias, as the released code does.
func TestEmptySublayerBias(t *testing.T) {
	runtime.LockOSThread()
	s := torch.NewScope()
	defer s.Close()
	c := tinyConfig()
	m := bert.New(c, bert.Head{Kind: task.Classification, NumLabels: 3}, torch.CPU)
	defer m.Free()
	h := randomMasks(c, rand.New(rand.NewPCG(1, 2))) // layer 0: every head 0, z_MHA soft
	l0 := &L0{}
	skip := l0.EvalMasks(h, torch.CPU)
	l0.BiasOfEmpty = true
	bias := l0.EvalMasks(h, torch.CPU)
	if !skip.SkipMHA[0] || bias.SkipMHA[0] || !bias.SkipFFN[1] {
		t.Fatalf("skips: default %v, released %v (FFN %v)", skip.SkipMHA, bias.SkipMHA, bias.SkipFFN)
	}
	a := m.Forward(batch(), skip, false, false).Logits.Float32s()
	b := m.Forward(batch(), bias, false, false).Logits.Float32s()
	diff := 0.0
	for i := range a {
		diff = math.Max(diff, math.Abs(float64(a[i]-b[i])))
	}
	if diff < 1e-3 {
		t.Errorf("adding the empty sublayer's bias changed the logits by only %g", diff)
	}
}

// TestFoldReleased: the authors' update_params gives the same compact model
// as the exact fold when every kept value is 1, and a different one when
// kept values are soft (it leaves LayerNorms and W_D's bias unscaled).
func TestFoldReleased(t *testing.T) {
	runtime.LockOSThread()
	s := torch.NewScope()
	defer s.Close()
	c := tinyConfig()
	m := bert.New(c, bert.Head{Kind: task.Classification, NumLabels: 3}, torch.CPU)
	defer m.Free()
	soft := randomMasks(c, rand.New(rand.NewPCG(1, 2)))
	binary := randomMasks(c, rand.New(rand.NewPCG(1, 2)))
	for _, rows := range [][][]float64{binary.Head, binary.Int} {
		for _, r := range rows {
			for i := range r {
				r[i] = math.Ceil(r[i])
			}
		}
	}
	for _, v := range [][]float64{binary.MHA, binary.FFN, binary.Hidden} {
		for i := range v {
			v[i] = math.Ceil(v[i])
		}
	}
	maxDiff := func(h HostMasks) float64 {
		exact := Fold(m, h, nil)
		defer exact.Free()
		rel := FoldWith(m, h, nil, FoldReleased)
		defer rel.Free()
		a := exact.Forward(batch(), nil, false, false).Logits.Float32s()
		b := rel.Forward(batch(), nil, false, false).Logits.Float32s()
		if eh, _, ed := exact.Structure(); ed != rel.Hidden || len(eh) != len(rel.Layers) {
			t.Fatalf("released fold changed the structure")
		}
		d := 0.0
		for i := range a {
			d = math.Max(d, math.Abs(float64(a[i]-b[i])))
		}
		return d
	}
	if d := maxDiff(binary); d > 1e-4 {
		t.Errorf("0/1 masks: released fold differs from the exact one by %g", d)
	}
	if d := maxDiff(soft); d < 1e-3 {
		t.Errorf("soft masks: released fold equals the exact one (diff %g): the switch changes nothing", d)
	}
}

// TestReleasedRegressionPredLoss: the released KL over one logit is zero
// whatever the logits; the harness's MSE is not.
func TestReleasedRegressionPredLoss(t *testing.T) {
	runtime.LockOSThread()
	s := torch.NewScope()
	defer s.Close()
	st := torch.FromFloat32([]float32{1, -2}, []int64{2, 1}, torch.CPU)
	te := torch.FromFloat32([]float32{3, 4}, []int64{2, 1}, torch.CPU)
	if v := ReleasedRegressionPredLoss(st, te, 2).Item(); v != 0 {
		t.Errorf("released regression distillation = %v, want 0", v)
	}
	if v := PredLoss(task.Regression, st, te, 2).Item(); math.Abs(v-20) > 1e-5 { // ((1−3)² + (−2−4)²)/2
		t.Errorf("MSE = %v, want 20", v)
	}
}
