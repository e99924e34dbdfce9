package checkpoint

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeConfig(t testing.TB, dir string, b []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "config.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestReadConfigRejectsImpossibleShapes(t *testing.T) {
	base, _ := json.Marshal(Tiny())
	cases := []struct{ edit, want string }{
		{`"num_attention_heads":128`, "hidden_size 64 is not a multiple of num_attention_heads 128"},
		{`"num_attention_heads":3`, "hidden_size 64 is not a multiple of num_attention_heads 3"},
		{`"num_attention_heads":0`, "num_attention_heads must be a positive integer"},
		{`"hidden_dropout_prob":1.5`, "hidden_dropout_prob 1.5: want a probability in [0, 1)"},
		{`"layer_norm_eps":-1`, "layer_norm_eps -1"},
	}
	for _, c := range cases {
		var m map[string]any
		json.Unmarshal(base, &m)
		k, v, _ := strings.Cut(c.edit, ":")
		var val any
		json.Unmarshal([]byte(v), &val)
		m[strings.Trim(k, `"`)] = val
		b, _ := json.Marshal(m)
		dir := t.TempDir()
		writeConfig(t, dir, b)
		_, err := ReadConfig(dir)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "config.json") {
			t.Errorf("%s: err = %v, want one naming config.json and %q", c.edit, err, c.want)
		}
	}
	dir := t.TempDir()
	writeConfig(t, dir, base)
	if _, err := ReadConfig(dir); err != nil {
		t.Errorf("the tiny config is rejected: %v", err)
	}
}

// FuzzReadConfig: any config.json is either rejected or describes a BERT
// whose shapes the model code can build (no division by zero, no heads of
// unequal size); it never panics.
func FuzzReadConfig(f *testing.F) {
	for _, c := range []Config{Tiny(), BertBase()} {
		b, _ := json.Marshal(c)
		f.Add(b)
	}
	f.Add([]byte(`{"hidden_size":64,"num_attention_heads":128,"num_hidden_layers":2,"intermediate_size":1,"vocab_size":1,"max_position_embeddings":1,"type_vocab_size":1}`))
	f.Add([]byte(`{"model_type":"bert","id2label":{"0":"a","x":"b"}}`))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		writeConfig(t, dir, b)
		c, err := ReadConfig(dir)
		if err != nil {
			return
		}
		if c.HiddenSize <= 0 || c.NumAttentionHeads <= 0 || c.HiddenSize%c.NumAttentionHeads != 0 || c.NumHiddenLayers <= 0 {
			t.Fatalf("accepted impossible shapes: %+v", c)
		}
		c.Labels()
	})
}
