package pipeline

import (
	"context"
	"fmt"

	"github.com/sensenova/studio/inference/imageproc"
	"github.com/sensenova/studio/inference/model"
	"github.com/sensenova/studio/inference/prompt"
	"github.com/sensenova/studio/inference/sampler"
	"github.com/sensenova/studio/inference/tensor"
)

// ImageSettings are the sampler settings shared by every picture-making
// task (PIPELINES.md section 2).
type ImageSettings struct {
	// Width and Height of the picture in pixels, multiples of 32.
	Width, Height int
	// Steps is the number of Euler steps (--num_steps).
	Steps int
	// Shift is the timestep shift (--timestep_shift).
	Shift float64
	// TEps floors 1 − t in the velocity (--t_eps; 0 means the default 0.02).
	TEps float64
	// Guidance holds the scales, norm and interval; its Mode is set by the
	// task.
	Guidance sampler.Guidance
	// Seed seeds the Go noise generator when Noise is nil.
	Seed int64
	// Noise, when set, replaces the random draw: unit normal values of all
	// the pictures of the call, [Batch, 3, Height, Width] (the parity path).
	Noise []float32
	// Batch is the number of pictures made from one prompt (≥ 1).
	Batch int
	// Previews asks for EventStep events to carry the current estimate of
	// the clean picture.
	Previews bool
}

func (s *ImageSettings) normalise(mode sampler.Mode) error {
	if s.Batch == 0 {
		s.Batch = 1
	}
	if s.TEps == 0 {
		s.TEps = sampler.DefaultTEps
	}
	s.Guidance.Mode = mode
	if s.Guidance.Norm == "" {
		s.Guidance.Norm = sampler.NormNone
	}
	if err := CheckSize(s.Width, s.Height); err != nil {
		return err
	}
	switch {
	case s.Steps < 1:
		return fmt.Errorf("num_steps %d: want at least 1", s.Steps)
	case s.Batch < 1:
		return fmt.Errorf("batch_size %d: want at least 1", s.Batch)
	case !(s.TEps > 0 && s.TEps < 1):
		return fmt.Errorf("t_eps %v: want a value in (0, 1)", s.TEps)
	}
	if _, err := sampler.TimeGrid(s.Steps, s.Shift); err != nil {
		return err
	}
	if err := s.Guidance.Validate(); err != nil {
		return err
	}
	if s.Noise != nil && len(s.Noise) != s.Batch*3*s.Width*s.Height {
		return fmt.Errorf("the given noise has %d values, want %d ([%d, 3, %d, %d])", len(s.Noise), s.Batch*3*s.Width*s.Height, s.Batch, s.Height, s.Width)
	}
	return nil
}

// MaxPictureSide bounds a generated picture's side (pixels); the trained
// buckets stop at 3456.
const MaxPictureSide = 8192

// CheckSize reports a generated-picture size the model cannot make, naming
// the nearest valid sizes.
func CheckSize(w, h int) error {
	const f = imageproc.Factor
	for _, c := range []struct {
		name string
		v    int
	}{{"width", w}, {"height", h}} {
		if c.v < f || c.v > MaxPictureSide {
			return fmt.Errorf("%s %d: want %d to %d pixels", c.name, c.v, f, MaxPictureSide)
		}
		if c.v%f != 0 {
			lo := c.v / f * f
			return fmt.Errorf("%s %d is not a multiple of %d: the nearest valid values are %d and %d", c.name, c.v, f, lo, lo+f)
		}
	}
	return nil
}

// guidanceBranches are the prefix caches a picture is guided with; nil
// entries are not built.
type guidanceBranches struct {
	cond, imageOnly, uncond *model.Cache
}

