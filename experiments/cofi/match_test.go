package cofi

import (
	"reflect"
	"testing"
)

func TestDistillTeacherLayers(t *testing.T) {
	if got := DistillTeacherLayers(12); !reflect.DeepEqual(got, []int{3, 6, 9, 12}) {
		t.Fatalf("12 layers: %v", got)
	}
	if got := DistillTeacherLayers(2); !reflect.DeepEqual(got, []int{1, 2}) {
		t.Fatalf("2 layers: %v", got)
	}
}

func TestAlign(t *testing.T) {
	// 3 teacher layers × 5 student layers.
	cost := [][]float64{
		{0.9, 0.1, 0.5, 0.6, 0.7},
		{0.8, 0.2, 0.3, 0.05, 0.4},
		{0.7, 0.6, 0.5, 0.01, 0.3},
	}
	all := []bool{true, true, true, true, true}
	cases := []struct {
		name    string
		rule    LayerMatch
		present []bool
		want    []int
	}{
		// v3: row-wise argmin, order and presence ignored.
		{"v3", MatchV3, all, []int{1, 3, 3}},
		// v4 from the top: row 2 → 3 (0.01); row 1 below 3 → 1 (0.2); row 0 below 1 → 0 (0.9).
		{"v4", MatchV4, all, []int{0, 1, 3}},
		// Layer 3 pruned: row 2 → 4 (0.3); row 1 below 4, present → 1 (0.2); row 0 below 1 → 0.
		{"v4 pruned", MatchV4, []bool{true, true, true, false, true}, []int{0, 1, 4}},
		// Only layer 0 left: row 2 → 0, rows 1 and 0 find nothing below it.
		{"v4 exhausted", MatchV4, []bool{true, false, false, false, false}, []int{-1, -1, 0}},
		{"fixed", MatchFixed, []bool{true, false, true, true, true}, []int{0, -1, 2}},
	}
	for _, c := range cases {
		if got := Align(c.rule, cost, c.present); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: Align = %v, want %v", c.name, got, c.want)
		}
	}
}
