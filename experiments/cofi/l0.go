//go:build torch

package cofi

import (
	"fmt"

	"github.com/cofiharness/cofi/experiments/bert"
	"github.com/cofiharness/cofi/experiments/optim"
	"github.com/cofiharness/cofi/experiments/torch"
)

// ZIntInit says where z_int's log_alpha starts.
type ZIntInit string

const (
	ZIntReleased ZIntInit = "released" // mean log((1−0.5)/0.5) = 0, what the published numbers used
	ZIntPaper    ZIntInit = "paper"    // mean 10, like every other mask
)

// L0 holds the log_alpha parameters of CoFi's masks. A nil tensor means that
// mask is not used (ablations "-layer", "-hidden").
type L0 struct {
	Dims   Dims
	Device torch.Device

	Head   *torch.Tensor // [L, H]
	MHA    *torch.Tensor // [L]
	Int    *torch.Tensor // [L, F]
	FFN    *torch.Tensor // [L]
	Hidden *torch.Tensor // [d]

	// BiasOfEmpty makes the masked model compute a sublayer whose heads (or
	// FFN units) are all masked but whose layer mask is not, as the released
	// code does: its output bias goes through the residual LayerNorm
	// (modeling_bert.py:539, :565 skip only an all-zero output). By default
	// such a sublayer is skipped, as in the pruned model.
	BiasOfEmpty bool
}

// NewL0 creates the masks with log_alpha ~ N(10, 0.01) (z_int per init).
func NewL0(d Dims, layerMasks, hiddenMask bool, zint ZIntInit, dev torch.Device) (*L0, error) {
	if zint != ZIntReleased && zint != ZIntPaper {
		return nil, fmt.Errorf("z_int init %q: want released or paper", zint)
	}
	param := func(mean float64, shape ...int64) *torch.Tensor {
		t := torch.Zeros(shape, torch.Float32, dev).Detached()
		t.Normal_(mean, 0.01)
		t.SetRequiresGrad(true)
		return t
	}
	l := &L0{Dims: d, Device: dev}
	L := int64(d.Layers)
	l.Head = param(10, L, int64(d.Heads))
	intMean := 0.0
	if zint == ZIntPaper {
		intMean = 10
	}
	l.Int = param(intMean, L, int64(d.Inter))
	if layerMasks {
		l.MHA = param(10, L)
		l.FFN = param(10, L)
	}
	if hiddenMask {
		l.Hidden = param(10, int64(d.Hidden))
	}
	return l, nil
}

// Params lists the log_alpha tensors with stable names (for the optimiser
// and checkpoints).
func (l *L0) Params() []optim.Named {
	var ps []optim.Named
	for _, p := range []struct {
		name string
		t    *torch.Tensor
	}{{"head_loga", l.Head}, {"mha_loga", l.MHA}, {"int_loga", l.Int}, {"ffn_loga", l.FFN}, {"hidden_loga", l.Hidden}} {
		if p.t != nil {
			ps = append(ps, optim.Named{Name: p.name, T: p.t})
		}
	}
	return ps
}

// Free releases the parameters.
func (l *L0) Free() {
	for _, p := range l.Params() {
		p.T.Free()
	}
}

// Clamp keeps every log_alpha in [ln 0.01, ln 100]; call after each step.
func (l *L0) Clamp() {
	torch.NoGrad(func() {
		for _, p := range l.Params() {
			p.T.Clamp_(LogAlphaMin, LogAlphaMax)
		}
	})
}

// sample draws one hard-concrete sample with the shape of la:
// u ~ U(ε, 1−ε); s = sigmoid((log u − log(1−u) + la)/β); z = clamp(s·(r−l)+l, 0, 1).
func sample(la *torch.Tensor) *torch.Tensor {
	u := torch.Rand(la.Shape(), la.Device()).MulScalar(1 - 2*Epsilon).AddScalar(Epsilon)
	logit := u.Log().Sub(u.MulScalar(-1).AddScalar(1).Log())
	s := logit.Add(la).MulScalar(1 / Beta).Sigmoid()
	return s.MulScalar(LimitR-LimitL).AddScalar(LimitL).Clamp(0, 1)
}

