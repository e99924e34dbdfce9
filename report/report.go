// Package report renders the paper's tables and figures from run records,
// next to the published numbers (package reference): Table 2, Table 4, Table
// 5, the remaining-layers table, a per-run structure table and a table of
// every run, in Markdown, plain text, LaTeX, CSV and JSON; Figure 2, Figure 3
// and the remaining-layers grid in PDF, SVG and PNG; and Go benchmark text
// for benchstat. It reads records only (package runs), never the trainer.
package report

import (
	"bytes"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/cofiharness/cofi/internal/atomicfile"
	"github.com/cofiharness/cofi/report/figure"
	"github.com/cofiharness/cofi/report/runs"
	"github.com/cofiharness/cofi/report/table"
	"github.com/cofiharness/cofi/results/reference"
)

// BenchFormat is the extra format that writes runs as Go benchmark lines.
var BenchFormat = "bench"

// Formats lists every output format name: the table formats, the figure formats, bench.
func Formats() []string {
	var out []string
	for _, f := range table.Formats {
		out = append(out, string(f))
	}
	return append(append(out, figure.Formats...), BenchFormat)
}

// DefaultFormats are written when none are asked for (everything but bench).
func DefaultFormats() []string {
	f := Formats()
	return f[:len(f)-1]
}

// Options say what to render and where.
type Options struct {
	Tables  []string // nil: the applicable ones; empty: none
	Figures []string // nil: the applicable ones; empty: none
	Formats []string // nil: DefaultFormats
	Out     string   // output directory
	Selection
	Figure figure.Options
}

// Result lists what Generate wrote.
type Result struct {
	Files    []string // paths written, in order
	Tables   []string
	Figures  []string
	Problems []string // unusable record lines and ambiguities, also written to report.md
	Failed   []string // tables and figures (or one format of them) that could not be rendered, with why
}

// PartialError is Generate's error when some tables or figures failed: the
// rest, and report.md listing the failures, were written.
type PartialError struct{ Failed []string }

func (e *PartialError) Error() string {
	return fmt.Sprintf("%d part(s) of the report not rendered: %s", len(e.Failed), strings.Join(e.Failed, "; "))
}

