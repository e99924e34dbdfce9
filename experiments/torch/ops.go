//go:build torch

package torch

import (
	lib "github.com/sugarme/gotch/libtch"
)

// ---- creation ----

// Zeros makes a tensor of zeros.
func Zeros(shape []int64, dt DType, dev Device) *Tensor {
	return call("zeros", func(o *lib.Ctensor) { sh, n := shapeArg(shape); lib.AtgZeros(o, sh, n, int32(dt), int32(dev)) })
}

// Ones makes a tensor of ones.
func Ones(shape []int64, dt DType, dev Device) *Tensor {
	return call("ones", func(o *lib.Ctensor) { sh, n := shapeArg(shape); lib.AtgOnes(o, sh, n, int32(dt), int32(dev)) })
}

// Full makes a tensor filled with v.
func Full(shape []int64, v float64, dt DType, dev Device) *Tensor {
	var t *Tensor
	withScalar(v, func(s lib.Cscalar) {
		t = call("full", func(o *lib.Ctensor) { sh, n := shapeArg(shape); lib.AtgFull(o, sh, n, s, int32(dt), int32(dev)) })
	})
	return t
}

// Randn samples N(0, 1) from libtorch's generator.
func Randn(shape []int64, dev Device) *Tensor {
	return call("randn", func(o *lib.Ctensor) { sh, n := shapeArg(shape); lib.AtgRandn(o, sh, n, int32(Float32), int32(dev)) })
}

// Rand samples U[0, 1) from libtorch's generator.
func Rand(shape []int64, dev Device) *Tensor {
	return call("rand", func(o *lib.Ctensor) { sh, n := shapeArg(shape); lib.AtgRand(o, sh, n, int32(Float32), int32(dev)) })
}

// Eye makes an n×n identity matrix.
func Eye(n int64, dev Device) *Tensor {
	return call("eye", func(o *lib.Ctensor) { lib.AtgEye(o, n, int32(Float32), int32(dev)) })
}

// Arange makes [0, 1, ..., n-1] as int64.
func Arange(n int64, dev Device) *Tensor {
	var t *Tensor
	s := lib.AtsInt(n)
	defer lib.AtsFree(s)
	t = call("arange", func(o *lib.Ctensor) { lib.AtgArange(o, s, int32(Int64), int32(dev)) })
	return t
}

// ---- conversion ----

// To copies t to dev.
func (t *Tensor) To(dev Device) *Tensor {
	return call("to", func(o *lib.Ctensor) { lib.AtgTo(o, t.ptr(), int32(dev)) })
}

// ToDType converts t to dt (a copy).
func (t *Tensor) ToDType(dt DType) *Tensor {
	return call("to_dtype", func(o *lib.Ctensor) { lib.AtgToDtype(o, t.ptr(), int32(dt), 0, 1) })
}

// Clone returns a copy of t that shares no storage with it (outside the graph).
func (t *Tensor) Clone() *Tensor {
	return call("clone", func(o *lib.Ctensor) { lib.AtgToDtype(o, t.ptr(), int32(t.DType()), 0, 1) })
}

// Detach returns a tensor sharing t's storage, outside the autograd graph.
func (t *Tensor) Detach() *Tensor {
	return call("detach", func(o *lib.Ctensor) { lib.AtgDetach(o, t.ptr()) })
}

// Contiguous returns t laid out contiguously (t itself, as a new handle, when it already is).
func (t *Tensor) Contiguous() *Tensor {
	return call("contiguous", func(o *lib.Ctensor) { lib.AtgContiguous(o, t.ptr()) })
}

// ---- elementwise ----

func (t *Tensor) Add(u *Tensor) *Tensor {
	return call("add", func(o *lib.Ctensor) { lib.AtgAdd(o, t.ptr(), u.ptr()) })
}
func (t *Tensor) Sub(u *Tensor) *Tensor {
	return call("sub", func(o *lib.Ctensor) { lib.AtgSub(o, t.ptr(), u.ptr()) })
}
func (t *Tensor) Mul(u *Tensor) *Tensor {
	return call("mul", func(o *lib.Ctensor) { lib.AtgMul(o, t.ptr(), u.ptr()) })
}
func (t *Tensor) Div(u *Tensor) *Tensor {
	return call("div", func(o *lib.Ctensor) { lib.AtgDiv(o, t.ptr(), u.ptr()) })
}

func (t *Tensor) AddScalar(v float64) *Tensor {
	var r *Tensor
	withScalar(v, func(s lib.Cscalar) {
		r = call("add_scalar", func(o *lib.Ctensor) { lib.AtgAddScalar(o, t.ptr(), s) })
	})
	return r
}

