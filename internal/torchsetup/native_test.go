package torchsetup

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"testing"
)

// The native half of the build is POSIX sh and awk (scripts/build-native.sh,
// native/guard.awk) so that it runs where Go is not; these tests run those
// very files.

func repoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

const sample = `// header
#include "x.h"

void atg_ok(tensor *out__, tensor self) {
  PROTECT(
    auto outputs__ = torch::abs(*self);
    out__[0] = new torch::Tensor(outputs__);
  )
}

void atg_new_op(tensor *out__, tensor self,
                int64_t dim) {
  PROTECT(
    auto outputs__ = torch::new_op(*self, "}{", '{');
    out__[0] = new torch::Tensor(outputs__);
  )
}

tensor *atg_split_new(tensor self) {
  PROTECT(
    auto outputs__ = torch::split_new(*self); /* } */
  )
  return nullptr;
}

int64_t atg_count(tensor self) {
  PROTECT(return torch::count(*self);)
  return 0;
}

bool atg_named(tensor self) {
  PROTECT(return torch::named(*self);)
  return false;
}
`

// guard runs native/guard.awk over src with the compiler output diag.
func guard(t *testing.T, file, src, diag string) (string, []string) {
	t.Helper()
	dir := t.TempDir()
	for n, s := range map[string]string{file: src, "diag": diag} {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	list := filepath.Join(dir, "guarded")
	cmd := exec.Command("awk", "-v", "file="+file, "-v", "why=libtorch 1.13.0", "-v", "list="+list,
		"-f", filepath.Join(repoRoot(t), "native", "guard.awk"), filepath.Join(dir, "diag"), filepath.Join(dir, file))
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("guard.awk: %v: %s", err, stderr.String())
	}
	b, _ := os.ReadFile(list)
	names := strings.Fields(string(b))
	sort.Strings(names)
	return string(out), names
}

func TestGuardReplacesOnlyBrokenFunctions(t *testing.T) {
	// Errors at lines 14 (atg_new_op), 22 (atg_split_new, through a template
	// "required from here") and 28 (atg_count); atg_named is named by an
	// "In function" line followed by an error elsewhere (GCC's quotes in a
	// UTF-8 locale, ASCII ones under LC_ALL=C); the error in a header is no
	// function of this file.
	diag := `In file included from gen.cpp:1:
gen.cpp: In function 'void atg_new_op(tensor*, tensor, int64_t)':
gen.cpp:14:29: error: 'new_op' is not a member of 'torch'
/usr/include/c++/12/tuple:1401:5:   required by substitution of 'template<...>'
/work/build/gen.cpp:22:3:   required from here
/usr/include/c++/12/tuple:1357:25: error: static assertion failed: tuple index must be in range
gen.cpp:28:3: error: 'count' was not declared in this scope
gen.cpp: In function ‘bool atg_named(tensor)’:
/usr/include/torch/x.h:5:1: error: something in a header
other.cpp:4:1: error: 'x' in another file
`
	out, done := guard(t, "gen.cpp", sample, diag)
	if want := []string{"atg_count", "atg_named", "atg_new_op", "atg_split_new"}; !reflect.DeepEqual(done, want) {
		t.Fatalf("guarded %v, want %v", done, want)
	}
	for _, gone := range []string{"torch::new_op", "torch::split_new", "torch::count", "torch::named"} {
		if strings.Contains(out, gone) {
			t.Errorf("%s still present after guard", gone)
		}
	}
	if !strings.Contains(out, "torch::abs(*self)") {
		t.Error("working function was changed")
	}
	for _, want := range []string{
		"void atg_new_op(tensor *out__, tensor self,\n                int64_t dim) {\n" +
			`  torch_last_err = strdup("atg_new_op is not available in this libtorch (libtorch 1.13.0)");` + "\n}\n",
		`strdup("atg_split_new is not available in this libtorch (libtorch 1.13.0)"); return nullptr;`,
		`strdup("atg_count is not available in this libtorch (libtorch 1.13.0)"); return {};`,
		`strdup("atg_named is not available in this libtorch (libtorch 1.13.0)"); return false;`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("guarded source lacks %q\n%s", want, out)
		}
	}
	// Guarding the guarded source with the same diagnostics changes nothing
	// more: the function structure survived.
	again, _ := guard(t, "gen.cpp", out, "")
	if again != out {
		t.Errorf("guarding with no errors changed the source")
	}
}

func TestGuardNoErrorsIsIdentity(t *testing.T) {
	out, done := guard(t, "gen.cpp", sample, "gen.cpp:4:1: warning: unused\n")
	if out != sample || len(done) != 0 {
		t.Fatalf("no errors: guarded %v, changed: %v", done, out != sample)
	}
}

