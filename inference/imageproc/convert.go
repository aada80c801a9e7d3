package imageproc

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	_ "image/gif"  // registers the GIF decoder with image.Decode
	_ "image/jpeg" // registers the JPEG decoder with image.Decode
	_ "image/png"  // registers the PNG decoder with image.Decode
	"os"

	"github.com/disintegration/imaging"
	_ "golang.org/x/image/bmp"  // registers the BMP decoder
	_ "golang.org/x/image/tiff" // registers the TIFF decoder
	_ "golang.org/x/image/webp" // registers the WebP decoder
)

// Mode is the Pillow image mode ("RGB", "RGBA", "L", "LA", "P", "I;16", "1",
// "CMYK") a picture has when Pillow opens it. The reference's conversions
// branch on it: load_image_native composites only mode "RGBA" on white.
type Mode string

// The Pillow modes a decoded picture can have.
const (
	ModeRGB  Mode = "RGB"
	ModeRGBA Mode = "RGBA"
	ModeL    Mode = "L"
	ModeLA   Mode = "LA"
	ModeP    Mode = "P"
	ModeI16  Mode = "I;16"
	Mode1    Mode = "1"
	ModeCMYK Mode = "CMYK"
)

// MaxDecodePixels is the largest picture Decode accepts, Pillow's own
// decompression-bomb limit (2 × Image.MAX_IMAGE_PIXELS).
const MaxDecodePixels = 2 * 89478485

// AlphaHandling says how ToRGB and Picture.RGB treat transparency.
type AlphaHandling int

const (
	// DropAlpha is Pillow's Image.convert("RGB"): transparent pixels keep
	// their stored colour. The editing and interleave scripts load their
	// inputs this way (PIPELINES.md 10, quirk 1).
	DropAlpha AlphaHandling = iota
	// CompositeRGBAOnWhite is load_image_native (VQA): a picture of mode
	// "RGBA" is pasted on an opaque white background through its alpha
	// channel; every other mode, including "LA", "P" with a transparent
	// palette entry and "RGB"/"L" with a tRNS colour, is converted as by
	// DropAlpha, exactly like the reference.
	CompositeRGBAOnWhite
	// CompositeAnyOnWhite pastes every picture with transparency on white,
	// whatever its mode. It is not the reference's behaviour (it differs from
	// CompositeRGBAOnWhite for "LA", transparent "P" and tRNS pictures); it is
	// offered for callers that prefer the sensible result over reproduction.
	CompositeAnyOnWhite
)

// Picture is a decoded picture file and the Pillow mode the reference would
// have seen for it.
type Picture struct {
	Image  image.Image
	Format string // decoder name: "png", "jpeg", "gif", "webp", "bmp" or "tiff"
	Mode   Mode
}

// Load reads and decodes a picture file (PNG, JPEG, GIF first frame, WebP,
// BMP, TIFF) into the pixels Pillow's Image.open would give:
//
//   - PNG: the mode comes from the header (Pillow's table, see pngMode);
//     16-bit channels keep their high byte when converted.
//   - GIF: the first frame, on a canvas of the logical screen's size, with
//     the stored colour of the transparent palette entry kept.
//   - JPEG: chroma upsampled and converted like libjpeg-turbo (fancy
//     upsampling, jdcolor.c tables); Go's inverse DCT still differs from
//     libjpeg's by about ±1 per plane, so JPEG pixels are within a few levels
//     of Pillow's, not identical.
//   - WebP: lossy pictures upsampled and converted like libwebp (VP8's
//     limited-range matrix, which Go's image.YCbCr does not use); lossless
//     as decoded. Both bit-identical to Pillow on the fixtures.
//   - BMP (8, 24, 32 bits) and TIFF: as Go's decoders give them.
//
// The picture is not rotated by its EXIF orientation (Pillow's Image.open
// does not rotate either). Errors name the file and what failed.
func Load(path string) (*Picture, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load picture: %w", err)
	}
	p, err := Decode(data)
	if err != nil {
		return nil, fmt.Errorf("load picture %s: %w", path, err)
	}
	return p, nil
}

