//go:build torch

package torch

import (
	"math"
	"runtime"
	"strings"
	"testing"
)

func TestMain(m *testing.M) {
	if _, err := Setup(1, 1, "cpu"); err != nil {
		panic(err)
	}
	m.Run()
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-5 }

func TestLinearMatchesHandComputation(t *testing.T) {
	runtime.LockOSThread() // libtorch state is per thread: keep this test on one
	s := NewScope()
	defer s.Close()
	// x = [[1, 2]], W = [[1, 0], [2, 3], [-1, 1]] ([out=3, in=2]), b = [0.5, 0, -1]
	// x·Wᵀ + b = [1+0.5, 2+6+0, -1+2-1] = [1.5, 8, 0]
	x := FromFloat32([]float32{1, 2}, []int64{1, 2}, CPU)
	w := FromFloat32([]float32{1, 0, 2, 3, -1, 1}, []int64{3, 2}, CPU)
	b := FromFloat32([]float32{0.5, 0, -1}, []int64{3}, CPU)
	got := Linear(x, w, b).Float32s()
	want := []float32{1.5, 8, 0}
	for i := range want {
		if !near(float64(got[i]), float64(want[i])) {
			t.Fatalf("linear = %v, want %v", got, want)
		}
	}
}

func TestScopeFreesAndKeeps(t *testing.T) {
	runtime.LockOSThread() // libtorch state is per thread: keep this test on one
	before := Live()
	var kept *Tensor
	func() {
		s := NewScope()
		defer s.Close()
		a := Ones([]int64{2, 2}, Float32, CPU)
		b := a.MulScalar(3).AddScalar(1)
		kept = s.Keep(b.Sum())
	}()
	if Live() != before+1 {
		t.Fatalf("live tensors %d after scope, want %d (only the kept one)", Live(), before+1)
	}
	if v := kept.Item(); v != 16 {
		t.Fatalf("kept sum = %v, want 16", v)
	}
	kept.Free()
	if Live() != before {
		t.Fatalf("live %d, want %d", Live(), before)
	}
}

func TestInplaceDoesNotLeakHandles(t *testing.T) {
	runtime.LockOSThread() // libtorch state is per thread: keep this test on one
	p := Zeros([]int64{3}, Float32, CPU)
	defer p.Free()
	before := Live()
	for i := 0; i < 100; i++ {
		p.MulScalar_(0.5)
		p.Clamp_(-1, 1)
	}
	if Live() != before {
		t.Fatalf("in-place ops created %d live tensors", Live()-before)
	}
}

func TestErrorIsCaughtWithoutBacktrace(t *testing.T) {
	runtime.LockOSThread() // libtorch state is per thread: keep this test on one
	before := Live()
	err := Catch(func() error {
		s := NewScope()
		defer s.Close()
		a := Ones([]int64{2, 3}, Float32, CPU)
		b := Ones([]int64{4, 5}, Float32, CPU)
		a.Matmul(b) // shape mismatch: libtorch throws
		return nil
	})
	if err == nil {
		t.Fatal("shape mismatch not reported")
	}
	msg := err.Error()
	if !strings.Contains(msg, "matmul") || strings.Contains(msg, "frame #") || strings.Contains(msg, "goroutine") {
		t.Fatalf("error %q: want op name, no C++ or Go backtrace", msg)
	}
	if Live() != before {
		t.Fatalf("tensors leaked by the failed work: %d", Live()-before)
	}
}

func TestGuardedOpReturnsError(t *testing.T) {
	runtime.LockOSThread() // libtorch state is per thread: keep this test on one
	// _cslt_compress is new in libtorch 2.1; against older libtorch the build
	// tool turned it into a stub that reports itself unavailable.
	err := Catch(func() error {
		x := Ones([]int64{2}, Float32, CPU)
		defer x.Free()
		scaledDotProductAttention(x, x, x)
		return nil
	})
	if Version() < "2.0" && (err == nil || !strings.Contains(err.Error(), "not available in this libtorch")) {
		t.Fatalf("guarded op on libtorch %s: err = %v", Version(), err)
	}
}

func TestAutogradAndNoGrad(t *testing.T) {
	runtime.LockOSThread() // libtorch state is per thread: keep this test on one
	s := NewScope()
	defer s.Close()
	// y = Σ w²  ⇒ dy/dw = 2w
	w := FromFloat32([]float32{1, -2, 3}, []int64{3}, CPU)
	w.SetRequiresGrad(true)
	w.Square().Sum().Backward()
	g := w.Grad().Float32s()
	for i, want := range []float32{2, -4, 6} {
		if g[i] != want {
			t.Fatalf("grad = %v", g)
		}
	}
	NoGrad(func() {
		if w.MulScalar(2).RequiresGrad() {
			t.Fatal("NoGrad result requires grad")
		}
	})
	if !w.MulScalar(2).RequiresGrad() {
		t.Fatal("grad mode not restored after NoGrad")
	}
}

func TestRoundTripData(t *testing.T) {
	runtime.LockOSThread() // libtorch state is per thread: keep this test on one
	s := NewScope()
	defer s.Close()
	x := FromInt64([]int64{5, -1, 7, 2, 0, 3}, []int64{2, 3}, CPU)
	if got := x.Shape(); len(got) != 2 || got[0] != 2 || got[1] != 3 {
		t.Fatalf("shape %v", got)
	}
	if got := x.Transpose(0, 1).Int64s(); got[1] != 2 || got[2] != -1 {
		t.Fatalf("transpose data %v (copy must follow logical order)", got)
	}
	vals, idx := x.ToDType(Float32).TopK(2, 1, true)
	if v := vals.Float32s(); v[0] != 7 || v[1] != 5 || v[2] != 3 || v[3] != 2 {
		t.Fatalf("topk values %v", v)
	}
	if i := idx.Int64s(); i[0] != 2 || i[1] != 0 {
		t.Fatalf("topk indices %v", i)
	}
}
