package squad

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/cofiharness/cofi/experiments/tokenize"
	"github.com/cofiharness/cofi/task"
	"github.com/parquet-go/parquet-go"
)

const fixtureDir = "testdata/squad"

func loadFixture(t *testing.T) *Set {
	t.Helper()
	set, err := Load(fixtureDir, "squad", "squad", Auto)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func TestMismatchReasons(t *testing.T) {
	ctx := []rune("Zoë went to Paris.")
	cases := []struct {
		text  string
		start int
		want  string
	}{
		{"Paris", 12, ""},
		{"Paris", 13, "is at byte 13, not character 13"}, // ë is two bytes
		{"Paris", 20, "runs past the context's 18 characters"},
		{"Paris", -1, "runs past"},
		{"Rome", 12, `the context has "Pari" at answer_start 12, not the answer "Rome"`},
	}
	for _, c := range cases {
		if got := mismatch(ctx, c.text, c.start); c.want == "" && got != "" || !strings.Contains(got, c.want) {
			t.Errorf("mismatch(%q, %d) = %q, want %q", c.text, c.start, got, c.want)
		}
	}
}

func TestReadJSON(t *testing.T) {
	set := loadFixture(t)
	if set.Source != JSON || set.Split != "squad" || len(set.Examples) != 5 {
		t.Fatalf("read %s %s, %d examples", set.Source, set.Split, len(set.Examples))
	}
	ex := set.Examples[0]
	if ex.ID != "56be4db0acb8001400a502ec" || ex.Title != "Super_Bowl_50" || len(ex.Answers) != 3 || ex.Answers[0] != (Answer{"Denver Broncos", 177}) {
		t.Errorf("first example %+v", ex)
	}
	// "Levi's Stadium" follows the en dash of "24–10": 355 code points in, 357 bytes.
	if a := set.Examples[1].Answers[0]; a.Start != 355 || string([]rune(set.Examples[1].Context)[355:355+14]) != "Levi's Stadium" {
		t.Errorf("answer start %d is not a code-point offset", a.Start)
	}
	// The key order of the second paragraph puts qas before context.
	if ex := set.Examples[3]; ex.Title != "Café" || ex.Context == "" || ex.Answers[0].Text != "Zoë" {
		t.Errorf("qas before context: %+v", ex)
	}
	if len(set.Mismatched) != 1 || set.Mismatched[0].ID != "56be4db0acb8001400a502ec" || set.Mismatched[0].Answer != 2 ||
		!strings.HasSuffix(set.Mismatched[0].Where, "dev-v1.1.json:10") || set.Answers != 9 {
		t.Errorf("mismatched answers %v of %d, want the deliberate one", set.Mismatched, set.Answers)
	}
	if g := set.Golds()["cafe-year"]; !reflect.DeepEqual(g, []string{"1858", "in 1858"}) {
		t.Errorf("golds %v", g)
	}
}

func TestMalformedJSON(t *testing.T) {
	cases := []struct{ name, text, want string }{
		{"syntax", "{\"data\": [\n  {\"title\": \"x\",, }\n]}", "x.json:2:17: data[0]: malformed JSON"},
		// The decoder locates a type error just after the value ("0" is at columns 53-55).
		{"answer_start as string", `{"data":[{"paragraphs":[{"context":"abc","qas":[` + "\n" +
			`{"id":"1","question":"q","answers":[{"answer_start":"0","text":"a"}]}]}]}]}`,
			"x.json:2:56: data[0].paragraphs[0].qas[0]: answers.answer_start is a JSON string, expected an integer"},
		{"missing id", `{"data":[{"paragraphs":[{"context":"abc","qas":[{"question":"q","answers":[]}]}]}]}`,
			`x.json:1:49: data[0].paragraphs[0].qas[0]: missing "id"`},
		{"missing context", `{"data":[{"paragraphs":[{"qas":[]}]}]}`, `x.json:1:25: data[0].paragraphs[0]: missing "context"`},
		{"duplicate id", `{"data":[{"paragraphs":[{"context":"abc","qas":[{"id":"1","question":"q","answers":[]},{"id":"1","question":"q","answers":[]}]}]}]}`,
			`x.json:1:88: data[0].paragraphs[0].qas[1]: duplicate id "1"`},
		{"answer without text", `{"data":[{"paragraphs":[{"context":"abc","qas":[{"id":"1","question":"q","answers":[{"answer_start":0}]}]}]}]}`,
			`data[0].paragraphs[0].qas[0].answers[0]: expected "answer_start" (integer) and "text" (string)`},
		{"data not an array", `{"version":"1.1","data":{}}`, `x.json:1:25: data: expected an array, found "{"`},
		{"paragraphs not an array", `{"data":[{"paragraphs":"p"}]}`, `x.json:1:24: data[0].paragraphs: expected an array, found string "p"`},
		{"no data", `{"version":"1.1"}`, `x.json:1:1: top level: no "data" array`},
		{"not an object", `[1]`, `x.json:1:1: top level: expected an object, found "["`},
		{"truncated", `{"data":[{"paragraphs":[{"context":"ab`, "x.json:1:39: data[0].paragraphs[0].context: unexpected end of file"},
		{"trailing data", `{"data":[]} {}`, "x.json:1:13: top level: unexpected data after the JSON object"},
		{"empty", ``, "x.json:1:1: top level: unexpected end of file"},
		{"no questions", `{"data":[]}`, "x.json: no questions"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ReadJSON([]byte(c.text), "x.json")
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v\nwant %q", err, c.want)
			}
		})
	}
}

