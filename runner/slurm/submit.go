package slurm

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/cofiharness/cofi/internal/atomicfile"
)

// Dir is the directory of an experiment's submissions, under the experiment.
const Dir = "slurm"

// MaxArray is the most tasks put into one array (Slurm's MaxArraySize
// defaults to 1001, so indices 0..1000).
const MaxArray = 1000

// JobName is the sbatch --job-name of every job of an experiment.
func JobName(experiment string) string { return "cofi-" + experiment }

// Resources are the sbatch settings of the stages of one array.
type Resources struct {
	Partition, Account, QOS, Constraint string
	Time                                time.Duration // 0 = the partition's default
	GPUs                                int
	Gres                                string
	CPUs                                int
	Mem                                 string
	Exclusive                           bool // the stages must have the node to themselves (latency)
	SignalLead                          time.Duration
	Throttle                            int
	Extra                               []string
}

// Array is one job array of a submission: the stages, by task index.
type Array struct {
	Name      string    `json:"name"` // file stem in the submission directory
	Kind      string    `json:"kind"`
	Wave      int       `json:"wave"`
	Stages    []string  `json:"stages"` // stage ids by task index
	Dirs      []string  `json:"dirs"`   // stage directories by task index
	After     []string  `json:"after,omitempty"`
	Args      []string  `json:"args"`          // sbatch arguments, as run
	Job       string    `json:"job,omitempty"` // array job id, once known
	Created   time.Time `json:"created"`
	Resources Resources `json:"-"`
}

// TaskCommand is the command every task of an array runs (see Script).
type TaskCommand struct {
	Binary   string // cofi executable
	Manifest string // the submission's manifest copy
	Threads  int
	CPUOnly  bool     // hide GPUs from the stage (CUDA_VISIBLE_DEVICES=)
	Args     []string // more run-stage flags
}

// Script is the batch script of an array: index -> stage id, then exec
// `cofi run-stage --slurm`.
func Script(a *Array, c TaskCommand, experiment string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "#!/bin/sh\n# Written by 'cofi run' for experiment %s: array %s, wave %d, %d %s stage(s).\n", experiment, a.Name, a.Wave, len(a.Stages), a.Kind)
	b.WriteString("# Slurm runs one task per stage; each task's output is the stage's log.txt.\nset -u\n")
	b.WriteString("case \"${SLURM_ARRAY_TASK_ID:-}\" in\n")
	for i, id := range a.Stages {
		fmt.Fprintf(&b, "%d) stage=%s ;;\n", i, id)
	}
	b.WriteString("*) echo \"cofi: no stage for array task ${SLURM_ARRAY_TASK_ID:-(none)}\" >&2; exit 2 ;;\nesac\n")
	fmt.Fprintf(&b, "export OMP_NUM_THREADS=%d MKL_NUM_THREADS=%d\n", c.Threads, c.Threads)
	if c.CPUOnly {
		b.WriteString("export CUDA_VISIBLE_DEVICES=  # a CPU stage must not grab a GPU\n")
	}
	args := []string{quote(c.Binary), "run-stage", "--slurm", "--manifest", quote(c.Manifest), "--stage", `"$stage"`,
		"--threads", strconv.Itoa(c.Threads)}
	for _, x := range c.Args {
		args = append(args, quote(x))
	}
	fmt.Fprintf(&b, "exec %s\n", strings.Join(args, " "))
	return b.String()
}

