// Package augment is TinyBERT's task data augmentation
// (huawei-noah/Pretrained-Language-Model, TinyBERT/data_augmentation.py),
// without libtorch: the masked language model it consults is an interface.
//
// For every sentence, each word (BERT's basic tokens) made of letters only
// and not a stop word gets candidates: a word that is one WordPiece is
// masked and the masked LM, reading "[CLS] masked sentence [SEP] sentence
// [SEP]", proposes its M likeliest tokens at the mask (minus "##" pieces);
// a word of several pieces gets its M nearest GloVe words; a word with no
// candidates keeps itself. Then N copies are drawn: in each, every such
// word draws one of its candidates and is replaced with probability p; a
// copy equal to one already kept is dropped. The original sentence comes
// first, then the kept copies (the words joined by spaces). A pair task's
// two sentences are augmented one after the other, each into its own rows.
//
// Where this differs from data_augmentation.py, and why:
//   - the draws are seeded (aug_seed) and drawn from one stream per row and
//     text column, so the file is the same for a seed, and a run resumed at
//     any chunk of rows writes the same bytes; the script's unseeded global
//     random gives a different file every run;
//   - fields are written as read, tab-separated without CSV quoting: the
//     script's csv.writer quotes fields holding '"' (and doubles them),
//     which GLUE's tab-only readers (ours, task_distill.py's) then read
//     as part of the text;
//   - masked-LM queries are batched (mlm_batch, padding masked out), so
//     logits may differ from one-at-a-time queries in the last bits;
//   - GloVe ties are broken by file order (numpy's argsort is unstable),
//     and a file shorter than glove_words is read as it is (the script
//     pads with zero rows that never win);
//   - blank lines are skipped and rows too short for the task's text
//     columns are copied once (the script fails on them);
//   - PairRestored (pair_rows = "restored") resets the first sentence before
//     the second is augmented; by default (PairReleased) the first keeps
//     its last augmented version, as the script's in-place edit of the row
//     leaves it.
package augment

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/cofiharness/cofi/experiments/tokenize"
	"github.com/cofiharness/cofi/internal/atomicfile"
)

// StopWords are data_augmentation.py's StopWordsList: never replaced.
var StopWords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range []string{"i", "me", "my", "myself", "we", "our", "ours", "ourselves", "you", "you're", "you've", "you'll", "you'd", "your", "yours",
		"yourself", "yourselves", "he", "him", "his", "himself", "she", "she's", "her", "hers", "herself", "it", "it's", "its", "itself",
		"they", "them", "their", "theirs", "themselves", "this", "that", "that'll", "these", "those", "am", "is", "are", "was", "were", "be",
		"been", "being", "have", "has", "had", "having", "do", "does", "did", "doing", "a", "an", "the", "and", "but", "if", "or", "because",
		"as", "until", "while", "of", "at", "by", "for", "with", "about", "against", "between", "into", "through", "during", "before", "after",
		"above", "below", "to", "from", "up", "down", "in", "out", "on", "off", "over", "under", "again", "further", "then", "once", "here",
		"there", "all", "any", "both", "each", "few", "more", "most", "other", "some", "such", "no", "nor", "not", "only", "own", "same", "so",
		"than", "too", "very", "s", "t", "can", "will", "just", "don", "don't", "should", "should've", "now", "d", "ll", "m", "o", "re", "ve",
		"y", "ain", "aren", "aren't", "couldn", "couldn't", "didn", "didn't", "doesn", "doesn't", "hadn", "hadn't", "hasn", "hasn't", "haven",
		"haven't", "isn", "isn't", "ma", "mightn", "mightn't", "mustn", "mustn't", "needn", "needn't", "shan", "shan't", "shouldn", "shouldn't",
		"wasn", "wasn't", "weren", "weren't", "won", "won't", "wouldn", "wouldn't", "'s", "'re"} {
		m[w] = true
	}
	return m
}()

// Replaceable reports whether a word gets candidates: letters a-z only
// (compared lower-cased, _is_valid) and not a stop word.
func Replaceable(w string) bool {
	l := strings.ToLower(w)
	if l == "" || StopWords[l] {
		return false
	}
	for _, r := range l {
		if r < 'a' || r > 'z' {
			return false
		}
	}
	return true
}

