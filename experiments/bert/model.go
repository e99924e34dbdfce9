//go:build torch

// Package bert is BERT in Go on libtorch: an HF-compatible encoder with a
// sequence-classification head (classification or regression) or a span-QA
// head, whose layers may have been pruned to any structure (heads and FFN
// units per layer, whole sublayers, hidden dims). The forward pass takes
// optional multiplicative masks at CoFi's five granularities; the masks
// themselves (hard-concrete sampling, deterministic masks) live in package
// cofi.
package bert

import (
	"fmt"
	"math"

	"github.com/cofiharness/cofi/experiments/checkpoint"
	"github.com/cofiharness/cofi/experiments/torch"
	"github.com/cofiharness/cofi/record"
	"github.com/cofiharness/cofi/task"
)

// Linear is y = x·Wᵀ + b with W stored [out, in].
type Linear struct{ W, B *torch.Tensor }

func (l *Linear) forward(x *torch.Tensor) *torch.Tensor { return torch.Linear(x, l.W, l.B) }

// LayerNorm holds a LayerNorm's gain and bias.
type LayerNorm struct{ W, B *torch.Tensor }

// Layer is one transformer layer. Heads == 0 means the MHA sublayer was
// removed (Q, K, V, O, AttnLN nil); Inter == 0 means the FFN was removed.
type Layer struct {
	Heads      int
	Q, K, V, O *Linear
	AttnLN     *LayerNorm
	Inter      int
	Up, Down   *Linear
	OutLN      *LayerNorm
}

// Model is a BERT with a task head.
type Model struct {
	Config    checkpoint.Config // as read or built; the unpruned sizes (hidden, heads) of the architecture
	Kind      task.Kind         // head type
	NumLabels int               // classifier outputs (1 for regression, 2 for span)
	Labels    []string          // label names by id (classification), empty when unknown
	Hidden    int               // hidden dims actually present (< Config.HiddenSize after hidden pruning)
	HeadDim   int               // per-head dims (64 for BERT-base)
	Device    torch.Device

	Word, Pos, Type *torch.Tensor
	EmbLN           *LayerNorm
	Layers          []*Layer
	Pooler          *Linear // nil for span heads
	Classifier      *Linear // classifier (classification/regression) or qa_outputs (span)
}

// Param is a named parameter in HF naming.
type Param struct {
	Name string
	T    *torch.Tensor
	// Embedding marks the embedding tables and their LayerNorm, which CoFi
	// keeps frozen while pruning.
	Embedding bool
}

// Params lists every parameter in a fixed order with its HF name.
func (m *Model) Params() []Param {
	var ps []Param
	add := func(name string, t *torch.Tensor, emb bool) {
		if t != nil {
			ps = append(ps, Param{name, t, emb})
		}
	}
	add("bert.embeddings.word_embeddings.weight", m.Word, true)
	add("bert.embeddings.position_embeddings.weight", m.Pos, true)
	add("bert.embeddings.token_type_embeddings.weight", m.Type, true)
	add("bert.embeddings.LayerNorm.weight", m.EmbLN.W, true)
	add("bert.embeddings.LayerNorm.bias", m.EmbLN.B, true)
	for i, l := range m.Layers {
		p := fmt.Sprintf("bert.encoder.layer.%d.", i)
		if l.Heads > 0 {
			add(p+"attention.self.query.weight", l.Q.W, false)
			add(p+"attention.self.query.bias", l.Q.B, false)
			add(p+"attention.self.key.weight", l.K.W, false)
			add(p+"attention.self.key.bias", l.K.B, false)
			add(p+"attention.self.value.weight", l.V.W, false)
			add(p+"attention.self.value.bias", l.V.B, false)
			add(p+"attention.output.dense.weight", l.O.W, false)
			add(p+"attention.output.dense.bias", l.O.B, false)
			add(p+"attention.output.LayerNorm.weight", l.AttnLN.W, false)
			add(p+"attention.output.LayerNorm.bias", l.AttnLN.B, false)
		}
		if l.Inter > 0 {
			add(p+"intermediate.dense.weight", l.Up.W, false)
			add(p+"intermediate.dense.bias", l.Up.B, false)
			add(p+"output.dense.weight", l.Down.W, false)
			add(p+"output.dense.bias", l.Down.B, false)
			add(p+"output.LayerNorm.weight", l.OutLN.W, false)
			add(p+"output.LayerNorm.bias", l.OutLN.B, false)
		}
	}
	if m.Pooler != nil {
		add("bert.pooler.dense.weight", m.Pooler.W, false)
		add("bert.pooler.dense.bias", m.Pooler.B, false)
	}
	if m.Classifier != nil { // nil for an encoder without a task head (a "pre-trained" model)
		head := "classifier"
		if m.Kind == task.Span {
			head = "qa_outputs"
		}
		add(head+".weight", m.Classifier.W, false)
		add(head+".bias", m.Classifier.B, false)
	}
	return ps
}

