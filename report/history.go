package report

import (
	"fmt"

	"github.com/cofiharness/cofi/report/compare"
	"github.com/cofiharness/cofi/report/figure"
	"github.com/cofiharness/cofi/report/runs"
	"github.com/cofiharness/cofi/report/table"
	"github.com/cofiharness/cofi/task"
)

// historyTrends follows every cell's headline metric across the nights of
// the set, against the selection's baseline (the first night when none is
// given), and says what the baseline is.
func historyTrends(set *runs.Set, sel Selection) ([]compare.Trend, string) {
	base, what := sel.Baseline, "the accepted baseline"
	if base == nil || len(base.Runs) == 0 {
		base, what = set.Nights[0].Set, "the first night, "+set.Nights[0].Label()+" (no accepted baseline given)"
	}
	var out []compare.Trend
	for _, tr := range compare.History(base, set.Nights, compare.Options{Tolerances: sel.Tolerances}) {
		if t, err := task.Lookup(tr.Cell.Task); err == nil && tr.Metric == t.Headline {
			out = append(out, tr)
		}
	}
	return out, what
}

func nightly(set *runs.Set) bool { return len(set.Nights) >= 2 }

// HistoryTable lists the headline metric of every cell on every night, the
// baseline first; a value outside the baseline's tolerance band is marked.
func HistoryTable(set *runs.Set, sel Selection) *table.Table {
	t := &table.Table{ID: "history", Title: "Nightly history", Stub: "night"}
	if !nightly(set) {
		t.Caption = "The records are of one version of the code: no history."
		return t
	}
	trends, what := historyTrends(set, sel)
	t.Caption = fmt.Sprintf("Headline dev metric of each cell on each night (the records of one commit), against %s. Tolerances: %s.",
		what, tolerancesOf(sel))
	for _, tr := range trends {
		t.Columns = append(t.Columns, table.Column{Key: fmt.Sprintf("%s/%s", tr.Cell, tr.Metric), Header: cellHeader(tr.Cell)})
	}
	base := make([]table.Cell, len(trends))
	for j, tr := range trends {
		base[j] = table.Num(tr.Baseline, 1, "")
	}
	t.Rows = append(t.Rows, table.Row{Label: "baseline", Cells: base})
	for i, n := range set.Nights {
		cells := make([]table.Cell, len(trends))
		for j, tr := range trends {
			p := tr.Points[i]
			switch {
			case !p.OK:
				cells[j] = table.Miss("no result that night")
			case p.Outside:
				lo, hi := tr.Band()
				cells[j] = table.Num(p.Value, 1, "").WithNote(fmt.Sprintf("outside the tolerance band %.1f–%.1f", lo, hi))
			default:
				cells[j] = table.Num(p.Value, 1, "")
			}
		}
		t.Rows = append(t.Rows, table.Row{Label: n.Label(), Rule: i == 0, Cells: cells})
	}
	for _, tr := range trends {
		if tr.Left != nil {
			t.Notes = append(t.Notes, fmt.Sprintf("%s %s left its band on %s.", tr.Cell, tr.Metric, tr.LeftLabel))
		}
	}
	return t
}

// cellHeader is a short column header for a cell: "RTE 95%", "RTE teacher".
func cellHeader(k runs.Key) string {
	h := display(k.Task)
	if k.Method != "cofi" {
		h += " " + k.Method
	}
	if k.Sparsity > 0 {
		h += " " + runs.Percent(k.Sparsity)
	}
	return h
}

func tolerancesOf(sel Selection) string {
	if sel.Tolerances == nil {
		return compare.DefaultTolerances().String()
	}
	return sel.Tolerances.String()
}

func buildHistory(set *runs.Set, sel Selection) ([]*figure.Figure, error) {
	if !nightly(set) {
		return nil, nil // one version of the code: nothing to draw (the table says so)
	}
	trends, what := historyTrends(set, sel)
	f, err := figure.History(trends, what, set.Latest())
	if err != nil {
		return nil, err
	}
	return []*figure.Figure{f}, nil
}
