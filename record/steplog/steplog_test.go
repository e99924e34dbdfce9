package steplog

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// run logs steps from..to of a 10-step stage with an evaluation every 4
// steps, flushing (as a snapshot does) after each evaluation and returning
// the state at the last flush.
func run(t *testing.T, dir string, from, to int, resume int, acc Acc) Acc {
	t.Helper()
	w, err := Open(dir, resume, acc, 2)
	if err != nil {
		t.Fatal(err)
	}
	saved := acc
	for s := from; s <= to; s++ {
		w.Add(map[string]float64{"loss": 1 / float64(s), "pred": float64(s)})
		if w.Due(s, 10) {
			if err := w.Step(Line{Step: s, LR: F(0.1 * float64(s)), Phase: "prune"}); err != nil {
				t.Fatal(err)
			}
		}
		if s%4 == 0 {
			w.Eval(Line{Step: s, Eval: map[string]float64{"x/acc": float64(50 + s)}})
			saved = w.State()
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return saved
}

// TestResumeSameBytes: a stage stopped after its snapshot at step 4 (having
// written lines up to step 7, and half a line) and resumed from it ends
// with the bytes of a run straight through; so does one stopped at step 3
// mid-interval, whose running means are in the snapshot.
func TestResumeSameBytes(t *testing.T) {
	straight := t.TempDir()
	run(t, straight, 1, 10, -1, Acc{})
	want, err := os.ReadFile(filepath.Join(straight, File))
	if err != nil {
		t.Fatal(err)
	}
	stopped := t.TempDir()
	acc := run(t, stopped, 1, 7, -1, Acc{})
	f, _ := os.OpenFile(filepath.Join(stopped, File), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"step":8,"lo`) // killed mid-line
	f.Close()
	run(t, stopped, 5, 10, 4, acc)
	got, _ := os.ReadFile(filepath.Join(stopped, File))
	if !bytes.Equal(got, want) {
		t.Errorf("resumed file differs:\n%s\nstraight:\n%s", got, want)
	}

	// Stopped at step 3 (an odd step: the running mean of step 3 is pending).
	mid := t.TempDir()
	w, _ := Open(mid, -1, Acc{}, 2)
	for s := 1; s <= 3; s++ {
		w.Add(map[string]float64{"loss": 1 / float64(s), "pred": float64(s)})
		if w.Due(s, 10) {
			w.Step(Line{Step: s, LR: F(0.1 * float64(s)), Phase: "prune"})
		}
	}
	state := w.State()
	w.Close()
	run(t, mid, 4, 10, 3, state)
	got, _ = os.ReadFile(filepath.Join(mid, File))
	if !bytes.Equal(got, want) {
		t.Errorf("resumed mid-interval file differs:\n%s\nstraight:\n%s", got, want)
	}
}

func TestReadAndFreshStart(t *testing.T) {
	dir := t.TempDir()
	run(t, dir, 1, 10, -1, Acc{})
	run(t, dir, 1, 10, -1, Acc{}) // a fresh start empties the file
	c, err := Read(filepath.Join(dir, File))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Steps) != 5 || len(c.Evals) != 2 || c.Steps[0].Step != 2 || c.Evals[1].Eval["x/acc"] != 58 {
		t.Fatalf("read %+v", c)
	}
	// Means over the interval: steps 1 and 2 of pred = 1.5.
	if got := c.Steps[0].Loss["pred"]; got != 1.5 {
		t.Errorf("mean of pred over steps 1-2: %v", got)
	}
	if got := c.Terms(); len(got) != 2 || got[0] != "loss" || got[1] != "pred" {
		t.Errorf("terms %v", got)
	}
	os.WriteFile(filepath.Join(dir, "bad.jsonl"), []byte("{\"step\":1}\nnot json\n{\"step\":2}\n"), 0o644)
	if _, err := Read(filepath.Join(dir, "bad.jsonl")); err == nil {
		t.Error("a bad line inside the file is an error")
	}
}

func TestEvery(t *testing.T) {
	for total, want := range map[int]int{1: 1, 5000: 1, 5001: 2, 240000: 48} {
		if got := Every(total); got != want {
			t.Errorf("Every(%d) = %d, want %d", total, got, want)
		}
	}
}
