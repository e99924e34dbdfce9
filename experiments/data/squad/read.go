// Package squad reads SQuAD v1.1 (JSON or Hugging Face parquet) and the
// built-in syn-span task, turns questions into max-length/doc-stride
// features as Hugging Face's run_qa.py does, and maps start/end logits back
// to answer texts.
package squad

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/cofiharness/cofi/experiments/data"
	"github.com/cofiharness/cofi/experiments/data/hfparquet"
	"github.com/cofiharness/cofi/task"
)

// Answer is one gold answer: its text and where it starts in the context,
// in code points (Python string indices), as SQuAD's answer_start.
type Answer struct {
	Text  string
	Start int
}

// Example is one question about one context.
type Example struct {
	ID       string
	Title    string
	Question string
	Context  string
	Answers  []Answer
}

// Source is an on-disk form of the data.
type Source string

const (
	Auto    Source = ""
	JSON    Source = "json"    // train-v1.1.json / dev-v1.1.json
	Parquet Source = "parquet" // HF rajpurkar/squad plain_text/{train,validation}-*.parquet
)

// Set is one split as read from disk.
type Set struct {
	Task, Split string // canonical task name; "train" or the eval set name
	Path        string
	Source      Source
	Examples    []Example
	// Mismatched lists the gold answers whose text is not the context at
	// answer_start (real SQuAD has a few); they are kept, as HF does, and
	// counted in the stage record (data.IssueAnswerMismatch).
	Mismatched []Mismatch
	Answers    int // gold answers read, mismatched included
}

// A Mismatch is a gold answer whose text is not found at its answer_start.
type Mismatch struct {
	ID     string // question id
	Answer int    // index in the question's answers
	Where  string // "file:line" (JSON) or "file: row N" (parquet)
	Reason string
}

func (m Mismatch) String() string {
	return fmt.Sprintf("%s: %s#%d: %s", m.Where, m.ID, m.Answer, m.Reason)
}

// mismatch says why text is not at start in ctx, "" when it is.
func mismatch(ctx []rune, text string, start int) string {
	if answerMatches(ctx, text, start) {
		return ""
	}
	n := utf8.RuneCountInString(text)
	switch {
	case start < 0 || start+n > len(ctx):
		return fmt.Sprintf("answer %q at answer_start %d runs past the context's %d characters", text, start, len(ctx))
	}
	s := string(ctx)
	if start <= len(s)-len(text) && s[start:start+len(text)] == text {
		return fmt.Sprintf("answer %q is at byte %d, not character %d: answer_start counts bytes, SQuAD counts characters", text, start, start)
	}
	return fmt.Sprintf("the context has %q at answer_start %d, not the answer %q", string(ctx[start:start+n]), start, text)
}

// Golds maps each question id to its gold answer texts (metrics.Span's input).
func (s *Set) Golds() map[string][]string { return golds(s.Examples) }

func golds(exs []Example) map[string][]string {
	out := make(map[string][]string, len(exs))
	for _, ex := range exs {
		texts := make([]string, len(ex.Answers))
		for i, a := range ex.Answers {
			texts[i] = a.Text
		}
		out[ex.ID] = texts
	}
	return out
}

// layout says where a task's files live.
type layout struct {
	dirs     []string // subdirectories to look in (case-insensitive), then dir itself
	json     map[string]string
	hfSplits map[string]string
}

var layouts = map[string]layout{
	"squad": {dirs: []string{"SQuAD", "squad", "squad1.1", "squad-v1.1", "rajpurkar-squad"},
		json:     map[string]string{"train": "train-v1.1.json", "squad": "dev-v1.1.json"},
		hfSplits: map[string]string{"train": "train", "squad": "validation"}},
	"syn-span": {dirs: []string{"SYN-SPAN"},
		json: map[string]string{"train": "train-v1.1.json", "syn-span": "dev-v1.1.json"}},
}

// Dir returns the directory name the synthetic writer uses for a task.
func Dir(taskName string) (string, error) {
	_, l, err := lookup(taskName)
	if err != nil {
		return "", err
	}
	return l.dirs[0], nil
}

