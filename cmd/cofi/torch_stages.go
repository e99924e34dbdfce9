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
	stage.Register(record.KindBaseline, baselineStage)
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
	for _, up := range []string{record.KindFinal, record.KindBaseline, record.KindPrune, record.KindTeacher} {
		if dir, ok := s.Inputs[up]; ok {
			model = filepath.Join(dir, "model")
			break
		}
	}
	if model == "" {
		return nil, fmt.Errorf("%w: speed stage %s has no model to time", stage.ErrMissingInput, s.ID)
	}
	env := specEnv(s)
	if _, ok := s.Params["threads"]; ok && hparams.Int(s.Params, "threads") > 0 {
		env.Threads = hparams.Int(s.Params, "threads") // numbers come back from the manifest's JSON as floats
	}
	return speed(t, model, s.Params, env)
}

func baselineStage(ctx context.Context, s stage.Spec) (*record.Result, error) {
	in, err := resolve(s)
	if err != nil {
		return nil, err
	}
	if in.teacher == "" {
		return nil, fmt.Errorf("%w: baseline stage %s has no teacher", stage.ErrMissingInput, s.ID)
	}
	return baselines.Distill(ctx, baselines.DistillConfig{Task: in.task, DataDir: in.data, TeacherDir: in.teacher, OutDir: s.Dir, Params: s.Params, Env: specEnv(s)})
}
