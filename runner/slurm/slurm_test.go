package slurm

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cofiharness/cofi/record"
)

func TestParseQueue(t *testing.T) {
	out := `7_1|7|1|7|PENDING|JobArrayTaskLimit||0:00|/r/e/slurm/s1/a00-w0-teacher.sh
7_0|7|0|9|RUNNING|None|vm|1:02:03|/r/e/slurm/s1/a00-w0-teacher.sh
8|8|N/A|8|PENDING|Dependency||0:00|(null)
3|3|N/A|3|TIMEOUT|TimeLimit|vm|1-00:00:05|/x.sh
`
	ts, err := ParseQueue(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 4 {
		t.Fatalf("%d tasks", len(ts))
	}
	want := []Task{
		{ID: "7_1", ArrayJob: "7", Index: 1, JobID: "7", State: "PENDING", Reason: "JobArrayTaskLimit", Script: "/r/e/slurm/s1/a00-w0-teacher.sh"},
		{ID: "7_0", ArrayJob: "7", Index: 0, JobID: "9", State: "RUNNING", Node: "vm", Elapsed: time.Hour + 2*time.Minute + 3*time.Second, Script: "/r/e/slurm/s1/a00-w0-teacher.sh"},
		{ID: "8", ArrayJob: "8", Index: -1, JobID: "8", State: "PENDING", Reason: "Dependency", Script: "(null)"},
		{ID: "3", ArrayJob: "3", Index: -1, JobID: "3", State: "TIMEOUT", Reason: "TimeLimit", Node: "vm", Elapsed: 24*time.Hour + 5*time.Second, Script: "/x.sh"},
	}
	for i := range want {
		if ts[i] != want[i] {
			t.Errorf("task %d:\n got %+v\nwant %+v", i, ts[i], want[i])
		}
	}
	if !ts[0].Active() || ts[0].Started() || !ts[1].Started() || ts[3].Active() {
		t.Error("Active/Started")
	}
	if _, err := ParseQueue("1|2|3\n"); err == nil {
		t.Error("a short line is accepted")
	}
	l := NewLedger("/r/e")
	if !l.Ours(ts[0]) || l.Ours(ts[2]) || l.Ours(ts[3]) {
		t.Error("Ours")
	}
}

func TestEnded(t *testing.T) {
	for s, want := range map[string]bool{"COMPLETED": true, "CANCELLED by 0": true, "CANCELLED+": true, "OUT_OF_MEMORY": true,
		"PENDING": false, "RUNNING": false, "COMPLETING": false, "REQUEUED": false, "": false} {
		if Ended(s) != want {
			t.Errorf("Ended(%q) = %v", s, !want)
		}
	}
}

// The log lines are what slurmd 22.05 wrote in our one-node cluster.
func TestClassify(t *testing.T) {
	const (
		oomLog = `run-stage: teacher ...
slurmstepd-vm: error: StepId=1.batch exceeded memory limit (116092928 > 52428800), being killed
slurmstepd-vm: error: Exceeded job memory limit
slurmstepd-vm: error: *** JOB 1 ON vm CANCELLED AT 2026-12-02T14:28:03 ***
`
		cancelLog  = "slurmstepd-vm: error: *** JOB 4 ON vm CANCELLED AT 2026-12-02T14:28:12 ***\n"
		timeLog    = "slurmstepd-vm: error: *** JOB 3 ON vm CANCELLED AT 2026-12-02T14:29:23 DUE TO TIME LIMIT ***\n"
		preemptLog = "slurmstepd: error: *** JOB 3 ON n1 CANCELLED AT 2026-12-02T14:29:23 DUE TO PREEMPTION ***\n"
		cgroupLog  = "slurmstepd: error: Detected 1 oom-kill event(s) in StepId=5.batch. Some of your processes may have been killed by the cgroup out-of-memory handler.\n"
		mention    = "run-stage: the stage printed: exceeded memory limit\n" // not slurmstepd
	)
	cases := []struct {
		state, log, class, says string
	}{
		{"FAILED", oomLog, record.FailOOM, "more memory than --mem"},
		{"CANCELLED", oomLog, record.FailOOM, "more memory"},
		{"", oomLog, record.FailOOM, "more memory"},
		{"OUT_OF_MEMORY", "", record.FailOOM, "OUT_OF_MEMORY"},
		{"FAILED", cgroupLog, record.FailOOM, "OOM killer"},
		{"CANCELLED", cancelLog, record.FailSignal, "cancelled"},
		{"", cancelLog, record.FailSignal, "cancelled"},
		{"TIMEOUT", timeLog, record.FailTimeout, "time limit"},
		{"", timeLog, record.FailTimeout, "time limit"},
		{"TIMEOUT", "", record.FailTimeout, "TIMEOUT"},
		{"DEADLINE", "", record.FailTimeout, "DEADLINE"},
		{"PREEMPTED", preemptLog, record.FailSignal, "preempted"},
		{"CANCELLED", preemptLog, record.FailSignal, "preempted"},
		{"NODE_FAIL", "", record.FailSignal, "node failed"},
		{"FAILED", mention, record.FailExit, "without writing failure.json"},
		{"COMPLETED", "", record.FailExit, "without writing result.json"},
		{"", "", record.FailSignal, "no longer knows"},
	}
	for _, c := range cases {
		v := Classify(c.state, c.log)
		if v.Class != c.class || !strings.Contains(v.Message, c.says) {
			t.Errorf("Classify(%q, %.40q) = %+v, want %s saying %q", c.state, c.log, v, c.class, c.says)
		}
	}
}

func TestAttemptLog(t *testing.T) {
	log := "=== attempt 1, t0: a\none\nslurmstepd: x\n=== attempt 2, t1: b\ntwo\n=== attempt 3, t2\nthree\n"
	for n, want := range map[int]string{
		1: "=== attempt 1, t0: a\none\nslurmstepd: x\n",
		2: "=== attempt 2, t1: b\ntwo\n",
		3: "=== attempt 3, t2\nthree\n",
		4: "",
	} {
		if got := AttemptLog(log, n); got != want {
			t.Errorf("attempt %d: %q, want %q", n, got, want)
		}
	}
	if AttemptLog("=== attempt 12, x\n", 1) != "" {
		t.Error("attempt 1 matched attempt 12")
	}
}

func TestJobFromEnv(t *testing.T) {
	env := map[string]string{"SLURM_JOB_ID": "15", "SLURM_ARRAY_JOB_ID": "12", "SLURM_ARRAY_TASK_ID": "3",
		"SLURMD_NODENAME": "n7", "SLURM_JOB_PARTITION": "gpu", "SLURM_JOB_GPUS": "2", "SLURM_RESTART_COUNT": "1"}
	j := JobFromEnv(func(k string) string { return env[k] })
	if j == nil || j.ID != "12_3" || j.JobID != "15" || j.ArrayJob != "12" || *j.ArrayTask != 3 || j.Node != "n7" ||
		j.GPUs != "2" || j.Partition != "gpu" || j.Restarts != 1 || j.Scheduler != "slurm" {
		t.Errorf("%+v", j)
	}
	if JobFromEnv(func(string) string { return "" }) != nil {
		t.Error("a job outside Slurm")
	}
}

func TestSbatchArgsAndScript(t *testing.T) {
	a := &Array{Name: "a01-w1-prune", Kind: "prune", Wave: 1, Stages: []string{"abc", "def"}, After: []string{"7", "9_2"},
		Resources: Resources{Partition: "gpu", Account: "nlp", QOS: "long", Constraint: "a100", Time: 90*time.Minute + time.Second,
			GPUs: 1, CPUs: 8, Mem: "32G", Exclusive: true, SignalLead: 5 * time.Minute, Throttle: 4, Extra: []string{"--mail-type=FAIL"}}}
	got := strings.Join(SbatchArgs(a, "cofi-t2", "/r/e/slurm/s1"), " ")
	want := "--job-name=cofi-t2 --array=0-1%4 --output=/r/e/slurm/s1/a01-w1-prune/%a/log.txt --open-mode=append --requeue " +
		"--signal=B:USR1@300 --time=91 --partition=gpu --account=nlp --qos=long --constraint=a100 --mem=32G --gpus=1 " +
		"--cpus-per-task=8 --exclusive --dependency=afterany:7:9_2 --mail-type=FAIL"
	if got != want {
		t.Errorf("sbatch args\n got %s\nwant %s", got, want)
	}
	s := Script(a, TaskCommand{Binary: "/opt/my cofi/cofi", Manifest: "/r/e/slurm/s1/manifest.json", Threads: 8, CPUOnly: true,
		Args: []string{"--retry", "signal,timeout"}}, "t2")
	// The script is valid sh and maps each index to its stage.
	dir := t.TempDir()
	bin := filepath.Join(dir, "cofi")
	os.WriteFile(bin, []byte("#!/bin/sh\necho \"$@ OMP=$OMP_NUM_THREADS CVD=[$CUDA_VISIBLE_DEVICES]\"\n"), 0o755)
	s = strings.Replace(s, "'/opt/my cofi/cofi'", bin, 1)
	for i, id := range a.Stages {
		cmd := exec.Command("sh", "-c", s)
		cmd.Env = append(os.Environ(), "SLURM_ARRAY_TASK_ID="+string(rune('0'+i)), "CUDA_VISIBLE_DEVICES=0")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %s\n%s", err, out, s)
		}
		want := "run-stage --slurm --manifest /r/e/slurm/s1/manifest.json --stage " + id + " --threads 8 --retry signal,timeout OMP=8 CVD=[]\n"
		if string(out) != want {
			t.Errorf("task %d: %q, want %q", i, out, want)
		}
	}
	cmd := exec.Command("sh", "-c", s)
	cmd.Env = append(os.Environ(), "SLURM_ARRAY_TASK_ID=5")
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "no stage for array task 5") {
		t.Errorf("unknown index: %v %s", err, out)
	}
	if q := quote("it's"); q != `'it'\''s'` {
		t.Errorf("quote: %s", q)
	}
}
