package imageproc

import (
	"fmt"
	"image"
	"math"
	"runtime"
	"sync"
)

// Filter is a resampling filter of Resize, named after Pillow's.
type Filter int

const (
	// Bicubic is Pillow's BICUBIC (Keys cubic, a = −0.5, support 2), the
	// default of Image.resize for RGB pictures and so of load_image_native.
	Bicubic Filter = iota
	// Lanczos is Pillow's LANCZOS (sinc windowed by sinc, support 3), used by
	// the editing example's pre-resize and its --compare montage.
	Lanczos
	// Bilinear is Pillow's BILINEAR (triangle, support 1), used by
	// load_image_native's non-default upscale option.
	Bilinear
)

// String returns Pillow's name of the filter.
func (f Filter) String() string {
	switch f {
	case Bicubic:
		return "BICUBIC"
	case Lanczos:
		return "LANCZOS"
	case Bilinear:
		return "BILINEAR"
	}
	return fmt.Sprintf("Filter(%d)", int(f))
}

// support is the filter's half-width at scale 1, in input pixels.
func (f Filter) support() float64 {
	switch f {
	case Lanczos:
		return 3
	case Bilinear:
		return 1
	}
	return 2
}

// weight evaluates the filter kernel. The expressions keep Pillow's
// evaluation order; the explicit float64 conversions forbid the compiler from
// fusing a multiply and an add (Go may fuse otherwise, C as compiled for
// Pillow's x86-64 wheels does not), so every intermediate is rounded as in C.
func (f Filter) weight(x float64) float64 {
	switch f {
	case Lanczos:
		if -3 <= x && x < 3 {
			return sinc(x) * sinc(x/3)
		}
		return 0
	case Bilinear:
		if x < 0 {
			x = -x
		}
		if x < 1 {
			return 1 - x
		}
		return 0
	}
	const a = -0.5
	if x < 0 {
		x = -x
	}
	if x < 1 {
		return float64(float64(float64(float64((a+2)*x)-(a+3))*x)*x) + 1
	}
	if x < 2 {
		return float64(float64(float64(float64(float64(x-5)*x)+8)*x)-4) * a
	}
	return 0
}

func sinc(x float64) float64 {
	if x == 0 {
		return 1
	}
	x = x * math.Pi
	return math.Sin(x) / x
}

// maxResizePixels bounds the output of Resize (4 GiB of NRGBA).
const maxResizePixels = 1 << 30

// precisionBits is the fixed-point precision of Pillow's 8-bit resampling
// coefficients: 32 − 8 − 2 bits.
const precisionBits = 32 - 8 - 2

// coefficients holds one resampling pass: for output index i, the taps
// k[i*ksize : i*ksize+n[i]] apply to input indexes first[i] … first[i]+n[i]−1.
type coefficients struct {
	ksize int
	first []int
	n     []int
	k     []int32
}

// computeCoefficients reproduces Pillow's precompute_coeffs followed by
// normalize_coeffs_8bpc for resizing inSize pixels to outSize (box 0…inSize):
// the kernel is stretched by max(1, inSize/outSize) so that downscaling
// antialiases, taps are centred on (i+0.5)·scale, normalised to sum 1 in
// float64, then rounded half away from zero to 22-bit fixed point.
func computeCoefficients(inSize, outSize int, f Filter) coefficients {
	scale := float64(inSize) / float64(outSize)
	filterScale := scale
	if filterScale < 1 {
		filterScale = 1
	}
	support := f.support() * filterScale
	ksize := int(math.Ceil(support))*2 + 1
	c := coefficients{
		ksize: ksize,
		first: make([]int, outSize),
		n:     make([]int, outSize),
		k:     make([]int32, outSize*ksize),
	}
	w := make([]float64, ksize)
	ss := 1 / filterScale
	for i := 0; i < outSize; i++ {
		center := float64(float64(float64(i)+0.5) * scale)
		lo := int(float64(center-support) + 0.5) // C's (int) truncates toward zero, as Go's int() does
		if lo < 0 {
			lo = 0
		}
		hi := int(float64(center+support) + 0.5)
		if hi > inSize {
			hi = inSize
		}
		n := hi - lo
		if n < 0 { // cannot happen for positive sizes; keeps the slices below in range
			n = 0
		}
		if n > ksize {
			n = ksize
		}
		total := 0.0
		for x := 0; x < n; x++ {
			v := f.weight(float64(float64(float64(x+lo)-center)+0.5) * ss)
			w[x] = v
			total += v
		}
		row := c.k[i*ksize : i*ksize+ksize]
		for x := 0; x < n; x++ {
			v := w[x]
			if total != 0 {
				v /= total
			}
			if v < 0 {
				row[x] = int32(-0.5 + float64(v*(1<<precisionBits)))
			} else {
				row[x] = int32(0.5 + float64(v*(1<<precisionBits)))
			}
		}
		c.first[i] = lo
		c.n[i] = n
	}
	return c
}

