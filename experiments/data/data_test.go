package data

import (
	"reflect"
	"strings"
	"testing"

	"github.com/cofiharness/cofi/experiments/tokenize"
	"github.com/cofiharness/cofi/task"
)

func TestTaskLabelsFollowHFOrder(t *testing.T) {
	cases := map[string][]string{
		"mnli":       {"entailment", "neutral", "contradiction"},
		"qnli":       {"entailment", "not_entailment"},
		"rte":        {"entailment", "not_entailment"},
		"SST-2":      {"0", "1"},
		"cola":       {"0", "1"},
		"mrpc":       {"0", "1"},
		"qqp":        {"0", "1"},
		"syn-pair":   {"entailment", "neutral", "contradiction"},
		"syn-single": {"0", "1"},
	}
	for name, want := range cases {
		v, err := TaskLabels(name)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(v.Names, want) {
			t.Errorf("%s labels %q, want %q", name, v.Names, want)
		}
		if tk := task.MustLookup(name); v.NumLabels() != tk.NumLabels {
			t.Errorf("%s: %d labels, task catalogue says %d", name, v.NumLabels(), tk.NumLabels)
		}
	}
	for _, name := range []string{"stsb", "syn-reg"} {
		v, err := TaskLabels(name)
		if err != nil || !v.Regression || v.NumLabels() != 1 {
			t.Errorf("%s: %+v %v, want regression", name, v, err)
		}
	}
	if _, err := TaskLabels("squad"); err == nil {
		t.Error("squad has no label vocabulary")
	}
}

func TestFromID2Label(t *testing.T) {
	mnli, _ := TaskLabels("mnli")
	sst2, _ := TaskLabels("sst2")
	cases := []struct {
		name    string
		v       LabelVocab
		id2     map[string]string
		want    []string
		wantErr string
	}{
		{"no id2label keeps canonical", mnli, nil, []string{"entailment", "neutral", "contradiction"}, ""},
		{"placeholders keep canonical", mnli, map[string]string{"0": "LABEL_0", "1": "LABEL_1", "2": "LABEL_2"}, []string{"entailment", "neutral", "contradiction"}, ""},
		{"real names reorder", mnli, map[string]string{"0": "CONTRADICTION", "1": "entailment", "2": "neutral"}, []string{"contradiction", "entailment", "neutral"}, ""},
		{"HF class names map to TSV labels", sst2, map[string]string{"0": "positive", "1": "negative"}, []string{"1", "0"}, ""},
		{"names not covering the data", mnli, map[string]string{"0": "entailment", "1": "neutral", "2": "other"}, nil, `label "other" is not one of`},
		{"wrong count", mnli, map[string]string{"0": "entailment", "1": "not_entailment"}, nil, "checkpoint has 2 labels"},
		{"bad key", sst2, map[string]string{"0": "negative", "x": "positive"}, nil, `id2label key "x"`},
		{"duplicate", sst2, map[string]string{"0": "negative", "1": "negative"}, nil, "appears twice"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.v.FromID2Label(c.id2)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Names, c.want) {
				t.Errorf("names %q, want %q", got.Names, c.want)
			}
		})
	}
}

