package plan

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/cofiharness/cofi/experiments/synth"
	"github.com/cofiharness/cofi/method"
	"github.com/cofiharness/cofi/runner/config"
	"github.com/cofiharness/cofi/runner/digest"
	"github.com/cofiharness/cofi/task"
)

// Missing is an input that is not where the config says it is.
type Missing struct {
	What   string   // "GLUE data for RTE"
	Looked []string // where it was looked for
	Path   config.Path
}

func (m Missing) String() string {
	set := m.Path.Key
	if m.Path.Env != "" {
		set = m.Path.Env + " or " + m.Path.Key
	}
	return fmt.Sprintf("%s: looked for %s (%s = %s, from %s); set %s", m.What, strings.Join(m.Looked, " and "),
		m.Path.Key, m.Path.Path, m.Path.Source, set)
}

// input is a located input: the directory a stage gets and its digest.
type input struct {
	dir     string // passed to the stage
	root    string // the configured root
	digest  string // "sha256:...", "builtin:NAME", "absent" or "missing"
	missing *Missing
	files   []string // data: the task's files found, relative to dir
}

// glueDirs are the original GLUE TSV directory names.
var glueDirs = map[string]string{
	"cola": "CoLA", "sst2": "SST-2", "mrpc": "MRPC", "stsb": "STS-B",
	"qqp": "QQP", "mnli": "MNLI", "qnli": "QNLI", "rte": "RTE",
}

// dataFiles returns the directory holding t's files and those files relative
// to it, or what was looked for. Only the files the task reads are listed, so
// an unrelated file in the directory does not change identities.
func dataFiles(t task.Task, p config.Paths) (dir string, files []string, root config.Path, looked []string) {
	switch {
	case t.Synthetic:
		root = p.Synthetic
		sub, err := synth.Dir(t.Name)
		if err != nil {
			sub = t.Name
		}
		dir = filepath.Join(root.Path, sub)
		looked = []string{dir + "/ (generate it with 'cofi synth --out " + root.Path + "')"}
		if fs, err := digest.TreeFiles(dir); err == nil && len(fs) > 0 {
			return dir, fs, root, looked
		}
	case t.Name == "squad":
		root = p.SQuAD
		dir = root.Path
		js := []string{"train-v1.1.json", "dev-v1.1.json"}
		looked = []string{filepath.Join(dir, "{train,dev}-v1.1.json"), filepath.Join(dir, "plain_text", "{train,validation}-*.parquet")}
		if allExist(dir, js) {
			return dir, js, root, looked
		}
		if fs, ok := globSplits(filepath.Join(dir, "plain_text"), []string{"train", "validation"}); ok {
			return filepath.Join(dir, "plain_text"), fs, root, looked
		}
	default:
		root = p.GLUE
		dev := []string{"dev.tsv"}
		splits := []string{"train", "validation"}
		if t.Name == "mnli" {
			dev = []string{"dev_matched.tsv", "dev_mismatched.tsv"}
			splits = []string{"train", "validation_matched", "validation_mismatched"}
		}
		tsv := append([]string{"train.tsv"}, dev...)
		name := glueDirs[t.Name]
		looked = []string{
			filepath.Join(root.Path, name, "{"+strings.Join(tsv, ",")+"}"),
			filepath.Join(root.Path, t.Name, "{"+strings.Join(splits, ",")+"}*.parquet"),
		}
		for _, d := range []string{name, t.Name} {
			if dir := filepath.Join(root.Path, d); allExist(dir, tsv) {
				return dir, tsv, root, looked
			}
		}
		if fs, ok := globSplits(filepath.Join(root.Path, t.Name), splits); ok {
			return filepath.Join(root.Path, t.Name), fs, root, looked
		}
	}
	return "", nil, root, looked
}

func allExist(dir string, names []string) bool {
	for _, n := range names {
		if fi, err := os.Stat(filepath.Join(dir, n)); err != nil || !fi.Mode().IsRegular() {
			return false
		}
	}
	return true
}

// globSplits finds the parquet files of each split: <dir>/<split>-*.parquet or
// <dir>/<split>/*.parquet. Every split must have at least one file. A split
// name must not swallow a longer one ("validation" vs "validation_matched").
func globSplits(dir string, splits []string) ([]string, bool) {
	var out []string
	for _, s := range splits {
		var found []string
		for _, pat := range []string{s + "-*.parquet", s + ".parquet", filepath.Join(s, "*.parquet")} {
			m, _ := filepath.Glob(filepath.Join(dir, pat))
			for _, f := range m {
				rel, err := filepath.Rel(dir, f)
				if err == nil {
					found = append(found, rel)
				}
			}
		}
		if len(found) == 0 {
			return nil, false
		}
		out = append(out, found...)
	}
	sort.Strings(out)
	return out, true
}

// modelFiles are the files of an HF model directory a loader may read.
var modelFiles = []string{"config.json", "vocab.txt", "tokenizer.json", "tokenizer_config.json", "model.safetensors", "pytorch_model.bin"}

// inputs locates and digests inputs, memoised per plan.
type inputs struct {
	cfg     *config.Config
	cache   *digest.Cache
	data    map[string]input
	models  map[string]input
	missing []Missing
}

