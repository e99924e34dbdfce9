package main

import (
	"encoding/json"
	"fmt"
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
blocked, skip); then every cell; then the sweeps (each swept cell with its settings,
the stages they share and their own, and the selection rule) and a summary with the
stage count per kind. Nothing is executed or written, except
the digest cache of the input files (<results>/.cache/digests.json). Inputs that are
missing are listed with where they were looked for.

A stage's id hashes the content of its input files. Their digests are cached by path,
size, modification and change time and inode, which catches edits that restore the
old modification time (cp -p, rsync -t, tar); --verify rehashes every input anyway and
names any file whose cached digest was stale.`

func planCmd(args []string) error {
	var rf runnerFlags
	fs := newFlagSet("plan", "CONFIG [flags]", planHelp+envHelp())
	rf.executorFlags(fs)
	rf.selectionFlags(fs)
	asJSON := fs.Bool("json", false, "print the plan as JSON")
	fs.BoolVar(&rf.verify, "verify", false, "rehash every input file instead of trusting the digest cache, and report stale entries")
	pos, err := parseArgs(fs, args, 1)
	if err != nil {
		return err
	}
	s, err := rf.setup(pos[0])
	if err != nil {
		return err
	}
	if rf.verify {
		// On stderr, so that --json stays one document on stdout.
		fmt.Fprintf(os.Stderr, "verify: %d input files rehashed", s.Digests.Hashed())
		if len(s.Digests.Stale) == 0 {
			fmt.Fprintf(os.Stderr, "; every cached digest was right\n")
		} else {
			fmt.Fprintf(os.Stderr, "; %d had a stale cached digest (the stages reading them now have new ids):\n", len(s.Digests.Stale))
			for _, f := range s.Digests.Stale {
				fmt.Fprintf(os.Stderr, "  %s\n", f)
			}
		}
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
