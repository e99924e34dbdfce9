package report

import (
	"fmt"
	"math"
	"strings"

	"github.com/cofiharness/cofi/method"
	"github.com/cofiharness/cofi/report/runs"
	"github.com/cofiharness/cofi/report/stats"
	"github.com/cofiharness/cofi/report/table"
	"github.com/cofiharness/cofi/results/reference"
	"github.com/cofiharness/cofi/task"
)

// noRecords is the footnote of a cell nobody ran; one shared note keeps a
// table with whole missing columns readable.
const noRecords = "no records in this experiment"

// measured is a cell summarised over the seeds of some runs.
type measured struct {
	cell table.Cell
	sum  stats.Summary
	ok   bool
}

// summarize builds the cell of a quantity over runs (one per seed): mean ±
// std over the seeds that have it; the reason of a failed seed as footnote.
func summarize(rs []*runs.Run, get func(*runs.Run) runs.Value, digits int, unit string) measured {
	if len(rs) == 0 {
		return measured{cell: table.Miss(noRecords)}
	}
	var xs []float64
	var missing, notes []string
	for _, r := range rs {
		v := get(r)
		if !v.OK {
			missing = append(missing, fmt.Sprintf("%s: %s", r.Key, runs.Brief(v.Reason)))
			continue
		}
		xs = append(xs, v.V)
		if v.Note != "" {
			notes = append(notes, fmt.Sprintf("%s: %s", r.Key, v.Note))
		}
	}
	if len(xs) == 0 {
		return measured{cell: table.Miss(strings.Join(missing, "; "))}
	}
	s := stats.Summarize(xs)
	c := table.Stat(s, digits, unit)
	if len(missing) > 0 {
		c = c.WithNote(fmt.Sprintf("mean over %d of %d runs; %s", len(xs), len(rs), strings.Join(missing, "; ")))
	}
	if len(notes) > 0 {
		c = c.WithNote(strings.Join(notes, "; "))
	}
	return measured{cell: c, sum: s, ok: true}
}

// paperCell is a published value, or a marked gap when the paper reports none.
func paperCell(p reference.Point, found bool, get func(reference.Point) *float64, digits int, unit string) (table.Cell, float64, bool) {
	if !found {
		return table.Cell{}, 0, false
	}
	v := get(p)
	if v == nil {
		note := p.Note
		if note == "" {
			note = "not reported in the paper"
		}
		return table.Miss(note), 0, false
	}
	return table.Num(*v, digits, unit), *v, true
}

func score(p reference.Point) *float64   { return p.Score }
func speedup(p reference.Point) *float64 { return p.Speedup }

// diffCell is ours − paper, or empty when either is missing.
func diffCell(ours measured, paper float64, paperOK bool, digits int, unit string) table.Cell {
	if !ours.ok || !paperOK {
		return table.Cell{}
	}
	return table.Diff(ours.sum.Mean-paper, digits, unit)
}

func headline(r *runs.Run) runs.Value { return r.Headline() }
func speedOf(r *runs.Run) runs.Value  { return r.Speedup() }
func trainHours(r *runs.Run) runs.Value {
	v := r.TrainSeconds()
	v.V /= 3600
	return v
}

// pick chooses the sparsity to report for a task and method: the one run
// closest to want within tol. The note says when it is not exactly want.
func pick(set *runs.Set, taskName, methodName string, want, tol float64) (float64, string) {
	sp, ok := set.Closest(taskName, methodName, want, tol)
	if !ok {
		return want, ""
	}
	if math.Abs(sp-want) > 1e-6 {
		return sp, fmt.Sprintf("%s %s: runs at %s sparsity, the nearest to %s", display(taskName), methodName, runs.Percent(sp), runs.Percent(want))
	}
	return sp, ""
}

// display is the paper's name of a task ("SST-2"), or the name itself.
func display(taskName string) string {
	if t, err := task.Lookup(taskName); err == nil {
		return t.Display
	}
	return taskName
}

// methodLabel is the row label of a method: the paper's name when it has one.
func methodLabel(ref *reference.Data, name string) string {
	if d := ref.Display(name); d != name {
		return d
	}
	if m, err := method.Lookup(name); err == nil {
		return m.Display
	}
	return name
}

// flopDevice is the device a FLOP-ratio speed record names (record.LatencyFLOPs).
const flopDevice = "FLOP ratio"

// devicesNote says where our speedups were measured, next to the paper's hardware.
func devicesNote(set *runs.Set, ref *reference.Data) string {
	ours := "ours: no speed records"
	var timed []string
	flops := false
	for _, d := range set.Devices() {
		if d == flopDevice {
			flops = true
		} else {
			timed = append(timed, d)
		}
	}
	switch {
	case len(timed) > 0 && flops:
		ours = "ours measured on " + strings.Join(timed, "; ") + ", or FLOP ratios to the unpruned model where not timed (speed.speedup = flops)"
	case len(timed) > 0:
		ours = "ours measured on " + strings.Join(timed, "; ")
	case flops:
		ours = "ours are FLOP ratios to the unpruned model, not timed (speed.speedup = flops)"
	}
	return fmt.Sprintf("Speedups: %s; paper on %s (%s).", ours, ref.Paper.SpeedupHardware, ref.Paper.SpeedupProtocol)
}
