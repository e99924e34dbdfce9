// Package fake is a stage kind for tests and demos that needs no libtorch. It
// stands in for the real kinds when an experiment sets fake = true: the
// runner runs kind "fake" and passes the real kind in Params["fake_kind"].
//
// A fake stage "trains" for fake_steps steps of fake_step_ms each,
// checkpointing its step after every one, so it resumes where a killed
// attempt stopped; it checks that its upstream stages' outputs exist and are
// intact, writes an output of its own and returns deterministic metrics
// derived from its stage id, shaped like the real kind's result. fake_fail
// makes it fail in a chosen way (see FailModes).
package fake

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"time"

	"github.com/cofiharness/cofi/internal/atomicfile"
	"github.com/cofiharness/cofi/record"
	"github.com/cofiharness/cofi/stage"
	"github.com/cofiharness/cofi/task"
)

// Params read by the fake stage.
const (
	ParamKind   = "fake_kind"    // the real kind this stage stands in for
	ParamSteps  = "fake_steps"   // number of steps
	ParamStepMS = "fake_step_ms" // sleep per step
	ParamFail   = "fake_fail"    // one of FailModes
)

// Defaults of the fake settings.
const (
	DefaultSteps  = 20
	DefaultStepMS = 5
)

// FailModes are the values of fake_fail. Failures happen halfway through the
// steps, after a checkpoint, so a retried stage resumes.
//
//	""              succeed
//	"exit"          return a plain error (class exit)
//	"nan"           return stage.ErrNaN (class nan)
//	"oom"           return stage.ErrOOM (class oom)
//	"missing-input" return stage.ErrMissingInput
//	"panic"         panic
//	"crash"         os.Exit(3) without writing failure.json
//	"crash-once"    like crash on the first attempt only
//	"sigkill"       SIGKILL itself (class signal)
//	"sigkill-once"  like sigkill on the first attempt only
//	"hang"          stop honouring cancellation and sleep until killed
//	"alloc"         allocate (and touch) memory until stopped from outside, e.g. by
//	                Slurm's --mem enforcement; at most AllocCap, then fail (class exit)
var FailModes = []string{"", "exit", "nan", "oom", "missing-input", "panic", "crash", "crash-once", "sigkill", "sigkill-once", "hang", "alloc"}

// AllocCap bounds what fail = "alloc" allocates, so that a memory limit that
// is not enforced fails the stage instead of the machine.
const AllocCap = 1 << 30

// Files in the stage directory.
const (
	CheckpointFile = "fake-checkpoint.json"
	TraceFile      = "fake-trace.log" // "start <step> <pid>" per attempt, "step <i>" per step executed
	OutputDir      = "model"
	OutputFile     = "fake-model.json"
	onceFile       = "fake-failed-once"
)

// FullParams is BERT-base's encoder size as record.Size counts it.
const FullParams = 85054464

func init() { stage.Register(record.KindFake, Run) }

// Output is what a fake stage leaves in OutputDir: enough to check that a
// downstream stage saw the right, intact upstream output.
type Output struct {
	Stage    string            `json:"stage"`
	Kind     string            `json:"kind"`
	Upstream map[string]string `json:"upstream"` // input name -> upstream stage id
	Steps    int               `json:"steps"`
	Sum      string            `json:"sum"`
}

