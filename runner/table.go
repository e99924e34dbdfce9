package runner

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cofiharness/cofi/record"
	"github.com/cofiharness/cofi/runner/plan"
	"github.com/cofiharness/cofi/runner/progress"
	"github.com/cofiharness/cofi/runner/store"
)

// Counts tallies statuses and actions.
type Counts struct {
	Stages       int `json:"stages"`
	Done         int `json:"done"`
	Missing      int `json:"missing"`
	Failed       int `json:"failed"`
	Running      int `json:"running"`
	Queued       int `json:"queued,omitempty"` // a cluster job is pending
	Blocked      int `json:"blocked"`
	MissingInput int `json:"missing_input"`
	ToRun        int `json:"to_run"`
	Cells        int `json:"cells"`
	CellsDone    int `json:"cells_done"`
	// ByKind counts stages per kind; Sweeps and Candidates count the swept
	// cells and their settings.
	ByKind     map[string]int `json:"by_kind"`
	Sweeps     int            `json:"sweeps"`
	Candidates int            `json:"candidates"`
}

// Count tallies a plan's statuses.
func Count(p *plan.Plan, sts []*StageStatus) Counts {
	c := Counts{Stages: len(sts), Cells: len(p.Cells), ByKind: map[string]int{}, Sweeps: len(p.Sweeps)}
	for _, g := range p.Sweeps {
		c.Candidates += len(g.Cells)
	}
	by := map[*plan.Stage]*StageStatus{}
	for _, st := range sts {
		by[st.Stage] = st
		c.ByKind[st.Stage.Kind]++
		switch st.Status {
		case Done:
			c.Done++
		case Missing:
			c.Missing++
		case Failed:
			c.Failed++
		case Running:
			c.Running++
		case Queued:
			c.Queued++
		case Blocked:
			c.Blocked++
		case MissingInput:
			c.MissingInput++
		}
		if st.Action.Runs() && st.Status != MissingInput {
			c.ToRun++
		}
	}
	for _, cell := range p.Cells {
		if cell.Done(func(s *plan.Stage) bool { return by[s].Status == Done }) {
			c.CellsDone++
		}
	}
	return c
}

func (c Counts) String() string {
	parts := []string{fmt.Sprintf("%d stages: %d done", c.Stages, c.Done)}
	for _, x := range []struct {
		n    int
		name string
	}{{c.Running, "running"}, {c.Queued, "queued"}, {c.Failed, "failed"}, {c.Blocked, "blocked"}, {c.Missing, "missing"}, {c.MissingInput, "missing-input"}} {
		if x.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", x.n, x.name))
		}
	}
	return fmt.Sprintf("%s; %d/%d cells complete", strings.Join(parts, ", "), c.CellsDone, c.Cells)
}

func sparsity(x float64) string {
	if x == 0 {
		return "-"
	}
	return strconv.FormatFloat(x, 'g', -1, 64)
}

// WritePlan prints the stages of a plan with their status and what a run
// would do, then the cells, then a summary and any missing inputs.
func WritePlan(w io.Writer, p *plan.Plan, sts []*StageStatus) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STAGE\tTASK\tMETHOD\tSPARSITY\tSEED\tSTATUS\tWOULD\tNOTE")
	for _, st := range sts {
		s := st.Stage
		act := string(st.Action)
		if act == "" || st.Status == MissingInput {
			act = "-" // nothing runs until the input exists
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", s.Name(), s.Spec.Task, s.Spec.Method, sparsity(s.Spec.Sparsity),
			s.Spec.Seed, st.Status, act, oneLine(st.Note, 70))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	by := map[*plan.Stage]*StageStatus{}
	for _, st := range sts {
		by[st.Stage] = st
	}
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CELL\tTASK\tMETHOD\tSPARSITY\tSEED\tPARAMS\tSTAGES DONE\tGRIDS")
	for _, c := range p.Cells {
		done := 0
		for _, s := range c.Stages {
			if by[s].Status == Done {
				done++
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%d/%d\t%s\n", c.ID, c.Task, c.Method, sparsity(c.Sparsity), c.Seed,
			paramsString(c), done, len(c.Stages), strings.Join(c.Grids, ","))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if err := writeSweeps(w, p); err != nil {
		return err
	}
	c := Count(p, sts)
	fmt.Fprintf(w, "\n%s: %s; a run would execute %d stage(s)\n", p.Config.Experiment, c, c.ToRun)
	fmt.Fprintf(w, "stages by kind: %s\n", kindCounts(c.ByKind))
	if len(p.Missing) > 0 {
		fmt.Fprintf(w, "\nmissing inputs (a run stops before any work until they exist):\n")
		for _, m := range p.Missing {
			fmt.Fprintf(w, "  - %s\n", m)
		}
		fmt.Fprintf(w, "how to get GLUE, SQuAD, bert-base-uncased, the general TinyBERT and GloVe in these layouts: REPRODUCE.md, section 2\n")
	}
	return nil
}

func paramsString(c *plan.Cell) string {
	var parts []string
	keys := make([]string, 0, len(c.Params))
	for k := range c.Params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%v", k, c.Params[k]))
	}
	if c.Sweep != nil {
		var set []string
		for _, k := range sortedAny(c.Sweep.Setting) {
			set = append(set, fmt.Sprintf("%s=%v", k, c.Sweep.Setting[k]))
		}
		parts = append(parts, fmt.Sprintf("sweep %s %d/%d: %s", c.Sweep.Group.ID, c.Sweep.Index+1, len(c.Sweep.Group.Cells), strings.Join(set, " ")))
	}
	if c.Heldout > 0 {
		parts = append(parts, fmt.Sprintf("heldout=%g", c.Heldout))
	}
	if c.Profile != "" && c.Profile != "authors" {
		parts = append(parts, "profile="+c.Profile)
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, " ")
}

func oneLine(s string, n int) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > n {
		return s[:n-3] + "..."
	}
	return s
}

