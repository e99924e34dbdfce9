//go:build torch

package main

import (
	"math"
	"testing"

	"github.com/cofiharness/cofi/experiments/bench"
	"github.com/cofiharness/cofi/experiments/bert"
	"github.com/cofiharness/cofi/experiments/checkpoint"
	"github.com/cofiharness/cofi/experiments/torch"
	"github.com/cofiharness/cofi/record"
	"github.com/cofiharness/cofi/task"
)

// TestFLOPSpeedup: speed.speedup = flops gives 1 for an unpruned model and
// the FLOP ratio for a pruned structure, and says it was not timed.
func TestFLOPSpeedup(t *testing.T) {
	c := checkpoint.Tiny()
	m := bert.New(c, bert.Head{Kind: task.Classification, NumLabels: 2}, torch.CPU)
	defer m.Free()
	ref := bert.New(c, bert.Head{Kind: task.Classification, NumLabels: 2}, torch.CPU) // the unpruned architecture
	defer ref.Free()
	l := flopSpeedup(m, ref, 128)
	if math.Abs(l.Speedup-1) > 1e-12 || l.Method != record.LatencyFLOPs || l.MeanMS != 0 {
		t.Errorf("unpruned: %+v", l)
	}
	// Half the FFN units of every layer: the ratio is the FLOP counts'.
	for _, ly := range m.Layers {
		ly.Inter /= 2
	}
	heads, inter, hidden := m.Structure()
	hd := c.HiddenSize / c.NumAttentionHeads
	full := bench.ForwardFLOPs(c.HiddenSize, hd, 128, []int{c.NumAttentionHeads, c.NumAttentionHeads}, []int{c.IntermediateSize, c.IntermediateSize})
	want := full / bench.ForwardFLOPs(hidden, hd, 128, heads, inter)
	if got := flopSpeedup(m, ref, 128).Speedup; math.Abs(got-want) > 1e-9 || got <= 1 {
		t.Errorf("half FFN: %v, want %v", got, want)
	}
}
