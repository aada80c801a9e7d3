package prompt

import (
	"fmt"
	"strings"
)

// Suffixes appended after the open assistant turn.
const (
	// NoThinkSuffix closes an empty reasoning block and opens the image.
	NoThinkSuffix = Think + "\n\n" + EndThink + "\n\n" + ImgStart
	// ThinkSuffix opens the reasoning block the model then writes.
	ThinkSuffix = Think + "\n"
	// AfterThinkText is tokenized and appended to the cache after the
	// reasoning, whatever ended it.
	AfterThinkText = "\n\n" + ImgStart
	// interleaveNoThink is appended in interleave's non-think mode (no <img>:
	// the model decides when to draw).
	interleaveNoThink = Think + "\n\n" + EndThink + "\n\n"
)

// Unconditional is the prompt of the unconditional guidance branch of every
// generating pipeline: no system block, an empty user turn, then <img>.
func Unconditional() string {
	return userAsk("", "") + ImgStart
}

// TextToImage is the conditional prompt of text-to-image. With think the
// prompt stops after "<think>\n" and the model writes its reasoning first.
func TextToImage(userPrompt string, think bool) string {
	return userAsk(SystemGen, userPrompt) + generationSuffix(think)
}

func generationSuffix(think bool) string {
	if think {
		return ThinkSuffix
	}
	return NoThinkSuffix
}

// countPlaceholders returns the number of <image> placeholders in s.
func countPlaceholders(s string) int { return strings.Count(s, ImagePlaceholder) }

// withEditPlaceholders adds the placeholders an editing prompt lacks: with no
// placeholder and several pictures, one labelled line per picture
// ("Image-k:<image>\n"); otherwise one "<image>\n" per missing picture.
func withEditPlaceholders(userPrompt string, nImages int) (string, error) {
	k := countPlaceholders(userPrompt)
	switch {
	case k > nImages:
		return "", fmt.Errorf("prompt: the prompt has %d %s placeholders but only %d picture(s) were given", k, ImagePlaceholder, nImages)
	case k == 0 && nImages > 1:
		var b strings.Builder
		for i := 1; i <= nImages; i++ {
			fmt.Fprintf(&b, "Image-%d:%s\n", i, ImagePlaceholder)
		}
		return b.String() + userPrompt, nil
	default:
		return strings.Repeat(ImagePlaceholder+"\n", nImages-k) + userPrompt, nil
	}
}

// withLeadingPlaceholders prefixes one "<image>\n" per missing placeholder
// (interleave and VQA rule).
func withLeadingPlaceholders(userPrompt string, nImages int) (string, error) {
	k := countPlaceholders(userPrompt)
	if k > nImages {
		return "", fmt.Errorf("prompt: the prompt has %d %s placeholders but only %d picture(s) were given", k, ImagePlaceholder, nImages)
	}
	return strings.Repeat(ImagePlaceholder+"\n", nImages-k) + userPrompt, nil
}

// EditBranches says which guidance branches an editing (or interleave) run
// needs for text guidance scale textCFG and image guidance scale imageCFG.
type EditBranches struct {
	// ImageOnly: the pictures without the instruction (IC, or TU in interleave).
	ImageOnly bool
	// Unconditional: no pictures, no instruction (U, or IU in interleave).
	Unconditional bool
}

// EditBranchesFor applies upstream's rule: guidance is used unless both
// scales are 1; the image-only branch is built when guidance is used and
// (imageCFG == 1 or textCFG != imageCFG); the unconditional branch when
// guidance is used and imageCFG != 1.
func EditBranchesFor(textCFG, imageCFG float64) EditBranches {
	needs := !(textCFG == 1 && imageCFG == 1)
	return EditBranches{
		ImageOnly:     needs && (imageCFG == 1 || textCFG != imageCFG),
		Unconditional: needs && imageCFG != 1,
	}
}

// Edit returns the conditional editing prompt with its placeholders still
// unexpanded (see ExpandImages): GEN system, the instruction with one
// placeholder per picture, then the generation suffix.
func Edit(instruction string, nImages int, think bool) (string, error) {
	if nImages < 1 {
		return "", fmt.Errorf("prompt: editing needs at least one picture, got %d", nImages)
	}
	text, err := withEditPlaceholders(instruction, nImages)
	if err != nil {
		return "", err
	}
	return userAsk(SystemGen, text) + generationSuffix(think), nil
}

// ImagesOnly is the image-only branch of editing: no system block, the
// placeholders back to back (no labels, no separators), then <img>.
func ImagesOnly(nImages int) string {
	return userAsk("", strings.Repeat(ImagePlaceholder, nImages)) + ImgStart
}

// VQA is the question-answering prompt: no system block; a picture's
// placeholder is prefixed when the question has none.
func VQA(question string, hasImage bool) (string, error) {
	n := 0
	if hasImage {
		n = 1
	}
	text, err := withLeadingPlaceholders(question, n)
	if err != nil {
		return "", err
	}
	return userAsk("", text), nil
}

// Interleave is the conditional prompt of an interleaved (storyboard) run.
// In think mode nothing follows the open assistant turn (the model opens
// <think> itself); otherwise an empty reasoning block does. No <img>: the
// model decides when to draw.
func Interleave(system, userPrompt string, nImages int, think bool) (string, error) {
	text, err := withLeadingPlaceholders(userPrompt, nImages)
	if err != nil {
		return "", err
	}
	q := userAsk(system, text)
	if !think {
		q += interleaveNoThink
	}
	return q, nil
}

// InterleaveTextUncond is interleave's text-unconditional branch: the input
// pictures' placeholders only (an empty user turn without pictures), no <img>.
func InterleaveTextUncond(nImages int) string {
	return userAsk("", strings.Repeat(ImagePlaceholder, nImages))
}

// ExpandImages replaces the <image> placeholders, first to last, by
// <img> + <IMG_CONTEXT>×n_k + </img>, n_k being the token count of picture k
// ((H/32)·(W/32) after resizing). The number of placeholders must equal the
// number of pictures.
func ExpandImages(query string, tokensPerImage []int) (string, error) {
	parts := strings.Split(query, ImagePlaceholder)
	if len(parts)-1 != len(tokensPerImage) {
		return "", fmt.Errorf("prompt: %d %s placeholders for %d picture(s)", len(parts)-1, ImagePlaceholder, len(tokensPerImage))
	}
	var b strings.Builder
	b.WriteString(parts[0])
	for k, n := range tokensPerImage {
		if n <= 0 {
			return "", fmt.Errorf("prompt: picture %d has %d tokens, want at least 1", k+1, n)
		}
		b.WriteString(ImgStart)
		b.WriteString(strings.Repeat(ImgContext, n))
		b.WriteString(ImgEnd)
		b.WriteString(parts[k+1])
	}
	return b.String(), nil
}
