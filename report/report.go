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
	"github.com/cofiharness/cofi/method"
	"github.com/cofiharness/cofi/report/figure"
	"github.com/cofiharness/cofi/report/runs"
	"github.com/cofiharness/cofi/report/table"
	"github.com/cofiharness/cofi/results/reference"
)

// Table and figure names accepted by Options and the command line.
var (
	TableNames  = []string{"table2", "table4", "table5", "layers", "structure", "runs"}
	FigureNames = []string{"figure2", "figure3", "layers-grid"}
	// BenchFormat is the extra format that writes runs as Go benchmark lines.
	BenchFormat = "bench"
)

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

var (
	unitsAblation   = []string{"cofi-no-hidden", "cofi-no-layer", "cofi-no-layer-hidden"}
	distillAblation = []string{"cofi-no-llayer", "cofi-no-distill", "cofi-fixed-hidden"}
)

// Applicable returns the tables and figures the runs have data for.
func Applicable(set *runs.Set) (tables, figures []string) {
	if len(set.Runs) == 0 {
		return nil, nil
	}
	pruned, curve, deep := false, false, false
	for _, r := range set.Runs {
		if m, err := method.Lookup(r.Method); err == nil && m.Family == method.CoFi {
			pruned = true
		}
	}
	for _, tk := range set.Tasks() {
		sps := set.Sparsities(tk, "cofi")
		if len(sps) >= 2 {
			curve = true
		}
		if len(sps) > 0 && sps[len(sps)-1] >= 0.95-sparsityTol {
			deep = true
		}
	}
	if set.Has("teacher", "cofi", "tinybert4") {
		tables = append(tables, "table2")
	}
	if set.Has(unitsAblation...) {
		tables = append(tables, "table4")
	}
	if set.Has(distillAblation...) {
		tables = append(tables, "table5")
	}
	if deep {
		tables = append(tables, "layers")
		figures = append(figures, "layers-grid")
	}
	if pruned {
		tables = append(tables, "structure")
	}
	tables = append(tables, "runs")
	if curve {
		figures = append([]string{"figure2", "figure3"}, figures...)
	}
	return tables, figures
}

// BuildTable builds one table by name.
func BuildTable(name string, set *runs.Set, ref *reference.Data, sel Selection) (*table.Table, error) {
	switch name {
	case "table2":
		return Table2(set, ref, sel), nil
	case "table4":
		return Table4(set, ref), nil
	case "table5":
		return Table5(set, ref), nil
	case "layers":
		return LayersTable(set, ref, sel), nil
	case "structure":
		return StructureTable(set), nil
	case "runs":
		return RunsTable(set), nil
	}
	return nil, fmt.Errorf("unknown table %q (known: %s)", name, strings.Join(TableNames, ", "))
}

// BuildFigures builds the figures of one name: figure2 is the page-wide
// figure plus one column-wide figure per task.
func BuildFigures(name string, set *runs.Set, ref *reference.Data, sel Selection) ([]*figure.Figure, error) {
	switch name {
	case "figure2":
		tasks := figure.Figure2Tasks(set, ref, sel.Tasks)
		all, err := figure.Figure2(set, ref, tasks)
		if err != nil {
			return nil, err
		}
		out := []*figure.Figure{all}
		for _, tk := range tasks {
			f, err := figure.Figure2Task(set, ref, tk)
			if err != nil {
				return nil, err
			}
			out = append(out, f)
		}
		return out, nil
	case "figure3":
		f, err := figure.Figure3(set, ref)
		return []*figure.Figure{f}, err
	case "layers-grid":
		f, err := figure.LayersGrid(set, ref, sel.Tasks)
		return []*figure.Figure{f}, err
	}
	return nil, fmt.Errorf("unknown figure %q (known: %s)", name, strings.Join(FigureNames, ", "))
}

// Result lists what Generate wrote.
type Result struct {
	Files    []string // paths written, in order
	Tables   []string
	Figures  []string
	Problems []string // unusable record lines and ambiguities, also written to report.md
}

// Generate renders the asked tables and figures into opt.Out, with an index
// report.md that shows every table and links every figure.
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
	if err := checkNames(tables, TableNames, "table"); err != nil {
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
	var index bytes.Buffer
	fmt.Fprintf(&index, "# Report\n\nGenerated by `cofi report` from %s, next to the numbers published in %q (%s).\n",
		sourcesPhrase(set), ref.Paper.Title, ref.Paper.Venue)
	if len(res.Problems) > 0 {
		index.WriteString("\n## Problems in the records\n\n")
		for _, p := range res.Problems {
			fmt.Fprintf(&index, "- %s\n", p)
		}
	}
	for _, name := range tables {
		t, err := BuildTable(name, set, ref, opt.Selection)
		if err != nil {
			return nil, err
		}
		res.Tables = append(res.Tables, t.ID)
		for _, f := range formats {
			if !isTableFormat(f) {
				continue
			}
			var b bytes.Buffer
			if err := table.Write(&b, t, table.Format(f)); err != nil {
				return nil, err
			}
			if err := write(t.ID+"."+f, b.Bytes()); err != nil {
				return nil, err
			}
		}
		var md bytes.Buffer
		if err := table.Write(&md, t, table.Markdown); err != nil {
			return nil, err
		}
		index.WriteString("\n")
		index.Write(md.Bytes())
	}
	for _, name := range figures {
		figs, err := BuildFigures(name, set, ref, opt.Selection)
		if err != nil {
			return nil, err
		}
		for _, fig := range figs {
			res.Figures = append(res.Figures, fig.ID)
			wrote := map[string]bool{}
			for _, f := range formats {
				if !isFigureFormat(f) {
					continue
				}
				var b bytes.Buffer
				if err := fig.Write(&b, f, opt.Figure); err != nil {
					return nil, err
				}
				if err := write(fig.ID+"."+f, b.Bytes()); err != nil {
					return nil, err
				}
				wrote[f] = true
			}
			if len(wrote) > 0 {
				if err := write(fig.ID+".caption.txt", []byte(fig.Caption+"\n")); err != nil {
					return nil, err
				}
			}
			fmt.Fprintf(&index, "\n### Figure %s\n\n", fig.ID)
			if wrote["svg"] || wrote["png"] {
				img := fig.ID + ".svg"
				if !wrote["svg"] {
					img = fig.ID + ".png"
				}
				fmt.Fprintf(&index, "![%s](%s)\n\n", fig.ID, img)
			}
			fmt.Fprintf(&index, "%s\n", fig.Caption)
		}
	}
	for _, f := range formats {
		if f == BenchFormat {
			var b bytes.Buffer
			if err := WriteBench(&b, set); err != nil {
				return nil, err
			}
			if err := write("runs.bench", b.Bytes()); err != nil {
				return nil, err
			}
		}
	}
	if err := write("report.md", index.Bytes()); err != nil {
		return nil, err
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
