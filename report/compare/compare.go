package compare

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/cofiharness/cofi/report/runs"
	"github.com/cofiharness/cofi/report/stats"
	"github.com/cofiharness/cofi/report/table"
)

// Direction says which way a metric improves.
type Direction string

const (
	Higher        Direction = "higher"           // scores, speedup
	Lower         Direction = "lower"            // latency
	CloserTarget  Direction = "closer-to-target" // sparsity reached
	NotCompared   Direction = "none"             // status rows
	statusMetric            = "status"           // the row of a cell that failed on one side
	latencyMetric           = "latency_ms/round" // mean of the timed rounds
	sparsityKey             = "sparsity_reached" // Size.Sparsity of the run
	speedupKey              = ClassSpeedup       // Latency.Speedup
	scoreDigits             = 2                  // decimals of printed scores
	deviceChanged           = "device changed: " // prefix of notes on latency rows not counted
)

// Verdict of one row.
type Verdict string

const (
	Same       Verdict = "~"          // within tolerance
	Better     Verdict = "better"     // improved beyond tolerance
	Regression Verdict = "REGRESSION" // worse beyond tolerance, or lost
	Info       Verdict = "info"       // shown, not judged
)

// Row is one metric of one cell.
type Row struct {
	Cell      runs.Key       `json:"cell"`
	Metric    string         `json:"metric"`
	Better    Direction      `json:"better"`
	Baseline  *stats.Summary `json:"baseline,omitempty"`
	Current   *stats.Summary `json:"current,omitempty"`
	Target    *float64       `json:"target,omitempty"`    // sparsity rows: the target
	Delta     *float64       `json:"delta,omitempty"`     // current − baseline
	DeltaRel  *float64       `json:"delta_rel,omitempty"` // delta / |baseline|
	P         *float64       `json:"p,omitempty"`         // latency: Mann-Whitney U p-value over rounds
	Tolerance string         `json:"tolerance,omitempty"`
	Verdict   Verdict        `json:"verdict"`
	Note      string         `json:"note,omitempty"`
	Since     string         `json:"since,omitempty"` // a regression: the first night of its run outside the band (Annotate)
}

// Result is a whole comparison.
type Result struct {
	Baseline     []string   `json:"baseline"` // records files
	Current      []string   `json:"current"`
	Tolerances   Tolerances `json:"tolerances"`
	Rows         []Row      `json:"rows"`
	OnlyBaseline []runs.Key `json:"only_baseline"` // cells missing from the current runs
	OnlyCurrent  []runs.Key `json:"only_current"`  // new cells
	Regressions  int        `json:"regressions"`   // rows with verdict REGRESSION, plus missing cells unless allowed
	Warnings     []string   `json:"warnings"`
}

// Options of a comparison.
type Options struct {
	Tolerances Tolerances // nil: DefaultTolerances
	// AllowMissing: cells of the baseline absent from the current runs are
	// listed but not counted as regressions.
	AllowMissing bool
}

// Compare matches cells by (task, method, sparsity, seed) and compares every
// metric the baseline has.
func Compare(base, cur *runs.Set, opt Options) *Result {
	tol := opt.Tolerances
	if tol == nil {
		tol = DefaultTolerances()
	}
	res := &Result{Baseline: base.Sources, Current: cur.Sources, Tolerances: tol,
		Rows: []Row{}, OnlyBaseline: []runs.Key{}, OnlyCurrent: []runs.Key{}, Warnings: []string{}}
	for _, p := range base.Problems {
		res.Warnings = append(res.Warnings, "baseline: "+p)
	}
	for _, p := range cur.Problems {
		res.Warnings = append(res.Warnings, "current: "+p)
	}
	curBy := map[runs.Key]*runs.Run{}
	for _, r := range cur.Runs {
		curBy[r.Key] = r
	}
	seen := map[runs.Key]bool{}
	for _, b := range base.Runs {
		seen[b.Key] = true
		c, ok := curBy[b.Key]
		if !ok {
			res.OnlyBaseline = append(res.OnlyBaseline, b.Key)
			if !opt.AllowMissing {
				res.Regressions++
			}
			continue
		}
		res.Rows = append(res.Rows, compareRun(b, c, tol)...)
	}
	for _, c := range cur.Runs {
		if !seen[c.Key] {
			res.OnlyCurrent = append(res.OnlyCurrent, c.Key)
		}
	}
	for _, r := range res.Rows {
		if r.Verdict == Regression {
			res.Regressions++
		}
	}
	return res
}

// clean rounds away float noise (80.4 − 78.9 = 1.5000000000000142) so JSON
// shows the difference a reader computes.
func clean(v float64) float64 { return math.Round(v*1e9) / 1e9 }

