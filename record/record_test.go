package record

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAppendReadRoundTripAndTruncatedTail(t *testing.T) {
	p := filepath.Join(t.TempDir(), "records.jsonl")
	for i := 1; i <= 3; i++ {
		rec := &Record{Experiment: "x", Stage: "s", StageKind: KindFake, Attempt: i, Status: StatusOK,
			Task: "rte", Method: "cofi", Sparsity: 0.95, Seed: 57,
			Result: &Result{Kind: KindFinal, Metrics: map[string]float64{"rte/acc": 64.7}}}
		if err := Append(p, rec); err != nil {
			t.Fatal(err)
		}
	}
	// Simulate a crash in the middle of a fourth append.
	f, _ := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"schema":1,"experiment":"x","sta`)
	f.Close()

	recs, probs, err := ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 {
		t.Fatalf("got %d records, want 3", len(recs))
	}
	if v, ok := recs[2].Result.Metric("rte/acc"); !ok || v != 64.7 {
		t.Fatalf("metric = %v %v", v, ok)
	}
	if len(probs) != 1 || probs[0].Line != 4 || !strings.Contains(probs[0].Err.Error(), "truncated") {
		t.Fatalf("problems = %v, want one truncated line 4", probs)
	}
}

func TestReadReportsCorruptMiddleLineAndSchema(t *testing.T) {
	in := `{"schema":1,"stage":"a","status":"ok"}
not json
{"schema":99,"stage":"b"}
{"schema":1,"stage":"c","status":"failed","failure":{"class":"nan","message":"loss is NaN"}}
`
	recs, probs, err := Read(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[1].Failure.Class != FailNaN {
		t.Fatalf("records %+v", recs)
	}
	if len(probs) != 2 || probs[0].Line != 2 || probs[1].Line != 3 {
		t.Fatalf("problems %v", probs)
	}
}

func TestResultRoundTrip(t *testing.T) {
	dir := t.TempDir()
	in := &Result{Kind: KindSpeed, Latency: &Latency{Device: "cpu", RoundsMS: []float64{1, 2}, Speedup: 3}}
	if err := WriteResult(dir, in); err != nil {
		t.Fatal(err)
	}
	out, err := ReadResult(dir)
	if err != nil {
		t.Fatal(err)
	}
	if out.Schema != SchemaVersion || out.Latency.Speedup != 3 || len(out.Latency.RoundsMS) != 2 {
		t.Fatalf("round trip: %+v", out)
	}
}
