package runner

import (
	"strconv"
	"time"

	"github.com/cofiharness/cofi/record"
	"github.com/cofiharness/cofi/runner/config"
	"github.com/cofiharness/cofi/runner/plan"
	"github.com/cofiharness/cofi/runner/store"
)

// Status of a stage, decided from its directory (and, for the retry policy,
// the records).
type Status string

const (
	Done         Status = "done"
	Missing      Status = "missing" // never run, interrupted, or its attempt was cut short
	Failed       Status = "failed"  // the latest attempt failed
	Running      Status = "running" // an attempt holds the stage lock, or its cluster job runs
	Queued       Status = "queued"  // a cluster job for it is pending
	Blocked      Status = "blocked" // an upstream stage failed or cannot run
	MissingInput Status = "missing-input"
)

// Action is what `cofi run` would do with a stage.
type Action string

const (
	ActNone    Action = ""        // nothing: done, running, or failed and not retried
	ActRun     Action = "run"     // missing: run it
	ActRetry   Action = "retry"   // failed: rerun (--retry-failed or retry policy)
	ActForce   Action = "rerun"   // done, but --force selects it
	ActBlocked Action = "blocked" // would run, but an upstream stage will not be done
	ActSkip    Action = "skip"    // outside --only
)

// Runs reports whether the action executes the stage.
func (a Action) Runs() bool { return a == ActRun || a == ActRetry || a == ActForce }

// StageStatus is one row of a plan.
type StageStatus struct {
	Stage    *plan.Stage
	Status   Status
	Action   Action
	State    store.State
	Note     string // e.g. the failure class and message, "interrupted", "blocked by ..."
	Attempts int    // recorded attempts
}

// Selection says which stages a run would execute.
type Selection struct {
	RetryFailed bool
	Force       []*plan.Filter // recompute these and everything downstream
	Only        []*plan.Filter // run only these and what they need
	Retry       []string       // failure classes retried automatically
	MaxAttempts int            // ... while a stage has failed fewer times in a row
	// Active are the stages a cluster job will run or runs now, by stage
	// id: they are queued or running, whatever their directory says.
	Active map[string]ActiveJob
}

// ActiveJob is a pending or running cluster job of a stage.
type ActiveJob struct {
	ID      string // e.g. Slurm "12_3"
	State   string // e.g. PENDING, RUNNING
	Reason  string // why it is pending
	Node    string
	Started bool
	Elapsed time.Duration
}

func (a ActiveJob) String() string {
	s := "job " + a.ID + " " + a.State
	if a.Reason != "" {
		s += " (" + a.Reason + ")"
	}
	if a.Node != "" {
		s += " on " + a.Node
	}
	return s
}

// SelectionFor fills the retry policy from the config's executor settings.
func SelectionFor(e config.Executor, retryFailed bool, force, only []*plan.Filter) Selection {
	return Selection{RetryFailed: retryFailed, Force: force, Only: only, Retry: e.Retry, MaxAttempts: e.MaxAttempts}
}

// Statuses computes every stage's status and action, in plan order.
func Statuses(p *plan.Plan, ix *store.Index, sel Selection) ([]*StageStatus, error) {
	forced := map[*plan.Stage]bool{}
	if len(sel.Force) > 0 {
		chosen, err := p.Select(sel.Force)
		if err != nil {
			return nil, err
		}
		for _, s := range p.Downstream(chosen) {
			forced[s] = true
		}
	}
	var only map[*plan.Stage]bool
	if len(sel.Only) > 0 {
		chosen, err := p.Select(sel.Only)
		if err != nil {
			return nil, err
		}
		only = map[*plan.Stage]bool{}
		for _, s := range p.Upstream(chosen) {
			only[s] = true
		}
	}
	out := make([]*StageStatus, 0, len(p.Stages))
	by := map[*plan.Stage]*StageStatus{}
	for _, s := range p.Stages {
		st := &StageStatus{Stage: s, Attempts: len(ix.Stage(s.ID))}
		by[s] = st
		out = append(out, st)
		if s.MissingInput {
			st.Status, st.Action, st.Note = MissingInput, ActRun, "data or model not found"
		} else {
			st.State = store.ReadState(s.Spec.Dir)
			st.classify(ix, sel, forced[s])
			if a, ok := sel.Active[s.ID]; ok && !st.State.Done() {
				st.Status, st.Action, st.Note = Queued, ActNone, a.String()
				if a.Started {
					st.Status = Running
				}
			}
		}
		if only != nil && !only[s] && st.Action.Runs() {
			st.Action = ActSkip
		}
		if st.Action.Runs() || st.Status == MissingInput {
			for _, u := range s.Upstream {
				us := by[u]
				if !(us.Status == Done && !us.Action.Runs() || us.Action.Runs() || us.Status == Running || us.Status == Queued) {
					st.Status, st.Action = Blocked, ActBlocked
					st.Note = "blocked by " + u.Name() + " (" + string(us.Status) + ")"
					break
				}
			}
		}
		if st.Action == ActBlocked && st.Status != Blocked {
			st.Status = Blocked
		}
	}
	return out, nil
}

func (st *StageStatus) classify(ix *store.Index, sel Selection, forced bool) {
	s := st.State
	switch {
	case s.ResultErr != nil:
		st.Status, st.Action, st.Note = Missing, ActRun, "unusable result.json: "+s.ResultErr.Error()
	case s.Done():
		st.Status = Done
		if forced {
			st.Action = ActForce
		}
	case s.Running:
		st.Status, st.Note = Running, "attempt "+strconv.Itoa(s.Latest())
	case s.Failure != nil && s.Failure.Class != record.FailInterrupted:
		st.Status = Failed
		st.Note = s.Failure.Class + ": " + s.Failure.Message
		retry := sel.RetryFailed || forced
		if !retry && contains(sel.Retry, s.Failure.Class) && ix.FailedInARow(st.Stage.ID) < sel.MaxAttempts {
			retry = true
			st.Note += " (retried by policy)"
		}
		if retry {
			st.Action = ActRetry
		}
	default:
		st.Status, st.Action = Missing, ActRun
		switch {
		case s.Failure != nil:
			st.Note = "interrupted"
		case s.Latest() > 0:
			st.Note = "attempt " + strconv.Itoa(s.Latest()) + " was cut short"
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
