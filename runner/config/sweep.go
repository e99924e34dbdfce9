package config

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/cofiharness/cofi/record"
	"github.com/cofiharness/cofi/task"
)

// A Sweep is a hyperparameter search run for every cell of a grid that uses
// it: each setting is a candidate cell of its own, and one candidate per cell
// is selected by Select on Metric and reported (the others appear in the
// every-run table). Stages that do not depend on a swept value are shared by
// all candidates: a sweep over final-stage values prunes once per cell.
//
//	[sweeps.NAME]
//	select = "best"         # the only rule: the highest Metric wins (ties: the earlier setting)
//	metric = "headline"     # the task's reported metric, a metric name ("f1") or a key ("mnli-m/acc")
//	on = "dev"              # choose on the dev set (the authors), or "heldout": on a slice of the
//	heldout = 0.1           #   training set held out from every stage of the cell; dev is still reported
//	[sweeps.NAME.params]
//	"final.lr" = [1e-5, 2e-5, 3e-5]                                            # one value per setting
//	"final.alpha_layer, final.alpha_pred" = [[0.9, 0.1], [0.7, 0.3], [0.5, 0.5]]   # tied values
//
// Settings are the product of the params entries, in key order. The sweep
// "authors" is built in: the authors' README grid.
type Sweep struct {
	Name    string
	Params  []SweepParam // sorted by key
	Select  string       // SelectBest
	Metric  string       // MetricHeadline, a metric name or "<evalset>/<metric>"
	On      string       // OnDev or OnHeldout
	Heldout float64      // fraction held out with On = OnHeldout
}

// SweepParam is one swept hyperparameter, or a group of them whose values
// move together.
type SweepParam struct {
	Key    string   // as written, e.g. "final.alpha_layer, final.alpha_pred"
	Keys   []string // "KIND.NAME" each
	Values [][]any  // one tuple per value, len(Keys) each
}

// Selection rules and sets.
const (
	SelectBest     = "best"
	MetricHeadline = "headline"
	OnDev          = "dev"
	OnHeldout      = "heldout"
	// DefaultHeldout is the fraction held out when on = "heldout" gives none.
	DefaultHeldout = 0.1
	// AuthorsSweep names the built-in sweep.
	AuthorsSweep = "authors"
)

// Authors returns the built-in sweep: the authors' README grid for every task
// (fine-tuning learning rate {1e-5, 2e-5, 3e-5} × (layer α, prediction α) ∈
// {(0.9, 0.1), (0.7, 0.3), (0.5, 0.5)}), swept in the final fine-tuning and
// selected on dev, the best reported.
func Authors() *Sweep {
	return &Sweep{
		Name: AuthorsSweep, Select: SelectBest, Metric: MetricHeadline, On: OnDev,
		Params: []SweepParam{
			{Key: "final.alpha_layer, final.alpha_pred", Keys: []string{"final.alpha_layer", "final.alpha_pred"},
				Values: [][]any{{0.9, 0.1}, {0.7, 0.3}, {0.5, 0.5}}},
			{Key: "final.lr", Keys: []string{"final.lr"}, Values: [][]any{{1e-5}, {2e-5}, {3e-5}}},
		},
	}
}

// Keys lists every swept "KIND.NAME".
func (s *Sweep) Keys() []string {
	var out []string
	for _, p := range s.Params {
		out = append(out, p.Keys...)
	}
	return out
}

// Kinds lists the stage kinds whose hyperparameters the sweep sets.
func (s *Sweep) Kinds() []string {
	var out []string
	for _, k := range s.Keys() {
		kind, _, _ := strings.Cut(k, ".")
		out = appendUnique(out, kind)
	}
	return out
}

// Settings enumerates the sweep: each setting maps "KIND.NAME" to its value.
func (s *Sweep) Settings() []map[string]any {
	out := []map[string]any{{}}
	for _, p := range s.Params {
		var next []map[string]any
		for _, prev := range out {
			for _, tuple := range p.Values {
				m := make(map[string]any, len(prev)+len(tuple))
				for k, v := range prev {
					m[k] = v
				}
				for i, k := range p.Keys {
					m[k] = tuple[i]
				}
				next = append(next, m)
			}
		}
		out = next
	}
	return out
}

