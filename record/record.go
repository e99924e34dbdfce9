// Package record defines the run records that flow from execution to reports:
// Result, written by a stage process into its stage directory, and Record, the
// runner's envelope around one stage attempt, appended to a per-experiment
// JSONL file. Reports read only records; they never need the trainer.
//
// Units: scores in Metrics are in the paper's units (percent for accuracy, F1,
// EM, Matthews and correlations ×100); sparsities are fractions in [0, 1];
// times are seconds unless the field name says ms.
package record

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/cofiharness/cofi/internal/atomicfile"
)

// SchemaVersion is bumped on any incompatible change to Result or Record.
const SchemaVersion = 1

// Stage kinds.
const (
	KindTeacher = "teacher" // fine-tune the unpruned model on the task
	KindPrune   = "prune"   // CoFi: pre-finetune + pruning with masks, fold, compact model
	KindFinal   = "final"   // final fine-tune of the compact model (with distillation)
	KindSpeed   = "speed"   // latency of the compact model vs the unpruned one, same run
	KindEval    = "eval"    // evaluate a checkpoint
	// TinyBERT (package baselines): task data augmentation, then the two
	// steps of task distillation, intermediate layers then predictions.
	KindAugment       = "augment"        // TinyBERT's data augmentation: an augmented train file, shared by every run using it
	KindTinyBERTLayer = "tinybert-layer" // step 1: embedding, hidden-state and attention-score distillation
	KindTinyBERTPred  = "tinybert-pred"  // step 2: prediction-layer distillation
	KindFake          = "fake"           // test-only stage used by the runner's tests
)

// StageKinds are the kinds a plan can hold (KindEval and KindFake excluded),
// in pipeline order.
var StageKinds = []string{KindTeacher, KindAugment, KindPrune, KindFinal, KindTinyBERTLayer, KindTinyBERTPred, KindSpeed}

// Result is what a stage writes as result.json in its stage directory. Every
// field but Schema and Kind is optional: a teacher has no Latency, a speed
// stage no Metrics.
type Result struct {
	Schema    int                `json:"schema"`
	Kind      string             `json:"kind"`
	Task      string             `json:"task,omitempty"`
	Metrics   map[string]float64 `json:"metrics,omitempty"` // "<evalset>/<metric>", e.g. "mnli-m/acc": 80.6
	Size      *Size              `json:"size,omitempty"`
	Structure *Structure         `json:"structure,omitempty"`
	Latency   *Latency           `json:"latency,omitempty"`
	Train     *Train             `json:"train,omitempty"`
	Model     string             `json:"model,omitempty"` // checkpoint directory produced, relative to the stage directory
	Notes     []string           `json:"notes,omitempty"` // human-readable remarks (e.g. "classifier initialised N(0,0.02)")
	// DataIssues are the rows the data readers dropped or kept with a defect.
	DataIssues []DataIssues `json:"data_issues,omitempty"`

	// Evaluated is, for an eval, the checkpoint directory evaluated as given
	// ("models/CoFi-MNLI-s95"): the released-models table matches on its name.
	Evaluated string `json:"evaluated,omitempty"`
}

// Size is the model size counted as the paper does: encoder weights, biases
// and LayerNorms; embeddings, pooler, classifier and distillation layers excluded.
type Size struct {
	Params           int64   `json:"params"`                      // remaining encoder parameters
	FullParams       int64   `json:"full_params"`                 // the unpruned model's count (85,054,464 for BERT-base)
	Sparsity         float64 `json:"sparsity"`                    // 1 - Params/FullParams
	TargetSparsity   float64 `json:"target_sparsity,omitempty"`   // what the run aimed for
	ExpectedSparsity float64 `json:"expected_sparsity,omitempty"` // the L0 estimate at the end of pruning
}

// Structure is what remains of the encoder, per layer (index 0 = layer 1).
type Structure struct {
	Layers       int    `json:"layers"`
	Hidden       int    `json:"hidden"`      // hidden dims kept
	HiddenFull   int    `json:"hidden_full"` // hidden dims of the unpruned model
	HeadsFull    int    `json:"heads_full"`
	InterFull    int    `json:"intermediate_full"`
	Heads        []int  `json:"heads"`        // heads kept per layer (0 when the MHA sublayer is gone)
	Intermediate []int  `json:"intermediate"` // FFN units kept per layer (0 when the FFN sublayer is gone)
	MHA          []bool `json:"mha"`          // MHA sublayer kept per layer
	FFN          []bool `json:"ffn"`          // FFN sublayer kept per layer
}

