package tensor

import "math"

// The matrix kernels below compute C += A·Bᵀ for row-major float32 A and B
// with float64 accumulators: every output element is the float64 sum of its
// products in increasing k order, continued across K blocks (the kernels
// start from the accumulator's value), so the result does not depend on how
// the product was blocked or split between goroutines.
//
// Go does not vectorise, so speed comes from register tiling: the 2×4 kernel
// keeps 8 accumulators in registers and does 8 multiply-adds per 6 loads,
// which measured fastest among 1×4 … 4×4 tiles on amd64 (larger tiles spill).

// kern2x4 adds a_i·b_j (i < 2, j < 4) to c0[j] (row 0) and c1[j] (row 1).
func kern2x4(c0, c1 []float64, a0, a1, b0, b1, b2, b3 []float32) {
	n := len(a0)
	a1, b0, b1, b2, b3 = a1[:n], b0[:n], b1[:n], b2[:n], b3[:n]
	c0, c1 = c0[:4], c1[:4]
	c00, c01, c02, c03 := c0[0], c0[1], c0[2], c0[3]
	c10, c11, c12, c13 := c1[0], c1[1], c1[2], c1[3]
	for k := 0; k < n; k++ {
		x0, x1 := float64(a0[k]), float64(a1[k])
		y0, y1, y2, y3 := float64(b0[k]), float64(b1[k]), float64(b2[k]), float64(b3[k])
		c00 += x0 * y0
		c01 += x0 * y1
		c02 += x0 * y2
		c03 += x0 * y3
		c10 += x1 * y0
		c11 += x1 * y1
		c12 += x1 * y2
		c13 += x1 * y3
	}
	c0[0], c0[1], c0[2], c0[3] = c00, c01, c02, c03
	c1[0], c1[1], c1[2], c1[3] = c10, c11, c12, c13
}

// kern1x4 adds a·b_j (j < 4) to c[j].
func kern1x4(c []float64, a, b0, b1, b2, b3 []float32) {
	n := len(a)
	b0, b1, b2, b3 = b0[:n], b1[:n], b2[:n], b3[:n]
	c = c[:4]
	c0, c1, c2, c3 := c[0], c[1], c[2], c[3]
	for k := 0; k < n; k++ {
		x := float64(a[k])
		c0 += x * float64(b0[k])
		c1 += x * float64(b1[k])
		c2 += x * float64(b2[k])
		c3 += x * float64(b3[k])
	}
	c[0], c[1], c[2], c[3] = c0, c1, c2, c3
}

// kern1x4bf is kern1x4 with b in bf16, widened on the fly.
func kern1x4bf(c []float64, a []float32, b0, b1, b2, b3 []uint16) {
	n := len(a)
	b0, b1, b2, b3 = b0[:n], b1[:n], b2[:n], b3[:n]
	c = c[:4]
	c0, c1, c2, c3 := c[0], c[1], c[2], c[3]
	for k := 0; k < n; k++ {
		x := float64(a[k])
		c0 += x * float64(math.Float32frombits(uint32(b0[k])<<16))
		c1 += x * float64(math.Float32frombits(uint32(b1[k])<<16))
		c2 += x * float64(math.Float32frombits(uint32(b2[k])<<16))
		c3 += x * float64(math.Float32frombits(uint32(b3[k])<<16))
	}
	c[0], c[1], c[2], c[3] = c0, c1, c2, c3
}

// kern2x1 adds a0·b to *c0 and a1·b to *c1.
func kern2x1(c0, c1 *float64, a0, a1, b []float32) {
	n := len(b)
	a0, a1 = a0[:n], a1[:n]
	s0, s1 := *c0, *c1
	for k := 0; k < n; k++ {
		y := float64(b[k])
		s0 += float64(a0[k]) * y
		s1 += float64(a1[k]) * y
	}
	*c0, *c1 = s0, s1
}

// kern1x1 adds a·b to *c.
func kern1x1(c *float64, a, b []float32) {
	n := len(a)
	b = b[:n]
	s := *c
	for k := 0; k < n; k++ {
		s += float64(a[k]) * float64(b[k])
	}
	*c = s
}