// Decode decodes a picture held in memory; see Load.
func Decode(data []byte) (*Picture, error) {
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		if errors.Is(err, image.ErrFormat) {
			head := data[:min(len(data), 8)]
			return nil, fmt.Errorf("unrecognised picture format (first bytes % x): want PNG, JPEG, GIF, WebP, BMP or TIFF", head)
		}
		return nil, fmt.Errorf("reading %s header: %w", formatName(format), err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, fmt.Errorf("%s picture has size %d×%d (width×height): want both sides positive", formatName(format), cfg.Width, cfg.Height)
	}
	if int64(cfg.Width)*int64(cfg.Height) > MaxDecodePixels {
		return nil, fmt.Errorf("%s picture of %d×%d (width×height) has more than %d pixels (Pillow's decompression-bomb limit)", formatName(format), cfg.Width, cfg.Height, MaxDecodePixels)
	}
	img, err := decodeNoPanic(data)
	if err != nil {
		return nil, fmt.Errorf("decoding %s picture: %w", formatName(format), err)
	}
	p := &Picture{Image: img, Format: format, Mode: ModeOf(img)}
	// Redo Go's YCbCr → RGB the way Pillow's libraries do (see ycbcr.go).
	switch m := img.(type) {
	case *image.YCbCr:
		var rgb *image.NRGBA
		var ok bool
		switch format {
		case "jpeg":
			rgb, ok = libjpegYCbCrToRGB(m)
		case "webp":
			rgb, ok = libwebpYCbCrToRGB(m, nil, 0)
		}
		if ok {
			p.Image = rgb
		}
	case *image.NYCbCrA:
		if format == "webp" {
			if rgb, ok := libwebpYCbCrToRGB(&m.YCbCr, m.A[m.AOffset(m.Rect.Min.X, m.Rect.Min.Y):], m.AStride); ok {
				p.Image = rgb
			}
		}
	}
	switch format {
	case "png":
		if m, ok := pngMode(data); ok {
			p.Mode = m
		}
	case "gif":
		p.Image = gifFirstFrameLikePillow(data, img, cfg.Width, cfg.Height)
	}
	return p, nil
}

// decodeNoPanic runs image.Decode, turning a panic of a decoder on a
// malformed file into an error.
func decodeNoPanic(data []byte) (img image.Image, err error) {
	defer func() {
		if r := recover(); r != nil {
			img, err = nil, fmt.Errorf("decoder failed on malformed data: %v", r)
		}
	}()
	img, _, err = image.Decode(bytes.NewReader(data))
	return img, err
}

func formatName(format string) string {
	if format == "" {
		return "picture"
	}
	return format
}

// pngMode maps the PNG header's bit depth and colour type to the mode Pillow
// opens the file as (PngImagePlugin's table): note that 16-bit grey+alpha
// becomes "RGBA", and that a tRNS chunk never changes the mode.
func pngMode(data []byte) (Mode, bool) {
	// Signature (8), IHDR length (4), "IHDR" (4), width (4), height (4),
	// bit depth (1), colour type (1).
	if len(data) < 26 || string(data[12:16]) != "IHDR" {
		return "", false
	}
	depth, colourType := data[24], data[25]
	switch colourType {
	case 0:
		switch depth {
		case 1:
			return Mode1, true
		case 16:
			return ModeI16, true
		}
		return ModeL, true
	case 2:
		return ModeRGB, true
	case 3:
		return ModeP, true
	case 4:
		if depth == 16 {
			return ModeRGBA, true
		}
		return ModeLA, true
	case 6:
		return ModeRGBA, true
	}
	return "", false
}

// ModeOf returns the Pillow mode that corresponds to a Go image type, for
// pictures that did not come from a PNG header: grey → "L", 16-bit grey →
// "I;16", paletted → "P", CMYK → "CMYK", YCbCr → "RGB", anything else →
// "RGB" when it is opaque and "RGBA" otherwise.
func ModeOf(img image.Image) Mode {
	switch m := img.(type) {
	case *image.Gray:
		return ModeL
	case *image.Gray16:
		return ModeI16
	case *image.Paletted:
		return ModeP
	case *image.CMYK:
		return ModeCMYK
	case *image.YCbCr:
		return ModeRGB
	case interface{ Opaque() bool }:
		if m.Opaque() {
			return ModeRGB
		}
	}
	return ModeRGBA
}

