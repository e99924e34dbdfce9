package runner

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/cofiharness/cofi/record"
	"github.com/cofiharness/cofi/runner/config"
	"github.com/cofiharness/cofi/runner/plan"
	"github.com/cofiharness/cofi/runner/progress"
	"github.com/cofiharness/cofi/runner/slurm"
	"github.com/cofiharness/cofi/runner/store"
)

// SlurmOptions configure RunSlurm.
type SlurmOptions struct {
	Client    *slurm.Client
	Settings  config.Slurm
	Binary    string        // the cofi executable the jobs run (on a shared file system)
	Threads   int           // CPU threads per stage (Spec.Threads)
	Workers   int           // exclusive stages get Threads*Workers threads, as under the local executor
	Timeout   time.Duration // executor.timeout: --time where executor.slurm.time says nothing
	KillGrace time.Duration // after Ctrl-C, cancel stages still running this much later
	Detach    bool          // submit and return
}

// srun is one RunSlurm: the local run's bookkeeping plus the cluster's.
type srun struct {
	*run
	so         SlurmOptions
	ledger     *slurm.Ledger
	started    time.Time
	submitted  map[string]submittedTask // this run's tasks, until squeue has shown them
	submits    map[string]int           // submissions per stage in this run
	released   map[string]time.Time     // requeued tasks released, when
	requeued   map[string]time.Time     // requeued tasks, when first seen so
	last       map[string]Status        // for messages about changes
	ended      map[string]slurm.Task    // ended tasks squeue still shows, by task id
	arrays     []string                 // array job ids submitted by this run
	maxRunning int                      // most tasks seen running at once, for the ETA
}

type submittedTask struct {
	task slurm.Task
	at   time.Time
}

// RunSlurm submits what is missing in p to Slurm as job arrays (see package
// runner/slurm) and, unless Detach, waits for them, resubmitting what the
// retry policy allows, with progress from squeue. The invariants of the
// package documentation hold, with the cluster jobs in the role of the child
// processes: jobs record their own attempts, and what a killed job could not
// record is recorded here (or by the stage's next attempt) once squeue says
// the job ended.
func RunSlurm(p *plan.Plan, opt Options, so SlurmOptions) (*Summary, error) {
	if opt.Progress == nil {
		opt.Progress = progress.New(os.Stderr, false)
	}
	if err := preflight(p, opt); err != nil {
		return nil, err
	}
	if so.Client == nil {
		so.Client = slurm.NewClient(slurm.DefaultCommands)
	}
	if so.Settings.Poll <= 0 {
		so.Settings.Poll = 10 * time.Second
	}
	host, _ := os.Hostname()
	info := fmt.Sprintf("pid %d on %s since %s: %s", os.Getpid(), host, time.Now().Format(time.RFC3339), strings.Join(opt.Command, " "))
	lock, err := store.LockExperiment(p.Dir, info)
	if err != nil {
		return nil, err
	}
	defer lock.Unlock()
	// Every sbatch holds the experiment lock too: if this process is
	// killed mid-submission, the next runner waits for its last sbatch.
	client := *so.Client
	client.Hold = lock.File()
	so.Client = &client
	r := &srun{
		run: &run{p: p, opt: opt, exp: store.Experiment{Dir: p.Dir}, rep: opt.Progress, sum: &Summary{},
			state: map[*plan.Stage]nodeState{}, running: map[string]*attempt{}},
		so: so, ledger: slurm.NewLedger(p.Dir), started: time.Now(), submitted: map[string]submittedTask{},
		submits: map[string]int{}, released: map[string]time.Time{}, requeued: map[string]time.Time{}, last: map[string]Status{}, ended: map[string]slurm.Task{},
	}
	if err := r.recoverRecords(); err != nil {
		return r.sum, err
	}
	active, err := r.queue()
	if err != nil {
		return r.sum, err
	}
	if err := r.settleAll(active); err != nil {
		return r.sum, err
	}
	sel := opt.Selection
	sel.Active = toActive(active)
	sts, err := Statuses(p, r.ix, sel)
	if err != nil {
		return r.sum, err
	}
	for _, st := range sts {
		if st.Action == ActForce {
			if a, ok := active[st.Stage.ID]; ok {
				return r.sum, fmt.Errorf("--force %s: its Slurm job %s is %s; scancel it first", st.Stage.Name(), a.ID, a.State)
			}
		}
	}
	if err := r.force(sts); err != nil {
		return r.sum, err
	}
	if err := r.writeManifest(); err != nil {
		return r.sum, err
	}
	if n := countRuns(sts); n == 0 {
		r.rep.Printf("nothing to submit: %s", Count(p, sts))
	} else {
		r.rep.Printf("%d stage(s) to submit to Slurm; %s", n, Count(p, sts))
	}
	r.note(sts, nil)
	if err := r.submit(sts, active); err != nil {
		r.sum.Err = err
		r.rep.Printf("error: %v", err)
	}
	if so.Detach || r.sum.Err != nil {
		if active, err = r.queue(); err == nil {
			sel.Active = toActive(active)
			sts, _ = Statuses(p, r.ix, sel)
		}
		r.finishSummary(sts)
		return r.sum, nil
	}
	r.watch()
	return r.sum, nil
}

