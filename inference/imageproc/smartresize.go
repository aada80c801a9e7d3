package imageproc

import (
	"fmt"
	"math"
)

// Size rules of the reference (PIPELINES.md 1.6, MODEL.md 6).
const (
	// Factor is the side granularity of every picture the model sees:
	// patch size 16 / downsample ratio 0.5 = 32 pixels per LLM token side.
	Factor = 32
	// PatchSize is the side of one patch of the patch embedders.
	PatchSize = 16
	// TokenSize is the side of one LLM image token (2×2 patches).
	TokenSize = 32

	// VQAMinPixels and VQAMaxPixels are load_image_native's defaults, used
	// by VQA (and chat).
	VQAMinPixels = 65536   // 256²
	VQAMaxPixels = 4194304 // 2048²

	// ContextMinPixels is the lower budget for context pictures of editing
	// and interleave (inside the model); the upper one is ContextMaxPixels.
	ContextMinPixels = 262144 // 512²

	// InterleaveMinPixels and InterleaveMaxPixels are the defaults of the
	// interleave script's own smart_resize, used to derive the size of the
	// generated pictures from the first input picture (PIPELINES.md 5.2).
	InterleaveMinPixels = 262144  // 512²
	InterleaveMaxPixels = 2097152 // 4·2048²/8

	// maxSide bounds each side given to SmartResize so that every product
	// below stays exact in int64 and float64 (the reference uses Python's
	// unbounded ints); no picture Pillow can open comes near it.
	maxSide = 1 << 24
)

// ContextMaxPixels is the upper pixel budget of each context picture when n
// pictures are given to editing or interleave: min(2048², 4096² div n), n
// counted as at least 1 (PIPELINES.md 1.6).
func ContextMaxPixels(n int) int {
	if n < 1 {
		n = 1
	}
	return min(4194304, 16777216/n)
}

// SmartResize returns the (height, width) the reference resizes a height×width
// picture to: both multiples of factor, aspect ratio kept as well as that
// allows, pixel count brought into [minPixels, maxPixels] (utils.py
// smart_resize, from Qwen2.5-VL; PIPELINES.md 1.6, MODEL.md 6.2):
//
//  1. max(h, w) / min(h, w) > 200 is an error.
//  2. h' = max(factor, round(h/factor)·factor), w' likewise, with Python's
//     round (half to even: 80/32 = 2.5 → 2 → 64).
//  3. If h'·w' > maxPixels: β = √(h·w/maxPixels),
//     h' = max(factor, ⌊h/β/factor⌋·factor), w' likewise (this can
//     undershoot minPixels).
//     Else if h'·w' < minPixels: β = √(minPixels/(h·w)),
//     h' = ⌈h·β/factor⌉·factor, w' likewise (no lower clamp; this can
//     overshoot maxPixels).
//
// Every float operation is done in float64 in the reference's order, so the
// result equals Python's for every size up to 2²⁴ per side.
//
// The interleave script carries a copy whose aspect test divides by
// max(1, min(h, w)); for the positive sizes accepted here that is the same
// test, and both Python copies fail on a zero side (the message or β divides
// by zero), so this one function serves both. Sizes ≤ 0, factor ≤ 0 and
// maxPixels ≤ 0 (where the reference raises ZeroDivisionError or a math
// domain error) are reported as errors.
func SmartResize(height, width, factor, minPixels, maxPixels int) (h, w int, err error) {
	if height <= 0 || width <= 0 {
		return 0, 0, fmt.Errorf("smart resize: picture size %d×%d (height×width): both sides must be positive", height, width)
	}
	if height > maxSide || width > maxSide {
		return 0, 0, fmt.Errorf("smart resize: picture size %d×%d (height×width): sides above %d are not supported", height, width, maxSide)
	}
	if factor <= 0 {
		return 0, 0, fmt.Errorf("smart resize: factor %d must be positive", factor)
	}
	if maxPixels <= 0 {
		return 0, 0, fmt.Errorf("smart resize: max pixels %d must be positive", maxPixels)
	}
	long, short := max(height, width), min(height, width)
	if ratio := float64(long) / float64(short); ratio > 200 {
		return 0, 0, fmt.Errorf("smart resize: picture size %d×%d (height×width) has aspect ratio %.6g, must be at most 200", height, width, ratio)
	}
	f := float64(factor)
	h = max(factor, int(math.RoundToEven(float64(height)/f))*factor)
	w = max(factor, int(math.RoundToEven(float64(width)/f))*factor)
	area := float64(height * width) // exact: both sides < 2²⁴
	switch {
	case h*w > maxPixels:
		beta := math.Sqrt(area / float64(maxPixels))
		h = max(factor, int(math.Floor(float64(float64(height)/beta)/f))*factor)
		w = max(factor, int(math.Floor(float64(float64(width)/beta)/f))*factor)
	case h*w < minPixels:
		beta := math.Sqrt(float64(minPixels) / area)
		h = int(math.Ceil(float64(float64(height)*beta)/f)) * factor
		w = int(math.Ceil(float64(float64(width)*beta)/f)) * factor
	}
	return h, w, nil
}

// InterleaveOutputSize returns the (height, width) of the pictures an
// interleave run generates when it is given an input picture of
// height×width: the interleave script's own smart_resize with its defaults
// (factor 32, min 512², max 2 097 152; PIPELINES.md 5.2). Example:
// 1303×1920 → 1184×1728.
func InterleaveOutputSize(height, width int) (h, w int, err error) {
	return SmartResize(height, width, Factor, InterleaveMinPixels, InterleaveMaxPixels)
}
