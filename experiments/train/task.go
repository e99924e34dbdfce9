package train

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/cofiharness/cofi/experiments/checkpoint"
	"github.com/cofiharness/cofi/experiments/data"
	"github.com/cofiharness/cofi/experiments/data/glue"
	"github.com/cofiharness/cofi/experiments/tokenize"
	"github.com/cofiharness/cofi/hparams"
	"github.com/cofiharness/cofi/record"
	"github.com/cofiharness/cofi/stage"
	"github.com/cofiharness/cofi/task"
)

// EvalSet is one evaluation set of a task.
type EvalSet struct {
	Name string // evaluation-set name, the prefix of its metric keys ("mnli-m")
	Data *data.Dataset
	// Span scores span predictions (span tasks only): start and end logits
	// per feature, in dataset order, to metrics in percent.
	Span func(start, end [][]float32) (map[string]float64, error)
	// SpanPredictions turns the same logits into per-example predictions.
	SpanPredictions func(start, end [][]float32) ([]Prediction, error)
}

// Prediction is what the model made of one dev example, for error
// analysis (cofi eval --save-predictions).
type Prediction struct {
	EvalSet   string   `json:"eval_set"`
	ID        string   `json:"id"`        // the example's id (SQuAD) or its 0-based row in the dev file (GLUE)
	Gold      any      `json:"gold"`      // label name, score, or the answer texts
	Predicted any      `json:"predicted"` // label name, score, or answer text
	Score     *float64 `json:"score"`     // probability of the predicted label; the predicted score; the answer's start+end logit
}

// TaskData is everything a training stage reads from a task's data.
type TaskData struct {
	Task   task.Task
	Labels data.LabelVocab
	Train  *data.Dataset // nil when not loaded
	Eval   []EvalSet
	// Select is the metric key that chooses checkpoints: the task's, or
	// its metric on the held-out slice of train when one is held out.
	Select string
	// Issues are the rows the readers dropped or kept with a defect, per
	// split; stages log them and put them in their records.
	Issues []record.DataIssues
}

func (td *TaskData) addIssues(d *record.DataIssues) {
	if d != nil {
		td.Issues = append(td.Issues, *d)
	}
}

// DataOptions say how to encode a task.
type DataOptions struct {
	SeqLen    int
	DocStride int  // span tasks
	WithTrain bool // also load the training split
	// Heldout > 0 keeps that fraction of the training examples out of
	// Train and evaluates them as the set task.HeldOut, which then selects.
	Heldout float64
}

// LoadTask reads and encodes a task's splits from dir, with labels mapped
// through vocab (the model's label order).
func LoadTask(t task.Task, dir string, tok *tokenize.Tokenizer, vocab data.LabelVocab, o DataOptions) (*TaskData, error) {
	td := &TaskData{Task: t, Labels: vocab, Select: t.Select}
	if t.Kind == task.Span {
		if o.Heldout > 0 {
			return nil, fmt.Errorf("%s: holding out training examples is not supported for span tasks", t.Name)
		}
		return loadSpan(td, dir, tok, o)
	}
	load := func(split string) (*data.Dataset, error) {
		set, err := glue.LoadSet(dir, t.Name, split, glue.Auto)
		if err != nil {
			return nil, err
		}
		var where []string
		for _, s := range set.Skipped {
			where = append(where, fmt.Sprintf("%s:%d: %s", set.Path, s.Line, s.Reason))
		}
		td.addIssues(data.Issues(split, data.IssueMalformedRow, len(set.Examples)+len(set.Skipped), where))
		ds, err := data.EncodeGLUE(set.Examples, tok, vocab, o.SeqLen)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", t.Name, split, err)
		}
		return ds, nil
	}
	if o.WithTrain {
		ds, err := load("train")
		if err != nil {
			return nil, err
		}
		td.Train = ds
	}
	for _, e := range t.EvalSets {
		ds, err := load(e)
		if err != nil {
			return nil, err
		}
		td.Eval = append(td.Eval, EvalSet{Name: e, Data: ds})
	}
	if o.Heldout > 0 {
		if td.Train == nil {
			return nil, fmt.Errorf("%s: a held-out slice needs the training split", t.Name)
		}
		tr, held, err := td.Train.HoldOut(o.Heldout)
		if err != nil {
			return nil, fmt.Errorf("%s train: %w", t.Name, err)
		}
		td.Train = tr
		td.Eval = append(td.Eval, EvalSet{Name: task.HeldOut, Data: held})
		_, metric, _ := strings.Cut(t.Select, "/")
		td.Select = task.MetricKey(task.HeldOut, metric)
	}
	return td, nil
}

// ModelLabels returns the label vocabulary to train or evaluate a model of
// modelDir with: the task's canonical order, or the checkpoint's own
// id2label when it names its labels.
func ModelLabels(t task.Task, modelDir string) (data.LabelVocab, error) {
	if t.Kind == task.Span {
		return data.LabelVocab{}, nil
	}
	v, err := data.TaskLabels(t.Name)
	if err != nil {
		return v, err
	}
	cfg, err := checkpoint.ReadConfig(modelDir)
	if err != nil {
		return v, fmt.Errorf("model %s: %w", modelDir, err)
	}
	v, err = v.FromID2Label(cfg.ID2Label)
	if err != nil {
		return v, fmt.Errorf("model %s: %w", modelDir, err)
	}
	return v, nil
}

// OptionsFrom reads the data options of a stage's hyperparameters.
func OptionsFrom(p record.Params, withTrain bool) DataOptions {
	o := DataOptions{SeqLen: hparams.Int(p, "seq_len"), DocStride: hparams.Int(p, "doc_stride"), WithTrain: withTrain}
	if _, ok := p["heldout"]; ok && withTrain {
		o.Heldout = hparams.Float(p, "heldout")
	}
	return o
}

// ForModel loads a task's data encoded for the model in modelDir: with its
// tokenizer and in its label order. Absent files are a missing input,
// unreadable ones or too many dropped rows (data.MaxIssueFraction) a bad one.
func ForModel(t task.Task, modelDir, dataDir string, o DataOptions) (*TaskData, error) {
	labels, err := ModelLabels(t, modelDir)
	if err != nil {
		return nil, inputError(err)
	}
	tok, err := tokenize.Load(modelDir)
	if err != nil {
		return nil, inputError(err)
	}
	td, err := LoadTask(t, dataDir, tok, labels, o)
	if err != nil {
		return nil, inputError(err)
	}
	if err := data.CheckIssues(td.Issues); err != nil {
		return nil, fmt.Errorf("%w: %v", stage.ErrBadInput, err)
	}
	return td, nil
}

// inputError classifies a failure to read an input: absent (missing input)
// or present but unusable (bad input).
func inputError(err error) error {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, data.ErrNotFound) {
		return fmt.Errorf("%w: %v", stage.ErrMissingInput, err)
	}
	return fmt.Errorf("%w: %v", stage.ErrBadInput, err)
}

// DescribeEval lists the evaluation sets and their sizes, then any data
// issues (rows dropped or kept with a defect).
func DescribeEval(td *TaskData) string {
	var parts []string
	for _, e := range td.Eval {
		parts = append(parts, fmt.Sprintf("%s (%d)", e.Name, e.Data.Len()))
	}
	s := strings.Join(parts, ", ")
	if d := data.DescribeIssues(td.Issues); d != "" {
		s += "; data issues: " + d
	}
	return s
}
