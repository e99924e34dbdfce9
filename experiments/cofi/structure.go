package cofi

// HostMasks are deterministic mask values on the host; nil = mask absent.
type HostMasks struct {
	Head   [][]float64
	MHA    []float64
	Int    [][]float64
	FFN    []float64
	Hidden []float64
}

func allZero(v []float64) bool {
	for _, x := range v {
		if x != 0 {
			return false
		}
	}
	return true
}

// Skips says which sublayers these masks remove entirely.
func (h HostMasks) Skips() (mha, ffn []bool) {
	L := len(h.Head)
	mha, ffn = make([]bool, L), make([]bool, L)
	for i := 0; i < L; i++ {
		mha[i] = allZero(h.Head[i]) || (h.MHA != nil && h.MHA[i] == 0)
		ffn[i] = (h.Int != nil && allZero(h.Int[i])) || (h.FFN != nil && h.FFN[i] == 0)
	}
	return mha, ffn
}

// Kept returns the structure the deterministic masks h leave of a model with
// headsFull heads and interFull FFN units per layer and hiddenFull hidden dims:
// heads and units kept per layer (0 for a removed sublayer) and hidden dims
// kept. This is the structure Fold produces, computed without folding.
func (h HostMasks) Kept(headsFull, interFull, hiddenFull int) (heads, inter []int, hidden int) {
	skipMHA, skipFFN := h.Skips()
	count := func(v []float64, full int) int {
		if v == nil {
			return full
		}
		n := 0
		for _, x := range v {
			if x != 0 {
				n++
			}
		}
		return n
	}
	for l := range h.Head {
		hh, ii := 0, 0
		if !skipMHA[l] {
			hh = count(h.Head[l], headsFull)
		}
		if !skipFFN[l] {
			ii = count(h.Int[l], interFull)
		}
		heads, inter = append(heads, hh), append(inter, ii)
	}
	return heads, inter, count(h.Hidden, hiddenFull)
}
