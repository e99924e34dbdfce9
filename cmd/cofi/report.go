package main

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/cofiharness/cofi/report"
	"github.com/cofiharness/cofi/report/compare"
	"github.com/cofiharness/cofi/report/figure"
	"github.com/cofiharness/cofi/report/runs"
	"github.com/cofiharness/cofi/report/table"
	"github.com/cofiharness/cofi/results/reference"
)

// reportList is a repeatable, comma-separated flag value.
type reportList []string

func (l *reportList) String() string { return strings.Join(*l, ",") }

func (l *reportList) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

// reportInputs collects the records files or experiment directories given
// as flags and arguments, in order.
func reportInputs(experiments, records reportList, args []string) []string {
	var in []string
	in = append(in, experiments...)
	in = append(in, records...)
	return append(in, args...)
}

// reportSelect resolves "auto" (nil: what the records can fill), "all", "none" or a list.
func reportSelect(l reportList, all []string) []string {
	if len(l) == 1 {
		switch l[0] {
		case "auto":
			return nil
		case "all":
			return append([]string(nil), all...)
		case "none":
			return []string{}
		}
	}
	return l
}

func init() {
	register(Command{Name: "report", Summary: "render the paper's tables and figures from run records, next to the published numbers", Run: runReport})
}

func runReport(args []string) error {
	fs := newFlagSet("report", "[flags] [EXPERIMENT_DIR | RECORDS_FILE]...", `
Render the paper's Tables 1, 2, 4, 5 and 6 (remaining layers), the released checkpoints re-evaluated, a
per-run structure table and a table of every run (Markdown, plain text, LaTeX with booktabs sized to an ACL
column or page, CSV, JSON), and Figure 2, Figure 3 and the remaining-layers grid (PDF and SVG with subset
fonts, PNG) from the run records of one or more experiments, next to the numbers published in the paper,
with the difference. Several seeds show as mean ± sample std (n); a cell without a
result shows the paper's value and a marked gap with the reason from its record. An index report.md shows
every table and links every figure. The same records give byte-identical output.

Inputs are experiment directories (their records.jsonl) or records files, as arguments or flags, and
--evals for the results of 'cofi eval --out DIR' on the authors' released checkpoints (table "released").
With no inputs, an explicit --tables/--figures and --out render the published numbers alone.
A table or figure that cannot be rendered is listed in report.md and on standard error, the rest is
written, and the exit status is 1.

Records of several versions of the code (an experiment rerun on every commit, as configs/nightly.toml
is) also give the nightly history: table and figure "history", each cell's headline metric night by
night against --baseline and its tolerance band. Every training stage's metrics.jsonl gives figure
"curves": one small figure per run (loss terms, learning rate, expected vs target sparsity, λ1/λ2,
dev metric by step), linked from report.md.

Tables: `+strings.Join(report.TableNames, ", ")+`.
Figures: `+strings.Join(report.FigureNames, ", ")+` (figure2 writes a page-wide figure2 and one
column-wide figure2-<task> per task).
Formats: `+strings.Join(report.Formats(), ", ")+` (bench: Go benchmark lines for benchstat, runs.bench).`)
	var experiments, records, tables, figures, formats, tasks, evals reportList
	fs.Var(&experiments, "experiment", "experiment directory holding records.jsonl (repeatable, comma-separated)")
	fs.Var(&evals, "evals", "results of 'cofi eval --out DIR' (result.json files or directories searched for them) for the released-checkpoints table (repeatable)")
	fs.Var(&records, "records", "records file (repeatable, comma-separated)")
	fs.Var(&tables, "tables", "tables to render: auto (those the records fill), all, none, or a list")
	fs.Var(&figures, "figures", "figures to render: auto, all, none, or a list")
	fs.Var(&formats, "formats", "output formats: a list, or all (default md,txt,tex,csv,json,pdf,svg,png)")
	fs.Var(&tasks, "tasks", "task columns and figure panels (default: the paper's plus any other task run)")
	out := fs.String("out", "", "output directory (default: <first experiment>/report)")
	baseline := fs.String("baseline", "", "accepted baseline (experiment directory or records file) the nightly history is drawn against (default: the first night)")
	tolerance := fs.String("tolerance", "", "tolerances of the history's bands, as for cofi compare (e.g. score=abs:0.5)")
	sparsity := fs.Float64("sparsity", 0, "CoFi sparsity for Table 2 (default: the paper's, 95% and SQuAD 92.4%)")
	dpi := fs.Float64("dpi", 300, "PNG resolution in dots per inch")
	embed := fs.Bool("embed-fonts", true, "embed fonts in SVG figures (PDF figures always embed them)")
	print := fs.Bool("print", false, "also print the tables as plain text on standard output")
	pos, err := parseArgs(fs, args, -1)
	if err != nil {
		return err
	}
	if len(tables) == 0 {
		tables = reportList{"auto"}
	}
	if len(figures) == 0 {
		figures = reportList{"auto"}
	}
	if len(formats) == 1 && formats[0] == "all" {
		formats = report.Formats()
	}
	if !(*dpi > 0) || math.IsInf(*dpi, 0) {
		return exitCode{2, fmt.Sprintf("--dpi %v: want a positive number of dots per inch, e.g. 300", *dpi)}
	}
	if !(*sparsity >= 0 && *sparsity < 1) {
		return exitCode{2, fmt.Sprintf("--sparsity %v: want a fraction in [0, 1), e.g. 0.95", *sparsity)}
	}
	inputs := reportInputs(experiments, records, pos)
	tol, err := compare.ParseTolerances(*tolerance)
	if err != nil {
		return exitCode{2, err.Error()}
	}
	opt := report.Options{
		Tables:    reportSelect(tables, report.TableNames),
		Figures:   reportSelect(figures, report.FigureNames),
		Formats:   formats,
		Out:       *out,
		Selection: report.Selection{Tasks: tasks, Sparsity: *sparsity, Tolerances: tol},
		Figure:    figure.Options{DPI: *dpi, EmbedFonts: *embed},
	}
	set := &runs.Set{}
	if len(inputs) == 0 {
		if opt.Out == "" || (opt.Tables == nil && opt.Figures == nil && len(evals) == 0) {
			return exitCode{2, "no records: give experiment directories or records files (or --out with explicit --tables/--figures for the published numbers alone)"}
		}
	} else {
		if set, err = runs.Load(inputs...); err != nil {
			return err
		}
		if opt.Out == "" {
			opt.Out = filepath.Join(reportDir(inputs[0]), "report")
		}
	}
	if *baseline != "" {
		if opt.Selection.Baseline, err = runs.Load(*baseline); err != nil {
			return err
		}
	}
	if len(evals) > 0 {
		es, err := runs.LoadEvals(evals...)
		if err != nil {
			return err
		}
		if len(es) == 0 {
			return fmt.Errorf("no eval results (result.json of kind eval) in %s", strings.Join(evals, ", "))
		}
		set.Evals = append(set.Evals, es...)
	}
	for _, p := range set.Problems {
		fmt.Fprintf(os.Stderr, "cofi report: warning: %s\n", p)
	}
	for _, w := range set.Warnings {
		fmt.Fprintf(os.Stderr, "cofi report: note: %s\n", w)
	}
	if len(inputs) > 0 && len(set.Runs) == 0 {
		return fmt.Errorf("no usable records in %s", strings.Join(set.Sources, ", "))
	}
	if err := os.MkdirAll(opt.Out, 0o755); err != nil {
		return err
	}
	ref := reference.Default()
	res, err := report.Generate(set, ref, opt)
	var partial *report.PartialError
	if errors.As(err, &partial) {
		for _, f := range partial.Failed {
			fmt.Fprintf(os.Stderr, "cofi report: not rendered: %s\n", f)
		}
	} else if err != nil {
		return err
	}
	if *print {
		for _, name := range res.Tables {
			t, err := report.BuildTable(name, set, ref, opt.Selection)
			if err != nil {
				return err
			}
			if err := table.Write(os.Stdout, t, table.Plain); err != nil {
				return err
			}
			fmt.Println()
		}
	}
	fmt.Printf("cofi report: %d runs; tables: %s; figures: %s\n", len(set.Runs), orNone(res.Tables), orNone(res.Figures))
	fmt.Printf("cofi report: wrote %d files to %s (start with %s)\n", len(res.Files), opt.Out, filepath.Join(opt.Out, "report.md"))
	if partial != nil {
		return exitCode{1, fmt.Sprintf("%d part(s) not rendered (listed in %s; the rest was written)", len(partial.Failed), filepath.Join(opt.Out, "report.md"))}
	}
	return nil
}

// reportDir is the experiment directory of an input: itself, or the
// directory of a records file.
func reportDir(p string) string {
	if fi, err := os.Stat(p); err == nil && fi.IsDir() {
		return p
	}
	return filepath.Dir(p)
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}
