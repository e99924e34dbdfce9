package report

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/cofiharness/cofi/method"
	"github.com/cofiharness/cofi/report/runs"
	"github.com/cofiharness/cofi/report/table"
	"github.com/cofiharness/cofi/results/reference"
	"github.com/cofiharness/cofi/task"
)

// layersSparsity is the sparsity of the paper's remaining-layers table.
const layersSparsity = 0.95

// Table6 builds the paper's Table 6: which MHA and FFN sublayers survive at
// 95 % sparsity, the paper's three runs per task next to ours (one row per
// seed).
func Table6(set *runs.Set, ref *reference.Data, sel Selection) *table.Table {
	paperTasks := uniqTasks(ref.RemainingLayers(""))
	var tasks []string
	for _, tk := range sel.columns(set, paperTasks) {
		// Only tasks with a structure to show: the paper's, or ones we pruned.
		if contains(paperTasks, tk) || len(set.Sparsities(tk, "cofi")) > 0 {
			tasks = append(tasks, tk)
		}
	}
	t := &table.Table{
		ID:    "table6",
		Title: "Table 6: Remaining layers at 95% sparsity",
		Caption: "MHA and FFN sublayers kept (1-based layer numbers, and how many) by CoFi at 95% sparsity: the paper's three runs per task, " +
			"then ours, one row per seed.",
		Stub: "",
		Columns: []table.Column{
			{Key: "mha", Header: "layers", Group: "MHA"}, {Key: "n_mha", Header: "#", Group: "MHA"},
			{Key: "ffn", Header: "layers", Group: "FFN"}, {Key: "n_ffn", Header: "#", Group: "FFN"},
		},
	}
	var notes []string
	for _, tk := range tasks {
		first := true
		for _, l := range ref.RemainingLayers(tk) {
			t.Rows = append(t.Rows, table.Row{Label: fmt.Sprintf("%s — paper run %d", display(tk), l.Run), Rule: first,
				Cells: []table.Cell{table.Txt(joinInts(l.MHA)), table.Num(float64(len(l.MHA)), 0, ""), table.Txt(joinInts(l.FFN)), table.Num(float64(len(l.FFN)), 0, "")}})
			first = false
		}
		sp, note := pick(set, tk, "cofi", layersSparsity, sparsityTol)
		if note != "" {
			notes = append(notes, note)
		}
		rs := set.Select(tk, "cofi", sp)
		if len(rs) == 0 {
			t.Rows = append(t.Rows, table.Row{Label: display(tk) + " — ours", Rule: first,
				Cells: []table.Cell{table.Miss(noRecords), {}, table.Miss(noRecords), {}}})
			continue
		}
		for _, r := range rs {
			label := fmt.Sprintf("%s — ours seed %d", display(tk), r.Seed)
			st, why := r.Structure()
			if st == nil {
				reason := fmt.Sprintf("%s: %s", r.Key, runs.Brief(why))
				t.Rows = append(t.Rows, table.Row{Label: label, Rule: first, Cells: []table.Cell{table.Miss(reason), {}, table.Miss(reason), {}}})
				first = false
				continue
			}
			mha, ffn := kept(st.MHA), kept(st.FFN)
			t.Rows = append(t.Rows, table.Row{Label: label, Rule: first,
				Cells: []table.Cell{table.Txt(joinInts(mha)), table.Num(float64(len(mha)), 0, ""), table.Txt(joinInts(ffn)), table.Num(float64(len(ffn)), 0, "")}})
			first = false
		}
	}
	t.Notes = notes
	return t
}

// StructureTable lists, for every pruned run, the heads and intermediate
// units kept per layer and the hidden dimensions kept.
func StructureTable(set *runs.Set) *table.Table {
	layers := 0
	for _, r := range set.Runs {
		if st, _ := r.Structure(); st != nil && st.Layers > layers {
			layers = st.Layers
		}
	}
	if layers == 0 {
		layers = 12
	}
	t := &table.Table{
		ID:      "structure",
		Title:   "Structure of each pruned model",
		Caption: "Attention heads and FFN intermediate units kept per layer (0 where the sublayer is pruned away), their totals, and the hidden dimensions kept.",
		Stub:    "run",
	}
	for l := 1; l <= layers; l++ {
		t.Columns = append(t.Columns, table.Column{Key: fmt.Sprintf("L%d", l), Header: fmt.Sprintf("L%d", l)})
	}
	t.Columns = append(t.Columns, table.Column{Key: "total", Header: "total"}, table.Column{Key: "hidden", Header: "hidden"})
	for _, r := range set.Runs {
		if m, err := method.Lookup(r.Method); err != nil || m.Family != method.CoFi {
			continue
		}
		label := r.Key.String()
		st, why := r.Structure()
		if st == nil {
			cells := make([]table.Cell, len(t.Columns))
			for i := range cells {
				cells[i] = table.Miss(fmt.Sprintf("%s: %s", r.Key, runs.Brief(why)))
			}
			t.Rows = append(t.Rows, table.Row{Label: label + " — heads", Rule: true, Cells: cells})
			continue
		}
		var heads, inter []table.Cell
		var sh, si int
		for l := 0; l < layers; l++ {
			h, i := at(st.Heads, l), at(st.Intermediate, l)
			sh += h
			si += i
			heads = append(heads, table.Num(float64(h), 0, ""))
			inter = append(inter, table.Num(float64(i), 0, ""))
		}
		heads = append(heads, table.Num(float64(sh), 0, ""), table.Num(float64(st.Hidden), 0, ""))
		inter = append(inter, table.Num(float64(si), 0, ""), table.Cell{})
		t.Rows = append(t.Rows, table.Row{Label: label + " — heads", Rule: true, Cells: heads},
			table.Row{Label: label + " — FFN units", Cells: inter})
	}
	return t
}

