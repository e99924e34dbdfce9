package figure

import (
	"bytes"
	"encoding/xml"
	"flag"
	"fmt"
	"image"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/image/font/sfnt"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/cofiharness/cofi/record/steplog"
	"github.com/cofiharness/cofi/report/compare"
	"github.com/cofiharness/cofi/report/runs"
	"github.com/cofiharness/cofi/results/reference"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

func fixture(t *testing.T) *runs.Set {
	t.Helper()
	set, err := runs.Load("../testdata/sweep", "../testdata/grid")
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// figures builds every figure the report draws from the fixture.
func figures(t *testing.T) []*Figure {
	t.Helper()
	set, ref := fixture(t), reference.Default()
	var out []*Figure
	for _, build := range []func() (*Figure, error){
		func() (*Figure, error) { return Figure2(set, ref, Figure2Tasks(set, ref, nil)) },
		func() (*Figure, error) { return Figure2Task(set, ref, "mnli") },
		func() (*Figure, error) { return Figure3(set, ref) },
		func() (*Figure, error) { return LayersGrid(set, ref, nil) },
		func() (*Figure, error) {
			c, err := steplog.Read("../testdata/curves/stages/prune-rte/metrics.jsonl")
			if err != nil {
				return nil, err
			}
			return TrainingCurve(CurveRun{ID: "curve", Label: "rte cofi 95% seed 57 (prune stage)", Metric: "rte/acc", Curve: c})
		},
		func() (*Figure, error) {
			base, err := runs.Load("../testdata/nightly-baseline")
			if err != nil {
				return nil, err
			}
			cur, err := runs.Load("../testdata/nightly")
			if err != nil {
				return nil, err
			}
			var trends []compare.Trend
			for _, tr := range compare.History(base, cur.Nights, compare.Options{}) {
				if tr.Metric != "speedup" && tr.Metric != "sparsity_reached" {
					trends = append(trends, tr)
				}
			}
			return History(trends, "the accepted baseline", cur.Latest())
		},
	} {
		f, err := build()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, f)
	}
	return out
}

func render(t *testing.T, f *Figure, format string, opt Options) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := f.Write(&b, format, opt); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func readGolden(t *testing.T, name string, got []byte) []byte {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return got
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (go test -update creates it)", err)
	}
	return want
}

// TestSVGGolden compares SVGs structurally: the same elements, attributes
// and texts, numbers equal within 0.05 (so float formatting or a one-ulp
// layout change elsewhere does not fail it, but a moved point does).
func TestSVGGolden(t *testing.T) {
	for _, f := range figures(t) {
		t.Run(f.ID, func(t *testing.T) {
			got := render(t, f, "svg", Options{})
			want := readGolden(t, f.ID+".svg", got)
			if err := sameSVG(got, want); err != nil {
				t.Errorf("%s.svg differs from golden (go test -update rewrites it): %v", f.ID, err)
			}
			if again := render(t, f, "svg", Options{}); !bytes.Equal(got, again) {
				t.Error("SVG output is not deterministic")
			}
		})
	}
}

var numRE = regexp.MustCompile(`-?\d+(\.\d+)?(e-?\d+)?`)

type svgToken struct {
	kind string // start, end, text
	name string
	text string // attributes or text, numbers replaced by #
	nums []float64
}

func tokens(b []byte) ([]svgToken, error) {
	dec := xml.NewDecoder(bytes.NewReader(b))
	var out []svgToken
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		var s svgToken
		switch x := tok.(type) {
		case xml.StartElement:
			var attrs []string
			for _, a := range x.Attr {
				attrs = append(attrs, a.Name.Local+"="+a.Value)
			}
			s = svgToken{kind: "start", name: x.Name.Local, text: strings.Join(attrs, " ")}
		case xml.EndElement:
			s = svgToken{kind: "end", name: x.Name.Local}
		case xml.CharData:
			txt := strings.TrimSpace(string(x))
			if txt == "" {
				continue
			}
			s = svgToken{kind: "text", text: txt}
		default:
			continue
		}
		for _, m := range numRE.FindAllString(s.text, -1) {
			v, _ := strconv.ParseFloat(m, 64)
			s.nums = append(s.nums, v)
		}
		s.text = numRE.ReplaceAllString(s.text, "#")
		out = append(out, s)
	}
}

