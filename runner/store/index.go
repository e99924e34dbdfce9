package store

import (
	"sort"

	"github.com/cofiharness/cofi/record"
)

// Index holds an experiment's records by stage. Records are unique by
// (stage, attempt); Add keeps the runner's in-memory view in step with the
// file.
type Index struct {
	byStage  map[string][]record.Record
	Problems []record.Problem // unusable lines of the file, reported and skipped
	Total    int
}

// ReadIndex reads a records file; a missing file is an empty index.
func ReadIndex(path string) (*Index, error) {
	recs, probs, err := record.ReadFile(path)
	if err != nil {
		return nil, err
	}
	ix := &Index{byStage: map[string][]record.Record{}, Problems: probs}
	for _, r := range recs {
		ix.Add(r)
	}
	return ix, nil
}

// Add indexes one record.
func (ix *Index) Add(r record.Record) {
	list := append(ix.byStage[r.Stage], r)
	sort.SliceStable(list, func(i, j int) bool { return list[i].Attempt < list[j].Attempt })
	ix.byStage[r.Stage] = list
	ix.Total++
}

// Stage returns the records of a stage sorted by attempt.
func (ix *Index) Stage(id string) []record.Record { return ix.byStage[id] }

// Stages lists the stage ids that have records.
func (ix *Index) Stages() []string {
	out := make([]string, 0, len(ix.byStage))
	for id := range ix.byStage {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// Has reports whether attempt n of a stage is recorded.
func (ix *Index) Has(id string, n int) bool {
	for _, r := range ix.byStage[id] {
		if r.Attempt == n {
			return true
		}
	}
	return false
}

// MaxAttempt is the highest recorded attempt number of a stage (0 if none).
func (ix *Index) MaxAttempt(id string) int {
	list := ix.byStage[id]
	if len(list) == 0 {
		return 0
	}
	return list[len(list)-1].Attempt
}

// FailedInARow counts the failed attempts of a stage since its last success,
// not counting interrupted ones (an interruption says nothing about the stage).
func (ix *Index) FailedInARow(id string) int {
	list := ix.byStage[id]
	n := 0
	for i := len(list) - 1; i >= 0; i-- {
		r := list[i]
		if r.Status == record.StatusOK {
			break
		}
		if r.Failure != nil && r.Failure.Class == record.FailInterrupted {
			continue
		}
		n++
	}
	return n
}

// Walls returns the wall times of the successful attempts per stage kind, for ETAs.
func (ix *Index) Walls() map[string][]float64 {
	out := map[string][]float64{}
	for _, list := range ix.byStage {
		for _, r := range list {
			if r.Status == record.StatusOK && r.Wall > 0 {
				out[r.StageKind] = append(out[r.StageKind], r.Wall)
			}
		}
	}
	return out
}
