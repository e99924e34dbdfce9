package table

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"
)

// grid returns the header and body cells as printed in Markdown or plain
// text: footnote markers "[n]" after values, bold (Markdown only) for the best.
func grid(t *Table, bold func(string) string, escape func(string) string) (header []string, body [][]string) {
	_, num := t.Footnotes()
	header = []string{escape(t.Stub)}
	for _, c := range t.Columns {
		header = append(header, escape(c.headerText()))
	}
	for i, r := range t.Rows {
		row := []string{escape(r.Label)}
		for j, c := range r.Cells {
			s := escape(c.Value())
			if t.Best(i, j) {
				s = bold(s)
			}
			if c.Note != "" {
				s += fmt.Sprintf("[%d]", num[c.Note])
			}
			row = append(row, s)
		}
		body = append(body, row)
	}
	return header, body
}

func render(w io.Writer, t *Table, md bool) error {
	escape := func(s string) string { return s }
	bold := func(s string) string { return s }
	opts := []tablewriter.Option{
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithHeaderAutoWrap(tw.WrapNone),
		tablewriter.WithRowAutoWrap(tw.WrapNone),
	}
	if md {
		escape = func(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
		bold = func(s string) string { return "**" + s + "**" }
		opts = append(opts, tablewriter.WithRenderer(renderer.NewMarkdown()))
	}
	// Numbers right, text left: a column is numeric when any cell holds a number.
	align := []tw.Align{tw.AlignLeft}
	for j := range t.Columns {
		a := tw.AlignLeft
		for _, r := range t.Rows {
			if r.Cells[j].Kind == Number {
				a = tw.AlignRight
				break
			}
		}
		align = append(align, a)
	}
	opts = append(opts,
		tablewriter.WithHeaderAlignmentConfig(tw.CellAlignment{PerColumn: align}),
		tablewriter.WithRowAlignmentConfig(tw.CellAlignment{PerColumn: align}))
	header, body := grid(t, bold, escape)
	var buf bytes.Buffer
	tb := tablewriter.NewTable(&buf, opts...)
	tb.Header(header)
	if err := tb.Bulk(body); err != nil {
		return fmt.Errorf("table %s: %w", t.ID, err)
	}
	if err := tb.Render(); err != nil {
		return fmt.Errorf("table %s: %w", t.ID, err)
	}
	// tablewriter pads empty cells with spaces; keep files free of trailing blanks.
	out := buf.String()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	for i := range lines {
		lines[i] = strings.TrimRight(lines[i], " ")
	}
	_, err := io.WriteString(w, strings.Join(lines, "\n")+"\n")
	return err
}

// notesOf is the table's general notes, then the bold rule when a cell is bold.
func notesOf(t *Table) []string {
	out := append([]string(nil), t.Notes...)
	for i, r := range t.Rows {
		for j := range r.Cells {
			if t.Best(i, j) {
				return append(out, BoldRule)
			}
		}
	}
	return out
}

// writeNotes writes the footnotes and notes of plain text (which has no bold).
func writeNotes(w io.Writer, t *Table) error {
	notes, _ := t.Footnotes()
	general := t.Notes
	var b strings.Builder
	if len(notes) > 0 || len(general) > 0 {
		b.WriteString("\n")
	}
	for i, n := range notes {
		fmt.Fprintf(&b, "[%d] %s\n", i+1, n)
	}
	for _, n := range general {
		fmt.Fprintf(&b, "%s\n", n)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeMarkdown(w io.Writer, t *Table) error {
	var b strings.Builder
	fmt.Fprintf(&b, "### %s\n\n", t.Title)
	if t.Caption != "" {
		fmt.Fprintf(&b, "%s\n\n", t.Caption)
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return err
	}
	if err := render(w, t, true); err != nil {
		return err
	}
	// One paragraph per note: Markdown joins consecutive lines.
	notes, _ := t.Footnotes()
	var n strings.Builder
	for i, s := range notes {
		fmt.Fprintf(&n, "\n[%d] %s\n", i+1, s)
	}
	for _, s := range notesOf(t) {
		fmt.Fprintf(&n, "\n%s\n", s)
	}
	_, err := io.WriteString(w, n.String())
	return err
}

func writePlain(w io.Writer, t *Table) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n", t.Title)
	if t.Caption != "" {
		fmt.Fprintf(&b, "%s\n", t.Caption)
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return err
	}
	if err := render(w, t, false); err != nil {
		return err
	}
	return writeNotes(w, t)
}
