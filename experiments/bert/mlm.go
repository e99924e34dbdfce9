//go:build torch

package bert

import (
	"fmt"
	"strings"

	"github.com/cofiharness/cofi/experiments/checkpoint"
	"github.com/cofiharness/cofi/experiments/torch"
)

// MLMHead is the masked-language-model head of a pre-trained BERT
// checkpoint (cls.predictions.*): LayerNorm(gelu(dense(h))) times the
// decoder matrix (tied to the word embeddings when the checkpoint has no
// decoder of its own) plus a bias per vocabulary entry. TinyBERT's data
// augmentation asks it for the likeliest words at a masked position.
type MLMHead struct {
	Dense   *Linear
	LN      *LayerNorm
	Decoder *torch.Tensor // [vocab, hidden]; shares the word embeddings when tied
	Bias    *torch.Tensor // [vocab]
	tied    bool
}

// MLM names of the head's tensors (the original BERT checkpoints' spelling
// of the LayerNorm, gamma/beta, is accepted too).
const mlmPrefix = "cls.predictions."

// ReadTensors reads every tensor of dir's weights file, names unchanged.
func ReadTensors(dir string) (map[string]checkpoint.Raw, string, error) {
	wf, err := checkpoint.FindWeights(dir)
	if err != nil {
		return nil, "", err
	}
	var raw map[string]checkpoint.Raw
	if strings.HasSuffix(wf, ".safetensors") {
		raw, _, err = checkpoint.ReadSafetensors(wf)
	} else {
		raw, err = checkpoint.ReadPickle(wf)
	}
	return raw, wf, err
}

// LoadMLM loads dir as an encoder with its masked-LM head. A checkpoint
// without cls.predictions.* (a fine-tuned model, or a bare encoder) is an
// error that says so.
func LoadMLM(dir string, o LoadOptions) (*Model, *MLMHead, error) {
	raw, wf, err := ReadTensors(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("load %s: %w", dir, err)
	}
	m, _, err := Load(dir, o)
	if err != nil {
		return nil, nil, err
	}
	h, err := mlmHead(m, raw)
	if err != nil {
		m.Free()
		return nil, nil, fmt.Errorf("load %s (%s): %w", dir, wf, err)
	}
	return m, h, nil
}

func mlmHead(m *Model, raw map[string]checkpoint.Raw) (*MLMHead, error) {
	d, v := int64(m.Hidden), int64(m.Config.VocabSize)
	get := func(shape []int64, names ...string) (*torch.Tensor, error) {
		for _, n := range names {
			r, ok := raw[n]
			if !ok {
				continue
			}
			if !sameShape(r.Shape, shape) {
				return nil, fmt.Errorf("tensor %s has shape %v, want %v", n, r.Shape, shape)
			}
			x, err := r.Float32()
			if err != nil {
				return nil, fmt.Errorf("tensor %s: %w", n, err)
			}
			return torch.FromFloat32(x, shape, m.Device), nil
		}
		return nil, nil
	}
	h := &MLMHead{Dense: &Linear{}, LN: &LayerNorm{}}
	var err error
	need := []struct {
		dst   **torch.Tensor
		shape []int64
		names []string
	}{
		{&h.Dense.W, []int64{d, d}, []string{mlmPrefix + "transform.dense.weight"}},
		{&h.Dense.B, []int64{d}, []string{mlmPrefix + "transform.dense.bias"}},
		{&h.LN.W, []int64{d}, []string{mlmPrefix + "transform.LayerNorm.weight", mlmPrefix + "transform.LayerNorm.gamma"}},
		{&h.LN.B, []int64{d}, []string{mlmPrefix + "transform.LayerNorm.bias", mlmPrefix + "transform.LayerNorm.beta"}},
		{&h.Bias, []int64{v}, []string{mlmPrefix + "bias", mlmPrefix + "decoder.bias"}},
	}
	for _, n := range need {
		if *n.dst, err = get(n.shape, n.names...); err != nil {
			h.Free()
			return nil, err
		}
		if *n.dst == nil {
			h.Free()
			return nil, fmt.Errorf("no masked-LM head: %s missing (data augmentation needs a pre-trained checkpoint with its cls.predictions.* tensors, as bert-base-uncased has)", n.names[0])
		}
	}
	if h.Decoder, err = get([]int64{v, d}, mlmPrefix+"decoder.weight"); err != nil {
		h.Free()
		return nil, err
	}
	if h.Decoder == nil {
		h.Decoder, h.tied = m.Word, true
	}
	return h, nil
}

// Logits returns the vocabulary logits at hidden states h [..., hidden].
func (h *MLMHead) Logits(m *Model, x *torch.Tensor) *torch.Tensor {
	y := h.Dense.forward(x).Gelu()
	y = torch.LayerNorm(y, h.LN.W, h.LN.B, m.Config.LayerNormEps)
	return torch.Linear(y, h.Decoder, h.Bias)
}

// Free releases the head's tensors (not the tied word embeddings).
func (h *MLMHead) Free() {
	for _, t := range []*torch.Tensor{h.Dense.W, h.Dense.B, h.LN.W, h.LN.B, h.Bias} {
		if t != nil {
			t.Free()
		}
	}
	if h.Decoder != nil && !h.tied {
		h.Decoder.Free()
	}
}
