package data

import (
	"fmt"
	"math"
	"strings"

	"github.com/cofiharness/cofi/experiments/tokenize"
	"github.com/cofiharness/cofi/task"
)

// EncodeGLUE tokenises GLUE-style examples as [CLS] a [SEP] (b [SEP]) of at
// most maxLen tokens (pairs cut longest-first, as run_glue.py's fast
// tokenizer) and maps label names to class ids through vocab. A label not in
// vocab is an error naming the example.
func EncodeGLUE(examples []Example, tok *tokenize.Tokenizer, vocab LabelVocab, maxLen int) (*Dataset, error) {
	if len(examples) == 0 {
		return nil, fmt.Errorf("encode: %w", errEmpty)
	}
	if maxLen < 3 {
		return nil, fmt.Errorf("encode: max length %d leaves no room for text", maxLen)
	}
	d := &Dataset{Kind: task.Classification, PadID: tok.PAD(), Features: make([]Feature, len(examples))}
	if vocab.Regression {
		d.Kind = task.Regression
	} else if len(vocab.Names) == 0 {
		return nil, fmt.Errorf("encode: empty label vocabulary")
	}
	for i, ex := range examples {
		var e tokenize.Encoding
		if ex.Pair || ex.TextB != "" {
			e = tok.EncodePair(ex.TextA, ex.TextB, maxLen)
		} else {
			e = tok.Encode(ex.TextA, maxLen)
		}
		f := Feature{IDs: e.IDs, TypeIDs: e.TypeIDs, Example: i}
		if vocab.Regression {
			if math.IsNaN(ex.Score) || math.IsInf(ex.Score, 0) {
				return nil, fmt.Errorf("encode example %s: score %v is not a number", ex.ID, ex.Score)
			}
			f.Score = float32(ex.Score)
		} else {
			id, ok := vocab.ID(ex.Label)
			if !ok {
				return nil, fmt.Errorf("encode example %s: label %q is not one of %s", ex.ID, ex.Label, strings.Join(vocab.Names, ", "))
			}
			f.Label = int32(id)
		}
		d.Features[i] = f
	}
	return d, nil
}
