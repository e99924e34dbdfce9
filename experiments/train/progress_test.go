package train

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestProgressLine(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := &Progress{Total: 1000, Label: "finetune rte", start: t0, startAt: 100}
	// 200 steps done since the resume at step 100, in 100 s: 2 steps/s; 700 to go → 350 s.
	got := p.Line(300, t0.Add(100*time.Second), "loss 0.512")
	want := "finetune rte: step 300/1000 (30.0%) 2.00 steps/s ETA 5m50s | loss 0.512"
	if got != want {
		t.Fatalf("Line = %q\nwant   %q", got, want)
	}
}

func TestProgressThrottles(t *testing.T) {
	var buf bytes.Buffer
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := NewProgress(&buf, "x", 10, 0)
	p.now = func() time.Time { return now }
	p.start = now
	p.Step(1, false, "")
	now = now.Add(time.Second)
	p.Step(2, false, "") // within 10 s: silent
	p.Step(3, true, "")  // forced
	if n := strings.Count(buf.String(), "\n"); n != 2 {
		t.Fatalf("%d lines, want 2:\n%s", n, buf.String())
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{12 * time.Second: "12s", 245 * time.Second: "4m05s", 3720 * time.Second: "1h02m"} {
		if got := FormatDuration(d); got != want {
			t.Errorf("FormatDuration(%v) = %q, want %q", d, got, want)
		}
	}
}
