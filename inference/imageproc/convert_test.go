package imageproc

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/gif"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/image/bmp"
)

// TestConversionsMatchPillow loads pictures of every Pillow mode the PNG and
// GIF readers produce (testdata/make_fixtures.py, Pillow 9.4) and compares
// with what Pillow gave for convert("RGB") (.drop.png) and for
// load_image_native's conversion (.native.png: only mode RGBA is pasted on
// white). All are bit-identical, which is what is asserted.
func TestConversionsMatchPillow(t *testing.T) {
	cases := []struct {
		file string
		mode Mode
	}{
		{"conv_rgba8.png", ModeRGBA},
		{"conv_la8.png", ModeLA},
		{"conv_l8.png", ModeL},
		{"conv_l8_trns.png", ModeL},
		{"conv_rgb8_trns.png", ModeRGB},
		{"conv_p_trns.png", ModeP},
		{"conv_p.png", ModeP},
		{"conv_gif_trns.gif", ModeP},
		// Pillow 9.4 names this mode "I", Pillow ≥ 10 "I;16"; both clip to 255.
		{"conv_i16.png", ModeI16},
		{"conv_bilevel.png", Mode1},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			p, err := Load(filepath.Join("testdata", c.file))
			if err != nil {
				t.Fatal(err)
			}
			if p.Mode != c.mode {
				t.Errorf("mode %q, want %q", p.Mode, c.mode)
			}
			stem := strings.TrimSuffix(c.file, filepath.Ext(c.file))
			for _, v := range []struct {
				suffix string
				alpha  AlphaHandling
			}{{".drop.png", DropAlpha}, {".native.png", CompositeRGBAOnWhite}} {
				want := loadFixtureRGB(t, stem+v.suffix)
				got := p.RGB(v.alpha)
				if got.Rect != want.Rect {
					t.Fatalf("%s: size %v, want %v", v.suffix, got.Rect, want.Rect)
				}
				if maxDiff, n := pixelDiff(got, rgbBytes(want)); n != 0 {
					t.Errorf("%s: %d bytes differ from Pillow (max %d)", v.suffix, n, maxDiff)
				}
				for i := 3; i < len(got.Pix); i += 4 {
					if got.Pix[i] != 255 {
						t.Fatalf("%s: alpha %d at byte %d, want opaque", v.suffix, got.Pix[i], i)
					}
				}
			}
		})
	}
}

