//go:build torch

package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/cofiharness/cofi/experiments/bert"
	"github.com/cofiharness/cofi/experiments/checkpoint"
	"github.com/cofiharness/cofi/experiments/optim"
	"github.com/cofiharness/cofi/experiments/torch"
	"github.com/cofiharness/cofi/experiments/train"
	"github.com/cofiharness/cofi/results/reference"
	"github.com/cofiharness/cofi/task"
)

// Options configure the benchmark.
type Options struct {
	Layers   int    // encoder layers of the BERT-base-width model timed for Go vs PyTorch
	Threads  int    // intra-op threads for both
	Steps    int    // timed steps (after one warm-up)
	Python   string // interpreter with torch; "" skips the PyTorch side
	Script   string // path of pytorch_bench.py
	RSSSteps []int  // tiny-model steps at which RSS is read
	Rounds   int    // latency rounds for the compact-structure section
	Out      io.Writer
}

// Run measures and prints every section.
func Run(o Options) error {
	w := o.Out
	fmt.Fprintf(w, "libtorch %s, %d threads, %s\n\n", torch.Version(), torch.Threads(), torch.CPU.Describe(torch.Threads()))
	if err := stepTimes(o); err != nil {
		return err
	}
	if err := rss(o); err != nil {
		return err
	}
	return compact(o)
}

func bertBase(layers int) checkpoint.Config {
	c := checkpoint.BertBase()
	c.NumHiddenLayers = layers
	return c
}

func randomInput(batch, seq, vocab int, dev torch.Device) bert.Input {
	ids := make([]int64, batch*seq)
	for i := range ids {
		ids[i] = int64((i*7919 + 13) % vocab)
	}
	sh := []int64{int64(batch), int64(seq)}
	return bert.Input{IDs: torch.FromInt64(ids, sh, dev).Detached(), TypeIDs: torch.Zeros(sh, torch.Int64, dev).Detached(), Mask: torch.Ones(sh, torch.Int64, dev).Detached()}
}

// goTimes returns the fastest training step and inference of steps timed
// ones (after one warm-up each), in ms: on a shared machine the minimum is
// the least disturbed measurement.
func goTimes(layers, batch, seq, steps int) (float64, float64, error) {
	var trainMS, inferMS float64
	err := torch.Catch(func() error {
		m := bert.New(bertBase(layers), bert.Head{Kind: task.Classification, NumLabels: 2}, torch.CPU)
		defer m.Free()
		m.SetRequiresGrad(true, false)
		params := train.Named(m)
		opt := optim.NewAdamW(params, 0)
		defer opt.Free()
		in := randomInput(batch, seq, m.Config.VocabSize, torch.CPU)
		defer func() { in.IDs.Free(); in.TypeIDs.Free(); in.Mask.Free() }()
		labels := torch.Zeros([]int64{int64(batch)}, torch.Int64, torch.CPU)
		defer labels.Free()
		trainMS = fastest(steps, func() {
			s := torch.NewScope()
			defer s.Close()
			optim.ZeroGrad(params)
			torch.CrossEntropy(m.Forward(in, nil, true, false).Logits, labels).Backward()
			optim.ClipGradNorm(params, 1)
			opt.Step(1e-5)
		})
		torch.NoGrad(func() {
			inferMS = fastest(steps, func() {
				s := torch.NewScope()
				m.Forward(in, nil, false, false).Logits.Float32s()
				s.Close()
			})
		})
		return nil
	})
	return trainMS, inferMS, err
}

func fastest(steps int, fn func()) float64 {
	fn() // warm-up
	best := math.Inf(1)
	for range steps {
		t0 := time.Now()
		fn()
		best = min(best, ms(time.Since(t0)))
	}
	return best
}

func ms(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }

type pyResult struct {
	TrainMS float64 `json:"train_ms"`
	InferMS float64 `json:"infer_ms"`
	Torch   string  `json:"torch"`
}

