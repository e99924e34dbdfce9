// Package runs turns run records into what reports and comparisons need: one
// Run per (task, method, target sparsity, seed), with the deciding attempt of
// each of its stages. It reads records only; it never needs the trainer.
//
// Rules, in one place:
//   - a stage's latest attempt decides (ordered by end time, then by position
//     in the records files, which is append order). When it failed, the
//     stage's outputs are missing and the failure is the reason shown; an
//     older successful attempt is not used, because it may be stale.
//   - several configurations (stage ids) for one key and kind: the latest
//     attempt across them decides, and a warning says so.
//   - a run's score comes from its final stage, or from its prune stage when
//     there is no final record at all; its speed from its speed stage; size and
//     structure from the stage that gave the score.
//   - teacher stages are keyed as method "teacher", sparsity 0, whatever
//     method the cell that triggered them had.
//   - a stage whose record carries a sweep setting belongs to that setting's
//     candidate; stages without one (the teacher, a shared prune stage) to
//     every candidate of the key. The sweep's rule then picks one candidate
//     (best: the highest selection metric among candidates with a score of
//     their own, ties to the earlier setting), which is the key's Run;
//     Selection keeps all of them (Set.Every lists them).
//   - runs whose stages held out part of train (Key.Heldout) are separate
//     keys; Select leaves them out, SelectHeldout returns them.
package runs

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/cofiharness/cofi/method"
	"github.com/cofiharness/cofi/record"
	"github.com/cofiharness/cofi/task"
)

// RecordsFile is the name of an experiment's records file.
const RecordsFile = "records.jsonl"

// Key identifies a run.
type Key struct {
	Task     string  `json:"task"`
	Method   string  `json:"method"`
	Sparsity float64 `json:"sparsity"` // target sparsity, rounded to 1e-4; 0 for unpruned models
	Seed     int64   `json:"seed"`
	// Heldout is the fraction of the training set its stages held out (and
	// selected on); 0 for the authors' protocol. Tables show Heldout = 0.
	Heldout float64 `json:"heldout,omitempty"`
}

func (k Key) String() string {
	s := k.Task + " " + k.Method
	if k.Sparsity > 0 {
		s += " " + Percent(k.Sparsity)
	}
	s = fmt.Sprintf("%s seed %d", s, k.Seed)
	if k.Heldout > 0 {
		s += fmt.Sprintf(", %s of train held out", Percent(k.Heldout))
	}
	return s
}

// Percent prints a sparsity fraction as the paper does: "95%", "92.4%".
func Percent(s float64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.1f", s*100), "0"), ".") + "%"
}

// RoundSparsity rounds a sparsity to the precision runs are keyed with.
func RoundSparsity(s float64) float64 { return math.Round(s*1e4) / 1e4 }

// Stage is the outcome of one stage kind of a run.
type Stage struct {
	Kind           string
	Record         record.Record // the deciding (latest) attempt
	Attempts       int           // attempts seen for this key and kind
	Configurations int           // distinct stage ids seen for this key and kind
	Source         string        // "file:N" of the deciding record (N = record number in the file)
	File           string        // the records file of the deciding record
	EarlierOK      bool          // an earlier attempt succeeded but a later one failed
}

// OK reports whether the deciding attempt succeeded and has a result.
func (s *Stage) OK() bool {
	return s != nil && s.Record.Status == record.StatusOK && s.Record.Result != nil
}

// Dir is the stage's directory: the record's, under the directory of its
// records file (the experiment directory); "" when the record names none.
func (s *Stage) Dir() string {
	if s == nil || s.Record.Dir == "" {
		return ""
	}
	if filepath.IsAbs(s.Record.Dir) {
		return s.Record.Dir
	}
	return filepath.Join(filepath.Dir(s.File), s.Record.Dir)
}

// Reason says why a stage has no usable result.
func (s *Stage) Reason() string {
	if s == nil {
		return "no record"
	}
	r := s.Record
	switch {
	case r.Status == record.StatusFailed && r.Failure != nil:
		msg := fmt.Sprintf("%s stage failed (%s): %s", s.Kind, r.Failure.Class, oneLine(r.Failure.Message))
		if s.Attempts > 1 {
			msg += fmt.Sprintf(" [attempt %d of %d]", r.Attempt, s.Attempts)
		}
		return msg
	case r.Status == record.StatusFailed:
		return fmt.Sprintf("%s stage failed", s.Kind)
	case r.Result == nil:
		return fmt.Sprintf("%s stage has no result", s.Kind)
	}
	return ""
}