// squadRow is HF rajpurkar/squad's parquet schema.
type squadRow struct {
	ID       string `parquet:"id"`
	Title    string `parquet:"title"`
	Context  string `parquet:"context"`
	Question string `parquet:"question"`
	Answers  struct {
		Text        []string `parquet:"text,list"`
		AnswerStart []int32  `parquet:"answer_start,list"`
	} `parquet:"answers"`
}

func TestParquetMatchesJSON(t *testing.T) {
	want := loadFixture(t)
	var rows []squadRow
	for _, ex := range want.Examples {
		r := squadRow{ID: ex.ID, Title: ex.Title, Context: ex.Context, Question: ex.Question}
		for _, a := range ex.Answers {
			r.Answers.Text = append(r.Answers.Text, a.Text)
			r.Answers.AnswerStart = append(r.Answers.AnswerStart, int32(a.Start))
		}
		rows = append(rows, r)
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "plain_text", "validation-00000-of-00001.parquet")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := parquet.WriteFile(p, rows, parquet.Compression(&parquet.Snappy)); err != nil {
		t.Fatal(err)
	}
	got, err := Load(dir, "squad", "validation", Auto)
	if err != nil {
		t.Fatal(err)
	}
	ids := func(ms []Mismatch) (out []string) {
		for _, m := range ms {
			out = append(out, fmt.Sprintf("%s#%d %s", m.ID, m.Answer, m.Reason))
		}
		return out
	}
	if got.Source != Parquet || !reflect.DeepEqual(got.Examples, want.Examples) || !reflect.DeepEqual(ids(got.Mismatched), ids(want.Mismatched)) {
		t.Errorf("parquet gave %+v\nJSON gave %+v", got, want)
	}
	if _, err := Load(dir, "squad", "train", Auto); err == nil || !strings.Contains(err.Error(), "no squad train data") {
		t.Errorf("missing train: %v", err)
	}
}

func TestWindows(t *testing.T) {
	cases := []struct {
		n, room, stride int
		want            [][2]int
	}{
		{3, 4, 1, [][2]int{{0, 3}}},
		{0, 4, 1, [][2]int{{0, 0}}},
		{10, 4, 1, [][2]int{{0, 4}, {3, 7}, {6, 10}}}, // step 3
		{5, 4, 2, [][2]int{{0, 4}, {2, 5}}},           // step 2, last window short
		{8, 4, 2, [][2]int{{0, 4}, {2, 6}, {4, 8}}},
	}
	for _, c := range cases {
		if got := windows(c.n, c.room, c.stride); !reflect.DeepEqual(got, c.want) {
			t.Errorf("windows(%d, %d, %d) = %v, want %v", c.n, c.room, c.stride, got, c.want)
		}
	}
}

