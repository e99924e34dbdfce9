// Package metrics computes the GLUE and SQuAD scores the paper reports.
// The primitives return fractions in [0, 1] (correlations in [-1, 1]); the
// per-task functions return the record's map "<evalset>/<metric>" in percent.
package metrics

import (
	"errors"
	"fmt"
	"math"
	"sort"
)

func checkLens(n, m int) error {
	if n != m {
		return fmt.Errorf("%d predictions for %d gold labels", n, m)
	}
	if n == 0 {
		return errors.New("no predictions")
	}
	return nil
}

// Accuracy is the fraction of predictions equal to the gold label.
func Accuracy(pred, gold []int) (float64, error) {
	if err := checkLens(len(pred), len(gold)); err != nil {
		return 0, err
	}
	ok := 0
	for i := range pred {
		if pred[i] == gold[i] {
			ok++
		}
	}
	return float64(ok) / float64(len(pred)), nil
}

// F1 is the binary F1 score of class 1 (GLUE's positive class for MRPC and
// QQP). With no true positives it is 0, as scikit-learn's f1_score.
func F1(pred, gold []int) (float64, error) {
	if err := checkLens(len(pred), len(gold)); err != nil {
		return 0, err
	}
	var tp, fp, fn int
	for i := range pred {
		switch {
		case pred[i] == 1 && gold[i] == 1:
			tp++
		case pred[i] == 1:
			fp++
		case gold[i] == 1:
			fn++
		}
	}
	if tp == 0 {
		return 0, nil
	}
	return 2 * float64(tp) / float64(2*tp+fp+fn), nil
}

// Matthews is the Matthews correlation coefficient (multi-class form of
// scikit-learn's matthews_corrcoef, the usual one for two classes); 0 when
// undefined (all predictions or all golds in one class).
func Matthews(pred, gold []int) (float64, error) {
	if err := checkLens(len(pred), len(gold)); err != nil {
		return 0, err
	}
	tCount, pCount := map[int]float64{}, map[int]float64{}
	var correct float64
	for i := range pred {
		tCount[gold[i]]++
		pCount[pred[i]]++
		if pred[i] == gold[i] {
			correct++
		}
	}
	s := float64(len(pred))
	var pt, pp, tt float64
	for k, t := range tCount {
		pt += pCount[k] * t
		tt += t * t
	}
	for _, p := range pCount {
		pp += p * p
	}
	den := math.Sqrt((s*s - pp) * (s*s - tt))
	if den == 0 {
		return 0, nil
	}
	return (correct*s - pt) / den, nil
}

// Pearson is the Pearson correlation of x and y; 0 when either is constant
// (undefined, and NaN cannot be stored in a JSON record).
func Pearson(x, y []float64) (float64, error) {
	if err := checkLens(len(x), len(y)); err != nil {
		return 0, err
	}
	var mx, my float64
	for i := range x {
		mx += x[i]
		my += y[i]
	}
	n := float64(len(x))
	mx /= n
	my /= n
	var sxy, sxx, syy float64
	for i := range x {
		dx, dy := x[i]-mx, y[i]-my
		sxy += dx * dy
		sxx += dx * dx
		syy += dy * dy
	}
	if sxx == 0 || syy == 0 {
		return 0, nil
	}
	r := sxy / math.Sqrt(sxx*syy)
	return max(-1, min(1, r)), nil
}

// Spearman is the Pearson correlation of the ranks of x and y, tied values
// sharing their average rank (scipy.stats.spearmanr).
func Spearman(x, y []float64) (float64, error) {
	if err := checkLens(len(x), len(y)); err != nil {
		return 0, err
	}
	return Pearson(Ranks(x), Ranks(y))
}

// Ranks returns the 1-based rank of each value, ties getting the average of
// the ranks they span.
func Ranks(x []float64) []float64 {
	idx := make([]int, len(x))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return x[idx[a]] < x[idx[b]] })
	r := make([]float64, len(x))
	for i := 0; i < len(idx); {
		j := i
		for j+1 < len(idx) && x[idx[j+1]] == x[idx[i]] {
			j++
		}
		avg := float64(i+j)/2 + 1
		for k := i; k <= j; k++ {
			r[idx[k]] = avg
		}
		i = j + 1
	}
	return r
}
