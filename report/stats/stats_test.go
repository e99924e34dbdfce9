package stats

import (
	"math"
	"testing"
)

func TestSummarize(t *testing.T) {
	for _, c := range []struct {
		name string
		in   []float64
		want Summary
	}{
		{"none", nil, Summary{}},
		{"one seed has no spread", []float64{80.6}, Summary{80.6, 0, 1}},
		// mean 81, deviations -1, 0, 1: sum of squares 2, sample var 2/2 = 1.
		{"three seeds", []float64{80, 81, 82}, Summary{81, 1, 3}},
		// mean 2.5, squares 2.25+0.25+0.25+2.25 = 5, var 5/3.
		{"four", []float64{1, 2, 3, 4}, Summary{2.5, math.Sqrt(5.0 / 3), 4}},
	} {
		got := Summarize(c.in)
		if got.N != c.want.N || math.Abs(got.Mean-c.want.Mean) > 1e-12 || math.Abs(got.Std-c.want.Std) > 1e-12 {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
	}
}

func TestMedian(t *testing.T) {
	if m := Median([]float64{3, 1, 2}); m != 2 {
		t.Errorf("odd median %v", m)
	}
	in := []float64{4, 1, 3, 2}
	if m := Median(in); m != 2.5 || in[0] != 4 {
		t.Errorf("even median %v, input %v", m, in)
	}
}

func TestMannWhitneyP(t *testing.T) {
	// Fully separated samples of 5 and 5: U = 0, mu = 12.5, sigma² = 25*11/12,
	// z = (12.5-0.5)/sqrt(22.9167) = 2.5067, p = erfc(z/√2) = 0.01219.
	p := MannWhitneyP([]float64{1, 2, 3, 4, 5}, []float64{6, 7, 8, 9, 10})
	if math.Abs(p-0.01219) > 1e-4 {
		t.Errorf("separated p = %v", p)
	}
	if p := MannWhitneyP([]float64{1, 2, 3}, []float64{1, 2, 3}); p < 0.9 {
		t.Errorf("identical p = %v", p)
	}
	if p := MannWhitneyP([]float64{5, 5}, []float64{5, 5}); p != 1 {
		t.Errorf("all tied p = %v", p)
	}
	if p := MannWhitneyP(nil, []float64{1}); p != 1 {
		t.Errorf("empty p = %v", p)
	}
}