// Sample draws the training masks for one step: one draw shared by the whole
// batch, differentiable with respect to log_alpha. Tensors belong to the
// current scope.
func (l *L0) Sample() *bert.Masks {
	m := &bert.Masks{Head: sample(l.Head), Int: sample(l.Int)}
	if l.MHA != nil {
		m.MHA, m.FFN = sample(l.MHA), sample(l.FFN)
	}
	if l.Hidden != nil {
		m.Hidden = sample(l.Hidden)
	}
	l.setSkips(m)
	return m
}

// setSkips marks sublayers whose sampled output is identically zero.
func (l *L0) setSkips(m *bert.Masks) {
	var headSum, intSum, mha, ffn []float32
	torch.NoGrad(func() {
		s := torch.NewScope()
		defer s.Close()
		headSum = m.Head.SumDims([]int64{1}, false).Float32s()
		intSum = m.Int.SumDims([]int64{1}, false).Float32s()
		if m.MHA != nil {
			mha, ffn = m.MHA.Float32s(), m.FFN.Float32s()
		}
	})
	m.SkipMHA = make([]bool, l.Dims.Layers)
	m.SkipFFN = make([]bool, l.Dims.Layers)
	for i := range m.SkipMHA {
		m.SkipMHA[i] = (headSum[i] == 0 && !l.BiasOfEmpty) || (mha != nil && mha[i] == 0)
		m.SkipFFN[i] = (intSum[i] == 0 && !l.BiasOfEmpty) || (ffn != nil && ffn[i] == 0)
	}
}

// EvalMasks turns deterministic masks into the masked model's tensors on
// dev, honouring BiasOfEmpty.
func (l *L0) EvalMasks(h HostMasks, dev torch.Device) *bert.Masks {
	m := h.Tensors(dev)
	if l.BiasOfEmpty {
		for i := range m.SkipMHA {
			m.SkipMHA[i] = h.MHA != nil && h.MHA[i] == 0
			m.SkipFFN[i] = h.FFN != nil && h.FFN[i] == 0
		}
	}
	return m
}

func rows(t *torch.Tensor) [][]float64 {
	v := t.Float32s()
	sh := t.Shape()
	out := make([][]float64, sh[0])
	for i := range out {
		out[i] = make([]float64, sh[1])
		for j := range out[i] {
			out[i][j] = float64(v[int64(i)*sh[1]+int64(j)])
		}
	}
	return out
}

func vec(t *torch.Tensor) []float64 {
	v := t.Float32s()
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

// LogAlphas copies the log_alpha values to the host.
func (l *L0) LogAlphas() HostMasks {
	var h HostMasks
	h.Head, h.Int = rows(l.Head), rows(l.Int)
	if l.MHA != nil {
		h.MHA, h.FFN = vec(l.MHA), vec(l.FFN)
	}
	if l.Hidden != nil {
		h.Hidden = vec(l.Hidden)
	}
	return h
}

// Probs returns P(z≠0) of every gate (host side).
func (l *L0) Probs() Probs {
	la := l.LogAlphas()
	mapRows := func(r [][]float64) [][]float64 {
		out := make([][]float64, len(r))
		for i := range r {
			out[i] = mapVec(r[i])
		}
		return out
	}
	return Probs{Head: mapRows(la.Head), MHA: mapVec(la.MHA), Int: mapRows(la.Int), FFN: mapVec(la.FFN), Hidden: mapVec(la.Hidden)}
}

func mapVec(v []float64) []float64 {
	if v == nil {
		return nil
	}
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = PNonZero(x)
	}
	return out
}

