package augment

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/cofiharness/cofi/experiments/tokenize"
)

// fakeMLM answers every query with the same tokens, rotated by the mask
// position so different words get different lists, and records the queries.
type fakeMLM struct {
	tok   *tokenize.Tokenizer
	words []string
	seen  []Query
	calls int
}

func (f *fakeMLM) TopK(qs []Query, k int) ([][]int32, error) {
	f.calls++
	out := make([][]int32, len(qs))
	for i, q := range qs {
		f.seen = append(f.seen, q)
		for j := 0; j < k && j < len(f.words); j++ {
			id, ok := f.tok.ID(f.words[(j+q.Mask)%len(f.words)])
			if !ok {
				return nil, fmt.Errorf("%q not in the vocabulary", f.words[j])
			}
			out[i] = append(out[i], id)
		}
	}
	return out, nil
}

// glove3 is a GloVe file in the text format whose neighbours are obvious:
// cosine(unaffable, affable) > cosine(unaffable, friendly) > ... .
const glove3 = `the 0.1 0.1 0.1
unaffable 1 0 0
affable 0.9 0.1 0
friendly 0.7 0.7 0
<unk> 0 0 0
rude -1 0.1 0
Surly -0.9 -0.2 0.3
`

func newAugmentor(t *testing.T, mlm MLM, s Settings) *Augmentor {
	t.Helper()
	g, err := ParseGloVe(strings.NewReader(glove3), "glove3.txt", 100000)
	if err != nil {
		t.Fatal(err)
	}
	if s.MaxLen == 0 {
		s.MaxLen = 512
	}
	return &Augmentor{Tok: tokenize.Default(), MLM: mlm, GloVe: g, S: s}
}

// TestCandidateSources checks by hand which words get which candidates.
func TestCandidateSources(t *testing.T) {
	tok := tokenize.Default()
	mlm := &fakeMLM{tok: tok, words: []string{"cat", "##s", "house", "dog"}}
	a := newAugmentor(t, mlm, Settings{Candidates: 3, MLMBatch: 2})
	// "the" is a stop word, "," and "42" are not letters, "unaffable" is
	// several WordPieces (GloVe), "quick", "dog" and "times" are one (MLM),
	// "zxqv" is several pieces and not in the GloVe file (itself).
	words, err := a.Analyse("The quick unaffable dog, 42 times zxqv")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(tok.Pieces("unaffable")); n < 2 {
		t.Fatalf("fixture: unaffable is %d piece(s)", n)
	}
	// Pieces: [CLS]=0 the=1 quick=2 un ##af ##fa ##ble ... : each MLM word's
	// candidates are the fake's list rotated by its mask position, "##s" dropped.
	pos := map[string]int{}
	off := 1
	for _, w := range tok.Words("The quick unaffable dog, 42 times zxqv") {
		pos[w] = off
		off += len(tok.Pieces(w))
	}
	rot := func(w string) []string {
		var out []string
		for j := 0; j < 3; j++ {
			if c := mlm.words[(j+pos[w])%4]; c != "##s" {
				out = append(out, c)
			}
		}
		return out
	}
	want := []Word{
		{"the", Kept, nil},
		{"quick", FromMLM, rot("quick")},
		{"unaffable", FromGloVe, []string{"affable", "friendly", "the"}},
		{"dog", FromMLM, rot("dog")},
		{",", Kept, nil},
		{"42", Kept, nil},
		{"times", FromMLM, rot("times")},
		{"zxqv", Itself, []string{"zxqv"}},
	}
	if !reflect.DeepEqual(words, want) {
		t.Fatalf("words\n got %+v\nwant %+v", words, want)
	}
	// Three MLM queries in batches of 2: two calls. Each reads "[CLS] masked
	// sentence [SEP] sentence [SEP]" with type ids 0 up to the first [SEP].
	if len(mlm.seen) != 3 || mlm.calls != 2 {
		t.Fatalf("%d queries in %d calls, want 3 in 2", len(mlm.seen), mlm.calls)
	}
	q := mlm.seen[0]
	plain := tok.Plain("The quick unaffable dog, 42 times zxqv").IDs
	n := len(plain)
	if len(q.IDs) != 2*n+3 || q.IDs[0] != tok.CLS() || q.IDs[n+1] != tok.SEP() || q.IDs[2*n+2] != tok.SEP() {
		t.Fatalf("query layout %v", q.IDs)
	}
	if q.Mask != pos["quick"] || q.IDs[q.Mask] != tok.MASK() || !reflect.DeepEqual(q.IDs[n+2:2*n+2], plain) {
		t.Fatalf("mask at %d (want %d): %v", q.Mask, pos["quick"], q.IDs)
	}
	for i, ty := range q.TypeIDs {
		if want := int8(0); i > n+1 {
			want = 1
			if ty != want {
				t.Fatalf("type ids %v", q.TypeIDs)
			}
		} else if ty != want {
			t.Fatalf("type ids %v", q.TypeIDs)
		}
	}
	// GloVe keeps the case of a title-case word, and knows nothing of absent ones.
	if got := a.GloVe.Nearest("Surly", 2); !reflect.DeepEqual(got, []string{"Rude", "The"}) {
		t.Errorf("title-case neighbours %v", got)
	}
	if got := a.GloVe.Nearest("<unk>", 2); got != nil {
		t.Errorf("<unk> has neighbours %v", got)
	}
}

