package report

import (
	"fmt"
	"strings"

	"github.com/cofiharness/cofi/report/runs"
	"github.com/cofiharness/cofi/report/table"
	"github.com/cofiharness/cofi/results/reference"
)

// Table 3's settings as the reference data names them, and as runs key them.
const (
	settingNoAug   = "no-aug"
	settingAug     = "aug"
	dataAugmented  = "augmented" // runs.Key.Data of the runs on augmented data
	table3Sparsity = 0.95
)

// table3Methods are Table 3's rows: TinyBERT4 (general-distilled), CoFi; and
// TinyBERT4 w/o GD when an experiment ran it (the paper has no such row).
var table3Methods = []string{"tinybert4-no-gd", "tinybert4", "cofi"}

// augmented reports whether some run trained on augmented data.
func augmented(set *runs.Set) bool {
	for _, r := range set.Runs {
		if r.Data == dataAugmented {
			return true
		}
	}
	return false
}

// table3Columns are the paper's tasks plus the other tasks with runs on
// augmented data (only those when none of the paper's has runs, as for the
// synthetic tasks), or the tasks asked for.
func table3Columns(set *runs.Set, sel Selection, paper []string) []string {
	if len(sel.Tasks) > 0 {
		return sel.Tasks
	}
	aug := runs.FromRecords("", nil)
	for _, r := range set.Runs {
		if r.Data == dataAugmented {
			aug.Runs = append(aug.Runs, r)
		}
	}
	return sel.columns(aug, paper)
}

// Table3 builds the paper's Table 3: TinyBERT4 and CoFi (about 95 %
// sparsity) trained on the task's own train set and on TinyBERT's augmented
// one, before → after, with the gain, ours next to the paper's.
func Table3(set *runs.Set, ref *reference.Data, sel Selection) *table.Table {
	var paperTasks []string
	seen, inPaper := map[string]bool{}, map[string]bool{}
	for _, p := range ref.Points(reference.Table3) {
		inPaper[p.Method] = true
		if !seen[p.Task] {
			seen[p.Task] = true
			paperTasks = append(paperTasks, p.Task)
		}
	}
	tasks := table3Columns(set, sel, paperTasks)
	t := &table.Table{ID: "table3", Title: "Table 3: TinyBERT4 and CoFi with TinyBERT's task data augmentation"}
	for _, tk := range tasks {
		t.Columns = append(t.Columns, table.Column{Key: tk, Header: display(tk)})
	}
	withPaper := false
	for _, tk := range tasks {
		withPaper = withPaper || seen[tk]
	}
	want := table3Sparsity
	if sel.Sparsity > 0 {
		want = sel.Sparsity
	}
	var notes []string
	cofiSparsity := map[string]float64{}
	for _, tk := range tasks {
		if !seen[tk] && sel.Sparsity == 0 {
			cofiSparsity[tk], _ = set.Closest(tk, "cofi", want, 1)
			continue
		}
		sp, note := pick(set, tk, "cofi", want, sparsityTol)
		cofiSparsity[tk] = sp
		if note != "" {
			notes = append(notes, note)
		}
	}
	selectRuns := func(m, tk, data string) []*runs.Run {
		sp := -1.0
		if m == "cofi" {
			sp = cofiSparsity[tk]
		}
		return set.SelectData(tk, m, sp, data)
	}
	n := len(tasks)
	for _, m := range table3Methods {
		if !set.Has(m) && !(inPaper[m] && withPaper) {
			continue
		}
		label := methodLabel(ref, m)
		rows := map[string][]table.Cell{}
		for _, k := range []string{"ours", "paper", "diff", "ours+", "paper+", "diff+", "gain", "gain paper"} {
			rows[k] = make([]table.Cell, n)
		}
		for i, tk := range tasks {
			var mean [2]measured
			var pv [2]float64
			var pok [2]bool
			for j, d := range []struct{ data, setting, suffix string }{{"", settingNoAug, ""}, {dataAugmented, settingAug, "+"}} {
				mean[j] = summarize(selectRuns(m, tk, d.data), headline, 1, "")
				p, found := ref.Find(reference.Table3, m, tk, -1, d.setting)
				var pc table.Cell
				pc, pv[j], pok[j] = paperCell(p, found, score, 1, "")
				rows["ours"+d.suffix][i] = mean[j].cell
				rows["paper"+d.suffix][i] = pc
				rows["diff"+d.suffix][i] = diffCell(mean[j], pv[j], pok[j], 1, "")
			}
			if mean[0].ok && mean[1].ok {
				rows["gain"][i] = table.Diff(mean[1].sum.Mean-mean[0].sum.Mean, 1, "")
			}
			if pok[0] && pok[1] {
				rows["gain paper"][i] = table.Diff(pv[1]-pv[0], 1, "")
			}
		}
		add := func(lbl, key string, rule bool, group string, better table.Better) {
			t.Rows = append(t.Rows, table.Row{Label: lbl, Cells: rows[key], Rule: rule, Group: group, Better: better})
		}
		paper := withPaper && inPaper[m]
		add(label+" — ours", "ours", true, "ours", table.Higher)
		if paper {
			add(label+" — paper", "paper", false, "paper", table.Higher)
			add(label+" — Δ", "diff", false, "", table.None)
		}
		add(label+" + DA — ours", "ours+", false, "ours", table.Higher)
		if paper {
			add(label+" + DA — paper", "paper+", false, "paper", table.Higher)
			add(label+" + DA — Δ", "diff+", false, "", table.None)
		}
		add(label+" gain from DA — ours", "gain", false, "", table.None)
		if paper {
			add(label+" gain from DA — paper", "gain paper", false, "", table.None)
		}
	}
	spNote := fmt.Sprintf("CoFi at %s sparsity", runs.Percent(want))
	var other []string
	for _, tk := range tasks {
		if sp := cofiSparsity[tk]; sp > 0 && (sp < want-1e-6 || sp > want+1e-6) {
			other = append(other, fmt.Sprintf("%s %s", display(tk), runs.Percent(sp)))
		}
	}
	if len(other) > 0 {
		spNote += " (ours: " + strings.Join(other, ", ") + ")"
	}
	t.Caption = fmt.Sprintf("Dev-set %s. Rows without + DA train on the task's own train set, rows with + DA on TinyBERT's augmented one "+
		"(its data_augmentation.py: masked-LM and GloVe word replacement; one augmented file per task shared by every run); "+
		"the gain is + DA minus without. TinyBERT4 starts from the general-distilled checkpoint (the paper's Table 3 row; w/o GD only when run). %s. "+
		"Ours: mean ± sample std over n seeds; paper: as published.", metricsPhrase(tasks), spNote)
	t.Notes = notes
	return t
}
