//go:build torch

package cofi

import (
	"fmt"

	"github.com/cofiharness/cofi/experiments/bert"
	"github.com/cofiharness/cofi/experiments/optim"
	"github.com/cofiharness/cofi/experiments/torch"
	"github.com/cofiharness/cofi/hparams"
	"github.com/cofiharness/cofi/record"
	"github.com/cofiharness/cofi/task"
)

// PredLoss is the prediction-layer distillation loss:
// KL(softmax(t/T) ‖ softmax(s/T))·T², averaged over the batch, for
// classification; for span tasks the mean of the start and end losses (over
// sequence positions); for regression (one logit, where the KL of the
// released code is identically zero) the MSE between the logits.
func PredLoss(kind task.Kind, student, teacher *torch.Tensor, temperature float64) *torch.Tensor {
	kl := func(s, t *torch.Tensor) *torch.Tensor {
		b := float64(s.Size(0))
		logP := s.MulScalar(1 / temperature).LogSoftmax(-1)
		q := t.Detach().MulScalar(1 / temperature).Softmax(-1)
		return torch.KLDivSum(logP, q).MulScalar(temperature * temperature / b)
	}
	switch kind {
	case task.Regression:
		return torch.MSE(student, teacher.Detach())
	case task.Span:
		start := kl(student.Select(2, 0), teacher.Select(2, 0))
		end := kl(student.Select(2, 1), teacher.Select(2, 1))
		return start.Add(end).MulScalar(0.5)
	}
	return kl(student, teacher)
}

// ReleasedRegressionPredLoss is the released code's prediction distillation
// on a one-logit regression head (trainer.py:647): KL between softmaxes over
// a single logit, which is identically zero. Kept so the released behaviour
// can be run exactly (regression_distill = "kl").
func ReleasedRegressionPredLoss(student, teacher *torch.Tensor, temperature float64) *torch.Tensor {
	b := float64(student.Size(0))
	logP := student.MulScalar(1 / temperature).LogSoftmax(-1)
	q := teacher.Detach().MulScalar(1 / temperature).Softmax(-1)
	return torch.KLDivSum(logP, q).MulScalar(temperature * temperature / b)
}

// regressionKL reads regression_distill: false for mse, true for the released kl.
func regressionKL(p record.Params) (bool, error) {
	switch v := hparams.String(p, "regression_distill"); v {
	case "mse":
		return false, nil
	case "kl":
		return true, nil
	default:
		return false, fmt.Errorf("regression_distill %q: want mse or kl", v)
	}
}

// LayerDistiller is CoFi's layerwise distillation: a learnable linear map
// W_layer (initialised to the identity, bias 0) from student hidden states to
// the teacher's, and the matching of student to teacher layers.
type LayerDistiller struct {
	W             *bert.Linear // [d_teacher, d_student]
	TeacherLayers []int        // 1-based teacher layers distilled from
	Rule          LayerMatch
}

// NewLayerDistiller makes W_layer = I for hidden size d.
func NewLayerDistiller(d int, teacherLayers int, rule LayerMatch, dev torch.Device) *LayerDistiller {
	w := torch.Eye(int64(d), dev).Detached()
	b := torch.Zeros([]int64{int64(d)}, torch.Float32, dev).Detached()
	w.SetRequiresGrad(true)
	b.SetRequiresGrad(true)
	return &LayerDistiller{W: &bert.Linear{W: w, B: b}, TeacherLayers: teacherLayersFor(rule, teacherLayers), Rule: rule}
}

// teacherLayersFor lists the teacher layers distilled from: every layer for
// the fixed i→i mapping, {3, 6, 9, 12} (for 12 layers) otherwise.
func teacherLayersFor(rule LayerMatch, teacherLayers int) []int {
	if rule != MatchFixed {
		return DistillTeacherLayers(teacherLayers)
	}
	var tl []int
	for i := 1; i <= teacherLayers; i++ {
		tl = append(tl, i)
	}
	return tl
}

// Params names W_layer for the optimiser and checkpoints.
func (ld *LayerDistiller) Params() []optim.Named {
	return []optim.Named{{Name: "layer_transformation.weight", T: ld.W.W, Decay: true}, {Name: "layer_transformation.bias", T: ld.W.B}}
}

// Free releases W_layer.
func (ld *LayerDistiller) Free() { ld.W.W.Free(); ld.W.B.Free() }

// Loss is Σ_k cost[k, m(k)] where cost[k][j] = MSE(W·H_s^j, H_t^{T_k}) and m
// the matching of ld.Rule over the present student layers. student and
// teacher are the Hidden outputs of bert.Model.Forward (embeddings first).
// It also returns the alignment (0-based student layer per teacher layer, -1
// for none), for logging.
func (ld *LayerDistiller) Loss(student, teacher []*torch.Tensor, present []bool) (*torch.Tensor, []int) {
	sl := student[1:]
	var loss *torch.Tensor
	add := func(x *torch.Tensor) {
		if loss == nil {
			loss = x
		} else {
			loss = loss.Add(x)
		}
	}
	if ld.Rule == MatchFixed {
		align := make([]int, len(ld.TeacherLayers))
		for k, tlayer := range ld.TeacherLayers {
			j := tlayer - 1
			align[k] = -1
			if j < len(sl) && present[j] {
				add(torch.MSE(torch.Linear(sl[j], ld.W.W, ld.W.B), teacher[tlayer].Detach()))
				align[k] = j
			}
		}
		if loss == nil {
			loss = torch.Zeros([]int64{}, torch.Float32, ld.W.W.Device())
		}
		return loss, align
	}
	transformed := make([]*torch.Tensor, len(sl))
	for j, h := range sl {
		transformed[j] = torch.Linear(h, ld.W.W, ld.W.B)
	}
	costs := make([][]*torch.Tensor, len(ld.TeacherLayers))
	var flat []*torch.Tensor
	for k, tlayer := range ld.TeacherLayers {
		t := teacher[tlayer].Detach()
		for j := range sl {
			c := torch.MSE(transformed[j], t)
			costs[k] = append(costs[k], c)
			flat = append(flat, c)
		}
	}
	var host []float32
	torch.NoGrad(func() {
		s := torch.NewScope()
		defer s.Close()
		host = torch.Stack(flat, 0).Float32s()
	})
	cost := make([][]float64, len(costs))
	for k := range cost {
		for j := range sl {
			cost[k] = append(cost[k], float64(host[k*len(sl)+j]))
		}
	}
	align := Align(ld.Rule, cost, present)
	for k, j := range align {
		if j >= 0 {
			add(costs[k][j])
		}
	}
	if loss == nil {
		loss = torch.Zeros([]int64{}, torch.Float32, ld.W.W.Device())
	}
	return loss, align
}

// Present says which layers of the student still exist: those with a
// sublayer left in the model and, while masks are trained, not skipped by
// them. The paper counts a layer present when its MHA or its FFN is kept; the
// released code looks at the MHA layer mask only (releasedTest, with mhaMask
// the sampled z_MHA).
func Present(student *bert.Model, m *bert.Masks, mhaMask []float64, releasedTest bool) []bool {
	out := make([]bool, len(student.Layers))
	for i, l := range student.Layers {
		switch {
		case l.Heads == 0 && l.Inter == 0:
		case releasedTest && mhaMask != nil:
			out[i] = mhaMask[i] != 0
		case m != nil && m.SkipMHA != nil:
			out[i] = !m.SkipMHA[i] || !m.SkipFFN[i]
		default:
			out[i] = true
		}
	}
	return out
}