func TestEncodeGLUE(t *testing.T) {
	tok := tokenize.Default()
	rte, _ := TaskLabels("rte")
	exs := []Example{
		{ID: "0", TextA: "hello world", TextB: "don't", Pair: true, Label: "not_entailment"},
		{ID: "1", TextA: "hello", Pair: true, Label: "entailment"},
	}
	d, err := EncodeGLUE(exs, tok, rte, 128)
	if err != nil {
		t.Fatal(err)
	}
	want := []Feature{
		{IDs: []int32{101, 7592, 2088, 102, 2123, 1005, 1056, 102}, TypeIDs: []int8{0, 0, 0, 0, 1, 1, 1, 1}, Label: 1, Example: 0},
		// An empty second segment still gets its [SEP], as in HF.
		{IDs: []int32{101, 7592, 102, 102}, TypeIDs: []int8{0, 0, 0, 1}, Label: 0, Example: 1},
	}
	if !reflect.DeepEqual(d.Features, want) || d.Kind != task.Classification {
		t.Fatalf("features %+v, want %+v", d.Features, want)
	}
	exs[1].Label = "neutral"
	if _, err := EncodeGLUE(exs, tok, rte, 128); err == nil || !strings.Contains(err.Error(), `example 1: label "neutral"`) {
		t.Errorf("unknown label: err = %v", err)
	}
	stsb, _ := TaskLabels("stsb")
	d, err = EncodeGLUE([]Example{{ID: "a", TextA: "x", TextB: "y", Pair: true, Score: 3.8}}, tok, stsb, 128)
	if err != nil || d.Kind != task.Regression || d.Features[0].Score != 3.8 {
		t.Fatalf("regression: %+v %v", d, err)
	}
}

func tinyDataset(kind task.Kind) *Dataset {
	return &Dataset{Kind: kind, PadID: 0, Features: []Feature{
		{IDs: []int32{101, 5, 102}, TypeIDs: []int8{0, 0, 0}, Label: 1, Score: 0.5, Start: 1, End: 1},
		{IDs: []int32{101, 6, 7, 102, 8, 102}, TypeIDs: []int8{0, 0, 0, 0, 1, 1}, Label: 0, Score: 4.5, Start: 4, End: 5},
		{IDs: []int32{101, 102}, TypeIDs: []int8{0, 0}, Label: 2},
	}}
}

func TestBatchPadding(t *testing.T) {
	b := tinyDataset(task.Classification).Batch([]int{0, 1}, 0)
	want := Batch{
		Size: 2, SeqLen: 6,
		InputIDs:      []int64{101, 5, 102, 0, 0, 0, 101, 6, 7, 102, 8, 102},
		TokenTypeIDs:  []int64{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1},
		AttentionMask: []int64{1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1},
		Labels:        []int64{1, 0},
		Index:         []int{0, 1},
	}
	if !reflect.DeepEqual(b, want) {
		t.Fatalf("batch\n%+v\nwant\n%+v", b, want)
	}
	b = tinyDataset(task.Span).Batch([]int{1, 0}, 8)
	if b.SeqLen != 8 || len(b.InputIDs) != 16 || !reflect.DeepEqual(b.StartPos, []int64{4, 1}) || !reflect.DeepEqual(b.EndPos, []int64{5, 1}) || b.Labels != nil {
		t.Errorf("span batch padded to 8: %+v", b)
	}
	b = tinyDataset(task.Regression).Batch([]int{1}, 4) // padTo shorter than the feature: never cut
	if b.SeqLen != 6 || !reflect.DeepEqual(b.Scores, []float32{4.5}) {
		t.Errorf("regression batch: %+v", b)
	}
}

func TestEpochOrderDeterministic(t *testing.T) {
	a := EpochOrder(50, true, 7, 3)
	if !reflect.DeepEqual(a, EpochOrder(50, true, 7, 3)) {
		t.Fatal("same seed and epoch gave different orders")
	}
	if reflect.DeepEqual(a, EpochOrder(50, true, 7, 4)) || reflect.DeepEqual(a, EpochOrder(50, true, 8, 3)) {
		t.Fatal("order does not change with epoch or seed")
	}
	seen := make([]bool, 50)
	for _, i := range a {
		seen[i] = true
	}
	for i, s := range seen {
		if !s {
			t.Fatalf("%d missing from permutation %v", i, a)
		}
	}
	if got := EpochOrder(4, false, 7, 3); !reflect.DeepEqual(got, []int{0, 1, 2, 3}) {
		t.Errorf("unshuffled order %v", got)
	}
	// Pinned: the order must not change across Go releases or refactors,
	// or a resumed run would see different batches than before the kill.
	if got, want := EpochOrder(8, true, 42, 0), []int{3, 1, 2, 4, 5, 0, 7, 6}; !reflect.DeepEqual(got, want) {
		t.Errorf("EpochOrder(8, seed 42, epoch 0) = %v, pinned %v", got, want)
	}
}

