// Package table is the one model every report table is built in, and its
// renderers: Markdown and plain text (through tablewriter), LaTeX with
// booktabs rules sized to fit a column or the page of an ACL paper, and CSV
// and JSON for machines. Builders decide what a table says; this package only
// decides how each format prints it, so every format shows the same numbers.
//
// Bold, in every format, follows one rule (BoldRule): among the rows of one
// group (builders put only our rows in groups, never published ones) the
// single best value of a column at the printed precision; a tie makes none
// bold, since a bold that two rows share says nothing.
package table

import (
	"fmt"
	"io"
	"math"
	"strconv"

	"github.com/cofiharness/cofi/report/stats"
)

// Better is the direction in which a row's values improve.
type Better int

const (
	None   Better = iota // not compared (differences, counts, text)
	Higher               // scores, speedups
	Lower                // latencies
)

// Kind is what a cell holds.
type Kind int

const (
	Empty   Kind = iota // nothing to show (not applicable)
	Number              // a value, or a mean ± std over N runs
	Text                // free text ("≤ 20", "1,2,3")
	Missing             // a value that should be there but is not; Note says why
)

var kindNames = [...]string{"empty", "number", "text", "missing"}

func (k Kind) String() string { return kindNames[k] }

// Cell is one table cell.
type Cell struct {
	Kind   Kind
	Mean   float64
	Std    float64
	N      int    // runs behind Mean; > 1 prints "± std (n=N)"
	Digits int    // decimals
	Unit   string // printed after the mean: "×", "%", "h"
	Signed bool   // print a sign (differences)
	Text   string // Text cells; for Missing, replaces the "—" marker
	Note   string // footnote; identical notes share a number
}

// Num is a single number.
func Num(v float64, digits int, unit string) Cell {
	return Cell{Kind: Number, Mean: v, Digits: digits, Unit: unit, N: 1}
}

// Stat is a mean ± std over s.N runs.
func Stat(s stats.Summary, digits int, unit string) Cell {
	return Cell{Kind: Number, Mean: s.Mean, Std: s.Std, N: s.N, Digits: digits, Unit: unit}
}

// Diff is a signed difference.
func Diff(v float64, digits int, unit string) Cell {
	return Cell{Kind: Number, Mean: v, Digits: digits, Unit: unit, N: 1, Signed: true}
}

// Txt is a text cell.
func Txt(s string) Cell { return Cell{Kind: Text, Text: s} }

// Miss is a missing value with the reason as its footnote.
func Miss(reason string) Cell { return Cell{Kind: Missing, Note: reason} }

// WithNote returns c with a footnote (kept when c already has one: the first reason wins).
func (c Cell) WithNote(note string) Cell {
	if c.Note == "" {
		c.Note = note
	}
	return c
}

// Value prints the cell's value without footnote marker or emphasis.
func (c Cell) Value() string {
	switch c.Kind {
	case Number:
		v := roundTo(c.Mean, c.Digits)
		s := strconv.FormatFloat(v, 'f', c.Digits, 64)
		if c.Signed && v > 0 {
			s = "+" + s
		}
		s += c.Unit
		if c.N > 1 {
			s += fmt.Sprintf(" ± %s (n=%d)", strconv.FormatFloat(roundTo(c.Std, c.Digits), 'f', c.Digits, 64), c.N)
		}
		return s
	case Text:
		return c.Text
	case Missing:
		if c.Text != "" {
			return c.Text
		}
		return "—"
	}
	return ""
}

// roundTo rounds half away from zero at the given decimals, so that printing
// does not depend on binary representation (80.25 → 80.3 as a reader expects).
func roundTo(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	r := math.Round(v*p+math.Copysign(1e-9, v)) / p
	if r == 0 {
		return 0 // no "-0.0"
	}
	return r
}

