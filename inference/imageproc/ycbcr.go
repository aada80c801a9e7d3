package imageproc

import (
	"image"
)

// Go's JPEG and WebP decoders return the decoded Y, Cb and Cr planes with
// the chroma planes at their stored (subsampled) resolution, and Go's
// image.YCbCr turns them into RGB by repeating each chroma sample and using
// the JFIF full-range formulas. Pillow gets RGB from libjpeg-turbo and
// libwebp instead, which interpolate chroma ("fancy upsampling") and use their
// own fixed-point arithmetic; libwebp moreover uses the limited-range BT.601
// matrix of VP8, so Go's generic conversion shifts every colour of a lossy
// WebP picture. The two functions below redo the conversion from the planes
// the way each library does, so that only the inverse DCTs differ from
// Pillow's decode.

// libjpegYCbCrToRGB converts a decoded JPEG picture with libjpeg-turbo's
// fancy upsampling (h2v1 and h2v2 triangle filters; 4:4:4 needs none) and
// its YCbCr → RGB tables (jdcolor.c, 16-bit fixed point); like
// libjpeg-turbo it repeats chroma samples instead when the chroma rows are at
// most 2 samples wide. It reports false for subsampling ratios it does not
// handle (4:4:0, 4:1:1, 4:1:0); the caller then keeps Go's conversion.
func libjpegYCbCrToRGB(m *image.YCbCr) (*image.NRGBA, bool) {
	w, h := m.Rect.Dx(), m.Rect.Dy()
	var cb, cr []uint8 // full-resolution chroma, w*h each
	switch m.SubsampleRatio {
	case image.YCbCrSubsampleRatio444:
		cb, cr = make([]uint8, w*h), make([]uint8, w*h)
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				i := m.COffset(m.Rect.Min.X+x, m.Rect.Min.Y+y)
				cb[y*w+x], cr[y*w+x] = m.Cb[i], m.Cr[i]
			}
		}
	case image.YCbCrSubsampleRatio422, image.YCbCrSubsampleRatio420:
		if m.Rect.Min.X%2 != 0 || m.Rect.Min.Y%2 != 0 {
			return nil, false
		}
		cw, ch := (w+1)/2, h
		vertical := m.SubsampleRatio == image.YCbCrSubsampleRatio420
		if vertical {
			ch = (h + 1) / 2
		}
		plane := func(src []uint8) []uint8 {
			p := make([]uint8, cw*ch)
			for y := 0; y < ch; y++ {
				sy := m.Rect.Min.Y + y
				if vertical {
					sy = m.Rect.Min.Y + 2*y
				}
				i := m.COffset(m.Rect.Min.X, sy)
				copy(p[y*cw:(y+1)*cw], src[i:i+cw])
			}
			return p
		}
		switch {
		case cw <= 2:
			// libjpeg-turbo uses fancy upsampling only when the chroma
			// rows are wider than 2 samples; else it repeats each sample.
			cb, cr = make([]uint8, w*h), make([]uint8, w*h)
			for y := 0; y < h; y++ {
				for x := 0; x < w; x++ {
					i := m.COffset(m.Rect.Min.X+x, m.Rect.Min.Y+y)
					cb[y*w+x], cr[y*w+x] = m.Cb[i], m.Cr[i]
				}
			}
		case vertical:
			cb, cr = jpegFancyH2V2(plane(m.Cb), cw, ch, w, h), jpegFancyH2V2(plane(m.Cr), cw, ch, w, h)
		default:
			cb, cr = jpegFancyH2V1(plane(m.Cb), cw, ch, w), jpegFancyH2V1(plane(m.Cr), cw, ch, w)
		}
	default:
		return nil, false
	}
	const scaleBits, oneHalf = 16, 1 << 15
	fix := func(x float64) int32 { return int32(x*(1<<scaleBits) + 0.5) }
	var crR, cbB, crG, cbG [256]int32
	for i := range 256 {
		x := int32(i - 128)
		crR[i] = (fix(1.40200)*x + oneHalf) >> scaleBits
		cbB[i] = (fix(1.77200)*x + oneHalf) >> scaleBits
		crG[i] = -fix(0.71414) * x
		cbG[i] = -fix(0.34414)*x + oneHalf
	}
	out := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		yrow := m.Y[m.YOffset(m.Rect.Min.X, m.Rect.Min.Y+y):]
		o := out.Pix[y*out.Stride:]
		for x := 0; x < w; x++ {
			yy := int32(yrow[x])
			b, r := cb[y*w+x], cr[y*w+x]
			o[4*x] = clampByte(yy + crR[r])
			o[4*x+1] = clampByte(yy + (cbG[b]+crG[r])>>scaleBits)
			o[4*x+2] = clampByte(yy + cbB[b])
			o[4*x+3] = 255
		}
	}
	return out, true
}

