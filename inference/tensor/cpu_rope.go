package tensor

import "math"

// RoPEFrequencies returns the n/2 frequencies 1/θ^(2i/n) of a rotated part
// of length n exactly as the CPU backend and the reference compute them
// (see ropeFreqs); GPU backends use the same table.
func RoPEFrequencies(n int, theta float64) []float32 { return ropeFreqs(n, theta) }

// ropeFreqs returns the n/2 frequencies f_i = 1/θ^(2i/n) of a rotated part
// of length n, rounded step by step as PyTorch computes
// 1.0 / (θ ** (arange(0, n, 2).float() / n)) in float32: the exponent
// float32(2i)/float32(n) in float32, the power rounded to float32, then a
// float32 reciprocal.
func ropeFreqs(n int, theta float64) []float32 {
	f := make([]float32, n/2)
	th := float64(float32(theta))
	for i := range f {
		e := float32(2*i) / float32(n)
		p := float32(math.Pow(th, float64(e)))
		f[i] = 1 / p
	}
	return f
}

// ropeAngles fills cos[i], sin[i] for position pos: the angle is the float32
// product float32(pos)·f_i and its cosine and sine are rounded to float32.
func ropeAngles(cos, sin, f []float32, pos int32) {
	cos, sin = cos[:len(f)], sin[:len(f)]
	p := float32(pos)
	for i, fi := range f {
		a := float64(p * fi)
		cos[i] = float32(math.Cos(a))
		sin[i] = float32(math.Sin(a))
	}
}

// rotateHalf applies the half-split rotation to one part x (length 2·len(cos))
// into y: y = x·cos + rotate_half(x)·sin, each product rounded to float32.
func rotateHalf(y, x, cos, sin []float32) {
	h := len(cos)
	x1, x2 := x[:h], x[h:2*h]
	y1, y2 := y[:h], y[h:2*h]
	sin = sin[:h]
	for i, c := range cos {
		s := sin[i]
		y1[i] = float32(x1[i]*c) - float32(x2[i]*s)
		y2[i] = float32(x2[i]*c) + float32(x1[i]*s)
	}
}

// RoPE rotates every head (p.HeadDim values) of every row of x [S, heads·D]
// with the three-axis half-split RoPE of MODEL.md 3.2a (see ropeFreqs and
// ropeAngles for the float32 rounding of the tables).
func (c *CPU) RoPE(x Tensor, pos Positions, p RoPEParams) Tensor {
	const op = "RoPE"
	xs, xt := read(op, "x", x)
	d := p.HeadDim
	if d <= 0 || d%8 != 0 {
		panicf(op, "head dim %d is not a positive multiple of 8", d)
	}
	if len(xt.shape) != 2 || xt.shape[1]%d != 0 {
		panicf(op, "x %v is not [S, heads·%d]", xt.shape, d)
	}
	s, cols := xt.shape[0], xt.shape[1]
	if len(pos.T) != s || len(pos.H) != s || len(pos.W) != s {
		panicf(op, "x %v has %d rows but positions have %d/%d/%d", xt.shape, s, len(pos.T), len(pos.H), len(pos.W))
	}
	ft := ropeFreqs(d/2, p.ThetaT)
	fhw := ropeFreqs(d/4, p.ThetaHW)
	out := make([]float32, len(xs))
	c.parallelFor(s, 4*cols+40*d, func(lo, hi int) {
		tab := make([]float32, d) // cos/sin: t part d/4 each, h and w parts d/8 each
		ct, st := tab[:d/4], tab[d/4:d/2]
		ch, sh := tab[d/2:d/2+d/8], tab[d/2+d/8:3*d/4]
		cw, sw := tab[3*d/4:3*d/4+d/8], tab[3*d/4+d/8:]
		for r := lo; r < hi; r++ {
			ropeAngles(ct, st, ft, pos.T[r])
			ropeAngles(ch, sh, fhw, pos.H[r])
			ropeAngles(cw, sw, fhw, pos.W[r])
			for h0 := r * cols; h0 < (r+1)*cols; h0 += d {
				xh, yh := xs[h0:h0+d], out[h0:h0+d]
				rotateHalf(yh[:d/2], xh[:d/2], ct, st)
				rotateHalf(yh[d/2:3*d/4], xh[d/2:3*d/4], ch, sh)
				rotateHalf(yh[3*d/4:], xh[3*d/4:], cw, sw)
			}
		}
	})
	return newF32(out, xt.shape...)
}

// PatchRoPE rotates the feature vectors x [N, E] of 16-px patches with the
// interleaved 2-D RoPE of MODEL.md 3.2b: pairs (2i, 2i+1) of dims [0, E/2)
// by cols[n] and of dims [E/2, E) by rows[n], with the frequencies of a part
// of length E/2 and base theta (rounded as in RoPE):
// y[2i] = x[2i]·cos − x[2i+1]·sin, y[2i+1] = x[2i+1]·cos + x[2i]·sin.
func (c *CPU) PatchRoPE(x Tensor, cols, rows []int32, theta float64) Tensor {
	const op = "PatchRoPE"
	xs, xt := read(op, "x", x)
	if len(xt.shape) != 2 || xt.shape[1]%4 != 0 || xt.shape[1] == 0 {
		panicf(op, "x %v is not [N, E] with E a positive multiple of 4", xt.shape)
	}
	n, e := xt.shape[0], xt.shape[1]
	if len(cols) != n || len(rows) != n {
		panicf(op, "x %v has %d rows but cols/rows have %d/%d", xt.shape, n, len(cols), len(rows))
	}
	f := ropeFreqs(e/2, theta)
	out := make([]float32, len(xs))
	c.parallelFor(n, 4*e+20*e, func(lo, hi int) {
		cs := make([]float32, e/2)
		cos, sin := cs[:e/4], cs[e/4:]
		for r := lo; r < hi; r++ {
			for half, p := range [2]int32{cols[r], rows[r]} {
				ropeAngles(cos, sin, f, p)
				o := r*e + half*e/2
				xh, yh := xs[o:o+e/2], out[o:o+e/2]
				for i, c := range cos {
					s := sin[i]
					x0, x1 := xh[2*i], xh[2*i+1]
					yh[2*i] = float32(x0*c) - float32(x1*s)
					yh[2*i+1] = float32(x1*c) + float32(x0*s)
				}
			}
		}
	})
	return newF32(out, xt.shape...)
}
