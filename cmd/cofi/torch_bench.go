//go:build torch

package main

import (
	"os"
	"strconv"
	"strings"

	"github.com/cofiharness/cofi/experiments/bench"
	"github.com/cofiharness/cofi/experiments/torch"
)

const benchHelp = `Print the benchmark figures of 'make bench':
  1. training-step and inference time of a BERT-base-width encoder (hidden 768,
     12 heads, FFN 3072; --layers layers) at batch 32×128 and 8×128, in Go and in
     PyTorch (python3-torch, same shapes and threads), with the Go/PyTorch ratio;
  2. resident memory of a tiny-BERT training loop after --rss-steps steps;
  3. latency of compact models with the paper's 95% structures against BERT-base on
     this CPU, next to their FLOP ratio.
Run from the repository root (the PyTorch script is experiments/bench/pytorch_bench.py).`

func benchCmd(args []string) error {
	fs := newFlagSet("bench", "[flags]", benchHelp)
	layers := fs.Int("layers", 2, "encoder layers of the Go-vs-PyTorch model (BERT-base has 12; 2 keeps the run short on CPU)")
	threads := fs.Int("threads", 0, "intra-op threads (0 = all cores)")
	steps := fs.Int("steps", 5, "timed steps per measurement (after one warm-up)")
	rssSteps := fs.String("rss-steps", "50,500", "tiny-model steps at which to read RSS, increasing")
	rounds := fs.Int("rounds", 3, "latency rounds for the compact models (first discarded)")
	noPython := fs.Bool("no-python", false, "skip the PyTorch side")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := atLeast(fs, map[string]int{"layers": 1, "threads": 0, "steps": 1, "rounds": 2}); err != nil {
		return err
	}
	var rs []int
	for _, f := range strings.Split(*rssSteps, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 || (len(rs) > 0 && n <= rs[len(rs)-1]) {
			return exitCode{2, "--rss-steps: want increasing positive integers, e.g. 50,500"}
		}
		rs = append(rs, n)
	}
	if _, err := torch.Setup(*threads, 0, "cpu"); err != nil {
		return err
	}
	o := bench.Options{Layers: *layers, Steps: *steps, RSSSteps: rs, Rounds: max(2, *rounds), Out: os.Stdout}
	if !*noPython {
		wd, _ := os.Getwd()
		o.Python, o.Script = bench.FindPython(wd)
	}
	return bench.Run(o)
}
