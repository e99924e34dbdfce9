package config

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestParseSlurm(t *testing.T) {
	src := minimal + `
[executor]
kind = "slurm"
max_attempts = 4
[executor.slurm]
partition = "gpu"
account = "nlp"
qos = "long"
time = { default = "2h", prune = "12h" }
gpus = 1
cpus = 8
mem = "32G"
constraint = "a100"
sbatch_args = ["--exclusive", "--mail-type=FAIL"]
exclusive = false
throttle = 4
signal_lead = "10m"
poll = "30s"
sbatch = "/opt/slurm/bin/sbatch"
`
	c, err := parse(t, src, nil)
	if err != nil {
		t.Fatal(err)
	}
	e := c.Executor
	s := e.Slurm
	if e.Kind != ExecSlurm || e.MaxAttempts != 4 || e.RetrySet {
		t.Errorf("executor %+v", e)
	}
	if s.Partition != "gpu" || s.Account != "nlp" || s.QOS != "long" || s.GPUs != 1 || s.CPUs != 8 || s.Mem != "32G" ||
		s.Constraint != "a100" || s.Exclusive || strings.Join(s.Args, " ") != "--exclusive --mail-type=FAIL" || s.Throttle != 4 ||
		s.SignalLead != 10*time.Minute || s.Poll != 30*time.Second || s.Sbatch != "/opt/slurm/bin/sbatch" || s.Squeue != "squeue" {
		t.Errorf("slurm %+v", s)
	}
	if s.TimeFor("prune") != 12*time.Hour || s.TimeFor("teacher") != 2*time.Hour || !s.UsesGPUs() {
		t.Errorf("time %v, gpus %v", s.Time, s.UsesGPUs())
	}
	c, err = parse(t, minimal+"[executor.slurm]\ntime = \"90m\"\ngres = \"gpu:a100:2\"\n", nil)
	if err != nil {
		t.Fatal(err)
	}
	if s := c.Executor.Slurm; s.TimeFor("final") != 90*time.Minute || !s.UsesGPUs() || s.Scancel != "scancel" || s.SignalLead != 5*time.Minute {
		t.Errorf("slurm %+v", s)
	}
	if c.Executor.Kind != ExecLocal {
		t.Errorf("[executor.slurm] alone must not change the kind: %q", c.Executor.Kind)
	}
}

func TestParseSlurmErrors(t *testing.T) {
	src := minimal + `[executor.slurm]
partition = "a b"
time = { default = "2h", pruning = "1h", final = "soon" }
gpus = 1
gres = "gpu:1"
mem = "lots"
sbatch_args = ["--array=0-3", 5]
signal_lead = "20h"
poll = "1ms"
squeue = ""
colour = "red"
`
	want := []string{
		`7:1 executor.slurm.partition: "a b": no spaces allowed`,
		`8:26 executor.slurm.time.pruning: unknown key in [executor.slurm.time] (known keys: augment, default, final, prune, speed, teacher, tinybert-layer, tinybert-pred)`,
		`8:42 executor.slurm.time.final: want a duration`,
		`10:1 executor.slurm.gres: give gpus or gres, not both`,
		`11:1 executor.slurm.mem: "lots" is not a memory size`,
		`12:16 executor.slurm.sbatch_args[0]: --array is set by cofi itself`,
		`12:31 executor.slurm.sbatch_args[1]: want a non-empty string, got integer 5`,
		`13:1 executor.slurm.signal_lead: at most 65535s`,
		`14:1 executor.slurm.poll: want at least 100ms`,
		`15:1 executor.slurm.squeue: empty command`,
		`16:1 executor.slurm.colour: unknown key in [executor.slurm]`,
	}
	_, err := parse(t, src, nil)
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("err = %v, want Problems", err)
	}
	if len(ps) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%v", len(ps), len(want), err)
	}
	for i, p := range ps {
		got := strconv.Itoa(p.Pos.Line) + ":" + strconv.Itoa(p.Pos.Col) + " " + p.Key + ": " + p.Msg
		if !strings.HasPrefix(got, want[i]) {
			t.Errorf("problem %d:\n got %s\nwant %s...", i, got, want[i])
		}
	}
}
