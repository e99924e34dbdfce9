//go:build torch

package train

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"time"

	"github.com/cofiharness/cofi/experiments/bert"
	"github.com/cofiharness/cofi/experiments/data"
	"github.com/cofiharness/cofi/experiments/optim"
	"github.com/cofiharness/cofi/experiments/torch"
	"github.com/cofiharness/cofi/hparams"
	"github.com/cofiharness/cofi/record"
	"github.com/cofiharness/cofi/record/steplog"
	"github.com/cofiharness/cofi/stage"
	"github.com/cofiharness/cofi/task"
)

// Job is a training run of one model with one loss: teacher fine-tuning,
// CoFi's final fine-tuning, task distillation.
type Job struct {
	Name         string // for progress lines, e.g. "finetune rte"
	Kind         string // record kind of the result
	Task         task.Task
	Data         *TaskData
	Params       record.Params // seed, batch, epochs, max_steps, eval_every, lr, grad_clip, weight_decay[, warmup_frac]
	Schedule     string        // "linear" (with warmup_frac) or "constant"
	StartDir     string        // model to start from when there is no snapshot
	TokenizerDir string        // tokenizer files copied into saved models
	OutDir       string        // model/ (best on dev), checkpoint/
	Load         func(dir string) (*bert.Model, error)
	Extra        []optim.Named // trained with the model and kept in snapshots (e.g. W_layer)
	Loss         func(m *bert.Model, in bert.Input, b data.Batch) *torch.Tensor
	Info         torch.Info
	Log          io.Writer
	// Which parameters train follows Params (freeze_embeddings,
	// clip_frozen; see Trainables), as does eval_at_start.
}

type loopState struct {
	Step     int                `json:"step"`
	Pos      data.Position      `json:"pos"`
	HasBest  bool               `json:"has_best"`
	Best     float64            `json:"best"`
	BestStep int                `json:"best_step"`
	BestEval map[string]float64 `json:"best_eval"`
	Seconds  float64            `json:"seconds"`
	Resumes  int                `json:"resumes,omitempty"` // times a run continued from a snapshot
	Curve    steplog.Acc        `json:"curve"`             // running means of the curve file
}

