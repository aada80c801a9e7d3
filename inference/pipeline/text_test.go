package pipeline

import (
	"math"
	"testing"
)

func TestPickerGreedyAndPenalty(t *testing.T) {
	scores := []float32{1, 3, 2, 3}
	if got := newPicker(TextSampling{}).pick(scores, nil); got != 1 {
		t.Errorf("greedy picks %d, want the first maximum 1", got)
	}
	// Repetition penalty 2 on the generated token 1: 3 → 1.5, so 3 wins.
	if got := newPicker(TextSampling{RepetitionPenalty: 2}).pick(scores, []int{1}); got != 3 {
		t.Errorf("penalised greedy picks %d, want 3", got)
	}
	// A negative score is multiplied: −1 → −2.
	neg := []float32{-1, -1.5}
	if got := newPicker(TextSampling{RepetitionPenalty: 2}).pick(neg, []int{0}); got != 1 {
		t.Errorf("penalised negative picks %d, want 1", got)
	}
}

// TestPickerSampling draws many times and checks the filters' support and
// the frequencies against the filtered softmax.
func TestPickerSampling(t *testing.T) {
	scores := []float32{2, 1, 0, -1, -5}
	count := func(s TextSampling, n int) []int {
		p := newPicker(s)
		c := make([]int, len(scores))
		for i := 0; i < n; i++ {
			c[p.pick(scores, nil)]++
		}
		return c
	}
	// top_k 2: only the two best.
	c := count(TextSampling{DoSample: true, Temperature: 1, TopP: 1, TopK: 2, Seed: 1}, 20000)
	if c[2]+c[3]+c[4] != 0 {
		t.Errorf("top_k 2 drew outside the two best: %v", c)
	}
	want := 1 / (1 + math.Exp(-1)) // P(token 0) among {0, 1}
	if got := float64(c[0]) / 20000; math.Abs(got-want) > 0.015 {
		t.Errorf("top_k 2: P(0) = %.3f, want %.3f", got, want)
	}
	// top_p 0.7: softmax = .64, .24, .09, …: the smallest head reaching 0.7 is {0, 1}.
	c = count(TextSampling{DoSample: true, Temperature: 1, TopP: 0.7, Seed: 2}, 5000)
	if c[2]+c[3]+c[4] != 0 || c[1] == 0 {
		t.Errorf("top_p 0.7 support: %v, want tokens 0 and 1 only", c)
	}
	// A low temperature concentrates on the best.
	c = count(TextSampling{DoSample: true, Temperature: 0.05, TopP: 1, Seed: 3}, 2000)
	if c[0] != 2000 {
		t.Errorf("temperature 0.05: %v", c)
	}
	// Same seed, same draws.
	a := count(TextSampling{DoSample: true, Temperature: 1, TopP: 0.9, TopK: 50, Seed: 9}, 200)
	b := count(TextSampling{DoSample: true, Temperature: 1, TopP: 0.9, TopK: 50, Seed: 9}, 200)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("seeded sampling is not repeatable: %v vs %v", a, b)
		}
	}
}

func TestTextSamplingValidate(t *testing.T) {
	bad := []TextSampling{
		{DoSample: true, Temperature: 0, TopP: 1},
		{DoSample: true, Temperature: 1, TopP: 0},
		{DoSample: true, Temperature: 1, TopP: 1.5},
		{DoSample: true, Temperature: 1, TopP: 1, TopK: -1},
		{RepetitionPenalty: -1},
	}
	for _, s := range bad {
		if s.Validate() == nil {
			t.Errorf("%+v: want an error", s)
		}
	}
	if err := (TextSampling{DoSample: true, Temperature: 0.6, TopP: 0.95, TopK: 20, RepetitionPenalty: 1.05}).Validate(); err != nil {
		t.Errorf("the README's recommended settings: %v", err)
	}
}
