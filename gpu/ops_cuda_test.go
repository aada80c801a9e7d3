//go:build cuda

package gpu

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/sensenova/studio/inference/safetensors"
	"github.com/sensenova/studio/inference/tensor"
	"github.com/sensenova/studio/internal/golden"
)

// These tests run every op of the CUDA backend against the float32 CPU
// backend on the same inputs (random values rounded to bf16, so both start
// from identical numbers) at the real model's shapes: hidden 4096, head_dim
// 128, 32 query and 8 key/value heads, a 4096-token image after a prefix.
// The CUDA side stores every result in bf16 (relative rounding 2⁻⁹), so the
// bound is a few bf16 steps of the largest value.

const (
	opTol   = 1e-2 // one or two bf16 roundings
	attnTol = 2e-2 // probabilities rounded to bf16 before P·V
	// eagerTol bounds the prefill attention against float32: it rounds
	// the scores themselves to bf16, as the reference's eager attention
	// does (steps of 1/32 at scores of 4–8); TestEagerAttentionArithmetic
	// checks that arithmetic itself closely.
	eagerTol = 4e-2
)

type backends struct {
	t   *testing.T
	gpu *CUDA
	cpu *tensor.CPU
	rng *rand.Rand
}

func newBackends(t *testing.T) *backends {
	t.Helper()
	g, err := NewCUDA(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Close)
	return &backends{t: t, gpu: g, cpu: tensor.NewCPU(0), rng: rand.New(rand.NewPCG(1, 2))}
}

// values returns n normal values of standard deviation std rounded to bf16.
func (b *backends) values(n int, std float64) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = safetensors.BF16ToFloat32(safetensors.Float32ToBF16(float32(b.rng.NormFloat64() * std)))
	}
	return v
}

// input makes the same activation on both backends.
func (b *backends) input(std float64, shape ...int) (g, c tensor.Tensor) {
	v := b.values(int(numel(shape)), std)
	return b.gpu.FromFloat32(v, shape...), b.cpu.FromFloat32(v, shape...)
}

// weight makes the same bf16 weight on both backends.
func (b *backends) weight(std float64, shape ...int) (g, c tensor.Tensor) {
	v := b.values(int(numel(shape)), std)
	raw := make([]byte, 2*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint16(raw[2*i:], safetensors.Float32ToBF16(x))
	}
	g, err := b.gpu.Weight(safetensors.BF16, raw, shape...)
	if err != nil {
		b.t.Fatal(err)
	}
	c, err = b.cpu.Weight(safetensors.BF16, raw, shape...)
	if err != nil {
		b.t.Fatal(err)
	}
	return g, c
}

// check compares a CUDA result with the CPU's: same shape, relative error
// within tol.
func (b *backends) check(what string, g, c tensor.Tensor, tol float64) {
	b.t.Helper()
	if !slices.Equal(g.Shape(), c.Shape()) {
		b.t.Fatalf("%s: shape %v on the GPU, %v on the CPU", what, g.Shape(), c.Shape())
	}
	got, want := b.gpu.Float32(g), b.cpu.Float32(c)
	err := golden.RelErr(got, want)
	if err < 0 || err > tol || math.IsNaN(err) {
		b.t.Errorf("%s %v: relative error %.3g > %.0e", what, g.Shape(), err, tol)
	} else {
		b.t.Logf("%s %v: relative error %.3g", what, g.Shape(), err)
	}
	b.gpu.Free(g)
}

func TestLinearAndNorms(t *testing.T) {
	b := newBackends(t)
	xg, xc := b.input(1, 4096+77, 4096)
	wg, wc := b.weight(0.02, 1024, 4096)
	bg, bc := b.weight(0.5, 1024)
	b.check("Linear", b.gpu.Linear(xg, wg, nil), b.cpu.Linear(xc, wc, nil), opTol)
	b.check("Linear+bias", b.gpu.Linear(xg, wg, bg), b.cpu.Linear(xc, wc, bc), opTol)

	ng, nc := b.weight(1, 4096)
	b.check("RMSNorm", b.gpu.RMSNorm(xg, ng, 1e-6), b.cpu.RMSNorm(xc, nc, 1e-6), opTol)

	qg, qc := b.input(3, 300, 32*128)
	tg, tc := b.weight(1, 64)
	hg, hc := b.weight(1, 64)
	b.check("QKNorm", b.gpu.QKNorm(qg, 128, tg, hg, 1e-6), b.cpu.QKNorm(qc, 128, tc, hc, 1e-6), opTol)

	eg, ec := b.weight(1, 1000, 256)
	ids := []int32{0, 999, 5, 5, 17}
	b.check("Embed", b.gpu.Embed(eg, ids), b.cpu.Embed(ec, ids), 0)
	b.check("Transpose", b.gpu.Transpose(eg), b.cpu.Transpose(ec), 0)
}

