package table

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
)

// number prints a float for machines: rounded to 6 decimals so that float
// noise from averaging does not leak into files, shortest form otherwise.
func number(v float64) string {
	return strconv.FormatFloat(math.Round(v*1e6)/1e6, 'f', -1, 64)
}

// writeCSV writes the table in long (tidy) form, one line per cell, so a
// script can filter by row and column without parsing printed values.
func writeCSV(w io.Writer, t *Table) error {
	cw := csv.NewWriter(w)
	_, num := t.Footnotes()
	if err := cw.Write([]string{"table", "row", "row_group", "column", "column_header", "column_group", "kind", "mean", "std", "n", "unit", "text", "printed", "best", "note"}); err != nil {
		return err
	}
	for i, r := range t.Rows {
		for j, c := range r.Cells {
			mean, std, n := "", "", ""
			if c.Kind == Number {
				mean, n = number(c.Mean), strconv.Itoa(c.N)
				if c.N > 1 {
					std = number(c.Std)
				}
			}
			note := ""
			if c.Note != "" {
				note = fmt.Sprintf("[%d] %s", num[c.Note], c.Note)
			}
			col := t.Columns[j]
			if err := cw.Write([]string{t.ID, r.Label, r.Group, col.Key, col.Header, col.Group, c.Kind.String(),
				mean, std, n, c.Unit, c.Text, c.Value(), strconv.FormatBool(t.Best(i, j)), note}); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

type jsonCell struct {
	Kind    string   `json:"kind"`
	Mean    *float64 `json:"mean,omitempty"`
	Std     *float64 `json:"std,omitempty"`
	N       int      `json:"n,omitempty"`
	Unit    string   `json:"unit,omitempty"`
	Text    string   `json:"text,omitempty"`
	Printed string   `json:"printed"`
	Best    bool     `json:"best,omitempty"`
	Note    int      `json:"note,omitempty"` // 1-based index into footnotes
}

type jsonRow struct {
	Label string     `json:"label"`
	Group string     `json:"group,omitempty"`
	Rule  bool       `json:"rule,omitempty"`
	Cells []jsonCell `json:"cells"`
}

type jsonTable struct {
	ID        string    `json:"id"`
	Title     string    `json:"title"`
	Caption   string    `json:"caption,omitempty"`
	Stub      string    `json:"stub"`
	Columns   []Column  `json:"columns"`
	Rows      []jsonRow `json:"rows"`
	Footnotes []string  `json:"footnotes"`
	Notes     []string  `json:"notes,omitempty"`
}

func writeJSON(w io.Writer, t *Table) error {
	notes, num := t.Footnotes()
	out := jsonTable{ID: t.ID, Title: t.Title, Caption: t.Caption, Stub: t.Stub, Columns: t.Columns, Footnotes: notes, Notes: t.Notes}
	if out.Footnotes == nil {
		out.Footnotes = []string{}
	}
	for i, r := range t.Rows {
		jr := jsonRow{Label: r.Label, Group: r.Group, Rule: r.Rule}
		for j, c := range r.Cells {
			jc := jsonCell{Kind: c.Kind.String(), Unit: c.Unit, Text: c.Text, Printed: c.Value(), Best: t.Best(i, j), Note: num[c.Note]}
			if c.Kind == Number {
				m := math.Round(c.Mean*1e6) / 1e6
				jc.Mean, jc.N = &m, c.N
				if c.N > 1 {
					s := math.Round(c.Std*1e6) / 1e6
					jc.Std = &s
				}
			}
			jr.Cells = append(jr.Cells, jc)
		}
		out.Rows = append(out.Rows, jr)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(out)
}