func pyTimes(o Options, batch, seq int) (*pyResult, error) {
	cmd := exec.Command(o.Python, o.Script, "--layers", strconv.Itoa(o.Layers), "--batch", strconv.Itoa(batch),
		"--seq", strconv.Itoa(seq), "--threads", strconv.Itoa(torch.Threads()), "--steps", strconv.Itoa(o.Steps))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s %s: %v: %s", o.Python, o.Script, err, strings.TrimSpace(stderr.String()))
	}
	var r pyResult
	if err := json.Unmarshal(out, &r); err != nil {
		return nil, fmt.Errorf("pytorch bench output %q: %w", out, err)
	}
	return &r, nil
}

func stepTimes(o Options) error {
	w := o.Out
	fmt.Fprintf(w, "== Training step and inference, BERT-base width (hidden 768, 12 heads, FFN 3072), %d layers, AdamW: fastest of %d steps, each side measured twice, alternating\n", o.Layers, o.Steps)
	pyOK := o.Python != ""
	if !pyOK {
		fmt.Fprintln(w, "(PyTorch side skipped: no python3 with torch found; install python3-torch to compare)")
	}
	fmt.Fprintf(w, "%-10s %12s %12s %8s %12s %12s %8s\n", "shape", "Go train ms", "PT train ms", "ratio", "Go infer ms", "PT infer ms", "ratio")
	for _, sh := range [][2]int{{32, 128}, {8, 128}} {
		gt, gi := math.Inf(1), math.Inf(1)
		pt, pi := math.Inf(1), math.Inf(1)
		for range 2 { // alternate the two sides so a burst of load hits both
			if pyOK {
				pr, err := pyTimes(o, sh[0], sh[1])
				if err != nil {
					return err
				}
				pt, pi = min(pt, pr.TrainMS), min(pi, pr.InferMS)
			}
			t, i, err := goTimes(o.Layers, sh[0], sh[1], o.Steps)
			if err != nil {
				return err
			}
			gt, gi = min(gt, t), min(gi, i)
		}
		line := fmt.Sprintf("%-10s %12.1f", fmt.Sprintf("%d×%d", sh[0], sh[1]), gt)
		if pyOK {
			line += fmt.Sprintf(" %12.1f %8.3f %12.1f %12.1f %8.3f", pt, gt/pt, gi, pi, gi/pi)
		} else {
			line += fmt.Sprintf(" %12s %8s %12.1f %12s %8s", "-", "-", gi, "-", "-")
		}
		fmt.Fprintln(w, line)
	}
	fmt.Fprintln(w, "ratio = Go / PyTorch time (target for training: ≤ 1.0). Same libtorch and kernels on both sides; the Go process")
	fmt.Fprintln(w, "keeps freed memory in glibc's heap (experiments/torch/malloc_linux.go), PyTorch runs with glibc's defaults.")
	fmt.Fprintln(w)
	return nil
}

// residentMB reads the process's resident set size.
func residentMB() float64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return math.NaN()
	}
	f := strings.Fields(string(b))
	pages, _ := strconv.ParseFloat(f[1], 64)
	return pages * float64(os.Getpagesize()) / (1 << 20)
}

