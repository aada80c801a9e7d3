package tensor

import "math"

// elemGrain is the element count below which elementwise work stays on the
// calling goroutine (it is memory bound: splitting small arrays costs more
// than it gains).
const elemGrain = 1 << 14

// mapF32 returns a new F32 tensor of x's shape with out[i] = f(x[i]),
// computed in parallel for large tensors.
func (c *CPU) mapF32(op string, x Tensor, f func(float32) float32) Tensor {
	xs, xt := read(op, "x", x)
	out := make([]float32, len(xs))
	c.parallelFor(len(xs), 8, func(lo, hi int) {
		o, s := out[lo:hi], xs[lo:hi]
		for i := range o {
			o[i] = f(s[i])
		}
	})
	return newF32(out, xt.shape...)
}

// gelu is the exact (erf) GELU, evaluated in float64 and rounded.
func gelu(x float32) float32 {
	v := float64(x)
	return float32(0.5 * v * (1 + math.Erf(v*(1/math.Sqrt2))))
}

// silu is x·sigmoid(x), evaluated in float64 and rounded.
func silu(x float32) float32 {
	v := float64(x)
	return float32(v / (1 + math.Exp(-v)))
}

// GELU returns the exact (erf) GELU of x.
func (c *CPU) GELU(x Tensor) Tensor { return c.mapF32("GELU", x, gelu) }

// SiLU returns x·sigmoid(x).
func (c *CPU) SiLU(x Tensor) Tensor { return c.mapF32("SiLU", x, silu) }

// sameShape reads two tensors that must have equal shapes.
func sameShape(op, na string, a Tensor, nb string, b Tensor) ([]float32, []float32, *cpuTensor) {
	as, at := read(op, na, a)
	bs, bt := read(op, nb, b)
	if !sameDims(at.shape, bt.shape) {
		panicf(op, "%s %v and %s %v: shapes differ", na, at.shape, nb, bt.shape)
	}
	return as, bs, at
}

// SwiGLU returns silu(gate) ⊙ up: silu rounded to float32, then a float32
// product, as PyTorch's silu(gate) * up.
func (c *CPU) SwiGLU(gate, up Tensor) Tensor {
	gs, us, gt := sameShape("SwiGLU", "gate", gate, "up", up)
	out := make([]float32, len(gs))
	c.parallelFor(len(gs), 8, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			out[i] = silu(gs[i]) * us[i]
		}
	})
	return newF32(out, gt.shape...)
}

// Add returns a + b (same shapes).
func (c *CPU) Add(a, b Tensor) Tensor {
	as, bs, at := sameShape("Add", "a", a, "b", b)
	out := make([]float32, len(as))
	c.parallelFor(len(as), 1, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			out[i] = as[i] + bs[i]
		}
	})
	return newF32(out, at.shape...)
}

// AddRow returns x with row added to each of its rows: x [M,N], row [N].
func (c *CPU) AddRow(x, row Tensor) Tensor {
	const op = "AddRow"
	xs, xt := read(op, "x", x)
	rs, rt := read(op, "row", row)
	if len(xt.shape) != 2 || len(rt.shape) != 1 || rt.shape[0] != xt.shape[1] {
		panicf(op, "x %v and row %v: want x [M,N] and row [N]", xt.shape, rt.shape)
	}
	m, n := xt.shape[0], xt.shape[1]
	out := make([]float32, len(xs))
	c.parallelFor(m, n, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			o, s := out[i*n:i*n+n], xs[i*n:i*n+n]
			for j := range o {
				o[j] = s[j] + rs[j]
			}
		}
	})
	return newF32(out, xt.shape...)
}

// Combine returns Σ coef·X over terms of equal shape, summed in float64 in
// term order and rounded once.
func (c *CPU) Combine(terms ...Term) Tensor {
	const op = "Combine"
	if len(terms) == 0 {
		panicf(op, "no terms")
	}
	xs := make([][]float32, len(terms))
	var shape []int
	for i, t := range terms {
		s, ct := read(op, "term", t.X)
		if i == 0 {
			shape = ct.shape
		} else if !sameDims(shape, ct.shape) {
			panicf(op, "term %d has shape %v, term 0 has %v", i, ct.shape, shape)
		}
		xs[i] = s
	}
	out := make([]float32, len(xs[0]))
	c.parallelFor(len(out), 2*len(terms), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			var s float64
			for t, x := range xs {
				s += float64(terms[t].Coef) * float64(x[i])
			}
			out[i] = float32(s)
		}
	})
	return newF32(out, shape...)
}

// dotChunk is the fixed span of the partial sums of Dot, so that its result
// does not depend on the number of workers.
const dotChunk = 1 << 14

