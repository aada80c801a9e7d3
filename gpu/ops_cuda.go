//go:build cuda

package gpu

import (
	"fmt"
	"slices"
	"unsafe"

	"github.com/sensenova/studio/inference/tensor"
	"gorgonia.org/cu"
)

// The ops of tensor.Backend. Each checks its shapes (a mismatch is a
// programming error and panics naming the op, as on the CPU), allocates its
// output and queues kernels on the stream; none waits for the device except
// Dot, whose result goes to the host.

func (b *CUDA) sameShape(op string, x, y *dtensor) {
	if !slices.Equal(x.shape, y.shape) {
		panic(fmt.Sprintf("gpu.%s: shapes %v and %v differ", op, x.shape, y.shape))
	}
}

// unary runs an elementwise kernel f(out, x, n).
func (b *CUDA) unary(op, kernel string, x tensor.Tensor) tensor.Tensor {
	defer b.op(op)()
	xt := b.dt(op, "x", x)
	out := b.newTensor(op, xt.shape...)
	b.launch1D(kernel, (xt.n+7)/8, argPtr(out.ptr()), argPtr(xt.ptr()), argInt(xt.n)) // 8 per thread
	return out
}

// binary runs an elementwise kernel f(out, x, y, n) on equal shapes.
func (b *CUDA) binary(op, kernel string, x, y tensor.Tensor) tensor.Tensor {
	defer b.op(op)()
	xt, yt := b.dt(op, "x", x), b.dt(op, "y", y)
	b.sameShape(op, xt, yt)
	out := b.newTensor(op, xt.shape...)
	b.launch1D(kernel, (xt.n+7)/8, argPtr(out.ptr()), argPtr(xt.ptr()), argPtr(yt.ptr()), argInt(xt.n)) // 8 per thread
	return out
}

// Transpose implements tensor.Backend.
func (b *CUDA) Transpose(x tensor.Tensor) tensor.Tensor {
	defer b.op("Transpose")()
	xt := b.dt("Transpose", "x", x)
	if len(xt.shape) != 2 {
		panic(fmt.Sprintf("gpu.Transpose: x %v is not 2-D", xt.shape))
	}
	m, n := xt.shape[0], xt.shape[1]
	out := b.newTensor("Transpose", n, m)
	b.launch("transpose", [3]int{(n + 31) / 32, (m + 31) / 32, 1}, [3]int{32, 8, 1}, 0,
		argPtr(out.ptr()), argPtr(xt.ptr()), argInt(int64(m)), argInt(int64(n)))
	return out
}

// Embed implements tensor.Backend.
func (b *CUDA) Embed(w tensor.Tensor, ids []int32) tensor.Tensor {
	defer b.op("Embed")()
	wt := b.dt("Embed", "w", w)
	if len(wt.shape) != 2 || len(ids) == 0 {
		panic(fmt.Sprintf("gpu.Embed: table %v with %d ids", wt.shape, len(ids)))
	}
	for i, id := range ids {
		if id < 0 || int(id) >= wt.shape[0] {
			panic(fmt.Sprintf("gpu.Embed: id %d at %d is outside the table's %d rows", id, i, wt.shape[0]))
		}
	}
	cols := wt.shape[1]
	out := b.newTensor("Embed", len(ids), cols)
	p, done := b.scratchInts("Embed", ids)
	defer done()
	b.launch1D("embed", out.n, argPtr(out.ptr()), argPtr(wt.ptr()), argPtr(p), argInt(int64(len(ids))), argInt(int64(cols)))
	return out
}

