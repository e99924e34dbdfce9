package data

import (
	"errors"
	"fmt"
	"math/bits"
	"math/rand/v2"

	"github.com/cofiharness/cofi/task"
)

// Feature is one encoded model input, unpadded.
type Feature struct {
	IDs     []int32 // token ids, special tokens included
	TypeIDs []int8  // token type (segment) ids
	Label   int32   // class id (classification)
	Score   float32 // target (regression)
	Start   int32   // answer start token (span); 0 = [CLS] when the answer is not in this window
	End     int32   // answer end token, inclusive (span)
	Example int     // index of the example the feature came from
}

// Dataset is an encoded split of one task.
type Dataset struct {
	Kind     task.Kind
	PadID    int32
	Features []Feature
}

// Len is the number of features.
func (d *Dataset) Len() int { return len(d.Features) }

// Labels returns every feature's class id (classification golds).
func (d *Dataset) Labels() []int {
	out := make([]int, len(d.Features))
	for i, f := range d.Features {
		out[i] = int(f.Label)
	}
	return out
}

// Scores returns every feature's regression target.
func (d *Dataset) Scores() []float64 {
	out := make([]float64, len(d.Features))
	for i, f := range d.Features {
		out[i] = float64(f.Score)
	}
	return out
}

// MaxLen is the length of the longest feature.
func (d *Dataset) MaxLen() int {
	n := 0
	for _, f := range d.Features {
		n = max(n, len(f.IDs))
	}
	return n
}

// Batch is a padded batch ready to become tensors. Token arrays are flat,
// row-major [Size, SeqLen]. Only the target fields of the dataset's kind are
// set: Labels (classification), Scores (regression), StartPos/EndPos (span).
type Batch struct {
	Size, SeqLen  int
	InputIDs      []int64
	TokenTypeIDs  []int64
	AttentionMask []int64
	Labels        []int64
	Scores        []float32
	StartPos      []int64
	EndPos        []int64
	Index         []int // feature index in the dataset of each row
}

// Batch pads the features at idx to max(padTo, longest of them): padTo 0
// pads to the longest; features are never cut (they were truncated when
// encoded).
func (d *Dataset) Batch(idx []int, padTo int) Batch {
	seq := padTo
	for _, i := range idx {
		seq = max(seq, len(d.Features[i].IDs))
	}
	n := len(idx)
	b := Batch{
		Size: n, SeqLen: seq,
		InputIDs:      make([]int64, n*seq),
		TokenTypeIDs:  make([]int64, n*seq),
		AttentionMask: make([]int64, n*seq),
		Index:         append([]int(nil), idx...),
	}
	switch d.Kind {
	case task.Regression:
		b.Scores = make([]float32, n)
	case task.Span:
		b.StartPos, b.EndPos = make([]int64, n), make([]int64, n)
	default:
		b.Labels = make([]int64, n)
	}
	for r, i := range idx {
		f := &d.Features[i]
		row := r * seq
		for j, id := range f.IDs {
			b.InputIDs[row+j] = int64(id)
			b.TokenTypeIDs[row+j] = int64(f.TypeIDs[j])
			b.AttentionMask[row+j] = 1
		}
		for j := len(f.IDs); j < seq; j++ {
			b.InputIDs[row+j] = int64(d.PadID)
		}
		switch d.Kind {
		case task.Regression:
			b.Scores[r] = f.Score
		case task.Span:
			b.StartPos[r], b.EndPos[r] = int64(f.Start), int64(f.End)
		default:
			b.Labels[r] = int64(f.Label)
		}
	}
	return b
}

// Batches returns one pass over the dataset (epoch 0 of an Iterator with the
// same options, last batch possibly short). Meant for evaluation sets; a
// training loop should use an Iterator, which builds batches on demand.
func (d *Dataset) Batches(batchSize int, shuffle bool, seed int64, padTo int) ([]Batch, error) {
	it, err := d.Iterator(IterOptions{BatchSize: batchSize, Shuffle: shuffle, Seed: seed, PadTo: padTo})
	if err != nil {
		return nil, err
	}
	out := make([]Batch, it.StepsPerEpoch())
	for i := range out {
		out[i] = it.Next()
	}
	return out, nil
}

