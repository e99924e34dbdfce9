package report

import (
	"fmt"
	"strings"

	"github.com/cofiharness/cofi/report/compare"
	"github.com/cofiharness/cofi/report/figure"
	"github.com/cofiharness/cofi/report/runs"
	"github.com/cofiharness/cofi/report/table"
	"github.com/cofiharness/cofi/results/reference"
	"github.com/cofiharness/cofi/task"
)

// Selection narrows what a report shows.
type Selection struct {
	// Tasks are the task columns; nil means the paper's columns plus any
	// other task that has runs (or only the tasks run, when none of them is
	// in the paper, as for the synthetic demo tasks).
	Tasks []string
	// Sparsity of the CoFi models in Table 2; 0 means the paper's per task
	// (95 %, SQuAD 92.4 %) and 95 % for tasks not in the paper.
	Sparsity float64
	// Baseline and Tolerances are the accepted runs and the tolerances the
	// nightly history is judged with (nil: the first night, the defaults).
	Baseline   *runs.Set
	Tolerances compare.Tolerances
}

// sparsityTol is how far a run's target sparsity may be from the one a
// table asks for and still fill its cell (with a footnote saying so).
const sparsityTol = 0.03

// columns returns the task columns of a table whose paper columns are paper.
func (sel Selection) columns(set *runs.Set, paper []string) []string {
	if len(sel.Tasks) > 0 {
		return sel.Tasks
	}
	inPaper := map[string]bool{}
	for _, t := range paper {
		inPaper[t] = true
	}
	var extra []string
	anyPaper := false
	for _, t := range set.Tasks() {
		if inPaper[t] {
			anyPaper = true
		} else {
			extra = append(extra, t)
		}
	}
	if len(extra) > 0 && !anyPaper {
		return extra
	}
	return append(append([]string(nil), paper...), extra...)
}