// MetricKey resolves the sweep's metric for a task to the key of the records'
// metrics it selects on: on the held-out slice, "heldout/<metric>".
func (s *Sweep) MetricKey(t task.Task) (string, error) {
	key := t.Headline
	switch {
	case s.Metric == "" || s.Metric == MetricHeadline:
	case strings.Contains(s.Metric, "/"):
		key = s.Metric
	default:
		key = task.MetricKey(t.EvalSets[0], s.Metric)
	}
	found := false
	for _, k := range t.MetricKeys() {
		found = found || k == key
	}
	if !found {
		return "", fmt.Errorf("task %s has no metric %q (metrics: %s)", t.Name, key, strings.Join(t.MetricKeys(), ", "))
	}
	if s.On == OnHeldout {
		_, m, _ := strings.Cut(key, "/")
		key = task.MetricKey(task.HeldOut, m)
	}
	return key, nil
}

// Describe is a one-line summary: "final.lr × (final.alpha_layer, final.alpha_pred), 9 settings, best headline on dev".
func (s *Sweep) Describe() string {
	var parts []string
	for _, p := range s.Params {
		if len(p.Keys) == 1 {
			parts = append(parts, p.Keys[0])
		} else {
			parts = append(parts, "("+strings.Join(p.Keys, ", ")+")")
		}
	}
	on := "dev"
	if s.On == OnHeldout {
		on = fmt.Sprintf("a held-out %g of train", s.Heldout)
	}
	return fmt.Sprintf("%s: %s, %d settings, %s %s on %s", s.Name, strings.Join(parts, " × "), len(s.Settings()), s.Select, s.Metric, on)
}

// sweeps reads [sweeps.NAME] tables; the built-in "authors" is always there.
func (w *walker) sweeps(root *tbl) map[string]*Sweep {
	out := map[string]*Sweep{AuthorsSweep: Authors()}
	t, ok := root.sub("sweeps")
	if !ok {
		return out
	}
	for _, name := range sortedKeys(t.m) {
		t.known[name] = true
		path := t.key(name)
		if name == AuthorsSweep {
			w.errorf(path, "the sweep %q is built in (the authors' README grid); give yours another name", AuthorsSweep)
			continue
		}
		if !nameRE.MatchString(name) {
			w.errorf(path, "%q is not a valid sweep name: use letters, digits, '.', '_' and '-'", name)
			continue
		}
		if s := w.sweep(name, w.table(path, t.m[name])); s != nil {
			out[name] = s
		} else {
			w.broken = append(w.broken, name) // its problems are reported; grids naming it need no more
		}
	}
	return out
}

func (w *walker) sweep(name string, t *tbl) *Sweep {
	s := &Sweep{Name: name, Select: SelectBest, Metric: MetricHeadline, On: OnDev}
	if t.str("select", &s.Select) && s.Select != SelectBest {
		w.errorf(t.key("select"), "unknown selection rule %q (rules: %s: the highest metric wins)", s.Select, SelectBest)
	}
	if t.str("metric", &s.Metric) && strings.TrimSpace(s.Metric) == "" {
		w.errorf(t.key("metric"), "empty metric: want %q, a metric name such as \"f1\" or a key such as \"mnli-m/acc\"", MetricHeadline)
	}
	if t.str("on", &s.On) && s.On != OnDev && s.On != OnHeldout {
		w.errorf(t.key("on"), "want %q (select on the dev set, as the authors did) or %q (on a held-out slice of the training set), got %q", OnDev, OnHeldout, s.On)
	}
	if v, ok := t.raw("heldout"); ok {
		f, isNum := v.(float64)
		if n, isInt := v.(int64); isInt {
			f, isNum = float64(n), true
		}
		switch {
		case !isNum || math.IsNaN(f) || f <= 0 || f > 0.5:
			w.errorf(t.key("heldout"), "want the fraction of the training set to hold out, in (0, 0.5], got %s", describe(v))
		case s.On != OnHeldout:
			w.errorf(t.key("heldout"), "only meaningful with on = %q", OnHeldout)
		default:
			s.Heldout = f
		}
	}
	if s.On == OnHeldout && s.Heldout == 0 {
		s.Heldout = DefaultHeldout
	}
	pt, ok := t.sub("params")
	if !ok || len(pt.m) == 0 {
		w.errorf(t.path, "params: a sweep needs at least one swept hyperparameter, e.g. \"final.lr\" = [1e-5, 2e-5, 3e-5]")
		t.finish()
		return nil
	}
	seen := map[string]bool{}
	for _, key := range sortedKeys(pt.m) {
		pt.known[key] = true
		if p, ok := w.sweepParam(pt.key(key), key, pt.m[key], seen); ok {
			s.Params = append(s.Params, p)
		}
	}
	t.finish()
	if len(s.Params) == 0 {
		return nil
	}
	return s
}