func rss(o Options) error {
	w := o.Out
	last := o.RSSSteps[len(o.RSSSteps)-1]
	fmt.Fprintf(w, "== Resident memory of a tiny-BERT training loop (batch 32 × 64, AdamW), %d steps\n", last)
	var rows []string
	var first, final float64
	err := torch.Catch(func() error {
		m := bert.New(checkpoint.Tiny(), bert.Head{Kind: task.Classification, NumLabels: 2}, torch.CPU)
		defer m.Free()
		m.SetRequiresGrad(true, false)
		params := train.Named(m)
		opt := optim.NewAdamW(params, 0)
		defer opt.Free()
		in := randomInput(32, 64, m.Config.VocabSize, torch.CPU)
		labels := torch.Zeros([]int64{32}, torch.Int64, torch.CPU).Detached()
		next := 0
		for step := 1; step <= last; step++ {
			s := torch.NewScope()
			optim.ZeroGrad(params)
			torch.CrossEntropy(m.Forward(in, nil, true, false).Logits, labels).Backward()
			opt.Step(1e-4)
			s.Close()
			if step == o.RSSSteps[next] {
				runtime.GC()
				r := residentMB()
				if next == 0 {
					first = r
				}
				final = r
				rows = append(rows, fmt.Sprintf("  after %4d steps: RSS %7.1f MiB, live tensors %d", step, r, torch.Live()))
				next++
			}
		}
		in.IDs.Free()
		in.TypeIDs.Free()
		in.Mask.Free()
		labels.Free()
		return nil
	})
	if err != nil {
		return err
	}
	for _, r := range rows {
		fmt.Fprintln(w, r)
	}
	fmt.Fprintf(w, "  growth from step %d to %d: %+.1f%% (target: within ±10%%)\n\n", o.RSSSteps[0], last, 100*(final-first)/first)
	return nil
}

// compact times compact models with the paper's 95 %-sparsity structures —
// layers kept from the remaining-layers table, heads and FFN units per layer
// from Figure 3's averages — against BERT-base on this CPU.
func compact(o Options) error {
	w := o.Out
	ref := reference.Default()
	var prof *reference.Profile
	for i := range ref.Structure {
		if ref.Structure[i].Sparsity == 0.95 {
			prof = &ref.Structure[i]
		}
	}
	if prof == nil {
		return fmt.Errorf("no Figure 3 profile at 95%% sparsity in the reference data")
	}
	const batch, seq = 8, 128
	fmt.Fprintf(w, "== Compact models with the paper's 95%% structures vs BERT-base (12 layers), inference %d×%d, %d rounds (first discarded)\n", batch, seq, o.Rounds)
	fmt.Fprintln(w, "   structure: MHA/FFN layers kept from the remaining-layers table; heads and FFN units per kept layer from Figure 3's 95% averages")
	full := checkpoint.BertBase()
	base := bert.New(full, bert.Head{Kind: task.Classification, NumLabels: 2}, torch.CPU)
	defer base.Free()
	in := randomInput(batch, seq, full.VocabSize, torch.CPU)
	defer func() { in.IDs.Free(); in.TypeIDs.Free(); in.Mask.Free() }()
	time1 := func(m *bert.Model) float64 {
		var total float64
		torch.NoGrad(func() {
			for r := 0; r < o.Rounds; r++ {
				s := torch.NewScope()
				t0 := time.Now()
				m.Forward(in, nil, false, false).Logits.Float32s()
				d := ms(time.Since(t0))
				s.Close()
				if r > 0 {
					total += d
				}
			}
		})
		return total / float64(o.Rounds-1)
	}
	var baseMS float64
	if err := torch.Catch(func() error { baseMS = time1(base); return nil }); err != nil {
		return err
	}
	fullHeads, fullInter := make([]int, 12), make([]int, 12)
	for i := range fullHeads {
		fullHeads[i], fullInter[i] = 12, 3072
	}
	fullFLOPs := ForwardFLOPs(768, 64, seq, fullHeads, fullInter)
	fmt.Fprintf(w, "BERT-base: %.1f ms per batch, %d encoder parameters\n", baseMS, base.EncoderSize())
	fmt.Fprintf(w, "%-6s %-4s %-26s %-22s %10s %10s %10s %10s\n", "task", "run", "MHA layers", "FFN layers", "params", "ms/batch", "speedup", "FLOP ratio")
	var sumSpeed, sumFLOP float64
	n := 0
	for _, run := range ref.Layers {
		if run.Sparsity != 0.95 {
			continue
		}
		heads, inter := make([]int, 12), make([]int, 12)
		for _, l := range run.MHA {
			heads[l-1] = max(1, int(math.Round(prof.Heads[l-1])))
		}
		for _, l := range run.FFN {
			inter[l-1] = max(1, int(math.Round(prof.Intermediate[l-1])))
		}
		m := Structured(full, heads, inter)
		var cms float64
		err := torch.Catch(func() error { cms = time1(m); return nil })
		size := m.EncoderSize()
		m.Free()
		if err != nil {
			return err
		}
		fr := fullFLOPs / ForwardFLOPs(768, 64, seq, heads, inter)
		fmt.Fprintf(w, "%-6s %-4d %-26s %-22s %10d %10.1f %9.2f× %9.2f×\n", run.Task, run.Run, ints(run.MHA), ints(run.FFN), size, cms, baseMS/cms, fr)
		sumSpeed += baseMS / cms
		sumFLOP += fr
		n++
	}
	fmt.Fprintf(w, "mean speedup %.2f× on this CPU; mean FLOP ratio %.2f× (paper: ~12× on a V100 at batch 128)\n", sumSpeed/float64(n), sumFLOP/float64(n))
	return nil
}

