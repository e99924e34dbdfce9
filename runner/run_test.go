package runner

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cofiharness/cofi/record"
	"github.com/cofiharness/cofi/runner/config"
	"github.com/cofiharness/cofi/runner/exec"
	"github.com/cofiharness/cofi/runner/plan"
	"github.com/cofiharness/cofi/runner/progress"
	"github.com/cofiharness/cofi/runner/stagerun"
	"github.com/cofiharness/cofi/runner/store"
	"github.com/cofiharness/cofi/stage/fake"
)

// The test binary doubles as the stage child: the executor runs it with
// COFI_TEST_CHILD=1 and `run-stage` arguments.
func TestMain(m *testing.M) {
	if os.Getenv("COFI_TEST_CHILD") == "1" {
		os.Exit(childMain(os.Args[1:]))
	}
	os.Exit(m.Run())
}

func childMain(args []string) int {
	fs := flag.NewFlagSet("run-stage", flag.ContinueOnError)
	manifest := fs.String("manifest", "", "")
	id := fs.String("stage", "", "")
	attempt := fs.Int("attempt", 0, "")
	lockFD := fs.Int("lock-fd", 0, "")
	threads := fs.Int("threads", 0, "")
	if len(args) == 0 || args[0] != "run-stage" || fs.Parse(args[1:]) != nil {
		fmt.Fprintln(os.Stderr, "test child: bad arguments", args)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := stagerun.Run(ctx, stagerun.Options{Manifest: *manifest, Stage: *id, Attempt: *attempt, LockHeld: *lockFD > 0, Threads: *threads, Torch: "test"})
	if err != nil {
		fmt.Fprintln(os.Stderr, "run-stage:", err)
		return 1
	}
	return 0
}

var _ = fake.Run // the fake kind is registered for the child

type env struct {
	t    *testing.T
	dir  string
	src  string
	log  syncBuffer
	opts exec.LocalOptions
}

func newEnv(t *testing.T, src string) *env {
	t.Helper()
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, dir: t.TempDir(), src: src, opts: exec.LocalOptions{Binary: bin, Workers: 2, Threads: 1,
		KillGrace: time.Minute, Env: []string{"COFI_TEST_CHILD=1"}}}
}

