package imageproc

import (
	"fmt"
	"image"
	"math"
)

// ImageNet normalisation of context pictures (utils.py IMAGENET_MEAN/STD),
// as float32 like torchvision's Normalize makes them for a float32 tensor.
var (
	ImageNetMean = [3]float32{0.485, 0.456, 0.406}
	ImageNetStd  = [3]float32{0.229, 0.224, 0.225}
)

// Model space of the generated canvas: displayed = x·0.5 + 0.5.
var (
	CanvasMean = [3]float32{0.5, 0.5, 0.5}
	CanvasStd  = [3]float32{0.5, 0.5, 0.5}
)

// Normalize turns an 8-bit RGB picture into a float32 [3, H, W] tensor the
// way torchvision's ToTensor + Normalize do for a float32 tensor: per channel
// x = float32(u8) / 255, then (x − mean) / std, each operation rounded to
// float32 (a division by std, not a multiplication by its inverse). Alpha is
// ignored.
func Normalize(img *image.NRGBA, mean, std [3]float32) ([]float32, error) {
	if img == nil {
		return nil, fmt.Errorf("normalize: picture is nil")
	}
	if err := checkNRGBA("normalize", img); err != nil {
		return nil, err
	}
	b := img.Rect
	h, w := b.Dy(), b.Dx()
	for c := range 3 {
		if std[c] == 0 || math.IsNaN(float64(std[c])) {
			return nil, fmt.Errorf("normalize: std[%d] = %v, want a non-zero number", c, std[c])
		}
	}
	// One table per channel: the result depends only on the byte.
	var table [3][256]float32
	for c := range 3 {
		for v := range 256 {
			x := float32(v) / 255
			table[c][v] = float32(x-mean[c]) / std[c]
		}
	}
	out := make([]float32, 3*h*w)
	plane := h * w
	for y := 0; y < h; y++ {
		row := img.Pix[img.PixOffset(b.Min.X, b.Min.Y+y):]
		for x := 0; x < w; x++ {
			p := row[4*x : 4*x+3]
			i := y*w + x
			out[i] = table[0][p[0]]
			out[plane+i] = table[1][p[1]]
			out[2*plane+i] = table[2][p[2]]
		}
	}
	return out, nil
}

// NormalizeImageNet normalises a context picture with the ImageNet mean and
// std (load_image_native step 3).
func NormalizeImageNet(img *image.NRGBA) ([]float32, error) {
	return Normalize(img, ImageNetMean, ImageNetStd)
}

// ImageToCanvas turns an 8-bit RGB picture into model space, float32
// [3, H, W] with x = (u8/255 − 0.5)/0.5; CanvasToImage inverts it exactly.
func ImageToCanvas(img *image.NRGBA) ([]float32, error) {
	return Normalize(img, CanvasMean, CanvasStd)
}

// CanvasToImage converts a canvas in model space, float32 [3, h, w], to an
// opaque 8-bit picture like the reference's _to_pil (PIPELINES.md 1.8):
// v = clamp(x·0.5 + 0.5, 0, 1), then round-half-to-even(v·255), every step in
// float32.
//
// NaN: torch's clamp keeps NaN and numpy's astype(uint8) of NaN gives 0 on
// x86-64, so a NaN value becomes 0 here too (+Inf gives 255, −Inf gives 0).
func CanvasToImage(x []float32, h, w int) (*image.NRGBA, error) {
	if err := checkCHW("canvas to image", x, h, w); err != nil {
		return nil, err
	}
	out := image.NewNRGBA(image.Rect(0, 0, w, h))
	plane := h * w
	for y := 0; y < h; y++ {
		o := out.Pix[y*out.Stride:]
		for xx := 0; xx < w; xx++ {
			i := y*w + xx
			o[4*xx] = canvasByte(x[i])
			o[4*xx+1] = canvasByte(x[plane+i])
			o[4*xx+2] = canvasByte(x[2*plane+i])
			o[4*xx+3] = 255
		}
	}
	return out, nil
}

// canvasByte is one channel of CanvasToImage. The explicit float32
// conversions keep each product and sum rounded separately (no fused
// multiply-add), as torch and numpy compute them.
func canvasByte(x float32) uint8 {
	v := float32(float32(x*0.5) + 0.5)
	if v != v { // NaN
		return 0
	}
	if v < 0 {
		v = 0
	} else if v > 1 {
		v = 1
	}
	return uint8(math.RoundToEven(float64(float32(v * 255))))
}

