package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const fixtures = "../../report/testdata"

// quiet runs the command line with standard output and error discarded.
func quiet(t *testing.T, args ...string) int {
	t.Helper()
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer devnull.Close()
	stdout, stderr := os.Stdout, os.Stderr
	os.Stdout, os.Stderr = devnull, devnull
	defer func() { os.Stdout, os.Stderr = stdout, stderr }()
	return run(args)
}

func TestReportCommand(t *testing.T) {
	out := t.TempDir()
	if code := quiet(t, "report", "--experiment", filepath.Join(fixtures, "grid"), "--out", out, "--formats", "md,tex,svg"); code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, f := range []string{"report.md", "table2.md", "table2.tex", "table6.md", "structure.md", "runs.md", "layers.svg", "layers.caption.txt"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("missing %s: %v", f, err)
		}
	}
	for _, f := range []string{"table4.md", "figure2.svg", "table2.csv"} {
		if _, err := os.Stat(filepath.Join(out, f)); err == nil {
			t.Errorf("%s written but not applicable or not asked for", f)
		}
	}
	// The default output directory is <experiment>/report.
	exp := t.TempDir()
	b, err := os.ReadFile(filepath.Join(fixtures, "sweep", "records.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(exp, "records.jsonl"), b, 0o644)
	if code := quiet(t, "report", "--tables", "table2", "--figures", "none", "--formats", "md", exp); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if _, err := os.Stat(filepath.Join(exp, "report", "table2.md")); err != nil {
		t.Error(err)
	}
}

// TestReportPaperOnlyEveryFormat: the published numbers alone, every table
// and figure in every format, without a failure.
func TestReportPaperOnlyEveryFormat(t *testing.T) {
	out := t.TempDir()
	if code := quiet(t, "report", "--tables", "all", "--figures", "all", "--formats", "all", "--out", out); code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, f := range []string{"report.md", "table2.tex", "table2.csv", "table2.json", "table2.txt", "figure2.pdf", "figure2.png", "figure2.svg", "figure3.svg", "layers.pdf", "runs.bench"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("missing %s: %v", f, err)
		}
	}
	b, _ := os.ReadFile(filepath.Join(out, "report.md"))
	if strings.Contains(string(b), "not rendered") {
		t.Errorf("report.md lists failures:\n%s", b)
	}
}

func TestReportPaperOnly(t *testing.T) {
	out := t.TempDir()
	if code := quiet(t, "report", "--tables", "table2,table4", "--figures", "none", "--formats", "md", "--out", out); code != 0 {
		t.Fatalf("exit %d", code)
	}
	b, err := os.ReadFile(filepath.Join(out, "table2.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "80.6") || !strings.Contains(string(b), "no records in this experiment") {
		t.Errorf("paper-only table 2 lacks the paper's values or the gap marks:\n%s", b)
	}
}

func TestReportUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"report"},
		{"report", "--out", t.TempDir()},
		{"report", "--sparsity", "95", filepath.Join(fixtures, "grid")},
	} {
		if code := quiet(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
	if code := quiet(t, "report", "--tables", "table9", "--out", t.TempDir(), filepath.Join(fixtures, "grid")); code != 1 {
		t.Errorf("unknown table: exit %d, want 1", code)
	}
	if code := quiet(t, "report", "--help"); code != 0 {
		t.Errorf("--help: exit %d", code)
	}
}

func TestCompareCommand(t *testing.T) {
	base := filepath.Join(fixtures, "sweep")
	dir := t.TempDir()
	js := filepath.Join(dir, "result.json")
	if code := quiet(t, "compare", "--baseline", base, "--json-out", js, "--bench-out", dir, filepath.Join(fixtures, "compare-regressed")); code != 1 {
		t.Errorf("planted regression: exit %d, want 1", code)
	}
	var res struct {
		Regressions int `json:"regressions"`
		Rows        []struct {
			Verdict string `json:"verdict"`
		} `json:"rows"`
	}
	b, err := os.ReadFile(js)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &res); err != nil || res.Regressions != 6 {
		t.Errorf("JSON result: %v, regressions %d", err, res.Regressions)
	}
	for _, f := range []string{"baseline.bench", "current.bench"} {
		if b, err := os.ReadFile(filepath.Join(dir, f)); err != nil || !strings.Contains(string(b), "BenchmarkCoFi/task=mnli/method=cofi/sparsity=0.95 1 ") {
			t.Errorf("%s: %v", f, err)
		}
	}
	if code := quiet(t, "compare", "--baseline", base, filepath.Join(fixtures, "compare-ok")); code != 0 {
		t.Errorf("planted non-regression: exit %d, want 0", code)
	}
	if code := quiet(t, "compare", "--baseline", base, "--json", filepath.Join(fixtures, "compare-ok")); code != 0 {
		t.Errorf("--json: exit %d, want 0", code)
	}
	// Looser tolerances and allowed missing cells leave only the failed run.
	if code := quiet(t, "compare", "--baseline", base, "--allow-missing", "--tolerance", "metric=abs:2,latency=rel:20%,speedup=rel:20%,sparsity=abs:0.05", filepath.Join(fixtures, "compare-regressed")); code != 1 {
		t.Errorf("failed run: exit %d, want 1", code)
	}
	for _, args := range [][]string{
		{"compare", filepath.Join(fixtures, "compare-ok")},
		{"compare", "--baseline", base},
		{"compare", "--baseline", base, "--tolerance", "acc=abs:1", filepath.Join(fixtures, "compare-ok")},
	} {
		if code := quiet(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}

// TestReportEvals: the released-checkpoints table from cofi eval results alone.
func TestReportEvals(t *testing.T) {
	out := t.TempDir()
	if code := quiet(t, "report", "--evals", filepath.Join(fixtures, "evals"), "--figures", "none", "--formats", "md", "--out", out); code != 0 {
		t.Fatalf("exit %d", code)
	}
	b, err := os.ReadFile(filepath.Join(out, "released.md"))
	if err != nil || !strings.Contains(string(b), "80.5") {
		t.Errorf("released.md: %v\n%s", err, b)
	}
}

// TestNightlyHistory: the report of a nightly experiment draws the history
// against the baseline; compare names the night a metric left its band.
func TestNightlyHistory(t *testing.T) {
	out := t.TempDir()
	base := filepath.Join(fixtures, "nightly-baseline")
	if code := quiet(t, "report", filepath.Join(fixtures, "nightly"), "--baseline", base, "--formats", "md,svg", "--out", out); code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, f := range []string{"history.md", "history.svg"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	code, stdout, _ := captured(t, "compare", "--baseline", base, filepath.Join(fixtures, "nightly"))
	if code != 1 || !strings.Contains(stdout, "outside the band since 2025-04-03 ccccccc") {
		t.Errorf("compare: exit %d\n%s", code, stdout)
	}
}
