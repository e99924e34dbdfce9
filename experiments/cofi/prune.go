//go:build torch

package cofi

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"time"

	"github.com/cofiharness/cofi/experiments/bert"
	"github.com/cofiharness/cofi/experiments/data"
	"github.com/cofiharness/cofi/experiments/optim"
	"github.com/cofiharness/cofi/experiments/torch"
	"github.com/cofiharness/cofi/experiments/train"
	"github.com/cofiharness/cofi/hparams"
	"github.com/cofiharness/cofi/method"
	"github.com/cofiharness/cofi/record"
	"github.com/cofiharness/cofi/record/steplog"
	"github.com/cofiharness/cofi/stage"
	"github.com/cofiharness/cofi/task"
)

// PruneConfig configures the pruning stage.
type PruneConfig struct {
	Task       task.Task
	DataDir    string
	TeacherDir string // fine-tuned teacher (unused when the switches turn distillation off)
	StudentDir string // where the student starts: the pre-trained model (paper) or the teacher
	OutDir     string // model/ (compact), distill.safetensors, best/, checkpoint/
	Params     record.Params
	Switches   method.Switches
	Env        train.Env
}

// pruneState is what a snapshot needs to resume.
type pruneState struct {
	Step       int                `json:"step"`
	Pos        data.Position      `json:"pos"`
	Pruning    bool               `json:"pruning"`
	HasBest    bool               `json:"has_best"`
	Best       float64            `json:"best"`
	BestStep   int                `json:"best_step"`
	BestEval   map[string]float64 `json:"best_eval"`
	BestSparse float64            `json:"best_expected_sparsity"`
	Reached    bool               `json:"reached_target,omitempty"` // the expected sparsity has reached target − ε at an evaluation
	Seconds    float64            `json:"seconds"`
	Resumes    int                `json:"resumes,omitempty"` // times a run continued from a snapshot
	Curve      steplog.Acc        `json:"curve"`             // running means of the curve file
}

// distiller bundles the teacher and the distillation settings.
type distiller struct {
	teacher    *bert.Model
	layer      *LayerDistiller
	sw         method.Switches
	temp       float64
	alphaPred  float64
	alphaLayer float64
	released   bool // v4 presence test of the released code (z_MHA only)
	regKL      bool // regression: the released KL over one logit (identically zero) instead of MSE
	// terms are the weighted distillation terms of the last loss, for the
	// training curve ("pred", "layer"); read before the next call.
	terms map[string]float64
}

// loss is the training loss of one batch (without the Lagrangian term).
func (d *distiller) loss(kind task.Kind, student *bert.Model, masks *bert.Masks, in bert.Input, b data.Batch) *torch.Tensor {
	wantHidden := d.sw.LayerDistill
	out := student.Forward(in, masks, true, wantHidden)
	d.terms = map[string]float64{}
	if d.sw.GoldLabels || d.teacher == nil {
		return train.GoldLoss(kind, out.Logits, b, student.Device)
	}
	var tout bert.Output
	torch.NoGrad(func() { tout = d.teacher.Forward(in, nil, false, wantHidden) })
	var loss *torch.Tensor
	if d.sw.PredDistill {
		if kind == task.Regression && d.regKL {
			loss = ReleasedRegressionPredLoss(out.Logits, tout.Logits, d.temp).MulScalar(d.alphaPred)
		} else {
			loss = PredLoss(kind, out.Logits, tout.Logits, d.temp).MulScalar(d.alphaPred)
		}
		d.terms["pred"] = loss.Item()
	}
	if d.sw.LayerDistill {
		var mha []float64
		if d.released && masks != nil && masks.MHA != nil {
			mha = vec(masks.MHA.Detach())
		}
		present := Present(student, masks, mha, d.released)
		ll, _ := d.layer.Loss(out.Hidden, tout.Hidden, present)
		ll = ll.MulScalar(d.alphaLayer)
		d.terms["layer"] = ll.Item()
		if loss == nil {
			loss = ll
		} else {
			loss = loss.Add(ll)
		}
	}
	if loss == nil {
		return train.GoldLoss(kind, out.Logits, b, student.Device)
	}
	return loss
}

