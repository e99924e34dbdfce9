package config

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/cofiharness/cofi/hparams"
	"github.com/cofiharness/cofi/method"
	"github.com/cofiharness/cofi/record"
	"github.com/cofiharness/cofi/stage/fake"
	"github.com/cofiharness/cofi/task"
)

// Options changes how Load resolves a file.
type Options struct {
	Getenv Getenv // nil = the process environment
	// Dir is the base of relative paths written in the file; "" = the
	// directory holding the config file (Load), the working directory
	// (Parse). Relative paths from environment variables (GLUE_DIR=...) are
	// the shell's: they resolve against the working directory.
	Dir string
}

// Load reads and validates the config at path. Relative paths in it resolve
// against the directory holding it, so a config means the same wherever cofi
// is started from.
func Load(path string, opt Options) (*Config, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	if opt.Dir == "" {
		abs, err := filepath.Abs(path)
		if err != nil {
			return nil, fmt.Errorf("config %s: %w", path, err)
		}
		opt.Dir = filepath.Dir(abs)
	}
	return Parse(path, src, opt)
}

// Parse validates src, named name in messages. The error, if any, is Problems.
func Parse(name string, src []byte, opt Options) (*Config, error) {
	if opt.Getenv == nil {
		opt.Getenv = OSEnv
	}
	if opt.Dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return nil, fmt.Errorf("working directory: %w", err)
		}
		opt.Dir = wd
	}
	var raw map[string]any
	if _, err := toml.Decode(string(src), &raw); err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, Problems{{File: name, Pos: Pos{pe.Position.Line, pe.Position.Col}, Msg: "invalid TOML: " + pe.Message}}
		}
		return nil, Problems{{File: name, Msg: "invalid TOML: " + err.Error()}}
	}
	w := &walker{file: name, pos: locate(src), opt: opt}
	cfg := w.config(raw)
	if len(w.probs) > 0 {
		sort.SliceStable(w.probs, func(i, j int) bool {
			a, b := w.probs[i].Pos, w.probs[j].Pos
			if (a.Line == 0) != (b.Line == 0) {
				return b.Line == 0
			}
			return a.Line < b.Line || a.Line == b.Line && a.Col < b.Col
		})
		return nil, w.probs
	}
	return cfg, nil
}

type walker struct {
	file   string
	pos    map[string]Pos
	opt    Options
	probs  Problems
	broken []string // sweeps defined with problems
}

func (w *walker) errorf(path, format string, args ...any) {
	w.probs = append(w.probs, Problem{File: w.file, Pos: w.position(path), Key: path, Msg: fmt.Sprintf(format, args...)})
}

// position finds where path (or its nearest written ancestor) is written.
func (w *walker) position(path string) Pos {
	for p := path; p != ""; p = parentPath(p) {
		if pos, ok := w.pos[p]; ok {
			return pos
		}
	}
	return Pos{}
}

// parentPath drops the last segment or index of a rendered path.
func parentPath(p string) string {
	switch {
	case strings.HasSuffix(p, "]"):
		if i := strings.LastIndexByte(p, '['); i >= 0 {
			return p[:i]
		}
	case strings.HasSuffix(p, `"`):
		for i := len(p) - 2; i >= 0; i-- {
			if p[i] == '"' && (i == 0 || p[i-1] != '\\') {
				return strings.TrimSuffix(p[:i], ".")
			}
		}
	default:
		if i := strings.LastIndexByte(p, '.'); i >= 0 {
			return p[:i]
		}
	}
	return ""
}

// tbl is a TOML table being read; keys read through it are known, the rest
// are reported as unknown by finish.
type tbl struct {
	w     *walker
	path  string
	m     map[string]any
	known map[string]bool
}

func (w *walker) table(path string, v any) *tbl {
	m, ok := v.(map[string]any)
	if !ok {
		w.errorf(path, "want a table, got %s", describe(v))
		m = map[string]any{}
	}
	return &tbl{w: w, path: path, m: m, known: map[string]bool{}}
}

func (t *tbl) key(k string) string { return join(t.path, k) }

func (t *tbl) raw(k string) (any, bool) {
	t.known[k] = true
	v, ok := t.m[k]
	return v, ok
}

