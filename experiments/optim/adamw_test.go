//go:build torch

package optim

import (
	"math"
	"os"
	"runtime"
	"testing"

	"github.com/cofiharness/cofi/experiments/torch"
)

func TestMain(m *testing.M) {
	if _, err := torch.Setup(1, 3, "cpu"); err != nil {
		panic(err)
	}
	os.Exit(m.Run())
}

// TestAdamWHandComputed checks two steps against the update rule computed by
// hand: loss = Σ w², grad = 2w.
func TestAdamWHandComputed(t *testing.T) {
	runtime.LockOSThread() // libtorch state is per thread: keep this test on one
	w := torch.FromFloat32([]float32{1, -2}, []int64{2}, torch.CPU)
	w.SetRequiresGrad(true)
	defer w.Free()
	ps := []Named{{"w", w, true}}
	o := NewAdamW(ps, 0.1)
	defer o.Free()
	lr := 0.01
	// Reference in float64: PyTorch AdamW semantics.
	ref := []float64{1, -2}
	m, v := []float64{0, 0}, []float64{0, 0}
	for step := 1; step <= 2; step++ {
		func() {
			s := torch.NewScope()
			defer s.Close()
			ZeroGrad(ps)
			w.Square().Sum().Backward()
		}()
		o.Step(lr)
		for i := range ref {
			g := 2 * ref[i]
			ref[i] *= 1 - lr*0.1
			m[i] = 0.9*m[i] + 0.1*g
			v[i] = 0.999*v[i] + 0.001*g*g
			mh := m[i] / (1 - math.Pow(0.9, float64(step)))
			vh := v[i] / (1 - math.Pow(0.999, float64(step)))
			ref[i] -= lr * mh / (math.Sqrt(vh) + 1e-8)
		}
	}
	got := w.Float32s()
	for i := range ref {
		if math.Abs(float64(got[i])-ref[i]) > 1e-6 {
			t.Fatalf("after 2 steps w = %v, want %v", got, ref)
		}
	}
	// First step moves each weight by ≈ lr against its gradient's sign.
	if !(got[0] < 1 && got[1] > -2) {
		t.Fatalf("descent went the wrong way: %v", got)
	}
}

func TestAscentWithNegativeLR(t *testing.T) {
	runtime.LockOSThread() // libtorch state is per thread: keep this test on one
	l := torch.FromFloat32([]float32{0}, []int64{1}, torch.CPU)
	l.SetRequiresGrad(true)
	defer l.Free()
	ps := []Named{{"lambda", l, false}}
	o := NewAdamW(ps, 0)
	defer o.Free()
	func() {
		s := torch.NewScope()
		defer s.Close()
		l.MulScalar(3).Sum().Backward() // d/dλ (3λ) = 3 > 0
	}()
	o.Step(-0.01)
	if v := l.Float32s()[0]; math.Abs(float64(v)-0.01) > 1e-6 {
		t.Fatalf("ascent step: λ = %v, want +0.01 (Adam's first step has unit size)", v)
	}
}

func TestClipGradNorm(t *testing.T) {
	runtime.LockOSThread() // libtorch state is per thread: keep this test on one
	w := torch.FromFloat32([]float32{3, 4}, []int64{2}, torch.CPU)
	w.SetRequiresGrad(true)
	defer w.Free()
	ps := []Named{{"w", w, true}}
	func() {
		s := torch.NewScope()
		defer s.Close()
		w.Square().Sum().MulScalar(0.5).Backward() // grad = w = (3, 4), norm 5
	}()
	if n := ClipGradNorm(ps, 1); math.Abs(n-5) > 1e-5 {
		t.Fatalf("norm = %v, want 5", n)
	}
	s := torch.NewScope()
	defer s.Close()
	g := w.Grad().Float32s()
	if math.Abs(float64(g[0])-0.6) > 1e-5 || math.Abs(float64(g[1])-0.8) > 1e-5 {
		t.Fatalf("clipped grad %v, want (0.6, 0.8)", g)
	}
}

func TestStateRoundTrip(t *testing.T) {
	runtime.LockOSThread() // libtorch state is per thread: keep this test on one
	w := torch.FromFloat32([]float32{1, 2}, []int64{2}, torch.CPU)
	w.SetRequiresGrad(true)
	defer w.Free()
	ps := []Named{{"w", w, true}}
	o := NewAdamW(ps, 0)
	defer o.Free()
	func() {
		s := torch.NewScope()
		defer s.Close()
		w.Square().Sum().Backward()
	}()
	o.Step(0.1)
	st, meta := o.State()
	o2 := NewAdamW(ps, 0)
	defer o2.Free()
	if err := o2.Restore(st, meta); err != nil {
		t.Fatal(err)
	}
	if o2.Steps != 1 || o2.m[0].Float32s()[1] != o.m[0].Float32s()[1] || o2.v[0].Float32s()[0] != o.v[0].Float32s()[0] {
		t.Fatal("restored state differs")
	}
	delete(st, "v.w")
	if err := o2.Restore(st, meta); err == nil {
		t.Fatal("missing state accepted")
	}
}

