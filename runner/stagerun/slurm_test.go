package stagerun

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/cofiharness/cofi/record"
	"github.com/cofiharness/cofi/runner/store"
	"github.com/cofiharness/cofi/stage/fake"
)

// The Slurm task mode without a cluster: what it does before and after the
// stage runs. (With a real Slurm: cmd/cofi's TestSlurm.)
func TestSlurmTask(t *testing.T) {
	p, m := manifest(t, "")
	teacher, prune := m.Stages[0].Spec.Dir, m.Stages[1].Spec.Dir
	exp := store.Experiment{Dir: ExperimentDir(teacher)}
	n := 3
	job := &record.Job{Scheduler: "slurm", ID: "12_3", JobID: "15", ArrayJob: "12", ArrayTask: &n, Node: "n7"}
	var log bytes.Buffer
	opt := func(id string) Options {
		return Options{Manifest: p, Stage: id, Log: &log, Command: []string{"cofi", "run-stage"},
			Slurm: &Slurm{Job: job, Retry: []string{"signal", "timeout"}, MaxAttempts: 2, LockWait: 200 * time.Millisecond}}
	}
	ctx := context.Background()
	// Upstream not done: nothing happens, nothing is recorded.
	if err := Run(ctx, opt("p1")); !errors.Is(err, ErrBlocked) {
		t.Fatalf("prune before its teacher: %v", err)
	}
	if len(store.ReadAttempts(prune)) != 0 {
		t.Error("a blocked task started an attempt")
	}
	// Another process holds the stage: nothing happens.
	os.MkdirAll(teacher, 0o755)
	lk, err := store.TryLockStage(teacher)
	if err != nil {
		t.Fatal(err)
	}
	if err := Run(ctx, opt("t1")); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("with the stage locked: %v", err)
	}
	lk.Unlock()
	// An earlier attempt that died without a record (killed for its memory)
	// is recorded from its log before the next one starts.
	if err := store.WriteStageFile(teacher, &store.StageFile{Kind: "teacher", Spec: m.Stages[0].Spec, Cells: []string{"c"}}); err != nil {
		t.Fatal(err)
	}
	store.WriteAttempt(teacher, &store.Attempt{Attempt: 1, Start: time.Now().UTC()})
	os.WriteFile(filepath.Join(teacher, store.LogFile), []byte("=== attempt 1, x\nslurmstepd-n7: error: Exceeded job memory limit\n"), 0o644)
	if err := Run(ctx, opt("t1")); err != nil {
		t.Fatal(err)
	}
	ix, _ := store.ReadIndex(exp.Records())
	rs := ix.Stage("t1")
	if len(rs) != 2 || rs[0].Failure == nil || rs[0].Failure.Class != record.FailOOM || rs[1].Status != record.StatusOK {
		t.Fatalf("records %+v", rs)
	}
	if j := rs[1].Provenance.Job; j == nil || j.ID != "12_3" || rs[1].Provenance.SchedulerID != "12_3" {
		t.Errorf("job provenance %+v", rs[1].Provenance)
	}
	if err := Run(ctx, opt("t1")); !errors.Is(err, ErrAlreadyDone) {
		t.Errorf("done stage: %v", err)
	}
	// A stage stopped by the time-limit signal records a timeout.
	m.Stages[1].Spec.Params[fake.ParamSteps], m.Stages[1].Spec.Params[fake.ParamStepMS] = 1000, 10
	if err := store.WriteManifest(p, m); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	o := opt("p1")
	o.Slurm.Cause = func() os.Signal { return TimeLimitSignal }
	var se *StageError
	if err := Run(cctx, o); !errors.As(err, &se) || se.Class != record.FailTimeout {
		t.Fatalf("stopped by SIGUSR1: %v", err)
	}
	o.Slurm.Cause = func() os.Signal { return syscall.SIGTERM }
	os.WriteFile(filepath.Join(prune, store.LogFile), []byte("=== attempt 2, x\nslurmstepd: error: *** JOB 15 ON n7 CANCELLED AT 2026-12-02T14:28:12 ***\n"), 0o644)
	if err := Run(cctx, o); !errors.As(err, &se) || se.Class != record.FailSignal {
		t.Fatalf("stopped by scancel: %v", err)
	}
	ix, _ = store.ReadIndex(exp.Records())
	if rs := ix.Stage("p1"); len(rs) != 2 || rs[0].Failure.Class != record.FailTimeout || rs[1].Failure.Class != record.FailSignal {
		t.Errorf("prune records %+v", rs)
	}
}
