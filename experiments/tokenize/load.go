package tokenize

import (
	"bufio"
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/cofiharness/cofi/internal/atomicfile"
)

// bertBaseUncasedVocab is bert-base-uncased's vocab.txt (30,522 tokens, md5
// 64800d5d8528ce344256daf115d4965e), the file github.com/sugarme/tokenizer
// v0.3.0 ships under pretrained/model/. It is embedded so the default
// tokenizer needs neither a download nor the module cache at run time.
//
//go:embed bert-base-uncased-vocab.txt
var bertBaseUncasedVocab []byte

// BertBaseUncasedVocab returns a copy of the embedded bert-base-uncased vocab.txt.
func BertBaseUncasedVocab() []byte { return bytes.Clone(bertBaseUncasedVocab) }

var (
	defaultOnce sync.Once
	defaultTok  *Tokenizer
)

// Default returns the bert-base-uncased tokenizer.
func Default() *Tokenizer {
	defaultOnce.Do(func() {
		vocab, err := ReadVocab(bytes.NewReader(bertBaseUncasedVocab))
		if err == nil {
			defaultTok, err = New(vocab, Options{Normalization: BertUncased})
		}
		if err != nil {
			panic(fmt.Sprintf("embedded bert-base-uncased vocabulary: %v", err)) // a build defect, not user input
		}
	})
	return defaultTok
}

// File names in a Hugging Face model directory.
const (
	VocabFile           = "vocab.txt"
	TokenizerFile       = "tokenizer.json"
	TokenizerConfigFile = "tokenizer_config.json"
)

// ReadVocab reads a vocab.txt: one token per line, the line number (from 0)
// being the id. Only the line terminator is removed, as HF does.
func ReadVocab(r io.Reader) ([]string, error) {
	var vocab []string
	br := bufio.NewReader(r)
	for {
		line, err := br.ReadString('\n')
		if line != "" {
			line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
			vocab = append(vocab, line)
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	if len(vocab) == 0 {
		return nil, errors.New("empty vocabulary")
	}
	return vocab, nil
}

// Load builds the tokenizer of a Hugging Face model directory. tokenizer.json
// wins when present (it is what AutoTokenizer's fast tokenizer reads);
// otherwise vocab.txt, with do_lower_case, strip_accents and
// tokenize_chinese_chars from tokenizer_config.json when that exists
// (defaults: lower-case and strip accents, as BertTokenizer).
func Load(dir string) (*Tokenizer, error) {
	tj := filepath.Join(dir, TokenizerFile)
	if b, err := os.ReadFile(tj); err == nil {
		t, err := fromTokenizerJSON(b)
		if err != nil {
			return nil, fmt.Errorf("load tokenizer %s: %w", tj, err)
		}
		return t, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("load tokenizer: %w", err)
	}
	vp := filepath.Join(dir, VocabFile)
	f, err := os.Open(vp)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("load tokenizer from %s: neither %s nor %s", dir, TokenizerFile, VocabFile)
	}
	if err != nil {
		return nil, fmt.Errorf("load tokenizer: %w", err)
	}
	defer f.Close()
	vocab, err := ReadVocab(f)
	if err != nil {
		return nil, fmt.Errorf("load tokenizer %s: %w", vp, err)
	}
	n, err := readTokenizerConfig(filepath.Join(dir, TokenizerConfigFile))
	if err != nil {
		return nil, err
	}
	t, err := New(vocab, Options{Normalization: n})
	if err != nil {
		return nil, fmt.Errorf("load tokenizer %s: %w", vp, err)
	}
	return t, nil
}

// tokenizerConfig holds the keys of tokenizer_config.json that change
// BertTokenizer's normalisation.
type tokenizerConfig struct {
	DoLowerCase          *bool `json:"do_lower_case"`
	StripAccents         *bool `json:"strip_accents"`
	TokenizeChineseChars *bool `json:"tokenize_chinese_chars"`
}

func readTokenizerConfig(path string) (Normalization, error) {
	n := BertUncased
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return n, nil
	}
	if err != nil {
		return n, fmt.Errorf("load tokenizer: %w", err)
	}
	var c tokenizerConfig
	if err := json.Unmarshal(b, &c); err != nil {
		return n, fmt.Errorf("load tokenizer config %s: %w", path, err)
	}
	if c.DoLowerCase != nil {
		n.Lowercase = *c.DoLowerCase
	}
	// strip_accents unset follows do_lower_case, as in BertTokenizer.
	n.StripAccents = n.Lowercase
	if c.StripAccents != nil {
		n.StripAccents = *c.StripAccents
	}
	if c.TokenizeChineseChars != nil {
		n.ChineseChars = *c.TokenizeChineseChars
	}
	return n, nil
}

