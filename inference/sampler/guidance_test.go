package sampler

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/sensenova/studio/inference/tensor"
)

func TestParseNorm(t *testing.T) {
	for _, s := range []string{"none", "global", "channel", "cfg_zero_star"} {
		n, err := ParseNorm(s)
		if err != nil || string(n) != s {
			t.Errorf("ParseNorm(%q) = %q, %v", s, n, err)
		}
	}
	for _, s := range []string{"", "Global", "cfg-zero-star", "l2"} {
		_, err := ParseNorm(s)
		if err == nil {
			t.Errorf("ParseNorm(%q) accepted", s)
			continue
		}
		for _, want := range []string{fmt.Sprintf("%q", s), "none, global, channel, cfg_zero_star"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("ParseNorm(%q): error %q does not mention %s", s, err, want)
			}
		}
	}
}

func TestGuidanceValidate(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	with := func(m Mode, f func(*Guidance)) Guidance {
		g := DefaultGuidance(m)
		f(&g)
		return g
	}
	for _, c := range []struct {
		name string
		g    Guidance
		errs []string // substrings; none = valid
	}{
		{"t2i defaults", DefaultGuidance(TextToImage), nil},
		{"edit defaults", DefaultGuidance(Edit), nil},
		{"interleave defaults", DefaultGuidance(Interleave), nil},
		{"zero value", Guidance{}, []string{"mode Mode(0)", `cfg_norm ""`}},
		{"t2i zero-star", with(TextToImage, func(g *Guidance) { g.Norm = NormCFGZeroStar }), nil},
		{"t2i ignores image scale", with(TextToImage, func(g *Guidance) { g.ImageScale = nan }), nil},
		{"edit global", with(Edit, func(g *Guidance) { g.Norm = NormGlobal }), nil},
		{"interleave channel", with(Interleave, func(g *Guidance) { g.Norm = NormChannel }), nil},
		{"negative and small scales", with(Edit, func(g *Guidance) { g.Scale, g.ImageScale = -1, 0.5 }), nil},
		{"point interval", with(TextToImage, func(g *Guidance) { g.IntervalLo, g.IntervalHi = 0.3, 0.3 }), nil},
		{"scale NaN", with(TextToImage, func(g *Guidance) { g.Scale = nan }), []string{"cfg_scale NaN"}},
		{"image scale Inf", with(Edit, func(g *Guidance) { g.ImageScale = inf }), []string{"img_cfg_scale +Inf"}},
		{"edit zero-star", with(Edit, func(g *Guidance) { g.Norm = NormCFGZeroStar }), []string{"text-to-image only", "edit accepts none, global, channel"}},
		{"interleave zero-star", with(Interleave, func(g *Guidance) { g.Norm = NormCFGZeroStar }), []string{"text-to-image only"}},
		{"unknown norm", with(Edit, func(g *Guidance) { g.Norm = "l2" }), []string{`"l2"`, "none, global, channel, cfg_zero_star"}},
		{"lo > hi", with(Edit, func(g *Guidance) { g.IntervalLo, g.IntervalHi = 0.6, 0.4 }), []string{"(0.6, 0.4)", "lo ≤ hi"}},
		{"NaN bound", with(TextToImage, func(g *Guidance) { g.IntervalHi = nan }), []string{"finite bounds"}},
		{"several problems", with(Edit, func(g *Guidance) { g.Scale, g.ImageScale, g.IntervalLo = nan, inf, 2 }),
			[]string{"cfg_scale NaN", "img_cfg_scale +Inf", "lo ≤ hi"}},
	} {
		err := c.g.Validate()
		if len(c.errs) == 0 {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: %+v accepted", c.name, c.g)
			continue
		}
		for _, w := range c.errs {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not mention %q", c.name, err, w)
			}
		}
	}
}

