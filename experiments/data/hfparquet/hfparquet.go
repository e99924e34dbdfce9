// Package hfparquet reads the columns of a Hugging Face datasets parquet
// export (nyu-mll/glue, rajpurkar/squad) into Go slices: scalar columns
// (string, integer, float) and list columns (SQuAD's answers.text and
// answers.answer_start), whatever the list encoding's inner names.
package hfparquet

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/parquet-go/parquet-go"
)

// Table holds the requested columns of one parquet file.
type Table struct {
	Path    string
	NumRows int
	cols    map[string]*column
}

type column struct {
	name string
	list bool
	rows [][]parquet.Value // non-null values of each row, cloned
}

// Read loads the named columns of the file at path. A name is a top-level
// column ("sentence1") or a dotted path to a nested one ("answers.text");
// it must lead to exactly one leaf.
func Read(path string, names ...string) (*Table, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read parquet: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read parquet: %w", err)
	}
	t, err := ReadFrom(f, st.Size(), names...)
	if err != nil {
		return nil, fmt.Errorf("read parquet %s: %w", path, err)
	}
	t.Path = path
	return t, nil
}

// ReadFrom is Read on an open file of the given size.
func ReadFrom(r io.ReaderAt, size int64, names ...string) (t *Table, err error) {
	// The parquet library trusts lengths in the file; a corrupt file must be
	// an error for our callers, never a crash.
	defer func() {
		if p := recover(); p != nil {
			t, err = nil, fmt.Errorf("corrupt parquet file: %v", p)
		}
	}()
	if err := checkFooter(r, size); err != nil {
		return nil, err
	}
	pf, err := parquet.OpenFile(r, size, parquet.SkipBloomFilters(true), parquet.SkipPageIndex(true))
	if err != nil {
		return nil, err
	}
	if err := checkChunks(pf, size); err != nil {
		return nil, err
	}
	schema := pf.Schema()
	t = &Table{cols: map[string]*column{}}
	byLeaf := map[int]*column{}
	for _, name := range names {
		leaf, list, err := findLeaf(schema, name)
		if err != nil {
			return nil, err
		}
		c := &column{name: name, list: list}
		t.cols[name] = c
		byLeaf[leaf] = c
	}
	buf := make([]parquet.Row, 64)
	for _, rg := range pf.RowGroups() {
		if err := readGroup(rg, buf, byLeaf); err != nil {
			return nil, err
		}
	}
	t.NumRows = -1
	for _, c := range t.cols {
		if t.NumRows >= 0 && len(c.rows) != t.NumRows {
			return nil, fmt.Errorf("column %s has %d rows, others %d", c.name, len(c.rows), t.NumRows)
		}
		t.NumRows = len(c.rows)
	}
	if t.NumRows < 0 {
		t.NumRows = int(pf.NumRows())
	}
	return t, nil
}

// checkFooter validates the trailing magic and footer length before the
// library allocates a buffer of the length the file claims.
func checkFooter(r io.ReaderAt, size int64) error {
	if size < 12 {
		return fmt.Errorf("%d bytes: too short for a parquet file", size)
	}
	var tail [8]byte
	if _, err := r.ReadAt(tail[:], size-8); err != nil {
		return err
	}
	if string(tail[4:]) != "PAR1" {
		return fmt.Errorf("no PAR1 magic at the end: not a parquet file")
	}
	if n := int64(binary.LittleEndian.Uint32(tail[:4])); n > size-12 {
		return fmt.Errorf("footer length %d exceeds the file size %d", n, size)
	}
	return nil
}

// maxChunkBytes bounds a column chunk's uncompressed size: far above any
// GLUE or SQuAD column (MNLI's premises are ~50 MB) and low enough that a
// corrupt size cannot make the reader allocate without limit.
const maxChunkBytes = 1 << 30

// checkChunks rejects column chunks lying outside the file or claiming
// absurd sizes, which the library would otherwise try to allocate.
func checkChunks(pf *parquet.File, size int64) error {
	for i, rg := range pf.Metadata().RowGroups {
		if rg.NumRows < 0 {
			return fmt.Errorf("row group %d: %d rows", i, rg.NumRows)
		}
		for j, cc := range rg.Columns {
			md := cc.MetaData
			end := md.DataPageOffset + md.TotalCompressedSize
			if md.DictionaryPageOffset > 0 && md.DictionaryPageOffset < md.DataPageOffset {
				end = md.DictionaryPageOffset + md.TotalCompressedSize
			}
			if md.DataPageOffset < 4 || md.TotalCompressedSize < 0 || end > size ||
				md.TotalUncompressedSize < 0 || md.TotalUncompressedSize > maxChunkBytes || md.NumValues < 0 {
				return fmt.Errorf("row group %d column %d: chunk metadata out of bounds (offset %d, %d bytes compressed, %d uncompressed, file %d bytes)",
					i, j, md.DataPageOffset, md.TotalCompressedSize, md.TotalUncompressedSize, size)
			}
		}
	}
	return nil
}

