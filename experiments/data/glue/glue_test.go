package glue

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/cofiharness/cofi/experiments/data"
	"github.com/parquet-go/parquet-go"
)

const fixtures = "testdata/glue"

func TestLoadTSV(t *testing.T) {
	cases := []struct {
		task, split string
		n, skipped  int
		first       data.Example // ID, TextA prefix, TextB prefix, Pair, Label, Score
	}{
		{"cola", "train", 3, 0, data.Example{ID: "0", TextA: "Our friends won't", Label: "1"}},
		{"cola", "cola", 2, 0, data.Example{ID: "0", TextA: "The sailors", Label: "1"}},
		{"sst2", "train", 3, 0, data.Example{ID: "0", TextA: "hide new secretions from the parental units ", Label: "0"}},
		{"SST-2", "dev", 2, 0, data.Example{ID: "0", TextA: "it 's a charming", Label: "1"}}, // CRLF file
		{"mrpc", "train", 2, 0, data.Example{ID: "0", TextA: "Amrozi accused his brother , whom he called \" the witness \"", TextB: "Referring to him", Pair: true, Label: "1"}},
		{"stsb", "stsb", 2, 0, data.Example{ID: "0", TextA: "A man with a hard hat", TextB: "A man wearing", Pair: true, Score: 5}},
		{"qqp", "train", 3, 1, data.Example{ID: "0", TextA: "How is the life of a math student? Could you describe your own \"experiences\"?", TextB: "Which level", Pair: true, Label: "0"}},
		{"mnli", "train", 3, 0, data.Example{ID: "0", TextA: "Conceptually cream skimming", TextB: "Product and geography", Pair: true, Label: "neutral"}},
		{"mnli", "mnli-m", 2, 0, data.Example{ID: "0", TextA: "The new rights are nice enough", TextB: "Everyone really likes", Pair: true, Label: "neutral"}},
		{"mnli", "mnli-mm", 1, 0, data.Example{ID: "0", TextA: "Your contribution helped", TextB: "Your contributions were", Pair: true, Label: "contradiction"}},
		{"qnli", "qnli", 1, 0, data.Example{ID: "0", TextA: "What came into force", TextB: "As of that day", Pair: true, Label: "entailment"}},
		{"rte", "train", 2, 0, data.Example{ID: "0", TextA: "No Weapons of Mass Destruction", TextB: "Weapons of Mass", Pair: true, Label: "not_entailment"}},
	}
	for _, c := range cases {
		t.Run(c.task+"/"+c.split, func(t *testing.T) {
			set, err := LoadSet(fixtures, c.task, c.split, Auto)
			if err != nil {
				t.Fatal(err)
			}
			if set.Source != TSV || len(set.Examples) != c.n || len(set.Skipped) != c.skipped {
				t.Fatalf("source %s, %d examples, %d skipped; want tsv, %d, %d", set.Source, len(set.Examples), len(set.Skipped), c.n, c.skipped)
			}
			got, want := set.Examples[0], c.first
			if got.ID != want.ID || !strings.HasPrefix(got.TextA, want.TextA) || !strings.HasPrefix(got.TextB, want.TextB) ||
				got.Pair != want.Pair || got.Label != want.Label || got.Score != want.Score {
				t.Errorf("first example %+v, want %+v (prefixes)", got, want)
			}
			if strings.Contains(got.TextA, "\t") || strings.HasSuffix(got.TextB, "\r") {
				t.Errorf("field kept a separator: %q %q", got.TextA, got.TextB)
			}
		})
	}
	set, _ := LoadSet(fixtures, "qqp", "train", Auto)
	if s := set.Skipped[0]; s.Line != 4 || !strings.Contains(s.Reason, "expected 6 tab-separated columns as in the header, got 4") {
		t.Errorf("QQP skip = %+v", s)
	}
}

// hfOrder is the ClassLabel order of nyu-mll/glue, written out here
// independently of data.TaskLabels.
var hfOrder = map[string][]string{
	"cola": {"0", "1"}, "sst2": {"0", "1"}, "mrpc": {"0", "1"}, "qqp": {"0", "1"},
	"mnli": {"entailment", "neutral", "contradiction"},
	"qnli": {"entailment", "not_entailment"}, "rte": {"entailment", "not_entailment"},
}

