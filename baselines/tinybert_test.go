//go:build torch

package baselines

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/cofiharness/cofi/experiments/bert"
	"github.com/cofiharness/cofi/experiments/checkpoint"
	"github.com/cofiharness/cofi/experiments/torch"
	"github.com/cofiharness/cofi/experiments/train"
	"github.com/cofiharness/cofi/hparams"
	"github.com/cofiharness/cofi/record"
	"github.com/cofiharness/cofi/task"
)

func TestMain(m *testing.M) {
	if _, err := torch.Setup(1, 5, "cpu"); err != nil {
		panic(err)
	}
	os.Exit(m.Run())
}

func tensor(v []float32, shape ...int64) *torch.Tensor { return torch.FromFloat32(v, shape, torch.CPU) }

// TestAttentionLossHandComputed checks the attention-score loss on a 2-head
// toy (batch 1, 2 tokens, the second padded: its key column carries the
// -10000 of the additive mask on both sides, and is zeroed before the MSE).
func TestAttentionLossHandComputed(t *testing.T) {
	runtime.LockOSThread()
	s := torch.NewScope()
	defer s.Close()
	// [B=1, H=2, L=2, L=2]: query rows, key columns; column 1 is padding.
	student := tensor([]float32{
		1, -10000 + 0.5, // head 0
		2, -10000 - 1,
		0, -9999.5, // head 1
		-1, -10000,
	}, 1, 2, 2, 2)
	teacher := tensor([]float32{
		0, -10000 + 3,
		2, -10000,
		1, -10000,
		1, -10000 + 2,
	}, 1, 2, 2, 2)
	// Unmasked pairs: (1,0) (2,2) (0,1) (-1,1): squared errors 1, 0, 1, 4;
	// the four masked entries are 0 on both sides. Mean over 8 = 6/8.
	got := AttentionLoss(student, teacher).Item()
	if math.Abs(got-0.75) > 1e-6 {
		t.Fatalf("attention loss %v, want 0.75", got)
	}
	// A score that is legitimately <= -100 is zeroed too, as task_distill.py does.
	a := tensor([]float32{-150, 1}, 1, 1, 1, 2)
	b := tensor([]float32{3, 1}, 1, 1, 1, 2)
	if got := AttentionLoss(a, b).Item(); math.Abs(got-4.5) > 1e-6 { // (0-3)²/2
		t.Fatalf("attention loss with a score below -100: %v, want 4.5", got)
	}
}

// TestModelScoresCarryTheMask: bert's attention scores are QKᵀ/√d_h plus
// -10000 on padded keys, before the softmax.
func TestModelScoresCarryTheMask(t *testing.T) {
	runtime.LockOSThread()
	s := torch.NewScope()
	defer s.Close()
	c := checkpoint.Tiny()
	c.VocabSize, c.HiddenSize, c.NumAttentionHeads, c.IntermediateSize, c.NumHiddenLayers = 50, 8, 2, 16, 2
	torch.Seed(1)
	m := bert.New(c, bert.Head{Kind: task.Classification, NumLabels: 2}, torch.CPU)
	defer m.Free()
	sh := []int64{1, 3}
	in := bert.Input{IDs: torch.FromInt64([]int64{2, 7, 0}, sh, torch.CPU), TypeIDs: torch.FromInt64([]int64{0, 0, 0}, sh, torch.CPU),
		Mask: torch.FromInt64([]int64{1, 1, 0}, sh, torch.CPU)}
	out := m.ForwardScores(in, false)
	if len(out.Scores) != 2 || len(out.Hidden) != 3 {
		t.Fatalf("%d score tensors, %d hidden", len(out.Scores), len(out.Hidden))
	}
	sc := out.Scores[0]
	if got := sc.Shape(); len(got) != 4 || got[1] != 2 || got[2] != 3 || got[3] != 3 {
		t.Fatalf("scores shape %v", got)
	}
	v := sc.Float32s()
	for i := 0; i < len(v); i += 3 {
		if v[i+2] > -9000 || v[i] < -100 || v[i+1] < -100 {
			t.Fatalf("row %v: padded key should carry -10000, real keys not", v[i:i+3])
		}
	}
	// Same logits as Forward.
	a := m.Forward(in, nil, false, false).Logits.Float32s()
	b := out.Logits.Float32s()
	for i := range a {
		if a[i] != b[i] {
			t.Fatal("ForwardScores changes the logits")
		}
	}
}