// PlanJSON is the machine-readable plan.
type PlanJSON struct {
	Experiment string       `json:"experiment"`
	Dir        string       `json:"dir"`
	Counts     Counts       `json:"counts"`
	Stages     []StageJSON  `json:"stages"`
	Cells      []CellJSON   `json:"cells"`
	Sweeps     []SweepJSON  `json:"sweeps,omitempty"`
	Missing    []string     `json:"missing_inputs,omitempty"`
	Runner     *RunnerState `json:"runner,omitempty"`
}

// StageJSON is one stage of PlanJSON.
type StageJSON struct {
	ID       string        `json:"id"`
	Name     string        `json:"name"`
	Kind     string        `json:"kind"`
	Task     string        `json:"task"`
	Method   string        `json:"method"`
	Sparsity float64       `json:"sparsity"`
	Seed     int64         `json:"seed"`
	Status   Status        `json:"status"`
	Action   Action        `json:"action"`
	Note     string        `json:"note,omitempty"`
	Attempts int           `json:"attempts"`
	Upstream []string      `json:"upstream,omitempty"`
	Cells    []string      `json:"cells"`
	Dir      string        `json:"dir"`
	Params   record.Params `json:"params"`
}

// CellJSON is one cell of PlanJSON.
type CellJSON struct {
	ID       string         `json:"id"`
	Task     string         `json:"task"`
	Method   string         `json:"method"`
	Sparsity float64        `json:"sparsity"`
	Seed     int64          `json:"seed"`
	Profile  string         `json:"profile"`
	Params   map[string]any `json:"params,omitempty"`
	Grids    []string       `json:"grids"`
	Stages   []string       `json:"stages"`
	Done     bool           `json:"done"`
	Sweep    *CellSweepJSON `json:"sweep,omitempty"`
	Heldout  float64        `json:"heldout,omitempty"`
}

// RunnerState says whether a runner holds the experiment.
type RunnerState struct {
	Running bool   `json:"running"`
	Holder  string `json:"holder,omitempty"`
}

// NewPlanJSON builds the machine-readable form of a plan.
func NewPlanJSON(p *plan.Plan, sts []*StageStatus) PlanJSON {
	out := PlanJSON{Experiment: p.Config.Experiment, Dir: p.Dir, Counts: Count(p, sts)}
	by := map[*plan.Stage]*StageStatus{}
	for _, st := range sts {
		s := st.Stage
		by[s] = st
		sj := StageJSON{ID: s.ID, Name: s.Name(), Kind: s.Kind, Task: s.Spec.Task, Method: s.Spec.Method,
			Sparsity: s.Spec.Sparsity, Seed: s.Spec.Seed, Status: st.Status, Action: st.Action, Note: st.Note,
			Attempts: st.Attempts, Cells: s.CellIDs(), Dir: s.Spec.Dir, Params: s.Spec.Params}
		for _, u := range s.Upstream {
			sj.Upstream = append(sj.Upstream, u.ID)
		}
		out.Stages = append(out.Stages, sj)
	}
	for _, c := range p.Cells {
		cj := CellJSON{ID: c.ID, Task: c.Task, Method: c.Method, Sparsity: c.Sparsity, Seed: c.Seed, Profile: c.Profile,
			Params: c.Params, Grids: c.Grids, Done: c.Done(func(s *plan.Stage) bool { return by[s].Status == Done })}
		for _, s := range c.Stages {
			cj.Stages = append(cj.Stages, s.ID)
		}
		if c.Sweep != nil {
			cj.Sweep = &CellSweepJSON{Group: c.Sweep.Group.ID, Index: c.Sweep.Index, Setting: c.Sweep.Setting}
		}
		cj.Heldout = c.Heldout
		out.Cells = append(out.Cells, cj)
	}
	out.Sweeps = sweepsJSON(p)
	for _, m := range p.Missing {
		out.Missing = append(out.Missing, m.String())
	}
	return out
}