// Latency holds raw timings of the paper's protocol: forward only, padded
// inputs, device synchronised, the warm-up round discarded.
type Latency struct {
	Device           string    `json:"device"`  // e.g. "cpu: AMD EPYC 7B13 (2 threads)" or "cuda: NVIDIA H100 80GB HBM3"
	Threads          int       `json:"threads"` // intra-op threads on CPU
	Batch            int       `json:"batch"`
	SeqLen           int       `json:"seq_len"`
	Batches          int       `json:"batches"`            // batches per round
	RoundsMS         []float64 `json:"rounds_ms"`          // per-round time of the measured model, warm-up excluded
	BaselineRoundsMS []float64 `json:"baseline_rounds_ms"` // the unpruned model in the same run, warm-up excluded
	WarmupMS         float64   `json:"warmup_ms"`          // the discarded first round of the measured model
	MeanMS           float64   `json:"mean_ms"`
	BaselineMeanMS   float64   `json:"baseline_mean_ms"`
	Speedup          float64   `json:"speedup"` // BaselineMeanMS / MeanMS, or the FLOP ratio
	// Method is how Speedup was obtained: "" (timed, the paper's protocol) or
	// LatencyFLOPs (the ratio of forward-pass FLOPs, nothing timed).
	Method string `json:"method,omitempty"`
}

// LatencyFLOPs marks a speedup computed as a FLOP ratio instead of timed.
const LatencyFLOPs = "flops"

// Train summarises a training stage.
type Train struct {
	Steps          int     `json:"steps"`
	Epochs         float64 `json:"epochs"`
	Seconds        float64 `json:"seconds"`
	BestStep       int     `json:"best_step,omitempty"`
	BestMetric     string  `json:"best_metric,omitempty"`  // key in Metrics used for model selection
	ResumedFrom    int     `json:"resumed_from,omitempty"` // step of the last snapshot a run continued from
	Resumes        int     `json:"resumes,omitempty"`      // how many times the stage continued from a snapshot
	Seed           int64   `json:"seed"`
	Threads        int     `json:"threads"`
	Device         string  `json:"device"`
	SecondsPerStep float64 `json:"seconds_per_step,omitempty"`
}

// DataIssues counts the rows of one split that a reader dropped, or kept
// with a defect, with the first few for a reader to check.
type DataIssues struct {
	Split string   `json:"split"`
	Kind  string   `json:"kind"` // "malformed-row" (dropped) or "answer-mismatch" (kept)
	Count int      `json:"count"`
	Of    int      `json:"of"`    // rows (or answers) in the split
	First []string `json:"first"` // "file:line: reason", at most 5
}

// SetResumed records that the stage continued from a snapshot n times, the
// last time at step from (n = 0: it ran straight through).
func (t *Train) SetResumed(from, n int) {
	if n > 0 {
		t.ResumedFrom, t.Resumes = from, n
	}
}

// Status of one stage attempt.
type Status string

const (
	StatusOK     Status = "ok"
	StatusFailed Status = "failed"
)

// Failure classes.
const (
	FailExit         = "exit"          // non-zero exit status
	FailSignal       = "signal"        // killed by a signal
	FailOOM          = "oom"           // out of memory (host or device)
	FailNaN          = "nan"           // loss became NaN/Inf
	FailTimeout      = "timeout"       // exceeded its time limit
	FailMissingInput = "missing-input" // data, model or upstream output absent
	FailBadInput     = "bad-input"     // data or model present but corrupt or unreadable
	FailInterrupted  = "interrupted"   // stopped by the user (Ctrl-C)
)

// Failure describes why an attempt failed.
type Failure struct {
	Class    string `json:"class"`
	Message  string `json:"message"`
	ExitCode int    `json:"exit_code,omitempty"`
	Signal   string `json:"signal,omitempty"`
}

// Provenance is where and with what a record was produced.
type Provenance struct {
	GitCommit   string   `json:"git_commit"`
	GitDirty    bool     `json:"git_dirty"`
	DiffHash    string   `json:"diff_hash,omitempty"`
	GoVersion   string   `json:"go_version"`
	Gotch       string   `json:"gotch,omitempty"`
	Libtorch    string   `json:"libtorch,omitempty"`
	CUDA        string   `json:"cuda,omitempty"`
	Device      string   `json:"device,omitempty"`
	Threads     int      `json:"threads,omitempty"`
	Host        string   `json:"host"`
	Command     []string `json:"command,omitempty"`
	SchedulerID string   `json:"scheduler_id,omitempty"` // e.g. Slurm "<array job>_<task>"
	Job         *Job     `json:"job,omitempty"`          // the cluster job the attempt ran in
}

