package squad

import (
	"fmt"
	"sort"
	"unicode/utf8"

	"github.com/cofiharness/cofi/experiments/data"
	"github.com/cofiharness/cofi/experiments/tokenize"
	"github.com/cofiharness/cofi/task"
)

// Config sizes the features.
type Config struct {
	MaxLen      int // tokens per feature, specials included (384)
	Stride      int // tokens shared by consecutive windows of a long context (128)
	MaxQueryLen int // question tokens kept (64)
}

// DefaultConfig is the SQuAD setting of the paper (BERT's and HF's run_qa.py).
func DefaultConfig() Config { return Config{MaxLen: 384, Stride: 128, MaxQueryLen: 64} }

// ConfigFor returns the setting for a span task: DefaultConfig for SQuAD;
// for the synthetic task its sequence length with stride and query length
// a quarter of it.
func ConfigFor(t task.Task) Config {
	if t.Name == "squad" || t.SeqLen <= 0 {
		return DefaultConfig()
	}
	return Config{MaxLen: t.SeqLen, Stride: t.SeqLen / 4, MaxQueryLen: t.SeqLen / 4}
}

// window is the context part of one feature.
type window struct {
	ctxStart int // index in the feature of the first context token
	docStart int // index of that token in the example's context tokens
	n        int // context tokens in the feature
}

// Features are the encoded windows of a split plus what post-processing needs.
type Features struct {
	Dataset  *data.Dataset // Kind Span; Feature.Example indexes Examples
	Examples []Example
	windows  []window
	contexts []*tokenize.Encoding // context tokens of each example (shared per context)
}

// Encode makes the features of examples: [CLS] question [SEP] context
// window [SEP], the question cut to MaxQueryLen tokens and the context
// split into windows of the remaining room overlapping by Stride tokens
// (HF fast tokenizer's overflow with truncation="only_second", as run_qa.py).
// Each feature's Start/End is the token span of the example's first answer,
// or 0/0 ([CLS]) when the answer is not wholly inside the window.
func Encode(exs []Example, tok *tokenize.Tokenizer, cfg Config) (*Features, error) {
	if len(exs) == 0 {
		return nil, fmt.Errorf("encode squad: no examples")
	}
	if cfg.MaxLen <= 0 || cfg.Stride < 0 || cfg.MaxQueryLen <= 0 {
		return nil, fmt.Errorf("encode squad: bad config %+v", cfg)
	}
	f := &Features{
		Dataset:  &data.Dataset{Kind: task.Span, PadID: tok.PAD()},
		Examples: exs,
		contexts: make([]*tokenize.Encoding, len(exs)),
	}
	var ctx *tokenize.Encoding
	for ei, ex := range exs {
		// Questions of a paragraph are contiguous: tokenise each context once.
		if ei == 0 || ex.Context != exs[ei-1].Context {
			e := tok.Plain(ex.Context)
			ctx = &e
		}
		f.contexts[ei] = ctx
		q := tok.Plain(ex.Question)
		if q.Len() > cfg.MaxQueryLen {
			q = q.Slice(0, cfg.MaxQueryLen)
		}
		room := cfg.MaxLen - q.Len() - 3
		if room <= cfg.Stride {
			return nil, fmt.Errorf("encode squad: question %s leaves %d context tokens per feature of %d, not more than the stride %d", ex.ID, room, cfg.MaxLen, cfg.Stride)
		}
		for _, w := range windows(ctx.Len(), room, cfg.Stride) {
			enc := tok.Pair(q, ctx.Slice(w[0], w[1]))
			win := window{ctxStart: q.Len() + 2, docStart: w[0], n: w[1] - w[0]}
			ft := data.Feature{IDs: enc.IDs, TypeIDs: enc.TypeIDs, Example: ei}
			ft.Start, ft.End = label(ex, ctx, win)
			f.Dataset.Features = append(f.Dataset.Features, ft)
			f.windows = append(f.windows, win)
		}
	}
	return f, nil
}

// windows splits n context tokens into [start, end) windows of room tokens
// overlapping by stride; one (possibly empty) window when it all fits.
func windows(n, room, stride int) [][2]int {
	if n <= room {
		return [][2]int{{0, n}}
	}
	var out [][2]int
	for s := 0; ; s += room - stride {
		e := min(s+room, n)
		out = append(out, [2]int{s, e})
		if e == n {
			return out
		}
	}
}