// Run trains j.Model with AdamW, evaluates on dev every eval_every steps,
// keeps the best model on dev in OutDir/model, and snapshots everything a
// killed run needs to resume in OutDir/checkpoint; rerunning resumes.
func Run(ctx context.Context, j Job) (*record.Result, error) {
	p := j.Params
	log := j.Log
	seed := int64(hparams.Int(p, "seed"))
	snapDir := filepath.Join(j.OutDir, "checkpoint")
	var st loopState
	start := j.StartDir
	snap, err := ReadSnapshot(snapDir, &st)
	switch {
	case err == nil:
		start = snap
		fmt.Fprintf(log, "resuming from %s at step %d (best %s %.2f at step %d)\n", snap, st.Step, j.Data.Select, st.Best, st.BestStep)
	case errors.Is(err, ErrNoSnapshot):
	default:
		return nil, err
	}
	torch.Seed(StepSeed(seed, InitStep))
	m, err := j.Load(start)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", stage.ErrMissingInput, err)
	}
	defer m.Free()
	ps := Trainables(m, p)
	params := append(ps.Optimised, j.Extra...)
	clipped := append(ps.Clipped, j.Extra...)

	batch := hparams.Int(p, "batch")
	it, err := j.Data.Train.Iterator(data.IterOptions{BatchSize: batch, Shuffle: true, Seed: seed})
	if err != nil {
		return nil, err
	}
	perEpoch := it.StepsPerEpoch()
	total := int(math.Ceil(hparams.Float(p, "epochs") * float64(perEpoch)))
	if ms := hparams.Int(p, "max_steps"); ms > 0 {
		total = min(total, ms)
	}
	evalEvery := hparams.Int(p, "eval_every")
	if evalEvery <= 0 {
		evalEvery = perEpoch
	}
	var sched optim.Schedule = optim.Constant{}
	switch j.Schedule {
	case "linear":
		warm := 0.0
		if _, ok := p["warmup_frac"]; ok {
			warm = hparams.Float(p, "warmup_frac")
		}
		sched = optim.Linear{Warmup: int(warm * float64(total)), Total: total}
	case "constant":
	default:
		return nil, fmt.Errorf("schedule %q: want linear or constant", j.Schedule)
	}
	opt := optim.NewAdamW(params, hparams.Float(p, "weight_decay"))
	defer opt.Free()
	if st.Step > 0 {
		if err := RestoreOptimizer(opt, snap, "optimizer"); err != nil {
			return nil, err
		}
		if len(j.Extra) > 0 {
			if err := LoadNamed(filepath.Join(snap, "extra.safetensors"), j.Extra); err != nil {
				return nil, fmt.Errorf("resume: %w", err)
			}
		}
		if err := it.Seek(st.Pos); err != nil {
			return nil, err
		}
	}
	resumedFrom := -1
	if snap != "" {
		resumedFrom = st.Step
		st.Resumes++
	}
	lr := hparams.Float(p, "lr")
	clip := hparams.Float(p, "grad_clip")
	// The training curve (metrics.jsonl): cut back to the snapshot's step on resume.
	resumeStep := -1
	if snap != "" {
		resumeStep = st.Step
	}
	curve, err := steplog.Open(j.OutDir, resumeStep, st.Curve, steplog.Every(total))
	if err != nil {
		return nil, err
	}
	defer curve.Close()
	prog := NewProgress(log, j.Name, total, st.Step)
	began := time.Now()
	secondsBefore := st.Seconds
	save := func() error {
		st.Pos = it.Pos()
		st.Seconds = secondsBefore + time.Since(began).Seconds()
		st.Curve = curve.State()
		if err := curve.Flush(); err != nil {
			return err
		}
		return WriteSnapshot(snapDir, st, func(tmp string) error {
			if err := m.Save(tmp, j.TokenizerDir); err != nil {
				return err
			}
			if len(j.Extra) > 0 {
				if err := SaveNamed(filepath.Join(tmp, "extra.safetensors"), j.Extra); err != nil {
					return err
				}
			}
			return SaveOptimizer(opt, tmp, "optimizer")
		})
	}
	var lossSum float64
	var lossN int
	// evalKeep scores the model on every evaluation set and keeps it when it
	// beats the best so far (strictly, as the authors' trainer).
	evalKeep := func() error {
		ev, err := Evaluate(m, nil, j.Data, EvalBatch(batch))
		if err != nil {
			return err
		}
		score, ok := ev[j.Data.Select]
		if !ok {
			return fmt.Errorf("evaluation produced no %s (got %v)", j.Data.Select, keys(ev))
		}
		if lossN > 0 {
			fmt.Fprintf(log, "eval step %d: %s | train loss %.4f\n", st.Step, FormatMetrics(ev), lossSum/float64(lossN))
		} else {
			fmt.Fprintf(log, "eval step %d: %s\n", st.Step, FormatMetrics(ev))
		}
		if err := curve.Eval(steplog.Line{Step: st.Step, Eval: ev}); err != nil {
			return err
		}
		lossSum, lossN = 0, 0
		if st.HasBest && score <= st.Best {
			return nil
		}
		st.HasBest, st.Best, st.BestStep, st.BestEval = true, score, st.Step, ev
		if err := SaveModelAtomic(m, filepath.Join(j.OutDir, "model"), j.TokenizerDir); err != nil {
			return err
		}
		if len(j.Extra) > 0 {
			if err := SaveNamed(filepath.Join(j.OutDir, "extra.safetensors"), j.Extra); err != nil {
				return err
			}
		}
		fmt.Fprintf(log, "new best %s %.2f at step %d, saved %s\n", j.Data.Select, score, st.Step, filepath.Join(j.OutDir, "model"))
		return nil
	}
	if b, _ := p["eval_at_start"].(bool); b && st.Step == 0 {
		// The authors' trainer evaluates before training (trainer.py:250) and,
		// keeping checkpoints from the start, may keep the starting model.
		if err := evalKeep(); err != nil {
			return nil, err
		}
	}
	for st.Step < total {
		if ctx.Err() != nil {
			if err := save(); err != nil {
				return nil, err
			}
			fmt.Fprintf(log, "interrupted at step %d; snapshot saved, rerun to resume\n", st.Step)
			return nil, ctx.Err()
		}
		b := it.Next()
		var loss float64
		stepLR := lr * sched.Factor(st.Step)
		err := torch.Catch(func() error {
			s := torch.NewScope()
			defer s.Close()
			torch.Seed(StepSeed(seed, st.Step)) // dropout of this step: a function of (seed, step) only
			optim.ZeroGrad(clipped)
			l := j.Loss(m, Input(b, m.Device), b)
			loss = l.Item()
			if math.IsNaN(loss) || math.IsInf(loss, 0) {
				return fmt.Errorf("step %d: %w (%v)", st.Step+1, stage.ErrNaN, loss)
			}
			l.Backward()
			optim.ClipGradNorm(clipped, clip)
			opt.Step(stepLR)
			return nil
		})
		if err != nil {
			return nil, err
		}
		st.Step++
		lossSum += loss
		lossN++
		curve.Add(map[string]float64{"loss": loss})
		if curve.Due(st.Step, total) {
			if err := curve.Step(steplog.Line{Step: st.Step, LR: steplog.F(stepLR)}); err != nil {
				return nil, err
			}
		}
		prog.Step(st.Step, false, fmt.Sprintf("loss %.4f lr %.2e", lossSum/float64(lossN), lr*sched.Factor(st.Step)))
		if st.Step%evalEvery == 0 || (st.Step == total && boolParam(p, "eval_at_end")) {
			if err := evalKeep(); err != nil {
				return nil, err
			}
			if err := save(); err != nil {
				return nil, err
			}
		}
	}
	if !st.HasBest {
		return nil, fmt.Errorf("no evaluation in %d steps (eval_every %d, eval_at_start and eval_at_end off): nothing to keep", st.Step, evalEvery)
	}
	if err := curve.Close(); err != nil {
		return nil, err
	}
	res := &record.Result{
		Kind: j.Kind, Task: j.Task.Name, Metrics: st.BestEval, Model: "model", Size: m.SizeRecord(), Structure: m.StructureRecord(),
		Train: &record.Train{Steps: st.Step, Epochs: float64(st.Step) / float64(perEpoch), Seconds: secondsBefore + time.Since(began).Seconds(),
			BestStep: st.BestStep, BestMetric: j.Data.Select, Seed: seed, Threads: j.Info.Threads, Device: j.Info.Name},
	}
	res.Train.SetResumed(resumedFrom, st.Resumes)
	res.DataIssues = j.Data.Issues
	res.Train.SecondsPerStep = res.Train.Seconds / float64(max(1, st.Step))
	return res, nil
}
