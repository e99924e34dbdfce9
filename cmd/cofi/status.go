package main

import (
	"encoding/json"
	"os"
	"time"

	"github.com/cofiharness/cofi/runner"
	"github.com/cofiharness/cofi/runner/store"
)

func init() {
	register(Command{Name: "status", Summary: "summarise a running or finished experiment from its records and stage directories", Run: statusCmd})
}

const statusHelp = `Summarise the experiment of CONFIG from what is on disk alone: whether a runner holds
it, how many stages and cells are done, running, failed, blocked or missing, the stages
running now and for how long, the failures with their class, message and log, the
record counts (and any unusable line of records.jsonl), and an estimate of the time
left from the recorded wall times. For an experiment submitted to Slurm it also asks
squeue which stages have a pending (queued) or running job. Safe to run while 'cofi run' is running; it changes
nothing.`

func statusCmd(args []string) error {
	var rf runnerFlags
	fs := newFlagSet("status", "CONFIG [flags]", statusHelp+envHelp())
	rf.executorFlags(fs)
	rf.readOnly = true
	asJSON := fs.Bool("json", false, "print the stages and cells as JSON (as 'cofi plan --json', plus the runner state)")
	pos, err := parseArgs(fs, args, 1)
	if err != nil {
		return err
	}
	s, err := rf.setup(pos[0])
	if err != nil {
		return err
	}
	ix, err := store.ReadIndex(store.Experiment{Dir: s.Plan.Dir}.Records())
	if err != nil {
		return err
	}
	sel := rf.selection(s)
	queue, qerr := runner.SlurmQueue(s.Plan, s.SlurmOptions(false).Client)
	sel.Active = queue
	sts, err := runner.Statuses(s.Plan, ix, sel)
	if err != nil {
		return err
	}
	if *asJSON {
		out := runner.NewPlanJSON(s.Plan, sts)
		running, holder := store.ExperimentLocked(s.Plan.Dir)
		out.Runner = &runner.RunnerState{Running: running, Holder: holder}
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	runner.WriteStatus(os.Stdout, s.Plan, sts, ix, s.Workers, time.Now())
	writeSlurmStatus(os.Stdout, queue, qerr)
	return nil
}
