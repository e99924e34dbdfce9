package runner

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/cofiharness/cofi/record"
	"github.com/cofiharness/cofi/runner/config"
	"github.com/cofiharness/cofi/runner/digest"
	"github.com/cofiharness/cofi/runner/exec"
	"github.com/cofiharness/cofi/runner/plan"
	"github.com/cofiharness/cofi/runner/provenance"
	"github.com/cofiharness/cofi/runner/slurm"
)

// Setup is what `cofi plan`, `run` and `status` derive from a config file
// and the machine: the plan and the executor's shape.
type Setup struct {
	Config     *config.Config
	Plan       *plan.Plan
	Provenance record.Provenance
	GPUs       []string
	GPUSource  string // where the GPU list came from
	Workers    int
	Threads    int // CPU threads per worker
	Binary     string
	Executor   config.Executor // after command-line overrides
	Digests    *digest.Cache   // the input digests the plan used (Stale: what --verify found wrong)
}

// Overrides are command-line settings that win over the config's executor.
type Overrides struct {
	Workers int    // 0 = config
	GPUs    string // "" = config; "auto", "none" or "0,1"
	Threads int    // 0 = config
	Timeout time.Duration
	Binary  string
	Getenv  config.Getenv // nil = process environment
	// ReadOnly writes nothing (the digest cache is not saved): cofi status.
	ReadOnly bool
	// Verify rehashes every input file instead of trusting the digest cache.
	Verify bool
	// Executor is "local" or "slurm"; "" = the config's executor.kind.
	Executor string
}

// NewSetup loads the config at path and plans it.
func NewSetup(path string, o Overrides) (*Setup, error) {
	if o.Getenv == nil {
		o.Getenv = config.OSEnv
	}
	cfg, err := config.Load(path, config.Options{Getenv: o.Getenv})
	if err != nil {
		return nil, err
	}
	e := cfg.Executor
	if o.Workers > 0 {
		e.Workers = o.Workers
	}
	if o.Threads > 0 {
		e.Threads = o.Threads
	}
	if o.Timeout > 0 {
		e.Timeout = o.Timeout
	}
	if o.Binary != "" {
		e.Binary = o.Binary
	}
	if o.GPUs != "" {
		if e.GPUs, e.GPUsAuto, err = config.ParseGPUs(o.GPUs); err != nil {
			return nil, fmt.Errorf("--gpus: %w", err)
		}
	}
	if o.Executor != "" {
		if !slices.Contains(config.ExecutorKinds, o.Executor) {
			return nil, fmt.Errorf("--executor %q: want one of %s", o.Executor, strings.Join(config.ExecutorKinds, ", "))
		}
		e.Kind = o.Executor
	}
	if e.Kind == config.ExecSlurm {
		if err := slurmSetup(&e); err != nil {
			return nil, err
		}
	}
	cfg.Executor = e
	s := &Setup{Config: cfg, Executor: e, GPUs: e.GPUs, GPUSource: "config"}
	if e.GPUsAuto && e.Kind != config.ExecSlurm {
		s.GPUs, s.GPUSource = exec.DetectGPUs(o.Getenv)
	}
	s.Workers = e.Workers
	if s.Workers == 0 {
		s.Workers = max(len(s.GPUs), 1)
	}
	s.Threads = e.Threads
	if s.Threads == 0 {
		s.Threads = max(runtime.NumCPU()/s.Workers, 1)
	}
	device := "cpu"
	if len(s.GPUs) > 0 {
		device = "cuda"
	}
	if e.Kind == config.ExecSlurm {
		// Stages run on the nodes Slurm gives them, not on this one: the
		// device is what executor.slurm asks for, the threads are the
		// --cpus-per-task.
		s.GPUs, s.GPUSource, device = nil, "executor.slurm", "cpu"
		if e.Slurm.UsesGPUs() {
			device = "cuda"
		}
		if s.Threads = e.Threads; s.Threads == 0 {
			s.Threads = max(e.Slurm.CPUs, 1)
		}
		s.Workers = max(e.Workers, 1)
	}
	s.Binary = e.Binary
	if s.Binary == "" {
		if s.Binary, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("find the cofi binary for run-stage: %w", err)
		}
	}
	if e.Kind == config.ExecSlurm {
		if s.Binary, err = filepath.Abs(s.Binary); err != nil {
			return nil, err
		}
	}
	// The code version is the git checkout the command runs in, or else the
	// one holding the config file (a run started from elsewhere).
	wd, _ := os.Getwd()
	s.Provenance = provenance.Collect(wd)
	if s.Provenance.GitCommit == "" && cfg.File != "" {
		s.Provenance = provenance.Collect(filepath.Dir(cfg.File))
	}
	cache := digest.Open(filepath.Join(cfg.Paths.Results.Path, ".cache", "digests.json"))
	cache.Verify = o.Verify
	s.Digests = cache
	s.Plan, err = plan.Build(cfg, plan.Options{Digests: cache, Device: device, Threads: s.Threads, Code: provenance.Code(s.Provenance)})
	if err != nil {
		return nil, err
	}
	if !o.ReadOnly {
		if err := cache.Save(); err != nil {
			fmt.Fprintf(os.Stderr, "warning: %v\n", err)
		}
	}
	return s, nil
}

