//go:build torch

package train

import (
	"fmt"
	"math"

	"github.com/cofiharness/cofi/experiments/bert"
	"github.com/cofiharness/cofi/experiments/data"
	"github.com/cofiharness/cofi/experiments/metrics"
	"github.com/cofiharness/cofi/experiments/torch"
	"github.com/cofiharness/cofi/task"
)

// Evaluate scores m (with masks, or nil) on every evaluation set of td and
// returns the metrics of all sets, keyed "<evalset>/<metric>" in percent.
func Evaluate(m *bert.Model, masks func() *bert.Masks, td *TaskData, batch int) (map[string]float64, error) {
	out := map[string]float64{}
	for _, es := range td.Eval {
		ms, err := EvaluateSet(m, masks, td.Task, es, batch)
		if err != nil {
			return nil, err
		}
		for k, v := range ms {
			out[k] = v
		}
	}
	return out, nil
}

// EvaluateSet scores one evaluation set. masks, when not nil, is called once
// inside the evaluation scope to build the masks.
func EvaluateSet(m *bert.Model, masks func() *bert.Masks, t task.Task, es EvalSet, batch int) (map[string]float64, error) {
	ms, _, err := evaluateSet(m, masks, t, es, batch, nil)
	return ms, err
}

// Predict scores every evaluation set like Evaluate and also returns the
// prediction of every example; labels name the classes.
func Predict(m *bert.Model, td *TaskData, batch int) (map[string]float64, []Prediction, error) {
	out := map[string]float64{}
	var preds []Prediction
	for _, es := range td.Eval {
		ms, ps, err := evaluateSet(m, nil, td.Task, es, batch, &td.Labels)
		if err != nil {
			return nil, nil, err
		}
		for k, v := range ms {
			out[k] = v
		}
		preds = append(preds, ps...)
	}
	return out, preds, nil
}

// evaluateSet scores es and, when labels is not nil, returns predictions too.
func evaluateSet(m *bert.Model, masks func() *bert.Masks, t task.Task, es EvalSet, batch int, labels *data.LabelVocab) (map[string]float64, []Prediction, error) {
	batches, err := es.Data.Batches(batch, false, 0, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("evaluate %s: %w", es.Name, err)
	}
	var (
		predC  []int
		probC  []float64
		predR  []float64
		starts [][]float32
		ends   [][]float32
	)
	torch.NoGrad(func() {
		s := torch.NewScope()
		defer s.Close()
		var mk *bert.Masks
		if masks != nil {
			mk = masks()
		}
		for _, b := range batches {
			func() {
				bs := torch.NewScope()
				defer bs.Close()
				logits := m.Forward(Input(b, m.Device), mk, false, false).Logits
				switch t.Kind {
				case task.Classification:
					for _, p := range logits.Argmax(1, false).Int64s() {
						predC = append(predC, int(p))
					}
					if labels != nil {
						probC = append(probC, maxSoftmax(logits.Float32s(), b.Size)...)
					}
				case task.Regression:
					for _, v := range logits.Float32s() {
						predR = append(predR, float64(v))
					}
				case task.Span:
					v := logits.Float32s() // [B, S, 2]
					seq := b.SeqLen
					for r := 0; r < b.Size; r++ {
						st, en := make([]float32, seq), make([]float32, seq)
						for j := 0; j < seq; j++ {
							st[j] = v[(r*seq+j)*2]
							en[j] = v[(r*seq+j)*2+1]
						}
						starts, ends = append(starts, st), append(ends, en)
					}
				}
			}()
		}
	})
	var ms map[string]float64
	var preds []Prediction
	switch t.Kind {
	case task.Classification:
		golds := es.Data.Labels()
		ms, err = metrics.Classification(t.Name, es.Name, predC, golds)
		if labels != nil {
			for i, f := range es.Data.Features {
				p := probC[i]
				preds = append(preds, Prediction{EvalSet: es.Name, ID: fmt.Sprint(f.Example), Gold: labels.Name(golds[i]), Predicted: labels.Name(predC[i]), Score: &p})
			}
		}
	case task.Regression:
		golds := es.Data.Scores()
		ms, err = metrics.Regression(t.Name, es.Name, predR, golds)
		if labels != nil {
			for i, f := range es.Data.Features {
				v := predR[i]
				gold := math.Round(golds[i]*1e6) / 1e6 // stored as float32
				preds = append(preds, Prediction{EvalSet: es.Name, ID: fmt.Sprint(f.Example), Gold: gold, Predicted: v, Score: &v})
			}
		}
	default:
		if es.Span == nil {
			return nil, nil, fmt.Errorf("evaluate %s: no span scorer", es.Name)
		}
		ms, err = es.Span(starts, ends)
		if err == nil && labels != nil && es.SpanPredictions != nil {
			preds, err = es.SpanPredictions(starts, ends)
		}
	}
	if err != nil {
		return nil, nil, err
	}
	return ms, preds, nil
}

// maxSoftmax returns, per row of a [rows, classes] logit matrix, the
// probability of the most likely class.
func maxSoftmax(logits []float32, rows int) []float64 {
	out := make([]float64, rows)
	if rows == 0 {
		return out
	}
	c := len(logits) / rows
	for r := 0; r < rows; r++ {
		row := logits[r*c : (r+1)*c]
		mx := float64(row[0])
		for _, v := range row {
			mx = math.Max(mx, float64(v))
		}
		sum := 0.0
		for _, v := range row {
			sum += math.Exp(float64(v) - mx)
		}
		out[r] = 1 / sum // exp(max − max) / Σ exp(v − max)
	}
	return out
}