// Linear implements tensor.Backend: cuBLAS, then the bias row.
func (b *CUDA) Linear(x, w, bias tensor.Tensor) tensor.Tensor {
	defer b.op("Linear")()
	xt, wt := b.dt("Linear", "x", x), b.dt("Linear", "w", w)
	if len(xt.shape) != 2 || len(wt.shape) != 2 || xt.shape[1] != wt.shape[1] {
		panic(fmt.Sprintf("gpu.Linear: x %v and w %v: want x [M,K] and w [N,K]", xt.shape, wt.shape))
	}
	m, k, n := xt.shape[0], xt.shape[1], wt.shape[0]
	var biasPtr uintptr
	if bias != nil {
		// The GEMM adds the bias to its fp32 product and rounds the sum to
		// bf16 once, as torch's Linear does.
		bt := b.dt("Linear", "bias", bias)
		if len(bt.shape) != 1 || bt.shape[0] != n {
			panic(fmt.Sprintf("gpu.Linear: bias %v does not match w %v", bt.shape, wt.shape))
		}
		biasPtr = bt.ptr()
	}
	out := b.newTensor("Linear", m, n)
	if err := b.blas.gemm(out.ptr(), xt.ptr(), wt.ptr(), m, n, k, biasPtr); err != nil {
		fail("Linear", err)
	}
	return out
}

// RMSNorm implements tensor.Backend.
func (b *CUDA) RMSNorm(x, w tensor.Tensor, eps float32) tensor.Tensor {
	defer b.op("RMSNorm")()
	xt, wt := b.dt("RMSNorm", "x", x), b.dt("RMSNorm", "w", w)
	cols := wt.n
	if cols == 0 || xt.n%cols != 0 {
		panic(fmt.Sprintf("gpu.RMSNorm: x %v does not split into rows of the weight's %d", xt.shape, cols))
	}
	rows := xt.n / cols
	out := b.newTensor("RMSNorm", xt.shape...)
	bw, vec := torchReduceWidth(cols, rows)
	b.launchNorm("rmsnorm", rows, bw, argPtr(out.ptr()), argPtr(xt.ptr()), argPtr(wt.ptr()),
		argInt(rows), argInt(cols), argInt(int64(bw)), boolArg(vec), argF64(float64(eps)))
	return out
}

// QKNorm implements tensor.Backend.
func (b *CUDA) QKNorm(x tensor.Tensor, headDim int, wT, wHW tensor.Tensor, eps float32) tensor.Tensor {
	defer b.op("QKNorm")()
	xt := b.dt("QKNorm", "x", x)
	wt, wh := b.dt("QKNorm", "wT", wT), b.dt("QKNorm", "wHW", wHW)
	half := int64(headDim / 2)
	if headDim <= 0 || headDim%2 != 0 || wt.n != half || wh.n != half || xt.n%int64(headDim) != 0 {
		panic(fmt.Sprintf("gpu.QKNorm: x %v, head %d, weights %v and %v", xt.shape, headDim, wt.shape, wh.shape))
	}
	groups := xt.n / half
	out := b.newTensor("QKNorm", xt.shape...)
	// The reference normalises the two halves in separate calls, each over
	// groups/2 rows: that row count sets its reduction's shape.
	bw, vec := torchReduceWidth(half, groups/2)
	b.launchNorm("qknorm", groups, bw, argPtr(out.ptr()), argPtr(xt.ptr()), argPtr(wt.ptr()), argPtr(wh.ptr()),
		argInt(groups), argInt(half), argInt(int64(bw)), boolArg(vec), argF64(float64(eps)))
	return out
}

// launchNorm runs a norm kernel over rows with bw threads per row, as many
// rows per block as fit in 256 threads (one row of bw threads when bw is
// larger), each thread a float of shared memory for the sums.
func (b *CUDA) launchNorm(kernel string, rows int64, bw int, args ...arg) {
	threads := max(256, bw)
	perBlock := int64(threads / bw)
	b.launch(kernel, [3]int{int((rows + perBlock - 1) / perBlock), 1, 1}, [3]int{threads, 1, 1}, threads*4, args...)
}

// SwiGLU implements tensor.Backend.
func (b *CUDA) SwiGLU(gate, up tensor.Tensor) tensor.Tensor {
	return b.binary("SwiGLU", "swiglu", gate, up)
}

// GELU implements tensor.Backend.
func (b *CUDA) GELU(x tensor.Tensor) tensor.Tensor { return b.unary("GELU", "gelu", x) }

