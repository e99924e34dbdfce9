// Package runner runs an experiment's plan: each stage whose result is not
// on disk runs as its own child process through an Executor, dependent
// stages in order, independent ones in parallel, and every attempt ends as
// one record in <experiment>/records.jsonl.
//
// Crash safety. The runner may be killed (SIGKILL, power loss) at any
// instruction; running it again finishes only the missing work, with no lost,
// duplicated or corrupted records. The invariants that make this true:
//
//  1. A stage is done iff its result.json exists and is valid. Only the
//     stage's child process writes it, atomically, as its last act.
//  2. Before attempt n of a stage starts, its marker attempts/n.json is
//     written atomically, with the attempt's provenance.
//  3. The record of attempt n is appended only after the attempt's outcome
//     is on disk (result.json, or failure.json naming attempt n).
//  4. Attempt n+1 never starts before the record of attempt n is in
//     records.jsonl (fsynced). So only the latest attempt of a stage can lack
//     its record.
//  5. One runner per experiment (flock on .runner.lock), and one process per
//     stage directory (flock on its .lock, shared by the runner and the child
//     it starts, so a new attempt waits until an orphaned child is dead;
//     on Linux children also get SIGKILL when the runner dies).
//
// On start, with the experiment lock held, the runner repairs a torn last
// line of records.jsonl (only a machine crash can leave one; it is moved to
// records.jsonl.truncated), then reconciles: for every stage directory whose
// latest attempt has no record (unique key: stage id, attempt), it appends
// one — ok when result.json exists, failed with failure.json's class when
// that names the attempt, else "interrupted" (the attempt died with its
// runner; failure.json is written so the decision is stable). By 4 that is
// the only record that can be missing, and by 5 nobody appends concurrently,
// so it is appended exactly once.
//
// Retry policy. A stage whose latest attempt failed is not rerun unless
// --retry-failed is given, or its failure class is in executor.retry
// (default: "signal", a child killed from outside) and it has failed fewer
// than executor.max_attempts times in a row. Interrupted attempts (Ctrl-C,
// a killed runner) are not failures: the stage is simply missing and runs
// again, resuming from its checkpoint.
//
// On a Slurm cluster (RunSlurm, slurmrun.go) the same invariants hold with
// the jobs in the role of the child processes: a job array task numbers its
// attempt under the stage lock, records it itself, and what a killed task
// could not record is recorded, once, by whoever next holds the stage lock
// (the runner after squeue says the job ended, or the stage's next attempt);
// see package runner/slurm for the design.
//
// --force FILTER recomputes the selected stages and everything downstream
// of them (their inputs change): their directories are removed before any
// work starts, so a crash cannot leave a stale result downstream of a
// recomputed stage. Their records stay in the history; consumers take the
// latest ok record of a stage.
package runner

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cofiharness/cofi/record"
	"github.com/cofiharness/cofi/runner/exec"
	"github.com/cofiharness/cofi/runner/plan"
	"github.com/cofiharness/cofi/runner/progress"
	"github.com/cofiharness/cofi/runner/store"
)

// Options configure a run.
type Options struct {
	Selection  Selection
	Executor   exec.Executor
	Progress   *progress.Reporter
	Provenance record.Provenance // of this runner: git, Go, host
	// Interrupts: the first signal stops launching and asks running stages
	// to checkpoint and stop; the second kills them.
	Interrupts <-chan os.Signal
	Command    []string // the runner's command line, for the lock file
	// CheckKind, if set, says whether the stage binary can run a kind
	// (stage.Lookup when the binary is this one); checked before any work.
	CheckKind func(kind string) error
}

// Result is one stage's fate in a run.
type Result struct {
	Stage *plan.Stage
	Note  string
}