// Query is one masked-LM question: "[CLS] masked sentence [SEP] sentence
// [SEP]" (truncated to the model's limit) with [MASK] at Mask.
type Query struct {
	IDs     []int32
	TypeIDs []int8
	Mask    int
}

// MLM proposes tokens at masked positions.
type MLM interface {
	// TopK returns, for each query, the ids of the k likeliest vocabulary
	// entries at its masked position, likeliest first.
	TopK(qs []Query, k int) ([][]int32, error)
}

// Source says where a word's candidates came from.
type Source int

const (
	Kept      Source = iota // not replaceable (a stop word, punctuation, digits ...)
	FromMLM                 // one WordPiece: the masked LM
	FromGloVe               // several WordPieces: GloVe neighbours
	Itself                  // replaceable, but no candidate was found: the word itself
)

// Word is one basic token of a sentence and its candidates.
type Word struct {
	Text       string
	Source     Source
	Candidates []string // nil for Kept
}

// Pair modes (pair_rows).
const (
	PairReleased = "released"
	PairRestored = "restored"
)

// Settings are the algorithm's parameters (package hparams, kind augment).
type Settings struct {
	Copies      int     // N
	Candidates  int     // M
	ReplaceProb float64 // p
	Seed        uint64
	MaxLen      int // masked-LM input limit in tokens (512)
	MLMBatch    int // queries per TopK call
	PairRows    string
}

// Augmentor augments sentences.
type Augmentor struct {
	Tok   *tokenize.Tokenizer
	MLM   MLM
	GloVe *GloVe
	S     Settings
}

// pending is a sentence whose masked-LM candidates are being computed.
type pending struct {
	words []Word
	q     []Query
	at    []int // word index of each query
}

// analyse splits a sentence into words and queues its masked-LM queries.
func (a *Augmentor) analyse(sent string) *pending {
	texts := a.Tok.Words(sent)
	p := &pending{words: make([]Word, len(texts))}
	pieces := make([][]int32, len(texts))
	total := 0
	for i, w := range texts {
		pieces[i] = a.Tok.Pieces(w)
		total += len(pieces[i])
	}
	off := 0
	for i, w := range texts {
		p.words[i] = Word{Text: w}
		if Replaceable(w) {
			switch {
			case len(pieces[i]) == 1:
				p.words[i].Source = FromMLM
				if q, ok := a.query(pieces, total, i, off); ok {
					p.q = append(p.q, q)
					p.at = append(p.at, i)
				}
			default:
				p.words[i].Source = FromGloVe
				if a.GloVe != nil {
					p.words[i].Candidates = a.GloVe.Nearest(w, a.S.Candidates)
				}
			}
		}
		off += len(pieces[i])
	}
	return p
}

// query builds the masked-LM input for word i, whose piece is at offset off
// among the sentence's pieces: [CLS] pieces-with-[MASK] [SEP] pieces [SEP],
// type ids 0 then 1, cut at MaxLen; none when the mask falls beyond it (as
// _masked_language_model's mask_id >= 512).
func (a *Augmentor) query(pieces [][]int32, total, i, off int) (Query, bool) {
	mask := 1 + off
	if mask >= a.S.MaxLen {
		return Query{}, false
	}
	ids := make([]int32, 0, 2*total+3)
	ids = append(ids, a.Tok.CLS())
	for _, ps := range pieces {
		ids = append(ids, ps...)
	}
	ids[mask] = a.Tok.MASK()
	ids = append(ids, a.Tok.SEP())
	first := len(ids) // [CLS], the masked copy and its [SEP]
	for _, ps := range pieces {
		ids = append(ids, ps...)
	}
	ids = append(ids, a.Tok.SEP())
	if len(ids) > a.S.MaxLen {
		ids = ids[:a.S.MaxLen]
		first = min(first, a.S.MaxLen)
	}
	types := make([]int8, len(ids))
	for k := first; k < len(types); k++ {
		types[k] = 1
	}
	return Query{IDs: ids, TypeIDs: types, Mask: mask}, true
}

