// Command torchsetup prepares the Go half of the libtorch build: a copy of
// gotch that links lib/libcofitorch.so instead of compiling its C++ wrapper,
// go.work pointing at it, and the wrapper's sources for
// scripts/build-native.sh, which builds the library for one libtorch (see
// package internal/torchsetup). Run through make; re-running is fast when
// nothing changed. It needs Go and the module proxy, but no libtorch.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"

	"github.com/cofiharness/cofi/internal/torchsetup"
)

func main() {
	out := flag.String("out", "build/gotch", "directory for the Go copy of gotch (git-ignored)")
	native := flag.String("native", "build/native/gotch", "directory for the C++ sources scripts/build-native.sh compiles (git-ignored)")
	quiet := flag.Bool("q", false, "print nothing when already up to date")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: torchsetup [flags]\n\nPrepares gotch's Go side to link lib/libcofitorch.so, and the C++ sources of that library\n(built by scripts/build-native.sh; see REPRODUCE.md, \"GPU machines\").\n\nflags:\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *out, *native, *quiet); err != nil {
		fmt.Fprintf(os.Stderr, "torchsetup: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out, native string, quiet bool) error {
	root, err := os.Getwd()
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		return fmt.Errorf("run from the repository root (no go.mod in %s)", root)
	}
	version, err := gotchVersion(filepath.Join(root, "go.mod"))
	if err != nil {
		return err
	}
	absOut, err := filepath.Abs(out)
	if err != nil {
		return err
	}
	absNative, err := filepath.Abs(native)
	if err != nil {
		return err
	}
	res, err := torchsetup.Prepare(ctx, torchsetup.Options{RepoRoot: root, OutDir: absOut, NativeDir: absNative, GotchVersion: version, Log: os.Stderr})
	if err != nil {
		return err
	}
	if !res.UpToDate || !quiet {
		state := "prepared"
		if res.UpToDate {
			state = "up to date"
		}
		fmt.Fprintf(os.Stderr, "torchsetup: gotch %s %s in %s (links lib/libcofitorch.so, C API %s; sources for scripts/build-native.sh in %s)\n",
			version, state, out, res.API, native)
	}
	return nil
}

var gotchRe = regexp.MustCompile(`(?m)^\s*(?:require\s+)?github\.com/sugarme/gotch\s+(v\S+)`)

func gotchVersion(gomod string) (string, error) {
	b, err := os.ReadFile(gomod)
	if err != nil {
		return "", err
	}
	m := gotchRe.FindSubmatch(b)
	if m == nil {
		return "", fmt.Errorf("%s does not require github.com/sugarme/gotch", gomod)
	}
	return string(m[1]), nil
}