func summary(xs ...float64) *stats.Summary { s := stats.Summarize(xs); return &s }
func ptr(v float64) *float64               { return &v }

// judge fills delta, tolerance and verdict of a row whose Baseline and
// Current are set.
func judge(r *Row, t Tolerance) {
	b, c := r.Baseline.Mean, r.Current.Mean
	d := c - b
	r.Delta = ptr(clean(d))
	if b != 0 {
		r.DeltaRel = ptr(clean(d / math.Abs(b)))
	}
	r.Tolerance = t.String()
	allowed := t.Allowed(b)
	var worse float64 // > 0 when the change is for the worse
	switch r.Better {
	case Higher:
		worse = -d
	case Lower:
		worse = d
	case CloserTarget:
		allowed = t.Allowed(*r.Target)
		worse = math.Abs(c-*r.Target) - math.Abs(b-*r.Target)
	default:
		r.Verdict = Info
		return
	}
	const eps = 1e-9 // a change exactly at the tolerance is within it
	switch {
	case worse > allowed+eps:
		r.Verdict = Regression
	case -worse > allowed+eps:
		r.Verdict = Better
	default:
		r.Verdict = Same
	}
}

func compareRun(b, c *runs.Run, tol Tolerances) []Row {
	var rows []Row
	bm, cm := b.Main(), c.Main()
	switch {
	case !bm.OK() && !cm.OK():
		return []Row{{Cell: b.Key, Metric: statusMetric, Better: NotCompared, Verdict: Info,
			Note: fmt.Sprintf("failed in both: baseline %s; current %s", bm.Reason(), cm.Reason())}}
	case !bm.OK():
		return []Row{{Cell: b.Key, Metric: statusMetric, Better: NotCompared, Verdict: Better, Note: "fixed: baseline " + bm.Reason()}}
	case !cm.OK():
		return []Row{{Cell: b.Key, Metric: statusMetric, Better: NotCompared, Verdict: Regression, Note: "current " + cm.Reason()}}
	}
	// Scores: every metric of the baseline.
	keys := make([]string, 0, len(bm.Record.Result.Metrics))
	for k := range bm.Record.Result.Metrics {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		r := Row{Cell: b.Key, Metric: k, Better: Higher, Baseline: summary(bm.Record.Result.Metrics[k])}
		v, ok := cm.Record.Result.Metrics[k]
		if !ok {
			r.Verdict, r.Note = Regression, "current run reports no "+k
			rows = append(rows, r)
			continue
		}
		r.Current = summary(v)
		judge(&r, tol.For(k, ClassScore))
		rows = append(rows, r)
	}
	// Speed.
	if bl, _ := b.Latency(); bl != nil {
		cl, why := c.Latency()
		if cl == nil {
			rows = append(rows, Row{Cell: b.Key, Metric: speedupKey, Better: Higher, Baseline: summary(bl.Speedup), Verdict: Regression, Note: "current: " + why})
		} else {
			r := Row{Cell: b.Key, Metric: speedupKey, Better: Higher, Baseline: summary(bl.Speedup), Current: summary(cl.Speedup)}
			judge(&r, tol.For(speedupKey, ClassSpeedup))
			rows = append(rows, r)
			lr := Row{Cell: b.Key, Metric: latencyMetric, Better: Lower, Baseline: summaryOf(bl.RoundsMS, bl.MeanMS), Current: summaryOf(cl.RoundsMS, cl.MeanMS)}
			judge(&lr, tol.For(latencyMetric, ClassLatency))
			if len(bl.RoundsMS) > 0 && len(cl.RoundsMS) > 0 {
				lr.P = ptr(stats.MannWhitneyP(bl.RoundsMS, cl.RoundsMS))
			}
			if bl.Device != cl.Device {
				// Absolute latency on another device says nothing about the
				// code; the speedup, measured against the same device's
				// unpruned model, still does.
				lr.Note = deviceChanged + bl.Device + " → " + cl.Device
				lr.Verdict = Info
			}
			rows = append(rows, lr)
		}
	}
	// Sparsity reached, judged by its distance to the target.
	if b.Sparsity > 0 {
		if bs, _ := b.Size(); bs != nil {
			r := Row{Cell: b.Key, Metric: sparsityKey, Better: CloserTarget, Baseline: summary(bs.Sparsity), Target: ptr(b.Sparsity)}
			if cs, why := c.Size(); cs == nil {
				r.Verdict, r.Note = Regression, "current: "+why
			} else {
				r.Current = summary(cs.Sparsity)
				judge(&r, tol.For(sparsityKey, ClassSparsity))
			}
			rows = append(rows, r)
		}
	}
	return rows
}

