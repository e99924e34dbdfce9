package slurm

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Task is one line of squeue: a job, or one task of a job array.
type Task struct {
	ID       string // "12_3" for an array task, else "12"
	ArrayJob string // "12" (the job id when not an array)
	Index    int    // array task index, -1 when not an array task
	JobID    string // the task's own job id (%A); for a pending task not yet its own
	State    string // e.g. PENDING, RUNNING, COMPLETING, TIMEOUT
	Reason   string // why it is pending, e.g. Dependency, BeginTime
	Node     string
	Elapsed  time.Duration
	Script   string // the batch script (%o)
}

// finalStates are the states of a job that has ended.
var finalStates = map[string]bool{
	"COMPLETED": true, "FAILED": true, "CANCELLED": true, "TIMEOUT": true, "OUT_OF_MEMORY": true,
	"NODE_FAIL": true, "PREEMPTED": true, "BOOT_FAIL": true, "DEADLINE": true, "REVOKED": true,
}

// Ended reports whether state (squeue or sacct spelling, e.g.
// "CANCELLED by 0") is one of an ended job.
func Ended(state string) bool {
	w, _, _ := strings.Cut(strings.TrimSpace(state), " ")
	return finalStates[strings.TrimSuffix(w, "+")]
}

// Active reports whether the task is still queued or running (COMPLETING
// counts: its processes may still write).
func (t Task) Active() bool { return !Ended(t.State) }

// Started reports whether the task runs (or is finishing) on a node.
func (t Task) Started() bool {
	switch t.State {
	case "RUNNING", "COMPLETING", "CONFIGURING", "SUSPENDED", "STOPPED", "SIGNALING", "STAGE_OUT", "RESIZING":
		return true
	}
	return false
}

// Requeued reports whether the task waits for Slurm's requeue delay.
func (t Task) Requeued() bool { return t.State == "PENDING" && t.Reason == "BeginTime" }

// squeueFormat: the fields Task reads, '|'-separated.
const squeueFormat = "%i|%F|%K|%A|%T|%r|%N|%M|%o"

// Queue lists this user's jobs named name, one line per array task,
// including jobs that ended less than MinJobAge ago.
func (c *Client) Queue(name string) ([]Task, error) {
	args := []string{"--noheader", "--array", "--states=all", "--name=" + name, "--format=" + squeueFormat}
	if u := currentUser(); u != "" {
		args = append(args, "--user="+u)
	} else {
		args = append(args, "--me")
	}
	out, _, err := c.run(c.Cmd.Squeue, args, false)
	if err != nil {
		return nil, err
	}
	return ParseQueue(out)
}

// ParseQueue reads squeue output in squeueFormat.
func ParseQueue(out string) ([]Task, error) {
	var tasks []Task
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		f := strings.SplitN(line, "|", 9)
		if len(f) != 9 {
			return nil, fmt.Errorf("squeue: cannot read %q (want %s)", line, squeueFormat)
		}
		t := Task{ID: f[0], ArrayJob: f[1], Index: -1, JobID: f[3], State: f[4], Reason: f[5], Node: f[6], Script: f[8]}
		if n, err := strconv.Atoi(f[2]); err == nil {
			t.Index = n
		}
		t.Elapsed, _ = ParseElapsed(f[7])
		if t.Reason == "None" {
			t.Reason = ""
		}
		tasks = append(tasks, t)
	}
	return tasks, nil
}

// ParseElapsed reads Slurm's elapsed-time forms: "SS", "MM:SS", "HH:MM:SS"
// and "D-HH:MM:SS".
func ParseElapsed(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	days := 0
	if d, rest, ok := strings.Cut(s, "-"); ok {
		n, err := strconv.Atoi(d)
		if err != nil {
			return 0, fmt.Errorf("elapsed time %q", s)
		}
		days, s = n, rest
	}
	parts := strings.Split(s, ":")
	if len(parts) > 3 {
		return 0, fmt.Errorf("elapsed time %q", s)
	}
	secs := 0
	for _, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil {
			return 0, fmt.Errorf("elapsed time %q", s)
		}
		secs = secs*60 + n
	}
	return time.Duration(days*86400+secs) * time.Second, nil
}

// Ref names a job whose final state is wanted: its squeue id ("12_3") and
// its own job id ("15"), which is what a job completion log knows.
type Ref struct{ ID, JobID string }

// FinalStates asks accounting for the states of ended jobs: sacct, or,
// where accounting storage is disabled, `sacct -c` (the jobcomp/filetxt log,
// readable only where slurmctld writes it). Jobs it does not know are
// absent from the map, keyed by Ref.ID; source says where the answer came
// from.
func (c *Client) FinalStates(refs []Ref) (states map[string]string, source string, err error) {
	states = map[string]string{}
	if len(refs) == 0 {
		return states, "", nil
	}
	var ids, raw []string
	byRaw := map[string]string{}
	for _, r := range refs {
		ids = append(ids, r.ID)
		if r.JobID != "" {
			raw = append(raw, r.JobID)
			byRaw[r.JobID] = r.ID
		}
	}
	out, _, err := c.run(c.Cmd.Sacct, []string{"--noheader", "--parsable2", "--allocations", "--jobs=" + strings.Join(ids, ","), "--format=JobID,State"}, false)
	disabled := err != nil && strings.Contains(strings.ToLower(err.Error()), "accounting storage is disabled")
	if err == nil {
		for id, st := range parseSacct(out) {
			states[id] = st
		}
		return states, "sacct", nil
	}
	if !disabled || len(raw) == 0 {
		return states, "", err
	}
	// sacct -c prints errors about array fields it cannot read, and the
	// states of the jobs it has, by their own job ids.
	out, _, cerr := c.run(c.Cmd.Sacct, []string{"-c", "--noheader", "--parsable2", "--jobs=" + strings.Join(raw, ","), "--format=JobID,State"}, false)
	if cerr != nil && strings.TrimSpace(out) == "" {
		return states, "", fmt.Errorf("accounting storage is disabled, and the job completion log cannot be read: %w", cerr)
	}
	for id, st := range parseSacct(out) {
		if sq, ok := byRaw[id]; ok {
			states[sq] = st
		}
	}
	return states, "jobcomp", nil
}

func parseSacct(out string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		id, st, ok := strings.Cut(strings.TrimSpace(line), "|")
		if !ok || id == "" || strings.Contains(id, ".") {
			continue // steps (12.batch) are not the job
		}
		w, _, _ := strings.Cut(st, " ")
		m[id] = w
	}
	return m
}
