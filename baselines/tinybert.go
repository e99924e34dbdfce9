//go:build torch

package baselines

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/cofiharness/cofi/experiments/bert"
	"github.com/cofiharness/cofi/experiments/checkpoint"
	"github.com/cofiharness/cofi/experiments/data"
	"github.com/cofiharness/cofi/experiments/optim"
	"github.com/cofiharness/cofi/experiments/tokenize"
	"github.com/cofiharness/cofi/experiments/torch"
	"github.com/cofiharness/cofi/experiments/train"
	"github.com/cofiharness/cofi/hparams"
	"github.com/cofiharness/cofi/record"
	"github.com/cofiharness/cofi/stage"
	"github.com/cofiharness/cofi/task"
)

// LayerConfig configures TinyBERT's step 1, intermediate-layer distillation.
type LayerConfig struct {
	Task       task.Task
	DataDir    string // data root (the task's, or an augment stage's)
	TeacherDir string // the fine-tuned teacher (its tokenizer encodes the data)
	// StudentDir is the general-distilled checkpoint to start from; "" starts
	// from random initialisation with the shape of the hyperparameters
	// (TinyBERT w/o GD).
	StudentDir string
	OutDir     string        // model/ (the last model), extra.safetensors (projections), checkpoint/
	Params     record.Params // package hparams, kind tinybert-layer
	Env        train.Env
}

// PredConfig configures TinyBERT's step 2, prediction-layer distillation.
type PredConfig struct {
	Task       task.Task
	DataDir    string
	TeacherDir string
	StartDir   string        // step 1's model
	OutDir     string        // model/ (best on dev), checkpoint/
	Params     record.Params // package hparams, kind tinybert-pred
	Env        train.Env
}

// teacherFor loads the frozen teacher and the task's data encoded with its
// tokenizer and labels.
func teacherFor(t task.Task, teacherDir, dataDir string, p record.Params, info torch.Info, env train.Env) (*bert.Model, *train.TaskData, error) {
	td, err := train.ForModel(t, teacherDir, dataDir, train.OptionsFrom(p, true))
	if err != nil {
		return nil, nil, err
	}
	teacher, err := train.LoadModel(t, teacherDir, td.Labels, info.Device, env.Writer())
	if err != nil {
		return nil, nil, fmt.Errorf("%w: teacher: %v", stage.ErrMissingInput, err)
	}
	teacher.SetRequiresGrad(false, false)
	if t.Kind == task.Span {
		teacher.Free()
		return nil, nil, fmt.Errorf("TinyBERT's task distillation has no span-QA path (task %s)", t.Name)
	}
	return teacher, td, nil
}

// teacherTrains reads teacher_mode: whether the teacher runs with dropout.
func teacherTrains(p record.Params) (bool, error) {
	switch m := hparams.String(p, "teacher_mode"); m {
	case "train":
		return true, nil
	case "eval":
		return false, nil
	default:
		return false, fmt.Errorf("teacher_mode %q: want train or eval", m)
	}
}

// padding reads padding: the pad length and whether to drop short batches.
func padding(p record.Params) (padTo int, dropLast bool, err error) {
	switch m := hparams.String(p, "padding"); m {
	case "max_length":
		return hparams.Int(p, "seq_len"), true, nil
	case "longest":
		return 0, false, nil
	default:
		return 0, false, fmt.Errorf("padding %q: want max_length or longest", m)
	}
}

// studentConfig is the teacher's configuration with the student's shape.
func studentConfig(teacher checkpoint.Config, p record.Params) checkpoint.Config {
	c := teacher
	c.NumHiddenLayers, c.HiddenSize, c.IntermediateSize, c.NumAttentionHeads =
		hparams.Int(p, "layers"), hparams.Int(p, "hidden"), hparams.Int(p, "intermediate"), hparams.Int(p, "heads")
	c.Architectures, c.Extra = nil, nil
	return c
}

// checkShape compares a general-distilled checkpoint with the shape the
// hyperparameters give (they are part of the stage's identity, so they must
// describe the model that is trained).
func checkShape(dir string, got, want checkpoint.Config) error {
	type dim struct {
		name      string
		got, want int
	}
	for _, d := range []dim{{"layers", got.NumHiddenLayers, want.NumHiddenLayers}, {"hidden", got.HiddenSize, want.HiddenSize},
		{"intermediate", got.IntermediateSize, want.IntermediateSize}, {"heads", got.NumAttentionHeads, want.NumAttentionHeads}} {
		if d.got != d.want {
			return fmt.Errorf("general-distilled checkpoint %s has %s = %d, but the stage's hyperparameter %s is %d: set tinybert-layer.%s = %d (or use the matching checkpoint)",
				dir, d.name, d.got, d.name, d.want, d.name, d.got)
		}
	}
	if got.VocabSize != want.VocabSize {
		return fmt.Errorf("general-distilled checkpoint %s has a vocabulary of %d, the teacher %d: both read the same token ids", dir, got.VocabSize, want.VocabSize)
	}
	return nil
}

