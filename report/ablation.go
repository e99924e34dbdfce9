package report

import (
	"fmt"

	"github.com/cofiharness/cofi/report/runs"
	"github.com/cofiharness/cofi/report/table"
	"github.com/cofiharness/cofi/results/reference"
)

// Table4 builds the pruning-units ablation (speedup and score of CoFi,
// -hidden, -layer & hidden and -layer at 60 % and 95 % on QNLI, MNLI, SQuAD).
func Table4(set *runs.Set, ref *reference.Data) *table.Table {
	t := ablation(set, ref, reference.Table4, true)
	t.ID = "table4"
	t.Title = "Table 4: ablation of pruning units (speedup / score)"
	t.Caption = fmt.Sprintf("Dev-set scores (MNLI matched accuracy, QNLI accuracy, SQuAD F1) and speedups at 60%% and 95%% sparsity. Ours: mean ± sample std over n seeds. %s", devicesNote(set, ref))
	t.Caption = withSentences(t.Caption, selectionCaption(set.Runs))
	return t
}

// Table5 builds the distillation ablation at 95 % sparsity.
func Table5(set *runs.Set, ref *reference.Data) *table.Table {
	t := ablation(set, ref, reference.Table5, false)
	t.ID = "table5"
	t.Title = "Table 5: distillation objectives at 95% sparsity"
	t.Caption = withSentences("Dev-set scores (SST-2, QNLI and MNLI matched accuracy, SQuAD F1). Ours: mean ± sample std over n seeds.", selectionCaption(set.Runs))
	return t
}

// ablation lays out a table whose columns are the paper's (task, sparsity)
// cells and whose rows are method variants, each as ours / paper / Δ.
func ablation(set *runs.Set, ref *reference.Data, source string, withSpeed bool) *table.Table {
	t := &table.Table{Stub: ""}
	cols := ref.Columns(source)
	for _, c := range cols {
		key := fmt.Sprintf("%s@%s", c.Task, runs.Percent(c.Sparsity))
		if withSpeed {
			g := fmt.Sprintf("%s %s", display(c.Task), runs.Percent(c.Sparsity))
			t.Columns = append(t.Columns, table.Column{Key: key + "/speedup", Header: "speedup", Group: g},
				table.Column{Key: key + "/score", Header: "score", Group: g})
		} else {
			t.Columns = append(t.Columns, table.Column{Key: key, Header: display(c.Task)})
		}
	}
	var notes []string
	for _, m := range ref.Methods(source) {
		var ours, paper, diff []table.Cell
		for _, c := range cols {
			sp, note := pick(set, c.Task, m, c.Sparsity, sparsityTol)
			if note != "" {
				notes = append(notes, note)
			}
			rs := set.Select(c.Task, m, sp)
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
		label := methodLabel(ref, m)
		t.Rows = append(t.Rows,
			table.Row{Label: label + " — ours", Cells: ours, Rule: true, Group: "ours", Better: table.Higher},
			table.Row{Label: label + " — paper", Cells: paper, Group: "paper", Better: table.Higher},
			table.Row{Label: label + " — Δ", Cells: diff})
	}
	t.Notes = notes
	return t
}
