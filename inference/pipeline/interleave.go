package pipeline

import (
	"context"
	"fmt"
	"strings"

	"github.com/sensenova/studio/inference/imageproc"
	"github.com/sensenova/studio/inference/prompt"
	"github.com/sensenova/studio/inference/safetensors"
	"github.com/sensenova/studio/inference/sampler"
)

// MaxInterleavePictures is the reference's hard limit on pictures in one
// interleaved answer; the next <img> ends the answer.
const MaxInterleavePictures = 10

// DefaultInterleaveTokens is the reference's max_new_tokens for the text of
// an interleaved answer.
const DefaultInterleaveTokens = 8192

// InterleaveRequest is one storyboard call (PIPELINES.md 5).
type InterleaveRequest struct {
	Prompt        string
	SystemMessage string
	Think         bool
	Pictures      []Picture
	// MaxNewTokens bounds the text tokens of the answer (0: 8192).
	MaxNewTokens int
	// NoiseFor, when set, gives the unit noise of picture k (0-based) of
	// the answer (the parity path); otherwise picture k takes the k-th
	// draw of one generator seeded with Seed.
	NoiseFor func(k int) ([]float32, error)
	// ImageSettings: every picture of the answer has Width×Height (with
	// input pictures, use InterleaveSize of the first one); Batch must be 1.
	ImageSettings
}

// InterleaveResult is an interleaved answer.
type InterleaveResult struct {
	// Text is the answer with "<image>" where each picture goes.
	Text string
	// Chunks are the ids of each run of text (one more run than pictures,
	// the last possibly empty).
	Chunks        [][]int
	Canvases      [][]float32
	Width, Height int
}

// Interleave writes an answer of text and pictures: the model writes text
// greedily until it emits <img> (a picture is made, with the running
// context, the pictures-only branch and the unconditional branch as
// guidance, then fed back into the context) or <|im_end|> (the end).
func (e *Engine) Interleave(ctx context.Context, req InterleaveRequest, progress Progress) (_ *InterleaveResult, err error) {
	defer recoverDeviceFailure(&err)
	s := req.ImageSettings
	if s.Batch > 1 {
		return nil, fmt.Errorf("interleave makes one picture at a time (batch_size %d)", s.Batch)
	}
	if s.Noise != nil {
		return nil, fmt.Errorf("interleave takes its noise through NoiseFor")
	}
	if err := s.normalise(sampler.Interleave); err != nil {
		return nil, err
	}
	maxTokens := req.MaxNewTokens
	if maxTokens == 0 {
		maxTokens = DefaultInterleaveTokens
	}
	if maxTokens < 1 {
		return nil, fmt.Errorf("max_new_tokens %d: want at least 1", maxTokens)
	}
	n := len(req.Pictures)
	if k := strings.Count(req.Prompt, prompt.ImagePlaceholder); k > n {
		return nil, fmt.Errorf("the prompt has %d %s placeholders but only %d picture(s) were given", k, prompt.ImagePlaceholder, n)
	}
	b := e.Model.Backend()
	pics, err := e.encodePictures(ctx, req.Pictures, contextBudget(max(1, n)), true)
	if err != nil {
		return nil, err
	}
	defer func() {
		for _, p := range pics {
			b.Free(p.tokens)
		}
	}()
	query, err := prompt.Interleave(req.SystemMessage, req.Prompt, n, req.Think)
	if err != nil {
		return nil, err
	}
	cond, err := e.prefill(ctx, query, pics, true)
	if err != nil {
		return nil, err
	}
	defer cond.cache.Free()
	tu, err := e.prefill(ctx, prompt.InterleaveTextUncond(n), pics, false)
	if err != nil {
		return nil, err
	}
	defer tu.cache.Free()
	iu, err := e.unconditional(ctx)
	if err != nil {
		return nil, err
	}
	defer iu.cache.Free()

	res := &InterleaveResult{Width: s.Width, Height: s.Height}
	var text strings.Builder
	src := sampler.NewNoiseSource(s.Seed)
	logits := cond.logits
	next := argmax(logits)
	produced := 0
	for {
		// Text phase: greedy on the running context until <img>,
		// <|im_end|> or the token budget.
		var chunk []int
		stream := e.newTextStream(true, progress)
		for next != e.IDs.ImEnd && next != e.IDs.ImgStart && produced < maxTokens {
			chunk = append(chunk, next)
			produced++
			stream.push(next)
			if logits, err = e.feed(ctx, cond, next); err != nil {
				return nil, err
			}
			next = argmax(logits)
		}
		stream.flush()
		if chunk == nil {
			chunk = []int{}
		}
		res.Chunks = append(res.Chunks, chunk)
		text.WriteString(e.Tokenizer.Decode(chunk, true))
		if next != e.IDs.ImgStart || produced >= maxTokens || len(res.Canvases) == MaxInterleavePictures {
			break
		}
		// Picture phase.
		k := len(res.Canvases)
		text.WriteString(prompt.ImagePlaceholder)
		if _, err := e.feed(ctx, cond, e.IDs.ImgStart); err != nil {
			return nil, err
		}
		if _, err := e.feed(ctx, tu, e.IDs.ImgStart); err != nil {
			return nil, err
		}
		var noise []float32
		if req.NoiseFor != nil {
			if noise, err = req.NoiseFor(k); err != nil {
				return nil, err
			}
			if len(noise) != 3*s.Width*s.Height {
				return nil, fmt.Errorf("picture %d: the given noise has %d values, want %d", k+1, len(noise), 3*s.Width*s.Height)
			}
		} else {
			noise = src.Next(3 * s.Width * s.Height)
		}
		canvas, err := e.denoise(ctx, &s, guidanceBranches{cond: cond.cache, imageOnly: tu.cache, uncond: iu.cache}, noise, k, progress)
		if err != nil {
			return nil, fmt.Errorf("picture %d: %w", k+1, err)
		}
		res.Canvases = append(res.Canvases, canvas)
		progress.emit(Event{Kind: EventPicture, Picture: k, Canvas: canvas, Width: s.Width, Height: s.Height})
		// Feed the picture back into the running context and the
		// pictures-only branch.
		if logits, err = e.appendPicture(ctx, cond, canvas, s.Height, s.Width); err != nil {
			return nil, err
		}
		if _, err := e.appendPicture(ctx, tu, canvas, s.Height, s.Width); err != nil {
			return nil, err
		}
		next = argmax(logits)
	}
	res.Text = text.String()
	return res, nil
}