// Summary is what a run did.
type Summary struct {
	Stages, StagesDone int
	Cells, CellsDone   int
	Attempts           int // attempts started by this run
	Succeeded          []Result
	Failed             []Result // failed and not retried further
	Blocked            []Result // not run because an upstream stage failed
	Interrupted        []Result // stopped by Ctrl-C
	NotStarted         int      // still to run when the run stopped
	Skipped            int      // outside --only
	WasInterrupted     bool
	Reconciled         int // records appended for attempts of an earlier, killed run
	Repaired           bool
	RecordProblems     []record.Problem
	Err                error // a fatal error that stopped launching

	// Cluster executor (RunSlurm).
	Submitted int      // stages submitted by this run
	Queued    int      // stages with a pending or running job at the end
	Jobs      []string // array job ids this run submitted
	Detached  bool
}

// OK reports whether everything selected is done.
func (s *Summary) OK() bool {
	return len(s.Failed) == 0 && len(s.Blocked) == 0 && !s.WasInterrupted && s.NotStarted == 0 && s.Err == nil &&
		(s.Queued == 0 || s.Detached)
}

// MissingInputError stops a run before any work when data or models are absent.
type MissingInputError struct{ Missing []plan.Missing }

func (e *MissingInputError) Error() string {
	var b strings.Builder
	b.WriteString("missing inputs, nothing was run:")
	for _, m := range e.Missing {
		b.WriteString("\n  - " + m.String())
	}
	b.WriteString("\nhow to get GLUE, SQuAD, bert-base-uncased, the general TinyBERT and GloVe in these layouts: REPRODUCE.md, section 2")
	return b.String()
}

type run struct {
	p       *plan.Plan
	opt     Options
	exp     store.Experiment
	ix      *store.Index
	rep     *progress.Reporter
	sum     *Summary
	state   map[*plan.Stage]nodeState
	running map[string]*attempt
	walls   map[string][]float64
}

type nodeState int

const (
	stIdle nodeState = iota // not part of this run
	stPending
	stRunning
	stDone
	stFailed
	stBlocked
)

type attempt struct {
	stage  *plan.Stage
	marker *store.Attempt
	lock   *store.Lock
	start  time.Time
}

// Run executes what is missing in p.
func Run(p *plan.Plan, opt Options) (*Summary, error) {
	if opt.Progress == nil {
		opt.Progress = progress.New(os.Stderr, false)
	}
	if err := preflight(p, opt); err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	info := fmt.Sprintf("pid %d on %s since %s: %s", os.Getpid(), host, time.Now().Format(time.RFC3339), strings.Join(opt.Command, " "))
	lock, err := store.LockExperiment(p.Dir, info)
	if err != nil {
		return nil, err
	}
	defer lock.Unlock()
	r := &run{p: p, opt: opt, exp: store.Experiment{Dir: p.Dir}, rep: opt.Progress,
		sum: &Summary{}, state: map[*plan.Stage]nodeState{}, running: map[string]*attempt{}}
	if err := r.recover(); err != nil {
		return r.sum, err
	}
	statuses, err := Statuses(p, r.ix, opt.Selection)
	if err != nil {
		return r.sum, err
	}
	if err := r.force(statuses); err != nil {
		return r.sum, err
	}
	if err := r.writeManifest(); err != nil {
		return r.sum, err
	}
	r.schedule(statuses)
	return r.sum, nil
}

// preflight stops a run before anything is written when data or models are
// missing, or when the stage binary cannot run a kind the run needs.
func preflight(p *plan.Plan, opt Options) error {
	ix, err := store.ReadIndex(store.Experiment{Dir: p.Dir}.Records())
	if err != nil {
		return err
	}
	sts, err := Statuses(p, ix, opt.Selection)
	if err != nil {
		return err
	}
	missing := map[string]bool{}
	var kinds []string
	for _, st := range sts {
		if st.Stage.MissingInput && st.Action != ActSkip {
			return &MissingInputError{Missing: p.Missing}
		}
		if opt.CheckKind != nil && st.Action.Runs() && !missing[st.Stage.Spec.Kind] {
			if err := opt.CheckKind(st.Stage.Spec.Kind); err != nil {
				missing[st.Stage.Spec.Kind] = true
				kinds = append(kinds, st.Stage.Spec.Kind)
			}
		}
	}
	if len(kinds) > 0 {
		return fmt.Errorf("nothing was run: this binary cannot run stage kind(s) %s; kinds that need libtorch require a binary built with 'make build' (-tags torch)", strings.Join(kinds, ", "))
	}
	return nil
}

