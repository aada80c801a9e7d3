package montage

import (
	"fmt"
	"image"
	"math"

	"golang.org/x/image/font"
	"golang.org/x/image/math/fixed"

	"github.com/sensenova/studio/inference/imageproc"
)

// Layout constants of the reference montage.
const (
	// Pad is the margin around and between the pictures and around the text.
	Pad = 16
	// MinFontSize is the smallest font size; larger rows use RowHeight/30.
	MinFontSize = 18
	// lineSample is the string whose glyph-box height sets the line height.
	lineSample = "Ag中"
	// maxCanvasPixels bounds the canvas so a bad size cannot exhaust memory.
	maxCanvasPixels = 1 << 28
)

// FontSize is the text size, in pixels per em, for a row of pictures
// rowHeight pixels high: max(18, rowHeight / 30) with integer division.
func FontSize(rowHeight int) int {
	return max(MinFontSize, rowHeight/30)
}

// ScaledWidth is the width an input of w×h takes in a row rowHeight high:
// w when h = rowHeight, else max(1, round(w·rowHeight/h)) with Python's
// round (half to even).
func ScaledWidth(w, h, rowHeight int) int {
	if h == rowHeight {
		return w
	}
	return max(1, int(math.RoundToEven(float64(w)*float64(rowHeight)/float64(h))))
}

// Compare lays out the input pictures then the output in one row on white, with the prompt wrapped below.
//
// The row is as high as the output; an input of another height is resized
// to it with Pillow's Lanczos filter (imageproc.Resize), keeping its aspect
// ratio. The canvas is Σ widths + 16·(pictures + 1) wide and
// R + 32 + (line height × lines + 32) high; pictures sit at y = 16 with 16
// px around and between them, and the text is drawn black from (16, R + 32)
// in the font of fonts (FindFonts() when nil) at FontSize(R), wrapped to
// the canvas width − 32. Pictures are pasted opaque: their alpha is dropped,
// as when Pillow pastes an RGB picture. CJK text in a font without CJK
// glyphs is drawn as the font's missing-glyph boxes.
func Compare(inputs []*image.NRGBA, output *image.NRGBA, prompt string, fonts *Fonts) (*image.NRGBA, error) {
	if err := checkPicture(output); err != nil {
		return nil, fmt.Errorf("compare montage: output picture: %w", err)
	}
	if fonts == nil {
		fonts = FindFonts()
	}
	rowH := output.Rect.Dy()

	row := make([]*image.NRGBA, 0, len(inputs)+1)
	for i, in := range inputs {
		if err := checkPicture(in); err != nil {
			return nil, fmt.Errorf("compare montage: input picture %d: %w", i+1, err)
		}
		w, h := in.Rect.Dx(), in.Rect.Dy()
		if h != rowH {
			sw := ScaledWidth(w, h, rowH)
			resized, err := imageproc.Resize(in, sw, rowH, imageproc.Lanczos)
			if err != nil {
				return nil, fmt.Errorf("compare montage: resizing input picture %d from %d×%d to %d×%d: %w", i+1, w, h, sw, rowH, err)
			}
			in = resized
		}
		row = append(row, in)
	}
	row = append(row, output)

	canvasW := Pad * (len(row) + 1)
	for _, p := range row {
		canvasW += p.Rect.Dx()
	}

	face, err := fonts.face(FontSize(rowH))
	if err != nil {
		return nil, fmt.Errorf("compare montage: %w", err)
	}
	defer face.Close()
	lines := wrapText(prompt, int64(fixed.I(canvasW-2*Pad)), func(s string) int64 {
		return int64(measure(face, s))
	})
	lineH := lineHeight(face)
	canvasH := rowH + 2*Pad + lineH*len(lines) + 2*Pad
	if int64(canvasW)*int64(canvasH) > maxCanvasPixels {
		return nil, fmt.Errorf("compare montage: canvas of %d×%d pixels is too large (at most %d pixels)", canvasW, canvasH, maxCanvasPixels)
	}

	canvas := image.NewNRGBA(image.Rect(0, 0, canvasW, canvasH))
	for i := range canvas.Pix {
		canvas.Pix[i] = 0xff
	}
	x := Pad
	for _, p := range row {
		pasteOpaque(canvas, p, x, Pad)
		x += p.Rect.Dx() + Pad
	}

	// Pillow's default anchor puts the ascender line at the given y; its
	// ascender is FreeType's, rounded up to whole pixels.
	ascent := face.Metrics().Ascent.Ceil()
	d := font.Drawer{Dst: canvas, Src: image.Black, Face: face}
	for i, line := range lines {
		d.Dot = fixed.P(Pad, rowH+2*Pad+i*lineH+ascent)
		d.DrawString(line)
	}
	return canvas, nil
}

// measure is the advance width of s (kerning included), the width the
// wrapping compares with the limit, like Pillow's getlength.
func measure(face font.Face, s string) fixed.Int26_6 {
	return font.MeasureString(face, s)
}

// lineHeight is int(1.3 × the height of the glyph box of "Ag中"); pixel
// edges are rounded to the nearest pixel as Pillow's getbbox does.
func lineHeight(face font.Face) int {
	b, _ := font.BoundString(face, lineSample)
	h := b.Max.Y.Round() - b.Min.Y.Round()
	return int(1.3 * float64(h))
}

// checkPicture reports a missing or empty picture, or one whose pixel slice
// is shorter than its bounds and stride require.
func checkPicture(p *image.NRGBA) error {
	if p == nil {
		return fmt.Errorf("picture is missing (nil)")
	}
	w, h := p.Rect.Dx(), p.Rect.Dy()
	if w <= 0 || h <= 0 {
		return fmt.Errorf("picture is empty (%d×%d)", w, h)
	}
	if p.Stride < 4*w {
		return fmt.Errorf("picture of %d×%d has stride %d, want at least %d", w, h, p.Stride, 4*w)
	}
	if need := p.PixOffset(p.Rect.Min.X, p.Rect.Min.Y) + (h-1)*p.Stride + 4*w; p.PixOffset(p.Rect.Min.X, p.Rect.Min.Y) < 0 || len(p.Pix) < need {
		return fmt.Errorf("picture of %d×%d has %d pixel bytes with stride %d, want at least %d", w, h, len(p.Pix), p.Stride, need)
	}
	return nil
}

// pasteOpaque copies src's colour channels to dst with its top-left corner
// at (x, y), with alpha 255.
func pasteOpaque(dst, src *image.NRGBA, x, y int) {
	w, h := src.Rect.Dx(), src.Rect.Dy()
	for r := 0; r < h; r++ {
		s := src.Pix[src.PixOffset(src.Rect.Min.X, src.Rect.Min.Y+r):][:4*w]
		d := dst.Pix[dst.PixOffset(x, y+r):][:4*w]
		for i := 0; i < len(s); i += 4 {
			d[i], d[i+1], d[i+2], d[i+3] = s[i], s[i+1], s[i+2], 0xff
		}
	}
}
