package imageproc

import (
	"fmt"
	"image"
	"path/filepath"
	"testing"

	"github.com/sensenova/studio/inference/safetensors"
	"github.com/sensenova/studio/internal/golden"
)

// pixelDiff compares the RGB bytes of got with want ([H,W,3] bytes) and
// returns the largest absolute difference and the number of differing bytes.
func pixelDiff(got *image.NRGBA, want []byte) (maxDiff, differing int) {
	w, h := got.Rect.Dx(), got.Rect.Dy()
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			p := got.Pix[got.PixOffset(got.Rect.Min.X+x, got.Rect.Min.Y+y):]
			for c := 0; c < 3; c++ {
				d := int(p[c]) - int(want[(y*w+x)*3+c])
				if d < 0 {
					d = -d
				}
				if d > 0 {
					differing++
				}
				maxDiff = max(maxDiff, d)
			}
		}
	}
	return maxDiff, differing
}

// rgbBytes returns the [H,W,3] bytes of an NRGBA picture.
func rgbBytes(img *image.NRGBA) []byte {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	out := make([]byte, 0, w*h*3)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			p := img.Pix[img.PixOffset(img.Rect.Min.X+x, img.Rect.Min.Y+y):]
			out = append(out, p[0], p[1], p[2])
		}
	}
	return out
}

// TestGoldenContextPictures runs the reference's context-picture
// preprocessing (load → RGB → SmartResize → bicubic Resize) on every golden
// input picture and compares with the bytes and grid the reference recorded.
// Measured: every picture is bit-identical (max abs diff 0, 0 differing
// bytes), so the bound asserted is exact equality. The grid must match
// exactly in any case.
func TestGoldenContextPictures(t *testing.T) {
	total := 0
	for _, folder := range []string{"mlphead", "pixelhead"} {
		dir, err := golden.Path(folder)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := golden.LoadCases(folder)
		if err != nil {
			t.Fatal(err)
		}
		refs, err := safetensors.Open(filepath.Join(dir, "references.safetensors"))
		if err != nil {
			t.Fatalf("golden references: %v", err)
		}
		defer refs.Close()
		for _, c := range doc.Cases {
			var pngs []string
			var minPx, maxPx int
			switch c.Kind {
			case "edit":
				pngs = c.InputPNGs
				minPx, maxPx = ContextMinPixels, ContextMaxPixels(len(pngs))
			case "vqa":
				pngs = []string{c.InputPNG}
				minPx, maxPx = VQAMinPixels, VQAMaxPixels
			default:
				continue
			}
			for k, name := range pngs {
				total++
				prefix := fmt.Sprintf("%s.%s.input%d", folder, c.Name, k+1)
				t.Run(prefix, func(t *testing.T) {
					wantPix, pixShape, err := refs.Int64(prefix + "_pixels_u8")
					if err != nil {
						t.Fatal(err)
					}
					wantGrid, _, err := refs.Int64(prefix + "_grid_hw")
					if err != nil {
						t.Fatal(err)
					}
					pic, err := Load(filepath.Join(dir, name))
					if err != nil {
						t.Fatal(err)
					}
					alpha := CompositeRGBAOnWhite // load_image_native
					if c.Kind == "edit" {
						alpha = DropAlpha // the editing script's convert("RGB")
					}
					rgb := pic.RGB(alpha)
					h, w, err := SmartResize(rgb.Rect.Dy(), rgb.Rect.Dx(), Factor, minPx, maxPx)
					if err != nil {
						t.Fatal(err)
					}
					if len(wantGrid) != 2 || int64(h/PatchSize) != wantGrid[0] || int64(w/PatchSize) != wantGrid[1] {
						t.Fatalf("%s: %dx%d input resized to %d×%d (h×w), grid %d×%d; reference grid %v", name, rgb.Rect.Dx(), rgb.Rect.Dy(), h, w, h/PatchSize, w/PatchSize, wantGrid)
					}
					if len(pixShape) != 3 || pixShape[0] != int64(h) || pixShape[1] != int64(w) || pixShape[2] != 3 {
						t.Fatalf("reference pixels have shape %v, want [%d %d 3]", pixShape, h, w)
					}
					got, err := Resize(rgb, w, h, Bicubic)
					if err != nil {
						t.Fatal(err)
					}
					want := make([]byte, len(wantPix))
					for i, v := range wantPix {
						want[i] = byte(v)
					}
					maxDiff, differing := pixelDiff(got, want)
					t.Logf("%s (%d×%d → %d×%d): max abs diff %d, %d of %d bytes differ", name, rgb.Rect.Dx(), rgb.Rect.Dy(), w, h, maxDiff, differing, len(want))
					if maxDiff != 0 || differing != 0 {
						t.Errorf("%s: resized pixels differ from the reference: max abs diff %d, %d of %d bytes (want bit-identical)", name, maxDiff, differing, len(want))
					}
				})
			}
		}
	}
	if total != 6 {
		t.Errorf("checked %d golden context pictures, want 6 (3 cases × 2 checkpoints)", total)
	}
}

