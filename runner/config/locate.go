package config

import (
	"fmt"
	"strconv"
	"strings"
)

// Pos is a 1-based line and column (in characters) in a config file.
type Pos struct{ Line, Col int }

// locate maps the key paths of a TOML document to where they are written.
// The TOML library reports positions only for syntax errors, so this scanner
// finds where every key, table header and array element starts, for error
// messages about values that parse but are invalid. It runs only on documents
// the TOML library accepted, and is tolerant anyway: on anything unexpected it
// skips to the next line; it never fails.
//
// Paths are rendered by pathKey/pathIndex: grid[0].axes."prune.alpha_pred".
func locate(src []byte) map[string]Pos {
	l := &locator{src: src, line: 1, col: 1, keys: map[string]Pos{}, aot: map[string]int{}}
	l.document()
	return l.keys
}

type locator struct {
	src       []byte
	i         int
	line, col int
	keys      map[string]Pos
	aot       map[string]int // array-of-tables length by indexed path
}

func (l *locator) eof() bool { return l.i >= len(l.src) }

func (l *locator) peek() byte {
	if l.eof() {
		return 0
	}
	return l.src[l.i]
}

func (l *locator) peekAt(k int) byte {
	if l.i+k >= len(l.src) {
		return 0
	}
	return l.src[l.i+k]
}

func (l *locator) advance() {
	if l.eof() {
		return
	}
	b := l.src[l.i]
	l.i++
	switch {
	case b == '\n':
		l.line++
		l.col = 1
	case b&0xC0 != 0x80: // count characters, not UTF-8 continuation bytes
		l.col++
	}
}

func (l *locator) pos() Pos { return Pos{l.line, l.col} }

// record notes where path is first written, and its ancestors with it when
// they are not written on their own ([a.b.c] defines a and a.b implicitly).
func (l *locator) record(path string, p Pos) {
	for q := path; q != ""; q = parentPath(q) {
		if _, ok := l.keys[q]; ok {
			return
		}
		l.keys[q] = p
	}
}

// skipSpace skips blanks, and newlines and comments when nl is set.
func (l *locator) skipSpace(nl bool) {
	for !l.eof() {
		switch c := l.peek(); {
		case c == ' ' || c == '\t' || c == '\r':
			l.advance()
		case nl && c == '\n':
			l.advance()
		case nl && c == '#':
			l.skipLine()
		default:
			return
		}
	}
}

// skipLine consumes the rest of the line including its newline; it always
// makes progress when not at the end.
func (l *locator) skipLine() {
	for !l.eof() {
		c := l.peek()
		l.advance()
		if c == '\n' {
			return
		}
	}
}

func (l *locator) document() {
	var table string
	for {
		l.skipSpace(true)
		if l.eof() {
			return
		}
		start := l.i
		p := l.pos()
		if l.peek() == '[' {
			l.advance()
			arr := l.peek() == '['
			if arr {
				l.advance()
			}
			segs, ok := l.key()
			if ok {
				table = l.header(segs, arr)
				l.record(table, p)
			}
			l.skipLine()
			continue
		}
		segs, ok := l.key()
		l.skipSpace(false)
		if !ok || l.peek() != '=' {
			if l.i == start {
				l.advance()
			}
			l.skipLine()
			continue
		}
		l.advance()
		path := join(table, segs...)
		l.record(path, p)
		l.skipSpace(false)
		l.value(path)
		l.skipLine()
	}
}

// header resolves a [table] or [[array]] header to an indexed path: every
// prefix that is an array of tables refers to its last element.
func (l *locator) header(segs []string, arr bool) string {
	p := ""
	for j, s := range segs {
		p = join(p, s)
		if arr && j == len(segs)-1 {
			n := l.aot[p]
			l.aot[p] = n + 1
			return pathIndex(p, n)
		}
		if n, ok := l.aot[p]; ok && n > 0 {
			p = pathIndex(p, n-1)
		}
	}
	return p
}