func TestElementwise(t *testing.T) {
	b := newBackends(t)
	xg, xc := b.input(2, 4096, 12288)
	yg, yc := b.input(2, 4096, 12288)
	b.check("SwiGLU", b.gpu.SwiGLU(xg, yg), b.cpu.SwiGLU(xc, yc), opTol)
	b.check("GELU", b.gpu.GELU(xg), b.cpu.GELU(xc), opTol)
	b.check("SiLU", b.gpu.SiLU(xg), b.cpu.SiLU(xc), opTol)
	b.check("Add", b.gpu.Add(xg, yg), b.cpu.Add(xc, yc), opTol)
	rg, rc := b.weight(1, 12288)
	b.check("AddRow", b.gpu.AddRow(xg, rg), b.cpu.AddRow(xc, rc), opTol)

	terms := func(x, y, z, w, v tensor.Tensor) []tensor.Term {
		return []tensor.Term{{Coef: 4, X: x}, {Coef: -3, X: y}, {Coef: 0.5, X: z}, {Coef: 1, X: w}, {Coef: -0.25, X: v}}
	}
	zg, zc := b.input(1, 4096, 12288)
	b.check("Combine(2)", b.gpu.Combine(terms(xg, yg, zg, xg, yg)[:2]...), b.cpu.Combine(terms(xc, yc, zc, xc, yc)[:2]...), opTol)
	b.check("Combine(5)", b.gpu.Combine(terms(xg, yg, zg, xg, yg)...), b.cpu.Combine(terms(xc, yc, zc, xc, yc)...), opTol)

	scale := []float32{0.5, 2, -1, 3.25}
	b.check("ScaleGroups", b.gpu.ScaleGroups(xg, scale), b.cpu.ScaleGroups(xc, scale), opTol)

	for _, groups := range []int{1, 4, 4096} {
		got, want := b.gpu.Dot(xg, yg, groups), b.cpu.Dot(xc, yc, groups)
		for i := range want {
			// Both sum the same bf16 products in float64: only the order differs.
			if d := math.Abs(got[i] - want[i]); d > 1e-9*math.Max(1, math.Abs(want[i]))*float64(len(want)) {
				t.Errorf("Dot(%d groups)[%d] = %v, want %v", groups, i, got[i], want[i])
				break
			}
		}
	}
}

func TestRoPE(t *testing.T) {
	b := newBackends(t)
	const s = 64 + 4096
	pos := tensor.Positions{T: make([]int32, s), H: make([]int32, s), W: make([]int32, s)}
	for i := range s {
		if i < 64 {
			pos.T[i], pos.H[i], pos.W[i] = int32(i), int32(i), int32(i)
		} else {
			pos.T[i], pos.H[i], pos.W[i] = 64, int32((i-64)/64), int32((i-64)%64)
		}
	}
	p := tensor.RoPEParams{HeadDim: 128, ThetaT: 5e6, ThetaHW: 1e4}
	xg, xc := b.input(1, s, 32*128)
	b.check("RoPE", b.gpu.RoPE(xg, pos, p), b.cpu.RoPE(xc, pos, p), opTol)

	cols, rows := make([]int32, 4096), make([]int32, 4096)
	for i := range cols {
		cols[i], rows[i] = int32(i%64), int32(i/64)
	}
	fg, fc := b.input(1, 4096, 1024)
	b.check("PatchRoPE", b.gpu.PatchRoPE(fg, cols, rows, 1e4), b.cpu.PatchRoPE(fc, cols, rows, 1e4), opTol)
}

