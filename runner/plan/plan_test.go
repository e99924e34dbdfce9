package plan

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/cofiharness/cofi/record"
	"github.com/cofiharness/cofi/runner/config"
	"github.com/cofiharness/cofi/runner/digest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func noEnv(string) (string, bool) { return "", false }

func load(t *testing.T, src string) *config.Config {
	t.Helper()
	c, err := config.Parse("t.toml", []byte(src), config.Options{Dir: t.TempDir(), Getenv: noEnv})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func build(t *testing.T, c *config.Config, opt Options) *Plan {
	t.Helper()
	p, err := Build(c, opt)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func kinds(c *Cell) string {
	var ks []string
	for _, s := range c.Stages {
		ks = append(ks, s.Kind)
	}
	return strings.Join(ks, ",")
}

const fakeGrid = `
experiment = "t"
fake = true
[[grid]]
tasks = ["rte"]
methods = ["teacher", "cofi", "cofi-no-llayer", "cofi-no-distill", "tinybert4"]
sparsities = [0.6, 0.95]
seeds = [1, 2]
`

func TestChainsAndSharedTeacher(t *testing.T) {
	p := build(t, load(t, fakeGrid), Options{})
	want := map[string]string{
		"teacher": "teacher", "cofi": "teacher,prune,final,speed", "cofi-no-llayer": "teacher,prune,final,speed",
		"cofi-no-distill": "prune,final,speed", "tinybert4": "teacher,baseline,speed",
	}
	// teacher and tinybert4 have no sparsity: one cell per seed, not per sparsity.
	if len(p.Cells) != 2*(1+2+2+2+1) {
		t.Errorf("%d cells, want 16", len(p.Cells))
	}
	teachers := map[int64]string{}
	for _, c := range p.Cells {
		if got := kinds(c); got != want[c.Method] {
			t.Errorf("%s: chain %s, want %s", c.Label(), got, want[c.Method])
		}
		if c.ID != cellID(c.Stages) || len(c.ID) != IDLen {
			t.Errorf("%s: cell id %s is not the hash of its stages' ids", c.Label(), c.ID)
		}
		if c.Stages[0].Kind == record.KindTeacher {
			if id, ok := teachers[c.Seed]; ok && id != c.Stages[0].ID {
				t.Errorf("seed %d has two teachers", c.Seed)
			}
			teachers[c.Seed] = c.Stages[0].ID
		}
	}
	if len(teachers) != 2 || teachers[1] == teachers[2] {
		t.Errorf("teachers %v, want one per seed", teachers)
	}
	// One teacher per seed, shared by teacher, cofi, cofi-no-llayer (2 sparsities each) and tinybert4 cells.
	for _, s := range p.Stages {
		if s.Kind == record.KindTeacher && len(s.Cells) != 6 {
			t.Errorf("teacher %s used by %d cells, want 6", s.ID, len(s.Cells))
		}
		if s.Kind == record.KindTeacher && (s.Spec.Method != "teacher" || s.Identity.Method != "") {
			t.Errorf("teacher stage depends on the method: %+v", s.Identity)
		}
	}
	// Final stages read their prune stage and the teacher; speed times the
	// compact model of the prune stage (final fine-tuning keeps its shapes).
	for _, c := range p.Cells {
		if c.Method != "cofi" {
			continue
		}
		final := c.Stages[2]
		if final.Spec.Inputs["prune"] != c.Stages[1].Spec.Dir || final.Spec.Inputs["teacher"] != c.Stages[0].Spec.Dir {
			t.Errorf("final inputs %v", final.Spec.Inputs)
		}
		if c.Stages[1].Spec.Params["target_sparsity"] != c.Sparsity || c.Stages[1].Spec.Params["seed"] != int(c.Seed) {
			t.Errorf("prune params %v for %s", c.Stages[1].Spec.Params, c.Label())
		}
		if c.Stages[3].Spec.Kind != record.KindFake || c.Stages[3].Spec.Params["fake_kind"] != record.KindSpeed {
			t.Errorf("fake speed spec %+v", c.Stages[3].Spec)
		}
		if sp := c.Stages[3]; len(sp.Upstream) != 1 || sp.Upstream[0] != c.Stages[1] || sp.Spec.Inputs["prune"] != c.Stages[1].Spec.Dir {
			t.Errorf("speed of %s does not time the prune stage's model: inputs %v", c.Label(), sp.Spec.Inputs)
		}
	}
	// Dependency order: every upstream stage comes first.
	pos := map[*Stage]int{}
	for i, s := range p.Stages {
		pos[s] = i
		for _, u := range s.Upstream {
			if _, ok := pos[u]; !ok {
				t.Errorf("%s listed before its upstream %s", s.Name(), u.Name())
			}
		}
	}
}

// ids maps "<method> <sparsity> <kind>" to stage ids for the cofi cells of rte seed 1.
func ids(p *Plan) map[string]string {
	out := map[string]string{}
	for _, c := range p.Cells {
		if c.Seed != 1 || c.Task != "rte" {
			continue
		}
		for _, s := range c.Stages {
			out[fmt.Sprintf("%s %g %s", c.Method, c.Sparsity, s.Kind)] = s.ID
		}
	}
	return out
}

func TestIdentityInvalidatesExactlyDependents(t *testing.T) {
	base := ids(build(t, load(t, fakeGrid), Options{}))
	cases := []struct {
		name    string
		extra   string // appended to the grid
		opt     Options
		changed []string // kinds whose ids change in cofi 0.95 cells
	}{
		{"same config", "", Options{}, nil},
		{"results dir and threads", "", Options{Threads: 7}, nil},
		{"prune hyperparameter", "[grid.axes]\n\"prune.alpha_pred\" = [0.3]\n", Options{}, []string{"prune", "final", "speed"}},
		// The speed stage times the prune stage's compact model: a final-stage value leaves it alone.
		{"final hyperparameter", "[grid.axes]\n\"final.lr\" = [1e-4]\n", Options{}, []string{"final"}},
		{"speed hyperparameter", "[grid.axes]\n\"speed.batch\" = [64]\n", Options{}, []string{"speed"}},
		{"teacher hyperparameter", "[grid.axes]\n\"teacher.epochs\" = [3.0]\n", Options{}, []string{"teacher", "prune", "final", "speed"}},
		{"device", "", Options{Device: "cuda"}, []string{"speed"}},
		{"code without invalidate_on_commit", "", Options{Code: "abc"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := ids(build(t, load(t, fakeGrid+c.extra), c.opt))
			for _, k := range []string{"teacher", "prune", "final", "speed"} {
				key := "cofi 0.95 " + k
				changed := got[key] != base[key]
				want := false
				for _, w := range c.changed {
					want = want || w == k
				}
				if changed != want {
					t.Errorf("%s: id changed = %v, want %v", key, changed, want)
				}
			}
		})
	}
	// The other sparsity's prune stage is untouched by nothing but its own inputs.
	if base["cofi 0.6 prune"] == base["cofi 0.95 prune"] || base["cofi 0.6 teacher"] != base["cofi 0.95 teacher"] {
		t.Error("sparsity must key prune stages and not teachers")
	}
	// invalidate_on_commit puts the code version into every id.
	src := strings.Replace(fakeGrid, "fake = true", "fake = true\ninvalidate_on_commit = true", 1)
	a := ids(build(t, load(t, src), Options{Code: "abc"}))
	b := ids(build(t, load(t, src), Options{Code: "def"}))
	for k := range a {
		if a[k] == b[k] || a[k] == base[k] {
			t.Errorf("%s: id does not depend on the commit", k)
		}
	}
	if _, err := Build(load(t, src), Options{}); err == nil {
		t.Error("invalidate_on_commit without a code version accepted")
	}
}

// writeFixtures creates GLUE RTE and MRPC TSVs and a model directory.
func writeFixtures(t *testing.T) (glue, model string) {
	t.Helper()
	root := t.TempDir()
	glue = filepath.Join(root, "glue")
	for _, d := range []string{"RTE", "MRPC"} {
		for _, f := range []string{"train.tsv", "dev.tsv"} {
			write(t, filepath.Join(glue, d, f), "index\tsentence1\tsentence2\tlabel\n0\ta\tb\tentailment\n")
		}
	}
	write(t, filepath.Join(glue, "RTE", "notes.txt"), "not read by the task")
	model = filepath.Join(root, "bert")
	write(t, filepath.Join(model, "config.json"), `{"hidden_size": 768}`)
	write(t, filepath.Join(model, "vocab.txt"), "[PAD]\n")
	write(t, filepath.Join(model, "model.safetensors"), "weights")
	return glue, model
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func realConfig(glue, model string) string {
	return fmt.Sprintf(`
experiment = "real"
[paths]
glue = %q
model = %q
[[grid]]
tasks = ["rte", "mrpc"]
methods = ["cofi"]
sparsities = [0.95]
seeds = [1]
`, glue, model)
}

func TestDataAndModelDigests(t *testing.T) {
	glue, model := writeFixtures(t)
	cache := digest.Open("")
	stageIDs := func() map[string]string {
		p := build(t, load(t, realConfig(glue, model)), Options{Digests: cache})
		if len(p.Missing) > 0 {
			t.Fatalf("missing %v", p.Missing)
		}
		out := map[string]string{}
		for _, s := range p.Stages {
			out[s.Spec.Task+" "+s.Kind] = s.ID
			if s.Spec.Inputs["data"] != filepath.Join(glue, strings.ToUpper(s.Spec.Task)) {
				t.Errorf("data input %s", s.Spec.Inputs["data"])
			}
		}
		return out
	}
	base := stageIDs()
	// A file the task does not read changes nothing.
	write(t, filepath.Join(glue, "RTE", "notes.txt"), "edited")
	if got := stageIDs(); fmt.Sprint(got) != fmt.Sprint(base) {
		t.Error("an unrelated file changed stage ids")
	}
	// RTE's dev set changes every RTE stage and no MRPC stage.
	write(t, filepath.Join(glue, "RTE", "dev.tsv"), "index\tsentence1\tsentence2\tlabel\n0\ta\tc\tentailment\n")
	got := stageIDs()
	for k := range base {
		if changed := got[k] != base[k]; changed != strings.HasPrefix(k, "rte") {
			t.Errorf("%s: changed = %v after editing RTE/dev.tsv", k, changed)
		}
	}
	// The model changes every stage.
	write(t, filepath.Join(model, "model.safetensors"), "other weights")
	for k, v := range stageIDs() {
		if v == got[k] {
			t.Errorf("%s: unchanged after the model changed", k)
		}
	}
}

func TestMissingInputs(t *testing.T) {
	dir := t.TempDir()
	p := build(t, load(t, realConfig(filepath.Join(dir, "noglue"), filepath.Join(dir, "nobert"))), Options{})
	if len(p.Missing) != 3 { // RTE, MRPC, the model
		t.Fatalf("missing = %v", p.Missing)
	}
	msg := p.Missing[0].String()
	for _, frag := range []string{"GLUE data for RTE", filepath.Join(dir, "noglue", "RTE", "{train.tsv,dev.tsv}"), "rte/{train,validation}*.parquet", "set GLUE_DIR or paths.glue", "t.toml:4:1"} {
		if !strings.Contains(msg, frag) {
			t.Errorf("message %q lacks %q", msg, frag)
		}
	}
	if !strings.Contains(p.Missing[1].String(), "BERT_DIR") {
		t.Errorf("model message %q", p.Missing[1])
	}
	for _, s := range p.Stages {
		if !s.MissingInput || s.Identity.Data != "missing" {
			t.Errorf("%s: missing input not marked", s.Name())
		}
	}
	// Fake mode plans without data.
	fp := build(t, load(t, strings.Replace(realConfig(filepath.Join(dir, "noglue"), filepath.Join(dir, "nobert")), `experiment = "real"`, "experiment = \"real\"\nfake = true", 1)), Options{})
	if len(fp.Missing) != 0 || fp.Stages[0].MissingInput {
		t.Errorf("fake plan has missing inputs: %v", fp.Missing)
	}
}

func TestParquetAndSQuADLayouts(t *testing.T) {
	root := t.TempDir()
	p := config.Paths{GLUE: config.Path{Path: filepath.Join(root, "glue")}, SQuAD: config.Path{Path: filepath.Join(root, "squad")}}
	write(t, filepath.Join(root, "glue", "mnli", "train-00000-of-00001.parquet"), "x")
	write(t, filepath.Join(root, "glue", "mnli", "validation_matched-00000-of-00001.parquet"), "x")
	write(t, filepath.Join(root, "glue", "mnli", "validation_mismatched", "0000.parquet"), "x")
	write(t, filepath.Join(root, "squad", "train-v1.1.json"), "{}")
	write(t, filepath.Join(root, "squad", "dev-v1.1.json"), "{}")
	cases := []struct {
		task, dir string
		files     []string
	}{
		{"mnli", filepath.Join(root, "glue", "mnli"), []string{"train-00000-of-00001.parquet", "validation_matched-00000-of-00001.parquet", "validation_mismatched/0000.parquet"}},
		{"squad", filepath.Join(root, "squad"), []string{"train-v1.1.json", "dev-v1.1.json"}},
		{"qnli", "", nil},
	}
	for _, c := range cases {
		dir, files, _, _ := dataFiles(mustTask(c.task), p)
		sort.Strings(files)
		sort.Strings(c.files)
		if dir != c.dir || strings.Join(files, " ") != strings.Join(c.files, " ") {
			t.Errorf("%s: %s %v, want %s %v", c.task, dir, files, c.dir, c.files)
		}
	}
}

func TestIncludeExclude(t *testing.T) {
	p := build(t, load(t, `
experiment = "t"
fake = true
[[grid]]
tasks = ["rte", "squad"]
methods = ["cofi"]
sparsities = [0.6, 0.95]
[grid.axes]
"prune.alpha_pred" = [0.1, 0.3]
[[grid.exclude]]
task = "squad"
sparsity = 0.95
[[grid.exclude]]
task = "rte"
"prune.alpha_pred" = 0.3
[[grid.include]]
task = "squad"
sparsity = 0.924
"prune.alpha_pred" = 0.1
`), Options{})
	var got []string
	for _, c := range p.Cells {
		got = append(got, fmt.Sprintf("%s/%g/%v", c.Task, c.Sparsity, c.Params["prune.alpha_pred"]))
	}
	want := "rte/0.6/0.1 rte/0.95/0.1 squad/0.6/0.1 squad/0.6/0.3 squad/0.924/0.1"
	if strings.Join(got, " ") != want {
		t.Errorf("cells\n got %s\nwant %s", strings.Join(got, " "), want)
	}
}

func TestFilter(t *testing.T) {
	p := build(t, load(t, fakeGrid), Options{})
	count := func(f string) int {
		flt, err := ParseFilter(f)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		n := 0
		for _, s := range p.Stages {
			if flt.Match(s) {
				n++
			}
		}
		return n
	}
	teacher := p.Cells[0].Stages[0]
	cases := map[string]int{
		"all": len(p.Stages), "kind=teacher": 2, "kind=teacher,seed=1": 1, "method=cofi": 2 * 2 * 3,
		"method=cofi|cofi-no-distill,kind=prune": 2 * 2 * 2, "sparsity=0.6,kind=final": 2 * 3, teacher.ID[:8]: 1,
		teacher.Name()[:14]: 1, "cell=" + p.Cells[2].ID: 4, "task=mrpc": 0, "grid=grid1": len(p.Stages),
	}
	for f, want := range cases {
		if got := count(f); got != want {
			t.Errorf("%q matches %d stages, want %d", f, got, want)
		}
	}
	for _, bad := range []string{"", "colour=red", "seed=x", "task="} {
		if _, err := ParseFilter(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	f, _ := ParseFilter("task=mrpc")
	if _, err := p.Select([]*Filter{f}); err == nil {
		t.Error("a filter matching nothing is not an error")
	}
	prune := p.Cells[2].Stages[1]
	if d := p.Downstream([]*Stage{prune}); len(d) != 3 || d[0] != prune {
		t.Errorf("downstream of prune: %d stages", len(d))
	}
	if u := p.Upstream([]*Stage{p.Cells[2].Stages[3]}); len(u) != 3 { // speed, prune, teacher
		t.Errorf("upstream of speed: %d stages", len(u))
	}
}

// TestGoldenPlan pins stage ids: a change of what identities hash must be
// deliberate (bump IdentityScheme) and show up here. Regenerate with -update.
func TestGoldenPlan(t *testing.T) {
	c, err := config.Load("testdata/golden.toml", config.Options{Dir: "/", Getenv: noEnv})
	if err != nil {
		t.Fatal(err)
	}
	p := build(t, c, Options{Device: "cpu", Threads: 1})
	var b strings.Builder
	for _, s := range p.Stages {
		var up []string
		for _, u := range s.Upstream {
			up = append(up, u.Name())
		}
		fmt.Fprintf(&b, "%s %s %s %g %d cells=%d up=[%s]\n", s.Name(), s.Spec.Task, s.Spec.Method, s.Spec.Sparsity, s.Spec.Seed, len(s.Cells), strings.Join(up, " "))
	}
	for _, cl := range p.Cells {
		fmt.Fprintf(&b, "cell %s %s\n", cl.ID, cl.Label())
	}
	golden := filepath.Join("testdata", "plan.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if b.String() != string(want) {
		t.Errorf("plan differs from %s (run with -update if the change is deliberate):\n%s", golden, b.String())
	}
}

func TestExampleConfigsPlanWithoutData(t *testing.T) {
	files, _ := filepath.Glob("../../configs/*.toml")
	if len(files) == 0 {
		t.Fatal("no configs")
	}
	for _, f := range files {
		c, err := config.Load(f, config.Options{Dir: t.TempDir(), Getenv: noEnv})
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		p, err := Build(c, Options{Code: "test"})
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if len(p.Cells) == 0 || len(p.Stages) == 0 {
			t.Errorf("%s: empty plan", f)
		}
		if !c.Fake && len(p.Missing) == 0 {
			t.Errorf("%s: no missing inputs reported without data", f)
		}
	}
}