func sameSVG(got, want []byte) error {
	g, err := tokens(got)
	if err != nil {
		return fmt.Errorf("parse output: %v", err)
	}
	w, err := tokens(want)
	if err != nil {
		return fmt.Errorf("parse golden: %v", err)
	}
	if len(g) != len(w) {
		return fmt.Errorf("%d XML tokens, golden has %d", len(g), len(w))
	}
	for i := range g {
		if g[i].kind != w[i].kind || g[i].name != w[i].name || g[i].text != w[i].text || len(g[i].nums) != len(w[i].nums) {
			return fmt.Errorf("token %d: %s <%s> %.80q, golden %s <%s> %.80q", i, g[i].kind, g[i].name, g[i].text, w[i].kind, w[i].name, w[i].text)
		}
		for j := range g[i].nums {
			if math.Abs(g[i].nums[j]-w[i].nums[j]) > 0.05 {
				return fmt.Errorf("token %d <%s>: number %d is %v, golden %v", i, g[i].name, j, g[i].nums[j], w[i].nums[j])
			}
		}
	}
	return nil
}

// TestPNGGolden compares 72-dpi PNGs pixel by pixel with a tolerance:
// at most 0.5% of pixels may differ by more than 48 in any channel.
func TestPNGGolden(t *testing.T) {
	for _, f := range figures(t) {
		t.Run(f.ID, func(t *testing.T) {
			got := render(t, f, "png", Options{DPI: 72})
			want := readGolden(t, f.ID+".png", got)
			gi, err := png.Decode(bytes.NewReader(got))
			if err != nil {
				t.Fatal(err)
			}
			wi, err := png.Decode(bytes.NewReader(want))
			if err != nil {
				t.Fatal(err)
			}
			if frac, err := pixelDiff(gi, wi); err != nil || frac > 0.005 {
				t.Errorf("%s.png differs from golden (go test -update rewrites it): %.2f%% pixels, %v", f.ID, 100*frac, err)
			}
			// Physical size: width in inches × 72 dpi.
			if w := gi.Bounds().Dx(); math.Abs(float64(w)-f.Width.Points()) > 1 {
				t.Errorf("PNG is %d px wide, want %.0f", w, f.Width.Points())
			}
		})
	}
}

func pixelDiff(a, b image.Image) (float64, error) {
	if a.Bounds() != b.Bounds() {
		return 1, fmt.Errorf("size %v, golden %v", a.Bounds(), b.Bounds())
	}
	r := a.Bounds()
	bad := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			r1, g1, b1, _ := a.At(x, y).RGBA()
			r2, g2, b2, _ := b.At(x, y).RGBA()
			d := max(absDiff(r1, r2), absDiff(g1, g2), absDiff(b1, b2)) >> 8
			if d > 48 {
				bad++
			}
		}
	}
	return float64(bad) / float64(r.Dx()*r.Dy()), nil
}

func absDiff(a, b uint32) uint32 {
	if a > b {
		return a - b
	}
	return b - a
}

// TestPDF checks what matters in a PDF rather than its bytes: it is a PDF
// of the figure's physical size, fonts are embedded TrueType (no Type 3),
// the creation date is the newest record's, and rendering is deterministic.
func TestPDF(t *testing.T) {
	for _, f := range figures(t) {
		t.Run(f.ID, func(t *testing.T) {
			b := render(t, f, "pdf", Options{})
			s := string(b)
			if !strings.HasPrefix(s, "%PDF-1.") || !strings.Contains(s, "%%EOF") {
				t.Fatalf("not a complete PDF")
			}
			box := regexp.MustCompile(`/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]`).FindStringSubmatch(s)
			if box == nil {
				t.Fatal("no MediaBox")
			}
			w, _ := strconv.ParseFloat(box[1], 64)
			h, _ := strconv.ParseFloat(box[2], 64)
			if math.Abs(w-f.Width.Points()) > 0.5 || math.Abs(h-f.Height.Points()) > 0.5 {
				t.Errorf("MediaBox %vx%v pt, want %vx%v", w, h, f.Width.Points(), f.Height.Points())
			}
			if !strings.Contains(s, "/FontFile2") || strings.Contains(s, "/Type3") {
				t.Error("fonts are not embedded as TrueType")
			}
			date := f.Date
			if date.IsZero() {
				date = defaultDate
			}
			if !strings.Contains(s, "/CreationDate (D:"+date.UTC().Format("20060102")) {
				t.Errorf("creation date is not the newest record's: %q", regexp.MustCompile(`/CreationDate \([^)]*\)`).FindString(s))
			}
			if again := render(t, f, "pdf", Options{}); !bytes.Equal(b, again) {
				t.Error("PDF output is not deterministic")
			}
		})
	}
}