// summaryOf summarises timing rounds, or the mean alone when rounds are absent.
func summaryOf(rounds []float64, mean float64) *stats.Summary {
	if len(rounds) == 0 {
		return summary(mean)
	}
	return summary(rounds...)
}

// Table lays the result out benchstat-style: one row per cell and metric.
func (res *Result) Table() *table.Table {
	t := &table.Table{
		ID:    "compare",
		Title: "Comparison with the baseline",
		Caption: fmt.Sprintf("Baseline %s; current %s. Tolerances: %s. ~ = within tolerance.",
			strings.Join(res.Baseline, ", "), strings.Join(res.Current, ", "), res.Tolerances),
		Stub: "cell",
		Columns: []table.Column{{Key: "metric", Header: "metric"}, {Key: "baseline", Header: "baseline"}, {Key: "current", Header: "current"},
			{Key: "delta", Header: "delta"}, {Key: "tolerance", Header: "tolerance"}, {Key: "verdict", Header: "verdict"}},
	}
	prev := runs.Key{Task: "\x00"}
	for _, r := range res.Rows {
		label := ""
		if r.Cell != prev {
			label = r.Cell.String()
			prev = r.Cell
		}
		cells := []table.Cell{table.Txt(r.Metric), table.Txt(show(r, r.Baseline)), table.Txt(show(r, r.Current)),
			table.Txt(showDelta(r)), table.Txt(r.Tolerance), table.Txt(string(r.Verdict))}
		if r.Note != "" {
			cells[5] = cells[5].WithNote(r.Note)
		}
		t.Rows = append(t.Rows, table.Row{Label: label, Rule: label != "", Cells: cells})
	}
	for _, k := range res.OnlyBaseline {
		t.Notes = append(t.Notes, "only in the baseline (missing from the current runs): "+k.String())
	}
	for _, k := range res.OnlyCurrent {
		t.Notes = append(t.Notes, "only in the current runs: "+k.String())
	}
	for _, w := range res.Warnings {
		t.Notes = append(t.Notes, "warning: "+w)
	}
	t.Notes = append(t.Notes, res.Summary())
	return t
}

// Summary is the one-line outcome.
func (res *Result) Summary() string {
	n := 0
	for _, r := range res.Rows {
		if r.Verdict == Regression {
			n++
		}
	}
	s := fmt.Sprintf("%d regression(s) beyond tolerance in %d comparisons", n, len(res.Rows))
	if len(res.OnlyBaseline) > 0 {
		s += fmt.Sprintf("; %d baseline cell(s) missing", len(res.OnlyBaseline))
		if res.Regressions == n {
			s += " (allowed)"
		}
	}
	if len(res.OnlyCurrent) > 0 {
		s += fmt.Sprintf("; %d new cell(s)", len(res.OnlyCurrent))
	}
	if res.Regressions > 0 {
		return "FAIL: " + s
	}
	return "ok: " + s
}

func show(r Row, s *stats.Summary) string {
	if s == nil {
		return "—"
	}
	switch r.Metric {
	case latencyMetric:
		out := strconv.FormatFloat(s.Mean, 'f', 2, 64) + " ms"
		if s.N > 1 && s.Mean != 0 {
			out += fmt.Sprintf(" ±%.0f%% (n=%d)", 100*s.Std/s.Mean, s.N)
		}
		return out
	case speedupKey:
		return strconv.FormatFloat(s.Mean, 'f', 2, 64) + "×"
	case sparsityKey:
		return strconv.FormatFloat(100*s.Mean, 'f', 2, 64) + "%"
	}
	return strconv.FormatFloat(s.Mean, 'f', scoreDigits, 64)
}

func showDelta(r Row) string {
	if r.Delta == nil {
		return ""
	}
	sign := func(v float64, digits int, unit string) string {
		s := strconv.FormatFloat(v, 'f', digits, 64)
		if v > 0 {
			s = "+" + s
		}
		return s + unit
	}
	switch r.Metric {
	case latencyMetric, speedupKey:
		if r.DeltaRel == nil {
			return sign(*r.Delta, 2, "")
		}
		s := sign(100**r.DeltaRel, 1, "%")
		if r.P != nil {
			s += fmt.Sprintf(" (p=%.3f)", *r.P)
		}
		return s
	case sparsityKey:
		return sign(100**r.Delta, 2, " pts")
	}
	return sign(*r.Delta, scoreDigits, "")
}

// WriteText writes the comparison as a plain-text table.
func (res *Result) WriteText(w io.Writer) error { return table.Write(w, res.Table(), table.Plain) }

// WriteJSON writes the comparison as JSON.
func (res *Result) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(res)
}
