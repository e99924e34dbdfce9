// Package figure draws the paper's figures from runs and the published
// numbers with gonum.org/v1/plot: Figure 2 (score vs speedup and vs size),
// Figure 3 (heads and intermediate units per layer) and the remaining-layers
// grid. Every method has one colour and marker in every figure (style.go);
// ours are filled markers on solid lines, published ones outlined on dashed
// lines. Sizes are physical (a 3.3 in paper column, a 6.9 in page), fonts
// are embedded, and the same input gives the same bytes.
package figure

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"codeberg.org/go-pdf/fpdf"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgpdf"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Figure is a drawable figure of a fixed physical size.
type Figure struct {
	ID      string // file stem: "figure2", "figure2-mnli"
	Caption string // what is plotted, where speedups were measured, caveats
	Width   vg.Length
	Height  vg.Length
	// Date is stamped into PDFs as their creation date; the newest record's
	// end time keeps the output a function of the input alone.
	Date time.Time
	draw func(dc draw.Canvas)
}

// Options control rendering.
type Options struct {
	DPI        float64 // PNG resolution; 0 means 300
	EmbedFonts bool    // embed fonts in SVG (PDF always embeds them)
}

// Formats lists the figure formats.
var Formats = []string{"pdf", "svg", "png"}

// defaultDate stamps PDFs when no record gives a date (fpdf would use now).
var defaultDate = time.Date(2022, 5, 22, 0, 0, 0, 0, time.UTC)

// pdfMu guards fpdf's package-level defaults, which are the only way to fix
// the creation date and sort the catalogue of a PDF made through vgpdf.
var pdfMu sync.Mutex

// Write renders f in a format ("pdf", "svg" or "png").
func (f *Figure) Write(w io.Writer, format string, opt Options) (err error) {
	defer func() {
		// gonum panics on some degenerate inputs; report it as this figure's error.
		if r := recover(); r != nil {
			err = fmt.Errorf("figure %s: %v", f.ID, r)
		}
	}()
	var c vg.CanvasWriterTo
	format = strings.ToLower(format)
	switch format {
	case "pdf":
		pdfMu.Lock()
		date := f.Date
		if date.IsZero() {
			date = defaultDate
		}
		fpdf.SetDefaultCreationDate(date.UTC())
		fpdf.SetDefaultModificationDate(date.UTC())
		fpdf.SetDefaultCatalogSort(true)
		pc := vgpdf.New(f.Width, f.Height)
		pdfMu.Unlock()
		pc.EmbedFonts(true)
		c = pc
	case "svg":
		c = vgsvg.NewWith(vgsvg.UseWH(f.Width, f.Height), vgsvg.EmbedFonts(opt.EmbedFonts))
	case "png":
		dpi := opt.DPI
		if dpi <= 0 {
			dpi = 300
		}
		c = vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(f.Width, f.Height), vgimg.UseDPI(int(dpi)))}
	default:
		return fmt.Errorf("figure %s: unknown format %q (known: pdf, svg, png)", f.ID, format)
	}
	var target vg.CanvasSizer = c
	if format == "pdf" || (format == "svg" && opt.EmbedFonts) {
		// A first pass notes the text, so that only its glyphs are embedded.
		col := &textCollector{w: f.Width, h: f.Height, used: map[font.Face]map[rune]bool{}}
		f.draw(draw.New(col))
		faces, err := subsetFaces(col.used)
		if err != nil {
			return fmt.Errorf("figure %s: %w", f.ID, err)
		}
		target = subsetCanvas{CanvasSizer: c, faces: faces}
	}
	dc := draw.New(target)
	// An opaque white background: PNGs are otherwise transparent.
	dc.SetColor(rgb(0xFF, 0xFF, 0xFF))
	dc.Fill(dc.Rectangle.Path())
	f.draw(dc)
	bw := bufio.NewWriter(w)
	if _, err := c.WriteTo(bw); err != nil {
		return fmt.Errorf("figure %s: write %s: %w", f.ID, format, err)
	}
	return bw.Flush()
}

// Save writes f to path in the format its extension names.
func (f *Figure) Save(path string, opt Options) error {
	format := strings.TrimPrefix(filepath.Ext(path), ".")
	file, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := f.Write(file, format, opt); err != nil {
		file.Close()
		return err
	}
	return file.Close()
}

