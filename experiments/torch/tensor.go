//go:build torch

package torch

import (
	"fmt"
	"math"
	"unsafe"

	lib "github.com/sugarme/gotch/libtch"
)

// DType is a libtorch scalar type (c10::ScalarType values).
type DType int32

const (
	Uint8    DType = 0
	Int32    DType = 3
	Int64    DType = 4
	Float16  DType = 5
	Float32  DType = 6
	Float64  DType = 7
	Bool     DType = 11
	BFloat16 DType = 15
	noDType  DType = -1
)

func (d DType) size() uint {
	switch d {
	case Uint8, Bool:
		return 1
	case Float16, BFloat16:
		return 2
	case Int32, Float32:
		return 4
	}
	return 8
}

func (d DType) String() string {
	switch d {
	case Uint8:
		return "uint8"
	case Int32:
		return "int32"
	case Int64:
		return "int64"
	case Float16:
		return "float16"
	case Float32:
		return "float32"
	case Float64:
		return "float64"
	case Bool:
		return "bool"
	case BFloat16:
		return "bfloat16"
	}
	return fmt.Sprintf("dtype(%d)", int32(d))
}

// Tensor is a handle to a libtorch tensor. It is owned by the Scope that was
// innermost when it was created (or by nobody, when no scope was open: the
// caller frees it).
type Tensor struct {
	c     lib.Ctensor
	scope *Scope
}

// live counts tensors not yet freed, for leak tests.
var live int

// Live returns the number of tensors created and not yet freed.
func Live() int { return live }

func wrap(c lib.Ctensor) *Tensor {
	t := &Tensor{c: c}
	live++
	if current != nil {
		t.scope = current
		current.ts = append(current.ts, t)
	}
	return t
}

// Free releases the tensor now. Freeing twice is harmless.
func (t *Tensor) Free() {
	if t == nil || t.c == nil {
		return
	}
	lib.AtFree(t.c)
	t.c = nil
	live--
}

func (t *Tensor) ptr() lib.Ctensor {
	if t == nil {
		return nil
	}
	if t.c == nil {
		panic(&Error{Op: "use", Msg: "tensor used after Free (it belonged to a closed scope: Keep it to use it longer)"})
	}
	return t.c
}

// Scope owns the tensors created while it is the innermost open scope.
type Scope struct {
	parent *Scope
	ts     []*Tensor
	closed bool
}

var current *Scope

// NewScope opens a scope nested in the current one.
func NewScope() *Scope {
	s := &Scope{parent: current}
	current = s
	return s
}

// Close frees every tensor the scope still owns and makes its parent current.
// Scopes close innermost first.
func (s *Scope) Close() {
	if s.closed {
		return
	}
	if current != s {
		panic("torch: scopes must close innermost first")
	}
	for _, t := range s.ts {
		if t.scope == s {
			t.Free()
		}
	}
	s.ts = nil
	s.closed = true
	current = s.parent
}

// Keep moves ts out of the scope to its parent scope (or to the caller, at
// the outermost level) so they survive Close. It returns its first argument
// for convenience.
func (s *Scope) Keep(ts ...*Tensor) *Tensor {
	for _, t := range ts {
		if t == nil || t.scope != s {
			continue
		}
		t.scope = s.parent
		if s.parent != nil {
			s.parent.ts = append(s.parent.ts, t)
		}
	}
	if len(ts) == 0 {
		return nil
	}
	return ts[0]
}

// WithScope runs fn in a new scope, keeping what fn returns.
func WithScope(fn func() *Tensor) *Tensor {
	s := NewScope()
	defer s.Close()
	return s.Keep(fn())
}

// Detached returns t's handle without an owner: the caller frees it. Used for
// long-lived tensors (parameters, optimiser state) created inside a scope.
func (t *Tensor) Detached() *Tensor {
	t.scope = nil
	return t
}

// call runs a libtch function that writes one result, and wraps it.
func call(op string, f func(out *lib.Ctensor)) *Tensor {
	var out [1]lib.Ctensor
	f(&out[0])
	check(op)
	return wrap(out[0])
}

// inplace runs an in-place libtch function. libtch returns a second handle to
// the same tensor; it is deleted at once so nothing leaks.
func inplace(op string, f func(out *lib.Ctensor)) {
	var out [1]lib.Ctensor
	f(&out[0])
	check(op)
	if out[0] != nil {
		lib.AtFree(out[0])
	}
}

// scalar makes a libtorch scalar for the duration of f.
func withScalar(v float64, f func(s lib.Cscalar)) {
	s := lib.AtsFloat(v)
	defer lib.AtsFree(s)
	f(s)
}

func boolInt(b bool) int32 {
	if b {
		return 1
	}
	return 0
}

// Shape returns the sizes of t.
func (t *Tensor) Shape() []int64 {
	n := lib.AtDim(t.ptr())
	check("dim")
	if n == 0 {
		return []int64{}
	}
	dims := make([]int64, n)
	lib.AtShape(t.c, unsafe.Pointer(&dims[0]))
	check("shape")
	return dims
}

// Dim returns the number of dimensions.
func (t *Tensor) Dim() int { n := lib.AtDim(t.ptr()); check("dim"); return int(n) }