// kern1x1bf is kern1x1 with b in bf16.
func kern1x1bf(c *float64, a []float32, b []uint16) {
	n := len(a)
	b = b[:n]
	s := *c
	for k := 0; k < n; k++ {
		s += float64(a[k]) * float64(math.Float32frombits(uint32(b[k])<<16))
	}
	*c = s
}

// gemmNT accumulates acc[i·ldc + j] += Σ_{k<kk} a[i·lda + k]·b[j·ldb + k]
// for i < m, j < n. The loop runs over groups of 4 rows of b outermost, so
// those rows stay in L1 while the m rows of a stream past them.
func gemmNT(acc []float64, ldc int, a []float32, lda int, b []float32, ldb int, m, n, kk int) {
	if m <= 0 || n <= 0 {
		return
	}
	ar := func(i int) []float32 { return a[i*lda : i*lda+kk] }
	j := 0
	for ; j+4 <= n; j += 4 {
		b0 := b[j*ldb : j*ldb+kk]
		b1 := b[(j+1)*ldb : (j+1)*ldb+kk]
		b2 := b[(j+2)*ldb : (j+2)*ldb+kk]
		b3 := b[(j+3)*ldb : (j+3)*ldb+kk]
		i := 0
		for ; i+2 <= m; i += 2 {
			kern2x4(acc[i*ldc+j:], acc[(i+1)*ldc+j:], ar(i), ar(i+1), b0, b1, b2, b3)
		}
		if i < m {
			kern1x4(acc[i*ldc+j:], ar(i), b0, b1, b2, b3)
		}
	}
	for ; j < n; j++ {
		bj := b[j*ldb : j*ldb+kk]
		i := 0
		for ; i+2 <= m; i += 2 {
			kern2x1(&acc[i*ldc+j], &acc[(i+1)*ldc+j], ar(i), ar(i+1), bj)
		}
		if i < m {
			kern1x1(&acc[i*ldc+j], ar(i), bj)
		}
	}
}

// matrix is a row-major [rows, cols] matrix of F32 or BF16 values.
type matrix struct {
	f32        []float32
	b16        []uint16
	rows, cols int
}

// matrixOf returns t (2-D) as a matrix.
func matrixOf(t *cpuTensor) matrix {
	m := matrix{rows: t.shape[0], cols: t.shape[1]}
	if t.dtype == F32 {
		m.f32 = t.f32Data()
	} else {
		m.b16 = t.b16Data()
	}
	return m
}

// Block sizes of the Linear kernel: a task computes a linMB×linNB block of
// the output, walking K in linKC steps so that its block of x (64 KiB) and
// of w (64 KiB, copied into scratch, widened from bf16 when needed) stay in
// L2.
const (
	linMB = 64
	linNB = 64
	linKC = 256
)

// Linear returns x·wᵀ (+ bias): x [M,K], w [N,K], bias [N] or nil → [M,N].
// Each element is float32(Σ_k x·w + bias) with the sum in float64.
func (c *CPU) Linear(x, w, bias Tensor) Tensor {
	const op = "Linear"
	xs, xt := read(op, "x", x)
	wt := tensorOf(op, "w", w)
	if len(xt.shape) != 2 || len(wt.shape) != 2 {
		panicf(op, "x %v and w %v: want 2-D x [M,K] and w [N,K]", xt.shape, wt.shape)
	}
	if xt.shape[1] != wt.shape[1] {
		panicf(op, "x %v and w %v: inner dimensions differ", xt.shape, wt.shape)
	}
	m, n := xt.shape[0], wt.shape[0]
	var bs []float32
	if bias != nil {
		var bt *cpuTensor
		bs, bt = read(op, "bias", bias)
		if len(bt.shape) != 1 || bt.shape[0] != n {
			panicf(op, "bias %v does not match w %v: want [%d]", bt.shape, wt.shape, n)
		}
	}
	out := make([]float32, m*n)
	c.linear(out, xs, m, matrixOf(wt), bs)
	return newF32(out, m, n)
}