// face is the typeface of every text: a sans serif, as figures usually are.
var face = font.Font{Typeface: "Liberation", Variant: "Sans"}

// newPlot returns a plot with the figure fonts and sizes.
func newPlot(title, xlabel, ylabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font = font.From(face, fontTitle)
	p.Title.Padding = vg.Points(2)
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font = font.From(face, fontLabel)
		a.Tick.Label.Font = font.From(face, fontTick)
		a.Label.Padding = vg.Points(1)
		a.LineStyle.Width = vg.Points(0.5)
		a.Tick.LineStyle.Width = vg.Points(0.5)
		a.Tick.Length = vg.Points(2)
		a.Padding = vg.Points(1)
		a.Tick.Marker = ticks{}
	}
	p.X.Label.Text = xlabel
	p.Y.Label.Text = ylabel
	p.Legend.TextStyle.Font = font.From(face, fontLegend)
	return p
}

// legendEntry is one line of a legend strip.
type legendEntry struct {
	label  string
	things []plot.Thumbnailer
}

// drawLegend draws entries in cols columns filling dc.
func drawLegend(dc draw.Canvas, entries []legendEntry, cols int) {
	if len(entries) == 0 {
		return
	}
	if cols > len(entries) {
		cols = len(entries)
	}
	per := (len(entries) + cols - 1) / cols
	// Fewer columns than asked when the entries fill fewer (5 in 4 columns
	// is 2 per column, in 3 of them).
	used := (len(entries) + per - 1) / per
	w := (dc.Max.X - dc.Min.X) / vg.Length(cols)
	cols = used
	for c := 0; c < cols; c++ {
		l := plot.NewLegend()
		l.TextStyle.Font = font.From(face, fontLegend)
		l.ThumbnailWidth = vg.Points(16)
		l.Padding = vg.Points(1)
		l.Top, l.Left = true, true
		for _, e := range entries[c*per : min((c+1)*per, len(entries))] {
			l.Add(e.label, e.things...)
		}
		sub := draw.Crop(dc, vg.Length(c)*w, -(dc.Max.X-dc.Min.X)+vg.Length(c+1)*w, 0, 0)
		l.Draw(sub)
	}
}

// legendRows is the height of a legend strip with n entries in cols columns.
func legendRows(n, cols int) vg.Length {
	per := (n + cols - 1) / cols
	return vg.Length(per)*vg.Points(fontLegend+3) + vg.Points(4)
}

// shortDevice trims a device string for an axis label: "cuda: NVIDIA H100
// 80GB HBM3" → "H100 80GB HBM3".
func shortDevice(d string) string {
	for _, p := range []string{"cuda: ", "cpu: ", "NVIDIA ", "GeForce "} {
		d = strings.ReplaceAll(d, p, "")
	}
	if len(d) > 28 {
		d = d[:27] + "…"
	}
	return d
}

// ticks places major ticks at 1, 2 or 5 × 10^k steps and prints them
// without trailing zeros ("77.5", not "77.50").
type ticks struct{}

func (ticks) Ticks(lo, hi float64) []plot.Tick {
	if !(hi > lo) {
		return []plot.Tick{{Value: lo, Label: strconv.FormatFloat(lo, 'g', 4, 64)}}
	}
	// The finest 1, 2 or 5 × 10^k step that gives at most maxTicks labels:
	// labels of 8 pt in a narrow panel need the room.
	const maxTicks = 5
	mag := math.Pow(10, math.Floor(math.Log10((hi-lo)/maxTicks)))
	step := 10 * mag
	for _, m := range []float64{1, 2, 5, 10} {
		if math.Floor((hi-lo)/(m*mag)+1e-9)+1 <= maxTicks {
			step = m * mag
			break
		}
	}
	var out []plot.Tick
	for v := math.Ceil(lo/step-1e-9) * step; v <= hi+step*1e-9; v += step {
		r := math.Round(v/step) * step
		if math.Abs(r) < step*1e-6 {
			r = 0 // not "-0" or "-0.0"
		}
		label := strconv.FormatFloat(r, 'f', -1, 64)
		switch {
		case step < 1e-3:
			label = strconv.FormatFloat(r, 'g', 3, 64) // learning rates: "2e-05", not "0.000020"
		case step < 1:
			label = strconv.FormatFloat(r, 'f', int(math.Ceil(-math.Log10(step))), 64)
		}
		out = append(out, plot.Tick{Value: r, Label: label})
	}
	return out
}