// IterOptions configure an Iterator.
type IterOptions struct {
	BatchSize int
	Shuffle   bool  // a new permutation every epoch, a function of (Seed, epoch) only
	Seed      int64 // shuffling seed
	PadTo     int   // see Dataset.Batch
	DropLast  bool  // drop the short last batch of each epoch
}

// Position is where an Iterator stands: the next batch it returns is batch
// Step of epoch Epoch (both from 0). A trainer saves it in its checkpoint and
// Seeks to it on resume to see exactly the batches it would have seen.
type Position struct {
	Epoch int `json:"epoch"`
	Step  int `json:"step"`
}

// Iterator yields batches epoch after epoch, endlessly.
type Iterator struct {
	d     *Dataset
	opt   IterOptions
	steps int
	pos   Position
	order []int // feature order of pos.Epoch
	ready int   // epoch order holds, -1 for none
}

// Iterator starts an iterator at epoch 0, step 0.
func (d *Dataset) Iterator(opt IterOptions) (*Iterator, error) {
	if opt.BatchSize <= 0 {
		return nil, fmt.Errorf("batch size %d: must be positive", opt.BatchSize)
	}
	n := len(d.Features)
	steps := (n + opt.BatchSize - 1) / opt.BatchSize
	if opt.DropLast {
		steps = n / opt.BatchSize
	}
	if steps == 0 {
		return nil, fmt.Errorf("%d features make no batch of %d", n, opt.BatchSize)
	}
	return &Iterator{d: d, opt: opt, steps: steps, ready: -1}, nil
}

// StepsPerEpoch is the number of batches in an epoch.
func (it *Iterator) StepsPerEpoch() int { return it.steps }

// Pos is the position of the next batch.
func (it *Iterator) Pos() Position { return it.pos }

// Seek moves to a position, typically one saved in a checkpoint.
func (it *Iterator) Seek(p Position) error {
	if p.Epoch < 0 || p.Step < 0 || p.Step >= it.steps {
		return fmt.Errorf("position epoch %d step %d: want epoch >= 0 and 0 <= step < %d", p.Epoch, p.Step, it.steps)
	}
	it.pos = p
	return nil
}

// Next returns the batch at Pos and advances, rolling over to the next epoch.
func (it *Iterator) Next() Batch {
	if it.ready != it.pos.Epoch {
		it.order = EpochOrder(len(it.d.Features), it.opt.Shuffle, it.opt.Seed, it.pos.Epoch)
		it.ready = it.pos.Epoch
	}
	lo := it.pos.Step * it.opt.BatchSize
	hi := min(lo+it.opt.BatchSize, len(it.order))
	b := it.d.Batch(it.order[lo:hi], it.opt.PadTo)
	it.pos.Step++
	if it.pos.Step == it.steps {
		it.pos = Position{Epoch: it.pos.Epoch + 1}
	}
	return b
}

// EpochOrder is the order in which an epoch visits n features: 0..n-1, or a
// permutation determined by (seed, epoch) alone. The generator (PCG) and the
// shuffle are spelled out here, so the order does not change with the Go
// release a checkpoint is resumed under.
func EpochOrder(n int, shuffle bool, seed int64, epoch int) []int {
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	if !shuffle {
		return order
	}
	src := rand.NewPCG(uint64(seed), uint64(epoch))
	for i := n - 1; i > 0; i-- {
		j := int(boundedUint64(src, uint64(i+1)))
		order[i], order[j] = order[j], order[i]
	}
	return order
}

// boundedUint64 draws uniformly from [0, n) (Lemire's multiply-and-reject).
func boundedUint64(src *rand.PCG, n uint64) uint64 {
	hi, lo := bits.Mul64(src.Uint64(), n)
	if lo < n {
		thresh := -n % n
		for lo < thresh {
			hi, lo = bits.Mul64(src.Uint64(), n)
		}
	}
	return hi
}

var errEmpty = errors.New("no examples")
