package tensor

// Merge2x2 gathers the 2×2 neighbourhoods of a patch grid for the merge
// convolution: x [gh·gw, E] (patches row-major) → [(gh/2)·(gw/2), E·4]
// with element e·4 + dy·2 + dx of token (r, c) = x[(2r+dy)·gw + 2c+dx][e].
func (c *CPU) Merge2x2(x Tensor, gh, gw int) Tensor {
	const op = "Merge2x2"
	xs, xt := read(op, "x", x)
	if gh <= 0 || gw <= 0 || gh%2 != 0 || gw%2 != 0 {
		panicf(op, "grid %d×%d is not of even positive sides", gh, gw)
	}
	if len(xt.shape) != 2 || xt.shape[0] != gh*gw {
		panicf(op, "x %v is not [%d·%d, E]", xt.shape, gh, gw)
	}
	e := xt.shape[1]
	th, tw := gh/2, gw/2
	out := make([]float32, len(xs))
	c.parallelFor(th*tw, 4*e, func(lo, hi int) {
		for t := lo; t < hi; t++ {
			r, col := t/tw, t%tw
			o := out[t*4*e : (t+1)*4*e]
			for dy := range 2 {
				for dx := range 2 {
					src := xs[((2*r+dy)*gw+2*col+dx)*e:][:e]
					for i, v := range src {
						o[i*4+dy*2+dx] = v
					}
				}
			}
		}
	})
	return newF32(out, th*tw, 4*e)
}

// PixelShuffle rearranges x [C·r², H, W] to [C, H·r, W·r]: input channel
// c·r² + i·r + j at (y, x) goes to channel c at (y·r+i, x·r+j).
func (c *CPU) PixelShuffle(x Tensor, r int) Tensor {
	const op = "PixelShuffle"
	xs, xt := read(op, "x", x)
	if r <= 0 || len(xt.shape) != 3 || xt.shape[0]%(r*r) != 0 {
		panicf(op, "x %v is not [C·%d², H, W]", xt.shape, r)
	}
	ch, h, w := xt.shape[0]/(r*r), xt.shape[1], xt.shape[2]
	out := make([]float32, len(xs))
	// One item is one output row (channel, y·r+i).
	c.parallelFor(ch*h*r, w*r, func(lo, hi int) {
		for it := lo; it < hi; it++ {
			cc, oy := it/(h*r), it%(h*r)
			y, i := oy/r, oy%r
			o := out[it*w*r : (it+1)*w*r]
			for j := range r {
				src := xs[((cc*r*r+i*r+j)*h+y)*w:][:w]
				for xx, v := range src {
					o[xx*r+j] = v
				}
			}
		}
	})
	return newF32(out, ch, h*r, w*r)
}

// ImageToPatches cuts an image [C, H, W] into p×p patches, row-major over
// the (H/p)×(W/p) grid → [(H/p)·(W/p), C·p·p], each patch ordered (channel,
// y, x) or, with channelLast, (y, x, channel).
func (c *CPU) ImageToPatches(img Tensor, p int, channelLast bool) Tensor {
	const op = "ImageToPatches"
	xs, xt := read(op, "img", img)
	if p <= 0 || len(xt.shape) != 3 || xt.shape[1]%p != 0 || xt.shape[2]%p != 0 {
		panicf(op, "img %v is not [C, H, W] with H and W multiples of %d", xt.shape, p)
	}
	ch, h, w := xt.shape[0], xt.shape[1], xt.shape[2]
	out := make([]float32, len(xs))
	c.patchLoop(out, xs, ch, h, w, p, channelLast, false)
	return newF32(out, (h/p)*(w/p), ch*p*p)
}

// PatchesToImage is the exact inverse of ImageToPatches for an image of c
// channels and h×w pixels.
func (c *CPU) PatchesToImage(patches Tensor, ch, h, w, p int, channelLast bool) Tensor {
	const op = "PatchesToImage"
	xs, xt := read(op, "patches", patches)
	if p <= 0 || ch <= 0 || h <= 0 || w <= 0 || h%p != 0 || w%p != 0 {
		panicf(op, "image %d×%d×%d is not cut by %d-px patches", ch, h, w, p)
	}
	if len(xt.shape) != 2 || xt.shape[0] != (h/p)*(w/p) || xt.shape[1] != ch*p*p {
		panicf(op, "patches %v are not %v for a %d×%d×%d image and %d-px patches", xt.shape, []int{(h / p) * (w / p), ch * p * p}, ch, h, w, p)
	}
	out := make([]float32, len(xs))
	c.patchLoop(xs, out, ch, h, w, p, channelLast, true)
	return newF32(out, ch, h, w)
}

