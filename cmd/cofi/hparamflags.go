package main

import (
	"flag"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/cofiharness/cofi/hparams"
	"github.com/cofiharness/cofi/record"
	"github.com/cofiharness/cofi/task"
)

// hparamFlags adds one flag per hyperparameter of a stage kind. Defaults are
// the authors' per task group, so the help shows them for each group; a flag
// left unset takes the default of the --task given.
type hparamFlags struct {
	kind string
	vals map[string]*string
}

func addHparamFlags(fs *flag.FlagSet, kind string) *hparamFlags {
	h := &hparamFlags{kind: kind, vals: map[string]*string{}}
	examples := []task.Task{task.MustLookup("rte"), task.MustLookup("mnli"), task.MustLookup("squad"), task.MustLookup("syn-pair")}
	for _, k := range hparams.Keys(kind) {
		var defs []string
		seen := map[string]bool{}
		for _, t := range examples {
			v := fmt.Sprint(k.Default(t))
			if !seen[v] {
				seen[v] = true
				defs = append(defs, v)
			}
		}
		def := defs[0]
		if len(defs) > 1 {
			var parts []string
			for _, t := range examples {
				parts = append(parts, fmt.Sprintf("%s %v", group(t), k.Default(t)))
			}
			def = strings.Join(parts, ", ")
		}
		h.vals[k.Name] = fs.String(strings.ReplaceAll(k.Name, "_", "-"), "", fmt.Sprintf("%s (default: %s)", k.Doc, def))
	}
	return h
}

func group(t task.Task) string {
	switch {
	case t.Synthetic:
		return "synthetic"
	case t.Size == task.Small:
		return "small GLUE"
	case t.Size == task.Large:
		return "large GLUE"
	}
	return "SQuAD"
}

// resolve returns the hyperparameters for t with the flags that were set.
func (h *hparamFlags) resolve(t task.Task, extra map[string]any) (record.Params, error) {
	over := map[string]any{}
	names := make([]string, 0, len(h.vals))
	for n := range h.vals {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		s := *h.vals[n]
		if s == "" {
			continue
		}
		over[n] = parseValue(s)
	}
	for k, v := range extra {
		if _, set := over[k]; !set {
			over[k] = v
		}
	}
	p, err := hparams.Resolve(h.kind, t, over)
	if err != nil {
		// Name the flag the user typed, not the hyperparameter.
		msg := err.Error()
		for _, n := range names {
			if *h.vals[n] != "" {
				msg = strings.ReplaceAll(msg, fmt.Sprintf("hyperparameter %q", n), "--"+strings.ReplaceAll(n, "_", "-"))
			}
		}
		return nil, fmt.Errorf("%s", msg)
	}
	return p, nil
}

// parseValue reads a flag value as an integer, a number, a bool or a string.
func parseValue(s string) any {
	if i, err := strconv.Atoi(s); err == nil {
		return i
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return f
	}
	if b, err := strconv.ParseBool(s); err == nil {
		return b
	}
	return s
}

// torchCommands are the commands that run on libtorch; binaries built
// without it list them and explain how to get them.
var torchCommands = []struct{ name, summary string }{
	{"init-model", "write a randomly initialised BERT (tiny or base) in HF layout"},
	{"finetune", "fine-tune a model (the teacher) on a task, resumable"},
	{"eval", "evaluate a checkpoint (full or pruned, ours or released): score, size, sparsity, latency"},
	{"prune", "CoFi: prune, fold, fine-tune the compact model and time it, as one resumable pipeline"},
	{"distill", "TinyBERT4's two-step task distillation (the baseline of Tables 2 and 3), resumable"},
	{"augment", "TinyBERT's task data augmentation: an augmented train file in the task's format"},
	{"bench", "benchmark figures: Go vs PyTorch step time, memory, compact-model speedups"},
	{"device-check", "does a device compute what the CPU does: tiny-BERT forward equality and a training step"},
}