// SiLU implements tensor.Backend.
func (b *CUDA) SiLU(x tensor.Tensor) tensor.Tensor { return b.unary("SiLU", "silu", x) }

// Add implements tensor.Backend.
func (b *CUDA) Add(x, y tensor.Tensor) tensor.Tensor { return b.binary("Add", "add", x, y) }

// RoPE implements tensor.Backend.
func (b *CUDA) RoPE(x tensor.Tensor, pos tensor.Positions, p tensor.RoPEParams) tensor.Tensor {
	defer b.op("RoPE")()
	xt := b.dt("RoPE", "x", x)
	d := p.HeadDim
	if len(xt.shape) != 2 || d <= 0 || d%8 != 0 || xt.shape[1]%d != 0 {
		panic(fmt.Sprintf("gpu.RoPE: x %v with head_dim %d", xt.shape, d))
	}
	rows := xt.shape[0]
	if pos.Len() != rows || len(pos.H) != rows || len(pos.W) != rows {
		panic(fmt.Sprintf("gpu.RoPE: %d rows with %d/%d/%d positions", rows, len(pos.T), len(pos.H), len(pos.W)))
	}
	heads := xt.shape[1] / d
	out := b.newTensor("RoPE", xt.shape...)
	pt, d1 := b.scratchInts("RoPE", pos.T)
	defer d1()
	ph, d2 := b.scratchInts("RoPE", pos.H)
	defer d2()
	pw, d3 := b.scratchInts("RoPE", pos.W)
	defer d3()
	// Frequencies per pair: the t part (n = D/2), then h and w (n = D/4 each).
	fh := tensor.RoPEFrequencies(d/4, p.ThetaHW)
	freq := append(append(tensor.RoPEFrequencies(d/2, p.ThetaT), fh...), fh...)
	pf, d4 := b.scratchFloats("RoPE", freq)
	defer d4()
	b.launch1D("rope3", int64(rows*heads*d/2), argPtr(out.ptr()), argPtr(xt.ptr()), argPtr(pt), argPtr(ph), argPtr(pw), argPtr(pf),
		argInt(int64(rows)), argInt(int64(heads)), argInt(int64(d)))
	return out
}

// PatchRoPE implements tensor.Backend.
func (b *CUDA) PatchRoPE(x tensor.Tensor, cols, rows []int32, theta float64) tensor.Tensor {
	defer b.op("PatchRoPE")()
	xt := b.dt("PatchRoPE", "x", x)
	if len(xt.shape) != 2 || xt.shape[1]%4 != 0 || len(cols) != xt.shape[0] || len(rows) != xt.shape[0] {
		panic(fmt.Sprintf("gpu.PatchRoPE: x %v with %d cols and %d rows", xt.shape, len(cols), len(rows)))
	}
	n, e := xt.shape[0], xt.shape[1]
	out := b.newTensor("PatchRoPE", xt.shape...)
	pc, d1 := b.scratchInts("PatchRoPE", cols)
	defer d1()
	pr, d2 := b.scratchInts("PatchRoPE", rows)
	defer d2()
	pf, d3 := b.scratchFloats("PatchRoPE", tensor.RoPEFrequencies(e/2, theta))
	defer d3()
	b.launch1D("patchrope", int64(n*e/2), argPtr(out.ptr()), argPtr(xt.ptr()), argPtr(pc), argPtr(pr), argPtr(pf),
		argInt(int64(n)), argInt(int64(e)))
	return out
}

// attentionWarps is the number of warps (16 query rows each) of an
// attention block for head dimension d.
func attentionWarps(d int) int {
	if d == 128 {
		return 8
	}
	return 4
}

