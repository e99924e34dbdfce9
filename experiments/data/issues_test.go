package data

import (
	"strings"
	"testing"

	"github.com/cofiharness/cofi/record"
)

func TestCheckIssuesThreshold(t *testing.T) {
	// 0.5 % of 1000 is 5: five pass, six stop.
	ok := Issues("train", IssueMalformedRow, 1000, []string{"a", "b", "c", "d", "e"})
	bad := Issues("train", IssueMalformedRow, 1000, []string{"a", "b", "c", "d", "e", "f"})
	if err := CheckIssues([]record.DataIssues{*ok}); err != nil {
		t.Errorf("5 of 1000: %v", err)
	}
	err := CheckIssues([]record.DataIssues{*bad})
	if err == nil || !strings.Contains(err.Error(), "6 of 1000 rows malformed and dropped") {
		t.Errorf("6 of 1000: %v", err)
	}
	if len(bad.First) != IssueExamples || bad.Count != 6 {
		t.Errorf("kept %d examples of %d", len(bad.First), bad.Count)
	}
	if Issues("dev", IssueAnswerMismatch, 10, nil) != nil {
		t.Error("no issues should give nil")
	}
}
