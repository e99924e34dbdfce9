// Package compare checks a current set of runs against a baseline, the way
// benchstat compares benchmarks: per cell (task, method, sparsity, seed) and
// metric, baseline, current, delta and whether the change is within a
// tolerance, better, or a regression. Scores are better higher, latencies
// lower, speedups higher, and the sparsity reached better closer to its
// target. A nightly job exits non-zero when Result.Regressions > 0.
package compare

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Tolerance is how far a metric may move the wrong way before it counts as a
// regression: an absolute amount in the metric's unit, or a fraction of the
// baseline value.
type Tolerance struct {
	Abs float64 `json:"abs,omitempty"`
	Rel float64 `json:"rel,omitempty"` // fraction: 0.05 = 5 %
}

// Allowed returns the allowed worsening for a baseline value.
func (t Tolerance) Allowed(base float64) float64 {
	if t.Rel > 0 {
		return t.Rel * math.Abs(base)
	}
	return t.Abs
}

func (t Tolerance) String() string {
	if t.Rel > 0 {
		return "rel:" + strconv.FormatFloat(t.Rel*100, 'f', -1, 64) + "%"
	}
	return "abs:" + strconv.FormatFloat(t.Abs, 'f', -1, 64)
}

// Metric classes a tolerance can name besides an exact metric key.
const (
	ClassScore    = "score"    // every "<evalset>/<metric>" score (alias: metric)
	ClassLatency  = "latency"  // ms per timed round of the speed stage
	ClassSpeedup  = "speedup"  // speedup over the unpruned model
	ClassSparsity = "sparsity" // sparsity reached, compared by distance to the target
)

// Tolerances map a class or an exact metric key ("mnli-m/acc") to a
// tolerance; an exact key wins over its class.
type Tolerances map[string]Tolerance

// DefaultTolerances: half a point of score (seed-for-seed reruns on one GPU
// move less than that), 5 % of latency and speedup (timing noise on a shared
// box), half a point of sparsity.
func DefaultTolerances() Tolerances {
	return Tolerances{
		ClassScore:    {Abs: 0.5},
		ClassLatency:  {Rel: 0.05},
		ClassSpeedup:  {Rel: 0.05},
		ClassSparsity: {Abs: 0.005},
	}
}

// For returns the tolerance of a metric key of a class.
func (ts Tolerances) For(key, class string) Tolerance {
	if t, ok := ts[key]; ok {
		return t
	}
	return ts[class]
}

// ParseTolerances reads "metric=abs:0.5,latency=rel:5%" on top of the
// defaults. Keys are a class (score or its alias metric, latency, speedup,
// sparsity) or an exact metric key; values are abs:N or rel:N% (rel:0.05 is
// also 5 %).
func ParseTolerances(spec string) (Tolerances, error) {
	ts := DefaultTolerances()
	if strings.TrimSpace(spec) == "" {
		return ts, nil
	}
	var errs []string
	for _, item := range strings.Split(spec, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		key, val, ok := strings.Cut(item, "=")
		key = strings.TrimSpace(key)
		if !ok || key == "" {
			errs = append(errs, fmt.Sprintf("%q: want KEY=abs:N or KEY=rel:N%%", item))
			continue
		}
		if key == "metric" {
			key = ClassScore
		}
		switch key {
		case ClassScore, ClassLatency, ClassSpeedup, ClassSparsity:
		default:
			if !strings.Contains(key, "/") {
				errs = append(errs, fmt.Sprintf("%q: unknown metric %q (want score, metric, latency, speedup, sparsity or a metric key like mnli-m/acc)", item, key))
				continue
			}
		}
		t, err := parseTolerance(strings.TrimSpace(val))
		if err != nil {
			errs = append(errs, fmt.Sprintf("%q: %v", item, err))
			continue
		}
		ts[key] = t
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("tolerance: %s", strings.Join(errs, "; "))
	}
	return ts, nil
}

func parseTolerance(v string) (Tolerance, error) {
	kind, num, ok := strings.Cut(v, ":")
	if !ok {
		return Tolerance{}, fmt.Errorf("value %q: want abs:N or rel:N%%", v)
	}
	pct := strings.HasSuffix(num, "%")
	x, err := strconv.ParseFloat(strings.TrimSuffix(num, "%"), 64)
	if err != nil || x < 0 || math.IsInf(x, 0) || math.IsNaN(x) {
		return Tolerance{}, fmt.Errorf("value %q: %q is not a non-negative number", v, num)
	}
	switch kind {
	case "abs":
		if pct {
			return Tolerance{}, fmt.Errorf("value %q: an absolute tolerance has no %%", v)
		}
		return Tolerance{Abs: x}, nil
	case "rel":
		if pct {
			x /= 100
		}
		if x == 0 {
			return Tolerance{Abs: 0}, nil // rel:0 and abs:0 both mean "no worsening"
		}
		return Tolerance{Rel: x}, nil
	}
	return Tolerance{}, fmt.Errorf("value %q: want abs or rel, got %q", v, kind)
}

// String prints tolerances in the syntax ParseTolerances reads, sorted.
func (ts Tolerances) String() string {
	keys := make([]string, 0, len(ts))
	for k := range ts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, k+"="+ts[k].String())
	}
	return strings.Join(parts, ",")
}
