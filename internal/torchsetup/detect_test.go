package torchsetup

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestDetectMissing(t *testing.T) {
	_, err := Detect(t.TempDir())
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("Detect(empty dir) = %v, want ErrNotFound", err)
	}
}

// TestDetectLayout builds a fake pytorch.org layout whose libraries are copies
// of a real ELF shared library (the C++ runtime), so the ABI reader runs on
// real symbol tables.
func TestDetectLayout(t *testing.T) {
	libstdcxx := ""
	for _, p := range []string{"/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib64/libstdc++.so.6", "/lib/x86_64-linux-gnu/libstdc++.so.6"} {
		if _, err := os.Stat(p); err == nil {
			libstdcxx = p
		}
	}
	if libstdcxx == "" {
		t.Fatal("no libstdc++.so.6 found: g++ is a build requirement of this project")
	}
	so, err := os.ReadFile(libstdcxx)
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(root, "include/torch/csrc/api/include/torch"), 0o755))
	must(os.MkdirAll(filepath.Join(root, "lib"), 0o755))
	must(os.WriteFile(filepath.Join(root, "include/torch/csrc/api/include/torch/version.h"),
		[]byte("#pragma once\n#define TORCH_VERSION_MAJOR 2\n#define TORCH_VERSION_MINOR 1\n#define TORCH_VERSION_PATCH 2\n"), 0o644))
	for _, n := range []string{"libtorch.so", "libtorch_cpu.so", "libc10.so", "libtorch_cuda.so"} {
		must(os.WriteFile(filepath.Join(root, "lib", n), so, 0o644))
	}
	lt, err := Detect(root)
	if err != nil {
		t.Fatal(err)
	}
	// libstdc++ of GCC >= 5 exports both ABIs; it must be read as C++11.
	if lt.Version != "2.1.2" || !lt.CUDA || !lt.CXX11ABI || lt.Source != "libtorch" || lt.Tags() != "torch,cuda" {
		t.Fatalf("Detect = %+v", lt)
	}
}
