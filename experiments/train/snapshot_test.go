package train

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

type st struct{ Step int }

func TestSnapshotReplaceAndRecover(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "checkpoint")
	var got st
	if _, err := ReadSnapshot(dir, &got); !errors.Is(err, ErrNoSnapshot) {
		t.Fatalf("empty: %v", err)
	}
	for step := 1; step <= 2; step++ {
		err := WriteSnapshot(dir, st{step}, func(tmp string) error {
			return os.WriteFile(filepath.Join(tmp, "weights"), []byte{byte(step)}, 0o644)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	d, err := ReadSnapshot(dir, &got)
	if err != nil || got.Step != 2 || d != dir {
		t.Fatalf("read %v %+v %s", err, got, d)
	}
	// A kill between the two renames leaves only dir.old: it is used.
	os.Rename(dir, dir+".old")
	if d, err := ReadSnapshot(dir, &got); err != nil || d != dir+".old" || got.Step != 2 {
		t.Fatalf("after interrupted swap: %v %s %+v", err, d, got)
	}
	// A kill while writing leaves an incomplete dir.tmp without state.json: ignored, then replaced.
	os.MkdirAll(dir+".tmp", 0o755)
	if err := WriteSnapshot(dir, st{3}, func(string) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadSnapshot(dir, &got); err != nil || got.Step != 3 {
		t.Fatalf("%v %+v", err, got)
	}
	if _, err := os.Stat(dir + ".old"); !os.IsNotExist(err) {
		t.Fatal("old snapshot left behind")
	}
}
