package runs

import (
	"fmt"
	"sort"
	"strings"

	"github.com/cofiharness/cofi/record"
)

// Selection is how a swept cell's reported run was chosen: the sweep, its
// rule, every candidate and the one chosen.
type Selection struct {
	Group  string
	Name   string // the sweep's name ("authors")
	Rule   string // "best"
	Metric string // record metric selected on ("rte/acc", "heldout/acc")
	On     string // "dev" or "heldout"
	Size   int    // settings the sweep declared
	// Candidates holds every setting with records, by index; Scored counts
	// those with the selection metric.
	Candidates []*Run
	Scored     int
	Chosen     *Run
	Value      float64 // the chosen candidate's selection metric
}

// Candidate is one setting of a sweep.
type Candidate struct {
	Index    int
	Setting  map[string]any
	Selected bool
}

// SettingString prints a setting: "final.alpha_layer=0.7 final.alpha_pred=0.3 final.lr=2e-05".
func SettingString(set map[string]any) string {
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%v", k, set[k])
	}
	return strings.Join(parts, " ")
}

// String says what was selected and from how many settings, for footnotes.
func (s *Selection) String() string {
	on := "on dev"
	if s.On == "heldout" {
		on = "on the held-out slice of train (dev reported)"
	}
	from := fmt.Sprintf("of %d settings", s.Size)
	if s.Scored < s.Size {
		from = fmt.Sprintf("of the %d of %d settings with results", s.Scored, s.Size)
	}
	if s.Chosen == nil {
		return fmt.Sprintf("sweep %q: no setting has %s yet (%s)", s.Name, s.Metric, from)
	}
	return fmt.Sprintf("%s, the %s %s %.2f %s %s (sweep %q)", SettingString(s.Chosen.Candidate.Setting), s.Rule, s.Metric, s.Value, from, on, s.Name)
}

// sweepStages collects the setting-dependent stages of one key's sweeps.
type sweepStages struct {
	groups map[string]map[int]map[string]*Stage // group -> index -> kind -> stage
	order  []string
}

func (w *sweepStages) add(group string, index int, st *Stage) {
	if w.groups == nil {
		w.groups = map[string]map[int]map[string]*Stage{}
	}
	g, ok := w.groups[group]
	if !ok {
		g = map[int]map[string]*Stage{}
		w.groups[group] = g
		w.order = append(w.order, group)
	}
	if g[index] == nil {
		g[index] = map[string]*Stage{}
	}
	g[index][st.Kind] = st
}

// selectInto makes r the selected candidate of its sweep: every setting
// becomes a candidate run (its own stages over r's shared ones), the rule
// picks one, and r takes its stages. Several sweep groups for one key (two
// differently defined sweeps of one cell): the one with the latest record
// decides, with a warning.
func (w *sweepStages) selectInto(r *Run) []string {
	var warnings []string
	group := w.order[0]
	if len(w.order) > 1 {
		latest := func(g string) (t int64) {
			for _, stages := range w.groups[g] {
				for _, st := range stages {
					if e := st.Record.End.UnixNano(); e > t {
						t = e
					}
				}
			}
			return t
		}
		for _, g := range w.order[1:] {
			if latest(g) > latest(group) {
				group = g
			}
		}
		warnings = append(warnings, fmt.Sprintf("%s: %d sweeps of this cell in the records; selecting within the latest (%s)", r.Key, len(w.order), group))
	}
	settings := w.groups[group]
	var idx []int
	for i := range settings {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	shared := r.Stages
	// Kinds the settings have stages of are theirs alone: a record of such a
	// kind outside the sweep (an older unswept run of the cell) is no
	// candidate's.
	own := map[string]bool{}
	for _, stages := range settings {
		for k := range stages {
			own[k] = true
		}
	}
	for k := range own {
		if st, ok := shared[k]; ok {
			warnings = append(warnings, fmt.Sprintf("%s: a %s record outside the sweep (%s) is ignored; the sweep's settings are the candidates", r.Key, k, st.Source))
		}
	}
	sel := &Selection{Group: group}
	for _, i := range idx {
		c := &Run{Key: r.Key, Stages: map[string]*Stage{}}
		for k, st := range shared {
			if !own[k] {
				c.Stages[k] = st
			}
		}
		var sw *record.Sweep
		for k, st := range settings[i] {
			c.Stages[k] = st
			if sw == nil || k == record.KindFinal {
				sw = st.Record.Sweep
			}
		}
		sel.Name, sel.Rule, sel.Metric, sel.On, sel.Size = sw.Name, sw.Select, sw.Metric, sw.On, sw.Size
		c.Candidate = &Candidate{Index: i, Setting: sw.Setting}
		sel.Candidates = append(sel.Candidates, c)
		v := c.Score(sw.Metric)
		if !v.OK || c.Main() == nil || c.Main().Kind == record.KindPrune {
			continue // no score of this setting's own yet
		}
		sel.Scored++
		// "best": the highest metric; ties go to the earlier setting.
		if sel.Chosen == nil || v.V > sel.Value {
			sel.Chosen, sel.Value = c, v.V
		}
	}
	if sel.Chosen == nil {
		// Nothing to select from yet: the run keeps the stages no setting
		// owns (a prune stage's score with its note) and says so.
		for k := range own {
			delete(r.Stages, k)
		}
		r.Selection = sel
		return warnings
	}
	sel.Chosen.Candidate.Selected = true
	r.Stages = sel.Chosen.Stages
	r.Candidate = sel.Chosen.Candidate
	r.Selection = sel
	return warnings
}

// Every lists every run with the candidates of swept cells in place of the
// selected run, in report order.
func (s *Set) Every() []*Run {
	var out []*Run
	for _, r := range s.Runs {
		if r.Selection == nil || len(r.Selection.Candidates) == 0 {
			out = append(out, r)
			continue
		}
		out = append(out, r.Selection.Candidates...)
	}
	return out
}

// Label names a run in listings: its key, and for a sweep candidate its setting.
func (r *Run) Label() string {
	if r.Candidate == nil {
		return r.Key.String()
	}
	s := fmt.Sprintf("%s [%s]", r.Key, SettingString(r.Candidate.Setting))
	if r.Candidate.Selected {
		s += " selected"
	}
	return s
}

// SelectHeldout returns the runs of a task and method at a sparsity (< 0:
// any) whose stages held out part of the training set to select on.
func (s *Set) SelectHeldout(taskName, methodName string, sparsity float64) []*Run {
	var out []*Run
	for _, r := range s.Runs {
		if r.Task == taskName && r.Method == methodName && (sparsity < 0 || r.Sparsity == RoundSparsity(sparsity)) && r.Heldout > 0 {
			out = append(out, r)
		}
	}
	return out
}
