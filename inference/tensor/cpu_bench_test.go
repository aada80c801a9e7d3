package tensor

import (
	"fmt"
	"testing"

	"github.com/sensenova/studio/inference/safetensors"
)

// BenchmarkLinear reports the Linear kernel's speed in GFLOP/s (2·M·K·N
// flops per call) for decode (M = 1), a batch, and a small awkward shape,
// with F32 and BF16 weights.
func BenchmarkLinear(b *testing.B) {
	c := NewCPU(0)
	r := newRNG(20)
	for _, sz := range []struct{ m, k, n int }{{1, 4096, 4096}, {64, 4096, 4096}, {634, 128, 384}} {
		x := c.FromFloat32(randVals(r, sz.m*sz.k, 1), sz.m, sz.k)
		vals := randVals(r, sz.n*sz.k, 1)
		for _, dt := range []DType{F32, BF16} {
			var w Tensor
			if dt == BF16 {
				raw, _ := bf16Raw(vals)
				w, _ = c.Weight(safetensors.BF16, raw, sz.n, sz.k)
			} else {
				w = c.FromFloat32(vals, sz.n, sz.k)
			}
			b.Run(fmt.Sprintf("M%d_K%d_N%d_%v", sz.m, sz.k, sz.n, dt), func(b *testing.B) {
				for b.Loop() {
					c.Linear(x, w, nil)
				}
				b.ReportMetric(2*float64(sz.m*sz.k*sz.n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

// BenchmarkAttention: 1024 queries × 1024 keys, 32 query heads over 8 kv
// heads of 128 (4·S·keys·D·heads flops).
func BenchmarkAttention(b *testing.B) {
	c := NewCPU(0)
	r := newRNG(21)
	const s, keys, nq, nkv, d = 1024, 1024, 32, 8, 128
	q := c.FromFloat32(randVals(r, s*nq*d, 1), s, nq*d)
	k := c.FromFloat32(randVals(r, keys*nkv*d, 1), keys, nkv*d)
	v := c.FromFloat32(randVals(r, keys*nkv*d, 1), keys, nkv*d)
	for b.Loop() {
		c.Attention(q, k, v, keys, nq, nkv, 0.088, nil)
	}
	b.ReportMetric(4*float64(s*keys*d*nq)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}
