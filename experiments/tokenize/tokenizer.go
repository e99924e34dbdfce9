// Package tokenize is BERT's WordPiece tokenizer, producing the same ids,
// token type ids and offsets as Hugging Face's fast BertTokenizer.
//
// The WordPiece step (greedy longest match against the vocabulary) is
// github.com/sugarme/tokenizer's model; normalisation and pre-tokenisation are
// done here because that module's BERT normaliser does not strip accents and
// panics on some inputs, and because we need offsets in code points.
//
// Offsets are code-point (rune) offsets into the original string, the unit
// of SQuAD's answer_start and of Python string indexing: for a token,
// [start, end) such that []rune(text)[start:end] is the source of the token.
// Invalid UTF-8 bytes count as one code point each, as in []rune(text).
package tokenize

import (
	"fmt"

	"github.com/sugarme/tokenizer/model"
	"github.com/sugarme/tokenizer/model/wordpiece"
)

// Special token ids of bert-base-uncased; Tokenizer's methods return the ids
// of whatever vocabulary was loaded.
const (
	BertPAD  = 0
	BertUNK  = 100
	BertCLS  = 101
	BertSEP  = 102
	BertMASK = 103
)

// Special token strings; every BERT vocabulary has them.
const (
	PADToken  = "[PAD]"
	UNKToken  = "[UNK]"
	CLSToken  = "[CLS]"
	SEPToken  = "[SEP]"
	MASKToken = "[MASK]"
)

// Tokenizer is a BERT WordPiece tokenizer. It is immutable after
// construction and safe for concurrent use.
type Tokenizer struct {
	vocab       []string // id -> token
	ids         map[string]int32
	norm        Normalization
	wp          wordpiece.WordPiece
	prefix      string // continuing-subword prefix, "##"
	maxWordRune int    // longer words become [UNK]

	// specials are matched in the raw text before normalisation, as the
	// fast tokenizer's added-token extraction does.
	specials                 []string
	pad, unk, cls, sep, mask int32
}

// Options configure New.
type Options struct {
	Normalization
	UnkToken                string // default "[UNK]"
	ContinuingSubwordPrefix string // default "##"
	MaxInputCharsPerWord    int    // default 100
}

// BertUncased is the normalisation of uncased BERT checkpoints.
var BertUncased = Normalization{CleanText: true, ChineseChars: true, StripAccents: true, Lowercase: true}

// BertCased is the normalisation of cased BERT checkpoints.
var BertCased = Normalization{CleanText: true, ChineseChars: true}

// New builds a tokenizer from a vocabulary (token of each id, in id order).
func New(vocab []string, opt Options) (*Tokenizer, error) {
	if opt.UnkToken == "" {
		opt.UnkToken = UNKToken
	}
	if opt.ContinuingSubwordPrefix == "" {
		opt.ContinuingSubwordPrefix = "##"
	}
	if opt.MaxInputCharsPerWord <= 0 {
		opt.MaxInputCharsPerWord = 100
	}
	t := &Tokenizer{
		vocab:       vocab,
		ids:         make(map[string]int32, len(vocab)),
		norm:        opt.Normalization,
		prefix:      opt.ContinuingSubwordPrefix,
		maxWordRune: opt.MaxInputCharsPerWord,
	}
	mv := make(model.Vocab, len(vocab))
	for i, tok := range vocab {
		// A later duplicate wins, as in both HF vocabulary readers.
		t.ids[tok] = int32(i)
		mv[tok] = i
	}
	for _, s := range []struct {
		tok string
		dst *int32
	}{{PADToken, &t.pad}, {opt.UnkToken, &t.unk}, {CLSToken, &t.cls}, {SEPToken, &t.sep}, {MASKToken, &t.mask}} {
		id, ok := t.ids[s.tok]
		if !ok {
			return nil, fmt.Errorf("vocabulary of %d tokens has no %s", len(vocab), s.tok)
		}
		*s.dst = id
		t.specials = append(t.specials, s.tok)
	}
	t.wp = wordpiece.NewWordPieceBuilder().
		Vocab(&mv).
		UnkToken(opt.UnkToken).
		ContinuingSubwordPrefix(opt.ContinuingSubwordPrefix).
		MaxInputCharsPerWord(opt.MaxInputCharsPerWord).
		Build()
	return t, nil
}

// VocabSize is the number of tokens in the vocabulary.
func (t *Tokenizer) VocabSize() int { return len(t.vocab) }

// Vocab returns the vocabulary in id order. The slice must not be modified.
func (t *Tokenizer) Vocab() []string { return t.vocab }

// Normalization reports how the tokenizer normalises text.
func (t *Tokenizer) Normalization() Normalization { return t.norm }

// CLS, SEP, PAD, UNK and MASK return the special token ids.
func (t *Tokenizer) CLS() int32  { return t.cls }
func (t *Tokenizer) SEP() int32  { return t.sep }
func (t *Tokenizer) PAD() int32  { return t.pad }
func (t *Tokenizer) UNK() int32  { return t.unk }
func (t *Tokenizer) MASK() int32 { return t.mask }

// ID returns the id of a vocabulary token.
func (t *Tokenizer) ID(token string) (int32, bool) {
	id, ok := t.ids[token]
	return id, ok
}

// Token returns the vocabulary token of id, or "" when out of range.
func (t *Tokenizer) Token(id int32) string {
	if id < 0 || int(id) >= len(t.vocab) {
		return ""
	}
	return t.vocab[id]
}

// Tokens returns the vocabulary tokens of ids.
func (t *Tokenizer) Tokens(ids []int32) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = t.Token(id)
	}
	return out
}
