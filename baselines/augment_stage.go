//go:build torch

package baselines

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/cofiharness/cofi/baselines/augment"
	"github.com/cofiharness/cofi/experiments/bert"
	"github.com/cofiharness/cofi/experiments/data/glue"
	"github.com/cofiharness/cofi/experiments/tokenize"
	"github.com/cofiharness/cofi/experiments/torch"
	"github.com/cofiharness/cofi/experiments/train"
	"github.com/cofiharness/cofi/hparams"
	"github.com/cofiharness/cofi/internal/atomicfile"
	"github.com/cofiharness/cofi/record"
	"github.com/cofiharness/cofi/stage"
	"github.com/cofiharness/cofi/task"
)

// AugmentConfig configures TinyBERT's data augmentation of one task.
type AugmentConfig struct {
	Task      task.Task
	DataDir   string // the task's directory (GLUE TSVs: train.tsv, dev*.tsv)
	ModelDir  string // pre-trained BERT with its masked-LM head (bert-base-uncased)
	GloVePath string // GloVe vectors, text format
	// OutDir receives the augmented copy of the task's directory: train.tsv
	// augmented, the dev files as they were.
	OutDir string
	Params record.Params // package hparams, kind augment
	Env    train.Env
}

// AugmentSummary is written as augment.json next to the augmented data.
type AugmentSummary struct {
	Task     string         `json:"task"`
	Source   string         `json:"source"`
	Stats    augment.Stats  `json:"stats"`
	Settings map[string]any `json:"settings"`
}

// Augment writes the augmented train file of a task (package augment),
// resuming an interrupted run where its last chunk ended.
func Augment(ctx context.Context, c AugmentConfig) (*record.Result, error) {
	p := c.Params
	seed := int64(hparams.Int(p, "aug_seed"))
	info, err := c.Env.Start(seed)
	if err != nil {
		return nil, err
	}
	log := c.Env.Writer()
	if c.Task.Kind == task.Span {
		return nil, fmt.Errorf("TinyBERT's data augmentation covers the GLUE tasks, not %s", c.Task.Name)
	}
	header, cols, err := glue.Layout(c.Task.Name)
	if err != nil {
		return nil, err
	}
	files, src, err := glue.Find(c.DataDir, c.Task.Name, "train", glue.TSV)
	if err != nil || src != glue.TSV {
		return nil, fmt.Errorf("%w: TinyBERT's augmentation rewrites the task's GLUE TSV train file, which is not in %s (%v); the Hugging Face parquet form cannot be augmented", stage.ErrMissingInput, c.DataDir, err)
	}
	train0 := files[0]
	// The dev files come along unchanged, so the augmented directory is a whole task.
	evals, err := glue.EvalFiles(c.Task.Name)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(c.OutDir, 0o755); err != nil {
		return nil, err
	}
	for i, base := range evals {
		fs, _, err := glue.Find(c.DataDir, c.Task.Name, c.Task.EvalSets[i], glue.TSV)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", stage.ErrMissingInput, err)
		}
		b, err := os.ReadFile(fs[0])
		if err != nil {
			return nil, err
		}
		if err := atomicfile.Write(filepath.Join(c.OutDir, base+".tsv"), b, 0o644); err != nil {
			return nil, err
		}
	}
	tok, err := tokenize.Load(c.ModelDir)
	if err != nil {
		return nil, fmt.Errorf("%w: masked-LM tokenizer: %v", stage.ErrMissingInput, err)
	}
	glove, err := augment.ReadGloVe(c.GloVePath, hparams.Int(p, "glove_words"))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", stage.ErrMissingInput, err)
	}
	s := augment.Settings{
		Copies: hparams.Int(p, "copies"), Candidates: hparams.Int(p, "candidates"), ReplaceProb: hparams.Float(p, "replace_prob"),
		Seed: uint64(seed), MaxLen: hparams.Int(p, "seq_len"), MLMBatch: hparams.Int(p, "mlm_batch"), PairRows: hparams.String(p, "pair_rows"),
	}
	if s.PairRows != augment.PairReleased && s.PairRows != augment.PairRestored {
		return nil, fmt.Errorf("pair_rows %q: want %s or %s", s.PairRows, augment.PairReleased, augment.PairRestored)
	}
	var stats *augment.Stats
	began := time.Now()
	err = torch.Catch(func() error {
		m, head, err := bert.LoadMLM(c.ModelDir, bert.LoadOptions{Head: bert.Head{Kind: task.Classification, NumLabels: 2}, Device: info.Device})
		if err != nil {
			return fmt.Errorf("%w: %v", stage.ErrMissingInput, err)
		}
		defer m.Free()
		defer head.Free()
		s.MaxLen = min(s.MaxLen, m.Config.MaxPositions)
		a := &augment.Augmentor{Tok: tok, MLM: &bertMLM{m: m, h: head, pad: tok.PAD()}, GloVe: glove, S: s}
		fmt.Fprintf(log, "augmenting %s: N=%d copies, M=%d candidates, p=%g, %d GloVe words of %s, masked LM %s\n",
			train0, s.Copies, s.Candidates, s.ReplaceProb, glove.Len(), c.GloVePath, c.ModelDir)
		var prog *train.Progress
		stats, err = a.File(ctx, augment.FileSpec{In: train0, Out: filepath.Join(c.OutDir, "train.tsv"), Header: header, TextCols: cols},
			func(done, total int) {
				if prog == nil {
					prog = train.NewProgress(log, "augment "+c.Task.Name+" (lines)", total, 0)
				}
				prog.Step(done, done == total, "")
			})
		return err
	})
	if err != nil {
		return nil, err
	}
	sum := AugmentSummary{Task: c.Task.Name, Source: train0, Stats: *stats, Settings: map[string]any(p)}
	b, _ := json.MarshalIndent(sum, "", "  ")
	if err := atomicfile.Write(filepath.Join(filepath.Dir(c.OutDir), "augment.json"), append(b, '\n'), 0o644); err != nil {
		return nil, err
	}
	note := fmt.Sprintf("%d examples -> %d rows; words: %d masked-LM, %d GloVe, %d without candidates, %d kept",
		stats.Rows, stats.RowsOut, stats.Words["mlm"], stats.Words["glove"], stats.Words["itself"], stats.Words["kept"])
	fmt.Fprintln(log, note)
	return &record.Result{Kind: record.KindAugment, Task: c.Task.Name, Notes: []string{note},
		Train: &record.Train{Steps: stats.Rows, Seconds: time.Since(began).Seconds(), Seed: seed, Threads: info.Threads, Device: info.Name}}, nil
}

