package runs

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/cofiharness/cofi/record"
)

// Eval is one evaluation of a checkpoint by `cofi eval`: its result and
// where it was read from.
type Eval struct {
	Source string // result.json path, or "records:N"
	Result *record.Result
}

// Model is the name of the evaluated checkpoint: its directory's base name
// ("CoFi-MNLI-s95"), or the name of the directory the result is in when
// the result does not say.
func (e Eval) Model() string {
	if e.Result.Evaluated != "" {
		return filepath.Base(filepath.Clean(e.Result.Evaluated))
	}
	return filepath.Base(filepath.Dir(e.Source))
}

// LoadEvals reads the results of `cofi eval --out DIR`: result.json files,
// or directories searched for them; results of other kinds are skipped.
// The evals are ordered by path.
func LoadEvals(paths ...string) ([]Eval, error) {
	var files []string
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("evals %s: %w", p, err)
		}
		if !fi.IsDir() {
			files = append(files, p)
			continue
		}
		err = filepath.WalkDir(p, func(q string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && d.Name() == record.ResultFile {
				files = append(files, q)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("evals %s: %w", p, err)
		}
	}
	sort.Strings(files)
	var out []Eval
	for _, f := range files {
		res, err := record.ReadResult(filepath.Dir(f))
		if err != nil {
			return nil, err
		}
		if res.Kind == record.KindEval {
			out = append(out, Eval{Source: f, Result: res})
		}
	}
	return out, nil
}
