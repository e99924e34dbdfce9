package report

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cofiharness/cofi/report/runs"
	"github.com/cofiharness/cofi/report/table"
	"github.com/cofiharness/cofi/results/reference"
)

// aclPreamble is the page of the ACL template (acl.sty: A4, 11 pt, text
// 16 cm wide in two columns of 7.7 cm) with Computer Modern, which is wider
// than the template's Times: a table that fits here fits there.
const aclPreamble = `\documentclass[11pt,a4paper,twocolumn]{article}
\usepackage[a4paper,textwidth=16cm,textheight=24.7cm,columnsep=0.6cm]{geometry}
\usepackage[T1]{fontenc}
\usepackage{booktabs}
\begin{document}
`

var overfull = regexp.MustCompile(`Overfull \\hbox \(([0-9.]+)pt too wide\)`)

// TestLaTeXFitsACL compiles every table the report renders — from each
// fixture experiment, the demo's records and the published numbers alone —
// in an ACL-sized document, and fails when one does not compile or is wider
// than the width it is meant for (TeX reports an overfull box: a table
// environment is a column wide, table* the page).
func TestLaTeXFitsACL(t *testing.T) {
	pdflatex, err := exec.LookPath("pdflatex")
	if err != nil {
		if os.Getenv("COFI_SKIP_TEX") != "" {
			t.Skip("COFI_SKIP_TEX is set: generated LaTeX not compiled")
		}
		t.Fatal("pdflatex not found: install Debian's texlive-latex-recommended (.ci/run does), or set COFI_SKIP_TEX=1 to skip this check")
	}
	ref := reference.Default()
	sets := []struct {
		name string
		set  *runs.Set
	}{
		{"paper", runs.FromRecords("none", nil)},
		{"grid", load(t, "grid")},
		{"ablation", load(t, "ablation")},
		{"sweep", load(t, "sweep")},
		{"demo", runs.FromRecords("demo", demoRecords())},
		{"evals", load(t, "evals")},
		{"nightly", load(t, "nightly")},
		{"curves", load(t, "curves")},
	}
	dir, err := os.MkdirTemp("", "cofi-latex-")
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if t.Failed() || os.Getenv("COFI_TEX_KEEP") != "" {
			t.Logf("sources, log and all.pdf kept in %s", dir)
		} else {
			os.RemoveAll(dir)
		}
	}()
	var doc strings.Builder
	doc.WriteString(aclPreamble)
	var names []string
	for _, s := range sets {
		for _, name := range TableNames {
			tb, err := BuildTable(name, s.set, ref, Selection{})
			if err != nil {
				t.Fatalf("%s %s: %v", s.name, name, err)
			}
			var b bytes.Buffer
			if err := table.Write(&b, tb, table.LaTeX); err != nil {
				t.Fatal(err)
			}
			id := s.name + "-" + name
			if err := os.WriteFile(filepath.Join(dir, id+".tex"), b.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			names = append(names, id)
			fmt.Fprintf(&doc, "\\typeout{COFI-TABLE %s}\n\\input{%s}\n\\clearpage\n", id, id)
		}
	}
	doc.WriteString("\\typeout{COFI-TABLE end}\n\\end{document}\n")
	if err := os.WriteFile(filepath.Join(dir, "all.tex"), []byte(doc.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, pdflatex, "-interaction=nonstopmode", "all.tex")
	cmd.Dir = dir
	out, runErr := cmd.CombinedOutput()
	log, err := os.ReadFile(filepath.Join(dir, "all.log"))
	if err != nil {
		t.Fatalf("pdflatex wrote no log (%v): %s", runErr, out)
	}
	// The log in pieces, one per table, split at the markers.
	parts := strings.Split(string(log), "COFI-TABLE ")
	seen := map[string]bool{}
	for _, p := range parts[1:] {
		id, body, _ := strings.Cut(p, "\n")
		id = strings.TrimSpace(id)
		seen[id] = true
		if m := overfull.FindAllStringSubmatch(body, -1); len(m) > 0 {
			var by []string
			for _, x := range m {
				by = append(by, x[1]+" pt")
			}
			t.Errorf("%s.tex overflows its width by %s", id, strings.Join(by, ", "))
		}
		for _, l := range strings.Split(body, "\n") {
			if strings.HasPrefix(l, "! ") {
				t.Errorf("%s.tex: LaTeX error %s", id, l)
			}
		}
	}
	for _, id := range names {
		if !seen[id] {
			t.Errorf("%s.tex was not reached (pdflatex stopped: %v)", id, runErr)
		}
	}
}