// TestMaskBeyondLimit: a word whose mask falls past the model's input limit
// keeps itself (the script's mask_id >= 512), and queries are cut there.
func TestMaskBeyondLimit(t *testing.T) {
	mlm := &fakeMLM{tok: tokenize.Default(), words: []string{"cat"}}
	a := newAugmentor(t, mlm, Settings{Candidates: 1, MLMBatch: 8, MaxLen: 6})
	words, err := a.Analyse("dog cat horse cow bird fish lion")
	if err != nil {
		t.Fatal(err)
	}
	for i, w := range words {
		want := FromMLM
		if i+1 >= 6 {
			want = Itself
		}
		if w.Source != want {
			t.Errorf("word %d %q: source %v, want %v", i, w.Text, w.Source, want)
		}
	}
	for _, q := range mlm.seen {
		if len(q.IDs) != 6 || len(q.TypeIDs) != 6 {
			t.Fatalf("query not cut at 6: %v", q.IDs)
		}
	}
}

// TestReplacementRate: over many copies each word is replaced with
// probability p (its candidates never include itself here).
func TestReplacementRate(t *testing.T) {
	words := []Word{{"a", FromMLM, []string{"x", "y"}}, {"b", Kept, nil}, {"c", FromGloVe, []string{"z"}}, {"d", Itself, []string{"d"}}}
	for _, p := range []float64{0.4, 0.1} {
		rng := rand.New(rand.NewPCG(1, 2))
		const n = 20000
		changed := map[int]int{}
		for range n {
			for i, w := range strings.Split(Draw(words, p, rng), " ") {
				if w != words[i].Text {
					changed[i]++
				}
			}
		}
		for i, wantRate := range []float64{p, 0, p, 0} {
			rate := float64(changed[i]) / n
			if tol := 4 * math.Sqrt(p*(1-p)/n); math.Abs(rate-wantRate) > tol+1e-12 {
				t.Errorf("p=%g word %d: replaced in %.4f of copies, want %.2f ± %.4f", p, i, rate, wantRate, tol)
			}
		}
	}
	// Copies are distinct and the original comes first.
	got := Sentences("A b c d", words, 30, 0.4, rand.New(rand.NewPCG(3, 4)))
	seen := map[string]bool{}
	for _, s := range got {
		if seen[s] {
			t.Errorf("duplicate copy %q", s)
		}
		seen[s] = true
	}
	if got[0] != "A b c d" || len(got) > 31 || len(got) < 3 {
		t.Errorf("sentences %q", got)
	}
}

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// sst2Like writes an SST-2-layout train file of n sentences.
func sst2Like(t *testing.T, dir string, n int) string {
	var b strings.Builder
	b.WriteString("sentence\tlabel\n")
	animals := []string{"dog", "cat", "horse", "cow", "bird"}
	for i := range n {
		fmt.Fprintf(&b, "the %s saw an unaffable %s near the river\t%d\n", animals[i%5], animals[(i/5)%5], i%2)
	}
	p := filepath.Join(dir, "train.tsv")
	writeFile(t, p, b.String())
	return p
}

// cancelAfter cancels its context after a number of reports.
func cancelAfter(n int) (context.Context, func(done, total int)) {
	ctx, cancel := context.WithCancel(context.Background())
	k := 0
	return ctx, func(int, int) {
		k++
		if k == n {
			cancel()
		}
	}
}

