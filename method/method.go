// Package method names the methods a grid can run: teacher fine-tuning, CoFi
// and each of the paper's ablations, and the runnable baselines. A method is a
// name plus the switches the CoFi trainer reads, so an ablation is data, not a
// code path of its own.
package method

import (
	"fmt"
	"strings"
)

// Family says which program runs a method.
type Family string

const (
	Teacher  Family = "teacher"  // fine-tune the full model on the task
	CoFi     Family = "cofi"     // CoFi pruning (+ final fine-tune) with the switches below
	Baseline Family = "baseline" // a runnable baseline: TinyBERT's two-step task distillation
)

// Switches are the CoFi ablation switches of the paper's Tables 4 and 5.
type Switches struct {
	LayerMasks   bool `json:"layer_masks"`   // z_MHA and z_FFN ("-layer" turns them off)
	HiddenMask   bool `json:"hidden_mask"`   // z_hidn ("-hidden" turns it off)
	PredDistill  bool `json:"pred_distill"`  // L_pred
	LayerDistill bool `json:"layer_distill"` // L_layer
	FixedLayers  bool `json:"fixed_layers"`  // fixed i→i layer mapping instead of dynamic matching
	GoldLabels   bool `json:"gold_labels"`   // cross-entropy on gold labels (only without a teacher)
}

// Method is one entry of the catalogue.
type Method struct {
	Name     string   // name used in configs and records
	Display  string   // row label as the paper prints it
	Family   Family   //
	Switches Switches // meaningful for Family == CoFi
	// GeneralDistilled (baselines): the student starts from a
	// general-distilled checkpoint the user supplies (TinyBERT's "GD"),
	// instead of random initialisation.
	GeneralDistilled bool
}

var full = Switches{LayerMasks: true, HiddenMask: true, PredDistill: true, LayerDistill: true}

func with(f func(*Switches)) Switches { s := full; f(&s); return s }

var catalogue = []Method{
	{Name: "teacher", Display: "BERT-base (teacher)", Family: Teacher},
	{Name: "cofi", Display: "CoFi", Family: CoFi, Switches: full},
	{Name: "cofi-no-hidden", Display: "-hidden", Family: CoFi, Switches: with(func(s *Switches) { s.HiddenMask = false })},
	{Name: "cofi-no-layer", Display: "-layer", Family: CoFi, Switches: with(func(s *Switches) { s.LayerMasks = false })},
	{Name: "cofi-no-layer-hidden", Display: "-layer & hidden", Family: CoFi, Switches: with(func(s *Switches) { s.LayerMasks, s.HiddenMask = false, false })},
	{Name: "cofi-no-llayer", Display: "-L_layer", Family: CoFi, Switches: with(func(s *Switches) { s.LayerDistill = false })},
	{Name: "cofi-no-distill", Display: "-L_pred, L_layer", Family: CoFi, Switches: with(func(s *Switches) { s.PredDistill, s.LayerDistill, s.GoldLabels = false, false, true })},
	{Name: "cofi-fixed-hidden", Display: "Fixed Hidn Distil.", Family: CoFi, Switches: with(func(s *Switches) { s.FixedLayers = true })},
	{Name: "tinybert4-no-gd", Display: "TinyBERT4 w/o GD", Family: Baseline},
	{Name: "tinybert4", Display: "TinyBERT4", Family: Baseline, GeneralDistilled: true},
}

// Lookup returns the method called name.
func Lookup(name string) (Method, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	for _, m := range catalogue {
		if m.Name == n {
			return m, nil
		}
	}
	return Method{}, fmt.Errorf("unknown method %q (known: %s)", name, strings.Join(Names(), ", "))
}

// Names lists every method name in catalogue order.
func Names() []string {
	out := make([]string, len(catalogue))
	for i, m := range catalogue {
		out[i] = m.Name
	}
	return out
}
