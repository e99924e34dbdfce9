package config

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func parse(t *testing.T, src string, env map[string]string) (*Config, error) {
	t.Helper()
	return Parse("x.toml", []byte(src), Options{Dir: "/work", Getenv: func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	}})
}

const minimal = `
experiment = "e"
[[grid]]
tasks = ["rte"]
methods = ["teacher"]
`

func TestParseFull(t *testing.T) {
	src := `
experiment = "full"
fake = true
invalidate_on_commit = true
[paths]
results = "out"
glue = "/data/glue"
model = "builtin:tiny"
[executor]
workers = 3
gpus = [0, 2]
threads = 4
timeout = "90m"
kill_grace = 30
retry = ["oom", "signal"]
max_attempts = 3
[profiles.quick.prune]
epochs = 10
[profiles.quick.tasks.SST-2.final]
lr = 1e-4
[fake_stage]
steps = 7
[[fake_stage.rule]]
match = { kind = "prune", task = "mrpc", sparsity = 0.95 }
fail = "nan"
[[grid]]
name = "g"
tasks = ["RTE", "sst-2"]
methods = ["cofi", "teacher"]
sparsities = [0.95, 0.6]
seeds = [1, 2]
profile = "quick"
[grid.axes]
"prune.alpha_pred" = [0.1, 0.3]
[[grid.exclude]]
task = "rte"
"prune.alpha_pred" = 0.3
[[grid.include]]
task = "squad"
sparsity = 0.924
`
	c, err := parse(t, src, map[string]string{"GLUE_DIR": "rel/glue"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Experiment != "full" || !c.Fake || !c.InvalidateOnCommit {
		t.Errorf("top level: %+v", c)
	}
	if c.Paths.Results.Path != "/work/out" || c.Paths.Results.Source != "x.toml:6:1" {
		t.Errorf("results path %+v", c.Paths.Results)
	}
	wd, _ := os.Getwd() // a relative path from the environment is the shell's
	if c.Paths.GLUE.Path != filepath.Join(wd, "rel/glue") || c.Paths.GLUE.Source != "GLUE_DIR" {
		t.Errorf("env override: %+v", c.Paths.GLUE)
	}
	if !c.Paths.Model.Builtin() || c.Paths.SQuAD.Path != "/work/data/squad" {
		t.Errorf("paths %+v", c.Paths)
	}
	e := c.Executor
	if e.Workers != 3 || strings.Join(e.GPUs, ",") != "0,2" || e.GPUsAuto || e.Threads != 4 || e.Timeout != 90*time.Minute ||
		e.KillGrace != 30*time.Second || strings.Join(e.Retry, ",") != "oom,signal" || e.MaxAttempts != 3 {
		t.Errorf("executor %+v", e)
	}
	q := c.Profiles["quick"]
	if q.Kinds["prune"]["epochs"] != 10.0 || q.Tasks["sst2"]["final"]["lr"] != 1e-4 {
		t.Errorf("profile %+v", q)
	}
	if got := q.Overrides("prune", "sst2"); got["epochs"] != 10.0 {
		t.Errorf("overrides %v", got)
	}
	if _, ok := c.Profiles[DefaultProfile]; !ok {
		t.Error("no built-in profile")
	}
	if c.FakeStage.Steps != 7 || len(c.FakeStage.Rules) != 1 || *c.FakeStage.Rules[0].Fail != "nan" || c.FakeStage.Rules[0].Task != "mrpc" {
		t.Errorf("fake %+v", c.FakeStage)
	}
	g := c.Grids[0]
	if strings.Join(g.Tasks, ",") != "rte,sst2" || len(g.Sparsities) != 2 || len(g.Seeds) != 2 || g.Profile != "quick" {
		t.Errorf("grid %+v", g)
	}
	if len(g.Axes) != 1 || g.Axes[0].Kind != "prune" || g.Axes[0].Name != "alpha_pred" || len(g.Axes[0].Values) != 2 {
		t.Errorf("axes %+v", g.Axes)
	}
	if len(g.Exclude) != 1 || *g.Exclude[0].Task != "rte" || g.Exclude[0].Params["prune.alpha_pred"] != 0.3 {
		t.Errorf("exclude %+v", g.Exclude)
	}
	if len(g.Include) != 1 || *g.Include[0].Task != "squad" || *g.Include[0].Sparsity != 0.924 {
		t.Errorf("include %+v", g.Include)
	}
}

func TestParseDefaults(t *testing.T) {
	c, err := parse(t, minimal, nil)
	if err != nil {
		t.Fatal(err)
	}
	e := c.Executor
	if e.Kind != "local" || !e.GPUsAuto || e.MaxAttempts != 2 || strings.Join(e.Retry, ",") != "signal" || e.KillGrace != 2*time.Minute {
		t.Errorf("executor defaults %+v", e)
	}
	g := c.Grids[0]
	if g.Name != "grid1" || g.Profile != DefaultProfile || len(g.Seeds) != 1 || g.Seeds[0] != DefaultSeed {
		t.Errorf("grid defaults %+v", g)
	}
	if c.Paths.Results.Path != "/work/results" || c.Paths.SyntheticModel.Path != "builtin:tiny" {
		t.Errorf("path defaults %+v", c.Paths)
	}
}

// Each case's problems, in order, as "line:col key: message fragment".
func TestParseProblems(t *testing.T) {
	cases := []struct {
		name, src string
		want      []string
	}{
		{"syntax", "experiment = \"e\"\nx = [1,\n", []string{"2:8 : invalid TOML"}},
		{"missing", "description = \"d\"\n", []string{"0:0 experiment: missing", "0:0 grid: missing"}},
		{"unknown top key", "colour = 1\n" + minimal, []string{"1:1 colour: unknown key at the top level"}},
		{"bad name", strings.Replace(minimal, `"e"`, `"a b"`, 1), []string{"2:1 experiment: \"a b\" is not a valid name"}},
		{"executor types", minimal + "[executor]\nworkers = \"two\"\nkind = \"pbs\"\ntimeout = \"soon\"\nretry = [\"interrupted\"]\nmax_attempts = 0\nbogus = 1\n",
			[]string{"7:1 executor.workers: want a non-negative integer", "8:1 executor.kind: unknown executor \"pbs\"",
				"9:1 executor.timeout: want a duration", "10:10 executor.retry[0]: string \"interrupted\" is not a failure class",
				"11:1 executor.max_attempts: want at least 1", "12:1 executor.bogus: unknown key in [executor]"}},
		{"grid values", `experiment = "e"
[[grid]]
tasks = ["rte", "glue9"]
methods = ["cofi", "magic"]
sparsities = [0.95, 1.5]
seeds = [-1]
profile = "nope"
`, []string{"3:17 grid[0].tasks[1]: unknown task \"glue9\"", "4:20 grid[0].methods[1]: unknown method \"magic\"",
			"5:21 grid[0].sparsities[1]: sparsity 1.5 out of range", "6:10 grid[0].seeds[0]: want a non-negative integer seed",
			"7:1 grid[0].profile: unknown profile \"nope\""}},
		{"cofi needs sparsity", "experiment = \"e\"\n[[grid]]\ntasks = [\"rte\"]\nmethods = [\"cofi\"]\n",
			[]string{"2:1 grid[0]: sparsities: CoFi methods need"}},
		{"second grid", minimal + "[[grid]]\ntasks = [\"rte\"]\nmethods = [\"teacher\"]\ncolor = 2\n",
			[]string{"9:1 grid[1].color: unknown key in [grid[1]]"}},
		{"axes", minimal + "[grid.axes]\n\"prune.alpha\" = [1]\n\"bake.x\" = [1]\n\"final.lr\" = [\"fast\"]\n\"prune.seed\" = [1]\n\"teacher.epochs\" = 3\n",
			[]string{"7:18 grid[0].axes.\"prune.alpha\"[0]: unknown hyperparameter \"alpha\"", "8:1 grid[0].axes.\"bake.x\": an axis key is",
				"9:15 grid[0].axes.\"final.lr\"[0]: hyperparameter \"lr\": want a number", "10:17 grid[0].axes.\"prune.seed\"[0]: seeds are set",
				"11:1 grid[0].axes.\"teacher.epochs\": want a non-empty array"}},
		{"data axis", minimal + "[grid.axes]\ndata = [\"original\", \"augmentd\"]\n[[grid.exclude]]\ndata = 3\n",
			[]string{"7:21 grid[0].axes.data[1]: want \"original\" (the task's train split) or \"augmented\"", "9:1 grid[0].exclude[0].data: want \"original\""}},
		{"include exclude", minimal + "[[grid.exclude]]\ncolour = \"x\"\n[[grid.include]]\ntask = \"nope\"\n[[grid.include]]\n",
			[]string{"7:1 grid[0].exclude[0].colour: unknown field", "9:1 grid[0].include[0].task: unknown task",
				"10:1 grid[0].include[1]: an include/exclude rule needs at least one field"}},
		{"profiles", minimal + "[profiles.authors.prune]\nlr = 1.0\n[profiles.p]\ntrain = {lr = 1}\n[profiles.p.prune]\nlr = \"x\"\ntarget_sparsity = 0.5\n[profiles.p.tasks.zzz.prune]\nlr = 1.0\n",
			[]string{"6:1 profiles.authors: the profile \"authors\" is built in", "9:1 profiles.p.train: unknown key in a profile",
				"11:1 profiles.p.prune.lr: hyperparameter \"lr\": want a number", "12:1 profiles.p.prune.target_sparsity: the target sparsity is set",
				"13:1 profiles.p.tasks.zzz: unknown task \"zzz\""}},
		{"fake stage without fake", minimal + "[fake_stage]\nfail = \"boom\"\n[[fake_stage.rule]]\nfail = \"nan\"\n",
			[]string{"6:1 fake_stage: only meaningful with fake = true", "7:1 fake_stage.fail: unknown failure mode \"boom\"",
				"8:1 fake_stage.rule[0]: a rule needs match"}},
		{"paths", minimal + "[paths]\nresults = \"builtin:x\"\nglue = 3\nsquad = \"\"\n",
			[]string{"7:1 paths.results: \"builtin:x\": only models can be builtin", "8:1 paths.glue: want a string", "9:1 paths.squad: empty path"}},
		{"wrong shapes", "experiment = 3\ngrid = 5\n", []string{"1:1 experiment: want a string", "2:1 grid: want an array"}},
		{"empty grid", "experiment = \"e\"\ngrid = []\n", []string{"2:1 grid: empty"}},
		{"values out of range", minimal + "[profiles.p.teacher]\nlr = nan\nepochs = inf\nwarmup_frac = 1.5\nbatch = 0\n[profiles.p.prune]\nlayer_presence = \"relased\"\n[profiles.p.final]\nlr = -1e-5\n",
			[]string{"7:1 profiles.p.teacher.lr: hyperparameter \"lr\": NaN is not a finite number", "8:1 profiles.p.teacher.epochs: hyperparameter \"epochs\": +Inf is not a finite number",
				"9:1 profiles.p.teacher.warmup_frac: hyperparameter \"warmup_frac\": 1.5 is out of range: want a number in [0, 1]",
				"10:1 profiles.p.teacher.batch: hyperparameter \"batch\": 0 is out of range: want an integer >= 1",
				"12:1 profiles.p.prune.layer_presence: hyperparameter \"layer_presence\": relased is out of range: want one of paper, released",
				"14:1 profiles.p.final.lr: hyperparameter \"lr\": -1e-05 is out of range: want a number > 0"}},
		{"unknown builtin", minimal + "[paths]\nmodel = \"builtin:huge\"\n", []string{"7:1 paths.model: \"builtin:huge\": unknown builtin model \"huge\" (builtin models: tiny, base)"}},
		{"axis out of range", minimal + "[grid.axes]\n\"final.lr\" = [1e-5, 0.0]\n", []string{"7:21 grid[0].axes.\"final.lr\"[1]: hyperparameter \"lr\": 0 is out of range"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := parse(t, c.src, nil)
			var ps Problems
			if !errors.As(err, &ps) {
				t.Fatalf("err = %v, want Problems", err)
			}
			if len(ps) != len(c.want) {
				t.Fatalf("got %d problems, want %d:\n%v", len(ps), len(c.want), err)
			}
			for i, p := range ps {
				got := strings.TrimSpace(strings.Join([]string{strconv.Itoa(p.Pos.Line) + ":" + strconv.Itoa(p.Pos.Col), p.Key + ":", p.Msg}, " "))
				if !strings.HasPrefix(got, c.want[i]) {
					t.Errorf("problem %d:\n got %s\nwant %s...", i, got, c.want[i])
				}
				if !strings.HasPrefix(p.String(), "x.toml") {
					t.Errorf("problem does not name the file: %s", p)
				}
			}
		})
	}
}

func TestLocate(t *testing.T) {
	src := `# comment
a = 1
[t]
"quoted.key" = { x = [1, {y = 2}], 'z' = """multi
line""" }
[[arr]]
k = 'v'
[[arr]]
k = "w" # comment ]
[arr.sub]
m = [
  "p",   # c
  "q",
]
`
	pos := locate([]byte(src))
	want := map[string]Pos{
		"a": {2, 1}, "t": {3, 1}, `t."quoted.key"`: {4, 1}, `t."quoted.key".x`: {4, 18}, `t."quoted.key".x[1].y`: {4, 27},
		`t."quoted.key".z`: {4, 36}, "arr[0]": {6, 1}, "arr[0].k": {7, 1}, "arr[1].k": {9, 1}, "arr[1].sub": {10, 1},
		"arr[1].sub.m[1]": {13, 3},
	}
	for k, w := range want {
		if got, ok := pos[k]; !ok || got != w {
			t.Errorf("%s at %v (found %v), want %v", k, got, ok, w)
		}
	}
}

// TestPathsResolveAgainstTheConfigFile: the same config loaded from two
// working directories names the same paths, those of the file's directory;
// the repository's configs put results/ and data/ at the repository root.
func TestPathsResolveAgainstTheConfigFile(t *testing.T) {
	noEnv := func(string) (string, bool) { return "", false }
	root, _ := filepath.Abs("../..")
	files, _ := filepath.Glob("../../configs/*.toml")
	for _, f := range files {
		c, err := Load(f, Options{Getenv: noEnv})
		if err != nil {
			t.Fatal(err)
		}
		if c.Paths.Results.Source == "default" {
			t.Errorf("%s: no [paths] results: write it, relative to configs/", f)
		}
		for _, p := range []Path{c.Paths.Results, c.Paths.GLUE, c.Paths.SQuAD, c.Paths.Synthetic, c.Paths.Model} {
			if p.Source == "default" || p.Builtin() {
				continue // not written: a path this config does not use
			}
			if !strings.HasPrefix(p.Path, root+string(filepath.Separator)) || strings.HasPrefix(p.Path, filepath.Join(root, "configs")) {
				t.Errorf("%s: %s resolves to %s, outside the repository root or inside configs/", f, p.Key, p.Path)
			}
		}
	}
	if len(files) == 0 {
		t.Fatal("no configs")
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "exp", "c.toml")
	os.MkdirAll(filepath.Dir(cfg), 0o755)
	os.WriteFile(cfg, []byte(minimal+"[paths]\nresults = \"../out\"\nglue = \"data/glue\"\n"), 0o644)
	var got []string
	for _, wd := range []string{dir, t.TempDir()} {
		t.Chdir(wd)
		c, err := Load(cfg, Options{Getenv: noEnv})
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, c.Paths.Results.Path+" "+c.Paths.GLUE.Path+" "+c.Paths.SQuAD.Path)
	}
	want := filepath.Join(dir, "out") + " " + filepath.Join(dir, "exp", "data/glue") + " " + filepath.Join(dir, "exp", "data/squad")
	if got[0] != want || got[1] != want {
		t.Errorf("paths from two working directories:\n%s\n%s\nwant %s", got[0], got[1], want)
	}
}

func TestExampleConfigsParse(t *testing.T) {
	files, _ := filepath.Glob("../../configs/*.toml")
	if len(files) == 0 {
		t.Fatal("no configs/*.toml")
	}
	for _, f := range files {
		if _, err := Load(f, Options{Getenv: func(string) (string, bool) { return "", false }}); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("../../configs/*.toml")
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(minimal))
	f.Add([]byte("a = {b = [1, {c = '''x'''}]}\n[[g]]\n[g.h]\n\"q\\\"k\" = 1"))
	f.Fuzz(func(t *testing.T, src []byte) {
		c, err := Parse("fuzz.toml", src, Options{Dir: "/", Getenv: func(string) (string, bool) { return "", false }})
		if err == nil && c == nil {
			t.Fatal("nil config without error")
		}
		var ps Problems
		if err != nil && !errors.As(err, &ps) {
			t.Fatalf("error is not Problems: %v", err)
		}
		locate(src)
	})
}
