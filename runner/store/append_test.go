package store

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/cofiharness/cofi/record"
)

// TestAppendRecordExactlyOnce: many writers ending at the same moment, each
// record offered by three of them, leave every record exactly once, each on
// its own intact line.
func TestAppendRecordExactlyOnce(t *testing.T) {
	e := Experiment{Dir: t.TempDir()}
	const stages, attempts, copies = 24, 4, 3
	pad := strings.Repeat("x", 8<<10) // lines longer than a pipe buffer
	var wg sync.WaitGroup
	start := make(chan struct{})
	var mu sync.Mutex
	appended := 0
	for c := 0; c < copies; c++ {
		for s := 0; s < stages; s++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				for a := 1; a <= attempts; a++ {
					rec := record.Record{Experiment: "e", Stage: fmt.Sprintf("stage%02d", s), Attempt: a, Task: pad,
						Status: record.StatusOK}
					ok, err := e.AppendRecord(&rec)
					if err != nil {
						t.Error(err)
						return
					}
					if ok {
						mu.Lock()
						appended++
						mu.Unlock()
					}
				}
			}()
		}
	}
	close(start)
	wg.Wait()
	recs, probs, err := record.ReadFile(e.Records())
	if err != nil || len(probs) > 0 {
		t.Fatalf("read: %v %v", err, probs)
	}
	if len(recs) != stages*attempts || appended != stages*attempts {
		t.Fatalf("%d records in the file, %d reported appended; want %d", len(recs), appended, stages*attempts)
	}
	seen := map[string]bool{}
	for _, r := range recs {
		k := fmt.Sprintf("%s/%d", r.Stage, r.Attempt)
		if seen[k] || r.Task != pad {
			t.Fatalf("duplicate or damaged record %s", k)
		}
		seen[k] = true
	}
}

// TestAppendRecordAfterTornLine: a torn last line left by a crashed writer is
// moved aside before the next append, so the new record stays intact.
func TestAppendRecordAfterTornLine(t *testing.T) {
	e := Experiment{Dir: t.TempDir()}
	if _, err := e.AppendRecord(&record.Record{Stage: "a", Attempt: 1}); err != nil {
		t.Fatal(err)
	}
	f, _ := os.OpenFile(e.Records(), os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString(`{"schema":1,"stage":"b","att`)
	f.Close()
	if ok, err := e.AppendRecord(&record.Record{Stage: "b", Attempt: 1}); !ok || err != nil {
		t.Fatal(ok, err)
	}
	if ok, _ := e.AppendRecord(&record.Record{Stage: "a", Attempt: 1}); ok {
		t.Error("appended a record that is already there")
	}
	recs, probs, _ := record.ReadFile(e.Records())
	if len(recs) != 2 || len(probs) != 0 {
		t.Errorf("records %d, problems %v", len(recs), probs)
	}
	if b, _ := os.ReadFile(filepath.Join(e.Dir, TruncatedFile)); !strings.Contains(string(b), `"att`) {
		t.Errorf("torn line not kept: %q", b)
	}
}
