//go:build torch

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/cofiharness/cofi/experiments/torch"
)

// TestNativeAPIMismatch loads, through LD_LIBRARY_PATH, a copy of the real
// native library whose C API stamp was altered, as a library built from other
// sources would carry: every command stops with one message naming the
// library found and the command that rebuilds it, before any work, and
// 'cofi version' reports the same.
func TestNativeAPIMismatch(t *testing.T) {
	n := torch.Native()
	if n.API != n.Want {
		t.Fatalf("the test binary itself loaded a mismatched library: %v", torch.CheckNative())
	}
	b, err := os.ReadFile(n.Path)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`cofi-native-[0-9]+:[0-9a-f]{16}`)
	locs := re.FindAllIndex(b, -1)
	if len(locs) != 1 || string(b[locs[0][0]:locs[0][1]]) != n.API {
		t.Fatalf("want the stamp %s once in %s, found %d", n.API, n.Path, len(locs))
	}
	other := n.API[:len(n.API)-16] + "0123456789abcdef"
	copy(b[locs[0][0]:], other)
	dir := t.TempDir()
	libDir := filepath.Join(dir, "lib")
	if err := os.MkdirAll(libDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(libDir, "libcofitorch.so"), b, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"synth", "--out", filepath.Join(dir, "data")}, {"version"}} {
		cmd := cofiCmd(t, dir, args...)
		cmd.Env = append(cmd.Env, "LD_LIBRARY_PATH="+libDir)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		code := cmd.ProcessState.ExitCode()
		msg := strings.TrimSpace(stderr.String())
		t.Logf("cofi %s: exit %d: %s", args[0], code, msg)
		if err == nil || code != 1 {
			t.Errorf("cofi %s with a mismatched library: exit %d, want 1", args[0], code)
		}
		for _, want := range []string{
			"native library " + filepath.Join(libDir, "libcofitorch.so"),
			"built for C API " + other,
			"this binary needs " + n.Want,
			"rebuild it with: ",
			"build-native.sh",
		} {
			if !strings.Contains(msg, want) {
				t.Errorf("cofi %s: message lacks %q", args[0], want)
			}
		}
		if strings.Count(msg, "\n") != 0 {
			t.Errorf("cofi %s: want one line, got %q", args[0], msg)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "data")); err == nil {
		t.Error("cofi synth did work with a mismatched library")
	}
}
