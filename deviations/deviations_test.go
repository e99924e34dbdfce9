package deviations

import (
	"flag"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/cofiharness/cofi/hparams"
	"github.com/cofiharness/cofi/task"
)

var update = flag.Bool("update", false, "rewrite the deviations table in REPRODUCE.md")

const (
	reproduce = "../REPRODUCE.md"
	begin     = "<!-- deviations table: generated from package deviations (go test ./deviations -update) -->\n"
	end       = "<!-- end of deviations table -->\n"
)

// TestReproduceHoldsTheTable: REPRODUCE.md's table is this package's.
func TestReproduceHoldsTheTable(t *testing.T) {
	b, err := os.ReadFile(reproduce)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	i, j := strings.Index(doc, begin), strings.Index(doc, end)
	if i < 0 || j < i {
		t.Fatalf("%s has no deviations table between %q and %q", reproduce, begin, end)
	}
	got := doc[i+len(begin) : j]
	if want := Markdown(); got != want {
		if *update {
			if err := os.WriteFile(reproduce, []byte(doc[:i+len(begin)]+want+doc[j:]), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		t.Errorf("REPRODUCE.md's deviations table differs from package deviations (go test ./deviations -update rewrites it)")
	}
}

// TestSettingsAreHyperparameters: every switch names a real hyperparameter
// with a valid value, and "default" means the harness's GLUE default is it.
func TestSettingsAreHyperparameters(t *testing.T) {
	for _, d := range All {
		if d.Topic == "" || d.Authors == "" || d.Harness == "" || d.Why == "" || (d.Switch == "" && !d.Default) {
			t.Errorf("%q: incomplete", d.Topic)
		}
		for _, s := range d.Settings {
			key, val, ok := strings.Cut(s, "=")
			kind, name, ok2 := strings.Cut(key, ".")
			if !ok || !ok2 {
				t.Errorf("%q: setting %q is not KIND.NAME=VALUE", d.Topic, s)
				continue
			}
			for _, tn := range []string{"rte", "mnli"} {
				tk := task.MustLookup(tn)
				p, err := hparams.Resolve(kind, tk, map[string]any{name: parse(val)})
				if err != nil {
					t.Errorf("%q: %s: %v", d.Topic, s, err)
					continue
				}
				isDefault := hparams.Defaults(kind, tk)[name] == p[name]
				if isDefault != d.Default {
					t.Errorf("%q: %s on %s is the default = %v, but the table says %v", d.Topic, s, tn, isDefault, d.Default)
				}
			}
		}
	}
}

func parse(s string) any {
	switch s {
	case "true":
		return true
	case "false":
		return false
	}
	if n, err := strconv.Atoi(s); err == nil {
		return n
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return f
	}
	return s
}
