package plan

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/cofiharness/cofi/runner/config"
)

// FuzzLoadAndPlan: any config text either is rejected with config.Problems
// or plans; it never panics (NaN learning rates used to panic in the stage
// identity's JSON), and every planned stage has an id and a directory.
func FuzzLoadAndPlan(f *testing.F) {
	files, _ := filepath.Glob("../../configs/*.toml")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(fakeGrid))
	f.Add([]byte("experiment = \"x\"\n[[grid]]\nname=\"g\"\ntasks=[\"syn-single\"]\nmethods=[\"teacher\"]\nsparsities=[0.5]\nseeds=[1]\nprofile=\"p\"\n[profiles.p.teacher]\nlr = nan\n"))
	f.Add([]byte("experiment = \"x\"\n[[grid]]\ntasks=[\"rte\"]\nmethods=[\"cofi\"]\nsparsities=[0.5]\n[grid.axes]\n\"prune.epochs\" = [inf, 1.0]\n"))
	f.Add([]byte("experiment = \"x\"\ngrid = []\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, src []byte) {
		c, err := config.Parse("fuzz.toml", src, config.Options{Dir: dir, Getenv: noEnv})
		if err != nil {
			var ps config.Problems
			if !errors.As(err, &ps) {
				t.Fatalf("config error is not Problems: %v", err)
			}
			return
		}
		p, err := Build(c, Options{Device: "cpu"})
		if err != nil {
			return // e.g. a plan too large; an error, not a panic
		}
		for _, s := range p.Stages {
			if len(s.ID) != IDLen || s.Spec.Dir == "" {
				t.Fatalf("stage %+v without id or directory", s.Spec)
			}
		}
	})
}
