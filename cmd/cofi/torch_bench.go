//go:build torch

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/cofiharness/cofi/experiments/bench"
	"github.com/cofiharness/cofi/experiments/torch"
	"github.com/cofiharness/cofi/internal/atomicfile"
)

const benchHelp = `Print the benchmark figures of 'make bench':
  1. step: training-step and inference time of a BERT-base-width encoder (hidden
     768, 12 heads, FFN 3072; --layers layers) at the --shapes, in Go and in PyTorch
     (a python3 with torch, same libtorch kernels, shapes, threads and device, and the
     same glibc allocator settings as the Go process; on the CPU also with glibc's
     defaults), with the Go/PyTorch ratio;
  2. rss: resident memory of a tiny-BERT training loop after --rss-steps steps (CPU);
  3. compact: latency of compact models with the paper's 95% structures against
     BERT-base (12 layers) at --latency-shape, next to their FLOP ratio and the
     speedup the authors measured for the task's released model (V100, batch 128).
     The paper's protocol is 128×128 in fp32 on a GPU (scripts/gpu-check.sh runs it).
On a GPU (--device cuda) every measurement is synchronised. Run from the repository
root (the PyTorch script is experiments/bench/pytorch_bench.py).`

func benchCmd(args []string) error {
	fs := newFlagSet("bench", "[flags]", benchHelp)
	layers := fs.Int("layers", 2, "encoder layers of the Go-vs-PyTorch model (BERT-base has 12; 2 keeps the run short on CPU)")
	threads := fs.Int("threads", 0, "intra-op threads (0 = all cores)")
	device := fs.String("device", "cpu", "cpu, cuda, cuda:N or auto")
	steps := fs.Int("steps", 5, "timed steps per measurement (after one warm-up)")
	shapes := fs.String("shapes", "32x128,8x128", "batch×sequence shapes of the step section")
	latShape := fs.String("latency-shape", "8x128", "batch×sequence of the compact section (the paper: 128x128 on a GPU)")
	rssSteps := fs.String("rss-steps", "50,500", "tiny-model steps at which to read RSS, increasing")
	rounds := fs.Int("rounds", 3, "latency rounds for the compact models (first discarded)")
	sections := fs.String("sections", "", "comma-separated sections: step, rss, compact (default: all; rss only on the CPU)")
	noPython := fs.Bool("no-python", false, "skip the PyTorch side")
	python := fs.String("python", "", "interpreter with torch for the PyTorch side (default: /usr/bin/python3, else python3, whichever imports torch)")
	jsonOut := fs.String("json", "", "also write every figure as JSON to this file")
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
	var shs [][2]int
	for _, f := range strings.Split(*shapes, ",") {
		sh, err := parseShape(f)
		if err != nil {
			return exitCode{2, "--shapes: " + err.Error()}
		}
		shs = append(shs, sh)
	}
	lat, err := parseShape(*latShape)
	if err != nil {
		return exitCode{2, "--latency-shape: " + err.Error()}
	}
	var secs []string
	if *sections != "" {
		for _, s := range strings.Split(*sections, ",") {
			s = strings.TrimSpace(s)
			if s != bench.SectionStep && s != bench.SectionRSS && s != bench.SectionCompact {
				return exitCode{2, fmt.Sprintf("--sections: %q is not one of step, rss, compact", s)}
			}
			secs = append(secs, s)
		}
	}
	info, err := torch.Setup(*threads, 0, *device)
	if err != nil {
		return err
	}
	o := bench.Options{Layers: *layers, Steps: *steps, RSSSteps: rs, Rounds: max(2, *rounds), Out: os.Stdout,
		Device: info.Device, Shapes: shs, LatencyBatch: lat[0], LatencySeq: lat[1], Sections: secs}
	if !*noPython {
		wd, _ := os.Getwd()
		o.Python, o.Script = bench.FindPython(wd, *python)
		if *python != "" && o.Python == "" {
			return fmt.Errorf("--python %s: it cannot import torch, or experiments/bench/pytorch_bench.py is not under the working directory", *python)
		}
	}
	rep, err := bench.Run(o)
	if *jsonOut != "" && rep != nil {
		b, _ := json.MarshalIndent(rep, "", "  ")
		if werr := atomicfile.Write(*jsonOut, append(b, '\n'), 0o644); werr != nil && err == nil {
			err = werr
		}
	}
	return err
}

// parseShape reads "BxS" (or "B×S").
func parseShape(s string) ([2]int, error) {
	s = strings.ReplaceAll(strings.TrimSpace(s), "×", "x")
	b, q, ok := strings.Cut(s, "x")
	x, err1 := strconv.Atoi(b)
	y, err2 := strconv.Atoi(q)
	if !ok || err1 != nil || err2 != nil || x <= 0 || y <= 0 {
		return [2]int{}, fmt.Errorf("%q: want BATCHxSEQ with positive numbers, e.g. 8x128", s)
	}
	return [2]int{x, y}, nil
}