// ToRGB converts any image to opaque 8-bit RGB (an *image.NRGBA whose alpha
// is 255, bounds at the origin) with the mode ModeOf gives it; see
// Picture.RGB. A nil image gives an empty picture.
func ToRGB(img image.Image, alpha AlphaHandling) *image.NRGBA {
	return (&Picture{Image: img, Mode: ModeOf(img)}).RGB(alpha)
}

// RGB converts the picture to opaque 8-bit RGB like Pillow:
//
//   - "RGB", "RGBA", "LA", "L", "1", "P": the stored colour of each pixel
//     (palette entry, grey replicated); 16-bit channels keep their high byte,
//     as Pillow's 16-bit PNG readers do.
//   - "I;16" (16-bit grey): each value clipped to 255, Pillow's I;16 → RGB.
//   - "CMYK": Pillow's cmyk2rgb, R = (255−K) − round((255−K)·C/255).
//
// then, when alpha says so, pastes the picture on white through its alpha
// like Image.paste(im, mask=alpha) on a white "RGB" image:
// out = (255·(255−a) + c·a) / 255 with Pillow's rounded division.
//
// The result has its bounds at the origin; a nil picture or image gives an
// empty picture.
func (p *Picture) RGB(alpha AlphaHandling) *image.NRGBA {
	if p == nil || p.Image == nil {
		return image.NewNRGBA(image.Rectangle{})
	}
	out := storedRGBA(p.Image, p.Mode)
	composite := alpha == CompositeAnyOnWhite || (alpha == CompositeRGBAOnWhite && p.Mode == ModeRGBA)
	pix := out.Pix
	for i := 0; i+3 < len(pix); i += 4 {
		if composite {
			a := uint32(pix[i+3])
			pix[i] = div255(255*(255-a) + uint32(pix[i])*a)
			pix[i+1] = div255(255*(255-a) + uint32(pix[i+1])*a)
			pix[i+2] = div255(255*(255-a) + uint32(pix[i+2])*a)
		}
		pix[i+3] = 255
	}
	return out
}

// div255 is Pillow's DIV255: a rounded division by 255 of a value up to
// 255·255, exact for every sum of two byte products.
func div255(v uint32) uint8 {
	v += 128
	return uint8(((v >> 8) + v) >> 8)
}

// storedRGBA returns the picture's RGB values as Pillow's convert("RGB")
// gives them, with the picture's own 8-bit alpha (non-premultiplied) in A.
func storedRGBA(img image.Image, mode Mode) *image.NRGBA {
	b := img.Bounds()
	switch mode {
	case ModeI16:
		out := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
		for y := 0; y < b.Dy(); y++ {
			for x := 0; x < b.Dx(); x++ {
				v, a := grey16At(img, b.Min.X+x, b.Min.Y+y)
				o := out.Pix[out.PixOffset(x, y):]
				g := uint8(min(v, 255))
				o[0], o[1], o[2], o[3] = g, g, g, a
			}
		}
		return out
	case ModeCMYK:
		if m, ok := img.(*image.CMYK); ok {
			out := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
			for y := 0; y < b.Dy(); y++ {
				s := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
				o := out.Pix[y*out.Stride:]
				for x := 0; x < b.Dx(); x++ {
					c, mg, ye, k := uint32(s[4*x]), uint32(s[4*x+1]), uint32(s[4*x+2]), uint32(s[4*x+3])
					nk := 255 - k
					o[4*x] = uint8(nk) - div255(c*nk)
					o[4*x+1] = uint8(nk) - div255(mg*nk)
					o[4*x+2] = uint8(nk) - div255(ye*nk)
					o[4*x+3] = 255
				}
			}
			return out
		}
	}
	if m, ok := img.(*image.Paletted); ok && len(m.Palette) < 256 {
		// Indexes past the palette are black in Pillow (its palette is
		// zero-filled); pad a copy so none is out of range.
		c := *m
		c.Palette = append(append(color.Palette(nil), m.Palette...), make(color.Palette, 256-len(m.Palette))...)
		for i := len(m.Palette); i < 256; i++ {
			c.Palette[i] = color.NRGBA{A: 255}
		}
		img = &c
	}
	// imaging.Clone gives non-premultiplied 8-bit values for every image
	// type: high bytes of 16-bit channels, palette entries as stored
	// (including the colour under a transparent entry), grey replicated.
	return imaging.Clone(img)
}

