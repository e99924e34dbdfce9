package data_test

import (
	"fmt"

	"github.com/cofiharness/cofi/experiments/data"
	"github.com/cofiharness/cofi/experiments/tokenize"
)

// A trainer saves Iterator.Pos in its checkpoint and Seeks back to it on resume.
func ExampleIterator() {
	rte, _ := data.TaskLabels("rte")
	exs := []data.Example{
		{ID: "0", TextA: "a b", TextB: "c", Pair: true, Label: "entailment"},
		{ID: "1", TextA: "d", TextB: "e f g", Pair: true, Label: "not_entailment"},
		{ID: "2", TextA: "h", TextB: "i", Pair: true, Label: "entailment"},
	}
	ds, _ := data.EncodeGLUE(exs, tokenize.Default(), rte, 128)
	it, _ := ds.Iterator(data.IterOptions{BatchSize: 2, Shuffle: true, Seed: 1})
	for range 3 {
		pos := it.Pos()
		b := it.Next()
		fmt.Println(pos.Epoch, pos.Step, b.Size, b.SeqLen, b.Labels)
	}
	// Output:
	// 0 0 2 6 [0 0]
	// 0 1 1 7 [1]
	// 1 0 2 7 [1 0]
}