// recoverRecords repairs records.jsonl and reads it.
func (r *srun) recoverRecords() error {
	store.CleanTrash(r.exp.Stages())
	repaired, err := store.RepairRecords(r.exp.Records())
	if err != nil {
		return fmt.Errorf("repair %s: %w", r.exp.Records(), err)
	}
	if repaired {
		r.sum.Repaired = true
		r.rep.Printf("records.jsonl ended in a torn line (machine crash?); moved it to %s", store.TruncatedFile)
	}
	return r.readIndex()
}

func (r *srun) readIndex() error {
	ix, err := store.ReadIndex(r.exp.Records())
	if err != nil {
		return err
	}
	r.ix, r.walls = ix, ix.Walls()
	r.sum.RecordProblems = ix.Problems
	return nil
}

// queue asks squeue for the experiment's jobs and returns the active task
// of each stage. Tasks this run submitted count as active until squeue has
// listed them (or for a minute).
func (r *srun) queue() (map[string]slurm.Task, error) {
	tasks, err := r.so.Client.Queue(slurm.JobName(r.p.Config.Experiment))
	if err != nil {
		return nil, fmt.Errorf("ask Slurm for the experiment's jobs: %w", err)
	}
	active := map[string]slurm.Task{}
	seen := map[string]bool{}
	for _, t := range tasks {
		id := r.ledger.Stage(t)
		if id == "" {
			continue
		}
		seen[t.ID] = true
		if !t.Active() {
			r.ended[t.ID] = t
			continue
		}
		if cur, ok := active[id]; !ok || t.Started() && !cur.Started() {
			active[id] = t
		}
	}
	for id, st := range r.submitted {
		if seen[st.task.ID] || time.Since(st.at) > time.Minute {
			delete(r.submitted, id)
			continue
		}
		if _, ok := active[id]; !ok {
			active[id] = st.task
		}
	}
	return active, nil
}

func toActive(active map[string]slurm.Task) map[string]ActiveJob {
	out := map[string]ActiveJob{}
	for id, t := range active {
		out[id] = ActiveJob{ID: t.ID, State: t.State, Reason: t.Reason, Node: t.Node, Started: t.Started(), Elapsed: t.Elapsed}
	}
	return out
}

// settleAll records the attempts that ended without a record (their job
// was killed) and whose job squeue no longer shows running.
func (r *srun) settleAll(active map[string]slurm.Task) error {
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
		dir := filepath.Join(r.exp.Stages(), e.Name())
		sf, err := store.ReadStageFile(dir)
		if err != nil {
			continue
		}
		atts := store.ReadAttempts(dir)
		if len(atts) == 0 || r.ix.Has(sf.Spec.ID, atts[len(atts)-1].Attempt) {
			continue
		}
		m := atts[len(atts)-1]
		if t, ok := active[sf.Spec.ID]; ok && t.Started() {
			continue // it runs now
		}
		if m.Provenance.Job != nil {
			if t, ok := r.findActive(active, m.Provenance.Job.ID); ok && t.Started() {
				continue
			}
		}
		lk, err := store.TryLockStage(dir)
		if err != nil {
			continue // a process runs it (a job squeue has not shown yet, or a local run)
		}
		ok, err := slurm.Settle(r.exp, r.p.Config.Experiment, dir, r.cellsOf(sf), r.finalState)
		lk.Unlock()
		if err != nil {
			return err
		}
		if ok {
			r.sum.Reconciled++
		}
	}
	return r.readIndex()
}

