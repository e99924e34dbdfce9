package metrics

import (
	"errors"
	"strings"
	"unicode"
)

// NormalizeAnswer is the official SQuAD v1.1 evaluation's normalize_answer:
// lower-case, remove ASCII punctuation, replace the articles a/an/the
// (whole words) by a space, and collapse whitespace.
func NormalizeAnswer(s string) string {
	s = strings.ToLower(s)
	s = strings.Map(func(r rune) rune {
		if isASCIIPunct(r) {
			return -1
		}
		return r
	}, s)
	s = removeArticles(s)
	return strings.Join(strings.FieldsFunc(s, isPySpace), " ")
}

// isASCIIPunct is Python's string.punctuation.
func isASCIIPunct(r rune) bool {
	return (r >= 33 && r <= 47) || (r >= 58 && r <= 64) || (r >= 91 && r <= 96) || (r >= 123 && r <= 126)
}

// isPySpace is Python's str.isspace, which str.split() splits on: Unicode
// whitespace plus the information separators U+001C..U+001F.
func isPySpace(r rune) bool { return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f) }

// isWord is Python's Unicode \w: alphanumeric or underscore.
func isWord(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r) }

// removeArticles is re.sub(r'\b(a|an|the)\b', ' ', s) with Unicode \b.
func removeArticles(s string) string {
	rs := []rune(s)
	out := make([]rune, 0, len(rs))
	for i := 0; i < len(rs); {
		matched := false
		if i == 0 || !isWord(rs[i-1]) {
			for _, art := range [...]string{"a", "an", "the"} {
				n := len(art) // ASCII
				if i+n <= len(rs) && string(rs[i:i+n]) == art && (i+n == len(rs) || !isWord(rs[i+n])) {
					out = append(out, ' ')
					i += n
					matched = true
					break
				}
			}
		}
		if !matched {
			out = append(out, rs[i])
			i++
		}
	}
	return string(out)
}

// ExactMatch reports whether prediction and gold are equal after NormalizeAnswer.
func ExactMatch(pred, gold string) bool { return NormalizeAnswer(pred) == NormalizeAnswer(gold) }

// TokenF1 is the official F1 between the bags of normalised tokens of a
// prediction and one gold answer (0 when they share no token, including
// when either is empty).
func TokenF1(pred, gold string) float64 {
	p := strings.Fields(NormalizeAnswer(pred))
	g := strings.Fields(NormalizeAnswer(gold))
	counts := map[string]int{}
	for _, t := range g {
		counts[t]++
	}
	same := 0
	for _, t := range p {
		if counts[t] > 0 {
			counts[t]--
			same++
		}
	}
	if same == 0 {
		return 0
	}
	prec := float64(same) / float64(len(p))
	rec := float64(same) / float64(len(g))
	return 2 * prec * rec / (prec + rec)
}

// SQuAD scores predictions (question id -> answer text) against the gold
// answers of each question, taking the best over the golds per question, as
// the official v1.1 script. Every gold question counts: one without a
// prediction scores 0. Returns fractions.
func SQuAD(pred map[string]string, gold map[string][]string) (em, f1 float64, err error) {
	if len(gold) == 0 {
		return 0, 0, errors.New("no gold questions")
	}
	for id, answers := range gold {
		p, ok := pred[id]
		if !ok {
			continue
		}
		var bestEM, bestF1 float64
		for _, g := range answers {
			if ExactMatch(p, g) {
				bestEM = 1
			}
			bestF1 = max(bestF1, TokenF1(p, g))
		}
		em += bestEM
		f1 += bestF1
	}
	n := float64(len(gold))
	return em / n, f1 / n, nil
}