func (t *Tensor) MulScalar(v float64) *Tensor {
	var r *Tensor
	withScalar(v, func(s lib.Cscalar) {
		r = call("mul_scalar", func(o *lib.Ctensor) { lib.AtgMulScalar(o, t.ptr(), s) })
	})
	return r
}

func (t *Tensor) DivScalar(v float64) *Tensor { return t.MulScalar(1 / v) }

// PowScalar raises every element to e.
func (t *Tensor) PowScalar(e float64) *Tensor {
	var r *Tensor
	withScalar(e, func(s lib.Cscalar) {
		r = call("pow", func(o *lib.Ctensor) { lib.AtgPowTensorScalar(o, t.ptr(), s) })
	})
	return r
}

func (t *Tensor) Neg() *Tensor { return call("neg", func(o *lib.Ctensor) { lib.AtgNeg(o, t.ptr()) }) }
func (t *Tensor) Exp() *Tensor { return call("exp", func(o *lib.Ctensor) { lib.AtgExp(o, t.ptr()) }) }
func (t *Tensor) Log() *Tensor { return call("log", func(o *lib.Ctensor) { lib.AtgLog(o, t.ptr()) }) }
func (t *Tensor) Sqrt() *Tensor {
	return call("sqrt", func(o *lib.Ctensor) { lib.AtgSqrt(o, t.ptr()) })
}
func (t *Tensor) Rsqrt() *Tensor {
	return call("rsqrt", func(o *lib.Ctensor) { lib.AtgRsqrt(o, t.ptr()) })
}
func (t *Tensor) Square() *Tensor {
	return call("square", func(o *lib.Ctensor) { lib.AtgSquare(o, t.ptr()) })
}
func (t *Tensor) Abs() *Tensor { return call("abs", func(o *lib.Ctensor) { lib.AtgAbs(o, t.ptr()) }) }
func (t *Tensor) Sigmoid() *Tensor {
	return call("sigmoid", func(o *lib.Ctensor) { lib.AtgSigmoid(o, t.ptr()) })
}
func (t *Tensor) Tanh() *Tensor {
	return call("tanh", func(o *lib.Ctensor) { lib.AtgTanh(o, t.ptr()) })
}

// Gelu is the exact (erf) GELU, as BERT uses.
// Relu is max(t, 0).
func (t *Tensor) Relu() *Tensor {
	return call("relu", func(o *lib.Ctensor) { lib.AtgRelu(o, t.ptr()) })
}

func (t *Tensor) Gelu() *Tensor {
	return call("gelu", func(o *lib.Ctensor) { lib.AtgGelu(o, t.ptr(), "none") })
}

// Clamp limits every element to [lo, hi].
func (t *Tensor) Clamp(lo, hi float64) *Tensor {
	var r *Tensor
	withScalar(lo, func(a lib.Cscalar) {
		withScalar(hi, func(b lib.Cscalar) {
			r = call("clamp", func(o *lib.Ctensor) { lib.AtgClamp(o, t.ptr(), a, b) })
		})
	})
	return r
}

// Where picks t where cond is true and u elsewhere.
func (t *Tensor) Where(cond, u *Tensor) *Tensor {
	return call("where", func(o *lib.Ctensor) { lib.AtgWhereSelf(o, cond.ptr(), t.ptr(), u.ptr()) })
}

// MaskedFill sets elements where mask is true to v.
func (t *Tensor) MaskedFill(mask *Tensor, v float64) *Tensor {
	var r *Tensor
	withScalar(v, func(s lib.Cscalar) {
		r = call("masked_fill", func(o *lib.Ctensor) { lib.AtgMaskedFill(o, t.ptr(), mask.ptr(), s) })
	})
	return r
}

// Eq returns t == v elementwise (bool).
func (t *Tensor) EqScalar(v float64) *Tensor {
	var r *Tensor
	withScalar(v, func(s lib.Cscalar) { r = call("eq", func(o *lib.Ctensor) { lib.AtgEq(o, t.ptr(), s) }) })
	return r
}

// GtScalar returns t > v elementwise (bool).
func (t *Tensor) GtScalar(v float64) *Tensor {
	var r *Tensor
	withScalar(v, func(s lib.Cscalar) { r = call("gt", func(o *lib.Ctensor) { lib.AtgGt(o, t.ptr(), s) }) })
	return r
}

// LeScalar returns t <= v elementwise (bool).
func (t *Tensor) LeScalar(v float64) *Tensor {
	var r *Tensor
	withScalar(v, func(s lib.Cscalar) { r = call("le", func(o *lib.Ctensor) { lib.AtgLe(o, t.ptr(), s) }) })
	return r
}