func TestSVGEmbedsFontsWhenAsked(t *testing.T) {
	f := figures(t)[2]
	plain := render(t, f, "svg", Options{})
	embedded := render(t, f, "svg", Options{EmbedFonts: true})
	if bytes.Contains(plain, []byte("@font-face")) || !bytes.Contains(embedded, []byte("@font-face")) {
		t.Error("EmbedFonts does not control @font-face in SVG")
	}
}

func TestCaptionsNameTheHardware(t *testing.T) {
	for _, f := range figures(t)[:2] {
		if !strings.Contains(f.Caption, "NVIDIA H100 80GB HBM3") || !strings.Contains(f.Caption, "NVIDIA V100") {
			t.Errorf("%s caption lacks the hardware: %s", f.ID, f.Caption)
		}
	}
}

func TestStyleTableIsComplete(t *testing.T) {
	// Every method the paper's figures or the catalogue name has a fixed
	// style, and no two methods look the same.
	seen := map[Style]string{}
	for _, m := range reference.Default().Paper.Methods {
		s, ok := styles[m.Name]
		if !ok {
			t.Errorf("no style for %s", m.Name)
		}
		if other, dup := seen[s]; dup {
			t.Errorf("%s and %s share a style", m.Name, other)
		}
		seen[s] = m.Name
	}
}

func TestTicks(t *testing.T) {
	var labels []string
	for _, tk := range (ticks{}).Ticks(76.4, 85.3) {
		labels = append(labels, tk.Label)
	}
	if got := strings.Join(labels, " "); got != "78 80 82 84" {
		t.Errorf("ticks %s", got)
	}
	labels = nil
	for _, tk := range (ticks{}).Ticks(0.5, 1.2) {
		labels = append(labels, tk.Label)
	}
	if got := strings.Join(labels, " "); got != "0.6 0.8 1.0 1.2" {
		t.Errorf("ticks %s", got)
	}
}

func TestWriteErrors(t *testing.T) {
	f := figures(t)[2]
	if err := f.Write(io.Discard, "gif", Options{}); err == nil || !strings.Contains(err.Error(), "unknown format") {
		t.Errorf("err %v", err)
	}
	if _, err := LayersGrid(runs.FromRecords("none", nil), reference.Default(), []string{"cola"}); err == nil {
		t.Error("an empty grid should be an error")
	}
}

func TestTicksNoNegativeZero(t *testing.T) {
	for _, r := range [][2]float64{{-0.04, 0.2}, {-3, 12}, {-0.5, 0.5}, {-1e-9, 1}, {-20, 100}} {
		for _, tk := range (ticks{}).Ticks(r[0], r[1]) {
			if strings.HasPrefix(tk.Label, "-0") && strings.Trim(tk.Label, "-0.") == "" {
				t.Errorf("ticks of %v: %q", r, tk.Label)
			}
		}
		if n := len((ticks{}).Ticks(r[0], r[1])); n > 5 || n < 2 {
			t.Errorf("ticks of %v: %d labels", r, n)
		}
	}
}

// TestFiguresFitACL: ACL widths, no text under 8 pt, no title drawn inside
// (the caption is its own file).
func TestFiguresFitACL(t *testing.T) {
	size := regexp.MustCompile(`font-size:([0-9.]+)px`)
	for _, f := range figures(t) {
		if f.Width != ColumnWidth && f.Width != PageWidth {
			t.Errorf("%s is %.2f in wide, not an ACL column (3.03 in) or page (6.30 in)", f.ID, float64(f.Width/vg.Inch))
		}
		svg := string(render(t, f, "svg", Options{}))
		sizes := size.FindAllStringSubmatch(svg, -1)
		if len(sizes) == 0 {
			t.Errorf("%s: no text sizes found", f.ID)
		}
		for _, m := range sizes {
			if v, _ := strconv.ParseFloat(m[1], 64); v < 8 {
				t.Errorf("%s: text of %v pt", f.ID, v)
			}
		}
		if strings.Contains(svg, ">Figure") || strings.Contains(svg, "Remaining layers<") {
			t.Errorf("%s draws a title inside the image", f.ID)
		}
	}
	if math.Abs(float64(ColumnWidth/vg.Inch)-3.03) > 0.01 || math.Abs(float64(PageWidth/vg.Inch)-6.30) > 0.01 {
		t.Errorf("widths %.3f, %.3f in", float64(ColumnWidth/vg.Inch), float64(PageWidth/vg.Inch))
	}
}