// label is run_qa.py's prepare_train_features for one feature, except that
// the start search stays inside the window (HF can run past the last
// context token when a one-token answer ends the window).
func label(ex Example, ctx *tokenize.Encoding, w window) (int32, int32) {
	if len(ex.Answers) == 0 || w.n == 0 {
		return 0, 0
	}
	a := ex.Answers[0]
	startChar := a.Start
	endChar := startChar + utf8.RuneCountInString(a.Text)
	off := ctx.Offsets[w.docStart : w.docStart+w.n]
	if !(off[0][0] <= startChar && off[w.n-1][1] >= endChar) {
		return 0, 0
	}
	s := 0
	for s < w.n && off[s][0] <= startChar {
		s++
	}
	s--
	e := w.n - 1
	for e >= 0 && off[e][1] >= endChar {
		e--
	}
	e++
	e = max(e, s)
	return int32(w.ctxStart + s), int32(w.ctxStart + e)
}

// Golds maps question ids to gold answer texts (metrics.Span's input).
func (f *Features) Golds() map[string][]string { return golds(f.Examples) }

// Span is the character span [Start, End) in the context (code points) of
// feature token positions, ok false for tokens outside the context window.
func (f *Features) Span(feature, startTok, endTok int) (start, end int, ok bool) {
	w := f.windows[feature]
	if startTok < w.ctxStart || endTok < w.ctxStart || startTok >= w.ctxStart+w.n || endTok >= w.ctxStart+w.n {
		return 0, 0, false
	}
	off := f.contexts[f.Dataset.Features[feature].Example].Offsets
	return off[w.docStart+startTok-w.ctxStart][0], off[w.docStart+endTok-w.ctxStart][1], true
}

// Predict is run_qa.py's postprocess_qa_predictions for SQuAD v1.1: for
// every example, over all its features, the nBest highest start and end
// logits of each feature are paired; pairs outside the context, with end
// before start or longer than maxAnswerLen tokens are dropped; the best
// score (start + end logit) wins and its context text is the prediction
// ("empty" when no pair survives, as HF). start[i] and end[i] are the
// logits of feature i as the model produced them, padding included (HF
// takes the n-best before filtering).
func (f *Features) Predict(start, end [][]float32, nBest, maxAnswerLen int) (map[string]string, error) {
	out, _, err := f.PredictScored(start, end, nBest, maxAnswerLen)
	return out, err
}

// PredictScored is Predict with each prediction's score (its start + end
// logit; absent for "empty").
func (f *Features) PredictScored(start, end [][]float32, nBest, maxAnswerLen int) (map[string]string, map[string]float64, error) {
	nf := len(f.Dataset.Features)
	if len(start) != nf || len(end) != nf {
		return nil, nil, fmt.Errorf("predict: %d start and %d end logit rows for %d features", len(start), len(end), nf)
	}
	type cand struct {
		score      float64
		start, end int
	}
	best := make([][]cand, len(f.Examples))
	for fi, ft := range f.Dataset.Features {
		if len(start[fi]) < len(ft.IDs) || len(end[fi]) < len(ft.IDs) {
			return nil, nil, fmt.Errorf("predict: feature %d has %d tokens but %d start and %d end logits", fi, len(ft.IDs), len(start[fi]), len(end[fi]))
		}
		for _, s := range topK(start[fi], nBest) {
			for _, e := range topK(end[fi], nBest) {
				if e < s || e-s+1 > maxAnswerLen {
					continue
				}
				cs, ce, ok := f.Span(fi, s, e)
				if !ok {
					continue
				}
				best[ft.Example] = append(best[ft.Example], cand{float64(start[fi][s]) + float64(end[fi][e]), cs, ce})
			}
		}
	}
	out := make(map[string]string, len(f.Examples))
	scores := make(map[string]float64, len(f.Examples))
	for ei, ex := range f.Examples {
		cs := best[ei]
		if len(cs) == 0 {
			out[ex.ID] = "empty"
			continue
		}
		sort.SliceStable(cs, func(i, j int) bool { return cs[i].score > cs[j].score })
		ctx := []rune(ex.Context)
		out[ex.ID] = string(ctx[cs[0].start:cs[0].end])
		scores[ex.ID] = cs[0].score
	}
	return out, scores, nil
}

// topK returns the indices of the k largest values, largest first; among
// equal values the later index first (numpy's argsort()[-1:-k-1:-1]).
func topK(x []float32, k int) []int {
	idx := make([]int, len(x))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool {
		if x[idx[a]] != x[idx[b]] {
			return x[idx[a]] > x[idx[b]]
		}
		return idx[a] > idx[b]
	})
	return idx[:min(k, len(idx))]
}
