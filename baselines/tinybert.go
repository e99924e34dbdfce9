//go:build torch

package baselines

import (
	"context"
	"fmt"

	"github.com/cofiharness/cofi/experiments/bert"
	"github.com/cofiharness/cofi/experiments/cofi"
	"github.com/cofiharness/cofi/experiments/data"
	"github.com/cofiharness/cofi/experiments/optim"
	"github.com/cofiharness/cofi/experiments/torch"
	"github.com/cofiharness/cofi/experiments/train"
	"github.com/cofiharness/cofi/hparams"
	"github.com/cofiharness/cofi/record"
	"github.com/cofiharness/cofi/stage"
	"github.com/cofiharness/cofi/task"
)

// DistillConfig configures TinyBERT-style task distillation.
type DistillConfig struct {
	Task       task.Task
	DataDir    string
	TeacherDir string
	OutDir     string
	Params     record.Params // baseline hyperparameters (package hparams, kind baseline)
	Env        train.Env
}

// Distill trains a small dense student against the teacher in one stage:
// loss = MSE(W·E_s, E_t) + Σ_i MSE(W·H_s^i, H_t^{m(i)}) + soft cross-entropy of
// the predictions (MSE of the logit for regression), where student layer i
// maps to teacher layer m(i) = i·L_t/L_s (TinyBERT's uniform mapping) and W
// is a learned projection from the student's hidden size to the teacher's.
// Attention-matrix distillation and data augmentation of the original
// TinyBERT are not included.
func Distill(ctx context.Context, c DistillConfig) (*record.Result, error) {
	p := c.Params
	seed := int64(hparams.Int(p, "seed"))
	info, err := c.Env.Start(seed)
	if err != nil {
		return nil, err
	}
	td, err := train.ForModel(c.Task, c.TeacherDir, c.DataDir, train.OptionsFrom(p, true))
	if err != nil {
		return nil, err
	}
	labels := td.Labels
	teacher, err := train.LoadModel(c.Task, c.TeacherDir, labels, info.Device, c.Env.Writer())
	if err != nil {
		return nil, fmt.Errorf("%w: teacher: %v", stage.ErrMissingInput, err)
	}
	defer teacher.Free()
	teacher.SetRequiresGrad(false, false)

	sc := teacher.Config
	sc.NumHiddenLayers, sc.HiddenSize, sc.IntermediateSize, sc.NumAttentionHeads =
		hparams.Int(p, "layers"), hparams.Int(p, "hidden"), hparams.Int(p, "intermediate"), hparams.Int(p, "heads")
	if sc.HiddenSize%sc.NumAttentionHeads != 0 {
		return nil, fmt.Errorf("student hidden size %d is not a multiple of its %d heads", sc.HiddenSize, sc.NumAttentionHeads)
	}
	initDir := c.OutDir + "/init"
	if err := torch.Catch(func() error {
		s := bert.New(sc, bert.Head{Kind: c.Task.Kind, NumLabels: c.Task.NumLabels, Labels: labels.Names}, info.Device)
		defer s.Free()
		return s.Save(initDir, c.TeacherDir)
	}); err != nil {
		return nil, err
	}
	proj := &bert.Linear{W: torch.Zeros([]int64{int64(teacher.Hidden), int64(sc.HiddenSize)}, torch.Float32, info.Device).Detached(),
		B: torch.Zeros([]int64{int64(teacher.Hidden)}, torch.Float32, info.Device).Detached()}
	proj.W.Normal_(0, 0.02)
	proj.W.SetRequiresGrad(true)
	proj.B.SetRequiresGrad(true)
	defer proj.W.Free()
	defer proj.B.Free()
	temp := hparams.Float(p, "temperature")
	tl, sl := len(teacher.Layers), sc.NumHiddenLayers
	job := train.Job{
		Name: "distill " + c.Task.Name, Kind: record.KindBaseline, Task: c.Task, Data: td, Params: p, Schedule: "linear",
		StartDir: initDir, TokenizerDir: c.TeacherDir, OutDir: c.OutDir, Info: info, Log: c.Env.Writer(),
		Load: func(dir string) (*bert.Model, error) {
			return train.LoadModel(c.Task, dir, labels, info.Device, c.Env.Writer())
		},
		Extra: []optim.Named{{Name: "projection.weight", T: proj.W, Decay: true}, {Name: "projection.bias", T: proj.B}},
		Loss: func(m *bert.Model, in bert.Input, b data.Batch) *torch.Tensor {
			out := m.Forward(in, nil, true, true)
			var tout bert.Output
			torch.NoGrad(func() { tout = teacher.Forward(in, nil, false, true) })
			loss := cofi.PredLoss(c.Task.Kind, out.Logits, tout.Logits, temp)
			for i := 0; i <= sl; i++ {
				j := i * tl / sl // embeddings to embeddings, student layer i to teacher layer i·L_t/L_s
				h := torch.Linear(out.Hidden[i], proj.W, proj.B)
				loss = loss.Add(torch.MSE(h, tout.Hidden[j].Detach()))
			}
			return loss
		},
	}
	res, err := train.Run(ctx, job)
	if err != nil {
		return nil, err
	}
	// Size relative to the teacher's (BERT-base's) encoder, as the paper counts.
	full := teacher.EncoderSize()
	res.Size.FullParams, res.Size.Sparsity = full, 1-float64(res.Size.Params)/float64(full)
	return res, nil
}
