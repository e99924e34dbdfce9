package glue

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/cofiharness/cofi/experiments/data"
	"github.com/cofiharness/cofi/experiments/data/hfparquet"
)

// Source is an on-disk form of a task's data.
type Source string

const (
	Auto    Source = ""        // TSV if present, else parquet (see Find)
	TSV     Source = "tsv"     // GLUE's original <TASK>/{train,dev}.tsv
	Parquet Source = "parquet" // Hugging Face nyu-mll/glue export
)

// ParseSource reads a user's --source value ("", "auto", "tsv", "parquet").
func ParseSource(s string) (Source, error) {
	switch strings.ToLower(s) {
	case "", "auto":
		return Auto, nil
	case "tsv":
		return TSV, nil
	case "parquet":
		return Parquet, nil
	}
	return Auto, fmt.Errorf("unknown data source %q: want auto, tsv or parquet", s)
}

// Set is one split of a task as read from disk.
type Set struct {
	Task     string // canonical task name
	Split    string // "train" or the evaluation set name ("mnli-mm")
	Path     string // file read (the first shard for multi-file parquet)
	Source   Source
	Examples []data.Example
	Skipped  []Skip // malformed rows dropped (QQP TSV only)
}

// Load reads one split of a task from dir, finding the files as Find does.
// split is "train" or one of the task's evaluation sets (task.Task.EvalSets,
// e.g. "rte", "mnli-m", "mnli-mm").
func Load(dir, taskName, split string) ([]data.Example, error) {
	set, err := LoadSet(dir, taskName, split, Auto)
	if err != nil {
		return nil, err
	}
	return set.Examples, nil
}

// LoadSet is Load with an explicit source and the reading details (file,
// source, rows skipped).
func LoadSet(dir, taskName, split string, src Source) (*Set, error) {
	files, found, err := Find(dir, taskName, split, src)
	if err != nil {
		return nil, err
	}
	if found == TSV {
		f, err := os.Open(files[0])
		if err != nil {
			return nil, fmt.Errorf("load %s %s: %w", taskName, split, err)
		}
		defer f.Close()
		return ReadTSV(f, files[0], taskName, split)
	}
	return ReadParquet(files, taskName, split)
}

// Find locates the file(s) of a split. It looks in dir/<TASK> for each of
// the task's directory names (the GLUE TSV name such as "SST-2", then the HF
// config name such as "sst2"; case-insensitive), then in dir itself. With
// src Auto, a TSV file anywhere in that list wins over parquet, because the
// TSVs are the data the paper's numbers come from. Parquet files are
// <split>-NNNNN-of-NNNNN.parquet or <split>/NNNN.parquet (all shards, in
// name order).
func Find(dir, taskName, split string, src Source) ([]string, Source, error) {
	t, s, err := lookup(taskName)
	if err != nil {
		return nil, "", err
	}
	_, tsvBase, hfSplit, err := resolveSplit(t, s, split)
	if err != nil {
		return nil, "", err
	}
	cands, err := candidateDirs(dir, s.dirs)
	if err != nil {
		return nil, "", err
	}
	var tried []string
	if src == Auto || src == TSV {
		for _, d := range cands {
			p := filepath.Join(d, tsvBase+".tsv")
			if isFile(p) {
				return []string{p}, TSV, nil
			}
			tried = append(tried, p)
		}
	}
	if (src == Auto || src == Parquet) && s.config != "" {
		for _, d := range cands {
			shards, _ := filepath.Glob(filepath.Join(d, hfSplit+"-*.parquet"))
			if len(shards) == 0 {
				shards, _ = filepath.Glob(filepath.Join(d, hfSplit, "*.parquet"))
			}
			if len(shards) > 0 {
				sort.Strings(shards)
				return shards, Parquet, nil
			}
			tried = append(tried, filepath.Join(d, hfSplit+"-*.parquet"), filepath.Join(d, hfSplit, "*.parquet"))
		}
	}
	if src == Parquet && s.config == "" {
		return nil, "", fmt.Errorf("task %s has no parquet form", t.Name)
	}
	return nil, "", data.NotFound("no %s %s data under %s (tried %s)", t.Name, split, dir, strings.Join(tried, ", "))
}

// candidateDirs lists the subdirectories of dir named like the task, then
// dir itself.
func candidateDirs(dir string, names []string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	var out []string
	for _, n := range names {
		for _, e := range entries {
			p := filepath.Join(dir, e.Name())
			if strings.EqualFold(e.Name(), n) && isDir(p) && !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	return append(out, dir), nil
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// ReadParquet reads the shards of one split of a task in the Hugging Face
// nyu-mll/glue layout. Integer labels are class ids in the HF order and
// come back as the TSV label names; -1 (the test splits) is an error.
func ReadParquet(files []string, taskName, split string) (*Set, error) {
	t, s, err := lookup(taskName)
	if err != nil {
		return nil, err
	}
	canon, _, _, err := resolveSplit(t, s, split)
	if err != nil {
		return nil, err
	}
	if s.config == "" {
		return nil, fmt.Errorf("task %s has no parquet form", t.Name)
	}
	if len(files) == 0 {
		return nil, errors.New("no parquet files")
	}
	vocab, err := data.TaskLabels(t.Name)
	if err != nil {
		return nil, err
	}
	set := &Set{Task: t.Name, Split: canon, Path: files[0], Source: Parquet}
	for _, p := range files {
		exs, err := readParquetFile(p, s, vocab)
		if err != nil {
			return nil, err
		}
		for _, ex := range exs {
			ex.ID = fmt.Sprint(len(set.Examples))
			set.Examples = append(set.Examples, ex)
		}
	}
	if len(set.Examples) == 0 {
		return nil, fmt.Errorf("%s: no examples", files[0])
	}
	return set, nil
}

func readParquetFile(path string, s spec, vocab data.LabelVocab) ([]data.Example, error) {
	cols := []string{s.hfA, "label"}
	if s.pair {
		cols = append(cols, s.hfB)
	}
	tb, err := hfparquet.Read(path, cols...)
	if err != nil {
		return nil, err
	}
	as, err := tb.Strings(s.hfA)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var bs []string
	if s.pair {
		if bs, err = tb.Strings(s.hfB); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	exs := make([]data.Example, tb.NumRows)
	if vocab.Regression {
		scores, err := tb.Floats("label")
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		for i, v := range scores {
			if !(v >= 0 && v <= 5) {
				return nil, &FormatError{Path: path, Line: i, Row: true, Msg: fmt.Sprintf("label %v is not a score in [0, 5] (-1 marks the unlabelled test split)", v)}
			}
			exs[i].Score = v
		}
	} else {
		ids, err := tb.Ints("label")
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		for i, id := range ids {
			if id < 0 || id >= int64(len(vocab.Names)) {
				return nil, &FormatError{Path: path, Line: i, Row: true, Msg: fmt.Sprintf("label %d is not a class id 0..%d (-1 marks the unlabelled test split)", id, len(vocab.Names)-1)}
			}
			exs[i].Label = vocab.Names[id]
		}
	}
	for i := range exs {
		exs[i].TextA = as[i]
		exs[i].Pair = s.pair
		if s.pair {
			exs[i].TextB = bs[i]
		}
	}
	return exs, nil
}
