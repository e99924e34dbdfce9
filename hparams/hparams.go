// Package hparams holds the authors' hyperparameter table as data: the
// default value of every hyperparameter of every stage kind, per task group.
// The CLI uses it for flag defaults and the runner for its default profile, so
// the table exists once.
package hparams

import (
	"fmt"
	"sort"
	"strings"

	"github.com/cofiharness/cofi/record"
	"github.com/cofiharness/cofi/task"
)

// Key documents one hyperparameter.
type Key struct {
	Name    string
	Doc     string
	Default func(t task.Task) any // value for task t; int, float64, string or bool
}

func by(small, large, qa, syn any) func(task.Task) any {
	return func(t task.Task) any {
		switch {
		case t.Synthetic:
			return syn
		case t.Size == task.Small:
			return small
		case t.Size == task.Large:
			return large
		default:
			return qa
		}
	}
}

func same(v any) func(task.Task) any { return func(task.Task) any { return v } }

func seqLen(t task.Task) any { return t.SeqLen }

// common keys shared by every training stage.
var common = []Key{
	{"seed", "random seed (weights init, data order, masks)", same(57)},
	{"batch", "training batch size", by(32, 32, 16, 32)},
	{"seq_len", "maximum sequence length (SQuAD: window length)", seqLen},
	{"doc_stride", "SQuAD window stride in tokens", same(128)},
	{"grad_clip", "gradient norm clip (0 = off)", same(1.0)},
	{"weight_decay", "AdamW weight decay", by(0.0, 0.0, 0.0, 0.01)},
	{"eval_every", "evaluate on dev every N optimiser steps (0 = once per epoch)", by(50, 500, 500, 0)},
	{"max_steps", "stop after this many optimiser steps (0 = run all epochs)", same(0)},
	{"eval_at_end", "also evaluate after the last step when it is not a multiple of eval_every (the authors' trainer evaluates only every eval_steps)", same(true)},
	{"heldout", "fraction of the training set held out (never trained on) and scored as the evaluation set \"heldout\", which then chooses checkpoints; 0 = none, the authors' protocol (selection on dev). Set by a sweep with on = \"heldout\"", same(0.0)},
}

// The authors' trainer (CoFiPruning trainer.py) does the same in every
// stage it runs: teacher, pruning and final fine-tuning. The synthetic tasks
// keep the harness's tuned behaviour (their "pre-trained" model is random, so
// frozen embeddings would stay random): embeddings frozen only while pruning.
var authorsTrainer = []Key{
	{"freeze_embeddings", "keep the embeddings (word, position, token type) out of the optimiser, as the authors' trainer always does (trainer.py:124); false trains them", by(true, true, true, false)},
	{"clip_frozen", "include the frozen embeddings' gradients in the gradient-norm clip, as the authors' clip over model.parameters() does (trainer.py:298); false clips the trained parameters only", by(true, true, true, false)},
}

// pruneFreeze: pruning freezes the embeddings for every task.
var pruneFreeze = []Key{
	{"freeze_embeddings", "keep the embeddings (word, position, token type) out of the optimiser, as the authors' trainer always does (trainer.py:124); false trains them", same(true)},
	authorsTrainer[1],
}

// evalAtStart: the authors' trainer evaluates before the first step and, when
// it keeps checkpoints from the start (teacher, final fine-tuning), the
// starting model can be the one kept.
var evalAtStart = Key{"eval_at_start", "evaluate the starting model before the first step and let it be the kept checkpoint, as the authors' trainer does (trainer.py:250); false evaluates only after training steps", by(true, true, true, false)}

// pruneEvalEvery: the synthetic tasks evaluate three times an epoch while
// pruning (63 steps an epoch): the compact model's sparsity moves in steps as
// whole heads and layers go, and one within select_within of the target is
// seen only between them.
var pruneEvalEvery = by(50, 500, 500, 21)

// layerMatch: the rule the published numbers used (see the deviations table).
var layerMatch = by("v3", "v3", "v3", "v4")

