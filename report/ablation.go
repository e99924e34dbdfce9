package report

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/cofiharness/cofi/report/runs"
	"github.com/cofiharness/cofi/report/table"
	"github.com/cofiharness/cofi/results/reference"
)

// Table4 builds the pruning-units ablation (speedup and score of CoFi,
// -hidden, -layer & hidden and -layer at 60 % and 95 % on QNLI, MNLI, SQuAD);
// on an experiment that ran none of the paper's cells, its own cells.
func Table4(set *runs.Set, ref *reference.Data) *table.Table {
	t, cols := ablation(set, ref, reference.Table4, true)
	t.ID = "table4"
	t.Title = "Table 4: ablation of pruning units (speedup / score)"
	t.Caption = fmt.Sprintf("Dev-set %s and speedups at %s sparsity. Ours: mean ± sample std over n seeds. %s",
		metricsPhrase(cellTasks(cols)), cellSparsities(cols), devicesNote(set, ref))
	t.Caption = withSentences(t.Caption, selectionCaption(set.Runs))
	return t
}

// Table5 builds the distillation ablation at 95 % sparsity (or at the
// experiment's own cells, as Table 4).
func Table5(set *runs.Set, ref *reference.Data) *table.Table {
	t, cols := ablation(set, ref, reference.Table5, false)
	t.ID = "table5"
	t.Title = "Table 5: distillation objectives at " + cellSparsities(cols) + " sparsity"
	t.Caption = withSentences(fmt.Sprintf("Dev-set %s. Ours: mean ± sample std over n seeds.", metricsPhrase(cellTasks(cols))), selectionCaption(set.Runs))
	return t
}

// ablationColumns returns the (task, sparsity) columns of an ablation table:
// the paper's, plus the cells where the experiment ran one of the table's
// ablations and the paper has none; only those when none of the experiment's
// is the paper's (the synthetic demo), as Table 2 takes its columns.
func ablationColumns(set *runs.Set, ref *reference.Data, source string) (cols []reference.Cell, withPaper bool) {
	paper := ref.Columns(source)
	ablations := map[string]bool{}
	for _, m := range ref.Methods(source) {
		if m != "cofi" {
			ablations[m] = true
		}
	}
	var extra []reference.Cell
	matched := false
	seen := map[reference.Cell]bool{}
	for _, r := range set.Runs {
		if !ablations[r.Method] {
			continue
		}
		c := reference.Cell{Task: r.Task, Sparsity: r.Sparsity}
		if seen[c] {
			continue
		}
		seen[c] = true
		inPaper := false
		for _, p := range paper {
			if p.Task == c.Task && math.Abs(p.Sparsity-c.Sparsity) <= sparsityTol+1e-9 {
				inPaper = true
			}
		}
		if inPaper {
			matched = true
		} else {
			extra = append(extra, c)
		}
	}
	if len(extra) > 0 && !matched {
		return extra, false
	}
	return append(append([]reference.Cell(nil), paper...), extra...), true
}

// ablation lays out a table whose columns are (task, sparsity) cells and
// whose rows are method variants, each as ours / paper / Δ.
func ablation(set *runs.Set, ref *reference.Data, source string, withSpeed bool) (*table.Table, []reference.Cell) {
	t := &table.Table{Stub: ""}
	cols, withPaper := ablationColumns(set, ref, source)
	oneSparsity := true
	for _, c := range cols {
		oneSparsity = oneSparsity && c.Sparsity == cols[0].Sparsity
	}
	for _, c := range cols {
		key := fmt.Sprintf("%s@%s", c.Task, runs.Percent(c.Sparsity))
		if withSpeed {
			g := fmt.Sprintf("%s %s", display(c.Task), runs.Percent(c.Sparsity))
			t.Columns = append(t.Columns, table.Column{Key: key + "/speedup", Header: "speedup", Group: g},
				table.Column{Key: key + "/score", Header: "score", Group: g})
		} else if oneSparsity {
			t.Columns = append(t.Columns, table.Column{Key: key, Header: display(c.Task)})
		} else {
			t.Columns = append(t.Columns, table.Column{Key: key, Header: display(c.Task) + " " + runs.Percent(c.Sparsity)})
		}
	}
	var notes []string
	for _, m := range ref.Methods(source) {
		var ours, paper, diff []table.Cell
		ran := false
		for _, c := range cols {
			sp, note := pick(set, c.Task, m, c.Sparsity, sparsityTol)
			if note != "" {
				notes = append(notes, note)
			}
			rs := set.Select(c.Task, m, sp)
			ran = ran || len(rs) > 0
			p, found := ref.Find(source, m, c.Task, c.Sparsity, "")
			sc := summarize(rs, headline, 1, "")
			pc, pv, pok := paperCell(p, found, score, 1, "")
			if withSpeed {
				ss := summarize(rs, speedOf, 1, "×")
				spc, spv, spok := paperCell(p, found, speedup, 1, "×")
				ours = append(ours, ss.cell, sc.cell)
				paper = append(paper, spc, pc)
				diff = append(diff, diffCell(ss, spv, spok, 1, "×"), diffCell(sc, pv, pok, 1, ""))
			} else {
				ours = append(ours, sc.cell)
				paper = append(paper, pc)
				diff = append(diff, diffCell(sc, pv, pok, 1, ""))
			}
		}
		if !withPaper && !ran {
			continue // a variant nobody ran, on cells the paper does not have
		}
		label := methodLabel(ref, m)
		t.Rows = append(t.Rows, table.Row{Label: label + " — ours", Cells: ours, Rule: true, Group: "ours", Better: table.Higher})
		if withPaper {
			t.Rows = append(t.Rows, table.Row{Label: label + " — paper", Cells: paper})
		}
		if anyNumber(diff) {
			t.Rows = append(t.Rows, table.Row{Label: label + " — Δ", Cells: diff})
		}
	}
	t.Notes = notes
	return t, cols
}

func cellTasks(cols []reference.Cell) []string {
	var out []string
	for _, c := range cols {
		if !contains(out, c.Task) {
			out = append(out, c.Task)
		}
	}
	return out
}

// cellSparsities prints the distinct sparsities of the columns: "60% and 95%".
func cellSparsities(cols []reference.Cell) string {
	var sps []float64
	for _, c := range cols {
		found := false
		for _, s := range sps {
			found = found || s == c.Sparsity
		}
		if !found {
			sps = append(sps, c.Sparsity)
		}
	}
	sort.Float64s(sps)
	var out []string
	for _, s := range sps {
		out = append(out, runs.Percent(s))
	}
	switch len(out) {
	case 0:
		return "no"
	case 1:
		return out[0]
	}
	return strings.Join(out[:len(out)-1], ", ") + " and " + out[len(out)-1]
}