// bertMLM answers masked-LM queries with a BERT and its MLM head, a batch
// of queries per forward pass (padded, the padding masked out).
type bertMLM struct {
	m   *bert.Model
	h   *bert.MLMHead
	pad int32
}

func (b *bertMLM) TopK(qs []augment.Query, k int) ([][]int32, error) {
	out := make([][]int32, len(qs))
	err := torch.Catch(func() error {
		sc := torch.NewScope()
		defer sc.Close()
		n, l := len(qs), 0
		for _, q := range qs {
			l = max(l, len(q.IDs))
		}
		ids, types, mask := make([]int64, n*l), make([]int64, n*l), make([]int64, n*l)
		rows := make([]int64, n)
		for i, q := range qs {
			for j := range l {
				ids[i*l+j] = int64(b.pad)
				if j < len(q.IDs) {
					ids[i*l+j], types[i*l+j], mask[i*l+j] = int64(q.IDs[j]), int64(q.TypeIDs[j]), 1
				}
			}
			rows[i] = int64(i*l + q.Mask)
		}
		dev, sh := b.m.Device, []int64{int64(n), int64(l)}
		in := bert.Input{IDs: torch.FromInt64(ids, sh, dev), TypeIDs: torch.FromInt64(types, sh, dev), Mask: torch.FromInt64(mask, sh, dev)}
		var top []int64
		torch.NoGrad(func() {
			o := b.m.Forward(in, nil, false, true)
			last := o.Hidden[len(o.Hidden)-1]
			x := last.Reshape(int64(n*l), int64(b.m.Hidden)).IndexSelect(0, torch.FromInt64(rows, []int64{int64(n)}, dev))
			_, idx := b.h.Logits(b.m, x).TopK(int64(k), -1, true)
			top = idx.Int64s()
		})
		for i := range qs {
			for j := range k {
				out[i] = append(out[i], int32(top[i*k+j]))
			}
		}
		return nil
	})
	return out, err
}
