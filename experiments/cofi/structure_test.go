package cofi

import (
	"reflect"
	"testing"
)

func TestKept(t *testing.T) {
	h := HostMasks{
		Head:   [][]float64{{0, 0}, {0.9, 0}, {0.8, 0.7}},
		MHA:    []float64{0.9, 0.9, 0}, // layer 3's MHA dropped by its layer mask
		Int:    [][]float64{{0.5, 0, 0.6}, {0, 0, 0}, {1, 1, 0}},
		FFN:    []float64{0.9, 0.9, 0.9},
		Hidden: []float64{1, 0, 1, 1},
	}
	heads, inter, hidden := h.Kept(2, 3, 4)
	// Layer 1: no head left → MHA gone; layer 2: no unit left → FFN gone.
	if !reflect.DeepEqual(heads, []int{0, 1, 0}) || !reflect.DeepEqual(inter, []int{2, 0, 2}) || hidden != 3 {
		t.Fatalf("Kept = %v %v %d", heads, inter, hidden)
	}
	h.MHA, h.FFN, h.Hidden = nil, nil, nil // -layer & hidden: only head and unit masks
	heads, inter, hidden = h.Kept(2, 3, 4)
	if !reflect.DeepEqual(heads, []int{0, 1, 2}) || !reflect.DeepEqual(inter, []int{2, 0, 2}) || hidden != 4 {
		t.Fatalf("without layer masks: Kept = %v %v %d", heads, inter, hidden)
	}
}
