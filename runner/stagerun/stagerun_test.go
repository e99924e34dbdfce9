package stagerun

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cofiharness/cofi/record"
	"github.com/cofiharness/cofi/runner/store"
	"github.com/cofiharness/cofi/stage"
	"github.com/cofiharness/cofi/stage/fake"
)

func TestClass(t *testing.T) {
	live := context.Background()
	done, cancel := context.WithCancel(context.Background())
	cancel()
	cases := []struct {
		ctx  context.Context
		err  error
		want string
	}{
		{live, fmt.Errorf("step 3: %w", stage.ErrNaN), record.FailNaN},
		{live, fmt.Errorf("x: %w", stage.ErrOOM), record.FailOOM},
		{live, errors.New("panic: CUDA out of memory. Tried to allocate 2.00 GiB"), record.FailOOM},
		{live, fmt.Errorf("data: %w", stage.ErrMissingInput), record.FailMissingInput},
		{live, fmt.Errorf("data: %w", stage.ErrBadInput), record.FailBadInput},
		{live, errors.New("shape mismatch"), record.FailExit},
		{done, context.Canceled, record.FailInterrupted},
		{done, errors.New("save checkpoint: interrupted write"), record.FailInterrupted},
	}
	for _, c := range cases {
		if got := Class(c.ctx, c.err); got != c.want {
			t.Errorf("%v: %s, want %s", c.err, got, c.want)
		}
	}
}

func manifest(t *testing.T, fail string) (string, *store.Manifest) {
	dir := t.TempDir()
	mk := func(id, kind string, after ...string) store.ManifestStage {
		return store.ManifestStage{Kind: kind, After: after, Spec: stage.Spec{ID: id, Kind: record.KindFake, Task: "rte",
			Params: record.Params{fake.ParamKind: kind, fake.ParamSteps: 2, fake.ParamStepMS: 0, fake.ParamFail: fail},
			Inputs: map[string]string{}, Dir: filepath.Join(dir, "stages", kind+"-"+id)}}
	}
	m := &store.Manifest{Experiment: "e", Stages: []store.ManifestStage{mk("t1", "teacher"), mk("p1", "prune", "t1")}}
	m.Stages[1].Spec.Inputs["teacher"] = m.Stages[0].Spec.Dir
	p := filepath.Join(dir, store.ManifestFile)
	if err := store.WriteManifest(p, m); err != nil {
		t.Fatal(err)
	}
	return p, m
}

func TestRunStandaloneAndUpstreamCheck(t *testing.T) {
	p, m := manifest(t, "")
	ctx := context.Background()
	// The prune stage needs its teacher's result.
	err := Run(ctx, Options{Manifest: p, Stage: "p1"})
	var se *StageError
	if !errors.As(err, &se) || se.Class != record.FailMissingInput {
		t.Fatalf("prune before teacher: %v", err)
	}
	if f := store.ReadFailure(m.Stages[1].Spec.Dir); f == nil || f.Attempt != 1 || f.Class != record.FailMissingInput {
		t.Errorf("failure.json %+v", f)
	}
	if err := Run(ctx, Options{Manifest: p, Stage: "t1"}); err != nil {
		t.Fatal(err)
	}
	if err := Run(ctx, Options{Manifest: p, Stage: "p1"}); err != nil {
		t.Fatal(err)
	}
	res, err := record.ReadResult(m.Stages[1].Spec.Dir)
	if err != nil || res.Kind != "prune" {
		t.Fatalf("result %+v %v", res, err)
	}
	// Standalone attempts are numbered on from the markers on disk.
	if atts := store.ReadAttempts(m.Stages[1].Spec.Dir); len(atts) != 2 || atts[1].Attempt != 2 {
		t.Errorf("attempts %+v", atts)
	}
	if rt := store.ReadRuntime(m.Stages[1].Spec.Dir, 2); rt == nil || rt.Attempt != 2 {
		t.Errorf("runtime %+v", rt)
	}
	if err := Run(ctx, Options{Manifest: p, Stage: "p1"}); !errors.Is(err, ErrAlreadyDone) {
		t.Errorf("rerun of a done stage: %v", err)
	}
	if err := Run(ctx, Options{Manifest: p, Stage: "zz"}); err == nil || !strings.Contains(err.Error(), "not in") {
		t.Errorf("unknown stage: %v", err)
	}
}

func TestPanicBecomesFailure(t *testing.T) {
	p, m := manifest(t, "panic")
	err := Run(context.Background(), Options{Manifest: p, Stage: "t1", Attempt: 3, LockHeld: true})
	var se *StageError
	if !errors.As(err, &se) || se.Class != record.FailExit || !strings.Contains(err.Error(), "goroutine") {
		t.Fatalf("err = %v", err)
	}
	f := store.ReadFailure(m.Stages[0].Spec.Dir)
	if f == nil || f.Attempt != 3 || !strings.HasPrefix(f.Message, "panic: fake stage: planned panic") || strings.Contains(f.Message, "goroutine") {
		t.Errorf("failure.json %+v", f)
	}
}
