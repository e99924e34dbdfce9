package stagerun

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/cofiharness/cofi/record"
	"github.com/cofiharness/cofi/runner/provenance"
	"github.com/cofiharness/cofi/runner/slurm"
	"github.com/cofiharness/cofi/runner/store"
)

// Slurm is run-stage's mode as a task of a Slurm job array (--slurm): the
// task numbers its attempt, records it itself, and requeues its job when
// the time limit is near. See package runner/slurm for the design.
type Slurm struct {
	Job    *record.Job   // the job, from the environment
	Client *slurm.Client // scontrol, to requeue
	// The task requeues itself after a timeout while "timeout" is in Retry
	// and the stage has failed fewer than MaxAttempts times in a row.
	Retry       []string
	MaxAttempts int
	// LockWait is how long to wait for the stage lock: a runner recording
	// an earlier attempt holds it for milliseconds, a duplicate job for long.
	LockWait time.Duration
	// Cause returns the signal that cancelled the context, if any: SIGUSR1
	// (the time limit is near), SIGTERM (scancel, preemption, the limit
	// itself) or SIGINT (the runner's Ctrl-C).
	Cause func() os.Signal
}

// Outcomes of a task that has nothing to do; the job ends successfully.
var (
	ErrBlocked   = errors.New("an upstream stage is not done")
	ErrDuplicate = errors.New("another process runs this stage")
)

// ExperimentDir is the experiment directory of a stage directory
// (<experiment>/stages/<name>).
func ExperimentDir(stageDir string) string { return filepath.Dir(filepath.Dir(stageDir)) }

func runSlurm(ctx context.Context, opt Options, m *store.Manifest, ms *store.ManifestStage) error {
	so := opt.Slurm
	spec := ms.Spec
	if opt.Threads > 0 {
		spec.Threads = opt.Threads
	}
	exp := store.Experiment{Dir: ExperimentDir(spec.Dir)}
	jobID := "(not in a Slurm job)"
	if so.Job != nil {
		jobID = so.Job.ID
	}
	for _, id := range ms.After {
		up, ok := m.Find(id)
		if !ok {
			continue // execute reports it
		}
		if _, err := record.ReadResult(up.Spec.Dir); err != nil {
			fmt.Fprintf(opt.Log, "=== slurm job %s, %s: upstream %s stage %s is not done; nothing to do (the stage is submitted again once it is)\n",
				jobID, time.Now().Format(time.RFC3339), up.Kind, id)
			return ErrBlocked
		}
	}
	if err := os.MkdirAll(spec.Dir, 0o755); err != nil {
		return err
	}
	lk, err := lockWithin(spec.Dir, so.LockWait)
	if err != nil {
		fmt.Fprintf(opt.Log, "=== slurm job %s, %s: %v; nothing to do\n", jobID, time.Now().Format(time.RFC3339), err)
		return ErrDuplicate
	}
	defer lk.Unlock()
	store.CleanTemp(spec.Dir)
	sf := &store.StageFile{Kind: ms.Kind, Spec: ms.Spec, Cells: ms.Cells, Upstream: ms.After}
	if _, err := os.Stat(filepath.Join(spec.Dir, store.SpecFile)); err != nil {
		if err := store.WriteStageFile(spec.Dir, sf); err != nil {
			return err
		}
	}
	// An earlier attempt that could not record itself (killed for memory,
	// node failure) is recorded first, from its log: its job is gone or is
	// this one, requeued.
	if _, err := slurm.Settle(exp, m.Experiment, spec.Dir, nil, nil); err != nil {
		return err
	}
	if _, err := record.ReadResult(spec.Dir); err == nil {
		fmt.Fprintf(opt.Log, "=== slurm job %s: stage %s is already done\n", jobID, spec.ID)
		return ErrAlreadyDone
	}
	ix, err := store.ReadIndex(exp.Records())
	if err != nil {
		return err
	}
	n := ix.MaxAttempt(spec.ID)
	for _, a := range store.ReadAttempts(spec.Dir) {
		n = max(n, a.Attempt)
	}
	n++
	wd, _ := os.Getwd()
	prov := provenance.Collect(wd)
	prov.Command, prov.Device, prov.Threads = opt.Command, spec.Device, spec.Threads
	if cvd, ok := os.LookupEnv("CUDA_VISIBLE_DEVICES"); ok && cvd != "" {
		prov.Device += " (CUDA_VISIBLE_DEVICES=" + cvd + ")"
	}
	if so.Job != nil {
		prov.Job, prov.SchedulerID = so.Job, so.Job.ID
	}
	marker := &store.Attempt{Attempt: n, Start: time.Now().UTC(), RunnerPID: os.Getpid(), Provenance: prov}
	if err := store.WriteAttempt(spec.Dir, marker); err != nil {
		return err
	}
	logPath := filepath.Join(spec.Dir, store.LogFile)
	node := ""
	if so.Job != nil {
		node = " on " + so.Job.Node
		if so.Job.GPUs != "" {
			node += " (GPUs " + so.Job.GPUs + ")"
		}
	}
	fmt.Fprintf(opt.Log, "%s %s, slurm job %s%s, %s: %s\n", slurm.AttemptHeader(n), time.Now().Format(time.RFC3339), jobID, node,
		prov.Device, strings.Join(opt.Command, " "))
	host, _ := os.Hostname()
	cvd, _ := os.LookupEnv("CUDA_VISIBLE_DEVICES")
	rt := &store.Runtime{Attempt: n, PID: os.Getpid(), Host: host, GoVersion: runtime.Version(), Torch: opt.Torch,
		Device: spec.Device, Threads: spec.Threads, CUDAVisibleDevices: cvd, Start: time.Now().UTC()}
	if err := store.WriteRuntime(spec.Dir, rt); err != nil {
		return err
	}
	fmt.Fprintf(opt.Log, "run-stage: %s %s (%s %s), attempt %d, pid %d, %d threads, device %s\n",
		ms.Kind, spec.ID, spec.Task, spec.Method, n, os.Getpid(), spec.Threads, spec.Device)

	res, runErr := execute(ctx, m, ms, spec)
	rec := exp.AttemptRecord(m.Experiment, sf, ms.Cells, marker, spec.Dir)
	if runErr == nil {
		if res.Kind == "" {
			res.Kind = ms.Kind
		}
		if res.Task == "" {
			res.Task = spec.Task
		}
		if err := record.WriteResult(spec.Dir, res); err != nil {
			runErr = err
		} else {
			store.FinishRecord(&rec, time.Now().UTC(), res, nil)
			if _, err := exp.AppendRecord(&rec); err != nil {
				// The next runner or attempt records it from result.json.
				fmt.Fprintf(opt.Log, "run-stage: done, but the record could not be written: %v\n", err)
			}
			fmt.Fprintf(opt.Log, "run-stage: done, wrote %s\n", filepath.Join(spec.Dir, record.ResultFile))
			return nil
		}
	}
	var cause os.Signal
	if so.Cause != nil {
		cause = so.Cause()
	}
	f := slurmFailure(ctx, runErr, cause, logPath, n)
	if werr := store.WriteFailure(spec.Dir, &store.Failure{Attempt: n, Failure: f}); werr != nil {
		return errors.Join(runErr, werr)
	}
	store.FinishRecord(&rec, time.Now().UTC(), nil, &f)
	if _, err := exp.AppendRecord(&rec); err != nil {
		return errors.Join(runErr, err)
	}
	fmt.Fprintf(opt.Log, "run-stage: attempt %d failed: %s: %s\n", n, f.Class, f.Message)
	if f.Class == record.FailTimeout && cause == TimeLimitSignal && cause != nil && so.Job != nil && so.Client != nil {
		ix, err := store.ReadIndex(exp.Records())
		switch {
		case err != nil:
			fmt.Fprintf(opt.Log, "run-stage: not requeued: %v\n", err)
		case !contains(so.Retry, record.FailTimeout):
			fmt.Fprintf(opt.Log, "run-stage: not requeued: timeout is not in executor.retry\n")
		case ix.FailedInARow(spec.ID) >= so.MaxAttempts:
			fmt.Fprintf(opt.Log, "run-stage: not requeued: the stage has failed %d times in a row (executor.max_attempts = %d)\n",
				ix.FailedInARow(spec.ID), so.MaxAttempts)
		default:
			// The job is killed as part of the requeue: everything is on
			// disk already.
			fmt.Fprintf(opt.Log, "run-stage: requeueing job %s; the next attempt resumes from the checkpoint\n", so.Job.ID)
			if err := so.Client.Requeue(so.Job.ID); err != nil {
				fmt.Fprintf(opt.Log, "run-stage: requeue failed (the runner submits the stage again): %v\n", err)
			}
		}
	}
	return &StageError{Class: f.Class, Err: runErr}
}

