package runner

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/cofiharness/cofi/record"
	"github.com/cofiharness/cofi/runner/config"
	"github.com/cofiharness/cofi/runner/digest"
	"github.com/cofiharness/cofi/runner/exec"
	"github.com/cofiharness/cofi/runner/plan"
	"github.com/cofiharness/cofi/runner/provenance"
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
	cfg.Executor = e
	s := &Setup{Config: cfg, Executor: e, GPUs: e.GPUs, GPUSource: "config"}
	if e.GPUsAuto {
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
	s.Binary = e.Binary
	if s.Binary == "" {
		if s.Binary, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("find the cofi binary for run-stage: %w", err)
		}
	}
	// The code version is the git checkout the command runs in, or else the
	// one holding the config file (a run started from elsewhere).
	wd, _ := os.Getwd()
	s.Provenance = provenance.Collect(wd)
	if s.Provenance.GitCommit == "" && cfg.File != "" {
		s.Provenance = provenance.Collect(filepath.Dir(cfg.File))
	}
	device := "cpu"
	if len(s.GPUs) > 0 {
		device = "cuda"
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