func clampByte(v int32) uint8 {
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}

// jpegFancyH2V1 is libjpeg's h2v1_fancy_upsample: each output sample is
// 3/4 of the nearer input sample plus 1/4 of the next one, with alternating
// rounding, edges copied; the result is cropped to w columns.
func jpegFancyH2V1(in []uint8, cw, ch, w int) []uint8 {
	out := make([]uint8, w*ch)
	row := make([]uint8, 2*cw)
	for y := 0; y < ch; y++ {
		s := in[y*cw : (y+1)*cw]
		row[0] = s[0]
		row[1] = uint8((int(s[0])*3 + int(s[1]) + 2) >> 2)
		for c := 1; c < cw-1; c++ {
			v := int(s[c]) * 3
			row[2*c] = uint8((v + int(s[c-1]) + 1) >> 2)
			row[2*c+1] = uint8((v + int(s[c+1]) + 2) >> 2)
		}
		last := cw - 1
		row[2*last] = uint8((int(s[last])*3 + int(s[last-1]) + 1) >> 2)
		row[2*last+1] = s[last]
		copy(out[y*w:(y+1)*w], row[:w])
	}
	return out
}

// jpegFancyH2V2 is libjpeg's h2v2_fancy_upsample: a triangle filter in both
// directions (9/16, 3/16, 3/16, 1/16 of the four nearest samples) computed as
// column sums 3·nearer row + farther row, then 3·nearer column sum + farther
// column sum with rounding +8 / +7; the rows above the first and below the
// last repeat them. The result is cropped to w×h.
func jpegFancyH2V2(in []uint8, cw, ch, w, h int) []uint8 {
	out := make([]uint8, w*h)
	row := make([]uint8, 2*cw)
	for oy := 0; oy < h; oy++ {
		near := oy / 2
		far := near - 1 // upper output row of the pair looks up
		if oy%2 == 1 {
			far = near + 1
		}
		far = max(0, min(far, ch-1))
		n, f := in[near*cw:(near+1)*cw], in[far*cw:(far+1)*cw]
		colsum := func(c int) int { return int(n[c])*3 + int(f[c]) }
		this, next := colsum(0), colsum(1)
		row[0] = uint8((this*4 + 8) >> 4)
		row[1] = uint8((this*3 + next + 7) >> 4)
		last := this
		this = next
		for c := 1; c < cw-1; c++ {
			next = colsum(c + 1)
			row[2*c] = uint8((this*3 + last + 8) >> 4)
			row[2*c+1] = uint8((this*3 + next + 7) >> 4)
			last, this = this, next
		}
		row[2*(cw-1)] = uint8((this*3 + last + 8) >> 4)
		row[2*(cw-1)+1] = uint8((this*4 + 7) >> 4)
		copy(out[oy*w:(oy+1)*w], row[:w])
	}
	return out
}

// libwebpYCbCrToRGB converts a decoded lossy WebP picture (VP8 4:2:0, with or
// without an alpha plane) like libwebp's default output: "fancy" bilinear
// chroma upsampling over pairs of rows (UpsampleRgbLinePair), then VP8's
// limited-range YUV → RGB in 14-bit fixed point (VP8YuvToRgb). It reports
// false for anything but 4:2:0 starting at even coordinates.
func libwebpYCbCrToRGB(m *image.YCbCr, alpha []uint8, alphaStride int) (*image.NRGBA, bool) {
	if m.SubsampleRatio != image.YCbCrSubsampleRatio420 || m.Rect.Min.X%2 != 0 || m.Rect.Min.Y%2 != 0 {
		return nil, false
	}
	w, h := m.Rect.Dx(), m.Rect.Dy()
	out := image.NewNRGBA(image.Rect(0, 0, w, h))
	yRow := func(y int) []uint8 { return m.Y[m.YOffset(m.Rect.Min.X, m.Rect.Min.Y+y):] }
	cRow := func(plane []uint8, cy int) []uint8 {
		return plane[m.COffset(m.Rect.Min.X, m.Rect.Min.Y+2*cy):]
	}
	dst := func(y int) []uint8 { return out.Pix[y*out.Stride:] }
	// Row 0 uses chroma row 0 as both neighbours; rows (2k−1, 2k) use chroma
	// rows k−1 and k; the last row of an even height uses the last chroma row.
	webpUpsamplePair(yRow(0), nil, cRow(m.Cb, 0), cRow(m.Cr, 0), cRow(m.Cb, 0), cRow(m.Cr, 0), dst(0), nil, w)
	for k := 1; 2*k < h; k++ {
		var bottomY, bottomDst []uint8
		if 2*k < h {
			bottomY, bottomDst = yRow(2*k), dst(2*k)
		}
		webpUpsamplePair(yRow(2*k-1), bottomY, cRow(m.Cb, k-1), cRow(m.Cr, k-1), cRow(m.Cb, k), cRow(m.Cr, k), dst(2*k-1), bottomDst, w)
	}
	if h%2 == 0 && h > 1 {
		last := h/2 - 1
		webpUpsamplePair(yRow(h-1), nil, cRow(m.Cb, last), cRow(m.Cr, last), cRow(m.Cb, last), cRow(m.Cr, last), dst(h-1), nil, w)
	}
	for y := 0; y < h; y++ {
		o := dst(y)
		for x := 0; x < w; x++ {
			a := uint8(255)
			if alpha != nil {
				a = alpha[y*alphaStride+x]
			}
			o[4*x+3] = a
		}
	}
	return out, true
}