// clip8 turns a fixed-point accumulator into a byte: shift out the fraction
// and saturate to 0…255.
func clip8(v int32) uint8 {
	v >>= precisionBits
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}

// Resize resizes an 8-bit RGB picture to width×height the way Pillow's
// Image.resize((width, height), filter) does for an "RGB" image:
// separable convolution, horizontal pass first into an 8-bit intermediate
// (rounded and clipped), then the vertical pass; 22-bit fixed-point
// coefficients; a pass whose size does not change is skipped, and a
// same-size resize is an exact copy. On the golden fixtures the output is
// bit-identical to Pillow's.
//
// Only the R, G and B channels are read: the picture is taken to be opaque
// (convert or flatten it with ToRGB first). The result is opaque.
func Resize(src *image.NRGBA, width, height int, filter Filter) (*image.NRGBA, error) {
	if src == nil {
		return nil, fmt.Errorf("resize: source picture is nil")
	}
	if err := checkNRGBA("resize", src); err != nil {
		return nil, err
	}
	sw, sh := src.Rect.Dx(), src.Rect.Dy()
	if width <= 0 || height <= 0 {
		return nil, fmt.Errorf("resize: target size %d×%d (width×height) must be positive", width, height)
	}
	if filter != Bicubic && filter != Lanczos && filter != Bilinear {
		return nil, fmt.Errorf("resize: unknown filter %v", filter)
	}
	if width > maxSide || height > maxSide || width*height > maxResizePixels {
		return nil, fmt.Errorf("resize: target size %d×%d (width×height) is too large: at most %d pixels", width, height, maxResizePixels)
	}
	// Work on a tight copy starting at (0, 0) with alpha forced opaque.
	cur := opaqueCopy(src)
	if width == sw && height == sh {
		return cur, nil
	}
	if width != sw {
		hc := computeCoefficients(sw, width, filter)
		rows := 0
		first := 0
		var vc coefficients
		if height != sh {
			// Like Pillow, run the horizontal pass only over the source rows
			// the vertical pass reads; the result is the same, it is cheaper.
			vc = computeCoefficients(sh, height, filter)
			first = vc.first[0]
			rows = vc.first[height-1] + vc.n[height-1] - first
			for i := range vc.first {
				vc.first[i] -= first
			}
		} else {
			rows = sh
		}
		tmp := image.NewNRGBA(image.Rect(0, 0, width, rows))
		resampleHorizontal(tmp, cur, first, hc)
		cur = tmp
		if height != sh {
			out := image.NewNRGBA(image.Rect(0, 0, width, height))
			resampleVertical(out, cur, vc)
			return out, nil
		}
		return cur, nil
	}
	vc := computeCoefficients(sh, height, filter)
	out := image.NewNRGBA(image.Rect(0, 0, width, height))
	resampleVertical(out, cur, vc)
	return out, nil
}