func TestGuidanceActive(t *testing.T) {
	g := func(m Mode, s, lo, hi float64) Guidance {
		return Guidance{Mode: m, Scale: s, ImageScale: 1, Norm: NormNone, IntervalLo: lo, IntervalHi: hi}
	}
	for _, c := range []struct {
		name string
		g    Guidance
		t    float32
		want bool
	}{
		// Text-to-image: lo ≤ t ≤ hi, inclusive, and s > 1.
		{"t2i inside", g(TextToImage, 4, 0.2, 0.6), 0.4, true},
		{"t2i at lo", g(TextToImage, 4, 0.2, 0.6), 0.2, true},
		{"t2i at hi", g(TextToImage, 4, 0.2, 0.6), 0.6, true},
		{"t2i below", g(TextToImage, 4, 0.2, 0.6), 0.19999999, false},
		{"t2i above", g(TextToImage, 4, 0.2, 0.6), 0.6000001, false},
		{"t2i s = 1", g(TextToImage, 1, 0, 1), 0.5, false},
		{"t2i s < 1", g(TextToImage, 0.5, 0, 1), 0.5, false},
		{"t2i s just above 1", g(TextToImage, 1.0001, 0, 1), 0.5, true},
		{"t2i t = 0 with lo = 0", g(TextToImage, 4, 0, 1), 0, true},
		{"t2i lo = 0 is not special", g(TextToImage, 4, 0, 0.5), 0.9, false},
		// The bound is rounded to float32 first, as torch compares:
		// float32(0.1) ≤ 0.1 although 0.10000000149 > 0.1 in float64.
		{"t2i hi compared in float32", g(TextToImage, 4, 0, 0.1), 0.1, true},
		// Editing: lo < t < hi, exclusive, or lo = 0; scales not looked at.
		{"edit inside", g(Edit, 4, 0.2, 0.6), 0.4, true},
		{"edit at lo", g(Edit, 4, 0.2, 0.6), 0.2, false},
		{"edit at hi", g(Edit, 4, 0.2, 0.6), 0.6, false},
		{"edit below", g(Edit, 4, 0.2, 0.6), 0.1, false},
		{"edit lo = 0 always on", g(Edit, 4, 0, 0.5), 0.9, true},
		{"edit lo = 0 at t = 0", g(Edit, 4, 0, 0.5), 0, true},
		{"edit lo = 0, s = 1", g(Edit, 1, 0, 1), 1, true},
		// float32(0.1) > 0.1 in float64 but not in float32: inactive.
		{"edit lo compared in float32", g(Edit, 4, 0.1, 0.5), 0.1, false},
		{"interleave inside", g(Interleave, 4, 0.2, 0.6), 0.4, true},
		{"interleave at lo", g(Interleave, 4, 0.2, 0.6), 0.2, false},
		{"interleave lo = 0", g(Interleave, 4, 0, 0.1), 0.9, true},
	} {
		if got := c.g.Active(c.t); got != c.want {
			t.Errorf("%s: Active(%.9g) = %v, want %v", c.name, c.t, got, c.want)
		}
	}
}

func TestGuidanceBranchesAndPrefixes(t *testing.T) {
	for _, c := range []struct {
		mode             Mode
		s, si            float64
		imageOnly, uncnd bool
	}{
		{TextToImage, 4, 1, false, true},
		{TextToImage, 4, 3, false, true}, // image scale ignored
		{TextToImage, 1, 1, false, false},
		{TextToImage, 0.5, 1, false, false},
		// Editing (PIPELINES 2.6 table): (4, 1) → C, IC.
		{Edit, 4, 1, true, false},
		{Edit, 1, 1, false, false},
		{Edit, 3, 3, false, true},   // s = s_i ≠ 1 → C, U
		{Edit, 4, 1.5, true, true},  // s_i ≠ 1, s ≠ s_i → C, IC, U
		{Edit, 1, 2, true, true},    // s = 1 but s_i ≠ 1
		{Edit, 0.5, 1, true, false}, // s < 1 still "needs"
		{Edit, 0.5, 0.5, false, true},
		{Interleave, 4, 1, true, false},
		{Interleave, 4, 1.5, true, true},
		{Interleave, 1, 1, false, false},
	} {
		g := Guidance{Mode: c.mode, Scale: c.s, ImageScale: c.si, Norm: NormNone, IntervalHi: 1}
		io, u := g.Branches()
		if io != c.imageOnly || u != c.uncnd {
			t.Errorf("%v (%g, %g): Branches = (imageOnly %v, uncond %v), want (%v, %v)", c.mode, c.s, c.si, io, u, c.imageOnly, c.uncnd)
		}
		pio, pu := g.Prefixes()
		wio, wu := c.imageOnly, c.uncnd
		if c.mode == Interleave {
			wio, wu = true, true
		}
		if pio != wio || pu != wu {
			t.Errorf("%v (%g, %g): Prefixes = (%v, %v), want (%v, %v)", c.mode, c.s, c.si, pio, pu, wio, wu)
		}
	}
}