// Brief shortens a reason made by Reason to the stage, its failure class and
// attempt: "final stage failed (oom) [attempt 2 of 2]", without the log text
// of the message (tables keep that for the table of runs). Other reasons are
// returned as they are.
func Brief(reason string) string {
	i := strings.Index(reason, " stage failed (")
	if i < 0 {
		return reason
	}
	j := strings.Index(reason[i:], ")")
	if j < 0 {
		return reason
	}
	out := reason[:i+j+1]
	if k := strings.LastIndex(reason, " [attempt "); k > i+j && strings.HasSuffix(reason, "]") {
		out += reason[k:]
	}
	return out
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 160 {
		s = s[:157] + "..."
	}
	return s
}

// Run is one (task, method, sparsity, seed) with its stages by kind. A
// swept cell's Run is the candidate its sweep's rule selected, with every
// candidate in Selection.
type Run struct {
	Key
	Stages    map[string]*Stage
	Selection *Selection // nil unless the run was selected from a sweep
	Candidate *Candidate // set on the candidates of a sweep (the selected one too)
}

// scoreKinds are the stage kinds that can give a run its score, in order of preference.
var scoreKinds = []string{record.KindFinal, record.KindPrune, record.KindBaseline, record.KindTeacher, record.KindEval}

// Main returns the stage that gives the run its score: final, else prune,
// else baseline, teacher or eval; nil when the run has none of them.
func (r *Run) Main() *Stage {
	for _, k := range scoreKinds {
		if s, ok := r.Stages[k]; ok {
			return s
		}
	}
	return nil
}

// Value is a number taken from a run, or why there is none.
type Value struct {
	V      float64
	OK     bool
	Reason string // why missing
	Note   string // a caveat when present (e.g. "score from the prune stage")
}

// Score returns the metric (a "<evalset>/<metric>" key) from the run's main stage.
func (r *Run) Score(metric string) Value {
	s := r.Main()
	if s == nil {
		return Value{Reason: "no training or evaluation record"}
	}
	if !s.OK() {
		return Value{Reason: s.Reason()}
	}
	v, ok := s.Record.Result.Metric(metric)
	if !ok {
		return Value{Reason: fmt.Sprintf("%s stage reported no %s", s.Kind, metric)}
	}
	val := Value{V: v, OK: true}
	if s.Kind == record.KindPrune {
		val.Note = "score from the prune stage: no final fine-tuning record"
	}
	if r.Selection != nil {
		val.Note = joinNotes(val.Note, r.Selection.String())
	}
	return val
}

func joinNotes(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "; " + b
}

// Headline returns the metric the paper reports for the run's task.
func (r *Run) Headline() Value {
	t, err := task.Lookup(r.Task)
	if err != nil {
		return Value{Reason: err.Error()}
	}
	return r.Score(t.Headline)
}

// Latency returns the speed stage's timings, or why there are none.
func (r *Run) Latency() (*record.Latency, string) {
	s, ok := r.Stages[record.KindSpeed]
	if !ok {
		return nil, "no speed record"
	}
	if !s.OK() {
		return nil, s.Reason()
	}
	if s.Record.Result.Latency == nil {
		return nil, "speed stage reported no latency"
	}
	return s.Record.Result.Latency, ""
}

// Speedup returns the speed stage's speedup over the unpruned model.
func (r *Run) Speedup() Value {
	l, why := r.Latency()
	if l == nil {
		return Value{Reason: why}
	}
	if l.Speedup <= 0 {
		return Value{Reason: "speed stage reported no speedup"}
	}
	return Value{V: l.Speedup, OK: true}
}