func loadFixtureRGB(t *testing.T, name string) *image.NRGBA {
	t.Helper()
	p, err := Load(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("fixture (made by testdata/make_fixtures.py): %v", err)
	}
	return p.RGB(DropAlpha)
}

// TestResizeMatchesPillow compares Resize with Pillow 9.4's Image.resize
// (testdata/make_fixtures.py) on RGB noise — the hardest input for the
// clipping of the 8-bit intermediate — for downscales (antialiased), upscales,
// one-axis resizes, extreme ratios and a same-size copy. Measured: all
// bit-identical, which is what is asserted.
func TestResizeMatchesPillow(t *testing.T) {
	src := loadFixtureRGB(t, "resize_src.png")
	sizes := [][2]int{{23, 17}, {97, 71}, {61, 20}, {30, 47}, {200, 13}, {5, 4}, {1, 1}, {61, 47}, {64, 48}}
	for _, f := range []Filter{Bicubic, Lanczos, Bilinear} {
		for _, s := range sizes {
			name := fmt.Sprintf("resize_%s_%dx%d.png", f, s[0], s[1])
			t.Run(name, func(t *testing.T) {
				want := loadFixtureRGB(t, name)
				got, err := Resize(src, s[0], s[1], f)
				if err != nil {
					t.Fatal(err)
				}
				if got.Rect.Dx() != s[0] || got.Rect.Dy() != s[1] {
					t.Fatalf("got %v, want %d×%d", got.Rect, s[0], s[1])
				}
				if maxDiff, differing := pixelDiff(got, rgbBytes(want)); differing != 0 {
					t.Errorf("differs from Pillow: max abs diff %d, %d bytes", maxDiff, differing)
				}
			})
		}
	}
}

// TestResizeSameSizeIsCopy checks that a same-size resize returns the pixels
// unchanged, in a new picture, with alpha made opaque and bounds at the origin.
func TestResizeSameSizeIsCopy(t *testing.T) {
	src := image.NewNRGBA(image.Rect(3, 5, 10, 9))
	for i := range src.Pix {
		src.Pix[i] = byte(i * 37)
	}
	got, err := Resize(src, 7, 4, Bicubic)
	if err != nil {
		t.Fatal(err)
	}
	if got.Rect != image.Rect(0, 0, 7, 4) {
		t.Fatalf("bounds %v, want (0,0)-(7,4)", got.Rect)
	}
	for y := 0; y < 4; y++ {
		for x := 0; x < 7; x++ {
			s := src.NRGBAAt(3+x, 5+y)
			g := got.NRGBAAt(x, y)
			if g.R != s.R || g.G != s.G || g.B != s.B || g.A != 255 {
				t.Fatalf("pixel (%d,%d) = %v, want RGB of %v with alpha 255", x, y, g, s)
			}
		}
	}
	got.Pix[0]++
	if got.Pix[0] == src.Pix[src.PixOffset(3, 5)] {
		t.Error("same-size resize shares memory with its source")
	}
}

