package figure

import (
	"image/color"
	"math"
	"sort"

	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Shape is a marker shape; each has a filled and an outlined form so that
// our results (filled, solid lines) and published ones (outlined, dashed
// lines) of one method share colour and shape.
type Shape int

const (
	NoMarker Shape = iota
	Circle
	Square
	Triangle
	TriangleDown
	Diamond
	Plus
	Cross
)

// Style is how one method looks in every figure.
type Style struct {
	Color color.RGBA
	Shape Shape
}

// styles is the single style table: one colour and one marker per method,
// the same in every figure. Colours are the Okabe–Ito colour-blind-safe
// palette first, then Tableau's for the ablations.
var styles = map[string]Style{
	"teacher":              {rgb(0x00, 0x00, 0x00), NoMarker},
	"cofi":                 {rgb(0xD5, 0x5E, 0x00), Circle},       // vermillion
	"tinybert4":            {rgb(0x00, 0x72, 0xB2), TriangleDown}, // blue
	"tinybert4-no-gd":      {rgb(0x00, 0x72, 0xB2), Triangle},
	"tinybert6":            {rgb(0x56, 0xB4, 0xE9), Diamond}, // sky blue
	"distilbert6":          {rgb(0x00, 0x9E, 0x73), Square},  // bluish green
	"dynabert":             {rgb(0xE6, 0x9F, 0x00), Plus},    // orange
	"block-pruning":        {rgb(0xCC, 0x79, 0xA7), Cross},   // reddish purple
	"mobilebert":           {rgb(0x7F, 0x7F, 0x7F), Diamond},
	"autotinybert":         {rgb(0x7F, 0x7F, 0x7F), Triangle},
	"movement-pruning":     {rgb(0x7F, 0x7F, 0x7F), Cross},
	"cofi-no-hidden":       {rgb(0x8C, 0x56, 0x4B), Square},
	"cofi-no-layer":        {rgb(0xBC, 0xBD, 0x22), Triangle},
	"cofi-no-layer-hidden": {rgb(0x17, 0xBE, 0xCF), Diamond},
	"cofi-no-llayer":       {rgb(0x94, 0x67, 0xBD), TriangleDown},
	"cofi-no-distill":      {rgb(0x2C, 0xA0, 0x2C), Plus},
	"cofi-fixed-hidden":    {rgb(0xE3, 0x77, 0xC2), Cross},
}

func rgb(r, g, b uint8) color.RGBA { return color.RGBA{r, g, b, 0xFF} }

// StyleOf returns a method's style; unknown methods get grey circles.
func StyleOf(method string) Style {
	if s, ok := styles[method]; ok {
		return s
	}
	return Style{rgb(0x59, 0x59, 0x59), Circle}
}

// Methods lists the methods with a fixed style, sorted.
func Methods() []string {
	out := make([]string, 0, len(styles))
	for m := range styles {
		out = append(out, m)
	}
	sort.Strings(out)
	return out
}

// Physical sizes of the ACL template (a 7.7 cm column, a 16 cm page), so a
// figure is included at 100 % and its fonts print at their size: never
// below 8 pt, as the template asks of figure text.
const (
	ColumnWidth = 7.7 / 2.54 * vg.Inch // 3.03 in
	PageWidth   = 16 / 2.54 * vg.Inch  // 6.30 in
	fontTitle   = 9
	fontLabel   = 8
	fontTick    = 8
	fontLegend  = 8
	markerR     = 2.0 // points
	lineW       = 1.0 // points
)

// MinFontSize is the smallest text size of any figure, in points.
const MinFontSize = min(fontTitle, fontLabel, fontTick, fontLegend)

// sparsityPalette gives each sparsity a distinct colour (Okabe–Ito, in an
// order that keeps neighbours apart), so that curves of different
// sparsities never look alike; the nearest entry is used.
var sparsityPalette = []struct {
	sparsity float64
	color    color.RGBA
}{
	{0.5, rgb(0xE6, 0x9F, 0x00)},  // orange
	{0.6, rgb(0x56, 0xB4, 0xE9)},  // sky blue
	{0.7, rgb(0x00, 0x9E, 0x73)},  // bluish green
	{0.75, rgb(0x99, 0x99, 0x99)}, // grey
	{0.8, rgb(0x00, 0x72, 0xB2)},  // blue
	{0.85, rgb(0xF0, 0xE4, 0x42)}, // yellow
	{0.9, rgb(0xD5, 0x5E, 0x00)},  // vermillion
	{0.95, rgb(0xCC, 0x79, 0xA7)}, // reddish purple
	{0.98, rgb(0x00, 0x00, 0x00)}, // black
}

// sparsityColor is the palette colour of the nearest listed sparsity.
func sparsityColor(s float64) color.RGBA {
	best := sparsityPalette[0]
	for _, p := range sparsityPalette {
		if math.Abs(p.sparsity-s) < math.Abs(best.sparsity-s) {
			best = p
		}
	}
	return best.color
}

// tint mixes c with white: published curves are drawn lighter than ours.
func tint(c color.RGBA, f float64) color.RGBA {
	mix := func(v uint8) uint8 { return uint8(math.Round(float64(v) + f*(255-float64(v)))) }
	return rgb(mix(c.R), mix(c.G), mix(c.B))
}

// Glyph returns the marker of a style, filled for our results.
func (s Style) Glyph(ours bool) draw.GlyphStyle {
	var g draw.GlyphDrawer
	switch s.Shape {
	case Circle:
		g = pick(ours, draw.GlyphDrawer(draw.CircleGlyph{}), draw.RingGlyph{})
	case Square:
		g = pick(ours, draw.GlyphDrawer(draw.BoxGlyph{}), draw.SquareGlyph{})
	case Triangle:
		g = pick(ours, draw.GlyphDrawer(draw.PyramidGlyph{}), draw.TriangleGlyph{})
	case TriangleDown:
		g = polyGlyph{fill: ours, pts: [][2]float64{{0, -1.25}, {-1.08, 0.625}, {1.08, 0.625}}}
	case Diamond:
		g = polyGlyph{fill: ours, pts: [][2]float64{{0, 1.3}, {1, 0}, {0, -1.3}, {-1, 0}}}
	case Plus:
		g = draw.PlusGlyph{}
	case Cross:
		g = draw.CrossGlyph{}
	default:
		return draw.GlyphStyle{}
	}
	return draw.GlyphStyle{Color: s.Color, Radius: vg.Points(markerR), Shape: g}
}

// Line returns the line of a style: solid for ours, dashed and lighter for
// published.
func (s Style) Line(ours bool) draw.LineStyle {
	ls := draw.LineStyle{Color: s.Color, Width: vg.Points(lineW)}
	if !ours {
		ls.Dashes = []vg.Length{vg.Points(3), vg.Points(1.5)}
		ls.Width = vg.Points(0.8)
		ls.Color = tint(s.Color, 0.3)
	}
	return ls
}

func pick(c bool, a, b draw.GlyphDrawer) draw.GlyphDrawer {
	if c {
		return a
	}
	return b
}

// polyGlyph draws a polygon given in units of the glyph radius.
type polyGlyph struct {
	fill bool
	pts  [][2]float64
}

func (g polyGlyph) DrawGlyph(c *draw.Canvas, sty draw.GlyphStyle, pt vg.Point) {
	p := make(vg.Path, 0, len(g.pts)+1)
	for i, q := range g.pts {
		v := vg.Point{X: pt.X + sty.Radius*vg.Length(q[0]), Y: pt.Y + sty.Radius*vg.Length(q[1])}
		if i == 0 {
			p.Move(v)
		} else {
			p.Line(v)
		}
	}
	p.Close()
	if g.fill {
		c.Fill(p)
		return
	}
	c.SetLineStyle(draw.LineStyle{Color: sty.Color, Width: vg.Points(0.5)})
	c.Stroke(p)
}
