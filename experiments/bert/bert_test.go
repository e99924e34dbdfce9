//go:build torch

package bert

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/cofiharness/cofi/experiments/checkpoint"
	"github.com/cofiharness/cofi/experiments/torch"
	"github.com/cofiharness/cofi/task"
)

func TestMain(m *testing.M) {
	if _, err := torch.Setup(1, 7, "cpu"); err != nil {
		panic(err)
	}
	os.Exit(m.Run())
}

type reference struct {
	InputIDs      [][]int64     `json:"input_ids"`
	TokenTypeIDs  [][]int64     `json:"token_type_ids"`
	AttentionMask [][]int64     `json:"attention_mask"`
	ClsLogits     [][]float64   `json:"cls_logits"`
	ClsLastHidden []float64     `json:"cls_last_hidden"`
	SpanLogits    [][][]float64 `json:"span_logits"`
}

func loadReference(t *testing.T) reference {
	b, err := os.ReadFile("testdata/reference.json")
	if err != nil {
		t.Fatal(err)
	}
	var r reference
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func flat(x [][]int64) ([]int64, []int64) {
	var out []int64
	for _, r := range x {
		out = append(out, r...)
	}
	return out, []int64{int64(len(x)), int64(len(x[0]))}
}

func (r reference) input() Input {
	ids, shape := flat(r.InputIDs)
	types, _ := flat(r.TokenTypeIDs)
	mask, _ := flat(r.AttentionMask)
	return Input{IDs: torch.FromInt64(ids, shape, torch.CPU), TypeIDs: torch.FromInt64(types, shape, torch.CPU), Mask: torch.FromInt64(mask, shape, torch.CPU)}
}

func maxDiff(got []float32, want []float64) float64 {
	if len(got) != len(want) {
		return math.Inf(1)
	}
	m := 0.0
	for i := range got {
		m = math.Max(m, math.Abs(float64(got[i])-want[i]))
	}
	return m
}

func flatten2(x [][]float64) []float64 {
	var out []float64
	for _, r := range x {
		out = append(out, r...)
	}
	return out
}

// TestForwardMatchesPyTorch compares logits with an independent plain-PyTorch
// BERT on the same weights (testdata/make_reference.py), for a safetensors
// checkpoint, the same weights as a torch.save pickle with legacy names, and
// a span head.
func TestForwardMatchesPyTorch(t *testing.T) {
	runtime.LockOSThread() // libtorch state is per thread: keep this test on one
	ref := loadReference(t)
	cls := Head{Kind: task.Classification, NumLabels: 3}
	cases := []struct {
		dir  string
		head Head
		want []float64
	}{
		{"testdata/ref-cls", cls, flatten2(ref.ClsLogits)},
		{"testdata/ref-bin", cls, flatten2(ref.ClsLogits)},
		{"testdata/ref-span", Head{Kind: task.Span, NumLabels: 2}, func() []float64 {
			var out []float64
			for _, b := range ref.SpanLogits {
				out = append(out, flatten2(b)...)
			}
			return out
		}()},
	}
	for _, c := range cases {
		t.Run(filepath.Base(c.dir), func(t *testing.T) {
			s := torch.NewScope()
			defer s.Close()
			m, info, err := Load(c.dir, LoadOptions{Head: c.head, Device: torch.CPU})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Free()
			out := m.Forward(ref.input(), nil, false, true)
			if d := maxDiff(out.Logits.Float32s(), c.want); d > 1e-5 {
				t.Fatalf("logits differ from PyTorch by %g (> 1e-5)", d)
			}
			if c.head.Kind == task.Classification {
				if d := maxDiff(out.Hidden[len(out.Hidden)-1].Float32s(), ref.ClsLastHidden); d > 1e-5 {
					t.Fatalf("last hidden state differs from PyTorch by %g", d)
				}
			}
			if strings.HasSuffix(c.dir, "bin") && (len(info.Notes) == 0 || !strings.Contains(info.Notes[0], "cls.*")) {
				t.Errorf("notes %v: the pre-training head should be reported as ignored", info.Notes)
			}
		})
	}
}

func TestLoadLabelsAndSaveRoundTrip(t *testing.T) {
	runtime.LockOSThread() // libtorch state is per thread: keep this test on one
	ref := loadReference(t)
	s := torch.NewScope()
	defer s.Close()
	m, _, err := Load("testdata/ref-cls", LoadOptions{Head: Head{Kind: task.Classification, NumLabels: 3}, Device: torch.CPU})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Free()
	if strings.Join(m.Labels, ",") != "entailment,neutral,contradiction" {
		t.Fatalf("labels from config.json: %v", m.Labels)
	}
	dir := t.TempDir()
	if err := m.Save(dir, "testdata/ref-cls"); err != nil {
		t.Fatal(err)
	}
	m2, _, err := Load(dir, LoadOptions{Head: Head{Kind: task.Classification, NumLabels: 3}, Device: torch.CPU})
	if err != nil {
		t.Fatal(err)
	}
	defer m2.Free()
	a := m.Forward(ref.input(), nil, false, false).Logits.Float32s()
	b := m2.Forward(ref.input(), nil, false, false).Logits.Float32s()
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("logits changed after save/load: %v vs %v", a, b)
		}
	}
	cfg, _ := checkpoint.ReadConfig(dir)
	if cfg.Architectures[0] != "BertForSequenceClassification" || cfg.Labels()[2] != "contradiction" {
		t.Fatalf("saved config %+v", cfg)
	}
}

