//go:build torch

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/cofiharness/cofi/baselines"
	"github.com/cofiharness/cofi/experiments/bench"
	"github.com/cofiharness/cofi/experiments/bert"
	"github.com/cofiharness/cofi/experiments/checkpoint"
	"github.com/cofiharness/cofi/experiments/cofi"
	"github.com/cofiharness/cofi/experiments/data"
	"github.com/cofiharness/cofi/experiments/data/glue"
	"github.com/cofiharness/cofi/experiments/latency"
	"github.com/cofiharness/cofi/experiments/torch"
	"github.com/cofiharness/cofi/experiments/train"
	"github.com/cofiharness/cofi/hparams"
	"github.com/cofiharness/cofi/internal/atomicfile"
	"github.com/cofiharness/cofi/method"
	"github.com/cofiharness/cofi/record"
	"github.com/cofiharness/cofi/stage"
	"github.com/cofiharness/cofi/task"
)

func init() {
	cmds := map[string]func([]string) error{"init-model": initModelCmd, "finetune": finetuneCmd, "eval": evalCmd, "prune": pruneCmd, "distill": distillCmd, "augment": augmentCmd, "bench": benchCmd, "device-check": deviceCheckCmd}
	for _, c := range torchCommands {
		register(Command{Name: c.name, Summary: c.summary, Run: cmds[c.name]})
	}
}

// cofiMethods lists CoFi and its ablations.
func cofiMethods() []string {
	var out []string
	for _, n := range method.Names() {
		if m, _ := method.Lookup(n); m.Family == method.CoFi {
			out = append(out, n)
		}
	}
	return out
}

// envFlags are the run-time flags every libtorch command takes.
type envFlags struct {
	device  *string
	threads *int
}

func addEnvFlags(fs *flag.FlagSet) envFlags {
	return envFlags{
		device:  fs.String("device", "auto", "auto (CUDA when available), cpu, cuda or cuda:N"),
		threads: fs.Int("threads", 0, "CPU intra-op threads (0 = all cores)"),
	}
}

func (e envFlags) env() train.Env {
	return train.Env{Device: *e.device, Threads: *e.threads, Log: os.Stderr}
}

// interruptible returns a context cancelled by the first Ctrl-C or SIGTERM;
// training stages then save a snapshot and stop. A second signal kills.
func interruptible() (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		if _, ok := <-sig; !ok {
			return
		}
		fmt.Fprintln(os.Stderr, "stopping at the next step and saving a snapshot (Ctrl-C again to kill)")
		cancel()
		signal.Reset(os.Interrupt, syscall.SIGTERM) // a second signal kills
	}()
	return ctx, func() {
		signal.Stop(sig)
		close(sig)
		cancel()
	}
}

func required(fs *flag.FlagSet, names ...string) error {
	var missing []string
	for _, n := range names {
		if f := fs.Lookup(n); f == nil || f.Value.String() == "" {
			missing = append(missing, "--"+n)
		}
	}
	if len(missing) > 0 {
		fs.Usage()
		return exitCode{2, "missing " + strings.Join(missing, ", ")}
	}
	return nil
}

// writeResult writes res as dir/result.json and prints its metrics.
func writeResult(dir string, res *record.Result) error {
	if err := record.WriteResult(dir, res); err != nil {
		return err
	}
	if len(res.Metrics) > 0 {
		fmt.Printf("%s: %s\n", res.Kind, train.FormatMetrics(res.Metrics))
	}
	if res.Size != nil {
		fmt.Printf("size: %d encoder parameters (%.2f%% sparsity)\n", res.Size.Params, 100*res.Size.Sparsity)
	}
	if res.Latency != nil {
		fmt.Printf("latency: %.1f ms per round vs %.1f ms unpruned → %.2f× speedup on %s\n", res.Latency.MeanMS, res.Latency.BaselineMeanMS, res.Latency.Speedup, res.Latency.Device)
	}
	fmt.Printf("wrote %s\n", filepath.Join(dir, record.ResultFile))
	return nil
}

const initModelHelp = `Write a randomly initialised BERT encoder (no task head) in Hugging Face
layout — config.json, model.safetensors, vocab.txt (bert-base-uncased's) — to use
where a pre-trained model would go when none can be downloaded: tests, the demo, and
latency measurements, which do not depend on the weights.`