func (r *srun) findActive(active map[string]slurm.Task, id string) (slurm.Task, bool) {
	for _, t := range active {
		if t.ID == id {
			return t, true
		}
	}
	return slurm.Task{}, false
}

// finalState is how the job of attempt m ended, as far as Slurm knows.
func (r *srun) finalState(m *store.Attempt) string {
	j := m.Provenance.Job
	if j == nil {
		return ""
	}
	if t, ok := r.ended[j.ID]; ok {
		return t.State
	}
	states, _, err := r.so.Client.FinalStates([]slurm.Ref{{ID: j.ID, JobID: j.JobID}})
	if err != nil {
		return ""
	}
	return states[j.ID]
}

func countRuns(sts []*StageStatus) int {
	n := 0
	for _, st := range sts {
		if st.Action.Runs() {
			n++
		}
	}
	return n
}

// submit submits every stage whose action runs it, as arrays per wave.
func (r *srun) submit(sts []*StageStatus, active map[string]slurm.Task) error {
	var todo []*plan.Stage
	in := map[*plan.Stage]bool{}
	for _, st := range sts {
		if !st.Action.Runs() || st.Stage.MissingInput {
			continue
		}
		// A stage submitted again and again in one run without a new
		// attempt (its task saw an upstream result this machine does not
		// see yet, e.g. an NFS cache) is given up on for this run.
		if r.submits[st.Stage.ID] > 2*max(r.opt.Selection.MaxAttempts, 1)+2 {
			continue
		}
		todo = append(todo, st.Stage)
		in[st.Stage] = true
	}
	if len(todo) == 0 {
		return nil
	}
	wave := map[*plan.Stage]int{}
	for _, s := range todo { // plan order: upstream first
		for _, u := range s.Upstream {
			if in[u] {
				wave[s] = max(wave[s], wave[u]+1)
			}
		}
	}
	type key struct {
		wave      int
		kind      string
		exclusive bool
	}
	groups := map[key][]*plan.Stage{}
	var keys []key
	for _, s := range todo {
		k := key{wave[s], s.Kind, s.Exclusive}
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], s)
	}
	sort.SliceStable(keys, func(i, j int) bool { return keys[i].wave < keys[j].wave })

	subDir := filepath.Join(r.p.Dir, slurm.Dir, time.Now().UTC().Format("20060102-150405.000000"))
	if err := os.MkdirAll(subDir, 0o755); err != nil {
		return err
	}
	manifest := filepath.Join(subDir, store.ManifestFile)
	if err := r.writeManifestTo(manifest); err != nil {
		return err
	}
	arrayOf := map[*plan.Stage]string{} // array job id of each stage of this submission
	n := 0
	for gi, k := range keys {
		stages := groups[k]
		for c := 0; c < len(stages); c += slurm.MaxArray {
			part := stages[c:min(c+slurm.MaxArray, len(stages))]
			a := &slurm.Array{Name: fmt.Sprintf("a%02d-w%d-%s", gi, k.wave, k.kind), Kind: k.kind, Wave: k.wave, Created: time.Now().UTC()}
			if c > 0 {
				a.Name += fmt.Sprintf("-%d", c/slurm.MaxArray)
			}
			after := map[string]bool{}
			for _, s := range part {
				a.Stages = append(a.Stages, s.ID)
				a.Dirs = append(a.Dirs, s.Spec.Dir)
				for _, u := range s.Upstream {
					switch {
					case in[u]:
						after[arrayOf[u]] = true
					case active[u.ID].ID != "":
						after[active[u.ID].ID] = true
					}
				}
				if err := os.MkdirAll(s.Spec.Dir, 0o755); err != nil {
					return err
				}
				if err := store.WriteStageFile(s.Spec.Dir, stageFile(s)); err != nil {
					return err
				}
			}
			for j := range after {
				if j != "" {
					a.After = append(a.After, j)
				}
			}
			sort.Strings(a.After)
			a.Resources = r.resources(k.kind, k.exclusive)
			threads := r.so.Threads
			if k.exclusive {
				threads *= max(r.so.Workers, 1)
			}
			cmd := slurm.TaskCommand{Binary: r.so.Binary, Manifest: manifest, Threads: threads, CPUOnly: !r.so.Settings.UsesGPUs(),
				Args: []string{"--max-attempts", strconv.Itoa(r.opt.Selection.MaxAttempts), "--retry", strings.Join(r.opt.Selection.Retry, ","),
					"--scontrol", r.so.Client.Cmd.Scontrol}}
			a.Args = slurm.SbatchArgs(a, slurm.JobName(r.p.Config.Experiment), subDir)
			script, err := slurm.Prepare(subDir, a, slurm.Script(a, cmd, r.p.Config.Experiment))
			if err != nil {
				return err
			}
			job, err := r.so.Client.Submit(a.Args, script)
			if err != nil {
				return fmt.Errorf("submit %s (%d stage(s)): %w", a.Name, len(part), err)
			}
			if err := a.Submitted(subDir, job); err != nil {
				return err
			}
			r.arrays = append(r.arrays, job)
			for i, s := range part {
				tid := job + "_" + strconv.Itoa(i)
				arrayOf[s] = job
				r.submitted[s.ID] = submittedTask{slurm.Task{ID: tid, ArrayJob: job, Index: i, State: "PENDING", Reason: "submitted"}, time.Now()}
				r.submits[s.ID]++
			}
			n += len(part)
			dep := ""
			if len(a.After) > 0 {
				dep = ", after " + strings.Join(a.After, ",")
			}
			r.rep.Printf("submitted %s: job array %s, %d %s stage(s)%s", filepath.Base(subDir)+"/"+a.Name, job, len(part), k.kind, dep)
		}
	}
	r.sum.Submitted += n
	return nil
}

