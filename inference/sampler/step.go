package sampler

import (
	"fmt"
	"slices"

	"github.com/sensenova/studio/inference/tensor"
)

// DefaultTEps is t_eps, the floor of the velocity divisor. The generate
// functions of the reference pass their own default 0.02 and overwrite the
// config.json value (PIPELINES.md 2.4), so the config's t_eps is not used.
const DefaultTEps = 0.02

// velocityDivisor returns max(1 − t, t_eps) as the reference computes
// (1 - t).clamp_min(t_eps) with t a 0-d float32 tensor and t_eps a Python
// float: 1 − t rounded to float32, t_eps rounded to float32, then the larger.
func velocityDivisor(t float32, tEps float64) float32 {
	d := 1 - t
	if e := float32(tEps); d < e {
		d = e
	}
	return d
}

// Velocity returns the flow velocity of a predicted clean image,
//
//	v = (x̂ − z) / max(1 − t, t_eps)
//
// for the head's prediction xhat and the current canvas z (same shape, z
// layout), at timestep t of the grid, t_eps normally DefaultTEps. The
// divisor is computed in float32 as the reference does (velocityDivisor);
// the difference x̂ − z is one Combine and the division is a ScaleGroups by
// float32(1/divisor), which can differ from the reference's division by one
// float32 ulp (exact when the divisor is a power of two, e.g. 1 at t = 0).
// The inputs are left unchanged; the result is a new tensor.
//
// tEps must be > 0 (else the divisor can reach 0 at t = 1): a call breaking
// that panics.
func Velocity(b tensor.Backend, xhat, z tensor.Tensor, t float32, tEps float64) tensor.Tensor {
	if !(tEps > 0) {
		panic(fmt.Sprintf("sampler.Velocity: t_eps %g, want > 0", tEps))
	}
	sameShape("sampler.Velocity", "x̂", xhat, "z", z)
	diff := b.Combine(tensor.Term{Coef: 1, X: xhat}, tensor.Term{Coef: -1, X: z})
	v := b.ScaleGroups(diff, []float32{1 / velocityDivisor(t, tEps)})
	b.Free(diff)
	return v
}

// Euler returns the canvas after one Euler step of the flow ODE,
//
//	z' = z + (tNext − t)·v
//
// from timestep t to tNext (note the order: the next timestep first). The
// step size tNext − t is rounded to float32 as the reference's 0-d tensor
// subtraction is; dt·v is rounded, then the sum, one rounding per op as in
// the reference (see addScaled). The inputs are left
// unchanged; the result is a new tensor.
func Euler(b tensor.Backend, z, v tensor.Tensor, tNext, t float32) tensor.Tensor {
	sameShape("sampler.Euler", "z", z, "v", v)
	return addScaled(b, z, v, tNext-t)
}

// sameShape panics unless a and b are non-nil and of one shape.
func sameShape(op, na string, a tensor.Tensor, nb string, b tensor.Tensor) {
	if a == nil || b == nil {
		panic(fmt.Sprintf("%s: %s or %s is nil", op, na, nb))
	}
	if !slices.Equal(a.Shape(), b.Shape()) {
		panic(fmt.Sprintf("%s: %s has shape %v, %s has shape %v, want equal", op, na, a.Shape(), nb, b.Shape()))
	}
}
