// Package torchsetup finds a libtorch on this machine and prepares a copy of
// gotch that builds against it: link flags for that libtorch (CUDA when
// present, behind the "cuda" build tag), the C++ ABI read from the library,
// and every function of gotch's generated wrapper that does not compile
// against those headers replaced by one that returns a clear error.
//
// Nothing of gotch is committed: the copy lives in a git-ignored directory
// and is rebuilt only when its inputs change.
package torchsetup

import (
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// Libtorch describes a libtorch installation.
type Libtorch struct {
	Source   string   // "debian", "libtorch" (pytorch.org zip) or "python" (a torch wheel)
	Root     string   // the directory given or detected
	Includes []string // -I directories
	LibDir   string   // directory holding libtorch.so
	Version  string   // e.g. "1.13.0"
	CUDA     bool     // libtorch_cuda.so present
	CXX11ABI bool     // library built with _GLIBCXX_USE_CXX11_ABI=1
}

// Debian's libtorch-dev locations.
const (
	debianInclude = "/usr/include"
	debianLib     = "/usr/lib/x86_64-linux-gnu"
)

// ErrNotFound means no libtorch was found where one was looked for.
var ErrNotFound = errors.New("libtorch not found")

// Detect finds libtorch. With dir == "" it looks for Debian's libtorch-dev;
// otherwise dir is an unpacked libtorch (include/, lib/) or a Python torch
// package directory (.../site-packages/torch, or the site-packages above it).
func Detect(dir string) (*Libtorch, error) {
	if dir == "" {
		lt := &Libtorch{Source: "debian", Root: "/usr", LibDir: debianLib,
			Includes: []string{filepath.Join(debianInclude, "torch/csrc/api/include")}}
		if err := lt.fill(debianInclude); err != nil {
			return nil, err
		}
		return lt, nil
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(abs, "torch", "lib")); err == nil {
		abs = filepath.Join(abs, "torch") // site-packages given
	}
	lt := &Libtorch{Source: "libtorch", Root: abs, LibDir: filepath.Join(abs, "lib"),
		Includes: []string{filepath.Join(abs, "include"), filepath.Join(abs, "include/torch/csrc/api/include")}}
	if _, err := os.Stat(filepath.Join(abs, "__init__.py")); err == nil {
		lt.Source = "python"
	}
	if err := lt.fill(filepath.Join(abs, "include")); err != nil {
		return nil, err
	}
	return lt, nil
}

var versionRe = regexp.MustCompile(`#define TORCH_VERSION_(MAJOR|MINOR|PATCH) (\d+)`)

// fill checks the layout and reads version, CUDA and ABI.
func (lt *Libtorch) fill(include string) error {
	vh := filepath.Join(include, "torch/csrc/api/include/torch/version.h")
	b, err := os.ReadFile(vh)
	if err != nil {
		return fmt.Errorf("%w: no %s (%v)", ErrNotFound, vh, err)
	}
	v := map[string]string{}
	for _, m := range versionRe.FindAllStringSubmatch(string(b), -1) {
		v[m[1]] = m[2]
	}
	if v["MAJOR"] == "" || v["MINOR"] == "" {
		return fmt.Errorf("%s: no TORCH_VERSION_MAJOR/MINOR defines", vh)
	}
	lt.Version = v["MAJOR"] + "." + v["MINOR"] + "." + v["PATCH"]
	for _, lib := range []string{"libtorch.so", "libtorch_cpu.so", "libc10.so"} {
		if _, err := os.Stat(filepath.Join(lt.LibDir, lib)); err != nil {
			return fmt.Errorf("%w: %s missing in %s", ErrNotFound, lib, lt.LibDir)
		}
	}
	_, err = os.Stat(filepath.Join(lt.LibDir, "libtorch_cuda.so"))
	lt.CUDA = err == nil
	abi, err := CXX11ABI(filepath.Join(lt.LibDir, "libc10.so"))
	if err != nil {
		return err
	}
	lt.CXX11ABI = abi
	return nil
}

// CXX11ABI reports whether the shared library at path was built with the
// C++11 ABI, by looking for std::__cxx11 in the mangled names it exports:
// libc10 exports functions taking std::string, whose mangling differs.
func CXX11ABI(path string) (bool, error) {
	f, err := elf.Open(path)
	if err != nil {
		return false, fmt.Errorf("read ABI of %s: %w", path, err)
	}
	defer f.Close()
	syms, err := f.DynamicSymbols()
	if err != nil {
		return false, fmt.Errorf("read ABI of %s: %w", path, err)
	}
	strs := 0
	for _, s := range syms {
		if s.Section == elf.SHN_UNDEF {
			continue
		}
		if strings.Contains(s.Name, "__cxx1112basic_string") {
			return true, nil
		}
		if strings.Contains(s.Name, "Ss") || strings.Contains(s.Name, "basic_string") {
			strs++
		}
	}
	if strs == 0 {
		return false, fmt.Errorf("read ABI of %s: no exported symbol mentions std::string, cannot tell the ABI", path)
	}
	return false, nil
}

// Tags are the Go build tags a binary linked against lt needs.
func (lt *Libtorch) Tags() string {
	if lt.CUDA {
		return "torch,cuda"
	}
	return "torch"
}

func (lt *Libtorch) String() string {
	dev := "CPU"
	if lt.CUDA {
		dev = "CUDA"
	}
	abi := 0
	if lt.CXX11ABI {
		abi = 1
	}
	return fmt.Sprintf("libtorch %s (%s, %s, C++11 ABI=%d) at %s", lt.Version, lt.Source, dev, abi, lt.Root)
}