// sameVocab checks that a checkpoint's vocab.txt, when it has one, is the teacher's.
func sameVocab(studentDir, teacherDir string) error {
	if _, err := os.Stat(filepath.Join(studentDir, "vocab.txt")); err != nil {
		return nil
	}
	a, err := tokenize.Load(studentDir)
	if err != nil {
		return fmt.Errorf("%w: student tokenizer: %v", stage.ErrMissingInput, err)
	}
	b, err := tokenize.Load(teacherDir)
	if err != nil {
		return fmt.Errorf("%w: teacher tokenizer: %v", stage.ErrMissingInput, err)
	}
	if !slices.Equal(a.Vocab(), b.Vocab()) {
		return fmt.Errorf("the vocabularies of %s and of the teacher %s differ: TinyBERT feeds the same token ids to both", studentDir, teacherDir)
	}
	return nil
}

// projections are TinyBERT's learned maps from the student's hidden size to
// the teacher's: one shared fit_dense (task_distill.py) or one per student
// representation (the fit_denses.N of the v2 general checkpoints).
type projections struct {
	lin   []*bert.Linear // one, or one per representation
	names []string       // tensor name prefixes ("fit_dense", "fit_denses.0", ...)
	notes []string
}

// newProjections makes the projections, from the checkpoint's tensors when
// it has them (raw may be nil), else N(0, std) with bias 0 as BERT's
// init_bert_weights draws nn.Linear weights.
func newProjections(mode string, reps int, ds, dt int64, std float64, raw map[string]checkpoint.Raw, dev torch.Device) (*projections, error) {
	pr := &projections{}
	switch mode {
	case "shared":
		pr.names = []string{"fit_dense"}
	case "per-layer":
		for i := 0; i < reps; i++ {
			pr.names = append(pr.names, fmt.Sprintf("fit_denses.%d", i))
		}
	default:
		return nil, fmt.Errorf("projection %q: want shared or per-layer", mode)
	}
	loaded := 0
	for _, n := range pr.names {
		w := torch.Zeros([]int64{dt, ds}, torch.Float32, dev).Detached()
		b := torch.Zeros([]int64{dt}, torch.Float32, dev).Detached()
		rw, okW := raw[n+".weight"]
		rb, okB := raw[n+".bias"]
		if okW && okB {
			if !slices.Equal(rw.Shape, []int64{dt, ds}) || !slices.Equal(rb.Shape, []int64{dt}) {
				w.Free()
				b.Free()
				pr.free()
				return nil, fmt.Errorf("checkpoint tensor %s.weight has shape %v, want [%d %d]", n, rw.Shape, dt, ds)
			}
			vw, err1 := rw.Float32()
			vb, err2 := rb.Float32()
			if err1 != nil || err2 != nil {
				w.Free()
				b.Free()
				pr.free()
				return nil, fmt.Errorf("checkpoint tensor %s: %v %v", n, err1, err2)
			}
			torch.NoGrad(func() {
				s := torch.NewScope()
				defer s.Close()
				w.Copy_(torch.FromFloat32(vw, []int64{dt, ds}, dev))
				b.Copy_(torch.FromFloat32(vb, []int64{dt}, dev))
			})
			loaded++
		} else {
			w.Normal_(0, std)
		}
		w.SetRequiresGrad(true)
		b.SetRequiresGrad(true)
		pr.lin = append(pr.lin, &bert.Linear{W: w, B: b})
	}
	var have []string
	for k := range raw {
		if strings.HasPrefix(k, "fit_dense") {
			have = append(have, k)
		}
	}
	switch {
	case loaded == len(pr.names):
		what := pr.names[0]
		if len(pr.names) > 1 {
			what = fmt.Sprintf("%s to %s", pr.names[0], pr.names[len(pr.names)-1])
		}
		pr.notes = append(pr.notes, fmt.Sprintf("projection (%s) initialised from the checkpoint's %s", mode, what))
	case loaded > 0:
		pr.notes = append(pr.notes, fmt.Sprintf("projection (%s): %d of %d initialised from the checkpoint, the others N(0, %g)", mode, loaded, len(pr.names), std))
	default:
		note := fmt.Sprintf("projection (%s) initialised N(0, %g), bias 0", mode, std)
		if len(have) > 0 {
			note += fmt.Sprintf(" (the checkpoint's %d fit_dense* tensors do not match it; task_distill.py ignores them the same way)", len(have))
		}
		pr.notes = append(pr.notes, note)
	}
	return pr, nil
}