// TestSoftCrossEntropy: task_distill.py's soft_cross_entropy averages over
// classes as well as the batch: logits (0, 0) against a teacher at
// (ln 3, 0) give -(0.75·ln½ + 0.25·ln½)/2 = ln2/2; at T = 2 the teacher is
// (√3, 1)/(1+√3)-weighted.
func TestSoftCrossEntropy(t *testing.T) {
	runtime.LockOSThread()
	s := torch.NewScope()
	defer s.Close()
	st := tensor([]float32{0, 0}, 1, 2)
	te := tensor([]float32{float32(math.Log(3)), 0}, 1, 2)
	if got := SoftCrossEntropy(st, te, 1).Item(); math.Abs(got-math.Ln2/2) > 1e-6 {
		t.Fatalf("soft cross-entropy %v, want %v", got, math.Ln2/2)
	}
	st2 := tensor([]float32{2, 0}, 1, 2) // at T = 2: log-softmax of (1, 0)
	q := math.Sqrt(3) / (1 + math.Sqrt(3))
	l1, l0 := math.Log(math.E/(math.E+1)), math.Log(1/(math.E+1))
	want := -(q*l1 + (1-q)*l0) / 2
	if got := SoftCrossEntropy(st2, te, 2).Item(); math.Abs(got-want) > 1e-6 {
		t.Fatalf("soft cross-entropy at T=2: %v, want %v", got, want)
	}
}