func TestAttention(t *testing.T) {
	b := newBackends(t)
	const prefix, image = 77, 4096
	scale := float32(1 / math.Sqrt(128))
	// Keys and values of the prefix and the image in one cache, with room
	// to spare as the model's cache has.
	kg, kc := b.input(2, prefix+image+40, 8*128)
	vg, vc := b.input(1, prefix+image+40, 8*128)

	// A denoising step: image queries see the prefix and every image key.
	qg, qc := b.input(2, image, 32*128)
	b.check("Attention (image over prefix+image)", b.gpu.Attention(qg, kg, vg, prefix+image, 32, 8, scale, nil),
		b.cpu.Attention(qc, kc, vc, prefix+image, 32, 8, scale, nil), attnTol)

	// A block-causal prefill of 300 tokens after 77 cached ones: runs of
	// equal t see each other.
	q2g, q2c := b.input(2, 300, 32*128)
	limits := make([]int32, 300)
	for i := range limits {
		block := i/50*50 + 50 // blocks of 50 tokens sharing t
		if i%3 == 0 {
			block = i + 1 // and some causal text rows
		}
		limits[i] = int32(prefix + min(block, 300))
	}
	b.check("Attention (block-causal prefill)", b.gpu.Attention(q2g, kg, vg, prefix+300, 32, 8, scale, limits),
		b.cpu.Attention(q2c, kc, vc, prefix+300, 32, 8, scale, limits), eagerTol)

	// One decoded token.
	q3g, q3c := b.input(2, 1, 32*128)
	b.check("Attention (one token)", b.gpu.Attention(q3g, kg, vg, prefix+1, 32, 8, scale, nil),
		b.cpu.Attention(q3c, kc, vc, prefix+1, 32, 8, scale, nil), attnTol)

	// The other head sizes the kernels are built for (the tiny checkpoints).
	for _, d := range []int{16, 32, 64} {
		qg, qc := b.input(2, 133, 4*d)
		kg, kc := b.input(2, 200, 2*d)
		vg, vc := b.input(1, 200, 2*d)
		b.check(fmt.Sprintf("Attention (D=%d)", d), b.gpu.Attention(qg, kg, vg, 190, 4, 2, float32(1/math.Sqrt(float64(d))), nil),
			b.cpu.Attention(qc, kc, vc, 190, 4, 2, float32(1/math.Sqrt(float64(d))), nil), attnTol)
	}
}

func TestImageLayouts(t *testing.T) {
	b := newBackends(t)
	xg, xc := b.input(1, 64*64, 1024)
	b.check("Merge2x2", b.gpu.Merge2x2(xg, 64, 64), b.cpu.Merge2x2(xc, 64, 64), 0)
	ig, ic := b.input(1, 3, 256, 192)
	for _, last := range []bool{false, true} {
		pg, pc := b.gpu.ImageToPatches(ig, 32, last), b.cpu.ImageToPatches(ic, 32, last)
		b.check(fmt.Sprintf("PatchesToImage(channelLast %v)", last), b.gpu.PatchesToImage(pg, 3, 256, 192, 32, last), b.cpu.PatchesToImage(pc, 3, 256, 192, 32, last), 0)
		b.check(fmt.Sprintf("ImageToPatches(channelLast %v)", last), pg, pc, 0)
	}
	sg, sc := b.input(1, 64*4, 30, 20)
	b.check("PixelShuffle", b.gpu.PixelShuffle(sg, 2), b.cpu.PixelShuffle(sc, 2), 0)

	// The pixel head's convolutions at a 512-px picture.
	cg, cc := b.input(1, 1024, 32, 32)
	wg, wc := b.weight(0.01, 256, 1024, 3, 3)
	bg, bc := b.weight(0.5, 256)
	b.check("Conv3x3", b.gpu.Conv3x3(cg, wg, bg), b.cpu.Conv3x3(cc, wc, bc), opTol)
}