func (e *env) plan() *plan.Plan {
	e.t.Helper()
	c, err := config.Parse("t.toml", []byte(e.src), config.Options{Dir: e.dir, Getenv: func(string) (string, bool) { return "", false }})
	if err != nil {
		e.t.Fatal(err)
	}
	p, err := plan.Build(c, plan.Options{Threads: 1})
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

func (e *env) run(sel Selection, interrupts <-chan os.Signal) (*Summary, *plan.Plan, error) {
	e.t.Helper()
	p := e.plan()
	if sel.MaxAttempts == 0 {
		sel.MaxAttempts = p.Config.Executor.MaxAttempts
		sel.Retry = p.Config.Executor.Retry
	}
	opts := e.opts
	opts.Timeout = p.Config.Executor.Timeout
	if p.Config.Executor.KillGrace != 2*time.Minute {
		opts.KillGrace = p.Config.Executor.KillGrace
	}
	ex, err := exec.NewLocal(opts)
	if err != nil {
		e.t.Fatal(err)
	}
	sum, err := Run(p, Options{Selection: sel, Executor: ex, Progress: progress.New(&e.log, false),
		Provenance: record.Provenance{Host: "test", GoVersion: "go"}, Interrupts: interrupts, Command: []string{"test"}})
	return sum, p, err
}

func (e *env) records() []record.Record {
	e.t.Helper()
	recs, probs, err := record.ReadFile(filepath.Join(e.dir, "results", "t", store.RecordsFile))
	if err != nil || len(probs) > 0 {
		e.t.Fatalf("records: %v %v", err, probs)
	}
	return recs
}

// checkRecords verifies the records invariant: every attempt marker on disk
// has exactly one record, and every record a marker, except the records of
// attempts whose directory --force removed (earlier than every marker).
func (e *env) checkRecords(p *plan.Plan) {
	e.t.Helper()
	seen := map[string]int{}
	for _, r := range e.records() {
		seen[fmt.Sprintf("%s/%d", r.Stage, r.Attempt)]++
	}
	for k, n := range seen {
		if n != 1 {
			e.t.Errorf("record %s appears %d times", k, n)
		}
	}
	for _, s := range p.Stages {
		atts := store.ReadAttempts(s.Spec.Dir)
		for i, a := range atts {
			k := fmt.Sprintf("%s/%d", s.ID, a.Attempt)
			if seen[k] != 1 {
				e.t.Errorf("attempt %s has %d records", k, seen[k])
			}
			delete(seen, k)
			for n := 1; i == 0 && n < a.Attempt; n++ {
				delete(seen, fmt.Sprintf("%s/%d", s.ID, n)) // removed by --force
			}
		}
	}
	for k := range seen {
		e.t.Errorf("record %s has no attempt marker", k)
	}
}

func stageOf(p *plan.Plan, kind, task, method string, sparsity float64) *plan.Stage {
	for _, s := range p.Stages {
		if s.Kind == kind && s.Spec.Task == task && s.Spec.Method == method && s.Spec.Sparsity == sparsity {
			return s
		}
	}
	return nil
}

const grid = `
experiment = "t"
fake = true
[executor]
max_attempts = 2
[fake_stage]
steps = 6
step_ms = 1
[[grid]]
tasks = ["rte", "mrpc"]
methods = ["teacher", "cofi"]
sparsities = [0.6, 0.95]
seeds = [1]
`

// small is grid with one task: 7 stages.
var small = strings.Replace(grid, `tasks = ["rte", "mrpc"]`, `tasks = ["rte"]`, 1)

func TestRunThenNothingLeft(t *testing.T) {
	e := newEnv(t, grid)
	sum, p, err := e.run(Selection{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !sum.OK() || sum.Attempts != len(p.Stages) || len(p.Stages) != 2*(1+2*3) || sum.CellsDone != len(p.Cells) {
		t.Fatalf("summary %+v\n%s", sum, e.log.String())
	}
	recs := e.records()
	for _, r := range recs {
		s := p.Stage(r.Stage)
		if r.Status != record.StatusOK || r.Attempt != 1 || r.Result == nil || r.StageKind != s.Kind ||
			r.Params[fake.ParamKind] != s.Kind || r.Result.Kind != s.Kind || len(r.Cells) != len(s.Cells) ||
			r.Dir != "stages/"+s.Name() || r.Log != "stages/"+s.Name()+"/log.txt" || r.Provenance.Host != "test" || r.Provenance.Device != "cpu" || r.Provenance.Threads < 1 ||
			r.Provenance.Libtorch != "test" || len(r.Provenance.Command) == 0 || r.Wall <= 0 || r.Experiment != "t" {
			t.Errorf("record %+v", r)
		}
	}
	e.checkRecords(p)
	// Exclusive (CPU speed) stages ran alone.
	for _, a := range recs {
		if a.StageKind != record.KindSpeed {
			continue
		}
		for _, b := range recs {
			if a.Stage != b.Stage && a.Start.Before(b.End) && b.Start.Before(a.End) {
				t.Errorf("speed stage %s overlapped %s %s", a.Stage, b.StageKind, b.Stage)
			}
		}
	}
	sum, _, err = e.run(Selection{}, nil)
	if err != nil || sum.Attempts != 0 || !sum.OK() || sum.StagesDone != len(p.Stages) {
		t.Errorf("second run: %+v %v", sum, err)
	}
	if len(e.records()) != len(recs) {
		t.Error("second run appended records")
	}
}

func classes(recs []record.Record, stageID string) []string {
	var out []string
	for _, r := range recs {
		if r.Stage == stageID {
			if r.Failure == nil {
				out = append(out, "ok")
			} else {
				out = append(out, r.Failure.Class)
			}
		}
	}
	return out
}

func TestFailureClassesBlockingAndRetry(t *testing.T) {
	src := grid + `
[[fake_stage.rule]]
match = { kind = "prune", task = "mrpc", sparsity = 0.6 }
fail = "nan"
[[fake_stage.rule]]
match = { kind = "final", task = "rte", sparsity = 0.95 }
fail = "oom"
[[fake_stage.rule]]
match = { kind = "final", task = "rte", sparsity = 0.6 }
fail = "panic"
[[fake_stage.rule]]
match = { kind = "speed", task = "rte", sparsity = 0.6 }
fail = "crash"
[[fake_stage.rule]]
match = { kind = "prune", task = "mrpc", sparsity = 0.95 }
fail = "sigkill"
[[fake_stage.rule]]
match = { kind = "final", task = "mrpc", sparsity = 0.95 }
fail = "missing-input"
`
	e := newEnv(t, src)
	sum, p, err := e.run(Selection{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	recs := e.records()
	want := []struct {
		kind, task string
		sp         float64
		classes    string
	}{
		{"teacher", "rte", 0, "ok"},
		{"prune", "rte", 0.6, "ok"},
		{"final", "rte", 0.6, "exit"}, // panic
		{"speed", "rte", 0.6, "exit"}, // it times the prune stage's model, so runs (and crashes) beside the failed final
		{"prune", "rte", 0.95, "ok"},
		{"final", "rte", 0.95, "oom"}, // not retried: oom is not in executor.retry
		{"speed", "rte", 0.95, "ok"},
		{"teacher", "mrpc", 0, "ok"}, // the shared teacher of the failing cells is fine
		{"prune", "mrpc", 0.6, "nan"},
		{"final", "mrpc", 0.6, ""},
		{"speed", "mrpc", 0.6, ""},               // blocked transitively
		{"prune", "mrpc", 0.95, "signal signal"}, // retried once by policy, then given up
		{"final", "mrpc", 0.95, ""},              // its missing-input rule never fires
		{"speed", "mrpc", 0.95, ""},
	}
	for _, w := range want {
		s := stageOf(p, w.kind, w.task, map[bool]string{true: "teacher", false: "cofi"}[w.kind == "teacher"], w.sp)
		if got := strings.Join(classes(recs, s.ID), " "); got != w.classes {
			t.Errorf("%s %s %g: attempts %q, want %q", w.kind, w.task, w.sp, got, w.classes)
		}
	}
	if sum.OK() || len(sum.Failed) != 5 || len(sum.Blocked) != 4 {
		t.Errorf("summary: %d failed, %d blocked\n%s", len(sum.Failed), len(sum.Blocked), e.log.String())
	}
	for _, r := range recs {
		if r.Status == record.StatusFailed && (r.Failure.Message == "" || strings.Contains(r.Failure.Message, "goroutine ")) {
			t.Errorf("failure message %q", r.Failure.Message)
		}
	}
	e.checkRecords(p)

	// Without --retry-failed nothing is rerun; the failures stay reported.
	sum, p, err = e.run(Selection{}, nil)
	if err != nil || sum.Attempts != 0 || len(sum.Failed) != 5 || len(sum.Blocked) != 4 {
		t.Fatalf("second run: %d attempts, %d failed, %d blocked, %v", sum.Attempts, len(sum.Failed), len(sum.Blocked), err)
	}
	sts, _ := Statuses(p, mustIndex(t, p), Selection{})
	if c := Count(p, sts); c.Failed != 5 || c.Blocked != 4 || c.Done != 5 || c.ToRun != 0 {
		t.Errorf("statuses %+v", c)
	}
	// --retry-failed reruns them (and they fail again, deterministically).
	sum, p, err = e.run(Selection{RetryFailed: true}, nil)
	if err != nil || sum.Attempts != 5 { // the SIGKILLed one has failed too often in a row for the policy
		t.Fatalf("retry run: %d attempts %v\n%s", sum.Attempts, err, e.log.String())
	}
	s := stageOf(p, "prune", "mrpc", "cofi", 0.6)
	if got := strings.Join(classes(e.records(), s.ID), " "); got != "nan nan" {
		t.Errorf("after --retry-failed: %q", got)
	}
	e.checkRecords(p)
}

func mustIndex(t *testing.T, p *plan.Plan) *store.Index {
	ix, err := store.ReadIndex(store.Experiment{Dir: p.Dir}.Records())
	if err != nil {
		t.Fatal(err)
	}
	return ix
}

func TestTransientFailuresAndResume(t *testing.T) {
	src := small + `
[[fake_stage.rule]]
match = { kind = "prune", task = "rte", sparsity = 0.6 }
fail = "crash-once"
steps = 10
[[fake_stage.rule]]
match = { kind = "prune", task = "rte", sparsity = 0.95 }
fail = "sigkill-once"
steps = 10
`
	e := newEnv(t, src)
	sum, p, err := e.run(Selection{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	crash := stageOf(p, "prune", "rte", "cofi", 0.6)
	kill := stageOf(p, "prune", "rte", "cofi", 0.95)
	recs := e.records()
	// A crash (exit status 3, no failure.json) is a failure; a SIGKILL from
	// outside is retried at once by the default policy and succeeds.
	if got := strings.Join(classes(recs, crash.ID), " "); got != "exit" {
		t.Errorf("crash-once: %q", got)
	}
	if got := strings.Join(classes(recs, kill.ID), " "); got != "signal ok" {
		t.Errorf("sigkill-once: %q", got)
	}
	if len(sum.Failed) != 1 || len(sum.Blocked) != 2 {
		t.Errorf("%d failed, %d blocked", len(sum.Failed), len(sum.Blocked))
	}
	// The retried attempt resumed from the checkpoint of the killed one.
	last := recs[len(recs)-1]
	for _, r := range recs {
		if r.Stage == kill.ID && r.Status == record.StatusOK {
			last = r
		}
	}
	if last.Result.Train.ResumedFrom != 5 {
		t.Errorf("resumed from %d, want 5", last.Result.Train.ResumedFrom)
	}
	sum, p, err = e.run(Selection{RetryFailed: true}, nil)
	if err != nil || !sum.OK() || sum.Attempts != 3 {
		t.Fatalf("retry: %+v %v", sum, err)
	}
	res, _ := record.ReadResult(crash.Spec.Dir)
	if res.Train.ResumedFrom != 5 {
		t.Errorf("crashed stage restarted from %d, want its checkpoint 5", res.Train.ResumedFrom)
	}
	e.checkRecords(p)
}

func TestTimeout(t *testing.T) {
	e := newEnv(t, `
experiment = "t"
fake = true
[executor]
timeout = 0.5
kill_grace = 0.2
[fake_stage]
steps = 4
step_ms = 1
fail = "hang"
[[grid]]
tasks = ["rte"]
methods = ["teacher"]
`)
	sum, p, err := e.run(Selection{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	recs := e.records()
	if len(recs) != 1 || recs[0].Failure == nil || recs[0].Failure.Class != record.FailTimeout || len(sum.Failed) != 1 {
		t.Fatalf("records %+v", recs)
	}
	if f := store.ReadFailure(p.Stages[0].Spec.Dir); f == nil || f.Class != record.FailTimeout || f.Attempt != 1 {
		t.Errorf("failure.json %+v", f)
	}
}

// waitFor polls until cond holds; the test's own timeout bounds it.
func waitFor(cond func() bool) {
	for !cond() {
		time.Sleep(5 * time.Millisecond)
	}
}

func traceCount(dir, prefix string) int {
	b, _ := os.ReadFile(filepath.Join(dir, fake.TraceFile))
	return strings.Count("\n"+string(b), "\n"+prefix)
}

func TestInterruptThenResume(t *testing.T) {
	e := newEnv(t, `
experiment = "t"
fake = true
[fake_stage]
steps = 60
step_ms = 5
[[grid]]
tasks = ["rte"]
methods = ["teacher"]
seeds = [1, 2]
`)
	p := e.plan()
	sigs := make(chan os.Signal, 2)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		waitFor(func() bool {
			return traceCount(p.Stages[0].Spec.Dir, "step 3") > 0 && traceCount(p.Stages[1].Spec.Dir, "step 3") > 0
		})
		sigs <- os.Interrupt
	}()
	sum, _, err := e.run(Selection{}, sigs)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if !sum.WasInterrupted || len(sum.Interrupted) != 2 || len(sum.Failed) != 0 || sum.OK() {
		t.Fatalf("summary %+v\n%s", sum, e.log.String())
	}
	for _, r := range e.records() {
		if r.Failure == nil || r.Failure.Class != record.FailInterrupted {
			t.Errorf("record %+v", r)
		}
	}
	sts, _ := Statuses(p, mustIndex(t, p), Selection{})
	for _, st := range sts {
		if st.Status != Missing || st.Action != ActRun || st.Note != "interrupted" {
			t.Errorf("after interrupt: %s %s %q", st.Status, st.Action, st.Note)
		}
	}
	// The next run finishes them from their checkpoints.
	sum, p, err = e.run(Selection{}, nil)
	if err != nil || !sum.OK() {
		t.Fatalf("resume: %+v %v", sum, err)
	}
	for _, s := range p.Stages {
		res, _ := record.ReadResult(s.Spec.Dir)
		steps := traceCount(s.Spec.Dir, "step ")
		if res.Train.ResumedFrom < 3 || steps > 60+1 {
			t.Errorf("%s resumed from %d and ran %d steps in all", s.Name(), res.Train.ResumedFrom, steps)
		}
	}
	e.checkRecords(p)
}

func TestSecondInterruptKills(t *testing.T) {
	e := newEnv(t, `
experiment = "t"
fake = true
[fake_stage]
steps = 10
step_ms = 1
fail = "hang"
[[grid]]
tasks = ["rte"]
methods = ["teacher"]
`)
	p := e.plan()
	sigs := make(chan os.Signal, 2)
	go func() {
		waitFor(func() bool { return traceCount(p.Stages[0].Spec.Dir, "step 4") > 0 })
		sigs <- os.Interrupt
		waitFor(func() bool { return strings.Contains(e.logString(), "checkpoint and stop") })
		sigs <- os.Interrupt
	}()
	sum, _, err := e.run(Selection{}, sigs)
	if err != nil {
		t.Fatal(err)
	}
	recs := e.records()
	if !sum.WasInterrupted || len(recs) != 1 || recs[0].Failure.Class != record.FailInterrupted || recs[0].Failure.Signal != "killed" {
		t.Errorf("records %+v", recs)
	}
}

func (e *env) logString() string { return e.log.String() }

// syncBuffer is a bytes.Buffer safe for the reporter and a test goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestForceAndOnly(t *testing.T) {
	e := newEnv(t, small)
	if _, _, err := e.run(Selection{}, nil); err != nil {
		t.Fatal(err)
	}
	force, _ := plan.ParseFilter("kind=prune,task=rte,sparsity=0.95")
	sum, p, err := e.run(Selection{Force: []*plan.Filter{force}}, nil)
	if err != nil || sum.Attempts != 3 || !sum.OK() {
		t.Fatalf("force: %+v %v", sum, err)
	}
	for _, s := range p.Stages {
		n := len(store.ReadAttempts(s.Spec.Dir))
		recomputed := s.Spec.Task == "rte" && s.Spec.Sparsity == 0.95 && s.Kind != "teacher"
		if recomputed != (n == 1 && mustIndex(t, p).MaxAttempt(s.ID) == 2) {
			t.Errorf("%s: recomputed=%v, markers %d, max attempt %d", s.Name(), recomputed, n, mustIndex(t, p).MaxAttempt(s.ID))
		}
		if recomputed && traceCount(s.Spec.Dir, "start 0 ") != 1 {
			t.Errorf("%s: forced stage did not start afresh", s.Name())
		}
	}
	e.checkRecords(p)

	e2 := newEnv(t, small)
	only, _ := plan.ParseFilter("kind=final,task=rte,sparsity=0.6")
	sum, p, err = e2.run(Selection{Only: []*plan.Filter{only}}, nil)
	if err != nil || sum.Attempts != 3 || sum.Skipped != len(p.Stages)-3 || !sum.OK() {
		t.Fatalf("only: %+v %v", sum, err)
	}
}

func TestReconcileAfterCrash(t *testing.T) {
	e := newEnv(t, small)
	if _, _, err := e.run(Selection{}, nil); err != nil {
		t.Fatal(err)
	}
	p := e.plan()
	recPath := store.Experiment{Dir: p.Dir}.Records()
	all := e.records()
	// Simulate three crashes at once: the record of a finished attempt never
	// written (result.json on disk), an attempt killed with its runner
	// (marker only), one that failed (failure.json) without its record; and
	// a torn last line.
	done := p.Stages[len(p.Stages)-1]
	killed := stageOf(p, "final", "rte", "cofi", 0.6)
	failed := stageOf(p, "final", "rte", "cofi", 0.95)
	var b strings.Builder
	for _, r := range all {
		if r.Stage == done.ID {
			continue
		}
		if err := appendTo(&b, r); err != nil {
			t.Fatal(err)
		}
	}
	b.WriteString(`{"schema":1,"stage":"` + done.ID + `","att`)
	os.WriteFile(recPath, []byte(b.String()), 0o644)
	// The killed attempt started an hour ago and last wrote its log two
	// minutes later: its wall time is those two minutes, not the hour until
	// this run noticed.
	killedStart := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	for _, s := range []*plan.Stage{killed, failed} {
		os.Remove(filepath.Join(s.Spec.Dir, record.ResultFile))
		start := time.Now().UTC()
		if s == killed {
			start = killedStart
		}
		store.WriteAttempt(s.Spec.Dir, &store.Attempt{Attempt: 2, Start: start})
	}
	killedLog := filepath.Join(killed.Spec.Dir, store.LogFile)
	if err := os.WriteFile(killedLog, []byte("step 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chtimes(killedLog, killedStart.Add(2*time.Minute), killedStart.Add(2*time.Minute))
	store.WriteFailure(failed.Spec.Dir, &store.Failure{Attempt: 2, Failure: record.Failure{Class: record.FailNaN, Message: "loss is NaN"}})

	sum, p, err := e.run(Selection{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	recs := e.records()
	if got := strings.Join(classes(recs, done.ID), " "); got != "ok" {
		t.Errorf("lost record not restored exactly once: %q", got)
	}
	if got := strings.Join(classes(recs, killed.ID), " "); got != "ok interrupted ok" {
		t.Errorf("killed attempt: %q", got)
	}
	for _, r := range recs {
		if r.Stage == killed.ID && r.Attempt == 2 && math.Abs(r.Wall-120) > 1 {
			t.Errorf("killed attempt's wall time %.0f s, want the 120 s until its log's last write", r.Wall)
		}
	}
	if got := strings.Join(classes(recs, failed.ID), " "); got != "ok nan" {
		t.Errorf("failed attempt: %q", got)
	}
	if sum.Reconciled != 3 || !sum.Repaired || sum.Attempts != 1 || len(sum.Failed) != 1 {
		t.Errorf("reconciled %d, repaired %v, attempts %d, failed %d", sum.Reconciled, sum.Repaired, sum.Attempts, len(sum.Failed))
	}
	e.checkRecords(p)
	// Nothing more to reconcile.
	if sum, _, _ := e.run(Selection{}, nil); sum.Reconciled != 0 || sum.Attempts != 0 {
		t.Errorf("third run reconciled %d, ran %d", sum.Reconciled, sum.Attempts)
	}
}

func appendTo(b *strings.Builder, r record.Record) error {
	f, err := os.CreateTemp("", "rec")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	f.Close()
	if err := record.Append(f.Name(), &r); err != nil {
		return err
	}
	data, err := os.ReadFile(f.Name())
	b.Write(data)
	return err
}

func TestMissingInputStopsBeforeWork(t *testing.T) {
	e := newEnv(t, `
experiment = "t"
[paths]
glue = "nowhere"
[[grid]]
tasks = ["rte"]
methods = ["teacher"]
`)
	_, p, err := e.run(Selection{}, nil)
	var mi *MissingInputError
	if !errors.As(err, &mi) || len(mi.Missing) != 2 || !strings.Contains(err.Error(), "GLUE_DIR") || !strings.Contains(err.Error(), "BERT_DIR") {
		t.Fatalf("err = %v", err)
	}
	if _, err := os.Stat(p.Dir); !os.IsNotExist(err) {
		t.Error("the experiment directory was created before the missing inputs were reported")
	}
}

func TestUnavailableKindStopsBeforeWork(t *testing.T) {
	e := newEnv(t, grid)
	p := e.plan()
	ex, _ := exec.NewLocal(e.opts)
	_, err := Run(p, Options{Executor: ex, Progress: progress.New(&e.log, false),
		CheckKind: func(kind string) error { return errors.New("not linked") }})
	if err == nil || !strings.Contains(err.Error(), "cannot run stage kind(s) fake") {
		t.Fatalf("err = %v", err)
	}
	if _, err := os.Stat(p.Dir); !os.IsNotExist(err) {
		t.Error("the experiment directory was created")
	}
}

func TestOneRunnerPerExperiment(t *testing.T) {
	e := newEnv(t, grid)
	p := e.plan()
	l, err := store.LockExperiment(p.Dir, "pid 42 elsewhere")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock()
	if _, _, err := e.run(Selection{}, nil); err == nil || !strings.Contains(err.Error(), "pid 42 elsewhere") {
		t.Errorf("second runner: %v", err)
	}
}