// patchLoop copies between the patch layout pt and the image layout im in
// the direction toImage.
func (c *CPU) patchLoop(pt, im []float32, ch, h, w, p int, channelLast, toImage bool) {
	gw := w / p
	c.parallelFor((h/p)*gw, ch*p*p, func(lo, hi int) {
		for k := lo; k < hi; k++ {
			r, col := k/gw, k%gw
			row := pt[k*ch*p*p : (k+1)*ch*p*p]
			for cc := range ch {
				for y := range p {
					img := im[(cc*h+r*p+y)*w+col*p:][:p]
					for x := range p {
						var idx int
						if channelLast {
							idx = (y*p+x)*ch + cc
						} else {
							idx = (cc*p+y)*p + x
						}
						if toImage {
							img[x] = row[idx]
						} else {
							row[idx] = img[x]
						}
					}
				}
			}
		}
	})
}

// convBand is the most im2col values a Conv3x3 builds at once (16 MiB).
const convBand = 1 << 22

// Conv3x3 is a 3×3 convolution, stride 1, zero padding 1: x [C, H, W],
// w [O, C, 3, 3], bias [O] or nil → [O, H, W]. It runs as im2col over bands
// of output pixels followed by the Linear kernel, so each output is
// float32(Σ x·w + bias) with the sum in float64 over (c, ky, kx) in order.
func (c *CPU) Conv3x3(x, w, bias Tensor) Tensor {
	const op = "Conv3x3"
	xs, xt := read(op, "x", x)
	wt := tensorOf(op, "w", w)
	if len(xt.shape) != 3 || len(wt.shape) != 4 || wt.shape[1] != xt.shape[0] || wt.shape[2] != 3 || wt.shape[3] != 3 {
		panicf(op, "x %v and w %v: want x [C, H, W] and w [O, C, 3, 3]", xt.shape, wt.shape)
	}
	ch, h, wd := xt.shape[0], xt.shape[1], xt.shape[2]
	o, k := wt.shape[0], xt.shape[0]*9
	var bs []float32
	if bias != nil {
		var bt *cpuTensor
		bs, bt = read(op, "bias", bias)
		if len(bt.shape) != 1 || bt.shape[0] != o {
			panicf(op, "bias %v does not match w %v: want [%d]", bt.shape, wt.shape, o)
		}
	}
	wm := matrix{rows: o, cols: k}
	if wt.dtype == F32 {
		wm.f32 = wt.f32Data()
	} else {
		wm.b16 = wt.b16Data()
	}
	out := make([]float32, o*h*wd)
	c.conv3x3(out, xs, ch, h, wd, wm, bs, max(16, convBand/max(k, 1)))
	return newF32(out, o, h, wd)
}

// conv3x3 computes Conv3x3 into out [O, H, W], building the im2col matrix
// for at most band output pixels at a time.
func (c *CPU) conv3x3(out, xs []float32, ch, h, wd int, wm matrix, bs []float32, band int) {
	o, k, hw := wm.rows, wm.cols, h*wd
	if hw == 0 || o == 0 {
		return
	}
	band = min(hw, band)
	cols := make([]float32, band*k)
	tmp := make([]float32, band*o)
	for p0 := 0; p0 < hw; p0 += band {
		bp := min(band, hw-p0)
		c.parallelFor(bp, k, func(lo, hi int) {
			for pix := lo; pix < hi; pix++ {
				y, xx := (p0+pix)/wd, (p0+pix)%wd
				row := cols[pix*k : pix*k+k]
				for cc := range ch {
					for ky := range 3 {
						sy := y + ky - 1
						for kx := range 3 {
							sx := xx + kx - 1
							v := float32(0)
							if sy >= 0 && sy < h && sx >= 0 && sx < wd {
								v = xs[(cc*h+sy)*wd+sx]
							}
							row[cc*9+ky*3+kx] = v
						}
					}
				}
			}
		})
		c.linear(tmp[:bp*o], cols[:bp*k], bp, wm, bs)
		c.parallelFor(o, bp, func(lo, hi int) {
			for oc := lo; oc < hi; oc++ {
				dst := out[oc*hw+p0 : oc*hw+p0+bp]
				for pix := range dst {
					dst[pix] = tmp[pix*o+oc]
				}
			}
		})
	}
}