// Free releases every parameter.
func (m *Model) Free() {
	for _, p := range m.Params() {
		p.T.Free()
	}
}

// SetRequiresGrad marks every parameter (except embeddings when frozen) as trainable.
func (m *Model) SetRequiresGrad(on, freezeEmbeddings bool) {
	for _, p := range m.Params() {
		p.T.SetRequiresGrad(on && !(freezeEmbeddings && p.Embedding))
	}
}

// Structure returns heads and FFN units per layer and the hidden dims kept.
func (m *Model) Structure() (heads, inter []int, hidden int) {
	for _, l := range m.Layers {
		heads = append(heads, l.Heads)
		inter = append(inter, l.Inter)
	}
	return heads, inter, m.Hidden
}

// EncoderSize counts parameters as the paper does: the encoder's weights,
// biases and LayerNorms; embeddings, pooler and classifier excluded
// (85,054,464 for BERT-base).
func (m *Model) EncoderSize() int64 {
	return EncoderSize(m.Hidden, m.HeadDim, m.Heads(), m.Inters())
}

// SizeRecord counts the model's size as the paper does, relative to the
// unpruned architecture of its config.json.
func (m *Model) SizeRecord() *record.Size {
	n := m.EncoderSize()
	c := m.Config
	var heads, inter []int
	for range c.NumHiddenLayers {
		heads = append(heads, c.NumAttentionHeads)
		inter = append(inter, c.IntermediateSize)
	}
	f := EncoderSize(c.HiddenSize, c.HiddenSize/c.NumAttentionHeads, heads, inter)
	return &record.Size{Params: n, FullParams: f, Sparsity: 1 - float64(n)/float64(f)}
}

// StructureRecord describes what remains of the model.
func (m *Model) StructureRecord() *record.Structure {
	heads, inter, hidden := m.Structure()
	c := m.Config
	s := &record.Structure{Layers: len(heads), Hidden: hidden, HiddenFull: c.HiddenSize, HeadsFull: c.NumAttentionHeads,
		InterFull: c.IntermediateSize, Heads: heads, Intermediate: inter}
	for i := range heads {
		s.MHA = append(s.MHA, heads[i] > 0)
		s.FFN = append(s.FFN, inter[i] > 0)
	}
	return s
}

// Heads lists heads per layer.
func (m *Model) Heads() []int { h, _, _ := m.Structure(); return h }

// Inters lists FFN units per layer.
func (m *Model) Inters() []int { _, i, _ := m.Structure(); return i }

// Input is a batch of token ids, token-type ids and attention mask, each
// [batch, seq] int64.
type Input struct {
	IDs, TypeIDs, Mask *torch.Tensor
}

