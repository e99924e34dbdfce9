package report

import (
	"fmt"
	"strings"

	"github.com/cofiharness/cofi/method"
	"github.com/cofiharness/cofi/report/figure"
	"github.com/cofiharness/cofi/report/runs"
	"github.com/cofiharness/cofi/report/table"
	"github.com/cofiharness/cofi/results/reference"
)

// A TableSpec is one table the report can render. Adding a table is adding
// one entry to tableSpecs: its name becomes valid on the command line, it is
// built on request, and Applies decides whether `cofi report` without
// --tables renders it for a set of runs.
type TableSpec struct {
	Name    string
	Aliases []string // older names still accepted
	// Width is what the table's LaTeX fits: one ACL column (table) or the
	// page (table*), as the paper sets it; the renderer picks the size.
	Width table.Width
	Build func(set *runs.Set, ref *reference.Data, sel Selection) (*table.Table, error)
	// Applies reports whether the runs have data for the table; nil means
	// only when asked for by name.
	Applies func(set *runs.Set) bool
}

// A FigureSpec is one figure name; Build may return several figures (figure2
// is a page-wide figure plus one column-wide figure per task).
type FigureSpec struct {
	Name    string
	Build   func(set *runs.Set, ref *reference.Data, sel Selection) ([]*figure.Figure, error)
	Applies func(set *runs.Set) bool
	// Link lists the figures in report.md as links (one per run) instead of
	// showing each.
	Link bool
}

var (
	unitsAblation   = []string{"cofi-no-hidden", "cofi-no-layer", "cofi-no-layer-hidden"}
	distillAblation = []string{"cofi-no-llayer", "cofi-no-distill", "cofi-fixed-hidden"}
)

// tableSpecs lists every table in report order.
var tableSpecs = []TableSpec{
	{Name: "table1", Width: table.PageWidth, Build: ok(func(s *runs.Set, r *reference.Data, _ Selection) *table.Table { return Table1(s, r) }),
		Applies: func(s *runs.Set) bool { return len(s.Sparsities("mnli", "cofi")) > 0 }},
	{Name: "table2", Width: table.PageWidth, Build: ok(func(s *runs.Set, r *reference.Data, sel Selection) *table.Table { return Table2(s, r, sel) }),
		Applies: func(s *runs.Set) bool { return s.Has("teacher", "cofi", "tinybert4") }},
	{Name: "table4", Width: table.PageWidth, Build: ok(func(s *runs.Set, r *reference.Data, _ Selection) *table.Table { return Table4(s, r) }),
		Applies: func(s *runs.Set) bool { return s.Has(unitsAblation...) }},
	{Name: "table5", Build: ok(func(s *runs.Set, r *reference.Data, _ Selection) *table.Table { return Table5(s, r) }),
		Applies: func(s *runs.Set) bool { return s.Has(distillAblation...) }},
	{Name: "table6", Aliases: []string{"layers"}, Build: ok(Table6), Applies: deep},
	{Name: "structure", Width: table.PageWidth, Build: ok(func(s *runs.Set, _ *reference.Data, _ Selection) *table.Table { return StructureTable(s) }),
		Applies: pruned},
	{Name: "selection", Build: ok(func(s *runs.Set, r *reference.Data, _ Selection) *table.Table { return SelectionTable(s, r) }),
		Applies: heldoutRuns},
	{Name: "released", Width: table.PageWidth, Build: ok(func(s *runs.Set, r *reference.Data, _ Selection) *table.Table { return ReleasedTable(s, r) }),
		Applies: func(s *runs.Set) bool { return len(s.Evals) > 0 }},
	{Name: "history", Width: table.PageWidth, Build: ok(func(s *runs.Set, _ *reference.Data, sel Selection) *table.Table { return HistoryTable(s, sel) }),
		Applies: nightly},
	{Name: "runs", Width: table.PageWidth, Build: ok(func(s *runs.Set, _ *reference.Data, _ Selection) *table.Table { return RunsTable(s) }),
		Applies: func(*runs.Set) bool { return true }},
}

