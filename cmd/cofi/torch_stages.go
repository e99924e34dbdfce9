//go:build torch

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/cofiharness/cofi/baselines"
	"github.com/cofiharness/cofi/experiments/bert"
	"github.com/cofiharness/cofi/experiments/checkpoint"
	"github.com/cofiharness/cofi/experiments/cofi"
	"github.com/cofiharness/cofi/experiments/train"
	"github.com/cofiharness/cofi/hparams"
	"github.com/cofiharness/cofi/method"
	"github.com/cofiharness/cofi/record"
	"github.com/cofiharness/cofi/runner/plan"
	"github.com/cofiharness/cofi/stage"
	"github.com/cofiharness/cofi/task"
)

// The stage kinds that run on libtorch, for 'cofi run-stage'. Inputs follow
// runner/plan: "data_root" is the configured data root (GLUE_DIR, SQUAD_DIR,
// the synthetic directory), "model" the pre-trained model or "builtin:NAME",
// and each upstream stage's directory under its kind.
func init() {
	stage.Register(record.KindTeacher, teacherStage)
	stage.Register(record.KindPrune, pruneStage)
	stage.Register(record.KindFinal, finalStage)
	stage.Register(record.KindSpeed, speedStage)
	stage.Register(record.KindAugment, augmentStage)
	stage.Register(record.KindTinyBERTLayer, tinyLayerStage)
	stage.Register(record.KindTinyBERTPred, tinyPredStage)
}

func specEnv(s stage.Spec) train.Env {
	return train.Env{Device: s.Device, Threads: s.Threads, Log: os.Stderr}
}

func input(s stage.Spec, name string) (string, error) {
	v, ok := s.Inputs[name]
	if !ok || v == "" {
		return "", fmt.Errorf("%w: stage %s has no input %q", stage.ErrMissingInput, s.ID, name)
	}
	return v, nil
}

// pretrained returns the starting model directory; a "builtin:NAME" model is
// created inside the stage directory, deterministically from the seed.
func pretrained(s stage.Spec) (string, error) {
	m, err := input(s, "model")
	if err != nil {
		return "", err
	}
	name, ok := strings.CutPrefix(m, "builtin:")
	if !ok {
		return m, nil
	}
	return builtinModel(s, name)
}

func builtinModel(s stage.Spec, name string) (string, error) {
	var c checkpoint.Config
	switch name {
	case "tiny":
		c = checkpoint.Tiny()
	case "base":
		c = checkpoint.BertBase()
	default:
		return "", fmt.Errorf("builtin model %q: want tiny or base", name)
	}
	dir := filepath.Join(s.Dir, "pretrained")
	if _, err := os.Stat(filepath.Join(dir, "model.safetensors")); err == nil {
		return dir, nil
	}
	return dir, bert.WriteRandomEncoder(c, s.Seed, dir)
}

// inputs are what a stage's spec resolves to.
type inputs struct {
	task    task.Task
	data    string          // data root (GLUE_DIR, SQUAD_DIR, the synthetic directory)
	teacher string          // the teacher's model directory, "" when the chain has no teacher
	sw      method.Switches // the method's CoFi switches
}

func resolve(s stage.Spec) (inputs, error) {
	var in inputs
	var err error
	if in.task, err = task.Lookup(s.Task); err != nil {
		return in, err
	}
	if m, err := method.Lookup(s.Method); err == nil {
		in.sw = m.Switches
	} else if s.Kind != record.KindTeacher { // a teacher stage is shared by every method
		return in, err
	}
	if in.data, err = input(s, "data_root"); err != nil {
		return in, err
	}
	if dir, ok := s.Inputs[record.KindTeacher]; ok {
		in.teacher = filepath.Join(dir, "model")
	}
	return in, nil
}

// Every training stage reads its task from "data_root": an augment stage's
// output when the cell trains on augmented data (runner/plan).

func teacherStage(ctx context.Context, s stage.Spec) (*record.Result, error) {
	in, err := resolve(s)
	if err != nil {
		return nil, err
	}
	model, err := pretrained(s)
	if err != nil {
		return nil, err
	}
	return train.Finetune(ctx, train.FinetuneConfig{Task: in.task, DataDir: in.data, ModelDir: model, OutDir: s.Dir, Params: s.Params, Env: specEnv(s)})
}

