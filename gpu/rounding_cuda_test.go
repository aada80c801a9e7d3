//go:build cuda

package gpu

import (
	"math"
	"testing"

	"github.com/sensenova/studio/inference/safetensors"
	"github.com/sensenova/studio/internal/golden"
)

// Where the CUDA backend rounds to bf16, checked against host models of
// torch's bf16 ops (measured on the H100 with torch 2.11 / cuBLAS 13.1): a
// Linear adds its bias to the fp32 product and rounds once (cuBLASLt's bias
// epilogue); a convolution rounds cuDNN's product to bf16 and torch then
// adds the bias, rounding again. A model must explain all but the odd
// output (the GPU's fp32 sums run in another order than the host's exact
// ones) and the other model must miss many, so the test tells them apart.

// roundingModels counts the outputs got differs from under each model.
func roundingModels(got, once, twice []float32) (missOnce, missTwice int) {
	for i := range got {
		if got[i] != once[i] {
			missOnce++
		}
		if got[i] != twice[i] {
			missTwice++
		}
	}
	return missOnce, missTwice
}

func checkRoundingModel(t *testing.T, what string, n, missRight, missWrong int) {
	t.Helper()
	t.Logf("%s: %d outputs, %d differ from the expected rounding, %d from the other", what, n, missRight, missWrong)
	if missRight > n/100 || missWrong < n/10 {
		t.Errorf("%s rounds the other way: %d of %d outputs differ from the expected model, %d from the other", what, missRight, n, missWrong)
	}
}

func TestLinearBiasRoundsOnce(t *testing.T) {
	for _, mode := range []string{"cublas", "builtin"} {
		t.Run(mode, func(t *testing.T) {
			t.Setenv(gemmEnv, mode)
			b := newBackends(t)
			const M, K, N = 48, 768, 64
			x, w, bias := b.values(M*K, 1), b.values(N*K, 0.05), b.values(N, 0.3)
			got := b.gpu.Float32(b.gpu.Linear(b.gpu.FromFloat32(x, M, K), b.gpu.FromFloat32(w, N, K), b.gpu.FromFloat32(bias, N)))
			once, twice := make([]float32, M*N), make([]float32, M*N)
			for i := 0; i < M; i++ {
				for j := 0; j < N; j++ {
					var s float64
					for k := 0; k < K; k++ {
						s += float64(x[i*K+k]) * float64(w[j*K+k])
					}
					p := float32(s)
					once[i*N+j] = safetensors.RoundBF16(p + bias[j])
					twice[i*N+j] = safetensors.RoundBF16(safetensors.RoundBF16(p) + bias[j])
				}
			}
			right, wrong := roundingModels(got, once, twice)
			checkRoundingModel(t, "Linear with a bias ("+b.gpu.Info().GEMM+")", M*N, right, wrong)
		})
	}
}

func TestConv3x3BiasRoundsTwice(t *testing.T) {
	b := newBackends(t)
	const C, H, W, O = 24, 12, 16, 64
	x, w, bias := b.values(C*H*W, 1), b.values(O*C*9, 0.07), b.values(O, 0.3)
	got := b.gpu.Float32(b.gpu.Conv3x3(b.gpu.FromFloat32(x, C, H, W), b.gpu.FromFloat32(w, O, C, 3, 3), b.gpu.FromFloat32(bias, O)))
	once, twice := make([]float32, O*H*W), make([]float32, O*H*W)
	for o := 0; o < O; o++ {
		for y := 0; y < H; y++ {
			for xx := 0; xx < W; xx++ {
				var s float64
				for c := 0; c < C; c++ {
					for dy := -1; dy <= 1; dy++ {
						for dx := -1; dx <= 1; dx++ {
							yy, xc := y+dy, xx+dx
							if yy < 0 || yy >= H || xc < 0 || xc >= W {
								continue
							}
							s += float64(x[(c*H+yy)*W+xc]) * float64(w[((o*C+c)*3+dy+1)*3+dx+1])
						}
					}
				}
				p, k := float32(s), (o*H+y)*W+xx
				once[k] = safetensors.RoundBF16(p + bias[o])
				twice[k] = safetensors.RoundBF16(safetensors.RoundBF16(p) + bias[o])
			}
		}
	}
	right, wrong := roundingModels(got, twice, once)
	checkRoundingModel(t, "Conv3x3 with a bias", O*H*W, right, wrong)
}

// TestEagerAttentionPaths compares the understanding expert's attention on
// its two paths: probabilities from the kernel with the P·V product on
// cuBLAS (up to 2048 keys, when cuBLAS is loaded) and the fused kernel
// (longer contexts, or the built-in GEMM). Both round the same
// probabilities; only P·V's summation order differs, so at most the odd
// output may differ, by about one bf16 step of the largest output.
func TestEagerAttentionPaths(t *testing.T) {
	b := newBackends(t)
	t.Setenv(gemmEnv, "builtin")
	fused, err := NewCUDA(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fused.Close)
	for _, c := range []struct{ s, heads, kv, d int }{{40, 4, 2, 32}, {300, 32, 8, 128}, {1, 32, 8, 128}} {
		nKeys := c.s + 17
		q, k, v := b.values(c.s*c.heads*c.d, 2), b.values(nKeys*c.kv*c.d, 2), b.values(nKeys*c.kv*c.d, 1)
		limit := make([]int32, c.s)
		for i := range limit {
			limit[i] = int32(17 + i + 1)
		}
		run := func(g *CUDA) []float32 {
			return g.Float32(g.Attention(g.FromFloat32(q, c.s, c.heads*c.d), g.FromFloat32(k, nKeys, c.kv*c.d), g.FromFloat32(v, nKeys, c.kv*c.d),
				nKeys, c.heads, c.kv, float32(1/math.Sqrt(float64(c.d))), limit))
		}
		a, f := run(b.gpu), run(fused)
		differ := 0
		for i := range a {
			if a[i] != f[i] {
				differ++
			}
		}
		rel := golden.RelErr(a, f)
		t.Logf("%d rows, %d keys, %d/%d heads, head_dim %d: %d of %d outputs differ, relative error %.3g", c.s, nKeys, c.heads, c.kv, c.d, differ, len(a), rel)
		if differ > len(a)/100 || !(rel <= 4e-3) {
			t.Errorf("the two eager attention paths disagree: %d of %d outputs differ, relative error %.3g", differ, len(a), rel)
		}
	}
}
