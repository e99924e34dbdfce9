package torchsetup

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"
)

// toolVersion changes whenever the patch logic changes, so old copies are rebuilt.
const toolVersion = "torchsetup-5"

// GotchModule is the module path being patched.
const GotchModule = "github.com/sugarme/gotch"

// Options configure Prepare.
type Options struct {
	RepoRoot     string    // directory of the project's go.mod
	OutDir       string    // where the patched gotch copy goes (git-ignored), e.g. build/gotch
	GotchVersion string    // e.g. "v0.9.1" (from go.mod)
	Libtorch     *Libtorch //
	CXX          string    // C++ compiler, default "g++"
	Log          io.Writer
}

// Result says what Prepare did.
type Result struct {
	UpToDate bool
	Guarded  []string // wrapper functions replaced by error stubs
	Dir      string
}

// Prepare makes OutDir hold a copy of gotch that builds against o.Libtorch,
// writes a go.work that points the project at it, and build/torch.mk for make.
// It does nothing when a copy made from the same inputs is already there.
func Prepare(ctx context.Context, o Options) (*Result, error) {
	if o.CXX == "" {
		o.CXX = "g++"
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	src, err := moduleDir(ctx, o.RepoRoot, GotchModule+"@"+o.GotchVersion)
	if err != nil {
		return nil, err
	}
	stamp, err := o.stamp()
	if err != nil {
		return nil, err
	}
	stampFile := filepath.Join(o.OutDir, ".torchsetup-stamp")
	res := &Result{Dir: o.OutDir}
	if b, err := os.ReadFile(stampFile); err == nil && strings.TrimSpace(string(b)) == stamp {
		res.UpToDate = true
		if g, err := os.ReadFile(filepath.Join(o.OutDir, "GUARDED.txt")); err == nil {
			res.Guarded = strings.Fields(string(g))
		}
		return res, o.writeWorkspace()
	}

	fmt.Fprintf(o.Log, "torchsetup: preparing gotch %s for %s in %s\n", o.GotchVersion, o.Libtorch, o.OutDir)
	if err := os.RemoveAll(o.OutDir); err != nil {
		return nil, err
	}
	if err := copyTree(src, o.OutDir); err != nil {
		return nil, fmt.Errorf("copy gotch: %w", err)
	}
	lib := filepath.Join(o.OutDir, "libtch")
	if err := o.writeCgo(lib); err != nil {
		return nil, err
	}
	guarded, err := o.guardUntilClean(ctx, lib)
	if err != nil {
		return nil, err
	}
	sort.Strings(guarded)
	res.Guarded = guarded
	if err := os.WriteFile(filepath.Join(o.OutDir, "GUARDED.txt"), []byte(strings.Join(guarded, "\n")+"\n"), 0o644); err != nil {
		return nil, err
	}
	if err := o.writeWorkspace(); err != nil {
		return nil, err
	}
	if err := os.WriteFile(stampFile, []byte(stamp+"\n"), 0o644); err != nil {
		return nil, err
	}
	return res, nil
}

// moduleDir returns the module cache directory of mod, downloading it if needed.
func moduleDir(ctx context.Context, repo, mod string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "mod", "download", "-json", mod)
	cmd.Dir = repo
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var info struct{ Dir, Error string }
	_ = json.Unmarshal(out, &info)
	if err != nil || info.Dir == "" {
		return "", fmt.Errorf("go mod download %s: %v %s %s", mod, err, info.Error, strings.TrimSpace(stderr.String()))
	}
	return info.Dir, nil
}

// stamp hashes every input of the patched copy.
func (o Options) stamp() (string, error) {
	h := sha256.New()
	fmt.Fprintln(h, toolVersion, o.GotchVersion, o.Libtorch.String(), o.Libtorch.LibDir, strings.Join(o.Libtorch.Includes, ":"))
	vh := filepath.Join(o.Libtorch.Includes[len(o.Libtorch.Includes)-1], "torch/version.h")
	if b, err := os.ReadFile(vh); err == nil {
		h.Write(b)
	}
	cxx, err := exec.Command(o.CXX, "--version").Output()
	if err != nil {
		return "", fmt.Errorf("%s --version: %w (install g++: apt-get install -y g++)", o.CXX, err)
	}
	h.Write(cxx)
	return hex.EncodeToString(h.Sum(nil)), nil
}