var perKind = map[string][]Key{
	record.KindTeacher: append(append(append([]Key{}, common...), authorsTrainer...), evalAtStart,
		Key{"lr", "peak learning rate (AdamW, linear decay)", by(2e-5, 2e-5, 3e-5, 2e-3)},
		Key{"epochs", "training epochs", by(5.0, 5.0, 2.0, 12.0)},
		Key{"warmup_frac", "fraction of steps with linear LR warm-up", by(0.0, 0.0, 0.0, 0.06)},
	),
	record.KindPrune: append(append(append([]Key{}, withDefaults(common, map[string]func(task.Task) any{"eval_every": pruneEvalEvery})...), pruneFreeze...),
		Key{"lr", "learning rate of the model weights (linear decay, restarted when pruning starts)", by(2e-5, 2e-5, 3e-5, 1e-3)},
		Key{"epochs", "total pruning epochs, including pre-finetuning and sparsity warm-up", by(100.0, 20.0, 20.0, 20.0)},
		Key{"prepruning_epochs", "distillation-only epochs before masks are trained (paper); see prepruning_steps", by(4.0, 1.0, 1.0, 1.0)},
		Key{"prepruning_steps", "if > 0, distillation-only steps instead of prepruning_epochs (the released code hard-codes 100)", same(0)},
		Key{"sparsity_warmup_epochs", "epochs over which the target sparsity rises linearly to its final value", by(20.0, 2.0, 2.0, 8.0)},
		Key{"target_sparsity", "final target sparsity t", same(0.95)},
		Key{"sparsity_epsilon", "keep checkpoints only once expected sparsity >= target - epsilon", same(0.01)},
		Key{"select_ties", "among checkpoints with equal dev scores keep the earlier (the authors' strict comparison, trainer.py:65) or the later", by("earlier", "earlier", "earlier", "later")},
		Key{"sparsity_gate", "once: after the expected sparsity first reaches target − ε every later evaluation can be kept (the authors, trainer.py:490); every: each kept evaluation must itself be at target − ε", by("once", "once", "once", "every")},
		Key{"select_within", "if > 0, also require the compact model's sparsity within this of the target to keep a checkpoint (a harness addition; 0 = the paper's rule only)", by(0.0, 0.0, 0.0, 0.02)},
		Key{"reg_lr", "learning rate of log_alpha (descent) and lambda1, lambda2 (ascent)", by(0.01, 0.01, 0.01, 0.05)},
		Key{"temperature", "prediction-distillation temperature T", same(2.0)},
		Key{"alpha_pred", "weight of the prediction-distillation loss", same(0.1)},
		Key{"alpha_layer", "weight of the layerwise-distillation loss", same(0.9)},
		Key{"layer_match", "dynamic layer matching: v3 (argmin; the authors' first script and, by their word, most of their runs) or v4 (monotone, which their README later recommended for small data)", layerMatch},
		Key{"layer_presence", "v4 presence test: paper (MHA or FFN kept) or released (MHA only)", same("paper")},
		Key{"zint_init", "log_alpha init of z_int: released (mean 0) or paper (mean 10)", same("released")},
		Key{"round", "rounding of the number of zeros in deterministic masks: half-even (released code) or half-up", same("half-even")},
		Key{"clamp_from", "when log_alpha starts being clamped to [ln 0.01, ln 100] after each step: start (the authors' code clamps from the first step, so the masks enter pruning at ln 100) or pruning", by("start", "start", "start", "pruning")},
		Key{"empty_sublayer", "a sublayer whose heads (or FFN units) are all masked while its layer mask is not: skip (as the pruned model computes it) or bias (the released masked model adds the output bias and LayerNorm)", same("skip")},
		Key{"fold", "folding the masks into the weights: exact (the compact model computes what the masked one did) or released (the authors' update_params: soft values multiplied into some matrices, LayerNorms untouched)", same("exact")},
		Key{"regression_distill", "prediction distillation for one-logit regression (STS-B): mse (on the logit) or kl (the released KL over one logit, identically zero)", same("mse")},
		Key{"student_init", "student weights: pretrained (paper) or teacher (the synthetic tasks' \"pre-trained\" model is random)", by("pretrained", "pretrained", "pretrained", "teacher")},
	),
	record.KindFinal: append(append(append([]Key{}, withBatch(common, by(64, 64, 16, 32))...), authorsTrainer...), evalAtStart,
		Key{"lr", "constant learning rate of the compact model's fine-tuning", by(2e-5, 2e-5, 3e-5, 5e-4)},
		Key{"epochs", "final fine-tuning epochs", by(20.0, 20.0, 20.0, 4.0)},
		Key{"schedule", "learning-rate schedule: constant (as the authors ran it) or linear", same("constant")},
		Key{"temperature", "prediction-distillation temperature T", same(2.0)},
		Key{"alpha_pred", "weight of the prediction-distillation loss", same(0.1)},
		Key{"alpha_layer", "weight of the layerwise-distillation loss", same(0.9)},
		Key{"layer_match", "dynamic layer matching: v3 or v4 (as for pruning)", layerMatch},
		Key{"regression_distill", "prediction distillation for one-logit regression (STS-B): mse or kl (the released, identically zero)", same("mse")},
	),
	record.KindAugment:       augmentKeys,
	record.KindTinyBERTLayer: tinyLayerKeys,
	record.KindTinyBERTPred:  tinyPredKeys,
	record.KindSpeed: {
		{"batch", "latency batch size (paper: 128)", same(128)},
		{"seq_len", "padded input length (paper: 128, SQuAD 384)", seqLen},
		{"rounds", "timed rounds over the dev batches, the first discarded as warm-up (paper: 20 small, 5 large, 2 QQP/SQuAD)", func(t task.Task) any {
			switch {
			case t.Synthetic:
				return 5
			case t.Name == "qqp" || t.Name == "squad":
				return 2
			case t.Size == task.Large:
				return 5
			}
			return 20
		}},
		{"batches", "batches per round (0 = as many as the dev set needs)", same(0)},
		{"threads", "CPU intra-op threads (0 = all cores)", same(0)},
		{"speedup", "measured (time both models, the paper's protocol) or flops (the FLOP ratio, not timed: for tiny models on shared CPUs, where timings are noise and make reports differ run to run)", same("measured")},
	},
}

