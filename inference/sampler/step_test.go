package sampler

import (
	"math"
	"strings"
	"testing"

	"github.com/sensenova/studio/inference/tensor"
)

// approx reports whether got is within rel·max(1, |want|) of want.
func approx(got float32, want, rel float64) bool {
	return math.Abs(float64(got)-want) <= rel*math.Max(1, math.Abs(want))
}

// expectPanic runs f and fails unless it panics with a message containing
// every one of parts.
func expectPanic(t *testing.T, name string, f func(), parts ...string) {
	t.Helper()
	defer func() {
		t.Helper()
		r := recover()
		if r == nil {
			t.Errorf("%s: no panic", name)
			return
		}
		msg := r.(string)
		for _, p := range parts {
			if !strings.Contains(msg, p) {
				t.Errorf("%s: panic %q does not mention %q", name, msg, p)
			}
		}
	}()
	f()
}

func TestVelocityDivisor(t *testing.T) {
	for _, c := range []struct {
		t    float32
		tEps float64
		want float32
	}{
		{0, 0.02, 1},
		{0.5, 0.02, 0.5},
		{0.75, 0.02, 0.25},
		// 1 − float32(0.97) = 0.0300000310 (exact in float32) > 0.02.
		{0.97, 0.02, 1 - float32(0.97)},
		// 1 − float32(0.98) = 0.0199999809 < float32(0.02) = 0.0199999996:
		// the floor wins although 1 − 0.98 = 0.02 in real numbers.
		{0.98, 0.02, float32(0.02)},
		{1, 0.02, float32(0.02)},
		{0.96, 0.05, float32(0.05)},
	} {
		if got := velocityDivisor(c.t, c.tEps); got != c.want {
			t.Errorf("max(1 − %g, %g) = %.9g, want %.9g", c.t, c.tEps, got, c.want)
		}
	}
}

func TestVelocity(t *testing.T) {
	b := tensor.NewCPU(1)
	xh := []float32{1, -2, 0.5, 3, 0, -1}
	zz := []float32{0.25, 1, -0.5, 3, 2, -4}
	xhat := b.FromFloat32(xh, 2, 3)
	z := b.FromFloat32(zz, 2, 3)
	for _, c := range []struct {
		t       float32
		tEps    float64
		divisor float64 // max(1 − t, t_eps) by hand
		rel     float64
	}{
		{0, 0.02, 1, 0},     // exact: divide by 1
		{0.5, 0.02, 0.5, 0}, // exact: multiply by 2
		{0.75, 0.02, 0.25, 0},
		{0.9, 0.02, 1 - float64(float32(0.9)), 2.5e-7}, // 0.100000024
		{1, 0.02, float64(float32(0.02)), 2.5e-7},      // the floor
		{0.99, 0.05, float64(float32(0.05)), 2.5e-7},
	} {
		v := Velocity(b, xhat, z, c.t, c.tEps)
		if sh := v.Shape(); len(sh) != 2 || sh[0] != 2 || sh[1] != 3 {
			t.Fatalf("t=%g: shape %v, want [2 3]", c.t, sh)
		}
		got := b.Float32(v)
		for i := range got {
			want := (float64(xh[i]) - float64(zz[i])) / c.divisor
			if !approx(got[i], want, c.rel) {
				t.Errorf("t=%g t_eps=%g: v[%d] = %.9g, want (%g − %g)/%.9g = %.9g", c.t, c.tEps, i, got[i], xh[i], zz[i], c.divisor, want)
			}
		}
	}
	// Inputs unchanged.
	for i, x := range b.Float32(xhat) {
		if x != xh[i] {
			t.Fatalf("x̂ changed at %d", i)
		}
	}
	for i, x := range b.Float32(z) {
		if x != zz[i] {
			t.Fatalf("z changed at %d", i)
		}
	}

	expectPanic(t, "t_eps 0", func() { Velocity(b, xhat, z, 0.5, 0) }, "t_eps")
	expectPanic(t, "shape mismatch", func() { Velocity(b, xhat, b.FromFloat32(zz, 3, 2), 0.5, 0.02) }, "[2 3]", "[3 2]")
}

func TestEuler(t *testing.T) {
	b := tensor.NewCPU(1)
	zz := []float32{1, -2, 0.5, 4}
	vv := []float32{2, 8, -4, 0.5}
	z := b.FromFloat32(zz, 2, 2)
	v := b.FromFloat32(vv, 2, 2)

	// dt = 0.5 − 0.25 = 0.25: z + v/4 = 1.5, 0, −0.5, 4.125 (exact).
	got := b.Float32(Euler(b, z, v, 0.5, 0.25))
	want := []float32{1.5, 0, -0.5, 4.125}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("dt=0.25: z'[%d] = %g, want %g", i, got[i], want[i])
		}
	}

	// A step of the N = 8, s = 3 grid: dt is the float32 difference.
	grid, _ := TimeGrid(8, 3)
	tc, tn := grid[5], grid[6] // 0.3571…, 0.5
	dt := float64(tn - tc)
	if dt != float64(float32(0.5)-grid[5]) {
		t.Fatalf("step size %g", dt)
	}
	got = b.Float32(Euler(b, z, v, tn, tc))
	for i := range got {
		w := float64(zz[i]) + dt*float64(vv[i])
		if !approx(got[i], w, 1e-7) {
			t.Errorf("grid step 5: z'[%d] = %.9g, want %.9g", i, got[i], w)
		}
	}

	// v = 0 leaves the canvas unchanged (CFG-Zero* step 0).
	got = b.Float32(Euler(b, z, b.Zeros(2, 2), grid[1], grid[0]))
	for i := range got {
		if got[i] != zz[i] {
			t.Errorf("v = 0: z'[%d] = %g, want %g", i, got[i], zz[i])
		}
	}

	// The order of the timesteps matters: swapping them steps backwards.
	got = b.Float32(Euler(b, z, v, 0.25, 0.5))
	if got[0] != 0.5 {
		t.Errorf("Euler(…, tNext=0.25, t=0.5)[0] = %g, want 1 − 2/4 = 0.5", got[0])
	}

	expectPanic(t, "shape mismatch", func() { Euler(b, z, b.Zeros(4), 1, 0) }, "sampler.Euler", "[2 2]", "[4]")
}
