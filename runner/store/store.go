// Package store is the on-disk layout of an experiment and the file-level
// rules that make it crash-safe:
//
//	<results>/<experiment>/
//	  records.jsonl            one record.Record per stage attempt (history)
//	  manifest.json            every stage.Spec of the last plan run, for `cofi run-stage`
//	  .runner.lock             flock held by the one runner of the experiment
//	  .records.lock            flock held around each append to records.jsonl
//	  slurm/<submission>/      scripts and task lists of Slurm submissions (package runner/slurm)
//	  stages/<kind>-<id>/
//	    spec.json              resolved spec, identity and cells of the stage
//	    .lock                  flock held while an attempt runs (runner and child)
//	    attempts/<n>.json      attempt marker, written before attempt n starts
//	    attempts/<n>.runtime.json  what the child process saw (written by run-stage)
//	    log.txt                child stdout+stderr, every attempt appended
//	    result.json            the stage is done (atomic write by the child)
//	    failure.json           the latest attempt failed (class, message, attempt)
//	    ...                    the stage's own outputs and checkpoints
//
// Every file the runner or a stage reads to make a decision is written
// atomically (temp file, fsync, rename); records are appended with one
// write(2) followed by fsync, under a lock and only if absent (AppendRecord).
package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/cofiharness/cofi/internal/atomicfile"
	"github.com/cofiharness/cofi/record"
	"github.com/cofiharness/cofi/stage"
)

// File names.
const (
	RecordsFile   = "records.jsonl"
	ManifestFile  = "manifest.json"
	RunnerLock    = ".runner.lock"
	StagesDir     = "stages"
	SpecFile      = "spec.json"
	StageLock     = ".lock"
	AttemptsDir   = "attempts"
	LogFile       = "log.txt"
	FailureFile   = "failure.json"
	TruncatedFile = "records.jsonl.truncated"
	trashPrefix   = ".trash-"
)

// Experiment is an experiment directory.
type Experiment struct{ Dir string }

func (e Experiment) Records() string          { return filepath.Join(e.Dir, RecordsFile) }
func (e Experiment) Manifest() string         { return filepath.Join(e.Dir, ManifestFile) }
func (e Experiment) Stages() string           { return filepath.Join(e.Dir, StagesDir) }
func (e Experiment) Stage(name string) string { return filepath.Join(e.Dir, StagesDir, name) }

// Rel returns p relative to the experiment directory, for records.
func (e Experiment) Rel(p string) string {
	if r, err := filepath.Rel(e.Dir, p); err == nil {
		return filepath.ToSlash(r)
	}
	return p
}

// StageFile is spec.json: everything needed to understand and re-record a
// stage without the config that produced it.
type StageFile struct {
	Kind     string          `json:"kind"` // the real kind (Spec.Kind is "fake" in fake mode)
	Spec     stage.Spec      `json:"spec"`
	Identity json.RawMessage `json:"identity"`
	Cells    []string        `json:"cells"`
	Upstream []string        `json:"upstream,omitempty"`
}

// WriteStageFile writes dir/spec.json.
func WriteStageFile(dir string, f *StageFile) error {
	return writeJSON(filepath.Join(dir, SpecFile), f)
}

// ReadStageFile reads dir/spec.json.
func ReadStageFile(dir string) (*StageFile, error) {
	var f StageFile
	if err := readJSON(filepath.Join(dir, SpecFile), &f); err != nil {
		return nil, err
	}
	return &f, nil
}

// Attempt is the marker of one attempt of a stage, written before it starts.
// It carries the provenance of the attempt, so a record can be written for it
// after a crash of the runner that started it.
type Attempt struct {
	Attempt    int               `json:"attempt"`
	Start      time.Time         `json:"start"`
	RunnerPID  int               `json:"runner_pid"`
	Provenance record.Provenance `json:"provenance"` // host, command, device, threads, code version
}

func attemptPath(dir string, n int) string {
	return filepath.Join(dir, AttemptsDir, strconv.Itoa(n)+".json")
}

// WriteAttempt writes the marker of attempt a.Attempt.
func WriteAttempt(dir string, a *Attempt) error { return writeJSON(attemptPath(dir, a.Attempt), a) }

