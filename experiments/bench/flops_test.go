package bench

import "testing"

func TestForwardFLOPs(t *testing.T) {
	// One BERT-base layer, 128 tokens, per token: projections 4·2·768·768 =
	// 4,718,592; scores and context 4·128·768 = 393,216; FFN 4·768·3072 =
	// 9,437,184; in all 14,548,992, times 128 tokens.
	got := ForwardFLOPs(768, 64, 128, []int{12}, []int{3072})
	if want := 14548992.0 * 128; got != want {
		t.Fatalf("FLOPs = %v, want %v", got, want)
	}
	if ForwardFLOPs(768, 64, 128, []int{0}, []int{0}) != 0 {
		t.Fatal("an empty layer costs nothing")
	}
}
