package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/cofiharness/cofi/runner"
	"github.com/cofiharness/cofi/runner/config"
	"github.com/cofiharness/cofi/runner/exec"
	"github.com/cofiharness/cofi/runner/plan"
	"github.com/cofiharness/cofi/runner/progress"
	"github.com/cofiharness/cofi/stage"
)

func init() {
	register(Command{Name: "run", Summary: "run what is missing in an experiment's grids (resumable)", Run: runCmd})
}

const runHelp = `Run every stage of the experiment in CONFIG whose result is not on disk yet, each
in its own child process ('cofi run-stage') with its log in
<results>/<experiment>/stages/<kind>-<id>/log.txt, and append one record per attempt to
<results>/<experiment>/records.jsonl. Independent stages run in parallel (one per GPU, or
CPU slots splitting the cores), dependent ones in order. A stage is identified by the
hash of its resolved inputs, so running the same command again does only what is
missing: after a crash, a kill -9 or Ctrl-C, just rerun it; stages that checkpoint
continue from their checkpoint.

Ctrl-C (or SIGTERM) once: no new stages start, running ones checkpoint and stop
(recorded as interrupted; they run again next time). Ctrl-C twice: running stages are
killed at once.

A stage whose latest attempt failed is reported and not rerun, unless --retry-failed,
or its failure class is listed in executor.retry (default: signal) and it has failed
fewer than executor.max_attempts times in a row. Stages downstream of a failed stage
are blocked; the rest of the grid goes on.

Missing data or models stop the run before any work, with what is missing, where it
was looked for and the variable to set.

On a Slurm cluster (--executor slurm, or executor.kind = "slurm" with the sbatch settings
in [executor.slurm]; REPRODUCE.md has an example): the missing stages are submitted with
sbatch as job arrays, one per dependency wave, each task running 'cofi run-stage --slurm'
with its output in the stage's log.txt and recording its own attempt. Attached (the
default), the run waits and shows done/total with an ETA from squeue, resubmits what the
retry policy allows (on Slurm timeout and signal by default), and on Ctrl-C cancels queued
tasks and asks running stages to checkpoint. --detach submits and exits; 'cofi status'
then shows queued, running and done stages, and another 'cofi run' submits only what no
pending or running job covers. Jobs get --signal=B:USR1 ahead of their time limit: the
stage checkpoints and requeues itself, and continues from its checkpoint.

Exit status: 0 all selected stages done; 1 a stage failed or was blocked; 2 bad
config or flags; 130 interrupted.`

// filterList is a repeatable flag of stage filters.
type filterList []*plan.Filter

func (f *filterList) String() string {
	var s []string
	for _, x := range *f {
		s = append(s, x.String())
	}
	return strings.Join(s, " ")
}

func (f *filterList) Set(v string) error {
	x, err := plan.ParseFilter(v)
	if err != nil {
		return err
	}
	*f = append(*f, x)
	return nil
}

// runnerFlags are the flags plan, run and status share.
type runnerFlags struct {
	workers, threads int
	gpus, binary     string
	executor         string
	timeout          time.Duration
	retryFailed      bool
	force, only      filterList
	readOnly, verify bool // status writes nothing; plan --verify rehashes every input
}

func (rf *runnerFlags) executorFlags(fs *flag.FlagSet) {
	fs.IntVar(&rf.workers, "workers", 0, "stages run at once (default: executor.workers, else one per GPU, else 1)")
	fs.StringVar(&rf.gpus, "gpus", "", `GPUs: "auto" (CUDA_VISIBLE_DEVICES, else nvidia-smi), "none", or ids "0,1" (default: executor.gpus)`)
	fs.IntVar(&rf.threads, "threads", 0, "CPU threads per stage (default: executor.threads, else cores / workers)")
	fs.StringVar(&rf.executor, "executor", "", `where stages run: "local" (child processes here) or "slurm" (sbatch job arrays, settings in [executor.slurm]) (default: executor.kind)`)
}

func (rf *runnerFlags) selectionFlags(fs *flag.FlagSet) {
	fs.BoolVar(&rf.retryFailed, "retry-failed", false, "rerun stages whose latest attempt failed")
	fs.Var(&rf.force, "force", "recompute the stages matching `FILTER` and everything downstream of them (repeatable); "+plan.FilterHelp)
	fs.Var(&rf.only, "only", "run only the stages matching `FILTER` and the stages they need (repeatable)")
}

func (rf *runnerFlags) setup(cfgPath string) (*runner.Setup, error) {
	// Negative values would silently mean "default" below: reject them.
	for _, f := range []struct {
		name string
		v    int
	}{{"workers", rf.workers}, {"threads", rf.threads}} {
		if f.v < 0 {
			return nil, exitCode{2, fmt.Sprintf("--%s %d: want an integer >= 0 (0 = the config's executor setting)", f.name, f.v)}
		}
	}
	if rf.timeout < 0 {
		return nil, exitCode{2, fmt.Sprintf("--timeout %v: want a duration >= 0 (0 = the config's executor.timeout)", rf.timeout)}
	}
	s, err := runner.NewSetup(cfgPath, runner.Overrides{Workers: rf.workers, GPUs: rf.gpus, Threads: rf.threads,
		Timeout: rf.timeout, Binary: rf.binary, ReadOnly: rf.readOnly, Verify: rf.verify, Executor: rf.executor})
	var probs config.Problems
	if errors.As(err, &probs) {
		return nil, exitCode{2, err.Error()}
	}
	return s, err
}

