package pipeline

import (
	"context"
	"fmt"

	"github.com/sensenova/studio/inference/model"
	"github.com/sensenova/studio/inference/prompt"
	"github.com/sensenova/studio/inference/tensor"
)

// contextPicture is an input picture already through the understanding
// patch embedder: its tokens [n, Hd] and its token grid.
type contextPicture struct {
	tokens tensor.Tensor
	grid   prompt.TokenGrid
}

// branch is one guidance branch: its prefix cache and the t its generated
// picture's tokens take.
type branch struct {
	cache  *model.Cache
	logits []float32 // of the last prefix token, when asked for
}

// prefill builds a branch from a prompt whose <image> placeholders stand for
// pics, in order: it expands them, tokenizes, computes positions, embeds
// (replacing the <IMG_CONTEXT> rows by the pictures' tokens) and runs the
// understanding prefill. With wantLogits the next-token scores of the last
// position are kept. Positions follow the tokenizer's <img> id, except for
// editing (see editPositionIDs).
func (e *Engine) prefill(ctx context.Context, query string, pics []contextPicture, wantLogits bool) (*branch, error) {
	return e.prefillWith(ctx, e.IDs, query, pics, wantLogits)
}

// editPositionIDs are the special ids the editing path computes positions
// with: upstream's it2i_generate counts <img> by the hard-coded real-vocabulary
// id instead of asking the tokenizer (PIPELINES.md 1.2), which only matters
// for a tokenizer that puts <img> elsewhere (the golden tiny checkpoints);
// reproducing it keeps every checkpoint's pictures identical to upstream's.
func (e *Engine) editPositionIDs() prompt.SpecialIDs {
	sp := e.IDs
	sp.ImgStart = prompt.UpstreamImgStartID
	return sp
}

func (e *Engine) prefillWith(ctx context.Context, sp prompt.SpecialIDs, query string, pics []contextPicture, wantLogits bool) (*branch, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	counts := make([]int, len(pics))
	for i, p := range pics {
		counts[i] = p.grid.Tokens()
	}
	expanded, err := prompt.ExpandImages(query, counts)
	if err != nil {
		return nil, err
	}
	return e.prefillIDs(ctx, sp, e.Tokenizer.Encode(expanded), pics, wantLogits)
}

// prefillIDs is prefill for a tokenized prompt whose <IMG_CONTEXT> runs
// stand for pics, in order.
func (e *Engine) prefillIDs(ctx context.Context, sp prompt.SpecialIDs, ids []int, pics []contextPicture, wantLogits bool) (*branch, error) {
	if limit := maxContextTokens; len(ids) > limit {
		return nil, fmt.Errorf("the prompt with its pictures is %d tokens, more than the model's context of %d", len(ids), limit)
	}
	grids := make([]prompt.TokenGrid, len(pics))
	tokens := make([]tensor.Tensor, len(pics))
	for i, p := range pics {
		grids[i], tokens[i] = p.grid, p.tokens
	}
	pos, err := prompt.Indexes(ids, sp, grids)
	if err != nil {
		return nil, err
	}
	x, err := e.Model.EmbedPrompt(ids, e.IDs.ImgContext, tokens)
	if err != nil {
		return nil, err
	}
	b := e.Model.Backend()
	defer b.Free(x)
	c := e.Model.NewCache(len(ids) + 64)
	h, err := e.Model.Prefill(c, x, pos)
	if err != nil {
		return nil, err
	}
	defer b.Free(h)
	br := &branch{cache: c}
	if wantLogits {
		br.logits = e.Model.Logits(h)
	}
	return br, nil
}

// maxContextTokens is the context the model was trained for (the upstream
// README states 32K tokens for understanding).
const maxContextTokens = 32768

// feed appends ids to a branch as text (t = last t + 1 …) and returns the
// next-token scores after the last one.
func (e *Engine) feed(ctx context.Context, br *branch, ids ...int) ([]float32, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if br.cache.Len()+len(ids) > maxContextTokens {
		return nil, fmt.Errorf("the context would exceed the model's %d tokens", maxContextTokens)
	}
	x, err := e.Model.EmbedTokens(ids)
	if err != nil {
		return nil, err
	}
	b := e.Model.Backend()
	defer b.Free(x)
	h, err := e.Model.Prefill(br.cache, x, prompt.TextAfter(br.cache.LastT(), len(ids)))
	if err != nil {
		return nil, err
	}
	defer b.Free(h)
	return e.Model.Logits(h), nil
}

// argmax returns the index of the largest score, the first one on ties (as
// torch.argmax).
func argmax(scores []float32) int {
	best := 0
	for i, s := range scores {
		if s > scores[best] {
			best = i
		}
	}
	return best
}
