package figure

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"sort"

	"golang.org/x/image/font/sfnt"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/vg"
)

// Fonts in PDF and SVG figures are subset: only the outlines of the glyphs a
// figure prints are embedded (a whole Liberation Sans is 400 kB per file).
// Glyph ids, metrics, the character map and kerning stay as they are, so text
// measures and places exactly as gonum laid it out; the outlines of unused
// glyphs are emptied, glyph names dropped (post format 3) and the OpenType
// positioning tables left out (PDF text is not kerned; SVG viewers kern with
// the kern table, which stays).

// dropTables are left out of a subset font.
var dropTables = map[string]bool{"GPOS": true, "GSUB": true, "GDEF": true, "JSTF": true, "BASE": true,
	"DSIG": true, "hdmx": true, "LTSH": true, "VDMX": true, "FFTM": true}

type ttfTable struct {
	tag  string
	data []byte
}

// subsetTTF returns src with only the glyphs in keep (and .notdef, and the
// components of kept composite glyphs) having outlines.
func subsetTTF(src []byte, keep map[uint16]bool) ([]byte, error) {
	if len(src) < 12 {
		return nil, errors.New("subset: short font")
	}
	if v := binary.BigEndian.Uint32(src); v != 0x00010000 && v != 0x74727565 {
		return nil, fmt.Errorf("subset: not a TrueType font (version %#x)", v)
	}
	n := int(binary.BigEndian.Uint16(src[4:]))
	tables := map[string][]byte{}
	var order []string
	for i := 0; i < n; i++ {
		rec := src[12+16*i:]
		if len(rec) < 16 {
			return nil, errors.New("subset: truncated table directory")
		}
		tag := string(rec[:4])
		off, ln := binary.BigEndian.Uint32(rec[8:]), binary.BigEndian.Uint32(rec[12:])
		if uint64(off)+uint64(ln) > uint64(len(src)) {
			return nil, fmt.Errorf("subset: table %s out of range", tag)
		}
		tables[tag] = src[off : off+ln]
		order = append(order, tag)
	}
	head, loca, glyf, maxp := tables["head"], tables["loca"], tables["glyf"], tables["maxp"]
	if len(head) < 54 || loca == nil || glyf == nil || len(maxp) < 6 {
		return nil, errors.New("subset: no head, loca, glyf or maxp table")
	}
	long := binary.BigEndian.Uint16(head[50:]) == 1
	glyphs := int(binary.BigEndian.Uint16(maxp[4:]))
	offset := func(g int) (int, error) {
		if long {
			if 4*g+4 > len(loca) {
				return 0, errors.New("subset: short loca")
			}
			return int(binary.BigEndian.Uint32(loca[4*g:])), nil
		}
		if 2*g+2 > len(loca) {
			return 0, errors.New("subset: short loca")
		}
		return 2 * int(binary.BigEndian.Uint16(loca[2*g:])), nil
	}
	glyph := func(g int) ([]byte, error) {
		a, err := offset(g)
		if err != nil {
			return nil, err
		}
		b, err := offset(g + 1)
		if err != nil {
			return nil, err
		}
		if a > b || b > len(glyf) {
			return nil, fmt.Errorf("subset: glyph %d out of range", g)
		}
		return glyf[a:b], nil
	}
	// Close keep over composite glyph components.
	keep = copyKeep(keep)
	keep[0] = true
	queue := make([]uint16, 0, len(keep))
	for g := range keep {
		queue = append(queue, g)
	}
	for len(queue) > 0 {
		g := queue[len(queue)-1]
		queue = queue[:len(queue)-1]
		if int(g) >= glyphs {
			continue
		}
		data, err := glyph(int(g))
		if err != nil {
			return nil, err
		}
		for _, c := range components(data) {
			if !keep[c] {
				keep[c] = true
				queue = append(queue, c)
			}
		}
	}
	var newGlyf bytes.Buffer
	newLoca := make([]byte, 0, len(loca))
	putOffset := func(o int) {
		if long {
			newLoca = binary.BigEndian.AppendUint32(newLoca, uint32(o))
		} else {
			newLoca = binary.BigEndian.AppendUint16(newLoca, uint16(o/2))
		}
	}
	for g := 0; g < glyphs; g++ {
		putOffset(newGlyf.Len())
		if !keep[uint16(g)] {
			continue
		}
		data, err := glyph(g)
		if err != nil {
			return nil, err
		}
		newGlyf.Write(data)
		for newGlyf.Len()%4 != 0 {
			newGlyf.WriteByte(0)
		}
	}
	putOffset(newGlyf.Len())
	if !long && newGlyf.Len()/2 > 0xFFFF {
		return nil, errors.New("subset: glyf too large for short loca")
	}
	tables["glyf"], tables["loca"] = newGlyf.Bytes(), newLoca
	if post := tables["post"]; len(post) >= 32 {
		p := append([]byte(nil), post[:32]...)
		binary.BigEndian.PutUint32(p, 0x00030000)
		tables["post"] = p
	}
	h := append([]byte(nil), head...)
	binary.BigEndian.PutUint32(h[8:], 0) // checkSumAdjustment, set below
	tables["head"] = h

	var kept []ttfTable
	for _, tag := range order {
		if !dropTables[tag] {
			kept = append(kept, ttfTable{tag, tables[tag]})
		}
	}
	sort.Slice(kept, func(i, j int) bool { return kept[i].tag < kept[j].tag })
	return assemble(src[:4], kept), nil
}