// resources are the sbatch settings of kind's stages.
func (r *srun) resources(kind string, exclusive bool) slurm.Resources {
	s := r.so.Settings
	t := s.TimeFor(kind)
	if t == 0 {
		t = r.so.Timeout
	}
	cpus := s.CPUs
	if cpus == 0 {
		cpus = max(r.so.Threads, 1)
	}
	return slurm.Resources{Partition: s.Partition, Account: s.Account, QOS: s.QOS, Constraint: s.Constraint, Time: t,
		GPUs: s.GPUs, Gres: s.Gres, CPUs: cpus, Mem: s.Mem, Exclusive: exclusive && s.Exclusive, SignalLead: s.SignalLead,
		Throttle: s.Throttle, Extra: s.Args}
}

// watch waits for the experiment's jobs, recording, resubmitting and
// reporting, until none is active and nothing more can be submitted.
func (r *srun) watch() {
	stopping, killed := false, false
	var stopAt time.Time
	poll := time.NewTicker(r.so.Settings.Poll)
	defer poll.Stop()
	var sts []*StageStatus
	for {
		select {
		case <-poll.C:
		case <-r.opt.Interrupts:
			active, _ := r.queue()
			switch {
			case !stopping:
				stopping, r.sum.WasInterrupted = true, true
				stopAt = time.Now().Add(r.so.KillGrace)
				var run, wait []string
				for _, t := range active {
					if t.Started() {
						run = append(run, t.ID)
					} else {
						wait = append(wait, t.ID)
					}
				}
				r.rep.Printf("interrupt: cancelling %d queued task(s); asking %d running stage(s) to checkpoint and stop (Ctrl-C again to cancel them at once)", len(wait), len(run))
				if err := r.so.Client.Cancel(wait, ""); err != nil {
					r.rep.Printf("error: %v", err)
				}
				if err := r.so.Client.Cancel(run, "INT"); err != nil {
					r.rep.Printf("error: %v", err)
				}
			case !killed:
				killed = true
				r.rep.Printf("second interrupt: cancelling %d task(s)", len(active))
				r.cancelAll(active)
			}
		}
		active, err := r.queue()
		if err != nil {
			r.rep.Printf("warning: %v (retrying)", err)
			continue
		}
		if err := r.settleAll(active); err != nil {
			r.sum.Err = err
			r.rep.Printf("error: %v", err)
			return
		}
		sel := r.opt.Selection
		sel.Active = toActive(active)
		if sts, err = Statuses(r.p, r.ix, sel); err != nil {
			r.sum.Err = err
			return
		}
		r.note(sts, r.slurmSnapshot(sts, active))
		if !stopping {
			if err := r.submit(sts, active); err != nil {
				r.sum.Err = err
				r.rep.Printf("error: %v; no more stages will be submitted", err)
				stopping = true
			}
			if len(r.submitted) > 0 {
				for id, st := range r.submitted {
					active[id] = st.task
				}
			}
			r.release(active)
		} else if !killed && time.Now().After(stopAt) && len(active) > 0 {
			killed = true
			r.rep.Printf("%d task(s) still running %s after the interrupt: cancelling them", len(active), progress.FormatDuration(r.so.KillGrace))
			r.cancelAll(active)
		}
		r.rep.Update(*r.slurmSnapshot(sts, active))
		if len(active) == 0 {
			break
		}
	}
	r.finishSummary(sts)
}