// ---- reductions ----

// Sum of all elements.
func (t *Tensor) Sum() *Tensor {
	return call("sum", func(o *lib.Ctensor) { lib.AtgSum(o, t.ptr(), int32(noDType)) })
}

// SumDims sums over dims.
func (t *Tensor) SumDims(dims []int64, keep bool) *Tensor {
	return call("sum_dims", func(o *lib.Ctensor) {
		lib.AtgSumDimIntlist(o, t.ptr(), dims, len(dims), boolInt(keep), int32(noDType))
	})
}

// Mean of all elements.
func (t *Tensor) Mean() *Tensor {
	return call("mean", func(o *lib.Ctensor) { lib.AtgMean(o, t.ptr(), int32(noDType)) })
}

// MeanDims averages over dims.
func (t *Tensor) MeanDims(dims []int64, keep bool) *Tensor {
	return call("mean_dims", func(o *lib.Ctensor) {
		lib.AtgMeanDim(o, t.ptr(), dims, len(dims), boolInt(keep), int32(noDType))
	})
}

// Argmax along dim.
func (t *Tensor) Argmax(dim int64, keep bool) *Tensor {
	return call("argmax", func(o *lib.Ctensor) { lib.AtgArgmax(o, t.ptr(), dim, 0, boolInt(keep)) })
}

// Max of all elements.
func (t *Tensor) Max() *Tensor { return call("max", func(o *lib.Ctensor) { lib.AtgMax(o, t.ptr()) }) }

// ---- shape ----

func (t *Tensor) View(shape ...int64) *Tensor {
	sh, n := shapeArg(shape)
	return call("view", func(o *lib.Ctensor) { lib.AtgView(o, t.ptr(), sh, n) })
}
func (t *Tensor) Reshape(shape ...int64) *Tensor {
	sh, n := shapeArg(shape)
	return call("reshape", func(o *lib.Ctensor) { lib.AtgReshape(o, t.ptr(), sh, n) })
}
func (t *Tensor) Transpose(a, b int64) *Tensor {
	return call("transpose", func(o *lib.Ctensor) { lib.AtgTranspose(o, t.ptr(), a, b) })
}
func (t *Tensor) Permute(dims ...int64) *Tensor {
	return call("permute", func(o *lib.Ctensor) { lib.AtgPermute(o, t.ptr(), dims, len(dims)) })
}
func (t *Tensor) Unsqueeze(d int64) *Tensor {
	return call("unsqueeze", func(o *lib.Ctensor) { lib.AtgUnsqueeze(o, t.ptr(), d) })
}
func (t *Tensor) Squeeze(d int64) *Tensor {
	return call("squeeze", func(o *lib.Ctensor) { lib.AtgSqueezeDim(o, t.ptr(), d) })
}
func (t *Tensor) Expand(shape ...int64) *Tensor {
	return call("expand", func(o *lib.Ctensor) { lib.AtgExpand(o, t.ptr(), shape, len(shape), 0) })
}

// Narrow returns the slice [start, start+length) of dim.
func (t *Tensor) Narrow(dim, start, length int64) *Tensor {
	return call("narrow", func(o *lib.Ctensor) { lib.AtgNarrow(o, t.ptr(), dim, start, length) })
}

// Select returns index i of dim, removing the dim.
func (t *Tensor) Select(dim, i int64) *Tensor {
	return call("select", func(o *lib.Ctensor) { lib.AtgSelect(o, t.ptr(), dim, i) })
}

// IndexSelect gathers the entries of dim listed in idx (int64).
func (t *Tensor) IndexSelect(dim int64, idx *Tensor) *Tensor {
	return call("index_select", func(o *lib.Ctensor) { lib.AtgIndexSelect(o, t.ptr(), dim, idx.ptr()) })
}

// Gather picks along dim by idx.
func (t *Tensor) Gather(dim int64, idx *Tensor) *Tensor {
	return call("gather", func(o *lib.Ctensor) { lib.AtgGather(o, t.ptr(), dim, idx.ptr(), 0) })
}

func ptrs(ts []*Tensor) []lib.Ctensor {
	cs := make([]lib.Ctensor, len(ts))
	for i, t := range ts {
		cs[i] = t.ptr()
	}
	return cs
}

// Cat concatenates along dim.
func Cat(ts []*Tensor, dim int64) *Tensor {
	cs := ptrs(ts)
	return call("cat", func(o *lib.Ctensor) { lib.AtgCat(o, cs, len(cs), dim) })
}