// linear computes out [m, w.rows] = x [m, w.cols] · wᵀ + bias (bias may be
// nil), in parallel.
func (c *CPU) linear(out, x []float32, m int, w matrix, bias []float32) {
	n, k := w.rows, w.cols
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
		for i := range m {
			for j := range n {
				out[i*n+j] = 0
				if bias != nil {
					out[i*n+j] = bias[j]
				}
			}
		}
		return
	}
	if m == 1 {
		c.matVec(out, x, w, bias)
		return
	}
	mb, nb := linMB, linNB
	mt := (m + mb - 1) / mb
	// Too few blocks to keep every worker busy: narrow the column blocks.
	if want := 2 * c.workers; mt*((n+nb-1)/nb) < want {
		per := (want + mt - 1) / mt
		nb = max(4, ((n+per-1)/per+3)/4*4)
	}
	nt := (n + nb - 1) / nb
	kc := min(linKC, k)
	c.parallelFor(mt*nt, 2*mb*nb*k, func(lo, hi int) {
		accp := c.scratch64(mb * nb)
		defer c.put64(accp)
		wbuf := c.scratch32(nb * kc)
		defer c.put32(wbuf)
		acc := *accp
		for t := lo; t < hi; t++ {
			m0, n0 := (t/nt)*mb, (t%nt)*nb
			bm, bn := min(mb, m-m0), min(nb, n-n0)
			clear(acc[:bm*nb])
			for k0 := 0; k0 < k; k0 += kc {
				bk := min(kc, k-k0)
				a := x[m0*k+k0:]
				// Copy (widen) this block of weight rows into contiguous
				// scratch: rows K apart would share cache sets when K is
				// a large power of two.
				b := *wbuf
				for j := range bn {
					row := (n0+j)*k + k0
					if w.b16 != nil {
						widenBF16(b[j*bk:j*bk+bk], w.b16[row:row+bk])
					} else {
						copy(b[j*bk:j*bk+bk], w.f32[row:row+bk])
					}
				}
				gemmNT(acc, nb, a, k, b, bk, bm, bn, bk)
			}
			for i := range bm {
				o := out[(m0+i)*n+n0 : (m0+i)*n+n0+bn]
				ar := acc[i*nb : i*nb+bn]
				if bias != nil {
					bb := bias[n0 : n0+bn]
					for j := range o {
						o[j] = float32(ar[j] + float64(bb[j]))
					}
				} else {
					for j := range o {
						o[j] = float32(ar[j])
					}
				}
			}
		}
	})
}

// matVec computes out [n] = w [n,k] · x [k] + bias: the M = 1 case of
// linear, split over rows of w (bf16 rows are widened inside the loop).
func (c *CPU) matVec(out, x []float32, w matrix, bias []float32) {
	n, k := w.rows, w.cols
	const rb = 16 // rows per item
	items := (n + rb - 1) / rb
	c.parallelFor(items, 2*rb*k, func(lo, hi int) {
		var acc [4]float64
		j0, j1 := lo*rb, min(hi*rb, n)
		j := j0
		for ; j+4 <= j1; j += 4 {
			acc = [4]float64{}
			if w.b16 != nil {
				kern1x4bf(acc[:], x, w.b16[j*k:j*k+k], w.b16[(j+1)*k:(j+1)*k+k], w.b16[(j+2)*k:(j+2)*k+k], w.b16[(j+3)*k:(j+3)*k+k])
			} else {
				kern1x4(acc[:], x, w.f32[j*k:j*k+k], w.f32[(j+1)*k:(j+1)*k+k], w.f32[(j+2)*k:(j+2)*k+k], w.f32[(j+3)*k:(j+3)*k+k])
			}
			for q := range 4 {
				if bias != nil {
					acc[q] += float64(bias[j+q])
				}
				out[j+q] = float32(acc[q])
			}
		}
		for ; j < j1; j++ {
			var s float64
			if w.b16 != nil {
				kern1x1bf(&s, x, w.b16[j*k:j*k+k])
			} else {
				kern1x1(&s, x, w.f32[j*k:j*k+k])
			}
			if bias != nil {
				s += float64(bias[j])
			}
			out[j] = float32(s)
		}
	})
}
