//go:build torch

package train

import (
	"github.com/cofiharness/cofi/experiments/bert"
	"github.com/cofiharness/cofi/experiments/optim"
	"github.com/cofiharness/cofi/record"
)

// ParamSets are a model's parameters as one training step treats them.
type ParamSets struct {
	Optimised []optim.Named // stepped by the optimiser
	// Clipped are zeroed before and counted by the gradient clip after each
	// backward pass: Optimised, plus the frozen embeddings when their
	// gradients count (clip_frozen).
	Clipped []optim.Named
}

// Trainables sets which parameters of m get gradients and returns them, the
// authors' way when p says so: freeze_embeddings keeps the embeddings out
// of the optimiser (CoFiPruning trainer.py:124); clip_frozen still computes
// their gradients and counts them in the clip norm, as clipping
// model.parameters() does (trainer.py:298). Kinds without these keys
// (baselines) train every parameter.
func Trainables(m *bert.Model, p record.Params) ParamSets {
	freeze, clipFrozen := boolParam(p, "freeze_embeddings"), boolParam(p, "clip_frozen")
	m.SetRequiresGrad(true, freeze && !clipFrozen)
	var ps ParamSets
	for _, n := range Named(m) {
		if !n.T.RequiresGrad() {
			continue
		}
		ps.Clipped = append(ps.Clipped, n)
		if !(freeze && isEmbedding(m, n)) {
			ps.Optimised = append(ps.Optimised, n)
		}
	}
	return ps
}

func isEmbedding(m *bert.Model, n optim.Named) bool {
	for _, p := range m.Params() {
		if p.T == n.T {
			return p.Embedding
		}
	}
	return false
}

func boolParam(p record.Params, name string) bool {
	b, _ := p[name].(bool)
	return b
}