// resolve runs the queued masked-LM queries of ps in batches and fills in
// every word's candidates.
func (a *Augmentor) resolve(ps []*pending) error {
	var qs []Query
	type ref struct{ p, w int }
	var refs []ref
	for pi, p := range ps {
		for k, q := range p.q {
			qs = append(qs, q)
			refs = append(refs, ref{pi, p.at[k]})
		}
	}
	bs := max(1, a.S.MLMBatch)
	for lo := 0; lo < len(qs); lo += bs {
		hi := min(lo+bs, len(qs))
		top, err := a.MLM.TopK(qs[lo:hi], a.S.Candidates)
		if err != nil {
			return err
		}
		if len(top) != hi-lo {
			return fmt.Errorf("masked LM answered %d of %d queries", len(top), hi-lo)
		}
		for k, ids := range top {
			r := refs[lo+k]
			var cands []string
			for _, tok := range a.Tok.Tokens(ids) {
				if !strings.HasPrefix(tok, "##") {
					cands = append(cands, tok)
				}
			}
			ps[r.p].words[r.w].Candidates = cands
		}
	}
	for _, p := range ps {
		for i := range p.words {
			w := &p.words[i]
			if w.Source != Kept && len(w.Candidates) == 0 {
				w.Source, w.Candidates = Itself, []string{w.Text}
			}
		}
	}
	return nil
}

// Analyse returns a sentence's words with their candidates.
func (a *Augmentor) Analyse(sent string) ([]Word, error) {
	p := a.analyse(sent)
	if err := a.resolve([]*pending{p}); err != nil {
		return nil, err
	}
	return p.words, nil
}

// Draw makes one augmented copy of words: every word with candidates draws
// one of them and takes it with probability p (both draws are made whether
// or not it is taken, as the script does).
func Draw(words []Word, p float64, rng *rand.Rand) string {
	out := make([]string, len(words))
	for i, w := range words {
		out[i] = w.Text
		if w.Source == Kept {
			continue
		}
		c := w.Candidates[rng.IntN(len(w.Candidates))]
		if rng.Float64() < p {
			out[i] = c
		}
	}
	return strings.Join(out, " ")
}

