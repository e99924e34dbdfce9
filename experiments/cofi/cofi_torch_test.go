//go:build torch

package cofi

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/cofiharness/cofi/experiments/bert"
	"github.com/cofiharness/cofi/experiments/checkpoint"
	"github.com/cofiharness/cofi/experiments/torch"
	"github.com/cofiharness/cofi/task"
)

func TestMain(m *testing.M) {
	if _, err := torch.Setup(1, 11, "cpu"); err != nil {
		panic(err)
	}
	os.Exit(m.Run())
}

func tinyConfig() checkpoint.Config {
	c := checkpoint.Tiny()
	c.VocabSize, c.NumHiddenLayers, c.HiddenSize, c.NumAttentionHeads, c.IntermediateSize = 200, 3, 32, 4, 48
	c.InitializerRange = 0.2 // larger weights than BERT's 0.02 so masking changes the logits visibly
	return c
}

func batch() bert.Input {
	ids := []int64{101, 5, 17, 33, 102, 0, 101, 60, 61, 62, 63, 102}
	types := []int64{0, 0, 0, 1, 1, 0, 0, 0, 1, 1, 1, 1}
	mask := []int64{1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1}
	sh := []int64{2, 6}
	return bert.Input{IDs: torch.FromInt64(ids, sh, torch.CPU), TypeIDs: torch.FromInt64(types, sh, torch.CPU), Mask: torch.FromInt64(mask, sh, torch.CPU)}
}

// randomMasks builds deterministic-style masks: soft values in (0.5, 1) with
// zeros planted: every head of layer 0, the FFN of layer 1 (layer mask 0),
// some heads and units elsewhere, and a third of the hidden dims.
func randomMasks(c checkpoint.Config, r *rand.Rand) HostMasks {
	soft := func() float64 { return 0.5 + 0.5*r.Float64() }
	L, H, F, d := c.NumHiddenLayers, c.NumAttentionHeads, c.IntermediateSize, c.HiddenSize
	var h HostMasks
	for l := 0; l < L; l++ {
		heads := make([]float64, H)
		for i := range heads {
			if l != 0 && r.IntN(3) > 0 {
				heads[i] = soft()
			}
		}
		heads[H-1] = map[bool]float64{true: 0, false: soft()}[l == 0]
		h.Head = append(h.Head, heads)
		units := make([]float64, F)
		for i := range units {
			if r.IntN(2) == 0 {
				units[i] = soft()
			}
		}
		h.Int = append(h.Int, units)
		h.MHA = append(h.MHA, soft())
		h.FFN = append(h.FFN, map[bool]float64{true: 0, false: soft()}[l == 1])
	}
	h.Hidden = make([]float64, d)
	for k := range h.Hidden {
		if k%3 != 0 {
			h.Hidden[k] = soft()
		}
	}
	return h
}

