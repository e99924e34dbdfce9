package metrics_test

import (
	"fmt"

	"github.com/cofiharness/cofi/experiments/metrics"
)

func ExampleClassification() {
	m, err := metrics.Classification("mnli", "mnli-mm", []int{0, 1, 2, 2}, []int{0, 1, 1, 2})
	fmt.Println(m, err)
	// Output: map[mnli-mm/acc:75] <nil>
}

func ExampleNormalizeAnswer() {
	fmt.Printf("%q\n", metrics.NormalizeAnswer("The  Denver Broncos!"))
	// Output: "denver broncos"
}
