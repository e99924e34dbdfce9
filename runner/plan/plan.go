// Package plan expands an experiment's grids into cells and each cell into a
// chain of stages, and gives every stage an identity: the hash of its fully
// resolved inputs. Identical stages of different cells (the teacher of a
// (task, seed) shared by every method and sparsity) are one stage.
//
// A stage's id is the first 20 hex digits (80 bits) of the SHA-256 of its
// Identity as JSON. With a million stages in one results directory the
// chance of any collision is about 4e-13 (birthday bound n²/2^81).
//
// What is hashed (Identity): the stage kind; the task; the method, except for
// teacher stages (one teacher serves every method); every hyperparameter of
// the kind resolved with the authors' defaults, the profile, the grid's axes,
// the seed and the target sparsity (hparams.Resolve); the ids of the upstream
// stages by kind; the content digest of the task's data files and of the
// starting model; the device type for speed stages only (a latency measured
// on CPU is a different result from one on GPU; training results are not
// keyed by device); in fake mode the fake settings; and, only with
// invalidate_on_commit = true, the git commit and diff hash. Not hashed:
// paths (results and data may move), threads, GPU ids, the profile's name.
//
// Chains by method family: teacher [teacher]; CoFi [teacher] -> prune ->
// final -> speed, the teacher only when the method distils (PredDistill or
// LayerDistill); baseline teacher -> baseline -> speed. Spec.Inputs holds
// "data" (the directory with the task's files), "data_root" (the configured
// root, GLUE_DIR etc.), "model" (the pre-trained model directory, or
// "builtin:NAME") and the directory of every upstream stage by its kind.
// In fake mode Spec.Kind is "fake" and Params carry the real kind
// (fake_kind) and the fake settings.
package plan

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/cofiharness/cofi/hparams"
	"github.com/cofiharness/cofi/method"
	"github.com/cofiharness/cofi/record"
	"github.com/cofiharness/cofi/runner/config"
	"github.com/cofiharness/cofi/runner/digest"
	"github.com/cofiharness/cofi/stage"
	"github.com/cofiharness/cofi/stage/fake"
	"github.com/cofiharness/cofi/task"
)

// IDLen is the number of hex digits of a stage id.
const IDLen = 20

// IdentityScheme is bumped whenever what Identity hashes changes meaning.
const IdentityScheme = 1

// Identity is what a stage id hashes. It is written to the stage's spec.json
// so a changed id can be explained by diffing two of them.
type Identity struct {
	Scheme   int               `json:"scheme"`
	Kind     string            `json:"kind"`
	Exec     string            `json:"exec,omitempty"` // kind actually run when it differs ("fake")
	Task     string            `json:"task"`
	Method   string            `json:"method,omitempty"`
	Params   record.Params     `json:"params"`
	Upstream map[string]string `json:"upstream,omitempty"` // kind -> stage id
	Data     string            `json:"data"`
	Model    string            `json:"model"`
	Device   string            `json:"device,omitempty"`
	Code     string            `json:"code,omitempty"`
}

// Hash returns the stage id.
func (id Identity) Hash() string {
	b, err := json.Marshal(id)
	if err != nil {
		panic(fmt.Sprintf("plan: identity not encodable: %v", err)) // params are JSON scalars by construction
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])[:IDLen]
}

// Options are the run-time facts a plan depends on.
type Options struct {
	Digests *digest.Cache // nil = no persistent cache
	Device  string        // "cpu" or "cuda": Spec.Device and part of speed identities
	Threads int           // Spec.Threads: CPU threads per stage
	Code    string        // code version, hashed only with invalidate_on_commit
}

// Plan is the expanded experiment.
type Plan struct {
	Config  *config.Config
	Dir     string        // <results>/<experiment>, absolute
	Cells   []*Cell       // in grid order
	Stages  []*Stage      // dependency order: upstream before downstream
	Sweeps  []*SweepGroup // one per swept cell, in grid order
	Missing []Missing
	byID    map[string]*Stage
}

// Stage returns the stage with id, or nil.
func (p *Plan) Stage(id string) *Stage { return p.byID[id] }

// Cell is one point of a grid, or one setting of a point's sweep.
type Cell struct {
	ID       string // hash of the ids of its stages
	Grids    []string
	Task     string
	Method   string
	Sparsity float64 // 0 for methods without a target sparsity
	Seed     int64
	Profile  string
	Params   map[string]any // axis values, "KIND.NAME" -> value
	Sweep    *CellSweep     // nil unless the cell is one setting of a sweep
	Heldout  float64        // fraction of the training set held out by every stage (sweeps on "heldout")
	Stages   []*Stage       // chain order
}

// Done reports whether every stage of the cell is done.
func (c *Cell) Done(done func(*Stage) bool) bool {
	for _, s := range c.Stages {
		if !done(s) {
			return false
		}
	}
	return true
}

