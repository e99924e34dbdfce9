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
	"slices"
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

// Sections of the benchmark.
const (
	SectionStep    = "step"    // Go vs PyTorch training step and inference
	SectionRSS     = "rss"     // resident memory over a long training loop (CPU)
	SectionCompact = "compact" // latency of compact models with the paper's 95 % structures
)

// Options configure the benchmark.
type Options struct {
	Layers   int          // encoder layers of the BERT-base-width model timed for Go vs PyTorch
	Steps    int          // timed steps (after one warm-up)
	Python   string       // interpreter with torch; "" skips the PyTorch side
	Script   string       // path of pytorch_bench.py
	RSSSteps []int        // tiny-model steps at which RSS is read
	Rounds   int          // latency rounds for the compact-structure section
	Device   torch.Device // where everything runs
	Shapes   [][2]int     // batch × sequence shapes of the step section (default 32×128, 8×128)
	// LatencyBatch × LatencySeq is the compact section's input (default 8×128;
	// the paper's protocol is 128×128 on a GPU).
	LatencyBatch, LatencySeq int
	Sections                 []string // default: every section (rss only on CPU)
	Out                      io.Writer
}

// Report is everything measured, for --json.
type Report struct {
	Libtorch string      `json:"libtorch"`
	Device   string      `json:"device"`
	Threads  int         `json:"threads"`
	Layers   int         `json:"layers"`
	Steps    []StepTime  `json:"step_times,omitempty"`
	RSS      *RSSResult  `json:"rss,omitempty"`
	Latency  *LatencyRes `json:"latency,omitempty"`
	// PyMalloc is the glibc environment the PyTorch side ran with: the
	// settings the Go process gives itself (experiments/torch/malloc_linux.go).
	PyMalloc string `json:"pytorch_malloc_env"`
}

// StepTime is one shape of the step section, in ms (fastest of the steps).
type StepTime struct {
	Batch     int     `json:"batch"`
	Seq       int     `json:"seq"`
	GoTrain   float64 `json:"go_train_ms"`
	PyTrain   float64 `json:"pytorch_train_ms,omitempty"`
	GoInfer   float64 `json:"go_infer_ms"`
	PyInfer   float64 `json:"pytorch_infer_ms,omitempty"`
	TrainRate float64 `json:"train_ratio,omitempty"` // Go / PyTorch
	InferRate float64 `json:"infer_ratio,omitempty"`
	// PyTorch with glibc's default allocator settings (CPU only), to show
	// what the allocator alone does.
	PyTrainDefault float64 `json:"pytorch_train_ms_glibc_defaults,omitempty"`
	PyInferDefault float64 `json:"pytorch_infer_ms_glibc_defaults,omitempty"`
}

// RSSResult is the memory section.
type RSSResult struct {
	Steps  []int     `json:"steps"`
	MiB    []float64 `json:"mib"`
	Growth float64   `json:"growth_percent"`
}

// LatencyRes is the compact-model section.
type LatencyRes struct {
	Batch         int          `json:"batch"`
	Seq           int          `json:"seq"`
	Rounds        int          `json:"rounds"`
	BaseMS        float64      `json:"bert_base_ms"`
	Rows          []LatencyRow `json:"rows"`
	MeanSpeedup   float64      `json:"mean_speedup"`
	MeanFLOPRatio float64      `json:"mean_flop_ratio"`
	PaperHardware string       `json:"paper_hardware"`
}

// LatencyRow is one compact structure.
type LatencyRow struct {
	Task      string   `json:"task"`
	Run       int      `json:"run"`
	MHA       []int    `json:"mha_layers"`
	FFN       []int    `json:"ffn_layers"`
	Params    int64    `json:"params"`
	MS        float64  `json:"ms"`
	Speedup   float64  `json:"speedup"`
	FLOPRatio float64  `json:"flop_ratio"`
	Paper     *float64 `json:"paper_speedup,omitempty"` // the released 95 % checkpoint of the task (V100, batch 128)
}

// pyMallocEnv gives the PyTorch side the glibc settings the Go process sets
// for itself (malloc_linux.go: M_MMAP_MAX 0, M_TRIM_THRESHOLD 1 GiB), so the
// ratio compares frameworks, not allocators.
var pyMallocEnv = []string{"MALLOC_MMAP_MAX_=0", "MALLOC_TRIM_THRESHOLD_=1073741824"}

func (o Options) has(s string) bool {
	if len(o.Sections) == 0 {
		return s != SectionRSS || !o.Device.IsCUDA()
	}
	return slices.Contains(o.Sections, s)
}

