package config

import "os"

// EnvVar is an environment variable the runner reads.
type EnvVar struct {
	Name string
	Key  string // config key it overrides, if any
	Doc  string
}

// Env lists every environment variable the runner reads, for --help texts.
var Env = []EnvVar{
	{"COFI_RESULTS", "paths.results", "results directory (holds <experiment>/)"},
	{"GLUE_DIR", "paths.glue", "GLUE data: <dir>/<TASK>/{train,dev}.tsv (original TSVs) or <dir>/<task>/<split>*.parquet (HF)"},
	{"SQUAD_DIR", "paths.squad", "SQuAD v1.1: <dir>/{train,dev}-v1.1.json or <dir>/plain_text/{train,validation}-*.parquet"},
	{"SYNTH_DIR", "paths.synthetic", "built-in synthetic tasks: <dir>/<task>/"},
	{"BERT_DIR", "paths.model", "pre-trained bert-base-uncased directory (config.json, vocab.txt, model.safetensors or pytorch_model.bin)"},
	{"TINYBERT_DIR", "paths.tinybert", "general-distilled TinyBERT for method tinybert4 (huawei-noah/TinyBERT_General_4L_312D: config.json, vocab.txt, pytorch_model.bin)"},
	{"GLOVE_PATH", "paths.glove", "GloVe vectors in the text format (TinyBERT used glove.42B.300d.txt), for data = \"augmented\""},
	{"CUDA_VISIBLE_DEVICES", "", `GPUs used when executor.gpus = "auto"; the runner sets it for each stage`},
}

// Getenv looks up an environment variable; tests substitute their own.
type Getenv func(name string) (string, bool)

// OSEnv is the process environment.
func OSEnv(name string) (string, bool) { return os.LookupEnv(name) }
