package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/cofiharness/cofi/runner"
)

// printSlurmSummary adds what a run through Slurm submitted.
func printSlurmSummary(w io.Writer, s *runner.Setup, sum *runner.Summary) {
	if len(sum.Jobs) > 0 {
		fmt.Fprintf(w, "submitted %d stage(s) to Slurm in job array(s) %s\n", sum.Submitted, strings.Join(sum.Jobs, ", "))
	}
	if sum.Detached {
		fmt.Fprintf(w, "detached: %d stage(s) queued or running; follow with 'cofi status %s'; run 'cofi run --detach' again to submit what fails and is retried, or gets cancelled\n",
			sum.Queued, s.Config.File)
	} else if sum.Queued > 0 {
		fmt.Fprintf(w, "%d stage(s) still have a job in the Slurm queue\n", sum.Queued)
	}
}