func lookup(taskName string) (task.Task, layout, error) {
	t, err := task.Lookup(taskName)
	if err != nil {
		return t, layout{}, err
	}
	l, ok := layouts[t.Name]
	if !ok {
		return t, l, fmt.Errorf("task %s is not a span task", t.Name)
	}
	return t, l, nil
}

func resolveSplit(t task.Task, split string) (string, error) {
	sp := strings.ToLower(strings.TrimSpace(split))
	switch {
	case sp == "train":
		return "train", nil
	case slices.Contains(t.EvalSets, sp), sp == "dev", sp == "validation":
		return t.EvalSets[0], nil
	}
	return "", fmt.Errorf("task %s: unknown split %q; want train or %s", t.Name, split, strings.Join(t.EvalSets, ", "))
}

// Load reads one split ("train" or the task's eval set, also "dev" or
// "validation") of squad or syn-span from dir. It looks in dir/SQuAD (or
// dir/squad, ...; dir/SYN-SPAN for syn-span) and then dir itself; with src
// Auto the JSON file wins over parquet, which is looked for as
// plain_text/<split>-*.parquet, <split>-*.parquet or plain_text/<split>/*.parquet.
func Load(dir, taskName, split string, src Source) (*Set, error) {
	t, l, err := lookup(taskName)
	if err != nil {
		return nil, err
	}
	canon, err := resolveSplit(t, split)
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	var cands []string
	for _, n := range l.dirs {
		for _, e := range entries {
			p := filepath.Join(dir, e.Name())
			if e.IsDir() && strings.EqualFold(e.Name(), n) && !slices.Contains(cands, p) {
				cands = append(cands, p)
			}
		}
	}
	cands = append(cands, dir)
	var tried []string
	if src == Auto || src == JSON {
		for _, d := range cands {
			p := filepath.Join(d, l.json[canon])
			if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
				set, err := ReadJSONFile(p)
				if err != nil {
					return nil, err
				}
				set.Task, set.Split = t.Name, canon
				return set, nil
			}
			tried = append(tried, p)
		}
	}
	if (src == Auto || src == Parquet) && l.hfSplits != nil {
		hf := l.hfSplits[canon]
		for _, d := range cands {
			for _, pat := range []string{
				filepath.Join(d, "plain_text", hf+"-*.parquet"),
				filepath.Join(d, hf+"-*.parquet"),
				filepath.Join(d, "plain_text", hf, "*.parquet"),
			} {
				files, _ := filepath.Glob(pat)
				if len(files) == 0 {
					tried = append(tried, pat)
					continue
				}
				sort.Strings(files)
				set, err := ReadParquet(files)
				if err != nil {
					return nil, err
				}
				set.Task, set.Split = t.Name, canon
				return set, nil
			}
		}
	}
	if src == Parquet && l.hfSplits == nil {
		return nil, fmt.Errorf("task %s has no parquet form", t.Name)
	}
	return nil, data.NotFound("no %s %s data under %s (tried %s)", t.Name, split, dir, strings.Join(tried, ", "))
}

// SyntaxError is malformed or unexpected JSON, located by line and column
// (1-based; columns count bytes).
type SyntaxError struct {
	Path         string
	Offset       int64
	Line, Column int
	Msg          string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s", e.Path, e.Line, e.Column, e.Msg)
}

// ReadJSONFile reads a SQuAD v1.1 JSON file.
func ReadJSONFile(path string) (*Set, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load squad: %w", err)
	}
	return ReadJSON(b, path)
}