func TestGuidanceNeeds(t *testing.T) {
	zs := Guidance{Mode: TextToImage, Scale: 3, Norm: NormCFGZeroStar, IntervalLo: 0, IntervalHi: 1}
	if io, u := zs.Needs(0, 0); io || u {
		t.Errorf("cfg_zero_star step 0: Needs = (%v, %v), want nothing (v = 0)", io, u)
	}
	if io, u := zs.Needs(1, 0.1); io || !u {
		t.Errorf("cfg_zero_star step 1: Needs = (%v, %v), want uncond", io, u)
	}
	late := zs
	late.IntervalLo = 0.05 // not active at t = 0: step 0 gives v_C
	if io, u := late.Needs(0, 0); io || u {
		t.Errorf("cfg_zero_star inactive step 0: Needs = (%v, %v), want nothing", io, u)
	}
	ed := Guidance{Mode: Edit, Scale: 4, ImageScale: 1.5, Norm: NormNone, IntervalLo: 0.2, IntervalHi: 0.6}
	if io, u := ed.Needs(3, 0.7); io || u {
		t.Errorf("edit outside the interval: Needs = (%v, %v), want nothing", io, u)
	}
	if io, u := ed.Needs(3, 0.4); !io || !u {
		t.Errorf("edit (4, 1.5) inside: Needs = (%v, %v), want both", io, u)
	}

	// Needs never asks for a branch that Branches did not announce, and a
	// Combine given exactly what Needs reports does not panic.
	b := tensor.NewCPU(1)
	vc := b.FromFloat32([]float32{1, 2, 3, 4}, 2, 2)
	vi := b.FromFloat32([]float32{0, 1, 0, 1}, 2, 2)
	vu := b.FromFloat32([]float32{-1, 0, 1, 0}, 2, 2)
	scales := []float64{0.5, 1, 1.5, 4}
	for _, m := range []Mode{TextToImage, Edit, Interleave} {
		for _, n := range []Norm{NormNone, NormGlobal, NormChannel, NormCFGZeroStar} {
			if n == NormCFGZeroStar && m != TextToImage {
				continue
			}
			for _, s := range scales {
				for _, si := range scales {
					for _, iv := range [][2]float64{{0, 1}, {0.2, 0.6}} {
						g := Guidance{Mode: m, Scale: s, ImageScale: si, Norm: n, IntervalLo: iv[0], IntervalHi: iv[1]}
						bio, bu := g.Branches()
						for step, tt := range []float32{0, 0.2, 0.4, 0.6, 0.9} {
							io, u := g.Needs(step, tt)
							if (io && !bio) || (u && !bu) {
								t.Errorf("%+v step %d: Needs (%v, %v) beyond Branches (%v, %v)", g, step, io, u, bio, bu)
							}
							var pi, pu tensor.Tensor
							if io {
								pi = vi
							}
							if u {
								pu = vu
							}
							func() {
								defer func() {
									if r := recover(); r != nil {
										t.Errorf("%+v step %d t %g: Combine with what Needs reports panicked: %v", g, step, tt, r)
									}
								}()
								b.Free(g.Combine(b, step, tt, vc, pi, pu, 2))
							}()
						}
					}
				}
			}
		}
	}
}

// vec is a small helper for float64 expectations.
type vec []float64

