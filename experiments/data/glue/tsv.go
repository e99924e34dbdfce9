package glue

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/cofiharness/cofi/experiments/data"
)

// FormatError is a malformed record of a data file.
type FormatError struct {
	Path string
	Line int // 1-based line (TSV) or row (parquet, 0-based, when Row is set)
	Row  bool
	Msg  string
}

func (e *FormatError) Error() string {
	if e.Row {
		return fmt.Sprintf("%s: row %d: %s", e.Path, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s:%d: %s", e.Path, e.Line, e.Msg)
}

// Skip is a row dropped as malformed (QQP only, as the GLUE baselines do).
type Skip struct {
	Line   int
	Reason string
}

// ReadTSV reads one GLUE TSV file of a task. Fields are split on tabs only:
// there is no quoting (MNLI and QQP texts contain '"'). The first line is a
// header except for CoLA; a UTF-8 byte order mark and CRLF line ends are
// accepted, blank lines ignored. path is used in error messages.
func ReadTSV(r io.Reader, path, taskName, split string) (*Set, error) {
	t, s, err := lookup(taskName)
	if err != nil {
		return nil, err
	}
	canon, _, _, err := resolveSplit(t, s, split)
	if err != nil {
		return nil, err
	}
	vocab, err := data.TaskLabels(t.Name)
	if err != nil {
		return nil, err
	}
	set := &Set{Task: t.Name, Split: canon, Path: path, Source: TSV}
	set.Examples, set.Skipped, err = readTSV(r, path, s, vocab)
	if err != nil {
		return nil, err
	}
	return set, nil
}

func readTSV(r io.Reader, path string, s spec, vocab data.LabelVocab) ([]data.Example, []Skip, error) {
	var (
		exs     []data.Example
		skipped []Skip
		ncols   int
		a, b, l int // absolute column indices
	)
	if !s.header {
		// CoLA: source, label, original_mark, sentence.
		ncols, a, l = 4, s.colA, s.colLabel
	}
	bad := func(line int, format string, args ...any) error {
		return &FormatError{Path: path, Line: line, Msg: fmt.Sprintf(format, args...)}
	}
	br := bufio.NewReaderSize(r, 1<<16)
	sawHeader := !s.header
	for line := 1; ; line++ {
		text, rerr := br.ReadString('\n')
		if rerr != nil && !errors.Is(rerr, io.EOF) {
			return nil, nil, fmt.Errorf("read %s: %w", path, rerr)
		}
		text = strings.TrimSuffix(strings.TrimSuffix(text, "\n"), "\r")
		if line == 1 {
			text = strings.TrimPrefix(text, "\ufeff")
		}
		if text != "" {
			if !utf8.ValidString(text) {
				return nil, nil, bad(line, "invalid UTF-8")
			}
			fields := strings.Split(text, "\t")
			if !sawHeader {
				var err error
				if ncols, a, b, l, err = s.checkHeader(fields); err != nil {
					return nil, nil, bad(line, "%v", err)
				}
				sawHeader = true
			} else {
				ex, err := s.row(fields, ncols, a, b, l, vocab)
				switch {
				case err != nil && s.skipBad:
					skipped = append(skipped, Skip{Line: line, Reason: err.Error()})
				case err != nil:
					return nil, nil, bad(line, "%v", err)
				default:
					ex.ID = strconv.Itoa(len(exs))
					exs = append(exs, ex)
				}
			}
		}
		if rerr != nil {
			break
		}
	}
	if !sawHeader {
		return nil, nil, fmt.Errorf("%s: empty file, expected a header line", path)
	}
	if len(exs) == 0 {
		return nil, skipped, fmt.Errorf("%s: no examples", path)
	}
	return exs, skipped, nil
}

// abs resolves a column index that may count from the end.
func abs(i, n int) int {
	if i < 0 {
		return n + i
	}
	return i
}

// checkHeader validates a header line and returns the column count and the
// absolute indices of text a, text b and label.
func (s spec) checkHeader(fields []string) (ncols, a, b, l int, err error) {
	ncols = len(fields)
	// Columns counted from the end must not overlap those counted from the start.
	need, back := 0, 0
	for _, i := range []int{s.colA, s.colB, s.colLabel} {
		if i >= 0 {
			need = max(need, i+1)
		} else {
			back = max(back, -i)
		}
	}
	need += back
	if ncols < need {
		return 0, 0, 0, 0, fmt.Errorf("header has %d columns, expected at least %d (%s)", ncols, need, s.expectedHeader())
	}
	// Check columns in file order, so the first mismatch is the one reported
	// (headerNames is a map; its iteration order is random).
	idx := make([]int, 0, len(s.headerNames))
	for i := range s.headerNames {
		idx = append(idx, i)
	}
	sort.Slice(idx, func(x, y int) bool { return abs(idx[x], ncols) < abs(idx[y], ncols) })
	for _, i := range idx {
		want := s.headerNames[i]
		got := strings.ToLower(strings.TrimSpace(fields[abs(i, ncols)]))
		if got != want {
			return 0, 0, 0, 0, fmt.Errorf("header column %d is %q, expected %q (%s)", abs(i, ncols)+1, fields[abs(i, ncols)], want, s.expectedHeader())
		}
	}
	return ncols, abs(s.colA, ncols), abs(s.colB, ncols), abs(s.colLabel, ncols), nil
}

func (s spec) expectedHeader() string {
	var parts []string
	for i, n := range s.headerNames {
		if i >= 0 {
			parts = append(parts, fmt.Sprintf("column %d %q", i+1, n))
		} else {
			parts = append(parts, fmt.Sprintf("last column %q", n))
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

// row converts the fields of one data line.
func (s spec) row(fields []string, ncols, a, b, l int, vocab data.LabelVocab) (data.Example, error) {
	if len(fields) != ncols {
		what := "as in the header"
		if !s.header {
			what = "(source, label, original_mark, sentence)"
		}
		return data.Example{}, fmt.Errorf("expected %d tab-separated columns %s, got %d", ncols, what, len(fields))
	}
	ex := data.Example{TextA: fields[a], Pair: s.pair}
	if s.pair {
		ex.TextB = fields[b]
	}
	label := strings.TrimSpace(fields[l])
	if vocab.Regression {
		v, err := strconv.ParseFloat(label, 64)
		if err != nil || math.IsNaN(v) || v < 0 || v > 5 {
			return data.Example{}, fmt.Errorf("column %d: score %q is not a number in [0, 5]", l+1, fields[l])
		}
		ex.Score = v
		return ex, nil
	}
	if _, ok := vocab.ID(label); !ok {
		return data.Example{}, fmt.Errorf("column %d: unknown label %q, expected one of %s", l+1, fields[l], strings.Join(vocab.Names, ", "))
	}
	ex.Label = label
	return ex, nil
}
