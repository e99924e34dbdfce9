package runner

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cofiharness/cofi/runner/plan"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func golden(t *testing.T, name, got string) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(p, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("%s differs (regenerate with -update if deliberate):\n%s", p, got)
	}
}

// TestPlanTable renders the plan of a partly failed experiment: done,
// failed, blocked and forced stages, the cells and the summary.
func TestPlanTable(t *testing.T) {
	e := newEnv(t, small+`
[[fake_stage.rule]]
match = { kind = "prune", sparsity = 0.95 }
fail = "nan"
`)
	if _, _, err := e.run(Selection{}, nil); err != nil {
		t.Fatal(err)
	}
	p := e.plan()
	force, _ := plan.ParseFilter("kind=prune,sparsity=0.6")
	sts, err := Statuses(p, mustIndex(t, p), Selection{Force: []*plan.Filter{force}})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := WritePlan(&b, p, sts); err != nil {
		t.Fatal(err)
	}
	golden(t, "plan.golden", b.String())

	var s bytes.Buffer
	WriteStatus(&s, p, sts, mustIndex(t, p), 2, time.Now())
	out := strings.ReplaceAll(s.String(), e.dir, "$DIR")
	for _, want := range []string{"runner: not running", "7 stages: 4 done, 1 failed, 2 blocked; 2/3 cells complete",
		"records: 5 attempts (4 ok, 1 failed, 0 interrupted)", "not done:", "failed: nan: fake stage: step loss is NaN",
		"log: stages/prune-", "blocked: blocked by prune-"} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
}