func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		t := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(t, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(t, b, 0o644)
	})
}

func (o Options) cxxFlags() []string {
	abi := "0"
	if o.Libtorch.CXX11ABI {
		abi = "1"
	}
	// -O1 without -g: the wrapper is one huge translation unit; this halves
	// compile time and memory at the same run-time speed (GOTCH.md).
	f := []string{"-std=c++17", "-g0", "-O1", "-w", "-D_GLIBCXX_USE_CXX11_ABI=" + abi}
	for _, inc := range o.Libtorch.Includes {
		f = append(f, "-I"+inc)
	}
	return f
}

// writeCgo replaces gotch's lib.go (hard-coded CUDA libraries and include
// paths) with flags for the detected libtorch, and adds the CUDA libraries in
// a file that only the "cuda" build tag compiles.
func (o Options) writeCgo(lib string) error {
	lt := o.Libtorch
	ld := "-lstdc++ -ltorch -lc10 -ltorch_cpu"
	if lt.Source != "debian" {
		ld = fmt.Sprintf("-L%s -Wl,-rpath,%s %s", lt.LibDir, lt.LibDir, ld)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "package libtch\n\n// Generated by the project's torchsetup for %s. Do not edit.\n\n", lt)
	fmt.Fprintf(&b, "// #cgo CFLAGS: -I${SRCDIR} -O1 -w\n")
	fmt.Fprintf(&b, "// #cgo CXXFLAGS: -I${SRCDIR} %s\n", strings.Join(o.cxxFlags(), " "))
	fmt.Fprintf(&b, "// #cgo LDFLAGS: %s\n", ld)
	b.WriteString("import \"C\"\n")
	if err := os.WriteFile(filepath.Join(lib, "lib.go"), []byte(b.String()), 0o644); err != nil {
		return err
	}
	// Linkers that default to --as-needed drop libtorch_cuda because nothing
	// references it directly; CUDA then reports "not available" at run time.
	cuda := fmt.Sprintf("//go:build cuda\n\npackage libtch\n\n// Generated by the project's torchsetup. Do not edit.\n\n// #cgo LDFLAGS: -Wl,--no-as-needed -ltorch_cuda -lc10_cuda -Wl,--as-needed\nimport \"C\"\n")
	if err := os.WriteFile(filepath.Join(lib, "lib_cuda.go"), []byte(cuda), 0o644); err != nil {
		return err
	}
	// gotch wraps these C functions of its own API in no Go function; the
	// harness must set threads and seeds explicitly (GOTCH.md).
	ext := fmt.Sprintf(`package libtch

// Generated by the project's torchsetup. Do not edit.

// #include <stdint.h>
// #include <stdbool.h>
// #include "torch_api.h"
import "C"

// LibtorchVersion and LibtorchSource describe the libtorch this copy was built against.
const (
	LibtorchVersion = %q
	LibtorchSource  = %q
)

// AtManualSeed seeds libtorch's generators (CPU and, when present, CUDA).
func AtManualSeed(seed int64) { C.at_manual_seed(C.int64_t(seed)) }

// AtSetNumThreads sets libtorch's intra-op thread count.
func AtSetNumThreads(n int) { C.at_set_num_threads(C.int(n)) }

// AtGetNumThreads returns libtorch's intra-op thread count.
func AtGetNumThreads() int { return int(C.at_get_num_threads()) }
`, lt.Version, lt.Source)
	return os.WriteFile(filepath.Join(lib, "cofi_ext.go"), []byte(ext), 0o644)
}

var sources = []string{"torch_api_generated.cpp.h", "torch_api.cpp"}