// ReadAttempts returns the stage's attempt markers sorted by number. An
// unreadable marker (there are none after atomic writes) is skipped.
func ReadAttempts(dir string) []Attempt {
	ents, _ := os.ReadDir(filepath.Join(dir, AttemptsDir))
	var out []Attempt
	for _, e := range ents {
		n, err := strconv.Atoi(strings.TrimSuffix(e.Name(), ".json"))
		if err != nil || !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		var a Attempt
		if readJSON(filepath.Join(dir, AttemptsDir, e.Name()), &a) == nil && a.Attempt == n {
			out = append(out, a)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Attempt < out[j].Attempt })
	return out
}

// Runtime is what run-stage saw in the child process.
type Runtime struct {
	Attempt            int       `json:"attempt"`
	PID                int       `json:"pid"`
	Host               string    `json:"host"`
	GoVersion          string    `json:"go_version"`
	Torch              string    `json:"torch"`
	Device             string    `json:"device"`
	Threads            int       `json:"threads"`
	CUDAVisibleDevices string    `json:"cuda_visible_devices,omitempty"`
	Start              time.Time `json:"start"`
}

func runtimePath(dir string, n int) string {
	return filepath.Join(dir, AttemptsDir, strconv.Itoa(n)+".runtime.json")
}

// WriteRuntime writes the runtime file of attempt r.Attempt.
func WriteRuntime(dir string, r *Runtime) error { return writeJSON(runtimePath(dir, r.Attempt), r) }

// ReadRuntime reads the runtime file of attempt n, or nil.
func ReadRuntime(dir string, n int) *Runtime {
	var r Runtime
	if readJSON(runtimePath(dir, n), &r) != nil {
		return nil
	}
	return &r
}

// Failure is failure.json: why the latest attempt failed.
type Failure struct {
	Attempt int `json:"attempt"`
	record.Failure
}

// WriteFailure writes dir/failure.json.
func WriteFailure(dir string, f *Failure) error { return writeJSON(filepath.Join(dir, FailureFile), f) }

// ReadFailure reads dir/failure.json, or nil when there is none.
func ReadFailure(dir string) *Failure {
	var f Failure
	if readJSON(filepath.Join(dir, FailureFile), &f) != nil {
		return nil
	}
	return &f
}

// RemoveFailure deletes dir/failure.json before a new attempt.
func RemoveFailure(dir string) error {
	err := os.Remove(filepath.Join(dir, FailureFile))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// State is what the files of a stage directory say about it.
type State struct {
	Result    *record.Result // result.json: the stage is done
	ResultErr error          // result.json exists but cannot be used
	Failure   *Failure       // failure.json of the latest attempt
	Attempts  []Attempt
	// Running: the latest attempt has no outcome yet and the stage lock is
	// held, by a runner or a run-stage process.
	Running bool
}

// Done reports whether the stage completed.
func (s State) Done() bool { return s.Result != nil }

// Latest is the number of the latest attempt on disk (0 if none).
func (s State) Latest() int {
	if len(s.Attempts) == 0 {
		return 0
	}
	return s.Attempts[len(s.Attempts)-1].Attempt
}

// ReadState reads a stage directory. A failure.json of an older attempt
// than the latest marker is stale and ignored.
func ReadState(dir string) State {
	var st State
	st.Attempts = ReadAttempts(dir)
	if _, err := os.Stat(filepath.Join(dir, record.ResultFile)); err == nil {
		st.Result, st.ResultErr = record.ReadResult(dir)
	}
	if f := ReadFailure(dir); f != nil && f.Attempt >= st.Latest() {
		st.Failure = f
	}
	if st.Result == nil && st.Failure == nil && st.Latest() > 0 {
		st.Running = StageLocked(dir)
	}
	return st
}

// Trash removes a stage directory: it is first renamed out of the way (so
// a crash never leaves a half-deleted stage that looks resumable), then
// deleted. Leftovers of a crash are removed by CleanTrash.
func Trash(dir string) error {
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	tmp := filepath.Join(filepath.Dir(dir), fmt.Sprintf("%s%s-%d", trashPrefix, filepath.Base(dir), time.Now().UnixNano()))
	if err := os.Rename(dir, tmp); err != nil {
		return fmt.Errorf("remove stage %s: %w", dir, err)
	}
	if err := atomicfile.SyncDir(filepath.Dir(dir)); err != nil {
		return err
	}
	return os.RemoveAll(tmp)
}

// CleanTemp removes the temporary files of atomic writes that a killed
// process left in a stage directory and its attempts/ (the stage's own
// subdirectories are its business). The caller holds the stage lock.
func CleanTemp(dir string) {
	for _, d := range []string{dir, filepath.Join(dir, AttemptsDir)} {
		ents, _ := os.ReadDir(d)
		for _, e := range ents {
			if n := e.Name(); strings.HasPrefix(n, ".") && strings.Contains(n, ".tmp-") && !e.IsDir() {
				os.Remove(filepath.Join(d, n))
			}
		}
	}
}

// CleanTrash removes what Trash left behind after a crash.
func CleanTrash(stagesDir string) {
	ents, _ := os.ReadDir(stagesDir)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), trashPrefix) {
			os.RemoveAll(filepath.Join(stagesDir, e.Name()))
		}
	}
}

