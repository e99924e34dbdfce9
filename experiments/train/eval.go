//go:build torch

package train

import (
	"fmt"

	"github.com/cofiharness/cofi/experiments/bert"
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
	batches, err := es.Data.Batches(batch, false, 0, 0)
	if err != nil {
		return nil, fmt.Errorf("evaluate %s: %w", es.Name, err)
	}
	var (
		predC  []int
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
	switch t.Kind {
	case task.Classification:
		return metrics.Classification(t.Name, es.Name, predC, es.Data.Labels())
	case task.Regression:
		return metrics.Regression(t.Name, es.Name, predR, es.Data.Scores())
	}
	if es.Span == nil {
		return nil, fmt.Errorf("evaluate %s: no span scorer", es.Name)
	}
	return es.Span(starts, ends)
}
