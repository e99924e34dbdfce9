//go:build !torch

// The Slurm executor against a real one-node Slurm (package slurmtest),
// with fake stages. Built without the torch tag only: the fake kind needs no
// libtorch, and `make test` runs these once, in its pure-Go pass.

package main

import (
	"bytes"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cofiharness/cofi/record"
	"github.com/cofiharness/cofi/runner/config"
	"github.com/cofiharness/cofi/runner/plan"
	"github.com/cofiharness/cofi/runner/slurm"
	"github.com/cofiharness/cofi/runner/slurm/slurmtest"
	"github.com/cofiharness/cofi/runner/store"
	"github.com/cofiharness/cofi/stage/fake"
)

// slurmExp is one experiment run through the test cluster.
type slurmExp struct {
	t    *testing.T
	c    *slurmtest.Cluster
	dir  string // working directory; results under results/
	cfg  string
	name string
}

func newSlurmExp(t *testing.T, c *slurmtest.Cluster, name, body string) *slurmExp {
	dir := t.TempDir()
	src := fmt.Sprintf("experiment = %q\nfake = true\n", name) + body
	cfg := filepath.Join(dir, name+".toml")
	if err := os.WriteFile(cfg, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return &slurmExp{t: t, c: c, dir: dir, cfg: cfg, name: name}
}

func (e *slurmExp) expDir() string { return filepath.Join(e.dir, "results", e.name) }

func (e *slurmExp) cmd(args ...string) *exec.Cmd {
	cmd := cofiCmd(e.t, e.dir, args...)
	cmd.Env = append(cmd.Env, e.c.Env())
	return cmd
}

// run runs cofi to its end and returns its output and exit status.
func (e *slurmExp) run(args ...string) (string, int) {
	e.t.Helper()
	cmd := e.cmd(args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return out.String(), ee.ExitCode()
	}
	if err != nil {
		e.t.Fatal(err)
	}
	return out.String(), 0
}

func (e *slurmExp) plan() *plan.Plan {
	e.t.Helper()
	c, err := config.Load(e.cfg, config.Options{Dir: e.dir})
	if err != nil {
		e.t.Fatal(err)
	}
	p, err := plan.Build(c, plan.Options{Device: "cpu", Threads: 1})
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

func (e *slurmExp) records() map[string][]record.Record {
	e.t.Helper()
	recs, probs, err := record.ReadFile(filepath.Join(e.expDir(), store.RecordsFile))
	if err != nil || len(probs) > 0 {
		e.t.Fatalf("records: %v, problems %v", err, probs)
	}
	by := map[string][]record.Record{}
	for _, r := range recs {
		by[r.Stage] = append(by[r.Stage], r)
	}
	return by
}

// tasks lists every task squeue knows for the experiment (ended ones too:
// MinJobAge is long in the test cluster), by stage id.
func (e *slurmExp) tasks() map[string][]slurm.Task {
	e.t.Helper()
	out, err := e.c.Command("squeue", "--noheader", "--array", "--states=all", "--name="+slurm.JobName(e.name),
		"--format=%i|%F|%K|%A|%T|%r|%N|%M|%o").Output()
	if err != nil {
		e.t.Fatalf("squeue: %v", err)
	}
	ts, err := slurm.ParseQueue(string(out))
	if err != nil {
		e.t.Fatal(err)
	}
	l := slurm.NewLedger(e.expDir())
	by := map[string][]slurm.Task{}
	for _, t := range ts {
		if id := l.Stage(t); id != "" {
			by[id] = append(by[id], t)
		}
	}
	return by
}

// trace returns the fake stage's resume points ("start N" lines) and steps.
func trace(t *testing.T, dir string) (starts []int, steps int) {
	b, _ := os.ReadFile(filepath.Join(dir, fake.TraceFile))
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		switch {
		case len(f) >= 2 && f[0] == "start":
			n, _ := strconv.Atoi(f[1])
			starts = append(starts, n)
		case len(f) >= 1 && f[0] == "step":
			steps++
		}
	}
	return starts, steps
}

// waitFor polls cond until it holds or the time is up.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); !cond(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
	}
}