func (rf *runnerFlags) selection(s *runner.Setup) runner.Selection {
	return runner.SelectionFor(s.Executor, rf.retryFailed, rf.force, rf.only)
}

func envHelp() string {
	var b strings.Builder
	b.WriteString("\n\nenvironment:\n")
	for _, e := range config.Env {
		over := ""
		if e.Key != "" {
			over = " (overrides " + e.Key + ")"
		}
		fmt.Fprintf(&b, "  %-21s %s%s\n", e.Name, e.Doc, over)
	}
	return strings.TrimRight(b.String(), "\n")
}

func runCmd(args []string) error {
	var rf runnerFlags
	fs := newFlagSet("run", "CONFIG [flags]", runHelp+envHelp())
	rf.executorFlags(fs)
	rf.selectionFlags(fs)
	fs.DurationVar(&rf.timeout, "timeout", 0, "per-stage time limit, e.g. 12h (default: executor.timeout, else none)")
	fs.StringVar(&rf.binary, "binary", "", "executable run as '<binary> run-stage' for each stage (default: executor.binary, else this cofi binary)")
	dry := fs.Bool("dry-run", false, "print the plan (as 'cofi plan' does) and run nothing")
	detach := fs.Bool("detach", false, "with the slurm executor: submit the jobs and exit without waiting ('cofi status' follows them)")
	mode := fs.String("progress", "auto", "progress display: auto (a status line on a terminal, log lines otherwise), tty or plain")
	pos, err := parseArgs(fs, args, 1)
	if err != nil {
		return err
	}
	s, err := rf.setup(pos[0])
	if err != nil {
		return err
	}
	if *dry {
		return printPlan(os.Stdout, s, rf.selection(s), false)
	}
	tty := progress.IsTerminal(os.Stdout)
	switch *mode {
	case "tty":
		tty = true
	case "plain":
		tty = false
	case "auto":
	default:
		return exitCode{2, fmt.Sprintf("--progress %q: want auto, tty or plain", *mode)}
	}
	var ex exec.Executor
	if s.Executor.Kind != config.ExecSlurm {
		if *detach {
			return exitCode{2, "--detach needs the slurm executor (--executor slurm)"}
		}
		if ex, err = s.NewExecutor(); err != nil {
			return err
		}
	}
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	rep := progress.New(os.Stdout, tty)
	rep.Printf("experiment %s: %s; %s", s.Config.Experiment, s.Plan.Dir, s.Device())
	opt := runner.Options{Selection: rf.selection(s), Executor: ex, Progress: rep,
		Provenance: s.Provenance, Interrupts: sigs, Command: os.Args}
	if self, err := os.Executable(); err == nil && self == s.Binary {
		opt.CheckKind = func(kind string) error { _, err := stage.Lookup(kind); return err }
	}
	var sum *runner.Summary
	if s.Executor.Kind == config.ExecSlurm {
		sum, err = runner.RunSlurm(s.Plan, opt, s.SlurmOptions(*detach))
	} else {
		sum, err = runner.Run(s.Plan, opt)
	}
	rep.Close()
	if err != nil {
		var mi *runner.MissingInputError
		if errors.As(err, &mi) {
			return exitCode{1, err.Error()}
		}
		return err
	}
	printSummary(os.Stdout, s, sum)
	switch {
	case sum.WasInterrupted:
		return exitCode{130, "interrupted; run the same command again to continue"}
	case sum.Err != nil:
		return sum.Err
	case !sum.OK():
		return exitCode{1, ""}
	}
	return nil
}

func printSummary(w io.Writer, s *runner.Setup, sum *runner.Summary) {
	exp := s.Plan.Dir
	fmt.Fprintf(w, "\nsummary: %d/%d stages done, %d/%d cells complete; %d attempt(s) this run, %d succeeded\n",
		sum.StagesDone, sum.Stages, sum.CellsDone, sum.Cells, sum.Attempts, len(sum.Succeeded))
	if sum.Reconciled > 0 {
		fmt.Fprintf(w, "recorded %d attempt(s) left unrecorded by an earlier, killed run\n", sum.Reconciled)
	}
	if sum.Skipped > 0 {
		fmt.Fprintf(w, "%d stage(s) outside --only not run\n", sum.Skipped)
	}
	list := func(title string, rs []runner.Result) {
		if len(rs) == 0 {
			return
		}
		fmt.Fprintf(w, "%s (%d):\n", title, len(rs))
		for _, r := range rs {
			fmt.Fprintf(w, "  %s  %s %s  %s\n", r.Stage.Name(), r.Stage.Spec.Task, r.Stage.Spec.Method, r.Note)
			if title == "failed" {
				fmt.Fprintf(w, "      log: %s/%s/%s/log.txt\n", exp, "stages", r.Stage.Name())
			}
		}
	}
	list("failed", sum.Failed)
	list("blocked", sum.Blocked)
	list("interrupted", sum.Interrupted)
	if sum.NotStarted > 0 {
		fmt.Fprintf(w, "%d stage(s) not started\n", sum.NotStarted)
	}
	printSlurmSummary(w, s, sum)
	if len(sum.Failed) > 0 {
		fmt.Fprintf(w, "rerun failed stages with --retry-failed\n")
	}
	fmt.Fprintf(w, "records: %s/records.jsonl\n", exp)
}
