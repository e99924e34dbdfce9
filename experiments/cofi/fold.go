//go:build torch

package cofi

import (
	"fmt"

	"github.com/cofiharness/cofi/experiments/bert"
	"github.com/cofiharness/cofi/experiments/torch"
	"github.com/cofiharness/cofi/task"
)

// Fold multiplies the deterministic masks' kept (soft) values into the
// weights, then removes every zeroed unit physically: heads (rows of Q, K, V,
// columns of O), whole MHA and FFN sublayers, FFN units (rows of W_U, columns
// of W_D) and hidden dims (columns of every matrix reading the residual
// stream, rows of every matrix writing it, embeddings and LayerNorms). The
// result is a dense BERT whose outputs equal the masked model's. ld, when not
// nil, gets W_layer's input columns pruned the same way. The returned model's
// tensors are owned by the caller.
func Fold(m *bert.Model, h HostMasks, ld *LayerDistiller) *bert.Model {
	return FoldWith(m, h, ld, FoldExact)
}

// FoldMode says how Fold scales the weights by the kept soft mask values.
type FoldMode string

const (
	// FoldExact: the compact model computes exactly what the masked one did.
	FoldExact FoldMode = "exact"
	// FoldReleased is the authors' update_params (CoFiPruning
	// utils/cofi_utils.py:50): head and unit values into W_V and W_D, layer
	// values into W_O and W_D with their biases, z_hidn into the embeddings,
	// the input columns of W_Q, W_K, W_V, W_U, the pooler and the span
	// classifier and the rows of W_O, W_D and W_O's bias; LayerNorms and
	// W_D's bias are not scaled by z_hidn. Kept dims and removed units are
	// the same as FoldExact's; the outputs differ wherever a kept value is
	// below 1.
	FoldReleased FoldMode = "released"
)

// ParseFoldMode reads a fold mode name.
func ParseFoldMode(s string) (FoldMode, error) {
	switch FoldMode(s) {
	case FoldExact, FoldReleased:
		return FoldMode(s), nil
	}
	return "", fmt.Errorf("fold %q: want exact or released", s)
}

