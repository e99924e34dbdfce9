package slurm

import (
	"strconv"
	"strings"

	"github.com/cofiharness/cofi/record"
)

// Verdict is a failure class with its reason, for an attempt that ended
// without an outcome of its own.
type Verdict struct {
	Class   string
	Message string
}

// logSigns are what slurmstepd writes into a job's output, most specific
// first. The memory lines come from jobacct_gather's OverMemoryKill
// ("Exceeded job memory limit", "exceeded memory limit (X > Y), being
// killed") and from the cgroup plugins ("Detected 1 oom-kill event(s)").
var logSigns = []struct {
	sign string
	v    Verdict
}{
	{"exceeded job memory limit", Verdict{record.FailOOM, "killed by Slurm for using more memory than --mem (the log says: %s)"}},
	{"exceeded memory limit", Verdict{record.FailOOM, "killed by Slurm for using more memory than --mem (the log says: %s)"}},
	{"oom-kill event", Verdict{record.FailOOM, "killed by the kernel's OOM killer in the job's cgroup (the log says: %s)"}},
	{"oom_kill event", Verdict{record.FailOOM, "killed by the kernel's OOM killer in the job's cgroup (the log says: %s)"}},
	{"due to time limit", Verdict{record.FailTimeout, "stopped by Slurm at the job's time limit (the log says: %s)"}},
	{"due to preemption", Verdict{record.FailSignal, "preempted by Slurm (the log says: %s)"}},
	{"due to node failure", Verdict{record.FailSignal, "the node failed (the log says: %s)"}},
	{"due to job requeue", Verdict{record.FailSignal, "requeued from outside (the log says: %s)"}},
	{"cancelled at", Verdict{record.FailSignal, "cancelled (scancel) (the log says: %s)"}},
}

// ScanLog looks for slurmstepd's account of how a job ended in log, the
// part of a job's output that belongs to one attempt.
func ScanLog(log string) (Verdict, bool) {
	lines := strings.Split(log, "\n")
	for _, s := range logSigns {
		for _, l := range lines {
			if !strings.Contains(l, "slurmstepd") {
				continue
			}
			if strings.Contains(strings.ToLower(l), s.sign) {
				v := s.v
				v.Message = strings.Replace(v.Message, "%s", strings.TrimSpace(l), 1)
				return v, true
			}
		}
	}
	return Verdict{}, false
}

// Classify decides the failure class of an attempt that left neither
// result.json nor failure.json, from its job's final state ("" when no
// source knows it) and the attempt's part of the log. The log wins where it
// is more specific: a job killed for its memory ends FAILED or CANCELLED.
func Classify(state, log string) Verdict {
	state, _, _ = strings.Cut(strings.TrimSpace(state), " ")
	lv, logKnows := ScanLog(log)
	if logKnows && (lv.Class == record.FailOOM || state == "" || state == "CANCELLED") {
		return lv
	}
	switch state {
	case "OUT_OF_MEMORY":
		return Verdict{record.FailOOM, "Slurm ended the job OUT_OF_MEMORY (over --mem)"}
	case "TIMEOUT", "DEADLINE":
		return Verdict{record.FailTimeout, "Slurm ended the job at its time limit (" + state + ")"}
	case "NODE_FAIL", "BOOT_FAIL":
		return Verdict{record.FailSignal, "the job's node failed (" + state + ")"}
	case "PREEMPTED":
		return Verdict{record.FailSignal, "the job was preempted (PREEMPTED)"}
	case "CANCELLED":
		return Verdict{record.FailSignal, "the job was cancelled (CANCELLED)"}
	case "FAILED":
		return Verdict{record.FailExit, "the job FAILED without writing failure.json (crash? see the log)"}
	case "COMPLETED":
		return Verdict{record.FailExit, "the job completed without writing result.json or failure.json (see the log)"}
	case "":
		return Verdict{record.FailSignal, "the job ended without an outcome and Slurm no longer knows how (killed? see the log; accounting storage would tell)"}
	}
	return Verdict{record.FailSignal, "the job ended " + state + " without an outcome"}
}

// AttemptLog returns the part of a stage log written since the header of
// attempt n ("=== attempt n, ..."), up to the next attempt's header.
func AttemptLog(log string, n int) string {
	head := AttemptHeader(n)
	i := strings.LastIndex(log, "\n"+head)
	if i < 0 {
		if !strings.HasPrefix(log, head) {
			return ""
		}
	} else {
		log = log[i+1:]
	}
	rest := log[len(head):]
	if j := strings.Index(rest, "\n=== attempt "); j >= 0 {
		rest = rest[:j+1]
	}
	return head + rest
}

// AttemptHeader starts the log lines of attempt n, in every executor.
func AttemptHeader(n int) string { return "=== attempt " + strconv.Itoa(n) + "," }
