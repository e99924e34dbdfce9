package report

import (
	"fmt"

	"github.com/cofiharness/cofi/report/runs"
	"github.com/cofiharness/cofi/report/table"
	"github.com/cofiharness/cofi/results/reference"
)

// table1Sparsities are the CoFi models of ours Table 1 lists.
var table1Sparsities = []float64{0.6, 0.95}

// Table1 builds the paper's Table 1 (methods compared on MNLI by the data
// they need, speedup, size and accuracy) with our teacher and our CoFi
// models at 60 % and 95 % sparsity under the published rows.
func Table1(set *runs.Set, ref *reference.Data) *table.Table {
	t := &table.Table{
		ID:    "table1",
		Title: "Table 1: MNLI, methods compared",
		Caption: "MNLI matched dev accuracy, speedup over BERT-base and non-embedding parameters (millions); whether a method needs " +
			"unlabeled (general-domain) data and task data (augmentation). Published rows as in the paper; ours: mean ± sample std over n seeds. " +
			devicesNote(set, ref),
		Stub: "",
		Columns: []table.Column{
			{Key: "unlabeled", Header: "unlab.", Group: "data"}, {Key: "task_data", Header: "task", Group: "data"},
			{Key: "speedup", Header: "speedup"}, {Key: "params_m", Header: "params"}, {Key: "mnli", Header: "MNLI"},
		},
	}
	yesNo := func(b *bool) table.Cell {
		switch {
		case b == nil:
			return table.Cell{}
		case *b:
			return table.Txt("yes")
		}
		return table.Txt("no")
	}
	num := func(v *float64, digits int, unit string) table.Cell {
		if v == nil {
			return table.Miss("not reported in the paper")
		}
		return table.Num(*v, digits, unit)
	}
	// Sizes with the decimals the paper prints ("85M", "4.7M").
	size := func(v *float64) table.Cell {
		if v != nil && *v == float64(int(*v)) {
			return num(v, 0, "")
		}
		return num(v, 1, "")
	}
	for _, p := range ref.Points(reference.Table1) {
		label := p.Row
		if p.Method == "cofi" {
			label = "CoFi (paper)"
			if p.Speedup != nil {
				label = fmt.Sprintf("CoFi %.1f× (paper)", *p.Speedup)
			}
		}
		t.Rows = append(t.Rows, table.Row{Label: label, Cells: []table.Cell{
			yesNo(p.Unlabeled), yesNo(p.TaskData), num(p.Speedup, 1, "×"), size(p.ParamsM), num(p.Score, 1, "")}})
	}
	no, yes := false, true
	first := true
	ours := func(label string, rs []*runs.Run, unlabeled, taskData *bool) {
		speed := summarize(rs, speedOf, 1, "×").cell
		if len(rs) > 0 && rs[0].Method == "teacher" {
			speed = table.Num(1, 1, "×") // the reference of every speedup
		}
		t.Rows = append(t.Rows, table.Row{Label: label, Rule: first, Cells: []table.Cell{yesNo(unlabeled), yesNo(taskData),
			speed, summarize(rs, paramsM, 1, "").cell, summarize(rs, headline, 1, "").cell}})
		first = false
	}
	ours("BERT-base teacher (ours)", set.Select("mnli", "teacher", -1), &no, &no)
	var notes []string
	for _, want := range table1Sparsities {
		sp, note := pick(set, "mnli", "cofi", want, sparsityTol)
		if note != "" {
			notes = append(notes, note)
		}
		ours(fmt.Sprintf("CoFi %s (ours)", runs.Percent(want)), set.Select("mnli", "cofi", sp), &no, &yes)
	}
	t.Notes = notes
	return t
}

// paramsM is a run's non-embedding parameters in millions.
func paramsM(r *runs.Run) runs.Value {
	sz, why := r.Size()
	if sz == nil {
		return runs.Value{Reason: why}
	}
	return runs.Value{V: float64(sz.Params) / 1e6, OK: true}
}