// HF parquet row types (pyarrow schema: strings, label int64, idx int32;
// STS-B's label float32).
type (
	singleRow struct {
		Sentence string `parquet:"sentence"`
		Label    int64  `parquet:"label"`
		Idx      int32  `parquet:"idx"`
	}
	pairRow struct {
		Sentence1 string `parquet:"sentence1"`
		Sentence2 string `parquet:"sentence2"`
		Label     int64  `parquet:"label"`
		Idx       int32  `parquet:"idx"`
	}
	stsbRow struct {
		Sentence1 string  `parquet:"sentence1"`
		Sentence2 string  `parquet:"sentence2"`
		Label     float32 `parquet:"label"`
		Idx       int32   `parquet:"idx"`
	}
	qqpRow struct {
		Question1 string `parquet:"question1"`
		Question2 string `parquet:"question2"`
		Label     int64  `parquet:"label"`
		Idx       int32  `parquet:"idx"`
	}
	mnliRow struct {
		Premise    string `parquet:"premise"`
		Hypothesis string `parquet:"hypothesis"`
		Label      int64  `parquet:"label"`
		Idx        int32  `parquet:"idx"`
	}
	qnliRow struct {
		Question string `parquet:"question"`
		Sentence string `parquet:"sentence"`
		Label    int64  `parquet:"label"`
		Idx      int32  `parquet:"idx"`
	}
)

func writeParquet[T any](t testing.TB, path string, rows []T) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := parquet.WriteFile(path, rows, parquet.Compression(&parquet.Snappy)); err != nil {
		t.Fatal(err)
	}
}

// writeHF writes examples as the HF parquet of a task split at path.
func writeHF(t testing.TB, path, taskName string, exs []data.Example) {
	t.Helper()
	id := func(ex data.Example) int64 {
		for i, n := range hfOrder[taskName] {
			if n == ex.Label {
				return int64(i)
			}
		}
		if ex.Label == "-1" {
			return -1
		}
		t.Fatalf("%s: label %q not in HF order", taskName, ex.Label)
		return 0
	}
	switch taskName {
	case "cola", "sst2":
		var rows []singleRow
		for i, ex := range exs {
			rows = append(rows, singleRow{ex.TextA, id(ex), int32(i)})
		}
		writeParquet(t, path, rows)
	case "mrpc", "rte":
		var rows []pairRow
		for i, ex := range exs {
			rows = append(rows, pairRow{ex.TextA, ex.TextB, id(ex), int32(i)})
		}
		writeParquet(t, path, rows)
	case "stsb":
		var rows []stsbRow
		for i, ex := range exs {
			rows = append(rows, stsbRow{ex.TextA, ex.TextB, float32(ex.Score), int32(i)})
		}
		writeParquet(t, path, rows)
	case "qqp":
		var rows []qqpRow
		for i, ex := range exs {
			rows = append(rows, qqpRow{ex.TextA, ex.TextB, id(ex), int32(i)})
		}
		writeParquet(t, path, rows)
	case "mnli":
		var rows []mnliRow
		for i, ex := range exs {
			rows = append(rows, mnliRow{ex.TextA, ex.TextB, id(ex), int32(i)})
		}
		writeParquet(t, path, rows)
	case "qnli":
		var rows []qnliRow
		for i, ex := range exs {
			rows = append(rows, qnliRow{ex.TextA, ex.TextB, id(ex), int32(i)})
		}
		writeParquet(t, path, rows)
	default:
		t.Fatalf("no HF schema for %s", taskName)
	}
}

var hfSplits = map[string][]struct{ split, file string }{
	"mnli": {{"train", "train"}, {"mnli-m", "validation_matched"}, {"mnli-mm", "validation_mismatched"}},
}

// The same data written as HF parquet (labels as HF class ids) must read
// back as the TSV examples: same texts, same label names.
func TestParquetMatchesTSV(t *testing.T) {
	for _, name := range []string{"cola", "sst2", "mrpc", "stsb", "qqp", "mnli", "qnli", "rte"} {
		splits := hfSplits[name]
		if splits == nil {
			splits = []struct{ split, file string }{{"train", "train"}, {name, "validation"}}
		}
		dir := t.TempDir()
		for i, sp := range splits {
			want, err := LoadSet(fixtures, name, sp.split, TSV)
			if err != nil {
				t.Fatal(err)
			}
			// Both Hub layouts: <split>-00000-of-00001.parquet and <split>/0000.parquet.
			p := filepath.Join(dir, name, sp.file+"-00000-of-00001.parquet")
			if i%2 == 1 {
				p = filepath.Join(dir, name, sp.file, "0000.parquet")
			}
			writeHF(t, p, name, want.Examples)
			got, err := LoadSet(dir, name, sp.split, Auto)
			if err != nil {
				t.Fatal(err)
			}
			// HF stores STS-B scores as float32.
			for i := range want.Examples {
				want.Examples[i].Score = float64(float32(want.Examples[i].Score))
			}
			if got.Source != Parquet || !reflect.DeepEqual(got.Examples, want.Examples) {
				t.Errorf("%s %s: parquet (%s) gave\n%+v\nTSV gave\n%+v", name, sp.split, got.Source, got.Examples, want.Examples)
			}
		}
	}
}

