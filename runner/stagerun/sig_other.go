//go:build !unix

package stagerun

import "os"

// TimeLimitSignal: Slurm runs on Unix only.
var TimeLimitSignal os.Signal
