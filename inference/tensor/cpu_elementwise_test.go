package tensor

import (
	"fmt"
	"math"
	"testing"
)

func refRMS(x, w []float32, eps float64) []float64 {
	n := len(w)
	out := make([]float64, len(x))
	for r := 0; r < len(x)/n; r++ {
		var ss float64
		for _, v := range x[r*n : r*n+n] {
			ss += float64(v) * float64(v)
		}
		inv := 1 / math.Sqrt(ss/float64(n)+eps)
		for i := range n {
			out[r*n+i] = float64(w[i]) * float64(x[r*n+i]) * inv
		}
	}
	return out
}

// Measured max relative error: 1.1e-7 (three float32 roundings).
func TestRMSNorm(t *testing.T) {
	r := newRNG(6)
	c := NewCPU(2)
	for _, cs := range []struct{ rows, n int }{{1, 1}, {3, 7}, {33, 128}, {300, 96}} {
		for _, dt := range []DType{F32, BF16} {
			xv := randVals(r, cs.rows*cs.n, 3)
			w, wHeld := weight(t, c, dt, randVals(r, cs.n, 2), cs.n)
			// x as [rows/…, n·…]: only the run length matters.
			x := c.FromFloat32(xv, cs.rows, cs.n)
			y := c.RMSNorm(x, w, 1e-6)
			name := fmt.Sprintf("RMSNorm %dx%d %v", cs.rows, cs.n, dt)
			if !sameDims(y.Shape(), x.Shape()) {
				t.Fatalf("%s: shape %v", name, y.Shape())
			}
			checkClose(t, name, c.Float32(y), refRMS(xv, wHeld, 1e-6), relTol)
			flat := c.RMSNorm(c.Reshape(x, cs.rows*cs.n), w, 1e-6)
			checkSame(t, name+" flat", c.Float32(flat), c.Float32(y))
		}
	}
	// The rounding steps are PyTorch's: y = float32(x·r), out = float32(w·y).
	x := []float32{1e-3, -2, 3.5, 0.25}
	w := []float32{0.5, 1.25, -1, 3}
	got := c.Float32(c.RMSNorm(c.FromFloat32(x, 4), c.FromFloat32(w, 4), 1e-6))
	var ss float64
	for _, v := range x {
		ss += float64(v) * float64(v)
	}
	rs := float32(1 / math.Sqrt(float64(float32(ss/4)+1e-6)))
	for i := range x {
		if want := w[i] * float32(x[i]*rs); got[i] != want {
			t.Errorf("RMSNorm rounding: value %d is %v, want %v", i, got[i], want)
		}
	}
	mustPanic(t, []string{"tensor.RMSNorm:", "[3 5]", "[4]"}, func() { c.RMSNorm(c.Zeros(3, 5), c.Zeros(4), 1e-6) })
}

func TestQKNorm(t *testing.T) {
	r := newRNG(7)
	c := NewCPU(2)
	const s, heads, hd = 5, 3, 16
	xv := randVals(r, s*heads*hd, 2)
	for _, dt := range []DType{F32, BF16} {
		wT, tHeld := weight(t, c, dt, randVals(r, hd/2, 2), hd/2)
		wHW, hwHeld := weight(t, c, dt, randVals(r, hd/2, 2), hd/2)
		got := c.Float32(c.QKNorm(c.FromFloat32(xv, s, heads*hd), hd, wT, wHW, 1e-6))
		want := make([]float64, len(xv))
		for h := 0; h < s*heads; h++ {
			copy(want[h*hd:], refRMS(xv[h*hd:h*hd+hd/2], tHeld, 1e-6))
			copy(want[h*hd+hd/2:], refRMS(xv[h*hd+hd/2:h*hd+hd], hwHeld, 1e-6))
		}
		checkClose(t, "QKNorm "+dt.String(), got, want, relTol)
	}
	w := c.Zeros(hd / 2)
	mustPanic(t, []string{"tensor.QKNorm:", "[5 40]", "16"}, func() { c.QKNorm(c.Zeros(5, 40), hd, w, w, 1e-6) })
	mustPanic(t, []string{"tensor.QKNorm:", "[7]"}, func() { c.QKNorm(c.Zeros(5, 48), hd, w, c.Zeros(7), 1e-6) })
}

func TestActivations(t *testing.T) {
	r := newRNG(8)
	c := NewCPU(2)
	for _, n := range []int{1, 37, 70000} {
		gv := randVals(r, n, 8)
		uv := randVals(r, n, 3)
		g, u := c.FromFloat32(gv, n), c.FromFloat32(uv, n)
		wantG, wantS, wantSw := make([]float64, n), make([]float64, n), make([]float64, n)
		for i, v := range gv {
			x := float64(v)
			wantG[i] = 0.5 * x * (1 + math.Erf(x/math.Sqrt2))
			wantS[i] = x / (1 + math.Exp(-x))
			wantSw[i] = wantS[i] * float64(uv[i])
		}
		checkClose(t, fmt.Sprint("GELU ", n), c.Float32(c.GELU(g)), wantG, 1e-7)
		checkClose(t, fmt.Sprint("SiLU ", n), c.Float32(c.SiLU(g)), wantS, 1e-7)
		checkClose(t, fmt.Sprint("SwiGLU ", n), c.Float32(c.SwiGLU(g, u)), wantSw, 1e-7)
	}
	// Special values: GELU(0) = 0, large |x| saturate.
	got := c.Float32(c.GELU(c.FromFloat32([]float32{0, 40, -40}, 3)))
	if got[0] != 0 || got[1] != 40 || got[2] != 0 {
		t.Errorf("GELU special values: %v", got)
	}
	got = c.Float32(c.SiLU(c.FromFloat32([]float32{0, 200, -200}, 3)))
	if got[0] != 0 || got[1] != 200 || got[2] != 0 {
		t.Errorf("SiLU special values: %v", got)
	}
	mustPanic(t, []string{"tensor.SwiGLU:", "[2 3]", "[3 2]"}, func() { c.SwiGLU(c.Zeros(2, 3), c.Zeros(3, 2)) })
}