// sweepParam reads "KIND.NAME" = [v, ...] or "K1.N1, K2.N2" = [[v1, v2], ...].
func (w *walker) sweepParam(path, key string, v any, seen map[string]bool) (SweepParam, bool) {
	p := SweepParam{Key: key}
	for _, k := range strings.Split(key, ",") {
		k = strings.TrimSpace(k)
		kind, name, ok := strings.Cut(k, ".")
		if !ok || !contains(kindsWithParams(), kind) {
			w.errorf(path, "%q: a swept key is \"KIND.NAME\" with KIND one of %s, e.g. \"final.lr\"; tie several with commas", k, strings.Join(kindsWithParams(), ", "))
			return p, false
		}
		if name == "heldout" {
			w.errorf(path, "%q is set by the sweep's on = %q, not swept", k, OnHeldout)
			return p, false
		}
		if seen[k] {
			w.errorf(path, "%q is swept twice in this sweep", k)
			return p, false
		}
		seen[k] = true
		p.Keys = append(p.Keys, k)
	}
	items, isList := v.([]any)
	if !isList || len(items) == 0 {
		w.errorf(path, "want a non-empty array of values, got %s", describe(v))
		return p, false
	}
	okAll := true
	for j, it := range items {
		tuple := []any{it}
		if len(p.Keys) > 1 {
			tv, isTuple := it.([]any)
			if !isTuple || len(tv) != len(p.Keys) {
				w.errorf(pathIndex(path, j), "want [%s]: one value for each tied key, got %s", strings.Join(p.Keys, ", "), describe(it))
				okAll = false
				continue
			}
			tuple = tv
		}
		conv := make([]any, len(tuple))
		for i, x := range tuple {
			kind, name, _ := strings.Cut(p.Keys[i], ".")
			cv, ok := w.override(pathIndex(path, j), kind, name, x)
			if !ok {
				return p, false // an unknown key or a bad value: one message is enough
			}
			conv[i] = cv
		}
		for _, prev := range p.Values {
			same := true
			for i := range prev {
				same = same && prev[i] == conv[i]
			}
			if same {
				w.errorf(pathIndex(path, j), "value %v appears twice", conv)
				okAll = false
			}
		}
		p.Values = append(p.Values, conv)
	}
	return p, okAll && len(p.Values) > 0
}

// gridSweep checks a grid's sweep against the grid: its metric must exist for
// every task; its keys must not also be axes; heldout needs tasks that support it.
func (w *walker) gridSweep(path string, g *Grid, s *Sweep) {
	for _, tn := range g.Tasks {
		tk := task.MustLookup(tn)
		if _, err := s.MetricKey(tk); err != nil {
			w.errorf(path, "sweep %q selects on %q: %v", s.Name, s.Metric, err)
		}
		if s.On == OnHeldout && tk.Kind == task.Span {
			w.errorf(path, "sweep %q holds out training examples, which span tasks (%s) do not support yet", s.Name, tn)
		}
	}
	for _, a := range g.Axes {
		for _, k := range s.Keys() {
			if a.Key == k {
				w.errorf(path, "%q is both an axis of this grid and swept by %q: an axis makes reported cells, a sweep candidates of one cell", k, s.Name)
			}
		}
	}
}

// gridSweeps resolves every grid's sweep name.
func (w *walker) gridSweeps(root *tbl, c *Config) {
	for i := range c.Grids {
		g := &c.Grids[i]
		if g.SweepName == "" {
			continue
		}
		path := join(pathIndex("grid", g.Index), "sweep")
		s, ok := c.Sweeps[g.SweepName]
		if !ok && contains(w.broken, g.SweepName) {
			continue
		}
		if !ok {
			w.errorf(path, "unknown sweep %q (sweeps: %s)", g.SweepName, strings.Join(c.SweepNames(), ", "))
			continue
		}
		g.Sweep = s
		w.gridSweep(path, g, s)
	}
}

func kindsWithParams() []string {
	return []string{record.KindBaseline, record.KindFinal, record.KindPrune, record.KindTeacher}
}

// SweepNames lists the sweeps, sorted.
func (c *Config) SweepNames() []string {
	var out []string
	for n := range c.Sweeps {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
