package main

import (
	"flag"
	"fmt"
	"math"
	"sort"
	"strconv"
)

// Range checks for flags, run right after parsing and before any work, so
// that a bad value is an error naming the flag, the value and what is
// allowed (exit 2) rather than a panic, an empty model or a NaN hours later.
// Hyperparameter flags are checked by hparams.Resolve instead.

// atLeast checks integer flags against lower bounds.
func atLeast(fs *flag.FlagSet, bounds map[string]int) error {
	names := make([]string, 0, len(bounds))
	for n := range bounds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		f := fs.Lookup(n)
		if f == nil {
			panic("flagcheck: no flag " + n) // a typo in the caller
		}
		v, err := strconv.Atoi(f.Value.String())
		if err == nil && v < bounds[n] {
			return exitCode{2, fmt.Sprintf("--%s %d: want an integer >= %d", n, v, bounds[n])}
		}
	}
	return nil
}

// roundsFlag checks a latency-rounds flag: 0 (the task's default) or at
// least 2, the first round being warm-up.
func roundsFlag(fs *flag.FlagSet, name string) error {
	v, err := strconv.Atoi(fs.Lookup(name).Value.String())
	if err == nil && v != 0 && v < 2 {
		return exitCode{2, fmt.Sprintf("--%s %d: want 0 (the paper's for the task) or at least 2 (the first round is warm-up)", name, v)}
	}
	return nil
}

// fractionFlag checks a sparsity-like flag: finite, in [0, 1).
func fractionFlag(fs *flag.FlagSet, name string) error {
	v, err := strconv.ParseFloat(fs.Lookup(name).Value.String(), 64)
	if err == nil && (math.IsNaN(v) || v < 0 || v >= 1) {
		return exitCode{2, fmt.Sprintf("--%s %v: want a fraction in [0, 1), e.g. 0.95 for 95%%", name, v)}
	}
	return nil
}