// checkNRGBA reports an empty picture or one whose pixel slice is shorter
// than its bounds and stride require.
func checkNRGBA(what string, img *image.NRGBA) error {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	if w <= 0 || h <= 0 {
		return fmt.Errorf("%s: picture is empty (%d×%d)", what, w, h)
	}
	if img.Stride < 4*w || len(img.Pix) < (h-1)*img.Stride+4*w {
		return fmt.Errorf("%s: picture of %d×%d has %d pixel bytes with stride %d, want at least %d", what, w, h, len(img.Pix), img.Stride, (h-1)*img.Stride+4*w)
	}
	return nil
}

// opaqueCopy returns a copy of src with bounds at the origin and alpha 255.
func opaqueCopy(src *image.NRGBA) *image.NRGBA {
	b := src.Rect
	dst := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	for y := 0; y < b.Dy(); y++ {
		s := src.Pix[src.PixOffset(b.Min.X, b.Min.Y+y):]
		d := dst.Pix[y*dst.Stride : y*dst.Stride+4*b.Dx()]
		for x := 0; x < len(d); x += 4 {
			d[x], d[x+1], d[x+2], d[x+3] = s[x], s[x+1], s[x+2], 255
		}
	}
	return dst
}

// parallelRows runs fn over [0, n) split into contiguous chunks, one per CPU.
// Each output row is computed independently, so the result does not depend on
// the split.
func parallelRows(n int, fn func(lo, hi int)) {
	workers := runtime.GOMAXPROCS(0)
	if workers > n {
		workers = n
	}
	if workers <= 1 || n < 64 {
		fn(0, n)
		return
	}
	var wg sync.WaitGroup
	chunk := (n + workers - 1) / workers
	for lo := 0; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			fn(lo, hi)
		}(lo, hi)
	}
	wg.Wait()
}

// resampleHorizontal fills dst (width = len(c.first)) from src rows
// rowOffset … rowOffset+dst height−1.
func resampleHorizontal(dst, src *image.NRGBA, rowOffset int, c coefficients) {
	width := dst.Rect.Dx()
	parallelRows(dst.Rect.Dy(), func(lo, hi int) {
		for y := lo; y < hi; y++ {
			in := src.Pix[(y+rowOffset)*src.Stride:]
			out := dst.Pix[y*dst.Stride:]
			for x := 0; x < width; x++ {
				k := c.k[x*c.ksize : x*c.ksize+c.n[x]]
				p := in[c.first[x]*4:]
				r, g, b := int32(1<<(precisionBits-1)), int32(1<<(precisionBits-1)), int32(1<<(precisionBits-1))
				for i, kv := range k {
					r += int32(p[i*4]) * kv
					g += int32(p[i*4+1]) * kv
					b += int32(p[i*4+2]) * kv
				}
				o := out[x*4 : x*4+4]
				o[0], o[1], o[2], o[3] = clip8(r), clip8(g), clip8(b), 255
			}
		}
	})
}

// resampleVertical fills dst (height = len(c.first)) from src, whose width
// equals dst's.
func resampleVertical(dst, src *image.NRGBA, c coefficients) {
	width := dst.Rect.Dx()
	parallelRows(dst.Rect.Dy(), func(lo, hi int) {
		for y := lo; y < hi; y++ {
			k := c.k[y*c.ksize : y*c.ksize+c.n[y]]
			first := c.first[y]
			out := dst.Pix[y*dst.Stride:]
			for x := 0; x < width; x++ {
				r, g, b := int32(1<<(precisionBits-1)), int32(1<<(precisionBits-1)), int32(1<<(precisionBits-1))
				off := first*src.Stride + x*4
				for _, kv := range k {
					p := src.Pix[off : off+3]
					r += int32(p[0]) * kv
					g += int32(p[1]) * kv
					b += int32(p[2]) * kv
					off += src.Stride
				}
				o := out[x*4 : x*4+4]
				o[0], o[1], o[2], o[3] = clip8(r), clip8(g), clip8(b), 255
			}
		}
	})
}
