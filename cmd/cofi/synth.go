package main

import (
	"fmt"
	"strings"

	"github.com/cofiharness/cofi/experiments/synth"
	"github.com/cofiharness/cofi/task"
)

const synthHelp = `Write the built-in synthetic tasks in the real on-disk formats — GLUE TSV
layouts for syn-single (SST-2), syn-pair (RTE layout, MNLI labels), syn-reg (STS-B)
and SQuAD v1.1 JSON for syn-span — under OUT/<TASK>/, so every reader, trainer and
metric of the harness runs on them with no download. Each task needs attention across
tokens: a bag-of-words model stays at chance. Generation is deterministic for a seed;
existing files are rewritten with the same content.`

func init() {
	register(Command{Name: "synth", Summary: "write the built-in synthetic tasks (GLUE TSV / SQuAD JSON formats)", Run: func(args []string) error {
		fs := newFlagSet("synth", "--out DIR [flags]", synthHelp)
		out := fs.String("out", "data/synthetic", "output directory")
		tasks := fs.String("tasks", strings.Join(task.Synthetic(), ","), "synthetic tasks to write")
		nTrain := fs.Int("train", synth.DefaultTrain, "training examples per task")
		nDev := fs.Int("dev", synth.DefaultDev, "dev examples per task")
		seed := fs.Int64("seed", 1, "generation seed")
		if err := fs.Parse(args); err != nil {
			return err
		}
		if err := atLeast(fs, map[string]int{"train": 1, "dev": 1}); err != nil {
			return err
		}
		for _, n := range strings.Split(*tasks, ",") {
			t, err := task.Lookup(n)
			if err != nil || !t.Synthetic {
				return exitCode{2, fmt.Sprintf("--tasks: %q is not a synthetic task (%s)", n, strings.Join(task.Synthetic(), ", "))}
			}
			if err := synth.Write(*out, t.Name, *nTrain, *nDev, *seed); err != nil {
				return err
			}
			dir, _ := synth.Dir(t.Name)
			fmt.Printf("wrote %s: %d train, %d dev examples in %s/%s\n", t.Name, *nTrain, *nDev, *out, dir)
		}
		return nil
	}})
}
