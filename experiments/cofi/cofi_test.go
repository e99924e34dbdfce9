package cofi

import (
	"math"
	"testing"
)

func approx(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func TestPNonZeroSpotValues(t *testing.T) {
	// P(z≠0) = sigmoid(log_alpha + 1.598597). exact: sigmoid(-3.006403) =
	// 0.047137, sigmoid(1.598597) = 0.831822, sigmoid(6.203597) = 0.997982.
	// METHOD.md quotes 0.0470 / 0.8318 / 0.9982, rounded by hand; they agree
	// with the formula to within 3e-4.
	cases := []struct{ la, exact, method float64 }{{-4.605, 0.047137, 0.0470}, {0, 0.831822, 0.8318}, {4.605, 0.997982, 0.9982}}
	for _, c := range cases {
		got := PNonZero(c.la)
		if !approx(got, c.exact, 1e-6) || !approx(got, c.method, 3e-4) {
			t.Errorf("PNonZero(%v) = %.6f, want %.6f (METHOD.md: %.4f)", c.la, got, c.exact, c.method)
		}
	}
	if !approx(pzShift, 1.598597, 1e-6) {
		t.Errorf("shift = %v", pzShift)
	}
	if !approx(LogAlphaMax, 4.60517, 1e-5) || LogAlphaMin != -LogAlphaMax {
		t.Errorf("clamp limits %v %v", LogAlphaMin, LogAlphaMax)
	}
}

func TestBertBaseSizes(t *testing.T) {
	d := BertBase
	if d.ParamsPerHead() != 196864 || d.ParamsPerInter() != 1537 || d.Prunable() != 85017600 {
		t.Fatalf("per head %d, per unit %d, M %v", d.ParamsPerHead(), d.ParamsPerInter(), d.Prunable())
	}
	ones := func(n int) []float64 {
		s := make([]float64, n)
		for i := range s {
			s[i] = 1
		}
		return s
	}
	full := Probs{MHA: ones(12), FFN: ones(12), Hidden: ones(768)}
	for l := 0; l < 12; l++ {
		full.Head = append(full.Head, ones(12))
		full.Int = append(full.Int, ones(3072))
	}
	// With z_hidn: 768·(144·256.333… + 36864·2) = 84,971,520; 1 − that/85,017,600 = 0.000542.
	if s := d.ExpectedSparsity(full); !approx(s, 0.00054, 5e-6) {
		t.Errorf("expected sparsity of a full model = %.6f, want 0.00054", s)
	}
	if e := d.ExpectedSize(full); !approx(e, 84971520, 1e-3) {
		t.Errorf("E[size] = %v, want 84,971,520", e)
	}
	// Without z_hidn: 144·196,864 + 36,864·1,537 = 85,008,384 → 0.000108.
	noHid := full
	noHid.Hidden = nil
	if e := d.ExpectedSize(noHid); !approx(e, 85008384, 1e-3) {
		t.Errorf("E[size] without z_hidn = %v, want 85,008,384", e)
	}
	// Absent masks count as always kept: same as all-ones.
	if e := d.ExpectedSize(Probs{Hidden: ones(768)}); !approx(e, 84971520, 1e-3) {
		t.Errorf("E[size] with only z_hidn = %v", e)
	}
	// Half the hidden dims at P = 0.5, everything else kept: a quarter of the hidden sum missing.
	half := full
	half.Hidden = ones(768)
	for k := 0; k < 384; k++ {
		half.Hidden[k] = 0.5
	}
	if e := d.ExpectedSize(half); !approx(e, 84971520*0.75, 1e-3) {
		t.Errorf("E[size] with 384 hidden gates at 0.5 = %v", e)
	}
}

func TestDeterministic(t *testing.T) {
	// P(z≠0) at -4.605 is 0.0470, at 4.605 0.9982: Σ P = 2·0.0470 + 2·0.9982 = 2.0904,
	// 4 − 2.0904 = 1.9096 → 2 zeros: the two smallest soft values.
	got := Deterministic([]float64{4.605, -4.605, 4.605, -4.605}, HalfEven)
	keep := sigmoid(1.2 * 4.605)
	want := []float64{keep, 0, keep, 0}
	for i := range want {
		if !approx(got[i], want[i], 1e-12) {
			t.Fatalf("Deterministic = %v, want %v", got, want)
		}
	}
	if keep >= 1 || !approx(keep, 0.996, 1e-3) {
		t.Fatalf("soft value %v: kept units keep a value below 1", keep)
	}
}

// A layer mask is a group of one: dropped exactly when P(z≠0) < 0.5.
func TestLayerMaskDroppedBelowHalf(t *testing.T) {
	la := func(p float64) float64 { return math.Log(p/(1-p)) - pzShift } // inverse of PNonZero
	cases := []struct {
		p       float64
		r       Rounding
		dropped bool
	}{
		{0.49, HalfEven, true}, {0.51, HalfEven, false}, {0.5, HalfEven, false}, {0.5, HalfUp, true},
		{0.0470, HalfEven, true}, {0.9982, HalfEven, false},
	}
	for _, c := range cases {
		z := Deterministic([]float64{la(c.p)}, c.r)[0]
		if (z == 0) != c.dropped {
			t.Errorf("P=%v (%s): z = %v, dropped should be %v", c.p, c.r, z, c.dropped)
		}
	}
}

func TestTargetSparsity(t *testing.T) {
	cases := []struct {
		step int
		want float64
	}{{0, 0}, {100, 0}, {150, 0.475}, {200, 0.95}, {1000, 0.95}}
	for _, c := range cases {
		if got := TargetSparsity(0.95, c.step, 100, 100); !approx(got, c.want, 1e-12) {
			t.Errorf("TargetSparsity(step %d) = %v, want %v", c.step, got, c.want)
		}
	}
}
