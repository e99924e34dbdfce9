package synth

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cofiharness/cofi/experiments/data"
	"github.com/cofiharness/cofi/experiments/data/glue"
	"github.com/cofiharness/cofi/experiments/data/squad"
	"github.com/cofiharness/cofi/experiments/tokenize"
	"github.com/cofiharness/cofi/task"
)

func TestWordsAreSingleTokens(t *testing.T) {
	tok := tokenize.Default()
	words := slices.Concat(animals, foods, colors, things, extra, []string{"which", "?"})
	for _, c := range spanCategories {
		words = append(words, c.name)
	}
	seen := map[string]bool{}
	for _, w := range words {
		e := tok.Plain(w)
		if e.Len() != 1 || tok.Token(e.IDs[0]) != w {
			t.Errorf("%q is %q, not one bert-base-uncased token", w, tok.Tokens(e.IDs))
		}
		if seen[w] && w != "?" && w != "which" {
			t.Errorf("%q is in two pools", w)
		}
		seen[w] = true
	}
}

func TestDirsMatchReaders(t *testing.T) {
	for _, n := range task.Synthetic() {
		d, err := Dir(n)
		if err != nil {
			t.Fatal(err)
		}
		var want string
		if task.MustLookup(n).Kind == task.Span {
			want, err = squad.Dir(n)
		} else {
			want, err = glue.Dir(n)
		}
		if err != nil || d != want {
			t.Errorf("%s: writer uses %q, reader looks in %q (%v)", n, d, want, err)
		}
	}
	if _, err := Dir("rte"); err == nil {
		t.Error("rte accepted as synthetic")
	}
}

