//go:build torch

package baselines

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/cofiharness/cofi/baselines/augment"
	"github.com/cofiharness/cofi/experiments/bert"
	"github.com/cofiharness/cofi/experiments/checkpoint"
	"github.com/cofiharness/cofi/experiments/data/glue"
	"github.com/cofiharness/cofi/experiments/synth"
	"github.com/cofiharness/cofi/experiments/tokenize"
	"github.com/cofiharness/cofi/experiments/torch"
	"github.com/cofiharness/cofi/experiments/train"
	"github.com/cofiharness/cofi/hparams"
	"github.com/cofiharness/cofi/record"
	"github.com/cofiharness/cofi/task"
)

const testGloVe = `the 0.1 0.2 0.3
unaffable 1 0 0.1
affable 0.9 0.1 0.1
friendly 0.6 0.6 0
rude -1 0 0
`

// TestAugmentSyntheticTask augments a synthetic pair task (RTE layout) with
// a tiny random BERT's masked LM and a GloVe file written here: the output
// is the task's own format, dev files come along, words get candidates from
// the right source, and the same seed gives the same file.
func TestAugmentSyntheticTask(t *testing.T) {
	runtime.LockOSThread()
	dir := t.TempDir()
	tk := task.MustLookup("syn-pair")
	if err := synth.Write(dir, tk.Name, 30, 8, 1); err != nil {
		t.Fatal(err)
	}
	sub, _ := glue.Dir(tk.Name)
	trainTSV := filepath.Join(dir, sub, "train.tsv")
	f, _ := os.OpenFile(trainTSV, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("30\tthe unaffable dog ate bread .\tthe cat sat\tneutral\n")
	f.Close()
	glovePath := filepath.Join(dir, "glove.txt")
	os.WriteFile(glovePath, []byte(testGloVe), 0o644)
	pre := filepath.Join(dir, "bert")
	if err := bert.WriteRandomEncoder(checkpoint.Tiny(), 1, pre); err != nil {
		t.Fatal(err)
	}
	p, err := hparams.Resolve(record.KindAugment, tk, map[string]any{"copies": 5, "candidates": 2, "mlm_batch": 7})
	if err != nil {
		t.Fatal(err)
	}
	run := func(out string) (*record.Result, []byte) {
		res, err := Augment(context.Background(), AugmentConfig{Task: tk, DataDir: filepath.Join(dir, sub), ModelDir: pre, GloVePath: glovePath,
			OutDir: filepath.Join(dir, out, sub), Params: p, Env: train.Env{Device: "cpu", Threads: 1}})
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(dir, out, sub, "train.tsv"))
		if err != nil {
			t.Fatal(err)
		}
		return res, b
	}
	res, a := run("aug1")
	if res.Kind != record.KindAugment || res.Train.Steps != 31 || !strings.Contains(res.Notes[0], "31 examples") {
		t.Errorf("result %+v", res)
	}
	// The task's reader reads it: every original example, then more.
	exs, err := glue.Load(filepath.Join(dir, "aug1"), tk.Name, "train")
	if err != nil {
		t.Fatal(err)
	}
	orig, _ := glue.Load(dir, tk.Name, "train")
	if len(exs) <= len(orig) || exs[0].TextA != orig[0].TextA || exs[0].TextB != orig[0].TextB {
		t.Errorf("%d augmented examples from %d; first %+v vs %+v", len(exs), len(orig), exs[0], orig[0])
	}
	want, _ := os.ReadFile(filepath.Join(dir, sub, "dev.tsv"))
	if got, _ := os.ReadFile(filepath.Join(dir, "aug1", sub, "dev.tsv")); string(got) != string(want) {
		t.Error("dev.tsv not copied unchanged")
	}
	if _, b := run("aug2"); string(a) != string(b) {
		t.Error("the same seed gave another file")
	}
	// Candidate sources with the real masked LM: stop words and punctuation
	// are kept, one-piece words ask the LM (no "##" pieces), unaffable
	// (several pieces) gets its GloVe neighbours.
	s := torch.NewScope()
	defer s.Close()
	m, head, err := bert.LoadMLM(pre, bert.LoadOptions{Head: bert.Head{Kind: task.Classification, NumLabels: 2}, Device: torch.CPU})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Free()
	defer head.Free()
	g, _ := augment.ReadGloVe(glovePath, 100)
	tok := tokenize.Default()
	ag := &augment.Augmentor{Tok: tok, MLM: &bertMLM{m: m, h: head, pad: tok.PAD()}, GloVe: g,
		S: augment.Settings{Candidates: 15, MaxLen: 512, MLMBatch: 4}}
	words, err := ag.Analyse("the unaffable dog ate bread .")
	if err != nil {
		t.Fatal(err)
	}
	wantSrc := []augment.Source{augment.Kept, augment.FromGloVe, augment.FromMLM, augment.FromMLM, augment.FromMLM, augment.Kept}
	for i, w := range words {
		if w.Source != wantSrc[i] {
			t.Errorf("%q: source %v, want %v", w.Text, w.Source, wantSrc[i])
		}
		if w.Source == augment.FromMLM {
			if len(w.Candidates) == 0 || len(w.Candidates) > 15 {
				t.Errorf("%q: %d masked-LM candidates", w.Text, len(w.Candidates))
			}
			for _, c := range w.Candidates {
				if strings.HasPrefix(c, "##") {
					t.Errorf("%q: candidate %q is a word piece", w.Text, c)
				}
			}
		}
	}
	if got := strings.Join(words[1].Candidates, ","); got != "affable,friendly,the,rude" {
		t.Errorf("unaffable's GloVe neighbours %s, want affable,friendly,the,rude (by cosine)", got)
	}
	// Batching does not change the answers (up to rounding, which would not reorder these).
	ag.S.MLMBatch = 1
	one, _ := ag.Analyse("the unaffable dog ate bread .")
	for i := range words {
		if strings.Join(one[i].Candidates, ",") != strings.Join(words[i].Candidates, ",") {
			t.Errorf("%q: candidates depend on the batch: %v vs %v", words[i].Text, one[i].Candidates, words[i].Candidates)
		}
	}
	// A checkpoint without the head says so.
	bare := filepath.Join(dir, "bare")
	func() {
		m2, _, _ := bert.Load(pre, bert.LoadOptions{Head: bert.Head{Kind: task.Classification, NumLabels: 2}, Device: torch.CPU})
		defer m2.Free()
		m2.Save(bare, pre)
	}()
	if _, _, err := bert.LoadMLM(bare, bert.LoadOptions{Head: bert.Head{Kind: task.Classification, NumLabels: 2}, Device: torch.CPU}); err == nil || !strings.Contains(err.Error(), "no masked-LM head") {
		t.Errorf("checkpoint without cls.predictions: %v", err)
	}
}
