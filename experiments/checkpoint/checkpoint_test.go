package checkpoint

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSafetensorsRoundTrip(t *testing.T) {
	p := filepath.Join(t.TempDir(), "model.safetensors")
	in := map[string]Raw{
		"b.weight": F32([]int64{2, 3}, []float32{1, 2, 3, 4, 5, -6}),
		"a.bias":   F32([]int64{1}, []float32{0.5}),
		"ids":      {DType: "I64", Shape: []int64{2}, Data: []byte{1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0}},
	}
	if err := WriteSafetensors(p, in, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	hl := binary.LittleEndian.Uint64(b)
	if hl%8 != 0 {
		t.Errorf("header length %d not 8-aligned", hl)
	}
	// Data section in sorted-name order: a.bias, b.weight, ids.
	if !bytes.Contains(b[8:8+hl], []byte(`"a.bias":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}`)) {
		t.Errorf("header %s", b[8:8+hl])
	}
	out, meta, err := ReadSafetensors(p)
	if err != nil {
		t.Fatal(err)
	}
	if meta["format"] != "pt" || len(out) != 3 {
		t.Fatalf("meta %v, %d tensors", meta, len(out))
	}
	w, _ := out["b.weight"].Float32()
	if w[5] != -6 || out["b.weight"].Shape[1] != 3 {
		t.Fatalf("b.weight = %v %v", w, out["b.weight"].Shape)
	}
}

func TestSafetensorsRejectsCorruptFiles(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.safetensors")
	if err := WriteSafetensors(good, map[string]Raw{"x": F32([]int64{4}, []float32{1, 2, 3, 4})}, nil); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(good)
	cases := map[string][]byte{
		"truncated data":  b[:len(b)-3],
		"huge header len": append(binary.LittleEndian.AppendUint64(nil, 1<<40), b[8:]...),
		"short":           b[:5],
		"bad json":        append(append(binary.LittleEndian.AppendUint64(nil, 4), []byte("{xx}")...), 0),
	}
	for name, data := range cases {
		p := filepath.Join(dir, strings.ReplaceAll(name, " ", "_"))
		os.WriteFile(p, data, 0o644)
		if _, _, err := ReadSafetensors(p); err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: err = %v, want an error naming the file", name, err)
		}
	}
}

func TestHalfAndBFloat16(t *testing.T) {
	// Hand-computed encodings: F16 0x3C00 = 1, 0xC000 = -2, 0x3555 ≈ 0.33325, 0x0001 = 2^-24;
	// BF16 0x3F80 = 1, 0x4049 = 3.140625.
	f16 := Raw{DType: "F16", Shape: []int64{4}, Data: []byte{0x00, 0x3C, 0x00, 0xC0, 0x55, 0x35, 0x01, 0x00}}
	got, err := f16.Float32()
	if err != nil {
		t.Fatal(err)
	}
	want := []float32{1, -2, 0.33325195, float32(math.Ldexp(1, -24))}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("f16[%d] = %v, want %v", i, got[i], want[i])
		}
	}
	bf := Raw{DType: "BF16", Shape: []int64{2}, Data: []byte{0x80, 0x3F, 0x49, 0x40}}
	gb, _ := bf.Float32()
	if gb[0] != 1 || gb[1] != 3.140625 {
		t.Errorf("bf16 = %v", gb)
	}
}

func TestConfigKeepsUnknownKeysAndLabels(t *testing.T) {
	dir := t.TempDir()
	src := `{"architectures":["BertForSequenceClassification"],"model_type":"bert","vocab_size":30522,"hidden_size":768,
"num_hidden_layers":12,"num_attention_heads":12,"intermediate_size":3072,"hidden_act":"gelu","max_position_embeddings":512,
"type_vocab_size":2,"id2label":{"0":"entailment","1":"neutral","2":"contradiction"},"do_layer_distill":true}`
	os.WriteFile(filepath.Join(dir, "config.json"), []byte(src), 0o644)
	c, err := ReadConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	if l := c.Labels(); len(l) != 3 || l[1] != "neutral" {
		t.Fatalf("labels %v", l)
	}
	out := t.TempDir()
	if err := WriteConfig(out, c); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(out, "config.json"))
	if !strings.Contains(string(b), `"do_layer_distill": true`) {
		t.Errorf("unknown key lost:\n%s", b)
	}
	c.SetLabels([]string{"LABEL_0", "LABEL_1"})
	if c.Labels() != nil {
		t.Error("placeholder labels must read as none")
	}
	os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"model_type":"roberta","vocab_size":1}`), 0o644)
	if _, err := ReadConfig(dir); err == nil || !strings.Contains(err.Error(), "roberta") {
		t.Errorf("non-BERT config: err = %v", err)
	}
}