// FoldWith is Fold with the scaling of mode.
func FoldWith(m *bert.Model, h HostMasks, ld *LayerDistiller, mode FoldMode) *bert.Model {
	rel := mode == FoldReleased
	dev := m.Device
	out := &bert.Model{Config: m.Config, Kind: m.Kind, NumLabels: m.NumLabels, Labels: m.Labels, HeadDim: m.HeadDim, Device: dev}
	torch.NoGrad(func() {
		s := torch.NewScope()
		defer s.Close()
		keep := func(t *torch.Tensor) *torch.Tensor { return s.Keep(t).Detached() }
		// Hidden dims kept and their scale.
		var hidIdx []int64
		hidScale := make([]float32, m.Hidden)
		for k := 0; k < m.Hidden; k++ {
			z := 1.0
			if h.Hidden != nil {
				z = h.Hidden[k]
			}
			hidScale[k] = float32(z)
			if z != 0 {
				hidIdx = append(hidIdx, int64(k))
			}
		}
		out.Hidden = len(hidIdx)
		hid := torch.FromInt64(hidIdx, []int64{int64(len(hidIdx))}, dev)
		zh := torch.FromFloat32(hidScale, []int64{int64(m.Hidden)}, dev)
		cols := func(w, scale *torch.Tensor, idx *torch.Tensor) *torch.Tensor { // scale and select columns
			if scale != nil {
				w = w.Mul(scale.Unsqueeze(0))
			}
			return w.IndexSelect(1, idx)
		}
		rowsOf := func(w, scale *torch.Tensor, idx *torch.Tensor) *torch.Tensor { // scale and select rows (dim 0)
			if scale != nil {
				if w.Dim() == 2 {
					w = w.Mul(scale.Unsqueeze(1))
				} else {
					w = w.Mul(scale)
				}
			}
			return w.IndexSelect(0, idx)
		}
		// Embeddings: (w+p+t)·z → LN over kept dims → ·z.
		out.Word = keep(cols(m.Word, zh, hid))
		out.Pos = keep(cols(m.Pos, zh, hid))
		out.Type = keep(cols(m.Type, zh, hid))
		// ln folds the post-LayerNorm z_hidn into a LayerNorm (exact) or
		// leaves it (released: the readers' input columns get it instead).
		ln := func(x *bert.LayerNorm) *bert.LayerNorm {
			if rel {
				return &bert.LayerNorm{W: keep(rowsOf(x.W, nil, hid)), B: keep(rowsOf(x.B, nil, hid))}
			}
			return &bert.LayerNorm{W: keep(rowsOf(x.W, zh, hid)), B: keep(rowsOf(x.B, zh, hid))}
		}
		// inCols scales (released) and selects the hidden input columns of a reader.
		inCols := func(w *torch.Tensor) *torch.Tensor {
			if rel {
				return cols(w, zh, hid)
			}
			return w.IndexSelect(1, hid)
		}
		out.EmbLN = ln(m.EmbLN)
		skipMHA, skipFFN := h.Skips()
		hd := int64(m.HeadDim)
		for i, l := range m.Layers {
			nl := &bert.Layer{}
			out.Layers = append(out.Layers, nl)
			if l.Heads > 0 && !skipMHA[i] {
				var rowIdx []int64
				colScale := make([]float32, int64(l.Heads)*hd)
				for hh := 0; hh < l.Heads; hh++ {
					z := h.Head[i][hh]
					for c := int64(0); c < hd; c++ {
						colScale[int64(hh)*hd+c] = float32(z)
					}
					if z != 0 {
						for c := int64(0); c < hd; c++ {
							rowIdx = append(rowIdx, int64(hh)*hd+c)
						}
					}
				}
				ri := torch.FromInt64(rowIdx, []int64{int64(len(rowIdx))}, dev)
				cs := torch.FromFloat32(colScale, []int64{int64(len(colScale))}, dev)
				zm := 1.0
				if h.MHA != nil {
					zm = h.MHA[i]
				}
				outScale := zh.MulScalar(zm)
				nl.Heads = len(rowIdx) / int(hd)
				qkv := func(x *bert.Linear) *bert.Linear {
					return &bert.Linear{W: keep(inCols(x.W.IndexSelect(0, ri))), B: keep(x.B.IndexSelect(0, ri))}
				}
				nl.Q, nl.K, nl.V = qkv(l.Q), qkv(l.K), qkv(l.V)
				if rel {
					// Head values into W_V's rows and bias; z_MHA into W_O and its bias.
					nl.V = &bert.Linear{W: keep(cols(rowsOf(l.V.W, cs, ri), zh, hid)), B: keep(rowsOf(l.V.B, cs, ri))}
					nl.O = &bert.Linear{W: keep(rowsOf(l.O.W.IndexSelect(1, ri).MulScalar(zm), zh, hid)), B: keep(rowsOf(l.O.B.MulScalar(zm), zh, hid))}
				} else {
					nl.O = &bert.Linear{W: keep(rowsOf(cols(l.O.W, cs, ri), outScale, hid)), B: keep(rowsOf(l.O.B, outScale, hid))}
				}
				nl.AttnLN = ln(l.AttnLN)
			}
			if l.Inter > 0 && !skipFFN[i] {
				var unitIdx []int64
				unitScale := make([]float32, l.Inter)
				for u := 0; u < l.Inter; u++ {
					unitScale[u] = float32(h.Int[i][u])
					if h.Int[i][u] != 0 {
						unitIdx = append(unitIdx, int64(u))
					}
				}
				ui := torch.FromInt64(unitIdx, []int64{int64(len(unitIdx))}, dev)
				us := torch.FromFloat32(unitScale, []int64{int64(l.Inter)}, dev)
				zf := 1.0
				if h.FFN != nil {
					zf = h.FFN[i]
				}
				outScale := zh.MulScalar(zf)
				nl.Inter = len(unitIdx)
				nl.Up = &bert.Linear{W: keep(inCols(l.Up.W.IndexSelect(0, ui))), B: keep(l.Up.B.IndexSelect(0, ui))}
				if rel {
					// Unit values into W_D's columns, z_FFN into W_D and its bias, z_hidn into W_D's rows only.
					nl.Down = &bert.Linear{W: keep(rowsOf(cols(l.Down.W, us, ui).MulScalar(zf), zh, hid)), B: keep(rowsOf(l.Down.B.MulScalar(zf), nil, hid))}
				} else {
					nl.Down = &bert.Linear{W: keep(rowsOf(cols(l.Down.W, us, ui), outScale, hid)), B: keep(rowsOf(l.Down.B, outScale, hid))}
				}
				nl.OutLN = ln(l.OutLN)
			}
		}
		if m.Kind == task.Span {
			out.Classifier = &bert.Linear{W: keep(inCols(m.Classifier.W)), B: keep(m.Classifier.B.Clone())}
		} else {
			out.Pooler = &bert.Linear{W: keep(inCols(m.Pooler.W)), B: keep(m.Pooler.B.Clone())}
			out.Classifier = &bert.Linear{W: keep(m.Classifier.W.Clone()), B: keep(m.Classifier.B.Clone())}
		}
		if ld != nil {
			w := keep(ld.W.W.IndexSelect(1, hid))
			old := ld.W.W
			ld.W.W = w
			old.Free()
		}
	})
	if ld != nil {
		ld.W.W.SetRequiresGrad(true)
	}
	return out
}