func TestElementwise(t *testing.T) {
	r := newRNG(9)
	c := NewCPU(2)
	const m, n = 7, 9
	av, bv := randVals(r, m*n, 2), randVals(r, m*n, 2)
	a, b := c.FromFloat32(av, m, n), c.FromFloat32(bv, m, n)

	wantAdd := make([]float32, m*n)
	for i := range av {
		wantAdd[i] = av[i] + bv[i]
	}
	checkSame(t, "Add", c.Float32(c.Add(a, b)), wantAdd)

	for _, dt := range []DType{F32, BF16} {
		row, held := weight(t, c, dt, randVals(r, n, 1), n)
		want := make([]float32, m*n)
		for i := range m {
			for j := range n {
				want[i*n+j] = av[i*n+j] + held[j]
			}
		}
		checkSame(t, "AddRow "+dt.String(), c.Float32(c.AddRow(a, row)), want)
	}

	cv := randVals(r, m*n, 2)
	got := c.Float32(c.Combine(Term{0.5, a}, Term{-4, b}, Term{3, c.FromFloat32(cv, m, n)}))
	want := make([]float64, m*n)
	for i := range want {
		want[i] = 0.5*float64(av[i]) - 4*float64(bv[i]) + 3*float64(cv[i])
	}
	checkClose(t, "Combine", got, want, 1e-7)
	checkSame(t, "Combine one term", c.Float32(c.Combine(Term{1, a})), av)

	scale := []float32{2, -1, 0.5}
	gotS := c.Float32(c.ScaleGroups(c.Reshape(a, m*n), scale))
	for i := range gotS {
		if w := av[i] * scale[i/(m*n/3)]; gotS[i] != w {
			t.Fatalf("ScaleGroups value %d is %v, want %v", i, gotS[i], w)
		}
	}

	mustPanic(t, []string{"tensor.Add:", "[7 9]", "[9 7]"}, func() { c.Add(a, c.Zeros(9, 7)) })
	mustPanic(t, []string{"tensor.AddRow:", "[7 9]", "[7]"}, func() { c.AddRow(a, c.Zeros(7)) })
	mustPanic(t, []string{"tensor.Combine:", "term 1", "[9 7]"}, func() { c.Combine(Term{1, a}, Term{1, c.Zeros(9, 7)}) })
	mustPanic(t, []string{"tensor.Combine:", "no terms"}, func() { c.Combine() })
	mustPanic(t, []string{"tensor.ScaleGroups:", "63 elements", "4 groups"}, func() { c.ScaleGroups(a, make([]float32, 4)) })
}

// Dot's fixed-span partial sums: checked on groups longer than one span.
func TestDot(t *testing.T) {
	r := newRNG(10)
	for _, cs := range []struct{ groups, g int }{{1, 1}, {3, 5}, {2, 40000}, {1, 3*dotChunk + 7}} {
		n := cs.groups * cs.g
		xv, yv := randVals(r, n, 1), randVals(r, n, 1)
		want := make([]float64, cs.groups)
		var scale float64
		for i := range xv {
			want[i/cs.g] += float64(xv[i]) * float64(yv[i])
			scale += math.Abs(float64(xv[i]) * float64(yv[i]))
		}
		var first []float64
		for _, workers := range []int{1, 2, 5} {
			c := NewCPU(workers)
			got := c.Dot(c.FromFloat32(xv, n), c.FromFloat32(yv, n), cs.groups)
			if len(got) != cs.groups {
				t.Fatalf("Dot: %d groups, want %d", len(got), cs.groups)
			}
			for i := range got {
				if math.Abs(got[i]-want[i]) > 1e-12*scale {
					t.Errorf("Dot %d×%d group %d = %v, want %v", cs.groups, cs.g, i, got[i], want[i])
				}
				if first != nil && got[i] != first[i] {
					t.Errorf("Dot %d×%d differs with %d workers", cs.groups, cs.g, workers)
				}
			}
			first = got
		}
	}
	c := NewCPU(1)
	mustPanic(t, []string{"tensor.Dot:", "10 elements", "3 groups"}, func() { c.Dot(c.Zeros(10), c.Zeros(10), 3) })
	mustPanic(t, []string{"tensor.Dot:", "[10]", "[2 5]"}, func() { c.Dot(c.Zeros(10), c.Zeros(2, 5), 1) })
}
