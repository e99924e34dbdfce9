package compare_test

import (
	"fmt"

	"github.com/cofiharness/cofi/report/compare"
)

// Tolerances given on the command line are added to the defaults; an exact
// metric key overrides its class.
func ExampleParseTolerances() {
	ts, err := compare.ParseTolerances("metric=abs:0.3,latency=rel:10%,mnli-m/acc=abs:1")
	if err != nil {
		panic(err)
	}
	fmt.Println(ts)
	fmt.Println(ts.For("mnli-m/acc", compare.ClassScore), ts.For("sst2/acc", compare.ClassScore))
	// Output:
	// latency=rel:10%,mnli-m/acc=abs:1,score=abs:0.3,sparsity=abs:0.005,speedup=rel:5%
	// abs:1 abs:0.3
}