// TestFileDeterministicAndResumable: the same seed gives the same bytes,
// whether or not the run was interrupted; another seed another file.
func TestFileDeterministicAndResumable(t *testing.T) {
	dir := t.TempDir()
	in := sst2Like(t, dir, 2*ChunkRows+17)
	mk := func(seed uint64) *Augmentor {
		return newAugmentor(t, &fakeMLM{tok: tokenize.Default(), words: []string{"cat", "dog", "house"}},
			Settings{Copies: 5, Candidates: 3, ReplaceProb: 0.4, Seed: seed, MLMBatch: 16})
	}
	spec := func(out string) FileSpec {
		return FileSpec{In: in, Out: filepath.Join(dir, out), Header: true, TextCols: []int{0}}
	}
	st, err := mk(7).File(context.Background(), spec("a.tsv"), nil)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(filepath.Join(dir, "a.tsv"))
	if st.Rows != 2*ChunkRows+17 || st.RowsOut <= st.Rows || st.Words["mlm"] == 0 || st.Words["glove"] == 0 || st.Words["kept"] == 0 {
		t.Errorf("stats %+v", st)
	}
	lines := strings.Split(strings.TrimSuffix(string(a), "\n"), "\n")
	if lines[0] != "sentence\tlabel" || len(lines) != st.RowsOut+1 {
		t.Fatalf("%d lines (header %q), want %d", len(lines), lines[0], st.RowsOut+1)
	}
	// Each example's original comes first, its copies keep its label.
	if lines[1] != "the dog saw an unaffable dog near the river\t0" {
		t.Errorf("first row %q", lines[1])
	}
	for _, l := range lines[1:] {
		if f := strings.Split(l, "\t"); len(f) != 2 || (f[1] != "0" && f[1] != "1") {
			t.Fatalf("row %q", l)
		}
	}
	// Interrupted after the first chunk, then resumed: the same bytes.
	ctx, report := cancelAfter(1)
	if _, err := mk(7).File(ctx, spec("b.tsv"), report); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "b.tsv.progress")); err != nil {
		t.Fatalf("no checkpoint after the interruption: %v", err)
	}
	st2, err := mk(7).File(context.Background(), spec("b.tsv"), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "b.tsv"))
	if string(a) != string(b) || st2.Resumed != ChunkRows || st2.RowsOut != st.RowsOut {
		t.Errorf("resumed output differs (resumed at %d, %d rows vs %d)", st2.Resumed, st2.RowsOut, st.RowsOut)
	}
	if _, err := os.Stat(filepath.Join(dir, "b.tsv.partial")); !errors.Is(err, os.ErrNotExist) {
		t.Error("partial file left behind")
	}
	if _, err := mk(8).File(context.Background(), spec("c.tsv"), nil); err != nil {
		t.Fatal(err)
	}
	if c, _ := os.ReadFile(filepath.Join(dir, "c.tsv")); string(c) == string(a) {
		t.Error("another seed gave the same file")
	}
}

// TestPairRows: a pair task's second sentence is augmented after the
// first, which keeps its last augmented version (released) or is reset
// (restored); short rows and blank lines are handled.
func TestPairRows(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "train.tsv")
	writeFile(t, in, "index\tsentence1\tsentence2\tlabel\n0\tthe dog ran\tthe cat sat\tentailment\n\n1\tshort\n")
	for _, mode := range []string{PairReleased, PairRestored} {
		a := newAugmentor(t, &fakeMLM{tok: tokenize.Default(), words: []string{"cow", "fox", "owl"}},
			Settings{Copies: 8, Candidates: 3, ReplaceProb: 0.9, Seed: 1, MLMBatch: 4, PairRows: mode})
		out := filepath.Join(dir, mode+".tsv")
		if _, err := a.File(context.Background(), FileSpec{In: in, Out: out, Header: true, TextCols: []int{1, 2}}, nil); err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(out)
		lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
		var firsts, seconds []string
		for _, l := range lines[1 : len(lines)-1] {
			f := strings.Split(l, "\t")
			firsts, seconds = append(firsts, f[1]), append(seconds, f[2])
		}
		if lines[len(lines)-1] != "1\tshort" {
			t.Errorf("%s: short row %q not copied", mode, lines[len(lines)-1])
		}
		// Rows of the first column's copies keep sentence 2; then come sentence
		// 2's original row and its copies.
		k := 0
		for k < len(seconds) && seconds[k] == "the cat sat" {
			k++
		}
		n1 := k - 1 // rows of the first column's phase
		if n1 < 2 || k == len(seconds) || firsts[0] != "the dog ran" {
			t.Fatalf("%s: rows %q / %q", mode, firsts, seconds)
		}
		wantFirst := firsts[n1-1] // released: the last augmented first sentence
		if mode == PairRestored {
			wantFirst = "the dog ran"
		}
		for _, f := range firsts[n1:] {
			if f != wantFirst {
				t.Errorf("%s: sentence 1 is %q while sentence 2 is augmented, want %q", mode, f, wantFirst)
			}
		}
		if mode == PairReleased && wantFirst == "the dog ran" {
			t.Errorf("released: the first sentence's last copy is the original; the fixture does not test anything")
		}
	}
}

func TestGloVeErrors(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{"a 1 2\nb 1\n", "g.txt:2: \"b\" has 1 components, the first line 2"},
		{"a 1 x\n", "g.txt:1: component 2 of \"a\": \"x\" is not a number"},
		{"a\n", "g.txt:1: \"a\" has no vector"},
		{"", "g.txt: no vectors"},
	} {
		if _, err := ParseGloVe(strings.NewReader(c.src), "g.txt", 10); err == nil || err.Error() != c.want {
			t.Errorf("%q: error %v, want %s", c.src, err, c.want)
		}
	}
	// Only the first glove_words lines are read.
	g, err := ParseGloVe(strings.NewReader(glove3), "g.txt", 3)
	if err != nil || g.Len() != 3 || g.Nearest("unaffable", 5)[1] != "the" {
		t.Errorf("first 3 words: %v %v", g, err)
	}
}