func TestParquetShardsAndTestLabels(t *testing.T) {
	dir := t.TempDir()
	exs := []data.Example{{TextA: "a", TextB: "b", Pair: true, Label: "entailment"}, {TextA: "c", TextB: "d", Pair: true, Label: "not_entailment"}}
	writeHF(t, filepath.Join(dir, "rte", "train-00001-of-00002.parquet"), "rte", exs[1:])
	writeHF(t, filepath.Join(dir, "rte", "train-00000-of-00002.parquet"), "rte", exs[:1])
	got, err := Load(dir, "rte", "train")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].TextA != "a" || got[1].TextA != "c" || got[1].ID != "1" || got[1].Label != "not_entailment" {
		t.Errorf("shards read as %+v", got)
	}
	writeHF(t, filepath.Join(dir, "rte", "validation-00000-of-00001.parquet"), "rte", []data.Example{exs[0], {TextA: "x", TextB: "y", Label: "-1"}})
	_, err = Load(dir, "rte", "rte")
	var fe *FormatError
	if !errors.As(err, &fe) || fe.Line != 1 || !strings.Contains(err.Error(), "row 1: label -1 is not a class id 0..1") {
		t.Errorf("test label -1: err = %v", err)
	}
}

func TestSourcePrecedence(t *testing.T) {
	dir := t.TempDir()
	rte := filepath.Join(dir, "RTE")
	if err := os.MkdirAll(rte, 0o755); err != nil {
		t.Fatal(err)
	}
	tsv, _ := os.ReadFile(filepath.Join(fixtures, "RTE", "train.tsv"))
	if err := os.WriteFile(filepath.Join(rte, "train.tsv"), tsv, 0o644); err != nil {
		t.Fatal(err)
	}
	writeHF(t, filepath.Join(dir, "rte", "train-00000-of-00001.parquet"), "rte", []data.Example{{TextA: "pq", TextB: "pq", Pair: true, Label: "entailment"}})
	// On a case-insensitive file system RTE and rte are one directory; both cases work.
	check := func(src Source, wantSrc Source, wantA string) {
		t.Helper()
		set, err := LoadSet(dir, "rte", "train", src)
		if err != nil {
			t.Fatal(err)
		}
		if set.Source != wantSrc || !strings.HasPrefix(set.Examples[0].TextA, wantA) {
			t.Errorf("source %q: read %s %q, want %s %q", src, set.Source, set.Examples[0].TextA, wantSrc, wantA)
		}
	}
	check(Auto, TSV, "No Weapons")
	check(TSV, TSV, "No Weapons")
	check(Parquet, Parquet, "pq")
	// The task directory itself can be given.
	set, err := LoadSet(rte, "rte", "train", Auto)
	if err != nil || set.Source != TSV {
		t.Errorf("task dir given directly: %v %v", set, err)
	}
	if _, err := LoadSet(dir, "rte", "rte", Auto); err == nil || !strings.Contains(err.Error(), "no rte rte data under") {
		t.Errorf("missing dev: err = %v", err)
	}
	if _, err := LoadSet(dir, "syn-pair", "train", Parquet); err == nil {
		t.Error("parquet for a synthetic task accepted")
	}
}

func TestSplitNames(t *testing.T) {
	cases := []struct {
		task, split, want, wantErr string
	}{
		{"mnli", "mnli-m", "mnli-m", ""},
		{"mnli", "dev_mismatched", "mnli-mm", ""},
		{"mnli", "validation_matched", "mnli-m", ""},
		{"mnli", "dev", "", "several evaluation sets"},
		{"rte", "dev", "rte", ""},
		{"rte", "validation", "rte", ""},
		{"rte", "test", "", "has no labels"},
		{"rte", "valid", "", "unknown split"},
		{"squad", "train", "", "not a GLUE-style task"},
	}
	for _, c := range cases {
		_, _, err := Find(fixtures, c.task, c.split, Auto)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("%s %s: err = %v, want %q", c.task, c.split, err, c.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s %s: %v", c.task, c.split, err)
			continue
		}
		set, err := LoadSet(fixtures, c.task, c.split, Auto)
		if err != nil || set.Split != c.want {
			t.Errorf("%s %s: split %v, err %v; want %s", c.task, c.split, set, err, c.want)
		}
	}
}

