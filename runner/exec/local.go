package exec

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// LocalOptions configure the local executor.
type LocalOptions struct {
	Binary    string        // executable that implements `run-stage`
	GPUs      []string      // GPU ids (CUDA_VISIBLE_DEVICES values); empty = CPU only
	Workers   int           // slots; 0 = one per GPU, or 1 on CPU
	Threads   int           // CPU threads per slot; 0 = cores / workers
	Timeout   time.Duration // per attempt; 0 = none
	KillGrace time.Duration // SIGKILL this long after SIGTERM on timeout
	Env       []string      // extra environment, NAME=value
}

// Local runs attempts as child processes of this one.
type Local struct {
	opt     LocalOptions
	mu      sync.Mutex
	slots   []*slot
	running map[*proc]bool
	done    chan Outcome
}

type slot struct {
	gpu     string
	threads int
	busy    bool
}

type proc struct {
	cmd         *exec.Cmd
	slot        *slot
	interrupted bool
	timedOut    bool
	timers      []*time.Timer
}

// NewLocal makes a local executor.
func NewLocal(opt LocalOptions) (*Local, error) {
	if opt.Binary == "" {
		return nil, errors.New("local executor: no binary for run-stage")
	}
	w := opt.Workers
	if w == 0 {
		w = max(len(opt.GPUs), 1)
	}
	th := opt.Threads
	if th == 0 {
		th = max(runtime.NumCPU()/w, 1)
	}
	l := &Local{opt: opt, running: map[*proc]bool{}, done: make(chan Outcome, w+1)}
	for i := 0; i < w; i++ {
		s := &slot{threads: th}
		if len(opt.GPUs) > 0 {
			// More workers than GPUs share GPUs round-robin (small models).
			s.gpu = opt.GPUs[i%len(opt.GPUs)]
		}
		l.slots = append(l.slots, s)
	}
	return l, nil
}

// SlotThreads is the CPU thread budget of one slot, for Spec.Threads.
func (l *Local) SlotThreads() int { return l.slots[0].threads }

// Capacity implements Executor.
func (l *Local) Capacity() int { return len(l.slots) }

// Done implements Executor.
func (l *Local) Done() <-chan Outcome { return l.done }