func findLeaf(schema *parquet.Schema, name string) (int, bool, error) {
	prefix := strings.Split(name, ".")
	var found []int
	list := false
	var top []string
	for _, p := range schema.Columns() {
		if !slices.Contains(top, p[0]) {
			top = append(top, p[0])
		}
		if len(p) >= len(prefix) && slices.Equal(p[:len(prefix)], prefix) {
			leaf, ok := schema.Lookup(p...)
			if !ok {
				continue
			}
			found = append(found, leaf.ColumnIndex)
			list = leaf.MaxRepetitionLevel > 0
		}
	}
	switch len(found) {
	case 0:
		return 0, false, fmt.Errorf("no column %q (columns: %s)", name, strings.Join(top, ", "))
	case 1:
		return found[0], list, nil
	default:
		return 0, false, fmt.Errorf("column %q is a group of %d columns, want one", name, len(found))
	}
}

func readGroup(rg parquet.RowGroup, buf []parquet.Row, byLeaf map[int]*column) error {
	rows := rg.Rows()
	defer rows.Close()
	for {
		n, err := rows.ReadRows(buf)
		for _, row := range buf[:n] {
			for _, c := range byLeaf {
				c.rows = append(c.rows, nil)
			}
			for _, v := range row {
				c, ok := byLeaf[v.Column()]
				if !ok || v.IsNull() {
					continue
				}
				last := len(c.rows) - 1
				c.rows[last] = append(c.rows[last], v.Clone())
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if n == 0 {
			return errors.New("row reader made no progress")
		}
	}
}

func (t *Table) col(name string, list bool) (*column, error) {
	c, ok := t.cols[name]
	if !ok {
		return nil, fmt.Errorf("column %q was not read", name)
	}
	if c.list != list {
		want := "a scalar"
		if list {
			want = "a list"
		}
		return nil, fmt.Errorf("column %q: want %s column", name, want)
	}
	return c, nil
}

func (c *column) scalar(row int) (parquet.Value, error) {
	vs := c.rows[row]
	if len(vs) != 1 {
		return parquet.Value{}, fmt.Errorf("row %d: column %s is null", row, c.name)
	}
	return vs[0], nil
}

func toString(v parquet.Value) (string, error) {
	if k := v.Kind(); k != parquet.ByteArray && k != parquet.FixedLenByteArray {
		return "", fmt.Errorf("%v value, want a string", k)
	}
	b := v.ByteArray()
	if !utf8.Valid(b) {
		return "", errors.New("string is not valid UTF-8")
	}
	return string(b), nil
}

func toInt(v parquet.Value) (int64, error) {
	switch v.Kind() {
	case parquet.Int32:
		return int64(v.Int32()), nil
	case parquet.Int64:
		return v.Int64(), nil
	}
	return 0, fmt.Errorf("%v value, want an integer", v.Kind())
}

func toFloat(v parquet.Value) (float64, error) {
	switch v.Kind() {
	case parquet.Float:
		return float64(v.Float()), nil
	case parquet.Double:
		return v.Double(), nil
	case parquet.Int32, parquet.Int64:
		i, _ := toInt(v)
		return float64(i), nil
	}
	return 0, fmt.Errorf("%v value, want a number", v.Kind())
}

func scalars[T any](t *Table, name string, conv func(parquet.Value) (T, error)) ([]T, error) {
	c, err := t.col(name, false)
	if err != nil {
		return nil, err
	}
	out := make([]T, len(c.rows))
	for i := range c.rows {
		v, err := c.scalar(i)
		if err == nil {
			out[i], err = conv(v)
		}
		if err != nil {
			return nil, fmt.Errorf("row %d column %s: %w", i, name, err)
		}
	}
	return out, nil
}

func lists[T any](t *Table, name string, conv func(parquet.Value) (T, error)) ([][]T, error) {
	c, err := t.col(name, true)
	if err != nil {
		return nil, err
	}
	out := make([][]T, len(c.rows))
	for i, vs := range c.rows {
		out[i] = make([]T, len(vs))
		for j, v := range vs {
			if out[i][j], err = conv(v); err != nil {
				return nil, fmt.Errorf("row %d column %s item %d: %w", i, name, j, err)
			}
		}
	}
	return out, nil
}

// Strings returns a string column.
func (t *Table) Strings(name string) ([]string, error) { return scalars(t, name, toString) }

// Ints returns an integer (int32 or int64) column.
func (t *Table) Ints(name string) ([]int64, error) { return scalars(t, name, toInt) }

// Floats returns a numeric column (float, double or integer).
func (t *Table) Floats(name string) ([]float64, error) { return scalars(t, name, toFloat) }

// StringLists returns a list-of-strings column; a null list is empty.
func (t *Table) StringLists(name string) ([][]string, error) { return lists(t, name, toString) }

// IntLists returns a list-of-integers column; a null list is empty.
func (t *Table) IntLists(name string) ([][]int64, error) { return lists(t, name, toInt) }
