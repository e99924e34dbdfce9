// Package slurm is the Slurm side of the cluster executor: it writes the
// batch scripts of job arrays, calls sbatch, squeue, sacct, scancel and
// scontrol, reads the environment of a task, and turns what Slurm and a job's
// own files say about an ended job into a failure class. The orchestration
// (what to submit, waiting, reconciling records) is runner.RunSlurm; the task
// side is `cofi run-stage --slurm` (package stagerun). What was decided, and
// why:
//
// Submission: the whole selection at once, one job array per dependency wave
// (and stage kind), each array depending with afterany on the arrays that
// hold its stages' upstream stages. Submitting everything is what makes
// --detach possible: nothing has to stay alive on the login node, and the
// scheduler sees the whole queue (priority ageing, backfill). Waves rather
// than one job per stage because arrays are what sites want (one scheduler
// entry per wave, MaxSubmitJobs counts arrays as one) and a task of an array
// cannot have a dependency of its own; the price is that a wave waits for the
// whole previous wave. afterany, not afterok: with afterok one failed stage
// would leave every later wave pending forever (DependencyNeverSatisfied),
// including the stages that do not depend on it. Each task checks its own
// upstream instead: when an upstream stage is not done, it exits at once
// without starting an attempt (nothing is recorded) and the stage is
// submitted again by the next `cofi run` (attached: by the same one) once
// its upstream is done, or is reported blocked if the upstream failed.
//
// Task to stage: every submission is a directory <experiment>/slurm/<id>/
// holding a copy of the manifest, and per array a script <array>.sh (a case
// on SLURM_ARRAY_TASK_ID mapping index to stage id, then exec `cofi run-stage
// --slurm`), the stage list <array>.json and links <array>/<index> to the
// stage directories, so that --output=<array>/%a/log.txt is the stage's own
// log. All of it is written before sbatch runs; squeue reports the script of
// each task (%o), so a task maps back to its stage even when the submitting
// process was killed before it could write the job id down. A new `cofi run`
// lists the experiment's jobs (job name cofi-<experiment>, our user, scripts
// under <experiment>/slurm/) and never submits a stage that has a pending or
// running task. The sbatch processes inherit the experiment lock, so a
// runner killed mid-submission keeps the next one out until its last sbatch
// has returned.
//
// Records: each task appends the record of its own attempt (store.
// AppendRecord: under a lock, only if absent, one write, fsync), so a
// detached grid leaves complete records with no runner alive. What a task
// cannot record (it was SIGKILLed: memory limit, node failure, scancel
// --signal=KILL) the runner records when it sees the job ended, or the next
// attempt of the stage does before it starts, whichever comes first: both
// hold the stage lock and append only if absent, so it is recorded once.
//
// Job state: accounting storage is often disabled on small clusters (it is
// in the one-node cluster of our tests), so `sacct` may know nothing. The
// state of a job comes from, in order: squeue (pending and running jobs, and
// ended ones for MinJobAge, 300 s by default; `squeue -t all`), sacct when
// accounting works, `sacct -c` when JobCompType=jobcomp/filetxt is readable
// from this machine, and last the job's own log: slurmstepd writes
// "*** JOB n ON node CANCELLED AT t DUE TO TIME LIMIT ***" (or PREEMPTION,
// NODE FAILURE, nothing for scancel) and "Exceeded job memory limit" into
// the job's output, which is the stage's log.txt. Only the part of the log
// after the attempt's "=== attempt n" header counts.
//
// Memory: without cgroups (task/none), --mem is enforced only by
// jobacct_gather/linux with JobAcctGatherParams=OverMemoryKill; measured on
// Slurm 22.05 a job over its --mem is then killed with state FAILED (not
// OUT_OF_MEMORY) and "Exceeded job memory limit" in its output, which is why
// the log is read before the state: either says oom. With
// jobacct_gather/none nothing is enforced and the job simply uses more.
//
// Time limits and preemption: jobs are submitted with --requeue and
// --signal=B:USR1@<signal_lead>. On SIGUSR1 the stage checkpoints, its
// attempt is recorded with class timeout, and the task requeues itself
// (scontrol requeue) while the stage has failed fewer than max_attempts times
// in a row; the requeued task keeps its job id (so later waves keep waiting
// for it) and its next attempt resumes from the checkpoint. This works
// detached. Slurm holds a requeued job for about two minutes (BeginTime);
// an attached runner releases its own requeued tasks (scontrol update
// StartTime=now) two seconds after it first sees them held, not at once:
// slurmd refuses a job's credential created in the second it revoked the
// job's previous one. SIGTERM (scancel, preemption, the hard limit when
// the signal came too late) also checkpoints; the class comes from the log
// (timeout for the time limit, signal otherwise) and the stage is submitted
// again under the retry policy (executor.retry, by default signal and
// timeout on Slurm). Slurm itself requeues jobs after a node failure or a
// preemption with PreemptMode=REQUEUE. Slurm's event loop is coarse: the
// signal may come up to a minute early, and --time is rounded up to minutes.
//
// Ctrl-C in an attached run: pending tasks are cancelled, running ones get
// SIGINT (scancel --signal=INT --full: the stage checkpoints, class
// interrupted) and are cancelled if still running after kill_grace; a second
// Ctrl-C cancels everything at once.
package slurm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"strings"
	"time"
)