// Attention implements tensor.Backend with the flash-attention kernel. With
// keyLimit (the understanding expert's prefill) it reproduces the
// reference's eager attention arithmetic, as tensor.Backend describes.
func (b *CUDA) Attention(q, k, v tensor.Tensor, nKeys, numHeads, numKVHeads int, scale float32, keyLimit []int32) tensor.Tensor {
	defer b.op("Attention")()
	const op = "Attention"
	qt, kt, vt := b.dt(op, "q", q), b.dt(op, "k", k), b.dt(op, "v", v)
	if numHeads <= 0 || numKVHeads <= 0 || numHeads%numKVHeads != 0 {
		panic(fmt.Sprintf("gpu.Attention: %d query heads do not group over %d kv heads", numHeads, numKVHeads))
	}
	if len(qt.shape) != 2 || qt.shape[1]%numHeads != 0 || qt.shape[1] == 0 {
		panic(fmt.Sprintf("gpu.Attention: q %v is not [S, %d·D]", qt.shape, numHeads))
	}
	s, d := qt.shape[0], qt.shape[1]/numHeads
	if len(kt.shape) != 2 || len(vt.shape) != 2 || kt.shape[1] != numKVHeads*d || vt.shape[1] != numKVHeads*d {
		panic(fmt.Sprintf("gpu.Attention: q %v, k %v, v %v: want k, v [≥nKeys, %d·%d]", qt.shape, kt.shape, vt.shape, numKVHeads, d))
	}
	if nKeys <= 0 || nKeys > kt.shape[0] || nKeys > vt.shape[0] {
		panic(fmt.Sprintf("gpu.Attention: nKeys %d is outside [1, rows of k %v and v %v]", nKeys, kt.shape, vt.shape))
	}
	switch d {
	case 16, 32, 64, 128:
	default:
		panic(fmt.Sprintf("gpu.Attention: head_dim %d is not one of 16, 32, 64, 128", d))
	}
	for _, t := range []*dtensor{qt, kt, vt} {
		if t.ptr()%16 != 0 {
			panic(fmt.Sprintf("gpu.Attention: %v does not start on a 16-byte boundary", t.shape))
		}
	}
	var limits uintptr
	if keyLimit != nil {
		if len(keyLimit) != s {
			panic(fmt.Sprintf("gpu.Attention: q %v has %d rows but keyLimit has %d", qt.shape, s, len(keyLimit)))
		}
		for i, l := range keyLimit {
			if l < 1 || int(l) > nKeys {
				panic(fmt.Sprintf("gpu.Attention: keyLimit[%d] = %d is outside [1, nKeys = %d]", i, l, nKeys))
			}
		}
		p, done := b.scratchInts(op, keyLimit)
		defer done()
		limits = p
	}
	warps := attentionWarps(d)
	rows := 16 * warps
	launch := func(kernel string, out *dtensor) {
		b.launch(kernel, [3]int{(s + rows - 1) / rows, numHeads, 1}, [3]int{32 * warps, 1, 1}, 0,
			argPtr(out.ptr()), argPtr(qt.ptr()), argPtr(kt.ptr()), argPtr(vt.ptr()), argPtr(limits),
			argInt(int64(s)), argInt(int64(nKeys)), argInt(int64(numHeads)), argInt(int64(numKVHeads)), argF64(float64(scale)))
	}
	if keyLimit != nil {
		// A decoded token (one row) stays on the fused kernel, which takes a
		// faster way for it (gpu/kernels/attention.cu): four launches per
		// layer would cost more than the token's attention.
		if blas, ok := b.blas.(*cublas); ok && blas.batched != nil && s > 1 && eagerProductFits(s, nKeys, numHeads) {
			return b.eagerAttention(blas, launch, vt, s, nKeys, numHeads, numKVHeads, d)
		}
	}
	out := b.newTensor(op, s, numHeads*d)
	kernel := fmt.Sprintf("attention_d%d_w%d", d, warps)
	if keyLimit != nil {
		kernel = "eager_" + kernel
	}
	launch(kernel, out)
	return out
}

// eagerProductMaxKeys and eagerProductMaxBytes bound the eager attention
// that goes through cuBLAS: up to 2048 keys torch's softmax sums in the
// order the kernel reproduces (its warp softmax), and the probabilities it
// stores must stay a small transient.
const (
	eagerProductMaxKeys  = 2048
	eagerProductMaxBytes = 256 << 20
)

func eagerProductFits(s, nKeys, heads int) bool {
	return nKeys <= eagerProductMaxKeys && int64(heads)*int64(s)*int64(nKeys)*2 <= eagerProductMaxBytes
}