// ReadJSON parses SQuAD v1.1 JSON: {"version", "data": [{"title",
// "paragraphs": [{"context", "qas": [{"id", "question", "answers":
// [{"answer_start", "text"}]}]}]}]}. Unknown keys are ignored. Malformed
// JSON, a missing or mistyped field and a duplicate id are errors located
// by line:column; an answer_start that does not point at its text is only
// counted in Set.Mismatched.
func ReadJSON(b []byte, path string) (*Set, error) {
	p := &jsonParser{b: b, path: path, dec: json.NewDecoder(bytes.NewReader(b)), ids: map[string]bool{}, line: 1}
	p.dec.UseNumber()
	p.set = &Set{Path: path, Source: JSON}
	if err := p.top(); err != nil {
		return nil, err
	}
	if len(p.set.Examples) == 0 {
		return nil, fmt.Errorf("%s: no questions", path)
	}
	return p.set, nil
}

type jsonParser struct {
	b       []byte
	path    string
	line    int   // lineAt's line at lineOff
	lineOff int64 //
	dec     *json.Decoder
	set     *Set
	ids     map[string]bool
	data    bool
}

// errAt builds a located error at a byte offset.
// lineAt is the 1-based line of byte offset off, counted on from the last
// call (offsets only grow while parsing), so many lookups stay linear.
func (p *jsonParser) lineAt(off int64) int {
	off = min(max(off, p.lineOff), int64(len(p.b)))
	p.line += bytes.Count(p.b[p.lineOff:off], []byte{'\n'})
	p.lineOff = off
	return p.line
}

func (p *jsonParser) errAt(off int64, format string, args ...any) error {
	off = min(max(off, 0), int64(len(p.b)))
	line := 1 + bytes.Count(p.b[:off], []byte{'\n'})
	col := int(off) + 1
	if i := bytes.LastIndexByte(p.b[:off], '\n'); i >= 0 {
		col = int(off) - i
	}
	return &SyntaxError{Path: p.path, Offset: off, Line: line, Column: col, Msg: fmt.Sprintf(format, args...)}
}

// wrap turns a decoder error into a located one. base is where the value
// being decoded starts: the decoder reports type errors relative to it.
func (p *jsonParser) wrap(err error, where string) error { return p.wrapAt(err, where, 0) }

func (p *jsonParser) wrapAt(err error, where string, base int64) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return p.errAt(se.Offset, "%s: malformed JSON: %v", where, se)
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			field = "value"
		}
		return p.errAt(base+te.Offset, "%s: %s is a JSON %s, expected %s", where, field, te.Value, jsonKind(te.Type.String()))
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return p.errAt(int64(len(p.b)), "%s: unexpected end of file", where)
	}
	return p.errAt(p.dec.InputOffset(), "%s: %v", where, err)
}

func jsonKind(goType string) string {
	switch {
	case goType == "string" || goType == "*string":
		return "a string"
	case strings.Contains(goType, "int") || goType == "json.Number":
		return "an integer"
	case strings.HasPrefix(goType, "[]") || strings.HasPrefix(goType, "*[]"):
		return "an array"
	}
	return "a " + goType
}

// next returns the offset where the next value starts.
func (p *jsonParser) next() int64 {
	off := p.dec.InputOffset()
	for off < int64(len(p.b)) {
		switch p.b[off] {
		case ' ', '\t', '\n', '\r', ',', ':':
			off++
			continue
		}
		break
	}
	return off
}

// delim reads an expected delimiter.
func (p *jsonParser) delim(want json.Delim, where string) error {
	off := p.next()
	tok, err := p.dec.Token()
	if err != nil {
		return p.wrap(err, where)
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		what := map[json.Delim]string{'{': "an object", '[': "an array"}[want]
		return p.errAt(off, "%s: expected %s, found %s", where, what, describe(tok))
	}
	return nil
}

func describe(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		return fmt.Sprintf("%q", string(v))
	case string:
		return fmt.Sprintf("string %q", truncate(v))
	case json.Number:
		return "number " + string(v)
	case bool:
		return fmt.Sprint(v)
	case nil:
		return "null"
	}
	return fmt.Sprint(tok)
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// object iterates the keys of an object, calling field for each; field
// must consume the value.
func (p *jsonParser) object(where string, field func(key string) error) error {
	if err := p.delim('{', where); err != nil {
		return err
	}
	for p.dec.More() {
		tok, err := p.dec.Token()
		if err != nil {
			return p.wrap(err, where)
		}
		key, ok := tok.(string)
		if !ok {
			return p.errAt(p.dec.InputOffset(), "%s: expected a key", where)
		}
		if err := field(key); err != nil {
			return err
		}
	}
	if _, err := p.dec.Token(); err != nil { // '}'
		return p.wrap(err, where)
	}
	return nil
}