func (v vec) f32() []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}

func checkVec(t *testing.T, name string, got []float32, want vec, rel float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d values, want %d", name, len(got), len(want))
		return
	}
	for i := range want {
		if !approx(got[i], want[i], rel) {
			t.Errorf("%s: [%d] = %.9g, want %.9g (all: %v)", name, i, got[i], want[i], got)
			return
		}
	}
}

func TestCombineTextToImage(t *testing.T) {
	b := tensor.NewCPU(1)
	mk := func(v vec) tensor.Tensor { return b.FromFloat32(v.f32(), len(v)/2, 2) }
	base := Guidance{Mode: TextToImage, Scale: 4, Norm: NormNone, IntervalLo: 0, IntervalHi: 1}
	with := func(f func(*Guidance)) Guidance { g := base; f(&g); return g }

	// One image of one token, F = 2. Hand values:
	// v_U + 4·(v_C − v_U) = (0.5 + 4·0.5, 1 + 4·1) = (2.5, 5).
	vc, vu := mk(vec{1, 2}), mk(vec{0.5, 1})
	checkVec(t, "none", b.Float32(base.Combine(b, 3, 0.5, vc, nil, vu, 1)), vec{2.5, 5}, 0)
	// Outside [0.2, 0.6]: v_C, and v_U may be nil.
	out := with(func(g *Guidance) { g.IntervalLo, g.IntervalHi = 0.2, 0.6 })
	checkVec(t, "outside interval", b.Float32(out.Combine(b, 3, 0.7, vc, nil, nil, 1)), vec{1, 2}, 0)
	checkVec(t, "at hi (inclusive)", b.Float32(out.Combine(b, 3, 0.6, vc, nil, vu, 1)), vec{2.5, 5}, 0)
	// s = 1: no guidance whatever the interval.
	one := with(func(g *Guidance) { g.Scale = 1 })
	checkVec(t, "s = 1", b.Float32(one.Combine(b, 3, 0.5, vc, nil, nil, 1)), vec{1, 2}, 0)

	// Global: v_C = (3, 4), ‖v_C‖ = 5; v_U = 0 → v = (12, 16), ‖v‖ = 20 →
	// factor 5/20 = 0.25 → (3, 4).
	glob := with(func(g *Guidance) { g.Norm = NormGlobal })
	checkVec(t, "global shrinks", b.Float32(glob.Combine(b, 1, 0.5, mk(vec{3, 4}), nil, mk(vec{0, 0}), 1)), vec{3, 4}, 1e-7)
	// v_U = (4.5, 6), s = 2 → v = (1.5, 2), ‖v‖ = 2.5 < 5: factor 2 clamped to 1.
	glob2 := glob
	glob2.Scale = 2
	checkVec(t, "global clamped at 1", b.Float32(glob2.Combine(b, 1, 0.5, mk(vec{3, 4}), nil, mk(vec{4.5, 6}), 1)), vec{1.5, 2}, 0)

	// Two tokens: token 0 as "global shrinks", token 1 as "clamped" (s = 4:
	// v_U = (3.5, 14/3·…) chosen so v = (1.5, 2): v_U + 4(v_C − v_U) = 4v_C − 3v_U
	// → v_U = (4v_C − v)/3 = (3.5, 14/3)).
	vc2 := mk(vec{3, 4, 3, 4})
	vu2 := mk(vec{0, 0, 3.5, 14.0 / 3})
	vNone := vec{12, 16, 12 - 3*float64(float32(3.5)), 16 - 3*float64(float32(14.0/3))}
	// Channel: factors 0.25 and 1 (clamped) per token.
	ch := with(func(g *Guidance) { g.Norm = NormChannel })
	checkVec(t, "channel", b.Float32(ch.Combine(b, 1, 0.5, vc2, nil, vu2, 2)),
		vec{3, 4, vNone[2], vNone[3]}, 1e-6)
	// Global over both tokens: one factor ‖v_C‖/‖v‖ = √50 / √(400 + 1.5² + 2²).
	f := math.Sqrt(50) / math.Sqrt(400+vNone[2]*vNone[2]+vNone[3]*vNone[3])
	checkVec(t, "global over the image", b.Float32(glob.Combine(b, 1, 0.5, vc2, nil, vu2, 2)),
		vec{12 * f, 16 * f, vNone[2] * f, vNone[3] * f}, 1e-6)
	// The same rows as two images of one token: per-image factors = channel.
	checkVec(t, "global per image", b.Float32(glob.Combine(b, 1, 0.5, vc2, nil, vu2, 1)),
		vec{3, 4, vNone[2], vNone[3]}, 1e-6)
	// No rescale outside the interval (v = v_C).
	globOut := glob
	globOut.IntervalLo = 0.6
	checkVec(t, "global outside interval", b.Float32(globOut.Combine(b, 1, 0.5, vc2, nil, nil, 2)), vec{3, 4, 3, 4}, 0)
}

