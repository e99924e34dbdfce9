//go:build torch

package train

import (
	"bytes"
	"context"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/cofiharness/cofi/experiments/checkpoint"
	"github.com/cofiharness/cofi/experiments/synth"
	"github.com/cofiharness/cofi/hparams"
	"github.com/cofiharness/cofi/record"
	"github.com/cofiharness/cofi/task"
)

// teacherRun fine-tunes a tiny model on syn-single for a few steps with the
// given overrides and returns the result and the weights it ended with.
func teacherRun(t *testing.T, over map[string]any) (*record.Result, map[string]checkpoint.Raw, map[string]checkpoint.Raw, string) {
	t.Helper()
	runtime.LockOSThread()
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if err := synth.Write(data, "syn-single", 64, 16, 3); err != nil {
		t.Fatal(err)
	}
	model := filepath.Join(dir, "model")
	tinyModel(t, model)
	tk := task.MustLookup("syn-single")
	o := map[string]any{"max_steps": 4, "batch": 16, "eval_every": 2, "epochs": 10.0}
	for k, v := range over {
		o[k] = v
	}
	p, err := hparams.Resolve(record.KindTeacher, tk, o)
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	out := filepath.Join(dir, "out")
	res, err := Finetune(context.Background(), FinetuneConfig{Task: tk, DataDir: data, ModelDir: model, OutDir: out, Params: p,
		Env: Env{Device: "cpu", Threads: 1, Log: &log}})
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	snap, err := ReadSnapshot(filepath.Join(out, "checkpoint"), &loopState{})
	if err != nil {
		t.Fatal(err)
	}
	before, _, err := checkpoint.ReadSafetensors(filepath.Join(model, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	after, _, err := checkpoint.ReadSafetensors(filepath.Join(snap, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	return res, before, after, log.String()
}

var embeddingNames = []string{"bert.embeddings.word_embeddings.weight", "bert.embeddings.position_embeddings.weight",
	"bert.embeddings.token_type_embeddings.weight", "bert.embeddings.LayerNorm.weight", "bert.embeddings.LayerNorm.bias"}

const encoderWeight = "bert.encoder.layer.0.attention.self.query.weight"

// TestFreezeEmbeddings: with freeze_embeddings (the authors' trainer) the
// embeddings are bit-identical after training while the encoder moved;
// without it they train.
func TestFreezeEmbeddings(t *testing.T) {
	for _, freeze := range []bool{true, false} {
		_, before, after, _ := teacherRun(t, map[string]any{"freeze_embeddings": freeze, "clip_frozen": true})
		for _, n := range embeddingNames {
			same := bytes.Equal(before[n].Data, after[n].Data)
			if same != freeze {
				t.Errorf("freeze_embeddings = %v: %s unchanged = %v", freeze, n, same)
			}
		}
		if bytes.Equal(before[encoderWeight].Data, after[encoderWeight].Data) {
			t.Errorf("freeze_embeddings = %v: the encoder did not train", freeze)
		}
	}
}

// TestClipFrozen: with an active clip, counting the frozen embeddings'
// gradients in its norm (the authors' clip over model.parameters()) changes
// the update of everything else; with the clip off it changes nothing.
func TestClipFrozen(t *testing.T) {
	weights := func(clip float64, clipFrozen bool) []byte {
		_, _, after, _ := teacherRun(t, map[string]any{"freeze_embeddings": true, "clip_frozen": clipFrozen, "grad_clip": clip})
		return after[encoderWeight].Data
	}
	if bytes.Equal(weights(0.01, true), weights(0.01, false)) {
		t.Error("clip_frozen does not change the clipped update")
	}
	if !bytes.Equal(weights(0, true), weights(0, false)) {
		t.Error("clip_frozen changes training with the clip off")
	}
}

// TestEvalAtStart: at a learning rate too small to move a float32 weight every evaluation scores the same, so
// with eval_at_start (the authors' trainer) the starting model is the one
// kept; without, the first evaluation after training steps.
func TestEvalAtStart(t *testing.T) {
	for _, c := range []struct {
		on       bool
		bestStep int
		evals    int
	}{{true, 0, 3}, {false, 2, 2}} {
		res, _, _, log := teacherRun(t, map[string]any{"eval_at_start": c.on, "lr": 1e-12})
		if res.Train.BestStep != c.bestStep || strings.Count(log, "eval step") != c.evals {
			t.Errorf("eval_at_start = %v: best step %d, %d evaluations; want %d, %d\n%s", c.on, res.Train.BestStep,
				strings.Count(log, "eval step"), c.bestStep, c.evals, log)
		}
	}
}

// TestHeldOutSelects: with heldout, a slice of train is scored as its own
// evaluation set and chooses the checkpoint; dev is still reported.
func TestHeldOutSelects(t *testing.T) {
	res, _, _, log := teacherRun(t, map[string]any{"heldout": 0.25})
	if res.Train.BestMetric != "heldout/acc" {
		t.Errorf("best metric %q, want heldout/acc", res.Train.BestMetric)
	}
	if _, ok := res.Metrics["heldout/acc"]; !ok {
		t.Errorf("metrics %v lack heldout/acc", res.Metrics)
	}
	if _, ok := res.Metrics["syn-single/acc"]; !ok {
		t.Errorf("metrics %v lack the dev set", res.Metrics)
	}
	if !strings.Contains(log, "48 train features, eval syn-single (16), heldout (16)") {
		t.Errorf("64 examples with a quarter held out should train on 48:\n%s", log)
	}
}

// TestEvalAtEnd: a last step that is not a multiple of eval_every is
// evaluated only with eval_at_end (the authors' trainer never does).
func TestEvalAtEnd(t *testing.T) {
	for _, c := range []struct {
		on    bool
		evals int
	}{{true, 2}, {false, 1}} {
		res, _, _, log := teacherRun(t, map[string]any{"eval_at_end": c.on, "max_steps": 3})
		if n := strings.Count(log, "eval step"); n != c.evals || res.Train.Steps != 3 {
			t.Errorf("eval_at_end = %v: %d evaluations in %d steps, want %d", c.on, n, res.Train.Steps, c.evals)
		}
	}
}