// Deterministic computes the evaluation masks: per layer for heads and z_int,
// per layer scalar for z_MHA and z_FFN, globally for z_hidn.
func (l *L0) Deterministic(r Rounding) HostMasks {
	la := l.LogAlphas()
	var h HostMasks
	for _, row := range la.Head {
		h.Head = append(h.Head, Deterministic(row, r))
	}
	for _, row := range la.Int {
		h.Int = append(h.Int, Deterministic(row, r))
	}
	if la.MHA != nil {
		for i := range la.MHA {
			h.MHA = append(h.MHA, Deterministic(la.MHA[i:i+1], r)[0])
			h.FFN = append(h.FFN, Deterministic(la.FFN[i:i+1], r)[0])
		}
	}
	if la.Hidden != nil {
		h.Hidden = Deterministic(la.Hidden, r)
	}
	return h
}

// Tensors turns host masks into bert.Masks on dev (owned by the current
// scope), with the sublayers whose masks are all zero marked skipped.
func (h HostMasks) Tensors(dev torch.Device) *bert.Masks {
	f32 := func(v []float64) []float32 {
		out := make([]float32, len(v))
		for i, x := range v {
			out[i] = float32(x)
		}
		return out
	}
	mat := func(r [][]float64) *torch.Tensor {
		var flat []float32
		for _, row := range r {
			flat = append(flat, f32(row)...)
		}
		return torch.FromFloat32(flat, []int64{int64(len(r)), int64(len(r[0]))}, dev)
	}
	m := &bert.Masks{}
	L := len(h.Head)
	if h.Head != nil {
		m.Head = mat(h.Head)
	}
	if h.Int != nil {
		m.Int = mat(h.Int)
	}
	if h.MHA != nil {
		m.MHA = torch.FromFloat32(f32(h.MHA), []int64{int64(L)}, dev)
		m.FFN = torch.FromFloat32(f32(h.FFN), []int64{int64(L)}, dev)
	}
	if h.Hidden != nil {
		m.Hidden = torch.FromFloat32(f32(h.Hidden), []int64{int64(len(h.Hidden))}, dev)
	}
	m.SkipMHA, m.SkipFFN = h.Skips()
	return m
}

// ExpectedSparsity is the differentiable ŝ = 1 − E[size]/M (see Dims.ExpectedSize).
func (l *L0) ExpectedSparsity() *torch.Tensor {
	p := func(la *torch.Tensor) *torch.Tensor { return la.AddScalar(pzShift).Sigmoid() }
	d := l.Dims
	head := p(l.Head).SumDims([]int64{1}, false) // [L]
	inter := p(l.Int).SumDims([]int64{1}, false) // [L]
	if l.MHA != nil {
		head = head.Mul(p(l.MHA))
		inter = inter.Mul(p(l.FFN))
	}
	hs, is := head.Sum(), inter.Sum()
	var size *torch.Tensor
	if l.Hidden != nil {
		per := hs.MulScalar(float64(d.ParamsPerHead()) / float64(d.Hidden)).Add(is.MulScalar(2))
		size = p(l.Hidden).Sum().Mul(per)
	} else {
		size = hs.MulScalar(float64(d.ParamsPerHead())).Add(is.MulScalar(float64(d.ParamsPerInter())))
	}
	return size.MulScalar(-1 / d.Prunable()).AddScalar(1)
}

// Lagrangian holds λ1 and λ2 of the sparsity constraint.
type Lagrangian struct{ L1, L2 *torch.Tensor }

// NewLagrangian starts both multipliers at 0.
func NewLagrangian(dev torch.Device) *Lagrangian {
	z := func() *torch.Tensor {
		t := torch.Zeros([]int64{}, torch.Float32, dev).Detached()
		t.SetRequiresGrad(true)
		return t
	}
	return &Lagrangian{z(), z()}
}

// Params names the multipliers for the optimiser (gradient ascent).
func (g *Lagrangian) Params() []optim.Named {
	return []optim.Named{{Name: "lambda_1", T: g.L1}, {Name: "lambda_2", T: g.L2}}
}

// Free releases the multipliers.
func (g *Lagrangian) Free() { g.L1.Free(); g.L2.Free() }

// Loss is λ1·(ŝ − t) + λ2·(ŝ − t)².
func (g *Lagrangian) Loss(expected *torch.Tensor, target float64) *torch.Tensor {
	gap := expected.AddScalar(-target)
	return g.L1.Mul(gap).Add(g.L2.Mul(gap.Square()))
}
