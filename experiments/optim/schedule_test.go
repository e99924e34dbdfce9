package optim

import "testing"

func TestLinear(t *testing.T) {
	s := Linear{Warmup: 10, Total: 110}
	cases := []struct {
		step int
		want float64
	}{{0, 0}, {5, 0.5}, {10, 1}, {60, 0.5}, {110, 0}, {200, 0}}
	for _, c := range cases {
		if got := s.Factor(c.step); got != c.want {
			t.Errorf("Factor(%d) = %v, want %v", c.step, got, c.want)
		}
	}
	if got := (Linear{Total: 4}).Factor(1); got != 0.75 {
		t.Errorf("no warm-up: Factor(1) = %v, want 0.75", got)
	}
	if (Constant{}).Factor(1000) != 1 {
		t.Error("constant schedule changed")
	}
}