// webpUpsamplePair writes one or two output rows of width n: topY/topDst is
// the row nearer to chroma row (tu, tv), bottomY/bottomDst (may be nil) the
// row nearer to (cu, cv). Each output sample between chroma samples a b / c d
// is (9a + 3b + 3c + d + 8)/16, computed the way libwebp does (averages of
// diagonals, so its rounding is reproduced).
func webpUpsamplePair(topY, bottomY, tu, tv, cu, cv, topDst, bottomDst []uint8, n int) {
	put := func(d []uint8, x int, y, u, v uint32) {
		r, g, b := vp8YUVToRGB(int32(y), int32(u), int32(v))
		d[4*x], d[4*x+1], d[4*x+2] = r, g, b
	}
	edge := func(near, far uint32) uint32 { return (3*near + far + 2) >> 2 }
	tlU, tlV := uint32(tu[0]), uint32(tv[0])
	lU, lV := uint32(cu[0]), uint32(cv[0])
	put(topDst, 0, uint32(topY[0]), edge(tlU, lU), edge(tlV, lV))
	if bottomY != nil {
		put(bottomDst, 0, uint32(bottomY[0]), edge(lU, tlU), edge(lV, tlV))
	}
	for x := 1; x <= (n-1)>>1; x++ {
		tU, tV := uint32(tu[x]), uint32(tv[x])
		uU, uV := uint32(cu[x]), uint32(cv[x])
		avgU, avgV := tlU+tU+lU+uU+8, tlV+tV+lV+uV+8
		d12U, d12V := (avgU+2*(tU+lU))>>3, (avgV+2*(tV+lV))>>3
		d03U, d03V := (avgU+2*(tlU+uU))>>3, (avgV+2*(tlV+uV))>>3
		put(topDst, 2*x-1, uint32(topY[2*x-1]), (d12U+tlU)>>1, (d12V+tlV)>>1)
		put(topDst, 2*x, uint32(topY[2*x]), (d03U+tU)>>1, (d03V+tV)>>1)
		if bottomY != nil {
			put(bottomDst, 2*x-1, uint32(bottomY[2*x-1]), (d03U+lU)>>1, (d03V+lV)>>1)
			put(bottomDst, 2*x, uint32(bottomY[2*x]), (d12U+uU)>>1, (d12V+uV)>>1)
		}
		tlU, tlV, lU, lV = tU, tV, uU, uV
	}
	if n%2 == 0 {
		put(topDst, n-1, uint32(topY[n-1]), edge(tlU, lU), edge(tlV, lV))
		if bottomY != nil {
			put(bottomDst, n-1, uint32(bottomY[n-1]), edge(lU, tlU), edge(lV, tlV))
		}
	}
}

// vp8YUVToRGB is libwebp's VP8YuvToRgb: BT.601 limited range in fixed point
// (coefficients ·2¹⁴, products shifted by 8, result by 6, saturated).
func vp8YUVToRGB(y, u, v int32) (r, g, b uint8) {
	mulHi := func(v, c int32) int32 { return (v * c) >> 8 }
	clip := func(v int32) uint8 {
		if v&^((256<<6)-1) == 0 {
			return uint8(v >> 6)
		}
		if v < 0 {
			return 0
		}
		return 255
	}
	yy := mulHi(y, 19077)
	r = clip(yy + mulHi(v, 26149) - 14234)
	g = clip(yy - mulHi(u, 6419) - mulHi(v, 13320) + 8708)
	b = clip(yy + mulHi(u, 33050) - 17685)
	return r, g, b
}