func TestFoldEqualsMaskedModel(t *testing.T) {
	runtime.LockOSThread() // libtorch state is per thread: keep this test on one
	for _, kind := range []task.Kind{task.Classification, task.Span} {
		t.Run(string(kind), func(t *testing.T) {
			s := torch.NewScope()
			defer s.Close()
			c := tinyConfig()
			n := 3
			if kind == task.Span {
				n = 2
			}
			m := bert.New(c, bert.Head{Kind: kind, NumLabels: n}, torch.CPU)
			defer m.Free()
			h := randomMasks(c, rand.New(rand.NewPCG(1, 2)))
			masked := m.Forward(batch(), h.Tensors(torch.CPU), false, false).Logits.Float32s()
			unmasked := m.Forward(batch(), nil, false, false).Logits.Float32s()
			ld := NewLayerDistiller(c.HiddenSize, c.NumHiddenLayers, MatchV4, torch.CPU)
			defer ld.Free()
			compact := Fold(m, h, ld)
			defer compact.Free()
			got := compact.Forward(batch(), nil, false, false).Logits.Float32s()
			diff, change := 0.0, 0.0
			for i := range got {
				diff = math.Max(diff, math.Abs(float64(got[i]-masked[i])))
				change = math.Max(change, math.Abs(float64(unmasked[i]-masked[i])))
			}
			if diff > 1e-4 {
				t.Fatalf("compact logits differ from the masked model's by %g (> 1e-4)", diff)
			}
			if change < 1e-2 {
				t.Fatalf("masks changed the logits by only %g: the test would not notice a wrong fold", change)
			}
			heads, inter, hidden := compact.Structure()
			if heads[0] != 0 || inter[1] != 0 || hidden != c.HiddenSize-(c.HiddenSize+2)/3 {
				t.Fatalf("structure heads %v inter %v hidden %d", heads, inter, hidden)
			}
			if sh := ld.W.W.Shape(); sh[0] != int64(c.HiddenSize) || sh[1] != int64(hidden) {
				t.Fatalf("W_layer shape %v, want [%d %d]", sh, c.HiddenSize, hidden)
			}
			// Saved and reloaded, the structure comes back from the shapes alone.
			dir := t.TempDir()
			if err := compact.Save(dir, ""); err != nil {
				t.Fatal(err)
			}
			re, _, err := bert.Load(dir, bert.LoadOptions{Head: bert.Head{Kind: kind, NumLabels: n}, Device: torch.CPU})
			if err != nil {
				t.Fatal(err)
			}
			defer re.Free()
			again := re.Forward(batch(), nil, false, false).Logits.Float32s()
			for i := range again {
				if again[i] != got[i] {
					t.Fatalf("reloaded compact model differs: %v vs %v", again, got)
				}
			}
			// The authors' released checkpoints (princeton-nlp/CoFi-*) keep the
			// LayerNorm of a removed sublayer and their distillation layer, and
			// carry their own label order: they load, and compute the same.
			released := t.TempDir()
			tensors, _, err := checkpoint.ReadSafetensors(filepath.Join(dir, "model.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			d := int64(c.HiddenSize)
			ln := func(n int64) checkpoint.Raw {
				v := make([]float32, n)
				for i := range v {
					v[i] = 1
				}
				return checkpoint.F32([]int64{n}, v)
			}
			hid := int64(hidden)
			tensors["bert.encoder.layer.0.attention.output.LayerNorm.weight"] = ln(hid)
			tensors["bert.encoder.layer.0.attention.output.LayerNorm.bias"] = ln(hid)
			tensors["bert.encoder.layer.1.output.LayerNorm.weight"] = ln(hid)
			tensors["bert.encoder.layer.1.output.LayerNorm.bias"] = ln(hid)
			tensors["layer_transformation.weight"] = checkpoint.F32([]int64{d, hid}, make([]float32, d*hid))
			tensors["layer_transformation.bias"] = checkpoint.F32([]int64{d}, make([]float32, d))
			if err := checkpoint.WriteSafetensors(filepath.Join(released, "model.safetensors"), tensors, nil); err != nil {
				t.Fatal(err)
			}
			cfg, err := checkpoint.ReadConfig(dir)
			if err != nil {
				t.Fatal(err)
			}
			if kind == task.Classification {
				cfg.SetLabels([]string{"entailment", "neutral", "contradiction"})
			}
			if err := checkpoint.WriteConfig(released, cfg); err != nil {
				t.Fatal(err)
			}
			rel, info, err := bert.Load(released, bert.LoadOptions{Head: bert.Head{Kind: kind, NumLabels: n}, Device: torch.CPU})
			if err != nil {
				t.Fatalf("released-style checkpoint: %v", err)
			}
			defer rel.Free()
			if kind == task.Classification && strings.Join(rel.Labels, ",") != "entailment,neutral,contradiction" {
				t.Errorf("labels %v: the checkpoint's id2label must be used", rel.Labels)
			}
			if !strings.Contains(strings.Join(info.Notes, " "), "layer_transformation") {
				t.Errorf("notes %v: the distillation layer should be reported as ignored", info.Notes)
			}
			h2, i2, hd2 := rel.Structure()
			if h2[0] != 0 || i2[1] != 0 || hd2 != hidden {
				t.Errorf("released-style structure heads %v inter %v hidden %d", h2, i2, hd2)
			}
			for i, v := range rel.Forward(batch(), nil, false, false).Logits.Float32s() {
				if v != got[i] {
					t.Fatalf("released-style checkpoint computes %v, want %v", v, got[i])
				}
			}
		})
	}
}

func TestExpectedSparsityMatchesHost(t *testing.T) {
	runtime.LockOSThread() // libtorch state is per thread: keep this test on one
	s := torch.NewScope()
	defer s.Close()
	d := Dims{Layers: 3, Hidden: 32, Heads: 4, Inter: 48}
	for _, hidden := range []bool{true, false} {
		l, err := NewL0(d, true, hidden, ZIntReleased, torch.CPU)
		if err != nil {
			t.Fatal(err)
		}
		defer l.Free()
		torch.NoGrad(func() {
			for _, p := range l.Params() {
				p.T.Normal_(0, 2)
			}
		})
		got := l.ExpectedSparsity().Item()
		want := d.ExpectedSparsity(l.Probs())
		if math.Abs(got-want) > 1e-5 {
			t.Fatalf("hidden=%v: torch ŝ = %v, host ŝ = %v", hidden, got, want)
		}
	}
}

func TestInitAndClamp(t *testing.T) {
	runtime.LockOSThread() // libtorch state is per thread: keep this test on one
	s := torch.NewScope()
	defer s.Close()
	l, _ := NewL0(BertBase, true, true, ZIntReleased, torch.CPU)
	defer l.Free()
	mean := func(t *torch.Tensor) float64 { return t.Mean().Item() }
	if m := mean(l.Head); math.Abs(m-10) > 0.01 {
		t.Fatalf("head log_alpha mean %v, want 10", m)
	}
	if m := mean(l.Int); math.Abs(m) > 0.01 {
		t.Fatalf("released z_int log_alpha mean %v, want 0", m)
	}
	// With the paper's init every gate has P(z≠0) = sigmoid(11.5986) = 0.9999908:
	// ŝ = 1 − (1 − 0.000542)·0.9999908³ ≈ 0.000570, the full model's 0.00054 plus
	// the gates' small chance of being off. (z_int at the released init has P = 0.8318.)
	lp, _ := NewL0(BertBase, true, true, ZIntPaper, torch.CPU)
	defer lp.Free()
	if sp := lp.ExpectedSparsity().Item(); math.Abs(sp-0.000570) > 5e-6 {
		t.Fatalf("ŝ at paper init = %v, want 0.000570", sp)
	}
	l.Clamp()
	if mx := l.Head.Max().Item(); math.Abs(mx-LogAlphaMax) > 1e-5 {
		t.Fatalf("after clamp max log_alpha = %v, want %v", mx, LogAlphaMax)
	}
}

// The empirical rate of non-zero samples matches P(z≠0), and values stay in [0, 1].
func TestSampleMatchesPNonZero(t *testing.T) {
	runtime.LockOSThread() // libtorch state is per thread: keep this test on one
	s := torch.NewScope()
	defer s.Close()
	for _, la := range []float64{-2, 0, 1.5} {
		x := torch.Full([]int64{200000}, la, torch.Float32, torch.CPU)
		z := sample(x)
		rate := z.GtScalar(0).ToDType(torch.Float32).Mean().Item()
		if math.Abs(rate-PNonZero(la)) > 0.005 {
			t.Errorf("log_alpha %v: P(z>0) ≈ %v, want %v", la, rate, PNonZero(la))
		}
		if z.Max().Item() > 1 || z.Neg().Max().Item() > 0 {
			t.Errorf("samples outside [0, 1]")
		}
	}
}

func TestLagrangianGradients(t *testing.T) {
	runtime.LockOSThread() // libtorch state is per thread: keep this test on one
	s := torch.NewScope()
	defer s.Close()
	g := NewLagrangian(torch.CPU)
	defer g.Free()
	torch.NoGrad(func() { g.L1.Fill_(0.5); g.L2.Fill_(2) })
	e := torch.Scalar(0.3, torch.CPU)
	loss := g.Loss(e, 0.5) // 0.5·(−0.2) + 2·0.04 = −0.02
	if v := loss.Item(); math.Abs(v+0.02) > 1e-6 {
		t.Fatalf("L_c = %v, want -0.02", v)
	}
	loss.Backward()
	if d1, d2 := g.L1.Grad().Item(), g.L2.Grad().Item(); math.Abs(d1+0.2) > 1e-6 || math.Abs(d2-0.04) > 1e-6 {
		t.Fatalf("dL/dλ = %v, %v; want -0.2, 0.04", d1, d2)
	}
}

func TestPredLoss(t *testing.T) {
	runtime.LockOSThread() // libtorch state is per thread: keep this test on one
	s := torch.NewScope()
	defer s.Close()
	// Identical logits: zero loss. Hand value: s = (0, 0), t = (2 ln 3, 0), T = 2 →
	// q = softmax(ln 3, 0) = (3/4, 1/4), p = (1/2, 1/2):
	// KL = 3/4·ln(3/2) + 1/4·ln(1/2) = 0.130812; ×T² = 0.523248.
	st := torch.FromFloat32([]float32{0, 0}, []int64{1, 2}, torch.CPU)
	te := torch.FromFloat32([]float32{float32(2 * math.Log(3)), 0}, []int64{1, 2}, torch.CPU)
	if v := PredLoss(task.Classification, st, te, 2).Item(); math.Abs(v-0.523248) > 1e-5 {
		t.Fatalf("KL·T² = %v, want 0.523248", v)
	}
	if v := PredLoss(task.Classification, te, te, 2).Item(); math.Abs(v) > 1e-6 {
		t.Fatalf("same logits: loss %v", v)
	}
	// Regression: MSE of the logits, (1 − 3)² = 4.
	r1 := torch.FromFloat32([]float32{1}, []int64{1, 1}, torch.CPU)
	r2 := torch.FromFloat32([]float32{3}, []int64{1, 1}, torch.CPU)
	if v := PredLoss(task.Regression, r1, r2, 2).Item(); math.Abs(v-4) > 1e-6 {
		t.Fatalf("regression distillation = %v, want 4", v)
	}
}

func TestLayerDistillerIdentityInit(t *testing.T) {
	runtime.LockOSThread() // libtorch state is per thread: keep this test on one
	s := torch.NewScope()
	defer s.Close()
	ld := NewLayerDistiller(8, 4, MatchV4, torch.CPU)
	defer ld.Free()
	// Student layer j equals teacher layer j (j = 1..4): v4 must align each
	// teacher layer k ∈ {1,2,3,4} with student layer k (0-based k−1) at zero cost.
	var hs []*torch.Tensor
	for j := 0; j <= 4; j++ {
		hs = append(hs, torch.Full([]int64{1, 2, 8}, float64(j), torch.Float32, torch.CPU))
	}
	loss, align := ld.Loss(hs, hs, []bool{true, true, true, true})
	if loss.Item() != 0 || align[0] != 0 || align[3] != 3 {
		t.Fatalf("loss %v align %v", loss.Item(), align)
	}
}

func TestPresent(t *testing.T) {
	runtime.LockOSThread()
	// Layer 0 has no sublayer left in the model; layer 1 loses its MHA to the
	// masks but keeps its FFN; layer 2 loses both.
	m := &bert.Model{Layers: []*bert.Layer{{}, {Heads: 2, Inter: 4}, {Heads: 2, Inter: 4}}}
	masks := &bert.Masks{SkipMHA: []bool{false, true, true}, SkipFFN: []bool{false, false, true}}
	if got := Present(m, masks, nil, false); !reflect.DeepEqual(got, []bool{false, true, false}) {
		t.Errorf("paper test: %v", got)
	}
	// The released code's test looks at z_MHA only: layer 1 counts as gone.
	if got := Present(m, masks, []float64{1, 0, 0.5}, true); !reflect.DeepEqual(got, []bool{false, false, true}) {
		t.Errorf("released test: %v", got)
	}
	if got := Present(m, nil, nil, false); !reflect.DeepEqual(got, []bool{false, true, true}) {
		t.Errorf("no masks: %v", got)
	}
}
