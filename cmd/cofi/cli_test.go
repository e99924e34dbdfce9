package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// captured runs the command line and returns its exit status, standard
// output and standard error.
func captured(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	stdout, stderr := os.Stdout, os.Stderr
	ro, wo, _ := os.Pipe()
	re, we, _ := os.Pipe()
	os.Stdout, os.Stderr = wo, we
	var bo, be bytes.Buffer
	done := make(chan struct{}, 2)
	go func() { io.Copy(&bo, ro); done <- struct{}{} }()
	go func() { io.Copy(&be, re); done <- struct{}{} }()
	code := run(args)
	wo.Close()
	we.Close()
	<-done
	<-done
	os.Stdout, os.Stderr = stdout, stderr
	return code, bo.String(), be.String()
}

// TestCLIConventions: help on standard output with exit 0, a flag error
// printed once with exit 2, --version, unknown help topics.
func TestCLIConventions(t *testing.T) {
	var names []string
	for name, c := range commands {
		if !strings.HasSuffix(c.Summary, "[needs libtorch]") { // stubs of a build without the torch tag
			names = append(names, name)
		}
	}
	if len(names) < 8 {
		t.Fatalf("commands %v", names)
	}
	for _, name := range names {
		code, out, errOut := captured(t, name, "--help")
		if code != 0 || !strings.Contains(out, "usage: cofi "+name) || errOut != "" {
			t.Errorf("%s --help: exit %d, stdout %q, stderr %q", name, code, head(out), errOut)
		}
		code, out, _ = captured(t, "help", name)
		if code != 0 || !strings.Contains(out, "usage: cofi "+name) {
			t.Errorf("help %s: exit %d, stdout %q", name, code, head(out))
		}
		code, out, errOut = captured(t, name, "--bogus-flag")
		if code != 2 || out != "" || strings.Count(errOut, "bogus-flag") != 1 || strings.Contains(errOut, "usage:") {
			t.Errorf("%s --bogus-flag: exit %d, stdout %q, stderr %q (want exit 2 and the error once)", name, code, out, errOut)
		}
	}
	if code, out, _ := captured(t, "--version"); code != 0 || !strings.HasPrefix(out, "cofi ") {
		t.Errorf("--version: exit %d, %q", code, out)
	}
	if code, _, errOut := captured(t, "help", "nosuch"); code != 2 || !strings.Contains(errOut, `unknown command "nosuch"`) {
		t.Errorf("help nosuch: exit %d, %q", code, errOut)
	}
	if code, out, _ := captured(t, "help"); code != 0 || !strings.Contains(out, "commands:") {
		t.Errorf("help: exit %d", code)
	}
	if code, _, errOut := captured(t, "report", "--sparsity", "x", "--out", t.TempDir()); code != 2 || strings.Count(errOut, "invalid value") != 1 {
		t.Errorf("bad value: exit %d, %q", code, errOut)
	}
}

// TestFlagsAfterArguments: report and compare take flags after their
// positional arguments, and "--" ends the flags.
func TestFlagsAfterArguments(t *testing.T) {
	out := t.TempDir()
	grid := filepath.Join(fixtures, "grid")
	if code, _, errOut := captured(t, "report", grid, "--tables", "table2", "--figures", "none", "--formats", "md", "--out", out); code != 0 {
		t.Fatalf("report with flags after the argument: exit %d: %s", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(out, "table2.md")); err != nil {
		t.Error(err)
	}
	if _, err := os.Stat(filepath.Join(out, "structure.md")); err == nil {
		t.Error("--tables after the argument was ignored")
	}
	base := filepath.Join(fixtures, "sweep")
	if code, out, _ := captured(t, "compare", filepath.Join(fixtures, "compare-ok"), "--baseline", base, "--json"); code != 0 || !strings.HasPrefix(strings.TrimSpace(out), "{") {
		t.Errorf("compare with flags after the argument: exit %d, %q", code, head(out))
	}
	if code, _, errOut := captured(t, "report", "--out", t.TempDir(), "--", "--tables"); code != 1 || !strings.Contains(errOut, "records --tables") {
		t.Errorf("after --, arguments are inputs: exit %d, %q", code, errOut)
	}
}

func head(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
