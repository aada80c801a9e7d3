package pipeline

import (
	"context"
	"fmt"
	"image"

	"github.com/sensenova/studio/inference/imageproc"
	"github.com/sensenova/studio/inference/model"
	"github.com/sensenova/studio/inference/prompt"
	"github.com/sensenova/studio/inference/safetensors"
)

// Picture is an input picture of an editing, interleave or VQA task: an
// opaque RGB image (alpha already handled the way the task's script does).
type Picture struct {
	Image *image.NRGBA
	// Resized says Image already has its final size (the parity path that
	// feeds the reference's resized pixels): it is used as it is, and must
	// be a multiple of 32 pixels each way.
	Resized bool
}

// pixelBudget is the smart_resize range a task applies to its pictures.
type pixelBudget struct{ min, max int }

// budgets of PIPELINES.md 1.6.
func vqaBudget() pixelBudget { return pixelBudget{imageproc.VQAMinPixels, imageproc.VQAMaxPixels} }
func contextBudget(n int) pixelBudget {
	return pixelBudget{imageproc.ContextMinPixels, imageproc.ContextMaxPixels(n)}
}

// resize brings a picture to its model size: smart_resize with factor 32
// and the budget, Pillow's bicubic resampling.
func resize(p Picture, budget pixelBudget) (*image.NRGBA, error) {
	img := p.Image
	if img == nil {
		return nil, fmt.Errorf("picture is empty")
	}
	w, h := img.Rect.Dx(), img.Rect.Dy()
	if p.Resized {
		if w%imageproc.Factor != 0 || h%imageproc.Factor != 0 || w == 0 || h == 0 {
			return nil, fmt.Errorf("a resized picture of %dx%d is not a multiple of %d pixels each way", w, h, imageproc.Factor)
		}
		return img, nil
	}
	nh, nw, err := imageproc.SmartResize(h, w, imageproc.Factor, budget.min, budget.max)
	if err != nil {
		return nil, err
	}
	return imageproc.Resize(img, nw, nh, imageproc.Bicubic)
}

// encodePictures resizes, normalises (ImageNet) and embeds pictures with the
// understanding patch embedder. roundBF16 rounds the normalised values to
// bfloat16 first, as the editing and interleave paths of the reference do
// (they cast the pixels to bf16 whatever the model's precision).
func (e *Engine) encodePictures(ctx context.Context, pics []Picture, budget pixelBudget, roundBF16 bool) ([]contextPicture, error) {
	out := make([]contextPicture, 0, len(pics))
	for i, p := range pics {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		img, err := resize(p, budget)
		if err != nil {
			return nil, fmt.Errorf("picture %d: %w", i+1, err)
		}
		chw, err := imageproc.NormalizeImageNet(img)
		if err != nil {
			return nil, fmt.Errorf("picture %d: %w", i+1, err)
		}
		if roundBF16 {
			for j, v := range chw {
				chw[j] = safetensors.RoundBF16(v)
			}
		}
		h, w := img.Rect.Dy(), img.Rect.Dx()
		cp, err := e.embedPicture(chw, h, w)
		if err != nil {
			return nil, fmt.Errorf("picture %d: %w", i+1, err)
		}
		out = append(out, cp)
	}
	return out, nil
}

// embedPicture runs the understanding embedder on a normalised picture
// [3, h, w].
func (e *Engine) embedPicture(chw []float32, h, w int) (contextPicture, error) {
	b := e.Model.Backend()
	patches, gh, gw, err := imageproc.Patchify16(chw, h, w)
	if err != nil {
		return contextPicture{}, err
	}
	pt := b.FromFloat32(patches, gh*gw, len(patches)/(gh*gw))
	defer b.Free(pt)
	tokens, err := e.Model.EmbedPicture(pt, model.Grid{Rows: gh, Cols: gw})
	if err != nil {
		return contextPicture{}, err
	}
	return contextPicture{tokens: tokens, grid: prompt.TokenGrid{Rows: gh / 2, Cols: gw / 2}}, nil
}
