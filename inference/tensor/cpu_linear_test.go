package tensor

import (
	"fmt"
	"testing"
)

// refLinear is x·wᵀ + bias in float64.
func refLinear(x, w, bias []float32, m, k, n int) []float64 {
	out := make([]float64, m*n)
	for i := range m {
		for j := range n {
			var s float64
			for q := range k {
				s += float64(x[i*k+q]) * float64(w[j*k+q])
			}
			if bias != nil {
				s += float64(bias[j])
			}
			out[i*n+j] = s
		}
	}
	return out
}

// Measured max relative error against the float64 reference: 6e-8 (one
// float32 rounding of a float64 sum); Conv3x3 likewise.
func TestLinear(t *testing.T) {
	r := newRNG(4)
	cases := []struct{ m, k, n int }{
		{1, 1, 1}, {1, 300, 7}, {1, 33, 64}, {3, 5, 4}, {2, 257, 9},
		{17, 513, 67}, {70, 600, 150}, {130, 64, 5}, {5, 1, 3},
	}
	for _, cs := range cases {
		for _, dt := range []DType{F32, BF16} {
			for _, withBias := range []bool{false, true} {
				name := fmt.Sprintf("M%d K%d N%d %v bias=%v", cs.m, cs.k, cs.n, dt, withBias)
				c := NewCPU(3)
				xv := randVals(r, cs.m*cs.k, 1)
				wv := randVals(r, cs.n*cs.k, 0.5)
				w, wHeld := weight(t, c, dt, wv, cs.n, cs.k)
				var bias Tensor
				var bv []float32
				if withBias {
					// A bf16 bias weight with bf16 weights, F32 otherwise.
					bias, bv = weight(t, c, dt, randVals(r, cs.n, 2), cs.n)
				}
				// x as a view into a larger tensor.
				big := c.FromFloat32(append(append(randVals(r, cs.k, 1), xv...), randVals(r, 2*cs.k, 1)...), cs.m+3, cs.k)
				x := c.Rows(big, 1, cs.m)
				y := c.Linear(x, w, bias)
				if !sameDims(y.Shape(), []int{cs.m, cs.n}) {
					t.Fatalf("%s: shape %v", name, y.Shape())
				}
				got := c.Float32(y)
				checkClose(t, name, got, refLinear(xv, wHeld, bv, cs.m, cs.k, cs.n), relTol)
				// Bit-identical whatever the batch size and the worker count.
				for i := 0; i < cs.m; i += max(1, cs.m/3) {
					row := c.Float32(c.Linear(c.Rows(x, i, 1), w, bias))
					checkSame(t, name+fmt.Sprintf(" row %d alone", i), row, got[i*cs.n:(i+1)*cs.n])
				}
				checkSame(t, name+" one worker", NewCPU(1).Float32(NewCPU(1).Linear(x, w, bias)), got)
			}
		}
	}
}

func TestLinearEmpty(t *testing.T) {
	c := NewCPU(2)
	w := c.FromFloat32([]float32{1, 2, 3, 4, 5, 6}, 2, 3)
	if y := c.Linear(c.Zeros(0, 3), w, nil); !sameDims(y.Shape(), []int{0, 2}) {
		t.Errorf("M = 0: shape %v", y.Shape())
	}
	y := c.Linear(c.Zeros(2, 0), c.Zeros(3, 0), c.FromFloat32([]float32{1, 2, 3}, 3))
	checkSame(t, "K = 0", c.Float32(y), []float32{1, 2, 3, 1, 2, 3})
}

func TestLinearPanics(t *testing.T) {
	c := NewCPU(1)
	mustPanic(t, []string{"tensor.Linear:", "x [3 5] and w [4 6]: inner dimensions differ"}, func() {
		c.Linear(c.Zeros(3, 5), c.Zeros(4, 6), nil)
	})
	mustPanic(t, []string{"tensor.Linear:", "bias [3]", "[4]"}, func() {
		c.Linear(c.Zeros(3, 5), c.Zeros(4, 5), c.Zeros(3))
	})
	mustPanic(t, []string{"tensor.Linear:", "2-D"}, func() {
		c.Linear(c.Zeros(3), c.Zeros(4, 3), nil)
	})
}

// refConv is a direct 3×3, pad-1 convolution in float64.
func refConv(x, w, bias []float32, ch, h, wd, o int) []float64 {
	out := make([]float64, o*h*wd)
	for oc := range o {
		for y := range h {
			for xx := range wd {
				var s float64
				if bias != nil {
					s = float64(bias[oc])
				}
				for cc := range ch {
					for ky := range 3 {
						for kx := range 3 {
							sy, sx := y+ky-1, xx+kx-1
							if sy < 0 || sy >= h || sx < 0 || sx >= wd {
								continue
							}
							s += float64(x[(cc*h+sy)*wd+sx]) * float64(w[((oc*ch+cc)*3+ky)*3+kx])
						}
					}
				}
				out[(oc*h+y)*wd+xx] = s
			}
		}
	}
	return out
}

func TestConv3x3(t *testing.T) {
	r := newRNG(5)
	c := NewCPU(2)
	for _, cs := range []struct{ ch, h, w, o int }{{1, 1, 1, 1}, {3, 5, 7, 4}, {8, 9, 6, 13}, {2, 1, 9, 3}} {
		for _, dt := range []DType{F32, BF16} {
			name := fmt.Sprintf("Conv3x3 C%d H%d W%d O%d %v", cs.ch, cs.h, cs.w, cs.o, dt)
			xv := randVals(r, cs.ch*cs.h*cs.w, 1)
			w, wHeld := weight(t, c, dt, randVals(r, cs.o*cs.ch*9, 1), cs.o, cs.ch, 3, 3)
			bias := randVals(r, cs.o, 1)
			y := c.Conv3x3(c.FromFloat32(xv, cs.ch, cs.h, cs.w), w, c.FromFloat32(bias, cs.o))
			if !sameDims(y.Shape(), []int{cs.o, cs.h, cs.w}) {
				t.Fatalf("%s: shape %v", name, y.Shape())
			}
			checkClose(t, name, c.Float32(y), refConv(xv, wHeld, bias, cs.ch, cs.h, cs.w, cs.o), relTol)
			// Built in bands of 5 pixels, the result is the same bit for bit.
			banded := make([]float32, cs.o*cs.h*cs.w)
			c.conv3x3(banded, xv, cs.ch, cs.h, cs.w, matrixOf(c.Reshape(w, cs.o, cs.ch*9).(*cpuTensor)), bias, 5)
			checkSame(t, name+" in bands", banded, c.Float32(y))
			y = c.Conv3x3(c.FromFloat32(xv, cs.ch, cs.h, cs.w), w, nil)
			checkClose(t, name+" no bias", c.Float32(y), refConv(xv, wHeld, nil, cs.ch, cs.h, cs.w, cs.o), relTol)
		}
	}
	mustPanic(t, []string{"tensor.Conv3x3:", "[3 4 4]", "[2 2 3 3]"}, func() {
		c.Conv3x3(c.Zeros(3, 4, 4), c.Zeros(2, 2, 3, 3), nil)
	})
}