// slurmExecutor is the tests' [executor]: max_attempts and extra
// [executor.slurm] lines are filled in. Latency stages are not exclusive so
// that the tests can share the one node.
const slurmExecutor = `
[executor]
kind = "slurm"
threads = 1
max_attempts = %d
[executor.slurm]
mem = "200M"
poll = "300ms"
exclusive = false
%s
`

// TestSlurm runs the Slurm scenarios in parallel on one test cluster.
func TestSlurm(t *testing.T) {
	c := slurmtest.Start(t)
	t.Run("Grid", func(t *testing.T) { t.Parallel(); testSlurmGrid(t, c) })
	t.Run("ScancelResumes", func(t *testing.T) { t.Parallel(); testSlurmScancel(t, c) })
	t.Run("TimeLimitResumes", func(t *testing.T) { t.Parallel(); testSlurmTimeLimit(t, c) })
	t.Run("DetachedKilledSubmitsNothingTwice", func(t *testing.T) { t.Parallel(); testSlurmDetachKill(t, c) })
	t.Run("OverMemoryIsOOM", func(t *testing.T) { t.Parallel(); testSlurmOOM(t, c) })
	t.Run("CtrlC", func(t *testing.T) { t.Parallel(); testSlurmCtrlC(t, c) })
	t.Run("JobStates", func(t *testing.T) { t.Parallel(); testSlurmJobStates(t, c) })
}

// testSlurmJobStates: where accounting storage is disabled, the states of
// ended jobs come from squeue while it remembers them, then from the job
// completion log (sacct -c); sbatch, scancel and the queue parse as the
// executor expects.
func testSlurmJobStates(t *testing.T, c *slurmtest.Cluster) {
	cl := slurm.NewClient(slurm.DefaultCommands)
	cl.Env = []string{c.Env()}
	dir := t.TempDir()
	script := filepath.Join(dir, "fail.sh")
	os.WriteFile(script, []byte("#!/bin/sh\nexit 3\n"), 0o755)
	sleeper := filepath.Join(dir, "sleep.sh")
	os.WriteFile(sleeper, []byte("#!/bin/sh\nsleep 60\n"), 0o755)
	name := "cofi-jobstates"
	failed, err := cl.Submit([]string{"--job-name=" + name, "--mem=10M", "--output=" + filepath.Join(dir, "%j.out")}, script)
	if err != nil {
		t.Fatal(err)
	}
	long, err := cl.Submit([]string{"--job-name=" + name, "--mem=10M", "--array=0-1", "--output=" + filepath.Join(dir, "%A_%a.out")}, sleeper)
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.Cancel([]string{long + "_0", long + "_1"}, ""); err != nil {
		t.Fatal(err)
	}
	var tasks []slurm.Task
	defer func() {
		if t.Failed() {
			t.Logf("tasks: %+v", tasks)
		}
	}()
	waitFor(t, 60*time.Second, "the jobs to end", func() bool {
		tasks, err = cl.Queue(name)
		if err != nil {
			t.Fatal(err)
		}
		ended := 0
		for _, tk := range tasks {
			if !tk.Active() {
				ended++
			}
		}
		// An array cancelled before any task started stays one line.
		return ended == len(tasks) && len(tasks) >= 2
	})
	refs := []slurm.Ref{}
	for _, tk := range tasks {
		want, cmd := "CANCELLED", sleeper
		if tk.ID == failed {
			want, cmd = "FAILED", script
		}
		if tk.State != want || tk.Script != cmd {
			t.Errorf("squeue: %+v, want %s", tk, want)
		}
		refs = append(refs, slurm.Ref{ID: tk.ID, JobID: tk.JobID})
	}
	states, source, err := cl.FinalStates(refs)
	if err != nil || source != "jobcomp" {
		t.Fatalf("FinalStates: %v from %q, %v", states, source, err)
	}
	if states[failed] != "FAILED" {
		t.Errorf("job completion log: %v", states)
	}
	t.Logf("squeue: %d ended tasks; sacct -c: %v", len(tasks), states)
}

