package figure

import (
	"image/color"
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

// Physical sizes, fit for a two-column paper (ACL: 3.3 in column, 6.9 in page).
const (
	ColumnWidth = 3.3 * vg.Inch
	PageWidth   = 6.9 * vg.Inch
	fontTitle   = 8
	fontLabel   = 7
	fontTick    = 6
	fontLegend  = 6
	markerR     = 1.8 // points
	lineW       = 0.9 // points
)

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

// Line returns the line of a style: solid for ours, dashed for published.
func (s Style) Line(ours bool) draw.LineStyle {
	ls := draw.LineStyle{Color: s.Color, Width: vg.Points(lineW)}
	if !ours {
		ls.Dashes = []vg.Length{vg.Points(3), vg.Points(1.5)}
		ls.Width = vg.Points(0.7)
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