func ints(v []int) string {
	var s []string
	for _, x := range v {
		s = append(s, strconv.Itoa(x))
	}
	return strings.Join(s, ",")
}

// Structured builds a random BERT with the given heads and FFN units per
// layer (0 removes the sublayer), at full hidden size.
func Structured(c checkpoint.Config, heads, inter []int) *bert.Model {
	m := bert.New(c, bert.Head{Kind: task.Classification, NumLabels: 2}, torch.CPU)
	hd := int64(m.HeadDim)
	for i, l := range m.Layers {
		torch.NoGrad(func() {
			s := torch.NewScope()
			defer s.Close()
			keepRows := func(lin *bert.Linear, n int64, dim int64) {
				idx := torch.Arange(n, torch.CPU)
				w := s.Keep(lin.W.IndexSelect(dim, idx)).Detached()
				lin.W.Free()
				lin.W = w
				if dim == 0 {
					b := s.Keep(lin.B.IndexSelect(0, idx)).Detached()
					lin.B.Free()
					lin.B = b
				}
			}
			if heads[i] == 0 {
				for _, t := range []*torch.Tensor{l.Q.W, l.Q.B, l.K.W, l.K.B, l.V.W, l.V.B, l.O.W, l.O.B, l.AttnLN.W, l.AttnLN.B} {
					t.Free()
				}
				l.Heads, l.Q, l.K, l.V, l.O, l.AttnLN = 0, nil, nil, nil, nil, nil
			} else {
				n := int64(heads[i]) * hd
				keepRows(l.Q, n, 0)
				keepRows(l.K, n, 0)
				keepRows(l.V, n, 0)
				keepRows(l.O, n, 1)
				l.Heads = heads[i]
			}
			if inter[i] == 0 {
				for _, t := range []*torch.Tensor{l.Up.W, l.Up.B, l.Down.W, l.Down.B, l.OutLN.W, l.OutLN.B} {
					t.Free()
				}
				l.Inter, l.Up, l.Down, l.OutLN = 0, nil, nil, nil
			} else {
				keepRows(l.Up, int64(inter[i]), 0)
				keepRows(l.Down, int64(inter[i]), 1)
				l.Inter = inter[i]
			}
		})
	}
	return m
}

// FindPython returns an interpreter that imports torch, and the bench script
// next to this package's source in the repository, or empty strings.
func FindPython(repo string) (python, script string) {
	script = filepath.Join(repo, "experiments", "bench", "pytorch_bench.py")
	if _, err := os.Stat(script); err != nil {
		return "", ""
	}
	for _, p := range []string{"/usr/bin/python3", "python3"} {
		if exec.Command(p, "-c", "import torch").Run() == nil {
			return p, script
		}
	}
	return "", ""
}
