package cofi

// Dims are the architecture sizes the expected-size formula needs.
type Dims struct {
	Layers, Hidden, Heads, Inter int
}

// BertBase are BERT-base's sizes.
var BertBase = Dims{Layers: 12, Hidden: 768, Heads: 12, Inter: 3072}

// ParamsPerHead is (4d² + 4d)/N_h, rounded down as the released code does
// (196,864 for BERT-base).
func (d Dims) ParamsPerHead() int { return (4*d.Hidden*d.Hidden + 4*d.Hidden) / d.Heads }

// ParamsPerInter is (2·d·d_f + d + 4d)/d_f, rounded down (1,537 for BERT-base).
func (d Dims) ParamsPerInter() int {
	return (2*d.Hidden*d.Inter + d.Hidden + 4*d.Hidden) / d.Inter
}

// Prunable is M = L·[(4d² + 4d) + (2·d·d_f + d + 4d)], the denominator of the
// expected sparsity (85,017,600 for BERT-base; embeddings, pooler and
// classifier excluded).
func (d Dims) Prunable() float64 {
	return float64(d.Layers) * float64((4*d.Hidden*d.Hidden+4*d.Hidden)+(2*d.Hidden*d.Inter+d.Hidden+4*d.Hidden))
}

// Probs are P(z≠0) for every gate; a nil slice means that mask is absent
// (always kept).
type Probs struct {
	Head   [][]float64 // [L][H]
	MHA    []float64   // [L]
	Int    [][]float64 // [L][F]
	FFN    []float64   // [L]
	Hidden []float64   // [d]
}

// ExpectedSize is E[size] of the CoFi paper, with or without z_hidn:
//
//	with:    Σ_{l,h,k} s_hidn[k]·s_MHA[l]·s_head[l,h]·ParamsPerHead/d + Σ_{l,i,k} s_hidn[k]·s_FFN[l]·s_int[l,i]·2
//	without: Σ_{l,h} s_MHA[l]·s_head[l,h]·ParamsPerHead + Σ_{l,i} s_FFN[l]·s_int[l,i]·ParamsPerInter
func (d Dims) ExpectedSize(p Probs) float64 {
	var heads, inter float64
	for l := 0; l < d.Layers; l++ {
		lm, lf := 1.0, 1.0
		if p.MHA != nil {
			lm = p.MHA[l]
		}
		if p.FFN != nil {
			lf = p.FFN[l]
		}
		for h := 0; h < d.Heads; h++ {
			s := 1.0
			if p.Head != nil {
				s = p.Head[l][h]
			}
			heads += lm * s
		}
		for i := 0; i < d.Inter; i++ {
			s := 1.0
			if p.Int != nil {
				s = p.Int[l][i]
			}
			inter += lf * s
		}
	}
	if p.Hidden == nil {
		return heads*float64(d.ParamsPerHead()) + inter*float64(d.ParamsPerInter())
	}
	hid := 0.0
	for _, s := range p.Hidden {
		hid += s
	}
	return hid * (heads*float64(d.ParamsPerHead())/float64(d.Hidden) + inter*2)
}

// ExpectedSparsity is 1 − E[size]/M.
func (d Dims) ExpectedSparsity(p Probs) float64 { return 1 - d.ExpectedSize(p)/d.Prunable() }

// TargetSparsity is the Lagrangian target at a pruning step: it rises
// linearly from 0 to final over warmupSteps, counted from the step pruning
// started, then stays at final.
func TargetSparsity(final float64, step, pruneStart, warmupSteps int) float64 {
	if step <= pruneStart {
		return 0
	}
	if warmupSteps <= 0 {
		return final
	}
	return final * min(1, float64(step-pruneStart)/float64(warmupSteps))
}
