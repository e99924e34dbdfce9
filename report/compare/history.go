package compare

import (
	"fmt"
	"math"

	"github.com/cofiharness/cofi/report/runs"
	"github.com/cofiharness/cofi/task"
)

// A Trend is one metric of one cell across nights, against the baseline.
type Trend struct {
	Cell     runs.Key     `json:"cell"`
	Metric   string       `json:"metric"`
	Better   Direction    `json:"better"`
	Baseline float64      `json:"baseline"`
	Target   *float64     `json:"target,omitempty"` // sparsity rows
	Allowed  float64      `json:"allowed"`          // how far the metric may move the wrong way
	Points   []NightValue `json:"points"`
	// Left is the first night of the run of nights, up to the last one,
	// that are worse than the baseline beyond the tolerance: when the metric
	// left its band; nil when the last night is within it.
	Left *runs.Night `json:"-"`
	// LeftLabel is Left's label ("2026-12-01 3243267").
	LeftLabel string `json:"left,omitempty"`
}

// NightValue is a trend's value on one night.
type NightValue struct {
	Night   string  `json:"night"` // label
	Value   float64 `json:"value"`
	OK      bool    `json:"ok"`      // the night has the value
	Outside bool    `json:"outside"` // worse than the baseline beyond the tolerance
}

// Band returns the edges of the tolerance band around the baseline.
func (t Trend) Band() (lo, hi float64) {
	if t.Target != nil {
		d := math.Abs(t.Baseline-*t.Target) + t.Allowed
		return *t.Target - d, *t.Target + d
	}
	return t.Baseline - t.Allowed, t.Baseline + t.Allowed
}

// History follows, for every cell of the baseline, its headline score, its
// speedup and its sparsity reached across the nights, judged against the
// baseline with the tolerances as Compare judges one night.
func History(base *runs.Set, nights []runs.Night, opt Options) []Trend {
	tol := opt.Tolerances
	if tol == nil {
		tol = DefaultTolerances()
	}
	var out []Trend
	for _, b := range base.Runs {
		t, err := task.Lookup(b.Task)
		if err != nil {
			continue
		}
		type metric struct {
			key    string
			better Direction
			tol    Tolerance
			get    func(*runs.Run) (float64, bool)
		}
		ms := []metric{{t.Headline, Higher, tol.For(t.Headline, ClassScore), func(r *runs.Run) (float64, bool) {
			v := r.Headline()
			return v.V, v.OK
		}}, {speedupKey, Higher, tol.For(speedupKey, ClassSpeedup), func(r *runs.Run) (float64, bool) {
			v := r.Speedup()
			return v.V, v.OK
		}}}
		if b.Sparsity > 0 {
			ms = append(ms, metric{sparsityKey, CloserTarget, tol.For(sparsityKey, ClassSparsity), func(r *runs.Run) (float64, bool) {
				if sz, _ := r.Size(); sz != nil {
					return sz.Sparsity, true
				}
				return 0, false
			}})
		}
		for _, m := range ms {
			bv, ok := m.get(b)
			if !ok {
				continue
			}
			tr := Trend{Cell: b.Key, Metric: m.key, Better: m.better, Baseline: bv}
			if m.better == CloserTarget {
				tr.Target = ptr(b.Sparsity)
				tr.Allowed = m.tol.Allowed(b.Sparsity)
			} else {
				tr.Allowed = m.tol.Allowed(bv)
			}
			for _, n := range nights {
				nv := NightValue{Night: n.Label()}
				for _, r := range n.Set.Runs {
					if r.Key == b.Key {
						nv.Value, nv.OK = m.get(r)
					}
				}
				if nv.OK {
					row := Row{Better: m.better, Baseline: summary(bv), Current: summary(nv.Value), Target: tr.Target}
					judge(&row, m.tol)
					nv.Outside = row.Verdict == Regression
				}
				tr.Points = append(tr.Points, nv)
			}
			// Walk back from the last night over the nights outside the band
			// (a night without the value neither breaks nor extends the run).
			for i := len(tr.Points) - 1; i >= 0; i-- {
				p := tr.Points[i]
				if !p.OK {
					continue
				}
				if !p.Outside {
					break
				}
				n := nights[i]
				tr.Left, tr.LeftLabel = &n, n.Label()
			}
			out = append(out, tr)
		}
	}
	return out
}

// Annotate notes on each regressed row of res since which night its metric
// has been outside the band, from trends.
func (res *Result) Annotate(trends []Trend) {
	by := map[string]Trend{}
	for _, t := range trends {
		by[fmt.Sprint(t.Cell, t.Metric)] = t
	}
	for i, r := range res.Rows {
		if r.Verdict != Regression {
			continue
		}
		if t, ok := by[fmt.Sprint(r.Cell, r.Metric)]; ok && t.Left != nil {
			res.Rows[i].Since = t.LeftLabel
			note := "outside the band since " + t.LeftLabel
			if r.Note != "" {
				note = r.Note + "; " + note
			}
			res.Rows[i].Note = note
		}
	}
}