// Stack stacks along a new dim.
func Stack(ts []*Tensor, dim int64) *Tensor {
	cs := ptrs(ts)
	return call("stack", func(o *lib.Ctensor) { lib.AtgStack(o, cs, len(cs), dim) })
}

// ---- linear algebra ----

func (t *Tensor) Matmul(u *Tensor) *Tensor {
	return call("matmul", func(o *lib.Ctensor) { lib.AtgMatmul(o, t.ptr(), u.ptr()) })
}

// Linear computes x·Wᵀ + b, with W stored [out, in] as in HF checkpoints; b may be nil.
func Linear(x, w, b *Tensor) *Tensor {
	return call("linear", func(o *lib.Ctensor) { lib.AtgLinear(o, x.ptr(), w.ptr(), b.ptr()) })
}

// ---- neural-network functions ----

func (t *Tensor) Softmax(dim int64) *Tensor {
	return call("softmax", func(o *lib.Ctensor) { lib.AtgSoftmax(o, t.ptr(), dim, int32(noDType)) })
}
func (t *Tensor) LogSoftmax(dim int64) *Tensor {
	return call("log_softmax", func(o *lib.Ctensor) { lib.AtgLogSoftmax(o, t.ptr(), dim, int32(noDType)) })
}

// Dropout zeroes elements with probability p when train is true.
func (t *Tensor) Dropout(p float64, train bool) *Tensor {
	return call("dropout", func(o *lib.Ctensor) { lib.AtgDropout(o, t.ptr(), p, boolInt(train)) })
}

// LayerNorm normalises over the last dimension.
func LayerNorm(x, w, b *Tensor, eps float64) *Tensor {
	d := x.Size(-1)
	return call("layer_norm", func(o *lib.Ctensor) {
		lib.AtgLayerNorm(o, x.ptr(), []int64{d}, 1, w.ptr(), b.ptr(), eps, 1)
	})
}

// Embedding looks up rows of w by idx (int64).
func Embedding(w, idx *Tensor) *Tensor {
	return call("embedding", func(o *lib.Ctensor) { lib.AtgEmbedding(o, w.ptr(), idx.ptr(), -1, 0, 0) })
}

// reductions for losses (at::Reduction).
const (
	reduceNone = 0
	reduceMean = 1
	reduceSum  = 2
)

// CrossEntropy is the mean cross-entropy of logits [N, C] against int64 targets [N].
func CrossEntropy(logits, targets *Tensor) *Tensor {
	return call("cross_entropy", func(o *lib.Ctensor) {
		lib.AtgCrossEntropyLoss(o, logits.ptr(), targets.ptr(), nil, reduceMean, -100, 0)
	})
}

// MSE is the mean squared error.
func MSE(a, b *Tensor) *Tensor {
	return call("mse_loss", func(o *lib.Ctensor) { lib.AtgMseLoss(o, a.ptr(), b.ptr(), reduceMean) })
}

// KLDivSum is Σ target·(log target − input) for log-probabilities input and
// probabilities target (PyTorch's kl_div with reduction "sum").
func KLDivSum(logInput, target *Tensor) *Tensor {
	return call("kl_div", func(o *lib.Ctensor) { lib.AtgKlDiv(o, logInput.ptr(), target.ptr(), reduceSum, 0) })
}

// TopK returns the k largest (or smallest) values along dim and their indices.
func (t *Tensor) TopK(k, dim int64, largest bool) (values, indices *Tensor) {
	var out [2]lib.Ctensor
	lib.AtgTopk(&out[0], t.ptr(), k, dim, boolInt(largest), 1)
	check("topk")
	return wrap(out[0]), wrap(out[1])
}

// ---- autograd ----

// SetRequiresGrad marks t as a leaf that accumulates gradients.
func (t *Tensor) SetRequiresGrad(b bool) {
	inplace("requires_grad_", func(o *lib.Ctensor) { lib.AtgRequiresGrad_(o, t.ptr(), boolInt(b)) })
}

// RequiresGrad reports whether t records gradients.
func (t *Tensor) RequiresGrad() bool {
	r := lib.AtRequiresGrad(t.ptr())
	check("requires_grad")
	return r
}

// Backward runs backpropagation from the scalar t.
func (t *Tensor) Backward() {
	lib.AtBackward(t.ptr(), 0, 0)
	check("backward")
}

// Grad returns t's accumulated gradient (undefined when there is none).
func (t *Tensor) Grad() *Tensor {
	return call("grad", func(o *lib.Ctensor) { lib.AtgGrad(o, t.ptr()) })
}

// ---- in-place (optimisers, mask clamping, weight surgery) ----