// bf16 ImageNet constants of the reference's re-encode (PIPELINES.md 5.5).
var (
	reencodeMean = [3]float32{0.484375, 0.455078125, 0.40625}
	reencodeStd  = [3]float32{0.228515625, 0.2236328125, 0.224609375}
)

// reencode maps a finished canvas to the understanding embedder's input the
// way the reference does, in bf16 arithmetic: u = canvas·0.5 + 0.5 (no clamp,
// no 8-bit rounding), then (u − mean) / std, every operation rounded to bf16.
func reencode(canvas []float32, h, w int) []float32 {
	r := safetensors.RoundBF16
	out := make([]float32, len(canvas))
	plane := h * w
	for i, v := range canvas {
		c := i / plane
		u := r(r(r(v)*0.5) + 0.5)
		out[i] = r(r(u-reencodeMean[c]) / reencodeStd[c])
	}
	return out
}

// appendPicture appends a generated picture to a branch permanently: its
// understanding tokens at t = last t + 1 with their grid positions, then
// </img> at last t + 2 (MODEL.md 3.3, 5.5). It returns the scores after
// </img>.
func (e *Engine) appendPicture(ctx context.Context, br *branch, canvas []float32, h, w int) ([]float32, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b, m := e.Model.Backend(), e.Model
	pic, err := e.embedPicture(reencode(canvas, h, w), h, w)
	if err != nil {
		return nil, err
	}
	defer b.Free(pic.tokens)
	end, err := m.EmbedTokens([]int{e.IDs.ImgEnd})
	if err != nil {
		return nil, err
	}
	defer b.Free(end)
	n := pic.grid.Tokens()
	x := b.Zeros(n+1, m.Dims.Hidden)
	defer b.Free(x)
	b.CopyRows(x, 0, pic.tokens)
	b.CopyRows(x, n, end)
	hid, err := m.Prefill(br.cache, x, prompt.AppendedImage(br.cache.LastT(), pic.grid))
	if err != nil {
		return nil, err
	}
	defer b.Free(hid)
	return m.Logits(hid), nil
}

// InterleaveSize is the picture size of an interleaved answer with input
// pictures: smart_resize of the first picture's original size with the
// interleave script's budget (512² to 2048²·4/8 pixels).
func InterleaveSize(first Picture) (w, h int, err error) {
	if first.Image == nil {
		return 0, 0, fmt.Errorf("picture is empty")
	}
	h, w, err = imageproc.InterleaveOutputSize(first.Image.Rect.Dy(), first.Image.Rect.Dx())
	return w, h, err
}
