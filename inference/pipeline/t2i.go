package pipeline

import (
	"context"
	"fmt"

	"github.com/sensenova/studio/inference/prompt"
	"github.com/sensenova/studio/inference/sampler"
)

// TextToImageRequest is one text-to-image call (PIPELINES.md 3).
type TextToImageRequest struct {
	Prompt string
	// Think lets the model reason (greedy, at most MaxThinkTokens tokens)
	// before it draws.
	Think bool
	ImageSettings
}

// Result is what a picture-making task returns.
type Result struct {
	// Canvases are the pictures in model space, [3, Height, Width] each.
	Canvases      [][]float32
	Width, Height int
	// ThinkIDs are the reasoning tokens (think mode), ThinkText their
	// decoding with special tokens kept (it normally ends with </think>).
	ThinkIDs  []int
	ThinkText string
}

// TextToImage makes Batch pictures from a prompt.
func (e *Engine) TextToImage(ctx context.Context, req TextToImageRequest, progress Progress) (_ *Result, err error) {
	defer recoverDeviceFailure(&err)
	s := req.ImageSettings
	if err := s.normalise(sampler.TextToImage); err != nil {
		return nil, err
	}
	cond, err := e.prefill(ctx, prompt.TextToImage(req.Prompt, req.Think), nil, req.Think)
	if err != nil {
		return nil, err
	}
	defer cond.cache.Free()
	res := &Result{Width: s.Width, Height: s.Height}
	if err := e.thinkFirst(ctx, cond, req.Think, res, progress); err != nil {
		return nil, err
	}
	br := guidanceBranches{cond: cond.cache}
	if _, uncond := s.Guidance.Branches(); uncond {
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

// TextToImageTokens is TextToImage without thinking from prompts already
// tokenized: cond is the conditional prompt and uncond the unconditional
// one (used when the guidance needs it), each ending with <img>, with no
// pictures in them. The benchmark drives the pipeline this way with prompts
// of a chosen length.
func (e *Engine) TextToImageTokens(ctx context.Context, cond, uncond []int, s ImageSettings, progress Progress) (_ *Result, err error) {
	defer recoverDeviceFailure(&err)
	if err := s.normalise(sampler.TextToImage); err != nil {
		return nil, err
	}
	for _, ids := range [][]int{cond, uncond} {
		if len(ids) == 0 || ids[len(ids)-1] != e.IDs.ImgStart {
			return nil, fmt.Errorf("a pre-tokenized prompt of %d ids does not end with <img> (id %d)", len(ids), e.IDs.ImgStart)
		}
	}
	c, err := e.prefillIDs(ctx, e.IDs, cond, nil, false)
	if err != nil {
		return nil, err
	}
	defer c.cache.Free()
	br := guidanceBranches{cond: c.cache}
	if _, needUncond := s.Guidance.Branches(); needUncond {
		u, err := e.prefillIDs(ctx, e.IDs, uncond, nil, false)
		if err != nil {
			return nil, err
		}
		defer u.cache.Free()
		br.uncond = u.cache
	}
	res := &Result{Width: s.Width, Height: s.Height}
	if err := e.makePictures(ctx, &s, br, res, progress); err != nil {
		return nil, err
	}
	return res, nil
}

// makePictures denoises Batch pictures with the same branches, each from its
// own slice of one noise draw.
func (e *Engine) makePictures(ctx context.Context, s *ImageSettings, br guidanceBranches, res *Result, progress Progress) error {
	src := sampler.NewNoiseSource(s.Seed)
	for k := 0; k < s.Batch; k++ {
		canvas, err := e.denoise(ctx, s, br, unitNoise(s, k, src), k, progress)
		if err != nil {
			return fmt.Errorf("picture %d: %w", k+1, err)
		}
		res.Canvases = append(res.Canvases, canvas)
		progress.emit(Event{Kind: EventPicture, Picture: k, Canvas: canvas, Width: s.Width, Height: s.Height})
	}
	return nil
}

// thinkFirst runs the reasoning loop on the conditional branch when asked
// and records the reasoning in res.
func (e *Engine) thinkFirst(ctx context.Context, cond *branch, think bool, res *Result, progress Progress) error {
	if !think {
		return nil
	}
	ids, err := e.think(ctx, cond, MaxThinkTokens, progress)
	if err != nil {
		return err
	}
	res.ThinkIDs, res.ThinkText = ids, e.Tokenizer.Decode(ids, false)
	return nil
}

// unconditional builds the unconditional guidance branch (no picture, no
// text), the same for every task.
func (e *Engine) unconditional(ctx context.Context) (*branch, error) {
	return e.prefill(ctx, prompt.Unconditional(), nil, false)
}
