package metrics

import (
	"math"
	"reflect"
	"strings"
	"testing"
)

const eps = 1e-9

func near(a, b float64) bool { return math.Abs(a-b) < 1e-6 }

// pred/gold shared by the binary tests:
//
//	i:    0 1 2 3 4
//	pred: 1 0 1 1 0
//	gold: 1 1 1 0 0
//
// TP = 2 (i0, i2), FN = 1 (i1), FP = 1 (i3), TN = 1 (i4).
var binPred, binGold = []int{1, 0, 1, 1, 0}, []int{1, 1, 1, 0, 0}

func TestClassificationPrimitives(t *testing.T) {
	cases := []struct {
		name       string
		fn         func([]int, []int) (float64, error)
		pred, gold []int
		want       float64
	}{
		// 3 correct of 5.
		{"accuracy", Accuracy, binPred, binGold, 0.6},
		// 2TP / (2TP + FP + FN) = 4/6.
		{"f1", F1, binPred, binGold, 4.0 / 6},
		// No predicted positive: 0, not NaN.
		{"f1 no positives", F1, []int{0, 0}, []int{1, 0}, 0},
		// (TP*TN - FP*FN) / sqrt((TP+FP)(TP+FN)(TN+FP)(TN+FN)) = (2-1)/sqrt(3*3*2*2) = 1/6.
		{"mcc binary", Matthews, binPred, binGold, 1.0 / 6},
		// s=4, correct=2, gold counts (1,2,1), pred counts (2,1,1):
		// sum p_k t_k = 2+2+1 = 5, sum p^2 = sum t^2 = 6;
		// (2*4 - 5) / sqrt((16-6)(16-6)) = 3/10.
		{"mcc three classes", Matthews, []int{0, 1, 2, 0}, []int{0, 1, 1, 2}, 0.3},
		// Constant prediction: undefined, 0 as scikit-learn.
		{"mcc constant", Matthews, []int{1, 1, 1}, []int{0, 1, 1}, 0},
		{"mcc perfect", Matthews, []int{0, 1, 1}, []int{0, 1, 1}, 1},
	}
	for _, c := range cases {
		got, err := c.fn(c.pred, c.gold)
		if err != nil || !near(got, c.want) {
			t.Errorf("%s = %v (err %v), want %v", c.name, got, err, c.want)
		}
	}
	if _, err := Accuracy([]int{1}, []int{1, 0}); err == nil {
		t.Error("length mismatch accepted")
	}
	if _, err := Accuracy(nil, nil); err == nil {
		t.Error("empty input accepted")
	}
}

func TestCorrelations(t *testing.T) {
	// x=[1,2,3,4], y=[2,4,5,9]: means 2.5 and 5; dx=[-1.5,-.5,.5,1.5], dy=[-3,-1,0,4];
	// sxy = 4.5+.5+0+6 = 11, sxx = 5, syy = 26; r = 11/sqrt(130).
	if r, _ := Pearson([]float64{1, 2, 3, 4}, []float64{2, 4, 5, 9}); !near(r, 11/math.Sqrt(130)) {
		t.Errorf("pearson = %v, want %v", r, 11/math.Sqrt(130))
	}
	// Ranks of [1,2,2,3] = [1,2.5,2.5,4]; of [1,3,2,4] = [1,3,2,4]. Centred:
	// [-1.5,0,0,1.5] and [-1.5,.5,-.5,1.5]; sxy = 4.5, sxx = 4.5, syy = 5;
	// rho = 4.5/sqrt(22.5).
	if r, _ := Spearman([]float64{1, 2, 2, 3}, []float64{1, 3, 2, 4}); !near(r, 4.5/math.Sqrt(22.5)) {
		t.Errorf("spearman = %v, want %v", r, 4.5/math.Sqrt(22.5))
	}
	// Sorted 5,10,20,20,20: ranks 1,2 and (3+4+5)/3 = 4 for the ties.
	if got := Ranks([]float64{10, 20, 20, 5, 20}); !reflect.DeepEqual(got, []float64{2, 4, 4, 1, 4}) {
		t.Errorf("ranks = %v", got)
	}
	// Monotone but non-linear: spearman 1, pearson below 1.
	x, y := []float64{1, 2, 3, 4}, []float64{1, 4, 9, 100}
	if r, _ := Spearman(x, y); !near(r, 1) {
		t.Errorf("spearman of monotone data = %v", r)
	}
	if r, _ := Pearson(x, y); r >= 1-eps {
		t.Errorf("pearson of non-linear data = %v", r)
	}
	if r, _ := Pearson([]float64{1, 1}, []float64{1, 2}); r != 0 {
		t.Errorf("pearson with constant input = %v, want 0", r)
	}
}

