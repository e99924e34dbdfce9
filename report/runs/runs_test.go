package runs

import (
	"strings"
	"testing"
	"time"

	"github.com/cofiharness/cofi/record"
)

func loadGrid(t *testing.T) *Set {
	t.Helper()
	s, err := Load("../testdata/grid")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestLoadGridFixture(t *testing.T) {
	s := loadGrid(t)
	if len(s.Problems) != 1 || !strings.Contains(s.Problems[0], "line 42: truncated") {
		t.Errorf("problems %v, want the truncated line 42", s.Problems)
	}
	if len(s.Warnings) != 0 {
		t.Errorf("warnings %v", s.Warnings)
	}
	if got := strings.Join(s.Tasks(), ","); got != "cola,sst2,stsb,mnli,qnli,rte,squad" {
		t.Errorf("tasks %s", got)
	}

	sst := s.Select("sst2", "cofi", 0.95)
	if len(sst) != 3 {
		t.Fatalf("sst2 runs %d", len(sst))
	}
	for i, want := range []float64{90.25, 90.71, 89.91} {
		if v := sst[i].Headline(); !v.OK || v.V != want || v.Note != "" {
			t.Errorf("sst2 seed %d: %+v, want %v", sst[i].Seed, v, want)
		}
	}
	if v := sst[0].TrainSeconds(); !v.OK || v.V != 7200+3600 {
		t.Errorf("train seconds %+v, want prune + final = 10800", v)
	}
	if v := sst[0].Speedup(); !v.OK || v.V < 11.5 || v.V > 12.1 {
		t.Errorf("speedup %+v", v)
	}
	if st, _ := sst[0].Structure(); st == nil || len(st.Heads) != 12 {
		t.Errorf("structure from the prune stage when final has none: %+v", st)
	}

	cases := []struct {
		name              string
		task, method      string
		sparsity          float64
		seed              int64
		metric            string
		want              float64
		reason, note, spd string
	}{
		{"prune fallback", "qnli", "cofi", 0.95, 57, "qnli/acc", 84.43, "", "prune stage", ""},
		{"mnli matched", "mnli", "cofi", 0.95, 57, "mnli-m/acc", 80.31, "", "", ""},
		{"mnli mismatched", "mnli", "cofi", 0.95, 57, "mnli-mm/acc", 80.87, "", "", ""},
		{"failed final, no fallback", "cola", "cofi", 0.95, 57, "cola/mcc", 0, "final stage failed (nan): loss became NaN", "", ""},
		{"one seed of three failed", "rte", "cofi", 0.95, 59, "rte/acc", 0, "(oom): CUDA out of memory", "", ""},
		{"retry succeeded", "stsb", "cofi", 0.95, 57, "stsb/spearman", 83.62, "", "", "speed stage failed (timeout)"},
		{"squad at the paper's sparsity", "squad", "cofi", 0.924, 57, "squad/f1", 82.15, "", "", ""},
		{"teacher", "mnli", "teacher", 0, 57, "mnli-mm/acc", 84.95, "", "", "no speed record"},
		{"baseline keyed without sparsity", "sst2", "tinybert4", 0, 57, "sst2/acc", 89.45, "", "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rs := s.Select(c.task, c.method, c.sparsity)
			var r *Run
			for _, x := range rs {
				if x.Seed == c.seed {
					r = x
				}
			}
			if r == nil {
				t.Fatalf("no run %s %s %v %d", c.task, c.method, c.sparsity, c.seed)
			}
			v := r.Score(c.metric)
			if c.reason != "" {
				if v.OK || !strings.Contains(v.Reason, c.reason) {
					t.Fatalf("value %+v, want missing because %q", v, c.reason)
				}
			} else if !v.OK || v.V != c.want || !strings.Contains(v.Note, c.note) {
				t.Fatalf("value %+v, want %v with note %q", v, c.want, c.note)
			}
			if c.spd != "" {
				if sp := r.Speedup(); sp.OK || !strings.Contains(sp.Reason, c.spd) {
					t.Fatalf("speedup %+v, want missing because %q", sp, c.spd)
				}
			}
		})
	}
	if st := s.Select("stsb", "cofi", 0.95)[0].Stages[record.KindFinal]; st.Attempts != 2 || st.Record.Attempt != 2 {
		t.Errorf("stsb final: %d attempts, deciding attempt %d", st.Attempts, st.Record.Attempt)
	}
	if sp, ok := s.Closest("squad", "cofi", 0.924, 0.05); !ok || sp != 0.924 {
		t.Errorf("closest squad %v %v", sp, ok)
	}
	if sp, ok := s.Closest("sst2", "cofi", 0.924, 0.05); !ok || sp != 0.95 {
		t.Errorf("closest sst2 %v %v", sp, ok)
	}
	if _, ok := s.Closest("qqp", "cofi", 0.95, 0.05); ok {
		t.Error("qqp has no runs")
	}
	if d := s.Devices(); len(d) != 1 || !strings.Contains(d[0], "H100") {
		t.Errorf("devices %v", d)
	}
}

