// Package config reads an experiment's TOML file: where data, models and
// results live, the grids of cells to run, named hyperparameter profiles and
// the executor settings. Every problem in a file (unknown key, wrong type,
// unknown task, method or hyperparameter, out-of-range value) is reported at
// once, each with file:line:column and the key.
//
// Schema (all keys optional unless marked):
//
//	experiment = "table2"          # required: name of <results>/<experiment>/ ([A-Za-z0-9._-]+)
//	description = "..."
//	fake = false                   # test/demo switch: every stage runs the fake kind (package stage/fake)
//	invalidate_on_commit = false   # true: the git commit (and diff hash) is part of every stage id
//
//	[paths]                        # relative to the working directory; a set, non-empty env variable wins
//	results = "results"            # env COFI_RESULTS
//	glue = "data/glue"             # env GLUE_DIR: <glue>/<TASK>/{train,dev}.tsv or <glue>/<task>/<split>*.parquet
//	squad = "data/squad"           # env SQUAD_DIR: train-v1.1.json, dev-v1.1.json or plain_text/*.parquet
//	synthetic = "data/synthetic"   # env SYNTH_DIR: <synthetic>/<task>/ for the built-in synthetic tasks
//	model = "models/bert-base-uncased"   # env BERT_DIR: pre-trained model directory (HF layout)
//	synthetic_model = "builtin:tiny"     # model for synthetic tasks; "builtin:NAME" = built by the stage, no files
//	tinybert = "models/TinyBERT_General_4L_312D"   # env TINYBERT_DIR: general-distilled TinyBERT (method tinybert4)
//	synthetic_tinybert = "builtin:tiny-student"    # its stand-in for synthetic tasks (a random student, no general distillation)
//	glove = "models/glove/glove.42B.300d.txt"      # env GLOVE_PATH: GloVe vectors (text format) for data = "augmented"
//
//	[executor]
//	kind = "local"                 # "local" (a pool of child processes) or "slurm" (sbatch job arrays)
//	workers = 0                    # stages run at once; 0 = one per GPU, or 1 on CPU
//	gpus = "auto"                  # "auto" (CUDA_VISIBLE_DEVICES, else nvidia-smi), "none", [0, 1] or "0,1"
//	threads = 0                    # CPU threads per stage; 0 = cores / workers
//	timeout = "0s"                 # per-stage limit (Go duration); 0 = none
//	kill_grace = "2m"              # after asking a stage to stop (timeout: SIGTERM, Ctrl-C: SIGINT), SIGKILL it this much later
//	retry = ["signal"]             # failure classes retried automatically (slurm: ["signal", "timeout"]) ...
//	max_attempts = 2               # ... until a stage has failed this many times in a row
//	binary = ""                    # executable for `run-stage` (default: the running cofi binary)
//
//	[executor.slurm]               # used when kind = "slurm" (or --executor slurm); see package runner/slurm
//	partition = ""                 # --partition; "" = the cluster's default
//	account = ""                   # --account
//	qos = ""                       # --qos
//	time = "2h"                    # --time per stage: a duration, or per kind: { default = "2h", prune = "12h" }
//	                               # (default: executor.timeout when set, else the partition's limit)
//	gpus = 0                       # --gpus per stage (stages then run on "cuda")
//	gres = ""                      # --gres instead of gpus, e.g. "gpu:a100:1"
//	cpus = 0                       # --cpus-per-task; 0 = executor.threads, else 1
//	mem = ""                       # --mem per stage, e.g. "16G"; "" = the cluster's default
//	constraint = ""                # --constraint
//	sbatch_args = []               # more sbatch arguments, e.g. ["--exclusive"]
//	throttle = 0                   # at most this many tasks of one array at once (--array=...%N); 0 = no limit
//	exclusive = true               # stages that must run alone (CPU latency) get a node to themselves (--exclusive)
//	signal_lead = "5m"             # SIGUSR1 this long before the time limit: the stage checkpoints and is requeued
//	poll = "10s"                   # how often an attached 'cofi run' asks squeue
//	sbatch = "sbatch"              # paths (or names in PATH) of the Slurm commands
//	squeue = "squeue"
//	sacct = "sacct"
//	scancel = "scancel"
//	scontrol = "scontrol"
//
//	[profiles.NAME.KIND]           # overrides of KIND's hyperparameters (hparams.Keys(KIND)) for every task
//	[profiles.NAME.tasks.TASK.KIND]   # ... for one task (wins over the line above)
//	                               # the profile "authors" is built in: the authors' table, no overrides
//
//	[sweeps.NAME]                  # a hyperparameter search with a selection rule (see Sweep);
//	                               # the sweep "authors" is built in: the authors' README grid
//
//	[[grid]]                       # one or more; cells = tasks x methods x sparsities x seeds x axes
//	name = "main"
//	tasks = ["rte", "mrpc"]        # required
//	methods = ["teacher", "cofi"]  # required (package method names)
//	sparsities = [0.95]            # required when a CoFi method is present; ignored by teacher/baseline
//	seeds = [57]                   # default [57]
//	profile = "authors"
//	sweep = "authors"              # a hyperparameter search per cell, one setting selected (see Sweep)
//	[grid.axes]                    # any hyperparameter as an axis: "KIND.NAME" = [values]
//	"prune.alpha_pred" = [0.1, 0.3]
//	data = ["original", "augmented"]   # train data: the task's train split, or TinyBERT's augmentation of it
//	                               # (one augment stage per task, shared by every cell that uses it)
//	[[grid.exclude]]               # drop the cells matching every field given
//	task = "squad"                 # fields: task, method, sparsity, seed, and axis keys
//	sparsity = 0.95
//	[[grid.include]]               # add cells: fields not given take every value of the grid
//	task = "squad"
//	sparsity = 0.924
//
//	[fake_stage]                   # only with fake = true: behaviour of the fake stages
//	steps = 20                     # "training" steps, checkpointed after each
//	step_ms = 5
//	fail = ""                      # see stage/fake for the failure modes
//	[[fake_stage.rule]]            # for the stages matching every field of match (later rules win):
//	match = { kind = "prune", task = "mrpc" }   # fields: kind, task, method, sparsity, seed
//	fail = "nan"                   # and any of steps, step_ms, fail
//
// Durations are Go duration strings ("90m", "12h") or numbers of seconds.
// Values of hyperparameters are checked against hparams (name and type);
// "KIND.seed" and "prune.target_sparsity" are set by seeds and sparsities.
package config

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Config is a loaded, validated experiment.
type Config struct {
	File               string // path as given
	Experiment         string
	Description        string
	Fake               bool
	FakeStage          FakeStage
	InvalidateOnCommit bool
	Paths              Paths
	Executor           Executor
	Profiles           map[string]Profile // includes the built-in "authors"
	Sweeps             map[string]*Sweep  // includes the built-in "authors"
	Grids              []Grid
}

