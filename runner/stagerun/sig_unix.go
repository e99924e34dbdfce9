//go:build unix

package stagerun

import (
	"os"
	"syscall"
)

// TimeLimitSignal is what Slurm sends ahead of the time limit
// (sbatch --signal=B:USR1@lead).
var TimeLimitSignal os.Signal = syscall.SIGUSR1
