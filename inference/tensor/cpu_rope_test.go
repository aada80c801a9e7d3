package tensor

import (
	"math"
	"testing"
)

// ropeTable32 is the test's own copy of the float32 table rule (PyTorch's
// 1.0 / (θ ** (arange(0, n, 2).float() / n)), then cos/sin of
// float32(pos)·f in float32) for index i of a part of length n.
func ropeTable32(i, n int, pos int32, theta float64) (cos, sin float32) {
	exponent := float32(2*i) / float32(n)
	power := float32(math.Pow(float64(float32(theta)), float64(exponent)))
	f := float32(1) / power
	angle := float32(pos) * f
	return float32(math.Cos(float64(angle))), float32(math.Sin(float64(angle)))
}

// ropeHalf32 is element i of the half-split rotation of part x (float32
// products, as x·cos + rotate_half(x)·sin).
func ropeHalf32(x []float32, i int, pos int32, theta float64) float32 {
	n, h := len(x), len(x)/2
	c, s := ropeTable32(i%h, n, pos, theta)
	if i < h {
		return float32(x[i]*c) + float32(-x[i+h]*s)
	}
	return float32(x[i]*c) + float32(x[i-h]*s)
}

// ropeHalf64 is the same rotation in float64 with float64 frequencies.
func ropeHalf64(x []float32, i int, pos int32, theta float64) float64 {
	n, h := len(x), len(x)/2
	a := float64(pos) * math.Pow(theta, -float64(2*(i%h))/float64(n))
	c, s := math.Cos(a), math.Sin(a)
	if i < h {
		return float64(x[i])*c - float64(x[i+h])*s
	}
	return float64(x[i])*c + float64(x[i-h])*s
}

// ropeRef applies f (ropeHalf32 or ropeHalf64 as float64) to every part of
// every head of x [S, heads·d].
func ropeRef(xv []float32, cols int, pos Positions, p RoPEParams, f func(part []float32, i int, pos int32, theta float64) float64) []float64 {
	d := p.HeadDim
	out := make([]float64, len(xv))
	for r := 0; r < len(xv)/cols; r++ {
		for h := 0; h < cols/d; h++ {
			head := xv[r*cols+h*d : r*cols+h*d+d]
			parts := []struct {
				lo, hi int
				pos    int32
				theta  float64
			}{{0, d / 2, pos.T[r], p.ThetaT}, {d / 2, 3 * d / 4, pos.H[r], p.ThetaHW}, {3 * d / 4, d, pos.W[r], p.ThetaHW}}
			for _, pt := range parts {
				for i := pt.lo; i < pt.hi; i++ {
					out[r*cols+h*d+i] = f(head[pt.lo:pt.hi], i-pt.lo, pt.pos, pt.theta)
				}
			}
		}
	}
	return out
}

func TestRoPE(t *testing.T) {
	r := newRNG(11)
	c := NewCPU(2)
	p := RoPEParams{HeadDim: 32, ThetaT: 1e6, ThetaHW: 1e4}
	const s, heads = 9, 3
	cols := heads * p.HeadDim
	xv := randVals(r, s*cols, 2)
	x := c.FromFloat32(xv, s, cols)

	// Small positions: the float64 formula (angles differ from the float32
	// tables by ~pos·1e-7). Measured max relative error: 7e-8 (PatchRoPE's
	// below: 1.2e-7).
	small := Positions{
		T: []int32{0, 1, 2, 3, 3, 3, 3, 4, 40},
		H: []int32{0, 0, 0, 0, 0, 1, 1, 0, 0},
		W: []int32{0, 0, 0, 0, 1, 0, 1, 0, 0},
	}
	got := c.Float32(c.RoPE(x, small, p))
	want := ropeRef(xv, cols, small, p, ropeHalf64)
	checkClose(t, "RoPE vs float64", got, want, relTol)
	// Rows with h = w = 0 keep their h and w parts bit for bit; so does
	// every part of a row at t = 0.
	for h := 0; h < heads; h++ {
		o := h * p.HeadDim
		checkSame(t, "RoPE at position 0", got[o:o+p.HeadDim], xv[o:o+p.HeadDim])
		o = 2*cols + h*p.HeadDim
		checkSame(t, "RoPE h, w parts at 0", got[o+p.HeadDim/2:o+p.HeadDim], xv[o+p.HeadDim/2:o+p.HeadDim])
	}

	// Large positions: bit for bit against the test's copy of the float32 rule.
	large := Positions{
		T: []int32{5, 100, 1000, 4095, 4096, 8191, 30000, 65535, 123457},
		H: []int32{0, 7, 63, 64, 1, 127, 3, 200, 45},
		W: []int32{1, 0, 31, 64, 2, 127, 9, 255, 63},
	}
	got = c.Float32(c.RoPE(x, large, p))
	exact := ropeRef(xv, cols, large, p, func(part []float32, i int, pos int32, theta float64) float64 {
		return float64(ropeHalf32(part, i, pos, theta))
	})
	for i, w := range exact {
		if got[i] != float32(w) {
			t.Fatalf("RoPE value %d (row %d) is %v, want %v", i, i/cols, got[i], float32(w))
		}
	}

	// Input as a view, output shape.
	big := c.FromFloat32(append(randVals(r, cols, 1), xv...), s+1, cols)
	y := c.RoPE(c.Rows(big, 1, s), large, p)
	if !sameDims(y.Shape(), []int{s, cols}) {
		t.Fatalf("RoPE shape %v", y.Shape())
	}
	checkSame(t, "RoPE of a view", c.Float32(y), got)

	mustPanic(t, []string{"tensor.RoPE:", "[9 96]", "8/9/9"}, func() {
		c.RoPE(x, Positions{T: make([]int32, 8), H: make([]int32, 9), W: make([]int32, 9)}, p)
	})
	mustPanic(t, []string{"tensor.RoPE:", "[9 96]", "40"}, func() { c.RoPE(x, small, RoPEParams{HeadDim: 40}) })
	mustPanic(t, []string{"tensor.RoPE:", "head dim 12"}, func() { c.RoPE(x, small, RoPEParams{HeadDim: 12}) })
}