// guardUntilClean compiles the wrapper with -fsyntax-only, replaces every
// function an error points into, and repeats until it compiles.
func (o Options) guardUntilClean(ctx context.Context, lib string) ([]string, error) {
	var all []string
	why := "libtorch " + o.Libtorch.Version
	for round := 1; round <= 6; round++ {
		start := time.Now()
		args := append([]string{"-fsyntax-only"}, o.cxxFlags()...)
		args = append(args, "-I.", "torch_api.cpp")
		cmd := exec.CommandContext(ctx, o.CXX, args...)
		cmd.Dir = lib
		out, err := cmd.CombinedOutput()
		if err == nil {
			fmt.Fprintf(o.Log, "torchsetup: wrapper compiles (%d functions guarded, check %.0fs)\n", len(all), time.Since(start).Seconds())
			return all, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		locs, funcs := parseDiagnostics(string(out))
		progress := 0
		for _, file := range sources {
			p := filepath.Join(lib, file)
			b, err := os.ReadFile(p)
			if err != nil {
				return nil, err
			}
			var lines []int
			for _, l := range locs {
				if l.file == file {
					lines = append(lines, l.line)
				}
			}
			names := functionsAt(string(b), lines)
			for n := range funcs[file] {
				names[n] = true
			}
			if len(names) == 0 {
				continue
			}
			patched, done := guard(string(b), names, why)
			if err := os.WriteFile(p, []byte(patched), 0o644); err != nil {
				return nil, err
			}
			all = append(all, done...)
			progress += len(done)
		}
		fmt.Fprintf(o.Log, "torchsetup: round %d: %d functions do not compile against %s, guarded (%.0fs)\n", round, progress, why, time.Since(start).Seconds())
		if progress == 0 {
			return nil, fmt.Errorf("gotch's wrapper does not compile against %s and the errors are outside functions that can be guarded:\n%s", why, firstLines(string(out), 30))
		}
	}
	return nil, fmt.Errorf("gotch's wrapper still does not compile after 6 rounds of guarding")
}

func firstLines(s string, n int) string {
	ls := strings.SplitN(s, "\n", n+1)
	if len(ls) > n {
		ls = ls[:n]
	}
	return strings.Join(ls, "\n")
}

var goLineRe = regexp.MustCompile(`(?m)^go\s+(\S+)`)

// writeWorkspace points the project at the patched copy through a
// git-ignored go.work, so packages that do not use gotch are unaffected, and
// writes build/torch.mk with what make needs.
func (o Options) writeWorkspace() error {
	rel, err := filepath.Rel(o.RepoRoot, o.OutDir)
	if err != nil {
		return err
	}
	goVersion := "1.26"
	if b, err := os.ReadFile(filepath.Join(o.RepoRoot, "go.mod")); err == nil {
		if m := goLineRe.FindSubmatch(b); m != nil {
			goVersion = string(m[1]) // go.work must not ask for an older Go than go.mod
		}
	}
	work := fmt.Sprintf("// Generated by torchsetup; git-ignored. Points gotch at the copy patched for this machine's libtorch.\ngo %s\n\nuse .\n\nreplace %s %s => ./%s\n", goVersion, GotchModule, o.GotchVersion, filepath.ToSlash(rel))
	if err := writeIfChanged(filepath.Join(o.RepoRoot, "go.work"), work); err != nil {
		return err
	}
	lt := o.Libtorch
	mk := fmt.Sprintf("# Generated by torchsetup for %s\nTORCH_TAGS := %s\nLIBTORCH_VERSION := %s\nLIBTORCH_LIBDIR := %s\nLIBTORCH_SOURCE := %s\n", lt, lt.Tags(), lt.Version, lt.LibDir, lt.Source)
	return writeIfChanged(filepath.Join(filepath.Dir(o.OutDir), "torch.mk"), mk)
}

// writeIfChanged leaves the file (and its mtime, which make and go watch) alone when the content is the same.
func writeIfChanged(path, content string) error {
	if b, err := os.ReadFile(path); err == nil && string(b) == content {
		return nil
	}
	return os.WriteFile(path, []byte(content), 0o644)
}