// array iterates the items of an array; item must consume one value.
func (p *jsonParser) array(where string, item func(i int) error) error {
	if err := p.delim('[', where); err != nil {
		return err
	}
	for i := 0; p.dec.More(); i++ {
		if err := item(i); err != nil {
			return err
		}
	}
	if _, err := p.dec.Token(); err != nil { // ']'
		return p.wrap(err, where)
	}
	return nil
}

func (p *jsonParser) skip(where string) error {
	var v json.RawMessage
	if err := p.dec.Decode(&v); err != nil {
		return p.wrap(err, where)
	}
	return nil
}

func (p *jsonParser) str(where string) (string, error) {
	off := p.next()
	var s *string
	if err := p.dec.Decode(&s); err != nil {
		return "", p.wrapAt(err, where, off)
	}
	if s == nil {
		return "", p.errAt(off, "%s: expected a string, found null", where)
	}
	return *s, nil
}

func (p *jsonParser) top() error {
	err := p.object("top level", func(key string) error {
		if key != "data" {
			return p.skip(key)
		}
		p.data = true
		return p.array("data", func(i int) error { return p.article(fmt.Sprintf("data[%d]", i)) })
	})
	if err != nil {
		return err
	}
	if p.dec.More() {
		return p.errAt(p.next(), "top level: unexpected data after the JSON object")
	}
	if !p.data {
		return p.errAt(0, `top level: no "data" array: not SQuAD JSON`)
	}
	return nil
}

func (p *jsonParser) article(where string) error {
	var title string
	start := len(p.set.Examples)
	err := p.object(where, func(key string) error {
		switch key {
		case "title":
			var err error
			title, err = p.str(where + ".title")
			return err
		case "paragraphs":
			return p.array(where+".paragraphs", func(i int) error {
				return p.paragraph(fmt.Sprintf("%s.paragraphs[%d]", where, i))
			})
		}
		return p.skip(where + "." + key)
	})
	for i := start; i < len(p.set.Examples); i++ {
		p.set.Examples[i].Title = title
	}
	return err
}

// qaJSON is one question; pointers tell a missing field from an empty one.
type qaJSON struct {
	ID       *string `json:"id"`
	Question *string `json:"question"`
	Answers  *[]struct {
		AnswerStart *int    `json:"answer_start"`
		Text        *string `json:"text"`
	} `json:"answers"`
}

type pendingQA struct {
	off   int64
	where string
	qa    qaJSON
}

func (p *jsonParser) paragraph(where string) error {
	var (
		context    string
		hasContext bool
		qas        []pendingQA
	)
	startOff := p.next()
	err := p.object(where, func(key string) error {
		switch key {
		case "context":
			var err error
			context, err = p.str(where + ".context")
			hasContext = true
			return err
		case "qas":
			return p.array(where+".qas", func(i int) error {
				w := fmt.Sprintf("%s.qas[%d]", where, i)
				q := pendingQA{off: p.next(), where: w}
				if err := p.dec.Decode(&q.qa); err != nil {
					return p.wrapAt(err, w, q.off)
				}
				qas = append(qas, q)
				return nil
			})
		}
		return p.skip(where + "." + key)
	})
	if err != nil {
		return err
	}
	if !hasContext {
		return p.errAt(startOff, `%s: missing "context"`, where)
	}
	ctx := []rune(context)
	for _, q := range qas {
		ex, err := p.example(q, context, ctx)
		if err != nil {
			return err
		}
		p.set.Examples = append(p.set.Examples, ex)
	}
	return nil
}

