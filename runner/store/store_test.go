package store

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cofiharness/cofi/record"
)

func TestRepairRecords(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, RecordsFile)
	if fixed, err := RepairRecords(p); fixed || err != nil {
		t.Fatalf("missing file: %v %v", fixed, err)
	}
	for i := 1; i <= 2; i++ {
		if err := record.Append(p, &record.Record{Stage: "s", Attempt: i, Status: record.StatusOK}); err != nil {
			t.Fatal(err)
		}
	}
	if fixed, _ := RepairRecords(p); fixed {
		t.Fatal("repaired a sound file")
	}
	f, _ := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"schema":1,"stage":"s","att`)
	f.Close()
	fixed, err := RepairRecords(p)
	if !fixed || err != nil {
		t.Fatalf("torn tail: %v %v", fixed, err)
	}
	// The next append starts on a line of its own.
	record.Append(p, &record.Record{Stage: "s", Attempt: 3, Status: record.StatusOK})
	recs, probs, err := record.ReadFile(p)
	if err != nil || len(probs) != 0 || len(recs) != 3 || recs[2].Attempt != 3 {
		t.Errorf("after repair: %d records, problems %v, %v", len(recs), probs, err)
	}
	tail, _ := os.ReadFile(filepath.Join(dir, TruncatedFile))
	if string(tail) != `{"schema":1,"stage":"s","att`+"\n" {
		t.Errorf("truncated tail kept as %q", tail)
	}
}

func TestStateAndStaleFailure(t *testing.T) {
	dir := t.TempDir()
	if st := ReadState(dir); st.Done() || st.Latest() != 0 || st.Failure != nil || st.Running {
		t.Fatalf("empty dir: %+v", st)
	}
	WriteAttempt(dir, &Attempt{Attempt: 1, Start: time.Now()})
	WriteFailure(dir, &Failure{Attempt: 1, Failure: record.Failure{Class: record.FailNaN, Message: "nan"}})
	if st := ReadState(dir); st.Failure == nil || st.Failure.Class != record.FailNaN || st.Latest() != 1 {
		t.Fatalf("failed attempt: %+v", st)
	}
	// A new attempt makes the old failure.json stale.
	WriteAttempt(dir, &Attempt{Attempt: 2, Start: time.Now()})
	st := ReadState(dir)
	if st.Failure != nil || st.Running {
		t.Fatalf("stale failure used or running without a lock holder: %+v", st)
	}
	lk, err := LockStage(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !ReadState(dir).Running {
		t.Error("attempt without outcome under a held lock is not running")
	}
	if _, err := TryLockStage(dir); err == nil {
		t.Error("stage locked twice")
	}
	lk.Unlock()
	record.WriteResult(dir, &record.Result{Kind: record.KindPrune})
	if st := ReadState(dir); !st.Done() {
		t.Errorf("result not seen: %+v", st)
	}
	os.WriteFile(filepath.Join(dir, record.ResultFile), []byte("{"), 0o644)
	if st := ReadState(dir); st.Done() || st.ResultErr == nil {
		t.Errorf("a corrupt result counts as done: %+v", st)
	}
}

func TestExperimentLock(t *testing.T) {
	dir := t.TempDir()
	if locked, _ := ExperimentLocked(dir); locked {
		t.Fatal("locked before anyone locked it")
	}
	l, err := LockExperiment(dir, "pid 1 on test")
	if err != nil {
		t.Fatal(err)
	}
	if locked, who := ExperimentLocked(dir); !locked || who != "pid 1 on test" {
		t.Errorf("locked=%v who=%q", locked, who)
	}
	if _, err := LockExperiment(dir, "pid 2"); err == nil || !strings.Contains(err.Error(), "pid 1 on test") {
		t.Errorf("second lock: %v", err)
	}
	l.Unlock()
	if locked, _ := ExperimentLocked(dir); locked {
		t.Error("still locked after unlock")
	}
}

func TestTrash(t *testing.T) {
	stages := t.TempDir()
	d := filepath.Join(stages, "prune-abc")
	os.MkdirAll(filepath.Join(d, "model"), 0o755)
	os.WriteFile(filepath.Join(d, record.ResultFile), []byte("{}"), 0o644)
	if err := Trash(d); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(d); !os.IsNotExist(err) {
		t.Error("stage dir still there")
	}
	os.MkdirAll(filepath.Join(stages, trashPrefix+"final-x-1", "a"), 0o755)
	CleanTrash(stages)
	if ents, _ := os.ReadDir(stages); len(ents) != 0 {
		t.Errorf("left %v", ents)
	}
}

func TestIndexFailedInARow(t *testing.T) {
	ix := &Index{byStage: map[string][]record.Record{}}
	fail := func(n int, class string) record.Record {
		return record.Record{Stage: "s", Attempt: n, Status: record.StatusFailed, Failure: &record.Failure{Class: class}}
	}
	ix.Add(fail(3, record.FailSignal))
	ix.Add(record.Record{Stage: "s", Attempt: 1, Status: record.StatusOK})
	ix.Add(fail(2, record.FailNaN))
	ix.Add(fail(4, record.FailInterrupted))
	ix.Add(fail(5, record.FailOOM))
	if n := ix.FailedInARow("s"); n != 3 {
		t.Errorf("failed in a row = %d, want 3 (2, 3 and 5; 4 was interrupted)", n)
	}
	if ix.MaxAttempt("s") != 5 || !ix.Has("s", 4) || ix.Has("s", 6) || ix.Total != 5 {
		t.Errorf("index %+v", ix)
	}
}

func TestManifestRoundTrip(t *testing.T) {
	p := filepath.Join(t.TempDir(), ManifestFile)
	m := &Manifest{Experiment: "e", Stages: []ManifestStage{{Kind: "prune", After: []string{"t"}}}}
	m.Stages[0].Spec.ID = "abc"
	if err := WriteManifest(p, m); err != nil {
		t.Fatal(err)
	}
	got, err := ReadManifest(p)
	if err != nil {
		t.Fatal(err)
	}
	if s, ok := got.Find("abc"); !ok || s.Kind != "prune" || s.After[0] != "t" {
		t.Errorf("manifest %+v", got)
	}
	if _, ok := got.Find("zzz"); ok {
		t.Error("found a stage that is not there")
	}
}

func TestCleanTemp(t *testing.T) {
	dir := t.TempDir()
	WriteAttempt(dir, &Attempt{Attempt: 1})
	for _, p := range []string{".spec.json.tmp-123", "attempts/.2.json.tmp-9", "model/.w.tmp-1"} {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755)
		os.WriteFile(filepath.Join(dir, p), nil, 0o644)
	}
	CleanTemp(dir)
	for p, want := range map[string]bool{".spec.json.tmp-123": false, "attempts/.2.json.tmp-9": false, "model/.w.tmp-1": true, "attempts/1.json": true} {
		if _, err := os.Stat(filepath.Join(dir, p)); (err == nil) != want {
			t.Errorf("%s exists = %v, want %v", p, err == nil, want)
		}
	}
}
