// Package stage is the contract between the runner and the programs that do
// the work. The runner writes a Spec per stage into a manifest; `cofi
// run-stage` reads it in a child process and calls the Func registered for
// the stage's kind. Kinds that need libtorch register themselves only in
// binaries built with the torch tag, so the runner never links libtorch.
package stage

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"github.com/cofiharness/cofi/record"
)

// Spec is everything a stage needs, fully resolved.
type Spec struct {
	ID       string        `json:"id"`   // content hash of the resolved inputs
	Kind     string        `json:"kind"` // record.Kind*
	Task     string        `json:"task"`
	Method   string        `json:"method"`
	Sparsity float64       `json:"sparsity,omitempty"`
	Seed     int64         `json:"seed"`
	Params   record.Params `json:"params"` // resolved hyperparameters (package hparams)
	// Inputs are named paths: "data" (task data directory), "model"
	// (pre-trained model directory), and the output directories of upstream
	// stages by their kind ("teacher", "prune", "final", "baseline").
	Inputs map[string]string `json:"inputs"`
	Dir    string            `json:"dir"`    // absolute stage directory: outputs, result.json
	Device string            `json:"device"` // "cpu", "cuda", "cuda:N" or "auto"
	// Threads is the CPU intra-op thread budget given by the executor (0 = all).
	Threads int `json:"threads"`
	// Sweep is the sweep setting the stage depends on (nil when none); not
	// part of its identity, which already hashes the swept values.
	Sweep *record.Sweep `json:"sweep,omitempty"`
}

// Func runs a stage and returns its result; the caller writes result.json.
// It must honour ctx (stop at the next step and checkpoint) and resume from
// its own checkpoint in spec.Dir when one exists.
type Func func(ctx context.Context, spec Spec) (*record.Result, error)

var (
	mu    sync.Mutex
	funcs = map[string]Func{}
)

// Register makes kind runnable in this binary.
func Register(kind string, f Func) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := funcs[kind]; dup {
		panic("stage: kind registered twice: " + kind)
	}
	funcs[kind] = f
}

// Lookup returns the Func for kind, or an error that says why it is missing.
func Lookup(kind string) (Func, error) {
	mu.Lock()
	defer mu.Unlock()
	if f, ok := funcs[kind]; ok {
		return f, nil
	}
	return nil, fmt.Errorf("stage kind %q is not available in this binary (available: %v); kinds that need libtorch require a binary built with 'make build'", kind, kindsLocked())
}

// Kinds lists the registered kinds.
func Kinds() []string {
	mu.Lock()
	defer mu.Unlock()
	return kindsLocked()
}

func kindsLocked() []string {
	out := make([]string, 0, len(funcs))
	for k := range funcs {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Error classes a Func can return so the runner classifies failures without
// parsing logs: wrap with fmt.Errorf("...: %w", stage.ErrNaN).
var (
	ErrNaN          = fmt.Errorf("loss is not finite")
	ErrMissingInput = fmt.Errorf("missing input")
	ErrBadInput     = fmt.Errorf("bad input") // present but unreadable or corrupt
	ErrOOM          = fmt.Errorf("out of memory")
)
