package sampler

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/sensenova/studio/inference/tensor"
)

// Mode selects the guidance rules of one pipeline (PIPELINES.md 2.5). The
// zero Mode is invalid, so a Guidance whose mode was never set fails Validate.
type Mode int

// Guidance modes.
const (
	// TextToImage (t2i_generate): branches C (conditional prefix) and U
	// (unconditional prefix); guidance on iff lo ≤ t ≤ hi and Scale > 1.
	TextToImage Mode = iota + 1
	// Edit (it2i_generate): branches C (full context), IC (the input images
	// only) and U (nothing); guidance on iff lo < t < hi or lo = 0.
	Edit
	// Interleave (interleave_gen): branches COND, TU (text-uncond: images
	// only) and IU (image-uncond: empty turn) playing the roles of C, IC and
	// U of Edit, with Edit's table and interval rule but another condition
	// for the norm rescale; all three prefixes are always built.
	Interleave
)

func (m Mode) String() string {
	switch m {
	case TextToImage:
		return "text-to-image"
	case Edit:
		return "edit"
	case Interleave:
		return "interleave"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// Norm is the --cfg_norm rescale of the guided velocity.
type Norm string

// The --cfg_norm values (PIPELINES.md 2.5).
const (
	// NormNone: no rescale.
	NormNone Norm = "none"
	// NormGlobal: v ← v·clamp(‖v_C‖ / (‖v‖ + 1e−8), 0, 1), norms over all
	// values of an image.
	NormGlobal Norm = "global"
	// NormChannel: the same ratio per token (over its F values), despite
	// the name.
	NormChannel Norm = "channel"
	// NormCFGZeroStar: CFG-Zero* (text-to-image only): v = 0 at step 0,
	// afterwards v = α·v_U + s·(v_C − α·v_U), α = ⟨v_C, v_U⟩ / (‖v_U‖² + 1e−8).
	NormCFGZeroStar Norm = "cfg_zero_star"
)

var norms = []Norm{NormNone, NormGlobal, NormChannel, NormCFGZeroStar}

// ParseNorm returns the Norm named s (case-sensitive, as the reference's
// argparse choices), or an error listing the valid names. Whether the norm is
// available for a mode is checked by Guidance.Validate.
func ParseNorm(s string) (Norm, error) {
	for _, n := range norms {
		if string(n) == s {
			return n, nil
		}
	}
	return "", fmt.Errorf("sampler: cfg_norm %q is not one of %s", s, normNames())
}

// normNames lists the valid --cfg_norm values, comma-separated.
func normNames() string {
	names := make([]string, len(norms))
	for i, n := range norms {
		names[i] = string(n)
	}
	return strings.Join(names, ", ")
}

// Guidance holds the classifier-free guidance settings of a run and applies
// the reference's rules (PIPELINES.md 2.5, MODEL.md 3.13, quirks 10.3 and
// 10.4). Names: s = Scale (--cfg_scale), s_i = ImageScale
// (--img_cfg_scale), [lo, hi] = [IntervalLo, IntervalHi] (--cfg_interval),
// v_C, v_IC, v_U the velocities of the conditional, image-only and
// unconditional branches.
type Guidance struct {
	Mode Mode
	// Scale is s, the text guidance scale.
	Scale float64
	// ImageScale is s_i, the image guidance scale of Edit and Interleave;
	// ignored (not even validated) for TextToImage.
	ImageScale float64
	Norm       Norm
	// IntervalLo and IntervalHi bound the shifted timesteps at which
	// guidance applies; the bounds are inclusive for TextToImage and
	// exclusive for Edit and Interleave, where lo = 0 switches guidance on
	// at every step whatever hi is. The timestep is compared with the
	// bounds rounded to float32, as torch compares a float32 tensor with a
	// Python float.
	IntervalLo, IntervalHi float64
}

// DefaultGuidance returns the reference scripts' defaults for a mode: Scale 4,
// ImageScale 1 (image guidance off), Norm none, interval [0, 1].
func DefaultGuidance(m Mode) Guidance {
	return Guidance{Mode: m, Scale: 4, ImageScale: 1, Norm: NormNone, IntervalLo: 0, IntervalHi: 1}
}

// Validate checks the settings and reports every problem, each naming the
// setting, its value and what is accepted: a known Mode; finite scales;
// a known Norm, cfg_zero_star only for TextToImage (the reference's editing
// asserts none/global/channel; interleave has no such option); finite
// interval bounds with lo ≤ hi.
func (g Guidance) Validate() error {
	var errs []error
	add := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("guidance: "+format, args...))
	}
	finite := func(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

	switch g.Mode {
	case TextToImage, Edit, Interleave:
	default:
		add("mode %v, want TextToImage, Edit or Interleave", g.Mode)
	}
	if !finite(g.Scale) {
		add("cfg_scale %g, want a finite number", g.Scale)
	}
	if g.Mode != TextToImage && !finite(g.ImageScale) {
		add("img_cfg_scale %g, want a finite number", g.ImageScale)
	}
	if _, err := ParseNorm(string(g.Norm)); err != nil {
		add("cfg_norm %q is not one of %s", g.Norm, normNames())
	} else if g.Norm == NormCFGZeroStar && g.Mode != TextToImage {
		add("cfg_norm %q is available for text-to-image only; %v accepts none, global, channel", g.Norm, g.Mode)
	}
	if !finite(g.IntervalLo) || !finite(g.IntervalHi) {
		add("cfg_interval (%g, %g), want finite bounds", g.IntervalLo, g.IntervalHi)
	} else if g.IntervalLo > g.IntervalHi {
		add("cfg_interval (%g, %g), want lo ≤ hi", g.IntervalLo, g.IntervalHi)
	}
	return errors.Join(errs...)
}

// Active reports whether guidance applies at timestep t (use_cfg of the
// reference):
//
//	TextToImage:        float32(lo) ≤ t ≤ float32(hi) and Scale > 1
//	Edit, Interleave:   float32(lo) < t < float32(hi), or lo = 0 (exactly)
//
// For Edit and Interleave Active does not look at the scales: with
// s = s_i = 1 it can be true while Combine still returns v_C.
func (g Guidance) Active(t float32) bool {
	lo, hi := float32(g.IntervalLo), float32(g.IntervalHi)
	if g.Mode == TextToImage {
		return t >= lo && t <= hi && g.Scale > 1
	}
	return (t > lo && t < hi) || g.IntervalLo == 0
}

// Branches reports which velocities besides v_C the combination can ever use
// over a run, i.e. which extra branches the pipeline must be able to run:
//
//	TextToImage:        uncond iff s > 1
//	Edit, Interleave:   with needs = not (s = 1 and s_i = 1),
//	                    imageOnly iff needs and (s_i = 1 or s ≠ s_i),
//	                    uncond    iff needs and s_i ≠ 1
//
// For TextToImage and Edit these are also the prefixes the reference builds;
// Interleave builds all of them regardless (see Prefixes).
func (g Guidance) Branches() (imageOnly, uncond bool) {
	if g.Mode == TextToImage {
		return false, g.Scale > 1
	}
	needs := !(g.Scale == 1 && g.ImageScale == 1)
	return needs && (g.ImageScale == 1 || g.Scale != g.ImageScale), needs && g.ImageScale != 1
}

// Prefixes reports which extra prefix caches the reference builds: Branches
// for TextToImage and Edit; for Interleave always both (TU and IU), even if
// no velocity ever reads them (the TU cache also follows the conversation,
// receiving every generated picture). A pipeline that wants the reference's
// exact work builds these; one that wants to save work may build Branches.
func (g Guidance) Prefixes() (imageOnly, uncond bool) {
	if g.Mode == Interleave {
		return true, true
	}
	return g.Branches()
}

// Needs reports which velocities besides v_C Combine reads at step index
// step and timestep t, so a pipeline can skip the other branch passes:
// none when guidance is not active; for TextToImage with cfg_zero_star none
// at step 0 (the combination is v = 0 there, although the reference still
// runs the unconditional pass); otherwise what the combination table uses.
// v_C itself is always needed (it sets the result's shape).
func (g Guidance) Needs(step int, t float32) (imageOnly, uncond bool) {
	if !g.Active(t) {
		return false, false
	}
	if g.Mode == TextToImage {
		return false, !(g.Norm == NormCFGZeroStar && step <= 0)
	}
	switch {
	case g.Scale == 1 && g.ImageScale == 1:
		return false, false
	case g.ImageScale == 1:
		return true, false
	case g.Scale == g.ImageScale:
		return false, true
	}
	return true, true
}

// Combine returns the guided velocity v of step index step (0-based) at
// timestep t from the branch velocities vc (v_C), vi (v_IC) and vu (v_U),
// each [rows, F] in the z layout with rows = images·tokens (one image per
// group of `tokens` rows; the pipelines run one image, rows = tokens).
// Velocities that Needs does not report may be nil; a nil velocity the
// combination needs, a shape mismatch or invalid settings panic.
//
// TextToImage (t2i_generate):
//
//	not Active(t):           v = v_C
//	cfg_zero_star, step 0:   v = 0
//	cfg_zero_star:           v = α·v_U + s·(v_C − α·v_U) per image, with
//	                         α = ⟨v_C, v_U⟩ / (‖v_U‖² + 1e−8)
//	otherwise:               v = v_U + s·(v_C − v_U), then the norm rescale
//
// Edit and Interleave (it2i_generate, interleave_gen), first match:
//
//	not Active(t):           v = v_C
//	s = 1 and s_i = 1:       v = v_C
//	s_i = 1:                 v = v_IC + s·(v_C − v_IC)
//	s = s_i:                 v = v_U + s·(v_C − v_U)
//	otherwise:               v = v_U + s·(v_C − v_IC) + s_i·(v_IC − v_U)
//
// then the norm rescale if (s > 1 or s_i > 1) and Active(t) for Edit, or,
// reproducing the reference's operator precedence (PIPELINES.md 10.4),
// s > 1 or (s_i > 1 and Active(t)) for Interleave.
//
// Norm rescale relative to v_C: v ← v·clamp(‖v_C‖ / (‖v‖ + 1e−8), 0, 1), with
// one factor per image (global) or per token row (channel). The squared
// norms come from Backend.Dot (float64); the norms are rounded to float32 and
// the factor computed in float32 like the reference's float32 tensors. α of
// cfg_zero_star likewise: float32 dot product and squared norm (the reference
// up-casts to float32), float32 sum and quotient, then rounded to bf16 when
// the velocities are BF16 tensors (the reference casts α to the model dtype).
//
// Differences are formed first (one Combine) and scaled and summed after,
// as in the reference's expressions. The result is always a new tensor; the
// inputs are left unchanged and stay the caller's to free.
func (g Guidance) Combine(b tensor.Backend, step int, t float32, vc, vi, vu tensor.Tensor, tokens int) tensor.Tensor {
	if err := g.Validate(); err != nil {
		panic(fmt.Sprintf("sampler.Guidance.Combine: %v", err))
	}
	rows := checkVelocity("v_C", vc, tokens)
	images := rows / tokens
	active := g.Active(t)
	s := float32(g.Scale)

	if g.Mode == TextToImage {
		if !active {
			return clone(b, vc)
		}
		if g.Norm == NormCFGZeroStar && step <= 0 {
			return b.Zeros(vc.Shape()...)
		}
		need("v_U", vu, vc, "text-to-image guidance is active")
		if g.Norm == NormCFGZeroStar {
			return zeroStar(b, vc, vu, s, images)
		}
		return g.rescale(b, vc, towards(b, vu, vc, s), images, rows)
	}

	si := float32(g.ImageScale)
	var v tensor.Tensor
	switch {
	case !active, g.Scale == 1 && g.ImageScale == 1:
		v = clone(b, vc)
	case g.ImageScale == 1:
		need("v_IC", vi, vc, "img_cfg_scale = 1 and guidance is active")
		v = towards(b, vi, vc, s)
	case g.Scale == g.ImageScale:
		need("v_U", vu, vc, "cfg_scale = img_cfg_scale ≠ 1 and guidance is active")
		v = towards(b, vu, vc, s)
	default:
		need("v_IC", vi, vc, "cfg_scale ≠ img_cfg_scale, img_cfg_scale ≠ 1 and guidance is active")
		need("v_U", vu, vc, "cfg_scale ≠ img_cfg_scale, img_cfg_scale ≠ 1 and guidance is active")
		// v_U + s·(v_C − v_IC) + s_i·(v_IC − v_U), left to right.
		dText := b.Combine(tensor.Term{Coef: 1, X: vc}, tensor.Term{Coef: -1, X: vi})
		partial := addScaled(b, vu, dText, s)
		b.Free(dText)
		dImage := b.Combine(tensor.Term{Coef: 1, X: vi}, tensor.Term{Coef: -1, X: vu})
		v = addScaled(b, partial, dImage, si)
		b.Free(partial)
		b.Free(dImage)
	}
	var rescale bool
	if g.Mode == Edit {
		rescale = (g.Scale > 1 || g.ImageScale > 1) && active
	} else {
		rescale = g.Scale > 1 || (g.ImageScale > 1 && active)
	}
	if !rescale {
		return v
	}
	return g.rescale(b, vc, v, images, rows)
}

// towards returns base + s·(target − base), the difference formed first.
func towards(b tensor.Backend, base, target tensor.Tensor, s float32) tensor.Tensor {
	d := b.Combine(tensor.Term{Coef: 1, X: target}, tensor.Term{Coef: -1, X: base})
	v := addScaled(b, base, d, s)
	b.Free(d)
	return v
}

// addScaled returns x + s·y as torch evaluates it in the model dtype: s·y
// rounded, then the sum rounded (one rounding per op, as the reference's
// bf16 or float32 tensors get).
func addScaled(b tensor.Backend, x, y tensor.Tensor, s float32) tensor.Tensor {
	sy := b.ScaleGroups(y, []float32{s})
	out := b.Add(x, sy)
	b.Free(sy)
	return out
}

// clone returns a new tensor equal to x.
func clone(b tensor.Backend, x tensor.Tensor) tensor.Tensor {
	return b.Combine(tensor.Term{Coef: 1, X: x})
}

// rescale applies the global or channel norm rescale to v (which it
// consumes: v is freed unless it is returned) and leaves other norms alone.
func (g Guidance) rescale(b tensor.Backend, vc, v tensor.Tensor, images, rows int) tensor.Tensor {
	var groups int
	switch g.Norm {
	case NormGlobal:
		groups = images
	case NormChannel:
		groups = rows
	default:
		return v
	}
	cc := b.Dot(vc, vc, groups)
	vv := b.Dot(v, v, groups)
	factors := make([]float32, groups)
	allOne := true
	for i := range factors {
		factors[i] = rescaleFactor(cc[i], vv[i])
		allOne = allOne && factors[i] == 1
	}
	if allOne {
		return v // multiplying by 1 is exact
	}
	out := b.ScaleGroups(v, factors)
	b.Free(v)
	return out
}

// rescaleFactor returns clamp(‖v_C‖ / (‖v‖ + 1e−8), 0, 1) from the squared
// norms, in float32 as torch computes it on float32 norms (1e−8 is a Python
// float, rounded to float32). A NaN passes through, as torch.clamp lets it.
func rescaleFactor(sqC, sqV float64) float32 {
	nc := float32(math.Sqrt(sqC))
	nv := float32(math.Sqrt(sqV))
	f := nc / (nv + float32(1e-8))
	if f > 1 {
		f = 1
	} else if f < 0 {
		f = 0
	}
	return f
}

// zeroStar returns α·v_U + s·(v_C − α·v_U) with one α per image.
func zeroStar(b tensor.Backend, vc, vu tensor.Tensor, s float32, images int) tensor.Tensor {
	dots := b.Dot(vc, vu, images)
	sq := b.Dot(vu, vu, images)
	alpha := make([]float32, images)
	for i := range alpha {
		alpha[i] = zeroStarAlpha(dots[i], sq[i])
		if vc.DType() == tensor.BF16 {
			alpha[i] = roundBF16(alpha[i])
		}
	}
	a := b.ScaleGroups(vu, alpha)
	d := b.Combine(tensor.Term{Coef: 1, X: vc}, tensor.Term{Coef: -1, X: a})
	v := addScaled(b, a, d, s)
	b.Free(a)
	b.Free(d)
	return v
}

// zeroStarAlpha returns α = ⟨v_C, v_U⟩ / (‖v_U‖² + 1e−8) from the dot
// product and the squared norm, as optimized_scale computes it in float32.
func zeroStarAlpha(dot, sqU float64) float32 {
	return float32(dot) / (float32(sqU) + float32(1e-8))
}

// roundBF16 rounds a float32 to the nearest bfloat16 (ties to even), the
// value a torch .to(torch.bfloat16) gives.
func roundBF16(f float32) float32 {
	if f != f {
		return f
	}
	bits := math.Float32bits(f)
	bits += 0x7FFF + (bits>>16)&1
	return math.Float32frombits(bits &^ 0xFFFF)
}

// checkVelocity panics unless x is a non-nil [rows, F] tensor with rows a
// positive multiple of tokens, and returns rows.
func checkVelocity(name string, x tensor.Tensor, tokens int) int {
	if x == nil {
		panic(fmt.Sprintf("sampler.Guidance.Combine: %s is nil; the conditional velocity is always needed", name))
	}
	sh := x.Shape()
	if tokens < 1 || len(sh) != 2 || sh[0] < tokens || sh[0]%tokens != 0 {
		panic(fmt.Sprintf("sampler.Guidance.Combine: %s has shape %v, want [images·tokens, F] with tokens = %d", name, sh, tokens))
	}
	return sh[0]
}

// need panics unless x is present and shaped like vc.
func need(name string, x, vc tensor.Tensor, why string) {
	if x == nil {
		panic(fmt.Sprintf("sampler.Guidance.Combine: %s is nil but needed (%s)", name, why))
	}
	sameShape("sampler.Guidance.Combine", name, x, "v_C", vc)
}
