// Package progress shows how a run is going: on a terminal, one status line
// (stages and cells done / total, running, failed, ETA) redrawn in place with
// event lines scrolling above it; otherwise, plain timestamped log lines.
package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"
)

// Snapshot is the state shown on the status line.
type Snapshot struct {
	StagesDone, StagesTotal int
	CellsDone, CellsTotal   int
	Running, Failed         int
	Blocked                 int
	Queued                  int           // waiting in a cluster queue
	ETA                     time.Duration // < 0: unknown
}

func (s Snapshot) String() string {
	parts := []string{
		fmt.Sprintf("%d/%d stages", s.StagesDone, s.StagesTotal),
		fmt.Sprintf("%d/%d cells", s.CellsDone, s.CellsTotal),
	}
	if s.Running > 0 {
		parts = append(parts, fmt.Sprintf("%d running", s.Running))
	}
	if s.Queued > 0 {
		parts = append(parts, fmt.Sprintf("%d queued", s.Queued))
	}
	if s.Failed > 0 {
		parts = append(parts, fmt.Sprintf("%d failed", s.Failed))
	}
	if s.Blocked > 0 {
		parts = append(parts, fmt.Sprintf("%d blocked", s.Blocked))
	}
	if s.ETA >= 0 && s.StagesDone < s.StagesTotal {
		parts = append(parts, "ETA "+FormatDuration(s.ETA))
	}
	return strings.Join(parts, ", ")
}

// FormatDuration prints a duration for humans: 0.4s, 45s, 12m30s, 3h05m, 2d04h.
func FormatDuration(d time.Duration) string {
	if d < 10*time.Second {
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
	d = d.Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd%02dh", int(d.Hours())/24, int(d.Hours())%24)
}

// IsTerminal reports whether f is a terminal.
func IsTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

// Reporter prints progress. Its methods may be called from any goroutine.
type Reporter struct {
	w      io.Writer
	tty    bool
	mu     sync.Mutex
	snap   Snapshot
	at     time.Time // when snap was set, to count the ETA down
	shown  bool
	stop   chan struct{}
	closed bool
}

// New returns a reporter writing to w; tty selects the status-line mode.
func New(w io.Writer, tty bool) *Reporter { return newReporter(w, tty, time.Second) }

// newReporter redraws the status line every interval on a terminal.
func newReporter(w io.Writer, tty bool, interval time.Duration) *Reporter {
	r := &Reporter{w: w, tty: tty, snap: Snapshot{ETA: -1}, stop: make(chan struct{})}
	if tty {
		go r.tick(interval)
	}
	return r
}

func (r *Reporter) tick(interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
			r.mu.Lock()
			if r.shown {
				r.drawLocked()
			}
			r.mu.Unlock()
		}
	}
}

// Update sets the status line.
func (r *Reporter) Update(s Snapshot) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.snap, r.at = s, time.Now()
	if r.tty && !r.closed {
		r.shown = true
		r.drawLocked()
	}
}

func (r *Reporter) drawLocked() {
	s := r.snap
	if s.ETA > 0 {
		s.ETA = max(s.ETA-time.Since(r.at), 0)
	}
	fmt.Fprintf(r.w, "\r\033[K%s", s)
}

// Printf prints an event line.
func (r *Reporter) Printf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	line := strings.TrimRight(fmt.Sprintf(format, args...), "\n")
	if r.tty {
		fmt.Fprintf(r.w, "\r\033[K%s\n", line)
		if r.shown && !r.closed {
			r.drawLocked()
		}
		return
	}
	fmt.Fprintf(r.w, "%s %s\n", time.Now().Format("15:04:05"), line)
}

// Snapshot returns the last status.
func (r *Reporter) Snapshot() Snapshot {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.snap
}

// Close stops redrawing and ends the status line.
func (r *Reporter) Close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	r.closed = true
	close(r.stop)
	if r.tty && r.shown {
		r.drawLocked()
		fmt.Fprintln(r.w)
	}
}