func TestCombineZeroStar(t *testing.T) {
	b := tensor.NewCPU(1)
	g := Guidance{Mode: TextToImage, Scale: 3, Norm: NormCFGZeroStar, IntervalLo: 0, IntervalHi: 1}
	// v_C = (1, 2), v_U = (2, 0): ⟨v_C, v_U⟩ = 2, ‖v_U‖² = 4 → α = 0.5,
	// α·v_U = (1, 0), v = (1, 0) + 3·((1, 2) − (1, 0)) = (1, 6).
	vc := b.FromFloat32([]float32{1, 2}, 1, 2)
	vu := b.FromFloat32([]float32{2, 0}, 1, 2)
	checkVec(t, "zero-star step 1", b.Float32(g.Combine(b, 1, 0.2, vc, nil, vu, 1)), vec{1, 6}, 0)
	// Step 0 with guidance active: v = 0 (v_U not needed).
	checkVec(t, "zero-star step 0", b.Float32(g.Combine(b, 0, 0, vc, nil, nil, 1)), vec{0, 0}, 0)
	// Step 0 outside the interval: v_C.
	late := g
	late.IntervalLo = 0.1
	checkVec(t, "zero-star step 0 inactive", b.Float32(late.Combine(b, 0, 0, vc, nil, nil, 1)), vec{1, 2}, 0)

	// Two images of two tokens, one α each. Image 0 as above padded with a
	// zero token; image 1: v_C = (1, 1, 1, 1), v_U = (1, 0, 0, 1) → α = 2/2 = 1
	// → v = v_U + 3·(v_C − v_U) = (1, 3, 3, 1).
	vc2 := b.FromFloat32([]float32{1, 2, 0, 0, 1, 1, 1, 1}, 4, 2)
	vu2 := b.FromFloat32([]float32{2, 0, 0, 0, 1, 0, 0, 1}, 4, 2)
	checkVec(t, "zero-star per image", b.Float32(g.Combine(b, 2, 0.5, vc2, nil, vu2, 2)), vec{1, 6, 0, 0, 1, 3, 3, 1}, 0)

	// A non-trivial α against float64: v_C = (0.3, −1.7, 2.2), v_U = (1.1, 0.4, −0.6).
	c := vec{0.3, -1.7, 2.2}
	u := vec{1.1, 0.4, -0.6}
	var dot, sq float64
	for i := range c {
		cf, uf := float64(float32(c[i])), float64(float32(u[i]))
		dot += cf * uf
		sq += uf * uf
	}
	alpha := dot / sq
	want := vec{}
	for i := range c {
		cf, uf := float64(float32(c[i])), float64(float32(u[i]))
		want = append(want, alpha*uf+3*(cf-alpha*uf))
	}
	got := b.Float32(g.Combine(b, 5, 0.9, b.FromFloat32(c.f32(), 1, 3), nil, b.FromFloat32(u.f32(), 1, 3), 1))
	checkVec(t, "zero-star float64", got, want, 1e-6)
	if a := zeroStarAlpha(dot, sq); !approx(a, alpha, 1e-7) {
		t.Errorf("α = %.9g, want %.9g", a, alpha)
	}
	// 1e−8 guards a zero v_U: α = 0, v = 3·v_C.
	if a := zeroStarAlpha(0, 0); a != 0 {
		t.Errorf("α(0, 0) = %g, want 0", a)
	}
}