// recover repairs the records file and appends the records a killed runner
// could not write (see the package documentation).
func (r *run) recover() error {
	store.CleanTrash(r.exp.Stages())
	repaired, err := store.RepairRecords(r.exp.Records())
	if err != nil {
		return fmt.Errorf("repair %s: %w", r.exp.Records(), err)
	}
	if repaired {
		r.sum.Repaired = true
		r.rep.Printf("records.jsonl ended in a torn line (machine crash?); moved it to %s", store.TruncatedFile)
	}
	if r.ix, err = store.ReadIndex(r.exp.Records()); err != nil {
		return err
	}
	r.sum.RecordProblems = r.ix.Problems
	for _, pr := range r.ix.Problems {
		r.rep.Printf("warning: %s: %s", r.exp.Records(), pr)
	}
	r.walls = r.ix.Walls()
	ents, err := os.ReadDir(r.exp.Stages())
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range ents {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if err := r.reconcile(filepath.Join(r.exp.Stages(), e.Name())); err != nil {
			return err
		}
	}
	return nil
}

func (r *run) reconcile(dir string) error {
	sf, err := store.ReadStageFile(dir)
	if err != nil {
		return nil // spec.json is written before the first marker: no attempt here
	}
	id := sf.Spec.ID
	atts := store.ReadAttempts(dir)
	_, resErr := os.Stat(filepath.Join(dir, record.ResultFile))
	if len(atts) == 0 && resErr != nil {
		return nil
	}
	if len(atts) > 0 && r.ix.Has(id, atts[len(atts)-1].Attempt) {
		return nil
	}
	lk, err := store.LockStage(dir, func() {
		r.rep.Printf("waiting for %s: another process holds its lock (an orphaned stage of a killed runner?)", filepath.Base(dir))
	})
	if err != nil {
		return err
	}
	defer lk.Unlock()
	st := store.ReadState(dir)
	var m *store.Attempt
	if len(st.Attempts) > 0 {
		m = &st.Attempts[len(st.Attempts)-1]
		if r.ix.Has(id, m.Attempt) {
			return nil
		}
	} else {
		// A result without any marker: produced outside a runner. Give it an
		// attempt so that it is recorded once.
		fi, _ := os.Stat(filepath.Join(dir, record.ResultFile))
		m = &store.Attempt{Attempt: r.ix.MaxAttempt(id) + 1, Start: fi.ModTime().UTC(), Provenance: r.opt.Provenance}
		m.Provenance.Command = nil
		if err := store.WriteAttempt(dir, m); err != nil {
			return err
		}
	}
	rec := r.newRecord(sf, r.cellsOf(sf), m, dir)
	end := time.Now().UTC()
	switch {
	case st.Result != nil:
		if fi, err := os.Stat(filepath.Join(dir, record.ResultFile)); err == nil {
			end = fi.ModTime().UTC()
		}
		finishRecord(&rec, end, st.Result, nil)
	case st.Failure != nil && st.Failure.Attempt == m.Attempt:
		if fi, err := os.Stat(filepath.Join(dir, store.FailureFile)); err == nil {
			end = fi.ModTime().UTC()
		}
		finishRecord(&rec, end, nil, &st.Failure.Failure)
	default:
		// The attempt died with its runner: its wall time ends at its last
		// sign of life (the stage log's last write), not now.
		if fi, err := os.Stat(filepath.Join(dir, store.LogFile)); err == nil && fi.ModTime().After(m.Start) && fi.ModTime().Before(end) {
			end = fi.ModTime().UTC()
		}
		f := &store.Failure{Attempt: m.Attempt, Failure: record.Failure{Class: record.FailInterrupted,
			Message: "the runner stopped before this attempt finished (killed?); the stage runs again on the next run"}}
		if err := store.WriteFailure(dir, f); err != nil {
			return err
		}
		finishRecord(&rec, end, nil, &f.Failure)
	}
	if err := r.append(rec); err != nil {
		return err
	}
	r.sum.Reconciled++
	return nil
}

