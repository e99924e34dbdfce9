package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/cofiharness/cofi/runner/stagerun"
	_ "github.com/cofiharness/cofi/stage/fake" // the fake kind is in every build, for tests and demos
)

func init() {
	register(Command{Name: "run-stage", Summary: "run one stage of a manifest (used by 'cofi run' and cluster jobs)", Run: runStageCmd})
}

const runStageHelp = `Run the stage with id ID from the manifest FILE that 'cofi run' writes to
<results>/<experiment>/manifest.json: call the stage kind's code with the stage's fully
resolved spec, and on success write result.json in the stage directory (the stage is
then done); on failure write failure.json (class: exit, nan, oom, missing-input or
interrupted, and a message) and exit with status 1. SIGINT or SIGTERM asks the stage to
checkpoint and stop (class interrupted); a second one kills it.

'cofi run' starts this command itself. Run by hand or by a cluster scheduler (no
--attempt), it takes the stage directory's lock, numbers the attempt itself and does
nothing if the stage is already done; the next 'cofi run' records the attempt.

With --slurm (what the batch scripts of 'cofi run --executor slurm' run) it is one task
of a job array: it does nothing when an upstream stage is not done or another job runs
the stage, records its attempt in records.jsonl itself (with the job id, array index,
node and GPUs), and on SIGUSR1 (sbatch --signal, ahead of the time limit) checkpoints,
records a timeout and requeues its job (scontrol requeue) while the stage has failed
fewer than --max-attempts times in a row.`

func runStageCmd(args []string) error {
	fs := newFlagSet("run-stage", "--manifest FILE --stage ID [flags]", runStageHelp)
	manifest := fs.String("manifest", "", "manifest written by 'cofi run' (required)")
	id := fs.String("stage", "", "id of the stage to run (required)")
	attempt := fs.Int("attempt", 0, "attempt number given by the runner (0: standalone, number it here)")
	lockFD := fs.Int("lock-fd", 0, "descriptor of the stage lock inherited from the runner (0: take the lock here)")
	threads := fs.Int("threads", 0, "CPU threads for the stage (0: the manifest's)")
	var sl slurmTaskFlags
	sl.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := atLeast(fs, map[string]int{"attempt": 0, "lock-fd": 0, "threads": 0}); err != nil {
		return err
	}
	if *manifest == "" || *id == "" || fs.NArg() > 0 {
		fs.Usage()
		return exitCode{2, "--manifest and --stage are required"}
	}
	if sl.on {
		return sl.run(stagerun.Options{Manifest: *manifest, Stage: *id, Threads: *threads, Torch: torchInfo(), Command: os.Args})
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop() // a second signal gets the default action: the process dies
	}()
	err := stagerun.Run(ctx, stagerun.Options{Manifest: *manifest, Stage: *id, Attempt: *attempt, LockHeld: *lockFD > 0,
		Threads: *threads, Torch: torchInfo(), Command: os.Args})
	var se *stagerun.StageError
	switch {
	case errors.Is(err, stagerun.ErrAlreadyDone):
		fmt.Fprintf(os.Stderr, "run-stage: %s is already done\n", *id)
		return nil
	case errors.As(err, &se):
		return exitCode{1, se.Error()}
	}
	return err
}
