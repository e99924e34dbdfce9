// Package data holds what the task readers produce and the trainer consumes:
// examples, label vocabularies, encoded features and padded batches.
package data

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/cofiharness/cofi/task"
)

// Example is one GLUE-style example, whatever file it came from.
type Example struct {
	ID    string
	TextA string
	TextB string
	// Pair says the task has two segments, so TextB is encoded as the second
	// one even when empty (as HF's run_glue.py does).
	Pair  bool
	Label string  // label name as the task's TSV spells it: "entailment", "1"; empty for regression
	Score float64 // regression target (STS-B: 0-5)
}

// LabelVocab maps class ids to label names. Id order is what a classifier's
// logits mean, so it must be the order the model was trained with.
type LabelVocab struct {
	Names []string // label name of each class id, spelled as in the task's TSV files
	// HFNames are the Hugging Face datasets ClassLabel names of the same ids
	// ("negative", "not_entailment"); a checkpoint's id2label may use either.
	HFNames    []string
	Regression bool
}

// NumLabels is the number of classifier outputs: 1 for regression.
func (v LabelVocab) NumLabels() int {
	if v.Regression {
		return 1
	}
	return len(v.Names)
}

// ID returns the class id of a label name.
func (v LabelVocab) ID(name string) (int, bool) {
	for i, n := range v.Names {
		if n == name {
			return i, true
		}
	}
	return 0, false
}

// Name returns the label name of a class id, or "" when out of range.
func (v LabelVocab) Name(id int) string {
	if id < 0 || id >= len(v.Names) {
		return ""
	}
	return v.Names[id]
}

// canonical label orders: those of Hugging Face datasets' GLUE, which is
// what models fine-tuned with run_glue.py on the hub data use. Names are the
// TSV spellings; the numeric tasks' TSV labels are the HF ids.
var canonical = map[string]LabelVocab{
	"cola":       {Names: []string{"0", "1"}, HFNames: []string{"unacceptable", "acceptable"}},
	"sst2":       {Names: []string{"0", "1"}, HFNames: []string{"negative", "positive"}},
	"mrpc":       {Names: []string{"0", "1"}, HFNames: []string{"not_equivalent", "equivalent"}},
	"qqp":        {Names: []string{"0", "1"}, HFNames: []string{"not_duplicate", "duplicate"}},
	"stsb":       {Regression: true},
	"mnli":       {Names: []string{"entailment", "neutral", "contradiction"}, HFNames: []string{"entailment", "neutral", "contradiction"}},
	"qnli":       {Names: []string{"entailment", "not_entailment"}, HFNames: []string{"entailment", "not_entailment"}},
	"rte":        {Names: []string{"entailment", "not_entailment"}, HFNames: []string{"entailment", "not_entailment"}},
	"syn-single": {Names: []string{"0", "1"}, HFNames: []string{"0", "1"}},
	"syn-pair":   {Names: []string{"entailment", "neutral", "contradiction"}, HFNames: []string{"entailment", "neutral", "contradiction"}},
	"syn-reg":    {Regression: true},
}

// TaskLabels returns a task's canonical label vocabulary: the Hugging Face
// datasets order (MNLI: entailment, neutral, contradiction; QNLI/RTE:
// entailment, not_entailment; the binary tasks "0", "1").
func TaskLabels(taskName string) (LabelVocab, error) {
	t, err := task.Lookup(taskName)
	if err != nil {
		return LabelVocab{}, err
	}
	v, ok := canonical[t.Name]
	if !ok {
		return LabelVocab{}, fmt.Errorf("task %s is a %s task: it has no label vocabulary", t.Name, t.Kind)
	}
	return v, nil
}

// Reorder returns the vocabulary with class ids in the given order of label
// names (TSV or HF spelling), for checkpoints trained with another order
// whose config only says LABEL_0, LABEL_1, ...
func (v LabelVocab) Reorder(names []string) (LabelVocab, error) {
	if v.Regression {
		return v, fmt.Errorf("a regression task has no label order")
	}
	if len(names) != len(v.Names) {
		return v, fmt.Errorf("label order %q has %d labels, the task has %d (%s)", names, len(names), len(v.Names), strings.Join(v.Names, ", "))
	}
	out := LabelVocab{Names: make([]string, len(names)), HFNames: make([]string, len(names))}
	used := make([]bool, len(v.Names))
	for i, n := range names {
		j := v.lookup(n)
		if j < 0 {
			return v, fmt.Errorf("label %q is not one of the task's (%s)", n, strings.Join(v.Names, ", "))
		}
		if used[j] {
			return v, fmt.Errorf("label %q appears twice in %q", n, names)
		}
		used[j] = true
		out.Names[i], out.HFNames[i] = v.Names[j], v.hfName(j)
	}
	return out, nil
}

// lookup finds a label by TSV or HF name, case-insensitively; -1 if none.
func (v LabelVocab) lookup(name string) int {
	name = strings.ToLower(strings.TrimSpace(name))
	for i, n := range v.Names {
		if strings.ToLower(n) == name || strings.ToLower(v.hfName(i)) == name {
			return i
		}
	}
	return -1
}

func (v LabelVocab) hfName(i int) string {
	if i < len(v.HFNames) {
		return v.HFNames[i]
	}
	return v.Names[i]
}

// FromID2Label returns the vocabulary a checkpoint was trained with, given
// its config.json id2label ({"0": "entailment", ...}) and the task's
// vocabulary v. Hugging Face's placeholder names LABEL_0, LABEL_1, ... (or
// no id2label) mean "the task's canonical order". Real names must cover
// every label of the task, or the checkpoint cannot score this data.
func (v LabelVocab) FromID2Label(id2label map[string]string) (LabelVocab, error) {
	if v.Regression {
		if len(id2label) > 1 {
			return v, fmt.Errorf("checkpoint has %d labels, a regression task needs 1", len(id2label))
		}
		return v, nil
	}
	if len(id2label) == 0 {
		return v, nil
	}
	if len(id2label) != len(v.Names) {
		return v, fmt.Errorf("checkpoint has %d labels (id2label %v), the task has %d (%s)", len(id2label), id2label, len(v.Names), strings.Join(v.Names, ", "))
	}
	names := make([]string, len(id2label))
	placeholder := true
	for k, name := range id2label {
		id, err := strconv.Atoi(k)
		if err != nil || id < 0 || id >= len(names) || names[id] != "" {
			return v, fmt.Errorf("id2label key %q: want ids 0..%d, each once", k, len(names)-1)
		}
		if name == "" {
			return v, fmt.Errorf("id2label[%s] is empty", k)
		}
		names[id] = name
		if name != "LABEL_"+k {
			placeholder = false
		}
	}
	if placeholder {
		return v, nil
	}
	out, err := v.Reorder(names)
	if err != nil {
		known := map[string]bool{}
		for i, n := range v.Names {
			known[n], known[v.hfName(i)] = true, true
		}
		var list []string
		for n := range known {
			list = append(list, n)
		}
		sort.Strings(list)
		return v, fmt.Errorf("checkpoint labels %q do not match the task's labels (any of %q): %w", names, list, err)
	}
	return out, nil
}
