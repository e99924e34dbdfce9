// Package synth writes the built-in synthetic tasks to disk in the real
// formats (GLUE TSV, SQuAD v1.1 JSON), so that the demo and the tests run the
// same readers, trainer and metrics as real data without any download.
//
// Every task needs attention across tokens: labels depend on the order of
// words or on which word a question asks for, never on which words occur.
// Each word's presence is independent of the label, so a bag-of-words
// classifier stays at chance. All words are common whole words of the
// bert-base-uncased vocabulary (one token each). Each design was checked to
// be learnt within a few hundred steps by a 2-layer, 64-wide, 2-head BERT
// trained from scratch (AdamW, lr 1e-3, batch 32).
//
//   - syn-single (SST-2 layout): 8-12 filler words with one animal and one
//     food; label 1 when the animal comes first, 0 otherwise.
//   - syn-pair (RTE layout, MNLI labels): two such sentences of 6-9 words;
//     entailment when both put the animal first, neutral when one does,
//     contradiction when neither does.
//   - syn-reg (STS-B layout): two sentences of 8-10 words, each with 5
//     distinct animals and one food; the score is the mean over the two of
//     the number of animals before the food (0 to 5 by 0.5).
//   - syn-span (SQuAD layout): 12-30 filler words with one animal, one food
//     and one colour; the question "which animal ?" (or food, colour) is
//     answered by that word.
package synth

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/cofiharness/cofi/internal/atomicfile"
	"github.com/cofiharness/cofi/task"
)

// Default split sizes.
const (
	DefaultTrain = 2000
	DefaultDev   = 500
)

// Word pools. Tests check that each is one bert-base-uncased token.
var (
	animals = []string{"dog", "cat", "horse", "cow", "bird", "fish", "lion", "bear", "wolf", "fox", "sheep", "goat", "duck", "frog", "mouse", "snake"}
	foods   = []string{"apple", "bread", "cheese", "rice", "cake", "milk", "egg", "soup", "meat", "corn", "honey", "salt", "sugar", "tea", "wine", "beans"}
	things  = []string{"house", "tree", "river", "car", "book", "door", "road", "hill", "stone", "table", "chair", "window", "garden", "field", "lamp", "box", "ship", "train", "boat", "wall"}
	colors  = []string{"red", "blue", "green", "black", "white", "brown", "pink", "yellow", "purple", "orange", "gray"}
	extra   = []string{"king", "queen", "city", "town", "moon", "sun", "star", "cloud", "rain", "snow", "fire", "water", "gold", "silver", "iron", "glass", "paper", "music", "song", "dance", "game", "ball"}
)

// dirs are the directory names each task is written under (those the glue
// and squad readers look for).
var dirs = map[string]string{"syn-single": "SYN-SINGLE", "syn-pair": "SYN-PAIR", "syn-reg": "SYN-REG", "syn-span": "SYN-SPAN"}

// streams keeps the tasks' random sequences apart for one seed.
var streams = map[string]uint64{"syn-single": 1, "syn-pair": 2, "syn-reg": 3, "syn-span": 4}

// Dir returns the directory (under Write's dir) holding a synthetic task's files.
func Dir(name string) (string, error) {
	t, err := task.Lookup(name)
	if err != nil {
		return "", err
	}
	d, ok := dirs[t.Name]
	if !ok {
		return "", fmt.Errorf("task %s is not a synthetic task (have %s)", t.Name, strings.Join(task.Synthetic(), ", "))
	}
	return d, nil
}

// Write generates nTrain training and nDev dev examples of the synthetic
// task name under dir/<Dir(name)>/, deterministically for seed.
func Write(dir, name string, nTrain, nDev int, seed int64) error {
	sub, err := Dir(name)
	if err != nil {
		return err
	}
	t := task.MustLookup(name)
	if nTrain <= 0 || nDev <= 0 {
		return fmt.Errorf("synthetic %s: sizes %d/%d must be positive", t.Name, nTrain, nDev)
	}
	out := filepath.Join(dir, sub)
	if err := os.MkdirAll(out, 0o755); err != nil {
		return fmt.Errorf("synthetic %s: %w", t.Name, err)
	}
	for i, sp := range []struct {
		file string
		n    int
	}{{"train", nTrain}, {"dev", nDev}} {
		// Each task and split has its own stream of the seed.
		r := newRNG(seed, streams[t.Name]<<1|uint64(i))
		var b []byte
		switch t.Name {
		case "syn-single":
			b = singleTSV(r, sp.n)
		case "syn-pair":
			b = pairTSV(r, sp.n)
		case "syn-reg":
			b = regTSV(r, sp.n)
		case "syn-span":
			b, err = spanJSON(r, sp.n, t.Name)
			if err != nil {
				return err
			}
		}
		name := sp.file + ".tsv"
		if t.Name == "syn-span" {
			name = sp.file + "-v1.1.json"
		}
		p := filepath.Join(out, name)
		if err := atomicfile.Write(p, b, 0o644); err != nil {
			return fmt.Errorf("synthetic %s: write %s: %w", t.Name, p, err)
		}
	}
	return nil
}

