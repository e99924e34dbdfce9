package main

import (
	"encoding/json"
	"io"
	"os"

	"github.com/cofiharness/cofi/runner"
	"github.com/cofiharness/cofi/runner/store"
)

func init() {
	register(Command{Name: "plan", Summary: "list an experiment's cells and stages with their status; runs nothing", Run: planCmd})
}

const planHelp = `Expand the grids of CONFIG into cells and stages and print, for every stage, its id,
kind, task, method, sparsity, seed, status (done, missing, failed, running, blocked,
missing-input) and what 'cofi run' with the same flags would do (run, retry, rerun,
blocked, skip); then every cell and a summary. Nothing is executed or written, except
the digest cache of the input files (<results>/.cache/digests.json). Inputs that are
missing are listed with where they were looked for.`

func planCmd(args []string) error {
	var rf runnerFlags
	fs := newFlagSet("plan", "CONFIG [flags]", planHelp+envHelp())
	rf.executorFlags(fs)
	rf.selectionFlags(fs)
	asJSON := fs.Bool("json", false, "print the plan as JSON")
	pos, err := parseArgs(fs, args, 1)
	if err != nil {
		return err
	}
	s, err := rf.setup(pos[0])
	if err != nil {
		return err
	}
	return printPlan(os.Stdout, s, rf.selection(s), *asJSON)
}

func printPlan(w io.Writer, s *runner.Setup, sel runner.Selection, asJSON bool) error {
	ix, err := store.ReadIndex(store.Experiment{Dir: s.Plan.Dir}.Records())
	if err != nil {
		return err
	}
	sts, err := runner.Statuses(s.Plan, ix, sel)
	if err != nil {
		return exitCode{2, err.Error()}
	}
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(runner.NewPlanJSON(s.Plan, sts))
	}
	return runner.WritePlan(w, s.Plan, sts)
}
