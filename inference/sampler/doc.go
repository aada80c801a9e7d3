// Package sampler owns the arithmetic of the flow-matching sampler of
// PIPELINES.md section 2 and MODEL.md 3.13, everything between two model
// calls:
//
//   - the time grid: TimeGrid (t = 0 is pure noise, t = 1 is the clean
//     image), the reference's float32 torch.linspace followed by the shift
//     σ' = s·σ / (1 + (s − 1)·σ) evaluated op by op in float32;
//   - the initial noise: NoiseScale (the resolution-dependent factor σ_n, in
//     float64 like the reference's Python floats), and a deterministic
//     standard-normal draw, GaussianNoise / NoiseSource;
//   - one Euler step: Velocity, v = (x̂ − z) / max(1 − t, t_eps), and Euler,
//     z ← z + (t⁺ − t)·v;
//   - classifier-free guidance: Guidance, which says which extra prefix
//     caches and branch velocities a pipeline needs (text-to-image, editing,
//     interleave, each with the reference's own interval rule) and combines
//     the branch velocities with the reference's table, the "global" /
//     "channel" rescale and CFG-Zero*.
//
// Tensors are in the z layout of the flow-matching head: one row per image
// token, F = 3·(2P)² values per row ((2P)×(2P) pixels, channel last; 3072 for
// the real model's 32-px tokens), rows of one image contiguous. The
// pipelines run one image at a time, so a tensor holds `tokens` rows; a batch
// would be images·tokens rows.
//
// Precision follows the float32 CPU reference (torch, float32 tensors,
// Python-float scalars): every scalar that torch computes on 0-d float32
// tensors (timesteps, step sizes, the velocity divisor, norms, the rescale
// factor, α) is computed here in float32, one rounding per torch op, with
// explicit float32 conversions so that Go never fuses a multiply-add. Tensor
// arithmetic goes through tensor.Backend.Combine and ScaleGroups, split at
// the same places as the reference's expressions (a difference first, then
// the scaled sum); the CPU backend sums each Combine in float64 and rounds
// once, so every tensor op stays within one float32 rounding of the
// reference's. Sums of squares and dot products
// use Backend.Dot (float64 accumulation), slightly more accurate than
// torch's float32 reductions.
//
// The package must not call the model, build prompts or caches, or read
// checkpoints: the pipelines call the network for each branch and hand the
// velocities here. It keeps no state between steps except the noise
// generator a caller owns. It never prints. Invalid user-facing settings
// (step count, shift, guidance parameters) are errors; tensors of the wrong
// shape and missing branch velocities are programming errors and panic with
// a message naming the function and the shapes.
package sampler
