package report

import (
	"fmt"
	"sort"
	"strings"

	"github.com/cofiharness/cofi/report/runs"
	"github.com/cofiharness/cofi/report/table"
	"github.com/cofiharness/cofi/results/reference"
	"github.com/cofiharness/cofi/task"
)

// selectionCaption says how the swept cells among rs were chosen: which
// sweep, from how many settings, on which set. "" when none is swept. Runs
// selected on held-out data are left out: tables show the authors' protocol.
func selectionCaption(rs []*runs.Run) string {
	type kind struct {
		name, rule, on string
		size           int
	}
	count := map[kind]int{}
	var order []kind
	swept := 0
	for _, r := range rs {
		s := r.Selection
		if s == nil || r.Heldout > 0 {
			continue
		}
		swept++
		k := kind{s.Name, s.Rule, s.On, s.Size}
		if count[k] == 0 {
			order = append(order, k)
		}
		count[k]++
	}
	if swept == 0 {
		return ""
	}
	var parts []string
	for _, k := range order {
		on := "on dev, as the authors did"
		if k.on == "heldout" {
			on = "on a slice of train held out from every stage (dev reported)"
		}
		parts = append(parts, fmt.Sprintf("sweep %q: the %s of %d settings %s (%d run(s))", k.name, k.rule, k.size, on, count[k]))
	}
	return fmt.Sprintf("Swept runs report the setting their sweep selects (%s); the footnotes name each chosen setting and the runs table lists every setting.", strings.Join(parts, "; "))
}

// stsbCaption says which STS-B metric a table reports, when STS-B is a column.
func stsbCaption(tasks []string) string {
	for _, tk := range tasks {
		if tk == "stsb" {
			return "STS-B: Spearman correlation ×100; the records also hold Pearson and corr (their mean, the metric the authors' trainer selects STS-B checkpoints by)."
		}
	}
	return ""
}

func withSentences(caption string, extra ...string) string {
	for _, e := range extra {
		if e != "" {
			caption += " " + e
		}
	}
	return caption
}

// SelectionTable puts the authors' selection on dev beside selection on a
// held-out slice of the training set, both scored on dev: the difference is
// the optimism of choosing hyperparameters on the set one reports.
func SelectionTable(set *runs.Set, _ *reference.Data) *table.Table {
	t := &table.Table{
		ID:    "selection",
		Title: "Hyperparameter selection: on dev (the authors) vs on held-out training data",
		Caption: "Dev-set headline scores of the setting each sweep selects, chosen on dev as the authors did and on a slice of the training set " +
			"held out from every stage of the cell (teacher, pruning, fine-tuning); optimism = on dev − on held-out. Mean ± sample std over n seeds.",
		Stub: "run",
		Columns: []table.Column{
			{Key: "dev", Header: "selected on dev"}, {Key: "heldout", Header: "selected on held-out"},
			{Key: "optimism", Header: "optimism", NoBest: true}, {Key: "heldout_score", Header: "held-out score of the selection", NoBest: true},
		},
	}
	type cell struct {
		task, method string
		sp           float64
	}
	var cells []cell
	seen := map[cell]bool{}
	for _, r := range set.Runs {
		c := cell{r.Task, r.Method, r.Sparsity}
		if r.Heldout > 0 && r.Selection != nil && !seen[c] {
			seen[c] = true
			cells = append(cells, c)
		}
	}
	sort.SliceStable(cells, func(i, j int) bool {
		return runs.Less(runs.Key{Task: cells[i].task, Method: cells[i].method, Sparsity: cells[i].sp},
			runs.Key{Task: cells[j].task, Method: cells[j].method, Sparsity: cells[j].sp})
	})
	for _, c := range cells {
		dev := summarize(set.Select(c.task, c.method, c.sp), headline, 2, "")
		held := summarize(set.SelectHeldout(c.task, c.method, c.sp), headline, 2, "")
		hs := summarize(set.SelectHeldout(c.task, c.method, c.sp), func(r *runs.Run) runs.Value {
			t, err := task.Lookup(r.Task)
			if err != nil {
				return runs.Value{Reason: err.Error()}
			}
			_, m, _ := strings.Cut(t.Headline, "/")
			return r.Score(task.MetricKey(task.HeldOut, m))
		}, 2, "")
		cells := []table.Cell{dev.cell, held.cell, {}, hs.cell}
		if dev.ok && held.ok {
			cells[2] = table.Diff(dev.sum.Mean-held.sum.Mean, 2, "")
		}
		label := fmt.Sprintf("%s %s", display(c.task), c.method)
		if c.sp > 0 {
			label += " " + runs.Percent(c.sp)
		}
		t.Rows = append(t.Rows, table.Row{Label: label, Cells: cells})
	}
	return t
}

// heldoutRuns: some run selected on held-out training data.
func heldoutRuns(set *runs.Set) bool {
	for _, r := range set.Runs {
		if r.Heldout > 0 && r.Selection != nil {
			return true
		}
	}
	return false
}
