package plan

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"

	"github.com/cofiharness/cofi/method"
	"github.com/cofiharness/cofi/record"
	"github.com/cofiharness/cofi/runner/config"
	"github.com/cofiharness/cofi/task"
)

// A SweepGroup is one cell of a grid with a sweep: its candidates, one cell
// per setting, of which the report shows the one the sweep's rule selects.
type SweepGroup struct {
	ID       string // hash of the cell without the swept values
	Sweep    *config.Sweep
	Metric   string // the record metric key selected on ("rte/acc", "heldout/acc")
	Task     string
	Method   string
	Sparsity float64
	Seed     int64
	Params   map[string]any // the cell's axis values
	Heldout  float64
	Cells    []*Cell // by setting index
}

// CellSweep places a cell in its sweep.
type CellSweep struct {
	Group   *SweepGroup
	Index   int            // setting, 0-based
	Setting map[string]any // "KIND.NAME" -> value
}

// Shared lists the stages every candidate uses (the teacher, the prune stage
// of a final-stage sweep, ...), in plan order; PerSetting lists the others.
func (g *SweepGroup) Shared() []*Stage {
	shared, _ := g.split()
	return shared
}

// PerSetting lists the stages of single settings, in plan order.
func (g *SweepGroup) PerSetting() []*Stage {
	_, per := g.split()
	return per
}

func (g *SweepGroup) split() (shared, per []*Stage) {
	uses := map[*Stage]int{}
	var order []*Stage
	for _, c := range g.Cells {
		for _, s := range c.Stages {
			if uses[s] == 0 {
				order = append(order, s)
			}
			uses[s]++
		}
	}
	for _, s := range order {
		if uses[s] == len(g.Cells) && len(g.Cells) > 1 {
			shared = append(shared, s)
		} else {
			per = append(per, s)
		}
	}
	return shared, per
}

// sweptKinds lists the stage kinds of a method's chain that a sweep sets.
func sweptKinds(s *config.Sweep, m method.Method) []string {
	kinds, _ := chain(m)
	var out []string
	for _, k := range s.Kinds() {
		if containsStr(kinds, k) {
			out = append(out, k)
		}
	}
	return out
}

// sweepCells replaces each cell of a grid with a sweep by its candidates:
// one per setting, restricted to the swept keys of stage kinds the cell's
// chain has (a teacher cell is not swept by final-stage values). With on =
// "heldout" every cell of the grid holds out the same slice of train.
func sweepCells(cells []cellSpec, g config.Grid) []cellSpec {
	s := g.Sweep
	if s == nil {
		return cells
	}
	var out []cellSpec
	for _, c := range cells {
		if s.On == config.OnHeldout {
			c.heldout = s.Heldout
		}
		m, _ := method.Lookup(c.method)
		kinds := sweptKinds(s, m)
		if len(kinds) == 0 {
			out = append(out, c)
			continue
		}
		sets := settingsFor(s, kinds)
		for i, set := range sets {
			cc := c
			cc.sweep, cc.index, cc.size, cc.setting = s, i, len(sets), set
			out = append(out, cc)
		}
	}
	return out
}

// settingsFor lists the distinct settings of a sweep restricted to the keys
// of some stage kinds, in the sweep's order.
func settingsFor(s *config.Sweep, kinds []string) []map[string]any {
	var out []map[string]any
	seen := map[string]bool{}
	for _, set := range s.Settings() {
		r := map[string]any{}
		for k, v := range set {
			kind, _, _ := strings.Cut(k, ".")
			if containsStr(kinds, kind) {
				r[k] = v
			}
		}
		b, _ := json.Marshal(r)
		if !seen[string(b)] {
			seen[string(b)] = true
			out = append(out, r)
		}
	}
	return out
}

// groupID identifies a candidate's selection group: the cell without the
// swept values, and the sweep.
func groupID(cs cellSpec) string {
	b, _ := json.Marshal([]any{cs.task, cs.method, cs.sparsity, cs.seed, cs.profile, cs.params, cs.heldout,
		cs.sweep.Name, cs.sweep.Describe()})
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])[:12]
}

// sweepRecord is what records of a candidate's setting-dependent stages carry.
func (b *builder) sweepRecord(tk task.Task, cs cellSpec) *record.Sweep {
	metric, _ := cs.sweep.MetricKey(tk) // checked when the config was read
	return &record.Sweep{Group: groupID(cs), Name: cs.sweep.Name, Index: cs.index, Size: cs.size,
		Setting: cs.setting, Select: cs.sweep.Select, Metric: metric, On: cs.sweep.On}
}

// addToGroup files a new candidate cell under its sweep group.
func (b *builder) addToGroup(c *Cell, cs cellSpec) {
	if cs.sweep == nil {
		return
	}
	id := groupID(cs)
	g, ok := b.groups[id]
	if !ok {
		metric, _ := cs.sweep.MetricKey(task.MustLookup(cs.task))
		g = &SweepGroup{ID: id, Sweep: cs.sweep, Metric: metric, Task: cs.task, Method: cs.method, Sparsity: cs.sparsity,
			Seed: cs.seed, Params: cs.params, Heldout: cs.heldout}
		b.groups[id] = g
		b.p.Sweeps = append(b.p.Sweeps, g)
	}
	c.Sweep = &CellSweep{Group: g, Index: cs.index, Setting: cs.setting}
	g.Cells = append(g.Cells, c)
}