func readAll(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[rel] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestDeterministicPerSeed(t *testing.T) {
	a, b, c := t.TempDir(), t.TempDir(), t.TempDir()
	for _, d := range []struct {
		dir  string
		seed int64
	}{{a, 5}, {b, 5}, {c, 6}} {
		if err := WriteAll(d.dir, 50, 20, d.seed); err != nil {
			t.Fatal(err)
		}
	}
	fa, fb, fc := readAll(t, a), readAll(t, b), readAll(t, c)
	if len(fa) != 8 {
		t.Fatalf("wrote %d files, want 8: %v", len(fa), fa)
	}
	for name, x := range fa {
		if !bytes.Equal(x, fb[name]) {
			t.Errorf("%s differs between two runs with seed 5", name)
		}
		if bytes.Equal(x, fc[name]) {
			t.Errorf("%s is the same for seeds 5 and 6", name)
		}
	}
	if bytes.Equal(fa["SYN-SINGLE/train.tsv"][20:], fa["SYN-SINGLE/dev.tsv"][20:]) {
		t.Error("train and dev share a stream")
	}
}

func index(words []string, pool []string) []int {
	var out []int
	for i, w := range words {
		if slices.Contains(pool, w) {
			out = append(out, i)
		}
	}
	return out
}

// animalFirst checks the layout of one ordered sentence and returns its order.
func animalFirst(t *testing.T, words []string) bool {
	a, f := index(words, animals), index(words, foods)
	if len(a) != 1 || len(f) != 1 {
		t.Fatalf("sentence %q has %d animals and %d foods, want one each", words, len(a), len(f))
	}
	return a[0] < f[0]
}

// animalsBeforeFood checks a syn-reg sentence and returns its count.
func animalsBeforeFood(t *testing.T, words []string) int {
	a, f := index(words, animals), index(words, foods)
	if len(a) != regAnimals || len(f) != 1 {
		t.Fatalf("sentence %q has %d animals and %d foods", words, len(a), len(f))
	}
	n := 0
	for _, i := range a {
		if i < f[0] {
			n++
		}
	}
	return n
}

// The files load with the real readers, every label follows the stated rule
// recomputed from the text, and the encoded inputs fit the task's length.
func TestReadersLoadAndLabelsFollowRule(t *testing.T) {
	dir := t.TempDir()
	if err := WriteAll(dir, 300, 100, 7); err != nil {
		t.Fatal(err)
	}
	tok := tokenize.Default()
	for _, name := range []string{"syn-single", "syn-pair", "syn-reg"} {
		tk := task.MustLookup(name)
		for split, n := range map[string]int{"train": 300, name: 100} {
			set, err := glue.LoadSet(dir, name, split, glue.Auto)
			if err != nil {
				t.Fatal(err)
			}
			if len(set.Examples) != n {
				t.Fatalf("%s %s: %d examples, want %d", name, split, len(set.Examples), n)
			}
			for _, ex := range set.Examples {
				a, b := strings.Fields(ex.TextA), strings.Fields(ex.TextB)
				switch name {
				case "syn-single":
					if want := map[bool]string{true: "1", false: "0"}[animalFirst(t, a)]; ex.Label != want {
						t.Fatalf("%q labelled %s, rule says %s", ex.TextA, ex.Label, want)
					}
				case "syn-pair":
					k := 0
					for _, s := range [][]string{a, b} {
						if animalFirst(t, s) {
							k++
						}
					}
					if want := pairLabels[2-k]; ex.Label != want {
						t.Fatalf("%q / %q labelled %s, rule says %s", ex.TextA, ex.TextB, ex.Label, want)
					}
				case "syn-reg":
					if want := float64(animalsBeforeFood(t, a)+animalsBeforeFood(t, b)) / 2; ex.Score != want {
						t.Fatalf("%q / %q scored %v, rule says %v", ex.TextA, ex.TextB, ex.Score, want)
					}
				}
			}
			vocab, _ := data.TaskLabels(name)
			ds, err := data.EncodeGLUE(set.Examples, tok, vocab, 512)
			if err != nil {
				t.Fatal(err)
			}
			if ds.MaxLen() > tk.SeqLen {
				t.Errorf("%s: %d tokens exceed the task's sequence length %d", name, ds.MaxLen(), tk.SeqLen)
			}
		}
	}
	tk := task.MustLookup("syn-span")
	for _, split := range []string{"train", "syn-span"} {
		set, err := squad.Load(dir, "syn-span", split, squad.Auto)
		if err != nil {
			t.Fatal(err)
		}
		if len(set.Mismatched) != 0 {
			t.Errorf("answer_start mismatches: %v", set.Mismatched)
		}
		for _, ex := range set.Examples {
			words := strings.Fields(ex.Context)
			for _, c := range spanCategories {
				hits := index(words, *c.words)
				if len(hits) != 1 {
					t.Fatalf("context %q has %d %ss", ex.Context, len(hits), c.name)
				}
				if ex.Question == "which "+c.name+" ?" && ex.Answers[0].Text != words[hits[0]] {
					t.Fatalf("%q about %q answered %q", ex.Question, ex.Context, ex.Answers[0].Text)
				}
			}
		}
		f, err := squad.Encode(set.Examples, tok, squad.ConfigFor(tk))
		if err != nil {
			t.Fatal(err)
		}
		if f.Dataset.Len() != len(set.Examples) {
			t.Errorf("%d features for %d questions: contexts must fit one window", f.Dataset.Len(), len(set.Examples))
		}
		for fi, ft := range f.Dataset.Features {
			s, e, ok := f.Span(fi, int(ft.Start), int(ft.End))
			ex := f.Examples[ft.Example]
			if !ok || string([]rune(ex.Context)[s:e]) != ex.Answers[0].Text {
				t.Fatalf("feature %d: label does not point at %q", fi, ex.Answers[0].Text)
			}
		}
	}
}

// presenceDeviation returns, over words present in at least minCount
// samples, the largest gap between the label distribution given the word's
// presence and the overall one.
func presenceDeviation(bags [][]string, labels []int, nLabels, minCount int) (string, float64) {
	total := make([]float64, nLabels)
	count := map[string][]float64{}
	for i, bag := range bags {
		total[labels[i]]++
		seen := map[string]bool{}
		for _, w := range bag {
			if seen[w] {
				continue
			}
			seen[w] = true
			if count[w] == nil {
				count[w] = make([]float64, nLabels)
			}
			count[w][labels[i]]++
		}
	}
	worst, dev := "", 0.0
	for w, c := range count {
		n := 0.0
		for _, x := range c {
			n += x
		}
		if n < float64(minCount) {
			continue
		}
		for k := range c {
			if d := math.Abs(c[k]/n - total[k]/float64(len(bags))); d > dev {
				worst, dev = w, d
			}
		}
	}
	return worst, dev
}

// Statistical check of the bag-of-words property on 100,000 draws: for
// every word, the label distribution given that the word occurs is within
// 3 points of the overall one (one standard error is at most 0.75 points,
// for the rarest words, in ~1/16 of the samples; the worst of the ~700
// compared proportions sits near 3.5 standard errors, 2.6 points).
func TestBagOfWordsStaysAtChance(t *testing.T) {
	const n, tol = 100000, 0.03
	r := newRNG(99, 0)
	var bags, bagsA, bagsB [][]string
	var labels, pairLabelIDs []int
	for range n {
		s := genSingle(r)
		bags = append(bags, s.Words)
		labels = append(labels, s.Label)
	}
	if w, d := presenceDeviation(bags, labels, 2, 500); d > tol {
		t.Errorf("syn-single: given %q the label distribution moves by %.3f", w, d)
	}
	// The check can fail: a label leaking through a word is caught.
	leaky := make([]int, n)
	for i, b := range bags {
		if slices.Contains(b, "dog") {
			leaky[i] = 1
		}
	}
	if w, d := presenceDeviation(bags, leaky, 2, 500); d < 0.3 || w != "dog" {
		t.Errorf("leaky control not caught: %q %.3f", w, d)
	}

	bags = bags[:0]
	for range n {
		p := genPair(r)
		y := slices.Index(pairLabels[:], p.Label)
		bags = append(bags, slices.Concat(p.A, p.B))
		bagsA, bagsB = append(bagsA, p.A), append(bagsB, p.B)
		pairLabelIDs = append(pairLabelIDs, y)
	}
	for name, bb := range map[string][][]string{"either sentence": bags, "sentence 1": bagsA, "sentence 2": bagsB} {
		if w, d := presenceDeviation(bb, pairLabelIDs, 3, 500); d > tol {
			t.Errorf("syn-pair (%s): given %q the label distribution moves by %.3f", name, w, d)
		}
	}
	for k := range 3 {
		c := 0
		for _, y := range pairLabelIDs {
			if y == k {
				c++
			}
		}
		if math.Abs(float64(c)/n-1.0/3) > tol {
			t.Errorf("syn-pair label %s has frequency %.3f", pairLabels[k], float64(c)/n)
		}
	}

	// syn-reg: the mean score given a word is within 0.1 of the overall mean
	// (score s.d. ~1.2; standard error below 0.03 for the rarest words).
	sum, cnt, mean := map[string]float64{}, map[string]float64{}, 0.0
	for range n {
		p := genReg(r)
		mean += p.Score / n
		seen := map[string]bool{}
		for _, w := range slices.Concat(p.A, p.B) {
			if !seen[w] {
				seen[w] = true
				sum[w] += p.Score
				cnt[w]++
			}
		}
	}
	for w := range sum {
		if cnt[w] >= 500 && math.Abs(sum[w]/cnt[w]-mean) > 0.1 {
			t.Errorf("syn-reg: mean score given %q is %.3f, overall %.3f", w, sum[w]/cnt[w], mean)
		}
	}

	// syn-span: each category is asked a third of the time, so always
	// answering with one kind of word scores about 33 % EM.
	asked := map[string]int{}
	for range n {
		asked[genSpan(r).Question]++
	}
	for q, c := range asked {
		if math.Abs(float64(c)/n-1.0/3) > tol {
			t.Errorf("syn-span: %q asked with frequency %.3f", q, float64(c)/n)
		}
	}
}

func TestWriteErrors(t *testing.T) {
	if err := Write(t.TempDir(), "rte", 10, 10, 1); err == nil {
		t.Error("rte accepted")
	}
	if err := Write(t.TempDir(), "syn-pair", 0, 10, 1); err == nil {
		t.Error("zero examples accepted")
	}
}
