//go:build torch

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBadFlagsRejectedBeforeWork: out-of-range flag values of the libtorch
// commands exit 2 with a message naming the flag, the value and the allowed
// range, before any output directory is created (they used to panic, build
// an empty model, or train until NaN).
func TestBadFlagsRejectedBeforeWork(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	common := []string{"--task", "syn-single", "--data", filepath.Join(dir, "data"), "--out", out}
	cases := []struct {
		args []string
		want string
	}{
		{append([]string{"eval", "--model", dir, "--latency", "--latency-batch", "0"}, common[:4]...), "--latency-batch 0: want an integer >= 1"},
		{append([]string{"eval", "--model", dir, "--batch", "-2"}, common[:4]...), "--batch -2: want an integer >= 1"},
		{append([]string{"eval", "--model", dir, "--latency", "--rounds", "1"}, common[:4]...), "--rounds 1: want 0"},
		{append([]string{"prune", "--student", dir, "--teacher", dir, "--sparsity", "1.5"}, common...), "--sparsity 1.5: want a fraction in [0, 1)"},
		{append([]string{"prune", "--student", dir, "--teacher", dir, "--sparsity", "95"}, common...), "--sparsity 95: want a fraction in [0, 1)"},
		{append([]string{"prune", "--student", dir, "--teacher", dir, "--stages", "prune,finale"}, common...), `unknown stage "finale"`},
		{append([]string{"prune", "--student", dir, "--teacher", dir, "--set", "final.lr=nan"}, common...), `"lr": NaN is not a finite number`},
		{append([]string{"finetune", "--model", dir, "--lr", "0"}, common...), "--lr: 0 is out of range: want a number > 0"},
		{append([]string{"finetune", "--model", dir, "--epochs", "0"}, common...), "--epochs: 0 is out of range: want a number > 0"},
		{append([]string{"finetune", "--model", dir, "--batch", "0"}, common...), "--batch: 0 is out of range"},
		{append([]string{"finetune", "--model", dir, "--warmup-frac", "2"}, common...), "--warmup-frac: 2 is out of range: want a number in [0, 1]"},
		{append([]string{"finetune", "--model", dir, "--threads", "-1"}, common...), "--threads -1: want an integer >= 0"},
		{[]string{"init-model", "--out", out, "--layers", "-1"}, "--layers -1: want an integer >= 0"},
		{[]string{"bench", "--steps", "0"}, "--steps 0: want an integer >= 1"},
	}
	for _, c := range cases {
		got, code := cofiOut(t, dir, c.args...)
		if code != 2 || !strings.Contains(got, c.want) || strings.Contains(got, "panic") {
			t.Errorf("cofi %s: exit %d, output:\n%s\nwant exit 2 and %q", strings.Join(c.args, " "), code, got, c.want)
		}
		if _, err := os.Stat(out); err == nil {
			t.Fatalf("cofi %s created %s before rejecting its input", strings.Join(c.args, " "), out)
		}
	}
}

// TestImpossibleCheckpointShapes: a config.json with more attention heads
// than hidden dims is an error naming the file, not a panic.
func TestImpossibleCheckpointShapes(t *testing.T) {
	dir := t.TempDir()
	data, model := filepath.Join(dir, "data"), filepath.Join(dir, "model")
	for _, args := range [][]string{{"synth", "--out", data, "--tasks", "syn-single", "--train", "8", "--dev", "8"}, {"init-model", "--out", model}} {
		if out, code := cofiOut(t, dir, args...); code != 0 {
			t.Fatalf("cofi %v: exit %d\n%s", args, code, out)
		}
	}
	cfg := filepath.Join(model, "config.json")
	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	b = []byte(strings.Replace(string(b), `"num_attention_heads": 4`, `"num_attention_heads": 128`, 1))
	if !strings.Contains(string(b), `"num_attention_heads": 128`) {
		t.Fatalf("could not edit %s:\n%s", cfg, b)
	}
	os.WriteFile(cfg, b, 0o644)
	out, code := cofiOut(t, dir, "eval", "--task", "syn-single", "--data", data, "--model", model, "--device", "cpu")
	if code == 0 || strings.Contains(out, "panic") || !strings.Contains(out, "not a multiple of num_attention_heads 128") || !strings.Contains(out, "config.json") {
		t.Errorf("eval of a model with 128 heads in 64 dims: exit %d\n%s", code, out)
	}
}