// at returns the projection of representation i.
func (pr *projections) at(i int) *bert.Linear {
	if len(pr.lin) == 1 {
		return pr.lin[0]
	}
	return pr.lin[i]
}

func (pr *projections) params() []optim.Named {
	var out []optim.Named
	for i, l := range pr.lin {
		out = append(out, optim.Named{Name: pr.names[i] + ".weight", T: l.W, Decay: true}, optim.Named{Name: pr.names[i] + ".bias", T: l.B})
	}
	return out
}

func (pr *projections) free() {
	for _, l := range pr.lin {
		l.W.Free()
		l.B.Free()
	}
}

// AttentionLoss is TinyBERT's attention-score loss for one layer pair: the
// MSE between the student's and the teacher's unnormalised attention scores
// (bert.Output.Scores), where every score at or below -100 (the -10000 added
// on padded keys) is set to 0 on both sides first, as task_distill.py does.
// The mean runs over every element, padded rows and columns included.
func AttentionLoss(student, teacher *torch.Tensor) *torch.Tensor {
	s := student.MaskedFill(student.LeScalar(-100), 0)
	t := teacher.Detach()
	t = t.MaskedFill(t.LeScalar(-100), 0)
	return torch.MSE(s, t)
}

// LayerLoss is step 1's loss: Σ over the student's layers of the attention
// loss against teacher layer (i+1)·k (k = teacher layers / student layers,
// 1-based), plus Σ over the student's L+1 representations (embeddings, then
// each layer) of MSE(W·h_s^j, h_t^{j·k}).
func LayerLoss(s, t bert.Output, proj func(j int) *bert.Linear) *torch.Tensor {
	ls, lt := len(s.Scores), len(t.Scores)
	k := lt / ls
	var loss *torch.Tensor
	add := func(x *torch.Tensor) {
		if loss == nil {
			loss = x
		} else {
			loss = loss.Add(x)
		}
	}
	for i := 0; i < ls; i++ {
		add(AttentionLoss(s.Scores[i], t.Scores[i*k+k-1]))
	}
	for j := 0; j <= ls; j++ {
		p := proj(j)
		add(torch.MSE(torch.Linear(s.Hidden[j], p.W, p.B), t.Hidden[j*k].Detach()))
	}
	return loss
}

// SoftCrossEntropy is task_distill.py's soft_cross_entropy on logits divided
// by T: mean over batch and classes of -softmax(t/T)·log_softmax(s/T) (the
// mean over classes, not their sum, is the authors'; no T² factor).
func SoftCrossEntropy(student, teacher *torch.Tensor, temperature float64) *torch.Tensor {
	logP := student.MulScalar(1 / temperature).LogSoftmax(-1)
	q := teacher.Detach().MulScalar(1 / temperature).Softmax(-1)
	return q.Mul(logP).Mean().Neg()
}