// Dot returns, for each of groups equal contiguous groups of elements,
// Σ x·y in float64: partial sums over fixed spans of dotChunk elements are
// added in order.
func (c *CPU) Dot(x, y Tensor, groups int) []float64 {
	const op = "Dot"
	xs, ys, xt := sameShape(op, "x", x, "y", y)
	if groups <= 0 || len(xs)%groups != 0 {
		panicf(op, "%d elements of %v do not split into %d groups", len(xs), xt.shape, groups)
	}
	g := len(xs) / groups
	per := max(1, (g+dotChunk-1)/dotChunk) // chunks per group
	part := make([]float64, groups*per)
	c.parallelFor(len(part), 2*min(g, dotChunk), func(lo, hi int) {
		for p := lo; p < hi; p++ {
			grp, ch := p/per, p%per
			s0 := grp*g + ch*dotChunk
			s1 := min(s0+dotChunk, (grp+1)*g)
			var s float64
			a, b := xs[s0:s1], ys[s0:s1]
			for i := range a {
				s += float64(a[i]) * float64(b[i])
			}
			part[p] = s
		}
	})
	out := make([]float64, groups)
	for grp := range out {
		for _, s := range part[grp*per : grp*per+per] {
			out[grp] += s
		}
	}
	return out
}

// ScaleGroups multiplies each of len(scale) equal contiguous groups of x by
// its factor (a float32 product).
func (c *CPU) ScaleGroups(x Tensor, scale []float32) Tensor {
	const op = "ScaleGroups"
	xs, xt := read(op, "x", x)
	if len(scale) == 0 || len(xs)%len(scale) != 0 {
		panicf(op, "%d elements of %v do not split into %d groups", len(xs), xt.shape, len(scale))
	}
	g := len(xs) / len(scale)
	out := make([]float32, len(xs))
	c.parallelFor(len(xs), 1, func(lo, hi int) {
		for i := lo; i < hi; {
			s, end := scale[i/g], min(hi, (i/g+1)*g)
			for ; i < end; i++ {
				out[i] = xs[i] * s
			}
		}
	})
	return newF32(out, xt.shape...)
}

// rmsNormRun normalises one run: y = float32(x·r) with
// r = float32(1/sqrt(float32(mean(x²)) + eps)), then out = float32(w·y), as
// PyTorch's x * rsqrt(mean(x²) + eps) followed by weight * x; the mean of
// squares is accumulated in float64.
func rmsNormRun(out, x, w []float32, eps float32) {
	x, out = x[:len(w)], out[:len(w)]
	var ss float64
	for _, v := range x {
		ss += float64(v) * float64(v)
	}
	mean := float32(ss / float64(len(x)))
	r := float32(1 / math.Sqrt(float64(mean+eps)))
	for i, v := range x {
		y := float32(v * r)
		out[i] = float32(w[i] * y)
	}
}

// RMSNorm normalises every contiguous run of len(w) values of x:
// y = w ⊙ x / sqrt(mean(x²) + eps) (see rmsNormRun for the rounding).
func (c *CPU) RMSNorm(x, w Tensor, eps float32) Tensor {
	const op = "RMSNorm"
	xs, xt := read(op, "x", x)
	ws, wt := read(op, "w", w)
	n := len(ws)
	if len(wt.shape) != 1 || n == 0 || len(xs)%n != 0 {
		panicf(op, "x %v does not split into runs of w %v", xt.shape, wt.shape)
	}
	out := make([]float32, len(xs))
	c.parallelFor(len(xs)/n, 4*n, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			rmsNormRun(out[r*n:], xs[r*n:r*n+n], ws, eps)
		}
	})
	return newF32(out, xt.shape...)
}

// QKNorm applies the split q/k RMSNorm of MODEL.md 3.5: within each head of
// headDim values the first half is normalised with wT, the second with wHW.
func (c *CPU) QKNorm(x Tensor, headDim int, wT, wHW Tensor, eps float32) Tensor {
	const op = "QKNorm"
	xs, xt := read(op, "x", x)
	ts, tt := read(op, "wT", wT)
	hs, ht := read(op, "wHW", wHW)
	if headDim <= 0 || headDim%2 != 0 || len(xt.shape) == 0 || xt.shape[len(xt.shape)-1]%headDim != 0 {
		panicf(op, "x %v does not hold heads of headDim %d (even)", xt.shape, headDim)
	}
	half := headDim / 2
	if len(tt.shape) != 1 || len(ht.shape) != 1 || tt.shape[0] != half || ht.shape[0] != half {
		panicf(op, "wT %v and wHW %v: want [%d] each for headDim %d", tt.shape, ht.shape, half, headDim)
	}
	out := make([]float32, len(xs))
	c.parallelFor(len(xs)/headDim, 4*headDim, func(lo, hi int) {
		for h := lo; h < hi; h++ {
			o := h * headDim
			rmsNormRun(out[o:], xs[o:o+half], ts, eps)
			rmsNormRun(out[o+half:], xs[o+half:o+headDim], hs, eps)
		}
	})
	return newF32(out, xt.shape...)
}
