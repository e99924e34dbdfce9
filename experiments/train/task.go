package train

import (
	"fmt"

	"github.com/cofiharness/cofi/experiments/data"
	"github.com/cofiharness/cofi/experiments/data/glue"
	"github.com/cofiharness/cofi/experiments/tokenize"
	"github.com/cofiharness/cofi/task"
)

// EvalSet is one evaluation set of a task.
type EvalSet struct {
	Name string // evaluation-set name, the prefix of its metric keys ("mnli-m")
	Data *data.Dataset
	// Span scores span predictions (span tasks only): start and end logits
	// per feature, in dataset order, to metrics in percent.
	Span func(start, end [][]float32) (map[string]float64, error)
}

// TaskData is everything a training stage reads from a task's data.
type TaskData struct {
	Task   task.Task
	Labels data.LabelVocab
	Train  *data.Dataset // nil when not loaded
	Eval   []EvalSet
}

// DataOptions say how to encode a task.
type DataOptions struct {
	SeqLen    int
	DocStride int  // span tasks
	WithTrain bool // also load the training split
}

// LoadTask reads and encodes a task's splits from dir, with labels mapped
// through vocab (the model's label order).
func LoadTask(t task.Task, dir string, tok *tokenize.Tokenizer, vocab data.LabelVocab, o DataOptions) (*TaskData, error) {
	td := &TaskData{Task: t, Labels: vocab}
	if t.Kind == task.Span {
		return loadSpan(td, dir, tok, o)
	}
	load := func(split string) (*data.Dataset, error) {
		ex, err := glue.Load(dir, t.Name, split)
		if err != nil {
			return nil, err
		}
		ds, err := data.EncodeGLUE(ex, tok, vocab, o.SeqLen)
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
	return td, nil
}