// eagerAttention is the understanding expert's prefill attention computed
// as the reference computes it: the kernel writes the rounded probabilities P
// [heads, S, nKeys] (scores, softmax and rounding as torch's eager
// attention), the values are repeated per query head as torch's repeat_kv
// does, and P·V is the strided batched cuBLAS product torch's matmul
// makes — the same kernel, so the same summation order. The result is
// bit-identical to torch's bf16 eager attention on these inputs.
func (b *CUDA) eagerAttention(blas *cublas, launch func(string, *dtensor), vt *dtensor, s, nKeys, heads, kvHeads, d int) tensor.Tensor {
	const op = "Attention"
	probs := b.newTensor(op, heads, s, nKeys)
	defer b.Free(probs)
	if err := cu.MemsetD16Async(cu.DevicePtr(probs.ptr()), 0, probs.n, b.stream); err != nil {
		fail(op, err)
	}
	launch(fmt.Sprintf("eager_probs_d%d_w%d", d, attentionWarps(d)), probs)
	values := b.newTensor(op, heads, nKeys, d)
	defer b.Free(values)
	b.launch1D("repeatkv", values.n, argPtr(values.ptr()), argPtr(vt.ptr()), argInt(int64(nKeys)), argInt(int64(heads)), argInt(int64(kvHeads)), argInt(int64(d)))
	perHead := b.newTensor(op, heads, s, d)
	defer b.Free(perHead)
	if err := blas.batchedGemm(perHead.ptr(), probs.ptr(), values.ptr(), s, d, nKeys, int64(s)*int64(nKeys), int64(nKeys)*int64(d), int64(s)*int64(d), heads); err != nil {
		fail(op, err)
	}
	out := b.newTensor(op, s, heads*d)
	b.launch1D("mergeheads", out.n, argPtr(out.ptr()), argPtr(perHead.ptr()), argInt(int64(s)), argInt(int64(heads)), argInt(int64(d)))
	return out
}

// AddRow implements tensor.Backend.
func (b *CUDA) AddRow(x, row tensor.Tensor) tensor.Tensor {
	defer b.op("AddRow")()
	xt, rt := b.dt("AddRow", "x", x), b.dt("AddRow", "row", row)
	if len(xt.shape) != 2 || rt.n != int64(xt.shape[1]) {
		panic(fmt.Sprintf("gpu.AddRow: x %v and row %v", xt.shape, rt.shape))
	}
	out := b.newTensor("AddRow", xt.shape...)
	b.launch1D("addrow", xt.n, argPtr(out.ptr()), argPtr(xt.ptr()), argPtr(rt.ptr()), argInt(int64(xt.shape[0])), argInt(int64(xt.shape[1])))
	return out
}

// Combine implements tensor.Backend: up to four terms per pass; more terms
// continue from the rounded partial sum.
func (b *CUDA) Combine(terms ...tensor.Term) tensor.Tensor {
	defer b.op("Combine")()
	if len(terms) == 0 {
		panic("gpu.Combine: no terms")
	}
	xs := make([]*dtensor, len(terms))
	for i, t := range terms {
		xs[i] = b.dt("Combine", "term", t.X)
		b.sameShape("Combine", xs[0], xs[i])
	}
	out := b.newTensor("Combine", xs[0].shape...)
	args := make([]arg, 0, 10)
	first := true
	for i := 0; i < len(terms); {
		args = append(args[:0], argPtr(out.ptr()), argInt(out.n))
		slots := 4
		if !first {
			args = append(args, argPtr(out.ptr()), argF64(1))
			slots = 3
		}
		for s := 0; s < slots; s++ {
			if i < len(terms) {
				args = append(args, argPtr(xs[i].ptr()), argF64(float64(terms[i].Coef)))
				i++
			} else {
				args = append(args, argPtr(0), argF64(0))
			}
		}
		b.launch1D("combine4", out.n, args...)
		first = false
	}
	return out
}

