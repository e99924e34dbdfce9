//go:build torch

// Package devicecheck checks that a device computes what the CPU computes:
// a tiny BERT's forward on the device equals its CPU forward on the same
// weights, and a training step on the device is finite and moves the
// weights. It is the smoke test of scripts/gpu-check.sh (cofi device-check).
package devicecheck

import (
	"fmt"
	"math"

	"github.com/cofiharness/cofi/experiments/bert"
	"github.com/cofiharness/cofi/experiments/checkpoint"
	"github.com/cofiharness/cofi/experiments/optim"
	"github.com/cofiharness/cofi/experiments/torch"
	"github.com/cofiharness/cofi/experiments/train"
	"github.com/cofiharness/cofi/task"
)

// Tolerance is the largest |device − CPU| allowed on a logit or a hidden
// state: fp32 kernels differ in summation order, not more.
const Tolerance = 1e-4

// Result is what Run found.
type Result struct {
	Device        string  `json:"device"`
	Batch         int     `json:"batch"`
	Seq           int     `json:"seq"`
	MaxLogitDiff  float64 `json:"max_logit_diff"`  // max |device − CPU| over the logits
	MaxHiddenDiff float64 `json:"max_hidden_diff"` // ... over every layer's hidden states
	Tolerance     float64 `json:"tolerance"`
	ForwardOK     bool    `json:"forward_ok"`
	Loss          float64 `json:"loss"`          // cross-entropy of the training step on the device
	WeightChange  float64 `json:"weight_change"` // max |Δw| over the parameters after one AdamW step
	StepOK        bool    `json:"step_ok"`       // loss finite and weights moved
	Problem       string  `json:"problem,omitempty"`
}

// OK reports whether every check passed.
func (r Result) OK() bool { return r.ForwardOK && r.StepOK }

// Run builds a tiny random BERT (checkpoint.Tiny, seeded) on the CPU, copies
// its weights to dev, and compares the two forwards (eval mode) on the same
// batch; then takes one AdamW step on dev.
func Run(dev torch.Device, seed int64, batch, seq int) (Result, error) {
	r := Result{Device: dev.String(), Batch: batch, Seq: seq, Tolerance: Tolerance}
	err := torch.Catch(func() error {
		torch.Seed(seed)
		c := checkpoint.Tiny()
		head := bert.Head{Kind: task.Classification, NumLabels: 3}
		cpu := bert.New(c, head, torch.CPU)
		defer cpu.Free()
		on := bert.New(c, head, dev)
		defer on.Free()
		pc, pd := cpu.Params(), on.Params()
		if len(pc) != len(pd) {
			return fmt.Errorf("parameter lists differ: %d on cpu, %d on %s", len(pc), len(pd), dev)
		}
		torch.NoGrad(func() {
			for i := range pc {
				pd[i].T.Copy_(pc[i].T)
			}
		})
		ids := make([]int64, batch*seq)
		mask := make([]int64, batch*seq)
		for i := range ids {
			ids[i] = int64((i*7919 + 13) % c.VocabSize)
			mask[i] = 1
			// right padding: row r pads its last r mod seq/4 positions
			if row := i / seq; seq >= 4 && i%seq >= seq-row%(seq/4) {
				mask[i] = 0
			}
		}
		sh := []int64{int64(batch), int64(seq)}
		input := func(d torch.Device) bert.Input {
			return bert.Input{IDs: torch.FromInt64(ids, sh, d), TypeIDs: torch.Zeros(sh, torch.Int64, d), Mask: torch.FromInt64(mask, sh, d)}
		}
		torch.NoGrad(func() {
			s := torch.NewScope()
			defer s.Close()
			a := cpu.Forward(input(torch.CPU), nil, false, true)
			b := on.Forward(input(dev), nil, false, true)
			r.MaxLogitDiff = maxDiff(a.Logits, b.Logits)
			for i := range a.Hidden {
				r.MaxHiddenDiff = math.Max(r.MaxHiddenDiff, maxDiff(a.Hidden[i], b.Hidden[i]))
			}
		})
		r.ForwardOK = r.MaxLogitDiff <= Tolerance && r.MaxHiddenDiff <= Tolerance
		// One training step on the device.
		on.SetRequiresGrad(true, false)
		params := train.Named(on)
		before := make([][]float32, len(params))
		for i, p := range params {
			before[i] = p.T.Float32s()
		}
		opt := optim.NewAdamW(params, 0)
		defer opt.Free()
		s := torch.NewScope()
		defer s.Close()
		labels := make([]int64, batch)
		for i := range labels {
			labels[i] = int64(i % 3)
		}
		loss := torch.CrossEntropy(on.Forward(input(dev), nil, true, false).Logits, torch.FromInt64(labels, []int64{int64(batch)}, dev))
		r.Loss = loss.Item()
		loss.Backward()
		optim.ClipGradNorm(params, 1)
		opt.Step(1e-3)
		torch.Synchronize(dev)
		for i, p := range params {
			for j, v := range p.T.Float32s() {
				r.WeightChange = math.Max(r.WeightChange, math.Abs(float64(v-before[i][j])))
			}
		}
		r.StepOK = !math.IsNaN(r.Loss) && !math.IsInf(r.Loss, 0) && r.WeightChange > 0 && !math.IsNaN(r.WeightChange)
		return nil
	})
	switch {
	case err != nil:
		r.Problem = err.Error()
	case !r.ForwardOK:
		r.Problem = fmt.Sprintf("forward on %s differs from the CPU's: logits by %.3g, hidden states by %.3g (tolerance %.0e)", dev, r.MaxLogitDiff, r.MaxHiddenDiff, Tolerance)
	case !r.StepOK:
		r.Problem = fmt.Sprintf("training step on %s: loss %v, largest weight change %v", dev, r.Loss, r.WeightChange)
	}
	return r, err
}

// maxDiff is max |a − b| (Float32s copies from any device).
func maxDiff(a, b *torch.Tensor) float64 {
	x, y := a.Float32s(), b.Float32s()
	m := 0.0
	for i := range x {
		d := math.Abs(float64(x[i] - y[i]))
		if math.IsNaN(d) {
			return math.Inf(1)
		}
		m = math.Max(m, d)
	}
	return m
}