func (r *srun) cancelAll(active map[string]slurm.Task) {
	var ids []string
	for _, t := range active {
		ids = append(ids, t.ID)
	}
	if err := r.so.Client.Cancel(ids, ""); err != nil {
		r.rep.Printf("error: %v", err)
	}
}

// releaseAfter is how long a requeued task stays held before the runner
// releases it. slurmd revokes the killed job's credential with a time in
// whole seconds and refuses any credential of that job created in the same
// second or earlier ("Job credential revoked", the job then FAILS): a task
// released within a second of its requeue is lost (seen in CI). Two seconds
// after the runner first saw the requeue are always past that second.
const releaseAfter = 2 * time.Second

// release lets this experiment's requeued tasks start now rather than after
// Slurm's requeue delay.
func (r *srun) release(active map[string]slurm.Task) {
	now := time.Now()
	held := map[string]bool{}
	for _, t := range active {
		if t.Requeued() {
			held[t.ID] = true
		}
	}
	for id := range r.requeued {
		if !held[id] {
			delete(r.requeued, id)
		}
	}
	for _, t := range active {
		if !held[t.ID] {
			continue
		}
		seen, ok := r.requeued[t.ID]
		if !ok {
			r.requeued[t.ID], seen = now, now
		}
		if now.Sub(seen) < releaseAfter || now.Sub(r.released[t.ID]) < 30*time.Second {
			continue
		}
		r.released[t.ID] = time.Now()
		if err := r.so.Client.Release(t.ID); err != nil {
			r.rep.Printf("warning: could not release requeued task %s: %v", t.ID, err)
		}
	}
}

// note reports the stages whose status changed since the last poll (none
// when snap is nil: the first look).
func (r *srun) note(sts []*StageStatus, snap *progress.Snapshot) {
	for _, st := range sts {
		s, prev := st.Stage, r.last[st.Stage.ID]
		r.last[s.ID] = st.Status
		if snap == nil || prev == st.Status {
			continue
		}
		switch st.Status {
		case Done:
			wall := ""
			if recs := r.ix.Stage(s.ID); len(recs) > 0 {
				wall = " in " + progress.FormatDuration(time.Duration(recs[len(recs)-1].Wall*float64(time.Second)))
			}
			r.rep.Printf("done   %s  %s%s  [%s]", s.Name(), label(s), wall, snap)
		case Running:
			r.rep.Printf("start  %s  %s  %s", s.Name(), label(s), st.Note)
		case Failed:
			log := r.exp.Rel(filepath.Join(s.Spec.Dir, store.LogFile))
			if st.Action.Runs() {
				r.rep.Printf("retry  %s  %s  after %s (log: %s)", s.Name(), label(s), st.Note, log)
			} else {
				r.rep.Printf("FAILED %s  %s  %s (log: %s)", s.Name(), label(s), st.Note, log)
			}
		case Missing:
			if prev == Running && st.Note == "interrupted" {
				r.rep.Printf("stopped %s  %s  (interrupted; it resumes on the next run)", s.Name(), label(s))
			}
		}
	}
}

