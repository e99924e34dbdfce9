package plan

import (
	"fmt"
	"strconv"
	"strings"
)

// FilterHelp documents the filter syntax for --help texts.
const FilterHelp = `a filter is "all", a stage id prefix (or "<kind>-<id prefix>"), or comma-separated key=value terms that must all hold, ` +
	`a value listing alternatives with "|"; keys: id (stage id prefix), cell (cell id prefix), kind, task, method, sparsity, seed, grid; ` +
	`e.g. task=rte|mrpc,kind=prune`

// Filter selects stages.
type Filter struct {
	text  string
	all   bool
	terms []term
}

type term struct {
	key  string
	vals []string
}

var filterKeys = []string{"id", "cell", "kind", "task", "method", "sparsity", "seed", "grid"}

// ParseFilter parses a filter (see FilterHelp).
func ParseFilter(s string) (*Filter, error) {
	s = strings.TrimSpace(s)
	f := &Filter{text: s}
	if s == "" {
		return nil, fmt.Errorf("empty filter (%s)", FilterHelp)
	}
	if s == "all" {
		f.all = true
		return f, nil
	}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			k, v = "id", part
		}
		k = strings.TrimSpace(k)
		if !containsStr(filterKeys, k) {
			return nil, fmt.Errorf("filter %q: unknown key %q (keys: %s)", s, k, strings.Join(filterKeys, ", "))
		}
		var vals []string
		for _, x := range strings.Split(v, "|") {
			if x = strings.TrimSpace(x); x == "" {
				return nil, fmt.Errorf("filter %q: empty value for %s", s, k)
			}
			if k == "sparsity" || k == "seed" {
				if _, err := strconv.ParseFloat(x, 64); err != nil {
					return nil, fmt.Errorf("filter %q: %s=%s is not a number", s, k, x)
				}
			}
			vals = append(vals, x)
		}
		f.terms = append(f.terms, term{k, vals})
	}
	return f, nil
}

func (f *Filter) String() string { return f.text }

// Match reports whether s is selected.
func (f *Filter) Match(s *Stage) bool {
	if f.all {
		return true
	}
	for _, t := range f.terms {
		ok := false
		for _, v := range t.vals {
			ok = ok || t.match(s, v)
		}
		if !ok {
			return false
		}
	}
	return true
}

func (t term) match(s *Stage, v string) bool {
	switch t.key {
	case "id":
		return strings.HasPrefix(s.ID, v) || strings.HasPrefix(s.Name(), v)
	case "cell":
		for _, c := range s.Cells {
			if strings.HasPrefix(c.ID, v) {
				return true
			}
		}
	case "kind":
		return s.Kind == v
	case "task":
		return s.Spec.Task == v
	case "method":
		return s.Spec.Method == v
	case "sparsity":
		x, _ := strconv.ParseFloat(v, 64)
		return s.Spec.Sparsity == x
	case "seed":
		x, _ := strconv.ParseInt(v, 10, 64)
		return s.Spec.Seed == x
	case "grid":
		for _, c := range s.Cells {
			if containsStr(c.Grids, v) {
				return true
			}
		}
	}
	return false
}

// Select returns the stages matched by any of the filters, in plan order,
// and an error naming a filter that matches nothing (a typo, most likely).
func (p *Plan) Select(filters []*Filter) ([]*Stage, error) {
	var out []*Stage
	for _, f := range filters {
		n := 0
		for _, s := range p.Stages {
			if f.Match(s) {
				n++
			}
		}
		if n == 0 {
			return nil, fmt.Errorf("filter %q matches no stage of the plan", f)
		}
	}
	for _, s := range p.Stages {
		for _, f := range filters {
			if f.Match(s) {
				out = append(out, s)
				break
			}
		}
	}
	return out, nil
}

// Downstream returns stages and every stage that depends on them, in plan order.
func (p *Plan) Downstream(stages []*Stage) []*Stage {
	mark := map[*Stage]bool{}
	var visit func(*Stage)
	visit = func(s *Stage) {
		if mark[s] {
			return
		}
		mark[s] = true
		for _, d := range s.Downstream {
			visit(d)
		}
	}
	for _, s := range stages {
		visit(s)
	}
	return p.inOrder(mark)
}

// Upstream returns stages and every stage they depend on, in plan order.
func (p *Plan) Upstream(stages []*Stage) []*Stage {
	mark := map[*Stage]bool{}
	var visit func(*Stage)
	visit = func(s *Stage) {
		if mark[s] {
			return
		}
		mark[s] = true
		for _, d := range s.Upstream {
			visit(d)
		}
	}
	for _, s := range stages {
		visit(s)
	}
	return p.inOrder(mark)
}

func (p *Plan) inOrder(mark map[*Stage]bool) []*Stage {
	var out []*Stage
	for _, s := range p.Stages {
		if mark[s] {
			out = append(out, s)
		}
	}
	return out
}