// Dot implements tensor.Backend: fp64 partial sums per block, added on the
// host.
func (b *CUDA) Dot(x, y tensor.Tensor, groups int) []float64 {
	defer b.op("Dot")()
	xt, yt := b.dt("Dot", "x", x), b.dt("Dot", "y", y)
	b.sameShape("Dot", xt, yt)
	if groups <= 0 || xt.n%int64(groups) != 0 {
		panic(fmt.Sprintf("gpu.Dot: %d elements of %v do not split into %d groups", xt.n, xt.shape, groups))
	}
	const threads = 256
	size := xt.n / int64(groups)
	per := min((size+threads*8-1)/(threads*8), 64)
	per = max(per, 1)
	n := int64(groups) * per
	p, psize, err := b.alloc.get(n * 8)
	if err != nil {
		fail("Dot", err)
	}
	defer b.alloc.put(p, psize)
	b.launch("dot", [3]int{int(n), 1, 1}, [3]int{threads, 1, 1}, 0,
		argPtr(uintptr(p)), argPtr(xt.ptr()), argPtr(yt.ptr()), argInt(size), argInt(per))
	part := make([]float64, n)
	b.download("Dot", unsafe.Slice((*byte)(unsafe.Pointer(&part[0])), 8*n), uintptr(p))
	out := make([]float64, groups)
	for g := range out {
		for _, v := range part[int64(g)*per : int64(g+1)*per] {
			out[g] += v
		}
	}
	return out
}

// ScaleGroups implements tensor.Backend.
func (b *CUDA) ScaleGroups(x tensor.Tensor, scale []float32) tensor.Tensor {
	defer b.op("ScaleGroups")()
	xt := b.dt("ScaleGroups", "x", x)
	if len(scale) == 0 || xt.n%int64(len(scale)) != 0 {
		panic(fmt.Sprintf("gpu.ScaleGroups: %d elements of %v do not split into %d groups", xt.n, xt.shape, len(scale)))
	}
	out := b.newTensor("ScaleGroups", xt.shape...)
	p, done := b.scratchFloats("ScaleGroups", scale)
	defer done()
	b.launch1D("scalegroups", xt.n, argPtr(out.ptr()), argPtr(xt.ptr()), argPtr(p), argInt(xt.n/int64(len(scale))), argInt(xt.n))
	return out
}

// Merge2x2 implements tensor.Backend.
func (b *CUDA) Merge2x2(x tensor.Tensor, gh, gw int) tensor.Tensor {
	defer b.op("Merge2x2")()
	xt := b.dt("Merge2x2", "x", x)
	if len(xt.shape) != 2 || gh%2 != 0 || gw%2 != 0 || xt.shape[0] != gh*gw {
		panic(fmt.Sprintf("gpu.Merge2x2: x %v on a %d×%d grid", xt.shape, gh, gw))
	}
	e := xt.shape[1]
	out := b.newTensor("Merge2x2", gh/2*(gw/2), e*4)
	b.launch1D("merge2x2", out.n, argPtr(out.ptr()), argPtr(xt.ptr()), argInt(int64(gh)), argInt(int64(gw)), argInt(int64(e)))
	return out
}

// PixelShuffle implements tensor.Backend.
func (b *CUDA) PixelShuffle(x tensor.Tensor, r int) tensor.Tensor {
	defer b.op("PixelShuffle")()
	xt := b.dt("PixelShuffle", "x", x)
	if len(xt.shape) != 3 || r <= 0 || xt.shape[0]%(r*r) != 0 {
		panic(fmt.Sprintf("gpu.PixelShuffle: x %v with factor %d", xt.shape, r))
	}
	c, h, w := xt.shape[0]/(r*r), xt.shape[1], xt.shape[2]
	out := b.newTensor("PixelShuffle", c, h*r, w*r)
	b.launch1D("pixelshuffle", out.n, argPtr(out.ptr()), argPtr(xt.ptr()), argInt(int64(c)), argInt(int64(h)), argInt(int64(w)), argInt(int64(r)))
	return out
}

func boolArg(v bool) arg {
	if v {
		return 1
	}
	return 0
}