// Sentences returns sent and its distinct augmented copies (at most N).
func Sentences(sent string, words []Word, n int, p float64, rng *rand.Rand) []string {
	out := []string{sent}
	for range n {
		s := Draw(words, p, rng)
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// rng is the stream of row (0-based line of the input) and text column k.
func (a *Augmentor) rng(row, k int) *rand.Rand {
	return rand.New(rand.NewPCG(a.S.Seed, uint64(row)<<8|uint64(k)))
}

// FileSpec describes a TSV file to augment.
type FileSpec struct {
	In, Out  string
	Header   bool  // the first line is a header, copied as is
	TextCols []int // the columns holding the texts
}

// Stats count what an augmentation did.
type Stats struct {
	Rows      int            `json:"rows"`       // input examples
	RowsOut   int            `json:"rows_out"`   // rows written, header excluded
	Words     map[string]int `json:"words"`      // words by candidate source
	Resumed   int            `json:"resumed_at"` // input lines already done when the run started
	ChunkRows int            `json:"chunk_rows"`
}

// ChunkRows is how many input lines are augmented between two checkpoints.
// It also bounds masked-LM batches (they never cross a chunk), so it is a
// constant: changing it would change the batches and, in the last bits, the
// candidates.
const ChunkRows = 128

// progress is the checkpoint of a partial output.
type progress struct {
	Lines int   `json:"lines"` // input lines consumed
	Bytes int64 `json:"bytes"` // bytes of the partial output that hold them
	Stats Stats `json:"stats"`
}

// File augments spec.In into spec.Out, resuming a partial output left by an
// interrupted run (spec.Out+".partial" and its ".progress" checkpoint).
// report, when set, is called after every chunk with the lines done and
// the total.
func (a *Augmentor) File(ctx context.Context, spec FileSpec, report func(done, total int)) (*Stats, error) {
	total, err := countLines(spec.In)
	if err != nil {
		return nil, err
	}
	partial, ckpt := spec.Out+".partial", spec.Out+".progress"
	var pr progress
	if b, err := os.ReadFile(ckpt); err == nil {
		if err := json.Unmarshal(b, &pr); err != nil {
			return nil, fmt.Errorf("augment checkpoint %s: %w", ckpt, err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if pr.Stats.Words == nil {
		pr.Stats.Words = map[string]int{}
	}
	pr.Stats.Resumed, pr.Stats.ChunkRows = pr.Lines, ChunkRows
	if err := os.MkdirAll(filepath.Dir(spec.Out), 0o755); err != nil {
		return nil, err
	}
	out, err := os.OpenFile(partial, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	defer out.Close()
	if err := out.Truncate(pr.Bytes); err != nil {
		return nil, err
	}
	if _, err := out.Seek(pr.Bytes, io.SeekStart); err != nil {
		return nil, err
	}
	in, err := os.Open(spec.In)
	if err != nil {
		return nil, err
	}
	defer in.Close()
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 1<<28)
	line := 0
	for line < pr.Lines && sc.Scan() {
		line++
	}
	w := bufio.NewWriter(out)
	var chunk []string
	flush := func() error {
		if err := a.chunk(w, line-len(chunk), chunk, spec, &pr.Stats); err != nil {
			return err
		}
		chunk = chunk[:0]
		if err := w.Flush(); err != nil {
			return err
		}
		if err := out.Sync(); err != nil {
			return err
		}
		off, err := out.Seek(0, io.SeekCurrent)
		if err != nil {
			return err
		}
		pr.Lines, pr.Bytes = line, off
		b, _ := json.Marshal(pr)
		if err := atomicfile.Write(ckpt, b, 0o644); err != nil {
			return err
		}
		if report != nil {
			report(line, total)
		}
		return nil
	}
	for sc.Scan() {
		line++
		chunk = append(chunk, strings.TrimSuffix(sc.Text(), "\r"))
		if len(chunk) == ChunkRows {
			if err := flush(); err != nil {
				return nil, err
			}
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", spec.In, err)
	}
	if len(chunk) > 0 {
		if err := flush(); err != nil {
			return nil, err
		}
	}
	if err := out.Close(); err != nil {
		return nil, err
	}
	if err := os.Rename(partial, spec.Out); err != nil {
		return nil, err
	}
	os.Remove(ckpt)
	st := pr.Stats
	return &st, nil
}

// chunk augments lines first..first+len(lines)-1 (0-based) and writes their rows.
func (a *Augmentor) chunk(w io.Writer, first int, lines []string, spec FileSpec, st *Stats) error {
	type row struct {
		fields []string
		sents  []*pending // per text column; nil when the row is copied
	}
	rows := make([]row, len(lines))
	var all []*pending
	for i, l := range lines {
		n := first + i
		if l == "" || strings.TrimSpace(l) == "" {
			continue
		}
		rows[i].fields = strings.Split(l, "\t")
		if n == 0 {
			rows[i].fields[0] = strings.TrimPrefix(rows[i].fields[0], "\ufeff")
		}
		if n == 0 && spec.Header {
			continue
		}
		if slices.Max(spec.TextCols) >= len(rows[i].fields) {
			continue // too short for the task: copied as is
		}
		st.Rows++
		for _, c := range spec.TextCols {
			p := a.analyse(rows[i].fields[c])
			rows[i].sents = append(rows[i].sents, p)
			all = append(all, p)
		}
	}
	if err := a.resolve(all); err != nil {
		return err
	}
	for i, r := range rows {
		if r.fields == nil {
			continue
		}
		if r.sents == nil {
			if _, err := io.WriteString(w, strings.Join(r.fields, "\t")+"\n"); err != nil {
				return err
			}
			if !(first+i == 0 && spec.Header) {
				st.RowsOut++
			}
			continue
		}
		fields := slices.Clone(r.fields)
		for k, c := range spec.TextCols {
			orig := r.fields[c]
			for _, wd := range r.sents[k].words {
				st.Words[sourceName[wd.Source]]++
			}
			if k > 0 && a.S.PairRows == PairRestored {
				for _, c0 := range spec.TextCols[:k] {
					fields[c0] = r.fields[c0]
				}
			}
			for _, s := range Sentences(orig, r.sents[k].words, a.S.Copies, a.S.ReplaceProb, a.rng(first+i, k)) {
				fields[c] = s
				if _, err := io.WriteString(w, strings.Join(fields, "\t")+"\n"); err != nil {
					return err
				}
				st.RowsOut++
			}
		}
	}
	return nil
}

var sourceName = map[Source]string{Kept: "kept", FromMLM: "mlm", FromGloVe: "glove", Itself: "itself"}

func countLines(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<28)
	n := 0
	for sc.Scan() {
		n++
	}
	return n, sc.Err()
}
