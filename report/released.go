package report

import (
	"fmt"
	"sort"
	"strings"

	"github.com/cofiharness/cofi/report/runs"
	"github.com/cofiharness/cofi/report/stats"
	"github.com/cofiharness/cofi/report/table"
	"github.com/cofiharness/cofi/results/reference"
	"github.com/cofiharness/cofi/task"
)

// ReleasedTable lists the checkpoints the authors released
// (princeton-nlp/CoFi-*) with their published sparsity, speedup and score,
// next to what `cofi eval` measured on them here: score, Δ, sparsity and
// speedup. An eval is matched to a checkpoint by the name of the directory
// evaluated ("models/CoFi-MNLI-s95"); several evals of one are averaged.
func ReleasedTable(set *runs.Set, ref *reference.Data) *table.Table {
	t := &table.Table{
		ID:    "released",
		Title: "Released CoFi checkpoints re-evaluated",
		Caption: "The models the authors released on the Hugging Face hub (princeton-nlp/CoFi-<task>-s<sparsity>): sparsity, speedup " +
			"and dev score as published, and as measured here by cofi eval on the same checkpoints (score: the task's headline metric; " +
			"sparsity: counted as the paper does). " + evalDevicesNote(set, ref),
		Stub: "",
		Columns: []table.Column{
			{Key: "paper_sparsity", Header: "sparsity", Group: "published"}, {Key: "paper_speedup", Header: "speedup", Group: "published"},
			{Key: "paper_score", Header: "score", Group: "published"},
			{Key: "score", Header: "score", Group: "cofi eval"}, {Key: "delta", Header: "Δ", Group: "cofi eval"},
			{Key: "sparsity", Header: "sparsity", Group: "cofi eval"}, {Key: "speedup", Header: "speedup", Group: "cofi eval"},
		},
	}
	byModel := map[string][]runs.Eval{}
	for _, e := range set.Evals {
		byModel[e.Model()] = append(byModel[e.Model()], e)
	}
	known := map[string]bool{}
	for _, c := range ref.Checkpoints {
		known[c.Model] = true
		evals := byModel[c.Model]
		cells := []table.Cell{table.Num(c.Sparsity*100, 1, "%"), table.Num(c.Speedup, 1, "×"), table.Num(c.Score, 1, "")}
		if len(evals) == 0 {
			t.Rows = append(t.Rows, table.Row{Label: c.Model, Cells: append(cells,
				table.Miss("not evaluated here: cofi eval --out DIR, then cofi report --evals DIR"), table.Cell{}, table.Cell{}, table.Cell{})})
			continue
		}
		var scores, sparsities, speedups []float64
		var notes []string
		for _, e := range evals {
			if e.Result.Task != "" && e.Result.Task != c.Task {
				notes = append(notes, fmt.Sprintf("%s was evaluated on %s", e.Source, e.Result.Task))
				continue
			}
			if v, ok := e.Result.Metric(c.Metric); ok {
				scores = append(scores, v)
			} else if tk, err := task.Lookup(c.Task); err == nil {
				if v, ok := e.Result.Metric(tk.Headline); ok {
					scores = append(scores, v)
				}
			}
			if e.Result.Size != nil {
				sparsities = append(sparsities, e.Result.Size.Sparsity*100)
			}
			if l := e.Result.Latency; l != nil && l.Speedup > 0 {
				speedups = append(speedups, l.Speedup)
			}
		}
		cell := func(xs []float64, digits int, unit, missing string) table.Cell {
			if len(xs) == 0 {
				return table.Miss(missing)
			}
			return table.Stat(stats.Summarize(xs), digits, unit)
		}
		sc := cell(scores, 1, "", "the eval reported no "+c.Metric)
		if len(notes) > 0 {
			sc = sc.WithNote(strings.Join(notes, "; "))
		}
		diff := table.Cell{}
		if len(scores) > 0 {
			diff = table.Diff(stats.Summarize(scores).Mean-c.Score, 1, "")
		}
		t.Rows = append(t.Rows, table.Row{Label: c.Model, Cells: append(cells, sc, diff,
			cell(sparsities, 1, "%", "the eval reported no size"), cell(speedups, 1, "×", "run cofi eval with --latency"))})
	}
	var unknown []string
	for m := range byModel {
		if !known[m] {
			unknown = append(unknown, m)
		}
	}
	sort.Strings(unknown)
	if len(unknown) > 0 {
		t.Notes = append(t.Notes, "Evaluated, but not a released checkpoint: "+strings.Join(unknown, ", ")+".")
	}
	return t
}

// evalDevicesNote says where the evals timed their speedups.
func evalDevicesNote(set *runs.Set, ref *reference.Data) string {
	seen := map[string]bool{}
	var devs []string
	for _, e := range set.Evals {
		if l := e.Result.Latency; l != nil && l.Device != "" && !seen[l.Device] {
			seen[l.Device] = true
			devs = append(devs, l.Device)
		}
	}
	sort.Strings(devs)
	ours := "no eval timed latency"
	if len(devs) > 0 {
		ours = strings.Join(devs, "; ")
	}
	return fmt.Sprintf("Speedups: ours measured on %s; paper on %s (%s).", ours, ref.Paper.SpeedupHardware, ref.Paper.SpeedupProtocol)
}
