package train

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cofiharness/cofi/internal/atomicfile"
)

// Snapshots keep a run's checkpoint in a directory that is replaced as a
// whole: the new one is written beside it (dir.tmp), then swapped in with
// renames, so a kill at any moment leaves either the old or the new
// checkpoint complete, never a mix.

// stateFile marks a complete snapshot; it is written last.
const stateFile = "state.json"

// WriteSnapshot replaces dir with what write puts in a fresh directory, then
// state (JSON) as the completion mark.
func WriteSnapshot(dir string, state any, write func(tmp string) error) error {
	tmp, old := dir+".tmp", dir+".old"
	if err := os.RemoveAll(tmp); err != nil {
		return err
	}
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return err
	}
	if err := write(tmp); err != nil {
		return fmt.Errorf("snapshot %s: %w", dir, err)
	}
	b, err := json.MarshalIndent(state, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(tmp, stateFile), b, 0o644); err != nil {
		return err
	}
	if err := os.RemoveAll(old); err != nil {
		return err
	}
	if _, err := os.Stat(dir); err == nil {
		if err := os.Rename(dir, old); err != nil {
			return err
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		return err
	}
	if err := atomicfile.SyncDir(filepath.Dir(dir)); err != nil {
		return err
	}
	return os.RemoveAll(old)
}

// ErrNoSnapshot means there is nothing to resume from.
var ErrNoSnapshot = errors.New("no snapshot")

// ReadSnapshot finds the complete snapshot of dir (dir itself, or dir.old
// when a swap was interrupted), decodes its state into state and returns the
// directory holding it.
func ReadSnapshot(dir string, state any) (string, error) {
	for _, d := range []string{dir, dir + ".old"} {
		b, err := os.ReadFile(filepath.Join(d, stateFile))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return "", err
		}
		if err := json.Unmarshal(b, state); err != nil {
			return "", fmt.Errorf("snapshot %s: %w", d, err)
		}
		return d, nil
	}
	return "", ErrNoSnapshot
}