func rec(kind string, attempt int, status record.Status, end int, stage string, metric float64) record.Record {
	r := record.Record{Schema: 1, Stage: stage, StageKind: kind, Attempt: attempt, Status: status,
		Task: "rte", Method: "cofi", Sparsity: 0.95, Seed: 1, End: time.Date(2025, 1, 1, 0, 0, end, 0, time.UTC)}
	if status == record.StatusOK {
		r.Result = &record.Result{Kind: kind, Metrics: map[string]float64{"rte/acc": metric}}
	} else {
		r.Failure = &record.Failure{Class: record.FailExit, Message: "exit status 1"}
	}
	return r
}

func TestLatestAttemptDecides(t *testing.T) {
	for _, c := range []struct {
		name     string
		recs     []record.Record
		want     float64
		reason   string
		warnings []string
	}{
		{"failed then ok", []record.Record{rec("final", 1, record.StatusFailed, 1, "a", 0), rec("final", 2, record.StatusOK, 2, "a", 65)}, 65, "", nil},
		{"ok then failed is shown failed", []record.Record{rec("final", 1, record.StatusOK, 1, "a", 65), rec("final", 2, record.StatusFailed, 2, "a", 0)}, 0,
			"final stage failed (exit): exit status 1 [attempt 2 of 2]", []string{"latest attempt failed after an earlier success"}},
		// File order says b is last, end times say a: end time wins.
		{"end time orders across configurations", []record.Record{rec("final", 1, record.StatusOK, 9, "a", 66), rec("final", 1, record.StatusOK, 3, "b", 64)}, 66, "",
			[]string{"2 configurations of the final stage"}},
		{"prune only", []record.Record{rec("prune", 1, record.StatusOK, 1, "p", 60)}, 60, "", nil},
		{"speed only", []record.Record{rec("speed", 1, record.StatusOK, 1, "s", 0)}, 0, "no training or evaluation record", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := FromRecords("mem", c.recs)
			if len(s.Runs) != 1 {
				t.Fatalf("%d runs", len(s.Runs))
			}
			v := s.Runs[0].Headline()
			if c.reason != "" || !v.OK {
				if v.OK || v.Reason != c.reason {
					t.Fatalf("value %+v, want missing: %q", v, c.reason)
				}
			} else if v.V != c.want {
				t.Fatalf("value %v, want %v", v.V, c.want)
			}
			if len(s.Warnings) != len(c.warnings) {
				t.Fatalf("warnings %v, want %v", s.Warnings, c.warnings)
			}
			for i, w := range c.warnings {
				if !strings.Contains(s.Warnings[i], w) {
					t.Errorf("warning %q, want %q", s.Warnings[i], w)
				}
			}
		})
	}
}

func TestKeyOf(t *testing.T) {
	for _, c := range []struct {
		r    record.Record
		want Key
	}{
		{record.Record{StageKind: "teacher", Task: "mnli", Method: "cofi", Sparsity: 0.95, Seed: 3}, Key{Task: "mnli", Method: "teacher", Seed: 3}},
		{record.Record{StageKind: "prune", Task: "mnli", Method: "cofi", Params: record.Params{"target_sparsity": 0.60000001}}, Key{Task: "mnli", Method: "cofi", Sparsity: 0.6}},
		{record.Record{StageKind: "baseline", Task: "sst2", Method: "tinybert4", Sparsity: 0.94}, Key{Task: "sst2", Method: "tinybert4"}},
	} {
		if got := KeyOf(c.r); got != c.want {
			t.Errorf("KeyOf(%+v) = %+v, want %+v", c.r, got, c.want)
		}
	}
	if s := (Key{Task: "squad", Method: "cofi", Sparsity: 0.924, Seed: 57}).String(); s != "squad cofi 92.4% seed 57" {
		t.Errorf("String %q", s)
	}
	held := KeyOf(record.Record{StageKind: "final", Task: "rte", Method: "cofi", Sparsity: 0.95, Params: record.Params{"heldout": 0.1}})
	if held.Heldout != 0.1 || held.String() != "rte cofi 95% seed 0, 10% of train held out" {
		t.Errorf("held-out key %+v %q", held, held.String())
	}
}

func TestLoadErrors(t *testing.T) {
	if _, err := Load("../testdata/nonexistent"); err == nil || !strings.Contains(err.Error(), "nonexistent") {
		t.Errorf("missing path: %v", err)
	}
	if _, err := Load(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no records.jsonl") {
		t.Errorf("empty experiment dir: %v", err)
	}
}