// Path is a resolved filesystem location and where its value came from, so
// messages about missing files can say what to change.
type Path struct {
	Path   string // absolute, or "builtin:NAME" for a model
	Key    string // config key, e.g. "paths.glue"
	Env    string // environment variable that overrides it
	Source string // "GLUE_DIR", "configs/x.toml:5:1" or "default"
}

// Builtin reports whether p names a model the stage constructs itself.
func (p Path) Builtin() bool { return strings.HasPrefix(p.Path, BuiltinPrefix) }

// BuiltinPrefix marks a model that has no files: "builtin:tiny".
const BuiltinPrefix = "builtin:"

// BuiltinModels are the names after BuiltinPrefix that stages can build
// (random encoders of checkpoint.Tiny and checkpoint.BertBase shapes).
var BuiltinModels = []string{"tiny", "base"}

// BuiltinStudents are the builtin stand-ins for a general-distilled TinyBERT
// (paths.tinybert, paths.synthetic_tinybert): "tiny-student" is a random
// encoder of the student shape, built by the stage (no general distillation).
var BuiltinStudents = []string{"tiny-student"}

// Paths are the directories an experiment reads and writes.
type Paths struct {
	Results        Path
	GLUE           Path
	SQuAD          Path
	Synthetic      Path
	Model          Path
	SyntheticModel Path
	// TinyBERT is the general-distilled TinyBERT checkpoint method tinybert4
	// starts from; SyntheticTinyBERT its stand-in for synthetic tasks.
	TinyBERT          Path
	SyntheticTinyBERT Path
	GloVe             Path // GloVe vectors in the text format (data augmentation)
}

// Executor holds how stages are run.
type Executor struct {
	Kind        string
	Workers     int      // 0 = default (one per GPU, else 1)
	GPUs        []string // explicit ids; nil with GPUsAuto or none
	GPUsAuto    bool
	Threads     int
	Timeout     time.Duration // 0 = none
	KillGrace   time.Duration
	Retry       []string // failure classes retried automatically
	RetrySet    bool     // retry was given in the file (else the executor kind's default applies)
	MaxAttempts int
	Binary      string
	Slurm       Slurm // [executor.slurm]
}

// Executor kinds.
const (
	ExecLocal = "local"
	ExecSlurm = "slurm"
)

// ExecutorKinds are the values of executor.kind.
var ExecutorKinds = []string{ExecLocal, ExecSlurm}

