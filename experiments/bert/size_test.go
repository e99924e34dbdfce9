package bert

import "testing"

func TestEncoderSize(t *testing.T) {
	full := func(n, v int) []int {
		s := make([]int, 12)
		for i := range s {
			s[i] = v
		}
		return s[:n]
	}
	cases := []struct {
		name         string
		hidden       int
		heads, inter []int
		want         int64
	}{
		// Per layer: 4·(768²+768) + 2·768 + (768·3072+3072) + (3072·768+768) + 2·768 = 7,087,872; ×12.
		{"bert-base", 768, full(12, 12), full(12, 3072), 85054464},
		// One layer with 1 head and no FFN: 3·(768·64+64) + (64·768+768) + 2·768 = 199,104.
		{"one head", 768, []int{1}, []int{0}, 199104},
		// FFN only, 10 units, hidden 100: (100·10+10) + (10·100+100) + 200 = 2,310.
		{"ffn only", 100, []int{0}, []int{10}, 2310},
		{"nothing", 768, []int{0, 0}, []int{0, 0}, 0},
	}
	for _, c := range cases {
		if got := EncoderSize(c.hidden, 64, c.heads, c.inter); got != c.want {
			t.Errorf("%s: EncoderSize = %d, want %d", c.name, got, c.want)
		}
	}
}
