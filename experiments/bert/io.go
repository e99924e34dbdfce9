//go:build torch

package bert

import (
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/cofiharness/cofi/experiments/checkpoint"
	"github.com/cofiharness/cofi/experiments/tokenize"
	"github.com/cofiharness/cofi/experiments/torch"
	"github.com/cofiharness/cofi/internal/atomicfile"
	"github.com/cofiharness/cofi/task"
)

// Head says which task head a model needs.
type Head struct {
	Kind      task.Kind
	NumLabels int
	Labels    []string // label names by id, recorded in config.json (classification)
}

// HeadFor returns the head of task t with its canonical label names.
func HeadFor(t task.Task, labels []string) Head {
	return Head{Kind: t.Kind, NumLabels: t.NumLabels, Labels: labels}
}

// New builds a randomly initialised model of configuration c (weights
// N(0, initializer_range), biases 0, LayerNorms 1/0), as BERT initialises;
// c.QKVInit may ask for Xavier-uniform attention projections (tiny models).
func New(c checkpoint.Config, head Head, dev torch.Device) *Model {
	m := &Model{Config: c, Kind: head.Kind, NumLabels: head.NumLabels, Labels: head.Labels,
		Hidden: c.HiddenSize, HeadDim: c.HiddenSize / c.NumAttentionHeads, Device: dev}
	std := c.InitializerRange
	if std == 0 {
		std = 0.02
	}
	d := int64(c.HiddenSize)
	randn := func(shape ...int64) *torch.Tensor {
		t := torch.Zeros(shape, torch.Float32, dev)
		t.Normal_(0, std)
		return t
	}
	zeros := func(n int64) *torch.Tensor { return torch.Zeros([]int64{n}, torch.Float32, dev) }
	lin := func(out, in int64) *Linear { return &Linear{W: randn(out, in), B: zeros(out)} }
	qkv := lin
	if c.QKVInit == "xavier_uniform" {
		// As PyTorch's nn.MultiheadAttention: one [3h, d] in-projection, Xavier-uniform.
		qkv = func(out, in int64) *Linear {
			w := torch.Zeros([]int64{out, in}, torch.Float32, dev)
			b := math.Sqrt(6 / float64(in+3*out))
			w.Uniform_(-b, b)
			return &Linear{W: w, B: zeros(out)}
		}
	}
	ln := func(n int64) *LayerNorm {
		return &LayerNorm{W: torch.Ones([]int64{n}, torch.Float32, dev), B: zeros(n)}
	}
	m.Word, m.Pos, m.Type = randn(int64(c.VocabSize), d), randn(int64(c.MaxPositions), d), randn(int64(c.TypeVocabSize), d)
	m.EmbLN = ln(d)
	for i := 0; i < c.NumHiddenLayers; i++ {
		h, f := int64(c.NumAttentionHeads*m.HeadDim), int64(c.IntermediateSize)
		m.Layers = append(m.Layers, &Layer{
			Heads: c.NumAttentionHeads, Q: qkv(h, d), K: qkv(h, d), V: qkv(h, d), O: lin(d, h), AttnLN: ln(d),
			Inter: c.IntermediateSize, Up: lin(f, d), Down: lin(d, f), OutLN: ln(d),
		})
	}
	m.initHead(lin, d)
	return m
}

func (m *Model) initHead(lin func(out, in int64) *Linear, d int64) {
	if m.Kind == task.Span {
		m.Classifier = lin(2, d)
		return
	}
	m.Pooler = lin(d, d)
	m.Classifier = lin(int64(m.NumLabels), d)
}

// LoadOptions control Load.
type LoadOptions struct {
	Head   Head
	Device torch.Device
	Log    io.Writer // where notes go (e.g. "classifier initialised"); nil = discard
}

// Loaded describes what Load found.
type Loaded struct {
	WeightsFile string
	Notes       []string // e.g. heads initialised, tensors ignored
}

var layerRe = regexp.MustCompile(`^bert\.encoder\.layer\.(\d+)\.(.+)$`)

