//go:build torch

package optim

import (
	"fmt"
	"math"
	"strconv"

	"github.com/cofiharness/cofi/experiments/checkpoint"
	"github.com/cofiharness/cofi/experiments/torch"
)

// Named is a parameter with the name its state is saved under.
type Named struct {
	Name  string
	T     *torch.Tensor
	Decay bool // apply weight decay (HF convention: not to biases and LayerNorms)
}

// AdamW is decoupled-weight-decay Adam (Loshchilov & Hutter), updating
// parameters in place exactly as torch.optim.AdamW does. A negative learning
// rate performs gradient ascent (CoFi's Lagrange multipliers). Its state is
// saved with the run's checkpoints so a killed run resumes where it stopped.
type AdamW struct {
	Beta1, Beta2, Eps, WeightDecay float64
	Steps                          int
	// NoBiasCorrection drops Adam's bias correction of the moments, as
	// BERT's original BertAdam does (TinyBERT trains with it; see NewBertAdam).
	NoBiasCorrection bool

	params []Named
	m, v   []*torch.Tensor
	// seen: the parameter had a gradient at a step. ZeroGrad zeroes
	// gradients rather than dropping them (torch 1.x's zero_grad, which the
	// authors' trainer ran on), so such a parameter keeps being updated, with
	// a zero gradient, at later steps it takes no part in (its moments decay,
	// weight decay applies). A resumed run starts with no gradients at all:
	// Restore gives the seen parameters a zero gradient, so that this and
	// any later optimiser over them update what the uninterrupted run would.
	seen []bool
}

// NewAdamW makes an optimiser over params with betas (0.9, 0.999), eps 1e-8.
func NewAdamW(params []Named, weightDecay float64) *AdamW {
	o := &AdamW{Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: weightDecay, params: params}
	for _, p := range params {
		o.m = append(o.m, torch.Zeros(p.T.Shape(), torch.Float32, p.T.Device()).Detached())
		o.v = append(o.v, torch.Zeros(p.T.Shape(), torch.Float32, p.T.Device()).Detached())
	}
	o.seen = make([]bool, len(params))
	return o
}

// NewBertAdam is BertAdam of the original BERT code (TinyBERT's
// transformer/optimization.py): AdamW without bias correction, eps 1e-6.
// BertAdam also clips each tensor's gradient to norm 1 inside its step;
// callers do that with ClipGradNormEach.
func NewBertAdam(params []Named, weightDecay float64) *AdamW {
	o := NewAdamW(params, weightDecay)
	o.Eps, o.NoBiasCorrection = 1e-6, true
	return o
}

// Params returns the parameters the optimiser updates.
func (o *AdamW) Params() []Named { return o.params }

// Step applies one update with learning rate lr to every parameter that has a
// gradient.
func (o *AdamW) Step(lr float64) {
	o.Steps++
	bc1 := 1 - math.Pow(o.Beta1, float64(o.Steps))
	bc2 := 1 - math.Pow(o.Beta2, float64(o.Steps))
	if o.NoBiasCorrection {
		bc1, bc2 = 1, 1
	}
	torch.NoGrad(func() {
		for i, p := range o.params {
			func() {
				s := torch.NewScope()
				defer s.Close()
				g := p.T.Grad()
				if !g.Defined() {
					return
				}
				o.seen[i] = true
				if p.Decay && o.WeightDecay != 0 {
					p.T.MulScalar_(1 - lr*o.WeightDecay)
				}
				m, v := o.m[i], o.v[i]
				// Same arithmetic as torch.optim.AdamW's single-tensor path,
				// in place: the only temporary is the square root, as there.
				m.Lerp_(g, 1-o.Beta1)
				// v ← β2·v + (1−β2)·g², as (1−β2)·(β2/(1−β2)·v + g·g): libtch's
				// addcmul_ has no scale argument.
				v.MulScalar_(o.Beta2 / (1 - o.Beta2))
				v.Addcmul_(g, g)
				v.MulScalar_(1 - o.Beta2)
				if lr == 0 { // warm-up's first step: moments move, weights do not
					return
				}
				// p −= lr/bc1 · m/(√v/√bc2 + ε), as addcdiv with the step folded
				// into the denominator: −bc1/lr·(√v/√bc2 + ε) = A·√v + B.
				denom := v.Sqrt()
				denom.MulScalar_(-bc1 / (lr * math.Sqrt(bc2)))
				denom.AddScalar_(-o.Eps * bc1 / lr)
				p.T.Addcdiv_(m, denom)
			}()
		}
	})
}

// ZeroGrad clears every parameter's gradient.
func ZeroGrad(params []Named) {
	torch.NoGrad(func() {
		s := torch.NewScope()
		defer s.Close()
		for _, p := range params {
			if g := p.T.Grad(); g.Defined() {
				g.Zero_()
			}
		}
	})
}