// cellsOf returns the ids of the cells using a stage: the current plan's
// when the stage is in it, else those of its spec.json.
func (r *run) cellsOf(sf *store.StageFile) []string {
	if s := r.p.Stage(sf.Spec.ID); s != nil {
		return s.CellIDs()
	}
	return sf.Cells
}

// sweepOf returns the sweep setting of a stage: the current plan's when the
// stage is in it, else that of its spec.json.
func (r *run) sweepOf(sf *store.StageFile) *record.Sweep {
	if s := r.p.Stage(sf.Spec.ID); s != nil {
		return s.Spec.Sweep
	}
	return sf.Spec.Sweep
}

// append records an attempt; a record already in the file (written by a
// cluster job, or by another process that reconciled it) is not duplicated.
func (r *run) append(rec record.Record) error {
	if _, err := r.exp.AppendRecord(&rec); err != nil {
		return err
	}
	if !r.ix.Has(rec.Stage, rec.Attempt) {
		r.ix.Add(rec)
	}
	return nil
}

func (r *run) newRecord(sf *store.StageFile, cells []string, m *store.Attempt, dir string) record.Record {
	rec := r.exp.AttemptRecord(r.p.Config.Experiment, sf, cells, m, dir)
	rec.Sweep = r.sweepOf(sf)
	return rec
}

func finishRecord(rec *record.Record, end time.Time, res *record.Result, f *record.Failure) {
	store.FinishRecord(rec, end, res, f)
}

func stageFile(s *plan.Stage) *store.StageFile {
	idb, _ := json.Marshal(s.Identity)
	sf := &store.StageFile{Kind: s.Kind, Spec: s.Spec, Identity: idb, Cells: s.CellIDs()}
	for _, u := range s.Upstream {
		sf.Upstream = append(sf.Upstream, u.ID)
	}
	return sf
}

// force removes the directories of the stages --force recomputes.
func (r *run) force(statuses []*StageStatus) error {
	n := 0
	for _, st := range statuses {
		if st.Action != ActForce {
			continue
		}
		dir := st.Stage.Spec.Dir
		lk, err := store.LockStage(dir, nil)
		if err != nil {
			return err
		}
		err = store.Trash(dir)
		lk.Unlock()
		if err != nil {
			return err
		}
		st.State = store.State{}
		n++
	}
	if n > 0 {
		r.rep.Printf("--force: removed the results of %d stage(s) to recompute them", n)
	}
	return nil
}

func (r *run) writeManifest() error { return r.writeManifestTo(r.exp.Manifest()) }

// writeManifestTo writes the manifest of every stage of the plan to path.
func (r *run) writeManifestTo(path string) error {
	m := &store.Manifest{Experiment: r.p.Config.Experiment, Created: time.Now().UTC()}
	for _, s := range r.p.Stages {
		ms := store.ManifestStage{Kind: s.Kind, Spec: s.Spec, Cells: s.CellIDs(), Exclusive: s.Exclusive}
		for _, u := range s.Upstream {
			ms.After = append(ms.After, u.ID)
		}
		m.Stages = append(m.Stages, ms)
	}
	return store.WriteManifest(path, m)
}

