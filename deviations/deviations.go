// Package deviations is the one list of every way the harness's behaviour
// differs, or could differ, from the authors' released code
// (princeton-nlp/CoFiPruning at commit da855a8 unless a line says otherwise)
// and from the paper: what each does, why the harness does what it does, and
// the setting that restores the authors' behaviour. REPRODUCE.md holds the
// same table (a test keeps them equal) and `cofi deviations` prints it.
package deviations

import (
	"fmt"
	"strings"
)

// A Deviation is one behaviour compared.
type Deviation struct {
	Topic   string
	Authors string // the released code, with file:line
	Paper   string // the paper or the authors' README
	Harness string // the harness's default
	Why     string
	// Switch restores the authors' behaviour; Settings are its
	// hyperparameter settings "KIND.NAME=VALUE", checked by a test. A
	// deviation without settings says in Switch why there is none.
	Switch   string
	Settings []string
	// Default is true when the harness's default already is the authors';
	// Switch then says how to turn it off, if anything.
	Default bool
}

// Commit is the revision of the authors' code the file:line references are at.
const Commit = "da855a8"

// All lists every deviation, in the order of the protocol.
var All = []Deviation{
	{
		Topic:   "Hyperparameter selection",
		Authors: "README, Hyperparameters: fine-tuning lr {1e-5, 2e-5, 3e-5}, layer distill. α {0.9, 0.7, 0.5}, cross-entropy distill. α {0.1, 0.3, 0.5}, \"hyperparameter search is essential for small-sized datasets\"; scripts/run_CoFi.sh:49-50 pass the same two α to pruning and fine-tuning",
		Paper:   "dev-set results",
		Harness: "the reproduce configs set `sweep = \"authors\"`: 9 final stages per cell, lr × tied (α_layer, α_pred) ∈ {(0.9, 0.1), (0.7, 0.3), (0.5, 0.5)}, on one prune stage (pruning at 0.9/0.1, the README's example); the best headline metric on dev is reported, the runs table lists all",
		Why:     "the README does not say in which stage the α were searched nor that they pair up (they sum to 1); searching them in the fine-tuning shares the costly prune stage. `on = \"heldout\"` measures what selecting on dev adds",
		Switch:  "`sweep = \"authors\"` in a grid (the reproduce configs have it); a sweep tying `prune.alpha_layer, prune.alpha_pred, final.alpha_layer, final.alpha_pred` searches the α in both stages (one prune stage per pair)",
	},
	{
		Topic:    "Frozen embeddings",
		Authors:  "trainer/trainer.py:124 `freeze_keywords = [\"embeddings\"]`: word, position and token-type embeddings and their LayerNorm never enter the optimiser, in every stage the trainer runs (pruning, final fine-tuning, and the teacher: scripts/run_FT.sh uses the same trainer; the `--freeze_embeddings` flag is ignored)",
		Paper:    "not stated",
		Harness:  "the same: `freeze_embeddings = true` for teacher, prune and final (synthetic tasks: teacher and final train them, their \"pre-trained\" model being random)",
		Why:      "the authors' behaviour",
		Switch:   "`false` trains them",
		Settings: []string{"teacher.freeze_embeddings=true", "prune.freeze_embeddings=true", "final.freeze_embeddings=true"},
		Default:  true,
	},
	{
		Topic:    "Gradient clipping",
		Authors:  "trainer/trainer.py:298 `clip_grad_norm_(model.parameters(), 1.0)`: the norm includes the frozen embeddings' gradients (they are computed, not applied) and W_layer; log α and λ are not clipped",
		Paper:    "not stated",
		Harness:  "the same: `clip_frozen = true`",
		Why:      "the authors' behaviour; it makes every clipped step smaller",
		Switch:   "`false` clips only the trained parameters",
		Settings: []string{"teacher.clip_frozen=true", "prune.clip_frozen=true", "final.clip_frozen=true"},
		Default:  true,
	},
	{
		Topic:    "Final fine-tuning batch size",
		Authors:  "scripts/run_CoFi.sh:81 `batch_size=64` when fine-tuning the pruned model",
		Paper:    "README table: batch size 32 (16 for SQuAD)",
		Harness:  "64 for GLUE (what the script ran); 16 for SQuAD, which has no script",
		Why:      "the script is what produced the numbers; the README table describes the pruning stage's batch",
		Switch:   "`final.batch = 32` follows the README",
		Settings: []string{"final.batch=64"},
		Default:  true,
	},
	{
		Topic:    "Layer matching",
		Authors:  "first public script (640f9d0) scripts/run_CoFi.sh:45 `layer_distill_version=3` for every task; at da855a8 a script argument; an author (issue #53): \"We mostly used version 3 during our development and didn't test version 4 much\"",
		Paper:    "README: v4 recommended for small data sets, v3 and v4 similar for large ones",
		Harness:  "v3 (argmin over all student layers) for every task, pruning and fine-tuning (synthetic tasks: v4)",
		Why:      "the evidence is that the published numbers used v3",
		Switch:   "`prune.layer_match = v4` and `final.layer_match = v4` for the README's recommendation",
		Settings: []string{"prune.layer_match=v3", "final.layer_match=v3"},
		Default:  true,
	},
	{
		Topic:    "v4 presence test",
		Authors:  "trainer/trainer.py:604 a student layer counts as present when z_MHA ≠ 0 (an author, issue #53: a bug, it should be z_MHA ≠ 0 or z_FFN ≠ 0); :625 with no candidate left the previous index is reused (12, out of range, at the top); in fine-tuning no mask exists and every layer counts",
		Paper:    "a layer is matched only while it exists",
		Harness:  "MHA or FFN kept; a teacher layer with no candidate adds no loss; in fine-tuning, layers the fold removed entirely are not candidates",
		Why:      "the authors' stated intent; only matters with v4",
		Switch:   "`prune.layer_presence = released` (MHA only); the out-of-range index and fine-tuning's matching of removed layers have no switch (the first fails in the released code)",
		Settings: []string{"prune.layer_presence=released"},
	},
	{
		Topic:    "Pre-pruning fine-tuning",
		Authors:  "trainer/trainer.py:99 100 steps, hard-coded (the epochs option is read nowhere, :184 commented out); the first script (640f9d0) passed no option: 1 epoch for every task (args.py default)",
		Paper:    "1 epoch (large tasks), 4 (small); README the same",
		Harness:  "the paper's epochs (`prepruning_epochs`)",
		Why:      "the paper's and README's protocol; the hard-coded 100 steps is a leftover",
		Switch:   "`prune.prepruning_steps = 100` (da855a8) or `prune.prepruning_epochs = 1` (the first script)",
		Settings: []string{"prune.prepruning_steps=100"},
	},
	{
		Topic:   "Sparsity warm-up",
		Authors: "scripts/run_CoFi.sh:63,69: 20 epochs (small tasks), 2 (large); the first script (640f9d0) passed no option: 2 epochs for every task",
		Paper:   "README: 20 (small), 2 (large)",
		Harness: "the README's",
		Why:     "da855a8 and the README agree",
		Switch:  "`prune.sparsity_warmup_epochs = 2` for the first script on small tasks",
		Default: true,
	},
	{
		Topic:    "log α clamp",
		Authors:  "trainer/trainer.py:311 `constrain_parameters()` after every step from the first, pre-pruning included: masks initialised at 10 enter pruning at ln 100 with their init noise gone",
		Paper:    "not stated",
		Harness:  "the same: `clamp_from = start` (synthetic tasks: from the start of pruning)",
		Why:      "the authors' behaviour",
		Switch:   "`pruning` clamps only from the first pruning step",
		Settings: []string{"prune.clamp_from=start"},
		Default:  true,
	},
	{
		Topic:    "Sparsity ε for keeping checkpoints",
		Authors:  "args.py:39 `sparsity_epsilon` defaults to 0 and scripts/run_CoFi.sh never passes it (the README's 10th argument is read as the pruned-model path)",
		Paper:    "README: 0.01 \"to replicate our reported numbers\" at 95 %",
		Harness:  "0.01",
		Why:      "the README's instruction for the published numbers",
		Switch:   "`prune.sparsity_epsilon = 0` (the script as written)",
		Settings: []string{"prune.sparsity_epsilon=0"},
	},
	{
		Topic:    "Which pruning checkpoint is kept",
		Authors:  "trainer/trainer.py:490 once the expected sparsity has reached target − ε at an evaluation, every later evaluation may be kept, whatever its sparsity; :65 only a strictly higher score replaces the best (ties keep the earlier)",
		Paper:    "the best dev score at the target sparsity",
		Harness:  "the same on GLUE and SQuAD (`sparsity_gate = once`, `select_ties = earlier`); synthetic tasks: each kept evaluation at target − ε, ties to the later",
		Why:      "the authors' behaviour",
		Switch:   "`every` / `later` for the stricter rule",
		Settings: []string{"prune.sparsity_gate=once", "prune.select_ties=earlier"},
		Default:  true,
	},
	{
		Topic:    "select_within",
		Authors:  "absent",
		Paper:    "absent",
		Harness:  "off (0) for GLUE and SQuAD; 0.02 for the synthetic tasks, whose tiny models' compact sparsity can overshoot the expected one",
		Why:      "a harness addition for the synthetic profile",
		Switch:   "`0` everywhere",
		Settings: []string{"prune.select_within=0"},
		Default:  true,
	},
	{
		Topic:    "Evaluation before training",
		Authors:  "trainer/trainer.py:250 evaluates before the first step; the teacher and the final fine-tuning keep checkpoints from the start (:106), so the starting model can be the one kept",
		Paper:    "not stated",
		Harness:  "the same: `eval_at_start = true` for teacher and final (synthetic tasks: off)",
		Why:      "the authors' behaviour; at high sparsity the fine-tuning may not beat the folded model",
		Switch:   "",
		Settings: []string{"teacher.eval_at_start=true", "final.eval_at_start=true"},
		Default:  true,
	},
	{
		Topic:    "Evaluation after the last step",
		Authors:  "trainer/trainer.py:354 only every eval_steps",
		Paper:    "not stated",
		Harness:  "also after the last step when it is not a multiple of eval_every",
		Why:      "the end of training is a candidate like any other",
		Switch:   "`eval_at_end = false`",
		Settings: []string{"teacher.eval_at_end=false", "prune.eval_at_end=false", "final.eval_at_end=false"},
	},
	{
		Topic:   "Optimiser reset in the final fine-tuning",
		Authors: "trainer/trainer.py:270 resets the optimiser at step 100 even when fine-tuning (no masks), then calls the absent l0 module and fails (issues #33, #59); the first version (640f9d0) set 0 steps there, no reset",
		Paper:   "not stated",
		Harness: "no reset: one optimiser for the whole fine-tuning",
		Why:     "the first version's behaviour; the released one crashes",
		Switch:  "none: the released behaviour does not run",
	},
	{
		Topic:    "Folding the masks",
		Authors:  "utils/cofi_utils.py:50 `update_params`: head values into W_V, unit values into W_D, layer values into W_O and W_D with their biases, z_hidn into embeddings, reader columns and writer rows; LayerNorms and W_D's bias untouched by z_hidn, so the compact model differs from the masked one where kept values are below 1",
		Paper:    "the pruned model is the masked one",
		Harness:  "an exact fold (`fold = exact`): the compact model computes what the masked one did (tested)",
		Why:      "the selected masked model is what should be fine-tuned",
		Switch:   "`prune.fold = released`",
		Settings: []string{"prune.fold=released"},
	},
	{
		Topic:    "Fully masked sublayer",
		Authors:  "models/modeling_bert.py:539, :565 skip a sublayer only when its output is all zero: with every head (or unit) masked but its layer mask not, the output bias still passes the residual LayerNorm; the pruned model drops the sublayer",
		Paper:    "not stated",
		Harness:  "skipped in the masked model too (`empty_sublayer = skip`), so masked and pruned models agree",
		Why:      "the pruned model is what is kept; training should see it",
		Switch:   "`prune.empty_sublayer = bias`",
		Settings: []string{"prune.empty_sublayer=bias"},
	},
	{
		Topic:    "z_int initialisation",
		Authors:  "models/l0_module.py:163 log α of z_int at log((1 − 0.5)/0.5) = 0 (droprate_init 0.5); the other masks at 10",
		Paper:    "all masks alike (an author: \"mostly a typo\")",
		Harness:  "the released code's (`zint_init = released`)",
		Why:      "the published numbers came from it",
		Switch:   "`paper` for mean 10",
		Settings: []string{"prune.zint_init=released"},
		Default:  true,
	},
	{
		Topic:    "Rounding of zeros in deterministic masks",
		Authors:  "Python `round`: half to even",
		Paper:    "not stated",
		Harness:  "the same (`round = half-even`)",
		Why:      "the authors' behaviour",
		Switch:   "",
		Settings: []string{"prune.round=half-even"},
		Default:  true,
	},
	{
		Topic:   "MNLI and STS-B checkpoints",
		Authors: "trainer/trainer.py:37-49, :512 select on `mnli/acc` and `corr`, keys the metric never returns (`accuracy`; `pearson`, `spearmanr`): the score is 0, no best checkpoint is ever saved, and the fine-tuning reads a best/ that does not exist",
		Paper:   "MNLI matched accuracy; STS-B correlation",
		Harness: "selects on mnli-m/acc and stsb/spearman; records hold stsb/pearson and stsb/corr (their mean, the authors' intended metric) too; tables report Spearman",
		Why:     "the released behaviour produces no model",
		Switch:  "none; a sweep can select on `metric = \"corr\"`",
	},
	{
		Topic:    "STS-B prediction distillation",
		Authors:  "trainer/trainer.py:647 KL between softmaxes over STS-B's one logit: identically zero",
		Paper:    "prediction distillation on every task",
		Harness:  "MSE between the logits (`regression_distill = mse`)",
		Why:      "a fix: the released loss gives no signal",
		Switch:   "`prune.regression_distill = kl`, `final.regression_distill = kl`",
		Settings: []string{"prune.regression_distill=kl", "final.regression_distill=kl"},
	},
	{
		Topic:   "MNLI label order",
		Authors: "labels in the Hugging Face datasets order (entailment, neutral, contradiction); the GLUE TSVs name labels, which old scripts numbered differently",
		Paper:   "-",
		Harness: "Hub order for training; each data source's names mapped explicitly; a checkpoint's own id2label honoured",
		Why:     "the same order as the authors, whatever the source",
		Switch:  "none needed: the order is the authors'",
		Default: true,
	},
	{
		Topic:   "Seed",
		Authors: "scripts/run_CoFi.sh:37 seed 57 (the first script, 640f9d0, set 9 after it)",
		Paper:   "not stated",
		Harness: "57; Table 6 adds 58 and 59 (the paper names no seeds for its three runs)",
		Why:     "da855a8's script",
		Switch:  "`seeds = [9]` in a grid for the first script",
		Default: true,
	},
	{
		Topic:   "SQuAD",
		Authors: "run_qa_prune.py / trainer/trainer_qa.py: the training path does not run, and seconds per example count every batch twice",
		Paper:   "SQuAD v1.1, the 92.4 % model in Tables 2, 4, 5 and Figure 2",
		Harness: "the GLUE protocol with the README's SQuAD column (batch 16, pruning lr 3e-5, seq 384, stride 128); final fine-tuning works; the 95 % cells are at 92.4 %",
		Why:     "there is no working released path to follow",
		Switch:  "none: the released behaviour does not run",
	},
	{
		Topic:   "Speed stage",
		Authors: "evaluation.py times the final model",
		Paper:   "V100, batch 128, the dev set, first round discarded",
		Harness: "times the prune stage's compact model, once per cell for every sweep setting, against BERT-base in the same run",
		Why:     "the final fine-tuning changes weights, not shapes: the latency is the same",
		Switch:  "none needed: the timed architecture is the final model's",
		Default: true,
	},
}

