package tokenize

import (
	"crypto/md5"
	"encoding/hex"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestEmbeddedVocabIsBertBaseUncased(t *testing.T) {
	sum := md5.Sum(bertBaseUncasedVocab)
	if got := hex.EncodeToString(sum[:]); got != "64800d5d8528ce344256daf115d4965e" {
		t.Fatalf("embedded vocab md5 %s, want bert-base-uncased's 64800d5d8528ce344256daf115d4965e", got)
	}
	tok := Default()
	if tok.VocabSize() != 30522 {
		t.Fatalf("vocab size %d, want 30522", tok.VocabSize())
	}
	specials := []struct {
		name      string
		got, want int32
	}{{"PAD", tok.PAD(), BertPAD}, {"UNK", tok.UNK(), BertUNK}, {"CLS", tok.CLS(), BertCLS}, {"SEP", tok.SEP(), BertSEP}, {"MASK", tok.MASK(), BertMASK}}
	for _, s := range specials {
		if s.got != s.want {
			t.Errorf("%s id %d, want %d", s.name, s.got, s.want)
		}
	}
}

func ids32(xs ...int32) []int32 { return xs }

// Golden ids from Hugging Face's bert-base-uncased fast tokenizer; token
// strings where the id is just the vocabulary line of an obvious token.
func TestEncodeGolden(t *testing.T) {
	tok := Default()
	cases := []struct {
		name   string
		text   string
		ids    []int32  // checked when set
		tokens []string // checked when set (without [CLS]/[SEP])
	}{
		{name: "hf doc example", text: "I like strawberries. Unaffable!",
			ids: ids32(101, 1045, 2066, 13137, 20968, 1012, 14477, 20961, 3468, 999, 102)},
		{name: "accents stripped", text: "Café", ids: ids32(101, 7668, 102)},
		{name: "accents inside words", text: "naïve HÉLLO wörld", tokens: []string{"naive", "hello", "world"}},
		{name: "cjk split per character", text: "北京abc", tokens: []string{"北", "京", "abc"}},
		{name: "punctuation split", text: "don't", ids: ids32(101, 2123, 1005, 1056, 102)},
		{name: "ascii symbols are punctuation", text: "a$b^c", tokens: []string{"a", "$", "b", "^", "c"}},
		{name: "whitespace and controls", text: " hello\u00a0\tworld\x00\u200b\n", tokens: []string{"hello", "world"}},
		{name: "special token in raw text", text: "hello[SEP]world [sep]", tokens: []string{"hello", "[SEP]", "world", "[", "sep", "]"}},
		{name: "word over 100 chars is unknown", text: strings.Repeat("a", 101), tokens: []string{"[UNK]"}},
		{name: "word of 100 chars is split", text: strings.Repeat("a", 100), tokens: nil},
		{name: "unknown character", text: "you 😁 ?", tokens: []string{"you", "[UNK]", "?"}},
		{name: "empty", text: "", ids: ids32(101, 102)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := tok.Encode(c.text, 0)
			if c.ids != nil && !reflect.DeepEqual(e.IDs, c.ids) {
				t.Errorf("ids %v, want %v (tokens %q)", e.IDs, c.ids, tok.Tokens(e.IDs))
			}
			got := tok.Tokens(e.IDs[1 : e.Len()-1])
			if c.tokens != nil && !reflect.DeepEqual(got, c.tokens) {
				t.Errorf("tokens %q, want %q", got, c.tokens)
			}
			if c.name == "word of 100 chars is split" {
				for _, g := range got {
					if g == UNKToken {
						t.Errorf("100-char word gave [UNK]: %q", got)
					}
				}
			}
		})
	}
}

func TestOffsetsAreCodePoints(t *testing.T) {
	tok := Default()
	text := "Café au milk, 北京 naïve."
	e := tok.Plain(text)
	rs := []rune(text)
	want := []struct {
		tok  string
		span string
	}{{"cafe", "Café"}, {"au", "au"}, {"milk", "milk"}, {",", ","}, {"北", "北"}, {"京", "京"}, {"naive", "naïve"}, {".", "."}}
	if e.Len() != len(want) {
		t.Fatalf("got %d tokens %q, want %d", e.Len(), tok.Tokens(e.IDs), len(want))
	}
	for i, w := range want {
		o := e.Offsets[i]
		if tok.Token(e.IDs[i]) != w.tok || string(rs[o[0]:o[1]]) != w.span {
			t.Errorf("token %d: %q at %v = %q, want %q at %q", i, tok.Token(e.IDs[i]), o, string(rs[o[0]:o[1]]), w.tok, w.span)
		}
	}
	// Subword pieces of a word share its span piecewise.
	e = tok.Plain("xx Unaffable")
	wantOff := [][2]int{{0, 2}, {3, 6}, {6, 9}, {9, 12}}
	if !reflect.DeepEqual(e.Offsets, wantOff) {
		t.Errorf("offsets %v, want %v (tokens %q)", e.Offsets, wantOff, tok.Tokens(e.IDs))
	}
}