// resultWith returns the first OK stage among final, prune, baseline, teacher
// whose result has the field sel selects.
func (r *Run) resultWith(sel func(*record.Result) bool) (*record.Result, string) {
	m := r.Main()
	if m == nil {
		return nil, "no training record"
	}
	if !m.OK() {
		return nil, m.Reason()
	}
	if sel(m.Record.Result) {
		return m.Record.Result, ""
	}
	// The final stage of a compact model may not restate its structure; the
	// prune stage that produced it does.
	if m.Kind == record.KindFinal {
		if p := r.Stages[record.KindPrune]; p.OK() && sel(p.Record.Result) {
			return p.Record.Result, ""
		}
	}
	return nil, m.Kind + " stage reported none"
}

// Size returns the model size counted as the paper does.
func (r *Run) Size() (*record.Size, string) {
	res, why := r.resultWith(func(x *record.Result) bool { return x.Size != nil })
	if res == nil {
		return nil, why
	}
	return res.Size, ""
}

// Structure returns what remains of the encoder.
func (r *Run) Structure() (*record.Structure, string) {
	res, why := r.resultWith(func(x *record.Result) bool { return x.Structure != nil })
	if res == nil {
		return nil, why
	}
	return res.Structure, ""
}

// TrainSeconds sums the training time of the run's own training stages
// (prune + final, or baseline, or teacher), as the paper's train-time column
// counts a method's cost without the teacher it distils from.
func (r *Run) TrainSeconds() Value {
	kinds := []string{record.KindPrune, record.KindFinal, record.KindBaseline}
	if r.Method == "teacher" {
		kinds = []string{record.KindTeacher}
	}
	var sum float64
	n := 0
	for _, k := range kinds {
		s, ok := r.Stages[k]
		if !ok {
			continue
		}
		if !s.OK() {
			return Value{Reason: s.Reason()}
		}
		if tr := s.Record.Result.Train; tr != nil && tr.Seconds > 0 {
			sum += tr.Seconds
		} else {
			sum += s.Record.Wall
		}
		n++
	}
	if n == 0 {
		return Value{Reason: "no training record"}
	}
	return Value{V: sum, OK: true}
}

// Failed returns the reasons of every stage of the run whose deciding attempt failed.
func (r *Run) Failed() []string {
	var out []string
	for _, k := range sortedKinds(r.Stages) {
		if s := r.Stages[k]; !s.OK() {
			out = append(out, s.Reason())
		}
	}
	return out
}

var kindOrder = map[string]int{record.KindTeacher: 0, record.KindBaseline: 1, record.KindPrune: 2, record.KindFinal: 3, record.KindSpeed: 4, record.KindEval: 5}

func sortedKinds(m map[string]*Stage) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Slice(ks, func(i, j int) bool {
		oi, iok := kindOrder[ks[i]]
		oj, jok := kindOrder[ks[j]]
		if iok != jok {
			return iok
		}
		if oi != oj {
			return oi < oj
		}
		return ks[i] < ks[j]
	})
	return ks
}

// Set is every run found in some records files.
type Set struct {
	Runs     []*Run
	Evals    []Eval   // checkpoints evaluated by cofi eval (LoadEvals, or eval records that name one)
	Nights   []Night  // the records split by code version, oldest first; nil when of one version
	Sources  []string // records files read
	Problems []string // unusable lines ("file: line N: ...")
	Warnings []string // ambiguities resolved by the rules above
}

// Resolve maps a command-line argument to a records file: an experiment
// directory means its records.jsonl.
func Resolve(p string) (string, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return "", fmt.Errorf("records %s: %w", p, err)
	}
	if fi.IsDir() {
		f := filepath.Join(p, RecordsFile)
		if _, err := os.Stat(f); err != nil {
			return "", fmt.Errorf("experiment %s: no %s: %w", p, RecordsFile, err)
		}
		return f, nil
	}
	return p, nil
}

// Load reads records files or experiment directories.
func Load(paths ...string) (*Set, error) {
	var all []sourced
	var sources, problems []string
	for _, p := range paths {
		f, err := Resolve(p)
		if err != nil {
			return nil, err
		}
		recs, probs, err := record.ReadFile(f)
		if err != nil {
			return nil, err
		}
		sources = append(sources, f)
		for _, pr := range probs {
			problems = append(problems, fmt.Sprintf("%s: %s", f, pr))
		}
		for i, r := range recs {
			all = append(all, sourced{r, f, i + 1})
		}
	}
	s := build(all)
	s.Sources = sources
	s.Problems = problems
	s.Nights = nights(all)
	return s, nil
}