// Label is a short human description of the cell.
func (c *Cell) Label() string {
	s := fmt.Sprintf("%s %s", c.Task, c.Method)
	if c.Sparsity > 0 {
		s += fmt.Sprintf(" %g", c.Sparsity)
	}
	s += fmt.Sprintf(" seed=%d", c.Seed)
	for _, k := range sortedKeys(c.Params) {
		s += fmt.Sprintf(" %s=%v", k, c.Params[k])
	}
	if c.Sweep != nil {
		s += fmt.Sprintf(" [%s %d/%d:", c.Sweep.Group.Sweep.Name, c.Sweep.Index+1, len(c.Sweep.Group.Cells))
		for _, k := range sortedKeys(c.Sweep.Setting) {
			s += fmt.Sprintf(" %s=%v", k, c.Sweep.Setting[k])
		}
		s += "]"
	}
	if c.Heldout > 0 {
		s += fmt.Sprintf(" heldout=%g", c.Heldout)
	}
	if c.Profile != config.DefaultProfile {
		s += " profile=" + c.Profile
	}
	return s
}

// Stage is one unit of work.
type Stage struct {
	ID           string
	Kind         string // the real kind (record.Kind*), also in fake mode
	Spec         stage.Spec
	Identity     Identity
	Upstream     []*Stage
	Downstream   []*Stage
	Cells        []*Cell
	MissingInput bool
	// Exclusive stages run alone: CPU latency measurements would be
	// distorted by other stages running beside them.
	Exclusive bool
}

// Name is the stage's directory name: "<kind>-<id>".
func (s *Stage) Name() string { return s.Kind + "-" + s.ID }

// CellIDs lists the ids of the cells using the stage.
func (s *Stage) CellIDs() []string {
	out := make([]string, len(s.Cells))
	for i, c := range s.Cells {
		out[i] = c.ID
	}
	return out
}

// StageDir is where a stage lives inside an experiment directory.
func StageDir(expDir, name string) string { return filepath.Join(expDir, "stages", name) }

// Build expands cfg.
func Build(cfg *config.Config, opt Options) (*Plan, error) {
	if opt.Digests == nil {
		opt.Digests = digest.Open("")
	}
	if opt.Device == "" {
		opt.Device = "cpu"
	}
	if cfg.InvalidateOnCommit && opt.Code == "" {
		return nil, fmt.Errorf("invalidate_on_commit = true, but the code version is unknown (not a git checkout?)")
	}
	p := &Plan{Config: cfg, Dir: filepath.Join(cfg.Paths.Results.Path, cfg.Experiment), byID: map[string]*Stage{}}
	b := &builder{p: p, opt: opt, in: &inputs{cfg: cfg, cache: opt.Digests, data: map[string]input{}, models: map[string]input{}},
		groups: map[string]*SweepGroup{}}
	cells := map[string]*Cell{}
	for _, g := range cfg.Grids {
		for _, cs := range sweepCells(expand(g), g) {
			c, err := b.cell(cs)
			if err != nil {
				return nil, err
			}
			if old, ok := cells[c.ID]; ok {
				if !containsStr(old.Grids, g.Name) {
					old.Grids = append(old.Grids, g.Name)
				}
				continue
			}
			c.Grids = []string{g.Name}
			cells[c.ID] = c
			p.Cells = append(p.Cells, c)
			for _, s := range c.Stages {
				s.Cells = append(s.Cells, c)
			}
			b.addToGroup(c, cs)
		}
	}
	p.Missing = b.in.missing
	return p, nil
}

// cellSpec is a cell before its stages exist.
type cellSpec struct {
	task, method string
	sparsity     float64
	seed         int64
	profile      string
	params       map[string]any
	// A sweep's candidate: the sweep, this setting and its index.
	sweep   *config.Sweep
	setting map[string]any
	index   int
	size    int     // settings of the sweep for this cell
	heldout float64 // fraction of train held out by every stage
}

func (c cellSpec) key() string {
	b, _ := json.Marshal([]any{c.task, c.method, c.sparsity, c.seed, c.profile, c.params, c.setting, c.heldout})
	return string(b)
}

