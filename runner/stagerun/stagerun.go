// Package stagerun is the child side of stage execution, behind
// `cofi run-stage`: it loads one stage's Spec from a manifest, runs the Func
// registered for the stage's kind with a context that is cancelled on
// SIGINT/SIGTERM, and leaves either result.json (the stage is done) or
// failure.json (class and message) in the stage directory, both written
// atomically. It works under the local executor (which holds the stage lock
// and numbers the attempt), alone, and as a Slurm array task (slurm.go),
// which also records its attempt and requeues itself near its time limit.
package stagerun

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/cofiharness/cofi/record"
	"github.com/cofiharness/cofi/runner/provenance"
	"github.com/cofiharness/cofi/runner/store"
	"github.com/cofiharness/cofi/stage"
)

// Options of one run-stage invocation.
type Options struct {
	Manifest string
	Stage    string // stage id
	Attempt  int    // 0: standalone, take the next attempt number and write its marker
	LockHeld bool   // the parent holds the stage lock and passed it down
	Threads  int    // overrides Spec.Threads when > 0
	Torch    string // libtorch description for the runtime file
	Command  []string
	Log      io.Writer // messages (the stage log)
	Slurm    *Slurm    // set when run as a Slurm array task
}

// ErrAlreadyDone is returned in standalone mode when result.json exists.
var ErrAlreadyDone = errors.New("stage already done")

// Run runs the stage. A nil error means result.json was written. A failure
// of the stage itself has been written to failure.json when Run returns.
func Run(ctx context.Context, opt Options) error {
	if opt.Log == nil {
		opt.Log = os.Stderr
	}
	m, err := store.ReadManifest(opt.Manifest)
	if err != nil {
		return err
	}
	ms, ok := m.Find(opt.Stage)
	if !ok {
		return fmt.Errorf("stage %s is not in %s", opt.Stage, opt.Manifest)
	}
	if opt.Slurm != nil {
		return runSlurm(ctx, opt, m, ms)
	}
	spec := ms.Spec
	if opt.Threads > 0 {
		spec.Threads = opt.Threads
	}
	if err := os.MkdirAll(spec.Dir, 0o755); err != nil {
		return err
	}
	if !opt.LockHeld {
		lk, err := store.TryLockStage(spec.Dir)
		if err != nil {
			return err
		}
		defer lk.Unlock()
	}
	n := opt.Attempt
	if n == 0 {
		if n, err = standalone(opt, m, ms); err != nil {
			return err
		}
	}
	host, _ := os.Hostname()
	cvd, _ := os.LookupEnv("CUDA_VISIBLE_DEVICES")
	rt := &store.Runtime{Attempt: n, PID: os.Getpid(), Host: host, GoVersion: runtime.Version(), Torch: opt.Torch,
		Device: spec.Device, Threads: spec.Threads, CUDAVisibleDevices: cvd, Start: time.Now().UTC()}
	if err := store.WriteRuntime(spec.Dir, rt); err != nil {
		return err
	}
	fmt.Fprintf(opt.Log, "run-stage: %s %s (%s %s), attempt %d, pid %d, %d threads, device %s\n",
		ms.Kind, spec.ID, spec.Task, spec.Method, n, os.Getpid(), spec.Threads, spec.Device)

	res, err := execute(ctx, m, ms, spec)
	if err == nil {
		if res.Kind == "" {
			res.Kind = ms.Kind
		}
		if res.Task == "" {
			res.Task = spec.Task
		}
		if err := record.WriteResult(spec.Dir, res); err != nil {
			return fail(spec.Dir, n, record.FailExit, err)
		}
		fmt.Fprintf(opt.Log, "run-stage: done, wrote %s\n", filepath.Join(spec.Dir, record.ResultFile))
		return nil
	}
	return fail(spec.Dir, n, Class(ctx, err), err)
}

