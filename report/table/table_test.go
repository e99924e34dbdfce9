package table

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cofiharness/cofi/report/stats"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from golden (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", p, got, want)
	}
}

// sample exercises every feature: groups, a rule, stats with n, a missing
// cell with a reason, a shared footnote, a signed difference, text, special
// characters for LaTeX and a Markdown pipe.
func sample() *Table {
	return &Table{
		ID: "sample", Title: "Table X: a sample", Caption: "Speedups on cuda: H100 (paper: V100); 100% = all | none.", Stub: "method",
		Columns: []Column{{Key: "a@0.6", Header: "60%", Group: "QNLI"}, {Key: "a@0.95", Header: "95%", Group: "QNLI"}, {Key: "train", Header: "train (h)"}},
		Rows: []Row{
			{Label: "CoFi — ours", Group: "ours", Better: Higher, Cells: []Cell{
				Stat(stats.Summarize([]float64{91.2, 91.6, 91.4}), 1, ""), Miss("final stage failed (oom): CUDA out of memory"), Num(3.25, 1, "")}},
			{Label: "-layer_x — ours", Group: "ours", Better: Higher, Cells: []Cell{
				Num(91.45, 1, ""), Num(85.0, 1, "").WithNote("score from the prune stage"), Miss("final stage failed (oom): CUDA out of memory")}},
			{Label: "Δ CoFi", Cells: []Cell{Diff(-0.4, 1, ""), Diff(0.04, 1, ""), {}}},
			{Label: "CoFi — paper", Rule: true, Group: "paper", Better: Higher, Cells: []Cell{Num(91.8, 1, ""), Num(86.1, 1, ""), Txt("≤ 20")}},
			{Label: "speedup — ours", Group: "speed", Better: Higher, Cells: []Cell{Num(2.06, 1, "×"), Num(12.04, 1, "×"), {}}},
		},
		Notes: []string{"Values are mean ± sample std over n seeds & 1 run each."},
	}
}

func TestFormatsGolden(t *testing.T) {
	for _, f := range Formats {
		t.Run(string(f), func(t *testing.T) {
			var b bytes.Buffer
			if err := Write(&b, sample(), f); err != nil {
				t.Fatal(err)
			}
			golden(t, "sample."+string(f), b.Bytes())
			// Same input, same bytes.
			var again bytes.Buffer
			Write(&again, sample(), f)
			if !bytes.Equal(b.Bytes(), again.Bytes()) {
				t.Error("output is not deterministic")
			}
		})
	}
}

func TestValue(t *testing.T) {
	for _, c := range []struct {
		c    Cell
		want string
	}{
		{Num(80.25, 1, ""), "80.3"}, // half away from zero, not banker's or binary
		{Num(-0.04, 1, ""), "0.0"},  // no negative zero
		{Diff(0.25, 1, ""), "+0.3"},
		{Diff(-1.35, 1, ""), "-1.4"},
		{Diff(0.01, 1, ""), "0.0"},
		{Num(12.04, 1, "×"), "12.0×"},
		{Stat(stats.Summary{Mean: 90.29, Std: 0.4019, N: 3}, 1, ""), "90.3 ± 0.4 (n=3)"},
		{Stat(stats.Summary{Mean: 90.29, N: 1}, 2, ""), "90.29"},
		{Miss("why"), "—"},
		{Cell{Kind: Missing, Text: "n/r"}, "n/r"},
		{Txt("≤ 20"), "≤ 20"},
		{Cell{}, ""},
	} {
		if got := c.c.Value(); got != c.want {
			t.Errorf("%+v: %q, want %q", c.c, got, c.want)
		}
	}
}

func TestBest(t *testing.T) {
	tb := sample()
	for _, c := range []struct {
		i, j int
		want bool
	}{
		{0, 0, false}, // 91.4 vs 91.45 -> 91.5 wins
		{1, 0, true},
		{1, 1, false}, // only one number in the group's column: nothing to beat
		{3, 0, false}, // alone in its group
		{2, 0, false}, // differences are never best
	} {
		if got := tb.Best(c.i, c.j); got != c.want {
			t.Errorf("Best(%d,%d) = %v, want %v", c.i, c.j, got, c.want)
		}
	}
}