// FromRecords builds a set from records in memory (src names them in messages).
func FromRecords(src string, recs []record.Record) *Set {
	all := make([]sourced, len(recs))
	for i, r := range recs {
		all[i] = sourced{r, src, i + 1}
	}
	s := build(all)
	s.Sources = []string{src}
	s.Nights = nights(all)
	return s
}

type sourced struct {
	rec  record.Record
	file string
	n    int // record number in file
}

// KeyOf returns the run key of a record.
func KeyOf(r record.Record) Key {
	k := Key{Task: r.Task, Method: r.Method, Seed: r.Seed}
	if h, ok := r.Params["heldout"].(float64); ok && h > 0 {
		k.Heldout = h
	}
	if r.StageKind == record.KindTeacher {
		k.Method = "teacher"
		return k
	}
	sp := r.Sparsity
	if sp == 0 {
		if v, ok := r.Params["target_sparsity"].(float64); ok {
			sp = v
		}
	}
	if m, err := method.Lookup(r.Method); err == nil && m.Family != method.CoFi {
		sp = 0 // only CoFi cells are keyed by a target sparsity
	}
	k.Sparsity = RoundSparsity(sp)
	return k
}

func build(all []sourced) *Set {
	// Later wins: order by end time (a record without one counts as oldest),
	// then by append order across the files as given.
	sort.SliceStable(all, func(i, j int) bool { return all[i].rec.End.Before(all[j].rec.End) })
	type kk struct {
		Key
		kind  string
		group string // sweep group and setting of the stage, "" when it depends on none
		index int
	}
	type acc struct {
		last     sourced
		attempts int
		ids      map[string]bool
		versions map[string]bool // code versions (nights) among the attempts
		okBefore bool
	}
	groups := map[kk]*acc{}
	var order []kk
	for _, s := range all {
		g := kk{Key: KeyOf(s.rec), kind: s.rec.StageKind, index: -1}
		if sw := s.rec.Sweep; sw != nil {
			g.group, g.index = sw.Group, sw.Index
		}
		a, ok := groups[g]
		if !ok {
			a = &acc{ids: map[string]bool{}, versions: map[string]bool{}}
			groups[g] = a
			order = append(order, g)
		} else if a.last.rec.Status == record.StatusOK {
			a.okBefore = true
		}
		a.last = s
		a.attempts++
		a.ids[s.rec.Stage] = true
		v, _ := version(s)
		a.versions[v] = true
	}
	set := &Set{}
	byKey := map[Key]*Run{}
	cands := map[Key]*sweepStages{}
	for _, g := range order {
		a := groups[g]
		r, ok := byKey[g.Key]
		if !ok {
			r = &Run{Key: g.Key, Stages: map[string]*Stage{}}
			byKey[g.Key] = r
			set.Runs = append(set.Runs, r)
		}
		st := &Stage{Kind: g.kind, Record: a.last.rec, Attempts: a.attempts, Configurations: len(a.ids),
			Source: fmt.Sprintf("%s:%d", a.last.file, a.last.n), File: a.last.file}
		st.EarlierOK = a.okBefore && a.last.rec.Status != record.StatusOK
		label := g.Key.String()
		if g.group != "" {
			// A stage of one sweep setting: kept apart until selection.
			if cands[g.Key] == nil {
				cands[g.Key] = &sweepStages{}
			}
			cands[g.Key].add(g.group, g.index, st)
			label = fmt.Sprintf("%s setting %d", label, g.index+1)
		} else {
			r.Stages[g.kind] = st
		}
		// A new configuration per version of the code is what an experiment
		// rerun on every commit makes (the nightly grid): no ambiguity.
		if st.Configurations > len(a.versions) {
			set.Warnings = append(set.Warnings, fmt.Sprintf("%s: %d configurations of the %s stage; using the latest (%s)", label, st.Configurations, g.kind, st.Source))
		}
		if st.EarlierOK {
			set.Warnings = append(set.Warnings, fmt.Sprintf("%s: the %s stage's latest attempt failed after an earlier success; shown as failed (%s)", label, g.kind, st.Source))
		}
	}
	for k, sw := range cands {
		set.Warnings = append(set.Warnings, sw.selectInto(byKey[k])...)
	}
	sort.SliceStable(set.Runs, func(i, j int) bool { return Less(set.Runs[i].Key, set.Runs[j].Key) })
	sort.Strings(set.Warnings)
	for _, s := range all {
		if s.rec.StageKind == record.KindEval && s.rec.Status == record.StatusOK && s.rec.Result != nil && s.rec.Result.Evaluated != "" {
			set.Evals = append(set.Evals, Eval{Source: fmt.Sprintf("%s:%d", s.file, s.n), Result: s.rec.Result})
		}
	}
	return set
}