// standalone numbers the attempt when no runner did: one past every attempt
// on disk and in the records, and writes its marker.
func standalone(opt Options, m *store.Manifest, ms *store.ManifestStage) (int, error) {
	dir := ms.Spec.Dir
	if _, err := record.ReadResult(dir); err == nil {
		return 0, ErrAlreadyDone
	}
	n := 0
	for _, a := range store.ReadAttempts(dir) {
		n = max(n, a.Attempt)
	}
	if ix, err := store.ReadIndex(filepath.Join(filepath.Dir(opt.Manifest), store.RecordsFile)); err == nil {
		n = max(n, ix.MaxAttempt(ms.Spec.ID))
	}
	n++
	if _, err := os.Stat(filepath.Join(dir, store.SpecFile)); err != nil {
		if err := store.WriteStageFile(dir, &store.StageFile{Kind: ms.Kind, Spec: ms.Spec, Cells: ms.Cells, Upstream: ms.After}); err != nil {
			return 0, err
		}
	}
	wd, _ := os.Getwd()
	prov := provenance.Collect(wd)
	prov.Command, prov.Device, prov.Threads = opt.Command, ms.Spec.Device, ms.Spec.Threads
	if cvd, ok := os.LookupEnv("CUDA_VISIBLE_DEVICES"); ok {
		prov.Device += " (CUDA_VISIBLE_DEVICES=" + cvd + ")"
	}
	a := &store.Attempt{Attempt: n, Start: time.Now().UTC(), RunnerPID: os.Getpid(), Provenance: prov}
	return n, store.WriteAttempt(dir, a)
}

// execute checks the upstream stages and runs the stage's Func, turning a
// panic into an error.
func execute(ctx context.Context, m *store.Manifest, ms *store.ManifestStage, spec stage.Spec) (res *record.Result, err error) {
	for _, id := range ms.After {
		up, ok := m.Find(id)
		if !ok {
			return nil, fmt.Errorf("upstream stage %s is not in the manifest: %w", id, stage.ErrMissingInput)
		}
		if _, err := record.ReadResult(up.Spec.Dir); err != nil {
			return nil, fmt.Errorf("upstream %s stage %s has no usable result (%v): %w", up.Kind, id, err, stage.ErrMissingInput)
		}
	}
	f, err := stage.Lookup(spec.Kind)
	if err != nil {
		return nil, err
	}
	defer func() {
		if p := recover(); p != nil {
			res, err = nil, fmt.Errorf("panic: %v\n%s", p, debug.Stack())
		}
	}()
	res, err = f(ctx, spec)
	if err == nil && res == nil {
		err = errors.New("the stage returned neither a result nor an error")
	}
	return res, err
}

// Class maps a stage error to a failure class.
func Class(ctx context.Context, err error) string {
	switch {
	case ctx.Err() != nil:
		// Whatever the stage says, it stopped because it was asked to.
		return record.FailInterrupted
	case errors.Is(err, stage.ErrNaN):
		return record.FailNaN
	case errors.Is(err, stage.ErrMissingInput):
		return record.FailMissingInput
	case errors.Is(err, stage.ErrBadInput):
		return record.FailBadInput
	case errors.Is(err, stage.ErrOOM), strings.Contains(strings.ToLower(err.Error()), "out of memory"):
		// libtorch reports CUDA OOM as a message, which gotch turns into a panic.
		return record.FailOOM
	}
	return record.FailExit
}

// StageError is a failure of the stage itself, already in failure.json.
type StageError struct {
	Class string
	Err   error
}

func (e *StageError) Error() string { return e.Class + ": " + e.Err.Error() }
func (e *StageError) Unwrap() error { return e.Err }

func fail(dir string, n int, class string, err error) error {
	msg := err.Error()
	if i := strings.Index(msg, "\ngoroutine "); i > 0 {
		msg = msg[:i] // the stack trace goes to the log, not the record
	}
	f := &store.Failure{Attempt: n, Failure: record.Failure{Class: class, Message: msg, ExitCode: 1}}
	if werr := store.WriteFailure(dir, f); werr != nil {
		return errors.Join(err, werr)
	}
	return &StageError{Class: class, Err: err}
}