// withDefaults returns keys with some defaults replaced (by name).
func withDefaults(keys []Key, defaults map[string]func(task.Task) any) []Key {
	out := make([]Key, len(keys))
	for i, k := range keys {
		if d, ok := defaults[k.Name]; ok {
			k.Default = d
		}
		out[i] = k
	}
	return out
}

// withBatch is keys with the batch size's default replaced: the authors'
// script fine-tunes the compact model at batch 64 (run_CoFi.sh:81), not the
// 32 of their README's table (SQuAD has no script: its 16 is kept).
func withBatch(keys []Key, def func(task.Task) any) []Key {
	out := append([]Key(nil), keys...)
	for i := range out {
		if out[i].Name == "batch" {
			out[i].Default = def
			out[i].Doc = "training batch size (the authors' script: 64 for the final fine-tuning, run_CoFi.sh:81; their README's table says 32)"
		}
	}
	return out
}

// perTask gives each GLUE task its own value (TinyBERT's default_params
// dictionaries), syn for the synthetic tasks and other for any other task.
func perTask(values map[string]any, syn, other any) func(task.Task) any {
	return func(t task.Task) any {
		if t.Synthetic {
			return syn
		}
		if v, ok := values[t.Name]; ok {
			return v
		}
		return other
	}
}

// tinySeqLen is TinyBERT's maximum sequence length: 64 for single-sentence
// tasks (CoLA, SST-2), 128 for pairs (the paper; task_distill.py's
// default_params say the same).
func tinySeqLen(t task.Task) any {
	switch {
	case t.Synthetic:
		return t.SeqLen
	case t.Name == "cola" || t.Name == "sst2":
		return 64
	}
	return 128
}

