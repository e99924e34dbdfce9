package table_test

import (
	"os"

	"github.com/cofiharness/cofi/report/stats"
	"github.com/cofiharness/cofi/report/table"
)

// A table is built once and written in any format; here as Markdown, with
// the best value of a row group in bold and a missing value's reason as a
// footnote.
func ExampleWrite() {
	t := &table.Table{
		ID: "demo", Title: "Demo", Stub: "method",
		Columns: []table.Column{{Key: "mnli", Header: "MNLI"}, {Key: "qqp", Header: "QQP"}},
		Rows: []table.Row{
			{Label: "CoFi — ours", Group: "ours", Better: table.Higher, Cells: []table.Cell{
				table.Stat(stats.Summarize([]float64{80.3, 80.9}), 1, ""), table.Miss("qqp cofi 95% seed 57: final stage failed (oom)")}},
			{Label: "-hidden — ours", Group: "ours", Better: table.Higher, Cells: []table.Cell{table.Num(79.5, 1, ""), table.Num(89.0, 1, "")}},
		},
	}
	table.Write(os.Stdout, t, table.Markdown)
	// Output:
	// ### Demo
	//
	// | method         |                 MNLI |  QQP |
	// |:---------------|---------------------:|-----:|
	// | CoFi — ours    | **80.6 ± 0.4 (n=2)** | —[1] |
	// | -hidden — ours |                 79.5 | 89.0 |
	//
	// [1] qqp cofi 95% seed 57: final stage failed (oom)
	//
	// Bold: the best of our rows in a column at the printed precision; none when two or more tie.
}
