//go:build torch

package checkpoint

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"

	"github.com/sugarme/gotch/pickle"
)

// ReadPickle reads a torch.save state dict (pytorch_model.bin, zip or legacy
// format) with gotch's unpickler, materialising each tensor contiguously from
// its storage, offset and strides. Float types become F32; integer types I64.
func ReadPickle(path string) (map[string]Raw, error) {
	obj, err := pickle.LoadWithUnpickler(path, func(r io.Reader) pickle.Unpickler { return pickle.NewUnpickler(r) })
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	entries := map[string]any{}
	switch d := obj.(type) {
	case *pickle.Dict:
		for _, e := range *d {
			k, ok := e.Key.(string)
			if !ok {
				return nil, fmt.Errorf("read %s: state dict key %v is not a string", path, e.Key)
			}
			entries[k] = e.Value
		}
	case *pickle.OrderedDict:
		for k, e := range d.Map {
			ks, ok := k.(string)
			if !ok {
				return nil, fmt.Errorf("read %s: state dict key %v is not a string", path, k)
			}
			entries[ks] = e.Value
		}
	default:
		return nil, fmt.Errorf("read %s: top-level object is %T, want a state dict", path, obj)
	}
	out := map[string]Raw{}
	for name, v := range entries {
		st, ok := v.(*pickle.StorageTensor)
		if !ok {
			return nil, fmt.Errorf("read %s: %q is %T, not a tensor", path, name, v)
		}
		r, err := materialise(st)
		if err != nil {
			return nil, fmt.Errorf("read %s: tensor %q: %w", path, name, err)
		}
		out[name] = r
	}
	return out, nil
}

func materialise(st *pickle.StorageTensor) (Raw, error) {
	var (
		get   func(i int64) float64
		n     int64
		dtype = "F32"
	)
	switch s := st.Source.(type) {
	case *pickle.FloatStorage:
		n, get = int64(len(s.Data)), func(i int64) float64 { return float64(s.Data[i]) }
	case *pickle.DoubleStorage:
		n, get = int64(len(s.Data)), func(i int64) float64 { return s.Data[i] }
	case *pickle.HalfStorage:
		n, get = int64(len(s.Data)), func(i int64) float64 { return float64(s.Data[i].Float32()) }
	case *pickle.LongStorage:
		n, get, dtype = int64(len(s.Data)), func(i int64) float64 { return float64(s.Data[i]) }, "I64"
	case *pickle.IntStorage:
		n, get, dtype = int64(len(s.Data)), func(i int64) float64 { return float64(s.Data[i]) }, "I64"
	default:
		return Raw{}, fmt.Errorf("unsupported storage %T", st.Source)
	}
	shape := append([]int64{}, st.Size...)
	numel := int64(1)
	for _, d := range shape {
		numel *= d
	}
	es := 4
	if dtype == "I64" {
		es = 8
	}
	data := make([]byte, numel*int64(es))
	idx := make([]int64, len(shape))
	for k := int64(0); k < numel; k++ {
		off := st.StorageOffset
		for d := range shape {
			off += idx[d] * st.Stride[d]
		}
		if off < 0 || off >= n {
			return Raw{}, fmt.Errorf("element %d at storage offset %d outside storage of %d", k, off, n)
		}
		v := get(off)
		if dtype == "F32" {
			binary.LittleEndian.PutUint32(data[4*k:], math.Float32bits(float32(v)))
		} else {
			binary.LittleEndian.PutUint64(data[8*k:], uint64(int64(v)))
		}
		for d := len(shape) - 1; d >= 0; d-- {
			idx[d]++
			if idx[d] < shape[d] {
				break
			}
			idx[d] = 0
		}
	}
	return Raw{DType: dtype, Shape: shape, Data: data}, nil
}
