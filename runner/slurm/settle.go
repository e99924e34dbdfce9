package slurm

import (
	"os"
	"path/filepath"
	"time"

	"github.com/cofiharness/cofi/record"
	"github.com/cofiharness/cofi/runner/store"
)

// Settle records the latest attempt of the stage in dir when no record of
// it exists yet: ok when result.json is there, its failure.json when that
// names the attempt, else a failure classified from state (the final state
// of the attempt's job, "" when unknown) and the attempt's part of the log;
// failure.json is then written too, so the verdict is stable. cells nil
// means those of spec.json. The caller holds the stage lock; the attempt
// must have ended. It reports whether it appended a record.
func Settle(exp store.Experiment, experiment, dir string, cells []string, state func(*store.Attempt) string) (bool, error) {
	sf, err := store.ReadStageFile(dir)
	if err != nil {
		return false, nil // no attempt was ever started here
	}
	st := store.ReadState(dir)
	if len(st.Attempts) == 0 {
		return false, nil
	}
	m := &st.Attempts[len(st.Attempts)-1]
	if ix, err := store.ReadIndex(exp.Records()); err != nil {
		return false, err
	} else if ix.Has(sf.Spec.ID, m.Attempt) {
		return false, nil
	}
	if cells == nil {
		cells = sf.Cells
	}
	rec := exp.AttemptRecord(experiment, sf, cells, m, dir)
	mtime := func(name string) time.Time {
		if fi, err := os.Stat(filepath.Join(dir, name)); err == nil {
			return fi.ModTime().UTC()
		}
		return time.Now().UTC()
	}
	switch {
	case st.Result != nil:
		store.FinishRecord(&rec, mtime(record.ResultFile), st.Result, nil)
	case st.Failure != nil && st.Failure.Attempt == m.Attempt:
		store.FinishRecord(&rec, mtime(store.FailureFile), nil, &st.Failure.Failure)
	default:
		s := ""
		if state != nil {
			s = state(m)
		}
		log, _ := os.ReadFile(filepath.Join(dir, store.LogFile))
		v := Classify(s, AttemptLog(string(log), m.Attempt))
		f := &store.Failure{Attempt: m.Attempt, Failure: record.Failure{Class: v.Class, Message: v.Message}}
		if err := store.WriteFailure(dir, f); err != nil {
			return false, err
		}
		store.FinishRecord(&rec, mtime(store.LogFile), nil, &f.Failure)
	}
	return exp.AppendRecord(&rec)
}