// testSlurmCtrlC: Ctrl-C in an attached run asks the running stage to
// checkpoint (recorded as interrupted), cancels the queued tasks and exits
// 130; the next run continues from the checkpoint.
func testSlurmCtrlC(t *testing.T, c *slurmtest.Cluster) {
	e := newSlurmExp(t, c, "ctrlc", fmt.Sprintf(slurmExecutor, 2, "")+`
[fake_stage]
steps = 30
step_ms = 100
[[grid]]
tasks = ["syn-single"]
methods = ["teacher", "cofi"]
sparsities = [0.6]
`)
	p := e.plan()
	teacher := p.Stages[0]
	cmd := e.cmd("run", e.cfg, "--progress", "plain")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	waitFor(t, 90*time.Second, "the teacher to make progress", func() bool { _, n := trace(t, teacher.Spec.Dir); return n >= 5 })
	cmd.Process.Signal(os.Interrupt)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		t.Fatalf("cofi run did not stop:\n%s", out.String())
	}
	if code := cmd.ProcessState.ExitCode(); code != 130 || !strings.Contains(out.String(), "interrupt: cancelling") {
		t.Fatalf("exit %d:\n%s", code, out.String())
	}
	rs := e.records()[teacher.ID]
	if len(rs) != 1 || rs[0].Failure == nil || rs[0].Failure.Class != record.FailInterrupted {
		t.Fatalf("teacher records %+v", rs)
	}
	for id, ts := range e.tasks() {
		for _, tk := range ts {
			if tk.Active() {
				t.Errorf("stage %s: task %s still %s after Ctrl-C", id, tk.ID, tk.State)
			}
		}
	}
	out2, code := e.run("run", e.cfg, "--progress", "plain")
	if code != 0 {
		t.Fatalf("second run exited %d:\n%s", code, out2)
	}
	if starts, _ := trace(t, teacher.Spec.Dir); len(starts) != 2 || starts[1] < 5 {
		t.Errorf("teacher resume points %v", starts)
	}
}