// TestResumeUpdatesParametersWithoutGradient: u takes part in the first
// step only. Uninterrupted, its zeroed gradient stays defined and the second
// step still moves it (momentum, weight decay); resumed after the first step
// with fresh tensors and no gradients, the restored optimiser must move it
// the same, and leave v, which never had a gradient, alone in both runs.
func TestResumeUpdatesParametersWithoutGradient(t *testing.T) {
	runtime.LockOSThread() // libtorch state is per thread: keep this test on one
	params := func() []Named {
		var ps []Named
		for _, n := range []string{"w", "u", "v"} {
			x := torch.FromFloat32([]float32{1, -2}, []int64{2}, torch.CPU)
			x.SetRequiresGrad(true)
			ps = append(ps, Named{n, x, true})
		}
		return ps
	}
	step := func(o *AdamW, ps []Named, withU bool) {
		func() {
			s := torch.NewScope()
			defer s.Close()
			ZeroGrad(ps)
			l := ps[0].T.Square().Sum()
			if withU {
				l = l.Add(ps[1].T.Square().Sum())
			}
			l.Backward()
		}()
		o.Step(0.1)
	}
	a := params()
	oa := NewAdamW(a, 0.01)
	step(oa, a, true)
	st, meta := oa.State()
	if meta["seen"] != "110" {
		t.Fatalf("gradient flags %q, want 110", meta["seen"])
	}
	b := params()
	torch.NoGrad(func() {
		for i := range b {
			b[i].T.Copy_(a[i].T)
		}
	})
	step(oa, a, false)
	ob := NewAdamW(b, 0.01)
	if err := ob.Restore(st, meta); err != nil {
		t.Fatal(err)
	}
	step(ob, b, false)
	for i := range a {
		if ga, gb := a[i].T.Float32s(), b[i].T.Float32s(); ga[0] != gb[0] || ga[1] != gb[1] {
			t.Errorf("%s: resumed %v, uninterrupted %v", a[i].Name, gb, ga)
		}
	}
	if got := a[2].T.Float32s(); got[0] != 1 || got[1] != -2 {
		t.Errorf("v never had a gradient but moved to %v", got)
	}
	if got := a[1].T.Float32s(); got[0] == 1 {
		t.Errorf("u did not move at the step it took no part in")
	}
	// A snapshot from before the flags: the parameters with moments (w, u).
	old := map[string]string{"steps": meta["steps"]}
	oc := NewAdamW(params(), 0.01)
	if err := oc.Restore(st, old); err != nil {
		t.Fatal(err)
	}
	if !oc.seen[0] || !oc.seen[1] || oc.seen[2] {
		t.Errorf("without flags: seen %v, want [true true false]", oc.seen)
	}
	meta["seen"] = "11"
	if err := ob.Restore(st, meta); err == nil {
		t.Error("two gradient flags for three parameters accepted")
	}
}

// A zero learning rate (the first step of a linear warm-up) leaves the
// weights as they are, also where the second moment is still zero.
func TestZeroLearningRate(t *testing.T) {
	runtime.LockOSThread()
	w := torch.FromFloat32([]float32{1, 2}, []int64{2}, torch.CPU)
	w.SetRequiresGrad(true)
	defer w.Free()
	ps := []Named{{"w", w, true}}
	o := NewAdamW(ps, 0.1)
	defer o.Free()
	func() {
		s := torch.NewScope()
		defer s.Close()
		w.Narrow(0, 0, 1).Sum().Backward() // gradient (1, 0): the second entry's moments stay 0
	}()
	o.Step(0)
	if got := w.Float32s(); got[0] != 1 || got[1] != 2 {
		t.Fatalf("weights after a step at lr 0: %v", got)
	}
	if o.Steps != 1 {
		t.Fatalf("step count %d", o.Steps)
	}
}

// TestBertAdamHandComputed checks BertAdam (TinyBERT's optimiser) against its
// update rule by hand: no bias correction, eps 1e-6, decoupled decay, and
// each tensor's gradient clipped to norm 1 on its own.
func TestBertAdamHandComputed(t *testing.T) {
	runtime.LockOSThread()                                          // libtorch state is per thread: keep this test on one
	a := torch.FromFloat32([]float32{3, -4}, []int64{2}, torch.CPU) // grad 2a has norm 10: clipped
	b := torch.FromFloat32([]float32{0.1}, []int64{1}, torch.CPU)   // grad 0.2: not clipped
	for _, x := range []*torch.Tensor{a, b} {
		x.SetRequiresGrad(true)
		defer x.Free()
	}
	ps := []Named{{"a", a, true}, {"b", b, false}}
	o := NewBertAdam(ps, 0.01)
	defer o.Free()
	lr := 0.1
	ref := [][]float64{{3, -4}, {0.1}}
	m := [][]float64{{0, 0}, {0}}
	v := [][]float64{{0, 0}, {0}}
	for step := 1; step <= 2; step++ {
		func() {
			s := torch.NewScope()
			defer s.Close()
			ZeroGrad(ps)
			a.Square().Sum().Add(b.Square().Sum()).Backward()
		}()
		ClipGradNormEach(ps, 1)
		o.Step(lr)
		for k, w := range ref {
			g := make([]float64, len(w))
			norm := 0.0
			for i := range w {
				g[i] = 2 * w[i]
				norm += g[i] * g[i]
			}
			if norm = math.Sqrt(norm); norm > 1 {
				for i := range g {
					g[i] /= norm + 1e-6
				}
			}
			for i := range w {
				m[k][i] = 0.9*m[k][i] + 0.1*g[i]
				v[k][i] = 0.999*v[k][i] + 0.001*g[i]*g[i]
				upd := m[k][i] / (math.Sqrt(v[k][i]) + 1e-6)
				if k == 0 { // decay on a only
					upd += 0.01 * w[i]
				}
				w[i] -= lr * upd
			}
		}
	}
	for k, x := range []*torch.Tensor{a, b} {
		got := x.Float32s()
		for i := range ref[k] {
			if math.Abs(float64(got[i])-ref[k][i]) > 1e-5 {
				t.Fatalf("tensor %d after 2 steps = %v, want %v", k, got, ref[k])
			}
		}
	}
}