// Column is one data column (the row-label column is implicit).
type Column struct {
	Key    string `json:"key"`             // machine name: "sst2", "qnli@0.6/speedup"
	Header string `json:"header"`          // printed header: "SST-2"
	Group  string `json:"group,omitempty"` // adjacent columns with the same Group share a spanning header
	NoBest bool   `json:"-"`               // never bold (e.g. a cost column in a table of scores)
}

// Row is one table row.
type Row struct {
	Label  string
	Cells  []Cell // one per column
	Rule   bool   // a horizontal rule above the row
	Group  string // rows with the same non-empty Group compete for the best value per column
	Better Better
}

// Table is a whole table.
type Table struct {
	ID      string // file stem: "table2"
	Title   string // "Table 2: ..."
	Caption string // what is compared, on which hardware, with which caveats
	Stub    string // header of the row-label column
	Columns []Column
	Rows    []Row
	Notes   []string // general notes printed after the footnotes
	Width   Width    // what the LaTeX is meant to fit: a column (default) or the page
}

// Validate checks the shape: every row has one cell per column.
func (t *Table) Validate() error {
	for i, r := range t.Rows {
		if len(r.Cells) != len(t.Columns) {
			return fmt.Errorf("table %s row %d (%q): %d cells for %d columns", t.ID, i, r.Label, len(r.Cells), len(t.Columns))
		}
	}
	return nil
}

// Footnotes returns the distinct cell notes in row-major order of first
// appearance, and the 1-based number of each.
func (t *Table) Footnotes() ([]string, map[string]int) {
	var notes []string
	num := map[string]int{}
	for _, r := range t.Rows {
		for _, c := range r.Cells {
			if c.Note != "" {
				if _, ok := num[c.Note]; !ok {
					notes = append(notes, c.Note)
					num[c.Note] = len(notes)
				}
			}
		}
	}
	return notes, num
}

// BoldRule says what bold means; renderers print it under a table that has any.
const BoldRule = "Bold: the best of our rows in a column at the printed precision; none when two or more tie."

// Best reports, for row i and column j, whether the cell holds the best value
// of its column among the rows of its group, and no other row of the group
// holds it too. A group needs at least two numbers in the column.
func (t *Table) Best(i, j int) bool {
	r := t.Rows[i]
	c := r.Cells[j]
	if r.Group == "" || r.Better == None || c.Kind != Number || t.Columns[j].NoBest {
		return false
	}
	n, ties := 0, 0
	best := math.NaN()
	for _, o := range t.Rows {
		if o.Group != r.Group {
			continue
		}
		oc := o.Cells[j]
		if oc.Kind != Number {
			continue
		}
		v := roundTo(oc.Mean, oc.Digits)
		n++
		switch {
		case math.IsNaN(best) || (r.Better == Higher && v > best) || (r.Better == Lower && v < best):
			best, ties = v, 1
		case v == best:
			ties++
		}
	}
	return n >= 2 && ties == 1 && roundTo(c.Mean, c.Digits) == best
}

// Format names an output format.
type Format string

const (
	Markdown Format = "md"
	Plain    Format = "txt"
	LaTeX    Format = "tex"
	CSV      Format = "csv"
	JSON     Format = "json"
)

// Formats lists every table format.
var Formats = []Format{Markdown, Plain, LaTeX, CSV, JSON}

// Write renders t in format f.
func Write(w io.Writer, t *Table, f Format) error {
	if err := t.Validate(); err != nil {
		return err
	}
	switch f {
	case Markdown:
		return writeMarkdown(w, t)
	case Plain:
		return writePlain(w, t)
	case LaTeX:
		return writeLaTeX(w, t)
	case CSV:
		return writeCSV(w, t)
	case JSON:
		return writeJSON(w, t)
	}
	return fmt.Errorf("unknown table format %q (known: md, txt, tex, csv, json)", f)
}

// headerText is a column's header for formats without spanning headers.
func (c Column) headerText() string {
	if c.Group == "" {
		return c.Header
	}
	return c.Group + " " + c.Header
}
