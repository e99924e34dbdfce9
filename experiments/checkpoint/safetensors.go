// Package checkpoint reads and writes model checkpoints in the Hugging Face
// layout: config.json, vocab.txt / tokenizer.json, and weights as
// model.safetensors or pytorch_model.bin. The safetensors and config code is
// pure Go; reading torch's pickle format needs libtorch (pickle.go).
package checkpoint

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"sort"

	"github.com/cofiharness/cofi/internal/atomicfile"
)

// Raw is one tensor as stored: dtype name as safetensors spells it ("F32",
// "F16", "BF16", "F64", "I64", "I32", "U8", "BOOL"), shape, and contiguous
// little-endian data.
type Raw struct {
	DType string
	Shape []int64
	Data  []byte
}

var dtypeSize = map[string]int{"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1}

// Numel is the element count.
func (r Raw) Numel() int64 {
	n := int64(1)
	for _, d := range r.Shape {
		n *= d
	}
	return n
}

// Float32 converts the data to float32 (from F32, F16, BF16 or F64).
func (r Raw) Float32() ([]float32, error) {
	n := int(r.Numel())
	out := make([]float32, n)
	switch r.DType {
	case "F32":
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(r.Data[4*i:]))
		}
	case "F64":
		for i := range out {
			out[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(r.Data[8*i:])))
		}
	case "BF16":
		for i := range out {
			out[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(r.Data[2*i:])) << 16)
		}
	case "F16":
		for i := range out {
			out[i] = halfToFloat(binary.LittleEndian.Uint16(r.Data[2*i:]))
		}
	default:
		return nil, fmt.Errorf("dtype %s is not a float type", r.DType)
	}
	return out, nil
}

// F32 makes a Raw from float32 values.
func F32(shape []int64, v []float32) Raw {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return Raw{DType: "F32", Shape: shape, Data: b}
}

func halfToFloat(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch {
	case exp == 0 && frac == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal
		for frac&0x400 == 0 {
			frac <<= 1
			exp--
		}
		exp++
		frac &= 0x3ff
	case exp == 0x1f:
		return math.Float32frombits(sign | 0xff<<23 | frac<<13)
	}
	return math.Float32frombits(sign | (exp+112)<<23 | frac<<13)
}

type stEntry struct {
	DType   string   `json:"dtype"`
	Shape   []int64  `json:"shape"`
	Offsets [2]int64 `json:"data_offsets"`
}

// maxHeader bounds the JSON header so a corrupt length cannot allocate gigabytes.
const maxHeader = 100 << 20

// ReadSafetensors reads every tensor of a .safetensors file.
func ReadSafetensors(path string) (map[string]Raw, map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	m, meta, err := decodeSafetensors(f, st.Size())
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", path, err)
	}
	return m, meta, nil
}

func decodeSafetensors(r io.ReaderAt, size int64) (map[string]Raw, map[string]string, error) {
	var lb [8]byte
	if _, err := r.ReadAt(lb[:], 0); err != nil {
		return nil, nil, fmt.Errorf("header length: %w", err)
	}
	hl := binary.LittleEndian.Uint64(lb[:])
	if hl > maxHeader || int64(hl)+8 > size {
		return nil, nil, fmt.Errorf("header length %d does not fit a %d-byte file", hl, size)
	}
	hb := make([]byte, hl)
	if _, err := r.ReadAt(hb, 8); err != nil {
		return nil, nil, fmt.Errorf("header: %w", err)
	}
	var header map[string]json.RawMessage
	if err := json.Unmarshal(hb, &header); err != nil {
		return nil, nil, fmt.Errorf("header JSON: %w", err)
	}
	base := 8 + int64(hl)
	out := map[string]Raw{}
	var meta map[string]string
	for name, msg := range header {
		if name == "__metadata__" {
			if err := json.Unmarshal(msg, &meta); err != nil {
				return nil, nil, fmt.Errorf("__metadata__: %w", err)
			}
			continue
		}
		var e stEntry
		if err := json.Unmarshal(msg, &e); err != nil {
			return nil, nil, fmt.Errorf("tensor %q: %w", name, err)
		}
		es, ok := dtypeSize[e.DType]
		if !ok {
			return nil, nil, fmt.Errorf("tensor %q: unsupported dtype %q", name, e.DType)
		}
		n := int64(1)
		for _, d := range e.Shape {
			if d < 0 {
				return nil, nil, fmt.Errorf("tensor %q: negative dimension in shape %v", name, e.Shape)
			}
			n *= d
		}
		lo, hi := e.Offsets[0], e.Offsets[1]
		if lo < 0 || hi < lo || base+hi > size || hi-lo != n*int64(es) {
			return nil, nil, fmt.Errorf("tensor %q: data offsets [%d, %d) do not match shape %v × %s in a %d-byte data section", name, lo, hi, e.Shape, e.DType, size-base)
		}
		data := make([]byte, hi-lo)
		if _, err := r.ReadAt(data, base+lo); err != nil {
			return nil, nil, fmt.Errorf("tensor %q: %w", name, err)
		}
		out[name] = Raw{DType: e.DType, Shape: e.Shape, Data: data}
	}
	return out, meta, nil
}

// WriteSafetensors writes tensors (sorted by name, as the Python library does)
// atomically to path.
func WriteSafetensors(path string, tensors map[string]Raw, meta map[string]string) error {
	names := make([]string, 0, len(tensors))
	for n := range tensors {
		names = append(names, n)
	}
	sort.Strings(names)
	header := map[string]any{}
	if len(meta) > 0 {
		header["__metadata__"] = meta
	}
	var off int64
	for _, n := range names {
		t := tensors[n]
		if int64(len(t.Data)) != t.Numel()*int64(dtypeSize[t.DType]) {
			return fmt.Errorf("write %s: tensor %q has %d bytes for shape %v × %s", path, n, len(t.Data), t.Shape, t.DType)
		}
		shape := t.Shape
		if shape == nil {
			shape = []int64{}
		}
		header[n] = stEntry{DType: t.DType, Shape: shape, Offsets: [2]int64{off, off + int64(len(t.Data))}}
		off += int64(len(t.Data))
	}
	hb, err := json.Marshal(header)
	if err != nil {
		return err
	}
	// Pad the header with spaces to an 8-byte boundary, as the reference
	// implementation does, so the data section is aligned.
	for len(hb)%8 != 0 {
		hb = append(hb, ' ')
	}
	buf := make([]byte, 0, 8+len(hb)+int(off))
	buf = binary.LittleEndian.AppendUint64(buf, uint64(len(hb)))
	buf = append(buf, hb...)
	for _, n := range names {
		buf = append(buf, tensors[n].Data...)
	}
	return atomicfile.Write(path, buf, 0o644)
}