func TestEncodeLabelsAndSpans(t *testing.T) {
	set := loadFixture(t)
	tok := tokenize.Default()
	cfg := Config{MaxLen: 32, Stride: 8, MaxQueryLen: 10}
	f, err := Encode(set.Examples, tok, cfg)
	if err != nil {
		t.Fatal(err)
	}
	labelled := map[int]int{}
	for fi, ft := range f.Dataset.Features {
		ex := f.Examples[ft.Example]
		if len(ft.IDs) > cfg.MaxLen || ft.IDs[0] != tok.CLS() || ft.IDs[len(ft.IDs)-1] != tok.SEP() {
			t.Fatalf("feature %d malformed: %v", fi, ft.IDs)
		}
		if ft.Start == 0 && ft.End == 0 {
			continue
		}
		labelled[ft.Example]++
		s, e, ok := f.Span(fi, int(ft.Start), int(ft.End))
		if !ok {
			t.Fatalf("feature %d: label %d-%d outside the context", fi, ft.Start, ft.End)
		}
		if got := string([]rune(ex.Context)[s:e]); got != ex.Answers[0].Text {
			t.Errorf("feature %d: label span %q, want %q", fi, got, ex.Answers[0].Text)
		}
	}
	// The Super Bowl context (~90 tokens) needs several 32-token windows;
	// each answer lies whole in at least one of them.
	for ei := range f.Examples {
		if labelled[ei] == 0 {
			t.Errorf("example %s has no feature containing its answer", f.Examples[ei].ID)
		}
	}
	n0 := 0
	for _, ft := range f.Dataset.Features {
		if ft.Example == 0 {
			n0++
		}
	}
	if n0 < 4 {
		t.Errorf("first example has %d windows, want several", n0)
	}
	// Consecutive windows share Stride context tokens.
	for fi := 1; fi < len(f.windows); fi++ {
		a, b := f.windows[fi-1], f.windows[fi]
		if f.Dataset.Features[fi].Example == f.Dataset.Features[fi-1].Example && a.docStart+a.n-b.docStart != cfg.Stride {
			t.Errorf("windows %d and %d overlap by %d tokens, want %d", fi-1, fi, a.docStart+a.n-b.docStart, cfg.Stride)
		}
	}
	if _, err := Encode(set.Examples, tok, Config{MaxLen: 16, Stride: 8, MaxQueryLen: 10}); err == nil {
		t.Error("a window no larger than the stride was accepted")
	}
	if c := ConfigFor(task.MustLookup("squad")); c != (Config{384, 128, 64}) {
		t.Errorf("squad config %+v", c)
	}
}

// logitsFor puts +10 on startTok and endTok of one feature, 0 elsewhere.
func logitsFor(f *Features, padTo int, feature, startTok, endTok int) ([][]float32, [][]float32) {
	s := make([][]float32, f.Dataset.Len())
	e := make([][]float32, f.Dataset.Len())
	for i := range s {
		s[i] = make([]float32, padTo)
		e[i] = make([]float32, padTo)
	}
	s[feature][startTok] = 10
	e[feature][endTok] = 10
	return s, e
}