// WriteAll writes every synthetic task under dir.
func WriteAll(dir string, nTrain, nDev int, seed int64) error {
	for _, n := range task.Synthetic() {
		if err := Write(dir, n, nTrain, nDev, seed); err != nil {
			return err
		}
	}
	return nil
}

// rng is PCG with a spelled-out bounded draw, so a seed gives the same data
// under every Go release.
type rng struct{ src *rand.PCG }

func newRNG(seed int64, stream uint64) *rng {
	return &rng{rand.NewPCG(uint64(seed), 0x5eed0000+stream)}
}

// intn draws uniformly from [0, n) (Lemire's multiply-and-reject).
func (r *rng) intn(n int) int {
	un := uint64(n)
	hi, lo := bits.Mul64(r.src.Uint64(), un)
	if lo < un {
		thresh := -un % un
		for lo < thresh {
			hi, lo = bits.Mul64(r.src.Uint64(), un)
		}
	}
	return int(hi)
}

func (r *rng) pick(xs []string) string { return xs[r.intn(len(xs))] }

// perm is a uniform permutation of 0..n-1 (Fisher-Yates).
func (r *rng) perm(n int) []int {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	for i := n - 1; i > 0; i-- {
		j := r.intn(i + 1)
		p[i], p[j] = p[j], p[i]
	}
	return p
}

// distinct draws n different words of pool.
func (r *rng) distinct(pool []string, n int) []string {
	p := r.perm(len(pool))
	out := make([]string, n)
	for i := range out {
		out[i] = pool[p[i]]
	}
	return out
}

// fillers are the neutral words around the salient ones.
func fillers() []string { return append(append([]string{}, things...), extra...) }

// orderedSentence draws n filler words with one animal and one food at two
// random positions, the animal first when animalFirst.
func (r *rng) orderedSentence(n int, animalFirst bool) []string {
	fill := fillers()
	w := make([]string, n)
	for i := range w {
		w[i] = r.pick(fill)
	}
	p := r.perm(n)
	i, j := min(p[0], p[1]), max(p[0], p[1])
	a, f := r.pick(animals), r.pick(foods)
	if animalFirst {
		w[i], w[j] = a, f
	} else {
		w[i], w[j] = f, a
	}
	return w
}

// singleEx is one syn-single example.
type singleEx struct {
	Words []string
	Label int // 1: the animal comes before the food
}

// genSingle draws a syn-single example: 8-12 words, label uniform.
func genSingle(r *rng) singleEx {
	label := r.intn(2)
	return singleEx{Words: r.orderedSentence(8+r.intn(5), label == 1), Label: label}
}

// pairEx is one syn-pair or syn-reg example.
type pairEx struct {
	A, B  []string
	Label string  // syn-pair
	Score float64 // syn-reg
}

// pairLabels indexes syn-pair labels by how many of the two sentences put
// the animal first: both, one, none.
var pairLabels = [3]string{"entailment", "neutral", "contradiction"}

// genPair draws a syn-pair example: two sentences of 6-9 words, each with
// one animal and one food; the label is uniform and says in how many of
// them the animal comes first (entailment 2, neutral 1, contradiction 0).
func genPair(r *rng) pairEx {
	y := r.intn(3)
	first := [2]bool{y == 0, y == 0}
	if y == 1 {
		k := r.intn(2)
		first[k] = true
	}
	return pairEx{
		A:     r.orderedSentence(6+r.intn(4), first[0]),
		B:     r.orderedSentence(6+r.intn(4), first[1]),
		Label: pairLabels[y],
	}
}

// regAnimals is how many animals a syn-reg sentence holds.
const regAnimals = 5

// countSentence draws 8-10 words holding 5 distinct animals and one food
// with exactly c of the animals before the food.
func (r *rng) countSentence(c int) []string {
	n := 8 + r.intn(3)
	fill := fillers()
	w := make([]string, n)
	for i := range w {
		w[i] = r.pick(fill)
	}
	pos := r.perm(n)[:regAnimals+1]
	sortInts(pos)
	an := r.distinct(animals, regAnimals)
	k := 0
	for i, p := range pos {
		if i == c {
			w[p] = r.pick(foods)
			continue
		}
		w[p] = an[k]
		k++
	}
	return w
}