// Job is the cluster job of an attempt (Slurm: one task of a job array).
type Job struct {
	Scheduler string `json:"scheduler"`            // "slurm"
	ID        string `json:"id"`                   // "<array job>_<task>", or the job id outside an array
	JobID     string `json:"job_id"`               // the task's own job id (SLURM_JOB_ID)
	ArrayJob  string `json:"array_job,omitempty"`  // SLURM_ARRAY_JOB_ID
	ArrayTask *int   `json:"array_task,omitempty"` // SLURM_ARRAY_TASK_ID
	Node      string `json:"node"`                 // SLURMD_NODENAME
	GPUs      string `json:"gpus,omitempty"`       // SLURM_JOB_GPUS, else CUDA_VISIBLE_DEVICES
	Partition string `json:"partition,omitempty"`
	Restarts  int    `json:"restarts,omitempty"` // SLURM_RESTART_COUNT: how often the job was requeued
}

// Record is the runner's envelope around one stage attempt: one JSON line in
// <experiment>/records.jsonl.
type Record struct {
	Schema     int      `json:"schema"`
	Experiment string   `json:"experiment"`
	Stage      string   `json:"stage"`      // stage id: hash of its fully resolved inputs
	StageKind  string   `json:"stage_kind"` // one of the Kind* constants
	Cells      []string `json:"cells"`      // ids of the cells that use this stage
	Attempt    int      `json:"attempt"`    // 1-based
	Status     Status   `json:"status"`
	Failure    *Failure `json:"failure,omitempty"`
	Task       string   `json:"task"`
	Method     string   `json:"method"`             // method name (package method)
	Sparsity   float64  `json:"sparsity,omitempty"` // target sparsity of the cell (0 for a teacher)
	Seed       int64    `json:"seed"`
	// Data is the cell's training data when it is not the task's own train
	// split: "augmented" (TinyBERT's data augmentation); "" = original.
	Data       string     `json:"data,omitempty"`
	Params     Params     `json:"params,omitempty"` // every resolved hyperparameter of the stage
	Sweep      *Sweep     `json:"sweep,omitempty"`  // the sweep setting this stage belongs to, when it depends on one
	Result     *Result    `json:"result,omitempty"` // the stage's result.json when it succeeded
	Provenance Provenance `json:"provenance"`
	Start      time.Time  `json:"start"`
	End        time.Time  `json:"end"`
	Wall       float64    `json:"wall_s"`
	Dir        string     `json:"dir"` // stage directory relative to the experiment directory
	Log        string     `json:"log"` // log file relative to the experiment directory
}

// Sweep places a stage in a hyperparameter sweep: the stage depends on one
// setting of a selection group (one cell's candidates), of which reports show
// the one Select picks by Metric and list the others.
type Sweep struct {
	Group   string         `json:"group"`   // id of the selection group (the cell without the swept values)
	Name    string         `json:"name"`    // the sweep's name in the config ("authors")
	Index   int            `json:"index"`   // this setting, 0-based, in the sweep's order
	Size    int            `json:"size"`    // settings in the group
	Setting map[string]any `json:"setting"` // swept "KIND.NAME" -> value
	Select  string         `json:"select"`  // rule: "best" (highest Metric; ties: lowest Index)
	Metric  string         `json:"metric"`  // metric key selected on, e.g. "rte/acc" or "heldout/acc"
	On      string         `json:"on"`      // "dev" or "heldout"
}

// Params are resolved hyperparameters; values are JSON scalars.
type Params map[string]any

// ResultFile is the name of a stage's result inside its directory.
const ResultFile = "result.json"

// WriteResult writes r atomically as dir/result.json.
func WriteResult(dir string, r *Result) error {
	if r.Schema == 0 {
		r.Schema = SchemaVersion
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encode result: %w", err)
	}
	return atomicfile.Write(filepath.Join(dir, ResultFile), append(b, '\n'), 0o644)
}

// ReadResult reads dir/result.json.
func ReadResult(dir string) (*Result, error) {
	p := filepath.Join(dir, ResultFile)
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	var r Result
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	if r.Schema != SchemaVersion {
		return nil, fmt.Errorf("read %s: schema %d, this build reads %d", p, r.Schema, SchemaVersion)
	}
	return &r, nil
}

// Headline returns the value of metric key in r, and whether it is present.
func (r *Result) Metric(key string) (float64, bool) {
	if r == nil || r.Metrics == nil {
		return 0, false
	}
	v, ok := r.Metrics[key]
	return v, ok
}