// TestAPIStampMatchesScript: the binary's stamp (APIStamp, compiled in by
// Prepare) and the library's (computed by build-native.sh with sha256sum) are
// the same function of the same headers, and API_VERSION agrees.
func TestAPIStampMatchesScript(t *testing.T) {
	script, err := os.ReadFile(filepath.Join(repoRoot(t), "scripts", "build-native.sh"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^API_VERSION=(\d+)`).FindSubmatch(script)
	if m == nil || string(m[1]) != "1" || APIVersion != 1 {
		t.Fatalf("scripts/build-native.sh API_VERSION %q, Go APIVersion %d: keep them equal", m, APIVersion)
	}
	if !bytes.Contains(script, []byte(`API="cofi-native-$API_VERSION:$(cat "$SRC/torch_api.h" "$SRC/torch_api_generated.h" "$NATIVE/cofi_native.h" | sha256sum | cut -c1-16)"`)) {
		t.Fatal("build-native.sh no longer computes the stamp as this test assumes; update both")
	}
	dir := t.TempDir()
	files := []string{"a.h", "g.h", "c.h"}
	contents := [][]byte{[]byte("void f(void);\n"), []byte("int g(int);\n"), []byte("const char *cofi_native_api(void);\n")}
	for i, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f), contents[i], 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out, err := exec.Command("sh", "-c", `cd "$1" && echo "cofi-native-1:$(cat a.h g.h c.h | sha256sum | cut -c1-16)"`, "sh", dir).Output()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.TrimSpace(string(out)), APIStamp(contents[0], contents[1], contents[2]); got != want {
		t.Fatalf("shell stamp %s, Go stamp %s", got, want)
	}
}

// detect runs build-native.sh --print on dir.
func detect(t *testing.T, dir string) (map[string]string, string, error) {
	t.Helper()
	cmd := exec.Command("sh", filepath.Join(repoRoot(t), "scripts", "build-native.sh"), "--print", dir)
	cmd.Env = append(os.Environ(), "LIBTORCH=")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	kv := map[string]string{}
	for _, l := range strings.Split(stdout.String(), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			kv[k] = v
		}
	}
	return kv, strings.TrimSpace(stderr.String()), err
}

// fakeLibtorch builds a libtorch layout whose libraries are copies of a real
// ELF shared library (the C++ runtime), so the ABI test reads real symbol
// tables. python: lay it out as a torch package inside site-packages.
func fakeLibtorch(t *testing.T, python, cuda bool) (root, given string) {
	t.Helper()
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
	base := t.TempDir()
	root, given = base, base
	if python {
		root = filepath.Join(base, "site-packages", "torch")
		given = filepath.Join(base, "site-packages")
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(root, "include/torch/csrc/api/include/torch"), 0o755))
	must(os.MkdirAll(filepath.Join(root, "lib"), 0o755))
	must(os.WriteFile(filepath.Join(root, "include/torch/csrc/api/include/torch/version.h"),
		[]byte("#pragma once\n#define TORCH_VERSION_MAJOR 2\n#define TORCH_VERSION_MINOR 11\n#define TORCH_VERSION_PATCH 0\n"), 0o644))
	libs := []string{"libtorch.so", "libtorch_cpu.so", "libc10.so"}
	if cuda {
		libs = append(libs, "libtorch_cuda.so")
	}
	for _, n := range libs {
		must(os.WriteFile(filepath.Join(root, "lib", n), so, 0o644))
	}
	if python {
		must(os.WriteFile(filepath.Join(root, "__init__.py"), nil, 0o644))
	}
	return root, given
}

func TestDetectLayouts(t *testing.T) {
	for _, c := range []struct {
		name         string
		python, cuda bool
		source       string
	}{
		{"pytorch.org libtorch, CUDA", false, true, "libtorch"},
		{"python torch package given as site-packages, CPU", true, false, "python"},
	} {
		t.Run(c.name, func(t *testing.T) {
			root, given := fakeLibtorch(t, c.python, c.cuda)
			kv, msg, err := detect(t, given)
			if err != nil {
				t.Fatalf("%v: %s", err, msg)
			}
			cuda := "0"
			if c.cuda {
				cuda = "1"
			}
			// libstdc++ of GCC >= 5 exports both ABIs; it must be read as C++11.
			want := map[string]string{"source": c.source, "root": root, "version": "2.11.0", "libdir": filepath.Join(root, "lib"),
				"cuda": cuda, "abi": "1", "includes": filepath.Join(root, "include") + " " + filepath.Join(root, "include/torch/csrc/api/include")}
			if !reflect.DeepEqual(kv, want) {
				t.Fatalf("detected %v, want %v", kv, want)
			}
		})
	}
}

func TestDetectErrors(t *testing.T) {
	root, _ := fakeLibtorch(t, false, false)
	if err := os.Remove(filepath.Join(root, "lib", "libc10.so")); err != nil {
		t.Fatal(err)
	}
	empty := t.TempDir()
	for _, c := range []struct{ dir, want string }{
		{empty, "libtorch not found: no " + filepath.Join(empty, "include/torch/csrc/api/include/torch/version.h")},
		{filepath.Join(empty, "nonesuch"), "no such directory"},
		{root, "libc10.so missing in " + filepath.Join(root, "lib")},
	} {
		_, msg, err := detect(t, c.dir)
		if err == nil || !strings.Contains(msg, c.want) {
			t.Errorf("detect %s: err %v, message %q, want it to say %q", c.dir, err, msg, c.want)
		}
	}
}

func TestBuildNativeMissingSources(t *testing.T) {
	root, _ := fakeLibtorch(t, false, false)
	src := t.TempDir()
	cmd := exec.Command("sh", filepath.Join(repoRoot(t), "scripts", "build-native.sh"), "--src", src, "--out", t.TempDir(), root)
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "gotch's sources not found: no "+filepath.Join(src, "torch_api.cpp")) {
		t.Fatalf("err %v, output %s", err, out)
	}
}
