// Package traintest helps tests of the training loops: a context that
// interrupts a loop at a chosen step, a stop-and-resume of a stage, and file hashes for byte-identity
// checks of what a resumed run writes.
package traintest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/cofiharness/cofi/record"
)

// StopAfter returns a context that reports cancellation from its n+1-th Err
// call on. The training loops ask ctx.Err() once before each step, so a run
// given StopAfter(k) is interrupted, and snapshots, at step k, as a Ctrl-C
// or a time limit would stop it there.
func StopAfter(n int) context.Context { return &stopAfter{Context: context.Background(), n: n} }

// StopAndResume runs a stage into out stopped at step k (it must report
// context.Canceled), then runs it again to its end, resuming from the
// snapshot, and returns the resumed run's result.
func StopAndResume(t testing.TB, k int, out string, run func(ctx context.Context, out string) (*record.Result, error)) *record.Result {
	t.Helper()
	if _, err := run(StopAfter(k), out); !errors.Is(err, context.Canceled) {
		t.Fatalf("stop at step %d: %v", k, err)
	}
	res, err := run(context.Background(), out)
	if err != nil {
		t.Fatalf("resume after a stop at step %d: %v", k, err)
	}
	return res
}

type stopAfter struct {
	context.Context
	n int
}

func (c *stopAfter) Err() error {
	if c.n <= 0 {
		return context.Canceled
	}
	c.n--
	return nil
}

// FileHash is the first 16 hex digits of a file's sha256.
func FileHash(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:8])
}

// ModelHash is FileHash of a stage's saved model, dir/model/model.safetensors,
// and of the weights at its last step, dir/checkpoint/model.safetensors (the
// best model on dev may be an early one that a broken resume leaves alone).
func ModelHash(t testing.TB, dir string) string {
	t.Helper()
	return FileHash(t, filepath.Join(dir, "model", "model.safetensors")) + "/" +
		FileHash(t, filepath.Join(dir, "checkpoint", "model.safetensors"))
}