func TestRescaleFactor(t *testing.T) {
	for _, c := range []struct {
		sqC, sqV float64
		want     float32
	}{
		{25, 400, 0.25},
		{25, 6.25, 1},            // 2 clamped to 1
		{25, 25, 1},              // 5 / (5 + 1e−8) rounds to 1 in float32
		{0, 0, 0},                // 0 / 1e−8
		{1e-16, 0, 1},            // 1e−8 / 1e−8
		{25e-16, 1e-16, 1},       // 5e−8 / 2e−8 = 2.5 → 1
		{1e-16, 25e-16, sixth()}, // 1e−8 / (5e−8 + 1e−8), float32 ops
	} {
		if got := rescaleFactor(c.sqC, c.sqV); got != c.want {
			t.Errorf("rescaleFactor(%g, %g) = %.9g, want %.9g", c.sqC, c.sqV, got, c.want)
		}
	}
	if got := rescaleFactor(math.NaN(), 1); got == got {
		t.Errorf("rescaleFactor(NaN, 1) = %g, want NaN (clamp lets it through)", got)
	}
}

// sixth is float32(1e−8) / (float32(5e−8) + float32(1e−8)), each op
// rounded to float32 at run time.
func sixth() float32 {
	a, b := float32(1e-8), float32(5e-8)
	sum := b + a
	return a / sum
}

func TestRoundBF16(t *testing.T) {
	for _, c := range []struct{ in, want float32 }{
		{1, 1},
		{1 + 1.0/256, 1},                       // tie → even (1)
		{1 + 3.0/256, 1 + 4.0/256},             // tie → even (1 + 2⁻⁶)
		{1 + 1.0/256 + 1.0/65536, 1 + 1.0/128}, // above the tie → up
		{-0.5, -0.5},
		{float32(math.Inf(1)), float32(math.Inf(1))},
	} {
		if got := roundBF16(c.in); got != c.want {
			t.Errorf("roundBF16(%.9g) = %.9g, want %.9g", c.in, got, c.want)
		}
	}
}

func TestCombineEditTable(t *testing.T) {
	b := tensor.NewCPU(1)
	// One image of one token, F = 3.
	c, i, u := vec{1, 2, 3}, vec{0.5, 1, 1}, vec{0, 0.5, -1}
	vc, vi, vu := b.FromFloat32(c.f32(), 1, 3), b.FromFloat32(i.f32(), 1, 3), b.FromFloat32(u.f32(), 1, 3)
	for _, mode := range []Mode{Edit, Interleave} {
		for _, tc := range []struct {
			name   string
			s, si  float64
			lo, hi float64
			t      float32
			vi, vu tensor.Tensor // what is passed
			want   vec
		}{
			{"s = s_i = 1", 1, 1, 0, 1, 0.5, nil, nil, c},
			// v_IC + 4·(v_C − v_IC) = (0.5 + 2, 1 + 4, 1 + 8).
			{"s_i = 1", 4, 1, 0, 1, 0.5, vi, nil, vec{2.5, 5, 9}},
			// v_U + 3·(v_C − v_U) = (3, 0.5 + 4.5, −1 + 12).
			{"s = s_i", 3, 3, 0, 1, 0.5, nil, vu, vec{3, 5, 11}},
			// v_U + 4·(v_C − v_IC) + 1.5·(v_IC − v_U)
			// = (0 + 2 + 0.75, 0.5 + 4 + 0.75, −1 + 8 + 3).
			{"three-way", 4, 1.5, 0, 1, 0.5, vi, vu, vec{2.75, 5.25, 10}},
			// s = 1, s_i = 2: v_U + (v_C − v_IC) + 2·(v_IC − v_U)
			// = (0 + 0.5 + 1, 0.5 + 1 + 1, −1 + 2 + 4).
			{"s = 1, s_i = 2", 1, 2, 0, 1, 0.5, vi, vu, vec{1.5, 2.5, 5}},
			// Inside (0.2, 0.6), at its bounds, outside; lo = 0 always on.
			{"inside interval", 4, 1.5, 0.2, 0.6, 0.4, vi, vu, vec{2.75, 5.25, 10}},
			{"at lo (exclusive)", 4, 1.5, 0.2, 0.6, 0.2, nil, nil, c},
			{"at hi (exclusive)", 4, 1.5, 0.2, 0.6, 0.6, nil, nil, c},
			{"outside interval", 4, 1.5, 0.2, 0.6, 0.7, nil, nil, c},
			{"lo = 0 beyond hi", 4, 1.5, 0, 0.3, 0.9, vi, vu, vec{2.75, 5.25, 10}},
		} {
			g := Guidance{Mode: mode, Scale: tc.s, ImageScale: tc.si, Norm: NormNone, IntervalLo: tc.lo, IntervalHi: tc.hi}
			v := g.Combine(b, 1, tc.t, vc, tc.vi, tc.vu, 1)
			checkVec(t, fmt.Sprintf("%v %s", mode, tc.name), b.Float32(v), tc.want, 0)
			if v == vc {
				t.Errorf("%v %s: Combine returned v_C itself, want a new tensor", mode, tc.name)
			}
		}
	}
	// Inputs unchanged.
	checkVec(t, "v_C after", b.Float32(vc), c, 0)
	checkVec(t, "v_IC after", b.Float32(vi), i, 0)
	checkVec(t, "v_U after", b.Float32(vu), u, 0)
}

