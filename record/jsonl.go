package record

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
)

// Problem is a line of a records file that could not be used.
type Problem struct {
	Line int
	Err  error
}

func (p Problem) String() string { return fmt.Sprintf("line %d: %v", p.Line, p.Err) }

// Append writes rec as one line at the end of path with a single write(2) on
// an O_APPEND descriptor, then fsyncs, so concurrent appenders never interleave
// and a crash leaves at most a truncated last line.
func Append(path string, rec *Record) error {
	if rec.Schema == 0 {
		rec.Schema = SchemaVersion
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encode record: %w", err)
	}
	b = append(b, '\n')
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("append %s: %w", path, err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("append %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("append %s: sync: %w", path, err)
	}
	return f.Close()
}

// Read parses a JSONL records stream. Lines that are not valid records (a
// truncated last line after a crash, a record of another schema) are returned
// as problems and skipped; only an I/O error is fatal.
func Read(r io.Reader) ([]Record, []Problem, error) {
	var (
		recs  []Record
		probs []Problem
	)
	br := bufio.NewReader(r)
	for line := 1; ; line++ {
		b, err := br.ReadBytes('\n')
		if len(b) > 0 {
			complete := b[len(b)-1] == '\n'
			b = bytes.TrimSpace(b)
			if len(b) > 0 {
				var rec Record
				switch uerr := json.Unmarshal(b, &rec); {
				case uerr != nil && !complete:
					probs = append(probs, Problem{line, fmt.Errorf("truncated last line (%d bytes), skipped", len(b))})
				case uerr != nil:
					probs = append(probs, Problem{line, fmt.Errorf("not a record: %v", uerr)})
				case rec.Schema != SchemaVersion:
					probs = append(probs, Problem{line, fmt.Errorf("schema %d, this build reads %d", rec.Schema, SchemaVersion)})
				default:
					recs = append(recs, rec)
				}
			}
		}
		if errors.Is(err, io.EOF) {
			return recs, probs, nil
		}
		if err != nil {
			return recs, probs, err
		}
	}
}

// ReadFile reads a records file; a missing file is an empty set of records.
func ReadFile(path string) ([]Record, []Problem, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read records: %w", err)
	}
	defer f.Close()
	recs, probs, err := Read(f)
	if err != nil {
		return recs, probs, fmt.Errorf("read records %s: %w", path, err)
	}
	return recs, probs, nil
}
