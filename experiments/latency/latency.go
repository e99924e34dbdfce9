//go:build torch

// Package latency measures inference latency the way the CoFi paper does:
// forward passes only, fp32, inputs padded to a fixed length, the device
// synchronised around every batch, several rounds with the first discarded
// as warm-up, and the unpruned model timed in the same run on the same
// device so the speedup is a ratio of like with like. Raw per-round timings
// are kept.
package latency

import (
	"fmt"
	"io"
	"math/rand/v2"
	"time"

	"github.com/cofiharness/cofi/experiments/bert"
	"github.com/cofiharness/cofi/experiments/torch"
	"github.com/cofiharness/cofi/record"
)

// Config is the measurement protocol.
type Config struct {
	Batch   int // sequences per batch (paper: 128)
	SeqLen  int // padded length (paper: 128; SQuAD 384)
	Rounds  int // rounds, the first of which is discarded (paper: 20 small GLUE, 5 large, 2 QQP/SQuAD)
	Batches int // batches per round (paper: the whole dev set)
	Seed    uint64
	Log     io.Writer
}

// Measure times model and baseline alternately, batch by batch, and returns
// the raw per-round timings and the speedup: the ratio of the mean round
// times, the first round discarded as warm-up.
func Measure(model, baseline *bert.Model, c Config, info torch.Info) (*record.Latency, error) {
	if c.Batch <= 0 || c.SeqLen <= 0 || c.Rounds < 2 || c.Batches <= 0 {
		return nil, fmt.Errorf("latency protocol batch %d × seq %d, %d rounds of %d batches: need positive sizes and at least 2 rounds (the first is warm-up)", c.Batch, c.SeqLen, c.Rounds, c.Batches)
	}
	if model.Config.MaxPositions < c.SeqLen {
		return nil, fmt.Errorf("sequence length %d exceeds the model's %d positions", c.SeqLen, model.Config.MaxPositions)
	}
	dev := model.Device
	r := rand.New(rand.NewPCG(c.Seed, 1))
	var inputs []bert.Input
	var all []*torch.Tensor
	defer func() {
		for _, t := range all {
			t.Free()
		}
	}()
	shape := []int64{int64(c.Batch), int64(c.SeqLen)}
	n := c.Batch * c.SeqLen
	for range c.Batches {
		ids := make([]int64, n)
		for i := range ids {
			ids[i] = int64(r.IntN(model.Config.VocabSize))
		}
		ones := make([]int64, n)
		for i := range ones {
			ones[i] = 1
		}
		in := bert.Input{IDs: torch.FromInt64(ids, shape, dev).Detached(), TypeIDs: torch.Zeros(shape, torch.Int64, dev).Detached(), Mask: torch.FromInt64(ones, shape, dev).Detached()}
		all = append(all, in.IDs, in.TypeIDs, in.Mask)
		inputs = append(inputs, in)
	}
	// timed runs one forward pass of m on in and returns its time.
	timed := func(m *bert.Model, in bert.Input) time.Duration {
		s := torch.NewScope()
		defer s.Close()
		torch.Synchronize(dev)
		t0 := time.Now()
		m.Forward(in, nil, false, false)
		torch.Synchronize(dev)
		return time.Since(t0)
	}
	l := &record.Latency{Device: info.Name, Threads: info.Threads, Batch: c.Batch, SeqLen: c.SeqLen, Batches: c.Batches}
	err := torch.Catch(func() error {
		torch.NoGrad(func() {
			for i := 0; i < c.Rounds; i++ {
				// Batch by batch, the unpruned model then the measured one, so
				// that a burst of load on a shared machine hits both alike.
				var b, m time.Duration
				for _, in := range inputs {
					b += timed(baseline, in)
					m += timed(model, in)
				}
				bms, mms := float64(b.Microseconds())/1000, float64(m.Microseconds())/1000
				if i == 0 {
					l.WarmupMS = mms
					continue
				}
				l.BaselineRoundsMS = append(l.BaselineRoundsMS, bms)
				l.RoundsMS = append(l.RoundsMS, mms)
				if c.Log != nil {
					fmt.Fprintf(c.Log, "latency round %d/%d: model %.1f ms, unpruned %.1f ms (%d batches of %d × %d)\n", i, c.Rounds-1, mms, bms, c.Batches, c.Batch, c.SeqLen)
				}
			}
		})
		return nil
	})
	if err != nil {
		return nil, err
	}
	l.MeanMS, l.BaselineMeanMS = mean(l.RoundsMS), mean(l.BaselineRoundsMS)
	l.Speedup = l.BaselineMeanMS / l.MeanMS
	return l, nil
}

func mean(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

// Unpruned builds a randomly initialised model with the unpruned
// architecture of m's config.json and the same head: latency does not
// depend on the weights.
func Unpruned(m *bert.Model) *bert.Model {
	return bert.New(m.Config, bert.Head{Kind: m.Kind, NumLabels: m.NumLabels, Labels: m.Labels}, m.Device)
}