// RepairRecords makes sure records.jsonl ends with a newline, so the next
// append cannot glue a new record to a torn one: a torn last line (only a
// crash of the machine mid-append can leave one) is moved to
// records.jsonl.truncated. It reports whether it repaired anything. It
// holds the records lock (see AppendRecord) while it works.
func RepairRecords(path string) (bool, error) {
	unlock, err := lockRecords(filepath.Dir(path))
	if err != nil {
		return false, err
	}
	defer unlock()
	return repairLocked(path)
}

func repairLocked(path string) (bool, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || fi.Size() == 0 {
		return false, err
	}
	// Find the last newline, reading backwards in blocks.
	size := fi.Size()
	last := int64(-1)
	buf := make([]byte, 64<<10)
	for end := size; end > 0 && last < 0; {
		start := max(end-int64(len(buf)), 0)
		b := buf[:end-start]
		if _, err := f.ReadAt(b, start); err != nil && err != io.EOF {
			return false, err
		}
		if i := strings.LastIndexByte(string(b), '\n'); i >= 0 {
			last = start + int64(i)
		}
		end = start
	}
	if last == size-1 {
		return false, nil
	}
	tail := make([]byte, size-last-1)
	if _, err := f.ReadAt(tail, last+1); err != nil && err != io.EOF {
		return false, err
	}
	tf, err := os.OpenFile(filepath.Join(filepath.Dir(path), TruncatedFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return false, err
	}
	_, werr := tf.Write(append(tail, '\n'))
	if err := tf.Close(); werr == nil {
		werr = err
	}
	if werr != nil {
		return false, werr
	}
	if err := f.Truncate(last + 1); err != nil {
		return false, err
	}
	return true, f.Sync()
}

// Manifest lists every stage of a plan for `cofi run-stage`. It is written
// before any stage runs; stage ids are content hashes, so a stage found in
// any manifest of the experiment is the same stage.
type Manifest struct {
	Schema     int             `json:"schema"`
	Experiment string          `json:"experiment"`
	Created    time.Time       `json:"created"`
	Stages     []ManifestStage `json:"stages"`
}

// ManifestStage is one stage of a manifest.
type ManifestStage struct {
	Kind      string     `json:"kind"` // the real kind
	Spec      stage.Spec `json:"spec"`
	After     []string   `json:"after,omitempty"` // upstream stage ids
	Cells     []string   `json:"cells"`
	Exclusive bool       `json:"exclusive,omitempty"`
}

// ManifestSchema is the manifest format version.
const ManifestSchema = 1

// Find returns the stage with id.
func (m *Manifest) Find(id string) (*ManifestStage, bool) {
	for i := range m.Stages {
		if m.Stages[i].Spec.ID == id {
			return &m.Stages[i], true
		}
	}
	return nil, false
}

// WriteManifest writes m atomically.
func WriteManifest(path string, m *Manifest) error {
	if m.Schema == 0 {
		m.Schema = ManifestSchema
	}
	return writeJSON(path, m)
}

// ReadManifest reads a manifest.
func ReadManifest(path string) (*Manifest, error) {
	var m Manifest
	if err := readJSON(path, &m); err != nil {
		return nil, err
	}
	if m.Schema != ManifestSchema {
		return nil, fmt.Errorf("read manifest %s: schema %d, this build reads %d", path, m.Schema, ManifestSchema)
	}
	return &m, nil
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	return atomicfile.Write(path, append(b, '\n'), 0o644)
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	return nil
}
