package tokenize

import (
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Normalization mirrors Hugging Face tokenizers' BertNormalizer; the zero
// value does nothing, bert-base-uncased sets every field.
type Normalization struct {
	CleanText    bool // drop NUL, U+FFFD and control characters; map whitespace to ' '
	ChineseChars bool // surround CJK ideographs with spaces so each is a word
	StripAccents bool // NFD, then drop nonspacing marks (Mn)
	Lowercase    bool
}

// normRune is one character of the normalised text and the index of the
// original code point it came from, so token offsets can point back into the
// caller's string.
type normRune struct {
	r   rune
	src int
}

// word is a pre-tokenised word: normalised characters with their origins.
type word []normRune

// decodeRunes splits s into code points the way Go's []rune conversion does:
// each invalid byte becomes one U+FFFD. Offsets are indices into this slice.
func decodeRunes(s string) []rune {
	out := make([]rune, 0, utf8.RuneCountInString(s))
	for _, r := range s {
		out = append(out, r)
	}
	return out
}

// normalize applies n to src[from:to]. The order is the one of the Rust
// BertNormalizer (clean, Chinese, strip accents, lowercase): it differs from
// Python's slow BasicTokenizer only in corner cases (it lowercases first), and
// the fast tokenizer is what run_glue.py and run_qa.py use.
func (n Normalization) normalize(src []rune, from, to int, out []normRune) []normRune {
	var buf [8]rune
	for i := from; i < to; i++ {
		r := src[i]
		if n.CleanText {
			if r == 0 || r == utf8.RuneError || isControl(r) {
				continue
			}
			if unicode.IsSpace(r) {
				r = ' '
			}
		}
		if n.ChineseChars && isCJK(r) {
			out = append(out, normRune{' ', i}, normRune{r, i}, normRune{' ', i})
			continue
		}
		rs := buf[:0]
		if n.StripAccents && r >= 0x80 {
			var tmp [utf8.UTFMax]byte
			k := utf8.EncodeRune(tmp[:], r)
			for _, d := range norm.NFD.String(string(tmp[:k])) {
				if !unicode.Is(unicode.Mn, d) {
					rs = append(rs, d)
				}
			}
		} else {
			rs = append(rs, r)
		}
		for _, c := range rs {
			if n.Lowercase {
				// Rust's char::to_lowercase maps U+0130 to "i\u0307"; every
				// other code point lowercases to exactly one.
				if c == 0x130 {
					out = append(out, normRune{'i', i}, normRune{0x307, i})
					continue
				}
				c = unicode.ToLower(c)
			}
			out = append(out, normRune{c, i})
		}
	}
	return out
}

// preTokenize is BertPreTokenizer: split on whitespace (dropped) and make
// every punctuation character a word of its own.
func preTokenize(text []normRune, words []word) []word {
	start := -1
	flush := func(end int) {
		if start >= 0 && end > start {
			words = append(words, word(text[start:end]))
		}
		start = -1
	}
	for i, c := range text {
		switch {
		case unicode.IsSpace(c.r):
			flush(i)
		case isPunct(c.r):
			flush(i)
			words = append(words, word(text[i:i+1]))
		default:
			if start < 0 {
				start = i
			}
		}
	}
	flush(len(text))
	return words
}

// isControl is BERT's notion of a control character: Unicode category C*
// (Cc, Cf, Co, Cs and unassigned), except tab, newline and carriage return,
// which count as whitespace.
func isControl(r rune) bool {
	if r == '\t' || r == '\n' || r == '\r' {
		return false
	}
	if unicode.In(r, unicode.Cc, unicode.Cf, unicode.Co, unicode.Cs) {
		return true
	}
	return !unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Z)
}

// isPunct is BERT's punctuation: every ASCII non-alphanumeric printable
// character (so "$", "+", "^" split too) and Unicode category P.
func isPunct(r rune) bool {
	if (r >= 33 && r <= 47) || (r >= 58 && r <= 64) || (r >= 91 && r <= 96) || (r >= 123 && r <= 126) {
		return true
	}
	return unicode.IsPunct(r)
}

// isCJK reports the CJK Unified Ideographs blocks BERT splits per character
// (not Hiragana, Katakana or Hangul, which are written with spaces).
func isCJK(r rune) bool {
	return (r >= 0x4E00 && r <= 0x9FFF) ||
		(r >= 0x3400 && r <= 0x4DBF) ||
		(r >= 0x20000 && r <= 0x2A6DF) ||
		(r >= 0x2A700 && r <= 0x2B73F) ||
		(r >= 0x2B740 && r <= 0x2B81F) ||
		(r >= 0x2B820 && r <= 0x2CEAF) ||
		(r >= 0xF900 && r <= 0xFAFF) ||
		(r >= 0x2F800 && r <= 0x2FA1F)
}
