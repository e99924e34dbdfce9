// Package torchsetup prepares the Go half of the libtorch build. The build
// has two halves:
//
//   - the native library lib/libcofitorch.so: gotch's C++ wrapper of libtorch
//     plus native/cofi_native.cpp, compiled per libtorch by
//     scripts/build-native.sh with only a C++ compiler (no Go), so a GPU
//     machine without Go can rebuild it for its own libtorch;
//   - bin/cofi: Go, linked against that library's C symbols only, the same
//     for every libtorch 1.13–2.x, CPU or CUDA.
//
// Prepare writes a copy of gotch (build/gotch) whose cgo compiles no C++ and
// links -lcofitorch (rpath $ORIGIN/../lib, then the repository's lib/), a
// go.work pointing the module at it, and the wrapper's unpatched C++ sources
// (build/native/gotch) for the script. Nothing of gotch is committed. The
// binary and the library agree on a C API stamp (APIStamp): the binary checks
// it at start.
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
	"strings"
)

// toolVersion changes whenever the preparation changes, so old copies are redone.
const toolVersion = "torchsetup-6-native"

// APIVersion is scripts/build-native.sh's API_VERSION: bumped when the
// meaning of cofi_native.h changes without a change of its declarations.
const APIVersion = 1

// GotchModule is the module path being patched.
const GotchModule = "github.com/sugarme/gotch"

// NativeSources are the files of gotch's libtch directory the native library
// is built from (the stb headers are included by torch_api.cpp).
var NativeSources = []string{"torch_api.cpp", "torch_api.h", "torch_api_generated.cpp.h", "torch_api_generated.h",
	"stb_image.h", "stb_image_write.h", "stb_image_resize.h"}

// Options configure Prepare.
type Options struct {
	RepoRoot     string // directory of the project's go.mod; lib/ and native/ are under it
	OutDir       string // the Go copy of gotch (git-ignored), e.g. build/gotch
	NativeDir    string // the C++ sources for scripts/build-native.sh, e.g. build/native/gotch
	GotchVersion string // e.g. "v0.9.1" (from go.mod)
	Log          io.Writer
}

// Result says what Prepare did.
type Result struct {
	UpToDate bool
	API      string // the C API stamp compiled into the binary
}

// Prepare makes OutDir hold a copy of gotch that links libcofitorch, NativeDir
// the wrapper's sources, and go.work point the project at the copy. It does
// nothing when a copy made from the same inputs is already there.
func Prepare(ctx context.Context, o Options) (*Result, error) {
	if o.Log == nil {
		o.Log = io.Discard
	}
	src, err := moduleDir(ctx, o.RepoRoot, GotchModule+"@"+o.GotchVersion)
	if err != nil {
		return nil, err
	}
	header, err := os.ReadFile(filepath.Join(o.RepoRoot, "native", "cofi_native.h"))
	if err != nil {
		return nil, err
	}
	api, err := apiOf(filepath.Join(src, "libtch"), header)
	if err != nil {
		return nil, err
	}
	stamp := stampOf(o, api)
	stampFile := filepath.Join(o.OutDir, ".torchsetup-stamp")
	res := &Result{API: api}
	if b, err := os.ReadFile(stampFile); err == nil && strings.TrimSpace(string(b)) == stamp && o.nativeComplete() {
		res.UpToDate = true
		return res, o.writeWorkspace()
	}

	fmt.Fprintf(o.Log, "torchsetup: preparing gotch %s in %s (links lib/libcofitorch.so, C API %s)\n", o.GotchVersion, o.OutDir, api)
	if err := os.RemoveAll(o.OutDir); err != nil {
		return nil, err
	}
	if err := copyTree(src, o.OutDir); err != nil {
		return nil, fmt.Errorf("copy gotch: %w", err)
	}
	lib := filepath.Join(o.OutDir, "libtch")
	// The C++ goes into the native library, not into the Go package: cgo
	// compiles every .cpp file of a package.
	if err := os.Remove(filepath.Join(lib, "torch_api.cpp")); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(lib, "cofi_native.h"), header, 0o644); err != nil {
		return nil, err
	}
	if err := o.writeCgo(lib, api); err != nil {
		return nil, err
	}
	if err := os.RemoveAll(o.NativeDir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(o.NativeDir, 0o755); err != nil {
		return nil, err
	}
	for _, f := range NativeSources {
		b, err := os.ReadFile(filepath.Join(src, "libtch", f))
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(o.NativeDir, f), b, 0o644); err != nil {
			return nil, err
		}
	}
	if err := o.writeWorkspace(); err != nil {
		return nil, err
	}
	if err := os.WriteFile(stampFile, []byte(stamp+"\n"), 0o644); err != nil {
		return nil, err
	}
	return res, nil
}

func (o Options) nativeComplete() bool {
	for _, f := range NativeSources {
		if _, err := os.Stat(filepath.Join(o.NativeDir, f)); err != nil {
			return false
		}
	}
	return true
}