// figureSpecs lists every figure in report order.
var figureSpecs = []FigureSpec{
	{Name: "figure2", Build: buildFigure2, Applies: curve},
	{Name: "figure3", Build: func(s *runs.Set, r *reference.Data, _ Selection) ([]*figure.Figure, error) {
		f, err := figure.Figure3(s, r)
		return []*figure.Figure{f}, err
	}, Applies: curve},
	{Name: "history", Build: func(s *runs.Set, _ *reference.Data, sel Selection) ([]*figure.Figure, error) {
		return buildHistory(s, sel)
	},
		Applies: nightly},
	{Name: "curves", Build: func(s *runs.Set, _ *reference.Data, _ Selection) ([]*figure.Figure, error) { return buildCurves(s) },
		Applies: hasCurves, Link: true},
	{Name: "layers-grid", Build: func(s *runs.Set, r *reference.Data, sel Selection) ([]*figure.Figure, error) {
		f, err := figure.LayersGrid(s, r, sel.Tasks)
		return []*figure.Figure{f}, err
	}, Applies: deep},
}

// ok adapts a builder that cannot fail.
func ok(f func(*runs.Set, *reference.Data, Selection) *table.Table) func(*runs.Set, *reference.Data, Selection) (*table.Table, error) {
	return func(s *runs.Set, r *reference.Data, sel Selection) (*table.Table, error) { return f(s, r, sel), nil }
}

// Table and figure names accepted by Options and the command line, in report order.
var (
	TableNames  = specNames(tableSpecs, func(t TableSpec) string { return t.Name })
	FigureNames = specNames(figureSpecs, func(f FigureSpec) string { return f.Name })
)

func tableAliases() []string {
	var out []string
	for _, t := range tableSpecs {
		out = append(out, t.Aliases...)
	}
	return out
}

func specNames[T any](specs []T, name func(T) string) []string {
	out := make([]string, len(specs))
	for i, s := range specs {
		out[i] = name(s)
	}
	return out
}

// pruned: some run is a CoFi-family method.
func pruned(set *runs.Set) bool {
	for _, r := range set.Runs {
		if m, err := method.Lookup(r.Method); err == nil && m.Family == method.CoFi {
			return true
		}
	}
	return false
}

// curve: some task has CoFi at two or more sparsities.
func curve(set *runs.Set) bool {
	for _, tk := range set.Tasks() {
		if len(set.Sparsities(tk, "cofi")) >= 2 {
			return true
		}
	}
	return false
}

// deep: some task has CoFi at about 95 %.
func deep(set *runs.Set) bool {
	for _, tk := range set.Tasks() {
		if sps := set.Sparsities(tk, "cofi"); len(sps) > 0 && sps[len(sps)-1] >= 0.95-sparsityTol {
			return true
		}
	}
	return false
}

// Applicable returns the tables and figures the runs have data for.
func Applicable(set *runs.Set) (tables, figures []string) {
	if len(set.Runs) == 0 && len(set.Evals) == 0 {
		return nil, nil
	}
	for _, t := range tableSpecs {
		if t.Applies != nil && t.Applies(set) {
			tables = append(tables, t.Name)
		}
	}
	for _, f := range figureSpecs {
		if f.Applies != nil && f.Applies(set) {
			figures = append(figures, f.Name)
		}
	}
	return tables, figures
}

// BuildTable builds one table by name; a builder's panic is its error.
func BuildTable(name string, set *runs.Set, ref *reference.Data, sel Selection) (tb *table.Table, err error) {
	for _, t := range tableSpecs {
		if t.Name == name || contains(t.Aliases, name) {
			defer func() {
				if r := recover(); r != nil {
					tb, err = nil, fmt.Errorf("table %s: %v", name, r)
				}
			}()
			tb, err := t.Build(set, ref, sel)
			if err != nil {
				return nil, fmt.Errorf("table %s: %w", name, err)
			}
			tb.Width = t.Width
			return tb, nil
		}
	}
	return nil, fmt.Errorf("unknown table %q (known: %s)", name, strings.Join(TableNames, ", "))
}

func figureSpec(name string) FigureSpec {
	for _, f := range figureSpecs {
		if f.Name == name {
			return f
		}
	}
	return FigureSpec{}
}

// BuildFigures builds the figures of one name; a builder's panic is its error.
func BuildFigures(name string, set *runs.Set, ref *reference.Data, sel Selection) (figs []*figure.Figure, err error) {
	for _, f := range figureSpecs {
		if f.Name == name {
			defer func() {
				if r := recover(); r != nil {
					figs, err = nil, fmt.Errorf("figure %s: %v", name, r)
				}
			}()
			return f.Build(set, ref, sel)
		}
	}
	return nil, fmt.Errorf("unknown figure %q (known: %s)", name, strings.Join(FigureNames, ", "))
}

// buildFigure2 is the page-wide figure plus one column-wide figure per task.
func buildFigure2(set *runs.Set, ref *reference.Data, sel Selection) ([]*figure.Figure, error) {
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
}
