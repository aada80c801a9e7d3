package sampler

import (
	"math"
	"strings"
	"testing"
)

// closedForm is t = u / (u + s·(1 − u)) in float64 with u = i/N.
func closedForm(i, n int, s float64) float64 {
	u := float64(i) / float64(n)
	return u / (u + s*(1-u))
}

func TestTimeGridDocumentedExamples(t *testing.T) {
	// PIPELINES.md 2.2, printed to 4 decimals.
	want8 := []float64{0, 0.0455, 0.1, 0.1667, 0.25, 0.3571, 0.5, 0.7, 1}
	got, err := TimeGrid(8, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want8) {
		t.Fatalf("N=8: %d timesteps, want %d", len(got), len(want8))
	}
	for i, w := range want8 {
		if math.Abs(float64(got[i])-w) > 0.5e-4 {
			t.Errorf("N=8 s=3: t[%d] = %.6f, want %.4f", i, got[i], w)
		}
	}

	got, err = TimeGrid(50, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 51 {
		t.Fatalf("N=50: %d timesteps, want 51", len(got))
	}
	head := []float64{0, 0.0068, 0.0137, 0.0208}
	tail := []float64{0.8393, 0.8889, 0.9423, 1}
	for i, w := range head {
		if math.Abs(float64(got[i])-w) > 0.5e-4 {
			t.Errorf("N=50 s=3: t[%d] = %.6f, want %.4f", i, got[i], w)
		}
	}
	for k, w := range tail {
		i := 47 + k
		if math.Abs(float64(got[i])-w) > 0.5e-4 {
			t.Errorf("N=50 s=3: t[%d] = %.6f, want %.4f", i, got[i], w)
		}
	}
}

func TestTimeGridMatchesClosedForm(t *testing.T) {
	for _, n := range []int{1, 2, 3, 4, 8, 20, 28, 50, 100, 1000} {
		for _, s := range []float64{0.25, 0.5, 1, 1.5, 2, 3, 5, 10} {
			got, err := TimeGrid(n, s)
			if err != nil {
				t.Fatalf("N=%d s=%g: %v", n, s, err)
			}
			if len(got) != n+1 {
				t.Fatalf("N=%d s=%g: %d timesteps, want %d", n, s, len(got), n+1)
			}
			if got[0] != 0 || got[n] != 1 {
				t.Errorf("N=%d s=%g: endpoints %g, %g, want exactly 0 and 1", n, s, got[0], got[n])
			}
			for i := range got {
				// A few float32 roundings of values ≤ 1.
				if d := math.Abs(float64(got[i]) - closedForm(i, n, s)); d > 6e-7 {
					t.Errorf("N=%d s=%g: t[%d] = %.9g, closed form %.9g (diff %.2g)", n, s, i, got[i], closedForm(i, n, s), d)
				}
				if i > 0 && !(got[i] > got[i-1]) {
					t.Errorf("N=%d s=%g: not increasing at %d: %.9g after %.9g", n, s, i, got[i], got[i-1])
				}
			}
		}
	}
}

// The linspace rule, checked on values derived by hand with s = 1, where the
// shift reduces to t = 1 − (1 − u) (two float32 roundings).
func TestTimeGridLinspaceRounding(t *testing.T) {
	// N = 15, i = 3 (lower half): step = float32(1/15) = 8947849·2⁻²⁷;
	// u = 3·step = 26843547·2⁻²⁷ = 13421773.5·2⁻²⁶ → ties to even →
	// 13421774·2⁻²⁶ (float32(0.2) would be 13421773·2⁻²⁶); σ = 1 − u =
	// 13421772.5·2⁻²⁴ → 13421772·2⁻²⁴; t = 1 − σ = 3355444·2⁻²⁴ = 0x3E4CCCD0.
	// Computing u as float32(i)/float32(N) gives 0x3E4CCCCC instead.
	g, err := TimeGrid(15, 1)
	if err != nil {
		t.Fatal(err)
	}
	if bits := math.Float32bits(g[3]); bits != 0x3E4CCCD0 {
		t.Errorf("N=15 s=1: t[3] = %.9g (%#x), want 3355444·2⁻²⁴ = 0.200000048 (0x3e4cccd0)", g[3], bits)
	}
	// N = 3, i = 2 (upper half): step = float32(1/3) = 11184811·2⁻²⁵;
	// 1 − step = 22369621·2⁻²⁵ = 11184810.5·2⁻²⁴ → ties to even →
	// 11184810·2⁻²⁴ = 0.666666627, where float32(2/3) = 11184811·2⁻²⁴.
	g, err = TimeGrid(3, 1)
	if err != nil {
		t.Fatal(err)
	}
	want := float32(11184810) / (1 << 24)
	if g[2] != want {
		t.Errorf("N=3 s=1: t[2] = %.9g, want %.9g (1 − step of the upper half)", g[2], want)
	}
	// i = 1 (lower half): u = step = 11184811·2⁻²⁵, σ = 1 − u =
	// 11184810.5·2⁻²⁴ → 11184810·2⁻²⁴, t = 1 − σ = 5592406·2⁻²⁴ =
	// 0.333333373: s = 1 is an identity only up to this rounding.
	if want := float32(5592406) / (1 << 24); g[1] != want {
		t.Errorf("N=3 s=1: t[1] = %.9g, want %.9g", g[1], want)
	}
}

func TestTimeGridShiftOneIsNearIdentity(t *testing.T) {
	for _, n := range []int{1, 2, 3, 7, 8, 50, 100} {
		g, err := TimeGrid(n, 1)
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range g {
			if d := math.Abs(float64(v) - float64(i)/float64(n)); d > 1.2e-7 {
				t.Errorf("N=%d s=1: t[%d] = %.9g, want %d/%d within one ulp of 1 (diff %.2g)", n, i, v, i, n, d)
			}
		}
	}
}

func TestTimeGridEndpoints(t *testing.T) {
	// t_N = 1 for every shift; t_0 = 0 for integer and half-integer shifts.
	for k := 1; k <= 400; k++ {
		s := float64(k) / 2
		g, err := TimeGrid(4, s)
		if err != nil {
			t.Fatal(err)
		}
		if g[0] != 0 || g[4] != 1 {
			t.Errorf("s=%g: t_0 = %g, t_N = %g, want 0 and 1 exactly", s, g[0], g[4])
		}
	}
	// The literal float32 evaluation, as the reference: for s = 2.002,
	// float32(s) / (1 + float32(s − 1)) rounds to 1 + 2⁻²³, so t_0 = −2⁻²³.
	g, err := TimeGrid(4, 2.002)
	if err != nil {
		t.Fatal(err)
	}
	if g[0] != -float32(1)/(1<<23) || g[4] != 1 {
		t.Errorf("s=2.002: t_0 = %g, t_N = %g, want -2^-23 and 1", g[0], g[4])
	}
}

func TestTimeGridShiftSkewsTowardsNoise(t *testing.T) {
	g1, _ := TimeGrid(10, 1)
	g3, _ := TimeGrid(10, 3)
	for i := 1; i < 10; i++ {
		if !(g3[i] < g1[i]) {
			t.Errorf("t[%d]: shift 3 gives %g, shift 1 gives %g; want the shifted grid below", i, g3[i], g1[i])
		}
	}
}

func TestTimeGridErrors(t *testing.T) {
	for _, c := range []struct {
		n     int
		shift float64
		msg   string
	}{
		{0, 3, "0 steps"},
		{-5, 3, "-5 steps"},
		{8, 0, "shift 0"},
		{8, -1, "shift -1"},
		{8, math.NaN(), "shift NaN"},
		{8, math.Inf(1), "shift +Inf"},
		{8, 1e39, "shift 1e+39"},
	} {
		g, err := TimeGrid(c.n, c.shift)
		if err == nil {
			t.Errorf("TimeGrid(%d, %g) = %v, want an error", c.n, c.shift, g)
			continue
		}
		if !strings.Contains(err.Error(), c.msg) {
			t.Errorf("TimeGrid(%d, %g): error %q does not mention %q", c.n, c.shift, err, c.msg)
		}
	}
}