func checkCHW(what string, x []float32, h, w int) error {
	if h <= 0 || w <= 0 || h > maxSide || w > maxSide {
		return fmt.Errorf("%s: size %d×%d (height×width): each side must be in 1…%d", what, h, w, maxSide)
	}
	if len(x) != 3*h*w {
		return fmt.Errorf("%s: tensor has %d values, want 3×%d×%d = %d", what, len(x), h, w, 3*h*w)
	}
	return nil
}

func checkMultiple(what string, h, w, p int) error {
	if h%p != 0 || w%p != 0 {
		return fmt.Errorf("%s: size %d×%d (height×width) is not a multiple of %d", what, h, w, p)
	}
	return nil
}

// Patchify16 cuts a [3, h, w] tensor into 16×16 patches, the input layout of
// both patch embedders (MODEL.md 3.14 patches16, PIPELINES.md 1.6 step 4):
// (h/16)·(w/16) rows of 768 values, patches in row-major grid order, each
// row ordered channel, then pixel row, then pixel column —
// out[(r·gw + c)·768 + ch·256 + py·16 + px] = x[ch, 16r+py, 16c+px].
// It also returns the grid (gh, gw) = (h/16, w/16).
func Patchify16(x []float32, h, w int) (patches []float32, gh, gw int, err error) {
	const p = PatchSize
	if err := checkCHW("patchify16", x, h, w); err != nil {
		return nil, 0, 0, err
	}
	if err := checkMultiple("patchify16", h, w, p); err != nil {
		return nil, 0, 0, err
	}
	gh, gw = h/p, w/p
	out := make([]float32, len(x))
	o := 0
	for r := 0; r < gh; r++ {
		for c := 0; c < gw; c++ {
			for ch := 0; ch < 3; ch++ {
				for py := 0; py < p; py++ {
					src := x[(ch*h+r*p+py)*w+c*p:]
					o += copy(out[o:o+p], src[:p])
				}
			}
		}
	}
	return out, gh, gw, nil
}

// Patchify32 cuts a [3, h, w] canvas into the 32×32 tokens of the
// flow-matching head (MODEL.md 3.14 patchify32, PIPELINES.md 1.7 patch32):
// (h/32)·(w/32) rows of 3072 values, tokens row-major, each ordered pixel
// row, pixel column, channel (channel fastest) —
// out[(r·tw + c)·3072 + (py·32 + px)·3 + ch] = x[ch, 32r+py, 32c+px].
func Patchify32(x []float32, h, w int) ([]float32, error) {
	const t = TokenSize
	if err := checkCHW("patchify32", x, h, w); err != nil {
		return nil, err
	}
	if err := checkMultiple("patchify32", h, w, t); err != nil {
		return nil, err
	}
	th, tw := h/t, w/t
	plane := h * w
	out := make([]float32, len(x))
	for r := 0; r < th; r++ {
		for c := 0; c < tw; c++ {
			tok := out[(r*tw+c)*3*t*t:]
			for py := 0; py < t; py++ {
				base := (r*t+py)*w + c*t
				for px := 0; px < t; px++ {
					e := (py*t + px) * 3
					tok[e] = x[base+px]
					tok[e+1] = x[plane+base+px]
					tok[e+2] = x[2*plane+base+px]
				}
			}
		}
	}
	return out, nil
}

// Unpatchify32 is the exact inverse of Patchify32: (h/32)·(w/32) tokens of
// 3072 values back to a [3, h, w] canvas.
func Unpatchify32(z []float32, h, w int) ([]float32, error) {
	const t = TokenSize
	if h <= 0 || w <= 0 || h > maxSide || w > maxSide {
		return nil, fmt.Errorf("unpatchify32: size %d×%d (height×width): each side must be in 1…%d", h, w, maxSide)
	}
	if err := checkMultiple("unpatchify32", h, w, t); err != nil {
		return nil, err
	}
	th, tw := h/t, w/t
	if len(z) != th*tw*3*t*t {
		return nil, fmt.Errorf("unpatchify32: %d values, want %d tokens × %d = %d for %d×%d (height×width)", len(z), th*tw, 3*t*t, th*tw*3*t*t, h, w)
	}
	plane := h * w
	out := make([]float32, len(z))
	for r := 0; r < th; r++ {
		for c := 0; c < tw; c++ {
			tok := z[(r*tw+c)*3*t*t:]
			for py := 0; py < t; py++ {
				base := (r*t+py)*w + c*t
				for px := 0; px < t; px++ {
					e := (py*t + px) * 3
					out[base+px] = tok[e]
					out[plane+base+px] = tok[e+1]
					out[2*plane+base+px] = tok[e+2]
				}
			}
		}
	}
	return out, nil
}
