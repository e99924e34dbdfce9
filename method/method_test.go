package method

import "testing"

func TestAblationSwitches(t *testing.T) {
	cases := []struct {
		name string
		want Switches
	}{
		{"cofi", Switches{LayerMasks: true, HiddenMask: true, PredDistill: true, LayerDistill: true}},
		{"cofi-no-layer", Switches{HiddenMask: true, PredDistill: true, LayerDistill: true}},
		{"cofi-no-hidden", Switches{LayerMasks: true, PredDistill: true, LayerDistill: true}},
		{"cofi-no-layer-hidden", Switches{PredDistill: true, LayerDistill: true}},
		{"cofi-no-llayer", Switches{LayerMasks: true, HiddenMask: true, PredDistill: true}},
		{"cofi-no-distill", Switches{LayerMasks: true, HiddenMask: true, GoldLabels: true}},
		{"cofi-fixed-hidden", Switches{LayerMasks: true, HiddenMask: true, PredDistill: true, LayerDistill: true, FixedLayers: true}},
	}
	for _, c := range cases {
		m, err := Lookup(c.name)
		if err != nil {
			t.Fatal(err)
		}
		if m.Switches != c.want {
			t.Errorf("%s: switches %+v, want %+v", c.name, m.Switches, c.want)
		}
	}
	if _, err := Lookup("cofi-typo"); err == nil {
		t.Error("unknown method accepted")
	}
}

func TestBaselines(t *testing.T) {
	for name, gd := range map[string]bool{"tinybert4": true, "tinybert4-no-gd": false} {
		m, err := Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		if m.Family != Baseline || m.GeneralDistilled != gd {
			t.Errorf("%s: family %s, general-distilled %v; want baseline, %v", name, m.Family, m.GeneralDistilled, gd)
		}
	}
}
