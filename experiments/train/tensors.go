//go:build torch

package train

import (
	"fmt"

	"github.com/cofiharness/cofi/experiments/bert"
	"github.com/cofiharness/cofi/experiments/checkpoint"
	"github.com/cofiharness/cofi/experiments/data"
	"github.com/cofiharness/cofi/experiments/optim"
	"github.com/cofiharness/cofi/experiments/torch"
	"github.com/cofiharness/cofi/task"
)

// Input turns a batch into model inputs on dev (owned by the current scope).
func Input(b data.Batch, dev torch.Device) bert.Input {
	sh := []int64{int64(b.Size), int64(b.SeqLen)}
	return bert.Input{
		IDs:     torch.FromInt64(b.InputIDs, sh, dev),
		TypeIDs: torch.FromInt64(b.TokenTypeIDs, sh, dev),
		Mask:    torch.FromInt64(b.AttentionMask, sh, dev),
	}
}

// GoldLoss is the supervised loss of a task: cross-entropy for
// classification, MSE for regression, the mean of start and end
// cross-entropies for span tasks (as transformers' QA models).
func GoldLoss(kind task.Kind, logits *torch.Tensor, b data.Batch, dev torch.Device) *torch.Tensor {
	n := []int64{int64(b.Size)}
	switch kind {
	case task.Regression:
		return torch.MSE(logits.Squeeze(1), torch.FromFloat32(b.Scores, n, dev))
	case task.Span:
		s := torch.CrossEntropy(logits.Select(2, 0), torch.FromInt64(b.StartPos, n, dev))
		e := torch.CrossEntropy(logits.Select(2, 1), torch.FromInt64(b.EndPos, n, dev))
		return s.Add(e).MulScalar(0.5)
	}
	return torch.CrossEntropy(logits, torch.FromInt64(b.Labels, n, dev))
}

// SaveNamed writes tensors under their names to a safetensors file.
func SaveNamed(path string, ts []optim.Named) error {
	raw := map[string]checkpoint.Raw{}
	for _, t := range ts {
		raw[t.Name] = checkpoint.F32(t.T.Shape(), t.T.Float32s())
	}
	return checkpoint.WriteSafetensors(path, raw, nil)
}

// LoadNamed copies the tensors of a safetensors file into ts (same names and shapes).
func LoadNamed(path string, ts []optim.Named) error {
	raw, _, err := checkpoint.ReadSafetensors(path)
	if err != nil {
		return err
	}
	for _, t := range ts {
		r, ok := raw[t.Name]
		if !ok {
			return fmt.Errorf("%s: missing tensor %s", path, t.Name)
		}
		v, err := r.Float32()
		if err != nil {
			return fmt.Errorf("%s: %s: %w", path, t.Name, err)
		}
		if int64(len(v)) != t.T.Numel() {
			return fmt.Errorf("%s: %s has %d values, want shape %v", path, t.Name, len(v), t.T.Shape())
		}
		torch.NoGrad(func() {
			src := torch.FromFloat32(v, t.T.Shape(), t.T.Device())
			t.T.Copy_(src)
			src.Free()
		})
	}
	return nil
}