// RunsTable lists every run with its scores, size, speed, training time and
// status: the table to read first when something looks wrong.
func RunsTable(set *runs.Set) *table.Table {
	t := &table.Table{
		ID:      "runs",
		Title:   "Every run",
		Caption: "One row per task, method, target sparsity and seed, and for a swept cell one per setting (the one its rule selected marked): the headline score, every other metric, the sparsity and size reached, the speedup, training hours and what failed.",
		Stub:    "run",
		Columns: []table.Column{
			{Key: "score", Header: "score"}, {Key: "metric", Header: "metric"}, {Key: "other", Header: "other metrics"},
			{Key: "sparsity", Header: "sparsity"}, {Key: "params_m", Header: "params (M)"}, {Key: "speedup", Header: "speedup"},
			{Key: "train_h", Header: "train (h)"}, {Key: "status", Header: "status"},
		},
	}
	// Millions with one decimal, or three for models under a million (the demo's).
	paramDigits := 3
	for _, r := range set.Runs {
		if sz, _ := r.Size(); sz != nil && sz.Params >= 1e6 {
			paramDigits = 1
		}
	}
	for _, r := range set.Every() {
		cells := make([]table.Cell, len(t.Columns))
		h := r.Headline()
		metric := headlineKey(r.Task)
		if h.OK {
			cells[0] = table.Num(h.V, 2, "")
			if h.Note != "" {
				cells[0] = cells[0].WithNote(h.Note)
			}
		} else {
			cells[0] = table.Miss(h.Reason)
		}
		cells[1] = table.Txt(metric)
		cells[2] = table.Txt(otherMetrics(r, metric))
		if sz, _ := r.Size(); sz != nil {
			cells[3] = table.Num(sz.Sparsity*100, 1, "%")
			cells[4] = table.Num(float64(sz.Params)/1e6, paramDigits, "")
		}
		if sp := r.Speedup(); sp.OK {
			cells[5] = table.Num(sp.V, 2, "×")
		}
		if tr := trainHours(r); tr.OK {
			cells[6] = table.Num(tr.V, 2, "")
		}
		status := "ok"
		if f := r.Failed(); len(f) > 0 {
			status = strings.Join(f, "; ")
		}
		cells[7] = table.Txt(status)
		t.Rows = append(t.Rows, table.Row{Label: r.Label(), Cells: cells})
	}
	return t
}

func headlineKey(taskName string) string {
	t, err := task.Lookup(taskName)
	if err != nil {
		return ""
	}
	return t.Headline
}

// otherMetrics prints every metric of the run's main stage but the headline.
func otherMetrics(r *runs.Run, headline string) string {
	st := r.Main()
	if !st.OK() {
		return ""
	}
	var parts []string
	keys := make([]string, 0, len(st.Record.Result.Metrics))
	for k := range st.Record.Result.Metrics {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if k != headline {
			parts = append(parts, fmt.Sprintf("%s %.2f", k, st.Record.Result.Metrics[k]))
		}
	}
	return strings.Join(parts, ", ")
}

func kept(flags []bool) []int {
	var out []int
	for i, k := range flags {
		if k {
			out = append(out, i+1)
		}
	}
	return out
}

func joinInts(v []int) string {
	if len(v) == 0 {
		return "none"
	}
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ",")
}

func at(v []int, i int) int {
	if i < len(v) {
		return v[i]
	}
	return 0
}

func uniqTasks(ls []reference.LayerRun) []string {
	var out []string
	for _, l := range ls {
		if !contains(out, l.Task) {
			out = append(out, l.Task)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