// Run measures and prints every section asked for, and returns the figures.
func Run(o Options) (*Report, error) {
	if len(o.Shapes) == 0 {
		o.Shapes = [][2]int{{32, 128}, {8, 128}}
	}
	if o.LatencyBatch == 0 {
		o.LatencyBatch, o.LatencySeq = 8, 128
	}
	w := o.Out
	rep := &Report{Libtorch: torch.Version(), Device: o.Device.Describe(torch.Threads()), Threads: torch.Threads(), Layers: o.Layers,
		PyMalloc: strings.Join(pyMallocEnv, " ")}
	fmt.Fprintf(w, "libtorch %s, %d threads, %s\n\n", torch.Version(), torch.Threads(), rep.Device)
	if o.has(SectionStep) {
		if err := stepTimes(o, rep); err != nil {
			return rep, err
		}
	}
	if o.has(SectionRSS) {
		if err := rss(o, rep); err != nil {
			return rep, err
		}
	}
	if o.has(SectionCompact) {
		if err := compact(o, rep); err != nil {
			return rep, err
		}
	}
	return rep, nil
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
// the least disturbed measurement. On a GPU each measurement ends with a
// synchronisation.
func goTimes(dev torch.Device, layers, batch, seq, steps int) (float64, float64, error) {
	var trainMS, inferMS float64
	err := torch.Catch(func() error {
		m := bert.New(bertBase(layers), bert.Head{Kind: task.Classification, NumLabels: 2}, dev)
		defer m.Free()
		m.SetRequiresGrad(true, false)
		params := train.Named(m)
		opt := optim.NewAdamW(params, 0)
		defer opt.Free()
		in := randomInput(batch, seq, m.Config.VocabSize, dev)
		defer func() { in.IDs.Free(); in.TypeIDs.Free(); in.Mask.Free() }()
		labels := torch.Zeros([]int64{int64(batch)}, torch.Int64, dev)
		defer labels.Free()
		trainMS = fastest(dev, steps, func() {
			s := torch.NewScope()
			defer s.Close()
			optim.ZeroGrad(params)
			torch.CrossEntropy(m.Forward(in, nil, true, false).Logits, labels).Backward()
			optim.ClipGradNorm(params, 1)
			opt.Step(1e-5)
		})
		torch.NoGrad(func() {
			inferMS = fastest(dev, steps, func() {
				s := torch.NewScope()
				m.Forward(in, nil, false, false)
				s.Close()
			})
		})
		return nil
	})
	return trainMS, inferMS, err
}

func fastest(dev torch.Device, steps int, fn func()) float64 {
	fn() // warm-up
	torch.Synchronize(dev)
	best := math.Inf(1)
	for range steps {
		t0 := time.Now()
		fn()
		torch.Synchronize(dev)
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

func pyTimes(o Options, batch, seq int, env []string) (*pyResult, error) {
	cmd := exec.Command(o.Python, o.Script, "--layers", strconv.Itoa(o.Layers), "--batch", strconv.Itoa(batch),
		"--seq", strconv.Itoa(seq), "--threads", strconv.Itoa(torch.Threads()), "--steps", strconv.Itoa(o.Steps), "--device", o.Device.String())
	cmd.Env = append(os.Environ(), env...)
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

func stepTimes(o Options, rep *Report) error {
	w := o.Out
	fmt.Fprintf(w, "== Training step and inference on %s, BERT-base width (hidden 768, 12 heads, FFN 3072), %d layers, AdamW: fastest of %d steps, each side measured twice, alternating\n", o.Device, o.Layers, o.Steps)
	pyOK := o.Python != ""
	if !pyOK {
		fmt.Fprintln(w, "(PyTorch side skipped: no python3 with torch found; install python3-torch to compare)")
	}
	// glibc's defaults for PyTorch too, on the CPU, where the allocator matters.
	withDefaults := pyOK && !o.Device.IsCUDA()
	fmt.Fprintf(w, "%-10s %12s %12s %8s %12s %12s %8s", "shape", "Go train ms", "PT train ms", "ratio", "Go infer ms", "PT infer ms", "ratio")
	if withDefaults {
		fmt.Fprintf(w, " %14s %14s", "PT train dflt", "PT infer dflt")
	}
	fmt.Fprintln(w)
	for _, sh := range o.Shapes {
		st := StepTime{Batch: sh[0], Seq: sh[1], GoTrain: math.Inf(1), GoInfer: math.Inf(1)}
		pt, pi, pdt, pdi := math.Inf(1), math.Inf(1), math.Inf(1), math.Inf(1)
		for range 2 { // alternate the two sides so a burst of load hits both
			if pyOK {
				pr, err := pyTimes(o, sh[0], sh[1], pyMallocEnv)
				if err != nil {
					return err
				}
				pt, pi = min(pt, pr.TrainMS), min(pi, pr.InferMS)
				if withDefaults {
					pr, err := pyTimes(o, sh[0], sh[1], nil)
					if err != nil {
						return err
					}
					pdt, pdi = min(pdt, pr.TrainMS), min(pdi, pr.InferMS)
				}
			}
			t, i, err := goTimes(o.Device, o.Layers, sh[0], sh[1], o.Steps)
			if err != nil {
				return err
			}
			st.GoTrain, st.GoInfer = min(st.GoTrain, t), min(st.GoInfer, i)
		}
		line := fmt.Sprintf("%-10s %12.1f", fmt.Sprintf("%d×%d", sh[0], sh[1]), st.GoTrain)
		if pyOK {
			st.PyTrain, st.PyInfer, st.TrainRate, st.InferRate = pt, pi, st.GoTrain/pt, st.GoInfer/pi
			line += fmt.Sprintf(" %12.1f %8.3f %12.1f %12.1f %8.3f", pt, st.TrainRate, st.GoInfer, pi, st.InferRate)
			if withDefaults {
				st.PyTrainDefault, st.PyInferDefault = pdt, pdi
				line += fmt.Sprintf(" %14.1f %14.1f", pdt, pdi)
			}
		} else {
			line += fmt.Sprintf(" %12s %8s %12.1f %12s %8s", "-", "-", st.GoInfer, "-", "-")
		}
		rep.Steps = append(rep.Steps, st)
		fmt.Fprintln(w, line)
	}
	fmt.Fprintln(w, "ratio = Go / PyTorch time (target for training: ≤ 1.0). Same libtorch and kernels on both sides. The Go process")
	fmt.Fprintf(w, "keeps freed memory in glibc's heap (experiments/torch/malloc_linux.go); PyTorch runs with the same settings (%s).\n", rep.PyMalloc)
	if withDefaults {
		fmt.Fprintln(w, "\"dflt\": PyTorch with glibc's default allocator settings, for comparison.")
	}
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

func rss(o Options, rep *Report) error {
	w := o.Out
	last := o.RSSSteps[len(o.RSSSteps)-1]
	fmt.Fprintf(w, "== Resident memory of a tiny-BERT training loop (batch 32 × 64, AdamW), %d steps\n", last)
	var rows []string
	var mibs []float64
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
				mibs = append(mibs, r)
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
	growth := 100 * (final - first) / first
	rep.RSS = &RSSResult{Steps: o.RSSSteps, MiB: mibs, Growth: growth}
	fmt.Fprintf(w, "  growth from step %d to %d: %+.1f%% (target: within ±10%%)\n\n", o.RSSSteps[0], last, growth)
	return nil
}

// compact times compact models with the paper's 95 %-sparsity structures —
// layers kept from the remaining-layers table, heads and FFN units per layer
// from Figure 3's averages — against BERT-base on o.Device, next to their
// FLOP ratio and the speedup the authors measured for the task's released
// 95 % model (V100, batch 128).
func compact(o Options, rep *Report) error {
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
	batch, seq, dev := o.LatencyBatch, o.LatencySeq, o.Device
	lat := &LatencyRes{Batch: batch, Seq: seq, Rounds: o.Rounds, PaperHardware: ref.Paper.SpeedupHardware}
	fmt.Fprintf(w, "== Compact models with the paper's 95%% structures vs BERT-base (12 layers) on %s, fp32 inference %d×%d, %d rounds (first discarded)%s\n",
		dev, batch, seq, o.Rounds, map[bool]string{true: ", synchronised", false: ""}[dev.IsCUDA()])
	fmt.Fprintln(w, "   structure: MHA/FFN layers kept from the remaining-layers table; heads and FFN units per kept layer from Figure 3's 95% averages")
	full := checkpoint.BertBase()
	in := randomInput(batch, seq, full.VocabSize, dev)
	defer func() { in.IDs.Free(); in.TypeIDs.Free(); in.Mask.Free() }()
	time1 := func(m *bert.Model) float64 {
		var total float64
		torch.NoGrad(func() {
			for r := 0; r < o.Rounds; r++ {
				s := torch.NewScope()
				torch.Synchronize(dev)
				t0 := time.Now()
				m.Forward(in, nil, false, false)
				torch.Synchronize(dev)
				d := ms(time.Since(t0))
				s.Close()
				if r > 0 {
					total += d
				}
			}
		})
		return total / float64(o.Rounds-1)
	}
	var baseSize int64
	if err := torch.Catch(func() error {
		base := bert.New(full, bert.Head{Kind: task.Classification, NumLabels: 2}, dev)
		defer base.Free()
		lat.BaseMS, baseSize = time1(base), base.EncoderSize()
		return nil
	}); err != nil {
		return err
	}
	fullHeads, fullInter := make([]int, 12), make([]int, 12)
	for i := range fullHeads {
		fullHeads[i], fullInter[i] = 12, 3072
	}
	fullFLOPs := ForwardFLOPs(768, 64, seq, fullHeads, fullInter)
	fmt.Fprintf(w, "BERT-base: %.1f ms per batch, %d encoder parameters\n", lat.BaseMS, baseSize)
	fmt.Fprintf(w, "%-6s %-4s %-26s %-22s %10s %10s %10s %10s %12s\n", "task", "run", "MHA layers", "FFN layers", "params", "ms/batch", "speedup", "FLOP ratio", "paper "+shortHW(ref.Paper.SpeedupHardware))
	var sumSpeed, sumFLOP float64
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
		row := LatencyRow{Task: run.Task, Run: run.Run, MHA: run.MHA, FFN: run.FFN}
		err := torch.Catch(func() error {
			m := StructuredOn(full, heads, inter, dev)
			defer m.Free()
			row.MS, row.Params = time1(m), m.EncoderSize()
			return nil
		})
		if err != nil {
			return err
		}
		row.Speedup = lat.BaseMS / row.MS
		row.FLOPRatio = fullFLOPs / ForwardFLOPs(768, 64, seq, heads, inter)
		paper := "-"
		for _, c := range ref.Checkpoints {
			if c.Task == run.Task && c.TargetSparsity == 0.95 {
				v := c.Speedup
				row.Paper = &v
				paper = fmt.Sprintf("%.1f×", v)
			}
		}
		fmt.Fprintf(w, "%-6s %-4d %-26s %-22s %10d %10.1f %9.2f× %9.2f× %12s\n", run.Task, run.Run, ints(run.MHA), ints(run.FFN), row.Params, row.MS, row.Speedup, row.FLOPRatio, paper)
		sumSpeed += row.Speedup
		sumFLOP += row.FLOPRatio
		lat.Rows = append(lat.Rows, row)
	}
	n := float64(len(lat.Rows))
	lat.MeanSpeedup, lat.MeanFLOPRatio = sumSpeed/n, sumFLOP/n
	rep.Latency = lat
	fmt.Fprintf(w, "mean speedup %.2f× on %s; mean FLOP ratio %.2f× (paper: ~12× on a %s at batch 128; \"paper\": the task's released 95%% model)\n",
		lat.MeanSpeedup, dev, lat.MeanFLOPRatio, ref.Paper.SpeedupHardware)
	return nil
}

func shortHW(s string) string { return strings.TrimPrefix(s, "NVIDIA ") }

func ints(v []int) string {
	var s []string
	for _, x := range v {
		s = append(s, strconv.Itoa(x))
	}
	return strings.Join(s, ",")
}

// Structured builds a random BERT on the CPU with the given heads and FFN
// units per layer (0 removes the sublayer), at full hidden size.
func Structured(c checkpoint.Config, heads, inter []int) *bert.Model {
	return StructuredOn(c, heads, inter, torch.CPU)
}

// StructuredOn is Structured on dev.
func StructuredOn(c checkpoint.Config, heads, inter []int, dev torch.Device) *bert.Model {
	m := bert.New(c, bert.Head{Kind: task.Classification, NumLabels: 2}, dev)
	hd := int64(m.HeadDim)
	for i, l := range m.Layers {
		torch.NoGrad(func() {
			s := torch.NewScope()
			defer s.Close()
			keepRows := func(lin *bert.Linear, n int64, dim int64) {
				idx := torch.Arange(n, dev)
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

// FindPython returns an interpreter that imports torch (want, else
// /usr/bin/python3 or python3), and the bench script next to this package's
// source in the repository, or empty strings.
func FindPython(repo, want string) (python, script string) {
	script = filepath.Join(repo, "experiments", "bench", "pytorch_bench.py")
	if _, err := os.Stat(script); err != nil {
		return "", ""
	}
	cands := []string{"/usr/bin/python3", "python3"}
	if want != "" {
		cands = []string{want}
	}
	for _, p := range cands {
		if exec.Command(p, "-c", "import torch").Run() == nil {
			return p, script
		}
	}
	return "", ""
}
