//go:build torch

package main

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cofiharness/cofi/record"
)

// shortDemo is configs/demo.toml with few steps per stage and frequent
// snapshots: the same grid (teacher, CoFi at three sparsities, two
// ablations, a second task) in a minute or two.
const shortDemo = `
[profiles.demo.teacher]
max_steps = 80
eval_every = 20
[profiles.demo.prune]
max_steps = 160
eval_every = 20
[profiles.demo.final]
max_steps = 40
eval_every = 10
`

// TestDemoGridKilledThreeTimes runs the demo grid straight through, and
// again with the runner SIGKILLed three times at random moments (its stages
// die with it) before it is let finish; Table 2 of both must be the same
// bytes, and some stage must have resumed from a snapshot on the way.
func TestDemoGridKilledThreeTimes(t *testing.T) {
	dir := t.TempDir()
	demo, err := os.ReadFile("../../configs/demo.toml")
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "demo.toml")
	if err := os.WriteFile(cfg, append(demo, shortDemo...), 0o644); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	if out, code := cofiOut(t, dir, "synth", "--out", data); code != 0 {
		t.Fatalf("synth: %s", out)
	}
	t.Setenv("SYNTH_DIR", data)
	run := func(results string) string {
		t.Setenv("COFI_RESULTS", results)
		out, code := cofiOut(t, dir, "run", cfg, "--progress", "plain")
		if code != 0 {
			t.Fatalf("run into %s: exit %d\n%s", results, code, out)
		}
		exp := filepath.Join(results, "demo")
		if out, code := cofiOut(t, dir, "report", "--experiment", exp, "--formats", "md", "--figures", "none", "--tables", "table2"); code != 0 {
			t.Fatalf("report %s: %s", exp, out)
		}
		b, err := os.ReadFile(filepath.Join(exp, "report", "table2.md"))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	clean := run(filepath.Join(dir, "clean"))

	killed := filepath.Join(dir, "killed")
	t.Setenv("COFI_RESULTS", killed)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	// snapshots counts the snapshot states written so far: each kill comes at
	// a random moment after the run has written a new one, so that it lands
	// mid-training however slow the machine (a fixed delay, under load, could
	// fall before any stage's first snapshot and test nothing).
	snapshots := func() int {
		n := 0
		filepath.WalkDir(killed, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.Name() == "state.json" {
				n++
			}
			return nil
		})
		return n
	}
	for i := 0; i < 3; i++ {
		before := snapshots()
		cmd := cofiCmd(t, dir, "run", cfg, "--progress", "plain")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		start := time.Now()
	wait:
		for deadline := start.Add(5 * time.Minute); snapshots() == before && time.Now().Before(deadline); {
			select {
			case <-done:
				break wait
			case <-time.After(20 * time.Millisecond):
			}
		}
		select {
		case <-done:
		case <-time.After(time.Duration(rng.IntN(3000)) * time.Millisecond):
		}
		cmd.Process.Signal(syscall.SIGKILL)
		<-done
		t.Logf("kill %d after %v", i+1, time.Since(start).Round(time.Millisecond))
	}
	got := run(killed)
	if got != clean {
		t.Errorf("Table 2 after three kills differs from the clean run's:\n--- clean\n%s\n--- killed\n%s", clean, got)
	}
	recs, _, err := record.ReadFile(filepath.Join(killed, "demo", "records.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	resumed, interrupted := 0, 0
	for _, r := range recs {
		if r.Status == record.StatusOK && r.Result.Train != nil && r.Result.Train.Resumes > 0 {
			resumed++
		}
		if r.Failure != nil && r.Failure.Class == record.FailInterrupted {
			interrupted++
		}
	}
	if interrupted == 0 || resumed == 0 {
		t.Errorf("the kills interrupted %d attempts and %d stages resumed from a snapshot: the test tested nothing", interrupted, resumed)
	}
	if !strings.Contains(clean, "CoFi — ours") {
		t.Errorf("Table 2 has no CoFi row:\n%s", clean)
	}
}
