package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/cofiharness/cofi/record"
)

// RecordsLock is the lock file serialising every writer of records.jsonl:
// the runner, and under a cluster executor the stage jobs themselves.
const RecordsLock = ".records.lock"

// AppendRecord appends rec to the experiment's records.jsonl exactly once:
// it reports false, writing nothing, when attempt rec.Attempt of rec.Stage is
// already recorded. Writers may be many processes on many machines (Slurm
// array tasks ending together), so the check and the append happen under an
// exclusive flock on .records.lock, and the line goes out in one write(2)
// on an O_APPEND descriptor followed by fsync before the lock is released.
//
// On a local file system O_APPEND alone keeps lines whole; the lock adds the
// exactly-once check. On NFS, O_APPEND is not atomic between clients (each
// computes the end of file from its cached size), so the lock is what keeps
// lines whole there: Linux NFS clients implement flock with NFS byte-range
// locks (lockd for v3, the protocol's own for v4), taking the lock
// revalidates the cached attributes and the file is opened after the lock is
// held (close-to-open), so the writer sees the current size, and fsync puts
// the line on the server before the next writer can take the lock. File
// systems without working locks (NFS mounted with nolock, some FUSE ones)
// are not safe for concurrent writers.
//
// A torn last line (only a machine crash mid-write leaves one) is first moved
// to records.jsonl.truncated, as RepairRecords does.
func (e Experiment) AppendRecord(rec *record.Record) (bool, error) {
	if rec.Schema == 0 {
		rec.Schema = record.SchemaVersion
	}
	line, err := json.Marshal(rec)
	if err != nil {
		return false, fmt.Errorf("encode record: %w", err)
	}
	line = append(line, '\n')
	unlock, err := lockRecords(e.Dir)
	if err != nil {
		return false, err
	}
	defer unlock()
	path := e.Records()
	if _, err := repairLocked(path); err != nil {
		return false, fmt.Errorf("repair %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR|os.O_APPEND, 0o644)
	if err != nil {
		return false, fmt.Errorf("append %s: %w", path, err)
	}
	defer f.Close()
	have, err := recorded(f, rec.Stage, rec.Attempt)
	if err != nil {
		return false, fmt.Errorf("read %s: %w", path, err)
	}
	if have {
		return false, nil
	}
	if _, err := f.Write(line); err != nil {
		return false, fmt.Errorf("append %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return false, fmt.Errorf("append %s: sync: %w", path, err)
	}
	return true, f.Close()
}

// recorded reports whether r holds a record of attempt n of stage id. Only
// lines naming the stage are decoded.
func recorded(r io.Reader, id string, n int) (bool, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return false, err
	}
	key := []byte(strconv.Quote(id))
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		if !bytes.Contains(line, key) {
			continue
		}
		var k struct {
			Stage   string `json:"stage"`
			Attempt int    `json:"attempt"`
		}
		if json.Unmarshal(line, &k) == nil && k.Stage == id && k.Attempt == n {
			return true, nil
		}
	}
	return false, nil
}

// AttemptRecord is the record of attempt m of the stage in dir, without its
// outcome (see FinishRecord).
func (e Experiment) AttemptRecord(experiment string, sf *StageFile, cells []string, m *Attempt, dir string) record.Record {
	rec := record.Record{
		Experiment: experiment, Stage: sf.Spec.ID, StageKind: sf.Kind, Cells: cells,
		Attempt: m.Attempt, Task: sf.Spec.Task, Method: sf.Spec.Method, Sparsity: sf.Spec.Sparsity,
		Seed: sf.Spec.Seed, Data: sf.Spec.Data, Params: sf.Spec.Params, Sweep: sf.Spec.Sweep, Provenance: m.Provenance, Start: m.Start,
		Dir: e.Rel(dir), Log: e.Rel(filepath.Join(dir, LogFile)),
	}
	if rt := ReadRuntime(dir, m.Attempt); rt != nil {
		rec.Provenance.Libtorch = rt.Torch
	}
	return rec
}

// FinishRecord sets how an attempt ended: with its result, or a failure.
func FinishRecord(rec *record.Record, end time.Time, res *record.Result, f *record.Failure) {
	rec.End = end
	rec.Wall = end.Sub(rec.Start).Seconds()
	if res != nil {
		rec.Status, rec.Result = record.StatusOK, res
		// A stage's own description ("cuda: NVIDIA H100 80GB HBM3") beats
		// the executor's, unless it is just the device type.
		for _, d := range []string{trainDevice(res), latencyDevice(res)} {
			if d != "" && d != "cpu" && d != "cuda" && d != "auto" {
				rec.Provenance.Device = d
				break
			}
		}
		return
	}
	rec.Status, rec.Failure = record.StatusFailed, f
}

func trainDevice(r *record.Result) string {
	if r.Train == nil {
		return ""
	}
	return r.Train.Device
}

func latencyDevice(r *record.Result) string {
	if r.Latency == nil {
		return ""
	}
	return r.Latency.Device
}