// DistillLayers runs TinyBERT's step 1: the student learns the teacher's
// embeddings and hidden states (through the projections) and its attention
// scores on the task's (possibly augmented) train set, constant learning
// rate, no evaluation; the last model is the output.
func DistillLayers(ctx context.Context, c LayerConfig) (*record.Result, error) {
	p := c.Params
	seed := int64(hparams.Int(p, "seed"))
	info, err := c.Env.Start(seed)
	if err != nil {
		return nil, err
	}
	log := c.Env.Writer()
	teacher, td, err := teacherFor(c.Task, c.TeacherDir, c.DataDir, p, info, c.Env)
	if err != nil {
		return nil, err
	}
	defer teacher.Free()
	tTrain, err := teacherTrains(p)
	if err != nil {
		return nil, err
	}
	padTo, dropLast, err := padding(p)
	if err != nil {
		return nil, err
	}
	want := studentConfig(teacher.Config, p)
	tl, sl := len(teacher.Layers), want.NumHiddenLayers
	if sl <= 0 || tl%sl != 0 {
		return nil, fmt.Errorf("the teacher's %d layers do not split into %d blocks: TinyBERT maps student layer m to teacher layer m·%d/%d", tl, sl, tl, max(sl, 1))
	}
	for i, l := range teacher.Layers {
		if l.Heads != want.NumAttentionHeads {
			return nil, fmt.Errorf("teacher layer %d has %d heads, the student %d: attention scores are matched head by head", i+1, l.Heads, want.NumAttentionHeads)
		}
	}
	var notes []string
	var raw map[string]checkpoint.Raw
	initDir := filepath.Join(c.OutDir, "init")
	head := bert.HeadFor(c.Task, td.Labels.Names)
	// The student's random weights (or a general checkpoint's missing head)
	// and the projections are drawn from (seed, InitStep), whatever ran
	// before in the process: a resumed stage rebuilds the same start.
	torch.Seed(train.StepSeed(seed, train.InitStep))
	if err := torch.Catch(func() error {
		var m *bert.Model
		if c.StudentDir == "" {
			m = bert.New(want, head, info.Device)
			notes = append(notes, "student initialised at random (no general distillation)")
		} else {
			got, err := checkpoint.ReadConfig(c.StudentDir)
			if err != nil {
				return fmt.Errorf("%w: general-distilled checkpoint: %v", stage.ErrMissingInput, err)
			}
			if err := checkShape(c.StudentDir, got, want); err != nil {
				return err
			}
			if err := sameVocab(c.StudentDir, c.TeacherDir); err != nil {
				return err
			}
			if raw, _, err = bert.ReadTensors(c.StudentDir); err != nil {
				return fmt.Errorf("%w: general-distilled checkpoint: %v", stage.ErrMissingInput, err)
			}
			if m, err = train.LoadModel(c.Task, c.StudentDir, td.Labels, info.Device, log); err != nil {
				return fmt.Errorf("%w: general-distilled checkpoint: %v", stage.ErrMissingInput, err)
			}
			notes = append(notes, "student starts from the general-distilled checkpoint "+c.StudentDir)
		}
		defer m.Free()
		return m.Save(initDir, c.TeacherDir)
	}); err != nil {
		return nil, err
	}
	std := want.InitializerRange
	if std == 0 {
		std = 0.02
	}
	proj, err := newProjections(hparams.String(p, "projection"), sl+1, int64(want.HiddenSize), int64(teacher.Hidden), std, raw, info.Device)
	if err != nil {
		return nil, err
	}
	defer proj.free()
	notes = append(notes, proj.notes...)
	for _, n := range notes {
		fmt.Fprintln(log, n)
	}
	fmt.Fprintf(log, "%s: %d train features, student %d layers × %d hidden (%d heads, FFN %d) from teacher layers %v\n",
		c.Task.Name, td.Train.Len(), sl, want.HiddenSize, want.NumAttentionHeads, want.IntermediateSize, mappedLayers(tl, sl))
	res, err := train.Run(ctx, train.Job{
		Name: "tinybert step 1 " + c.Task.Name, Kind: record.KindTinyBERTLayer, Task: c.Task, Data: td, Params: p, Schedule: "constant",
		StartDir: initDir, TokenizerDir: c.TeacherDir, OutDir: c.OutDir, Info: info, Log: log,
		Load: func(dir string) (*bert.Model, error) {
			return train.LoadModel(c.Task, dir, td.Labels, info.Device, log)
		},
		Extra: proj.params(),
		Loss: func(m *bert.Model, in bert.Input, _ data.Batch) *torch.Tensor {
			out := m.ForwardScores(in, true)
			var tout bert.Output
			torch.NoGrad(func() { tout = teacher.ForwardScores(in, tTrain) })
			return LayerLoss(out, tout, proj.at)
		},
		Optimizer: hparams.String(p, "optimizer"), NoEval: true, PadTo: padTo, DropLast: dropLast,
	})
	if err != nil {
		return nil, err
	}
	relativeToTeacher(res, teacher)
	res.Notes = append(res.Notes, notes...)
	return res, nil
}

// mappedLayers lists the 1-based teacher layers the student's layers learn from.
func mappedLayers(tl, sl int) []int {
	var out []int
	for i := 1; i <= sl; i++ {
		out = append(out, i*tl/sl)
	}
	return out
}

// relativeToTeacher counts the model's size against the teacher's encoder
// (BERT-base's), as the paper does.
func relativeToTeacher(res *record.Result, teacher *bert.Model) {
	if res.Size == nil {
		return
	}
	full := teacher.EncoderSize()
	res.Size.FullParams, res.Size.Sparsity = full, 1-float64(res.Size.Params)/float64(full)
}