// normaliseNames maps a checkpoint's tensor names to this package's: adds the
// "bert." prefix that bare BertModel saves lack, renames the original
// TensorFlow-era LayerNorm gamma/beta, and drops tensors that are not part of
// a fine-tuning model (pre-training heads, position_ids, CoFi's distillation
// layer, TinyBERT's fit_dense / fit_denses.N projections).
func normaliseNames(in map[string]checkpoint.Raw) (map[string]checkpoint.Raw, []string) {
	out := map[string]checkpoint.Raw{}
	var dropped []string
	for name, r := range in {
		n := name
		switch {
		case strings.HasPrefix(n, "cls."), strings.HasSuffix(n, "position_ids"), strings.HasPrefix(n, "layer_transformation."),
			strings.HasPrefix(n, "fit_dense."), strings.HasPrefix(n, "fit_denses."):
			dropped = append(dropped, name)
			continue
		case strings.HasPrefix(n, "embeddings."), strings.HasPrefix(n, "encoder."), strings.HasPrefix(n, "pooler."):
			n = "bert." + n
		}
		n = strings.Replace(n, "LayerNorm.gamma", "LayerNorm.weight", 1)
		n = strings.Replace(n, "LayerNorm.beta", "LayerNorm.bias", 1)
		out[n] = r
	}
	sort.Strings(dropped)
	return out, dropped
}

// Load reads an HF model directory. The structure (layers, heads and FFN
// units per layer, hidden dims) comes from the tensor shapes, so compact
// models pruned by CoFi (ours or the authors' released ones) load as well as
// full ones. A missing task head is initialised N(0, 0.02) with a note;
// tensors that do not belong, or whose shapes do not fit, are errors.
func Load(dir string, o LoadOptions) (*Model, *Loaded, error) {
	cfg, err := checkpoint.ReadConfig(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("load %s: %w", dir, err)
	}
	wf, err := checkpoint.FindWeights(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("load %s: %w", dir, err)
	}
	var raw map[string]checkpoint.Raw
	if strings.HasSuffix(wf, ".safetensors") {
		raw, _, err = checkpoint.ReadSafetensors(wf)
	} else {
		raw, err = checkpoint.ReadPickle(wf)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("load %s: %w", dir, err)
	}
	tensors, dropped := normaliseNames(raw)
	info := &Loaded{WeightsFile: wf}
	if len(dropped) > 0 {
		info.Notes = append(info.Notes, fmt.Sprintf("ignored %d tensors not used for fine-tuning (%s)", len(dropped), summarise(dropped)))
	}
	m, notes, err := build(cfg, tensors, o)
	if err != nil {
		return nil, nil, fmt.Errorf("load %s (%s): %w", dir, filepath.Base(wf), err)
	}
	info.Notes = append(info.Notes, notes...)
	if o.Log != nil {
		for _, n := range info.Notes {
			fmt.Fprintf(o.Log, "load %s: %s\n", dir, n)
		}
	}
	return m, info, nil
}

