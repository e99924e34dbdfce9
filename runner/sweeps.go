package runner

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/cofiharness/cofi/runner/plan"
)

// SweepJSON is one swept cell of PlanJSON: its candidates (one cell per
// setting), the stages they share and the rule that selects one.
type SweepJSON struct {
	ID         string         `json:"id"`
	Sweep      string         `json:"sweep"`
	Describe   string         `json:"describe"`
	Task       string         `json:"task"`
	Method     string         `json:"method"`
	Sparsity   float64        `json:"sparsity"`
	Seed       int64          `json:"seed"`
	Params     map[string]any `json:"params,omitempty"`
	Select     string         `json:"select"`
	Metric     string         `json:"metric"`
	On         string         `json:"on"`
	Heldout    float64        `json:"heldout,omitempty"`
	Settings   []SettingJSON  `json:"settings"`
	Shared     []string       `json:"shared_stages"`      // ids of the stages every setting uses
	PerSetting int            `json:"per_setting_stages"` // stages of single settings
}

// SettingJSON is one candidate of a sweep.
type SettingJSON struct {
	Index   int            `json:"index"`
	Setting map[string]any `json:"setting"`
	Cell    string         `json:"cell"`
}

// CellSweepJSON places a cell in its sweep.
type CellSweepJSON struct {
	Group   string         `json:"group"`
	Index   int            `json:"index"`
	Setting map[string]any `json:"setting"`
}

func sweepsJSON(p *plan.Plan) []SweepJSON {
	var out []SweepJSON
	for _, g := range p.Sweeps {
		sj := SweepJSON{ID: g.ID, Sweep: g.Sweep.Name, Describe: g.Sweep.Describe(), Task: g.Task, Method: g.Method,
			Sparsity: g.Sparsity, Seed: g.Seed, Params: g.Params, Select: g.Sweep.Select, Metric: g.Metric, On: g.Sweep.On,
			Heldout: g.Heldout, PerSetting: len(g.PerSetting())}
		for _, c := range g.Cells {
			sj.Settings = append(sj.Settings, SettingJSON{Index: c.Sweep.Index, Setting: c.Sweep.Setting, Cell: c.ID})
		}
		for _, s := range g.Shared() {
			sj.Shared = append(sj.Shared, s.ID)
		}
		out = append(out, sj)
	}
	return out
}

// writeSweeps prints the sweeps of a plan: each sweep's definition, then one
// line per swept cell with the stages its settings share and their own.
func writeSweeps(w io.Writer, p *plan.Plan) error {
	if len(p.Sweeps) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	seen := map[string]bool{}
	for _, g := range p.Sweeps {
		if d := g.Sweep.Describe(); !seen[d] {
			seen[d] = true
			fmt.Fprintf(w, "sweep %s\n", d)
		}
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SWEEP\tTASK\tMETHOD\tSPARSITY\tSEED\tSETTINGS\tSHARED STAGES\tPER-SETTING STAGES\tSELECTS")
	candidates := 0
	for _, g := range p.Sweeps {
		candidates += len(g.Cells)
		on := "dev"
		if g.Heldout > 0 {
			on = fmt.Sprintf("held-out %g of train", g.Heldout)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%s\t%s\t%s %s on %s\n", g.ID, g.Task, g.Method, sparsity(g.Sparsity), g.Seed,
			len(g.Cells), kindList(g.Shared()), kindList(g.PerSetting()), g.Sweep.Select, g.Metric, on)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "%d swept cell(s), %d candidate cells; each reports the setting its rule selects, the runs table lists all\n", len(p.Sweeps), candidates)
	return nil
}

// kindList counts stages by kind: "teacher, prune, speed" or "9 final".
func kindList(ss []*plan.Stage) string {
	if len(ss) == 0 {
		return "-"
	}
	n := map[string]int{}
	var order []string
	for _, s := range ss {
		if n[s.Kind] == 0 {
			order = append(order, s.Kind)
		}
		n[s.Kind]++
	}
	var parts []string
	for _, k := range order {
		if n[k] == 1 {
			parts = append(parts, k)
		} else {
			parts = append(parts, fmt.Sprintf("%d %s", n[k], k))
		}
	}
	return strings.Join(parts, ", ")
}

var kindOrder = []string{"teacher", "baseline", "prune", "final", "speed", "eval", "fake"}

// kindCounts prints stage counts in pipeline order: "teacher 9, prune 9, final 81, speed 9".
func kindCounts(m map[string]int) string {
	var parts []string
	done := map[string]bool{}
	for _, k := range kindOrder {
		if m[k] > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
			done[k] = true
		}
	}
	var rest []string
	for k := range m {
		if !done[k] && m[k] > 0 {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	for _, k := range rest {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func sortedAny(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