// tinyCommon are the keys both TinyBERT distillation steps share, with
// TinyBERT's defaults: batch 32, BertAdam's weight decay 0.01 and per-tensor
// gradient clipping at 1.0 (task_distill.py, transformer/optimization.py).
var tinyCommon = append(withDefaults(common, map[string]func(task.Task) any{
	"batch":        same(32),
	"seq_len":      tinySeqLen,
	"weight_decay": same(0.01),
}),
	Key{"optimizer", "bertadam (TinyBERT's BertAdam: no bias correction, eps 1e-6, each tensor's gradient clipped to grad_clip) or adamw (torch AdamW, eps 1e-8, global clip)", same("bertadam")},
	Key{"teacher_mode", "train (task_distill.py never calls eval() on the teacher: its targets carry dropout) or eval", same("train")},
	Key{"padding", "max_length (task_distill.py: every batch padded to seq_len, padded positions count in the losses, short last batch dropped) or longest (pad to the batch's longest, keep the last batch)", same("max_length")},
)

// tinyLayerKeys are step 1's: intermediate-layer distillation (task_distill.py without --pred_distill).
var tinyLayerKeys = append(withDefaults(tinyCommon, map[string]func(task.Task) any{
	// Step 1 never evaluates: eval_every is how often the model is saved and
	// snapshotted. task_distill.py saves every eval_step = 50 steps; the
	// output is the last model either way, so snapshots are sparser here.
	"eval_every": by(500, 500, 500, 0),
}),
	Key{"lr", "learning rate (constant: BertAdam schedule 'none' in step 1)", by(5e-5, 5e-5, 5e-5, 1e-3)},
	Key{"epochs", "epochs of step 1 (task_distill.py's default_params; see package baselines)",
		perTask(map[string]any{"cola": 50.0, "mnli": 5.0, "mrpc": 20.0, "sst2": 10.0, "stsb": 20.0, "qqp": 5.0, "qnli": 10.0, "rte": 20.0}, 8.0, 10.0)},
	Key{"layers", "student layers (tinybert4-no-gd; with GD the checkpoint's shape, which must agree)", by(4, 4, 4, 1)},
	Key{"hidden", "student hidden size", by(312, 312, 312, 32)},
	Key{"intermediate", "student FFN size", by(1200, 1200, 1200, 128)},
	Key{"heads", "student attention heads (must equal the teacher's: attention scores are matched head by head)", by(12, 12, 12, 4)},
	Key{"projection", "hidden-state projection to the teacher's width: shared (task_distill.py's one fit_dense) or per-layer (one per representation, from a v2 checkpoint's fit_denses.N when present)", same("shared")},
)

// tinyPredKeys are step 2's: prediction-layer distillation (task_distill.py --pred_distill, README command).
var tinyPredKeys = append(withDefaults(tinyCommon, map[string]func(task.Task) any{
	"eval_every": by(100, 100, 100, 0), // the README's --eval_step 100
}),
	Key{"lr", "peak learning rate (linear warm-up and decay, BertAdam warmup_linear)", by(3e-5, 3e-5, 3e-5, 1e-3)},
	Key{"epochs", "epochs of step 2", by(3.0, 3.0, 3.0, 6.0)},
	Key{"warmup_frac", "fraction of steps with linear LR warm-up", same(0.1)},
	Key{"temperature", "temperature of the soft cross-entropy", same(1.0)},
	Key{"head", "classifier head of student and teacher logits: tinybert (TinyBertForSequenceClassification: classifier(relu(pooled)), no dropout; task_distill.py loads the teacher into it too) or bert (HF's BertForSequenceClassification)", same("tinybert")},
	Key{"regression_target", "regression tasks (STS-B): gold (task_distill.py: MSE to the gold score) or teacher (MSE to the teacher's prediction)", same("gold")},
)

// augmentKeys are TinyBERT's data augmentation's (data_augmentation.py).
var augmentKeys = []Key{
	{"aug_seed", "seed of the replacement draws (data_augmentation.py leaves Python's random unseeded); shared by every seed of a grid", same(42)},
	{"copies", "N: augmented copies tried per sentence, duplicates dropped (default_params of data_augmentation.py)",
		perTask(map[string]any{"cola": 30, "mnli": 10, "mrpc": 30, "sst2": 20, "stsb": 30, "qqp": 10, "qnli": 20, "rte": 30}, 4, 30)},
	{"candidates", "M: candidates per word, the masked LM's top M (single-piece words) or the M nearest GloVe words (others)", same(15)},
	{"replace_prob", "p: probability that a word of a copy is replaced by one of its candidates", same(0.4)},
	{"glove_words", "GloVe words read for nearest-neighbour search (the file's first N)", same(100000)},
	{"pair_rows", "pair tasks: released (data_augmentation.py: text_a stays at its last augmented version while text_b is augmented) or restored (text_a back to the original)", same("released")},
	{"mlm_batch", "masked-LM queries per forward pass (a speed knob; part of the stage identity since batching changes rounding)", by(64, 64, 64, 16)},
	{"seq_len", "masked-LM input limit in tokens (data_augmentation.py: 512)", same(512)},
}

