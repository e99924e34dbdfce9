package metrics

import (
	"fmt"
	"math"
	"slices"

	"github.com/cofiharness/cofi/task"
)

// lookup resolves a task and checks that evalSet is one of its evaluation
// sets and that the task's head is kind.
func lookup(taskName, evalSet string, kind task.Kind) (task.Task, error) {
	t, err := task.Lookup(taskName)
	if err != nil {
		return t, err
	}
	if !slices.Contains(t.EvalSets, evalSet) && evalSet != task.HeldOut {
		return t, fmt.Errorf("task %s has no evaluation set %q (it has %v)", t.Name, evalSet, t.EvalSets)
	}
	if t.Kind != kind {
		return t, fmt.Errorf("task %s is a %s task, not %s", t.Name, t.Kind, kind)
	}
	return t, nil
}

// Classification scores class-id predictions of a classification task on
// one of its evaluation sets: every metric of task.Task.Metrics ("acc",
// "f1", "mcc"), keyed "<evalSet>/<metric>", in percent.
func Classification(taskName, evalSet string, pred, gold []int) (map[string]float64, error) {
	t, err := lookup(taskName, evalSet, task.Classification)
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for _, m := range t.Metrics {
		var v float64
		switch m {
		case "acc":
			v, err = Accuracy(pred, gold)
		case "f1":
			v, err = F1(pred, gold)
		case "mcc":
			v, err = Matthews(pred, gold)
		default:
			err = fmt.Errorf("metric %q is not a classification metric", m)
		}
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", t.Name, task.MetricKey(evalSet, m), err)
		}
		out[task.MetricKey(evalSet, m)] = 100 * v
	}
	return out, nil
}

// Regression scores real-valued predictions (STS-B): "pearson", "spearman"
// and "corr", their mean (the legacy GLUE metric the authors' trainer selects
// STS-B checkpoints by, trainer.py:41), in percent. Non-finite predictions
// are an error.
func Regression(taskName, evalSet string, pred, gold []float64) (map[string]float64, error) {
	t, err := lookup(taskName, evalSet, task.Regression)
	if err != nil {
		return nil, err
	}
	for i, p := range pred {
		if math.IsNaN(p) || math.IsInf(p, 0) {
			return nil, fmt.Errorf("%s: prediction %d is %v", t.Name, i, p)
		}
	}
	out := map[string]float64{}
	for _, m := range t.Metrics {
		var v float64
		switch m {
		case "pearson":
			v, err = Pearson(pred, gold)
		case "spearman":
			v, err = Spearman(pred, gold)
		case "corr":
			var p, sp float64
			if p, err = Pearson(pred, gold); err == nil {
				sp, err = Spearman(pred, gold)
			}
			v = (p + sp) / 2
		default:
			err = fmt.Errorf("metric %q is not a regression metric", m)
		}
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", t.Name, task.MetricKey(evalSet, m), err)
		}
		out[task.MetricKey(evalSet, m)] = 100 * v
	}
	return out, nil
}

// Span scores extractive QA predictions (question id -> text) against gold
// answers: "em" and "f1" in percent, as the official SQuAD v1.1 script.
func Span(taskName, evalSet string, pred map[string]string, gold map[string][]string) (map[string]float64, error) {
	t, err := lookup(taskName, evalSet, task.Span)
	if err != nil {
		return nil, err
	}
	em, f1, err := SQuAD(pred, gold)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", t.Name, err)
	}
	out := map[string]float64{}
	for _, m := range t.Metrics {
		switch m {
		case "em":
			out[task.MetricKey(evalSet, m)] = 100 * em
		case "f1":
			out[task.MetricKey(evalSet, m)] = 100 * f1
		default:
			return nil, fmt.Errorf("%s: metric %q is not a span metric", t.Name, m)
		}
	}
	return out, nil
}