// testSlurmGrid: a 26-stage grid on four dependency levels completes
// through job arrays with exactly one record per stage, each naming its
// job, array index and node, and the tasks' output in the stage logs.
func testSlurmGrid(t *testing.T, c *slurmtest.Cluster) {
	e := newSlurmExp(t, c, "grid", fmt.Sprintf(slurmExecutor, 2, "")+`
[fake_stage]
steps = 5
step_ms = 20
[[grid]]
tasks = ["syn-single", "syn-pair"]
methods = ["teacher", "cofi", "cofi-no-distill"]
sparsities = [0.6, 0.9]
`)
	p := e.plan()
	if len(p.Stages) < 20 {
		t.Fatalf("%d stages, want at least 20", len(p.Stages))
	}
	out, code := e.run("run", e.cfg, "--progress", "plain")
	if code != 0 {
		t.Fatalf("cofi run --executor slurm exited %d:\n%s", code, out)
	}
	if !strings.Contains(out, fmt.Sprintf("%d/%d stages", len(p.Stages), len(p.Stages))) || !strings.Contains(out, "submitted ") {
		t.Errorf("no progress or submission lines:\n%s", out)
	}
	recs := e.records()
	tasks := e.tasks()
	waves := map[int]bool{}
	for _, st := range p.Stages {
		rs := recs[st.ID]
		if len(rs) != 1 || rs[0].Status != record.StatusOK || rs[0].Attempt != 1 {
			t.Errorf("%s: records %+v", st.Name(), rs)
			continue
		}
		j := rs[0].Provenance.Job
		if j == nil || j.Scheduler != "slurm" || j.ArrayTask == nil || j.Node != c.Node || j.JobID == "" ||
			j.ID != j.ArrayJob+"_"+strconv.Itoa(*j.ArrayTask) || rs[0].Provenance.SchedulerID != j.ID {
			t.Errorf("%s: job provenance %+v", st.Name(), j)
			continue
		}
		if ts := tasks[st.ID]; len(ts) != 1 || ts[0].ID != j.ID || ts[0].State != "COMPLETED" {
			t.Errorf("%s: tasks %+v, record names %s", st.Name(), ts, j.ID)
		}
		log, _ := os.ReadFile(filepath.Join(st.Spec.Dir, store.LogFile))
		if !strings.Contains(string(log), "=== attempt 1,") || !strings.Contains(string(log), "slurm job "+j.ID) ||
			!strings.Contains(string(log), "run-stage: done") {
			t.Errorf("%s: log.txt:\n%s", st.Name(), log)
		}
		if _, err := fake.ReadOutput(st.Spec.Dir); err != nil {
			t.Errorf("%s: %v", st.Name(), err)
		}
		waves[len(st.Upstream)] = true
	}
	arrays, err := slurm.NewLedger(e.expDir()).Submissions()
	if err != nil || len(arrays) < 4 {
		t.Errorf("%d arrays (%v), want one per wave and kind", len(arrays), err)
	}
	for _, a := range arrays {
		if a.Wave > 0 && !strings.Contains(strings.Join(a.Args, " "), "--dependency=afterany:") {
			t.Errorf("array %s of wave %d has no dependency: %v", a.Name, a.Wave, a.Args)
		}
	}
	// Nothing is left to do, and status agrees.
	out, code = e.run("run", e.cfg, "--progress", "plain")
	if code != 0 || strings.Contains(out, "submitted ") {
		t.Errorf("second run (exit %d) submitted again:\n%s", code, out)
	}
	st, _ := e.run("status", e.cfg)
	if !strings.Contains(st, fmt.Sprintf("%d stages: %d done;", len(p.Stages), len(p.Stages))) {
		t.Errorf("status:\n%s", st)
	}
}

// testSlurmScancel: a stage cancelled with scancel mid-run checkpoints, is
// recorded as class signal, is submitted again by the attached runner and
// resumes from its checkpoint.
func testSlurmScancel(t *testing.T, c *slurmtest.Cluster) {
	e := newSlurmExp(t, c, "cancel", fmt.Sprintf(slurmExecutor, 2, "")+`
[fake_stage]
steps = 60
step_ms = 100
[[grid]]
tasks = ["syn-single"]
methods = ["teacher"]
`)
	p := e.plan()
	st := p.Stages[0]
	cmd := e.cmd("run", e.cfg, "--progress", "plain")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	waitFor(t, 90*time.Second, "the stage to make progress", func() bool { _, n := trace(t, st.Spec.Dir); return n >= 10 })
	var job string
	waitFor(t, 10*time.Second, "the attempt marker", func() bool {
		if a := store.ReadAttempts(st.Spec.Dir); len(a) > 0 && a[0].Provenance.Job != nil {
			job = a[0].Provenance.Job.ID
		}
		return job != ""
	})
	if err := e.c.Command("scancel", job).Run(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("cofi run: %v\n%s", err, out.String())
		}
	case <-time.After(3 * time.Minute):
		t.Fatalf("cofi run did not finish:\n%s", out.String())
	}
	rs := e.records()[st.ID]
	if len(rs) != 2 || rs[0].Status != record.StatusFailed || rs[0].Failure.Class != record.FailSignal ||
		!strings.Contains(rs[0].Failure.Message, "cancelled") || rs[1].Status != record.StatusOK {
		t.Fatalf("records %+v\n%s", rs, out.String())
	}
	starts, steps := trace(t, st.Spec.Dir)
	if len(starts) != 2 || starts[0] != 0 || starts[1] < 10 || steps > 61 {
		t.Errorf("resume points %v, %d steps: want a restart from the checkpoint", starts, steps)
	}
	if rs[1].Result.Train.ResumedFrom < 10 {
		t.Errorf("resumed from %d", rs[1].Result.Train.ResumedFrom)
	}
	if !strings.Contains(out.String(), "retry  ") {
		t.Errorf("no retry line:\n%s", out.String())
	}
}