// Keys lists the hyperparameters of a stage kind, sorted by name.
func Keys(kind string) []Key {
	ks := append([]Key(nil), perKind[kind]...)
	sort.Slice(ks, func(i, j int) bool { return ks[i].Name < ks[j].Name })
	return ks
}

// Kinds lists the stage kinds that have hyperparameters.
func Kinds() []string {
	var out []string
	for k := range perKind {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Defaults returns every hyperparameter of kind with its default for task t.
func Defaults(kind string, t task.Task) record.Params {
	p := record.Params{}
	for _, k := range perKind[kind] {
		p[k.Name] = k.Default(t)
	}
	return p
}

// Resolve returns the defaults of kind for t overlaid with overrides. An
// override that names no hyperparameter of kind, or whose type does not match
// the default's, is an error naming the key.
func Resolve(kind string, t task.Task, overrides map[string]any) (record.Params, error) {
	p := Defaults(kind, t)
	if len(p) == 0 {
		return nil, fmt.Errorf("stage kind %q has no hyperparameters", kind)
	}
	var errs []string
	names := make([]string, 0, len(overrides))
	for k := range overrides {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		v := overrides[k]
		def, ok := p[k]
		if !ok {
			errs = append(errs, fmt.Sprintf("unknown hyperparameter %q for %s stages", k, kind))
			continue
		}
		cv, err := coerce(v, def)
		if err == nil {
			err = Check(k, cv)
		}
		if err != nil {
			errs = append(errs, fmt.Sprintf("hyperparameter %q: %v", k, err))
			continue
		}
		p[k] = cv
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return p, nil
}

// coerce converts v to the type of def: TOML and JSON integers become floats
// where the default is a float, and whole floats become ints where it is an int.
func coerce(v, def any) (any, error) {
	switch def.(type) {
	case float64:
		switch x := v.(type) {
		case float64:
			return x, nil
		case int:
			return float64(x), nil
		case int64:
			return float64(x), nil
		}
		return nil, fmt.Errorf("want a number, got %T %v", v, v)
	case int:
		switch x := v.(type) {
		case int:
			return x, nil
		case int64:
			return int(x), nil
		case float64:
			if x == float64(int(x)) {
				return int(x), nil
			}
			return nil, fmt.Errorf("want an integer, got %v", x)
		}
		return nil, fmt.Errorf("want an integer, got %T %v", v, v)
	case string:
		if s, ok := v.(string); ok {
			return s, nil
		}
		return nil, fmt.Errorf("want a string, got %T %v", v, v)
	case bool:
		if b, ok := v.(bool); ok {
			return b, nil
		}
		return nil, fmt.Errorf("want true or false, got %T %v", v, v)
	}
	return nil, fmt.Errorf("unsupported default type %T", def)
}

// Float reads a numeric parameter.
func Float(p record.Params, name string) float64 {
	switch x := p[name].(type) {
	case float64:
		return x
	case int:
		return float64(x)
	case int64:
		return float64(x)
	}
	panic(fmt.Sprintf("hparams: %q is %T, not a number", name, p[name]))
}

// Int reads an integer parameter.
func Int(p record.Params, name string) int {
	switch x := p[name].(type) {
	case int:
		return x
	case int64:
		return int(x)
	case float64:
		return int(x)
	}
	panic(fmt.Sprintf("hparams: %q is %T, not an integer", name, p[name]))
}

// String reads a string parameter.
func String(p record.Params, name string) string {
	s, ok := p[name].(string)
	if !ok {
		panic(fmt.Sprintf("hparams: %q is %T, not a string", name, p[name]))
	}
	return s
}