func TestPredict(t *testing.T) {
	set := loadFixture(t)
	f, err := Encode(set.Examples[3:4], tokenize.Default(), DefaultConfig()) // "Who owns the café?" about the café paragraph
	if err != nil {
		t.Fatal(err)
	}
	ft := f.Dataset.Features[0]
	if f.Dataset.Len() != 1 || ft.Start == 0 {
		t.Fatalf("features %+v", f.Dataset.Features)
	}
	s, e := logitsFor(f, 40, 0, int(ft.Start), int(ft.End))
	got, err := f.Predict(s, e, 20, 30)
	if err != nil || got["cafe-owner"] != "Zoë" {
		t.Errorf("predict = %q %v, want Zoë", got, err)
	}
	// Best start in the question: with n-best 1 no valid pair is left.
	s, e = logitsFor(f, 40, 0, 2, int(ft.End))
	if got, _ := f.Predict(s, e, 1, 30); got["cafe-owner"] != "empty" {
		t.Errorf("invalid best pair: %q, want HF's \"empty\"", got)
	}
	// With n-best 20 the next start candidates are used instead.
	if got, _ := f.Predict(s, e, 20, 30); got["cafe-owner"] == "empty" {
		t.Errorf("n-best 20 found nothing")
	}
	// End before start is dropped; a span longer than maxAnswerLen too.
	s, e = logitsFor(f, 40, 0, int(ft.End)+2, int(ft.End))
	if got, _ := f.Predict(s, e, 1, 30); got["cafe-owner"] != "empty" {
		t.Errorf("end before start: %q", got)
	}
	ctxStart := f.windows[0].ctxStart
	s, e = logitsFor(f, 40, 0, ctxStart, ctxStart+3)
	if got, _ := f.Predict(s, e, 1, 3); got["cafe-owner"] != "empty" {
		t.Errorf("4-token span with max length 3: %q", got)
	}
	if got, _ := f.Predict(s, e, 1, 4); got["cafe-owner"] != "The café naïve owner" {
		t.Errorf("4-token span: %q, want the original text with accents", got)
	}
	if _, err := f.Predict(s[:0], e, 20, 30); err == nil {
		t.Error("wrong number of logit rows accepted")
	}
}

func TestPredictAcrossWindows(t *testing.T) {
	set := loadFixture(t)
	f, err := Encode(set.Examples[1:2], tokenize.Default(), Config{MaxLen: 32, Stride: 8, MaxQueryLen: 10})
	if err != nil {
		t.Fatal(err)
	}
	last := f.Dataset.Len() - 1
	var fi int
	for fi = last; fi >= 0 && f.Dataset.Features[fi].Start == 0; fi-- {
	}
	if fi < 1 {
		t.Fatalf("answer not in a later window")
	}
	ft := f.Dataset.Features[fi]
	s, e := logitsFor(f, 32, fi, int(ft.Start), int(ft.End))
	s[0][f.windows[0].ctxStart] = 9 // a weaker candidate in the first window
	e[0][f.windows[0].ctxStart] = 9
	got, err := f.Predict(s, e, 20, 30)
	if err != nil || got["56be4db0acb8001400a502ee"] != "Levi's Stadium" {
		t.Errorf("predict = %q %v", got, err)
	}
}

func FuzzReadJSON(f *testing.F) {
	b, err := os.ReadFile(filepath.Join(fixtureDir, "dev-v1.1.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte(`{"data":[{"paragraphs":[{"context":"abc","qas":[{"id":"1","question":"q","answers":[{"answer_start":9,"text":"zz"}]}]}]}]}`))
	f.Add([]byte(`{"data":[{"paragraphs":[{"qas":[{"id":"1"}],"context":null}]}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		set, err := ReadJSON(b, "f.json")
		if err != nil {
			var se *SyntaxError
			if errors.As(err, &se) && (se.Line < 1 || se.Column < 1 || se.Offset > int64(len(b))) {
				t.Fatalf("bad position in %v", err)
			}
			return
		}
		if len(set.Examples) == 0 {
			t.Fatal("success without questions")
		}
		f, err := Encode(set.Examples, tokenize.Default(), Config{MaxLen: 24, Stride: 4, MaxQueryLen: 6})
		if err != nil {
			return
		}
		for fi, ft := range f.Dataset.Features {
			if ft.Start != 0 || ft.End != 0 {
				if _, _, ok := f.Span(fi, int(ft.Start), int(ft.End)); !ok || ft.End < ft.Start {
					t.Fatalf("feature %d label %d-%d outside its context", fi, ft.Start, ft.End)
				}
			}
		}
	})
}