// Masks are CoFi's multiplicative masks; a nil tensor means "all ones".
// SkipMHA/SkipFFN mark sublayers whose output is identically zero (their
// layer mask is 0, or every head / every FFN unit is masked): they are
// skipped and the residual passes through with no LayerNorm, which is
// exactly what the physically pruned model computes.
type Masks struct {
	Head   *torch.Tensor // [L, H]
	MHA    *torch.Tensor // [L]
	Int    *torch.Tensor // [L, F]
	FFN    *torch.Tensor // [L]
	Hidden *torch.Tensor // [d]

	SkipMHA, SkipFFN []bool
}

// Output of a forward pass.
type Output struct {
	Logits *torch.Tensor   // [B, C] for sequence tasks, [B, L, 2] for span tasks
	Hidden []*torch.Tensor // embeddings output then each layer's output, when asked for
	// Scores are each layer's unnormalised attention scores QKᵀ/√d_h plus
	// the additive padding mask (-10000 on padded keys), [B, H, L, L],
	// before the softmax (TinyBERT distils these), when asked for; nil for
	// a layer without attention.
	Scores []*torch.Tensor
}

// Forward runs the model. train enables dropout; wantHidden returns every
// layer's output (for layerwise distillation). Tensors are owned by the
// caller's scope.
func (m *Model) Forward(in Input, masks *Masks, train, wantHidden bool) Output {
	return m.forward(in, masks, train, wantHidden, false)
}

// ForwardScores is Forward returning every layer's output and attention
// scores too (TinyBERT's intermediate-layer distillation).
func (m *Model) ForwardScores(in Input, train bool) Output {
	return m.forward(in, nil, train, true, true)
}

func (m *Model) forward(in Input, masks *Masks, train, wantHidden, wantScores bool) Output {
	if masks == nil {
		masks = &Masks{}
	}
	var out Output
	// Additive attention mask: 0 for tokens, -10000 for padding, [B, 1, 1, L].
	maskAdd := torch.WithScope(func() *torch.Tensor {
		f := in.Mask.ToDType(torch.Float32)
		return f.AddScalar(-1).MulScalar(10000).Unsqueeze(1).Unsqueeze(2)
	})
	var keep, nKeep *torch.Tensor
	if masks.Hidden != nil {
		keep = masks.Hidden.Detach().GtScalar(0).ToDType(torch.Float32)
		nKeep = keep.Sum()
	}
	h := torch.WithScope(func() *torch.Tensor { return m.embed(in, masks.Hidden, keep, nKeep, train) })
	if wantHidden {
		out.Hidden = append(out.Hidden, h)
	}
	for i, l := range m.Layers {
		var scores *torch.Tensor
		func() {
			s := torch.NewScope()
			defer s.Close()
			h = s.Keep(m.layer(i, l, h, maskAdd, masks, keep, nKeep, train, &scores))
			if wantScores {
				out.Scores = append(out.Scores, s.Keep(scores))
			}
		}()
		if wantHidden {
			out.Hidden = append(out.Hidden, h)
		}
	}
	out.Logits = torch.WithScope(func() *torch.Tensor { return m.head(h, train) })
	return out
}

func (m *Model) embed(in Input, z, keep, nKeep *torch.Tensor, train bool) *torch.Tensor {
	seq := in.IDs.Size(1)
	pos := torch.Arange(seq, m.Device).Unsqueeze(0)
	e := torch.Embedding(m.Word, in.IDs).Add(torch.Embedding(m.Pos, pos)).Add(torch.Embedding(m.Type, in.TypeIDs))
	if z != nil {
		e = e.Mul(z)
	}
	e = m.layerNorm(e, m.EmbLN, keep, nKeep)
	e = e.Dropout(m.Config.HiddenDropout, train)
	if z != nil {
		e = e.Mul(z)
	}
	return e
}