func (in *inputs) forData(t task.Task) (input, error) {
	if v, ok := in.data[t.Name]; ok {
		return v, nil
	}
	dir, files, root, looked := dataFiles(t, in.cfg.Paths)
	v := input{dir: dir, root: root.Path}
	switch {
	case files != nil:
		d, err := in.cache.Files(dir, files)
		if err != nil {
			return input{}, fmt.Errorf("digest %s data: %w", t.Display, err)
		}
		v.digest, v.files = d, files
	case in.cfg.Fake:
		v.dir, v.digest = root.Path, "absent"
	default:
		v.digest = "missing"
		family := "GLUE"
		switch {
		case t.Synthetic:
			family = "synthetic"
		case t.Name == "squad":
			family = "SQuAD"
		}
		v.missing = &Missing{What: fmt.Sprintf("%s data for %s", family, t.Display), Looked: looked, Path: root}
		in.missing = append(in.missing, *v.missing)
	}
	in.data[t.Name] = v
	return v, nil
}

func (in *inputs) forModel(t task.Task) (input, error) {
	p := in.cfg.Paths.Model
	if t.Synthetic {
		p = in.cfg.Paths.SyntheticModel
	}
	return in.modelDir(p, "pre-trained model (bert-base-uncased)")
}

// modelDir locates and digests an HF model directory (or a builtin model).
func (in *inputs) modelDir(p config.Path, what string) (input, error) {
	if v, ok := in.models[p.Path]; ok {
		return v, nil
	}
	v := input{dir: p.Path, root: p.Path}
	if p.Builtin() {
		v.digest = p.Path
		in.models[p.Path] = v
		return v, nil
	}
	var files []string
	for _, f := range modelFiles {
		if fi, err := os.Stat(filepath.Join(p.Path, f)); err == nil && fi.Mode().IsRegular() {
			files = append(files, f)
		}
	}
	hasWeights := contains(files, "model.safetensors") || contains(files, "pytorch_model.bin")
	switch {
	case contains(files, "config.json") && hasWeights:
		d, err := in.cache.Files(p.Path, files)
		if err != nil {
			return input{}, fmt.Errorf("digest model: %w", err)
		}
		v.digest = d
	case in.cfg.Fake:
		v.digest = "absent"
	default:
		v.digest = "missing"
		v.missing = &Missing{What: what,
			Looked: []string{filepath.Join(p.Path, "config.json") + " with model.safetensors or pytorch_model.bin"}, Path: p}
		in.missing = append(in.missing, *v.missing)
	}
	in.models[p.Path] = v
	return v, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// forGloVe locates the GloVe vectors (one text file) of data augmentation.
func (in *inputs) forGloVe() (input, error) {
	p := in.cfg.Paths.GloVe
	key := "glove:" + p.Path
	if v, ok := in.models[key]; ok {
		return v, nil
	}
	v := input{dir: p.Path, root: p.Path}
	fi, err := os.Stat(p.Path)
	switch {
	case err == nil && fi.Mode().IsRegular():
		d, err := in.cache.File(p.Path)
		if err != nil {
			return input{}, fmt.Errorf("digest GloVe vectors: %w", err)
		}
		v.digest = d
	case in.cfg.Fake:
		v.digest = "absent"
	default:
		v.digest = "missing"
		v.missing = &Missing{What: "GloVe vectors for TinyBERT's data augmentation (glove.42B.300d.txt, text format)",
			Looked: []string{p.Path}, Path: p}
		in.missing = append(in.missing, *v.missing)
	}
	in.models[key] = v
	return v, nil
}

// forAugment checks that a task's data can be augmented: TinyBERT's
// augmentation rewrites the GLUE TSV train file, which the Hub's parquet
// export does not have.
func (in *inputs) forAugment(t task.Task, data input) input {
	if data.missing != nil || in.cfg.Fake || len(data.files) == 0 || strings.HasSuffix(data.files[0], ".tsv") {
		return input{}
	}
	key := "augment:" + t.Name
	if v, ok := in.data[key]; ok {
		return v
	}
	v := input{digest: "missing", missing: &Missing{What: fmt.Sprintf("GLUE TSV train file of %s for TinyBERT's data augmentation (it rewrites train.tsv; the parquet export found cannot be augmented)", t.Display),
		Looked: []string{filepath.Join(in.cfg.Paths.GLUE.Path, glueDirs[t.Name], "train.tsv")}, Path: in.cfg.Paths.GLUE}}
	in.missing = append(in.missing, *v.missing)
	in.data[key] = v
	return v
}

// forStudent locates where a TinyBERT student starts: the general-distilled
// checkpoint for methods with general distillation (its stand-in for
// synthetic tasks), "random" otherwise.
func (in *inputs) forStudent(t task.Task, m method.Method) (input, error) {
	if !m.GeneralDistilled {
		return input{dir: "random", root: "random", digest: "random"}, nil
	}
	p := in.cfg.Paths.TinyBERT
	if t.Synthetic {
		p = in.cfg.Paths.SyntheticTinyBERT
	}
	return in.modelDir(p, "general-distilled TinyBERT (huawei-noah/TinyBERT_General_4L_312D)")
}
