package bert

// EncoderSize counts the encoder parameters of a structure as the paper does:
// weights, biases and LayerNorms of every kept sublayer; embeddings, pooler and
// classifier excluded (85,054,464 for BERT-base). heads and inter list heads
// and FFN units per layer; 0 means the sublayer is gone, with its LayerNorm.
func EncoderSize(hidden, headDim int, heads, inter []int) int64 {
	d := int64(hidden)
	var n int64
	for i := range heads {
		if h := int64(heads[i]) * int64(headDim); h > 0 {
			n += 3*(d*h+h) + (h*d + d) + 2*d
		}
		if f := int64(inter[i]); f > 0 {
			n += (d*f + f) + (f*d + d) + 2*d
		}
	}
	return n
}
