package report

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/cofiharness/cofi/method"
	"github.com/cofiharness/cofi/record"
	"github.com/cofiharness/cofi/record/steplog"
	"github.com/cofiharness/cofi/report/figure"
	"github.com/cofiharness/cofi/report/runs"
	"github.com/cofiharness/cofi/task"
)

// curveStage is the stage whose training curve stands for a run: the
// pruning stage of a CoFi run, else the teacher's or the baseline's
// training, else the final fine-tuning.
func curveStage(r *runs.Run) *runs.Stage {
	kinds := []string{record.KindTeacher, record.KindBaseline, record.KindFinal}
	if m, err := method.Lookup(r.Method); err == nil && m.Family == method.CoFi {
		kinds = []string{record.KindPrune, record.KindFinal}
	}
	for _, k := range kinds {
		if s, ok := r.Stages[k]; ok {
			if d := s.Dir(); d != "" {
				if _, err := os.Stat(filepath.Join(d, steplog.File)); err == nil {
					return s
				}
			}
		}
	}
	return nil
}

// hasCurves: some run's stage wrote a training curve.
func hasCurves(set *runs.Set) bool {
	for _, r := range set.Runs {
		if curveStage(r) != nil {
			return true
		}
	}
	return false
}

// curveID is a run's figure stem: "curve-mnli-cofi-95-s57".
func curveID(k runs.Key) string {
	parts := []string{"curve", k.Task, k.Method}
	if k.Sparsity > 0 {
		parts = append(parts, strings.TrimSuffix(runs.Percent(k.Sparsity), "%"))
	}
	return strings.Join(append(parts, "s"+strconv.FormatInt(k.Seed, 10)), "-")
}

// buildCurves draws one small figure per run from the metrics file of its
// training stage. A run whose file cannot be read is an error of the whole
// figure set (the report lists it and renders the rest).
func buildCurves(set *runs.Set) ([]*figure.Figure, error) {
	var out []*figure.Figure
	var bad []string
	for _, r := range set.Runs {
		st := curveStage(r)
		if st == nil {
			continue
		}
		path := filepath.Join(st.Dir(), steplog.File)
		c, err := steplog.Read(path)
		if err != nil {
			bad = append(bad, err.Error())
			continue
		}
		metric := ""
		if t, err := task.Lookup(r.Task); err == nil {
			metric = t.Headline
		}
		f, err := figure.TrainingCurve(figure.CurveRun{ID: curveID(r.Key), Label: fmt.Sprintf("%s (%s stage)", r.Key, st.Kind),
			Metric: metric, Curve: c, Date: st.Record.End})
		if err != nil {
			bad = append(bad, fmt.Sprintf("%s: %v", path, err))
			continue
		}
		out = append(out, f)
	}
	if len(bad) > 0 {
		return out, fmt.Errorf("%s", strings.Join(bad, "; "))
	}
	return out, nil
}
