//go:build torch

package train

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"runtime"
	"testing"

	"github.com/cofiharness/cofi/experiments/synth"
	"github.com/cofiharness/cofi/experiments/train/traintest"
	"github.com/cofiharness/cofi/hparams"
	"github.com/cofiharness/cofi/record"
	"github.com/cofiharness/cofi/record/steplog"
	"github.com/cofiharness/cofi/task"
)

// TestFinetuneResumeIsBitExact interrupts teacher fine-tuning at every step
// in turn (the snapshot is taken there), resumes it, and checks that the model
// file and the metrics are identical to a run straight through: dropout is
// drawn from (seed, step), data order from (seed, epoch), and the optimiser
// state is restored exactly.
func TestFinetuneResumeIsBitExact(t *testing.T) {
	runtime.LockOSThread()
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if err := synth.Write(data, "syn-pair", 64, 32, 3); err != nil {
		t.Fatal(err)
	}
	model := filepath.Join(dir, "model")
	tinyModel(t, model)
	tk := task.MustLookup("syn-pair")
	const total = 12
	p, err := hparams.Resolve(record.KindTeacher, tk, map[string]any{"max_steps": total, "batch": 16, "eval_every": 5, "epochs": 10.0})
	if err != nil {
		t.Fatal(err)
	}
	run := func(ctx context.Context, out string) (*record.Result, error) {
		var log bytes.Buffer
		return Finetune(ctx, FinetuneConfig{Task: tk, DataDir: data, ModelDir: model, OutDir: out, Params: p, Env: Env{Device: "cpu", Threads: 1, Log: &log}})
	}
	straight, err := run(context.Background(), filepath.Join(dir, "straight"))
	if err != nil {
		t.Fatal(err)
	}
	for k := 1; k < total; k++ { // every step, evaluation steps (5, 10) included
		out := filepath.Join(dir, fmt.Sprintf("resumed-%d", k))
		resumed := traintest.StopAndResume(t, k, out, run)
		if a, b := traintest.ModelHash(t, filepath.Join(dir, "straight")), traintest.ModelHash(t, out); a != b {
			t.Errorf("stopped at step %d: resumed model %s differs from the uninterrupted %s", k, b, a)
		}
		if !reflect.DeepEqual(straight.Metrics, resumed.Metrics) || straight.Train.BestStep != resumed.Train.BestStep {
			t.Errorf("stopped at step %d: metrics %v (best step %d), uninterrupted %v (best step %d)", k, resumed.Metrics, resumed.Train.BestStep, straight.Metrics, straight.Train.BestStep)
		}
		if a, b := traintest.FileHash(t, filepath.Join(dir, "straight", steplog.File)), traintest.FileHash(t, filepath.Join(out, steplog.File)); a != b {
			t.Errorf("stopped at step %d: resumed %s differs from the uninterrupted one", k, steplog.File)
		}
		if resumed.Train.ResumedFrom != k || resumed.Train.Resumes != 1 || straight.Train.Resumes != 0 {
			t.Errorf("stopped at step %d: record says resumed from %d (%d resumes); straight run %d resumes", k, resumed.Train.ResumedFrom, resumed.Train.Resumes, straight.Train.Resumes)
		}
	}
}
