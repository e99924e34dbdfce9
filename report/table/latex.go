package table

import (
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Width is the width a table is meant for in a two-column paper.
type Width int

const (
	ColumnWidth Width = iota // one column: a table environment
	PageWidth                // both columns: a table* environment
)

// Points is the width in TeX points of the ACL template (A4, 11 pt:
// column 7.7 cm, text 16 cm).
func (w Width) Points() float64 {
	if w == PageWidth {
		return 455.24 // 16 cm
	}
	return 219.08 // 7.7 cm
}

func (w Width) env() string {
	if w == PageWidth {
		return "table*"
	}
	return "table"
}

func (w Width) String() string {
	if w == PageWidth {
		return "page (table*)"
	}
	return "column (table)"
}

// Unicode the reports print, as LaTeX that needs no package beyond the
// kernel (math mode for symbols) and its width in em for the fit estimate.
var texSymbols = map[rune]struct {
	tex string
	em  float64
}{
	'±': {`$\pm$`, 0.78}, '×': {`$\times$`, 0.78}, '—': {`---`, 1}, '–': {`--`, 0.5}, 'Δ': {`$\Delta$`, 0.84},
	'≤': {`$\leq$`, 0.78}, '≥': {`$\geq$`, 0.78}, '≈': {`$\approx$`, 0.78}, '→': {`$\rightarrow$`, 1},
	'←': {`$\leftarrow$`, 1}, '−': {`$-$`, 0.78}, '·': {`$\cdot$`, 0.28}, '…': {`\dots{}`, 0.9},
	'λ': {`$\lambda$`, 0.59}, 'µ': {`$\mu$`, 0.61}, 'μ': {`$\mu$`, 0.61}, '°': {`$^\circ$`, 0.5},
	'‘': {"`", 0.28}, '’': {`'`, 0.28}, '“': {"``", 0.5}, '”': {`''`, 0.5}, '✓': {`$\surd$`, 0.84},
	'√': {`$\surd$`, 0.84}, '∞': {`$\infty$`, 1}, '≠': {`$\neq$`, 0.78}, ' ': {`~`, 0.36},
}

// ASCII that needs escaping (or prints a wrong glyph in OT1 when it is not).
var texASCII = map[rune]string{
	'\\': `\textbackslash{}`, '&': `\&`, '%': `\%`, '$': `\$`, '#': `\#`, '_': `\_`, '{': `\{`, '}': `\}`,
	'^': `\textasciicircum{}`, '~': `$\sim$`, '|': `$|$`, '<': `$<$`, '>': `$>$`,
}

// Escape returns s as LaTeX source: every special character escaped,
// straight double quotes as opening and closing quotes, the Unicode the
// reports use as kernel LaTeX; other non-ASCII letters pass through (utf8
// input is the default since 2018) and anything else becomes "?".
func Escape(s string) string {
	var b strings.Builder
	prev := ' '
	for _, r := range s {
		switch {
		case r == '"':
			if unicode.IsSpace(prev) || strings.ContainsRune("([{", prev) {
				b.WriteString("``")
			} else {
				b.WriteString("''")
			}
		case texASCII[r] != "":
			b.WriteString(texASCII[r])
		case r < utf8.RuneSelf:
			b.WriteRune(r)
		case texSymbols[r].tex != "":
			b.WriteString(texSymbols[r].tex)
		case unicode.IsLetter(r) && r < 0x250:
			b.WriteRune(r)
		default:
			b.WriteString("?")
		}
		prev = r
	}
	return b.String()
}

// emWidth estimates the printed width of s in em (of the current size).
func emWidth(s string, bold, italic bool) float64 {
	tab := &texRegular
	switch {
	case bold:
		tab = &texBold
	case italic:
		tab = &texItalic
	}
	w := 0.0
	for _, r := range s {
		switch {
		case r == '"':
			w += 0.5
		case r == '~' || r == '<' || r == '>':
			w += 0.78
		case r >= 32 && r < 127:
			w += float64(tab[r-32]) / 1000
		case texSymbols[r].em > 0:
			w += texSymbols[r].em
		default:
			w += 0.8
		}
	}
	return w
}

// A texPiece is LaTeX source with its estimated width in em, and the width
// of its longest unbreakable part (the narrowest paragraph it can be set in).
type texPiece struct {
	tex   string
	em    float64
	minEm float64
}

// add appends q, which is glued to p's last word when it is a short mark.
func (p texPiece) add(q texPiece) texPiece {
	return texPiece{p.tex + q.tex, p.em + q.em, max(p.minEm, q.minEm) + min(q.em, 1)}
}

func text(s string, bold bool) texPiece {
	if s == "" {
		return texPiece{}
	}
	// Lists without spaces ("1,2,5,11") may break after a comma.
	t := listComma.ReplaceAllString(Escape(s), `,\allowbreak{}$1`)
	if bold {
		t = `\textbf{` + t + `}`
	}
	// TeX breaks lines at spaces, after explicit hyphens and where allowed.
	minEm := 0.0
	for _, w := range strings.Fields(s) {
		for _, part := range listBreak.FindAllString(w, -1) {
			minEm = max(minEm, emWidth(part, bold, false))
		}
	}
	return texPiece{t, emWidth(s, bold, false), minEm}
}

// script is s as a sub- or superscript (70 % size).
func script(cmd, s string) texPiece {
	em := 0.72 * emWidth(s, false, false)
	return texPiece{`\text` + cmd + `{` + Escape(s) + `}`, em, em}
}

// Sizes a table is tried at, largest first, in the 11 pt class (a 10 pt
// class prints them smaller still), with the column separations tried.
var texSizes = []struct {
	cmd string
	pt  float64
}{{`\small`, 10}, {`\footnotesize`, 9}, {`\scriptsize`, 8}}

var texSeps = []float64{6, 4, 3}

// texCol is one logical column as printed: the label column, a text column,
// or a number column set as two TeX columns (r@{}l) split at the decimal
// point so that values align on it.
type texCol struct {
	numeric bool
	head    texPiece
	a, b    []texPiece // numeric: integer part, fraction and the rest; text: a only
	span    []bool     // numeric: the cell is text spanning both halves (in a)
	wrap    float64    // text: paragraph width in pt, 0 = natural
}

func (c *texCol) natural() (a, b, span, words float64) {
	for i := range c.a {
		if c.numeric && !c.span[i] {
			a, b = max(a, c.a[i].em), max(b, c.b[i].em)
		} else {
			span = max(span, c.a[i].em)
		}
		words = max(words, c.a[i].minEm)
	}
	words = max(words, c.head.minEm)
	span = max(span, c.head.em)
	return
}

// width in em of a column without its wrap.
func (c *texCol) emWidth() float64 {
	a, b, span, _ := c.natural()
	return max(a+b, span)
}

// texLayout is the chosen size, separation and wraps.
type texLayout struct {
	size  string
	pt    float64
	sep   float64
	width float64 // estimated, pt
}

// fitMargin is the share of the width a table is laid out to: estimates
// from glyph widths miss kerning and rules by a few points.
const fitMargin = 0.96

// fit chooses how the table is set: at its natural width in the largest of
// \small and \footnotesize (and the widest separation) that fits, else with
// its text columns wrapped into ragged paragraphs at those sizes, else the
// same at \scriptsize. It returns the estimate of the last try when nothing
// fits (the compile test then says by how much).
func fit(cols []*texCol, minEm, target float64) texLayout {
	target *= fitMargin
	natural := func(sz int, sep float64) (texLayout, bool) {
		for _, c := range cols {
			c.wrap = 0
		}
		pt := texSizes[sz].pt
		w := max(layoutWidth(cols, pt, sep), minEm*pt)
		return texLayout{texSizes[sz].cmd, pt, sep, w}, w <= target
	}
	wrapped := func(sz int) (texLayout, bool) {
		pt, sep := texSizes[sz].pt, texSeps[1]
		w, ok := wrap(cols, pt, sep, target)
		return texLayout{texSizes[sz].cmd, pt, sep, max(w, minEm*pt)}, ok && minEm*pt <= target
	}
	var last texLayout
	for _, group := range [][]int{{0, 1}, {2}} {
		for _, sz := range group {
			for _, sep := range texSeps {
				l, ok := natural(sz, sep)
				if ok {
					return l
				}
				last = l
			}
		}
		for _, sz := range group {
			if l, ok := wrapped(sz); ok {
				return l
			}
		}
	}
	natural(len(texSizes)-1, texSeps[len(texSeps)-1])
	return last
}

func layoutWidth(cols []*texCol, pt, sep float64) float64 {
	w := 0.0
	for _, c := range cols {
		if c.wrap > 0 {
			w += c.wrap
		} else {
			w += c.emWidth() * pt
		}
	}
	return w + sep*float64(2*len(cols)-2)
}

// wrap sets text columns as ragged paragraphs sharing the room the number
// columns leave: each as wide as a common level, but no wider than its text
// and no narrower than its longest word (water filling). It fails when the
// longest words alone do not fit.
func wrap(cols []*texCol, pt, sep, target float64) (float64, bool) {
	fixed := sep * float64(2*len(cols)-2)
	type span struct {
		c      *texCol
		lo, hi float64
	}
	var text []span
	var lo, hi float64
	for _, c := range cols {
		c.wrap = 0
		if c.numeric {
			fixed += c.emWidth() * pt
			continue
		}
		_, _, _, words := c.natural()
		s := span{c, words * pt, c.emWidth() * pt}
		text = append(text, s)
		lo, hi = lo+s.lo, hi+s.hi
	}
	room := target - fixed
	if len(text) == 0 || lo > room {
		return 0, false
	}
	if hi <= room {
		return layoutWidth(cols, pt, sep), true
	}
	width := func(level float64) float64 {
		w := 0.0
		for _, s := range text {
			w += min(max(level, s.lo), s.hi)
		}
		return w
	}
	low, high := 0.0, target
	for range 60 {
		mid := (low + high) / 2
		if width(mid) > room {
			high = mid
		} else {
			low = mid
		}
	}
	for _, s := range text {
		if w := min(max(low, s.lo), s.hi); w < s.hi-0.01 {
			s.c.wrap = w
		}
	}
	return layoutWidth(cols, pt, sep), true
}

var (
	listComma = regexp.MustCompile(`,([^ ])`)
	listBreak = regexp.MustCompile(`[^-,]*[-,]?`) // the pieces a word breaks into, with their hyphen or comma
)

var tableNumber = regexp.MustCompile(`^Table [0-9A-Za-z]+: `)

// splitNumber splits a printed number at its decimal point: "−12.3×" →
// ("−12", ".3×"); without one, after the digits: "12×" → ("12", "×").
func splitNumber(s string) (string, string) {
	i := 0
	for i < len(s) && (s[i] == '+' || s[i] == '-' || (s[i] >= '0' && s[i] <= '9')) {
		i++
	}
	return s[:i], s[i:]
}

// texNumber is a number cell's two halves: the mean split at the decimal
// point (a true minus sign), then the ± part set small as a subscript, with
// the count of runs when it is not the table's usual one.
func texNumber(c Cell, bold bool, usualN int) (texPiece, texPiece) {
	v := roundTo(c.Mean, c.Digits)
	s := strconv.FormatFloat(v, 'f', c.Digits, 64)
	if c.Signed && v > 0 {
		s = "+" + s
	}
	ip, fp := splitNumber(s + c.Unit)
	var a texPiece
	if strings.HasPrefix(ip, "-") {
		a = texPiece{`$-$`, 0.78, 0.78}
		ip = ip[1:]
	}
	a = a.add(text(ip, bold))
	b := text(fp, bold)
	if c.N > 1 {
		sd := "±" + strconv.FormatFloat(roundTo(c.Std, c.Digits), 'f', c.Digits, 64)
		if c.N != usualN {
			sd += fmt.Sprintf(" n=%d", c.N)
		}
		b = b.add(texPiece{`\,`, 0.17, 0.17}).add(script("subscript", sd))
	}
	return a, b
}

// usualN is the most common number of runs behind the table's averaged
// cells (0 when none is averaged); ties go to the larger count.
func usualN(t *Table) int {
	count := map[int]int{}
	for _, r := range t.Rows {
		for _, c := range r.Cells {
			if c.Kind == Number && c.N > 1 {
				count[c.N]++
			}
		}
	}
	best, bestN := 0, 0
	for n, k := range count {
		if k > best || (k == best && n > bestN) {
			best, bestN = k, n
		}
	}
	return bestN
}

// labelGroups splits row labels "Head — tail": consecutive rows sharing a
// head get one header line and are labelled by their tails. A lone row is
// grouped too when the table has groups of several (one layout throughout).
func labelGroups(t *Table) (heads []string, tails []string) {
	heads, tails = make([]string, len(t.Rows)), make([]string, len(t.Rows))
	split := func(l string) (string, string, bool) {
		i := strings.LastIndex(l, " — ")
		if i < 0 {
			return "", l, false
		}
		return l[:i], l[i+len(" — "):], true
	}
	type span struct{ i, j int }
	var spans []span
	several := false
	for i := 0; i < len(t.Rows); {
		h, _, ok := split(t.Rows[i].Label)
		j := i + 1
		for ok && j < len(t.Rows) {
			h2, _, ok2 := split(t.Rows[j].Label)
			if !ok2 || h2 != h || t.Rows[j].Rule {
				break
			}
			j++
		}
		if ok {
			spans = append(spans, span{i, j})
			several = several || j-i >= 2
		}
		for k := i; k < j; k++ {
			tails[k] = t.Rows[k].Label
		}
		i = j
	}
	if !several {
		return heads, tails
	}
	for _, s := range spans {
		for k := s.i; k < s.j; k++ {
			heads[k], tails[k], _ = split(t.Rows[k].Label)
		}
	}
	return heads, tails
}

// writeLaTeX writes a table (one column) or table* (page width) with
// booktabs rules, text left-aligned and numbers aligned on the decimal point,
// the best of our values per column in bold (BoldRule), footnotes and notes
// left-aligned under the tabular and the caption below, as ACL papers place
// it. The size and column separation are the largest at which the table's
// estimated width fits its Width; long text columns are wrapped. Needs only
// \usepackage{booktabs}.
func writeLaTeX(w io.Writer, t *Table) error {
	notes, num := t.Footnotes()
	heads, tails := labelGroups(t)
	un := usualN(t)
	const indent = 0.5 // em before a grouped row's label

	cols := []*texCol{{head: text(t.Stub, false)}}
	for _, c := range t.Columns {
		cols = append(cols, &texCol{head: text(c.Header, false)})
	}
	for j := range t.Columns {
		for _, r := range t.Rows {
			if r.Cells[j].Kind == Number {
				cols[j+1].numeric = true
			}
		}
	}
	bold := false
	for i, r := range t.Rows {
		l := text(tails[i], false)
		if heads[i] != "" {
			l = texPiece{`\hspace{0.5em}`, indent, indent}.add(l)
		}
		cols[0].a = append(cols[0].a, l)
		for j, c := range r.Cells {
			col := cols[j+1]
			best := t.Best(i, j)
			bold = bold || best
			var mark texPiece
			if c.Note != "" {
				mark = script("superscript", strconv.Itoa(num[c.Note]))
			}
			if c.Kind == Number && col.numeric {
				a, b := texNumber(c, best, un)
				col.a, col.b, col.span = append(col.a, a), append(col.b, b.add(mark)), append(col.span, false)
				continue
			}
			col.a = append(col.a, text(c.Value(), best).add(mark))
			col.b = append(col.b, texPiece{})
			col.span = append(col.span, true)
		}
	}
	// Header lines of grouped rows span the table; they must fit too.
	var headWidth float64
	for _, h := range heads {
		headWidth = max(headWidth, emWidth(h, false, true))
	}
	lay := fit(cols, headWidth, t.Width.Points())

	var b strings.Builder
	fmt.Fprintf(&b, "%% %s — generated by cofi report; needs \\usepackage{booktabs}. Meant for the %s width: about %.0f of %.0f pt at %s.\n",
		t.ID, t.Width, lay.width, t.Width.Points(), strings.TrimPrefix(lay.size, `\`))
	fmt.Fprintf(&b, "\\begin{%s}[t]\n\\centering\n%s\n\\setlength{\\tabcolsep}{%gpt}\n", t.Width.env(), lay.size, lay.sep)
	spec := []string{"@{}"}
	for k, c := range cols {
		switch {
		case c.numeric:
			spec = append(spec, "r@{}l")
		case c.wrap > 0:
			spec = append(spec, fmt.Sprintf("p{%.1fpt}", c.wrap))
		default:
			spec = append(spec, "l")
		}
		if k == len(cols)-1 {
			spec = append(spec, "@{}")
		}
	}
	fmt.Fprintf(&b, "\\begin{tabular}{%s}\n\\toprule\n", strings.Join(spec, ""))
	span := func(k int, s string) string {
		if cols[k].numeric {
			return `\multicolumn{2}{c}{` + s + `}`
		}
		if cols[k].wrap > 0 {
			return `\raggedright ` + s
		}
		return s
	}
	texCols := 1
	for _, c := range cols[1:] {
		texCols++
		if c.numeric {
			texCols++
		}
	}
	// Spanning group headers, with a \cmidrule under each group.
	hasGroups := false
	for _, c := range t.Columns {
		if c.Group != "" {
			hasGroups = true
		}
	}
	texIndex := func(j int) int { // first TeX column (1-based) of data column j
		k := 2
		for _, c := range cols[1 : j+1] {
			k++
			if c.numeric {
				k++
			}
		}
		return k
	}
	if hasGroups {
		cells := []string{""}
		var rules []string
		for j := 0; j < len(t.Columns); {
			k := j
			for k < len(t.Columns) && t.Columns[k].Group == t.Columns[j].Group {
				k++
			}
			first, last := texIndex(j), texIndex(k)-1
			if g := t.Columns[j].Group; g != "" {
				cells = append(cells, fmt.Sprintf("\\multicolumn{%d}{c}{%s}", last-first+1, Escape(g)))
				rules = append(rules, fmt.Sprintf("\\cmidrule(lr){%d-%d}", first, last))
			} else {
				for ; j < k; j++ {
					cells = append(cells, span(j+1, ""))
				}
			}
			j = k
		}
		fmt.Fprintf(&b, "%s \\tabularnewline\n%s\n", strings.Join(cells, " & "), strings.Join(rules, " "))
	}
	head := []string{cols[0].head.tex}
	for k, c := range cols[1:] {
		head = append(head, span(k+1, c.head.tex))
	}
	fmt.Fprintf(&b, "%s \\tabularnewline\n\\midrule\n", strings.Join(head, " & "))
	for i, r := range t.Rows {
		if r.Rule && i > 0 {
			b.WriteString("\\midrule\n")
		}
		if heads[i] != "" && (i == 0 || heads[i-1] != heads[i] || r.Rule) {
			fmt.Fprintf(&b, "\\multicolumn{%d}{@{}l}{\\textit{%s}} \\tabularnewline\n", texCols, Escape(heads[i]))
		}
		row := []string{span(0, cols[0].a[i].tex)}
		for k, c := range cols[1:] {
			switch {
			case c.numeric && !c.span[i]:
				row = append(row, c.a[i].tex, c.b[i].tex)
			case c.numeric && c.a[i].tex == "":
				row = append(row, "", "")
			default:
				row = append(row, span(k+1, c.a[i].tex))
			}
		}
		fmt.Fprintf(&b, "%s \\tabularnewline\n", strings.Join(row, " & "))
	}
	b.WriteString("\\bottomrule\n\\end{tabular}\n")
	var extra []string
	for _, n := range t.Notes {
		extra = append(extra, Escape(n))
	}
	if un > 0 {
		extra = append(extra, fmt.Sprintf("Subscripts: $\\pm$ sample standard deviation over %d runs, unless another n is given.", un))
	}
	if bold {
		extra = append(extra, Escape(BoldRule))
	}
	if len(notes) > 0 || len(extra) > 0 {
		b.WriteString("\\par\\smallskip\n{\\raggedright\\footnotesize\n")
		for i, n := range notes {
			fmt.Fprintf(&b, "\\textsuperscript{%d}%s\\par\n", i+1, Escape(n))
		}
		for _, n := range extra {
			fmt.Fprintf(&b, "%s\\par\n", n)
		}
		b.WriteString("}\n")
	}
	fmt.Fprintf(&b, "\\caption{%s}\n\\label{tab:%s}\n", Escape(captionOf(t)), t.ID)
	fmt.Fprintf(&b, "\\end{%s}\n", t.Width.env())
	_, err := io.WriteString(w, b.String())
	return err
}

// captionOf is the caption text without the "Table N:" LaTeX prints itself.
func captionOf(t *Table) string {
	title := tableNumber.ReplaceAllString(t.Title, "")
	if t.Caption == "" {
		return title
	}
	return strings.TrimSuffix(title, ".") + ". " + t.Caption
}
