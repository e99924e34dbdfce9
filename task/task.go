// Package task describes the benchmark tasks the harness knows: GLUE's eight
// tasks, SQuAD v1.1 and the built-in synthetic tasks. It is the one place that
// says what a task is called, which metrics score it, which evaluation sets it
// has and which metric the paper reports, so readers, trainers, the runner and
// the report all agree.
package task

import (
	"fmt"
	"sort"
	"strings"
)

// Kind is the shape of a task's output head.
type Kind string

const (
	Classification Kind = "classification"
	Regression     Kind = "regression" // one logit, MSE loss (STS-B)
	Span           Kind = "span"       // start/end logits (SQuAD)
)

// Size groups tasks the way the authors' hyperparameter table does.
type Size string

const (
	Small Size = "small" // CoLA, STS-B, MRPC, RTE: 100 pruning epochs, eval every 50 steps
	Large Size = "large" // SST-2, QNLI, MNLI, QQP: 20 pruning epochs, eval every 500 steps
	QA    Size = "squad" // SQuAD: batch 16, seq 384
)

// Task is the static description of one task.
type Task struct {
	Name      string   // canonical lower-case name used in configs, paths and records: "mnli"
	Display   string   // name as the paper prints it: "MNLI"
	Kind      Kind     // head type
	NumLabels int      // classifier outputs (1 for regression, 2 for span start/end)
	EvalSets  []string // names of the evaluation sets; metric keys are "<evalset>/<metric>"
	Metrics   []string // metric names computed on every eval set
	Headline  string   // the metric key the paper reports, e.g. "mnli-m/acc"
	Select    string   // metric key used to choose the best checkpoint (defaults to Headline)
	Size      Size
	TrainSize int  // train examples in the real data set (0 for synthetic tasks)
	DevSize   int  // examples of the (first) evaluation set in the real data set (0 for synthetic tasks)
	Synthetic bool // built-in task generated on disk by the harness
	SeqLen    int  // default max sequence length
}

// HeldOut names the evaluation set made of training examples held out from
// training (hyperparameter "heldout"): its metrics are "heldout/<metric>".
const HeldOut = "heldout"

// MetricKey joins an evaluation set and a metric name the way records store them.
func MetricKey(evalSet, metric string) string { return evalSet + "/" + metric }