func TestEncodePairTypeIDsAndTruncation(t *testing.T) {
	tok := Default()
	e := tok.EncodePair("hello world", "don't", 0)
	wantIDs := ids32(101, 7592, 2088, 102, 2123, 1005, 1056, 102)
	wantTypes := []int8{0, 0, 0, 0, 1, 1, 1, 1}
	wantSeq := []int8{-1, 0, 0, -1, 1, 1, 1, -1}
	if !reflect.DeepEqual(e.IDs, wantIDs) || !reflect.DeepEqual(e.TypeIDs, wantTypes) || !reflect.DeepEqual(e.Sequence, wantSeq) {
		t.Fatalf("pair = %v %v %v, want %v %v %v", e.IDs, e.TypeIDs, e.Sequence, wantIDs, wantTypes, wantSeq)
	}
	if e.Offsets[4] != [2]int{0, 3} {
		t.Errorf("second text offsets are relative to it: %v", e.Offsets[4])
	}
	// "a b c d e f" has 6 tokens, "x y" 2; with maxLen 9 there is room for 6.
	e = tok.EncodePair("a b c d e f", "x y", 9)
	if got := strings.Join(tok.Tokens(e.IDs), " "); got != "[CLS] a b c d [SEP] x y [SEP]" {
		t.Errorf("longest first cut = %q", got)
	}
	e = tok.Encode("a b c d e f", 5)
	if got := strings.Join(tok.Tokens(e.IDs), " "); got != "[CLS] a b c [SEP]" {
		t.Errorf("single cut = %q", got)
	}
}

// Hand-computed from tokenizers' LongestFirst (room = max_len - 3).
func TestLongestFirst(t *testing.T) {
	cases := []struct{ n1, n2, room, k1, k2 int }{
		{3, 4, 10, 3, 4},  // fits
		{2, 10, 8, 2, 6},  // only the longer is cut: 8-2
		{10, 2, 8, 6, 2},  // same, swapped
		{10, 10, 7, 3, 4}, // both cut: 7/2=3, the odd one to the second on a tie
		{12, 10, 7, 4, 3}, // the odd one to the longer
		{5, 5, 0, 0, 0},
	}
	for _, c := range cases {
		k1, k2 := LongestFirst(c.n1, c.n2, c.room)
		if k1 != c.k1 || k2 != c.k2 {
			t.Errorf("LongestFirst(%d,%d,%d) = %d,%d, want %d,%d", c.n1, c.n2, c.room, k1, k2, c.k1, c.k2)
		}
	}
}