func initModelCmd(args []string) error {
	fs := newFlagSet("init-model", "--out DIR [flags]", initModelHelp)
	out := fs.String("out", "", "output directory (required)")
	size := fs.String("config", "tiny", "tiny (2 layers, hidden 64, 2 heads, FFN 256) or base (bert-base-uncased's shapes)")
	seed := fs.Int64("seed", 0, "random seed")
	layers := fs.Int("layers", 0, "override the number of layers")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := required(fs, "out"); err != nil {
		return err
	}
	if err := atLeast(fs, map[string]int{"layers": 0}); err != nil {
		return err
	}
	var c checkpoint.Config
	switch *size {
	case "tiny":
		c = checkpoint.Tiny()
	case "base":
		c = checkpoint.BertBase()
	default:
		return exitCode{2, fmt.Sprintf("--config %q: want tiny or base", *size)}
	}
	if *layers > 0 {
		c.NumHiddenLayers = *layers
	}
	if _, err := torch.Setup(0, *seed, "cpu"); err != nil {
		return err
	}
	if err := bert.WriteRandomEncoder(c, *seed, *out); err != nil {
		return err
	}
	fmt.Printf("wrote a random %d-layer BERT (hidden %d) to %s\n", c.NumHiddenLayers, c.HiddenSize, *out)
	return nil
}

const finetuneHelp = `Fine-tune a model on a task (the teacher of CoFi): AdamW, linear schedule with
warm-up, gradient clipping, evaluation on dev every --eval-every steps, the best
checkpoint on dev saved in OUT/model. Hyperparameters default to the authors' teacher
recipe (GLUE: lr 2e-5, batch 32, seq 128, 5 epochs; SQuAD: lr 3e-5, batch 16, seq 384,
2 epochs). Ctrl-C saves a snapshot in OUT/checkpoint; running the same command again
resumes from it. Writes OUT/result.json.` + deviationsPointer

func finetuneCmd(args []string) error {
	fs := newFlagSet("finetune", "--task T --data DIR --model DIR --out DIR [flags]", finetuneHelp)
	tk := fs.String("task", "", "task: "+strings.Join(task.Names(), ", ")+" (required)")
	dataDir := fs.String("data", "", "task data: GLUE directory holding <TASK>/ (TSV or parquet), or SQuAD directory (required)")
	model := fs.String("model", "", "model to start from (HF directory) (required)")
	out := fs.String("out", "", "output directory (required)")
	env := addEnvFlags(fs)
	hp := addHparamFlags(fs, record.KindTeacher)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := required(fs, "task", "data", "model", "out"); err != nil {
		return err
	}
	if err := atLeast(fs, map[string]int{"threads": 0}); err != nil {
		return err
	}
	t, err := task.Lookup(*tk)
	if err != nil {
		return exitCode{2, err.Error()}
	}
	p, err := hp.resolve(t, nil)
	if err != nil {
		return exitCode{2, err.Error()}
	}
	ctx, stop := interruptible()
	defer stop()
	res, err := train.Finetune(ctx, train.FinetuneConfig{Task: t, DataDir: *dataDir, ModelDir: *model, OutDir: *out, Params: p, Env: env.env()})
	if err != nil {
		return err
	}
	return writeResult(*out, res)
}

const evalHelp = `Evaluate a checkpoint on a task's dev set(s): any HF BERT directory, full or
pruned — ours, or the authors' released princeton-nlp/CoFi-* models (structure read
from the tensor shapes, the checkpoint's own label order honoured). Prints the score,
the model size and sparsity counted as the paper does, the remaining structure and,
with --latency, the latency and speedup over an unpruned model of the same
architecture timed in the same run.`

