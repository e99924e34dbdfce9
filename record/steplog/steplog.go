// Package steplog is the training-curve file every training stage writes in
// its stage directory (metrics.jsonl): one JSON line per logged step with the
// loss terms (their means since the previous line), the learning rate and,
// while pruning, the expected and target sparsity and λ1, λ2; one line per
// evaluation with its dev metrics. It is what to read first when "sparsity
// never reaches the target".
//
// The file holds no wall-clock values, so it is a function of the stage's
// inputs: a stage resumed from a snapshot ends with the same bytes as one
// that ran straight through. Open truncates the file to the snapshot's step
// and the running means are part of the snapshot (Writer.State). Lines are
// buffered in memory and reach the disk at Flush, which the training loops
// call when they write a snapshot (before it, so a snapshot never refers to
// lines that are not on disk), and at Close.
package steplog

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
)

// File is the name of the curve file in a stage directory.
const File = "metrics.jsonl"

// MaxLines bounds the step lines of a stage: a long run logs every Every(total)
// steps (means over the interval), a short one every step.
const MaxLines = 5000

// Every is the logging interval of a stage of total steps.
func Every(total int) int {
	return max(1, int(math.Ceil(float64(total)/MaxLines)))
}

// Line is one line of the file: a step line (Loss set) or an evaluation
// line (Eval set).
type Line struct {
	Step  int    `json:"step"`
	Phase string `json:"phase,omitempty"` // pruning stage: "distill" before pruning starts, then "prune"
	// Loss terms, means over the steps since the previous step line: "loss"
	// (what is minimised), and where the stage has them "pred", "layer"
	// (distillation terms, weighted) and "lagrangian".
	Loss             map[string]float64 `json:"loss,omitempty"`
	LR               *float64           `json:"lr,omitempty"` // learning rate of the step's update
	ExpectedSparsity *float64           `json:"expected_sparsity,omitempty"`
	TargetSparsity   *float64           `json:"target_sparsity,omitempty"`
	Lambda1          *float64           `json:"lambda1,omitempty"`
	Lambda2          *float64           `json:"lambda2,omitempty"`
	// Eval holds an evaluation's dev metrics ("<evalset>/<metric>", percent);
	// CompactSparsity is the sparsity the masks of a pruning evaluation give.
	Eval            map[string]float64 `json:"eval,omitempty"`
	CompactSparsity *float64           `json:"compact_sparsity,omitempty"`
}

// F returns a pointer to v, for the optional fields.
func F(v float64) *float64 { return &v }

// Acc is the running sum of the loss terms since the last step line; it is
// saved in snapshots so that a resumed stage logs the same means.
type Acc struct {
	Sums map[string]float64 `json:"sums,omitempty"`
	N    int                `json:"n,omitempty"`
}

// Writer appends lines to a stage's curve file.
type Writer struct {
	f     *os.File
	w     *bufio.Writer
	acc   Acc
	path  string
	every int
}

// Open opens dir/metrics.jsonl for a stage logging every `every` steps.
// resumeStep < 0 starts afresh (the file is emptied); otherwise the stage
// continues from a snapshot taken after step resumeStep with the running
// means acc, and lines after that step (written by the run that was
// stopped) are cut off.
func Open(dir string, resumeStep int, acc Acc, every int) (*Writer, error) {
	path := filepath.Join(dir, File)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("curve %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("curve %s: %w", path, err)
	}
	keep := int64(0)
	if resumeStep >= 0 {
		keep, err = prefix(f, resumeStep)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("curve %s: %w", path, err)
		}
	} else {
		acc = Acc{}
	}
	if err := f.Truncate(keep); err != nil {
		f.Close()
		return nil, fmt.Errorf("curve %s: %w", path, err)
	}
	if _, err := f.Seek(keep, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	if acc.Sums == nil {
		acc.Sums = map[string]float64{}
	}
	return &Writer{f: f, w: bufio.NewWriterSize(f, 64<<10), acc: acc, path: path, every: max(1, every)}, nil
}

// prefix returns the length of the leading complete lines of f whose step is
// at most step.
func prefix(f *os.File, step int) (int64, error) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return 0, err
	}
	r := bufio.NewReader(f)
	var off int64
	for {
		line, err := r.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			return off, nil // an incomplete last line is dropped
		}
		if err != nil {
			return 0, err
		}
		var l struct {
			Step *int `json:"step"`
		}
		if json.Unmarshal(line, &l) != nil || l.Step == nil || *l.Step > step {
			return off, nil
		}
		off += int64(len(line))
	}
}

// Add accumulates one step's loss terms.
func (w *Writer) Add(terms map[string]float64) {
	for k, v := range terms {
		w.acc.Sums[k] += v
	}
	w.acc.N++
}

// Due reports whether step (1-based, done) gets a step line.
func (w *Writer) Due(step, total int) bool { return step%w.every == 0 || step == total }

// Step writes the step line l (its Loss: the means since the last one).
func (w *Writer) Step(l Line) error {
	if w.acc.N > 0 {
		l.Loss = make(map[string]float64, len(w.acc.Sums))
		for k, s := range w.acc.Sums {
			l.Loss[k] = s / float64(w.acc.N)
		}
	}
	w.acc = Acc{Sums: map[string]float64{}}
	return w.write(l)
}

// Eval writes an evaluation line.
func (w *Writer) Eval(l Line) error { return w.write(l) }

func (w *Writer) write(l Line) error {
	b, err := json.Marshal(l)
	if err != nil {
		return err
	}
	if _, err := w.w.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("curve %s: %w", w.path, err)
	}
	return nil
}

// State is the running means to save in a snapshot.
func (w *Writer) State() Acc {
	out := Acc{Sums: make(map[string]float64, len(w.acc.Sums)), N: w.acc.N}
	for k, v := range w.acc.Sums {
		out.Sums[k] = v
	}
	return out
}

// Flush writes the buffered lines and syncs the file.
func (w *Writer) Flush() error {
	if err := w.w.Flush(); err != nil {
		return fmt.Errorf("curve %s: %w", w.path, err)
	}
	return w.f.Sync()
}

// Close flushes and closes the file.
func (w *Writer) Close() error {
	err := w.Flush()
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// Curve is a whole file read back: step lines and evaluation lines.
type Curve struct {
	Steps []Line
	Evals []Line
}

// Read reads a curve file; a truncated last line (a stage killed while
// writing) is ignored, any other bad line is an error naming it.
func Read(path string) (*Curve, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c := &Curve{}
	lines := bytes.Split(b, []byte("\n"))
	for i, raw := range lines {
		if len(bytes.TrimSpace(raw)) == 0 {
			continue
		}
		var l Line
		if err := json.Unmarshal(raw, &l); err != nil {
			if i == len(lines)-1 {
				break // incomplete last line
			}
			return nil, fmt.Errorf("%s:%d: %w", path, i+1, err)
		}
		if l.Eval != nil {
			c.Evals = append(c.Evals, l)
		} else {
			c.Steps = append(c.Steps, l)
		}
	}
	return c, nil
}

// Terms lists the loss terms of the curve, "loss" first.
func (c *Curve) Terms() []string {
	seen := map[string]bool{}
	for _, l := range c.Steps {
		for k := range l.Loss {
			seen[k] = true
		}
	}
	var out []string
	for k := range seen {
		if k != "loss" {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	if seen["loss"] {
		out = append([]string{"loss"}, out...)
	}
	return out
}
