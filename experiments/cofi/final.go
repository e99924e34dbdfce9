//go:build torch

package cofi

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/cofiharness/cofi/experiments/bert"
	"github.com/cofiharness/cofi/experiments/data"
	"github.com/cofiharness/cofi/experiments/torch"
	"github.com/cofiharness/cofi/experiments/train"
	"github.com/cofiharness/cofi/hparams"
	"github.com/cofiharness/cofi/method"
	"github.com/cofiharness/cofi/record"
	"github.com/cofiharness/cofi/stage"
	"github.com/cofiharness/cofi/task"
)

// FinalConfig configures the final fine-tuning of the compact model.
type FinalConfig struct {
	Task       task.Task
	DataDir    string
	PruneDir   string // the prune stage's output: model/ and distill.safetensors
	TeacherDir string
	OutDir     string
	Params     record.Params
	Switches   method.Switches
	Env        train.Env
}

// Final fine-tunes the compact model with distillation still on (constant
// learning rate by default, as the authors ran it), keeping the best on dev.
func Final(ctx context.Context, c FinalConfig) (*record.Result, error) {
	p := c.Params
	seed := int64(hparams.Int(p, "seed"))
	info, err := c.Env.Start(seed)
	if err != nil {
		return nil, err
	}
	compactDir := filepath.Join(c.PruneDir, "model")
	td, err := train.ForModel(c.Task, compactDir, c.DataDir, train.OptionsFrom(p, true))
	if err != nil {
		return nil, err
	}
	labels := td.Labels
	rule, err := ParseLayerMatch(hparams.String(p, "layer_match"))
	if err != nil {
		return nil, err
	}
	if c.Switches.FixedLayers {
		rule = MatchFixed
	}
	load := func(dir string) (*bert.Model, error) {
		return train.LoadModel(c.Task, dir, labels, info.Device, c.Env.Writer())
	}
	regKL, err := regressionKL(p)
	if err != nil {
		return nil, err
	}
	dist := &distiller{sw: c.Switches, temp: hparams.Float(p, "temperature"), alphaPred: hparams.Float(p, "alpha_pred"), alphaLayer: hparams.Float(p, "alpha_layer"), regKL: regKL}
	needTeacher := !c.Switches.GoldLabels && (c.Switches.PredDistill || c.Switches.LayerDistill)
	var extra []interface{ Free() }
	defer func() {
		for _, e := range extra {
			e.Free()
		}
	}()
	if needTeacher {
		torch.Seed(train.StepSeed(seed, train.InitStep)) // a missing head's init: the same whatever was loaded before
		if dist.teacher, err = load(c.TeacherDir); err != nil {
			return nil, fmt.Errorf("%w: teacher: %v", stage.ErrMissingInput, err)
		}
		extra = append(extra, dist.teacher)
		dist.teacher.SetRequiresGrad(false, false)
	}
	job := train.Job{
		Name: "final " + c.Task.Name, Kind: record.KindFinal, Task: c.Task, Data: td, Params: p, Schedule: hparams.String(p, "schedule"),
		StartDir: compactDir, TokenizerDir: compactDir, OutDir: c.OutDir, Info: info, Log: c.Env.Writer(), Load: load,
	}
	if c.Switches.LayerDistill && needTeacher {
		// W_layer continues from the pruning stage, its input columns pruned with the hidden dims.
		compact, err := load(compactDir)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", stage.ErrMissingInput, err)
		}
		hidden := compact.Hidden
		compact.Free()
		dist.layer = &LayerDistiller{Rule: rule}
		w := torch.Zeros([]int64{int64(dist.teacher.Hidden), int64(hidden)}, torch.Float32, info.Device).Detached()
		b := torch.Zeros([]int64{int64(dist.teacher.Hidden)}, torch.Float32, info.Device).Detached()
		dist.layer.W = &bert.Linear{W: w, B: b}
		extra = append(extra, dist.layer)
		if err := train.LoadNamed(filepath.Join(c.PruneDir, "distill.safetensors"), dist.layer.Params()); err != nil {
			return nil, fmt.Errorf("%w: %v", stage.ErrMissingInput, err)
		}
		w.SetRequiresGrad(true)
		b.SetRequiresGrad(true)
		dist.layer.TeacherLayers = teacherLayersFor(rule, len(dist.teacher.Layers))
		job.Extra = dist.layer.Params()
	}
	job.Loss = func(m *bert.Model, in bert.Input, b data.Batch) *torch.Tensor {
		return dist.loss(c.Task.Kind, m, nil, in, b)
	}
	res, err := train.Run(ctx, job)
	if err != nil {
		return nil, err
	}
	// The compact model's size is the final result's; what the pruning aimed
	// for and expected comes from the pruning stage.
	if pr, err := record.ReadResult(c.PruneDir); err == nil && pr.Size != nil && res.Size != nil {
		res.Size.TargetSparsity, res.Size.ExpectedSparsity = pr.Size.TargetSparsity, pr.Size.ExpectedSparsity
	}
	return res, nil
}
