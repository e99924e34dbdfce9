package progress

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestFormatDuration(t *testing.T) {
	cases := map[time.Duration]string{
		400 * time.Millisecond: "0.4s", 9 * time.Second: "9.0s", 45 * time.Second: "45s",
		12*time.Minute + 30*time.Second: "12m30s", 3*time.Hour + 5*time.Minute: "3h05m", 52 * time.Hour: "2d04h",
	}
	for d, want := range cases {
		if got := FormatDuration(d); got != want {
			t.Errorf("%v: %q, want %q", d, got, want)
		}
	}
}

func TestSnapshotString(t *testing.T) {
	cases := []struct {
		s    Snapshot
		want string
	}{
		{Snapshot{StagesDone: 3, StagesTotal: 10, CellsDone: 1, CellsTotal: 4, ETA: -1}, "3/10 stages, 1/4 cells"},
		{Snapshot{StagesDone: 3, StagesTotal: 10, CellsTotal: 4, Running: 2, Failed: 1, Blocked: 2, ETA: 90 * time.Second},
			"3/10 stages, 0/4 cells, 2 running, 1 failed, 2 blocked, ETA 1m30s"},
		{Snapshot{StagesDone: 10, StagesTotal: 10, CellsDone: 4, CellsTotal: 4, ETA: 0}, "10/10 stages, 4/4 cells"},
	}
	for _, c := range cases {
		if got := c.s.String(); got != c.want {
			t.Errorf("%q, want %q", got, c.want)
		}
	}
}

func TestPlainAndTerminalModes(t *testing.T) {
	var plain bytes.Buffer
	r := New(&plain, false)
	r.Update(Snapshot{StagesTotal: 2, ETA: -1})
	r.Printf("start x")
	r.Close()
	if got := plain.String(); !strings.HasSuffix(got, " start x\n") || strings.Contains(got, "\r") || strings.Count(got, "\n") != 1 {
		t.Errorf("plain output %q", got)
	}
	var tty bytes.Buffer
	r = newReporter(&tty, true, time.Hour) // no redraw by the clock during the test
	r.Update(Snapshot{StagesDone: 1, StagesTotal: 2, CellsTotal: 1, ETA: -1})
	r.Printf("done x")
	r.Close()
	want := "\r\033[K1/2 stages, 0/1 cells" + "\r\033[Kdone x\n" + "\r\033[K1/2 stages, 0/1 cells" + "\r\033[K1/2 stages, 0/1 cells\n"
	if got := tty.String(); got != want {
		t.Errorf("terminal output %q\nwant %q", got, want)
	}
}