// TestEightByteArguments checks that 64-bit integer and double kernel
// arguments arrive whole: a seed that differs only above bit 32 must give
// other random values, and a double must arrive as its value.
func TestEightByteArguments(t *testing.T) {
	b := newBackends(t)
	a := b.gpu.Float32(b.gpu.RandomWeight(0.02, 5, 1000))
	c := b.gpu.Float32(b.gpu.RandomWeight(0.02, 5+1<<32, 1000))
	same := 0
	var sum, sq float64
	for i := range a {
		if a[i] == c[i] {
			same++
		}
		sum += float64(a[i])
		sq += float64(a[i]) * float64(a[i])
	}
	if same > 50 {
		t.Errorf("seeds 5 and 5+2³² give %d equal values of 1000: the seed's high bits were lost", same)
	}
	if std := math.Sqrt(sq / 1000); math.Abs(std-0.02) > 0.003 || math.Abs(sum/1000) > 0.003 {
		t.Errorf("RandomWeight(std 0.02): mean %.4f std %.4f", sum/1000, std)
	}
	for _, v := range b.gpu.Float32(b.gpu.Filled(0.1, 7)) {
		if want := safetensors.BF16ToFloat32(safetensors.Float32ToBF16(0.1)); v != want {
			t.Fatalf("Filled(0.1) gave %v, want %v", v, want)
		}
	}
}

