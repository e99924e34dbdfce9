package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cofiharness/cofi/record"
	"github.com/cofiharness/cofi/runner"
	"github.com/cofiharness/cofi/runner/config"
	"github.com/cofiharness/cofi/runner/plan"
	"github.com/cofiharness/cofi/runner/store"
	"github.com/cofiharness/cofi/stage/fake"
)

// The test binary doubles as the cofi binary: with COFI_TEST_MAIN=1 it runs
// main's command dispatch, so `cofi run` and the `cofi run-stage` children it
// starts (os.Executable, same environment) are real processes.
func TestMain(m *testing.M) {
	if os.Getenv("COFI_TEST_MAIN") == "1" {
		os.Exit(run(os.Args[1:]))
	}
	os.Exit(m.Run())
}

// cofiCmd prepares a cofi command running in dir.
func cofiCmd(t *testing.T, dir string, args ...string) *exec.Cmd {
	t.Helper()
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "COFI_TEST_MAIN=1", "CUDA_VISIBLE_DEVICES=")
	return cmd
}

// cofiOut runs a cofi command to its end and returns its output and exit status.
func cofiOut(t *testing.T, dir string, args ...string) (string, int) {
	t.Helper()
	cmd := cofiCmd(t, dir, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return out.String(), ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return out.String(), 0
}

const killConfig = `
experiment = "kill"
fake = true
[executor]
workers = 2
threads = 1
[fake_stage]
steps = 20
step_ms = 8
[[grid]]
tasks = ["syn-single", "syn-pair"]
methods = ["teacher", "cofi", "cofi-no-distill"]
sparsities = [0.6, 0.95]
seeds = [57]
`

// TestResumeAfterRepeatedSIGKILL kills `cofi run` with SIGKILL at random
// moments, again and again, then lets it finish, and checks that every stage
// was done exactly once with intact outputs, that every attempt has exactly
// one record and the records file is clean, and that killed stages resumed
// from their checkpoints instead of starting over.
func TestResumeAfterRepeatedSIGKILL(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "kill.toml")
	if err := os.WriteFile(cfg, []byte(killConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	seed := time.Now().UnixNano()
	rng := rand.New(rand.NewSource(seed))
	t.Logf("random seed %d", seed)
	expDir := filepath.Join(dir, "results", "kill")
	resumed := func() bool {
		traces, _ := filepath.Glob(filepath.Join(expDir, "stages", "*", fake.TraceFile))
		for _, tr := range traces {
			b, _ := os.ReadFile(tr)
			for _, l := range strings.Split(string(b), "\n") {
				if strings.HasPrefix(l, "start ") && !strings.HasPrefix(l, "start 0 ") {
					return true
				}
			}
		}
		return false
	}
	steps := func() int { // fake steps done so far, over every stage
		n := 0
		traces, _ := filepath.Glob(filepath.Join(expDir, "stages", "*", fake.TraceFile))
		for _, tr := range traces {
			b, _ := os.ReadFile(tr)
			n += strings.Count(string(b), "\nstep ")
		}
		return n
	}
	// Kill at a random moment once the run has made progress: start-up of a
	// binary linked with libtorch is slow and varies with the machine's load,
	// so a fixed window either never reaches the stages or outlasts the whole
	// run. One kill in four lands during start-up instead.
	kills := 0
	for kills < 12 || !resumed() && kills < 40 {
		before := steps()
		cmd := cofiCmd(t, dir, "run", cfg, "--progress", "plain")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if kills%4 == 3 {
			time.Sleep(time.Duration(rng.Intn(300)) * time.Millisecond)
		} else {
			for deadline := time.Now().Add(time.Minute); steps() == before && time.Now().Before(deadline); {
				time.Sleep(5 * time.Millisecond)
			}
			time.Sleep(time.Duration(rng.Intn(150)) * time.Millisecond)
		}
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		kills++
		if cmd.ProcessState.Success() {
			break // finished before the kill: nothing left to interrupt
		}
	}
	out, code := cofiOut(t, dir, "run", cfg, "--progress", "plain")
	if code != 0 {
		t.Fatalf("final run exited %d:\n%s", code, out)
	}
	t.Logf("%d kills; final run:\n%s", kills, lastLines(out, 4))

	recs, probs, err := record.ReadFile(filepath.Join(expDir, store.RecordsFile))
	if err != nil || len(probs) > 0 {
		t.Fatalf("records: %v, problems %v", err, probs)
	}
	c, err := config.Load(cfg, config.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	p, err := plan.Build(c, plan.Options{Device: "cpu"})
	if err != nil {
		t.Fatal(err)
	}
	byStage := map[string][]record.Record{}
	for _, r := range recs {
		byStage[r.Stage] = append(byStage[r.Stage], r)
	}
	starts, resumes := 0, 0
	for _, st := range p.Stages {
		sdir := filepath.Join(expDir, "stages", st.Name())
		// Done exactly once: one ok record, its attempt the last one.
		var ok []record.Record
		attempts := map[int]int{}
		for _, r := range byStage[st.ID] {
			attempts[r.Attempt]++
			if r.Status == record.StatusOK {
				ok = append(ok, r)
			} else if r.Failure.Class != record.FailInterrupted {
				t.Errorf("%s: attempt %d failed: %+v", st.Name(), r.Attempt, r.Failure)
			}
		}
		if len(ok) != 1 {
			t.Errorf("%s: %d ok records", st.Name(), len(ok))
			continue
		}
		// No lost or duplicated record: attempts 1..n, each once, one marker each.
		markers := store.ReadAttempts(sdir)
		if len(markers) != len(attempts) || ok[0].Attempt != len(markers) {
			t.Errorf("%s: %d markers, records for attempts %v, ok attempt %d", st.Name(), len(markers), attempts, ok[0].Attempt)
		}
		for n := 1; n <= len(markers); n++ {
			if attempts[n] != 1 || markers[n-1].Attempt != n {
				t.Errorf("%s: attempt %d has %d records", st.Name(), n, attempts[n])
			}
		}
		// Outputs intact and built from the right upstream outputs.
		o, err := fake.ReadOutput(sdir)
		if err != nil {
			t.Errorf("%s: output: %v", st.Name(), err)
			continue
		}
		for _, u := range st.Upstream {
			if o.Upstream[u.Kind] != u.ID {
				t.Errorf("%s: built from %s %s, want %s", st.Name(), u.Kind, o.Upstream[u.Kind], u.ID)
			}
		}
		// Resumed rather than restarted: each start but the first repeats at
		// most the one step that was running when it was killed.
		b, _ := os.ReadFile(filepath.Join(sdir, fake.TraceFile))
		nStarts, nSteps := 0, 0
		for _, l := range strings.Split(string(b), "\n") {
			switch {
			case strings.HasPrefix(l, "start "):
				nStarts++
				if !strings.HasPrefix(l, "start 0 ") {
					resumes++
				}
			case strings.HasPrefix(l, "step "):
				nSteps++
			}
		}
		starts += nStarts
		if nStarts == 0 || nSteps < 20 || nSteps > 20+nStarts-1 {
			t.Errorf("%s: %d steps over %d starts, want 20 plus at most one per restart", st.Name(), nSteps, nStarts)
		}
		if tr := ok[0].Result.Train; tr != nil && tr.ResumedFrom > 0 && nStarts < 2 {
			t.Errorf("%s: resumed without an earlier start", st.Name())
		}
	}
	if resumes == 0 {
		t.Errorf("no stage resumed from a checkpoint in %d kills (%d starts)", kills, starts)
	}
	if len(byStage) != len(p.Stages) {
		t.Errorf("records for %d stages, plan has %d", len(byStage), len(p.Stages))
	}
	status, code := cofiOut(t, dir, "status", cfg)
	if code != 0 || !strings.Contains(status, fmt.Sprintf("%d stages: %d done;", len(p.Stages), len(p.Stages))) || !strings.Contains(status, "runner: not running") {
		t.Errorf("status after the run (exit %d):\n%s", code, status)
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// TestPlanEveryConfig: `cofi plan` works on every config in the repository
// without any data present, and `cofi run` on a real-data config stops
// before any work with the missing-input message.
func TestPlanEveryConfig(t *testing.T) {
	files, _ := filepath.Glob("../../configs/*.toml")
	if len(files) == 0 {
		t.Fatal("no configs")
	}
	dir := t.TempDir()
	// The repository's configs put results/ at the repository root: keep
	// this test's (digest cache, refused runs) in its own directory.
	t.Setenv("COFI_RESULTS", filepath.Join(dir, "results"))
	for _, f := range files {
		abs, _ := filepath.Abs(f)
		out, code := cofiOut(t, dir, "plan", abs)
		if code != 0 || !strings.Contains(out, "STAGE") || !strings.Contains(out, "CELL") {
			t.Errorf("cofi plan %s: exit %d\n%s", f, code, out)
		}
		js, code := cofiOut(t, dir, "plan", abs, "--json")
		var pj runner.PlanJSON
		if code != 0 || json.Unmarshal([]byte(js), &pj) != nil || len(pj.Stages) == 0 || len(pj.Cells) == 0 {
			t.Errorf("cofi plan --json %s: exit %d\n%s", f, code, js)
		}
		if len(pj.Missing) == 0 {
			continue
		}
		out, code = cofiOut(t, dir, "run", abs)
		if code != 1 || !strings.Contains(out, "missing inputs, nothing was run") || !strings.Contains(out, "looked for") {
			t.Errorf("cofi run %s without data: exit %d\n%s", f, code, out)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "results")); err == nil {
		ents, _ := filepath.Glob(filepath.Join(dir, "results", "*", "stages"))
		if len(ents) > 0 {
			t.Errorf("plan or a refused run created stage directories: %v", ents)
		}
	}
}

func TestBadConfigExitsTwoWithPositions(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "bad.toml")
	os.WriteFile(cfg, []byte("experiment = \"x\"\n[[grid]]\ntasks = [\"rte\", \"nope\"]\nmethods = [\"cofi\"]\nsparsities = [2.0]\n"), 0o644)
	out, code := cofiOut(t, dir, "plan", cfg)
	if code != 2 || !strings.Contains(out, "bad.toml:3:17: grid[0].tasks[1]: unknown task") || !strings.Contains(out, "bad.toml:5:15: grid[0].sparsities[0]") {
		t.Errorf("exit %d:\n%s", code, out)
	}
}

func TestHelpDocumentsEveryFlag(t *testing.T) {
	for cmd, flags := range map[string][]string{
		"run":        {"-retry-failed", "-force", "-only", "-workers", "-gpus", "-threads", "-timeout", "-dry-run", "-progress", "-binary", "GLUE_DIR", "Exit status"},
		"plan":       {"-json", "-retry-failed", "-force", "-only", "-gpus"},
		"status":     {"-json", "-workers"},
		"run-stage":  {"-manifest", "-stage", "-attempt", "-lock-fd", "-threads"},
		"deviations": {"-markdown", "REPRODUCE.md"},
	} {
		out, code := cofiOut(t, t.TempDir(), cmd, "--help")
		if code != 0 {
			t.Errorf("%s --help: exit %d", cmd, code)
		}
		for _, f := range flags {
			if !strings.Contains(out, f) {
				t.Errorf("%s --help does not mention %s", cmd, f)
			}
		}
	}
}

const slowConfig = `
experiment = "slow"
fake = true
[executor]
workers = 1
[fake_stage]
steps = 2000
step_ms = 5
[[grid]]
tasks = ["rte"]
methods = ["teacher"]
`

// TestStatusWhileRunningAndCtrlC: status sees a running runner and stage;
// SIGINT stops the run with status 130, the stage recorded as interrupted,
// and status then says not running.
func TestStatusWhileRunningAndCtrlC(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "slow.toml")
	os.WriteFile(cfg, []byte(slowConfig), 0o644)
	cmd := cofiCmd(t, dir, "run", cfg, "--progress", "plain")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	traces := filepath.Join(dir, "results", "slow", "stages", "teacher-*", fake.TraceFile)
	for {
		m, _ := filepath.Glob(traces)
		if len(m) > 0 {
			b, _ := os.ReadFile(m[0])
			if bytes.Contains(b, []byte("step 2\n")) {
				break
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	st, code := cofiOut(t, dir, "status", cfg)
	if code != 0 || !strings.Contains(st, "runner: running, pid") || !strings.Contains(st, "1 running") || !strings.Contains(st, "attempt 1 on cpu") {
		t.Errorf("status while running (exit %d):\n%s", code, st)
	}
	cmd.Process.Signal(os.Interrupt)
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 130 {
		t.Errorf("run after SIGINT: %v\n%s", err, out.String())
	}
	st, _ = cofiOut(t, dir, "status", cfg)
	if !strings.Contains(st, "runner: not running") || !strings.Contains(st, "1 interrupted") || !strings.Contains(st, "1 missing") {
		t.Errorf("status after SIGINT:\n%s", st)
	}
}

// TestRunStageStandalone: a stage run by hand (or by a cluster job) from the
// manifest numbers its own attempt; the next `cofi run` records it once and
// does not run it again.
func TestRunStageStandalone(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "s.toml")
	os.WriteFile(cfg, []byte(strings.Replace(killConfig, `"syn-single", "syn-pair"`, `"syn-single"`, 1)), 0o644)
	if out, code := cofiOut(t, dir, "run", cfg, "--only", "kind=teacher"); code != 0 {
		t.Fatalf("exit %d\n%s", code, out)
	}
	js, _ := cofiOut(t, dir, "plan", cfg, "--json")
	var pj runner.PlanJSON
	if err := json.Unmarshal([]byte(js), &pj); err != nil {
		t.Fatal(err)
	}
	var prune runner.StageJSON
	for _, s := range pj.Stages {
		if s.Kind == "prune" && s.Status == runner.Missing && s.Method == "cofi" {
			prune = s
		}
	}
	manifest := filepath.Join(dir, "results", "kill", store.ManifestFile)
	if out, code := cofiOut(t, dir, "run-stage", "--manifest", manifest, "--stage", prune.ID); code != 0 {
		t.Fatalf("run-stage: exit %d\n%s", code, out)
	}
	if out, code := cofiOut(t, dir, "run-stage", "--manifest", manifest, "--stage", prune.ID); code != 0 || !strings.Contains(out, "already done") {
		t.Errorf("second run-stage: exit %d\n%s", code, out)
	}
	out, code := cofiOut(t, dir, "run", cfg, "--progress", "plain")
	if code != 0 || !strings.Contains(out, "recorded 1 attempt(s) left unrecorded") || strings.Contains(out, "start  prune-"+prune.ID) {
		t.Errorf("run after run-stage: exit %d\n%s", code, out)
	}
	recs, _, _ := record.ReadFile(filepath.Join(dir, "results", "kill", store.RecordsFile))
	n := 0
	for _, r := range recs {
		if r.Stage == prune.ID {
			n++
			if r.Status != record.StatusOK || r.Attempt != 1 {
				t.Errorf("record %+v", r)
			}
		}
	}
	if n != 1 {
		t.Errorf("%d records for the standalone stage", n)
	}
}

// TestNegativeExecutorFlags: negative executor flags are rejected, not
// silently taken as "use the config's value".
func TestNegativeExecutorFlags(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "kill.toml")
	if err := os.WriteFile(cfg, []byte(killConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ flag, want string }{
		{"--workers=-1", "--workers -1: want an integer >= 0"},
		{"--threads=-2", "--threads -2: want an integer >= 0"},
		{"--timeout=-1s", "--timeout -1s: want a duration >= 0"},
	} {
		cmds := []string{"plan", "run"}
		if strings.HasPrefix(c.flag, "--timeout") {
			cmds = cmds[1:] // run's only
		}
		for _, cmd := range cmds {
			out, code := cofiOut(t, dir, cmd, cfg, c.flag)
			if code != 2 || !strings.Contains(out, c.want) {
				t.Errorf("cofi %s %s: exit %d\n%s", cmd, c.flag, code, out)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "results")); err == nil {
		t.Error("a rejected run created the results directory")
	}
}

// TestStatusWritesNothingAndPlanVerify: status leaves the disk alone; a
// same-size edit of a data file with its old mtime restored (cp -p, rsync -t)
// changes the ids of the stages reading it; plan --verify names a file whose
// cached digest is wrong.
func TestStatusWritesNothingAndPlanVerify(t *testing.T) {
	dir := t.TempDir()
	if out, code := cofiOut(t, dir, "synth", "--out", "data/synthetic", "--tasks", "syn-single", "--train", "20", "--dev", "10"); code != 0 {
		t.Fatalf("synth: %s", out)
	}
	cfg := filepath.Join(dir, "c.toml")
	os.WriteFile(cfg, []byte("experiment = \"v\"\nfake = true\n[[grid]]\ntasks = [\"syn-single\"]\nmethods = [\"teacher\"]\n"), 0o644)
	elsewhere := t.TempDir()
	if out, code := cofiOut(t, elsewhere, "status", cfg); code != 0 || !strings.Contains(out, "missing") {
		t.Fatalf("status from another directory: exit %d\n%s", code, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "results")); err == nil {
		t.Fatal("cofi status wrote into the results directory")
	}
	ids := func(extra ...string) (string, string) {
		out, code := cofiOut(t, elsewhere, append([]string{"plan", cfg, "--json"}, extra...)...)
		if code != 0 {
			t.Fatalf("plan: exit %d\n%s", code, out)
		}
		var pj runner.PlanJSON
		i := strings.Index(out, "{")
		if err := json.Unmarshal([]byte(out[i:]), &pj); err != nil {
			t.Fatalf("plan --json: %v\n%s", err, out)
		}
		return pj.Stages[0].ID, out[:i]
	}
	before, _ := ids()
	train := filepath.Join(dir, "data", "synthetic", "SYN-SINGLE", "train.tsv")
	fi, _ := os.Stat(train)
	b, _ := os.ReadFile(train)
	b[len(b)-2] ^= 1 // the label of the last example: same size
	time.Sleep(10 * time.Millisecond)
	os.WriteFile(train, b, 0o644)
	os.Chtimes(train, fi.ModTime(), fi.ModTime())
	after, _ := ids()
	if before == after {
		t.Errorf("a same-size edit with the old mtime restored left the stage id %s unchanged", before)
	}
	// A cache entry that lies (written before a silent edit on a file system
	// without change times, say): --verify finds it.
	cachePath := filepath.Join(dir, "results", ".cache", "digests.json")
	cb, err := os.ReadFile(cachePath)
	if err != nil {
		t.Fatal(err)
	}
	var entries map[string]map[string]any
	dec := json.NewDecoder(bytes.NewReader(cb))
	dec.UseNumber() // nanosecond times do not survive float64
	dec.Decode(&entries)
	abs, _ := filepath.Abs(train)
	entries[abs]["sha256"] = strings.Repeat("0", 64)
	cb, _ = json.Marshal(entries)
	os.WriteFile(cachePath, cb, 0o644)
	verified, msg := ids("--verify")
	if verified != after || !strings.Contains(msg, "1 had a stale cached digest") || !strings.Contains(msg, abs) {
		t.Errorf("plan --verify: id %s (want %s), message:\n%s", verified, after, msg)
	}
}

// TestPlanShowsTheAuthorsSweep: `cofi plan configs/table2.toml` lists the
// authors' grid, one line per swept cell, and the stage counts it needs.
func TestPlanShowsTheAuthorsSweep(t *testing.T) {
	abs, _ := filepath.Abs("../../configs/table2.toml")
	out, code := cofiOut(t, t.TempDir(), "plan", abs)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, out)
	}
	for _, want := range []string{
		"sweep authors: (final.alpha_layer, final.alpha_pred) × final.lr, 9 settings, best headline on dev",
		"teacher, prune, speed  9 final",
		"best rte/acc on dev",
		"9 swept cell(s), 81 candidate cells",
		"stages by kind: teacher 9, tinybert-layer 16, tinybert-pred 16, prune 9, final 81, speed 25", // TinyBERT4 w/ and w/o GD on 8 tasks
	} {
		if !strings.Contains(out, want) {
			t.Errorf("plan output lacks %q", want)
		}
	}
	js, _ := cofiOut(t, t.TempDir(), "plan", abs, "--json")
	var pj runner.PlanJSON
	if err := json.Unmarshal([]byte(js), &pj); err != nil {
		t.Fatal(err)
	}
	if len(pj.Sweeps) != 9 || pj.Counts.ByKind["final"] != 81 || len(pj.Sweeps[0].Settings) != 9 || len(pj.Sweeps[0].Shared) != 3 {
		t.Errorf("plan --json: %d sweeps, %v by kind", len(pj.Sweeps), pj.Counts.ByKind)
	}
}