// testSlurmTimeLimit: a stage longer than its time limit gets SIGUSR1 ahead
// of the limit, checkpoints, is recorded as timeout, requeues its own job
// and continues from its checkpoint until it is done.
func testSlurmTimeLimit(t *testing.T, c *slurmtest.Cluster) {
	// Slurm checks limits every 30 s: SIGUSR1 comes 5 to 35 s into each
	// attempt, so the 40 s stage is stopped at least once.
	e := newSlurmExp(t, c, "timelimit", fmt.Sprintf(slurmExecutor, 10, `time = "1m"
signal_lead = "55s"`)+`
[fake_stage]
steps = 80
step_ms = 500
[[grid]]
tasks = ["syn-single"]
methods = ["teacher"]
`)
	st := e.plan().Stages[0]
	out, code := e.run("run", e.cfg, "--progress", "plain")
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	rs := e.records()[st.ID]
	timeouts := 0
	for i, r := range rs {
		if i == len(rs)-1 {
			if r.Status != record.StatusOK {
				t.Errorf("last attempt %+v", r)
			}
			break
		}
		if r.Status != record.StatusFailed || r.Failure.Class != record.FailTimeout {
			t.Errorf("attempt %d: %+v", r.Attempt, r.Failure)
		} else {
			timeouts++
		}
		if r.Provenance.Job == nil || rs[len(rs)-1].Provenance.Job == nil || r.Provenance.Job.ID != rs[len(rs)-1].Provenance.Job.ID {
			t.Errorf("attempt %d ran in another job: not requeued but resubmitted", r.Attempt)
		}
	}
	if timeouts == 0 {
		t.Fatalf("no attempt hit the time limit: %+v\n%s", rs, out)
	}
	for _, r := range rs {
		msg := "ok"
		if r.Failure != nil {
			msg = r.Failure.Class + ": " + r.Failure.Message
		}
		t.Logf("attempt %d (job %s, restarts %d): %.0fs, %s", r.Attempt, r.Provenance.SchedulerID, r.Provenance.Job.Restarts, r.Wall, msg)
	}
	starts, steps := trace(t, st.Spec.Dir)
	if len(starts) != len(rs) || starts[len(starts)-1] == 0 || steps > 80+len(starts) {
		t.Errorf("resume points %v, %d steps, %d attempts", starts, steps, len(rs))
	}
	log, _ := os.ReadFile(filepath.Join(st.Spec.Dir, store.LogFile))
	if !strings.Contains(string(log), "requeueing job") {
		t.Errorf("log.txt says nothing of a requeue:\n%s", log)
	}
}