// ImageToPatches implements tensor.Backend.
func (b *CUDA) ImageToPatches(img tensor.Tensor, p int, channelLast bool) tensor.Tensor {
	defer b.op("ImageToPatches")()
	it := b.dt("ImageToPatches", "img", img)
	if len(it.shape) != 3 || p <= 0 || it.shape[1]%p != 0 || it.shape[2]%p != 0 {
		panic(fmt.Sprintf("gpu.ImageToPatches: image %v in %d-px patches", it.shape, p))
	}
	c, h, w := it.shape[0], it.shape[1], it.shape[2]
	out := b.newTensor("ImageToPatches", (h/p)*(w/p), c*p*p)
	b.launch1D("img2patches", out.n, argPtr(out.ptr()), argPtr(it.ptr()), argInt(int64(c)), argInt(int64(h)), argInt(int64(w)), argInt(int64(p)), boolArg(channelLast))
	return out
}

// PatchesToImage implements tensor.Backend.
func (b *CUDA) PatchesToImage(patches tensor.Tensor, c, h, w, p int, channelLast bool) tensor.Tensor {
	defer b.op("PatchesToImage")()
	pt := b.dt("PatchesToImage", "patches", patches)
	if p <= 0 || h%p != 0 || w%p != 0 || len(pt.shape) != 2 || pt.shape[0] != (h/p)*(w/p) || pt.shape[1] != c*p*p {
		panic(fmt.Sprintf("gpu.PatchesToImage: patches %v for a %d×%d×%d image in %d-px patches", pt.shape, c, h, w, p))
	}
	out := b.newTensor("PatchesToImage", c, h, w)
	b.launch1D("patches2img", out.n, argPtr(out.ptr()), argPtr(pt.ptr()), argInt(int64(c)), argInt(int64(h)), argInt(int64(w)), argInt(int64(p)), boolArg(channelLast))
	return out
}

// Conv3x3 implements tensor.Backend as a GEMM over an im2col buffer:
// out [O, H·W] = w [O, C·9] · col [H·W, C·9]ᵀ, rounded to bf16, then the
// bias per channel added and rounded again — the reference's cuDNN
// convolution returns a bf16 product and torch adds the bias to it after.
func (b *CUDA) Conv3x3(x, w, bias tensor.Tensor) tensor.Tensor {
	defer b.op("Conv3x3")()
	xt, wt := b.dt("Conv3x3", "x", x), b.dt("Conv3x3", "w", w)
	if len(xt.shape) != 3 || len(wt.shape) != 4 || wt.shape[1] != xt.shape[0] || wt.shape[2] != 3 || wt.shape[3] != 3 {
		panic(fmt.Sprintf("gpu.Conv3x3: x %v and w %v: want x [C,H,W] and w [O,C,3,3]", xt.shape, wt.shape))
	}
	c, h, wd, o := xt.shape[0], xt.shape[1], xt.shape[2], wt.shape[0]
	var bt *dtensor
	if bias != nil {
		if bt = b.dt("Conv3x3", "bias", bias); bt.n != int64(o) {
			panic(fmt.Sprintf("gpu.Conv3x3: bias %v for %d output channels", bt.shape, o))
		}
	}
	col := b.newTensor("Conv3x3", h*wd, c*9)
	defer b.Free(col)
	b.launch1D("im2col3x3", col.n, argPtr(col.ptr()), argPtr(xt.ptr()), argInt(int64(c)), argInt(int64(h)), argInt(int64(wd)))
	out := b.newTensor("Conv3x3", o, h, wd)
	// Row-major out [O, HW] = wflat [O, C·9] · col [HW, C·9]ᵀ.
	if err := b.blas.gemm(out.ptr(), wt.ptr(), col.ptr(), o, h*wd, c*9, 0); err != nil {
		fail("Conv3x3", err)
	}
	if bt != nil {
		b.launch1D("addcol", out.n, argPtr(out.ptr()), argPtr(out.ptr()), argPtr(bt.ptr()), argInt(int64(o)), argInt(int64(h*wd)))
	}
	return out
}
