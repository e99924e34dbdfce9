package cofi

import "fmt"

// LayerMatch names a layer-matching rule for layerwise distillation.
type LayerMatch string

const (
	MatchV3    LayerMatch = "v3"    // each teacher layer takes its lowest-cost student layer
	MatchV4    LayerMatch = "v4"    // monotone: top teacher layer first, each pick strictly below the previous and present
	MatchFixed LayerMatch = "fixed" // student layer i ↔ teacher layer i ("Fixed Hidn Distil." ablation)
)

// ParseLayerMatch reads a rule name.
func ParseLayerMatch(s string) (LayerMatch, error) {
	switch LayerMatch(s) {
	case MatchV3, MatchV4, MatchFixed:
		return LayerMatch(s), nil
	}
	return "", fmt.Errorf("layer matching %q: want v3, v4 or fixed", s)
}

// DistillTeacherLayers are the teacher layers CoFi distils from, 1-based:
// {3, 6, 9, 12} for a 12-layer teacher, generally every L/4-th layer.
func DistillTeacherLayers(teacherLayers int) []int {
	step := max(1, teacherLayers/4)
	var out []int
	for l := step; l <= teacherLayers && len(out) < 4; l += step {
		out = append(out, l)
	}
	return out
}

// Align maps each teacher layer k (row of cost) to a student layer (column,
// 0-based), or -1 when none qualifies (that teacher layer then adds no loss).
// cost[k][j] is MSE(W_layer·H_s^j, H_t^{T_k}); present[j] says student layer
// j still exists.
func Align(rule LayerMatch, cost [][]float64, present []bool) []int {
	out := make([]int, len(cost))
	switch rule {
	case MatchV3:
		for k, row := range cost {
			out[k] = -1
			for j, c := range row {
				if out[k] < 0 || c < row[out[k]] {
					out[k] = j
				}
			}
		}
	case MatchV4:
		// The released code searches from the top teacher layer down; with
		// no qualifying student layer it reuses an out-of-range index. Here
		// that teacher layer is skipped instead.
		limit := len(present)
		for k := len(cost) - 1; k >= 0; k-- {
			best := -1
			for j := 0; j < limit; j++ {
				if present[j] && (best < 0 || cost[k][j] < cost[k][best]) {
					best = j
				}
			}
			out[k] = best
			if best >= 0 {
				limit = best
			}
		}
	default:
		for k := range cost {
			out[k] = -1
			if k < len(present) && present[k] {
				out[k] = k
			}
		}
	}
	return out
}