// TestMemoryAccounting checks the allocator's figures and budget.
func TestMemoryAccounting(t *testing.T) {
	g, err := NewCUDA(0, 64<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	x := g.Zeros(1024, 1024) // 2 MiB
	if m := g.Memory(); m.InUse != 2<<20 || m.PeakInUse != 2<<20 {
		t.Errorf("after a 2 MiB tensor: %+v", m)
	}
	g.Free(x)
	if m := g.Memory(); m.InUse != 0 || m.Reserved != 2<<20 {
		t.Errorf("after freeing it: %+v (the block stays cached)", m)
	}
	func() {
		defer func() {
			e, ok := recover().(*Error)
			if !ok {
				t.Errorf("a tensor past the budget did not fail with *Error")
			} else {
				t.Logf("over budget: %v", e)
			}
		}()
		g.Zeros(64<<20, 1)
	}()
}

// TestEagerAttentionArithmetic checks the prefill kernel against a host
// model of the reference's eager attention in bf16: scores rounded after
// the product and after the scaling, fp32 softmax, probabilities rounded
// before P·V. Both see the same bf16 inputs, so only summation order and
// the output rounding differ.
func TestEagerAttentionArithmetic(t *testing.T) {
	b := newBackends(t)
	const s, nKeys, heads, kvHeads, d = 70, 150, 4, 2, 128
	scale := float32(1 / math.Sqrt(d))
	qv, kv, vv := b.values(s*heads*d, 2), b.values(nKeys*kvHeads*d, 2), b.values(nKeys*kvHeads*d, 1)
	limits := make([]int32, s)
	for i := range limits {
		limits[i] = int32(80 + i/10*10)
	}
	got := b.gpu.Float32(b.gpu.Attention(b.gpu.FromFloat32(qv, s, heads*d), b.gpu.FromFloat32(kv, nKeys, kvHeads*d),
		b.gpu.FromFloat32(vv, nKeys, kvHeads*d), nKeys, heads, kvHeads, scale, limits))
	rb := func(x float32) float32 { return safetensors.BF16ToFloat32(safetensors.Float32ToBF16(x)) }
	want := make([]float32, len(got))
	for i := range s {
		for h := range heads {
			kh := h / (heads / kvHeads)
			n := int(limits[i])
			sc := make([]float32, n)
			m := float32(math.Inf(-1))
			for j := range n {
				var dot float32
				for x := range d {
					dot += qv[(i*heads+h)*d+x] * kv[(j*kvHeads+kh)*d+x]
				}
				sc[j] = rb(rb(dot) * scale)
				m = max(m, sc[j])
			}
			var sum float32
			for j := range sc {
				sum += float32(math.Exp(float64(sc[j] - m)))
			}
			for x := range d {
				var o float32
				for j := range sc {
					o += rb(float32(math.Exp(float64(sc[j]-m)))/sum) * vv[(j*kvHeads+kh)*d+x]
				}
				want[(i*heads+h)*d+x] = o
			}
		}
	}
	if err := golden.RelErr(got, want); !(err <= 5e-3) {
		t.Errorf("eager attention: relative error %.3g against the host model", err)
	} else {
		t.Logf("eager attention: relative error %.3g against the host model", err)
	}
}

// TestBuiltinGEMM runs Linear on the engine's own GEMM kernels (what a
// machine without cuBLAS uses) against the CPU: real shapes, a decode row,
// edges that are not multiples of the 128 × 128 tile, a bias accumulated
// in the product, and a K that is not a multiple of 8 (the simple kernel).
func TestBuiltinGEMM(t *testing.T) {
	t.Setenv(gemmEnv, "builtin")
	b := newBackends(t)
	if !strings.Contains(b.gpu.Info().GEMM, "built-in") {
		t.Fatalf("GEMM %q with %s=builtin", b.gpu.Info().GEMM, gemmEnv)
	}
	for _, s := range []struct{ m, n, k int }{
		{4096 + 77, 1024, 4096}, {300, 12288, 4096}, {77, 4096, 12288}, {1, 4096, 4096},
		{77, 100, 72}, {5, 3, 8}, {130, 70, 20}, {3, 5, 7},
	} {
		xg, xc := b.input(1, s.m, s.k)
		wg, wc := b.weight(0.02, s.n, s.k)
		bg, bc := b.weight(0.5, s.n)
		b.check("Linear", b.gpu.Linear(xg, wg, nil), b.cpu.Linear(xc, wc, nil), opTol)
		b.check("Linear+bias", b.gpu.Linear(xg, wg, bg), b.cpu.Linear(xc, wc, bc), opTol)
		for _, x := range []tensor.Tensor{xg, wg, bg} {
			b.gpu.Free(x)
		}
	}
}

// TestHostWeights checks layer streaming's storage: a weight kept in host
// memory gives the same bits as the same weight on the device in the ops
// that read weights, through views too, and its device copies are gone
// when each op ends.
func TestHostWeights(t *testing.T) {
	b := newBackends(t)
	g := b.gpu
	xg, _ := b.input(1, 300, 4096)
	v := b.values(1024*4096, 0.02)
	raw := make([]byte, 2*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint16(raw[2*i:], safetensors.Float32ToBF16(x))
	}
	dev, err := g.Weight(safetensors.BF16, raw, 1024, 4096)
	if err != nil {
		t.Fatal(err)
	}
	host, err := g.HostWeight(safetensors.BF16, raw, 1024, 4096)
	if err != nil {
		t.Fatal(err)
	}
	if held, pinned := g.HostBytes(); held != int64(len(raw)) || pinned != held {
		t.Errorf("host bytes %d (%d pinned), want %d page-locked", held, pinned, len(raw))
	}
	g.Sync()
	before := g.Memory().InUse
	same := func(what string, a, c tensor.Tensor) {
		t.Helper()
		if got, want := g.Float32(a), g.Float32(c); !slices.Equal(got, want) {
			t.Errorf("%s: the host weight's result differs from the device weight's", what)
		}
		g.Free(a)
		g.Free(c)
	}
	same("Linear", g.Linear(xg, host, nil), g.Linear(xg, dev, nil))
	same("Linear of a row view", g.Linear(xg, g.Rows(host, 512, 256), nil), g.Linear(xg, g.Rows(dev, 512, 256), nil))
	normH, normD := g.Reshape(g.Rows(host, 0, 1), 4096), g.Reshape(g.Rows(dev, 0, 1), 4096)
	same("RMSNorm of a reshaped view", g.RMSNorm(xg, normH, 1e-6), g.RMSNorm(xg, normD, 1e-6))
	same("Embed", g.Embed(host, []int32{3, 1000, 7}), g.Embed(dev, []int32{3, 1000, 7}))
	g.Sync()
	ahead := int64(0) // copies started for the weights expected next
	for _, f := range g.pf.ready {
		ahead += f.t.buf.size
	}
	if len(g.pf.ready) == 0 {
		t.Error("no weight was copied ahead: the order the ops read them in repeats")
	}
	if after := g.Memory().InUse; after != before+ahead {
		t.Errorf("device memory in use %d after the ops, %d before (+%d copied ahead): the host weight's copies were kept", after, before, ahead)
	}
	moved, err := g.ToHost(g.Filled(0.5, 64, 64))
	if err != nil {
		t.Fatal(err)
	}
	if got := g.Float32(moved); got[0] != 0.5 || got[len(got)-1] != 0.5 {
		t.Errorf("ToHost: %v … %v, want 0.5", got[0], got[len(got)-1])
	}
	g.Free(host)
	g.Free(moved)
	if held, _ := g.HostBytes(); held != 0 {
		t.Errorf("%d host bytes held after Free", held)
	}
}