func (o *Output) sum() string {
	names := make([]string, 0, len(o.Upstream))
	for n := range o.Upstream {
		names = append(names, n)
	}
	sort.Strings(names)
	h := sha256.New()
	fmt.Fprintf(h, "%s|%s|%d", o.Stage, o.Kind, o.Steps)
	for _, n := range names {
		fmt.Fprintf(h, "|%s=%s", n, o.Upstream[n])
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

// ReadOutput reads and verifies the output of the fake stage in dir.
func ReadOutput(dir string) (*Output, error) {
	p := filepath.Join(dir, OutputDir, OutputFile)
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	var o Output
	if err := json.Unmarshal(b, &o); err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	if o.Sum != o.sum() {
		return nil, fmt.Errorf("read %s: checksum mismatch", p)
	}
	return &o, nil
}

type checkpoint struct {
	Step int `json:"step"`
}

// upstreamInputs are the Inputs names that are stage directories.
var upstreamInputs = []string{record.KindTeacher, record.KindAugment, record.KindPrune, record.KindFinal, record.KindTinyBERTLayer, record.KindTinyBERTPred}

// Run is the fake stage's Func.
func Run(ctx context.Context, spec stage.Spec) (*record.Result, error) {
	kind, _ := spec.Params[ParamKind].(string)
	if kind == "" {
		kind = record.KindFake
	}
	steps, err := intParam(spec.Params, ParamSteps, DefaultSteps)
	if err != nil {
		return nil, err
	}
	stepMS, err := intParam(spec.Params, ParamStepMS, DefaultStepMS)
	if err != nil {
		return nil, err
	}
	fail, _ := spec.Params[ParamFail].(string)

	out := &Output{Stage: spec.ID, Kind: kind, Upstream: map[string]string{}, Steps: steps}
	for _, name := range upstreamInputs {
		dir, ok := spec.Inputs[name]
		if !ok {
			continue
		}
		up, err := ReadOutput(dir)
		if err != nil {
			return nil, fmt.Errorf("%s input: %v: %w", name, err, stage.ErrMissingInput)
		}
		out.Upstream[name] = up.Stage
	}

	start := 0
	ckpt := filepath.Join(spec.Dir, CheckpointFile)
	if b, err := os.ReadFile(ckpt); err == nil {
		var c checkpoint
		if err := json.Unmarshal(b, &c); err != nil {
			return nil, fmt.Errorf("read checkpoint %s: %w", ckpt, err)
		}
		start = c.Step
	}
	if err := trace(spec.Dir, fmt.Sprintf("start %d %d", start, os.Getpid())); err != nil {
		return nil, err
	}
	began := time.Now()
	for i := start; i < steps; i++ {
		if i == steps/2 && fail != "" {
			if err := failNow(ctx, spec.Dir, fail); err != nil {
				return nil, err
			}
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Duration(stepMS) * time.Millisecond):
		}
		if err := trace(spec.Dir, fmt.Sprintf("step %d", i)); err != nil {
			return nil, err
		}
		b, _ := json.Marshal(checkpoint{Step: i + 1})
		if err := atomicfile.Write(ckpt, b, 0o644); err != nil {
			return nil, err
		}
	}

	out.Sum = out.sum()
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := atomicfile.Write(filepath.Join(spec.Dir, OutputDir, OutputFile), append(b, '\n'), 0o644); err != nil {
		return nil, err
	}
	return result(spec, kind, steps, start, time.Since(began)), nil
}

func intParam(p record.Params, name string, def int) (int, error) {
	v, ok := p[name]
	if !ok {
		return def, nil
	}
	switch x := v.(type) {
	case int:
		return x, nil
	case int64:
		return int(x), nil
	case float64:
		if x == math.Trunc(x) {
			return int(x), nil
		}
	}
	return 0, fmt.Errorf("fake stage: param %s = %v, want an integer", name, v)
}

func trace(dir, line string) error {
	f, err := os.OpenFile(filepath.Join(dir, TraceFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(line + "\n"); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// failNow fails in the way mode says; it returns nil when a "-once" mode
// has already failed once.
func failNow(ctx context.Context, dir, mode string) error {
	once := filepath.Join(dir, onceFile)
	switch mode {
	case "crash-once", "sigkill-once":
		if _, err := os.Stat(once); err == nil {
			return nil
		}
		if err := atomicfile.Write(once, []byte(mode+"\n"), 0o644); err != nil {
			return err
		}
	}
	switch mode {
	case "exit":
		return errors.New("fake stage: planned failure")
	case "nan":
		return fmt.Errorf("fake stage: step loss is NaN: %w", stage.ErrNaN)
	case "oom":
		return fmt.Errorf("fake stage: CUDA out of memory (planned): %w", stage.ErrOOM)
	case "missing-input":
		return fmt.Errorf("fake stage: planned: %w", stage.ErrMissingInput)
	case "panic":
		panic("fake stage: planned panic")
	case "crash", "crash-once":
		fmt.Fprintln(os.Stderr, "fake stage: planned crash")
		os.Exit(3)
	case "sigkill", "sigkill-once":
		p, err := os.FindProcess(os.Getpid())
		if err == nil {
			err = p.Kill()
		}
		time.Sleep(time.Minute) // the signal is on its way
		return err
	case "hang":
		fmt.Fprintln(os.Stderr, "fake stage: hanging, ignoring cancellation")
		for {
			time.Sleep(time.Hour)
		}
	case "alloc":
		return allocate(ctx)
	}
	return nil
}

// value returns a deterministic number in [lo, hi) for (id, key).
func value(id, key string, lo, hi float64) float64 {
	h := sha256.Sum256([]byte(id + "|" + key))
	u := float64(binary.BigEndian.Uint64(h[:8])>>11) / float64(1<<53)
	return math.Round((lo+u*(hi-lo))*100) / 100
}

func result(spec stage.Spec, kind string, steps, start int, took time.Duration) *record.Result {
	r := &record.Result{
		Kind:  kind,
		Task:  spec.Task,
		Notes: []string{"fake stage: synthetic numbers, not a measurement"},
	}
	train := &record.Train{Steps: steps, Epochs: 1, Seconds: took.Seconds(), ResumedFrom: start,
		Seed: spec.Seed, Threads: spec.Threads, Device: spec.Device}
	if tk, err := task.Lookup(spec.Task); err == nil && kind != record.KindSpeed && kind != record.KindAugment {
		r.Metrics = map[string]float64{}
		for _, k := range tk.MetricKeys() {
			r.Metrics[k] = value(spec.ID, k, 50, 95)
		}
		train.BestMetric = tk.Headline
		train.BestStep = steps
	}
	size := &record.Size{FullParams: FullParams, TargetSparsity: spec.Sparsity, ExpectedSparsity: spec.Sparsity}
	size.Params = int64(math.Round(FullParams * (1 - spec.Sparsity)))
	size.Sparsity = 1 - float64(size.Params)/FullParams
	switch kind {
	case record.KindTeacher:
		r.Train, r.Model = train, OutputDir
	case record.KindAugment:
		r.Train = train
	case record.KindPrune, record.KindFinal, record.KindTinyBERTLayer, record.KindTinyBERTPred:
		r.Train, r.Model, r.Size = train, OutputDir, size
	case record.KindSpeed:
		speedup := 1 + 10*math.Pow(spec.Sparsity, 3)
		base := value(spec.ID, "baseline_ms", 900, 1100)
		lat := &record.Latency{Device: spec.Device, Threads: spec.Threads, Batch: 128, SeqLen: 128, Batches: 1}
		for i := 0; i < 4; i++ {
			b := value(spec.ID, "b"+strconv.Itoa(i), base*0.98, base*1.02)
			lat.BaselineRoundsMS = append(lat.BaselineRoundsMS, b)
			lat.RoundsMS = append(lat.RoundsMS, math.Round(b/speedup*100)/100)
		}
		lat.WarmupMS = base * 1.5
		lat.MeanMS, lat.BaselineMeanMS = mean(lat.RoundsMS), mean(lat.BaselineRoundsMS)
		lat.Speedup = lat.BaselineMeanMS / lat.MeanMS
		r.Latency = lat
	}
	return r
}

func mean(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// allocate grows the heap by touched chunks (resident, not just reserved)
// until ctx is cancelled or AllocCap is reached. The pace leaves a memory
// enforcer that samples every second time to see it.
func allocate(ctx context.Context) error {
	const chunk = 8 << 20
	var hold [][]byte
	fmt.Fprintf(os.Stderr, "fake stage: allocating up to %d MiB\n", AllocCap>>20)
	for total := 0; total < AllocCap; total += chunk {
		b := make([]byte, chunk)
		for i := 0; i < len(b); i += 4096 {
			b[i] = 1
		}
		hold = append(hold, b)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	runtime.KeepAlive(hold)
	return fmt.Errorf("fake stage: allocated %d MiB and nothing stopped it (is the memory limit enforced?)", AllocCap>>20)
}
