// Package optim holds the optimiser (AdamW on libtorch tensors, with
// checkpointable state), learning-rate schedules and gradient clipping.
package optim

// Schedule gives the learning-rate multiplier at a step (0-based count of
// optimiser steps already taken).
type Schedule interface {
	Factor(step int) float64
}

// Constant keeps the learning rate fixed (CoFi's final fine-tuning).
type Constant struct{}

func (Constant) Factor(int) float64 { return 1 }

// Linear warms up linearly over Warmup steps, then decays linearly to 0 at
// Total, as transformers' get_linear_schedule_with_warmup.
type Linear struct{ Warmup, Total int }

func (s Linear) Factor(step int) float64 {
	if step < s.Warmup {
		return float64(step) / float64(max(1, s.Warmup))
	}
	if s.Total <= s.Warmup {
		return 0
	}
	return max(0, float64(s.Total-step)/float64(s.Total-s.Warmup))
}