// Size returns the size of dimension d (negative counts from the end).
func (t *Tensor) Size(d int) int64 {
	s := t.Shape()
	if d < 0 {
		d += len(s)
	}
	return s[d]
}

// Numel returns the number of elements.
func (t *Tensor) Numel() int64 {
	n := int64(1)
	for _, d := range t.Shape() {
		n *= d
	}
	return n
}

// DType returns the element type.
func (t *Tensor) DType() DType { d := lib.AtScalarType(t.ptr()); check("scalar_type"); return DType(d) }

// Device returns where t lives.
func (t *Tensor) Device() Device { d := lib.AtDevice(t.ptr()); check("device"); return Device(d) }

// Defined reports whether t holds a tensor (an undefined gradient does not).
func (t *Tensor) Defined() bool {
	if t == nil || t.c == nil {
		return false
	}
	d := lib.AtDefined(t.c)
	check("defined")
	return d
}

// shapeArg returns shape as libtch's wrappers take it: they index the first
// element even for 0-dimensional shapes, so an empty shape is passed as a
// one-element slice with length 0.
func shapeArg(shape []int64) ([]int64, int) {
	if len(shape) == 0 {
		return []int64{0}, 0
	}
	return shape, len(shape)
}

func fromData(op string, data unsafe.Pointer, shape []int64, dt DType, dev Device) *Tensor {
	sh, n := shapeArg(shape)
	c := lib.AtTensorOfData(data, sh, uint(n), dt.size(), int(dt))
	check(op)
	t := wrap(c)
	if dev.IsCUDA() {
		moved := t.To(dev)
		t.Free()
		return moved
	}
	return t
}

func checkLen(op string, n int, shape []int64) {
	want := int64(1)
	for _, d := range shape {
		want *= d
	}
	if int64(n) != want {
		panic(&Error{Op: op, Msg: fmt.Sprintf("%d values for shape %v (%d elements)", n, shape, want)})
	}
}

// FromFloat32 makes a float32 tensor of the given shape on dev from data (copied).
func FromFloat32(data []float32, shape []int64, dev Device) *Tensor {
	checkLen("from_float32", len(data), shape)
	if len(data) == 0 {
		return Zeros(shape, Float32, dev)
	}
	return fromData("from_float32", unsafe.Pointer(&data[0]), shape, Float32, dev)
}

// FromInt64 makes an int64 tensor of the given shape on dev from data (copied).
func FromInt64(data []int64, shape []int64, dev Device) *Tensor {
	checkLen("from_int64", len(data), shape)
	if len(data) == 0 {
		return Zeros(shape, Int64, dev)
	}
	return fromData("from_int64", unsafe.Pointer(&data[0]), shape, Int64, dev)
}

// FromBytes makes a tensor of dtype dt from raw little-endian bytes (copied).
func FromBytes(data []byte, shape []int64, dt DType, dev Device) *Tensor {
	checkLen("from_bytes", len(data)/int(dt.size()), shape)
	if len(data) == 0 {
		return Zeros(shape, dt, dev)
	}
	return fromData("from_bytes", unsafe.Pointer(&data[0]), shape, dt, dev)
}

// Scalar makes a 0-dimensional float32 tensor.
func Scalar(v float32, dev Device) *Tensor { return FromFloat32([]float32{v}, []int64{}, dev) }

// Float32s copies t (any device, any float type) into a new slice.
func (t *Tensor) Float32s() []float32 {
	src := t
	if t.DType() != Float32 {
		src = t.ToDType(Float32)
		defer src.Free()
	}
	n := src.Numel()
	out := make([]float32, n)
	if n > 0 {
		lib.AtCopyData(src.ptr(), unsafe.Pointer(&out[0]), uint(n), 4)
		check("copy_data")
	}
	return out
}

// Int64s copies t into a new slice.
func (t *Tensor) Int64s() []int64 {
	src := t
	if t.DType() != Int64 {
		src = t.ToDType(Int64)
		defer src.Free()
	}
	n := src.Numel()
	out := make([]int64, n)
	if n > 0 {
		lib.AtCopyData(src.ptr(), unsafe.Pointer(&out[0]), uint(n), 8)
		check("copy_data")
	}
	return out
}

// Bytes copies t's raw little-endian data.
func (t *Tensor) Bytes() []byte {
	n := t.Numel()
	sz := t.DType().size()
	out := make([]byte, uint(n)*sz)
	if n > 0 {
		c := t.Contiguous()
		defer c.Free()
		lib.AtCopyData(c.ptr(), unsafe.Pointer(&out[0]), uint(n), sz)
		check("copy_data")
	}
	return out
}

// Item returns the value of a one-element tensor.
func (t *Tensor) Item() float64 {
	v := t.Float32s()
	if len(v) != 1 {
		panic(&Error{Op: "item", Msg: fmt.Sprintf("tensor has %d elements, want 1", len(v))})
	}
	return float64(v[0])
}

// IsFinite reports whether every element is finite.
func (t *Tensor) IsFinite() bool {
	for _, v := range t.Float32s() {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return false
		}
	}
	return true
}

func (t *Tensor) String() string {
	if t == nil || t.c == nil {
		return "Tensor(freed)"
	}
	return fmt.Sprintf("Tensor(%v, %s, %s)", t.Shape(), t.DType(), t.Device())
}