// expand lists a grid's cells: the product of its axes minus the excluded
// cells, plus the included ones; methods without a target sparsity get one
// cell per (task, seed, axes) with sparsity 0.
func expand(g config.Grid) []cellSpec {
	var out []cellSpec
	seen := map[string]bool{}
	add := func(c cellSpec) {
		if m, _ := method.Lookup(c.method); m.Family != method.CoFi {
			c.sparsity = 0
		}
		if k := c.key(); !seen[k] {
			seen[k] = true
			out = append(out, c)
		}
	}
	product := func(tasks, methods []string, sps []float64, seeds []int64, fixed map[string]any, keep func(cellSpec) bool) {
		combos := []map[string]any{{}}
		for _, a := range g.Axes {
			vals := a.Values
			if v, ok := fixed[a.Key]; ok {
				vals = []any{v}
			}
			var next []map[string]any
			for _, c := range combos {
				for _, v := range vals {
					m := map[string]any{}
					for k, x := range c {
						m[k] = x
					}
					m[a.Key] = v
					next = append(next, m)
				}
			}
			combos = next
		}
		for _, t := range tasks {
			for _, m := range methods {
				ss := sps
				if me, _ := method.Lookup(m); me.Family != method.CoFi || len(ss) == 0 {
					ss = []float64{0}
				}
				for _, s := range ss {
					for _, seed := range seeds {
						for _, params := range combos {
							c := cellSpec{task: t, method: m, sparsity: s, seed: seed, profile: g.Profile, params: params}
							if keep(c) {
								add(c)
							}
						}
					}
				}
			}
		}
	}
	product(g.Tasks, g.Methods, g.Sparsities, g.Seeds, nil, func(c cellSpec) bool {
		for _, ex := range g.Exclude {
			if matches(ex, c) {
				return false
			}
		}
		return true
	})
	for _, in := range g.Include {
		tasks, methods, sps, seeds := g.Tasks, g.Methods, g.Sparsities, g.Seeds
		if in.Task != nil {
			tasks = []string{*in.Task}
		}
		if in.Method != nil {
			methods = []string{*in.Method}
		}
		if in.Sparsity != nil {
			sps = []float64{*in.Sparsity}
		}
		if in.Seed != nil {
			seeds = []int64{*in.Seed}
		}
		product(tasks, methods, sps, seeds, in.Params, func(cellSpec) bool { return true })
	}
	return out
}

func matches(m config.Match, c cellSpec) bool {
	if m.Task != nil && *m.Task != c.task || m.Method != nil && *m.Method != c.method ||
		m.Sparsity != nil && *m.Sparsity != c.sparsity || m.Seed != nil && *m.Seed != c.seed {
		return false
	}
	for k, v := range m.Params {
		if c.params[k] != v {
			return false
		}
	}
	return true
}

type builder struct {
	p      *Plan
	opt    Options
	in     *inputs
	groups map[string]*SweepGroup // by id
}

// chain returns the stage kinds of a method, first to last, and whether the
// CoFi stages consume the teacher.
func chain(m method.Method) (kinds []string, distill bool) {
	switch m.Family {
	case method.Teacher:
		return []string{record.KindTeacher}, false
	case method.Baseline:
		return []string{record.KindTeacher, record.KindBaseline, record.KindSpeed}, true
	default:
		distill = m.Switches.PredDistill || m.Switches.LayerDistill
		if distill {
			return []string{record.KindTeacher, record.KindPrune, record.KindFinal, record.KindSpeed}, true
		}
		return []string{record.KindPrune, record.KindFinal, record.KindSpeed}, false
	}
}

func (b *builder) cell(cs cellSpec) (*Cell, error) {
	tk := task.MustLookup(cs.task)
	m, err := method.Lookup(cs.method)
	if err != nil {
		return nil, err
	}
	data, err := b.in.forData(tk)
	if err != nil {
		return nil, err
	}
	model, err := b.in.forModel(tk)
	if err != nil {
		return nil, err
	}
	kinds, distill := chain(m)
	c := &Cell{Task: cs.task, Method: cs.method, Sparsity: cs.sparsity, Seed: cs.seed, Profile: cs.profile, Params: cs.params}
	up := map[string]*Stage{}
	var prev *Stage
	for _, kind := range kinds {
		var deps []*Stage
		switch kind {
		case record.KindPrune:
			if distill {
				deps = []*Stage{up[record.KindTeacher]}
			}
		case record.KindFinal:
			deps = []*Stage{up[record.KindPrune]}
			if distill {
				deps = append(deps, up[record.KindTeacher])
			}
		case record.KindBaseline:
			deps = []*Stage{up[record.KindTeacher]}
		case record.KindSpeed:
			deps = []*Stage{prev}
			if m.Family == method.CoFi {
				// Final fine-tuning changes weights, not shapes: the compact
				// model the prune stage folded is what gets timed, once for
				// every final stage (and sweep setting) built on it.
				deps = []*Stage{up[record.KindPrune]}
			}
		}
		s, err := b.stage(kind, tk, m, cs, deps, data, model)
		if err != nil {
			return nil, err
		}
		up[kind] = s
		prev = s
		c.Stages = append(c.Stages, s)
	}
	c.ID = cellID(c.Stages)
	c.Heldout = cs.heldout
	return c, nil
}

