// Package cofi implements CoFi pruning (Xia, Zhong & Chen, ACL 2022): hard-
// concrete L0 masks at five granularities, the expected model size and the
// Lagrangian sparsity constraint, deterministic masks, layerwise and
// prediction distillation with dynamic layer matching, folding the masks into
// the weights and pruning the model physically, and the training schedule
// that ties them together. The formulas follow ../shared/reference/METHOD.md;
// where the authors' released code differs from the paper, both behaviours
// are options.
//
// Files without the torch build tag hold the host-side arithmetic (tested
// against hand-computed values without libtorch); the rest runs on libtorch.
package cofi

import (
	"fmt"
	"math"
	"sort"
)

// Hard-concrete constants (Louizos et al. 2018, as CoFi uses them).
const (
	Beta      = 2.0 / 3.0 // temperature
	LimitL    = -0.1      // stretch interval lower end
	LimitR    = 1.1       // stretch interval upper end
	Epsilon   = 1e-6      // keeps u away from 0 and 1 when sampling
	MagicSoft = 0.8       // deterministic soft value: sigmoid(log_alpha / Beta · 0.8)
)

// Clamp limits for log_alpha after every optimiser step: [ln 0.01, ln 100].
var (
	LogAlphaMin = math.Log(1e-2)
	LogAlphaMax = math.Log(1e2)
)

// pzShift is −β·log(−l/r) = 1.598597…: P(z≠0) = sigmoid(log_alpha + pzShift).
var pzShift = -Beta * math.Log(-LimitL/LimitR)

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// PNonZero is P(z ≠ 0) for a hard-concrete gate with parameter logAlpha.
func PNonZero(logAlpha float64) float64 { return sigmoid(logAlpha + pzShift) }

// SoftValue is the value a kept unit takes in a deterministic mask.
func SoftValue(logAlpha float64) float64 { return sigmoid(logAlpha / Beta * MagicSoft) }

// Rounding says how the expected number of zeros is rounded.
type Rounding string

const (
	HalfEven Rounding = "half-even" // Python's round(), as the released code
	HalfUp   Rounding = "half-up"
)

// ParseRounding reads a rounding name.
func ParseRounding(s string) (Rounding, error) {
	switch Rounding(s) {
	case HalfEven, HalfUp:
		return Rounding(s), nil
	}
	return "", fmt.Errorf("rounding %q: want half-even or half-up", s)
}

func (r Rounding) round(x float64) int {
	if r == HalfUp {
		return int(math.Floor(x + 0.5))
	}
	return int(math.RoundToEven(x))
}

// Deterministic returns the deterministic mask of one group of gates: the
// round(size − Σ P(z≠0)) gates with the smallest soft values become exactly 0,
// the others keep their soft value sigmoid(1.2·log_alpha) < 1. Ties are broken
// by index so the result does not depend on sort stability.
func Deterministic(logAlpha []float64, r Rounding) []float64 {
	n := len(logAlpha)
	expectedNonZero := 0.0
	out := make([]float64, n)
	for i, la := range logAlpha {
		expectedNonZero += PNonZero(la)
		out[i] = SoftValue(la)
	}
	zeros := r.round(float64(n) - expectedNonZero)
	zeros = max(0, min(n, zeros))
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return out[idx[a]] < out[idx[b]] })
	for _, i := range idx[:zeros] {
		out[i] = 0
	}
	return out
}
