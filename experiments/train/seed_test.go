package train

import "testing"

func TestStepSeed(t *testing.T) {
	// Hand-computed with SplitMix64's finaliser: mix64(0) = 0, so seed 0
	// step 0 is 0; seed 0 step 1 is mix64(0x9E3779B97F4A7C15) >> 1, the first
	// output of SplitMix64 seeded with 0 (0xE220A8397B1DCDAF) halved.
	cases := []struct {
		seed int64
		step int
		want int64
	}{
		{0, 0, 0},
		{0, 1, int64(uint64(0xE220A8397B1DCDAF) >> 1)},
	}
	for _, c := range cases {
		if got := StepSeed(c.seed, c.step); got != c.want {
			t.Errorf("StepSeed(%d, %d) = %#x, want %#x", c.seed, c.step, got, c.want)
		}
	}
	seen := map[int64]bool{}
	for _, seed := range []int64{1, 2, 42, 57, -1} {
		for step := 0; step < 1000; step++ {
			s := StepSeed(seed, step)
			if s < 0 {
				t.Fatalf("StepSeed(%d, %d) = %d < 0", seed, step, s)
			}
			if seen[s] {
				t.Fatalf("StepSeed(%d, %d) = %d repeats an earlier seed", seed, step, s)
			}
			seen[s] = true
		}
	}
}