func TestLoadErrors(t *testing.T) {
	runtime.LockOSThread() // libtorch state is per thread: keep this test on one
	write := func(t *testing.T, mutate func(map[string]checkpoint.Raw)) string {
		dir := t.TempDir()
		tensors, _, err := checkpoint.ReadSafetensors("testdata/ref-cls/model.safetensors")
		if err != nil {
			t.Fatal(err)
		}
		mutate(tensors)
		b, _ := os.ReadFile("testdata/ref-cls/config.json")
		os.WriteFile(filepath.Join(dir, "config.json"), b, 0o644)
		if err := checkpoint.WriteSafetensors(filepath.Join(dir, "model.safetensors"), tensors, nil); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	cls := Head{Kind: task.Classification, NumLabels: 3}
	cases := []struct {
		name   string
		mutate func(map[string]checkpoint.Raw)
		head   Head
		want   string // substring of the error, or of a note when note is true
		note   bool
	}{
		{"unexpected tensor", func(m map[string]checkpoint.Raw) {
			m["bert.encoder.layer.7.attention.self.query.weight"] = checkpoint.F32([]int64{1}, []float32{0})
		}, cls, "unexpected tensors", false},
		{"wrong shape", func(m map[string]checkpoint.Raw) {
			m["bert.encoder.layer.0.intermediate.dense.bias"] = checkpoint.F32([]int64{5}, make([]float32, 5))
		}, cls, "intermediate.dense.bias has shape [5], want [48]", false},
		{"other task's classifier", func(map[string]checkpoint.Raw) {}, Head{Kind: task.Classification, NumLabels: 2}, "fine-tuned on another task", false},
		{"missing classifier", func(m map[string]checkpoint.Raw) {
			delete(m, "classifier.weight")
			delete(m, "classifier.bias")
		}, cls, "classifier not in the checkpoint: initialised N(0, 0.02)", true},
		{"partial attention", func(m map[string]checkpoint.Raw) {
			delete(m, "bert.encoder.layer.1.attention.self.query.weight")
		}, cls, "partially removed attention", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := write(t, c.mutate)
			before := torch.Live()
			m, info, err := Load(dir, LoadOptions{Head: c.head, Device: torch.CPU})
			if c.note {
				if err != nil {
					t.Fatal(err)
				}
				defer m.Free()
				if !strings.Contains(strings.Join(info.Notes, "\n"), c.want) {
					t.Fatalf("notes %v, want %q", info.Notes, c.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), dir) {
				t.Fatalf("err = %v, want it to name %s and say %q", err, dir, c.want)
			}
			if torch.Live() != before {
				t.Fatalf("failed load leaked %d tensors", torch.Live()-before)
			}
		})
	}
}

func TestNewTinyShapesAndSize(t *testing.T) {
	runtime.LockOSThread() // libtorch state is per thread: keep this test on one
	s := torch.NewScope()
	defer s.Close()
	c := checkpoint.Tiny()
	m := New(c, Head{Kind: task.Regression, NumLabels: 1}, torch.CPU)
	defer m.Free()
	in := Input{IDs: torch.FromInt64([]int64{101, 2000, 102, 0}, []int64{1, 4}, torch.CPU),
		TypeIDs: torch.Zeros([]int64{1, 4}, torch.Int64, torch.CPU), Mask: torch.FromInt64([]int64{1, 1, 1, 0}, []int64{1, 4}, torch.CPU)}
	out := m.Forward(in, nil, true, true)
	if sh := out.Logits.Shape(); len(sh) != 2 || sh[0] != 1 || sh[1] != 1 {
		t.Fatalf("regression logits shape %v", sh)
	}
	if len(out.Hidden) != 3 {
		t.Fatalf("%d hidden states, want embeddings + 2 layers", len(out.Hidden))
	}
	// 2 layers of hidden 64, 2 heads × 32, FFN 256 — see EncoderSize's formula.
	if got, want := m.EncoderSize(), EncoderSize(64, 32, []int{2, 2}, []int{256, 256}); got != want || got != 2*(4*(64*64+64)+2*64+(64*256+256)+(256*64+64)+2*64) {
		t.Fatalf("EncoderSize = %d, want %d", got, want)
	}
}