func pruneStage(ctx context.Context, s stage.Spec) (*record.Result, error) {
	in, err := resolve(s)
	if err != nil {
		return nil, err
	}
	student, err := pretrained(s)
	if err != nil {
		return nil, err
	}
	return cofi.Prune(ctx, cofi.PruneConfig{Task: in.task, DataDir: in.data, TeacherDir: in.teacher, StudentDir: student, OutDir: s.Dir, Params: s.Params, Switches: in.sw, Env: specEnv(s)})
}

func finalStage(ctx context.Context, s stage.Spec) (*record.Result, error) {
	in, err := resolve(s)
	if err != nil {
		return nil, err
	}
	prune, err := input(s, record.KindPrune)
	if err != nil {
		return nil, err
	}
	return cofi.Final(ctx, cofi.FinalConfig{Task: in.task, DataDir: in.data, PruneDir: prune, TeacherDir: in.teacher, OutDir: s.Dir, Params: s.Params, Switches: in.sw, Env: specEnv(s)})
}

func speedStage(_ context.Context, s stage.Spec) (*record.Result, error) {
	t, err := task.Lookup(s.Task)
	if err != nil {
		return nil, err
	}
	var model string
	for _, up := range []string{record.KindFinal, record.KindTinyBERTPred, record.KindPrune, record.KindTeacher} {
		if dir, ok := s.Inputs[up]; ok {
			model = filepath.Join(dir, "model")
			break
		}
	}
	if model == "" {
		return nil, fmt.Errorf("%w: speed stage %s has no model to time", stage.ErrMissingInput, s.ID)
	}
	// A baseline is timed against its teacher's architecture (BERT-base);
	// a pruned model against the unpruned architecture of its config.json.
	ref := ""
	if _, ok := s.Inputs[record.KindTinyBERTPred]; ok {
		ref = filepath.Join(s.Inputs[record.KindTeacher], "model")
	}
	env := specEnv(s)
	if _, ok := s.Params["threads"]; ok && hparams.Int(s.Params, "threads") > 0 {
		env.Threads = hparams.Int(s.Params, "threads") // numbers come back from the manifest's JSON as floats
	}
	return speed(t, model, ref, s.Params, env)
}

func augmentStage(ctx context.Context, s stage.Spec) (*record.Result, error) {
	t, err := task.Lookup(s.Task)
	if err != nil {
		return nil, err
	}
	data, err := input(s, "data")
	if err != nil {
		return nil, err
	}
	glove, err := input(s, "glove")
	if err != nil {
		return nil, err
	}
	model, err := pretrained(s)
	if err != nil {
		return nil, err
	}
	out := filepath.Join(plan.AugmentedRoot(s.Dir), filepath.Base(data))
	return baselines.Augment(ctx, baselines.AugmentConfig{Task: t, DataDir: data, ModelDir: model, GloVePath: glove, OutDir: out, Params: s.Params, Env: specEnv(s)})
}

func tinyLayerStage(ctx context.Context, s stage.Spec) (*record.Result, error) {
	in, err := resolve(s)
	if err != nil {
		return nil, err
	}
	if in.teacher == "" {
		return nil, fmt.Errorf("%w: TinyBERT stage %s has no teacher", stage.ErrMissingInput, s.ID)
	}
	student, err := input(s, "student")
	if err != nil {
		return nil, err
	}
	switch {
	case student == "random":
		student = ""
	case strings.HasPrefix(student, "builtin:"):
		// The synthetic tasks' stand-in for a general-distilled checkpoint:
		// a random encoder of the student's shape, no general distillation.
		dir := filepath.Join(s.Dir, "general")
		if err := baselines.WriteStandIn(in.teacher, s.Params, s.Seed, dir); err != nil {
			return nil, err
		}
		student = dir
	}
	return baselines.DistillLayers(ctx, baselines.LayerConfig{Task: in.task, DataDir: in.data, TeacherDir: in.teacher, StudentDir: student,
		OutDir: s.Dir, Params: s.Params, Env: specEnv(s)})
}

func tinyPredStage(ctx context.Context, s stage.Spec) (*record.Result, error) {
	in, err := resolve(s)
	if err != nil {
		return nil, err
	}
	if in.teacher == "" {
		return nil, fmt.Errorf("%w: TinyBERT stage %s has no teacher", stage.ErrMissingInput, s.ID)
	}
	layer, err := input(s, record.KindTinyBERTLayer)
	if err != nil {
		return nil, err
	}
	return baselines.DistillPred(ctx, baselines.PredConfig{Task: in.task, DataDir: in.data, TeacherDir: in.teacher, StartDir: filepath.Join(layer, "model"),
		OutDir: s.Dir, Params: s.Params, Env: specEnv(s)})
}