// testSlurmDetachKill: `cofi run --detach` SIGKILLed at random moments of
// its submission, again and again, then run to its end: every stage gets
// exactly one Slurm task and one attempt, and the grid completes.
func testSlurmDetachKill(t *testing.T, c *slurmtest.Cluster) {
	e := newSlurmExp(t, c, "detach", fmt.Sprintf(slurmExecutor, 2, "")+`
[fake_stage]
steps = 10
step_ms = 50
[[grid]]
tasks = ["syn-single", "syn-pair"]
methods = ["teacher", "cofi", "cofi-no-distill"]
sparsities = [0.6, 0.9]
`)
	p := e.plan()
	seed := time.Now().UnixNano()
	rng := rand.New(rand.NewSource(seed))
	t.Logf("random seed %d", seed)
	submitted := func() int { // arrays whose sbatch has returned
		arrays, _ := slurm.NewLedger(e.expDir()).Submissions()
		n := 0
		for _, a := range arrays {
			if a.Job != "" {
				n++
			}
		}
		return n
	}
	partial := 0
	for kills := 1; kills <= 6; kills++ {
		before, arraysBefore := len(e.tasks()), submitted()
		if before == len(p.Stages) {
			break
		}
		cmd := e.cmd("run", e.cfg, "--detach", "--progress", "plain")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		how := ""
		if kills%2 == 1 {
			// Right after an sbatch returned: mid-submission.
			deadline := time.Now().Add(20 * time.Second)
			for submitted() == arraysBefore && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			how = "after an sbatch"
		} else {
			d := time.Duration(rng.Intn(800)) * time.Millisecond
			time.Sleep(d)
			how = "after " + d.String()
		}
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		after := len(e.tasks())
		if after > before && after < len(p.Stages) {
			partial++
		}
		t.Logf("kill %d %s (exit %v): stages with a task: %d before, %d after; arrays submitted: %d",
			kills, how, cmd.ProcessState, before, after, submitted())
		if strings.Contains(out.String(), "already being run") {
			t.Logf("  it found the lock of the killed one (an sbatch was still running)")
		}
	}
	if partial == 0 {
		t.Errorf("no kill landed in the middle of a submission")
	}
	out, code := e.run("run", e.cfg, "--detach", "--progress", "plain")
	if code != 0 || !strings.Contains(out, "detached") {
		t.Fatalf("final detached run exited %d:\n%s", code, out)
	}
	st, _ := e.run("status", e.cfg)
	if !strings.Contains(st, "slurm: ") {
		t.Errorf("status does not report the queue:\n%s", st)
	}
	t.Logf("status of the detached grid:\n%s", lastLines(st, 12))
	out, code = e.run("run", e.cfg, "--progress", "plain") // waits for the jobs
	if code != 0 {
		t.Fatalf("attached run exited %d:\n%s", code, out)
	}
	tasks, recs := e.tasks(), e.records()
	for _, s := range p.Stages {
		if len(tasks[s.ID]) != 1 {
			t.Errorf("%s: %d Slurm tasks %+v, want exactly one", s.Name(), len(tasks[s.ID]), tasks[s.ID])
		}
		if rs := recs[s.ID]; len(rs) != 1 || rs[0].Status != record.StatusOK {
			t.Errorf("%s: records %+v", s.Name(), rs)
		}
	}
}

// testSlurmOOM: a stage that allocates past its --mem is killed by Slurm
// and recorded as class oom.
func testSlurmOOM(t *testing.T, c *slurmtest.Cluster) {
	e := newSlurmExp(t, c, "oom", strings.Replace(fmt.Sprintf(slurmExecutor, 2, ""), `mem = "200M"`, `mem = "100M"`, 1)+`
[fake_stage]
steps = 4
step_ms = 10
fail = "alloc"
[[grid]]
tasks = ["syn-single"]
methods = ["teacher"]
`)
	st := e.plan().Stages[0]
	out, code := e.run("run", e.cfg, "--progress", "plain")
	if code != 1 {
		t.Errorf("exit %d, want 1 (a failed stage):\n%s", code, out)
	}
	rs := e.records()[st.ID]
	if len(rs) != 1 || rs[0].Failure == nil || rs[0].Failure.Class != record.FailOOM {
		log, _ := os.ReadFile(filepath.Join(st.Spec.Dir, store.LogFile))
		t.Fatalf("records %+v\nlog:\n%s\nrun:\n%s", rs, log, out)
	}
	if !regexp.MustCompile(`(?i)memory`).MatchString(rs[0].Failure.Message) {
		t.Errorf("message %q", rs[0].Failure.Message)
	}
}