// Less orders keys by the task catalogue, the method catalogue, sparsity and seed.
func Less(a, b Key) bool {
	if a.Task != b.Task {
		ra, rb := rank(task.Names(), a.Task), rank(task.Names(), b.Task)
		if ra != rb {
			return ra < rb
		}
		return a.Task < b.Task
	}
	if a.Method != b.Method {
		ra, rb := rank(method.Names(), a.Method), rank(method.Names(), b.Method)
		if ra != rb {
			return ra < rb
		}
		return a.Method < b.Method
	}
	if a.Sparsity != b.Sparsity {
		return a.Sparsity < b.Sparsity
	}
	if a.Seed != b.Seed {
		return a.Seed < b.Seed
	}
	return a.Heldout < b.Heldout
}

func rank(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return len(list)
}

// Select returns the runs of a task and method at a sparsity (< 0: any),
// ordered by seed, under the authors' protocol (no held-out selection; see
// SelectHeldout).
func (s *Set) Select(taskName, methodName string, sparsity float64) []*Run {
	var out []*Run
	for _, r := range s.Runs {
		if r.Task == taskName && r.Method == methodName && (sparsity < 0 || r.Sparsity == RoundSparsity(sparsity)) && r.Heldout == 0 {
			out = append(out, r)
		}
	}
	return out
}

// Sparsities lists the target sparsities run for a task ("" for any) and method, ascending.
func (s *Set) Sparsities(taskName, methodName string) []float64 {
	seen := map[float64]bool{}
	var out []float64
	for _, r := range s.Runs {
		if (taskName == "" || r.Task == taskName) && r.Method == methodName && !seen[r.Sparsity] {
			seen[r.Sparsity] = true
			out = append(out, r.Sparsity)
		}
	}
	sort.Float64s(out)
	return out
}

// Closest returns the sparsity run for task and method nearest to want,
// within tol, and whether there is one.
func (s *Set) Closest(taskName, methodName string, want, tol float64) (float64, bool) {
	best, found := 0.0, false
	for _, sp := range s.Sparsities(taskName, methodName) {
		if d := math.Abs(sp - want); d <= tol+1e-9 && (!found || d < math.Abs(best-want)-1e-12) {
			best, found = sp, true
		}
	}
	return best, found
}

// Tasks lists the tasks that have runs, in catalogue order.
func (s *Set) Tasks() []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range s.Runs {
		if !seen[r.Task] {
			seen[r.Task] = true
			out = append(out, r.Task)
		}
	}
	return out
}

// Has reports whether any run uses one of the methods.
func (s *Set) Has(methods ...string) bool {
	for _, r := range s.Runs {
		for _, m := range methods {
			if r.Method == m {
				return true
			}
		}
	}
	return false
}

// Devices lists the distinct devices the speed stages ran on.
func (s *Set) Devices() []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range s.Runs {
		if l, _ := r.Latency(); l != nil && l.Device != "" && !seen[l.Device] {
			seen[l.Device] = true
			out = append(out, l.Device)
		}
	}
	sort.Strings(out)
	return out
}

// Latest returns the end time of the newest record (zero when none): a
// stable date for generated documents that does not change between renders.
func (s *Set) Latest() time.Time {
	var t time.Time
	for _, r := range s.Runs {
		for _, st := range r.Stages {
			if st.Record.End.After(t) {
				t = st.Record.End
			}
		}
	}
	return t
}

// ErrNoRecords is returned by commands when the inputs hold no records.
var ErrNoRecords = errors.New("no records")