// grey16At returns the 16-bit grey value and 8-bit alpha of a pixel of a
// 16-bit grey picture (an *image.Gray16, or the *image.NRGBA64 Go's PNG
// decoder returns for 16-bit grey with a tRNS colour).
func grey16At(img image.Image, x, y int) (uint32, uint8) {
	switch m := img.(type) {
	case *image.Gray16:
		return uint32(m.Gray16At(x, y).Y), 255
	case *image.NRGBA64:
		c := m.NRGBA64At(x, y)
		return uint32(c.R), uint8(c.A >> 8)
	}
	c := color.NRGBA64Model.Convert(img.At(x, y)).(color.NRGBA64)
	return uint32(c.R), uint8(c.A >> 8)
}

// gifFirstFrameLikePillow undoes what Go's GIF decoder does differently from
// Pillow on the first frame:
//
//   - Go replaces the palette entry of the transparent index by transparent
//     black; Pillow keeps its stored colour (a later convert("RGB") shows
//     that colour). The stored colour is read back from the file's colour
//     table and the entry becomes that colour with alpha 0.
//   - Go returns the frame with its own bounds; Pillow returns a picture of
//     the logical screen's size in which the area outside the first frame
//     holds the transparent index, or index 0 when there is none.
func gifFirstFrameLikePillow(data []byte, img image.Image, width, height int) image.Image {
	pal, ok := img.(*image.Paletted)
	if !ok {
		return img
	}
	idx, rgb, stored := gifTransparentEntry(data)
	palette := pal.Palette
	if stored && idx < len(palette) {
		palette = append(color.Palette(nil), palette...)
		palette[idx] = color.NRGBA{R: rgb[0], G: rgb[1], B: rgb[2], A: 0}
	}
	screen := image.Rect(0, 0, width, height)
	if pal.Rect == screen {
		pal.Palette = palette
		return pal
	}
	out := image.NewPaletted(screen, palette)
	if idx > 0 && idx < 256 {
		for i := range out.Pix {
			out.Pix[i] = uint8(idx)
		}
	}
	r := pal.Rect.Intersect(screen)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		copy(out.Pix[out.PixOffset(r.Min.X, y):out.PixOffset(r.Max.X, y)], pal.Pix[pal.PixOffset(r.Min.X, y):])
	}
	return out
}

// gifTransparentEntry walks a GIF's blocks up to the first image descriptor
// and returns the transparent index of that frame's graphic control extension
// (−1 if none), and the colour stored at that index in the colour table the
// frame uses (ok is false when it cannot be found).
func gifTransparentEntry(data []byte) (index int, rgb [3]byte, ok bool) {
	var none [3]byte
	if len(data) < 13 || (string(data[:6]) != "GIF87a" && string(data[:6]) != "GIF89a") {
		return -1, none, false
	}
	pos := 13
	var table []byte
	if flags := data[10]; flags&0x80 != 0 {
		n := 3 << ((flags & 7) + 1)
		if pos+n > len(data) {
			return -1, none, false
		}
		table = data[pos : pos+n]
		pos += n
	}
	transparent := -1
	for pos < len(data) {
		switch data[pos] {
		case 0x21: // extension: label, then data sub-blocks
			if pos+2 > len(data) {
				return transparent, none, false
			}
			label := data[pos+1]
			pos += 2
			if label == 0xF9 && pos+5 <= len(data) && data[pos] == 4 {
				if data[pos+1]&1 != 0 {
					transparent = int(data[pos+4])
				} else {
					transparent = -1
				}
			}
			for pos < len(data) && data[pos] != 0 {
				pos += int(data[pos]) + 1
			}
			pos++
		case 0x2C: // image descriptor of the first frame
			if pos+10 > len(data) {
				return transparent, none, false
			}
			if flags := data[pos+9]; flags&0x80 != 0 {
				n := 3 << ((flags & 7) + 1)
				if pos+10+n > len(data) {
					return transparent, none, false
				}
				table = data[pos+10 : pos+10+n]
			}
			if transparent < 0 || 3*transparent+3 > len(table) {
				return transparent, none, false
			}
			t := table[3*transparent:]
			return transparent, [3]byte{t[0], t[1], t[2]}, true
		default:
			return transparent, none, false
		}
	}
	return transparent, none, false
}