func (r *srun) slurmSnapshot(sts []*StageStatus, active map[string]slurm.Task) *progress.Snapshot {
	c := Count(r.p, sts)
	s := progress.Snapshot{StagesTotal: c.Stages, StagesDone: c.Done, CellsTotal: c.Cells, CellsDone: c.CellsDone,
		Failed: c.Failed, Blocked: c.Blocked}
	var remaining []string
	var running []runningStage
	for _, st := range sts {
		switch {
		case st.Status == Running:
			if a, ok := active[st.Stage.ID]; ok {
				running = append(running, runningStage{st.Stage.Kind, a.Elapsed})
			}
		case st.Status == Queued || st.Action.Runs():
			remaining = append(remaining, st.Stage.Kind)
		}
	}
	s.Running, s.Queued = len(running), len(remaining)
	// The cluster's parallelism is what it has shown so far.
	r.maxRunning = max(r.maxRunning, len(running))
	s.ETA = eta(r.walls, remaining, running, max(r.maxRunning, 1))
	return &s
}

// finishSummary fills the summary from the final statuses.
func (r *srun) finishSummary(sts []*StageStatus) {
	sum := r.sum
	sum.Stages, sum.Cells = len(r.p.Stages), len(r.p.Cells)
	sum.Jobs = r.arrays
	sum.Detached = r.so.Detach
	for _, st := range sts {
		s := st.Stage
		switch st.Status {
		case Done:
			sum.StagesDone++
			if recs := r.ix.Stage(s.ID); len(recs) > 0 && recs[len(recs)-1].Status == record.StatusOK && !recs[len(recs)-1].End.Before(r.started) {
				sum.Succeeded = append(sum.Succeeded, Result{s, ""})
			}
		case Failed:
			if st.Action.Runs() && !r.sum.WasInterrupted {
				sum.NotStarted++ // to be retried, but this run stopped submitting
			} else {
				sum.Failed = append(sum.Failed, Result{s, st.Note})
			}
		case Blocked:
			sum.Blocked = append(sum.Blocked, Result{s, st.Note})
		case Queued, Running:
			sum.Queued++
		case Missing:
			if st.Note == "interrupted" && r.sum.WasInterrupted {
				sum.Interrupted = append(sum.Interrupted, Result{s, st.Note})
			} else if st.Action.Runs() && !r.so.Detach {
				sum.NotStarted++
			}
		}
		if st.Action == ActSkip {
			sum.Skipped++
		}
	}
	for _, id := range r.ix.Stages() {
		for _, rec := range r.ix.Stage(id) {
			if !rec.Start.Before(r.started) {
				sum.Attempts++
			}
		}
	}
	sum.CellsDone = Count(r.p, sts).CellsDone
	if r.so.Detach {
		// Submitted and still queued or running is the expected state.
		sum.NotStarted = 0
	}
}

// SlurmQueue returns the experiment's pending and running Slurm tasks by
// stage id, for `cofi status`. It returns nil, nil when the experiment was
// never submitted to Slurm.
func SlurmQueue(p *plan.Plan, c *slurm.Client) (map[string]ActiveJob, error) {
	if _, err := os.Stat(filepath.Join(p.Dir, slurm.Dir)); err != nil {
		return nil, nil
	}
	tasks, err := c.Queue(slurm.JobName(p.Config.Experiment))
	if err != nil {
		return nil, err
	}
	l := slurm.NewLedger(p.Dir)
	active := map[string]slurm.Task{}
	for _, t := range tasks {
		if id := l.Stage(t); id != "" && t.Active() {
			if cur, ok := active[id]; !ok || t.Started() && !cur.Started() {
				active[id] = t
			}
		}
	}
	return toActive(active), nil
}