// Prune runs CoFi's pruning stage: distillation-only pre-finetuning, then
// pruning with hard-concrete masks under the Lagrangian sparsity constraint,
// evaluating with deterministic masks and keeping the best checkpoint once
// the expected sparsity reaches target − ε; finally folds the best masks into
// the weights and saves the compact model. It resumes from its snapshot.
func Prune(ctx context.Context, c PruneConfig) (*record.Result, error) {
	p := c.Params
	log := c.Env.Writer()
	seed := int64(hparams.Int(p, "seed"))
	info, err := c.Env.Start(seed)
	if err != nil {
		return nil, err
	}
	dev := info.Device
	needTeacher := !c.Switches.GoldLabels && (c.Switches.PredDistill || c.Switches.LayerDistill)
	labelDir := c.StudentDir
	if needTeacher {
		labelDir = c.TeacherDir
	}
	td, err := train.ForModel(c.Task, labelDir, c.DataDir, train.OptionsFrom(p, true))
	if err != nil {
		return nil, err
	}
	labels := td.Labels
	fmt.Fprintf(log, "%s: %d train features, eval %s\n", c.Task.Name, td.Train.Len(), train.DescribeEval(td))

	rounding, err := ParseRounding(hparams.String(p, "round"))
	if err != nil {
		return nil, err
	}
	rule, err := ParseLayerMatch(hparams.String(p, "layer_match"))
	if err != nil {
		return nil, err
	}
	if c.Switches.FixedLayers {
		rule = MatchFixed
	}
	released := false
	switch hparams.String(p, "layer_presence") {
	case "paper":
	case "released":
		released = true
	default:
		return nil, fmt.Errorf("layer_presence %q: want paper or released", hparams.String(p, "layer_presence"))
	}

	snapDir := filepath.Join(c.OutDir, "checkpoint")
	var st pruneState
	snap, err := train.ReadSnapshot(snapDir, &st)
	switch {
	case err == nil:
		fmt.Fprintf(log, "resuming from %s at step %d (pruning: %v)\n", snap, st.Step, st.Pruning)
	case errors.Is(err, train.ErrNoSnapshot):
	default:
		return nil, err
	}
	startDir := c.StudentDir
	switch hparams.String(p, "student_init") {
	case "pretrained":
	case "teacher":
		startDir = c.TeacherDir
	default:
		return nil, fmt.Errorf("student_init %q: want pretrained or teacher", hparams.String(p, "student_init"))
	}
	if snap != "" {
		startDir = snap
	}
	torch.Seed(train.StepSeed(seed, train.InitStep)) // a missing head's init: the same whatever was loaded before
	student, err := train.LoadModel(c.Task, startDir, labels, dev, log)
	if err != nil {
		return nil, fmt.Errorf("%w: student: %v", stage.ErrMissingInput, err)
	}
	defer student.Free()
	// freeze_embeddings, clip_frozen: the released code never trains the
	// embeddings but counts their gradients in the clip.
	trainables := train.Trainables(student, p)
	regKL, err := regressionKL(p)
	if err != nil {
		return nil, err
	}
	fold, err := ParseFoldMode(hparams.String(p, "fold"))
	if err != nil {
		return nil, err
	}
	var clampStart, biasOfEmpty, tiesLater, gateOnce bool
	switch v := hparams.String(p, "select_ties"); v {
	case "later":
		tiesLater = true
	case "earlier":
	default:
		return nil, fmt.Errorf("select_ties %q: want earlier or later", v)
	}
	switch v := hparams.String(p, "sparsity_gate"); v {
	case "once":
		gateOnce = true
	case "every":
	default:
		return nil, fmt.Errorf("sparsity_gate %q: want once or every", v)
	}
	switch v := hparams.String(p, "clamp_from"); v {
	case "start":
		clampStart = true
	case "pruning":
	default:
		return nil, fmt.Errorf("clamp_from %q: want start or pruning", v)
	}
	switch v := hparams.String(p, "empty_sublayer"); v {
	case "skip":
	case "bias":
		biasOfEmpty = true
	default:
		return nil, fmt.Errorf("empty_sublayer %q: want skip or bias", v)
	}

	dist := &distiller{sw: c.Switches, temp: hparams.Float(p, "temperature"), alphaPred: hparams.Float(p, "alpha_pred"),
		alphaLayer: hparams.Float(p, "alpha_layer"), released: released, regKL: regKL}
	if needTeacher {
		torch.Seed(train.StepSeed(seed, train.InitStep))
		dist.teacher, err = train.LoadModel(c.Task, c.TeacherDir, labels, dev, log)
		if err != nil {
			return nil, fmt.Errorf("%w: teacher: %v", stage.ErrMissingInput, err)
		}
		defer dist.teacher.Free()
		dist.teacher.SetRequiresGrad(false, false)
	}
	dims := Dims{Layers: len(student.Layers), Hidden: student.Hidden, Heads: student.Config.NumAttentionHeads, Inter: student.Config.IntermediateSize}
	for _, l := range student.Layers {
		if l.Heads != dims.Heads || l.Inter != dims.Inter {
			return nil, fmt.Errorf("student %s is already pruned; CoFi starts from an unpruned model", startDir)
		}
	}
	dist.layer = NewLayerDistiller(student.Hidden, dims.Layers, rule, dev)
	if dist.teacher != nil && dist.teacher.Hidden != student.Hidden {
		return nil, fmt.Errorf("teacher hidden size %d differs from the student's %d", dist.teacher.Hidden, student.Hidden)
	}
	defer dist.layer.Free()
	l0, err := NewL0(dims, c.Switches.LayerMasks, c.Switches.HiddenMask, ZIntInit(hparams.String(p, "zint_init")), dev)
	if err != nil {
		return nil, err
	}
	defer l0.Free()
	l0.BiasOfEmpty = biasOfEmpty
	lag := NewLagrangian(dev)
	defer lag.Free()

	batch := hparams.Int(p, "batch")
	it, err := td.Train.Iterator(data.IterOptions{BatchSize: batch, Shuffle: true, Seed: seed})
	if err != nil {
		return nil, err
	}
	perEpoch := it.StepsPerEpoch()
	total := int(math.Ceil(hparams.Float(p, "epochs") * float64(perEpoch)))
	if ms := hparams.Int(p, "max_steps"); ms > 0 {
		total = min(total, ms)
	}
	pruneStart := int(math.Round(hparams.Float(p, "prepruning_epochs") * float64(perEpoch)))
	if s := hparams.Int(p, "prepruning_steps"); s > 0 {
		pruneStart = s
	}
	pruneStart = min(pruneStart, total)
	warmup := int(math.Round(hparams.Float(p, "sparsity_warmup_epochs") * float64(perEpoch)))
	target := hparams.Float(p, "target_sparsity")
	eps := hparams.Float(p, "sparsity_epsilon")
	within := hparams.Float(p, "select_within")
	evalEvery := hparams.Int(p, "eval_every")
	if evalEvery <= 0 {
		evalEvery = perEpoch
	}
	keepRule := SelectRule{Target: target, Epsilon: eps, Within: within, TiesLater: tiesLater, GateOnce: gateOnce}
	lr := hparams.Float(p, "lr")
	regLR := hparams.Float(p, "reg_lr")
	clip := hparams.Float(p, "grad_clip")
	fmt.Fprintf(log, "plan: %d steps (%d per epoch), distillation only until step %d, target sparsity %.3f reached at step %d\n",
		total, perEpoch, pruneStart, target, pruneStart+warmup)

	weights := append(trainables.Optimised, dist.layer.Params()...)
	clipped := append(trainables.Clipped, dist.layer.Params()...)
	newMain := func() (*optim.AdamW, optim.Schedule) {
		if st.Pruning || st.Step >= pruneStart {
			// The main optimiser and its schedule restart when pruning starts.
			return optim.NewAdamW(weights, hparams.Float(p, "weight_decay")), offset{optim.Linear{Total: total - pruneStart}, pruneStart}
		}
		return optim.NewAdamW(weights, hparams.Float(p, "weight_decay")), optim.Linear{Total: total}
	}
	mainOpt, sched := newMain()
	defer func() { mainOpt.Free() }()
	l0Opt := optim.NewAdamW(l0.Params(), 0)
	defer l0Opt.Free()
	lagOpt := optim.NewAdamW(lag.Params(), 0)
	defer lagOpt.Free()
	if snap != "" {
		for _, x := range []struct {
			o    *optim.AdamW
			name string
		}{{mainOpt, "optimizer"}, {l0Opt, "l0_optimizer"}, {lagOpt, "lagrangian_optimizer"}} {
			if err := train.RestoreOptimizer(x.o, snap, x.name); err != nil {
				return nil, err
			}
		}
		if err := train.LoadNamed(filepath.Join(snap, "cofi.safetensors"), append(append(l0.Params(), lag.Params()...), dist.layer.Params()...)); err != nil {
			return nil, fmt.Errorf("resume: %w", err)
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

	// The training curve (metrics.jsonl): cut back to the snapshot's step on resume.
	resumeStep := -1
	if snap != "" {
		resumeStep = st.Step
	}
	curve, err := steplog.Open(c.OutDir, resumeStep, st.Curve, steplog.Every(total))
	if err != nil {
		return nil, err
	}
	defer curve.Close()
	prog := train.NewProgress(log, "prune "+c.Task.Name, total, st.Step)
	began := time.Now()
	secondsBefore := st.Seconds
	cofiParams := func() []optim.Named { return append(append(l0.Params(), lag.Params()...), dist.layer.Params()...) }
	writeState := func(dir string) error {
		if err := student.Save(dir, labelDir); err != nil {
			return err
		}
		return train.SaveNamed(filepath.Join(dir, "cofi.safetensors"), cofiParams())
	}
	save := func() error {
		st.Pos = it.Pos()
		st.Seconds = secondsBefore + time.Since(began).Seconds()
		st.Curve = curve.State()
		if err := curve.Flush(); err != nil {
			return err
		}
		return train.WriteSnapshot(snapDir, st, func(tmp string) error {
			if err := writeState(tmp); err != nil {
				return err
			}
			for _, x := range []struct {
				o    *optim.AdamW
				name string
			}{{mainOpt, "optimizer"}, {l0Opt, "l0_optimizer"}, {lagOpt, "lagrangian_optimizer"}} {
				if err := train.SaveOptimizer(x.o, tmp, x.name); err != nil {
					return err
				}
			}
			return nil
		})
	}
	var lossSum, lagSum float64
	var lossN int
	var expected float64
	for st.Step < total {
		if ctx.Err() != nil {
			if err := save(); err != nil {
				return nil, err
			}
			fmt.Fprintf(log, "interrupted at step %d; snapshot saved, rerun to resume\n", st.Step)
			return nil, ctx.Err()
		}
		if !st.Pruning && st.Step >= pruneStart {
			st.Pruning = true
			mainOpt.Free()
			mainOpt, sched = newMain()
			fmt.Fprintf(log, "step %d: pruning starts (main optimiser and schedule restarted)\n", st.Step)
		}
		b := it.Next()
		var loss, lagLoss float64
		stepLR := lr * sched.Factor(st.Step)
		err := torch.Catch(func() error {
			s := torch.NewScope()
			defer s.Close()
			// Dropout and hard-concrete noise of this step: a function of
			// (seed, step) only, so a resumed run is bit-identical.
			torch.Seed(train.StepSeed(seed, st.Step))
			optim.ZeroGrad(clipped)
			optim.ZeroGrad(l0.Params())
			optim.ZeroGrad(lag.Params())
			var masks *bert.Masks
			if st.Pruning {
				masks = l0.Sample()
			}
			in := train.Input(b, dev)
			l := dist.loss(c.Task.Kind, student, masks, in, b)
			if st.Pruning {
				es := l0.ExpectedSparsity()
				t := TargetSparsity(target, st.Step, pruneStart, warmup)
				lc := lag.Loss(es, t)
				lagLoss = lc.Item()
				expected = es.Item()
				l = l.Add(lc)
			}
			loss = l.Item()
			if math.IsNaN(loss) || math.IsInf(loss, 0) {
				return fmt.Errorf("step %d: %w (%v)", st.Step+1, stage.ErrNaN, loss)
			}
			l.Backward()
			optim.ClipGradNorm(clipped, clip) // log_alpha and λ are not clipped
			mainOpt.Step(stepLR)
			if st.Pruning {
				l0Opt.Step(regLR)
				lagOpt.Step(-regLR) // gradient ascent on λ1, λ2
			}
			if st.Pruning || clampStart {
				l0.Clamp() // clamp_from = start: from the first step, as the released trainer (trainer.py:311)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		st.Step++
		lossSum += loss
		lagSum += lagLoss
		lossN++
		terms := map[string]float64{"loss": loss}
		for k, v := range dist.terms {
			terms[k] = v
		}
		extra := fmt.Sprintf("loss %.4f", lossSum/float64(lossN))
		line := steplog.Line{Step: st.Step, Phase: "distill", LR: steplog.F(stepLR)}
		if st.Pruning {
			terms["lagrangian"] = lagLoss
			// The target of the step just taken, and λ after its update.
			tgt, l1, l2 := TargetSparsity(target, st.Step-1, pruneStart, warmup), lag.L1.Item(), lag.L2.Item()
			line.Phase, line.ExpectedSparsity, line.TargetSparsity, line.Lambda1, line.Lambda2 = "prune", steplog.F(expected), steplog.F(tgt), steplog.F(l1), steplog.F(l2)
			extra += fmt.Sprintf(" lagrangian %.4f expected sparsity %.3f target %.3f λ1 %.3f λ2 %.3f", lagSum/float64(lossN), expected,
				TargetSparsity(target, st.Step, pruneStart, warmup), l1, l2)
		}
		curve.Add(terms)
		if curve.Due(st.Step, total) {
			if err := curve.Step(line); err != nil {
				return nil, err
			}
		}
		prog.Step(st.Step, false, extra)
		if st.Step%evalEvery == 0 || (st.Step == total && boolParam(p, "eval_at_end")) {
			ev, es, cs, err := evaluate(student, l0, st.Pruning, rounding, td, batch)
			if err != nil {
				return nil, err
			}
			fmt.Fprintf(log, "eval step %d: %s | expected sparsity %.4f, compact model %.4f | %s\n", st.Step, train.FormatMetrics(ev), es, cs, extra)
			el := steplog.Line{Step: st.Step, Eval: ev}
			if st.Pruning {
				el.ExpectedSparsity, el.CompactSparsity = steplog.F(es), steplog.F(cs)
			}
			if err := curve.Eval(el); err != nil {
				return nil, err
			}
			lossSum, lagSum, lossN = 0, 0, 0
			score := ev[td.Select]
			// Only checkpoints at (nearly) the target sparsity can be the
			// result (and, with select_within, whose compact model is near
			// it); see SelectRule.
			if keepRule.Keep(&st.Reached, st.Pruning, st.HasBest, st.Best, es, cs, score) {
				st.HasBest, st.Best, st.BestStep, st.BestEval, st.BestSparse = true, score, st.Step, ev, es
				if err := train.WriteSnapshot(filepath.Join(c.OutDir, "best"), st, writeState); err != nil {
					return nil, err
				}
				fmt.Fprintf(log, "new best %s %.2f at step %d (expected sparsity %.4f)\n", td.Select, score, st.Step, es)
			}
			if err := save(); err != nil {
				return nil, err
			}
		}
	}

	if err := curve.Close(); err != nil {
		return nil, err
	}
	var notes []string
	var bestState pruneState
	if dir, err := train.ReadSnapshot(filepath.Join(c.OutDir, "best"), &bestState); err == nil {
		if err := train.LoadNamed(filepath.Join(dir, "cofi.safetensors"), cofiParams()); err != nil {
			return nil, err
		}
		best, err := train.LoadModel(c.Task, dir, labels, dev, log)
		if err != nil {
			return nil, err
		}
		defer best.Free()
		student = best
	} else {
		notes = append(notes, fmt.Sprintf("no evaluation met the selection rule (expected sparsity ≥ target %.3f − ε %.3f%s); the compact model uses the last step's masks (expected sparsity %.4f)", target, eps, withinNote(within), l0.Dims.ExpectedSparsity(l0.Probs())))
		fmt.Fprintln(log, "warning:", notes[len(notes)-1])
	}
	h := l0.Deterministic(rounding)
	compact := FoldWith(student, h, dist.layer, fold)
	defer compact.Free()
	modelDir := filepath.Join(c.OutDir, "model")
	if err := train.SaveModelAtomic(compact, modelDir, labelDir); err != nil {
		return nil, err
	}
	if err := train.SaveNamed(filepath.Join(c.OutDir, "distill.safetensors"), dist.layer.Params()); err != nil {
		return nil, err
	}
	ev, err := train.Evaluate(compact, nil, td, train.EvalBatch(batch))
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(log, "compact model: %s | %s\n", train.FormatMetrics(ev), describeStructure(compact))
	res := &record.Result{Kind: record.KindPrune, Task: c.Task.Name, Metrics: ev, Model: "model", Notes: notes,
		Size: compact.SizeRecord(), Structure: compact.StructureRecord(),
		Train: &record.Train{Steps: st.Step, Epochs: float64(st.Step) / float64(perEpoch), Seconds: secondsBefore + time.Since(began).Seconds(),
			BestStep: st.BestStep, BestMetric: td.Select, Seed: seed, Threads: info.Threads, Device: info.Name}}
	res.Train.SetResumed(resumedFrom, st.Resumes)
	res.DataIssues = td.Issues
	res.Size.TargetSparsity = target
	res.Size.ExpectedSparsity = l0.Dims.ExpectedSparsity(l0.Probs())
	return res, nil
}

func boolParam(p record.Params, name string) bool {
	b, _ := p[name].(bool)
	return b
}

func withinNote(w float64) string {
	if w <= 0 {
		return ""
	}
	return fmt.Sprintf(", compact-model sparsity within %.3f of the target", w)
}

// offset shifts a schedule so that it starts at step start.
type offset struct {
	optim.Schedule
	start int
}

func (o offset) Factor(step int) float64 { return o.Schedule.Factor(step - o.start) }

// evaluate scores the student with deterministic masks (while pruning) and
// returns the metrics, the expected sparsity and the sparsity of the compact
// model those masks would give.
func evaluate(m *bert.Model, l0 *L0, pruning bool, r Rounding, td *train.TaskData, batch int) (map[string]float64, float64, float64, error) {
	if !pruning {
		ev, err := train.Evaluate(m, nil, td, train.EvalBatch(batch))
		return ev, 0, 0, err
	}
	h := l0.Deterministic(r)
	ev, err := train.Evaluate(m, func() *bert.Masks { return l0.EvalMasks(h, m.Device) }, td, train.EvalBatch(batch))
	heads, inter, hidden := h.Kept(m.Config.NumAttentionHeads, m.Config.IntermediateSize, m.Hidden)
	full := m.SizeRecord().FullParams
	compact := 1 - float64(bert.EncoderSize(hidden, m.HeadDim, heads, inter))/float64(full)
	return ev, l0.Dims.ExpectedSparsity(l0.Probs()), compact, err
}

func describeStructure(m *bert.Model) string {
	heads, inter, hidden := m.Structure()
	return fmt.Sprintf("heads %v, FFN units %v, hidden %d, %d encoder parameters", heads, inter, hidden, m.EncoderSize())
}