func evalCmd(args []string) error {
	fs := newFlagSet("eval", "--task T --data DIR --model DIR [flags]", evalHelp)
	tk := fs.String("task", "", "task (required)")
	dataDir := fs.String("data", "", "task data directory (required)")
	model := fs.String("model", "", "checkpoint directory (required)")
	out := fs.String("out", "", "write the result JSON to this directory (result.json)")
	batch := fs.Int("batch", 64, "evaluation batch size")
	seqLen := fs.Int("seq-len", 0, "maximum sequence length (0 = the task's: 128, SQuAD 384)")
	withLatency := fs.Bool("latency", false, "also measure latency and speedup (paper protocol)")
	savePred := fs.String("save-predictions", "", "write every dev example's prediction to this file (JSON lines: eval_set, id, gold, predicted, score)")
	latBatch := fs.Int("latency-batch", 128, "latency batch size")
	rounds := fs.Int("rounds", 0, "latency rounds incl. warm-up (0 = the paper's for the task)")
	batches := fs.Int("batches", 0, "latency batches per round (0 = as many as the dev set)")
	env := addEnvFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := required(fs, "task", "data", "model"); err != nil {
		return err
	}
	if err := atLeast(fs, map[string]int{"batch": 1, "seq-len": 0, "latency-batch": 1, "batches": 0, "threads": 0}); err != nil {
		return err
	}
	if err := roundsFlag(fs, "rounds"); err != nil {
		return err
	}
	t, err := task.Lookup(*tk)
	if err != nil {
		return exitCode{2, err.Error()}
	}
	if *seqLen == 0 {
		*seqLen = t.SeqLen
	}
	e := env.env()
	info, err := e.Start(0)
	if err != nil {
		return err
	}
	res := &record.Result{Schema: record.SchemaVersion, Kind: record.KindEval, Task: t.Name, Evaluated: *model}
	err = torch.Catch(func() error {
		td, err := train.ForModel(t, *model, *dataDir, train.DataOptions{SeqLen: *seqLen, DocStride: 128})
		if err != nil {
			return err
		}
		labels := td.Labels
		m, err := train.LoadModel(t, *model, labels, info.Device, os.Stderr)
		if err != nil {
			return err
		}
		defer m.Free()
		res.DataIssues = td.Issues
		if d := data.DescribeIssues(td.Issues); d != "" {
			fmt.Fprintf(os.Stderr, "data issues: %s\n", d)
		}
		if *savePred == "" {
			if res.Metrics, err = train.Evaluate(m, nil, td, *batch); err != nil {
				return err
			}
		} else {
			var preds []train.Prediction
			if res.Metrics, preds, err = train.Predict(m, td, *batch); err != nil {
				return err
			}
			var b bytes.Buffer
			enc := json.NewEncoder(&b)
			enc.SetEscapeHTML(false)
			for _, p := range preds {
				if err := enc.Encode(p); err != nil {
					return err
				}
			}
			if err := atomicfile.Write(*savePred, b.Bytes(), 0o644); err != nil {
				return fmt.Errorf("write %s: %w", *savePred, err)
			}
			fmt.Fprintf(os.Stderr, "wrote %d predictions to %s\n", len(preds), *savePred)
		}
		res.Size, res.Structure = m.SizeRecord(), m.StructureRecord()
		// Standard output is the result's JSON alone; the human summary goes to standard error.
		fmt.Fprintf(os.Stderr, "structure: heads %v\n           FFN units %v\n           hidden %d of %d\n", res.Structure.Heads, res.Structure.Intermediate, res.Structure.Hidden, res.Structure.HiddenFull)
		if *withLatency {
			sp := hparams.Defaults(record.KindSpeed, t)
			lc := latency.Config{Batch: *latBatch, SeqLen: *seqLen, Rounds: hparams.Int(sp, "rounds"), Batches: *batches, Log: os.Stderr}
			if *rounds > 0 {
				lc.Rounds = *rounds
			}
			if lc.Batches == 0 {
				lc.Batches = max(1, (td.Eval[0].Data.Len()+lc.Batch-1)/lc.Batch)
			}
			base := latency.Unpruned(m)
			defer base.Free()
			if res.Latency, err = latency.Measure(m, base, lc, info); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if *out != "" {
		return writeResult(*out, res)
	}
	b, _ := json.MarshalIndent(res, "", "  ")
	fmt.Println(string(b))
	return nil
}

// setFlag collects repeated --set kind.key=value overrides.
type setFlag map[string]map[string]any

func (s setFlag) String() string { return "" }
func (s setFlag) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok {
		return fmt.Errorf("want kind.key=value, got %q", v)
	}
	kind, key, ok := strings.Cut(k, ".")
	if !ok {
		return fmt.Errorf("want kind.key=value (kinds: prune, final, speed), got %q", v)
	}
	if s[kind] == nil {
		s[kind] = map[string]any{}
	}
	s[kind][key] = parseValue(val)
	return nil
}

const pruneHelp = `Prune a fine-tuned model with CoFi, as one resumable pipeline of stages, each in
its own subdirectory of OUT with its result.json:
  prune   distillation-only pre-finetuning, then pruning with hard-concrete masks under
          the Lagrangian sparsity constraint; folds the best masks into the weights and
          saves the compact model (OUT/prune/model)
  final   fine-tunes the compact model with distillation (OUT/final/model)
  speed   times the final model against an unpruned one on this device (paper protocol)
Ablations of the paper are --method values (cofi-no-layer, cofi-no-hidden, ...).
Hyperparameters default to the authors' table; override with --set kind.key=value,
e.g. --set prune.epochs=20 --set final.lr=3e-5 --set speed.rounds=3. Ctrl-C saves a
snapshot; the same command resumes. Stages already done are skipped.` + deviationsPointer

func pruneCmd(args []string) error {
	fs := newFlagSet("prune", "--task T --data DIR --teacher DIR --student DIR --out DIR [flags]", pruneHelp)
	tk := fs.String("task", "", "task (required)")
	dataDir := fs.String("data", "", "task data directory (required)")
	teacher := fs.String("teacher", "", "fine-tuned teacher (HF directory) (required unless --method cofi-no-distill)")
	student := fs.String("student", "", "model the student starts from: the pre-trained BERT (required)")
	out := fs.String("out", "", "output directory (required)")
	sparsity := fs.Float64("sparsity", 0.95, "target sparsity")
	meth := fs.String("method", "cofi", "method: "+strings.Join(cofiMethods(), ", "))
	stages := fs.String("stages", "prune,final,speed", "stages to run, in order")
	sets := setFlag{}
	fs.Var(sets, "set", "hyperparameter override kind.key=value (repeatable); keys: 'cofi prune --help-keys'")
	helpKeys := fs.Bool("help-keys", false, "list the hyperparameters of every stage with their defaults")
	env := addEnvFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *helpKeys {
		for _, kind := range []string{record.KindPrune, record.KindFinal, record.KindSpeed} {
			fmt.Printf("%s:\n", kind)
			for _, k := range hparams.Keys(kind) {
				fmt.Printf("  %-24s %s (e.g. RTE: %v, MNLI: %v)\n", k.Name, k.Doc, k.Default(task.MustLookup("rte")), k.Default(task.MustLookup("mnli")))
			}
		}
		return nil
	}
	if err := required(fs, "task", "data", "student", "out"); err != nil {
		return err
	}
	if err := fractionFlag(fs, "sparsity"); err != nil {
		return err
	}
	if err := atLeast(fs, map[string]int{"threads": 0}); err != nil {
		return err
	}
	t, err := task.Lookup(*tk)
	if err != nil {
		return exitCode{2, err.Error()}
	}
	m, err := method.Lookup(*meth)
	if err != nil || m.Family != method.CoFi {
		return exitCode{2, fmt.Sprintf("--method %q: want cofi or one of its ablations", *meth)}
	}
	if *teacher == "" && !m.Switches.GoldLabels {
		return exitCode{2, "--teacher is required for methods that distil"}
	}
	params := map[string]record.Params{}
	for _, kind := range []string{record.KindPrune, record.KindFinal, record.KindSpeed} {
		over := sets[kind]
		if kind == record.KindPrune {
			if over == nil {
				over = map[string]any{}
			}
			if _, ok := over["target_sparsity"]; !ok {
				over["target_sparsity"] = *sparsity
			}
		}
		p, err := hparams.Resolve(kind, t, over)
		if err != nil {
			return exitCode{2, err.Error()}
		}
		params[kind] = p
	}
	for kind := range sets {
		if params[kind] == nil {
			return exitCode{2, fmt.Sprintf("--set %s.*: unknown stage kind (want prune, final or speed)", kind)}
		}
	}
	dirs := map[string]string{record.KindPrune: filepath.Join(*out, "prune"), record.KindFinal: filepath.Join(*out, "final"), record.KindSpeed: filepath.Join(*out, "speed")}
	var todo []string
	for _, s := range strings.Split(*stages, ",") {
		s = strings.TrimSpace(s)
		if _, ok := dirs[s]; !ok {
			return exitCode{2, fmt.Sprintf("--stages %s: unknown stage %q (want a comma-separated list of prune, final, speed)", *stages, s)}
		}
		todo = append(todo, s)
	}
	ctx, stop := interruptible()
	defer stop()
	e := env.env()
	for _, s := range todo {
		dir := dirs[s]
		if _, err := record.ReadResult(dir); err == nil {
			fmt.Fprintf(os.Stderr, "%s: already done (%s), skipped\n", s, filepath.Join(dir, record.ResultFile))
			continue
		}
		var res *record.Result
		switch s {
		case record.KindPrune:
			res, err = cofi.Prune(ctx, cofi.PruneConfig{Task: t, DataDir: *dataDir, TeacherDir: *teacher, StudentDir: *student, OutDir: dir, Params: params[s], Switches: m.Switches, Env: e})
		case record.KindFinal:
			res, err = cofi.Final(ctx, cofi.FinalConfig{Task: t, DataDir: *dataDir, PruneDir: dirs[record.KindPrune], TeacherDir: *teacher, OutDir: dir, Params: params[s], Switches: m.Switches, Env: e})
		case record.KindSpeed:
			model := filepath.Join(dirs[record.KindFinal], "model")
			if _, err := os.Stat(model); err != nil {
				model = filepath.Join(dirs[record.KindPrune], "model")
			}
			res, err = speed(t, model, "", params[s], e)
		}
		if err != nil {
			return fmt.Errorf("stage %s: %w", s, err)
		}
		if err := writeResult(dir, res); err != nil {
			return err
		}
	}
	return nil
}

// speed runs the latency protocol on a model directory, against the
// unpruned architecture of its own config.json, or of refDir's when set (a
// baseline against its teacher's).
func speed(t task.Task, modelDir, refDir string, p record.Params, e train.Env) (*record.Result, error) {
	info, err := e.Start(0)
	if err != nil {
		return nil, err
	}
	res := &record.Result{Kind: record.KindSpeed, Task: t.Name}
	err = torch.Catch(func() error {
		labels, err := train.ModelLabels(t, modelDir)
		if err != nil {
			return err
		}
		m, err := train.LoadModel(t, modelDir, labels, info.Device, e.Log)
		if err != nil {
			return err
		}
		defer m.Free()
		base := latency.Unpruned(m)
		if refDir != "" {
			rc, err := checkpoint.ReadConfig(refDir)
			if err != nil {
				base.Free()
				return fmt.Errorf("%w: reference model: %v", stage.ErrMissingInput, err)
			}
			base.Free()
			base = bert.New(rc, bert.Head{Kind: m.Kind, NumLabels: m.NumLabels, Labels: m.Labels}, m.Device)
		}
		defer base.Free()
		c := latency.Config{Batch: hparams.Int(p, "batch"), SeqLen: hparams.Int(p, "seq_len"), Rounds: hparams.Int(p, "rounds"), Batches: hparams.Int(p, "batches"), Log: e.Log}
		if c.Batches == 0 {
			c.Batches = 16 // tasks without a known dev size (synthetic): enough batches to time a tiny model steadily
			if t.DevSize > 0 {
				c.Batches = (t.DevSize + c.Batch - 1) / c.Batch
			}
		}
		res.Size, res.Structure = m.SizeRecord(), m.StructureRecord()
		if refDir != "" {
			full := base.EncoderSize()
			res.Size.FullParams, res.Size.Sparsity = full, 1-float64(res.Size.Params)/float64(full)
		}
		if hparams.String(p, "speedup") == "flops" {
			res.Latency = flopSpeedup(m, base, c.SeqLen)
			fmt.Fprintf(e.Writer(), "speedup %.2fx: the FLOP ratio to the unpruned model at %d tokens (speedup = flops: nothing timed)\n", res.Latency.Speedup, c.SeqLen)
			return nil
		}
		res.Latency, err = latency.Measure(m, base, c, info)
		return err
	})
	return res, err
}

// flopSpeedup is the ratio of forward-pass FLOPs of the reference model
// (the unpruned architecture of m's config, or a baseline's teacher) to m's
// own, at seqLen tokens per sequence.
func flopSpeedup(m, ref *bert.Model, seqLen int) *record.Latency {
	heads, inter, hidden := m.Structure()
	rHeads, rInter, rHidden := ref.Structure()
	base := bench.ForwardFLOPs(rHidden, ref.HeadDim, seqLen, rHeads, rInter)
	own := bench.ForwardFLOPs(hidden, m.HeadDim, seqLen, heads, inter)
	l := &record.Latency{Device: "FLOP ratio", SeqLen: seqLen, Method: record.LatencyFLOPs}
	if own > 0 {
		l.Speedup = base / own
	}
	return l
}

const distillHelp = `TinyBERT4's task distillation (the baseline of Tables 2 and 3), as its authors' task_distill.py
runs it, in two resumable steps, each in its own subdirectory of OUT with its result.json:
  layer   intermediate-layer distillation: the student learns the teacher's embeddings and
          hidden states (through a learned projection) and its attention scores, student
          layer m <- teacher layer 3m; constant learning rate, no evaluation (OUT/layer/model)
  pred    prediction-layer distillation: soft cross-entropy to the teacher's logits (MSE to the
          gold score for regression), linear warm-up and decay, best on dev (OUT/pred/model)
--student is a general-distilled checkpoint (huawei-noah/TinyBERT_General_4L_312D: config.json,
vocab.txt, pytorch_model.bin) or "random" (TinyBERT w/o GD: TinyBERT4's shape, or --set
tinybert-layer.layers=... etc.). Train on TinyBERT's augmented data by giving --data the directory
'cofi augment' wrote. Hyperparameters default to the authors' (package hparams); override with
--set tinybert-layer.key=value or --set tinybert-pred.key=value. Ctrl-C saves a snapshot; the same
command resumes; steps already done are skipped.`

func distillCmd(args []string) error {
	fs := newFlagSet("distill", "--task T --data DIR --teacher DIR --student DIR|random --out DIR [flags]", distillHelp)
	tk := fs.String("task", "", "task (required)")
	dataDir := fs.String("data", "", "task data directory (required)")
	teacher := fs.String("teacher", "", "fine-tuned teacher (required)")
	student := fs.String("student", "", "general-distilled TinyBERT directory, or random (required)")
	out := fs.String("out", "", "output directory (required)")
	sets := setFlag{}
	fs.Var(sets, "set", "hyperparameter override kind.key=value (repeatable; kinds tinybert-layer, tinybert-pred)")
	helpKeys := fs.Bool("help-keys", false, "list the hyperparameters of both steps with their defaults")
	env := addEnvFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	kinds := []string{record.KindTinyBERTLayer, record.KindTinyBERTPred}
	if *helpKeys {
		printKeys(kinds)
		return nil
	}
	if err := required(fs, "task", "data", "teacher", "student", "out"); err != nil {
		return err
	}
	if err := atLeast(fs, map[string]int{"threads": 0}); err != nil {
		return err
	}
	t, err := task.Lookup(*tk)
	if err != nil {
		return exitCode{2, err.Error()}
	}
	params, err := resolveSets(t, sets, kinds)
	if err != nil {
		return err
	}
	ctx, stop := interruptible()
	defer stop()
	e := env.env()
	layerDir, predDir := filepath.Join(*out, "layer"), filepath.Join(*out, "pred")
	if _, err := record.ReadResult(layerDir); err == nil {
		fmt.Fprintf(os.Stderr, "layer: already done (%s), skipped\n", filepath.Join(layerDir, record.ResultFile))
	} else {
		st := *student
		if st == "random" {
			st = ""
		}
		res, err := baselines.DistillLayers(ctx, baselines.LayerConfig{Task: t, DataDir: *dataDir, TeacherDir: *teacher, StudentDir: st, OutDir: layerDir,
			Params: params[record.KindTinyBERTLayer], Env: e})
		if err != nil {
			return fmt.Errorf("step 1 (layer): %w", err)
		}
		if err := writeResult(layerDir, res); err != nil {
			return err
		}
	}
	if _, err := record.ReadResult(predDir); err == nil {
		fmt.Fprintf(os.Stderr, "pred: already done (%s), skipped\n", filepath.Join(predDir, record.ResultFile))
		return nil
	}
	res, err := baselines.DistillPred(ctx, baselines.PredConfig{Task: t, DataDir: *dataDir, TeacherDir: *teacher, StartDir: filepath.Join(layerDir, "model"),
		OutDir: predDir, Params: params[record.KindTinyBERTPred], Env: e})
	if err != nil {
		return fmt.Errorf("step 2 (pred): %w", err)
	}
	return writeResult(predDir, res)
}

// printKeys lists the hyperparameters of stage kinds with two tasks' defaults.
func printKeys(kinds []string) {
	for _, kind := range kinds {
		fmt.Printf("%s:\n", kind)
		for _, k := range hparams.Keys(kind) {
			fmt.Printf("  %-24s %s (e.g. RTE: %v, SST-2: %v)\n", k.Name, k.Doc, k.Default(task.MustLookup("rte")), k.Default(task.MustLookup("sst2")))
		}
	}
}

// resolveSets resolves the hyperparameters of kinds with --set overrides.
func resolveSets(t task.Task, sets setFlag, kinds []string) (map[string]record.Params, error) {
	params := map[string]record.Params{}
	for _, kind := range kinds {
		p, err := hparams.Resolve(kind, t, sets[kind])
		if err != nil {
			return nil, exitCode{2, err.Error()}
		}
		params[kind] = p
	}
	for kind := range sets {
		if params[kind] == nil {
			return nil, exitCode{2, fmt.Sprintf("--set %s.*: unknown stage kind (want %s)", kind, strings.Join(kinds, " or "))}
		}
	}
	return params, nil
}

const augmentHelp = `TinyBERT's task data augmentation (its authors' data_augmentation.py): every word of
the task's train sentences that is letters only and not a stop word gets candidates -- from
the masked LM of --model (bert-base-uncased, with its cls.predictions head) when it is one
WordPiece, else its nearest GloVe words (--glove, text format; TinyBERT used glove.42B.300d);
N copies of each sentence replace each such word with a random candidate with probability p.
Writes OUT/<task dir>/train.tsv in the task's own GLUE TSV format (original rows first) with
the dev files copied, so OUT is a data directory for 'cofi distill', 'cofi prune' or a grid.
The file is the same for a seed (--set augment.aug_seed=...); Ctrl-C stops after the current
chunk of rows and the same command resumes there.`

func augmentCmd(args []string) error {
	fs := newFlagSet("augment", "--task T --data DIR --model DIR --glove FILE --out DIR [flags]", augmentHelp)
	tk := fs.String("task", "", "task (required)")
	dataDir := fs.String("data", "", "data root or task directory holding the GLUE TSVs (required)")
	model := fs.String("model", "", "pre-trained BERT with its masked-LM head (required)")
	glove := fs.String("glove", "", "GloVe vectors, text format (required)")
	out := fs.String("out", "", "output data root (required)")
	sets := setFlag{}
	fs.Var(sets, "set", "hyperparameter override augment.key=value (repeatable)")
	helpKeys := fs.Bool("help-keys", false, "list the hyperparameters with their defaults")
	env := addEnvFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *helpKeys {
		printKeys([]string{record.KindAugment})
		return nil
	}
	if err := required(fs, "task", "data", "model", "glove", "out"); err != nil {
		return err
	}
	t, err := task.Lookup(*tk)
	if err != nil {
		return exitCode{2, err.Error()}
	}
	params, err := resolveSets(t, sets, []string{record.KindAugment})
	if err != nil {
		return err
	}
	sub, err := glue.Dir(t.Name)
	if err != nil {
		return exitCode{2, err.Error()}
	}
	ctx, stop := interruptible()
	defer stop()
	dir := filepath.Join(*out, sub)
	res, err := baselines.Augment(ctx, baselines.AugmentConfig{Task: t, DataDir: *dataDir, ModelDir: *model, GloVePath: *glove, OutDir: dir,
		Params: params[record.KindAugment], Env: env.env()})
	if err != nil {
		return err
	}
	return writeResult(*out, res)
}
