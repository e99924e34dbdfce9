// Package exec runs stage attempts. Executor is what the runner schedules
// against; Local runs each attempt as a child process
// `cofi run-stage --manifest M --stage ID` on a pool of slots: one per GPU
// (CUDA_VISIBLE_DEVICES set), or CPU slots that split the cores
// (OMP_NUM_THREADS and Spec.Threads set). The Slurm executor does not fit a
// pool of slots (the cluster decides when a task starts, and a detached grid
// has no process to deliver outcomes to): it is runner.RunSlurm with package
// runner/slurm, over the same plan, stage directories and records.
package exec

import (
	"time"

	"github.com/cofiharness/cofi/runner/store"
)

// Job is one attempt of one stage.
type Job struct {
	StageID   string
	Name      string // stage directory name, for messages
	Dir       string // stage directory
	Manifest  string // manifest holding the stage's Spec
	Attempt   int
	Exclusive bool        // must run alone (the runner guarantees nothing else runs)
	Lock      *store.Lock // the stage lock, held by the runner and handed to the child
	Log       string      // log file, appended
}

// Launch is where and how an attempt is about to run.
type Launch struct {
	Command     []string
	Device      string // human-readable, e.g. "cuda (CUDA_VISIBLE_DEVICES=1)" or "cpu"
	Threads     int
	SchedulerID string
}

// Outcome is how an attempt ended, as far as the executor can tell; the
// stage's own failure.json, if any, is read by the runner.
type Outcome struct {
	Job         Job
	Launch      Launch
	Start, End  time.Time
	ExitCode    int    // -1 when killed by a signal
	Signal      string // signal name when killed by one
	TimedOut    bool   // stopped by the executor's time limit
	Interrupted bool   // stopped by Interrupt or Kill
	OOMKilled   bool   // died of SIGKILL while the kernel's OOM killer fired in our cgroup
	Err         error  // the attempt could not be started
}

// Executor runs attempts.
type Executor interface {
	// Capacity is how many attempts may run at once.
	Capacity() int
	// Start launches job on a free slot (the caller never starts more than
	// Capacity at once). prepare is called with the launch before the
	// process starts; the runner writes the attempt marker there, and an
	// error from it aborts the start. Start returns once the attempt runs.
	Start(job Job, prepare func(Launch) error) error
	// Done delivers one Outcome for every attempt Start launched.
	Done() <-chan Outcome
	// Interrupt asks every running attempt to stop (SIGINT): stages
	// checkpoint and exit.
	Interrupt()
	// Kill stops every running attempt at once (SIGKILL).
	Kill()
}