// TestConversionFixturesHaveTransparency guards the fixtures themselves: the
// transparent ones must contain transparent pixels whose stored colour is not
// white, or the comparisons above could not tell compositing from dropping.
func TestConversionFixturesHaveTransparency(t *testing.T) {
	for _, name := range []string{"conv_rgba8.png", "conv_la8.png", "conv_p_trns.png", "conv_gif_trns.gif", "conv_rgb8_trns.png"} {
		p, err := Load(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		drop, any := p.RGB(DropAlpha), p.RGB(CompositeAnyOnWhite)
		if _, n := pixelDiff(drop, rgbBytes(any)); n == 0 {
			t.Errorf("%s: compositing on white changes nothing; the fixture has no useful transparency", name)
		}
	}
}

// TestCompositeOnWhite checks Pillow's paste-through-alpha arithmetic on
// hand-computed pixels: out = (255·(255−a) + c·a)/255, rounded.
func TestCompositeOnWhite(t *testing.T) {
	img := image.NewNRGBA(image.Rect(0, 0, 4, 1))
	img.SetNRGBA(0, 0, color.NRGBA{0, 128, 255, 128}) // 127, 191.25 → 191, 255
	img.SetNRGBA(1, 0, color.NRGBA{10, 20, 30, 0})    // fully transparent → white
	img.SetNRGBA(2, 0, color.NRGBA{10, 20, 30, 255})  // opaque → unchanged
	img.SetNRGBA(3, 0, color.NRGBA{100, 0, 200, 1})   // 254.39 → 254, 254, 254.78 → 255
	want := []byte{127, 191, 255, 255, 255, 255, 10, 20, 30, 254, 254, 255}
	for _, alpha := range []AlphaHandling{CompositeRGBAOnWhite, CompositeAnyOnWhite} {
		got := rgbBytes(ToRGB(img, alpha))
		if !bytes.Equal(got, want) {
			t.Errorf("alpha handling %d: got %v, want %v", alpha, got, want)
		}
	}
	got := rgbBytes(ToRGB(img, DropAlpha))
	if want := []byte{0, 128, 255, 10, 20, 30, 10, 20, 30, 100, 0, 200}; !bytes.Equal(got, want) {
		t.Errorf("DropAlpha: got %v, want %v", got, want)
	}
	// Exhaustive check of the rounded division against exact rounding:
	// Pillow's DIV255 equals round-half-up of v/255 for every 0 ≤ v ≤ 255².
	for v := uint32(0); v <= 255*255; v++ {
		if got, want := div255(v), uint8((2*v+255)/510); got != want {
			t.Fatalf("div255(%d) = %d, want %d", v, got, want)
		}
	}
}

// TestCompositeOnlyModeRGBA checks the reference's quirk: load_image_native
// pastes only mode "RGBA" on white; a transparent paletted picture keeps the
// stored colours, unless CompositeAnyOnWhite is asked for.
func TestCompositeOnlyModeRGBA(t *testing.T) {
	pal := image.NewPaletted(image.Rect(0, 0, 2, 1), color.Palette{
		color.NRGBA{200, 10, 10, 0}, color.NRGBA{1, 2, 3, 255},
	})
	pal.Pix[0], pal.Pix[1] = 0, 1
	if m := ModeOf(pal); m != ModeP {
		t.Fatalf("ModeOf(paletted) = %q, want P", m)
	}
	if got := rgbBytes(ToRGB(pal, CompositeRGBAOnWhite)); !bytes.Equal(got, []byte{200, 10, 10, 1, 2, 3}) {
		t.Errorf("CompositeRGBAOnWhite on P: got %v, want stored colours", got)
	}
	if got := rgbBytes(ToRGB(pal, CompositeAnyOnWhite)); !bytes.Equal(got, []byte{255, 255, 255, 1, 2, 3}) {
		t.Errorf("CompositeAnyOnWhite on P: got %v, want white then stored", got)
	}
}

func TestModeOf(t *testing.T) {
	r := image.Rect(0, 0, 1, 1)
	opaque := image.NewNRGBA(r)
	opaque.Pix[3] = 255
	cases := []struct {
		img  image.Image
		want Mode
	}{
		{image.NewGray(r), ModeL},
		{image.NewGray16(r), ModeI16},
		{image.NewCMYK(r), ModeCMYK},
		{image.NewYCbCr(r, image.YCbCrSubsampleRatio420), ModeRGB},
		{opaque, ModeRGB},
		{image.NewNRGBA(r), ModeRGBA}, // alpha 0
		{image.NewNYCbCrA(r, image.YCbCrSubsampleRatio444), ModeRGBA},
	}
	for _, c := range cases {
		if got := ModeOf(c.img); got != c.want {
			t.Errorf("ModeOf(%T) = %q, want %q", c.img, got, c.want)
		}
	}
}

// TestSpecialModes checks 16-bit grey (clipped to 255, Pillow's I;16 → RGB)
// and CMYK (Pillow's cmyk2rgb) on hand-computed values.
func TestSpecialModes(t *testing.T) {
	g := image.NewGray16(image.Rect(0, 0, 4, 1))
	for i, v := range []uint16{0, 254, 256, 65535} {
		g.SetGray16(i, 0, color.Gray16{Y: v})
	}
	if got := rgbBytes(ToRGB(g, DropAlpha)); !bytes.Equal(got, []byte{0, 0, 0, 254, 254, 254, 255, 255, 255, 255, 255, 255}) {
		t.Errorf("16-bit grey: got %v", got)
	}
	c := image.NewCMYK(image.Rect(0, 0, 2, 1))
	copy(c.Pix, []byte{0, 128, 255, 0, 100, 0, 0, 200})
	// nk = 255−K; out = nk − round(ch·nk/255):
	// K 0: 255−0, 255−128, 255−255; K 200 (nk 55): 55−round(21.57) = 33, 55, 55.
	if got := rgbBytes(ToRGB(c, DropAlpha)); !bytes.Equal(got, []byte{255, 127, 0, 33, 55, 55}) {
		t.Errorf("CMYK: got %v", got)
	}
}

// TestLoadBMPAndFormats round-trips pictures through Go's BMP and PNG
// encoders and checks Load reports the format and returns the same pixels.
func TestLoadBMPAndFormats(t *testing.T) {
	src := loadFixtureRGB(t, "resize_src.png")
	dir := t.TempDir()
	var buf bytes.Buffer
	if err := bmp.Encode(&buf, src); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "x.bmp")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if p.Format != "bmp" || p.Mode != ModeRGB {
		t.Errorf("format %q mode %q, want bmp RGB", p.Format, p.Mode)
	}
	if _, n := pixelDiff(p.RGB(DropAlpha), rgbBytes(src)); n != 0 {
		t.Errorf("BMP round trip changed %d bytes", n)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.png")
	if _, err := Load(missing); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing file: error %v does not name the file", err)
	}
	garbage := filepath.Join(dir, "garbage.png")
	if err := os.WriteFile(garbage, []byte("this is not a picture"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(garbage); err == nil || !strings.Contains(err.Error(), "unrecognised picture format") || !strings.Contains(err.Error(), garbage) {
		t.Errorf("garbage file: error %v", err)
	}
	// A PNG cut after its first data bytes.
	var buf bytes.Buffer
	if err := png.Encode(&buf, loadFixtureRGB(t, "resize_src.png")); err != nil {
		t.Fatal(err)
	}
	if _, err := Decode(buf.Bytes()[:buf.Len()/2]); err == nil {
		t.Error("truncated PNG: no error")
	}
	// A PNG header announcing 20000×20000 pixels (above Pillow's bomb limit).
	bomb := append([]byte(nil), pngSignature...)
	ihdr := binary.BigEndian.AppendUint32(nil, 20000)
	ihdr = binary.BigEndian.AppendUint32(ihdr, 20000)
	ihdr = append(ihdr, 8, 2, 0, 0, 0)
	bomb = append(bomb, makeChunk("IHDR", ihdr)...)
	if _, err := Decode(bomb); err == nil || !strings.Contains(err.Error(), "20000×20000") {
		t.Errorf("decompression bomb: error %v", err)
	}
	if _, err := Decode(nil); err == nil {
		t.Error("empty data: no error")
	}
}

// TestGIFFirstFrameLikePillow checks a GIF whose first frame covers only
// part of the logical screen: Pillow returns the whole screen, the area
// outside the frame holding the transparent index (index 0 when there is
// none), and convert("RGB") shows each index's stored colour. Expected
// values are Pillow 9.4's output for the same files.
func TestGIFFirstFrameLikePillow(t *testing.T) {
	pal := color.Palette{color.RGBA{10, 20, 30, 255}, color.RGBA{200, 100, 50, 255}, color.RGBA{1, 250, 3, 255}, color.NRGBA{90, 91, 92, 0}}
	frame := image.NewPaletted(image.Rect(2, 1, 5, 3), pal)
	for i := range frame.Pix {
		frame.Pix[i] = uint8(i % 4)
	}
	encode := func(p color.Palette) []byte {
		f := *frame
		f.Palette = p
		var buf bytes.Buffer
		if err := gif.EncodeAll(&buf, &gif.GIF{Image: []*image.Paletted{&f}, Delay: []int{0}, Config: image.Config{ColorModel: p, Width: 6, Height: 4}}); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	// With transparent index 3 (Go's encoder stores its colour as 0,0,0).
	p, err := Decode(encode(pal))
	if err != nil {
		t.Fatal(err)
	}
	if p.Format != "gif" || p.Mode != ModeP || p.Image.Bounds() != image.Rect(0, 0, 6, 4) {
		t.Fatalf("format %q mode %q bounds %v, want gif P (0,0)-(6,4)", p.Format, p.Mode, p.Image.Bounds())
	}
	wantR := []byte{
		0, 0, 0, 0, 0, 0,
		0, 0, 10, 200, 1, 0,
		0, 0, 0, 10, 200, 0,
		0, 0, 0, 0, 0, 0,
	}
	rgb := p.RGB(DropAlpha)
	for i, w := range wantR {
		if got := rgb.Pix[4*i]; got != w {
			t.Errorf("transparent GIF: pixel (%d,%d) R = %d, want %d", i%6, i/6, got, w)
		}
	}
	// Without transparency the outside area is index 0 (10, 20, 30).
	opaque := append(color.Palette(nil), pal...)
	opaque[3] = color.RGBA{90, 91, 92, 255}
	p, err = Decode(encode(opaque))
	if err != nil {
		t.Fatal(err)
	}
	rgb = p.RGB(DropAlpha)
	wantR = []byte{
		10, 10, 10, 10, 10, 10,
		10, 10, 10, 200, 1, 10,
		10, 10, 90, 10, 200, 10,
		10, 10, 10, 10, 10, 10,
	}
	for i, w := range wantR {
		if got := rgb.Pix[4*i]; got != w {
			t.Errorf("opaque GIF: pixel (%d,%d) R = %d, want %d", i%6, i/6, got, w)
		}
	}
}

// TestLossyFormats compares JPEG and WebP decoding with Pillow 9.4's
// (libjpeg-turbo, libwebp) on a smooth 64×48 picture and two crops
// (testdata/make_fixtures.py). Decode redoes Go's YCbCr → RGB the way those
// libraries do (ycbcr.go); what remains for JPEG is the inverse DCT, which Go
// computes differently from libjpeg's islow IDCT (±1 per plane, up to ±3
// after colour conversion). Lossy WebP is bit-exact (VP8 decoding is fully
// specified). The bounds asserted are the measured ones (max abs diff,
// differing bytes), so a change in either decoder shows. The last column is
// what Go's own conversion gives (imaging.Clone of the decoder's YCbCr), to
// show the fixtures exercise the difference.
func TestLossyFormats(t *testing.T) {
	cases := []struct {
		file               string
		mode               Mode
		maxDiff, differing int
		goMaxDiffAtLeast   int // Go's generic conversion: max abs diff at least this
	}{
		{"lossy_jpeg420.jpg", ModeRGB, 2, 123, 50},
		{"lossy_jpeg422.jpg", ModeRGB, 3, 167, 50},
		{"lossy_jpeg444.jpg", ModeRGB, 2, 154, 0},
		{"lossy_jpegnarrow.jpg", ModeRGB, 0, 0, 1},
		{"lossy_jpeggrey.jpg", ModeL, 1, 78, 0},
		{"lossy_webplossy.webp", ModeRGB, 0, 0, 20},
		{"lossy_webpalpha.webp", ModeRGBA, 0, 0, 20},
		{"lossy_webplossless.webp", ModeRGBA, 0, 0, 0},
	}
	for _, c := range cases {
		data, err := os.ReadFile(filepath.Join("testdata", c.file))
		if err != nil {
			t.Fatal(err)
		}
		p, err := Decode(data)
		if err != nil {
			t.Fatal(err)
		}
		if p.Mode != c.mode {
			t.Errorf("%s: mode %q, want %q", c.file, p.Mode, c.mode)
		}
		want := rgbBytes(loadFixtureRGB(t, strings.TrimSuffix(c.file, filepath.Ext(c.file))+".drop.png"))
		maxDiff, n := pixelDiff(p.RGB(DropAlpha), want)
		raw, _, err := image.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		goMax, goN := pixelDiff(ToRGB(raw, DropAlpha), want)
		t.Logf("%s: max abs diff %d, %d of %d bytes differ (Go's own conversion: %d, %d)", c.file, maxDiff, n, len(want), goMax, goN)
		if maxDiff > c.maxDiff || n > c.differing {
			t.Errorf("%s: max abs diff %d (bound %d), %d bytes differ (bound %d)", c.file, maxDiff, c.maxDiff, n, c.differing)
		}
		if goMax < c.goMaxDiffAtLeast {
			t.Errorf("%s: Go's own conversion is only %d off; the fixture no longer shows the chroma/range difference (want ≥ %d)", c.file, goMax, c.goMaxDiffAtLeast)
		}
	}
}

// TestNoPanicOnBadInput feeds nil and malformed values to every entry point
// that takes a picture; each must return an error or an empty result.
func TestNoPanicOnBadInput(t *testing.T) {
	if got := ToRGB(nil, CompositeRGBAOnWhite); got == nil || !got.Rect.Empty() {
		t.Errorf("ToRGB(nil) = %v, want an empty picture", got)
	}
	var nilPic *Picture
	if got := nilPic.RGB(DropAlpha); got == nil || !got.Rect.Empty() {
		t.Errorf("nil Picture RGB = %v, want an empty picture", got)
	}
	// A paletted picture whose index 5 is past its 2-entry palette: Pillow
	// shows such indexes as black.
	pal := image.NewPaletted(image.Rect(0, 0, 2, 1), color.Palette{color.NRGBA{9, 8, 7, 255}, color.NRGBA{1, 2, 3, 255}})
	pal.Pix[0], pal.Pix[1] = 5, 1
	if got := rgbBytes(ToRGB(pal, DropAlpha)); !bytes.Equal(got, []byte{0, 0, 0, 1, 2, 3}) {
		t.Errorf("out-of-palette index: got %v, want black then (1,2,3)", got)
	}
	short := &image.NRGBA{Pix: make([]byte, 10), Stride: 16, Rect: image.Rect(0, 0, 4, 4)}
	if _, err := Resize(short, 2, 2, Bicubic); err == nil {
		t.Error("Resize of a picture with too few pixel bytes: no error")
	}
	if _, err := NormalizeImageNet(short); err == nil {
		t.Error("Normalize of a picture with too few pixel bytes: no error")
	}
	if err := EncodePNG(&bytes.Buffer{}, nil, nil); err == nil {
		t.Error("EncodePNG(nil): no error")
	}
	if _, err := CanvasToImage(make([]float32, 3), 1<<40, 1<<40); err == nil {
		t.Error("CanvasToImage with an overflowing size: no error")
	}
	// Every prefix of valid files must decode or fail, never panic.
	for _, name := range []string{"conv_p_trns.png", "conv_gif_trns.gif", "lossy_jpeg420.jpg", "lossy_webpalpha.webp", "lossy_webplossless.webp"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		for n := 0; n < len(data); n += 1 + n/16 {
			if p, err := Decode(data[:n]); err == nil {
				_ = p.RGB(CompositeAnyOnWhite)
			}
		}
	}
}