// writeGLUE writes an SST-2-layout task directory of sentences.
func writeGLUE(t *testing.T, dir string, train, dev []string) string {
	t.Helper()
	root := filepath.Join(dir, "glue")
	for name, rows := range map[string][]string{"train.tsv": train, "dev.tsv": dev} {
		b := "sentence\tlabel\n" + strings.Join(rows, "\n") + "\n"
		if err := os.MkdirAll(filepath.Join(root, "SST-2"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, "SST-2", name), []byte(b), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// copyDir copies a fixture directory (flat) so tests do not write into testdata.
func copyDir(t *testing.T, src, dst string) string {
	t.Helper()
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(dst, 0o755)
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// TestGeneralCheckpointLoads starts step 1 from a checkpoint in the layout
// of huawei-noah/TinyBERT_General_4L_312D (TinyBERT's config.json keys, a
// legacy torch.save pytorch_model.bin with cls.* heads and fit_denses.N;
// testdata/make_general.py), with per-layer projections taken from its
// fit_denses and with the shared one (task_distill.py's, which ignores them).
func TestGeneralCheckpointLoads(t *testing.T) {
	runtime.LockOSThread()
	dir := t.TempDir()
	general := copyDir(t, "testdata/general-tiny", filepath.Join(dir, "general"))
	var ref map[string][]float64
	b, _ := os.ReadFile("testdata/general-tiny/reference.json")
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	close := func(got []float32, want []float64) bool {
		for i := range want {
			if math.Abs(float64(got[i])-want[i]) > 1e-6 {
				return false
			}
		}
		return true
	}
	// It loads as a plain encoder: fit_denses and the pre-training heads are noted and left out.
	func() {
		s := torch.NewScope()
		defer s.Close()
		m, info, err := bert.Load(general, bert.LoadOptions{Head: bert.Head{Kind: task.Classification, NumLabels: 2}, Device: torch.CPU})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Free()
		if len(m.Layers) != 2 || m.Hidden != 16 || !strings.Contains(strings.Join(info.Notes, " "), "fit_denses.* ×6") {
			t.Fatalf("layers %d hidden %d notes %v", len(m.Layers), m.Hidden, info.Notes)
		}
		if !close(m.Word.Float32s(), ref["bert.embeddings.word_embeddings.weight"]) || !close(m.Layers[1].Down.W.Float32s(), ref["bert.encoder.layer.1.output.dense.weight"]) {
			t.Fatal("weights differ from the pickle's")
		}
		if cfg, _ := checkpoint.ReadConfig(general); cfg.Extra["emb_size"] == nil {
			t.Errorf("TinyBERT's own config keys not kept: %v", cfg.Extra)
		}
	}()
	// A teacher of width 32 with the checkpoint's vocabulary, 4 layers of 2 heads.
	teacher := filepath.Join(dir, "teacher")
	tc, _ := checkpoint.ReadConfig(general)
	tc.HiddenSize, tc.NumHiddenLayers, tc.IntermediateSize, tc.Extra = 32, 4, 64, nil
	torch.Seed(3)
	if err := torch.Catch(func() error {
		m := bert.New(tc, bert.Head{Kind: task.Classification, NumLabels: 2, Labels: []string{"0", "1"}}, torch.CPU)
		defer m.Free()
		return m.Save(teacher, general)
	}); err != nil {
		t.Fatal(err)
	}
	rows := []string{"the dog ran near the river\t1", "a cat sat under the tree\t0", "the big bird ate bread\t1", "a small fish saw the house\t0"}
	data := writeGLUE(t, dir, rows, rows)
	tk := task.MustLookup("sst2")
	run := func(out string, over map[string]any) (*record.Result, error) {
		all := map[string]any{"max_steps": 2, "batch": 2, "seq_len": 16, "eval_every": 1, "layers": 2, "hidden": 16, "intermediate": 32, "heads": 2}
		for k, v := range over {
			all[k] = v
		}
		p, err := hparams.Resolve(record.KindTinyBERTLayer, tk, all)
		if err != nil {
			t.Fatal(err)
		}
		return DistillLayers(context.Background(), LayerConfig{Task: tk, DataDir: data, TeacherDir: teacher, StudentDir: general,
			OutDir: filepath.Join(dir, out), Params: p, Env: train.Env{Device: "cpu", Threads: 1}})
	}
	res, err := run("per-layer", map[string]any{"projection": "per-layer"})
	if err != nil {
		t.Fatal(err)
	}
	notes := strings.Join(res.Notes, "\n")
	if !strings.Contains(notes, "general-distilled checkpoint") || !strings.Contains(notes, "initialised from the checkpoint's fit_denses") {
		t.Errorf("notes %q", notes)
	}
	init, _, err := checkpoint.ReadSafetensors(filepath.Join(dir, "per-layer", "init", "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	if w, _ := init["bert.embeddings.word_embeddings.weight"].Float32(); !close(w, ref["bert.embeddings.word_embeddings.weight"]) {
		t.Error("step 1 did not start from the checkpoint's weights")
	}
	if res.Train.Steps != 2 || res.Metrics != nil || res.Size.FullParams <= res.Size.Params {
		t.Errorf("result train %+v metrics %v size %+v", res.Train, res.Metrics, res.Size)
	}
	extra, _, err := checkpoint.ReadSafetensors(filepath.Join(dir, "per-layer", "extra.safetensors"))
	if err != nil || len(extra) != 6 || extra["fit_denses.2.bias"].Shape[0] != 32 {
		t.Fatalf("saved projections %v: %v", err, checkpoint.SortedNames(extra))
	}
	// The shared projection: the checkpoint's fit_denses do not fit it.
	res, err = run("shared", map[string]any{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(res.Notes, " "), "do not match it") {
		t.Errorf("notes %q", res.Notes)
	}
	// A shape that disagrees with the hyperparameters is an error that says what to set.
	_, err = run("wrong", map[string]any{"layers": 4})
	if err == nil || !strings.Contains(err.Error(), "tinybert-layer.layers = 2") {
		t.Errorf("wrong shape: %v", err)
	}
}