// Slurm is [executor.slurm]: how stages are submitted with sbatch.
type Slurm struct {
	Partition  string
	Account    string
	QOS        string
	Time       map[string]time.Duration // stage kind (or "default") -> --time
	GPUs       int                      // --gpus per stage
	Gres       string                   // --gres, instead of GPUs
	CPUs       int                      // --cpus-per-task; 0 = executor.threads, else 1
	Mem        string                   // --mem
	Constraint string
	Args       []string // sbatch_args
	Throttle   int      // %N of --array
	Exclusive  bool     // --exclusive for the stages that must run alone
	SignalLead time.Duration
	Poll       time.Duration
	Sbatch     string
	Squeue     string
	Sacct      string
	Scancel    string
	Scontrol   string
}

// SlurmDefaults are the settings of an absent [executor.slurm].
func SlurmDefaults() Slurm {
	return Slurm{SignalLead: 5 * time.Minute, Poll: 10 * time.Second, Exclusive: true,
		Sbatch: "sbatch", Squeue: "squeue", Sacct: "sacct", Scancel: "scancel", Scontrol: "scontrol"}
}

// TimeFor is the --time of a stage kind (0 = none given).
func (s Slurm) TimeFor(kind string) time.Duration {
	if d, ok := s.Time[kind]; ok {
		return d
	}
	return s.Time["default"]
}

// UsesGPUs reports whether stages get GPUs (gpus > 0, or a gres naming gpu).
func (s Slurm) UsesGPUs() bool {
	return s.GPUs > 0 || strings.HasPrefix(s.Gres, "gpu") || strings.Contains(s.Gres, ",gpu")
}

// Profile is a named set of hyperparameter overrides.
type Profile struct {
	Name  string
	Kinds map[string]map[string]any            // kind -> hparam -> value
	Tasks map[string]map[string]map[string]any // task -> kind -> hparam -> value
}

// Overrides returns the profile's overrides of kind for task, the per-task
// ones winning.
func (p Profile) Overrides(kind, task string) map[string]any {
	out := map[string]any{}
	for k, v := range p.Kinds[kind] {
		out[k] = v
	}
	for k, v := range p.Tasks[task][kind] {
		out[k] = v
	}
	return out
}

// Axis is a hyperparameter swept by a grid, or the data axis.
type Axis struct {
	Key    string // "KIND.NAME", or DataAxis
	Kind   string // "" for the data axis
	Name   string
	Values []any
}

// DataAxis is the axis key that chooses a cell's training data: DataOriginal
// (the task's train split) or DataAugmented (TinyBERT's augmentation of it).
const (
	DataAxis      = "data"
	DataOriginal  = "original"
	DataAugmented = "augmented"
)

// Match selects cells by the fields it sets.
type Match struct {
	Task     *string
	Method   *string
	Sparsity *float64
	Seed     *int64
	Params   map[string]any // axis key -> value
}

// Grid is one [[grid]] table.
type Grid struct {
	Name       string
	Index      int
	Tasks      []string // canonical task names
	Methods    []string
	Sparsities []float64
	Seeds      []int64
	Profile    string
	Axes       []Axis // sorted by key
	SweepName  string // "" = none
	Sweep      *Sweep // the sweep named by SweepName
	Include    []Match
	Exclude    []Match
}

// FakeStage sets the fake stages' behaviour (fake = true only).
type FakeStage struct {
	Steps  int
	StepMS int
	Fail   string
	Rules  []FakeRule
}

// FakeRule overrides the fake settings of the stages it matches.
type FakeRule struct {
	Kind     string
	Task     string
	Method   string
	Sparsity *float64
	Seed     *int64
	Steps    *int
	StepMS   *int
	Fail     *string
}

// Problem is one error in a config file.
type Problem struct {
	File string
	Pos  Pos
	Key  string
	Msg  string
}

func (p Problem) String() string {
	loc := p.File
	if p.Pos.Line > 0 {
		loc = fmt.Sprintf("%s:%d:%d", p.File, p.Pos.Line, p.Pos.Col)
	}
	if p.Key == "" {
		return fmt.Sprintf("%s: %s", loc, p.Msg)
	}
	return fmt.Sprintf("%s: %s: %s", loc, p.Key, p.Msg)
}

// Problems is every problem found in a file; it is the error Load returns.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	if len(ps) == 1 {
		return lines[0]
	}
	return fmt.Sprintf("%d problems:\n  %s", len(ps), strings.Join(lines, "\n  "))
}

// DefaultProfile is the built-in profile: the authors' hyperparameters.
const DefaultProfile = "authors"

// DefaultSeed is the seed of grids that give none (the authors' seed).
const DefaultSeed = 57

// ProfileNames lists the profiles, sorted.
func (c *Config) ProfileNames() []string {
	var out []string
	for n := range c.Profiles {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
