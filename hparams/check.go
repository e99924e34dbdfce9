package hparams

import (
	"fmt"
	"math"
	"strings"
)

// A check says what values a hyperparameter may take; it returns the
// allowed range or set as text when v is outside it. Checks run on every
// override, from a config file and from a flag alike (Resolve), before any
// work starts, so that `--sparsity 1.5` or `lr = nan` is an error that names
// the value and the allowed range instead of an empty model or a NaN hours
// later.
type check func(v any) (allowed string, ok bool)

// checks are per hyperparameter name: a name means the same in every kind
// (kind-specific ranges go in kindChecks). Every number must also be finite.
var checks = map[string]check{
	"seed":                   intMin(0),
	"batch":                  intMin(1),
	"seq_len":                intMin(3), // [CLS], one token, [SEP]
	"doc_stride":             intMin(1),
	"grad_clip":              floatMin(0, true),
	"weight_decay":           floatMin(0, true),
	"eval_every":             intMin(0),
	"max_steps":              intMin(0),
	"lr":                     floatMin(0, false),
	"reg_lr":                 floatMin(0, false),
	"epochs":                 floatMin(0, false),
	"warmup_frac":            floatIn(0, 1, true),
	"prepruning_epochs":      floatMin(0, true),
	"prepruning_steps":       intMin(0),
	"sparsity_warmup_epochs": floatMin(0, true),
	"target_sparsity":        floatIn(0, 1, false),
	"sparsity_epsilon":       floatIn(0, 1, true),
	"select_within":          floatIn(0, 1, true),
	"temperature":            floatMin(0, false),
	"alpha_pred":             floatMin(0, true),
	"alpha_layer":            floatMin(0, true),
	"layer_match":            oneOf("v3", "v4", "fixed"),
	"layer_presence":         oneOf("paper", "released"),
	"zint_init":              oneOf("released", "paper"),
	"round":                  oneOf("half-even", "half-up"),
	"student_init":           oneOf("pretrained", "teacher"),
	"schedule":               oneOf("constant", "linear"),
	"clamp_from":             oneOf("start", "pruning"),
	"empty_sublayer":         oneOf("skip", "bias"),
	"fold":                   oneOf("exact", "released"),
	"regression_distill":     oneOf("mse", "kl"),
	"select_ties":            oneOf("earlier", "later"),
	"sparsity_gate":          oneOf("once", "every"),
	"heldout":                floatIn(0, 0.5, true),
	"layers":                 intMin(1),
	"hidden":                 intMin(1),
	"intermediate":           intMin(1),
	"heads":                  intMin(1),
	"rounds":                 intMin(2),
	"batches":                intMin(0),
	"threads":                intMin(0),
	"speedup":                oneOf("measured", "flops"),
}

// Check validates the value of hyperparameter name (already of the
// default's type). The error names the value and what is allowed.
func Check(name string, v any) error {
	if f, ok := v.(float64); ok && (math.IsNaN(f) || math.IsInf(f, 0)) {
		return fmt.Errorf("%v is not a finite number", f)
	}
	c, ok := checks[name]
	if !ok {
		return nil
	}
	if allowed, ok := c(v); !ok {
		return fmt.Errorf("%v is out of range: want %s", v, allowed)
	}
	return nil
}

func intMin(lo int) check {
	return func(v any) (string, bool) {
		n, _ := v.(int)
		return fmt.Sprintf("an integer >= %d", lo), n >= lo
	}
}

// floatMin accepts x > lo, or x >= lo when closed.
func floatMin(lo float64, closed bool) check {
	return func(v any) (string, bool) {
		x, _ := v.(float64)
		if closed {
			return fmt.Sprintf("a number >= %v", lo), x >= lo
		}
		return fmt.Sprintf("a number > %v", lo), x > lo
	}
}

// floatIn accepts lo <= x < hi, or lo <= x <= hi when closed.
func floatIn(lo, hi float64, closed bool) check {
	return func(v any) (string, bool) {
		x, _ := v.(float64)
		if closed {
			return fmt.Sprintf("a number in [%v, %v]", lo, hi), x >= lo && x <= hi
		}
		return fmt.Sprintf("a number in [%v, %v)", lo, hi), x >= lo && x < hi
	}
}

func oneOf(values ...string) check {
	return func(v any) (string, bool) {
		s, _ := v.(string)
		for _, x := range values {
			if s == x {
				return "", true
			}
		}
		return "one of " + strings.Join(values, ", "), false
	}
}

// Allowed lists the values an enumerated hyperparameter takes, nil for
// others (for --help and tests).
func Allowed(name string) []string {
	c, ok := checks[name]
	if !ok {
		return nil
	}
	allowed, isEnum := c("\x00")
	if isEnum || !strings.HasPrefix(allowed, "one of ") {
		return nil
	}
	return strings.Split(strings.TrimPrefix(allowed, "one of "), ", ")
}
