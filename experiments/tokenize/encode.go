package tokenize

import (
	"strings"

	"github.com/sugarme/tokenizer"
)

// Encoding is a tokenised text or text pair.
type Encoding struct {
	IDs     []int32
	TypeIDs []int8 // 0 for [CLS], the first text and its [SEP]; 1 for the second text and its [SEP]
	// Offsets are code-point offsets [start, end) into the original string of
	// the text the token came from (first or second); [0, 0] for added
	// [CLS]/[SEP] tokens.
	Offsets [][2]int
	// Sequence is 0 or 1 for tokens of the first or second text and -1 for
	// added special tokens (HF's sequence_ids, with None as -1).
	Sequence []int8
}

// Len is the number of tokens.
func (e Encoding) Len() int { return len(e.IDs) }

// Slice returns tokens [i, j) sharing e's storage.
func (e Encoding) Slice(i, j int) Encoding {
	return Encoding{IDs: e.IDs[i:j], TypeIDs: e.TypeIDs[i:j], Offsets: e.Offsets[i:j], Sequence: e.Sequence[i:j]}
}

// Plain tokenises text without special tokens or truncation: the pieces a
// caller assembles itself (SQuAD windows). All tokens have sequence 0.
func (t *Tokenizer) Plain(text string) Encoding {
	src := decodeRunes(text)
	var e Encoding
	var norm []normRune
	var words []word
	from := 0
	for from <= len(src) {
		at, tok := t.nextSpecial(src, from)
		norm = t.norm.normalize(src, from, at, norm[:0])
		words = preTokenize(norm, words[:0])
		for _, w := range words {
			t.wordPieces(w, &e)
		}
		if tok == "" {
			break
		}
		n := len([]rune(tok))
		e.push(t.ids[tok], [2]int{at, at + n}, 0)
		from = at + n
	}
	return e
}

// nextSpecial finds the first occurrence at or after from of a special token
// string in the raw text; it returns len(src) and "" when there is none.
func (t *Tokenizer) nextSpecial(src []rune, from int) (int, string) {
	for i := from; i < len(src); i++ {
		if src[i] != '[' {
			continue
		}
		for _, s := range t.specials {
			if hasRunePrefix(src[i:], s) {
				return i, s
			}
		}
	}
	return len(src), ""
}

func hasRunePrefix(rs []rune, s string) bool {
	i := 0
	for _, c := range s {
		if i >= len(rs) || rs[i] != c {
			return false
		}
		i++
	}
	return true
}

// wordPieces runs WordPiece on one pre-tokenised word and appends its pieces.
func (t *Tokenizer) wordPieces(w word, e *Encoding) {
	var sb strings.Builder
	for _, c := range w {
		sb.WriteRune(c.r)
	}
	toks, err := t.wp.Tokenize(sb.String())
	if err != nil || len(toks) == 0 {
		// Only possible without an [UNK] token, which New rules out.
		toks = []tokenizer.Token{{Id: int(t.unk), Offsets: []int{0, len(w)}}}
	}
	for _, tk := range toks {
		a, b := tk.Offsets[0], tk.Offsets[1]
		if a < 0 || b > len(w) || a >= b {
			a, b = 0, len(w)
		}
		e.push(int32(tk.Id), [2]int{w[a].src, w[b-1].src + 1}, 0)
	}
}

func (e *Encoding) push(id int32, off [2]int, seq int8) {
	typ := seq
	if typ < 0 {
		typ = 0
	}
	e.IDs = append(e.IDs, id)
	e.TypeIDs = append(e.TypeIDs, typ)
	e.Offsets = append(e.Offsets, off)
	e.Sequence = append(e.Sequence, seq)
}

// appendSeq appends the tokens of a with sequence id and type id seq.
func (e *Encoding) appendSeq(a Encoding, seq int8) {
	for i := range a.IDs {
		e.push(a.IDs[i], a.Offsets[i], seq)
	}
}

