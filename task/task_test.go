package task

import "testing"

func TestLookup(t *testing.T) {
	cases := []struct {
		in, name, headline string
		wantErr            bool
	}{
		{"SST-2", "sst2", "sst2/acc", false},
		{"mnli", "mnli", "mnli-m/acc", false},
		{"STS-B", "stsb", "stsb/spearman", false},
		{"CoLA", "cola", "cola/mcc", false},
		{"squad", "squad", "squad/f1", false},
		{"syn-pair", "syn-pair", "syn-pair/acc", false},
		{"wnli", "", "", true},
	}
	for _, c := range cases {
		got, err := Lookup(c.in)
		if (err != nil) != c.wantErr {
			t.Fatalf("Lookup(%q) err = %v, wantErr %v", c.in, err, c.wantErr)
		}
		if err != nil {
			continue
		}
		if got.Name != c.name || got.Headline != c.headline || got.Select != c.headline {
			t.Errorf("Lookup(%q) = %s/%s/%s, want %s/%s", c.in, got.Name, got.Headline, got.Select, c.name, c.headline)
		}
	}
}

func TestHeadlineIsProduced(t *testing.T) {
	for _, n := range Names() {
		tk := MustLookup(n)
		found := false
		for _, k := range tk.MetricKeys() {
			if k == tk.Headline {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: headline %q not among metric keys %v", n, tk.Headline, tk.MetricKeys())
		}
	}
}

func TestMNLIEvalSetsApart(t *testing.T) {
	keys := MustLookup("mnli").MetricKeys()
	if len(keys) != 2 || keys[0] == keys[1] {
		t.Fatalf("mnli metric keys %v: matched and mismatched must be named apart", keys)
	}
}
