package augment

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"unicode"
)

// GloVe holds the unit-normalised vectors of the first words of a GloVe
// file (text format: a word, then its components, space-separated, one word
// a line), for nearest-neighbour search by cosine similarity as
// data_augmentation.py's prepare_embedding_retrieval and _word_distance do.
type GloVe struct {
	words []string
	index map[string]int // word -> row; a repeated word maps to its last line, as the authors' dict does
	dim   int
	vecs  []float64 // len(words)*dim, rows normalised; a zero row is excluded from search
	valid []bool    // false for zero rows: "<unk>", and earlier lines of repeated words
	cache map[string][]string
}

// ReadGloVe reads the first maxWords lines of a GloVe text file.
func ReadGloVe(path string, maxWords int) (*GloVe, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("GloVe vectors: %w", err)
	}
	defer f.Close()
	g, err := ParseGloVe(f, path, maxWords)
	if err != nil {
		return nil, err
	}
	return g, nil
}

// ParseGloVe reads GloVe vectors from r (name is used in messages).
func ParseGloVe(r io.Reader, name string, maxWords int) (*GloVe, error) {
	g := &GloVe{index: map[string]int{}, cache: map[string][]string{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	var raw [][]float64
	line := 0
	for len(g.words) < maxWords && sc.Scan() {
		line++
		items := strings.Fields(sc.Text())
		if len(items) == 0 {
			return nil, fmt.Errorf("%s:%d: empty line: want a word and its vector", name, line)
		}
		if len(items) < 2 {
			return nil, fmt.Errorf("%s:%d: %q has no vector", name, line, items[0])
		}
		v := make([]float64, len(items)-1)
		for i, s := range items[1:] {
			x, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return nil, fmt.Errorf("%s:%d: component %d of %q: %q is not a number", name, line, i+1, items[0], s)
			}
			v[i] = x
		}
		if g.dim == 0 {
			g.dim = len(v)
		} else if len(v) != g.dim {
			return nil, fmt.Errorf("%s:%d: %q has %d components, the first line %d", name, line, items[0], len(v), g.dim)
		}
		g.index[items[0]] = len(g.words)
		g.words = append(g.words, items[0])
		raw = append(raw, v)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(g.words) == 0 {
		return nil, fmt.Errorf("%s: no vectors", name)
	}
	g.vecs = make([]float64, len(g.words)*g.dim)
	g.valid = make([]bool, len(g.words))
	for i, v := range raw {
		// Only the last line of a word fills its row, and "<unk>" none.
		if g.words[i] == "<unk>" || g.index[g.words[i]] != i {
			continue
		}
		n := 0.0
		for _, x := range v {
			n += x * x
		}
		if n == 0 {
			continue
		}
		n = math.Sqrt(n)
		for j, x := range v {
			g.vecs[i*g.dim+j] = x / n
		}
		g.valid[i] = true
	}
	return g, nil
}

// Len is the number of words read.
func (g *GloVe) Len() int { return len(g.words) }

// Nearest returns the m words most similar to word (cosine), itself
// excluded, most similar first (ties: the earlier line first); none when the
// word is not among the words read. A title-case word gets title-case
// candidates, as _word_distance does.
func (g *GloVe) Nearest(word string, m int) []string {
	if c, ok := g.cache[word]; ok {
		return c
	}
	out := g.nearest(word, m)
	g.cache[word] = out
	return out
}

func (g *GloVe) nearest(word string, m int) []string {
	w, ok := g.index[word]
	if !ok || !g.valid[w] {
		// A word without a vector: the authors' NaN row sorts last, so none of
		// its "neighbours" would be meaningful either.
		return nil
	}
	q := g.vecs[w*g.dim : (w+1)*g.dim]
	type cand struct {
		i   int
		sim float64
	}
	var cs []cand
	for i := range g.words {
		if i == w || !g.valid[i] {
			continue
		}
		row := g.vecs[i*g.dim : (i+1)*g.dim]
		s := 0.0
		for j, x := range row {
			s += x * q[j]
		}
		cs = append(cs, cand{i, s})
	}
	sort.SliceStable(cs, func(a, b int) bool { return cs[a].sim > cs[b].sim })
	if len(cs) > m {
		cs = cs[:m]
	}
	title := isTitle(word)
	out := make([]string, len(cs))
	for k, c := range cs {
		out[k] = g.words[c.i]
		if title {
			out[k] = toTitle(out[k])
		}
	}
	return out
}

// isTitle is Python's str.istitle for one word: an upper-case letter first,
// no upper-case letter after a cased one.
func isTitle(s string) bool {
	cased, prevCased := false, false
	for _, r := range s {
		switch {
		case unicode.IsUpper(r) || unicode.IsTitle(r):
			if prevCased {
				return false
			}
			prevCased, cased = true, true
		case unicode.IsLower(r):
			if !prevCased {
				return false
			}
			prevCased, cased = true, true
		default:
			prevCased = false
		}
	}
	return cased
}

// toTitle is Python's str.title for one word (letters after a non-letter
// start a new word).
func toTitle(s string) string {
	var b strings.Builder
	prev := false
	for _, r := range s {
		if unicode.IsLetter(r) {
			if prev {
				r = unicode.ToLower(r)
			} else {
				r = unicode.ToTitle(r)
			}
			prev = true
		} else {
			prev = false
		}
		b.WriteRune(r)
	}
	return b.String()
}
