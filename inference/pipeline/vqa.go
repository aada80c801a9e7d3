package pipeline

import (
	"context"
	"fmt"
	"strings"

	"github.com/sensenova/studio/inference/prompt"
)

// VQARequest is one question about a picture (PIPELINES.md 6).
type VQARequest struct {
	Question string
	// Picture may be nil for a text-only question.
	Picture      *Picture
	MaxNewTokens int
	Sampling     TextSampling
}

// VQAResult is the answer.
type VQAResult struct {
	// Answer is the decoded answer: special tokens skipped, cut at the
	// first <|im_end|>, surrounding white space removed.
	Answer string
	// IDs are the generated ids, the final <|im_end|> included when the
	// model stopped by itself.
	IDs []int
}

// VQA answers a question about a picture. The picture is resized with
// smart_resize (256² to 2048² pixels) and normalised in float32; decoding is
// greedy unless Sampling says otherwise, until <|im_end|> or MaxNewTokens.
func (e *Engine) VQA(ctx context.Context, req VQARequest, progress Progress) (_ *VQAResult, err error) {
	defer recoverDeviceFailure(&err)
	if req.MaxNewTokens < 1 {
		return nil, fmt.Errorf("max_new_tokens %d: want at least 1", req.MaxNewTokens)
	}
	if err := req.Sampling.Validate(); err != nil {
		return nil, err
	}
	var pics []contextPicture
	if req.Picture != nil {
		var err error
		if pics, err = e.encodePictures(ctx, []Picture{*req.Picture}, vqaBudget(), false); err != nil {
			return nil, err
		}
		defer e.Model.Backend().Free(pics[0].tokens)
	} else if strings.Contains(req.Question, prompt.ImagePlaceholder) {
		return nil, fmt.Errorf("the question has a %s placeholder but no picture was given", prompt.ImagePlaceholder)
	}
	query, err := prompt.VQA(req.Question, req.Picture != nil)
	if err != nil {
		return nil, err
	}
	br, err := e.prefill(ctx, query, pics, true)
	if err != nil {
		return nil, err
	}
	defer br.cache.Free()
	pick := newPicker(req.Sampling)
	stream := e.newTextStream(true, progress)
	defer stream.flush()
	var ids []int
	logits := br.logits
	for len(ids) < req.MaxNewTokens {
		e.chose(logits)
		next := pick.pick(logits, ids)
		ids = append(ids, next)
		if next == e.IDs.ImEnd {
			break
		}
		stream.push(next)
		if len(ids) == req.MaxNewTokens {
			break
		}
		if logits, err = e.feed(ctx, br, next); err != nil {
			return nil, err
		}
	}
	return &VQAResult{Answer: e.answer(ids), IDs: ids}, nil
}