// Markdown renders the table as REPRODUCE.md holds it.
func Markdown() string {
	var b strings.Builder
	b.WriteString("| # | topic | authors' code (" + Commit + ") | paper / README | harness default | why | switch |\n")
	b.WriteString("|---|---|---|---|---|---|---|\n")
	cell := func(s string) string { return strings.ReplaceAll(s, "|", "\\|") }
	for i, d := range All {
		sw := d.Switch
		if d.Default {
			sw = strings.TrimSuffix("**the default**; "+sw, "; ")
		}
		fmt.Fprintf(&b, "| %d | %s | %s | %s | %s | %s | %s |\n", i+1, cell(d.Topic), cell(d.Authors), cell(d.Paper), cell(d.Harness), cell(d.Why), cell(sw))
	}
	return b.String()
}

// Text renders the list for a terminal.
func Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Every behaviour compared with the authors' code (princeton-nlp/CoFiPruning at %s) and the paper.\n", Commit)
	b.WriteString("Settings are hyperparameters: --set KIND.NAME=VALUE on `cofi prune`, or [profiles.NAME.KIND] in a config.\n")
	for i, d := range All {
		fmt.Fprintf(&b, "\n%2d. %s\n", i+1, d.Topic)
		for _, l := range []struct{ k, v string }{{"authors", d.Authors}, {"paper", d.Paper}, {"harness", d.Harness}, {"why", d.Why}, {"switch", d.Switch}} {
			fmt.Fprintf(&b, "    %-8s %s\n", l.k+":", l.v)
		}
		if d.Default {
			b.WriteString("    (the harness's default is the authors' behaviour)\n")
		}
	}
	return b.String()
}
