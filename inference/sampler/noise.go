package sampler

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// NoiseScale returns σ_n, the factor the unit normal draw is multiplied by to
// make the initial canvas X_0 = σ_n·ε (PIPELINES.md 2.3, MODEL.md 3.13), for
// an image of `tokens` 32-px tokens and the config.json fields noise_scale
// (base), noise_scale_mode (mode), noise_scale_base_image_seq_len
// (baseSeqLen) and noise_scale_max_value (maxValue):
//
//	mode resolution, dynamic:  σ_n = sqrt(tokens / baseSeqLen) · base
//	mode dynamic_sqrt:         σ_n = sqrt(sqrt(tokens / baseSeqLen) · base)
//	any other mode:            σ_n = base
//	finally                    σ_n = min(σ_n, maxValue)
//
// The reference evaluates this on Python floats, so it is computed here in
// float64 in the same order (tokens / baseSeqLen is exact division of two
// integers held as float64, then math.Sqrt, then the product). Where the
// sampler multiplies the noise by σ_n on float32 tensors the reference uses
// float32(σ_n), and the noise-scale embedder takes σ_n / maxValue.
//
// Examples: (1, resolution, 64, 8) at 2048×2048 (4096 tokens) gives 8; the
// tiny test config (1, resolution, 4, 8) at 96×64 (6 tokens) gives
// sqrt(6/4) ≈ 1.2247.
//
// The checkpoint config guarantees baseSeqLen > 0 for the resolution-dependent
// modes; a call breaking that, or with tokens < 0, is a programming error and
// panics.
func NoiseScale(base float64, mode string, baseSeqLen int, maxValue float64, tokens int) float64 {
	if tokens < 0 {
		panic(fmt.Sprintf("sampler.NoiseScale: %d tokens", tokens))
	}
	ns := base
	switch mode {
	case "resolution", "dynamic", "dynamic_sqrt":
		if baseSeqLen <= 0 {
			panic(fmt.Sprintf("sampler.NoiseScale: noise_scale_base_image_seq_len %d with mode %q, want > 0", baseSeqLen, mode))
		}
		ns = math.Sqrt(float64(tokens)/float64(baseSeqLen)) * base
		if mode == "dynamic_sqrt" {
			ns = math.Sqrt(ns)
		}
	}
	// Python's min(ns, maxValue) returns ns unless maxValue < ns.
	if maxValue < ns {
		ns = maxValue
	}
	return ns
}

// noiseStream is the fixed second PCG seed word of every noise generator
// ("SNStudio" in ASCII); the user's seed is the first.
const noiseStream uint64 = 0x534E_5374_7564_696F

// NoiseSource is a deterministic stream of standard-normal float32 values:
// Go's math/rand/v2 PCG generator seeded with (uint64(seed), noiseStream),
// each value Rand.NormFloat64() rounded to float32. Successive Next calls
// continue the stream, so the k-th picture of an interleave run takes the
// k-th draw from the generator made for the run (PIPELINES.md 2.3), and a
// text-to-image or editing run makes a fresh source from its seed.
//
// The same seed gives the same values with the same Go toolchain (a test pins
// the first values). It does not reproduce the reference's pictures: those
// start from PyTorch's CUDA Philox generator, which this does not emulate
// (PIPELINES.md 2.7, 11.3); golden tests feed the reference's own noise.
//
// A NoiseSource is not safe for concurrent use.
type NoiseSource struct {
	rng *rand.Rand
}

// NewNoiseSource returns the noise stream of a seed.
func NewNoiseSource(seed int64) *NoiseSource {
	return &NoiseSource{rng: rand.New(rand.NewPCG(uint64(seed), noiseStream))}
}

// Next returns the next n values of the stream. For a canvas the values are
// in the [1, 3, H, W] order of the reference's draw (n = 3·H·W): channel,
// then row, then column.
func (s *NoiseSource) Next(n int) []float32 {
	if n < 0 {
		panic(fmt.Sprintf("sampler.NoiseSource.Next: %d values", n))
	}
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(s.rng.NormFloat64())
	}
	return out
}

// GaussianNoise returns the first n values of the noise stream of a seed:
// NewNoiseSource(seed).Next(n), the initial unit noise ε of a text-to-image or
// editing run of 3·H·W values in [1, 3, H, W] order.
func GaussianNoise(seed int64, n int) []float32 {
	return NewNoiseSource(seed).Next(n)
}
