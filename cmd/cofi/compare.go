package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cofiharness/cofi/internal/atomicfile"
	"github.com/cofiharness/cofi/report"
	"github.com/cofiharness/cofi/report/compare"
	"github.com/cofiharness/cofi/report/runs"
)

func init() {
	register(Command{Name: "compare", Summary: "compare runs against a baseline; exit 1 on a regression beyond tolerance", Run: runCompare})
}

func runCompare(args []string) error {
	fs := newFlagSet("compare", "--baseline EXPERIMENT_DIR|RECORDS_FILE [flags] CURRENT...", `
Compare the runs of CURRENT (experiment directories or records files) with a baseline, benchstat-style:
for every cell (task, method, target sparsity, seed) and metric, the baseline, the current value, the
delta, the tolerance and a verdict. Scores are better higher, latency lower, speedup higher, and the
sparsity reached better closer to its target. A run that failed in the current set where the baseline
succeeded, and a baseline cell missing from the current set (unless --allow-missing), are regressions.
Latency is not judged when the device changed (the speedup, relative to the same device, still is).
When CURRENT holds the records of several nights (an experiment rerun on every commit, as the nightly
grid is), the latest night is compared and each regression names the first night of its run of nights
outside the tolerance band ("outside the band since 2026-12-01 3243267").

Tolerances: a comma-separated list of KEY=abs:N or KEY=rel:N% where KEY is score (alias metric),
latency, speedup, sparsity, or an exact metric key such as mnli-m/acc (which overrides its class).
Defaults: `+compare.DefaultTolerances().String()+`.

Exit status: 0 when nothing regressed beyond tolerance, 1 when something did, 2 on a usage error.`)
	baseline := fs.String("baseline", "", "baseline experiment directory or records file (required)")
	tolerance := fs.String("tolerance", "", "per-metric tolerances, e.g. metric=abs:0.5,latency=rel:5% (added to the defaults)")
	asJSON := fs.Bool("json", false, "print the result as JSON instead of a table")
	jsonOut := fs.String("json-out", "", "also write the result as JSON to this file")
	allowMissing := fs.Bool("allow-missing", false, "do not count baseline cells missing from the current runs as regressions")
	benchOut := fs.String("bench-out", "", "also write baseline.bench and current.bench (Go benchmark format) to this directory for benchstat")
	pos, err := parseArgs(fs, args, -1)
	if err != nil {
		return err
	}
	if *baseline == "" || len(pos) == 0 {
		fs.Usage()
		return exitCode{2, "need --baseline and at least one CURRENT experiment or records file"}
	}
	tol, err := compare.ParseTolerances(*tolerance)
	if err != nil {
		return exitCode{2, err.Error()}
	}
	base, err := runs.Load(*baseline)
	if err != nil {
		return err
	}
	cur, err := runs.Load(pos...)
	if err != nil {
		return err
	}
	if len(base.Runs) == 0 {
		return fmt.Errorf("baseline %s has no usable records", *baseline)
	}
	opts := compare.Options{Tolerances: tol, AllowMissing: *allowMissing}
	res := compare.Compare(base, cur, opts)
	if len(cur.Nights) > 1 {
		// Records of several nights: the current values are the last night's;
		// name the night each regression left the tolerance band.
		res.Annotate(compare.History(base, cur.Nights, opts))
	}
	if *asJSON {
		err = res.WriteJSON(os.Stdout)
	} else {
		err = res.WriteText(os.Stdout)
	}
	if err != nil {
		return err
	}
	if *jsonOut != "" {
		var b bytes.Buffer
		if err := res.WriteJSON(&b); err != nil {
			return err
		}
		if err := atomicfile.Write(*jsonOut, b.Bytes(), 0o644); err != nil {
			return fmt.Errorf("write %s: %w", *jsonOut, err)
		}
	}
	if *benchOut != "" {
		if err := os.MkdirAll(*benchOut, 0o755); err != nil {
			return err
		}
		for name, set := range map[string]*runs.Set{"baseline.bench": base, "current.bench": cur} {
			var b bytes.Buffer
			if err := report.WriteBench(&b, set); err != nil {
				return err
			}
			p := filepath.Join(*benchOut, name)
			if err := atomicfile.Write(p, b.Bytes(), 0o644); err != nil {
				return fmt.Errorf("write %s: %w", p, err)
			}
		}
	}
	if res.Regressions > 0 {
		return exitCode{1, fmt.Sprintf("%d regression(s) beyond tolerance", res.Regressions)}
	}
	return nil
}
