// Command torchsetup prepares the build of the libtorch-backed parts of the
// harness: it finds libtorch (Debian's libtorch-dev by default, or the
// directory in $LIBTORCH), installs Debian's packages when they are missing
// and it runs as root, and writes a patched copy of gotch plus go.work and
// build/torch.mk. Run through make; re-running is fast when nothing changed.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/cofiharness/cofi/internal/torchsetup"
)

const debianPackages = "libtorch-dev libopenblas0-pthread g++"

func main() {
	libtorch := flag.String("libtorch", os.Getenv("LIBTORCH"), "libtorch to build against: an unpacked libtorch (include/, lib/) or a Python torch package directory; empty = Debian's libtorch-dev (default $LIBTORCH)")
	out := flag.String("out", "build/gotch", "directory for the patched copy of gotch (git-ignored)")
	install := flag.Bool("install", true, "install missing Debian packages with apt-get when running as root")
	quiet := flag.Bool("q", false, "print nothing when already up to date")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: torchsetup [flags]\n\nPrepares gotch for this machine's libtorch (see GOTCH notes in REPRODUCE.md).\n\nflags:\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *libtorch, *out, *install, *quiet); err != nil {
		fmt.Fprintf(os.Stderr, "torchsetup: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, dir, out string, install, quiet bool) error {
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
	lt, err := torchsetup.Detect(dir)
	if dir == "" && (errors.Is(err, torchsetup.ErrNotFound) || !debianReady()) {
		if err := installDebian(install); err != nil {
			return err
		}
		lt, err = torchsetup.Detect("")
	}
	if err != nil {
		if dir != "" {
			return fmt.Errorf("LIBTORCH=%s: %w (want an unpacked libtorch with include/ and lib/, or a Python torch package directory)", dir, err)
		}
		return err
	}
	if _, err := exec.LookPath("g++"); err != nil {
		return fmt.Errorf("g++ not found: apt-get install -y g++")
	}
	abs, err := filepath.Abs(out)
	if err != nil {
		return err
	}
	res, err := torchsetup.Prepare(ctx, torchsetup.Options{RepoRoot: root, OutDir: abs, GotchVersion: version, Libtorch: lt, Log: os.Stderr})
	if err != nil {
		return err
	}
	if !res.UpToDate || !quiet {
		state := "prepared"
		if res.UpToDate {
			state = "up to date"
		}
		fmt.Fprintf(os.Stderr, "torchsetup: gotch %s %s for %s (%d wrapper functions unavailable in this libtorch; list in %s/GUARDED.txt)\n",
			version, state, lt, len(res.Guarded), out)
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

// debianReady reports whether the Debian packages the default build needs are
// installed: libtorch-dev, g++, and OpenBLAS (with the reference BLAS,
// inference is 34x slower).
func debianReady() bool {
	for _, p := range []string{
		"/usr/include/torch/csrc/api/include/torch/version.h",
		"/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3",
	} {
		if _, err := os.Stat(p); err != nil {
			return false
		}
	}
	_, err := exec.LookPath("g++")
	return err == nil
}

func installDebian(install bool) error {
	cmd := "apt-get update && apt-get install -y " + debianPackages
	if !install || os.Geteuid() != 0 {
		return fmt.Errorf("libtorch is missing; install it with: sudo sh -c '%s' (or set LIBTORCH=<dir> to use another libtorch)", cmd)
	}
	fmt.Fprintf(os.Stderr, "torchsetup: installing %s with apt-get\n", debianPackages)
	c := exec.Command("sh", "-c", cmd)
	c.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	c.Stdout, c.Stderr = os.Stderr, os.Stderr
	if err := c.Run(); err != nil {
		return fmt.Errorf("%s: %w", strings.TrimSpace(cmd), err)
	}
	return nil
}