// cellID hashes the ids of a cell's stages: cells that share their last
// stage (sweep settings sharing a speed stage) are still distinct.
func cellID(stages []*Stage) string {
	h := sha256.New()
	for _, s := range stages {
		h.Write([]byte(s.ID))
	}
	return hex.EncodeToString(h.Sum(nil))[:IDLen]
}

func (b *builder) stage(kind string, tk task.Task, m method.Method, cs cellSpec, deps []*Stage, data, model input) (*Stage, error) {
	cfg := b.p.Config
	prof := cfg.Profiles[cs.profile]
	over := prof.Overrides(kind, tk.Name)
	for k, v := range cs.params {
		if kd, name, _ := strings.Cut(k, "."); kd == kind {
			over[name] = v
		}
	}
	swept := false
	for k, v := range cs.setting {
		if kd, name, _ := strings.Cut(k, "."); kd == kind {
			over[name] = v
			swept = true
		}
	}
	for _, d := range deps {
		swept = swept || (d.Spec.Sweep != nil && cs.sweep != nil)
	}
	defaults := hparams.Defaults(kind, tk)
	if _, ok := defaults["heldout"]; ok && cs.heldout > 0 {
		over["heldout"] = cs.heldout
	}
	if _, ok := defaults["seed"]; ok {
		over["seed"] = cs.seed
	}
	sparsity := 0.0
	if kind != record.KindTeacher && m.Family == method.CoFi {
		sparsity = cs.sparsity
	}
	if kind == record.KindPrune {
		over["target_sparsity"] = sparsity
	}
	params, err := hparams.Resolve(kind, tk, over)
	if err != nil {
		return nil, fmt.Errorf("cell %s %s: %s stage: %w", tk.Name, m.Name, kind, err)
	}
	id := Identity{Scheme: IdentityScheme, Kind: kind, Task: tk.Name, Params: params, Data: data.digest, Model: model.digest}
	methodName := m.Name
	if kind == record.KindTeacher {
		methodName = "teacher" // the teacher method's name: one teacher serves every method
	} else {
		id.Method = m.Name
	}
	if kind == record.KindSpeed {
		id.Device = b.opt.Device
	}
	if cfg.InvalidateOnCommit {
		id.Code = b.opt.Code
	}
	execKind := kind
	if cfg.Fake {
		execKind = record.KindFake
		id.Exec = execKind
		steps, stepMS, fail := fakeSettings(cfg.FakeStage, kind, tk.Name, methodName, sparsity, cs.seed)
		params[fake.ParamKind] = kind
		params[fake.ParamSteps] = steps
		params[fake.ParamStepMS] = stepMS
		params[fake.ParamFail] = fail
	}
	if len(deps) > 0 {
		id.Upstream = map[string]string{}
		for _, d := range deps {
			id.Upstream[d.Kind] = d.ID
		}
	}
	h := id.Hash()
	if s, ok := b.p.byID[h]; ok {
		return s, nil
	}
	s := &Stage{ID: h, Kind: kind, Identity: id, Upstream: deps,
		MissingInput: data.missing != nil || model.missing != nil,
		Exclusive:    kind == record.KindSpeed && b.opt.Device == "cpu"}
	s.Spec = stage.Spec{
		ID: h, Kind: execKind, Task: tk.Name, Method: methodName, Sparsity: sparsity, Seed: cs.seed,
		Params: params,
		Inputs: map[string]string{"data": data.dir, "data_root": data.root, "model": model.dir},
		Dir:    StageDir(b.p.Dir, s.Name()), Device: b.opt.Device, Threads: b.opt.Threads,
	}
	if swept {
		s.Spec.Sweep = b.sweepRecord(tk, cs)
	}
	for _, d := range deps {
		s.Spec.Inputs[d.Kind] = d.Spec.Dir
		d.Downstream = append(d.Downstream, s)
	}
	b.p.byID[h] = s
	b.p.Stages = append(b.p.Stages, s)
	return s, nil
}

// fakeSettings applies the [fake_stage] defaults and the rules matching a stage, later rules winning.
func fakeSettings(f config.FakeStage, kind, taskName, methodName string, sparsity float64, seed int64) (steps, stepMS int, fail string) {
	steps, stepMS, fail = f.Steps, f.StepMS, f.Fail
	for _, r := range f.Rules {
		if r.Kind != "" && r.Kind != kind || r.Task != "" && r.Task != taskName || r.Method != "" && r.Method != methodName ||
			r.Sparsity != nil && *r.Sparsity != sparsity || r.Seed != nil && *r.Seed != seed {
			continue
		}
		if r.Steps != nil {
			steps = *r.Steps
		}
		if r.StepMS != nil {
			stepMS = *r.StepMS
		}
		if r.Fail != nil {
			fail = *r.Fail
		}
	}
	return steps, stepMS, fail
}

func sortedKeys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func containsStr(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
