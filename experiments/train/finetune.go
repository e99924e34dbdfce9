//go:build torch

package train

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/cofiharness/cofi/experiments/bert"
	"github.com/cofiharness/cofi/experiments/checkpoint"
	"github.com/cofiharness/cofi/experiments/data"
	"github.com/cofiharness/cofi/experiments/optim"
	"github.com/cofiharness/cofi/experiments/torch"
	"github.com/cofiharness/cofi/hparams"
	"github.com/cofiharness/cofi/record"
	"github.com/cofiharness/cofi/task"
)

// Env is the run-time environment of a stage.
type Env struct {
	Device  string // auto, cpu, cuda, cuda:N
	Threads int    // 0 = all cores
	Log     io.Writer
}

// Start sets threads, seed and device for a stage and reports them.
func (e Env) Start(seed int64) (torch.Info, error) {
	info, err := torch.Setup(e.Threads, seed, e.Device)
	if err != nil {
		return info, err
	}
	fmt.Fprintf(e.Writer(), "libtorch %s on %s, seed %d\n", info.Libtorch, info.Name, seed)
	return info, nil
}

// Writer is where the stage logs: Log, or nowhere when it is nil.
func (e Env) Writer() io.Writer {
	if e.Log == nil {
		return io.Discard
	}
	return e.Log
}

// LoadModel loads modelDir with the head task t needs.
func LoadModel(t task.Task, modelDir string, labels data.LabelVocab, dev torch.Device, log io.Writer) (*bert.Model, error) {
	head := bert.Head{Kind: t.Kind, NumLabels: t.NumLabels, Labels: labels.Names}
	m, _, err := bert.Load(modelDir, bert.LoadOptions{Head: head, Device: dev, Log: log})
	if err != nil {
		return nil, err
	}
	m.Labels = labels.Names
	return m, nil
}

// FinetuneConfig configures teacher fine-tuning.
type FinetuneConfig struct {
	Task     task.Task
	DataDir  string
	ModelDir string // pre-trained (or any HF) model to start from
	OutDir   string // model/ (best on dev), checkpoint/ (resume)
	Params   record.Params
	Env      Env
}

// Finetune fine-tunes a model on a task with gold labels: AdamW, linear
// schedule with warm-up, gradient clipping, evaluation on dev every
// eval_every steps keeping the best checkpoint, resumable.
func Finetune(ctx context.Context, c FinetuneConfig) (*record.Result, error) {
	p := c.Params
	seed := int64(hparams.Int(p, "seed"))
	info, err := c.Env.Start(seed)
	if err != nil {
		return nil, err
	}
	td, err := ForModel(c.Task, c.ModelDir, c.DataDir, OptionsFrom(p, true))
	if err != nil {
		return nil, err
	}
	labels := td.Labels
	fmt.Fprintf(c.Env.Writer(), "%s: %d train features, eval %s\n", c.Task.Name, td.Train.Len(), DescribeEval(td))
	return Run(ctx, Job{
		Name: "finetune " + c.Task.Name, Kind: record.KindTeacher, Task: c.Task, Data: td, Params: p, Schedule: "linear",
		StartDir: c.ModelDir, TokenizerDir: c.ModelDir, OutDir: c.OutDir, Info: info, Log: c.Env.Writer(),
		Load: func(dir string) (*bert.Model, error) {
			return LoadModel(c.Task, dir, labels, info.Device, c.Env.Writer())
		},
		Loss: func(m *bert.Model, in bert.Input, b data.Batch) *torch.Tensor {
			return GoldLoss(c.Task.Kind, m.Forward(in, nil, true, false).Logits, b, m.Device)
		},
	})
}

// Named lists a model's parameters for the optimiser: weight decay on
// weights, not on biases and LayerNorms (transformers' convention).
func Named(m *bert.Model) []optim.Named {
	var out []optim.Named
	for _, p := range m.Params() {
		decay := !strings.HasSuffix(p.Name, ".bias") && !strings.Contains(p.Name, "LayerNorm")
		out = append(out, optim.Named{Name: p.Name, T: p.T, Decay: decay})
	}
	return out
}

// EvalBatch is the evaluation batch size for a training batch size.
func EvalBatch(train int) int { return max(64, 2*train) }

// SaveOptimizer writes an optimiser's state as dir/<name>.safetensors.
func SaveOptimizer(o *optim.AdamW, dir, name string) error {
	t, meta := o.State()
	return checkpoint.WriteSafetensors(filepath.Join(dir, name+".safetensors"), t, meta)
}

// RestoreOptimizer reads state written by SaveOptimizer.
func RestoreOptimizer(o *optim.AdamW, dir, name string) error {
	t, meta, err := checkpoint.ReadSafetensors(filepath.Join(dir, name+".safetensors"))
	if err != nil {
		return fmt.Errorf("resume: %w", err)
	}
	return o.Restore(t, meta)
}

// SaveModelAtomic writes the model to dir through a temporary directory and a rename.
func SaveModelAtomic(m *bert.Model, dir, tokenizerDir string) error {
	tmp := dir + ".tmp"
	os.RemoveAll(tmp)
	if err := m.Save(tmp, tokenizerDir); err != nil {
		return err
	}
	old := dir + ".old"
	os.RemoveAll(old)
	if _, err := os.Stat(dir); err == nil {
		if err := os.Rename(dir, old); err != nil {
			return err
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		return err
	}
	return os.RemoveAll(old)
}

func keys(m map[string]float64) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// FormatMetrics prints metrics sorted by key.
func FormatMetrics(m map[string]float64) string {
	var parts []string
	for _, k := range keys(m) {
		parts = append(parts, fmt.Sprintf("%s %.2f", k, m[k]))
	}
	return strings.Join(parts, ", ")
}