// APIStamp is the C API stamp of a native library built from these headers:
// scripts/build-native.sh computes the same from the same bytes
// (cat torch_api.h torch_api_generated.h cofi_native.h | sha256sum).
func APIStamp(torchAPI, generated, cofiNative []byte) string {
	h := sha256.New()
	h.Write(torchAPI)
	h.Write(generated)
	h.Write(cofiNative)
	return fmt.Sprintf("cofi-native-%d:%s", APIVersion, hex.EncodeToString(h.Sum(nil))[:16])
}

func apiOf(libtch string, header []byte) (string, error) {
	a, err := os.ReadFile(filepath.Join(libtch, "torch_api.h"))
	if err != nil {
		return "", err
	}
	g, err := os.ReadFile(filepath.Join(libtch, "torch_api_generated.h"))
	if err != nil {
		return "", err
	}
	return APIStamp(a, g, header), nil
}

func stampOf(o Options, api string) string {
	h := sha256.New()
	fmt.Fprintln(h, toolVersion, o.GotchVersion, api, o.RepoRoot, o.OutDir, o.NativeDir)
	return hex.EncodeToString(h.Sum(nil))
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

// writeCgo replaces gotch's lib.go (which compiles the wrapper and links
// libtorch with hard-coded CUDA paths) with one that links libcofitorch, and
// adds the harness's own C functions.
func (o Options) writeCgo(lib, api string) error {
	libDir := filepath.Join(o.RepoRoot, "lib")
	// $ORIGIN/../lib finds lib/ next to bin/ wherever the two are copied; the
	// absolute path serves test binaries, which run from temporary
	// directories. RUNPATH (new dtags) lets LD_LIBRARY_PATH override both.
	// libtorch itself is the native library's dependency, found through its
	// own RUNPATH; the binary never names it (--allow-shlib-undefined: the
	// link needs only libcofitorch's symbols).
	var b strings.Builder
	fmt.Fprintf(&b, "package libtch\n\n// Generated by the project's torchsetup. Do not edit.\n\n")
	fmt.Fprintf(&b, "// #cgo CFLAGS: -I${SRCDIR} -O1 -w\n")
	fmt.Fprintf(&b, "// #cgo LDFLAGS: -L%s -lcofitorch -Wl,--enable-new-dtags -Wl,-rpath,$ORIGIN/../lib -Wl,-rpath,%s -Wl,--allow-shlib-undefined\n", libDir, libDir)
	b.WriteString("import \"C\"\n")
	if err := os.WriteFile(filepath.Join(lib, "lib.go"), []byte(b.String()), 0o644); err != nil {
		return err
	}
	// gotch wraps these C functions of its own API in no Go function; the
	// harness must set threads and seeds explicitly (GOTCH.md).
	ext := fmt.Sprintf(`package libtch

// Generated by the project's torchsetup. Do not edit.

// #include <stdint.h>
// #include <stdbool.h>
// #include "torch_api.h"
// #include "cofi_native.h"
import "C"

// NativeAPI is the C API stamp this binary was built for; the native
// library's own (NativeLibAPI) must be the same.
const NativeAPI = %q

// NativeLibAPI returns the C API stamp of the loaded native library.
func NativeLibAPI() string { return C.GoString(C.cofi_native_api()) }

// NativeLibInfo returns what the loaded native library was built against,
// as key=value lines.
func NativeLibInfo() string { return C.GoString(C.cofi_native_info()) }

// NativeLibPath returns the file the native library was loaded from.
func NativeLibPath() string { return C.GoString(C.cofi_native_path()) }

// AtManualSeed seeds libtorch's generators (CPU and, when present, CUDA).
func AtManualSeed(seed int64) { C.at_manual_seed(C.int64_t(seed)) }

// AtSetNumThreads sets libtorch's intra-op thread count.
func AtSetNumThreads(n int) { C.at_set_num_threads(C.int(n)) }

// AtGetNumThreads returns libtorch's intra-op thread count.
func AtGetNumThreads() int { return int(C.at_get_num_threads()) }
`, api)
	return os.WriteFile(filepath.Join(lib, "cofi_ext.go"), []byte(ext), 0o644)
}

var goLineRe = regexp.MustCompile(`(?m)^go\s+(\S+)`)

// writeWorkspace points the project at the patched copy through a
// git-ignored go.work, so packages that do not use gotch are unaffected.
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
	work := fmt.Sprintf("// Generated by torchsetup; git-ignored. Points gotch at the copy that links lib/libcofitorch.so.\ngo %s\n\nuse .\n\nreplace %s %s => ./%s\n", goVersion, GotchModule, o.GotchVersion, filepath.ToSlash(rel))
	return writeIfChanged(filepath.Join(o.RepoRoot, "go.work"), work)
}

// writeIfChanged leaves the file (and its mtime, which make and go watch) alone when the content is the same.
func writeIfChanged(path, content string) error {
	if b, err := os.ReadFile(path); err == nil && string(b) == content {
		return nil
	}
	return os.WriteFile(path, []byte(content), 0o644)
}
