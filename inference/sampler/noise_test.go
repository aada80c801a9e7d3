package sampler

import (
	"math"
	"testing"
)

func TestNoiseScale(t *testing.T) {
	for _, c := range []struct {
		name       string
		base       float64
		mode       string
		baseSeqLen int
		max        float64
		tokens     int
		want       float64
	}{
		// 2048×2048: 64·64 = 4096 tokens, sqrt(4096/64) = 8 (PIPELINES 2.3).
		{"2048² real config", 1, "resolution", 64, 8, 4096, 8},
		// 2720×1536: 85·48 = 4080 tokens, sqrt(63.75).
		{"2720×1536", 1, "resolution", 64, 16, 4080, math.Sqrt(63.75)},
		// 2048×1152: 64·36 = 2304 tokens, sqrt(36) = 6.
		{"2048×1152", 1, "resolution", 64, 8, 2304, 6},
		// Tiny config (MODEL.md 9): 96×64 = 3·2 tokens, base 4 → sqrt(6/4).
		{"tiny 96×64", 1, "resolution", 4, 8, 6, math.Sqrt(1.5)},
		// 4096² would be 16, capped at 8 …
		{"capped at 8", 1, "resolution", 64, 8, 16384, 8},
		// … or not, under cap 16 (U1.5's config).
		{"under cap 16", 1, "resolution", 64, 16, 8192, math.Sqrt(128)},
		{"dynamic = resolution", 1, "dynamic", 64, 16, 1024, 4},
		{"scaled base", 1.5, "resolution", 64, 16, 4096, 12},
		// dynamic_sqrt: sqrt(sqrt(4096/64)·2) = sqrt(16) = 4.
		{"dynamic_sqrt", 2, "dynamic_sqrt", 64, 8, 4096, 4},
		// Sqrt before the cap: sqrt(sqrt(16384/64)·1) = 4, not min(16, 8)→sqrt.
		{"dynamic_sqrt then cap", 1, "dynamic_sqrt", 64, 3, 16384, 3},
		{"constant mode", 1.25, "constant", 0, 8, 4096, 1.25},
		{"unknown mode is constant", 0.7, "", 64, 8, 1, 0.7},
		{"constant capped", 10, "constant", 64, 8, 1, 8},
	} {
		got := NoiseScale(c.base, c.mode, c.baseSeqLen, c.max, c.tokens)
		if math.Abs(got-c.want) > 1e-15*math.Max(1, c.want) {
			t.Errorf("%s: NoiseScale(%g, %q, %d, %g, %d) = %.17g, want %.17g", c.name, c.base, c.mode, c.baseSeqLen, c.max, c.tokens, got, c.want)
		}
	}
}

func TestNoiseScaleBadBasePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("NoiseScale with noise_scale_base_image_seq_len 0 in resolution mode did not panic")
		}
	}()
	NoiseScale(1, "resolution", 0, 8, 4096)
}

func TestGaussianNoiseDeterministic(t *testing.T) {
	a := GaussianNoise(42, 1000)
	b := GaussianNoise(42, 1000)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("seed 42 drew %g then %g at %d", a[i], b[i], i)
		}
	}
	// The stream is pinned: a change of generator or of Go's NormFloat64
	// changes every user's picture for a given seed.
	pinned := []float32{1.5590067, -0.3728065, 0.18992889, -0.5270797}
	for i, w := range pinned {
		if a[i] != w {
			t.Errorf("seed 42 value %d = %.8g, want %.8g (the noise stream changed)", i, a[i], w)
		}
	}
	if v := GaussianNoise(-1, 1)[0]; v != 0.11218462 {
		t.Errorf("seed -1 first value = %.8g, want 0.11218462", v)
	}

	c := GaussianNoise(43, 1000)
	same := 0
	for i := range a {
		if a[i] == c[i] {
			same++
		}
	}
	if same > 10 {
		t.Errorf("seeds 42 and 43 share %d of 1000 values", same)
	}
	if len(GaussianNoise(1, 0)) != 0 {
		t.Error("GaussianNoise(1, 0) is not empty")
	}
}

func TestNoiseSourceContinuesTheStream(t *testing.T) {
	all := GaussianNoise(7, 300)
	src := NewNoiseSource(7)
	first := src.Next(100)  // picture 1
	second := src.Next(200) // picture 2
	for i := range first {
		if first[i] != all[i] {
			t.Fatalf("first draw [%d] = %g, want %g", i, first[i], all[i])
		}
	}
	for i := range second {
		if second[i] != all[100+i] {
			t.Fatalf("second draw [%d] = %g, want %g (the stream's value %d)", i, second[i], all[100+i], 100+i)
		}
	}
}

func TestGaussianNoiseStatistics(t *testing.T) {
	const n = 1_000_000
	x := GaussianNoise(2024, n)
	var sum, sq float64
	within1 := 0
	for _, v := range x {
		f := float64(v)
		sum += f
		sq += f * f
		if math.Abs(f) < 1 {
			within1++
		}
	}
	mean := sum / n
	variance := sq/n - mean*mean
	frac := float64(within1) / n
	// Standard errors: mean 1e-3, variance ≈ 1.4e-3, fraction ≈ 4.7e-4.
	if math.Abs(mean) > 5e-3 {
		t.Errorf("mean %g, want 0 ± 5e-3", mean)
	}
	if math.Abs(variance-1) > 1e-2 {
		t.Errorf("variance %g, want 1 ± 1e-2", variance)
	}
	if math.Abs(frac-0.682689) > 3e-3 {
		t.Errorf("P(|x| < 1) = %g, want 0.6827 ± 3e-3", frac)
	}
}