func (t *tbl) finish() {
	var unknown []string
	for k := range t.m {
		if !t.known[k] {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	var known []string
	for k := range t.known {
		known = append(known, k)
	}
	sort.Strings(known)
	for _, k := range unknown {
		where := "at the top level"
		if t.path != "" {
			where = "in [" + t.path + "]"
		}
		t.w.errorf(t.key(k), "unknown key %s (known keys: %s)", where, strings.Join(known, ", "))
	}
}

func (t *tbl) str(k string, dst *string) bool {
	v, ok := t.raw(k)
	if !ok {
		return false
	}
	s, ok := v.(string)
	if !ok {
		t.w.errorf(t.key(k), "want a string, got %s", describe(v))
		return false
	}
	*dst = s
	return true
}

func (t *tbl) boolean(k string, dst *bool) {
	v, ok := t.raw(k)
	if !ok {
		return
	}
	b, ok := v.(bool)
	if !ok {
		t.w.errorf(t.key(k), "want true or false, got %s", describe(v))
		return
	}
	*dst = b
}

// integer reads a non-negative int.
func (t *tbl) integer(k string, dst *int) bool {
	v, ok := t.raw(k)
	if !ok {
		return false
	}
	n, ok := v.(int64)
	if !ok || n < 0 || n > math.MaxInt32 {
		t.w.errorf(t.key(k), "want a non-negative integer, got %s", describe(v))
		return false
	}
	*dst = int(n)
	return true
}

// duration reads a Go duration string ("90m", "12h") or a number of seconds.
func (t *tbl) duration(k string, dst *time.Duration) {
	v, ok := t.raw(k)
	if !ok {
		return
	}
	var d time.Duration
	switch x := v.(type) {
	case string:
		var err error
		if x == "0" {
			break
		}
		if d, err = time.ParseDuration(x); err != nil {
			t.w.errorf(t.key(k), "want a duration such as \"90m\" or \"12h\", got %q", x)
			return
		}
	case int64:
		d = time.Duration(x) * time.Second
	case float64:
		d = time.Duration(x * float64(time.Second))
	default:
		t.w.errorf(t.key(k), "want a duration such as \"90m\" or \"12h\", got %s", describe(v))
		return
	}
	if d < 0 {
		t.w.errorf(t.key(k), "want a non-negative duration, got %v", d)
		return
	}
	*dst = d
}

// list reads an array; a single value is not accepted, to catch typos early.
func (t *tbl) list(k string) ([]any, bool) {
	v, ok := t.raw(k)
	if !ok {
		return nil, false
	}
	switch x := v.(type) {
	case []any:
		return x, true
	case []map[string]any:
		out := make([]any, len(x))
		for i := range x {
			out[i] = x[i]
		}
		return out, true
	}
	t.w.errorf(t.key(k), "want an array such as [a, b], got %s", describe(v))
	return nil, false
}

func (t *tbl) sub(k string) (*tbl, bool) {
	v, ok := t.raw(k)
	if !ok {
		return nil, false
	}
	return t.w.table(t.key(k), v), true
}

// tables reads an array of tables ([[k]]).
func (t *tbl) tables(k string) []*tbl {
	items, ok := t.list(k)
	if !ok {
		return nil
	}
	out := make([]*tbl, len(items))
	for i, it := range items {
		out[i] = t.w.table(pathIndex(t.key(k), i), it)
	}
	return out
}

func describe(v any) string {
	switch x := v.(type) {
	case string:
		return fmt.Sprintf("string %q", x)
	case int64:
		return fmt.Sprintf("integer %d", x)
	case float64:
		return fmt.Sprintf("float %v", x)
	case bool:
		return fmt.Sprintf("boolean %v", x)
	case map[string]any:
		return "a table"
	case []any, []map[string]any:
		return "an array"
	case nil:
		return "nothing"
	}
	return fmt.Sprintf("%T", v)
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

func (w *walker) config(raw map[string]any) *Config {
	t := w.table("", raw)
	c := &Config{File: w.file}
	if !t.str("experiment", &c.Experiment) {
		if _, present := t.m["experiment"]; !present {
			w.errorf("experiment", "missing: every config names its experiment (the directory under the results path)")
		}
	} else if !nameRE.MatchString(c.Experiment) {
		w.errorf("experiment", "%q is not a valid name: use letters, digits, '.', '_' and '-'", c.Experiment)
	}
	t.str("description", &c.Description)
	t.boolean("fake", &c.Fake)
	t.boolean("invalidate_on_commit", &c.InvalidateOnCommit)
	c.Paths = w.paths(t)
	c.Executor = w.executor(t)
	c.Profiles = w.profiles(t)
	c.Sweeps = w.sweeps(t)
	c.Grids = w.grids(t, c.Profiles)
	w.gridSweeps(t, c)
	if ft, ok := t.sub("fake_stage"); ok {
		if !c.Fake {
			w.errorf("fake_stage", "only meaningful with fake = true")
		}
		c.FakeStage = w.fakeStage(ft)
	} else {
		c.FakeStage = FakeStage{Steps: fake.DefaultSteps, StepMS: fake.DefaultStepMS}
	}
	t.finish()
	return c
}

func (w *walker) paths(root *tbl) Paths {
	t, ok := root.sub("paths")
	if !ok {
		t = w.table("paths", map[string]any{})
	}
	get := func(key, env, def string, builtins []string) Path {
		p := Path{Path: def, Key: "paths." + key, Env: env, Source: "default"}
		var s string
		if t.str(key, &s) {
			if s == "" {
				w.errorf(p.Key, "empty path")
			}
			pos := w.position(p.Key)
			p.Path, p.Source = s, fmt.Sprintf("%s:%d:%d", w.file, pos.Line, pos.Col)
		}
		base := w.opt.Dir
		if env != "" {
			if v, ok := w.opt.Getenv(env); ok && v != "" {
				p.Path, p.Source = v, env
				base = "" // the shell's: the working directory
			}
		}
		if strings.HasPrefix(p.Path, BuiltinPrefix) {
			if builtins == nil {
				w.errorf(p.Key, "%q: only models can be builtin", p.Path)
			} else if name := strings.TrimPrefix(p.Path, BuiltinPrefix); !contains(builtins, name) {
				w.errorf(p.Key, "%q: unknown builtin model %q (builtin models: %s)", p.Path, name, strings.Join(builtins, ", "))
			}
			return p
		}
		if p.Path != "" && !filepath.IsAbs(p.Path) {
			if base == "" {
				if wd, err := os.Getwd(); err == nil {
					base = wd
				}
			}
			p.Path = filepath.Join(base, p.Path)
		}
		p.Path = filepath.Clean(p.Path)
		return p
	}
	ps := Paths{
		Results:           get("results", "COFI_RESULTS", "results", nil),
		GLUE:              get("glue", "GLUE_DIR", "data/glue", nil),
		SQuAD:             get("squad", "SQUAD_DIR", "data/squad", nil),
		Synthetic:         get("synthetic", "SYNTH_DIR", "data/synthetic", nil),
		Model:             get("model", "BERT_DIR", "models/bert-base-uncased", BuiltinModels),
		SyntheticModel:    get("synthetic_model", "", BuiltinPrefix+"tiny", BuiltinModels),
		TinyBERT:          get("tinybert", "TINYBERT_DIR", "models/TinyBERT_General_4L_312D", BuiltinStudents),
		SyntheticTinyBERT: get("synthetic_tinybert", "", BuiltinPrefix+"tiny-student", BuiltinStudents),
		GloVe:             get("glove", "GLOVE_PATH", "models/glove/glove.42B.300d.txt", nil),
	}
	t.finish()
	return ps
}

// RetryableClasses are the failure classes executor.retry may name.
var RetryableClasses = []string{record.FailExit, record.FailSignal, record.FailOOM, record.FailNaN, record.FailTimeout, record.FailMissingInput}

func (w *walker) executor(root *tbl) Executor {
	e := Executor{Kind: ExecLocal, GPUsAuto: true, KillGrace: 2 * time.Minute, Retry: []string{record.FailSignal}, MaxAttempts: 2,
		Slurm: SlurmDefaults()}
	t, ok := root.sub("executor")
	if !ok {
		return e
	}
	if t.str("kind", &e.Kind) && !contains(ExecutorKinds, e.Kind) {
		w.errorf(t.key("kind"), "unknown executor %q (available: %s)", e.Kind, strings.Join(ExecutorKinds, ", "))
	}
	if st, ok := t.sub("slurm"); ok {
		e.Slurm = w.slurm(st)
	}
	t.integer("workers", &e.Workers)
	t.integer("threads", &e.Threads)
	if v, ok := t.raw("gpus"); ok {
		e.GPUs, e.GPUsAuto = w.gpus(t.key("gpus"), v)
	}
	t.duration("timeout", &e.Timeout)
	t.duration("kill_grace", &e.KillGrace)
	if items, ok := t.list("retry"); ok {
		e.Retry, e.RetrySet = nil, true
		for i, it := range items {
			s, _ := it.(string)
			if !contains(RetryableClasses, s) {
				w.errorf(pathIndex(t.key("retry"), i), "%s is not a failure class that can be retried (classes: %s)", describe(it), strings.Join(RetryableClasses, ", "))
				continue
			}
			e.Retry = append(e.Retry, s)
		}
	}
	if t.integer("max_attempts", &e.MaxAttempts) && e.MaxAttempts < 1 {
		w.errorf(t.key("max_attempts"), "want at least 1")
	}
	t.str("binary", &e.Binary)
	t.finish()
	return e
}

// memRE is sbatch's --mem syntax: a size with an optional unit.
var memRE = regexp.MustCompile(`^[0-9]+[KMGT]?$`)

// slurmTimeKinds are the keys of a per-kind executor.slurm.time table.
var slurmTimeKinds = append([]string{"default"}, record.StageKinds...)

func (w *walker) slurm(t *tbl) Slurm {
	s := SlurmDefaults()
	for _, k := range []struct {
		key string
		dst *string
	}{{"partition", &s.Partition}, {"account", &s.Account}, {"qos", &s.QOS}, {"gres", &s.Gres},
		{"constraint", &s.Constraint}, {"sbatch", &s.Sbatch}, {"squeue", &s.Squeue}, {"sacct", &s.Sacct},
		{"scancel", &s.Scancel}, {"scontrol", &s.Scontrol}} {
		if t.str(k.key, k.dst) && strings.ContainsAny(*k.dst, " \t\n") {
			w.errorf(t.key(k.key), "%q: no spaces allowed (one value; more sbatch arguments go in sbatch_args)", *k.dst)
		}
	}
	for _, k := range []string{"sbatch", "squeue", "sacct", "scancel", "scontrol"} {
		if v, _ := t.m[k].(string); t.m[k] != nil && v == "" {
			w.errorf(t.key(k), "empty command: give a path or a name in PATH")
		}
	}
	if v, ok := t.raw("time"); ok {
		s.Time = map[string]time.Duration{}
		if tt, isTable := v.(map[string]any); isTable {
			sub := w.table(t.key("time"), tt)
			for _, k := range sortedKeys(tt) {
				if !contains(slurmTimeKinds, k) {
					continue // reported by finish
				}
				var d time.Duration
				sub.duration(k, &d)
				s.Time[k] = d
			}
			for _, k := range slurmTimeKinds {
				sub.known[k] = true // listed in the message about an unknown key
			}
			sub.finish()
		} else {
			var d time.Duration
			t.duration("time", &d)
			s.Time["default"] = d
		}
	}
	t.integer("gpus", &s.GPUs)
	if s.GPUs > 0 && s.Gres != "" {
		w.errorf(t.key("gres"), "give gpus or gres, not both")
	}
	t.integer("cpus", &s.CPUs)
	if t.str("mem", &s.Mem) && !memRE.MatchString(s.Mem) {
		w.errorf(t.key("mem"), "%q is not a memory size: want a number with an optional unit K, M, G or T, e.g. \"16G\"", s.Mem)
	}
	if items, ok := t.list("sbatch_args"); ok {
		for i, it := range items {
			a, isStr := it.(string)
			if !isStr || a == "" {
				w.errorf(pathIndex(t.key("sbatch_args"), i), "want a non-empty string, got %s", describe(it))
				continue
			}
			for _, own := range []string{"--array", "--output", "--error", "--job-name", "--parsable", "--dependency", "--signal", "--open-mode"} {
				if a == own || strings.HasPrefix(a, own+"=") {
					w.errorf(pathIndex(t.key("sbatch_args"), i), "%s is set by cofi itself (see package runner/slurm)", own)
				}
			}
			s.Args = append(s.Args, a)
		}
	}
	t.integer("throttle", &s.Throttle)
	t.boolean("exclusive", &s.Exclusive)
	t.duration("signal_lead", &s.SignalLead)
	if s.SignalLead > 65535*time.Second {
		w.errorf(t.key("signal_lead"), "at most 65535s (sbatch --signal's limit)")
	}
	t.duration("poll", &s.Poll)
	if _, given := t.m["poll"]; given && s.Poll < 100*time.Millisecond {
		w.errorf(t.key("poll"), "want at least 100ms")
	}
	t.finish()
	return s
}

// ParseGPUs reads a GPU list as a flag gives it: "auto", "none" or "0,1".
func ParseGPUs(s string) (ids []string, auto bool, err error) {
	switch s = strings.TrimSpace(s); s {
	case "auto":
		return nil, true, nil
	case "none", "":
		return nil, false, nil
	}
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			return nil, false, fmt.Errorf("empty GPU id in %q", s)
		}
		ids = append(ids, f)
	}
	return ids, false, nil
}

func (w *walker) gpus(path string, v any) ([]string, bool) {
	switch x := v.(type) {
	case string:
		ids, auto, err := ParseGPUs(x)
		if err != nil {
			w.errorf(path, "%v", err)
		}
		return ids, auto
	case []any:
		var ids []string
		for i, it := range x {
			switch y := it.(type) {
			case int64:
				if y < 0 {
					w.errorf(pathIndex(path, i), "negative GPU id")
				}
				ids = append(ids, strconv.FormatInt(y, 10))
			case string:
				ids = append(ids, y)
			default:
				w.errorf(pathIndex(path, i), "want a GPU index or UUID, got %s", describe(it))
			}
		}
		return ids, false
	}
	w.errorf(path, `want "auto", "none" or a list of GPU ids, got %s`, describe(v))
	return nil, false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func sortedKeys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// checkTask is used to type-check hyperparameter values: a key's type is the
// same for every task.
var checkTask = task.MustLookup("rte")

// override validates one hyperparameter override of kind and returns it
// converted to the default's type.
func (w *walker) override(path, kind, name string, v any) (any, bool) {
	switch {
	case name == "seed":
		w.errorf(path, "seeds are set by a grid's seeds = [...], not as a hyperparameter")
		return nil, false
	case kind == record.KindPrune && name == "target_sparsity":
		w.errorf(path, "the target sparsity is set by a grid's sparsities = [...], not as a hyperparameter")
		return nil, false
	}
	p, err := hparams.Resolve(kind, checkTask, map[string]any{name: v})
	if err != nil {
		if strings.Contains(err.Error(), "unknown hyperparameter") {
			w.errorf(path, "%v (%s hyperparameters: %s)", err, kind, strings.Join(keyNames(kind), ", "))
		} else {
			w.errorf(path, "%v", err)
		}
		return nil, false
	}
	return p[name], true
}

func keyNames(kind string) []string {
	var out []string
	for _, k := range hparams.Keys(kind) {
		out = append(out, k.Name)
	}
	return out
}

// kindTable reads a table of overrides for kind.
func (w *walker) kindTable(path, kind string, v any) map[string]any {
	t := w.table(path, v)
	out := map[string]any{}
	for _, k := range sortedKeys(t.m) {
		t.known[k] = true
		if cv, ok := w.override(t.key(k), kind, k, t.m[k]); ok {
			out[k] = cv
		}
	}
	return out
}

func (w *walker) profiles(root *tbl) map[string]Profile {
	out := map[string]Profile{DefaultProfile: {Name: DefaultProfile}}
	t, ok := root.sub("profiles")
	if !ok {
		return out
	}
	kinds := hparams.Kinds()
	for _, name := range sortedKeys(t.m) {
		t.known[name] = true
		path := t.key(name)
		if name == DefaultProfile {
			w.errorf(path, "the profile %q is built in (the authors' hyperparameters, no overrides); give yours another name", DefaultProfile)
			continue
		}
		pt := w.table(path, t.m[name])
		p := Profile{Name: name, Kinds: map[string]map[string]any{}, Tasks: map[string]map[string]map[string]any{}}
		for _, k := range sortedKeys(pt.m) {
			pt.known[k] = true
			switch {
			case k == "tasks":
				tt := w.table(pt.key(k), pt.m[k])
				for _, tn := range sortedKeys(tt.m) {
					tt.known[tn] = true
					tk, err := task.Lookup(tn)
					if err != nil {
						w.errorf(tt.key(tn), "%v", err)
						continue
					}
					kt := w.table(tt.key(tn), tt.m[tn])
					per := map[string]map[string]any{}
					for _, kind := range sortedKeys(kt.m) {
						kt.known[kind] = true
						if !contains(kinds, kind) {
							w.errorf(kt.key(kind), "not a stage kind with hyperparameters (kinds: %s)", strings.Join(kinds, ", "))
							continue
						}
						per[kind] = w.kindTable(kt.key(kind), kind, kt.m[kind])
					}
					p.Tasks[tk.Name] = per
				}
			case contains(kinds, k):
				p.Kinds[k] = w.kindTable(pt.key(k), k, pt.m[k])
			default:
				w.errorf(pt.key(k), "unknown key in a profile: want a stage kind (%s) or tasks", strings.Join(kinds, ", "))
			}
		}
		out[name] = p
	}
	return out
}

func (w *walker) grids(root *tbl, profiles map[string]Profile) []Grid {
	if _, ok := root.m["grid"]; !ok {
		w.errorf("grid", "missing: an experiment needs at least one [[grid]]")
		root.known["grid"] = true
		return nil
	}
	var out []Grid
	for i, t := range root.tables("grid") {
		out = append(out, w.grid(i, t, profiles))
	}
	if _, isList := root.m["grid"].([]any); isList && len(out) == 0 {
		w.errorf("grid", "empty: an experiment needs at least one [[grid]] with tasks and methods")
	}
	return out
}

func (w *walker) grid(i int, t *tbl, profiles map[string]Profile) Grid {
	g := Grid{Index: i, Profile: DefaultProfile, Seeds: []int64{DefaultSeed}}
	if !t.str("name", &g.Name) || g.Name == "" {
		g.Name = fmt.Sprintf("grid%d", i+1)
	}
	if items, ok := t.list("tasks"); ok {
		for j, it := range items {
			if tn, ok := w.taskName(pathIndex(t.key("tasks"), j), it); ok {
				g.Tasks = appendUnique(g.Tasks, tn)
			}
		}
	}
	if len(g.Tasks) == 0 {
		w.errorf(t.path, "tasks: want at least one task (known: %s)", strings.Join(task.Names(), ", "))
	}
	needSparsity := false
	if items, ok := t.list("methods"); ok {
		for j, it := range items {
			if m, ok := w.methodName(pathIndex(t.key("methods"), j), it); ok {
				g.Methods = appendUnique(g.Methods, m.Name)
				needSparsity = needSparsity || m.Family == method.CoFi
			}
		}
	}
	if len(g.Methods) == 0 {
		w.errorf(t.path, "methods: want at least one method (known: %s)", strings.Join(method.Names(), ", "))
	}
	if items, ok := t.list("sparsities"); ok {
		for j, it := range items {
			if s, ok := w.sparsity(pathIndex(t.key("sparsities"), j), it); ok {
				g.Sparsities = appendUniqueF(g.Sparsities, s)
			}
		}
	}
	if needSparsity && len(g.Sparsities) == 0 {
		w.errorf(t.path, "sparsities: CoFi methods need at least one target sparsity, e.g. sparsities = [0.95]")
	}
	if items, ok := t.list("seeds"); ok {
		g.Seeds = nil
		for j, it := range items {
			if s, ok := w.seed(pathIndex(t.key("seeds"), j), it); ok {
				g.Seeds = appendUniqueI(g.Seeds, s)
			}
		}
		if len(items) == 0 {
			w.errorf(t.key("seeds"), "want at least one seed")
		}
	}
	if t.str("profile", &g.Profile) {
		if _, ok := profiles[g.Profile]; !ok {
			var names []string
			for n := range profiles {
				names = append(names, n)
			}
			sort.Strings(names)
			w.errorf(t.key("profile"), "unknown profile %q (profiles: %s)", g.Profile, strings.Join(names, ", "))
		}
	}
	if at, ok := t.sub("axes"); ok {
		for _, k := range sortedKeys(at.m) {
			at.known[k] = true
			if a, ok := w.axis(at.key(k), k, at.m[k]); ok {
				g.Axes = append(g.Axes, a)
			}
		}
	}
	t.str("sweep", &g.SweepName) // resolved by gridSweeps
	for _, mt := range t.tables("exclude") {
		g.Exclude = append(g.Exclude, w.match(mt, g.Axes))
	}
	for _, mt := range t.tables("include") {
		g.Include = append(g.Include, w.match(mt, g.Axes))
	}
	t.finish()
	return g
}

func appendUnique(list []string, s string) []string {
	if contains(list, s) {
		return list
	}
	return append(list, s)
}

func appendUniqueF(list []float64, x float64) []float64 {
	for _, y := range list {
		if y == x {
			return list
		}
	}
	return append(list, x)
}

func appendUniqueI(list []int64, x int64) []int64 {
	for _, y := range list {
		if y == x {
			return list
		}
	}
	return append(list, x)
}

func (w *walker) taskName(path string, v any) (string, bool) {
	s, ok := v.(string)
	if !ok {
		w.errorf(path, "want a task name, got %s", describe(v))
		return "", false
	}
	tk, err := task.Lookup(s)
	if err != nil {
		w.errorf(path, "%v", err)
		return "", false
	}
	return tk.Name, true
}

func (w *walker) methodName(path string, v any) (method.Method, bool) {
	s, ok := v.(string)
	if !ok {
		w.errorf(path, "want a method name, got %s", describe(v))
		return method.Method{}, false
	}
	m, err := method.Lookup(s)
	if err != nil {
		w.errorf(path, "%v", err)
		return method.Method{}, false
	}
	return m, true
}

func (w *walker) sparsity(path string, v any) (float64, bool) {
	var f float64
	switch x := v.(type) {
	case float64:
		f = x
	case int64:
		f = float64(x)
	default:
		w.errorf(path, "want a sparsity (a fraction such as 0.95), got %s", describe(v))
		return 0, false
	}
	if !(f > 0 && f < 1) {
		w.errorf(path, "sparsity %v out of range: want a fraction in (0, 1), e.g. 0.95 for 95%%", f)
		return 0, false
	}
	return f, true
}

func (w *walker) seed(path string, v any) (int64, bool) {
	n, ok := v.(int64)
	if !ok || n < 0 {
		w.errorf(path, "want a non-negative integer seed, got %s", describe(v))
		return 0, false
	}
	return n, true
}

func (w *walker) axis(path, key string, v any) (Axis, bool) {
	if key == DataAxis {
		return w.dataAxis(path, v)
	}
	kind, name, ok := strings.Cut(key, ".")
	kinds := hparams.Kinds()
	if !ok || !contains(kinds, kind) {
		w.errorf(path, "an axis key is %q or \"KIND.NAME\" with KIND one of %s, e.g. \"prune.alpha_pred\"", DataAxis, strings.Join(kinds, ", "))
		return Axis{}, false
	}
	items, isList := v.([]any)
	if !isList || len(items) == 0 {
		w.errorf(path, "want a non-empty array of values, got %s", describe(v))
		return Axis{}, false
	}
	a := Axis{Key: key, Kind: kind, Name: name}
	for j, it := range items {
		cv, ok := w.override(pathIndex(path, j), kind, name, it)
		if !ok {
			if j == 0 {
				return Axis{}, false // an unknown key: one message is enough
			}
			continue
		}
		dup := false
		for _, x := range a.Values {
			dup = dup || x == cv
		}
		if !dup {
			a.Values = append(a.Values, cv)
		}
	}
	return a, len(a.Values) > 0
}

// dataAxis reads data = ["original", "augmented"].
func (w *walker) dataAxis(path string, v any) (Axis, bool) {
	items, isList := v.([]any)
	if !isList || len(items) == 0 {
		w.errorf(path, "want a non-empty array of values (%q, %q), got %s", DataOriginal, DataAugmented, describe(v))
		return Axis{}, false
	}
	a := Axis{Key: DataAxis, Name: DataAxis}
	for j, it := range items {
		s, ok := w.dataValue(pathIndex(path, j), it)
		if ok && !slices.Contains(a.Values, any(s)) {
			a.Values = append(a.Values, s)
		}
	}
	return a, len(a.Values) > 0
}

func (w *walker) dataValue(path string, v any) (string, bool) {
	s, _ := v.(string)
	if s != DataOriginal && s != DataAugmented {
		w.errorf(path, "want %q (the task's train split) or %q (TinyBERT's data augmentation of it), got %s", DataOriginal, DataAugmented, describe(v))
		return "", false
	}
	return s, true
}

func (w *walker) match(t *tbl, axes []Axis) Match {
	var m Match
	for _, k := range sortedKeys(t.m) {
		t.known[k] = true
		path := t.key(k)
		v := t.m[k]
		switch k {
		case "task":
			if s, ok := w.taskName(path, v); ok {
				m.Task = &s
			}
		case "method":
			if me, ok := w.methodName(path, v); ok {
				m.Method = &me.Name
			}
		case "sparsity":
			if s, ok := w.sparsity(path, v); ok {
				m.Sparsity = &s
			}
		case "seed":
			if s, ok := w.seed(path, v); ok {
				m.Seed = &s
			}
		default:
			var ax *Axis
			for i := range axes {
				if axes[i].Key == k {
					ax = &axes[i]
				}
			}
			if ax == nil {
				var keys []string
				for _, a := range axes {
					keys = append(keys, a.Key)
				}
				w.errorf(path, "unknown field: want task, method, sparsity, seed or an axis of this grid (axes: %s)", strings.Join(keys, ", "))
				continue
			}
			cv, ok := any(nil), false
			if ax.Key == DataAxis {
				cv, ok = w.dataValue(path, v)
			} else {
				cv, ok = w.override(path, ax.Kind, ax.Name, v)
			}
			if ok {
				if m.Params == nil {
					m.Params = map[string]any{}
				}
				m.Params[k] = cv
			}
		}
	}
	if len(t.m) == 0 {
		w.errorf(t.path, "an include/exclude rule needs at least one field")
	}
	return m
}

func (w *walker) fakeStage(t *tbl) FakeStage {
	f := FakeStage{Steps: fake.DefaultSteps, StepMS: fake.DefaultStepMS}
	t.integer("steps", &f.Steps)
	t.integer("step_ms", &f.StepMS)
	if t.str("fail", &f.Fail) {
		w.failMode(t.key("fail"), f.Fail)
	}
	kinds := record.StageKinds
	for _, rt := range t.tables("rule") {
		var r FakeRule
		if mt, ok := rt.sub("match"); ok {
			for _, k := range sortedKeys(mt.m) {
				mt.known[k] = true
				path, v := mt.key(k), mt.m[k]
				switch k {
				case "kind":
					if s, _ := v.(string); contains(kinds, s) {
						r.Kind = s
					} else {
						w.errorf(path, "want a stage kind (%s), got %s", strings.Join(kinds, ", "), describe(v))
					}
				case "task":
					r.Task, _ = w.taskName(path, v)
				case "method":
					me, _ := w.methodName(path, v)
					r.Method = me.Name
				case "sparsity":
					if s, ok := w.sparsity(path, v); ok {
						r.Sparsity = &s
					}
				case "seed":
					if s, ok := w.seed(path, v); ok {
						r.Seed = &s
					}
				default:
					w.errorf(path, "unknown field: want kind, task, method, sparsity or seed")
				}
			}
		} else {
			w.errorf(rt.path, "a rule needs match = { ... }")
		}
		var n int
		if rt.integer("steps", &n) {
			r.Steps = &[]int{n}[0]
		}
		if rt.integer("step_ms", &n) {
			r.StepMS = &[]int{n}[0]
		}
		var s string
		if rt.str("fail", &s) {
			w.failMode(rt.key("fail"), s)
			r.Fail = &s
		}
		rt.finish()
		f.Rules = append(f.Rules, r)
	}
	t.finish()
	return f
}

func (w *walker) failMode(path, s string) {
	if !contains(fake.FailModes, s) {
		w.errorf(path, "unknown failure mode %q (modes: %s)", s, strings.Join(fake.FailModes[1:], ", "))
	}
}