// The frequencies as PyTorch's float32 computation gives them: the first is
// exactly 1, and every one is the float32 rule of the test's copy.
func TestRoPEFrequencies(t *testing.T) {
	for _, cs := range []struct {
		n     int
		theta float64
	}{{64, 1e6}, {32, 1e4}, {512, 1e4}, {128, 5e6}} {
		f := ropeFreqs(cs.n, cs.theta)
		if len(f) != cs.n/2 || f[0] != 1 {
			t.Fatalf("ropeFreqs(%d, %g): %d values, first %v", cs.n, cs.theta, len(f), f[0])
		}
		for i, fi := range f {
			e := float32(2*i) / float32(cs.n)
			if want := 1 / float32(math.Pow(cs.theta, float64(e))); fi != want {
				t.Errorf("ropeFreqs(%d, %g)[%d] = %v, want %v", cs.n, cs.theta, i, fi, want)
			}
			if rel := math.Abs(float64(fi)/math.Pow(cs.theta, -float64(2*i)/float64(cs.n)) - 1); rel > 2e-6 {
				t.Errorf("ropeFreqs(%d, %g)[%d] = %v is %.2g from θ^(-2i/n)", cs.n, cs.theta, i, fi, rel)
			}
		}
	}
}

func TestPatchRoPE(t *testing.T) {
	r := newRNG(12)
	c := NewCPU(2)
	const n, e, theta = 7, 24, 1e4
	xv := randVals(r, n*e, 2)
	cols := []int32{0, 1, 2, 0, 1, 2, 9}
	rows := []int32{0, 0, 0, 1, 1, 1, 5}
	got := c.Float32(c.PatchRoPE(c.FromFloat32(xv, n, e), cols, rows, theta))
	want64 := make([]float64, n*e)
	for k := range n {
		for half, pos := range []int32{cols[k], rows[k]} {
			o := k*e + half*e/2
			for i := 0; i < e/4; i++ {
				x0, x1 := xv[o+2*i], xv[o+2*i+1]
				// float64 formula
				a := float64(pos) * math.Pow(theta, -float64(2*i)/float64(e/2))
				want64[o+2*i] = float64(x0)*math.Cos(a) - float64(x1)*math.Sin(a)
				want64[o+2*i+1] = float64(x0)*math.Sin(a) + float64(x1)*math.Cos(a)
				// float32 rule, bit for bit
				cs, sn := ropeTable32(i, e/2, pos, theta)
				w0 := float32(x0*cs) + float32(-x1*sn)
				w1 := float32(x1*cs) + float32(x0*sn)
				if got[o+2*i] != w0 || got[o+2*i+1] != w1 {
					t.Fatalf("PatchRoPE patch %d pair %d (half %d): %v, %v; want %v, %v", k, i, half, got[o+2*i], got[o+2*i+1], w0, w1)
				}
			}
		}
	}
	checkClose(t, "PatchRoPE vs float64", got, want64, relTol)
	checkSame(t, "PatchRoPE at (0, 0)", got[:e], xv[:e])
	mustPanic(t, []string{"tensor.PatchRoPE:", "[7 24]", "6"}, func() {
		c.PatchRoPE(c.FromFloat32(xv, n, e), cols[:6], rows, theta)
	})
	mustPanic(t, []string{"tensor.PatchRoPE:", "[4 6]"}, func() { c.PatchRoPE(c.Zeros(4, 6), cols[:4], rows[:4], theta) })
}