func TestCombineEditNormConditions(t *testing.T) {
	b := tensor.NewCPU(1)
	// Edit: rescale iff (s > 1 or s_i > 1) and active. Three-way (4, 1.5)
	// with global: v = (2.75, 5.25, 10) scaled by ‖v_C‖/‖v‖ = √14/√(2.75² + 5.25² + 100).
	c, i, u := vec{1, 2, 3}, vec{0.5, 1, 1}, vec{0, 0.5, -1}
	vc, vi, vu := b.FromFloat32(c.f32(), 1, 3), b.FromFloat32(i.f32(), 1, 3), b.FromFloat32(u.f32(), 1, 3)
	f := math.Sqrt(14) / math.Sqrt(2.75*2.75+5.25*5.25+100)
	for _, mode := range []Mode{Edit, Interleave} {
		g := Guidance{Mode: mode, Scale: 4, ImageScale: 1.5, Norm: NormGlobal, IntervalLo: 0, IntervalHi: 1}
		checkVec(t, fmt.Sprintf("%v global three-way", mode), b.Float32(g.Combine(b, 1, 0.5, vc, vi, vu, 1)),
			vec{2.75 * f, 5.25 * f, 10 * f}, 1e-6)
	}
	// Scales ≤ 1: no rescale although the norm is set. s = s_i = 0.5:
	// v = v_U + 0.5·(v_C − v_U) = (0.5, 1.25, 1), ‖v‖ < ‖v_C‖ anyway, so use
	// channel on a case where the factor would be < 1: v_C small.
	smallC := b.FromFloat32([]float32{0.1, 0, 0}, 1, 3)
	bigU := b.FromFloat32([]float32{10, 0, 0}, 1, 3)
	for _, mode := range []Mode{Edit, Interleave} {
		g := Guidance{Mode: mode, Scale: 0.5, ImageScale: 0.5, Norm: NormChannel, IntervalLo: 0, IntervalHi: 1}
		// v = 10 + 0.5·(0.1 − 10) = 5.05; rescaled it would be 0.1.
		checkVec(t, fmt.Sprintf("%v no rescale at scales ≤ 1", mode), b.Float32(g.Combine(b, 1, 0.5, smallC, nil, bigU, 1)),
			vec{5.05, 0, 0}, 1e-6)
	}

	// The interleave precedence quirk (PIPELINES 10.4): with s > 1 the
	// rescale runs even where guidance is off, on v = v_C; its factor
	// ‖v_C‖ / (‖v_C‖ + 1e−8) shows only for a tiny v_C: (3e−8, 4e−8) has
	// norm 5e−8 → factor 5/6. Editing leaves v_C alone.
	tiny := b.FromFloat32([]float32{3e-8, 4e-8}, 1, 2)
	off := func(m Mode, s, si float64) Guidance {
		return Guidance{Mode: m, Scale: s, ImageScale: si, Norm: NormGlobal, IntervalLo: 0.2, IntervalHi: 0.6}
	}
	fq := float64(float32(5e-8)) / (float64(float32(5e-8)) + 1e-8)
	checkVec(t, "edit off: v_C", b.Float32(off(Edit, 4, 1).Combine(b, 1, 0.9, tiny, nil, nil, 1)), vec{float64(float32(3e-8)), float64(float32(4e-8))}, 0)
	got := b.Float32(off(Interleave, 4, 1).Combine(b, 1, 0.9, tiny, nil, nil, 1))
	if !approx(got[0]*1e8, 3*fq, 1e-6) || !approx(got[1]*1e8, 4*fq, 1e-6) {
		t.Errorf("interleave off, s > 1: v = %v, want v_C·5/6 = (%g, %g)e-8", got, 3*fq, 4*fq)
	}
	// s_i > 1 alone needs guidance on, as for editing.
	checkVec(t, "interleave off, s_i > 1 only", b.Float32(off(Interleave, 1, 4).Combine(b, 1, 0.9, tiny, nil, nil, 1)),
		vec{float64(float32(3e-8)), float64(float32(4e-8))}, 0)
}