// Device describes where stages run, for messages.
func (s *Setup) Device() string {
	if s.Executor.Kind == config.ExecSlurm {
		sl := s.Executor.Slurm
		where := "the default partition"
		if sl.Partition != "" {
			where = "partition " + sl.Partition
		}
		gpus := "no GPU"
		switch {
		case sl.Gres != "":
			gpus = "--gres=" + sl.Gres
		case sl.GPUs > 0:
			gpus = fmt.Sprintf("%d GPU(s)", sl.GPUs)
		}
		return fmt.Sprintf("Slurm job arrays on %s, %s and %d CPU thread(s) per stage", where, gpus, s.Threads)
	}
	if len(s.GPUs) > 0 {
		return fmt.Sprintf("%d worker(s) on GPUs %v (from %s), %d CPU threads each", s.Workers, s.GPUs, s.GPUSource, s.Threads)
	}
	return fmt.Sprintf("%d worker(s) on CPU, %d threads each", s.Workers, s.Threads)
}

// NewExecutor builds the configured executor.
func (s *Setup) NewExecutor() (exec.Executor, error) {
	switch s.Executor.Kind {
	case "", "local":
		return exec.NewLocal(exec.LocalOptions{Binary: s.Binary, GPUs: s.GPUs, Workers: s.Workers, Threads: s.Threads,
			Timeout: s.Executor.Timeout, KillGrace: s.Executor.KillGrace})
	}
	return nil, fmt.Errorf("unknown executor %q", s.Executor.Kind)
}

// slurmSetup applies the Slurm executor's defaults and checks its settings
// against the rest of [executor].
func slurmSetup(e *config.Executor) error {
	if !e.RetrySet && !slices.Contains(e.Retry, record.FailTimeout) {
		// On a cluster a time limit is routine: continue from the checkpoint.
		e.Retry = append(slices.Clone(e.Retry), record.FailTimeout)
	}
	sl := e.Slurm
	if sl.SignalLead > 0 {
		for _, k := range append([]string{"default"}, record.StageKinds...) {
			t := sl.Time[k]
			if k == "default" && t == 0 {
				t = e.Timeout
			}
			if t > 0 && sl.SignalLead >= t {
				return fmt.Errorf("executor.slurm.signal_lead (%v) must be shorter than the time limit of %s stages (%v): the stage would be asked to stop as soon as it starts", sl.SignalLead, k, t)
			}
		}
	}
	return nil
}

// SlurmOptions are the settings of RunSlurm for this setup.
func (s *Setup) SlurmOptions(detach bool) SlurmOptions {
	sl := s.Executor.Slurm
	c := slurm.NewClient(slurm.Commands{Sbatch: sl.Sbatch, Squeue: sl.Squeue, Sacct: sl.Sacct, Scancel: sl.Scancel, Scontrol: sl.Scontrol})
	return SlurmOptions{Client: c, Settings: sl, Binary: s.Binary, Threads: s.Threads, Workers: s.Workers,
		Timeout: s.Executor.Timeout, KillGrace: s.Executor.KillGrace, Detach: detach}
}