// layerNorm normalises over the hidden dims; with a hidden mask, statistics
// are taken over the kept dims only, as in the compact model where the
// pruned dims do not exist.
func (m *Model) layerNorm(x *torch.Tensor, ln *LayerNorm, keep, nKeep *torch.Tensor) *torch.Tensor {
	if keep == nil {
		return torch.LayerNorm(x, ln.W, ln.B, m.Config.LayerNormEps)
	}
	xm := x.Mul(keep)
	mean := xm.SumDims([]int64{-1}, true).Div(nKeep)
	c := x.Sub(mean).Mul(keep)
	v := c.Square().SumDims([]int64{-1}, true).Div(nKeep)
	return c.Mul(v.AddScalar(m.Config.LayerNormEps).Rsqrt()).Mul(ln.W).Add(ln.B)
}

// layer runs layer i; *scores receives its attention scores (nil without attention).
func (m *Model) layer(i int, l *Layer, h, maskAdd *torch.Tensor, z *Masks, keep, nKeep *torch.Tensor, train bool, scores **torch.Tensor) *torch.Tensor {
	skipMHA := l.Heads == 0 || (z.SkipMHA != nil && z.SkipMHA[i])
	skipFFN := l.Inter == 0 || (z.SkipFFN != nil && z.SkipFFN[i])
	if !skipMHA {
		a := m.attention(i, l, h, maskAdd, z, train, scores)
		if z.MHA != nil {
			a = a.Mul(z.MHA.Select(0, int64(i)))
		}
		h = m.residual(a, h, l.AttnLN, z.Hidden, keep, nKeep, train)
	}
	if !skipFFN {
		f := l.Up.forward(h).Gelu()
		if z.Int != nil {
			f = f.Mul(z.Int.Select(0, int64(i)))
		}
		f = l.Down.forward(f)
		if z.FFN != nil {
			f = f.Mul(z.FFN.Select(0, int64(i)))
		}
		h = m.residual(f, h, l.OutLN, z.Hidden, keep, nKeep, train)
	}
	// When both sublayers are skipped the layer is gone and h is its input,
	// owned by the caller already.
	return h
}

// residual is LN(dropout(x·z) + h)·z, CoFi's sublayer output.
func (m *Model) residual(x, h *torch.Tensor, ln *LayerNorm, z, keep, nKeep *torch.Tensor, train bool) *torch.Tensor {
	if z != nil {
		x = x.Mul(z)
	}
	x = x.Dropout(m.Config.HiddenDropout, train)
	out := m.layerNorm(x.Add(h), ln, keep, nKeep)
	if z != nil {
		out = out.Mul(z)
	}
	return out
}

func (m *Model) attention(i int, l *Layer, h, maskAdd *torch.Tensor, z *Masks, train bool, scoresOut **torch.Tensor) *torch.Tensor {
	b, s := h.Size(0), h.Size(1)
	nh, hd := int64(l.Heads), int64(m.HeadDim)
	split := func(x *torch.Tensor) *torch.Tensor { return x.View(b, s, nh, hd).Transpose(1, 2) }
	q := split(l.Q.forward(h))
	k := split(l.K.forward(h))
	v := split(l.V.forward(h))
	scores := q.Matmul(k.Transpose(-1, -2)).MulScalar(1 / math.Sqrt(float64(hd))).Add(maskAdd)
	*scoresOut = scores
	probs := scores.Softmax(-1).Dropout(m.Config.AttentionDropout, train)
	ctx := probs.Matmul(v) // [B, nh, S, hd]
	if z.Head != nil {
		ctx = ctx.Mul(z.Head.Select(0, int64(i)).View(1, nh, 1, 1))
	}
	ctx = ctx.Transpose(1, 2).Reshape(b, s, nh*hd)
	return l.O.forward(ctx)
}

func (m *Model) head(h *torch.Tensor, train bool) *torch.Tensor {
	if m.Kind == task.Span {
		return m.Classifier.forward(h) // [B, S, 2]
	}
	cls := h.Select(1, 0)
	pooled := m.Pooler.forward(cls).Tanh()
	if m.Config.ClassifierHead == checkpoint.HeadTinyBERT {
		return m.Classifier.forward(pooled.Relu()) // TinyBertForSequenceClassification
	}
	return m.Classifier.forward(pooled.Dropout(m.Config.HiddenDropout, train))
}