func TestCombinePanics(t *testing.T) {
	b := tensor.NewCPU(1)
	v := b.FromFloat32([]float32{1, 2, 3, 4}, 2, 2)
	other := b.FromFloat32([]float32{1, 2, 3, 4}, 1, 4)
	t2i := Guidance{Mode: TextToImage, Scale: 4, Norm: NormNone, IntervalHi: 1}
	edit := Guidance{Mode: Edit, Scale: 4, ImageScale: 1, Norm: NormNone, IntervalHi: 1}
	three := Guidance{Mode: Edit, Scale: 4, ImageScale: 1.5, Norm: NormNone, IntervalHi: 1}
	same := Guidance{Mode: Interleave, Scale: 2, ImageScale: 2, Norm: NormNone, IntervalHi: 1}

	expectPanic(t, "t2i without v_U", func() { t2i.Combine(b, 1, 0.5, v, nil, nil, 2) }, "v_U is nil")
	expectPanic(t, "edit (4,1) without v_IC", func() { edit.Combine(b, 1, 0.5, v, nil, v, 2) }, "v_IC is nil")
	expectPanic(t, "three-way without v_U", func() { three.Combine(b, 1, 0.5, v, v, nil, 2) }, "v_U is nil")
	expectPanic(t, "three-way without v_IC", func() { three.Combine(b, 1, 0.5, v, nil, v, 2) }, "v_IC is nil")
	expectPanic(t, "s = s_i without v_U", func() { same.Combine(b, 1, 0.5, v, v, nil, 2) }, "v_U is nil")
	expectPanic(t, "nil v_C", func() { t2i.Combine(b, 1, 0.5, nil, nil, v, 2) }, "v_C is nil")
	expectPanic(t, "shape mismatch", func() { t2i.Combine(b, 1, 0.5, v, nil, other, 2) }, "v_U", "[1 4]", "[2 2]")
	expectPanic(t, "rows not a multiple of tokens", func() { t2i.Combine(b, 1, 0.5, v, nil, v, 3) }, "tokens = 3")
	expectPanic(t, "tokens 0", func() { t2i.Combine(b, 1, 0.5, v, nil, v, 0) }, "tokens = 0")
	expectPanic(t, "invalid settings", func() { Guidance{}.Combine(b, 1, 0.5, v, nil, nil, 2) }, "mode Mode(0)")
}