// key reads a possibly dotted key and returns its rendered segments.
func (l *locator) key() ([]string, bool) {
	var segs []string
	for {
		l.skipSpace(false)
		var (
			s  string
			ok bool
		)
		switch l.peek() {
		case '"':
			s, ok = l.basicString()
		case '\'':
			s, ok = l.literalString()
		default:
			start := l.i
			for !l.eof() && isBare(l.peek()) {
				l.advance()
			}
			s, ok = string(l.src[start:l.i]), l.i > start
		}
		if !ok {
			return nil, false
		}
		segs = append(segs, s)
		l.skipSpace(false)
		if l.peek() != '.' {
			return segs, true
		}
		l.advance()
	}
}

func isBare(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// basicString reads "..." and returns its unescaped content.
func (l *locator) basicString() (string, bool) {
	l.advance()
	start := l.i
	for !l.eof() {
		switch l.peek() {
		case '\\':
			l.advance()
			l.advance()
		case '"':
			raw := string(l.src[start:l.i])
			l.advance()
			if s, err := strconv.Unquote(`"` + raw + `"`); err == nil {
				return s, true
			}
			return raw, true
		case '\n':
			return "", false
		default:
			l.advance()
		}
	}
	return "", false
}

func (l *locator) literalString() (string, bool) {
	l.advance()
	start := l.i
	for !l.eof() {
		switch l.peek() {
		case '\'':
			s := string(l.src[start:l.i])
			l.advance()
			return s, true
		case '\n':
			return "", false
		default:
			l.advance()
		}
	}
	return "", false
}

// skipMultiline skips a """ or ”' string whose opening quotes are next.
func (l *locator) skipMultiline(q byte) {
	l.advance()
	l.advance()
	l.advance()
	for !l.eof() {
		c := l.peek()
		if c == '\\' && q == '"' {
			l.advance()
			l.advance()
			continue
		}
		if c == q && l.peekAt(1) == q && l.peekAt(2) == q {
			l.advance()
			l.advance()
			l.advance()
			// Up to two more quotes may belong to the content.
			for k := 0; k < 2 && l.peek() == q; k++ {
				l.advance()
			}
			return
		}
		l.advance()
	}
}

// value skips one value, recording the keys of inline tables and the
// elements of arrays under path.
func (l *locator) value(path string) {
	switch c := l.peek(); {
	case c == '"' || c == '\'':
		if l.peekAt(1) == c && l.peekAt(2) == c {
			l.skipMultiline(c)
		} else if c == '"' {
			l.basicString()
		} else {
			l.literalString()
		}
	case c == '{':
		l.advance()
		for {
			l.skipSpace(true)
			if l.eof() {
				return
			}
			if l.peek() == '}' {
				l.advance()
				return
			}
			p := l.pos()
			segs, ok := l.key()
			l.skipSpace(false)
			if !ok || l.peek() != '=' {
				return
			}
			l.advance()
			sub := join(path, segs...)
			l.record(sub, p)
			l.skipSpace(false)
			l.value(sub)
			l.skipSpace(true)
			switch l.peek() {
			case ',':
				l.advance()
			case '}':
				l.advance()
				return
			default:
				return
			}
		}
	case c == '[':
		l.advance()
		for idx := 0; ; idx++ {
			l.skipSpace(true)
			if l.eof() {
				return
			}
			if l.peek() == ']' {
				l.advance()
				return
			}
			sub := pathIndex(path, idx)
			l.record(sub, l.pos())
			start := l.i
			l.value(sub)
			l.skipSpace(true)
			switch l.peek() {
			case ',':
				l.advance()
			case ']':
				l.advance()
				return
			default:
				return
			}
			if l.i == start {
				return
			}
		}
	default:
		for !l.eof() {
			switch l.peek() {
			case ',', ']', '}', '\n', '#':
				return
			}
			l.advance()
		}
	}
}

// renderSeg writes a key segment as TOML would: bare when possible.
func renderSeg(s string) string {
	if s == "" {
		return `""`
	}
	for i := 0; i < len(s); i++ {
		if !isBare(s[i]) {
			return strconv.Quote(s)
		}
	}
	return s
}

// join appends key segments to a rendered path.
func join(path string, segs ...string) string {
	var b strings.Builder
	b.WriteString(path)
	for _, s := range segs {
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(renderSeg(s))
	}
	return b.String()
}

// pathIndex appends an array index to a rendered path.
func pathIndex(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }
