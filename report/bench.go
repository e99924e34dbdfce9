package report

import (
	"bufio"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/cofiharness/cofi/report/runs"
)

// WriteBench writes runs in Go's benchmark text format, so that
// `benchstat old.bench new.bench` compares two experiments with its own
// statistics. One benchmark per (task, method, sparsity); each seed is one
// sample line with every score metric, the speedup and the sparsity reached,
// and each timed round of the speed stage one sample of ms/round. Unit lines
// tell benchstat which direction is better.
func WriteBench(w io.Writer, set *runs.Set) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "# cofi runs as Go benchmark lines: compare two files with benchstat\n")
	units := map[string]bool{}
	var lines []string
	for _, r := range set.Runs {
		name := benchName(r.Key)
		var fields []string
		if st := r.Main(); st.OK() {
			keys := make([]string, 0, len(st.Record.Result.Metrics))
			for k := range st.Record.Result.Metrics {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				fields = append(fields, benchValue(st.Record.Result.Metrics[k]), k)
				units[k] = true
			}
		}
		if sp := r.Speedup(); sp.OK {
			fields = append(fields, benchValue(sp.V), "speedup")
			units["speedup"] = true
		}
		if sz, _ := r.Size(); sz != nil && r.Sparsity > 0 {
			fields = append(fields, benchValue(sz.Sparsity), "sparsity")
		}
		if len(fields) > 0 {
			lines = append(lines, fmt.Sprintf("%s 1 %s", name, strings.Join(fields, " ")))
		}
		if l, _ := r.Latency(); l != nil {
			for _, ms := range l.RoundsMS {
				lines = append(lines, fmt.Sprintf("%s 1 %s ms/round", name, benchValue(ms)))
			}
		}
	}
	names := make([]string, 0, len(units))
	for u := range units {
		names = append(names, u)
	}
	sort.Strings(names)
	for _, u := range names {
		fmt.Fprintf(bw, "Unit %s better=higher\n", u)
	}
	fmt.Fprintf(bw, "Unit ms/round better=lower\n")
	for _, l := range lines {
		fmt.Fprintln(bw, l)
	}
	return bw.Flush()
}

// benchName is "BenchmarkCoFi/task=mnli/method=cofi/sparsity=0.95": the
// seed is left out so that benchstat treats seeds as samples.
func benchName(k runs.Key) string {
	return fmt.Sprintf("BenchmarkCoFi/task=%s/method=%s/sparsity=%s", k.Task, k.Method, strconv.FormatFloat(k.Sparsity, 'f', -1, 64))
}

func benchValue(v float64) string { return strconv.FormatFloat(v, 'g', 8, 64) }
