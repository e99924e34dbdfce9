package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/cofiharness/cofi/runner/slurm"
	"github.com/cofiharness/cofi/runner/stagerun"
)

// slurmTaskFlags are run-stage's flags as a Slurm array task.
type slurmTaskFlags struct {
	on          bool
	maxAttempts int
	retry       string
	scontrol    string
	lockWait    time.Duration
}

func (f *slurmTaskFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&f.on, "slurm", false, "run as a task of a Slurm job array (see above)")
	fs.IntVar(&f.maxAttempts, "max-attempts", 2, "with --slurm: requeue after a timeout while the stage has failed fewer times than this in a row")
	fs.StringVar(&f.retry, "retry", "signal,timeout", "with --slurm: failure classes retried (the task requeues itself for timeout only when listed)")
	fs.StringVar(&f.scontrol, "scontrol", "scontrol", "with --slurm: the scontrol command, to requeue the job")
	fs.DurationVar(&f.lockWait, "lock-wait", time.Minute, "with --slurm: how long to wait for the stage lock before concluding another job runs the stage")
}

func (f *slurmTaskFlags) run(opt stagerun.Options) error {
	// Every signal cancels the stage once, remembering which it was; later
	// ones are ignored (Slurm SIGKILLs the job after KillWait), so a second
	// signal cannot cut the recording of the attempt short.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigs := make(chan os.Signal, 4)
	notify := []os.Signal{os.Interrupt, syscall.SIGTERM}
	if stagerun.TimeLimitSignal != nil {
		notify = append(notify, stagerun.TimeLimitSignal)
	}
	signal.Notify(sigs, notify...)
	defer signal.Stop(sigs)
	var mu sync.Mutex
	var cause os.Signal
	go func() {
		for s := range sigs {
			mu.Lock()
			if cause == nil {
				cause = s
				fmt.Fprintf(os.Stderr, "run-stage: got %v: checkpointing and stopping\n", s)
				cancel()
			}
			mu.Unlock()
		}
	}()
	var retry []string
	for _, c := range strings.Split(f.retry, ",") {
		if c = strings.TrimSpace(c); c != "" {
			retry = append(retry, c)
		}
	}
	opt.Log = os.Stdout
	opt.Slurm = &stagerun.Slurm{Job: slurm.JobFromEnv(os.Getenv), Client: slurm.NewClient(slurm.Commands{Scontrol: f.scontrol}),
		Retry: retry, MaxAttempts: f.maxAttempts, LockWait: f.lockWait,
		Cause: func() os.Signal { mu.Lock(); defer mu.Unlock(); return cause }}
	err := stagerun.Run(ctx, opt)
	var se *stagerun.StageError
	switch {
	case errors.Is(err, stagerun.ErrAlreadyDone), errors.Is(err, stagerun.ErrBlocked), errors.Is(err, stagerun.ErrDuplicate):
		return nil
	case errors.As(err, &se):
		return exitCode{1, se.Error()}
	}
	return err
}