// Zero_ sets every element to 0.
func (t *Tensor) Zero_() { inplace("zero_", func(o *lib.Ctensor) { lib.AtgZero_(o, t.ptr()) }) }

// Fill_ sets every element to v.
func (t *Tensor) Fill_(v float64) {
	withScalar(v, func(s lib.Cscalar) { inplace("fill_", func(o *lib.Ctensor) { lib.AtgFill_(o, t.ptr(), s) }) })
}

// Copy_ copies src into t (shapes must match; devices may differ).
func (t *Tensor) Copy_(src *Tensor) {
	lib.AtCopy_(t.ptr(), src.ptr())
	check("copy_")
}

// Add_ adds u into t.
func (t *Tensor) Add_(u *Tensor) {
	inplace("add_", func(o *lib.Ctensor) { lib.AtgAdd_(o, t.ptr(), u.ptr()) })
}

// Mul_ multiplies t by u.
func (t *Tensor) Mul_(u *Tensor) {
	inplace("mul_", func(o *lib.Ctensor) { lib.AtgMul_(o, t.ptr(), u.ptr()) })
}

// MulScalar_ multiplies t by v.
func (t *Tensor) MulScalar_(v float64) {
	withScalar(v, func(s lib.Cscalar) {
		inplace("mul_scalar_", func(o *lib.Ctensor) { lib.AtgMulScalar_(o, t.ptr(), s) })
	})
}

// Addcmul_ adds a·b into t (value 1; scale a beforehand for other values).
func (t *Tensor) Addcmul_(a, b *Tensor) {
	inplace("addcmul_", func(o *lib.Ctensor) { lib.AtgAddcmul_(o, t.ptr(), a.ptr(), b.ptr()) })
}

// Addcdiv_ adds a/b into t.
func (t *Tensor) Addcdiv_(a, b *Tensor) {
	inplace("addcdiv_", func(o *lib.Ctensor) { lib.AtgAddcdiv_(o, t.ptr(), a.ptr(), b.ptr()) })
}

// Clamp_ limits t to [lo, hi] in place.
func (t *Tensor) Clamp_(lo, hi float64) {
	withScalar(lo, func(a lib.Cscalar) {
		withScalar(hi, func(b lib.Cscalar) {
			inplace("clamp_", func(o *lib.Ctensor) { lib.AtgClamp_(o, t.ptr(), a, b) })
		})
	})
}

// Normal_ fills t with N(mean, std) samples.
func (t *Tensor) Normal_(mean, std float64) {
	inplace("normal_", func(o *lib.Ctensor) { lib.AtgNormal_(o, t.ptr(), mean, std) })
}

// Uniform_ fills t with U[lo, hi) samples.
func (t *Tensor) Uniform_(lo, hi float64) {
	inplace("uniform_", func(o *lib.Ctensor) { lib.AtgUniform_(o, t.ptr(), lo, hi) })
}

// scaledDotProductAttention exists only to test that ops missing from an
// older libtorch fail with an error rather than at build time.
func scaledDotProductAttention(q, k, v *Tensor) *Tensor {
	return call("scaled_dot_product_attention", func(o *lib.Ctensor) {
		lib.AtgScaledDotProductAttention(o, q.ptr(), k.ptr(), v.ptr(), nil, 0, 0, 0, 1)
	})
}

// Alias returns a second handle to the same tensor (same storage and
// autograd identity), owned by the current scope.
func (t *Tensor) Alias() *Tensor {
	c := lib.AtShallowClone(t.ptr())
	check("shallow_clone")
	return wrap(c)
}

// Lerp_ moves t towards end by weight w: t += w·(end − t).
func (t *Tensor) Lerp_(end *Tensor, w float64) {
	withScalar(w, func(s lib.Cscalar) { inplace("lerp_", func(o *lib.Ctensor) { lib.AtgLerp_(o, t.ptr(), end.ptr(), s) }) })
}

// AddScalar_ adds v to every element.
func (t *Tensor) AddScalar_(v float64) {
	withScalar(v, func(s lib.Cscalar) { inplace("add_scalar_", func(o *lib.Ctensor) { lib.AtgAddScalar_(o, t.ptr(), s) }) })
}

// Sqrt_ takes the square root of every element in place.
func (t *Tensor) Sqrt_() { inplace("sqrt_", func(o *lib.Ctensor) { lib.AtgSqrt_(o, t.ptr()) }) }

// Norm is the L2 norm of all elements (a 0-dimensional tensor).
func (t *Tensor) Norm() *Tensor {
	return call("norm", func(o *lib.Ctensor) { lib.AtgNorm(o, t.ptr()) })
}
