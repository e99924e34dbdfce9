// Package glue reads the GLUE tasks (and the built-in synthetic ones that
// imitate them) from the original TSV files or from Hugging Face parquet
// exports, into data.Example values with label names spelled as in the TSVs.
package glue

import (
	"fmt"
	"slices"
	"strings"

	"github.com/cofiharness/cofi/task"
)

// spec describes how one task is stored.
type spec struct {
	dirs []string // directory names to look for, matched case-insensitively: TSV dir, HF config
	// TSV layout. Column indices < 0 count from the end (-1 = last).
	header       bool
	colA, colB   int  // text columns; colB only when pair
	pair         bool // two-segment task
	colLabel     int
	headerNames  map[int]string // expected header name of each column used
	skipBad      bool           // drop malformed rows (QQP), counting them
	config       string         // HF datasets config; "" for tasks with no parquet form
	hfA, hfB     string         // HF text columns
	evalTSV      map[string]string
	evalParquet  map[string]string
	canonicalDir string // directory name the synthetic writer uses
}

func single(name string) (map[string]string, map[string]string) {
	return map[string]string{name: "dev"}, map[string]string{name: "validation"}
}

var specs = func() map[string]spec {
	m := map[string]spec{
		"cola": {dirs: []string{"CoLA", "cola"}, header: false, colA: 3, colLabel: 1,
			config: "cola", hfA: "sentence"},
		"sst2": {dirs: []string{"SST-2", "sst2"}, header: true, colA: 0, colLabel: 1,
			headerNames: map[int]string{0: "sentence", 1: "label"}, config: "sst2", hfA: "sentence"},
		"mrpc": {dirs: []string{"MRPC", "mrpc"}, header: true, colA: 3, colB: 4, pair: true, colLabel: 0,
			headerNames: map[int]string{0: "quality", 3: "#1 string", 4: "#2 string"}, config: "mrpc", hfA: "sentence1", hfB: "sentence2"},
		"stsb": {dirs: []string{"STS-B", "stsb"}, header: true, colA: 7, colB: 8, pair: true, colLabel: -1,
			headerNames: map[int]string{7: "sentence1", 8: "sentence2", -1: "score"}, config: "stsb", hfA: "sentence1", hfB: "sentence2"},
		"qqp": {dirs: []string{"QQP", "qqp"}, header: true, colA: 3, colB: 4, pair: true, colLabel: 5, skipBad: true,
			headerNames: map[int]string{3: "question1", 4: "question2", 5: "is_duplicate"}, config: "qqp", hfA: "question1", hfB: "question2"},
		"mnli": {dirs: []string{"MNLI", "mnli"}, header: true, colA: 8, colB: 9, pair: true, colLabel: -1,
			headerNames: map[int]string{8: "sentence1", 9: "sentence2", -1: "gold_label"}, config: "mnli", hfA: "premise", hfB: "hypothesis",
			evalTSV:     map[string]string{"mnli-m": "dev_matched", "mnli-mm": "dev_mismatched"},
			evalParquet: map[string]string{"mnli-m": "validation_matched", "mnli-mm": "validation_mismatched"}},
		"qnli": {dirs: []string{"QNLI", "qnli"}, header: true, colA: 1, colB: 2, pair: true, colLabel: -1,
			headerNames: map[int]string{1: "question", 2: "sentence", -1: "label"}, config: "qnli", hfA: "question", hfB: "sentence"},
		"rte": {dirs: []string{"RTE", "rte"}, header: true, colA: 1, colB: 2, pair: true, colLabel: -1,
			headerNames: map[int]string{1: "sentence1", 2: "sentence2", -1: "label"}, config: "rte", hfA: "sentence1", hfB: "sentence2"},
	}
	// Synthetic tasks use the layouts of SST-2, RTE and STS-B (TSV only).
	m["syn-single"] = spec{dirs: []string{"SYN-SINGLE"}, header: true, colA: 0, colLabel: 1,
		headerNames: map[int]string{0: "sentence", 1: "label"}}
	m["syn-pair"] = spec{dirs: []string{"SYN-PAIR"}, header: true, colA: 1, colB: 2, pair: true, colLabel: -1,
		headerNames: map[int]string{1: "sentence1", 2: "sentence2", -1: "label"}}
	m["syn-reg"] = spec{dirs: []string{"SYN-REG"}, header: true, colA: 7, colB: 8, pair: true, colLabel: -1,
		headerNames: map[int]string{7: "sentence1", 8: "sentence2", -1: "score"}}
	for name, s := range m {
		if s.evalTSV == nil {
			s.evalTSV, s.evalParquet = single(name)
		}
		s.canonicalDir = s.dirs[0]
		m[name] = s
	}
	return m
}()

// Dir returns the directory name under which a task's TSV files live
// ("RTE", "SST-2", "SYN-PAIR").
func Dir(taskName string) (string, error) {
	_, s, err := lookup(taskName)
	return s.canonicalDir, err
}

// Tasks lists the tasks this package reads.
func Tasks() []string {
	var out []string
	for _, n := range task.Names() {
		if _, ok := specs[n]; ok {
			out = append(out, n)
		}
	}
	return out
}

func lookup(taskName string) (task.Task, spec, error) {
	t, err := task.Lookup(taskName)
	if err != nil {
		return t, spec{}, err
	}
	s, ok := specs[t.Name]
	if !ok {
		return t, spec{}, fmt.Errorf("task %s is not a GLUE-style task (read it with its own reader)", t.Name)
	}
	return t, s, nil
}

// resolveSplit maps a split name to the canonical one ("train" or an eval
// set name of the task) and to the TSV file base and HF split name. Besides
// the eval set names it accepts the file names themselves ("dev",
// "validation", "dev_matched", "validation_mismatched").
func resolveSplit(t task.Task, s spec, split string) (canon, tsv, hf string, err error) {
	sp := strings.ToLower(strings.TrimSpace(split))
	if sp == "train" {
		return "train", "train", "train", nil
	}
	for _, e := range t.EvalSets {
		if sp == e || sp == s.evalTSV[e] || sp == s.evalParquet[e] {
			return e, s.evalTSV[e], s.evalParquet[e], nil
		}
	}
	valid := append([]string{"train"}, t.EvalSets...)
	if sp == "test" || strings.HasPrefix(sp, "test_") {
		return "", "", "", fmt.Errorf("task %s: split %q has no labels; want one of %s", t.Name, split, strings.Join(valid, ", "))
	}
	if slices.Contains([]string{"dev", "validation"}, sp) && len(t.EvalSets) > 1 {
		return "", "", "", fmt.Errorf("task %s has several evaluation sets: name one of %s", t.Name, strings.Join(t.EvalSets, ", "))
	}
	return "", "", "", fmt.Errorf("task %s: unknown split %q; want one of %s", t.Name, split, strings.Join(valid, ", "))
}
