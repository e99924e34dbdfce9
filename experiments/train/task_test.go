package train

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cofiharness/cofi/experiments/checkpoint"
	"github.com/cofiharness/cofi/experiments/data"
	"github.com/cofiharness/cofi/experiments/tokenize"
	"github.com/cofiharness/cofi/stage"
	"github.com/cofiharness/cofi/task"
)

// modelDir writes what ForModel reads of a model: config.json and vocab.txt.
func modelDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := checkpoint.WriteConfig(dir, checkpoint.Tiny()); err != nil {
		t.Fatal(err)
	}
	if err := tokenize.Default().WriteVocab(dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

// qqp writes QQP train and dev TSVs with good rows and bad (3-column) ones.
func qqp(t *testing.T, good, bad int) string {
	t.Helper()
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "QQP"), 0o755)
	for _, split := range []string{"train", "dev"} {
		var b strings.Builder
		b.WriteString("id\tqid1\tqid2\tquestion1\tquestion2\tis_duplicate\n")
		for i := range good + bad {
			if i%max(1, (good+bad)/max(bad, 1)) == 1 && bad > 0 && split == "train" {
				fmt.Fprintf(&b, "%d\t%d\t%d\twhat is %d ?\n", i, 2*i, 2*i+1, i)
				bad--
				continue
			}
			fmt.Fprintf(&b, "%d\t%d\t%d\twhat is %d ?\twhat is %d really ?\t%d\n", i, 2*i, 2*i+1, i, i, i%2)
		}
		os.WriteFile(filepath.Join(dir, "QQP", split+".tsv"), []byte(b.String()), 0o644)
	}
	return dir
}

// TestDataIssuesCountedOrFatal: a few malformed QQP rows are dropped and
// counted (with file and line); more than data.MaxIssueFraction stop the
// stage as bad input, showing the first ones.
func TestDataIssuesCountedOrFatal(t *testing.T) {
	tk := task.MustLookup("qqp")
	model := modelDir(t)
	o := DataOptions{SeqLen: 32, WithTrain: true}
	td, err := ForModel(tk, model, qqp(t, 999, 1), o)
	if err != nil {
		t.Fatal(err)
	}
	if len(td.Issues) != 1 || td.Issues[0].Count != 1 || td.Issues[0].Of != 1000 || td.Issues[0].Kind != data.IssueMalformedRow ||
		!strings.Contains(td.Issues[0].First[0], "train.tsv:3: expected 6 tab-separated columns") || td.Train.Len() != 999 {
		b, _ := json.Marshal(td.Issues)
		t.Errorf("1 bad row in 1000: issues %s, %d train features", b, td.Train.Len())
	}
	if !strings.Contains(DescribeEval(td), "data issues: train: 1 of 1000 rows malformed and dropped") {
		t.Errorf("log line: %s", DescribeEval(td))
	}
	_, err = ForModel(tk, model, qqp(t, 190, 10), o)
	if !errors.Is(err, stage.ErrBadInput) || !strings.Contains(err.Error(), "train: 10 of 200 rows malformed and dropped (more than 0.5 %)") ||
		strings.Count(err.Error(), "train.tsv:") != data.IssueExamples {
		t.Errorf("10 bad rows in 200: %v", err)
	}
}

// TestMissingAndBadInputs: absent data is a missing input; present but
// corrupt data (a wrong header, malformed SQuAD JSON) is a bad one.
func TestMissingAndBadInputs(t *testing.T) {
	model := modelDir(t)
	o := DataOptions{SeqLen: 32, WithTrain: true}
	if _, err := ForModel(task.MustLookup("qqp"), model, t.TempDir(), o); !errors.Is(err, stage.ErrMissingInput) {
		t.Errorf("no QQP files: %v", err)
	}
	if _, err := ForModel(task.MustLookup("qqp"), model, filepath.Join(t.TempDir(), "nowhere"), o); !errors.Is(err, stage.ErrMissingInput) {
		t.Errorf("no data directory: %v", err)
	}
	bad := qqp(t, 10, 0)
	os.WriteFile(filepath.Join(bad, "QQP", "train.tsv"), []byte("colour\tshape\n1\t2\n"), 0o644)
	if _, err := ForModel(task.MustLookup("qqp"), model, bad, o); !errors.Is(err, stage.ErrBadInput) || errors.Is(err, stage.ErrMissingInput) {
		t.Errorf("wrong header: %v", err)
	}
	sq := t.TempDir()
	os.WriteFile(filepath.Join(sq, "train-v1.1.json"), []byte(`{"data": [{"title": "x", "paragraphs": [`), 0o644)
	os.WriteFile(filepath.Join(sq, "dev-v1.1.json"), []byte(`{"data": []}`), 0o644)
	if _, err := ForModel(task.MustLookup("squad"), model, sq, o); !errors.Is(err, stage.ErrBadInput) {
		t.Errorf("truncated SQuAD JSON: %v", err)
	}
}

// TestSQuADMismatchesCountedOrFatal: answers not at their answer_start are
// counted in the issues; when most are (a file with byte offsets, say) the
// stage stops, naming file, line and why.
func TestSQuADMismatchesCountedOrFatal(t *testing.T) {
	model := modelDir(t)
	o := DataOptions{SeqLen: 64, DocStride: 16, WithTrain: true}
	write := func(byteOffsets int) string {
		dir := t.TempDir()
		var qas []string
		for i := range 20 {
			ctx := "Zoë went to Paris in 1858 ."
			start := 12 // "Paris", in characters
			if i < byteOffsets {
				start = 13 // in bytes: ë is two
			}
			qas = append(qas, fmt.Sprintf(`{"context": %q, "qas": [{"id": "q%d", "question": "Where did Zoë go ?", "answers": [{"answer_start": %d, "text": "Paris"}]}]}`, ctx, i, start))
		}
		doc := `{"version": "1.1", "data": [{"title": "t", "paragraphs": [` + strings.Join(qas, ",\n") + `]}]}`
		for _, f := range []string{"train-v1.1.json", "dev-v1.1.json"} {
			os.WriteFile(filepath.Join(dir, f), []byte(doc), 0o644)
		}
		return dir
	}
	td, err := ForModel(task.MustLookup("squad"), model, write(0), o)
	if err != nil || len(td.Issues) != 0 {
		t.Fatalf("clean SQuAD: %v %v", err, td.Issues)
	}
	_, err = ForModel(task.MustLookup("squad"), model, write(20), o)
	if !errors.Is(err, stage.ErrBadInput) || !strings.Contains(err.Error(), "train: 20 of 20 answers not at their answer_start") ||
		!strings.Contains(err.Error(), "train-v1.1.json:1: q0#0: answer \"Paris\" is at byte 13, not character 13") {
		t.Errorf("byte offsets: %v", err)
	}
}
