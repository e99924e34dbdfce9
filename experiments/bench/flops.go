// Package bench measures what `make bench` reports: Go training-step and
// inference times against PyTorch's on the same BERT shapes and threads,
// resident memory over many steps, and the CPU speedup of compact models
// with the paper's 95 % structures next to their FLOP ratio.
package bench

// ForwardFLOPs counts the multiply-adds (×2) of one encoder forward pass over
// seq tokens per sequence: the attention projections, the attention scores
// and context, and the FFN; embeddings, LayerNorms and softmax are ignored.
// heads and inter are per layer; headDim is 64 for BERT.
func ForwardFLOPs(hidden, headDim, seq int, heads, inter []int) float64 {
	d, s := float64(hidden), float64(seq)
	var per float64 // per token
	for i := range heads {
		a := float64(heads[i] * headDim)
		if a > 0 {
			per += 2*3*d*a + 2*a*d // Q, K, V and O projections
			per += 2 * 2 * s * a   // QKᵀ and probabilities × V
		}
		if f := float64(inter[i]); f > 0 {
			per += 2 * 2 * d * f
		}
	}
	return per * s
}