func TestIteratorResume(t *testing.T) {
	d := &Dataset{Kind: task.Classification}
	for i := range 10 {
		d.Features = append(d.Features, Feature{IDs: []int32{int32(i)}, TypeIDs: []int8{0}})
	}
	opt := IterOptions{BatchSize: 3, Shuffle: true, Seed: 11}
	full, _ := d.Iterator(opt)
	if full.StepsPerEpoch() != 4 {
		t.Fatalf("steps per epoch %d, want 4 (10 features in 3s)", full.StepsPerEpoch())
	}
	var all [][]int
	for range 3 * 4 {
		all = append(all, full.Next().Index)
	}
	if full.Pos() != (Position{Epoch: 3, Step: 0}) {
		t.Fatalf("position after 3 epochs %+v", full.Pos())
	}
	// Each epoch covers every feature exactly once.
	for e := range 3 {
		seen := map[int]int{}
		for _, b := range all[e*4 : e*4+4] {
			for _, i := range b {
				seen[i]++
			}
		}
		if len(seen) != 10 {
			t.Errorf("epoch %d saw %v", e, seen)
		}
	}
	// Resume at epoch 1, step 2 and get the same batches as the uninterrupted run.
	res, _ := d.Iterator(opt)
	if err := res.Seek(Position{Epoch: 1, Step: 2}); err != nil {
		t.Fatal(err)
	}
	for k := 6; k < 12; k++ {
		if got := res.Next().Index; !reflect.DeepEqual(got, all[k]) {
			t.Fatalf("after resume, batch %d = %v, want %v", k, got, all[k])
		}
	}
	if err := res.Seek(Position{Epoch: 0, Step: 4}); err == nil {
		t.Error("seek past the epoch's last step accepted")
	}
	drop, _ := d.Iterator(IterOptions{BatchSize: 3, DropLast: true})
	if drop.StepsPerEpoch() != 3 {
		t.Errorf("drop last: %d steps", drop.StepsPerEpoch())
	}
	if _, err := d.Iterator(IterOptions{BatchSize: 0}); err == nil {
		t.Error("batch size 0 accepted")
	}
	bs, err := d.Batches(4, false, 0, 0)
	if err != nil || len(bs) != 3 || !reflect.DeepEqual(bs[2].Index, []int{8, 9}) {
		t.Errorf("Batches: %d batches, err %v", len(bs), err)
	}
}

func TestHoldOut(t *testing.T) {
	d := &Dataset{Kind: task.Classification}
	for i := 0; i < 100; i++ {
		d.Features = append(d.Features, Feature{Label: int32(i), Example: i / 2}) // two features per example
	}
	tr, held, err := d.HoldOut(0.1)
	if err != nil {
		t.Fatal(err)
	}
	if held.Len() != 10 || tr.Len() != 90 {
		t.Fatalf("held %d, train %d features: want 5 examples (10 features) held out", held.Len(), tr.Len())
	}
	ex := map[int]bool{}
	for _, f := range held.Features {
		ex[f.Example] = true
	}
	for _, f := range tr.Features {
		if ex[f.Example] {
			t.Fatalf("example %d is in both splits", f.Example)
		}
	}
	for i := 1; i < tr.Len(); i++ {
		if tr.Features[i].Label < tr.Features[i-1].Label {
			t.Fatal("train split reordered")
		}
	}
	// The same slice every time: no dependence on any run's seed.
	_, again, _ := d.HoldOut(0.1)
	for i := range held.Features {
		if again.Features[i].Label != held.Features[i].Label {
			t.Fatal("held-out slice differs between calls")
		}
	}
	for _, bad := range []float64{0, 1, 0.001} {
		if _, _, err := d.HoldOut(bad); err == nil {
			t.Errorf("fraction %v accepted", bad)
		}
	}
}
