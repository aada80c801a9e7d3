//go:build cuda

package gpu

import (
	"math"
	"testing"

	"github.com/sensenova/studio/inference/tensor"
)

// Benchmarks of the ops that dominate a 2048² denoising step (4096 image
// tokens after a prefix), reporting achieved TFLOP/s.

func benchBackend(b *testing.B) *CUDA {
	g, err := NewCUDA(0, 0)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(g.Close)
	return g
}

func tflops(b *testing.B, flops float64) {
	b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e12, "TFLOP/s")
}

func BenchmarkAttention4096(b *testing.B) {
	g := benchBackend(b)
	const prefix, image = 77, 4096
	q := g.RandomWeight(1, 1, image, 32*128)
	k := g.RandomWeight(1, 2, prefix+image, 8*128)
	v := g.RandomWeight(1, 3, prefix+image, 8*128)
	scale := float32(1 / math.Sqrt(128))
	g.Sync()
	b.ResetTimer()
	for range b.N {
		g.Free(g.Attention(q, k, v, prefix+image, 32, 8, scale, nil))
	}
	g.Sync()
	tflops(b, 4*image*(prefix+image)*32*128)
}

func BenchmarkLinearMLP(b *testing.B) {
	g := benchBackend(b)
	x := g.RandomWeight(1, 1, 4096, 4096)
	w := g.RandomWeight(0.02, 2, 12288, 4096)
	g.Sync()
	b.ResetTimer()
	for range b.N {
		g.Free(g.Linear(x, w, nil))
	}
	g.Sync()
	tflops(b, 2*4096*4096*12288)
}

func BenchmarkSwiGLU(b *testing.B) {
	g := benchBackend(b)
	x := g.RandomWeight(1, 1, 4096, 12288)
	y := g.RandomWeight(1, 2, 4096, 12288)
	g.Sync()
	b.ResetTimer()
	for range b.N {
		g.Free(g.SwiGLU(x, y))
	}
	g.Sync()
	b.ReportMetric(3*2*4096*12288*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
}

// BenchmarkLinearMLPBuiltin is BenchmarkLinearMLP on the built-in GEMM
// kernels (SENSENOVA_GEMM=builtin), to compare with cuBLAS.
func BenchmarkLinearMLPBuiltin(b *testing.B) {
	b.Setenv(gemmEnv, "builtin")
	BenchmarkLinearMLP(b)
}

var _ tensor.Backend = (*CUDA)(nil)