func TestNormalizeAnswer(t *testing.T) {
	cases := map[string]string{
		"The Quick, brown fox!":   "quick brown fox",
		"an apple and a theory":   "apple and theory",
		"Tha-the":                 "thathe", // punctuation goes first, so no article is left
		"A.B.":                    "ab",
		"  Denver\tBroncos \n":    "denver broncos",
		"the":                     "",
		"théâtre the":             "théâtre",
		"l'an":                    "lan",
		"Anna and The Beatles":    "anna and beatles",
		"what about a-ha? A, an.": "what about aha",
	}
	for in, want := range cases {
		if got := NormalizeAnswer(in); got != want {
			t.Errorf("NormalizeAnswer(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSQuADScores(t *testing.T) {
	if !ExactMatch("the Eiffel Tower", "Eiffel tower.") {
		t.Error("exact match after normalisation")
	}
	// pred tokens [denver broncos team], gold [denver broncos]: 2 shared,
	// precision 2/3, recall 1, F1 = 2*(2/3)/(5/3) = 0.8.
	if f := TokenF1("Denver Broncos team", "the Denver Broncos"); !near(f, 0.8) {
		t.Errorf("token F1 = %v, want 0.8", f)
	}
	gold := map[string][]string{
		"q1": {"Denver Broncos", "the Denver Broncos"},         // pred "Denver Broncos team": EM 0, F1 0.8
		"q2": {"1858"},                                         // pred "in 1858": EM 0, F1 2*.5*1/1.5 = 2/3
		"q3": {"Saint Bernadette Soubirous"},                   // no prediction: 0, 0
		"q4": {"golden statue", "a golden statue of the Mary"}, // pred "a golden statue": EM 1, F1 1
	}
	pred := map[string]string{"q1": "Denver Broncos team", "q2": "in 1858", "q4": "a golden statue", "other": "ignored"}
	em, f1, err := SQuAD(pred, gold)
	if err != nil || !near(em, 0.25) || !near(f1, (0.8+2.0/3+0+1)/4) {
		t.Errorf("SQuAD = %v %v %v, want 0.25 %v", em, f1, err, (0.8+2.0/3+1)/4)
	}
	m, err := Span("squad", "squad", pred, gold)
	if err != nil || !near(m["squad/em"], 25) || !near(m["squad/f1"], 100*(0.8+2.0/3+1)/4) || len(m) != 2 {
		t.Errorf("Span = %v %v", m, err)
	}
}

func TestTaskMaps(t *testing.T) {
	m, err := Classification("mrpc", "mrpc", binPred, binGold)
	if err != nil || len(m) != 2 || !near(m["mrpc/acc"], 60) || !near(m["mrpc/f1"], 400.0/6) {
		t.Errorf("mrpc = %v %v", m, err)
	}
	m, err = Classification("cola", "cola", binPred, binGold)
	if err != nil || len(m) != 2 || !near(m["cola/mcc"], 100.0/6) || !near(m["cola/acc"], 60) {
		t.Errorf("cola = %v %v", m, err)
	}
	m, err = Classification("mnli", "mnli-mm", []int{0, 1, 2}, []int{0, 1, 1})
	if err != nil || len(m) != 1 || !near(m["mnli-mm/acc"], 200.0/3) {
		t.Errorf("mnli-mm = %v %v", m, err)
	}
	m, err = Regression("stsb", "stsb", []float64{1, 2, 3, 4}, []float64{2, 4, 5, 9})
	// corr is the legacy GLUE metric: the mean of Pearson and Spearman.
	if err != nil || len(m) != 3 || !near(m["stsb/pearson"], 1100/math.Sqrt(130)) || !near(m["stsb/spearman"], 100) ||
		!near(m["stsb/corr"], (1100/math.Sqrt(130)+100)/2) {
		t.Errorf("stsb = %v %v", m, err)
	}
	errCases := []struct {
		name string
		err  error
		want string
	}{
		{"unknown eval set", second(Classification("mnli", "mnli", binPred, binGold)), "no evaluation set"},
		{"wrong kind", second(Classification("stsb", "stsb", binPred, binGold)), "regression task"},
		{"nan prediction", second(Regression("stsb", "stsb", []float64{math.NaN(), 1}, []float64{1, 2})), "NaN"},
		{"unknown task", second(Classification("wnli", "wnli", binPred, binGold)), "unknown task"},
	}
	for _, c := range errCases {
		if c.err == nil || !strings.Contains(c.err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %q", c.name, c.err, c.want)
		}
	}
}

func second[T any](_ T, err error) error { return err }