func TestLoadDirectory(t *testing.T) {
	vocab := []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", "Hello", "cafe", "Café", "##s", ","}
	write := func(t *testing.T, files map[string]string) string {
		dir := t.TempDir()
		for n, s := range files {
			if err := os.WriteFile(filepath.Join(dir, n), []byte(s), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	vocabTxt := strings.Join(vocab, "\n") + "\n"
	tokJSON := func(lower string) string {
		return `{"normalizer":{"type":"BertNormalizer","clean_text":true,"handle_chinese_chars":true,"strip_accents":null,"lowercase":` + lower + `},
"pre_tokenizer":{"type":"BertPreTokenizer"},"model":{"type":"WordPiece","unk_token":"[UNK]","continuing_subword_prefix":"##","max_input_chars_per_word":100,
"vocab":{"[PAD]":0,"[UNK]":1,"[CLS]":2,"[SEP]":3,"[MASK]":4,"hello":5,"Hello":6,"cafe":7,"Café":8,"##s":9,",":10}}}`
	}
	cases := []struct {
		name    string
		files   map[string]string
		text    string
		want    string
		wantErr string
	}{
		{"vocab.txt defaults to uncased", map[string]string{"vocab.txt": vocabTxt}, "Hellos, Café", "[CLS] hello ##s , cafe [SEP]", ""},
		{"tokenizer_config cased", map[string]string{"vocab.txt": vocabTxt, "tokenizer_config.json": `{"do_lower_case": false}`}, "Hellos, Café", "[CLS] Hello ##s , Café [SEP]", ""},
		{"tokenizer.json uncased", map[string]string{"tokenizer.json": tokJSON("true")}, "Hellos, Café", "[CLS] hello ##s , cafe [SEP]", ""},
		{"tokenizer.json cased wins over vocab.txt", map[string]string{"tokenizer.json": tokJSON("false"), "vocab.txt": vocabTxt}, "Hellos, Café", "[CLS] Hello ##s , Café [SEP]", ""},
		{"neither", map[string]string{"config.json": "{}"}, "", "", "neither tokenizer.json nor vocab.txt"},
		{"missing special", map[string]string{"vocab.txt": "[PAD]\n[UNK]\nhello\n"}, "", "", "has no [CLS]"},
		{"bpe tokenizer.json", map[string]string{"tokenizer.json": `{"model":{"type":"BPE"}}`}, "", "", "only WordPiece"},
		{"bad json", map[string]string{"tokenizer.json": `{"model":`}, "", "", "tokenizer.json"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tok, err := Load(write(t, c.files))
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want it to mention %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(tok.Tokens(tok.Encode(c.text, 0).IDs), " "); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

func TestSaveRoundTrip(t *testing.T) {
	dir := t.TempDir()
	if err := Default().Save(dir); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, VocabFile))
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != string(bertBaseUncasedVocab) {
		t.Fatalf("written vocab.txt differs from bert-base-uncased's")
	}
	tok, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if tok.Normalization() != BertUncased {
		t.Errorf("normalisation after round trip %+v", tok.Normalization())
	}
	text := "I like strawberries. Unaffable!"
	if !reflect.DeepEqual(tok.Encode(text, 0), Default().Encode(text, 0)) {
		t.Error("reloaded tokenizer encodes differently")
	}
}

func FuzzEncode(f *testing.F) {
	for _, s := range []string{"I like strawberries. Unaffable!", "Café 北京", "a\xffb", "[SEP][CLS]x[", "İstanbul ǅ ﬁ", "\u0301\u0301e"} {
		f.Add(s, "second [MASK] text")
	}
	tok := Default()
	f.Fuzz(func(t *testing.T, a, b string) {
		e := tok.EncodePair(a, b, 32)
		if e.Len() > 32 || len(e.TypeIDs) != e.Len() || len(e.Offsets) != e.Len() || len(e.Sequence) != e.Len() {
			t.Fatalf("inconsistent encoding of length %d", e.Len())
		}
		na, nb := utf8.RuneCountInString(a), utf8.RuneCountInString(b)
		for i, o := range e.Offsets {
			n := na
			if e.Sequence[i] == 1 {
				n = nb
			}
			if o[0] < 0 || o[0] > o[1] || o[1] > n {
				t.Fatalf("token %d offset %v out of [0,%d]", i, o, n)
			}
			if e.IDs[i] < 0 || int(e.IDs[i]) >= tok.VocabSize() {
				t.Fatalf("id %d out of vocabulary", e.IDs[i])
			}
		}
	})
}

// A SQuAD v1.1 dev context (Notre Dame), the typical unit of work.
const benchParagraph = `Architecturally, the school has a Catholic character. Atop the Main Building's gold dome is a golden statue of the Virgin Mary. Immediately in front of the Main Building and facing it, is a copper statue of Christ with arms upraised with the legend "Venite Ad Me Omnes". Next to the Main Building is the Basilica of the Sacred Heart. Immediately behind the basilica is the Grotto, a Marian place of prayer and reflection. It is a replica of the grotto at Lourdes, France where the Virgin Mary reputedly appeared to Saint Bernadette Soubirous in 1858. At the end of the main drive (and in a direct line that connects through 3 statues and the Gold Dome), is a simple, modern stone statue of Mary.`

func BenchmarkPlainParagraph(b *testing.B) {
	tok := Default()
	for b.Loop() {
		tok.Plain(benchParagraph)
	}
}

func TestWordsAndPieces(t *testing.T) {
	tok := Default()
	got := tok.Words("Héllo, World! [MASK] it's  unaffable")
	want := []string{"hello", ",", "world", "!", "[MASK]", "it", "'", "s", "unaffable"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("Words = %q, want %q", got, want)
	}
	// Words then Pieces gives the ids of the whole text.
	var ids []int32
	for _, w := range got {
		ids = append(ids, tok.Pieces(w)...)
	}
	if whole := tok.Plain("Héllo, World! [MASK] it's  unaffable").IDs; !reflect.DeepEqual(ids, whole) {
		t.Fatalf("pieces %v, whole text %v", ids, whole)
	}
	if p := tok.Pieces("unaffable"); len(p) < 2 {
		t.Fatalf("unaffable is %d pieces, want several", len(p))
	}
}
