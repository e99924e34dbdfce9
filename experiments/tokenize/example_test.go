package tokenize_test

import (
	"fmt"

	"github.com/cofiharness/cofi/experiments/tokenize"
)

func ExampleTokenizer_EncodePair() {
	tok := tokenize.Default()
	e := tok.EncodePair("Café au lait?", "Non.", 128)
	fmt.Println(tok.Tokens(e.IDs))
	fmt.Println(e.TypeIDs)
	fmt.Println(e.Offsets[1]) // "cafe" is code points 0-4 of the first text
	// Output:
	// [[CLS] cafe au lai ##t ? [SEP] non . [SEP]]
	// [0 0 0 0 0 0 0 1 1 1]
	// [0 4]
}