// TestResizeSubImage checks that a sub-image (bounds not at the origin,
// stride wider than the row) resizes like its tight copy.
func TestResizeSubImage(t *testing.T) {
	full := loadFixtureRGB(t, "resize_src.png")
	sub := full.SubImage(image.Rect(10, 7, 50, 40)).(*image.NRGBA)
	tight := opaqueCopy(sub)
	for _, f := range []Filter{Bicubic, Lanczos} {
		a, err := Resize(sub, 17, 29, f)
		if err != nil {
			t.Fatal(err)
		}
		b, err := Resize(tight, 17, 29, f)
		if err != nil {
			t.Fatal(err)
		}
		if maxDiff, n := pixelDiff(a, rgbBytes(b)); n != 0 {
			t.Errorf("%v: sub-image resize differs from its copy's: max %d, %d bytes", f, maxDiff, n)
		}
	}
}

func TestResizeErrors(t *testing.T) {
	ok := image.NewNRGBA(image.Rect(0, 0, 4, 4))
	cases := []struct {
		name string
		src  *image.NRGBA
		w, h int
		f    Filter
	}{
		{"nil source", nil, 2, 2, Bicubic},
		{"empty source", image.NewNRGBA(image.Rect(0, 0, 0, 3)), 2, 2, Bicubic},
		{"zero width", ok, 0, 2, Bicubic},
		{"negative height", ok, 2, -1, Bicubic},
		{"unknown filter", ok, 2, 2, Filter(42)},
		{"too large", ok, 1 << 20, 1 << 20, Bicubic},
	}
	for _, c := range cases {
		if _, err := Resize(c.src, c.w, c.h, c.f); err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
}

// TestCoefficientsSumToOne checks the fixed-point taps of every output pixel
// sum to 1 within the rounding of each tap (±0.5 per tap), and stay inside
// the input, for a range of scales.
func TestCoefficientsSumToOne(t *testing.T) {
	for _, f := range []Filter{Bicubic, Lanczos, Bilinear} {
		for _, io := range [][2]int{{100, 7}, {7, 100}, {61, 61}, {4096, 2048}, {3, 1}, {1, 3}} {
			c := computeCoefficients(io[0], io[1], f)
			for i := range io[1] {
				sum := int64(0)
				for _, k := range c.k[i*c.ksize : i*c.ksize+c.n[i]] {
					sum += int64(k)
				}
				if d := sum - 1<<precisionBits; d > int64(c.n[i]) || -d > int64(c.n[i]) {
					t.Errorf("%v %d→%d: taps of output %d sum to %d, want 2^22 ± %d", f, io[0], io[1], i, sum, c.n[i])
				}
				if c.first[i] < 0 || c.first[i]+c.n[i] > io[0] || c.n[i] < 1 || c.n[i] > c.ksize {
					t.Errorf("%v %d→%d: output %d reads %d taps from %d", f, io[0], io[1], i, c.n[i], c.first[i])
				}
			}
		}
	}
}

// BenchmarkResize measures the two resizes of the editing flow on a
// 1024×768 input: the LANCZOS pre-resize to 2368×1792 and the model's
// BICUBIC resize of that to 2336×1760.
func BenchmarkResize(b *testing.B) {
	src := image.NewNRGBA(image.Rect(0, 0, 1024, 768))
	for i := range src.Pix {
		src.Pix[i] = byte(i * 131 >> 3)
	}
	pre, err := Resize(src, 2368, 1792, Lanczos)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("lanczos_1024x768_to_2368x1792", func(b *testing.B) {
		for b.Loop() {
			if _, err := Resize(src, 2368, 1792, Lanczos); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("bicubic_2368x1792_to_2336x1760", func(b *testing.B) {
		for b.Loop() {
			if _, err := Resize(pre, 2336, 1760, Bicubic); err != nil {
				b.Fatal(err)
			}
		}
	})
}