// Generate renders the asked tables and figures into opt.Out, with an index
// report.md that shows every table and links every figure. One table or
// figure that fails does not stop the others: it is listed in report.md and
// in Result.Failed, and the error is a *PartialError.
func Generate(set *runs.Set, ref *reference.Data, opt Options) (*Result, error) {
	if opt.Out == "" {
		return nil, fmt.Errorf("no output directory")
	}
	// nil asks for what the runs can fill; an empty list for nothing.
	tables, figures := opt.Tables, opt.Figures
	at, af := Applicable(set)
	if tables == nil {
		tables = at
	}
	if figures == nil {
		figures = af
	}
	formats := opt.Formats
	if len(formats) == 0 {
		formats = DefaultFormats()
	}
	if err := checkNames(formats, Formats(), "format"); err != nil {
		return nil, err
	}
	if err := checkNames(tables, append(append([]string(nil), TableNames...), tableAliases()...), "table"); err != nil {
		return nil, err
	}
	if err := checkNames(figures, FigureNames, "figure"); err != nil {
		return nil, err
	}
	res := &Result{Problems: append(append([]string(nil), set.Problems...), set.Warnings...)}
	write := func(name string, b []byte) error {
		p := filepath.Join(opt.Out, name)
		if err := atomicfile.Write(p, b, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", p, err)
		}
		res.Files = append(res.Files, p)
		return nil
	}
	fail := func(index *bytes.Buffer, what string, err error) {
		res.Failed = append(res.Failed, fmt.Sprintf("%s: %v", what, err))
		fmt.Fprintf(index, "\n**%s not rendered:** %v\n", what, err)
	}
	var body bytes.Buffer
	for _, name := range tables {
		t, err := BuildTable(name, set, ref, opt.Selection)
		if err != nil {
			fail(&body, name, err)
			continue
		}
		res.Tables = append(res.Tables, t.ID)
		for _, f := range formats {
			if !isTableFormat(f) {
				continue
			}
			var b bytes.Buffer
			if err := table.Write(&b, t, table.Format(f)); err != nil {
				fail(&body, t.ID+"."+f, err)
				continue
			}
			if err := write(t.ID+"."+f, b.Bytes()); err != nil {
				return res, err
			}
		}
		var md bytes.Buffer
		if err := table.Write(&md, t, table.Markdown); err != nil {
			fail(&body, t.ID, err)
			continue
		}
		body.WriteString("\n")
		body.Write(md.Bytes())
	}
	for _, name := range figures {
		figs, err := BuildFigures(name, set, ref, opt.Selection)
		if err != nil {
			fail(&body, name, err) // and render the ones that were built
		}
		link := figureSpec(name).Link
		if link && len(figs) > 0 {
			fmt.Fprintf(&body, "\n### Figures %s\n\n", name)
		}
		for _, fig := range figs {
			res.Figures = append(res.Figures, fig.ID)
			wrote := map[string]bool{}
			if !link {
				fmt.Fprintf(&body, "\n### Figure %s\n", fig.ID)
			}
			for _, f := range formats {
				if !isFigureFormat(f) {
					continue
				}
				var b bytes.Buffer
				if err := fig.Write(&b, f, opt.Figure); err != nil {
					fail(&body, fig.ID+"."+f, err)
					continue
				}
				if err := write(fig.ID+"."+f, b.Bytes()); err != nil {
					return res, err
				}
				wrote[f] = true
			}
			if len(wrote) > 0 {
				if err := write(fig.ID+".caption.txt", []byte(fig.Caption+"\n")); err != nil {
					return res, err
				}
			}
			img := ""
			for _, f := range []string{"svg", "png", "pdf"} {
				if wrote[f] && img == "" {
					img = fig.ID + "." + f
				}
			}
			if link {
				if img != "" {
					fmt.Fprintf(&body, "- [%s](%s): %s\n", fig.ID, img, fig.Caption)
				} else {
					fmt.Fprintf(&body, "- %s: %s\n", fig.ID, fig.Caption)
				}
				continue
			}
			body.WriteString("\n")
			if wrote["svg"] || wrote["png"] {
				fmt.Fprintf(&body, "![%s](%s)\n\n", fig.ID, img)
			}
			fmt.Fprintf(&body, "%s\n", fig.Caption)
		}
	}
	for _, f := range formats {
		if f == BenchFormat {
			var b bytes.Buffer
			if err := WriteBench(&b, set); err != nil {
				fail(&body, "runs.bench", err)
				continue
			}
			if err := write("runs.bench", b.Bytes()); err != nil {
				return res, err
			}
		}
	}
	var index bytes.Buffer
	fmt.Fprintf(&index, "# Report\n\nGenerated by `cofi report` from %s, next to the numbers published in %q (%s).\n",
		sourcesPhrase(set), ref.Paper.Title, ref.Paper.Venue)
	if len(res.Failed) > 0 {
		index.WriteString("\n## Not rendered\n\n")
		for _, f := range res.Failed {
			fmt.Fprintf(&index, "- %s\n", f)
		}
	}
	if len(res.Problems) > 0 {
		index.WriteString("\n## Problems in the records\n\n")
		for _, p := range res.Problems {
			fmt.Fprintf(&index, "- %s\n", p)
		}
	}
	index.Write(body.Bytes())
	if err := write("report.md", index.Bytes()); err != nil {
		return res, err
	}
	if len(res.Failed) > 0 {
		return res, &PartialError{Failed: res.Failed}
	}
	return res, nil
}

func sourcesPhrase(set *runs.Set) string {
	if len(set.Sources) == 0 {
		return "no records (published values only)"
	}
	var s []string
	for _, p := range set.Sources {
		s = append(s, "`"+filepath.ToSlash(p)+"`")
	}
	return fmt.Sprintf("%d runs in %s", len(set.Runs), strings.Join(s, ", "))
}

func isTableFormat(f string) bool {
	for _, t := range table.Formats {
		if string(t) == f {
			return true
		}
	}
	return false
}

func isFigureFormat(f string) bool {
	for _, t := range figure.Formats {
		if t == f {
			return true
		}
	}
	return false
}

func checkNames(got, known []string, what string) error {
	for _, g := range got {
		ok := false
		for _, k := range known {
			if g == k {
				ok = true
			}
		}
		if !ok {
			k := append([]string(nil), known...)
			sort.Strings(k)
			return fmt.Errorf("unknown %s %q (known: %s)", what, g, strings.Join(k, ", "))
		}
	}
	return nil
}