func TestMalformedTSV(t *testing.T) {
	cases := []struct {
		name, task, text, want string
	}{
		{"wrong column count", "rte", "index\tsentence1\tsentence2\tlabel\n0\ta\tb\tentailment\n1\ta\tentailment\n",
			"x.tsv:3: expected 4 tab-separated columns as in the header, got 3"},
		{"unknown label", "mnli", strings.Join(mnliHeader, "\t") + "\n" + strings.Repeat("x\t", 11) + "-\n",
			`x.tsv:2: column 12: unknown label "-", expected one of entailment, neutral, contradiction`},
		{"non-numeric score", "stsb", "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore\n0\tg\tf\ty\to\ts\ts\ta\tb\tfive\n",
			`x.tsv:2: column 10: score "five" is not a number in [0, 5]`},
		{"score out of range", "stsb", "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore\n0\tg\tf\ty\to\ts\ts\ta\tb\t7\n",
			`x.tsv:2: column 10: score "7" is not a number in [0, 5]`},
		{"missing header", "sst2", "a fine film\t1\n", `x.tsv:1: header column 1 is "a fine film", expected "sentence"`},
		{"short header", "qnli", "index\tquestion\n", "x.tsv:1: header has 2 columns, expected at least 4"},
		{"cola with header", "cola", "source\tlabel\tmark\tsentence\n", `x.tsv:1: column 2: unknown label "label"`},
		{"cola wrong columns", "cola", "gj04\t1\tsentence\n", "x.tsv:1: expected 4 tab-separated columns (source, label, original_mark, sentence), got 3"},
		{"invalid utf-8", "sst2", "sentence\tlabel\n\xff\xfe\t1\n", "x.tsv:2: invalid UTF-8"},
		{"empty file", "rte", "", "x.tsv: empty file, expected a header line"},
		{"header only", "rte", "index\tsentence1\tsentence2\tlabel\n", "x.tsv: no examples"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ReadTSV(strings.NewReader(c.text), "x.tsv", c.task, "train")
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v\nwant %q", err, c.want)
			}
		})
	}
}

var mnliHeader = []string{"index", "promptID", "pairID", "genre", "sentence1_binary_parse", "sentence2_binary_parse",
	"sentence1_parse", "sentence2_parse", "sentence1", "sentence2", "label1", "gold_label"}

func FuzzReadTSV(f *testing.F) {
	tasks := Tasks()
	for i, name := range tasks {
		d, err := Dir(name)
		if err != nil {
			f.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(fixtures, d, "train.tsv"))
		if err == nil {
			f.Add(b, uint8(i))
		}
	}
	f.Add([]byte("sentence\tlabel\n\"quoted\ttab\"\t1\r\n\n"), uint8(1))
	f.Fuzz(func(t *testing.T, b []byte, which uint8) {
		name := tasks[int(which)%len(tasks)]
		set, err := ReadTSV(bytes.NewReader(b), "fuzz.tsv", name, "train")
		if err != nil {
			var fe *FormatError
			if errors.As(err, &fe) && (fe.Line < 1 || fe.Path != "fuzz.tsv") {
				t.Fatalf("bad error position: %v", err)
			}
			return
		}
		vocab, _ := data.TaskLabels(name)
		if len(set.Examples) == 0 {
			t.Fatal("success without examples")
		}
		for _, ex := range set.Examples {
			if _, ok := vocab.ID(ex.Label); !vocab.Regression && !ok {
				t.Fatalf("example with label %q outside the vocabulary", ex.Label)
			}
			if strings.ContainsAny(ex.TextA+ex.TextB, "\t\n") {
				t.Fatalf("field with a separator: %q %q", ex.TextA, ex.TextB)
			}
		}
	})
}

// TestLayoutMatchesTinyBERT checks the text columns against
// data_augmentation.py's augment_ids and its header flags (filter_flags).
func TestLayoutMatchesTinyBERT(t *testing.T) {
	want := map[string][]int{"mrpc": {3, 4}, "mnli": {8, 9}, "cola": {3}, "sst2": {0}, "stsb": {7, 8}, "qqp": {3, 4}, "qnli": {1, 2}, "rte": {1, 2}}
	for name, cols := range want {
		header, got, err := Layout(name)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, cols) || header != (name != "cola") {
			t.Errorf("%s: header %v, text columns %v; want %v, %v", name, header, got, name != "cola", cols)
		}
	}
	if f, _ := EvalFiles("mnli"); strings.Join(f, " ") != "dev_matched dev_mismatched" {
		t.Errorf("mnli eval files %v", f)
	}
}