// quote makes s one word for sh.
func quote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./=:,+@%") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// SbatchArgs are the sbatch arguments of an array whose files are in
// subDir, depending on the jobs after (afterany).
func SbatchArgs(a *Array, jobName, subDir string) []string {
	r := a.Resources
	arr := fmt.Sprintf("0-%d", len(a.Stages)-1)
	if r.Throttle > 0 {
		arr += "%" + strconv.Itoa(r.Throttle)
	}
	args := []string{"--job-name=" + jobName, "--array=" + arr,
		"--output=" + filepath.Join(subDir, a.Name, "%a", "log.txt"), "--open-mode=append", "--requeue"}
	if r.SignalLead > 0 {
		args = append(args, fmt.Sprintf("--signal=B:USR1@%d", int(math.Ceil(r.SignalLead.Seconds()))))
	}
	if r.Time > 0 {
		args = append(args, fmt.Sprintf("--time=%d", int(math.Ceil(r.Time.Minutes()))))
	}
	for _, kv := range []struct{ flag, v string }{{"--partition", r.Partition}, {"--account", r.Account}, {"--qos", r.QOS},
		{"--constraint", r.Constraint}, {"--gres", r.Gres}, {"--mem", r.Mem}} {
		if kv.v != "" {
			args = append(args, kv.flag+"="+kv.v)
		}
	}
	if r.GPUs > 0 {
		args = append(args, "--gpus="+strconv.Itoa(r.GPUs))
	}
	args = append(args, "--cpus-per-task="+strconv.Itoa(max(r.CPUs, 1)))
	if r.Exclusive {
		args = append(args, "--exclusive")
	}
	if len(a.After) > 0 {
		args = append(args, "--dependency=afterany:"+strings.Join(a.After, ":"))
	}
	return append(args, r.Extra...)
}

// Prepare writes everything of array a into subDir before it is submitted:
// the links <name>/<index> to the stage directories (so that --output lands
// in each stage's log.txt), the stage list <name>.json and the script
// <name>.sh. It returns the script's path.
func Prepare(subDir string, a *Array, script string) (string, error) {
	if strings.Contains(subDir, "%") {
		return "", fmt.Errorf("%s: a '%%' in the results path would be read as an sbatch filename pattern; use another results directory", subDir)
	}
	links := filepath.Join(subDir, a.Name)
	if err := os.MkdirAll(links, 0o755); err != nil {
		return "", err
	}
	for i, d := range a.Dirs {
		rel, err := filepath.Rel(links, d)
		if err != nil {
			rel = d
		}
		l := filepath.Join(links, strconv.Itoa(i))
		os.Remove(l)
		if err := os.Symlink(rel, l); err != nil {
			return "", fmt.Errorf("link %s: %w", l, err)
		}
	}
	if err := a.save(subDir); err != nil {
		return "", err
	}
	path := filepath.Join(subDir, a.Name+".sh")
	if err := atomicfile.Write(path, []byte(script), 0o755); err != nil {
		return "", err
	}
	return path, nil
}

func (a *Array) save(subDir string) error {
	b, err := json.MarshalIndent(a, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(subDir, a.Name+".json"), append(b, '\n'), 0o644)
}

// Submitted writes down the job id of a submitted array.
func (a *Array) Submitted(subDir, job string) error {
	a.Job = job
	return a.save(subDir)
}

// Ledger maps the tasks squeue reports back to stages, through the array
// files of the experiment's submissions.
type Ledger struct {
	root   string // <experiment>/slurm, absolute
	arrays map[string]*Array
}

// NewLedger reads submissions under expDir/slurm as needed.
func NewLedger(expDir string) *Ledger {
	return &Ledger{root: filepath.Join(expDir, Dir), arrays: map[string]*Array{}}
}

// Ours reports whether a task was submitted for this experiment.
func (l *Ledger) Ours(t Task) bool {
	return strings.HasPrefix(t.Script, l.root+string(filepath.Separator)) && strings.HasSuffix(t.Script, ".sh")
}

// Stage returns the stage id of a task of ours ("" when it cannot tell).
func (l *Ledger) Stage(t Task) string {
	if !l.Ours(t) || t.Index < 0 {
		return ""
	}
	a, ok := l.arrays[t.Script]
	if !ok {
		a = &Array{}
		b, err := os.ReadFile(strings.TrimSuffix(t.Script, ".sh") + ".json")
		if err != nil || json.Unmarshal(b, a) != nil {
			a = nil
		}
		l.arrays[t.Script] = a
	}
	if a == nil || t.Index >= len(a.Stages) {
		return ""
	}
	return a.Stages[t.Index]
}

// Submissions lists every array ever prepared for the experiment, oldest
// first; for tests and `cofi status`.
func (l *Ledger) Submissions() ([]*Array, error) {
	files, err := filepath.Glob(filepath.Join(l.root, "*", "*.json"))
	if err != nil {
		return nil, err
	}
	var out []*Array
	for _, f := range files {
		var a Array
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		if json.Unmarshal(b, &a) != nil || len(a.Stages) == 0 {
			continue // the submission's manifest.json
		}
		out = append(out, &a)
	}
	return out, nil
}