var all = []Task{
	{Name: "cola", Display: "CoLA", Kind: Classification, NumLabels: 2, EvalSets: []string{"cola"}, Metrics: []string{"mcc", "acc"}, Headline: "cola/mcc", Size: Small, TrainSize: 8551, DevSize: 1043, SeqLen: 128},
	{Name: "sst2", Display: "SST-2", Kind: Classification, NumLabels: 2, EvalSets: []string{"sst2"}, Metrics: []string{"acc"}, Headline: "sst2/acc", Size: Large, TrainSize: 67349, DevSize: 872, SeqLen: 128},
	{Name: "mrpc", Display: "MRPC", Kind: Classification, NumLabels: 2, EvalSets: []string{"mrpc"}, Metrics: []string{"acc", "f1"}, Headline: "mrpc/acc", Size: Small, TrainSize: 3668, DevSize: 408, SeqLen: 128},
	{Name: "stsb", Display: "STS-B", Kind: Regression, NumLabels: 1, EvalSets: []string{"stsb"}, Metrics: []string{"spearman", "pearson", "corr"}, Headline: "stsb/spearman", Size: Small, TrainSize: 5749, DevSize: 1500, SeqLen: 128},
	{Name: "qqp", Display: "QQP", Kind: Classification, NumLabels: 2, EvalSets: []string{"qqp"}, Metrics: []string{"acc", "f1"}, Headline: "qqp/acc", Size: Large, TrainSize: 363846, DevSize: 40430, SeqLen: 128},
	{Name: "mnli", Display: "MNLI", Kind: Classification, NumLabels: 3, EvalSets: []string{"mnli-m", "mnli-mm"}, Metrics: []string{"acc"}, Headline: "mnli-m/acc", Size: Large, TrainSize: 392702, DevSize: 9815, SeqLen: 128},
	{Name: "qnli", Display: "QNLI", Kind: Classification, NumLabels: 2, EvalSets: []string{"qnli"}, Metrics: []string{"acc"}, Headline: "qnli/acc", Size: Large, TrainSize: 104743, DevSize: 5463, SeqLen: 128},
	{Name: "rte", Display: "RTE", Kind: Classification, NumLabels: 2, EvalSets: []string{"rte"}, Metrics: []string{"acc"}, Headline: "rte/acc", Size: Small, TrainSize: 2490, DevSize: 277, SeqLen: 128},
	{Name: "squad", Display: "SQuAD", Kind: Span, NumLabels: 2, EvalSets: []string{"squad"}, Metrics: []string{"f1", "em"}, Headline: "squad/f1", Size: QA, TrainSize: 87599, DevSize: 10570, SeqLen: 384},

	// Built-in synthetic tasks (see experiments/synth). Each needs attention
	// across tokens to be solved, so a bag-of-words model stays near chance.
	{Name: "syn-single", Display: "Syn-Single", Kind: Classification, NumLabels: 2, EvalSets: []string{"syn-single"}, Metrics: []string{"acc"}, Headline: "syn-single/acc", Size: Small, Synthetic: true, SeqLen: 32},
	{Name: "syn-pair", Display: "Syn-Pair", Kind: Classification, NumLabels: 3, EvalSets: []string{"syn-pair"}, Metrics: []string{"acc"}, Headline: "syn-pair/acc", Size: Small, Synthetic: true, SeqLen: 48},
	{Name: "syn-reg", Display: "Syn-Reg", Kind: Regression, NumLabels: 1, EvalSets: []string{"syn-reg"}, Metrics: []string{"spearman", "pearson", "corr"}, Headline: "syn-reg/spearman", Size: Small, Synthetic: true, SeqLen: 32},
	{Name: "syn-span", Display: "Syn-Span", Kind: Span, NumLabels: 2, EvalSets: []string{"syn-span"}, Metrics: []string{"f1", "em"}, Headline: "syn-span/f1", Size: Small, Synthetic: true, SeqLen: 64},
}

var byName = func() map[string]Task {
	m := make(map[string]Task, len(all))
	for _, t := range all {
		if t.Select == "" {
			t.Select = t.Headline
		}
		m[t.Name] = t
	}
	return m
}()

// aliases maps the spellings users type (directory names, HF config names) to canonical names.
var aliases = map[string]string{
	"sst-2": "sst2", "sts-b": "stsb", "squad1.1": "squad", "squad-v1.1": "squad", "squadv1": "squad",
}

// Lookup returns the task named name (case-insensitive; "SST-2" and "sst2" both work).
func Lookup(name string) (Task, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	if a, ok := aliases[n]; ok {
		n = a
	}
	t, ok := byName[n]
	if !ok {
		return Task{}, fmt.Errorf("unknown task %q (known: %s)", name, strings.Join(Names(), ", "))
	}
	return t, nil
}

// MustLookup is Lookup for names fixed in code; it panics on an unknown name.
func MustLookup(name string) Task {
	t, err := Lookup(name)
	if err != nil {
		panic(err)
	}
	return t
}

// Names lists every canonical task name, GLUE and SQuAD first in the paper's order, then synthetic ones.
func Names() []string {
	out := make([]string, len(all))
	for i, t := range all {
		out[i] = t.Name
	}
	return out
}

// GLUE lists the eight GLUE tasks in the order of the paper's Table 2.
func GLUE() []string { return []string{"sst2", "qnli", "mnli", "qqp", "cola", "rte", "stsb", "mrpc"} }

// Synthetic lists the built-in synthetic tasks.
func Synthetic() []string {
	var out []string
	for _, t := range all {
		if t.Synthetic {
			out = append(out, t.Name)
		}
	}
	sort.Strings(out)
	return out
}

// MetricKeys lists every metric key a task's evaluation produces.
func (t Task) MetricKeys() []string {
	var out []string
	for _, e := range t.EvalSets {
		for _, m := range t.Metrics {
			out = append(out, MetricKey(e, m))
		}
	}
	return out
}
