// Package train holds what every training stage shares: loading a task's
// data into encoded datasets, turning batches into tensors, task losses,
// evaluation, checkpoints a killed run resumes from, and progress with ETA.
// The stages themselves (teacher fine-tuning here; CoFi pruning in package
// cofi) are loops built from these pieces.
package train

import (
	"fmt"
	"io"
	"time"
)

// Progress prints one line per interval: step, percent, throughput, ETA and
// whatever the caller adds (loss, lr, sparsity).
type Progress struct {
	W        io.Writer
	Total    int           // steps planned
	Every    time.Duration // minimum time between lines
	Label    string        // e.g. "finetune rte"
	start    time.Time
	startAt  int // step when timing started (after a resume)
	lastLine time.Time
	now      func() time.Time
}

// NewProgress starts timing at step (non-zero after a resume).
func NewProgress(w io.Writer, label string, total, step int) *Progress {
	p := &Progress{W: w, Total: total, Every: 10 * time.Second, Label: label, now: time.Now}
	p.start = p.now()
	p.startAt = step
	return p
}

// Step reports step (1-based count of steps done). It prints when the
// interval has passed or force is set.
func (p *Progress) Step(step int, force bool, extra string) {
	t := p.now()
	if !force && t.Sub(p.lastLine) < p.Every {
		return
	}
	p.lastLine = t
	fmt.Fprintln(p.W, p.Line(step, t, extra))
}

// Line formats a progress line at time t.
func (p *Progress) Line(step int, t time.Time, extra string) string {
	done := step - p.startAt
	el := t.Sub(p.start)
	rate := 0.0
	if el > 0 {
		rate = float64(done) / el.Seconds()
	}
	eta := "?"
	if rate > 0 && p.Total > 0 {
		eta = FormatDuration(time.Duration(float64(p.Total-step) / rate * float64(time.Second)))
	}
	pct := 0.0
	if p.Total > 0 {
		pct = 100 * float64(step) / float64(p.Total)
	}
	s := fmt.Sprintf("%s: step %d/%d (%.1f%%) %.2f steps/s ETA %s", p.Label, step, p.Total, pct, rate, eta)
	if extra != "" {
		s += " | " + extra
	}
	return s
}

// FormatDuration prints 1h02m, 4m05s or 12s.
func FormatDuration(d time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case d >= time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	case d >= time.Minute:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%ds", int(d.Seconds()))
}
