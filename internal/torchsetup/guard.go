package torchsetup

import (
	"bufio"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// A diagnostic location in one of gotch's C++ sources.
type loc struct {
	file string
	line int
}

var (
	// "torch_api_generated.cpp.h:626:29: error: ..." or "...:1458:3:   required from here"
	diagRe = regexp.MustCompile(`(?:^|[\s/])(torch_api(?:_generated\.cpp\.h|\.cpp)):(\d+):\d+:\s*(error:|required from here|required from)`)
	// "torch_api_generated.cpp.h: In function ‘void atg__lstm_mps(...)’:"
	inFuncRe = regexp.MustCompile(`(torch_api(?:_generated\.cpp\.h|\.cpp)): In function ‘[^(’]*?\b([A-Za-z_][A-Za-z0-9_]*)\(`)
)

// parseDiagnostics extracts from g++ output the places in gotch's own sources
// that an error points at, directly or through "required from here", and the
// names of the functions gcc says the errors are in.
func parseDiagnostics(out string) (locs []loc, funcs map[string]map[string]bool) {
	funcs = map[string]map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	var pending []string // "In function" names awaiting an error to confirm them
	for sc.Scan() {
		l := sc.Text()
		if m := inFuncRe.FindStringSubmatch(l); m != nil {
			pending = append(pending, m[1]+"\x00"+m[2])
			continue
		}
		if m := diagRe.FindStringSubmatch(l); m != nil {
			n, _ := strconv.Atoi(m[2])
			locs = append(locs, loc{m[1], n})
		}
		if strings.Contains(l, "error:") {
			for _, p := range pending {
				f, name, _ := strings.Cut(p, "\x00")
				if funcs[f] == nil {
					funcs[f] = map[string]bool{}
				}
				funcs[f][name] = true
			}
			pending = nil
		}
	}
	return locs, funcs
}

// function is a top-level C/C++ function definition in a source file.
type function struct {
	name       string
	returnType string
	start, end int // 1-based lines of the header's first line and of the closing brace
	bodyStart  int // byte offset just after the opening brace
	bodyEnd    int // byte offset of the closing brace
}

var headerRe = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_:<>,\s\*&]*?[\s\*&]+)([A-Za-z_][A-Za-z0-9_]*)\s*\(`)

// functions finds the top-level function definitions of src: a line starting
// in column 0 with a return type and a name followed by '(', whose body is the
// brace block that follows. Enough for gotch's generated wrapper and its
// hand-written torch_api.cpp, which is all this is used on.
func functions(src string) []function {
	var out []function
	lineStarts := []int{0}
	for i := 0; i < len(src); i++ {
		if src[i] == '\n' {
			lineStarts = append(lineStarts, i+1)
		}
	}
	lineOf := func(off int) int {
		return sort.Search(len(lineStarts), func(i int) bool { return lineStarts[i] > off })
	}
	for li := 0; li < len(lineStarts); li++ {
		s := lineStarts[li]
		e := len(src)
		if li+1 < len(lineStarts) {
			e = lineStarts[li+1]
		}
		line := src[s:e]
		if len(line) == 0 || line[0] == ' ' || line[0] == '\t' || line[0] == '#' || line[0] == '/' || line[0] == '}' {
			continue
		}
		m := headerRe.FindStringSubmatch(line)
		if m == nil || strings.HasPrefix(strings.TrimSpace(m[1]), "return") {
			continue
		}
		// Find the opening brace of the body: the first '{' or ';' after the
		// parameter list closes. A ';' first means a declaration.
		depth, i := 0, s+len(m[0])-1
		for ; i < len(src); i++ {
			c := src[i]
			if c == '(' {
				depth++
			} else if c == ')' {
				depth--
				if depth == 0 {
					break
				}
			}
		}
		j := i + 1
		for j < len(src) && src[j] != '{' && src[j] != ';' {
			j++
		}
		if j >= len(src) || src[j] == ';' {
			continue
		}
		end := matchBrace(src, j)
		if end < 0 {
			continue
		}
		out = append(out, function{
			name:       m[2],
			returnType: strings.TrimSpace(m[1]),
			start:      li + 1,
			end:        lineOf(end),
			bodyStart:  j + 1,
			bodyEnd:    end,
		})
		li = lineOf(end) - 1
	}
	return out
}

// matchBrace returns the offset of the '}' closing the '{' at open, skipping
// string and character literals and comments.
func matchBrace(src string, open int) int {
	depth := 0
	for i := open; i < len(src); i++ {
		switch c := src[i]; c {
		case '"', '\'':
			for i++; i < len(src) && src[i] != c; i++ {
				if src[i] == '\\' {
					i++
				}
			}
		case '/':
			if i+1 < len(src) && src[i+1] == '/' {
				for i < len(src) && src[i] != '\n' {
					i++
				}
			} else if i+1 < len(src) && src[i+1] == '*' {
				k := strings.Index(src[i+2:], "*/")
				if k < 0 {
					return -1
				}
				i += k + 3
			}
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

// guardBody is the body that replaces a function that does not compile: it
// sets gotch's thread-local error, which the Go side turns into an error, and
// returns a zero value.
func guardBody(f function, why string) string {
	msg := strconv.Quote(fmt.Sprintf("%s is not available in this libtorch (%s)", f.name, why))
	var ret string
	rt := f.returnType
	switch {
	case rt == "void":
	case strings.HasSuffix(rt, "*") || rt == "tensor" || rt == "scalar" || rt == "optimizer" || rt == "module" || rt == "ivalue":
		ret = " return nullptr;"
	case rt == "bool":
		ret = " return false;"
	default:
		ret = " return {};"
	}
	return fmt.Sprintf("\n  torch_last_err = strdup(%s);%s\n", msg, ret)
}

// guard replaces the bodies of the named functions in src and returns the new
// source and the names actually replaced.
func guard(src string, names map[string]bool, why string) (string, []string) {
	fs := functions(src)
	var b strings.Builder
	last := 0
	var done []string
	for _, f := range fs {
		if !names[f.name] {
			continue
		}
		b.WriteString(src[last:f.bodyStart])
		b.WriteString(guardBody(f, why))
		last = f.bodyEnd
		done = append(done, f.name)
	}
	b.WriteString(src[last:])
	return b.String(), done
}

// functionsAt returns the names of the functions of src enclosing the given lines.
func functionsAt(src string, lines []int) map[string]bool {
	fs := functions(src)
	out := map[string]bool{}
	for _, l := range lines {
		i := sort.Search(len(fs), func(i int) bool { return fs[i].end >= l })
		if i < len(fs) && fs[i].start <= l {
			out[fs[i].name] = true
		}
	}
	return out
}