// schedule runs the pending stages until none can run.
func (r *run) schedule(statuses []*StageStatus) {
	var queue []*plan.Stage
	for _, st := range statuses {
		s := st.Stage
		switch {
		case st.Action.Runs():
			r.state[s] = stPending
			queue = append(queue, s)
		case st.Action == ActSkip:
			r.sum.Skipped++
		case st.Status == Done:
			r.state[s] = stDone
		case st.Status == Failed:
			r.state[s] = stFailed
			r.sum.Failed = append(r.sum.Failed, Result{s, st.Note})
		case st.Status == Blocked:
			r.state[s] = stBlocked
			r.sum.Blocked = append(r.sum.Blocked, Result{s, st.Note})
		}
	}
	r.sum.Stages, r.sum.Cells = len(r.p.Stages), len(r.p.Cells)
	if len(queue) == 0 {
		r.rep.Printf("nothing to run: %s", r.snapshot())
	} else {
		r.rep.Printf("%d stage(s) to run with %d worker(s); %s", len(queue), r.opt.Executor.Capacity(), r.snapshot())
	}
	stopping, killed := false, false
	interrupt := func() {
		switch {
		case !r.sum.WasInterrupted:
			stopping, r.sum.WasInterrupted = true, true
			r.rep.Printf("interrupt: no new stages; waiting for %d running stage(s) to checkpoint and stop (Ctrl-C again to kill them)", len(r.running))
			r.opt.Executor.Interrupt()
		case !killed:
			killed = true
			r.rep.Printf("second interrupt: killing %d running stage(s)", len(r.running))
			r.opt.Executor.Kill()
		}
	}
	for {
		select { // an interrupt that came while planning or recording wins over launching
		case <-r.opt.Interrupts:
			interrupt()
		default:
		}
		if !stopping {
			if err := r.launchReady(queue); err != nil {
				r.sum.Err = err
				r.rep.Printf("error: %v; no more stages will start", err)
				stopping = true
			}
		}
		r.rep.Update(r.snapshot())
		if len(r.running) == 0 {
			break
		}
		select {
		case o := <-r.opt.Executor.Done():
			r.finish(o, stopping)
		case <-r.opt.Interrupts:
			interrupt()
		}
	}
	for _, s := range queue {
		if r.state[s] == stPending {
			r.sum.NotStarted++
		}
	}
	for _, s := range r.p.Stages {
		if r.state[s] == stDone {
			r.sum.StagesDone++
		}
	}
	r.sum.CellsDone = r.cellsDone()
	r.rep.Update(r.snapshot())
	r.rep.Close()
}

// launchReady starts pending stages whose upstream stages are done, in plan
// order, while slots are free. An exclusive stage waits until nothing else
// runs, and nothing starts beside it.
func (r *run) launchReady(queue []*plan.Stage) error {
	for _, s := range queue {
		if len(r.running) >= r.opt.Executor.Capacity() {
			return nil
		}
		for _, a := range r.running {
			if a.stage.Exclusive {
				return nil
			}
		}
		if r.state[s] != stPending || !r.ready(s) {
			continue
		}
		if s.Exclusive && len(r.running) > 0 {
			return nil
		}
		if err := r.launch(s); err != nil {
			return err
		}
	}
	return nil
}

func (r *run) ready(s *plan.Stage) bool {
	for _, u := range s.Upstream {
		if r.state[u] != stDone {
			return false
		}
	}
	return true
}

func (r *run) launch(s *plan.Stage) error {
	dir := s.Spec.Dir
	lk, err := store.LockStage(dir, func() {
		r.rep.Printf("waiting for %s: another process holds its lock (an orphaned stage of a killed runner?)", s.Name())
	})
	if err != nil {
		return err
	}
	store.CleanTemp(dir)
	st := store.ReadState(dir)
	n := max(r.ix.MaxAttempt(s.ID), st.Latest()) + 1
	if err := store.WriteStageFile(dir, stageFile(s)); err != nil {
		lk.Unlock()
		return err
	}
	job := exec.Job{StageID: s.ID, Name: s.Name(), Dir: dir, Manifest: r.exp.Manifest(), Attempt: n,
		Exclusive: s.Exclusive, Lock: lk, Log: filepath.Join(dir, store.LogFile)}
	var marker *store.Attempt
	err = r.opt.Executor.Start(job, func(l exec.Launch) error {
		prov := r.opt.Provenance
		prov.Command, prov.Device, prov.Threads, prov.SchedulerID = l.Command, l.Device, l.Threads, l.SchedulerID
		marker = &store.Attempt{Attempt: n, Start: time.Now().UTC(), RunnerPID: os.Getpid(), Provenance: prov}
		return store.WriteAttempt(dir, marker)
	})
	if err != nil {
		defer lk.Unlock()
		if marker == nil {
			return err
		}
		// The attempt exists on disk: record how it ended.
		f := &store.Failure{Attempt: n, Failure: record.Failure{Class: record.FailExit, Message: "could not start: " + err.Error()}}
		if werr := store.WriteFailure(dir, f); werr != nil {
			return errors.Join(err, werr)
		}
		rec := r.newRecord(stageFile(s), s.CellIDs(), marker, dir)
		finishRecord(&rec, time.Now().UTC(), nil, &f.Failure)
		r.state[s] = stFailed
		r.sum.Failed = append(r.sum.Failed, Result{s, f.Class + ": " + f.Message})
		return errors.Join(err, r.append(rec))
	}
	r.sum.Attempts++
	r.state[s] = stRunning
	r.running[s.ID] = &attempt{stage: s, marker: marker, lock: lk, start: time.Now()}
	r.rep.Printf("start  %s  %s  attempt %d on %s", s.Name(), label(s), n, marker.Provenance.Device)
	return nil
}

// finish records an attempt's outcome and updates the graph.
func (r *run) finish(o exec.Outcome, stopping bool) {
	a := r.running[o.Job.StageID]
	delete(r.running, o.Job.StageID)
	s, dir := a.stage, a.stage.Spec.Dir
	defer a.lock.Unlock()
	st := store.ReadState(dir)
	rec := r.newRecord(stageFile(s), s.CellIDs(), a.marker, dir)
	end := o.End.UTC()
	if st.Result != nil {
		finishRecord(&rec, end, st.Result, nil)
	} else {
		var childF *store.Failure
		if st.Failure != nil && st.Failure.Attempt == a.marker.Attempt {
			childF = st.Failure
		}
		f := classify(o, childF, st.ResultErr, r.timeout())
		if childF == nil || childF.Failure != f {
			if err := store.WriteFailure(dir, &store.Failure{Attempt: a.marker.Attempt, Failure: f}); err != nil {
				r.rep.Printf("error: %s: %v", s.Name(), err)
			}
		}
		finishRecord(&rec, end, nil, &f)
	}
	if err := r.append(rec); err != nil {
		// Without its record the attempt is reconciled by the next run.
		r.sum.Err = err
		r.rep.Printf("error: %v", err)
	}
	wall := o.End.Sub(a.marker.Start)
	if rec.Status == record.StatusOK {
		r.state[s] = stDone
		r.walls[s.Kind] = append(r.walls[s.Kind], wall.Seconds())
		r.sum.Succeeded = append(r.sum.Succeeded, Result{s, ""})
		r.rep.Printf("done   %s  %s  in %s  [%s]", s.Name(), label(s), progress.FormatDuration(wall), r.snapshot())
		return
	}
	f := rec.Failure
	if f.Class == record.FailInterrupted {
		r.state[s] = stIdle
		r.sum.Interrupted = append(r.sum.Interrupted, Result{s, f.Message})
		r.rep.Printf("stopped %s  %s  (interrupted; it resumes on the next run)", s.Name(), label(s))
		return
	}
	if !stopping && contains(r.opt.Selection.Retry, f.Class) && r.ix.FailedInARow(s.ID) < r.opt.Selection.MaxAttempts {
		r.state[s] = stPending
		r.rep.Printf("retry  %s  %s  after %s: %s (log: %s)", s.Name(), label(s), f.Class, f.Message, rec.Log)
		return
	}
	r.state[s] = stFailed
	r.sum.Failed = append(r.sum.Failed, Result{s, f.Class + ": " + f.Message})
	r.rep.Printf("FAILED %s  %s  %s: %s (log: %s)", s.Name(), label(s), f.Class, f.Message, rec.Log)
	for _, d := range r.p.Downstream([]*plan.Stage{s})[1:] {
		if r.state[d] == stPending {
			r.state[d] = stBlocked
			r.sum.Blocked = append(r.sum.Blocked, Result{d, "blocked by " + s.Name() + " (failed)"})
		}
	}
}

func (r *run) timeout() time.Duration { return r.p.Config.Executor.Timeout }

// classify decides the failure class of an attempt that left no result.
func classify(o exec.Outcome, child *store.Failure, resErr error, limit time.Duration) record.Failure {
	f := record.Failure{ExitCode: o.ExitCode, Signal: o.Signal}
	childMsg := ""
	if child != nil {
		childMsg = child.Message
	}
	switch {
	case o.Err != nil:
		f.Class, f.Message = record.FailExit, "could not start: "+o.Err.Error()
	case o.TimedOut:
		f.Class, f.Message = record.FailTimeout, fmt.Sprintf("exceeded the per-stage time limit of %s", limit)
		if childMsg != "" {
			f.Message += "; " + childMsg
		}
	case o.Interrupted:
		f.Class, f.Message = record.FailInterrupted, "stopped by the user"
	case child != nil:
		f.Class, f.Message = child.Class, child.Message
	case o.OOMKilled:
		f.Class, f.Message = record.FailOOM, "killed by the kernel's out-of-memory killer (memory.events oom_kill rose)"
	case o.Signal != "":
		f.Class, f.Message = record.FailSignal, "killed by signal: "+o.Signal
	case o.ExitCode != 0:
		f.Class, f.Message = record.FailExit, fmt.Sprintf("exit status %d without failure.json (crash? see the log)", o.ExitCode)
	case resErr != nil:
		f.Class, f.Message = record.FailExit, "unusable result.json: "+resErr.Error()
	default:
		f.Class, f.Message = record.FailExit, "exited with status 0 without writing result.json"
	}
	return f
}

func label(s *plan.Stage) string {
	l := s.Spec.Task + " " + s.Spec.Method
	if s.Spec.Sparsity > 0 {
		l += fmt.Sprintf(" %g", s.Spec.Sparsity)
	}
	return l + fmt.Sprintf(" seed=%d", s.Spec.Seed)
}

func (r *run) cellsDone() int {
	n := 0
	for _, c := range r.p.Cells {
		if c.Done(func(s *plan.Stage) bool { return r.state[s] == stDone }) {
			n++
		}
	}
	return n
}

func (r *run) snapshot() progress.Snapshot {
	s := progress.Snapshot{StagesTotal: len(r.p.Stages), CellsTotal: len(r.p.Cells), CellsDone: r.cellsDone(), Running: len(r.running)}
	var remaining []string
	for _, st := range r.p.Stages {
		switch r.state[st] {
		case stDone:
			s.StagesDone++
		case stFailed:
			s.Failed++
		case stBlocked:
			s.Blocked++
		case stPending:
			remaining = append(remaining, st.Kind)
		}
	}
	var elapsed []runningStage
	for _, a := range r.running {
		elapsed = append(elapsed, runningStage{a.stage.Kind, time.Since(a.start)})
	}
	s.ETA = eta(r.walls, remaining, elapsed, r.opt.Executor.Capacity())
	return s
}

type runningStage struct {
	kind    string
	elapsed time.Duration
}

// eta estimates the time left: the mean wall time of each kind (from this
// and earlier runs) over the remaining stages, minus what running stages
// have done, spread over the workers. It is -1 when nothing is known yet.
func eta(walls map[string][]float64, pending []string, running []runningStage, workers int) time.Duration {
	means := map[string]float64{}
	var all []float64
	for k, ws := range walls {
		means[k] = meanOf(ws)
		all = append(all, ws...)
	}
	if len(all) == 0 {
		if len(pending) == 0 && len(running) == 0 {
			return 0
		}
		return -1
	}
	overall := meanOf(all)
	guess := func(kind string) float64 {
		if m, ok := means[kind]; ok {
			return m
		}
		return overall
	}
	total := 0.0
	for _, k := range pending {
		total += guess(k)
	}
	for _, rs := range running {
		total += max(guess(rs.kind)-rs.elapsed.Seconds(), 0)
	}
	return time.Duration(total / float64(max(workers, 1)) * float64(time.Second))
}

func meanOf(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}
