package runs

import (
	"sort"
	"time"
)

// A Night is the records of one version of the code: an experiment rerun
// on every commit (invalidate_on_commit, as the nightly grid is) keeps each
// night's records in its records file, told apart by the commit (and, for a
// dirty tree, the diff) in their provenance.
type Night struct {
	Version string    // "3243267" (short commit), "3243267+a1b2c3d4" for a dirty tree, "unknown"
	Commit  string    // full commit
	Date    time.Time // end of the night's first record
	Set     *Set      // the night's runs alone
}

// Label is "2026-12-01 3243267".
func (n Night) Label() string { return n.Date.UTC().Format("2006-01-02") + " " + n.Version }

func version(s sourced) (string, string) {
	p := s.rec.Provenance
	if p.GitCommit == "" {
		return "unknown", ""
	}
	v := p.GitCommit
	if len(v) > 7 {
		v = v[:7]
	}
	if p.GitDirty {
		d := p.DiffHash
		if i := len(d) - 8; i > 0 {
			d = d[i:]
		}
		v += "+" + d
	}
	return v, p.GitCommit
}

// nights splits records by code version, ordered by their first end time;
// nil when all are of one version.
func nights(all []sourced) []Night {
	byVersion := map[string][]sourced{}
	first := map[string]time.Time{}
	commit := map[string]string{}
	for _, s := range all {
		v, c := version(s)
		byVersion[v] = append(byVersion[v], s)
		commit[v] = c
		if t, ok := first[v]; !ok || s.rec.End.Before(t) {
			first[v] = s.rec.End
		}
	}
	if len(byVersion) < 2 {
		return nil
	}
	var out []Night
	for v, recs := range byVersion {
		set := build(recs)
		set.Sources = []string{recs[0].file}
		out = append(out, Night{Version: v, Commit: commit[v], Date: first[v], Set: set})
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Date.Equal(out[j].Date) {
			return out[i].Date.Before(out[j].Date)
		}
		return out[i].Version < out[j].Version
	})
	return out
}