// slurmFailure classifies a failed attempt of a Slurm task.
func slurmFailure(ctx context.Context, err error, cause os.Signal, logPath string, n int) record.Failure {
	msg := err.Error()
	if i := strings.Index(msg, "\ngoroutine "); i > 0 {
		msg = msg[:i]
	}
	f := record.Failure{Class: Class(ctx, err), Message: msg, ExitCode: 1}
	if ctx.Err() == nil {
		return f
	}
	switch cause {
	case TimeLimitSignal:
		f.Class, f.Message = record.FailTimeout, "the Slurm time limit is near (--signal=B:USR1): checkpointed and stopped"
	case os.Interrupt:
		f.Class, f.Message = record.FailInterrupted, "stopped by the runner (Ctrl-C)"
	default:
		// slurmstepd says why in the job's output before it signals.
		time.Sleep(200 * time.Millisecond)
		b, _ := os.ReadFile(logPath)
		if v, ok := slurm.ScanLog(slurm.AttemptLog(string(b), n)); ok {
			f.Class, f.Message = v.Class, v.Message
		} else {
			f.Class, f.Message = record.FailSignal, "SIGTERM from outside the job (scancel, preemption?)"
		}
		f.Message += "; checkpointed and stopped"
	}
	if cause != nil {
		f.Signal = cause.String()
	}
	return f
}

// lockWithin takes the stage lock, waiting up to d.
func lockWithin(dir string, d time.Duration) (*store.Lock, error) {
	deadline := time.Now().Add(d)
	for {
		lk, err := store.TryLockStage(dir)
		if err == nil || time.Now().After(deadline) {
			return lk, err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