func TestFootnotesShared(t *testing.T) {
	notes, num := sample().Footnotes()
	if len(notes) != 2 || num["final stage failed (oom): CUDA out of memory"] != 1 || num["score from the prune stage"] != 2 {
		t.Errorf("notes %v %v", notes, num)
	}
}

func TestLaTeXRulesAndBold(t *testing.T) {
	var b bytes.Buffer
	if err := Write(&b, sample(), LaTeX); err != nil {
		t.Fatal(err)
	}
	s := b.String()
	for _, want := range []string{`\toprule`, `\midrule`, `\bottomrule`, `\cmidrule(lr){2-5}`, `\multicolumn{4}{c}{QNLI}`,
		`\textbf{91} & \textbf{.5}`, `\multicolumn{2}{c}{---\textsuperscript{1}}`, `-layer\_x`, `$\Delta$`, `100\% = all $|$ none`,
		`\multicolumn{2}{c}{$\leq$ 20}`, `91 & .4\,\textsubscript{$\pm$0.2}`, `$-$0 & .4`, `\begin{table}[t]`, BoldRule,
		"@{}lr@{}lr@{}lr@{}l@{}", `\caption{a sample. Speedups`} {
		if !strings.Contains(s, want) {
			t.Errorf("LaTeX lacks %q", want)
		}
	}
	if strings.Count(s, `\midrule`) != 2 {
		t.Errorf("want a midrule under the header and one before the paper row:\n%s", s)
	}
	if strings.Contains(s, "Table X") {
		t.Errorf("the caption repeats the number LaTeX prints:\n%s", s)
	}
	// Page width: a table* environment.
	tb := sample()
	tb.Width = PageWidth
	b.Reset()
	Write(&b, tb, LaTeX)
	if !strings.Contains(b.String(), `\begin{table*}[t]`) || !strings.Contains(b.String(), `\end{table*}`) {
		t.Errorf("page width:\n%s", b.String())
	}
}

func TestEscape(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`~ 350`, `$\sim$ 350`},
		{`not reported in the paper ("-")`, "not reported in the paper (``-'')"},
		{`say "yes" now`, "say ``yes'' now"},
		{`a_b & c% #1 $2 {x} ^`, `a\_b \& c\% \#1 \$2 \{x\} \textasciicircum{}`},
		{`x < y > z | w \`, `x $<$ y $>$ z $|$ w \textbackslash{}`},
		{`± × — – Δ ≤ ≥ ≈ → − λ …`, `$\pm$ $\times$ --- -- $\Delta$ $\leq$ $\geq$ $\approx$ $\rightarrow$ $-$ $\lambda$ \dots{}`},
		{`Zürich`, `Zürich`},
		{`snow ☃`, `snow ?`},
	} {
		if got := Escape(c.in); got != c.want {
			t.Errorf("Escape(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestBestTies: a tie makes none bold, and rows without a group never are.
func TestBestTies(t *testing.T) {
	tb := &Table{Columns: []Column{{Key: "a"}}, Rows: []Row{
		{Label: "x", Group: "g", Better: Higher, Cells: []Cell{Num(90.04, 1, "")}},
		{Label: "y", Group: "g", Better: Higher, Cells: []Cell{Num(89.96, 1, "")}},
		{Label: "z", Group: "g", Better: Higher, Cells: []Cell{Num(80, 1, "")}},
		{Label: "paper", Better: Higher, Cells: []Cell{Num(99, 1, "")}},
	}}
	for i := range tb.Rows {
		if tb.Best(i, 0) {
			t.Errorf("row %s bold: 90.0 ties at the printed precision", tb.Rows[i].Label)
		}
	}
	tb.Rows[1].Cells[0] = Num(89.9, 1, "")
	if !tb.Best(0, 0) || tb.Best(1, 0) || tb.Best(3, 0) {
		t.Error("the single best of the group is bold, nothing else")
	}
}

func TestValidate(t *testing.T) {
	tb := sample()
	tb.Rows[1].Cells = tb.Rows[1].Cells[:2]
	if err := Write(&bytes.Buffer{}, tb, Markdown); err == nil || !strings.Contains(err.Error(), "2 cells for 3 columns") {
		t.Errorf("err %v", err)
	}
	if err := Write(&bytes.Buffer{}, sample(), "html"); err == nil {
		t.Error("unknown format accepted")
	}
}