// TestFontsSubset: PDFs and SVGs embed only the glyphs they print.
func TestFontsSubset(t *testing.T) {
	for _, f := range figures(t) {
		pdf := render(t, f, "pdf", Options{})
		svg := render(t, f, "svg", Options{EmbedFonts: true})
		if len(pdf) > 80_000 || len(svg) > 200_000 {
			t.Errorf("%s: PDF %d bytes, SVG %d bytes: fonts not subset", f.ID, len(pdf), len(svg))
		}
	}
}

func TestSubsetTTF(t *testing.T) {
	face := font.DefaultCache.Lookup(face, 10)
	var src bytes.Buffer
	if _, err := face.Face.WriteSourceTo(nil, &src); err != nil {
		t.Fatal(err)
	}
	var buf sfnt.Buffer
	gid := func(f *sfnt.Font, r rune) sfnt.GlyphIndex {
		g, err := f.GlyphIndex(&buf, r)
		if err != nil || g == 0 {
			t.Fatalf("no glyph for %q: %v", r, err)
		}
		return g
	}
	orig := face.Face
	keep := map[uint16]bool{uint16(gid(orig, 'A')): true, uint16(gid(orig, 'é')): true}
	sub, err := subsetTTF(src.Bytes(), keep)
	if err != nil {
		t.Fatal(err)
	}
	if len(sub) > src.Len()/4 {
		t.Errorf("subset is %d of %d bytes", len(sub), src.Len())
	}
	f, err := sfnt.Parse(sub)
	if err != nil {
		t.Fatal(err)
	}
	outline := func(f *sfnt.Font, r rune) int {
		segs, err := f.LoadGlyph(&buf, gid(f, r), 1000, nil)
		if err != nil {
			t.Fatalf("%q: %v", r, err)
		}
		return len(segs)
	}
	// Kept glyphs (and the composite é's parts) keep their outlines and
	// advances; the others are empty; the character map is unchanged.
	for _, r := range []rune{'A', 'é'} {
		if a, b := outline(orig, r), outline(f, r); a != b || a == 0 {
			t.Errorf("%q: %d segments, originally %d", r, b, a)
		}
	}
	if n := outline(f, 'Q'); n != 0 {
		t.Errorf("Q kept %d segments", n)
	}
	a1, _ := orig.GlyphAdvance(&buf, gid(orig, 'Q'), 1000, 0)
	a2, _ := f.GlyphAdvance(&buf, gid(f, 'Q'), 1000, 0)
	if a1 != a2 {
		t.Errorf("advance of Q changed: %v → %v", a1, a2)
	}
}

// TestLegendColumns: any number of entries in any number of columns (5 in
// 4 columns crashed once).
func TestLegendColumns(t *testing.T) {
	c := draw.New(vgimg.New(200, 100))
	for n := 1; n <= 12; n++ {
		for cols := 1; cols <= 5; cols++ {
			var es []legendEntry
			for i := 0; i < n; i++ {
				es = append(es, legendEntry{label: fmt.Sprint(i)})
			}
			drawLegend(c, es, cols)
		}
	}
}

// TestTeacherName: the teacher line is named after the recorded model.
func TestTeacherName(t *testing.T) {
	for _, c := range []struct {
		layers, hidden int
		want           string
	}{{12, 768, "BERT-base"}, {24, 1024, "BERT-large"}, {2, 64, "2-layer BERT (hidden 64)"}} {
		if got := ModelName(c.layers, c.hidden); got != c.want {
			t.Errorf("%d×%d: %q", c.layers, c.hidden, got)
		}
	}
}
