package hparams

import (
	"math"
	"strings"
	"testing"

	"github.com/cofiharness/cofi/record"
	"github.com/cofiharness/cofi/task"
)

func TestDefaultsPassTheirChecks(t *testing.T) {
	for _, kind := range Kinds() {
		for _, name := range task.Names() {
			for k, v := range Defaults(kind, task.MustLookup(name)) {
				if err := Check(k, v); err != nil {
					t.Errorf("%s %s default %s = %v: %v", name, kind, k, v, err)
				}
			}
		}
	}
}

func TestOutOfRangeOverridesAreRejected(t *testing.T) {
	tk := task.MustLookup("rte")
	cases := []struct {
		kind, key string
		v         any
		want      string // in the message
	}{
		{record.KindTeacher, "lr", math.NaN(), "not a finite number"},
		{record.KindTeacher, "epochs", math.Inf(1), "not a finite number"},
		{record.KindTeacher, "lr", 0.0, "want a number > 0"},
		{record.KindTeacher, "lr", -1e-5, "want a number > 0"},
		{record.KindTeacher, "epochs", 0.0, "want a number > 0"},
		{record.KindTeacher, "batch", 0, "want an integer >= 1"},
		{record.KindTeacher, "max_steps", -3, "want an integer >= 0"},
		{record.KindTeacher, "warmup_frac", 1.5, "want a number in [0, 1]"},
		{record.KindPrune, "target_sparsity", 1.5, "want a number in [0, 1)"},
		{record.KindPrune, "target_sparsity", 95.0, "want a number in [0, 1)"},
		{record.KindPrune, "target_sparsity", 1.0, "want a number in [0, 1)"},
		{record.KindPrune, "layer_presence", "relased", "one of paper, released"},
		{record.KindPrune, "layer_match", "v5", "one of v3, v4, fixed"},
		{record.KindFinal, "schedule", "cosine", "one of constant, linear"},
		{record.KindPrune, "fold", "approx", "one of exact, released"},
		{record.KindPrune, "clamp_from", "never", "one of start, pruning"},
		{record.KindPrune, "sparsity_gate", "always", "one of once, every"},
		{record.KindFinal, "heldout", 0.9, "want a number in [0, 0.5]"},
		{record.KindSpeed, "rounds", 1, "want an integer >= 2"},
		{record.KindSpeed, "batch", 0, "want an integer >= 1"},
	}
	for _, c := range cases {
		_, err := Resolve(c.kind, tk, map[string]any{c.key: c.v})
		if err == nil {
			t.Errorf("%s %s = %v accepted", c.kind, c.key, c.v)
			continue
		}
		if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), `"`+c.key+`"`) {
			t.Errorf("%s %s = %v: message %q does not name the key and %q", c.kind, c.key, c.v, err, c.want)
		}
	}
	// Edges that are allowed.
	for _, ok := range []struct {
		kind, key string
		v         any
	}{
		{record.KindPrune, "target_sparsity", 0.0},
		{record.KindPrune, "target_sparsity", 0.999},
		{record.KindTeacher, "warmup_frac", 1.0},
		{record.KindTeacher, "max_steps", 0},
	} {
		if _, err := Resolve(ok.kind, tk, map[string]any{ok.key: ok.v}); err != nil {
			t.Errorf("%s %s = %v rejected: %v", ok.kind, ok.key, ok.v, err)
		}
	}
}

func TestAllowed(t *testing.T) {
	if got := strings.Join(Allowed("layer_presence"), ","); got != "paper,released" {
		t.Errorf("Allowed(layer_presence) = %q", got)
	}
	if Allowed("lr") != nil {
		t.Error("lr is not an enumeration")
	}
}
