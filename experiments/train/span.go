package train

import (
	"fmt"

	"github.com/cofiharness/cofi/experiments/data"
	"github.com/cofiharness/cofi/experiments/data/squad"
	"github.com/cofiharness/cofi/experiments/metrics"
	"github.com/cofiharness/cofi/experiments/tokenize"
)

// Span post-processing settings of the paper (BERT's and run_qa.py's).
const (
	NBest        = 20
	MaxAnswerLen = 30
)

// loadSpan reads a SQuAD-format task: doc-stride windows for training, and
// for evaluation the windows plus what maps their logits back to answers.
func loadSpan(td *TaskData, dir string, tok *tokenize.Tokenizer, o DataOptions) (*TaskData, error) {
	cfg := squad.ConfigFor(td.Task)
	if o.SeqLen > 0 {
		cfg.MaxLen = o.SeqLen
	}
	if o.DocStride > 0 && o.DocStride < cfg.MaxLen {
		cfg.Stride = o.DocStride
	}
	encode := func(split string) (*squad.Features, error) {
		set, err := squad.Load(dir, td.Task.Name, split, squad.Auto)
		if err != nil {
			return nil, err
		}
		var where []string
		for _, m := range set.Mismatched {
			where = append(where, m.String())
		}
		td.addIssues(data.Issues(split, data.IssueAnswerMismatch, set.Answers, where))
		f, err := squad.Encode(set.Examples, tok, cfg)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", td.Task.Name, split, err)
		}
		return f, nil
	}
	if o.WithTrain {
		f, err := encode("train")
		if err != nil {
			return nil, err
		}
		td.Train = f.Dataset
	}
	for _, name := range td.Task.EvalSets {
		f, err := encode(name)
		if err != nil {
			return nil, err
		}
		golds := f.Golds()
		evalSet := name
		td.Eval = append(td.Eval, EvalSet{Name: name, Data: f.Dataset, Span: func(start, end [][]float32) (map[string]float64, error) {
			pred, err := f.Predict(start, end, NBest, MaxAnswerLen)
			if err != nil {
				return nil, err
			}
			return metrics.Span(td.Task.Name, evalSet, pred, golds)
		}, SpanPredictions: func(start, end [][]float32) ([]Prediction, error) {
			pred, scores, err := f.PredictScored(start, end, NBest, MaxAnswerLen)
			if err != nil {
				return nil, err
			}
			var out []Prediction
			for _, ex := range f.Examples {
				p := Prediction{EvalSet: evalSet, ID: ex.ID, Gold: golds[ex.ID], Predicted: pred[ex.ID]}
				if s, ok := scores[ex.ID]; ok {
					p.Score = &s
				}
				out = append(out, p)
			}
			return out, nil
		}})
	}
	return td, nil
}
