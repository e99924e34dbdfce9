package data

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cofiharness/cofi/record"
)

// ErrNotFound marks a split whose files are absent, as opposed to present but
// unreadable: the first is a missing input (fetch the data), the second a
// bad one (fix or re-download the file).
var ErrNotFound = errors.New("data not found")

// NotFound is an ErrNotFound with its own message.
func NotFound(format string, args ...any) error { return notFound(fmt.Sprintf(format, args...)) }

type notFound string

func (e notFound) Error() string        { return string(e) }
func (e notFound) Is(target error) bool { return target == ErrNotFound }

// Kinds of data issue.
const (
	// IssueMalformedRow: a row the reader dropped (QQP's TSV has a few).
	IssueMalformedRow = "malformed-row"
	// IssueAnswerMismatch: a SQuAD gold answer whose text is not the context
	// at its answer_start (outside the context, a byte offset, another
	// text); kept, as HF keeps it, and trained on as its window's label.
	IssueAnswerMismatch = "answer-mismatch"
)

// MaxIssueFraction is the share of a split's rows (or answers) that may be
// dropped or mismatched before a stage stops: real GLUE and SQuAD files
// have a handful, far below 0.5 %; a file with more is corrupt or not what
// it claims to be, and results trained on it would not be comparable.
const MaxIssueFraction = 0.005

// IssueExamples is how many issues of each kind are kept to show.
const IssueExamples = 5

// Issues collects the data issues of one split: kind, how many of how
// many, and the first few as "file:line: reason".
func Issues(split, kind string, of int, where []string) *record.DataIssues {
	if len(where) == 0 {
		return nil
	}
	d := &record.DataIssues{Split: split, Kind: kind, Count: len(where), Of: of}
	d.First = append(d.First, where[:min(len(where), IssueExamples)]...)
	return d
}

// CheckIssues returns an error when an issue set is above MaxIssueFraction,
// showing the first ones; nil otherwise.
func CheckIssues(issues []record.DataIssues) error {
	var bad []string
	for _, d := range issues {
		if d.Of > 0 && float64(d.Count) > MaxIssueFraction*float64(d.Of) {
			bad = append(bad, fmt.Sprintf("%s: %d of %d %s (more than %.1f %%); the first:\n  %s",
				d.Split, d.Count, d.Of, plural(d.Kind), 100*MaxIssueFraction, strings.Join(d.First, "\n  ")))
		}
	}
	if len(bad) == 0 {
		return nil
	}
	return fmt.Errorf("the data has too many defects to train on comparably: %s", strings.Join(bad, "\n"))
}

// DescribeIssues is a log line for issue sets, "" when there are none.
func DescribeIssues(issues []record.DataIssues) string {
	var parts []string
	for _, d := range issues {
		parts = append(parts, fmt.Sprintf("%s: %d of %d %s (first: %s)", d.Split, d.Count, d.Of, plural(d.Kind), d.First[0]))
	}
	return strings.Join(parts, "; ")
}

func plural(kind string) string {
	switch kind {
	case IssueMalformedRow:
		return "rows malformed and dropped"
	case IssueAnswerMismatch:
		return "answers not at their answer_start (kept)"
	}
	return kind
}