func copyKeep(m map[uint16]bool) map[uint16]bool {
	out := make(map[uint16]bool, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	return out
}

// components lists the glyphs a composite glyph is made of.
func components(data []byte) []uint16 {
	if len(data) < 10 || int16(binary.BigEndian.Uint16(data)) >= 0 {
		return nil
	}
	const (
		argsAreWords  = 0x0001
		haveScale     = 0x0008
		moreComps     = 0x0020
		haveXYScale   = 0x0040
		haveTwoByTwo  = 0x0080
		maxComponents = 64
	)
	var out []uint16
	p := 10
	for i := 0; i < maxComponents && p+4 <= len(data); i++ {
		flags := binary.BigEndian.Uint16(data[p:])
		out = append(out, binary.BigEndian.Uint16(data[p+2:]))
		p += 4
		if flags&argsAreWords != 0 {
			p += 4
		} else {
			p += 2
		}
		switch {
		case flags&haveScale != 0:
			p += 2
		case flags&haveXYScale != 0:
			p += 4
		case flags&haveTwoByTwo != 0:
			p += 8
		}
		if flags&moreComps == 0 {
			break
		}
	}
	return out
}

// assemble writes an sfnt file: directory, 4-byte aligned tables, checksums.
func assemble(version []byte, tables []ttfTable) []byte {
	n := len(tables)
	es := 0
	for 1<<(es+1) <= n {
		es++
	}
	var b bytes.Buffer
	b.Write(version)
	binary.Write(&b, binary.BigEndian, []uint16{uint16(n), uint16(16 << es), uint16(es), uint16(16*n - 16<<es)})
	off := 12 + 16*n
	headAt := -1
	for _, t := range tables {
		b.WriteString(t.tag)
		binary.Write(&b, binary.BigEndian, []uint32{checksum(t.data), uint32(off), uint32(len(t.data))})
		if t.tag == "head" {
			headAt = off
		}
		off += (len(t.data) + 3) &^ 3
	}
	for _, t := range tables {
		b.Write(t.data)
		for b.Len()%4 != 0 {
			b.WriteByte(0)
		}
	}
	out := b.Bytes()
	if headAt >= 0 {
		binary.BigEndian.PutUint32(out[headAt+8:], 0xB1B0AFBA-checksum(out))
	}
	return out
}

func checksum(b []byte) uint32 {
	var sum uint32
	for i := 0; i < len(b); i += 4 {
		var w [4]byte
		copy(w[:], b[i:])
		sum += binary.BigEndian.Uint32(w[:])
	}
	return sum
}

// subsetFaces returns, for each face that printed text, the same face with
// a font holding only the glyphs of that text.
func subsetFaces(used map[font.Face]map[rune]bool) (map[font.Font]font.Face, error) {
	out := map[font.Font]font.Face{}
	var buf sfnt.Buffer
	for face, runes := range used {
		var src bytes.Buffer
		if _, err := face.Face.WriteSourceTo(nil, &src); err != nil {
			return nil, err
		}
		keep := map[uint16]bool{}
		for r := range runes {
			if g, err := face.Face.GlyphIndex(&buf, r); err == nil && g != 0 {
				keep[uint16(g)] = true
			}
		}
		sub, err := subsetTTF(src.Bytes(), keep)
		if err != nil {
			return nil, fmt.Errorf("font %s: %w", face.Name(), err)
		}
		f, err := sfnt.Parse(sub)
		if err != nil {
			return nil, fmt.Errorf("font %s: subset does not parse: %w", face.Name(), err)
		}
		out[face.Font] = font.Face{Font: face.Font, Face: f}
	}
	return out, nil
}

// textCollector is a canvas that draws nothing and notes which runes each
// face prints.
type textCollector struct {
	w, h vg.Length
	used map[font.Face]map[rune]bool
}

func (c *textCollector) Size() (vg.Length, vg.Length)        { return c.w, c.h }
func (c *textCollector) SetLineWidth(vg.Length)              {}
func (c *textCollector) SetLineDash([]vg.Length, vg.Length)  {}
func (c *textCollector) SetColor(color.Color)                {}
func (c *textCollector) Rotate(float64)                      {}
func (c *textCollector) Translate(vg.Point)                  {}
func (c *textCollector) Scale(float64, float64)              {}
func (c *textCollector) Push()                               {}
func (c *textCollector) Pop()                                {}
func (c *textCollector) Stroke(vg.Path)                      {}
func (c *textCollector) Fill(vg.Path)                        {}
func (c *textCollector) DrawImage(vg.Rectangle, image.Image) {}
func (c *textCollector) FillString(f font.Face, _ vg.Point, s string) {
	// Keyed by the font and its face, not the size: one subset per font.
	k := font.Face{Font: f.Font, Face: f.Face}
	k.Font.Size = 0
	if c.used[k] == nil {
		c.used[k] = map[rune]bool{}
	}
	for _, r := range s {
		c.used[k][r] = true
	}
}

// subsetCanvas draws on a canvas with the subset faces.
type subsetCanvas struct {
	vg.CanvasSizer
	faces map[font.Font]font.Face
}

func (c subsetCanvas) FillString(f font.Face, pt vg.Point, s string) {
	k := f.Font
	k.Size = 0
	if sub, ok := c.faces[k]; ok {
		f.Face = sub.Face
	}
	c.CanvasSizer.FillString(f, pt, s)
}