func sortInts(xs []int) {
	for i := 1; i < len(xs); i++ {
		for j := i; j > 0 && xs[j] < xs[j-1]; j-- {
			xs[j], xs[j-1] = xs[j-1], xs[j]
		}
	}
}

// genReg draws a syn-reg example: in each sentence c animals (uniform in
// 0..5) come before the food; the score is the mean of the two counts
// (0 to 5 in steps of 0.5).
func genReg(r *rng) pairEx {
	c1, c2 := r.intn(regAnimals+1), r.intn(regAnimals+1)
	return pairEx{A: r.countSentence(c1), B: r.countSentence(c2), Score: float64(c1+c2) / 2}
}

// spanCategories are what syn-span questions ask for.
var spanCategories = []struct {
	name  string
	words *[]string
}{{"animal", &animals}, {"food", &foods}, {"color", &colors}}

// spanEx is one syn-span example.
type spanEx struct {
	Context     []string
	Question    string
	Answer      string
	AnswerStart int // character offset of Answer in the context string
}

// genSpan draws a syn-span example: 12-30 filler words with one animal, one
// food and one colour; the question asks for one of the three.
func genSpan(r *rng) spanEx {
	n := 12 + r.intn(19)
	fill := fillers()
	w := make([]string, n)
	for i := range w {
		w[i] = r.pick(fill)
	}
	pos := r.perm(n)[:len(spanCategories)]
	for k, c := range spanCategories {
		w[pos[k]] = r.pick(*c.words)
	}
	k := r.intn(len(spanCategories))
	start := 0
	for _, x := range w[:pos[k]] {
		start += len(x) + 1
	}
	return spanEx{Context: w, Question: "which " + spanCategories[k].name + " ?", Answer: w[pos[k]], AnswerStart: start}
}

func singleTSV(r *rng, n int) []byte {
	var b bytes.Buffer
	b.WriteString("sentence\tlabel\n")
	for range n {
		ex := genSingle(r)
		fmt.Fprintf(&b, "%s\t%d\n", strings.Join(ex.Words, " "), ex.Label)
	}
	return b.Bytes()
}

func pairTSV(r *rng, n int) []byte {
	var b bytes.Buffer
	b.WriteString("index\tsentence1\tsentence2\tlabel\n")
	for i := range n {
		ex := genPair(r)
		fmt.Fprintf(&b, "%d\t%s\t%s\t%s\n", i, strings.Join(ex.A, " "), strings.Join(ex.B, " "), ex.Label)
	}
	return b.Bytes()
}

func regTSV(r *rng, n int) []byte {
	var b bytes.Buffer
	b.WriteString("index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore\n")
	for i := range n {
		ex := genReg(r)
		fmt.Fprintf(&b, "%d\tsynthetic\tsyn-reg\t2024\t%04d\tnone\tnone\t%s\t%s\t%s\n",
			i, i, strings.Join(ex.A, " "), strings.Join(ex.B, " "), strconv.FormatFloat(ex.Score, 'f', 3, 64))
	}
	return b.Bytes()
}

// SQuAD v1.1 JSON, one paragraph per question.
type (
	squadFile struct {
		Version string         `json:"version"`
		Data    []squadArticle `json:"data"`
	}
	squadArticle struct {
		Title      string           `json:"title"`
		Paragraphs []squadParagraph `json:"paragraphs"`
	}
	squadParagraph struct {
		Context string    `json:"context"`
		QAs     []squadQA `json:"qas"`
	}
	squadQA struct {
		ID       string        `json:"id"`
		Question string        `json:"question"`
		Answers  []squadAnswer `json:"answers"`
	}
	squadAnswer struct {
		AnswerStart int    `json:"answer_start"`
		Text        string `json:"text"`
	}
)

func spanJSON(r *rng, n int, name string) ([]byte, error) {
	f := squadFile{Version: "1.1", Data: []squadArticle{{Title: name}}}
	for i := range n {
		ex := genSpan(r)
		f.Data[0].Paragraphs = append(f.Data[0].Paragraphs, squadParagraph{
			Context: strings.Join(ex.Context, " "),
			QAs: []squadQA{{ID: fmt.Sprintf("%s-%06d", name, i), Question: ex.Question,
				Answers: []squadAnswer{{AnswerStart: ex.AnswerStart, Text: ex.Answer}}}},
		})
	}
	b, err := json.Marshal(f)
	if err != nil {
		return nil, fmt.Errorf("synthetic %s: %w", name, err)
	}
	return append(b, '\n'), nil
}
