package hfparquet

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
)

// Schemas as Hugging Face datasets writes them with pyarrow: ClassLabel as
// int64, idx int32, STS-B's label float32, SQuAD's answers a struct of lists.
type mrpcRow struct {
	Sentence1 string `parquet:"sentence1"`
	Sentence2 string `parquet:"sentence2"`
	Label     int64  `parquet:"label"`
	Idx       int32  `parquet:"idx"`
}

type stsbRow struct {
	Sentence1 string  `parquet:"sentence1"`
	Label     float32 `parquet:"label"`
}

type squadRow struct {
	ID      string `parquet:"id"`
	Answers struct {
		Text        []string `parquet:"text,list"`
		AnswerStart []int32  `parquet:"answer_start,list"`
	} `parquet:"answers"`
}

func write[T any](t testing.TB, rows []T) string {
	p := filepath.Join(t.TempDir(), "f.parquet")
	if err := parquet.WriteFile(p, rows, parquet.Compression(&parquet.Snappy)); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReadScalars(t *testing.T) {
	p := write(t, []mrpcRow{{"a \"q\"", "b", 1, 0}, {"c", "d\te", 0, 1}, {"f", "", 1, 7}})
	tb, err := Read(p, "sentence1", "sentence2", "label", "idx")
	if err != nil {
		t.Fatal(err)
	}
	s1, _ := tb.Strings("sentence1")
	s2, _ := tb.Strings("sentence2")
	lab, _ := tb.Ints("label")
	idx, err := tb.Ints("idx")
	if err != nil {
		t.Fatal(err)
	}
	if tb.NumRows != 3 || !reflect.DeepEqual(s1, []string{"a \"q\"", "c", "f"}) || !reflect.DeepEqual(s2, []string{"b", "d\te", ""}) ||
		!reflect.DeepEqual(lab, []int64{1, 0, 1}) || !reflect.DeepEqual(idx, []int64{0, 1, 7}) {
		t.Fatalf("got %v %v %v %v", s1, s2, lab, idx)
	}
	if _, err := tb.Strings("label"); err == nil || !strings.Contains(err.Error(), "want a string") {
		t.Errorf("label read as string: %v", err)
	}
	if _, err := Read(p, "premise"); err == nil || !strings.Contains(err.Error(), `no column "premise" (columns: sentence1, sentence2, label, idx)`) {
		t.Errorf("missing column: %v", err)
	}
	p = write(t, []stsbRow{{"x", 3.25}})
	tb, err = Read(p, "label")
	if err != nil {
		t.Fatal(err)
	}
	if f, err := tb.Floats("label"); err != nil || f[0] != 3.25 {
		t.Errorf("float label %v %v", f, err)
	}
}

func TestReadLists(t *testing.T) {
	var rows []squadRow
	r := squadRow{ID: "q1"}
	r.Answers.Text, r.Answers.AnswerStart = []string{"Denver Broncos", "Broncos"}, []int32{177, 184}
	rows = append(rows, r, squadRow{ID: "q2"})
	p := write(t, rows)
	tb, err := Read(p, "id", "answers.text", "answers.answer_start")
	if err != nil {
		t.Fatal(err)
	}
	texts, err := tb.StringLists("answers.text")
	if err != nil {
		t.Fatal(err)
	}
	starts, err := tb.IntLists("answers.answer_start")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(texts, [][]string{{"Denver Broncos", "Broncos"}, {}}) || !reflect.DeepEqual(starts, [][]int64{{177, 184}, {}}) {
		t.Fatalf("lists %q %v", texts, starts)
	}
	if _, err := Read(p, "answers"); err == nil || !strings.Contains(err.Error(), "group of 2 columns") {
		t.Errorf("group column: %v", err)
	}
	if _, err := tb.Strings("answers.text"); err == nil {
		t.Error("list read as scalar")
	}
}

func TestCorruptFilesAreErrors(t *testing.T) {
	good, err := os.ReadFile(write(t, []mrpcRow{{"a", "b", 1, 0}}))
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{
		"empty":              nil,
		"not parquet":        []byte("sentence1\tsentence2\nhello\tworld\n"),
		"truncated":          good[:len(good)/2],
		"huge footer length": append(append([]byte{}, good[:len(good)-8]...), 0xff, 0xff, 0xff, 0x7f, 'P', 'A', 'R', '1'),
	} {
		if _, err := ReadFrom(bytes.NewReader(b), int64(len(b)), "sentence1"); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func FuzzReadFrom(f *testing.F) {
	f.Add(mustBytes(f, []mrpcRow{{"a", "b", 1, 0}, {"c", "d", 0, 1}}))
	var r squadRow
	r.Answers.Text, r.Answers.AnswerStart = []string{"x"}, []int32{3}
	f.Add(mustBytes(f, []squadRow{r}))
	f.Fuzz(func(t *testing.T, b []byte) {
		tb, err := ReadFrom(bytes.NewReader(b), int64(len(b)), "sentence1")
		if err == nil {
			tb.Strings("sentence1")
		}
		tb, err = ReadFrom(bytes.NewReader(b), int64(len(b)), "answers.text")
		if err == nil {
			tb.StringLists("answers.text")
		}
	})
}

func mustBytes[T any](f *testing.F, rows []T) []byte {
	var buf bytes.Buffer
	if err := parquet.Write(&buf, rows); err != nil {
		f.Fatal(err)
	}
	return buf.Bytes()
}