func summarise(names []string) string {
	prefixes := map[string]int{}
	for _, n := range names {
		p := n
		if i := strings.Index(n, "."); i > 0 {
			p = n[:i] + ".*"
		}
		prefixes[p]++
	}
	var parts []string
	for p, c := range prefixes {
		parts = append(parts, fmt.Sprintf("%s ×%d", p, c))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

// build assembles a model from normalised tensors, checking every shape.
func build(cfg checkpoint.Config, t map[string]checkpoint.Raw, o LoadOptions) (*Model, []string, error) {
	var notes []string
	used := map[string]bool{}
	dev := o.Device
	get := func(name string, shape ...int64) (*torch.Tensor, error) {
		r, ok := t[name]
		if !ok {
			return nil, fmt.Errorf("missing tensor %s", name)
		}
		if !sameShape(r.Shape, shape) {
			return nil, fmt.Errorf("tensor %s has shape %v, want %v", name, r.Shape, shape)
		}
		used[name] = true
		v, err := r.Float32()
		if err != nil {
			return nil, fmt.Errorf("tensor %s: %w", name, err)
		}
		return torch.FromFloat32(v, shape, dev), nil
	}
	word, ok := t["bert.embeddings.word_embeddings.weight"]
	if !ok || len(word.Shape) != 2 {
		return nil, nil, fmt.Errorf("missing or malformed bert.embeddings.word_embeddings.weight")
	}
	hidden := word.Shape[1]
	headDim := cfg.HiddenSize / cfg.NumAttentionHeads
	m := &Model{Config: cfg, Kind: o.Head.Kind, NumLabels: o.Head.NumLabels, Labels: o.Head.Labels,
		Hidden: int(hidden), HeadDim: headDim, Device: dev}
	if l := cfg.Labels(); l != nil && m.Kind == task.Classification {
		m.Labels = l
	}
	var err error
	fail := func(e error) (*Model, []string, error) {
		for _, p := range m.partialParams() {
			p.Free()
		}
		return nil, nil, e
	}
	if m.Word, err = get("bert.embeddings.word_embeddings.weight", int64(cfg.VocabSize), hidden); err != nil {
		return fail(err)
	}
	if m.Pos, err = get("bert.embeddings.position_embeddings.weight", int64(cfg.MaxPositions), hidden); err != nil {
		return fail(err)
	}
	if m.Type, err = get("bert.embeddings.token_type_embeddings.weight", int64(cfg.TypeVocabSize), hidden); err != nil {
		return fail(err)
	}
	ln := func(prefix string) (*LayerNorm, error) {
		w, err := get(prefix+".weight", hidden)
		if err != nil {
			return nil, err
		}
		b, err := get(prefix+".bias", hidden)
		if err != nil {
			w.Free()
			return nil, err
		}
		return &LayerNorm{w, b}, nil
	}
	lin := func(prefix string, out, in int64) (*Linear, error) {
		w, err := get(prefix+".weight", out, in)
		if err != nil {
			return nil, err
		}
		b, err := get(prefix+".bias", out)
		if err != nil {
			w.Free()
			return nil, err
		}
		return &Linear{w, b}, nil
	}
	if m.EmbLN, err = ln("bert.embeddings.LayerNorm"); err != nil {
		return fail(err)
	}
	for i := 0; i < cfg.NumHiddenLayers; i++ {
		p := fmt.Sprintf("bert.encoder.layer.%d.", i)
		l := &Layer{}
		m.Layers = append(m.Layers, l)
		if q, ok := t[p+"attention.self.query.weight"]; ok {
			if len(q.Shape) != 2 || q.Shape[0]%int64(headDim) != 0 || q.Shape[0] == 0 {
				return fail(fmt.Errorf("%sattention.self.query.weight has shape %v: rows must be a positive multiple of the head size %d", p, q.Shape, headDim))
			}
			h := q.Shape[0]
			l.Heads = int(h) / headDim
			for _, x := range []struct {
				dst     **Linear
				name    string
				out, in int64
			}{{&l.Q, "attention.self.query", h, hidden}, {&l.K, "attention.self.key", h, hidden},
				{&l.V, "attention.self.value", h, hidden}, {&l.O, "attention.output.dense", hidden, h}} {
				if *x.dst, err = lin(p+x.name, x.out, x.in); err != nil {
					return fail(err)
				}
			}
			if l.AttnLN, err = ln(p + "attention.output.LayerNorm"); err != nil {
				return fail(err)
			}
		} else {
			for _, n := range []string{"attention.self.key.weight", "attention.self.value.weight", "attention.output.dense.weight"} {
				if _, ok := t[p+n]; ok {
					return fail(fmt.Errorf("layer %d has %s%s but no query: a partially removed attention sublayer", i, p, n))
				}
			}
			// Released CoFi checkpoints keep the LayerNorm of a removed sublayer; it is unused.
			markUnused(t, used, p+"attention.output.LayerNorm.")
		}
		if u, ok := t[p+"intermediate.dense.weight"]; ok {
			if len(u.Shape) != 2 || u.Shape[0] == 0 {
				return fail(fmt.Errorf("%sintermediate.dense.weight has shape %v", p, u.Shape))
			}
			f := u.Shape[0]
			l.Inter = int(f)
			if l.Up, err = lin(p+"intermediate.dense", f, hidden); err != nil {
				return fail(err)
			}
			if l.Down, err = lin(p+"output.dense", hidden, f); err != nil {
				return fail(err)
			}
			if l.OutLN, err = ln(p + "output.LayerNorm"); err != nil {
				return fail(err)
			}
		} else {
			if _, ok := t[p+"output.dense.weight"]; ok {
				return fail(fmt.Errorf("layer %d has %soutput.dense.weight but no intermediate.dense: a partially removed FFN", i, p))
			}
			markUnused(t, used, p+"output.LayerNorm.")
		}
	}
	init := func(what string, out, in int64) *Linear {
		notes = append(notes, fmt.Sprintf("%s not in the checkpoint: initialised N(0, 0.02), bias 0", what))
		w := torch.Zeros([]int64{out, in}, torch.Float32, dev)
		w.Normal_(0, 0.02)
		return &Linear{W: w, B: torch.Zeros([]int64{out}, torch.Float32, dev)}
	}
	if m.Kind == task.Span {
		markUnused(t, used, "bert.pooler.")
		if _, ok := t["qa_outputs.weight"]; ok {
			if m.Classifier, err = lin("qa_outputs", 2, hidden); err != nil {
				return fail(err)
			}
		} else {
			m.Classifier = init("qa_outputs (span head)", 2, hidden)
		}
		if _, ok := t["classifier.weight"]; ok {
			markUnused(t, used, "classifier.")
			notes = append(notes, "ignored the checkpoint's sequence-classification head: this task needs a span head")
		}
	} else {
		pw, ok := t["bert.pooler.dense.weight"]
		if ok {
			if len(pw.Shape) != 2 {
				return fail(fmt.Errorf("bert.pooler.dense.weight has shape %v", pw.Shape))
			}
			if m.Pooler, err = lin("bert.pooler.dense", pw.Shape[0], hidden); err != nil {
				return fail(err)
			}
		} else {
			m.Pooler = init("bert.pooler", hidden, hidden)
			pw.Shape = []int64{hidden, hidden}
		}
		if c, ok := t["classifier.weight"]; ok {
			if len(c.Shape) == 2 && c.Shape[0] != int64(m.NumLabels) {
				return fail(fmt.Errorf("classifier has %d outputs but task needs %d: the checkpoint was fine-tuned on another task", c.Shape[0], m.NumLabels))
			}
			if m.Classifier, err = lin("classifier", int64(m.NumLabels), pw.Shape[0]); err != nil {
				return fail(err)
			}
		} else {
			m.Classifier = init("classifier", int64(m.NumLabels), pw.Shape[0])
		}
		if _, ok := t["qa_outputs.weight"]; ok {
			markUnused(t, used, "qa_outputs.")
			notes = append(notes, "ignored the checkpoint's span head: this task needs a sequence-classification head")
		}
	}
	var unexpected []string
	for n := range t {
		if !used[n] {
			unexpected = append(unexpected, n)
		}
	}
	if len(unexpected) > 0 {
		sort.Strings(unexpected)
		if len(unexpected) > 5 {
			unexpected = append(unexpected[:5], fmt.Sprintf("… (%d in all)", len(unexpected)))
		}
		return fail(fmt.Errorf("unexpected tensors for a %d-layer BERT: %s", cfg.NumHiddenLayers, strings.Join(unexpected, ", ")))
	}
	return m, notes, nil
}

func markUnused(t map[string]checkpoint.Raw, used map[string]bool, prefix string) {
	for n := range t {
		if strings.HasPrefix(n, prefix) {
			used[n] = true
		}
	}
}

// partialParams lists the tensors of a model being built, for cleanup.
func (m *Model) partialParams() []*torch.Tensor {
	var ts []*torch.Tensor
	add := func(x ...*torch.Tensor) { ts = append(ts, x...) }
	addL := func(l *Linear) {
		if l != nil {
			add(l.W, l.B)
		}
	}
	addN := func(l *LayerNorm) {
		if l != nil {
			add(l.W, l.B)
		}
	}
	add(m.Word, m.Pos, m.Type)
	addN(m.EmbLN)
	for _, l := range m.Layers {
		addL(l.Q)
		addL(l.K)
		addL(l.V)
		addL(l.O)
		addN(l.AttnLN)
		addL(l.Up)
		addL(l.Down)
		addN(l.OutLN)
	}
	addL(m.Pooler)
	addL(m.Classifier)
	return ts
}

func sameShape(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TokenizerFiles are copied from the source model directory when saving.
var TokenizerFiles = []string{"vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"}

// Save writes the model in HF layout: model.safetensors, config.json, and the
// tokenizer files of tokenizerDir (the directory the model came from). A full
// model saved this way loads in transformers with from_pretrained; a compact
// model keeps the unpruned sizes in config.json and its structure in the
// tensor shapes, as the authors' released checkpoints do.
func (m *Model) Save(dir, tokenizerDir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tensors := map[string]checkpoint.Raw{}
	for _, p := range m.Params() {
		tensors[p.Name] = checkpoint.F32(p.T.Shape(), p.T.Float32s())
	}
	if err := checkpoint.WriteSafetensors(filepath.Join(dir, "model.safetensors"), tensors, map[string]string{"format": "pt"}); err != nil {
		return fmt.Errorf("save %s: %w", dir, err)
	}
	c := m.Config
	switch {
	case m.Classifier == nil:
		c.Architectures = []string{"BertModel"}
	case m.Kind == task.Span:
		c.Architectures = []string{"BertForQuestionAnswering"}
	default:
		c.Architectures = []string{"BertForSequenceClassification"}
		names := m.Labels
		if len(names) != m.NumLabels {
			names = nil
			for i := 0; i < m.NumLabels; i++ {
				names = append(names, "LABEL_"+strconv.Itoa(i))
			}
		}
		c.SetLabels(names)
		if m.Kind == task.Regression {
			c.ProblemType = "regression"
		}
	}
	if err := checkpoint.WriteConfig(dir, c); err != nil {
		return fmt.Errorf("save %s: %w", dir, err)
	}
	if tokenizerDir != "" && tokenizerDir != dir {
		for _, f := range TokenizerFiles {
			b, err := os.ReadFile(filepath.Join(tokenizerDir, f))
			if err != nil {
				continue
			}
			if err := atomicfile.Write(filepath.Join(dir, f), b, 0o644); err != nil {
				return fmt.Errorf("save %s: %w", dir, err)
			}
		}
	}
	return nil
}

// WriteRandomEncoder saves a randomly initialised encoder of configuration c
// (seeded), without a task head but with a masked-LM head (cls.predictions.*,
// decoder tied to the word embeddings) as bert-base-uncased has, with
// bert-base-uncased's vocabulary, in HF layout: the stand-in for a
// pre-trained model where none can be downloaded (tests, the demo, latency
// measurements, which do not depend on weights).
func WriteRandomEncoder(c checkpoint.Config, seed int64, dir string) error {
	torch.Seed(seed)
	return torch.Catch(func() error {
		m := New(c, Head{Kind: task.Classification, NumLabels: 2}, torch.CPU)
		defer m.Free()
		m.Classifier.W.Free()
		m.Classifier.B.Free()
		m.Classifier = nil
		if err := m.Save(dir, ""); err != nil {
			return err
		}
		// The MLM head is drawn after the encoder, so the encoder's weights
		// are those of a seed whatever the head.
		if err := addRandomMLMHead(dir, c); err != nil {
			return err
		}
		return tokenize.Default().WriteVocab(dir)
	})
}

// addRandomMLMHead adds a random cls.predictions.* head to dir's weights.
func addRandomMLMHead(dir string, c checkpoint.Config) error {
	p := filepath.Join(dir, "model.safetensors")
	tensors, meta, err := checkpoint.ReadSafetensors(p)
	if err != nil {
		return err
	}
	d, v := int64(c.HiddenSize), int64(c.VocabSize)
	std := c.InitializerRange
	if std == 0 {
		std = 0.02
	}
	w := torch.Zeros([]int64{d, d}, torch.Float32, torch.CPU)
	defer w.Free()
	w.Normal_(0, std)
	zeros := func(n int64) []float32 { return make([]float32, n) }
	ones := make([]float32, d)
	for i := range ones {
		ones[i] = 1
	}
	tensors[mlmPrefix+"transform.dense.weight"] = checkpoint.F32([]int64{d, d}, w.Float32s())
	tensors[mlmPrefix+"transform.dense.bias"] = checkpoint.F32([]int64{d}, zeros(d))
	tensors[mlmPrefix+"transform.LayerNorm.weight"] = checkpoint.F32([]int64{d}, ones)
	tensors[mlmPrefix+"transform.LayerNorm.bias"] = checkpoint.F32([]int64{d}, zeros(d))
	tensors[mlmPrefix+"bias"] = checkpoint.F32([]int64{v}, zeros(v))
	return checkpoint.WriteSafetensors(p, tensors, meta)
}