// denoise makes one picture: from unit noise, Steps Euler steps of the flow,
// each running the generation expert once per branch the guidance needs.
// It returns the final canvas [3, H, W] in model space.
func (e *Engine) denoise(ctx context.Context, s *ImageSettings, br guidanceBranches, unitNoise []float32, picture int, progress Progress) ([]float32, error) {
	b, m := e.Model.Backend(), e.Model
	w, h := s.Width, s.Height
	th, tw := h/imageproc.Factor, w/imageproc.Factor
	tokens := th * tw
	grid := prompt.TokenGrid{Rows: th, Cols: tw}
	cfg := m.Config
	sigma := sampler.NoiseScale(cfg.NoiseScale, cfg.NoiseScaleMode, cfg.NoiseScaleBaseImageSeqLen, cfg.NoiseScaleMaxValue, tokens)
	times, err := sampler.TimeGrid(s.Steps, s.Shift)
	if err != nil {
		return nil, err
	}

	x := make([]float32, len(unitNoise))
	for i, v := range unitNoise {
		x[i] = float32(sigma) * v
	}
	zHost, err := imageproc.Patchify32(x, h, w)
	if err != nil {
		return nil, err
	}
	z := b.FromFloat32(zHost, tokens, len(zHost)/tokens)
	positions := func(c *model.Cache) prompt.Positions { return prompt.ImageAt(c.LastT()+1, grid) }

	for step := 0; step < s.Steps; step++ {
		if err := ctx.Err(); err != nil {
			b.Free(z)
			return nil, err
		}
		t, tNext := times[step], times[step+1]
		canvas := b.PatchesToImage(z, 3, h, w, imageproc.Factor, true)
		p16 := b.ImageToPatches(canvas, imageproc.PatchSize, false)
		b.Free(canvas)
		emb, err := m.EmbedCanvas(p16, model.Grid{Rows: 2 * th, Cols: 2 * tw})
		b.Free(p16)
		if err != nil {
			return nil, err
		}
		temb := m.TimeEmbedding(t, sigma)
		in := b.AddRow(emb, b.Reshape(temb, m.Dims.Hidden))
		b.Free(emb)
		b.Free(temb)

		velocity := func(c *model.Cache, name string) (tensor.Tensor, error) {
			hid, err := m.Denoise(c, in, positions(c))
			if err != nil {
				return nil, err
			}
			xhat, err := m.Predict(hid, th, tw)
			b.Free(hid)
			if err != nil {
				return nil, err
			}
			v := sampler.Velocity(b, xhat, z, t, s.TEps)
			b.Free(xhat)
			if e.observeVelocity != nil {
				e.observeVelocity(picture, step, name, b.Float32(v))
			}
			return v, nil
		}
		needImage, needUncond := s.Guidance.Needs(step, t)
		vc, err := velocity(br.cond, "cond")
		var vi, vu tensor.Tensor
		if err == nil && needImage {
			vi, err = velocity(br.imageOnly, "image")
		}
		if err == nil && needUncond {
			vu, err = velocity(br.uncond, "uncond")
		}
		b.Free(in)
		if err != nil {
			return nil, err
		}
		v := s.Guidance.Combine(b, step, t, vc, vi, vu, tokens)
		for _, bv := range []tensor.Tensor{vc, vi, vu} {
			if bv != nil {
				b.Free(bv)
			}
		}
		ev := Event{Kind: EventStep, Picture: picture, Step: step + 1, Steps: s.Steps, Width: w, Height: h}
		if s.Previews {
			// The clean-picture estimate at this step: z + (1 − t)·v.
			est := b.Combine(tensor.Term{Coef: 1, X: z}, tensor.Term{Coef: 1 - t, X: v})
			ev.Canvas, err = imageproc.Unpatchify32(b.Float32(est), h, w)
			b.Free(est)
			if err != nil {
				return nil, err
			}
		}
		next := sampler.Euler(b, z, v, tNext, t)
		b.Free(v)
		b.Free(z)
		z = next
		progress.emit(ev)
	}
	out, err := imageproc.Unpatchify32(b.Float32(z), h, w)
	b.Free(z)
	return out, err
}

// unitNoise returns the unit normal draw of picture k of a call: a slice of
// the given noise, or the next values of the call's generator.
func unitNoise(s *ImageSettings, k int, src *sampler.NoiseSource) []float32 {
	n := 3 * s.Width * s.Height
	if s.Noise != nil {
		return s.Noise[k*n : (k+1)*n]
	}
	return src.Next(n)
}
