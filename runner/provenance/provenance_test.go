package provenance

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

func runGit(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

func TestCollectInAGitCheckout(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatal("git is required by the runner's provenance and by this test")
	}
	dir := t.TempDir()
	runGit(t, dir, "init", "-q")
	os.WriteFile(filepath.Join(dir, "a.go"), []byte("package a\n"), 0o644)
	os.WriteFile(filepath.Join(dir, ".gitignore"), []byte("results/\n"), 0o644)
	runGit(t, dir, "add", ".")
	runGit(t, dir, "commit", "-qm", "first")
	clean := Collect(dir)
	if len(clean.GitCommit) != 40 || clean.GitDirty || clean.DiffHash != "" || clean.GoVersion != runtime.Version() || clean.Host == "" {
		t.Fatalf("clean checkout: %+v", clean)
	}
	if Code(clean) != clean.GitCommit {
		t.Errorf("code of a clean tree %q", Code(clean))
	}
	// Ignored files (results) do not make the tree dirty.
	os.MkdirAll(filepath.Join(dir, "results"), 0o755)
	os.WriteFile(filepath.Join(dir, "results", "r.json"), []byte("{}"), 0o644)
	if p := Collect(dir); p.GitDirty {
		t.Error("an ignored file made the tree dirty")
	}
	os.WriteFile(filepath.Join(dir, "a.go"), []byte("package a // edited\n"), 0o644)
	edited := Collect(dir)
	os.WriteFile(filepath.Join(dir, "new.go"), []byte("package a\n"), 0o644)
	untracked := Collect(dir)
	os.WriteFile(filepath.Join(dir, "new.go"), []byte("package b\n"), 0o644)
	untracked2 := Collect(dir)
	if !edited.GitDirty || edited.DiffHash == "" || untracked.DiffHash == edited.DiffHash || untracked2.DiffHash == untracked.DiffHash {
		t.Errorf("diff hashes: edited %q, +untracked %q, untracked edited %q", edited.DiffHash, untracked.DiffHash, untracked2.DiffHash)
	}
	if Code(edited) != edited.GitCommit+"+"+edited.DiffHash {
		t.Errorf("code of a dirty tree %q", Code(edited))
	}
	if again := Collect(dir); again.DiffHash != untracked2.DiffHash {
		t.Error("diff hash not deterministic")
	}
}

func TestCollectOutsideGit(t *testing.T) {
	p := Collect(t.TempDir())
	if p.DiffHash != "" || p.GoVersion == "" {
		t.Errorf("%+v", p)
	}
}
