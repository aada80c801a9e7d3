package sampler

import (
	"fmt"
	"math"
)

// TimeGrid returns the N + 1 timesteps t_0 … t_N of an N-step run with
// timestep shift s (PIPELINES.md 2.2, MODEL.md 3.13), float32 values exactly
// as the reference's float32 CPU run computes them:
//
//  1. u = torch.linspace(0, 1, N + 1) in float32. The CPU kernel computes
//     step = float32(1) / float32(N) and, with halfway = (N + 1) / 2
//     (integer division),
//     u_i = 0 + step·i             for i < halfway,
//     u_i = 1 − step·(N − i)       for i ≥ halfway,
//     each product and sum rounded to float32. So u_0 = 0 and u_N = 1
//     exactly, and a value may be one ulp away from float32(i/N)
//     (N = 50, i = 10 gives 0.19999999). The CUDA kernel uses the same
//     formula.
//  2. σ = 1 − u; σ' = s·σ / (1 + (s − 1)·σ); t = 1 − σ', one float32
//     rounding per torch op: s·σ is float32(s)·σ, and (s − 1) is computed
//     in float64 (a Python float) and then rounded to float32.
//
// In real arithmetic t_i = u_i / (u_i + s·(1 − u_i)): t = 0 is pure noise,
// t = 1 the clean image, and s > 1 spends more steps near the noisy end.
// The formula is always evaluated, even for s = 1 (an identity only up to the
// rounding of 1 − (1 − u)). t_N = 1 exactly for every s; t_0 = 0 exactly for
// the shifts in use (every integer and half-integer shift, 3.0 included),
// but the literal float32 evaluation leaves it one or two ulps of 1 away from
// 0 for some shifts (s = 2.002 gives −1.2e−7), as in the reference.
//
// Errors: numSteps < 1; shift not a finite number > 0 (or beyond float32
// range).
func TimeGrid(numSteps int, shift float64) ([]float32, error) {
	if numSteps < 1 {
		return nil, fmt.Errorf("sampler: time grid with %d steps, want at least 1", numSteps)
	}
	if !(shift > 0) || shift > math.MaxFloat32 {
		return nil, fmt.Errorf("sampler: timestep shift %g, want a finite number > 0", shift)
	}
	points := numSteps + 1
	step := float32(1) / float32(numSteps)
	halfway := points / 2
	s := float32(shift)
	sMinus1 := float32(shift - 1)

	t := make([]float32, points)
	for i := range t {
		var u float32
		if i < halfway {
			u = 0 + float32(step*float32(i))
		} else {
			u = 1 - float32(step*float32(points-1-i))
		}
		sigma := 1 - u
		num := float32(s * sigma)
		den := 1 + float32(sMinus1*sigma)
		shifted := float32(num / den)
		t[i] = 1 - shifted
	}
	return t, nil
}
