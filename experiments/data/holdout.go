package data

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// HoldOutSeed fixes which examples HoldOut keeps apart: the same slice for
// every stage and seed of a run (the teacher, pruning and fine-tuning must
// never train on what selects their hyperparameters).
const HoldOutSeed = 0x5eed_0_ca5e

// HoldOut splits the dataset by example: round(frac · examples) of them,
// chosen by a fixed permutation (HoldOutSeed and the number of examples
// only), go to held with every feature they have; the rest stay in train, in
// their original order.
func (d *Dataset) HoldOut(frac float64) (train, held *Dataset, err error) {
	if !(frac > 0 && frac < 1) {
		return nil, nil, fmt.Errorf("held-out fraction %v: want one in (0, 1)", frac)
	}
	var examples []int
	seen := map[int]bool{}
	for _, f := range d.Features {
		if !seen[f.Example] {
			seen[f.Example] = true
			examples = append(examples, f.Example)
		}
	}
	n := int(math.Round(frac * float64(len(examples))))
	if n == 0 || n == len(examples) {
		return nil, nil, fmt.Errorf("holding out %v of %d examples leaves an empty split", frac, len(examples))
	}
	r := rand.New(rand.NewPCG(HoldOutSeed, uint64(len(examples))))
	out := map[int]bool{}
	for _, i := range r.Perm(len(examples))[:n] {
		out[examples[i]] = true
	}
	train = &Dataset{Kind: d.Kind, PadID: d.PadID}
	held = &Dataset{Kind: d.Kind, PadID: d.PadID}
	for _, f := range d.Features {
		if out[f.Example] {
			held.Features = append(held.Features, f)
		} else {
			train.Features = append(train.Features, f)
		}
	}
	return train, held, nil
}