func (p *jsonParser) example(q pendingQA, context string, ctx []rune) (Example, error) {
	switch {
	case q.qa.ID == nil:
		return Example{}, p.errAt(q.off, `%s: missing "id"`, q.where)
	case q.qa.Question == nil:
		return Example{}, p.errAt(q.off, `%s: missing "question"`, q.where)
	case q.qa.Answers == nil:
		return Example{}, p.errAt(q.off, `%s: missing "answers"`, q.where)
	case p.ids[*q.qa.ID]:
		return Example{}, p.errAt(q.off, "%s: duplicate id %q", q.where, *q.qa.ID)
	}
	p.ids[*q.qa.ID] = true
	ex := Example{ID: *q.qa.ID, Question: *q.qa.Question, Context: context}
	for k, a := range *q.qa.Answers {
		if a.AnswerStart == nil || a.Text == nil {
			return Example{}, p.errAt(q.off, `%s.answers[%d]: expected "answer_start" (integer) and "text" (string)`, q.where, k)
		}
		ex.Answers = append(ex.Answers, Answer{Text: *a.Text, Start: *a.AnswerStart})
		p.set.Answers++
		if why := mismatch(ctx, *a.Text, *a.AnswerStart); why != "" {
			p.set.Mismatched = append(p.set.Mismatched, Mismatch{ID: ex.ID, Answer: k, Where: fmt.Sprintf("%s:%d", p.path, p.lineAt(q.off)), Reason: why})
		}
	}
	return ex, nil
}

// answerMatches reports whether text is found in the context at start
// (code points).
func answerMatches(ctx []rune, text string, start int) bool {
	n := utf8.RuneCountInString(text)
	return start >= 0 && start+n <= len(ctx) && string(ctx[start:start+n]) == text
}

// ReadParquet reads the shards of one split of HF's rajpurkar/squad export
// (columns id, title, context, question, answers{text, answer_start}).
func ReadParquet(files []string) (*Set, error) {
	if len(files) == 0 {
		return nil, errors.New("no parquet files")
	}
	set := &Set{Path: files[0], Source: Parquet}
	seen := map[string]bool{}
	for _, path := range files {
		tb, err := hfparquet.Read(path, "id", "title", "context", "question", "answers.text", "answers.answer_start")
		if err != nil {
			return nil, err
		}
		ids, err := tb.Strings("id")
		var titles, contexts, questions []string
		var texts [][]string
		var starts [][]int64
		if err == nil {
			titles, err = tb.Strings("title")
		}
		if err == nil {
			contexts, err = tb.Strings("context")
		}
		if err == nil {
			questions, err = tb.Strings("question")
		}
		if err == nil {
			texts, err = tb.StringLists("answers.text")
		}
		if err == nil {
			starts, err = tb.IntLists("answers.answer_start")
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		var ctxRunes []rune
		var lastCtx string
		for i := range ids {
			if len(texts[i]) != len(starts[i]) {
				return nil, fmt.Errorf("%s: row %d: %d answer texts but %d answer_start values", path, i, len(texts[i]), len(starts[i]))
			}
			if seen[ids[i]] {
				return nil, fmt.Errorf("%s: row %d: duplicate id %q", path, i, ids[i])
			}
			seen[ids[i]] = true
			if contexts[i] != lastCtx || ctxRunes == nil {
				ctxRunes, lastCtx = []rune(contexts[i]), contexts[i]
			}
			ex := Example{ID: ids[i], Title: titles[i], Question: questions[i], Context: contexts[i]}
			for k, t := range texts[i] {
				ex.Answers = append(ex.Answers, Answer{Text: t, Start: int(starts[i][k])})
				set.Answers++
				if why := mismatch(ctxRunes, t, int(starts[i][k])); why != "" {
					set.Mismatched = append(set.Mismatched, Mismatch{ID: ex.ID, Answer: k, Where: fmt.Sprintf("%s: row %d", path, i), Reason: why})
				}
			}
			set.Examples = append(set.Examples, ex)
		}
	}
	if len(set.Examples) == 0 {
		return nil, fmt.Errorf("%s: no questions", files[0])
	}
	return set, nil
}