// Single adds [CLS] a [SEP] around a plain encoding.
func (t *Tokenizer) Single(a Encoding) Encoding {
	e := Encoding{
		IDs:      make([]int32, 0, a.Len()+2),
		TypeIDs:  make([]int8, 0, a.Len()+2),
		Offsets:  make([][2]int, 0, a.Len()+2),
		Sequence: make([]int8, 0, a.Len()+2),
	}
	e.push(t.cls, [2]int{}, -1)
	e.appendSeq(a, 0)
	e.push(t.sep, [2]int{}, -1)
	return e
}

// Pair builds [CLS] a [SEP] b [SEP] from two plain encodings, with type ids
// 0 up to and including the first [SEP] and 1 after it.
func (t *Tokenizer) Pair(a, b Encoding) Encoding {
	n := a.Len() + b.Len() + 3
	e := Encoding{
		IDs:      make([]int32, 0, n),
		TypeIDs:  make([]int8, 0, n),
		Offsets:  make([][2]int, 0, n),
		Sequence: make([]int8, 0, n),
	}
	e.push(t.cls, [2]int{}, -1)
	e.appendSeq(a, 0)
	e.push(t.sep, [2]int{}, -1)
	e.appendSeq(b, 1)
	e.IDs = append(e.IDs, t.sep)
	e.TypeIDs = append(e.TypeIDs, 1)
	e.Offsets = append(e.Offsets, [2]int{})
	e.Sequence = append(e.Sequence, -1)
	return e
}

// Encode tokenises one text as [CLS] text [SEP], keeping at most maxLen
// tokens (the text is cut at the end); maxLen <= 0 means no limit.
func (t *Tokenizer) Encode(text string, maxLen int) Encoding {
	a := t.Plain(text)
	if maxLen > 0 {
		keep := max(maxLen-2, 0)
		if a.Len() > keep {
			a = a.Slice(0, keep)
		}
	}
	return t.Single(a)
}

// EncodePair tokenises a text pair as [CLS] a [SEP] b [SEP], keeping at most
// maxLen tokens (maxLen <= 0: no limit) with the fast tokenizer's
// "longest_first" rule: only the longer text is cut if that suffices,
// otherwise both are cut to half the room, the odd token going to the one
// that was longer (b when they tie).
func (t *Tokenizer) EncodePair(a, b string, maxLen int) Encoding {
	ea, eb := t.Plain(a), t.Plain(b)
	if maxLen > 0 {
		na, nb := LongestFirst(ea.Len(), eb.Len(), max(maxLen-3, 0))
		ea, eb = ea.Slice(0, na), eb.Slice(0, nb)
	}
	return t.Pair(ea, eb)
}

// LongestFirst returns how many tokens of two sequences of lengths n1 and n2
// to keep so that they fit in room tokens, as tokenizers'
// TruncationStrategy::LongestFirst does.
func LongestFirst(n1, n2, room int) (int, int) {
	if n1+n2 <= room {
		return n1, n2
	}
	swap := n1 > n2
	if swap {
		n1, n2 = n2, n1
	}
	// Now n1 is the shorter.
	if n1 > room {
		n2 = n1
	} else {
		n2 = max(n1, room-n1)
	}
	if n1+n2 > room {
		n1 = room / 2
		n2 = n1 + room%2
	}
	if swap {
		n1, n2 = n2, n1
	}
	return n1, n2
}

// Words splits text into BERT's basic tokens, the words before WordPiece:
// normalised as the tokenizer normalises (lower-cased and accent-stripped
// for uncased models), split on whitespace and punctuation, special tokens
// kept whole. TinyBERT's data augmentation replaces these words.
func (t *Tokenizer) Words(text string) []string {
	src := decodeRunes(text)
	var out []string
	var norm []normRune
	var words []word
	from := 0
	for from <= len(src) {
		at, tok := t.nextSpecial(src, from)
		norm = t.norm.normalize(src, from, at, norm[:0])
		words = preTokenize(norm, words[:0])
		for _, w := range words {
			var sb strings.Builder
			for _, c := range w {
				sb.WriteRune(c.r)
			}
			out = append(out, sb.String())
		}
		if tok == "" {
			break
		}
		out = append(out, tok)
		from = at + len([]rune(tok))
	}
	return out
}

// Pieces returns the WordPiece ids of one word as Words returns it.
func (t *Tokenizer) Pieces(w string) []int32 { return t.Plain(w).IDs }