// Commands are the Slurm programs, as paths or names in PATH.
type Commands struct {
	Sbatch, Squeue, Sacct, Scancel, Scontrol string
}

// DefaultCommands are the plain names.
var DefaultCommands = Commands{Sbatch: "sbatch", Squeue: "squeue", Sacct: "sacct", Scancel: "scancel", Scontrol: "scontrol"}

// Client runs Slurm commands.
type Client struct {
	Cmd Commands
	// Hold is handed to sbatch as an extra descriptor: a lock that stays
	// held while an sbatch of a killed runner is still running.
	Hold *os.File
	// Timeout bounds one command (default 2 minutes: slurmctld may be slow
	// or restarting, and clients retry for a while).
	Timeout time.Duration
	// Env is added to the commands' environment (e.g. SLURM_CONF=...).
	Env []string
}

// NewClient makes a client for cmd, with DefaultCommands for empty fields.
func NewClient(cmd Commands) *Client {
	d := DefaultCommands
	for _, f := range []struct{ dst, def *string }{{&cmd.Sbatch, &d.Sbatch}, {&cmd.Squeue, &d.Squeue},
		{&cmd.Sacct, &d.Sacct}, {&cmd.Scancel, &d.Scancel}, {&cmd.Scontrol, &d.Scontrol}} {
		if *f.dst == "" {
			*f.dst = *f.def
		}
	}
	return &Client{Cmd: cmd}
}

// CommandError is a Slurm command that failed, with what it printed.
type CommandError struct {
	Command []string
	Output  string
	Err     error
}

func (e *CommandError) Error() string {
	out := strings.TrimSpace(e.Output)
	if out == "" {
		return fmt.Sprintf("%s: %v", strings.Join(e.Command, " "), e.Err)
	}
	return fmt.Sprintf("%s: %v: %s", strings.Join(e.Command, " "), e.Err, out)
}

func (e *CommandError) Unwrap() error { return e.Err }

// ErrNotInstalled says a Slurm command is not found.
var ErrNotInstalled = errors.New("not found (is Slurm installed here? set its path in [executor.slurm])")

func (c *Client) run(name string, args []string, hold bool) (stdout, stderr string, err error) {
	path, lerr := exec.LookPath(name)
	if lerr != nil {
		return "", "", &CommandError{Command: append([]string{name}, args...), Err: ErrNotInstalled}
	}
	to := c.Timeout
	if to == 0 {
		to = 2 * time.Minute
	}
	ctx, cancel := context.WithTimeout(context.Background(), to)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	if len(c.Env) > 0 {
		cmd.Env = append(os.Environ(), c.Env...)
	}
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	if hold && c.Hold != nil {
		cmd.ExtraFiles = []*os.File{c.Hold}
	}
	if err := cmd.Run(); err != nil {
		return o.String(), e.String(), &CommandError{Command: append([]string{name}, args...), Output: e.String() + o.String(), Err: err}
	}
	return o.String(), e.String(), nil
}

// Submit runs `sbatch --parsable ARGS SCRIPT` and returns the job id.
func (c *Client) Submit(args []string, script string) (string, error) {
	out, _, err := c.run(c.Cmd.Sbatch, append(append([]string{"--parsable"}, args...), script), true)
	if err != nil {
		return "", err
	}
	id, _, _ := strings.Cut(strings.TrimSpace(lastLine(out)), ";") // "id;cluster" on multi-cluster sites
	if id == "" || strings.ContainsAny(id, " \t") {
		return "", fmt.Errorf("sbatch printed %q, want a job id", strings.TrimSpace(out))
	}
	return id, nil
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// Cancel runs scancel on ids; signal "" cancels, e.g. "INT" signals every
// process of the jobs (--full) without cancelling them.
func (c *Client) Cancel(ids []string, signal string) error {
	if len(ids) == 0 {
		return nil
	}
	args := []string{}
	if signal != "" {
		args = append(args, "--signal="+signal, "--full")
	}
	_, _, err := c.run(c.Cmd.Scancel, append(args, ids...), false)
	return err
}

// Requeue puts a job (e.g. "12_3") back in the queue: `scontrol requeue`.
func (c *Client) Requeue(id string) error {
	_, _, err := c.run(c.Cmd.Scontrol, []string{"requeue", id}, false)
	return err
}

// Release lets a requeued job start at once instead of after Slurm's
// requeue delay: `scontrol update JobId=ID StartTime=now`.
func (c *Client) Release(id string) error {
	_, _, err := c.run(c.Cmd.Scontrol, []string{"update", "JobId=" + id, "StartTime=now"}, false)
	return err
}

// currentUser is the user whose jobs squeue lists.
func currentUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return os.Getenv("USER")
}
