// Package stats summarises repeated measurements the way the reports print
// them: mean ± sample standard deviation over n, and the spread of timing
// rounds.
package stats

import (
	"math"
	"sort"
)

// Summary is the mean and sample standard deviation of N values. Std is 0
// when N < 2 (one seed has no spread to report, not a spread of zero: see
// HasSpread).
type Summary struct {
	Mean float64 `json:"mean"`
	Std  float64 `json:"std"`
	N    int     `json:"n"`
}

// Summarize returns the mean and the sample (n-1) standard deviation of xs.
func Summarize(xs []float64) Summary {
	n := len(xs)
	if n == 0 {
		return Summary{}
	}
	var sum float64
	for _, x := range xs {
		sum += x
	}
	mean := sum / float64(n)
	if n == 1 {
		return Summary{Mean: mean, N: 1}
	}
	var ss float64
	for _, x := range xs {
		d := x - mean
		ss += d * d
	}
	return Summary{Mean: mean, Std: math.Sqrt(ss / float64(n-1)), N: n}
}

// HasSpread reports whether the summary is over at least two values.
func (s Summary) HasSpread() bool { return s.N >= 2 }

// Median returns the median of xs (0 for none); xs is not modified.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}

// MannWhitneyP returns the two-sided p-value of the Mann-Whitney U test that
// xs and ys come from the same distribution, with the normal approximation
// and tie correction (as benchstat does for timing samples). It returns 1
// when either sample is empty or all values are tied.
func MannWhitneyP(xs, ys []float64) float64 {
	n1, n2 := len(xs), len(ys)
	if n1 == 0 || n2 == 0 {
		return 1
	}
	type obs struct {
		v float64
		x bool
	}
	all := make([]obs, 0, n1+n2)
	for _, v := range xs {
		all = append(all, obs{v, true})
	}
	for _, v := range ys {
		all = append(all, obs{v, false})
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].v < all[j].v })
	// Average ranks over ties; accumulate the tie correction term.
	var r1, tie float64
	for i := 0; i < len(all); {
		j := i
		for j < len(all) && all[j].v == all[i].v {
			j++
		}
		rank := float64(i+j+1) / 2 // ranks i+1..j averaged
		t := float64(j - i)
		tie += t*t*t - t
		for k := i; k < j; k++ {
			if all[k].x {
				r1 += rank
			}
		}
		i = j
	}
	f1, f2 := float64(n1), float64(n2)
	u := r1 - f1*(f1+1)/2
	mu := f1 * f2 / 2
	n := f1 + f2
	sigma2 := f1 * f2 / 12 * ((n + 1) - tie/(n*(n-1)))
	if sigma2 <= 0 {
		return 1
	}
	z := (math.Abs(u-mu) - 0.5) / math.Sqrt(sigma2) // continuity correction
	if z < 0 {
		z = 0
	}
	return math.Erfc(z / math.Sqrt2)
}
