package pipeline

import (
	"context"
	"fmt"
	"strings"

	"github.com/sensenova/studio/inference/prompt"
	"github.com/sensenova/studio/inference/sampler"
)

// MaxEditPictures bounds the pictures of one editing call: with more, each
// would be resized below the model's minimum of 512² pixels to fit the
// 4096² budget (the budget is split between them).
const MaxEditPictures = 64

// EditRequest is one editing call (it2i_generate): an instruction, one or
// more pictures, and the output size (Width, Height; see EditOutputSize).
type EditRequest struct {
	Prompt   string
	Pictures []Picture
	Think    bool
	ImageSettings
}

// Edit makes Batch pictures from an instruction and the input pictures
// (PIPELINES.md 4.3): the pictures enter the context through the
// understanding embedder (resized with smart_resize to 512²…min(2048²,
// 4096²/n) pixels, normalised and rounded to bf16); guidance uses the full
// context, the pictures alone and/or nothing, per img_cfg_scale.
func (e *Engine) Edit(ctx context.Context, req EditRequest, progress Progress) (_ *Result, err error) {
	defer recoverDeviceFailure(&err)
	s := req.ImageSettings
	if err := s.normalise(sampler.Edit); err != nil {
		return nil, err
	}
	n := len(req.Pictures)
	if n == 0 {
		return nil, fmt.Errorf("editing needs at least one picture")
	}
	if n > MaxEditPictures {
		return nil, fmt.Errorf("%d pictures: at most %d can be edited together", n, MaxEditPictures)
	}
	if k := strings.Count(req.Prompt, prompt.ImagePlaceholder); k > n {
		return nil, fmt.Errorf("the instruction has %d %s placeholders but only %d picture(s) were given", k, prompt.ImagePlaceholder, n)
	}
	pics, err := e.encodePictures(ctx, req.Pictures, contextBudget(n), true)
	if err != nil {
		return nil, err
	}
	b := e.Model.Backend()
	defer func() {
		for _, p := range pics {
			b.Free(p.tokens)
		}
	}()
	query, err := prompt.Edit(req.Prompt, n, req.Think)
	if err != nil {
		return nil, err
	}
	sp := e.editPositionIDs()
	cond, err := e.prefillWith(ctx, sp, query, pics, req.Think)
	if err != nil {
		return nil, err
	}
	defer cond.cache.Free()
	res := &Result{Width: s.Width, Height: s.Height}
	if err := e.thinkFirst(ctx, cond, req.Think, res, progress); err != nil {
		return nil, err
	}
	br := guidanceBranches{cond: cond.cache}
	imageOnly, uncond := s.Guidance.Prefixes()
	if imageOnly {
		ic, err := e.prefillWith(ctx, sp, prompt.ImagesOnly(n), pics, false)
		if err != nil {
			return nil, err
		}
		defer ic.cache.Free()
		br.imageOnly = ic.cache
	}
	if uncond {
		u, err := e.unconditional(ctx)
		if err != nil {
			return nil, err
		}
		defer u.cache.Free()
		br.uncond = u.cache
	}
	if err := e.makePictures(ctx, &s, br, res, progress); err != nil {
		return nil, err
	}
	return res, nil
}