// tokenizerJSON is the part of a tokenizers JSON file a BERT tokenizer uses.
type tokenizerJSON struct {
	Normalizer *struct {
		Type               string `json:"type"`
		CleanText          *bool  `json:"clean_text"`
		HandleChineseChars *bool  `json:"handle_chinese_chars"`
		StripAccents       *bool  `json:"strip_accents"`
		Lowercase          *bool  `json:"lowercase"`
	} `json:"normalizer"`
	PreTokenizer *struct {
		Type string `json:"type"`
	} `json:"pre_tokenizer"`
	Model struct {
		Type                    string           `json:"type"`
		UnkToken                string           `json:"unk_token"`
		ContinuingSubwordPrefix string           `json:"continuing_subword_prefix"`
		MaxInputCharsPerWord    int              `json:"max_input_chars_per_word"`
		Vocab                   map[string]int64 `json:"vocab"`
	} `json:"model"`
}

func fromTokenizerJSON(b []byte) (*Tokenizer, error) {
	var tj tokenizerJSON
	if err := json.Unmarshal(b, &tj); err != nil {
		return nil, err
	}
	if tj.Model.Type != "WordPiece" {
		return nil, fmt.Errorf("model.type %q: only WordPiece (BERT) tokenizers are supported", tj.Model.Type)
	}
	n := Normalization{}
	if tj.Normalizer != nil {
		if tj.Normalizer.Type != "BertNormalizer" {
			return nil, fmt.Errorf("normalizer.type %q: only BertNormalizer is supported", tj.Normalizer.Type)
		}
		// Defaults are those of tokenizers' BertNormalizer::default().
		n = BertUncased
		setIf(&n.CleanText, tj.Normalizer.CleanText)
		setIf(&n.ChineseChars, tj.Normalizer.HandleChineseChars)
		setIf(&n.Lowercase, tj.Normalizer.Lowercase)
		n.StripAccents = n.Lowercase
		setIf(&n.StripAccents, tj.Normalizer.StripAccents)
	}
	if tj.PreTokenizer == nil || tj.PreTokenizer.Type != "BertPreTokenizer" {
		got := "null"
		if tj.PreTokenizer != nil {
			got = fmt.Sprintf("%q", tj.PreTokenizer.Type)
		}
		return nil, fmt.Errorf("pre_tokenizer.type %s: only BertPreTokenizer is supported", got)
	}
	vocab := make([]string, len(tj.Model.Vocab))
	seen := make([]bool, len(vocab))
	for tok, id := range tj.Model.Vocab {
		if id < 0 || id >= int64(len(vocab)) || seen[id] {
			return nil, fmt.Errorf("model.vocab: id %d of %q: ids must be 0..%d, each used once", id, tok, len(vocab)-1)
		}
		vocab[id], seen[id] = tok, true
	}
	return New(vocab, Options{
		Normalization:           n,
		UnkToken:                tj.Model.UnkToken,
		ContinuingSubwordPrefix: tj.Model.ContinuingSubwordPrefix,
		MaxInputCharsPerWord:    tj.Model.MaxInputCharsPerWord,
	})
}

func setIf(dst *bool, v *bool) {
	if v != nil {
		*dst = *v
	}
}

// WriteVocab writes the vocabulary as dir/vocab.txt, one token per line.
func (t *Tokenizer) WriteVocab(dir string) error {
	var b bytes.Buffer
	for _, tok := range t.vocab {
		b.WriteString(tok)
		b.WriteByte('\n')
	}
	p := filepath.Join(dir, VocabFile)
	if err := atomicfile.Write(p, b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write vocab %s: %w", p, err)
	}
	return nil
}

// Save writes vocab.txt and a tokenizer_config.json carrying the
// normalisation, so that Load here and BertTokenizer(Fast).from_pretrained
// in Python rebuild the same tokenizer.
func (t *Tokenizer) Save(dir string) error {
	if err := t.WriteVocab(dir); err != nil {
		return err
	}
	cfg := map[string]any{
		"tokenizer_class":        "BertTokenizer",
		"do_lower_case":          t.norm.Lowercase,
		"strip_accents":          t.norm.StripAccents,
		"tokenize_chinese_chars": t.norm.ChineseChars,
		"unk_token":              t.vocab[t.unk],
		"cls_token":              CLSToken,
		"sep_token":              SEPToken,
		"pad_token":              PADToken,
		"mask_token":             MASKToken,
	}
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return err
	}
	p := filepath.Join(dir, TokenizerConfigFile)
	if err := atomicfile.Write(p, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write tokenizer config %s: %w", p, err)
	}
	return nil
}
