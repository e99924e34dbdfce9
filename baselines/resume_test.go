//go:build torch

package baselines

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"runtime"
	"testing"

	"github.com/cofiharness/cofi/experiments/bert"
	"github.com/cofiharness/cofi/experiments/checkpoint"
	"github.com/cofiharness/cofi/experiments/synth"
	"github.com/cofiharness/cofi/experiments/tokenize"
	"github.com/cofiharness/cofi/experiments/torch"
	"github.com/cofiharness/cofi/experiments/train"
	"github.com/cofiharness/cofi/experiments/train/traintest"
	"github.com/cofiharness/cofi/hparams"
	"github.com/cofiharness/cofi/record"
	"github.com/cofiharness/cofi/task"
)

// TestStepsResumeBitExact stops each TinyBERT step at every step in turn,
// resumes it, and checks that models, projections and metrics are
// byte-identical to an uninterrupted run: the student's random
// start, the projections, the student's and the (train-mode) teacher's
// dropout are all drawn from (seed, step), as the training loop's contract says.
func TestStepsResumeBitExact(t *testing.T) {
	runtime.LockOSThread()
	dir := t.TempDir()
	tk := task.MustLookup("syn-pair")
	if err := synth.Write(dir, tk.Name, 64, 16, 2); err != nil {
		t.Fatal(err)
	}
	teacher := filepath.Join(dir, "teacher")
	torch.Seed(9)
	if err := torch.Catch(func() error {
		m := bert.New(checkpoint.Tiny(), bert.Head{Kind: task.Classification, NumLabels: 3, Labels: []string{"contradiction", "entailment", "neutral"}}, torch.CPU)
		defer m.Free()
		if err := m.Save(teacher, ""); err != nil {
			return err
		}
		return tokenize.Default().WriteVocab(teacher)
	}); err != nil {
		t.Fatal(err)
	}
	const total = 10
	env := train.Env{Device: "cpu", Threads: 1}
	layerP, _ := hparams.Resolve(record.KindTinyBERTLayer, tk, map[string]any{"max_steps": total, "batch": 16, "eval_every": 4})
	predP, _ := hparams.Resolve(record.KindTinyBERTPred, tk, map[string]any{"max_steps": total, "batch": 16, "eval_every": 4})
	layer := func(ctx context.Context, out string) (*record.Result, error) {
		return DistillLayers(ctx, LayerConfig{Task: tk, DataDir: dir, TeacherDir: teacher, OutDir: out, Params: layerP, Env: env})
	}
	straight1, err := layer(context.Background(), filepath.Join(dir, "layer"))
	if err != nil {
		t.Fatal(err)
	}
	pred := func(ctx context.Context, out string) (*record.Result, error) {
		return DistillPred(ctx, PredConfig{Task: tk, DataDir: dir, TeacherDir: teacher, StartDir: filepath.Join(dir, "layer", "model"), OutDir: out, Params: predP, Env: env})
	}
	straight2, err := pred(context.Background(), filepath.Join(dir, "pred"))
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		run      func(context.Context, string) (*record.Result, error)
		straight *record.Result
		ref      string
		extra    bool
	}{
		"step 1": {layer, straight1, "layer", true},
		"step 2": {pred, straight2, "pred", false},
	} {
		for k := 1; k < total; k++ { // every step, evaluation steps (4, 8) included
			out := filepath.Join(dir, fmt.Sprintf("%s-%d", c.ref, k))
			if _, err := c.run(traintest.StopAfter(k), out); !errors.Is(err, context.Canceled) {
				t.Fatalf("%s: stop at step %d: %v", name, k, err)
			}
			// Some unrelated random draws in between, as another stage in the process would make.
			torch.Seed(int64(k))
			resumed, err := c.run(context.Background(), out)
			if err != nil {
				t.Fatal(err)
			}
			if a, b := traintest.ModelHash(t, filepath.Join(dir, c.ref)), traintest.ModelHash(t, out); a != b {
				t.Errorf("%s stopped at step %d: resumed model %s differs from the uninterrupted %s", name, k, b, a)
			}
			if c.extra {
				if a, b := traintest.FileHash(t, filepath.Join(dir, c.ref, "extra.safetensors")), traintest.FileHash(t, filepath.Join(out, "extra.safetensors")); a != b {
					t.Errorf("%s stopped at step %d: projections differ", name, k)
				}
			}
			if !reflect.DeepEqual(resumed.Metrics, c.straight.Metrics) || resumed.Train.ResumedFrom != k || resumed.Train.Resumes != 1 {
				t.Errorf("%s stopped at step %d: metrics %v vs %v, resumed from %d (%d resumes)", name, k, resumed.Metrics, c.straight.Metrics, resumed.Train.ResumedFrom, resumed.Train.Resumes)
			}
		}
	}
}