// DistillPred runs TinyBERT's step 2: from step 1's model, the student
// learns the teacher's predictions (soft cross-entropy at temperature T;
// for regression the MSE to the gold score, as task_distill.py, or to the
// teacher's), linear warm-up and decay, keeping the best model on dev.
func DistillPred(ctx context.Context, c PredConfig) (*record.Result, error) {
	p := c.Params
	seed := int64(hparams.Int(p, "seed"))
	info, err := c.Env.Start(seed)
	if err != nil {
		return nil, err
	}
	log := c.Env.Writer()
	teacher, td, err := teacherFor(c.Task, c.TeacherDir, c.DataDir, p, info, c.Env)
	if err != nil {
		return nil, err
	}
	defer teacher.Free()
	tTrain, err := teacherTrains(p)
	if err != nil {
		return nil, err
	}
	padTo, dropLast, err := padding(p)
	if err != nil {
		return nil, err
	}
	var headKind string
	switch h := hparams.String(p, "head"); h {
	case "tinybert":
		headKind = checkpoint.HeadTinyBERT
	case "bert":
	default:
		return nil, fmt.Errorf("head %q: want tinybert or bert", h)
	}
	teacher.Config.ClassifierHead = headKind // in memory only: as task_distill.py reads the teacher
	gold := false
	if c.Task.Kind == task.Regression {
		switch r := hparams.String(p, "regression_target"); r {
		case "gold":
			gold = true
		case "teacher":
		default:
			return nil, fmt.Errorf("regression_target %q: want gold or teacher", r)
		}
	}
	if _, err := os.Stat(filepath.Join(c.StartDir, "config.json")); err != nil {
		return nil, fmt.Errorf("%w: step 1's model: %v", stage.ErrMissingInput, err)
	}
	temp := hparams.Float(p, "temperature")
	fmt.Fprintf(log, "%s: %d train features, eval %s; head %s, teacher mode %s\n", c.Task.Name, td.Train.Len(), train.DescribeEval(td),
		hparams.String(p, "head"), hparams.String(p, "teacher_mode"))
	res, err := train.Run(ctx, train.Job{
		Name: "tinybert step 2 " + c.Task.Name, Kind: record.KindTinyBERTPred, Task: c.Task, Data: td, Params: p, Schedule: "linear",
		StartDir: c.StartDir, TokenizerDir: c.TeacherDir, OutDir: c.OutDir, Info: info, Log: log,
		Load: func(dir string) (*bert.Model, error) {
			m, err := train.LoadModel(c.Task, dir, td.Labels, info.Device, log)
			if err == nil {
				m.Config.ClassifierHead = headKind // saved with the model: evaluation uses the same head
			}
			return m, err
		},
		Loss: func(m *bert.Model, in bert.Input, b data.Batch) *torch.Tensor {
			s := m.Forward(in, nil, true, false).Logits
			if gold {
				return train.GoldLoss(c.Task.Kind, s, b, m.Device)
			}
			var t *torch.Tensor
			torch.NoGrad(func() { t = teacher.Forward(in, nil, tTrain, false).Logits })
			if c.Task.Kind == task.Regression {
				return torch.MSE(s, t.Detach())
			}
			return SoftCrossEntropy(s, t, temp)
		},
		Optimizer: hparams.String(p, "optimizer"), PadTo: padTo, DropLast: dropLast,
	})
	if err != nil {
		return nil, err
	}
	relativeToTeacher(res, teacher)
	return res, nil
}

// WriteStandIn writes the synthetic tasks' stand-in for a general-distilled
// TinyBERT into dir (once): a random encoder (seeded) of the student shape
// of the hyperparameters, with the teacher's vocabulary and configuration
// otherwise. It exercises the code path of a user's checkpoint; it is not
// general distillation.
func WriteStandIn(teacherDir string, p record.Params, seed int64, dir string) error {
	if _, err := os.Stat(filepath.Join(dir, "model.safetensors")); err == nil {
		return nil
	}
	tc, err := checkpoint.ReadConfig(teacherDir)
	if err != nil {
		return fmt.Errorf("%w: teacher: %v", stage.ErrMissingInput, err)
	}
	c := studentConfig(tc, p)
	c.ID2Label, c.Label2ID, c.ProblemType = nil, nil, ""
	return bert.WriteRandomEncoder(c, seed, dir)
}