// WriteStatus summarises an experiment from its records and stage
// directories: counts, the runner holding it, running and failed stages, and
// an ETA from the recorded wall times.
func WriteStatus(w io.Writer, p *plan.Plan, sts []*StageStatus, ix *store.Index, workers int, now time.Time) {
	running, holder := store.ExperimentLocked(p.Dir)
	c := Count(p, sts)
	fmt.Fprintf(w, "experiment %s (%s)\n", p.Config.Experiment, p.Dir)
	if running {
		fmt.Fprintf(w, "runner: running, %s\n", holder)
	} else {
		fmt.Fprintf(w, "runner: not running\n")
	}
	fmt.Fprintf(w, "%s\n", c)
	ok, failed, interrupted := 0, 0, 0
	for _, id := range ix.Stages() {
		for _, r := range ix.Stage(id) {
			switch {
			case r.Status == record.StatusOK:
				ok++
			case r.Failure != nil && r.Failure.Class == record.FailInterrupted:
				interrupted++
			default:
				failed++
			}
		}
	}
	fmt.Fprintf(w, "records: %d attempts (%d ok, %d failed, %d interrupted)\n", ix.Total, ok, failed, interrupted)
	for _, pr := range ix.Problems {
		fmt.Fprintf(w, "  records.jsonl %s\n", pr)
	}
	var pending []string
	var runs []runningStage
	for _, st := range sts {
		switch st.Status {
		case Running:
			if len(st.State.Attempts) > 0 {
				a := st.State.Attempts[len(st.State.Attempts)-1]
				runs = append(runs, runningStage{st.Stage.Kind, now.Sub(a.Start)})
			}
		case Missing, Queued:
			pending = append(pending, st.Stage.Kind)
		case Failed:
			if st.Action.Runs() {
				pending = append(pending, st.Stage.Kind)
			}
		}
	}
	if len(runs) > 0 || c.Running > 0 {
		fmt.Fprintf(w, "\nrunning:\n")
		for _, st := range sts {
			if st.Status != Running {
				continue
			}
			job := ""
			if st.Note != "" && strings.HasPrefix(st.Note, "job ") {
				job = "; " + st.Note
			}
			if len(st.State.Attempts) == 0 {
				fmt.Fprintf(w, "  %s  %s  starting%s\n", st.Stage.Name(), label(st.Stage), job)
				continue
			}
			a := st.State.Attempts[len(st.State.Attempts)-1]
			fmt.Fprintf(w, "  %s  %s  attempt %d on %s, for %s%s\n", st.Stage.Name(), label(st.Stage), a.Attempt,
				a.Provenance.Device, progress.FormatDuration(now.Sub(a.Start)), job)
		}
	}
	if c.Queued > 0 {
		fmt.Fprintf(w, "\nqueued:\n")
		for _, st := range sts {
			if st.Status == Queued {
				fmt.Fprintf(w, "  %s  %s  %s\n", st.Stage.Name(), label(st.Stage), st.Note)
			}
		}
	}
	var bad []*StageStatus
	for _, st := range sts {
		if st.Status == Failed || st.Status == Blocked || st.Status == MissingInput {
			bad = append(bad, st)
		}
	}
	if len(bad) > 0 {
		fmt.Fprintf(w, "\nnot done:\n")
		for _, st := range bad {
			fmt.Fprintf(w, "  %s  %s  %s: %s\n", st.Stage.Name(), label(st.Stage), st.Status, oneLine(st.Note, 160))
			if st.Status == Failed {
				fmt.Fprintf(w, "      log: %s\n", store.Experiment{Dir: p.Dir}.Rel(st.Stage.Spec.Dir+"/"+store.LogFile))
			}
		}
	}
	if len(pending)+len(runs) > 0 {
		if d := eta(ix.Walls(), pending, runs, workers); d >= 0 {
			fmt.Fprintf(w, "\nremaining: %d stage(s), about %s with %d worker(s) (mean recorded wall time per kind)\n",
				len(pending)+len(runs), progress.FormatDuration(d), workers)
		} else {
			fmt.Fprintf(w, "\nremaining: %d stage(s); no finished stage yet to estimate the time\n", len(pending)+len(runs))
		}
	}
	for _, m := range p.Missing {
		fmt.Fprintf(w, "missing input: %s\n", m)
	}
}