// ClipGradNorm scales gradients so their global L2 norm is at most max, as
// torch.nn.utils.clip_grad_norm_, and returns the norm before clipping.
func ClipGradNorm(params []Named, max float64) float64 {
	var norm float64
	torch.NoGrad(func() {
		s := torch.NewScope()
		defer s.Close()
		var sq []*torch.Tensor
		var grads []*torch.Tensor
		for _, p := range params {
			if g := p.T.Grad(); g.Defined() {
				grads = append(grads, g)
				n := g.Norm()
				sq = append(sq, n.Mul(n))
			}
		}
		if len(sq) == 0 {
			return
		}
		norm = math.Sqrt(torch.Stack(sq, 0).Sum().Item())
		if max > 0 && norm > max {
			c := max / (norm + 1e-6)
			for _, g := range grads {
				g.MulScalar_(c)
			}
		}
	})
	return norm
}

// ClipGradNormEach clips every tensor's gradient to L2 norm max on its own,
// as BertAdam's step does (clip_grad_norm_ per parameter).
func ClipGradNormEach(params []Named, max float64) {
	if max <= 0 {
		return
	}
	torch.NoGrad(func() {
		s := torch.NewScope()
		defer s.Close()
		for _, p := range params {
			g := p.T.Grad()
			if !g.Defined() {
				continue
			}
			if n := g.Norm().Item(); n > max {
				g.MulScalar_(max / (n + 1e-6))
			}
		}
	})
}

// State returns the optimiser state for a checkpoint.
func (o *AdamW) State() (map[string]checkpoint.Raw, map[string]string) {
	t := map[string]checkpoint.Raw{}
	for i, p := range o.params {
		t["m."+p.Name] = checkpoint.F32(o.m[i].Shape(), o.m[i].Float32s())
		t["v."+p.Name] = checkpoint.F32(o.v[i].Shape(), o.v[i].Float32s())
	}
	seen := make([]byte, len(o.seen))
	for i, b := range o.seen {
		seen[i] = '0'
		if b {
			seen[i] = '1'
		}
	}
	return t, map[string]string{"steps": strconv.Itoa(o.Steps), "seen": string(seen)}
}

// Restore loads state saved by State.
func (o *AdamW) Restore(t map[string]checkpoint.Raw, meta map[string]string) error {
	n, err := strconv.Atoi(meta["steps"])
	if err != nil {
		return fmt.Errorf("optimiser state: bad step count %q", meta["steps"])
	}
	seen, hasSeen := meta["seen"]
	if hasSeen && len(seen) != len(o.params) {
		return fmt.Errorf("optimiser state: %d gradient flags for %d parameters", len(seen), len(o.params))
	}
	for i, p := range o.params {
		for _, x := range []struct {
			key string
			dst *torch.Tensor
		}{{"m." + p.Name, o.m[i]}, {"v." + p.Name, o.v[i]}} {
			r, ok := t[x.key]
			if !ok {
				return fmt.Errorf("optimiser state: missing %s", x.key)
			}
			vals, err := r.Float32()
			if err != nil {
				return fmt.Errorf("optimiser state %s: %w", x.key, err)
			}
			shape := x.dst.Shape()
			if int64(len(vals)) != x.dst.Numel() {
				return fmt.Errorf("optimiser state %s: %d values for shape %v", x.key, len(vals), shape)
			}
			src := torch.FromFloat32(vals, shape, torch.CPU)
			x.dst.Copy_(src)
			src.Free()
			if !hasSeen && !o.seen[i] {
				// A snapshot from before the flags were saved: a parameter
				// with moments has had a gradient (one whose gradients were
				// all exactly zero is missed; such snapshots resume as then).
				for _, v := range vals {
					if v != 0 {
						o.seen[i] = true
						break
					}
				}
			}
		}
		if hasSeen {
			o.seen[i] = seen[i] == '1'
		}
		if o.seen[i] {
			if err := defineGrad(p.T); err != nil {
				return fmt.Errorf("optimiser state %s: %w", p.Name, err)
			}
		}
	}
	o.Steps = n
	return nil
}

// defineGrad gives t a zero gradient where it has none, as a backward pass
// through sum(0·t) does.
func defineGrad(t *torch.Tensor) error {
	s := torch.NewScope()
	defer s.Close()
	if t.Grad().Defined() {
		return nil
	}
	if !t.RequiresGrad() {
		return fmt.Errorf("has had a gradient but does not require one")
	}
	t.MulScalar(0).Sum().Backward()
	return nil
}

// Free releases the optimiser state.
func (o *AdamW) Free() {
	for i := range o.m {
		o.m[i].Free()
		o.v[i].Free()
	}
}
