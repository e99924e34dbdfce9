package cofi

import "math"

// SelectRule decides which evaluation of the pruning stage becomes its kept
// checkpoint.
type SelectRule struct {
	Target, Epsilon float64
	Within          float64 // > 0: the compact model's sparsity must be within this of Target (a harness addition)
	TiesLater       bool    // equal scores: the later evaluation wins (the authors keep the earlier)
	GateOnce        bool    // after the expected sparsity first reaches Target − Epsilon every later evaluation qualifies (the authors)
}

// Keep reports whether an evaluation (expected sparsity es, compact-model
// sparsity cs, dev score) replaces the kept checkpoint (hasBest, best).
// *reached records that the target was reached at some evaluation.
func (r SelectRule) Keep(reached *bool, pruning, hasBest bool, best, es, cs, score float64) bool {
	atTarget := pruning && es >= r.Target-r.Epsilon
	*reached = *reached || atTarget
	eligible := (atTarget || r.GateOnce && *reached) && (r.Within <= 0 || math.Abs(cs-r.Target) <= r.Within)
	better := !hasBest || score > best || r.TiesLater && score == best
	return eligible && better
}