// Start implements Executor.
func (l *Local) Start(job Job, prepare func(Launch) error) error {
	l.mu.Lock()
	var s *slot
	for _, x := range l.slots {
		if !x.busy {
			s = x
			break
		}
	}
	if s == nil {
		l.mu.Unlock()
		return errors.New("local executor: no free slot")
	}
	s.busy = true
	l.mu.Unlock()
	release := func() {
		l.mu.Lock()
		s.busy = false
		l.mu.Unlock()
	}

	threads := s.threads
	if job.Exclusive {
		threads = 0
		for _, x := range l.slots {
			threads += x.threads
		}
	}
	args := []string{"run-stage", "--manifest", job.Manifest, "--stage", job.StageID,
		"--attempt", strconv.Itoa(job.Attempt), "--threads", strconv.Itoa(threads)}
	if job.Lock != nil {
		args = append(args, "--lock-fd", "3")
	}
	env := filterEnv(os.Environ(), "CUDA_VISIBLE_DEVICES", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
	env = append(env, l.opt.Env...)
	env = append(env, "OMP_NUM_THREADS="+strconv.Itoa(threads), "MKL_NUM_THREADS="+strconv.Itoa(threads))
	launch := Launch{Command: append([]string{l.opt.Binary}, args...), Device: "cpu", Threads: threads}
	if s.gpu != "" {
		env = append(env, "CUDA_VISIBLE_DEVICES="+s.gpu)
		launch.Device = "cuda (CUDA_VISIBLE_DEVICES=" + s.gpu + ")"
	} else if len(l.opt.GPUs) == 0 {
		env = append(env, "CUDA_VISIBLE_DEVICES=") // a CPU run must not grab a GPU
	}
	if err := prepare(launch); err != nil {
		release()
		return err
	}
	logf, err := os.OpenFile(job.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		release()
		return fmt.Errorf("open log: %w", err)
	}
	fmt.Fprintf(logf, "=== attempt %d, %s, %s: %s\n", job.Attempt, time.Now().Format(time.RFC3339), launch.Device, strings.Join(launch.Command, " "))

	cmd := exec.Command(l.opt.Binary, args...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = sysProcAttr()
	if job.Lock != nil {
		cmd.ExtraFiles = []*os.File{job.Lock.File()}
	}
	p := &proc{cmd: cmd, slot: s}
	oomBefore := oomKills()
	started := make(chan error, 1)
	go func() {
		// The parent-death signal fires when the thread that started the
		// child exits, so that thread stays locked until the child is reaped.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		start := time.Now()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		l.mu.Lock()
		l.running[p] = true
		if l.opt.Timeout > 0 {
			p.timers = append(p.timers, time.AfterFunc(l.opt.Timeout, func() { l.timeout(p) }))
		}
		l.mu.Unlock()
		started <- nil
		werr := cmd.Wait()
		end := time.Now()
		logf.Close()
		l.mu.Lock()
		delete(l.running, p)
		for _, t := range p.timers {
			t.Stop()
		}
		o := Outcome{Job: job, Launch: launch, Start: start, End: end, TimedOut: p.timedOut, Interrupted: p.interrupted}
		l.mu.Unlock()
		o.ExitCode, o.Signal = exitStatus(cmd.ProcessState, werr)
		if o.Signal == syscall.SIGKILL.String() && !o.TimedOut && !o.Interrupted {
			if after := oomKills(); oomBefore >= 0 && after > oomBefore {
				o.OOMKilled = true
			}
		}
		release()
		l.done <- o
	}()
	if err := <-started; err != nil {
		logf.Close()
		release()
		return fmt.Errorf("start %s: %w", job.Name, err)
	}
	return nil
}

func (l *Local) timeout(p *proc) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.running[p] {
		return
	}
	p.timedOut = true
	signalGroup(p.cmd.Process.Pid, syscall.SIGTERM)
	p.timers = append(p.timers, time.AfterFunc(l.opt.KillGrace, func() { l.kill(p) }))
}

func (l *Local) kill(p *proc) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.running[p] {
		signalGroup(p.cmd.Process.Pid, syscall.SIGKILL)
	}
}

// Interrupt implements Executor: SIGINT to every running attempt, then
// SIGKILL after the kill grace if it has not stopped.
func (l *Local) Interrupt() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for p := range l.running {
		p.interrupted = true
		signalGroup(p.cmd.Process.Pid, syscall.SIGINT)
		if l.opt.KillGrace > 0 {
			p.timers = append(p.timers, time.AfterFunc(l.opt.KillGrace, func() { l.kill(p) }))
		}
	}
}

// Kill implements Executor.
func (l *Local) Kill() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for p := range l.running {
		p.interrupted = true
		signalGroup(p.cmd.Process.Pid, syscall.SIGKILL)
	}
}

func exitStatus(ps *os.ProcessState, werr error) (int, string) {
	if ps == nil {
		return -1, ""
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return -1, ws.Signal().String()
	}
	return ps.ExitCode(), ""
}

func filterEnv(env []string, drop ...string) []string {
	var out []string
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		keep := true
		for _, d := range drop {
			keep = keep && name != d
		}
		if keep {
			out = append(out, kv)
		}
	}
	return out
}

// oomKills reads how many processes the OOM killer has killed in this
// process's cgroup (cgroup v2), or -1 when that cannot be read.
func oomKills() int64 {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if path, ok := strings.CutPrefix(line, "0::"); ok {
			ev, err := os.ReadFile("/sys/fs/cgroup" + strings.TrimSpace(path) + "/memory.events")
			if err != nil {
				return -1
			}
			for _, l := range strings.Split(string(ev), "\n") {
				if v, ok := strings.CutPrefix(l, "oom_kill "); ok {
					n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
					if err == nil {
						return n
					}
				}
			}
		}
	}
	return -1
}
