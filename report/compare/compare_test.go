package compare

import (
	"bytes"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cofiharness/cofi/record"
	"github.com/cofiharness/cofi/report/runs"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (go test -update creates it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from golden (go test -update rewrites it):\n%s", p, got)
	}
}

func load(t *testing.T, exp string) *runs.Set {
	t.Helper()
	s, err := runs.Load(filepath.Join("..", "testdata", exp))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func find(t *testing.T, res *Result, cell, metric string) Row {
	t.Helper()
	for _, r := range res.Rows {
		if r.Cell.String() == cell && r.Metric == metric {
			return r
		}
	}
	t.Fatalf("no row %s %s", cell, metric)
	return Row{}
}

// TestPlantedNonRegression: a score 0.2 lower, a latency 3 % higher and a
// score 1.0 higher all stay within the default tolerances (or improve).
func TestPlantedNonRegression(t *testing.T) {
	res := Compare(load(t, "sweep"), load(t, "compare-ok"), Options{})
	if res.Regressions != 0 {
		var b bytes.Buffer
		res.WriteText(&b)
		t.Fatalf("%d regressions:\n%s", res.Regressions, b.String())
	}
	if r := find(t, res, "mnli cofi 95% seed 57", "mnli-m/acc"); r.Verdict != Same || math.Abs(*r.Delta+0.2) > 1e-9 {
		t.Errorf("mnli score row %+v", r)
	}
	if r := find(t, res, "mnli cofi 95% seed 57", latencyMetric); r.Verdict != Same || math.Abs(*r.DeltaRel-0.03) > 0.002 || r.P == nil {
		t.Errorf("latency row %+v", r)
	}
	if r := find(t, res, "sst2 cofi 60% seed 57", "sst2/acc"); r.Verdict != Better {
		t.Errorf("improvement row %+v", r)
	}
	if !strings.HasPrefix(res.Summary(), "ok: 0 regression(s)") {
		t.Errorf("summary %q", res.Summary())
	}
	var b bytes.Buffer
	if err := res.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	golden(t, "ok.txt", b.Bytes())
}

// TestPlantedRegression: a 1.5-point score drop, a 12 % slower model, a run
// that now fails, a sparsity that misses its target, a missing cell.
func TestPlantedRegression(t *testing.T) {
	res := Compare(load(t, "sweep"), load(t, "compare-regressed"), Options{})
	for _, c := range []struct {
		cell, metric string
		verdict      Verdict
		note         string
	}{
		{"mnli cofi 95% seed 57", "mnli-m/acc", Regression, ""},
		{"mnli cofi 95% seed 57", "mnli-mm/acc", Same, ""},
		{"sst2 cofi 90% seed 57", speedupKey, Regression, ""},
		{"sst2 cofi 90% seed 57", latencyMetric, Regression, ""},
		{"sst2 cofi 95% seed 57", statusMetric, Regression, "final stage failed (oom)"},
		{"sst2 cofi 80% seed 57", sparsityKey, Regression, ""},
		{"sst2 cofi 70% seed 57", sparsityKey, Same, ""},
	} {
		r := find(t, res, c.cell, c.metric)
		if r.Verdict != c.verdict || !strings.Contains(r.Note, c.note) {
			t.Errorf("%s %s: %s %q, want %s %q", c.cell, c.metric, r.Verdict, r.Note, c.verdict, c.note)
		}
	}
	if len(res.OnlyBaseline) != 1 || res.OnlyBaseline[0].String() != "mnli cofi 60% seed 57" {
		t.Errorf("only baseline %v", res.OnlyBaseline)
	}
	if len(res.OnlyCurrent) != 1 || res.OnlyCurrent[0].String() != "qnli cofi 95% seed 58" {
		t.Errorf("only current %v", res.OnlyCurrent)
	}
	// 5 regressed rows + 1 missing cell.
	if res.Regressions != 6 {
		t.Errorf("regressions %d, want 6", res.Regressions)
	}
	if allowed := Compare(load(t, "sweep"), load(t, "compare-regressed"), Options{AllowMissing: true}); allowed.Regressions != 5 {
		t.Errorf("with missing cells allowed: %d, want 5", allowed.Regressions)
	}
	var txt, js bytes.Buffer
	if err := res.WriteText(&txt); err != nil {
		t.Fatal(err)
	}
	golden(t, "regressed.txt", txt.Bytes())
	if err := res.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	golden(t, "regressed.json", js.Bytes())
}

// TestTolerancesDecide: the same change is a regression or not depending on
// the tolerance asked for.
func TestTolerancesDecide(t *testing.T) {
	base, cur := load(t, "sweep"), load(t, "compare-regressed")
	loose, err := ParseTolerances("metric=abs:2,latency=rel:15%,speedup=rel:0.15,sparsity=abs:0.05")
	if err != nil {
		t.Fatal(err)
	}
	res := Compare(base, cur, Options{Tolerances: loose, AllowMissing: true})
	if res.Regressions != 1 { // only the failed run is left
		var b bytes.Buffer
		res.WriteText(&b)
		t.Errorf("regressions %d, want 1:\n%s", res.Regressions, b.String())
	}
	exact, _ := ParseTolerances("mnli-m/acc=abs:1.6")
	if r := find(t, Compare(base, cur, Options{Tolerances: exact}), "mnli cofi 95% seed 57", "mnli-m/acc"); r.Verdict != Same {
		t.Errorf("an exact key overrides its class: %+v", r)
	}
}

func TestParseTolerances(t *testing.T) {
	ts, err := ParseTolerances(" metric=abs:0.3 , latency=rel:10%,mnli-m/acc=rel:0.01")
	if err != nil {
		t.Fatal(err)
	}
	if ts[ClassScore] != (Tolerance{Abs: 0.3}) || ts[ClassLatency] != (Tolerance{Rel: 0.1}) || ts["mnli-m/acc"] != (Tolerance{Rel: 0.01}) || ts[ClassSpeedup] != (Tolerance{Rel: 0.05}) {
		t.Errorf("parsed %v", ts)
	}
	if got := ts.String(); got != "latency=rel:10%,mnli-m/acc=rel:1%,score=abs:0.3,sparsity=abs:0.005,speedup=rel:5%" {
		t.Errorf("String %q", got)
	}
	for _, bad := range []string{"metric", "acc=abs:1", "latency=rel:-5%", "latency=pct:5", "metric=abs:5%", "speedup=rel:x"} {
		if _, err := ParseTolerances(bad); err == nil || !strings.Contains(err.Error(), "tolerance:") {
			t.Errorf("%q: err %v", bad, err)
		}
	}
}

func TestJudgeBoundaries(t *testing.T) {
	for _, c := range []struct {
		better    Direction
		base, cur float64
		target    float64
		tol       Tolerance
		want      Verdict
	}{
		{Higher, 80, 79.5, 0, Tolerance{Abs: 0.5}, Same}, // exactly at the tolerance
		{Higher, 80, 79.49, 0, Tolerance{Abs: 0.5}, Regression},
		{Higher, 80, 80.6, 0, Tolerance{Abs: 0.5}, Better},
		{Lower, 100, 105, 0, Tolerance{Rel: 0.05}, Same},
		{Lower, 100, 105.1, 0, Tolerance{Rel: 0.05}, Regression},
		{Lower, 100, 90, 0, Tolerance{Rel: 0.05}, Better},
		{CloserTarget, 0.951, 0.949, 0.95, Tolerance{Abs: 0.005}, Same},       // as far, other side
		{CloserTarget, 0.950, 0.940, 0.95, Tolerance{Abs: 0.005}, Regression}, // 1 point further
		{CloserTarget, 0.940, 0.950, 0.95, Tolerance{Abs: 0.005}, Better},
	} {
		r := Row{Better: c.better, Baseline: summary(c.base), Current: summary(c.cur), Target: ptr(c.target)}
		judge(&r, c.tol)
		if r.Verdict != c.want {
			t.Errorf("%s %v -> %v (target %v, %v): %s, want %s", c.better, c.base, c.cur, c.target, c.tol, r.Verdict, c.want)
		}
	}
}

func TestDeviceChangeIsNotALatencyRegression(t *testing.T) {
	base := load(t, "sweep")
	recs, _, err := record.ReadFile("../testdata/sweep/records.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	for i := range recs {
		if l := recs[i].Result; l != nil && l.Latency != nil {
			cp := *l.Latency
			cp.Device = "cuda: NVIDIA A100-SXM4-40GB"
			cp.RoundsMS = []float64{cp.MeanMS * 2}
			cp.MeanMS *= 2
			res := *recs[i].Result
			res.Latency = &cp
			recs[i].Result = &res
		}
	}
	res := Compare(base, runs.FromRecords("a100", recs), Options{})
	r := find(t, res, "mnli cofi 95% seed 57", latencyMetric)
	if r.Verdict != Info || !strings.Contains(r.Note, "device changed") {
		t.Errorf("latency row %+v", r)
	}
	if res.Regressions != 0 {
		t.Errorf("regressions %d", res.Regressions)
	}
}

// TestHistory: the first night of the current run outside the band is named;
// a metric that dipped and came back is within its band now.
func TestHistory(t *testing.T) {
	base, err := runs.Load("../testdata/nightly-baseline")
	if err != nil {
		t.Fatal(err)
	}
	cur, err := runs.Load("../testdata/nightly")
	if err != nil {
		t.Fatal(err)
	}
	if len(cur.Nights) != 4 || cur.Nights[2].Label() != "2025-04-03 ccccccc" {
		t.Fatalf("nights %d", len(cur.Nights))
	}
	trends := History(base, cur.Nights, Options{})
	find := func(cell, metric string) Trend {
		for _, tr := range trends {
			if tr.Cell.String() == cell && tr.Metric == metric {
				return tr
			}
		}
		t.Fatalf("no trend %s %s", cell, metric)
		return Trend{}
	}
	if tr := find("rte cofi 95% seed 57", "rte/acc"); tr.LeftLabel != "2025-04-03 ccccccc" || !tr.Points[3].Outside || tr.Points[1].Outside {
		t.Errorf("rte cofi: left %q, points %+v", tr.LeftLabel, tr.Points)
	}
	if tr := find("mrpc cofi 95% seed 57", "mrpc/acc"); tr.Left != nil || !tr.Points[1].Outside {
		t.Errorf("mrpc cofi recovered: left %q, points %+v", tr.LeftLabel, tr.Points)
	}
	if tr := find("rte teacher seed 57", "rte/acc"); tr.Left != nil {
		t.Errorf("rte teacher: left %q", tr.LeftLabel)
	}
	if lo, hi := find("rte cofi 95% seed 57", "rte/acc").Band(); lo != 64.2 || hi != 65.2 {
		t.Errorf("band %v..%v", lo, hi)
	}
	res := Compare(base, cur, Options{})
	res.Annotate(trends)
	named := false
	for _, r := range res.Rows {
		if r.Verdict == Regression && r.Metric == "rte/acc" && r.Cell.Method == "cofi" {
			named = r.Since == "2025-04-03 ccccccc" && strings.Contains(r.Note, "since 2025-04-03 ccccccc")
		}
	}
	if !named {
		t.Errorf("the regression does not name its first night: %+v", res.Rows)
	}
}
