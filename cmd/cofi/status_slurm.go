package main

import (
	"fmt"
	"io"

	"github.com/cofiharness/cofi/runner"
)

// writeSlurmStatus says what squeue contributed to the status.
func writeSlurmStatus(w io.Writer, queue map[string]runner.ActiveJob, err error) {
	switch {
	case err != nil:
		fmt.Fprintf(w, "\nslurm: could not ask squeue (%v); queued and running stages may show as missing\n", err)
	case queue != nil:
		running := 0
		for _, a := range queue {
			if a.Started {
				running++
			}
		}
		fmt.Fprintf(w, "\nslurm: %d task(s) of this experiment in the queue, %d running (squeue)\n", len(queue), running)
	}
}