// Table2 builds the paper's Table 2 (teacher, TinyBERT4, CoFi at about 95 %
// sparsity on GLUE and SQuAD) with our values, the paper's and the
// difference in adjacent rows.
func Table2(set *runs.Set, ref *reference.Data, sel Selection) *table.Table {
	tasks := sel.columns(set, ref.Table2Tasks())
	t := &table.Table{
		ID:    "table2",
		Title: "Table 2: CoFi vs TinyBERT4 at about 10× speedup",
		Stub:  "",
	}
	for _, tk := range tasks {
		t.Columns = append(t.Columns, table.Column{Key: tk, Header: display(tk)})
	}
	t.Columns = append(t.Columns, table.Column{Key: "train_h", Header: "train (h)", NoBest: true})
	nt := len(tasks)
	blank := func() []table.Cell { return make([]table.Cell, nt+1) }

	// cofiSparsity picks, per task, the sparsity whose runs fill the CoFi
	// row: nearest to the paper's (or --sparsity); for tasks not in the paper,
	// the run nearest to 95 %.
	var pickNotes []string
	cofiSparsity := map[string]float64{}
	for _, tk := range tasks {
		want, paperTask := ref.Table2Sparsity(tk)
		if sel.Sparsity > 0 {
			want = sel.Sparsity
		}
		if !paperTask && sel.Sparsity == 0 {
			cofiSparsity[tk], _ = set.Closest(tk, "cofi", 0.95, 1)
			continue
		}
		sp, note := pick(set, tk, "cofi", want, sparsityTol)
		cofiSparsity[tk] = sp
		if note != "" {
			pickNotes = append(pickNotes, note)
		}
	}

	// Paper rows only when some column is a task of the paper's Table 2
	// (the synthetic demo has none, and empty published rows say nothing).
	withPaper := false
	for _, tk := range tasks {
		if _, ok := ref.Table2("teacher", tk); ok {
			withPaper = true
		}
	}

	// block adds the rows of one method: ours (when wanted), paper, Δ.
	block := func(methodName string, withOurs bool) {
		if !withOurs && !withPaper {
			return
		}
		label := methodLabel(ref, methodName)
		if methodName == "teacher" && !withPaper && len(tasks) > 0 {
			// Without the paper's rows the teacher is ours alone: named after its recorded shape.
			if name := figure.TeacherName(set, tasks[0]); name != "teacher" {
				label = name + " (teacher)"
			}
		}
		ours, paper, diff := blank(), blank(), blank()
		oursS, paperS, diffS := blank(), blank(), blank()
		hasSpeed := false
		for i, tk := range tasks {
			var rs []*runs.Run
			switch methodName {
			case "cofi":
				rs = set.Select(tk, methodName, cofiSparsity[tk])
			default:
				rs = set.Select(tk, methodName, -1)
			}
			m := summarize(rs, headline, 1, "")
			ours[i] = m.cell
			p, found := ref.Table2(methodName, tk)
			pc, pv, pok := paperCell(p, found, score, 1, "")
			paper[i] = pc
			diff[i] = diffCell(m, pv, pok, 1, "")

			ms := summarize(rs, speedOf, 1, "×")
			oursS[i] = ms.cell
			spc, spv, spok := paperCell(p, found && p.Speedup != nil, speedup, 1, "×")
			paperS[i] = spc
			diffS[i] = diffCell(ms, spv, spok, 1, "×")
			if found && p.Speedup != nil {
				hasSpeed = true
			}
		}
		// Train time: ours averaged over every run of the method in the table.
		var all []*runs.Run
		for _, tk := range tasks {
			if methodName == "cofi" {
				all = append(all, set.Select(tk, methodName, cofiSparsity[tk])...)
			} else {
				all = append(all, set.Select(tk, methodName, -1)...)
			}
		}
		if len(all) > 0 {
			ours[nt] = summarize(all, trainHours, 1, "").cell // 1 decimal: the paper gives whole hours, and run-to-run jitter of a few seconds must not change a report
		}
		if tt, ok := ref.Table2TrainTime(methodName); ok {
			paper[nt] = table.Txt(tt.Text)
		}
		group := "scores"
		if methodName == "teacher" {
			group = "" // the teacher is the upper bound, not a competitor
		}
		rule := true
		if withOurs {
			t.Rows = append(t.Rows, table.Row{Label: label + " — ours", Cells: ours, Rule: rule, Group: oursGroup(group), Better: table.Higher})
			rule = false
		}
		if withPaper {
			// Published rows are never bold (table.BoldRule): bold marks the best of ours.
			t.Rows = append(t.Rows, table.Row{Label: label + " — paper", Cells: paper, Rule: rule})
			if withOurs && anyNumber(diff) {
				t.Rows = append(t.Rows, table.Row{Label: label + " — Δ", Cells: diff})
			}
		}
		if !(withPaper && hasSpeed) && !(withOurs && anyNumber(oursS)) {
			return
		}
		if withOurs {
			t.Rows = append(t.Rows, table.Row{Label: "speedup " + label + " — ours", Cells: oursS, Group: "speed ours", Better: table.Higher})
		}
		if withPaper {
			t.Rows = append(t.Rows, table.Row{Label: "speedup " + label + " — paper", Cells: paperS})
			if withOurs && anyNumber(diffS) {
				t.Rows = append(t.Rows, table.Row{Label: "speedup " + label + " — Δ", Cells: diffS})
			}
		}
	}
	for _, m := range ref.Table2Methods() {
		switch m {
		case "teacher", "cofi":
			block(m, true)
		default:
			// Published-only baselines get our rows only when we ran them.
			block(m, set.Has(m))
		}
	}

	sparsities := []string{}
	for _, tk := range tasks {
		if s, ok := ref.Table2Sparsity(tk); ok && s != 0.95 {
			sparsities = append(sparsities, fmt.Sprintf("%s %s", display(tk), runs.Percent(s)))
		} else if !ok && cofiSparsity[tk] > 0 {
			// Tasks the paper has no Table 2 cell for: say which of our runs fills the row.
			sparsities = append(sparsities, fmt.Sprintf("%s %s", display(tk), runs.Percent(cofiSparsity[tk])))
		}
	}
	spNote := "CoFi at 95% sparsity"
	paperTasks := false
	for _, tk := range tasks {
		if _, ok := ref.Table2Sparsity(tk); ok {
			paperTasks = true
		}
	}
	switch {
	case !paperTasks && len(sparsities) > 0:
		spNote = "CoFi at " + strings.Join(sparsities, ", ") + " sparsity"
	case len(sparsities) > 0:
		spNote += " (" + strings.Join(sparsities, ", ") + ")"
	}
	if sel.Sparsity > 0 {
		spNote = "Our CoFi at " + runs.Percent(sel.Sparsity) + " sparsity (chosen with --sparsity); the paper's rows stay at its 95% (SQuAD 92.4%), so Δ compares different sparsities"
	}
	t.Caption = fmt.Sprintf("Dev-set %s. %s. Ours: mean ± sample std over n seeds; paper: as published. %s Train time: ours in hours per run on our hardware (prune + final stages; teacher: its fine-tuning), mean over the runs in the row; paper in GPU hours.",
		metricsPhrase(tasks), spNote, devicesNote(set, ref))
	var shown []*runs.Run
	for _, tk := range tasks {
		shown = append(shown, set.Select(tk, "cofi", cofiSparsity[tk])...)
	}
	t.Caption = withSentences(t.Caption, selectionCaption(shown), stsbCaption(tasks))
	t.Notes = pickNotes
	return t
}

func oursGroup(g string) string {
	if g == "" {
		return ""
	}
	return g + " ours"
}

func anyNumber(cs []table.Cell) bool {
	for _, c := range cs {
		if c.Kind == table.Number {
			return true
		}
	}
	return false
}

// metricsPhrase names the headline metric of each task column.
func metricsPhrase(tasks []string) string {
	var parts []string
	for _, tk := range tasks {
		t, err := task.Lookup(tk)
		if err != nil {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %s", t.Display, t.Headline))
	}
	return "metrics (" + strings.Join(parts, ", ") + ")"
}
