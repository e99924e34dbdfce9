package fake

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/cofiharness/cofi/record"
	"github.com/cofiharness/cofi/stage"
)

func spec(t *testing.T, kind string, steps int, fail string) stage.Spec {
	return stage.Spec{ID: "abc123", Kind: record.KindFake, Task: "mnli", Method: "cofi", Sparsity: 0.95, Seed: 57,
		Params: record.Params{ParamKind: kind, ParamSteps: steps, ParamStepMS: 0, ParamFail: fail},
		Inputs: map[string]string{}, Dir: t.TempDir(), Device: "cpu", Threads: 1}
}

func traceLines(t *testing.T, dir, prefix string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, TraceFile))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, prefix) {
			n++
		}
	}
	return n
}

func TestRunShapesResultsLikeTheRealKind(t *testing.T) {
	for _, kind := range []string{record.KindTeacher, record.KindPrune, record.KindFinal, record.KindSpeed, record.KindAugment, record.KindTinyBERTLayer, record.KindTinyBERTPred} {
		s := spec(t, kind, 4, "")
		res, err := Run(context.Background(), s)
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		if res.Kind != kind || res.Task != "mnli" {
			t.Errorf("%s: result kind %q task %q", kind, res.Kind, res.Task)
		}
		switch kind {
		case record.KindSpeed:
			if res.Latency == nil || len(res.Latency.RoundsMS) != 4 || res.Latency.Speedup < 9 || res.Metrics != nil {
				t.Errorf("speed result %+v", res.Latency)
			}
		case record.KindAugment:
			if res.Metrics != nil || res.Train == nil || res.Train.Steps != 4 {
				t.Errorf("augment result %+v", res)
			}
		default:
			if _, ok := res.Metric("mnli-m/acc"); !ok || len(res.Metrics) != 2 {
				t.Errorf("%s metrics %v", kind, res.Metrics)
			}
			if res.Train.Steps != 4 || res.Model != OutputDir {
				t.Errorf("%s train %+v", kind, res.Train)
			}
		}
		if kind == record.KindPrune && (res.Size == nil || res.Size.Params != 4252723) { // round(85054464 * 0.05)
			t.Errorf("prune size %+v", res.Size)
		}
		if out, err := ReadOutput(s.Dir); err != nil || out.Stage != s.ID || out.Kind != kind {
			t.Errorf("%s output %+v %v", kind, out, err)
		}
		if n := traceLines(t, s.Dir, "step "); n != 4 {
			t.Errorf("%s: %d steps traced, want 4", kind, n)
		}
	}
}

func TestMetricsAreDeterministicPerStage(t *testing.T) {
	a, _ := Run(context.Background(), spec(t, record.KindFinal, 1, ""))
	b, _ := Run(context.Background(), spec(t, record.KindFinal, 1, ""))
	s := spec(t, record.KindFinal, 1, "")
	s.ID = "other"
	c, _ := Run(context.Background(), s)
	if a.Metrics["mnli-m/acc"] != b.Metrics["mnli-m/acc"] || a.Metrics["mnli-m/acc"] == c.Metrics["mnli-m/acc"] {
		t.Errorf("metrics %v %v %v", a.Metrics, b.Metrics, c.Metrics)
	}
	if v := a.Metrics["mnli-m/acc"]; v < 50 || v >= 95 {
		t.Errorf("metric %v outside [50, 95)", v)
	}
}

func TestResumesFromCheckpoint(t *testing.T) {
	s := spec(t, record.KindPrune, 10, "")
	if err := os.WriteFile(filepath.Join(s.Dir, CheckpointFile), []byte(`{"step":6}`), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	if res.Train.ResumedFrom != 6 || traceLines(t, s.Dir, "step ") != 4 || traceLines(t, s.Dir, "start 6 ") != 1 {
		t.Errorf("resumed from %d with %d steps", res.Train.ResumedFrom, traceLines(t, s.Dir, "step "))
	}
}

func TestCancelledStopsAndKeepsCheckpoint(t *testing.T) {
	s := spec(t, record.KindTeacher, 10, "")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Run(ctx, s); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if _, err := ReadOutput(s.Dir); err == nil {
		t.Error("a cancelled stage wrote its output")
	}
}

func TestFailureModes(t *testing.T) {
	cases := map[string]error{"nan": stage.ErrNaN, "oom": stage.ErrOOM, "missing-input": stage.ErrMissingInput}
	for mode, want := range cases {
		s := spec(t, record.KindPrune, 6, mode)
		_, err := Run(context.Background(), s)
		if !errors.Is(err, want) {
			t.Errorf("%s: err = %v", mode, err)
		}
		// It failed halfway, after checkpointing the first half.
		if n := traceLines(t, s.Dir, "step "); n != 3 {
			t.Errorf("%s: %d steps before failing, want 3", mode, n)
		}
	}
	if _, err := Run(context.Background(), spec(t, record.KindPrune, 2, "exit")); err == nil || errors.Is(err, stage.ErrNaN) {
		t.Errorf("exit mode: %v", err)
	}
}

func TestChecksUpstreamOutputs(t *testing.T) {
	up := spec(t, record.KindPrune, 1, "")
	if _, err := Run(context.Background(), up); err != nil {
		t.Fatal(err)
	}
	down := spec(t, record.KindFinal, 1, "")
	down.ID = "down"
	down.Inputs["prune"] = up.Dir
	res, err := Run(context.Background(), down)
	if err != nil {
		t.Fatal(err)
	}
	if out, _ := ReadOutput(down.Dir); out.Upstream["prune"] != up.ID || res == nil {
		t.Errorf("upstream not recorded: %+v", out)
	}
	// A damaged upstream output is a missing input.
	p := filepath.Join(up.Dir, OutputDir, OutputFile)
	b, _ := os.ReadFile(p)
	os.WriteFile(p, []byte(strings.Replace(string(b), `"steps": 1`, `"steps": 2`, 1)), 0o644)
	other := spec(t, record.KindFinal, 1, "")
	other.Inputs["prune"] = up.Dir
	if _, err := Run(context.Background(), other); !errors.Is(err, stage.ErrMissingInput) {
		t.Errorf("damaged upstream: %v", err)
	}
}

// TestAllocStopsWhenCancelled: fail = "alloc" grows its resident memory
// until stopped from outside (here by cancellation; under Slurm by the
// memory limit), keeping its checkpoint.
func TestAllocStopsWhenCancelled(t *testing.T) {
	s := spec(t, record.KindTeacher, 4, "alloc")
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := Run(ctx, s)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the cancellation", err)
	}
	if traceLines(t, s.Dir, "step ") != 2 {
		t.Errorf("it should allocate halfway, after 2 steps")
	}
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if after.TotalAlloc-before.TotalAlloc < 16<<20 {
		t.Errorf("allocated %d bytes in 300 ms", after.TotalAlloc-before.TotalAlloc)
	}
}
