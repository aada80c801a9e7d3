package montage

import (
	"encoding/binary"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/image/font/gofont/goregular"

	"github.com/sensenova/studio/inference/imageproc"
)

// solid returns a w×h picture of one colour.
func solid(w, h int, c color.NRGBA) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, c.A
	}
	return img
}

// gradient returns a w×h picture with varied pixels, so that a resize is
// visible in its values.
func gradient(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.SetNRGBA(x, y, color.NRGBA{uint8(x * 255 / max(1, w-1)), uint8(y * 255 / max(1, h-1)), uint8((x * y) % 256), 255})
		}
	}
	return img
}

var (
	red   = color.NRGBA{200, 30, 30, 255}
	green = color.NRGBA{30, 200, 30, 255}
	blue  = color.NRGBA{30, 30, 200, 255}
)

// builtinLineHeight is int(1.3 × glyph-box height of "Ag中") for Go Regular
// at 18 px (box height 17: "A"/"g" plus the missing-glyph box).
const builtinLineHeight = 22

func TestLineHeightBuiltin(t *testing.T) {
	face, err := builtinFonts().face(18)
	if err != nil {
		t.Fatal(err)
	}
	if got := lineHeight(face); got != builtinLineHeight {
		t.Fatalf("line height of Go Regular at 18 px = %d, want %d", got, builtinLineHeight)
	}
}

func TestFontSize(t *testing.T) {
	for r, want := range map[int]int{1: 18, 540: 18, 569: 18, 570: 19, 1024: 34, 2048: 68} {
		if got := FontSize(r); got != want {
			t.Errorf("FontSize(%d) = %d, want %d", r, got, want)
		}
	}
}

func TestScaledWidth(t *testing.T) {
	tests := []struct{ w, h, r, want int }{
		{100, 80, 80, 100}, // same height: unchanged
		{100, 50, 80, 160},
		{672, 1024, 2528, 1659}, // 1658.98…
		{3, 2, 5, 8},            // 7.5 → 8 (half to even)
		{5, 2, 1, 2},            // 2.5 → 2 (half to even)
		{7, 2, 1, 4},            // 3.5 → 4
		{1, 6, 3, 1},            // 0.5 → 0 → at least 1
		{1, 1000, 10, 1},        // 0.01 → at least 1
	}
	for _, tt := range tests {
		if got := ScaledWidth(tt.w, tt.h, tt.r); got != tt.want {
			t.Errorf("ScaledWidth(%d, %d, %d) = %d, want %d", tt.w, tt.h, tt.r, got, tt.want)
		}
	}
}

func TestGeometry(t *testing.T) {
	fonts := builtinFonts()
	tests := []struct {
		name         string
		inputs       [][2]int // w, h
		output       [2]int
		prompt       string
		wantW, wantH int
	}{
		// 100×50 → 160×80; canvas 160 + 60 + 40 + 16·4 = 324 wide.
		{"no text", [][2]int{{100, 50}, {60, 80}}, [2]int{40, 80}, "", 324, 80 + 32 + 32},
		{"one line", [][2]int{{100, 50}, {60, 80}}, [2]int{40, 80}, "a cat", 324, 80 + 32 + builtinLineHeight + 32},
		{"three paragraphs", [][2]int{{100, 50}, {60, 80}}, [2]int{40, 80}, "one\ntwo\n\nthree", 324, 80 + 32 + 3*builtinLineHeight + 32},
		{"no inputs", nil, [2]int{64, 48}, "x", 64 + 32, 48 + 32 + builtinLineHeight + 32},
		// 300×200 → 96×64: a narrow canvas (96 + 64 + 48 = 208, text width
		// 176) where 7-px-ish words wrap onto several lines.
		{"wrapped", [][2]int{{300, 200}}, [2]int{64, 64}, strings.Repeat("word ", 40), 96 + 64 + 48, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var inputs []*image.NRGBA
			for _, s := range tt.inputs {
				inputs = append(inputs, gradient(s[0], s[1]))
			}
			got, err := Compare(inputs, gradient(tt.output[0], tt.output[1]), tt.prompt, fonts)
			if err != nil {
				t.Fatal(err)
			}
			wantH := tt.wantH
			if wantH < 0 {
				face, _ := fonts.face(FontSize(tt.output[1]))
				lines := wrapText(tt.prompt, int64(tt.wantW-32)<<6, func(s string) int64 { return int64(measure(face, s)) })
				if len(lines) < 3 {
					t.Fatalf("prompt wrapped onto %d lines, want several: %q", len(lines), lines)
				}
				for _, l := range lines {
					if w := measure(face, l).Ceil(); w > tt.wantW-32 {
						t.Errorf("line %q is %d px wide, limit %d", l, w, tt.wantW-32)
					}
				}
				wantH = tt.output[1] + 32 + len(lines)*builtinLineHeight + 32
			}
			if b := got.Bounds(); b != image.Rect(0, 0, tt.wantW, wantH) {
				t.Fatalf("canvas %v, want %d×%d", b, tt.wantW, wantH)
			}
		})
	}
}

// TestLargeRowFont: a 1024-px row uses a 34-px font, so lines are taller.
func TestLargeRowFont(t *testing.T) {
	fonts := builtinFonts()
	face, _ := fonts.face(34)
	lh := lineHeight(face)
	if lh <= builtinLineHeight {
		t.Fatalf("line height at 34 px = %d, want more than at 18 px", lh)
	}
	got, err := Compare(nil, solid(16, 1024, blue), "a\nb", fonts)
	if err != nil {
		t.Fatal(err)
	}
	if want := image.Rect(0, 0, 48, 1024+32+2*lh+32); got.Bounds() != want {
		t.Fatalf("canvas %v, want %v", got.Bounds(), want)
	}
}

// TestInputResize: an input of another height is Lanczos-resized to the row
// height exactly as imageproc.Resize does it, and pasted at (16, 16); an
// input of the row height is pasted unchanged (alpha dropped).
func TestInputResize(t *testing.T) {
	in := gradient(90, 60)
	same := gradient(30, 40)
	same.Pix[3] = 0 // transparent pixel: pasted opaque with its colour
	out := solid(20, 40, red)
	got, err := Compare([]*image.NRGBA{in, same}, out, "", builtinFonts())
	if err != nil {
		t.Fatal(err)
	}
	want, err := imageproc.Resize(in, 60, 40, imageproc.Lanczos)
	if err != nil {
		t.Fatal(err)
	}
	if w := 60 + 30 + 20 + 16*4; got.Rect.Dx() != w {
		t.Fatalf("canvas width %d, want %d", got.Rect.Dx(), w)
	}
	for y := 0; y < 40; y++ {
		for x := 0; x < 60; x++ {
			if g, w := got.NRGBAAt(16+x, 16+y), want.NRGBAAt(x, y); g != w {
				t.Fatalf("resized input at (%d, %d) = %v, want %v", x, y, g, w)
			}
		}
		for x := 0; x < 30; x++ {
			w := same.NRGBAAt(x, y)
			w.A = 255
			if g := got.NRGBAAt(16+60+16+x, 16+y); g != w {
				t.Fatalf("same-height input at (%d, %d) = %v, want %v", x, y, g, w)
			}
		}
		for x := 0; x < 20; x++ {
			if g := got.NRGBAAt(16+60+16+30+16+x, 16+y); g != red {
				t.Fatalf("output at (%d, %d) = %v, want %v", x, y, g, red)
			}
		}
	}
}

func isWhite(c color.NRGBA) bool { return c == color.NRGBA{255, 255, 255, 255} }

// TestTextPixels: the prompt puts dark pixels in the text band, and the
// padding of the picture band stays white.
func TestTextPixels(t *testing.T) {
	for _, tc := range []struct {
		name   string
		fonts  *Fonts
		prompt string
	}{
		{"latin", builtinFonts(), "Make the sky green and add a small red boat."},
		{"cjk without cjk font", builtinFonts(), "把天空变成绿色"},
		{"system font", FindFonts(), "Make the sky green 把天空变成绿色"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const r = 120
			inputs := []*image.NRGBA{solid(80, r, green), solid(50, 100, blue)}
			got, err := Compare(inputs, solid(100, r, red), tc.prompt, tc.fonts)
			if err != nil {
				t.Fatal(err)
			}
			W, H := got.Rect.Dx(), got.Rect.Dy()
			// Picture columns: [16, 96), [112, 172), [188, 288).
			pics := [][2]int{{16, 96}, {112, 172}, {188, 288}}
			if W != 288+16 {
				t.Fatalf("canvas width %d, want %d", W, 304)
			}
			inPicture := func(x, y int) bool {
				if y < 16 || y >= 16+r {
					return false
				}
				for _, p := range pics {
					if x >= p[0] && x < p[1] {
						return true
					}
				}
				return false
			}
			for y := 0; y < r+32; y++ {
				for x := 0; x < W; x++ {
					c := got.NRGBAAt(x, y)
					if inPicture(x, y) {
						if isWhite(c) {
							t.Fatalf("picture pixel (%d, %d) is white", x, y)
						}
					} else if !isWhite(c) {
						t.Fatalf("padding pixel (%d, %d) of the picture band = %v, want white", x, y, c)
					}
				}
			}
			dark := 0
			for y := r + 32; y < H; y++ {
				for x := 0; x < W; x++ {
					c := got.NRGBAAt(x, y)
					if c.A != 255 {
						t.Fatalf("pixel (%d, %d) not opaque: %v", x, y, c)
					}
					if !isWhite(c) {
						if c.R != c.G || c.G != c.B {
							t.Fatalf("text pixel (%d, %d) = %v, want grey (black text on white)", x, y, c)
						}
						if x < 16 {
							t.Errorf("text pixel (%d, %d) left of the margin", x, y)
						}
						dark++
					}
				}
			}
			if dark == 0 {
				t.Fatal("no text pixels in the text band")
			}
		})
	}
}

func TestCompareErrors(t *testing.T) {
	ok := solid(8, 8, red)
	bad := solid(8, 8, red)
	bad.Pix = bad.Pix[:10]
	tests := []struct {
		name   string
		inputs []*image.NRGBA
		output *image.NRGBA
		want   string
	}{
		{"nil output", nil, nil, "output picture"},
		{"empty output", nil, image.NewNRGBA(image.Rect(0, 0, 0, 5)), "empty"},
		{"nil input", []*image.NRGBA{ok, nil}, ok, "input picture 2"},
		{"short pixels", []*image.NRGBA{bad}, ok, "pixel bytes"},
	}
	for _, tt := range tests {
		_, err := Compare(tt.inputs, tt.output, "p", builtinFonts())
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want one mentioning %q", tt.name, err, tt.want)
		}
	}
}

func TestCompareSubImage(t *testing.T) {
	big := gradient(40, 40)
	sub := big.SubImage(image.Rect(10, 10, 30, 30)).(*image.NRGBA)
	got, err := Compare([]*image.NRGBA{sub}, solid(20, 20, red), "", builtinFonts())
	if err != nil {
		t.Fatal(err)
	}
	if g, w := got.NRGBAAt(16, 16), big.NRGBAAt(10, 10); g != w {
		t.Fatalf("sub-image pasted from the wrong origin: %v, want %v", g, w)
	}
}

// makeTTC wraps a single TrueType font into a one-font collection.
func makeTTC(ttf []byte) []byte {
	const hdr = 16 // "ttcf", version, numFonts, one offset
	out := make([]byte, hdr+len(ttf))
	copy(out, "ttcf")
	binary.BigEndian.PutUint32(out[4:], 0x00010000)
	binary.BigEndian.PutUint32(out[8:], 1)
	binary.BigEndian.PutUint32(out[12:], hdr)
	copy(out[hdr:], ttf)
	numTables := int(binary.BigEndian.Uint16(ttf[4:]))
	for i := 0; i < numTables; i++ {
		off := hdr + 12 + 16*i + 8 // the record's offset field
		binary.BigEndian.PutUint32(out[off:], binary.BigEndian.Uint32(out[off:])+hdr)
	}
	return out
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoadFontCollection(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "Go.ttc")
	writeFile(t, path, makeTTC(goregular.TTF))
	f, err := LoadFont(path)
	if err != nil {
		t.Fatal(err)
	}
	if f.Name() != "Go Regular" || f.Path() != path || f.HasCJK() {
		t.Fatalf("LoadFont(ttc) = %q %q cjk=%v", f.Name(), f.Path(), f.HasCJK())
	}
	if _, err := Compare(nil, solid(10, 10, red), "hi", f); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadFont(filepath.Join(dir, "missing.ttf")); err == nil {
		t.Fatal("LoadFont of a missing file succeeded")
	}
	writeFile(t, filepath.Join(dir, "junk.ttf"), []byte("not a font"))
	if _, err := LoadFont(filepath.Join(dir, "junk.ttf")); err == nil || !strings.Contains(err.Error(), "junk.ttf") {
		t.Fatalf("LoadFont of junk: err = %v", err)
	}
}

// TestFindFontsOrder uses stand-in font files (Go Regular under the
// reference's file names) to check the order of preference, that a file
// which does not parse is skipped, and the built-in fallback.
func TestFindFontsOrder(t *testing.T) {
	ttf, ttc := goregular.TTF, makeTTC(goregular.TTF)
	junk := []byte("broken")

	a, b := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(a, "truetype/dejavu/DejaVuSans.ttf"), ttf)
	writeFile(t, filepath.Join(a, "truetype/wqy/wqy-zenhei.ttc"), ttc)
	writeFile(t, filepath.Join(b, "wenquanyi/wqy-microhei/wqy-microhei.ttc"), ttc)
	writeFile(t, filepath.Join(b, "opentype/noto/NotoSansCJK-Regular.ttc"), junk) // not loadable
	writeFile(t, filepath.Join(b, "opentype/noto/NotoSansCJK-Bold.ttc"), ttc)
	writeFile(t, filepath.Join(b, "misc/Arial.ttf"), ttf)

	tests := []struct {
		dirs []string
		want string
	}{
		{[]string{a, b}, filepath.Join(b, "opentype/noto/NotoSansCJK-Bold.ttc")},
		{[]string{a}, filepath.Join(a, "truetype/wqy/wqy-zenhei.ttc")},
		{[]string{filepath.Join(a, "truetype/dejavu")}, filepath.Join(a, "truetype/dejavu/DejaVuSans.ttf")},
		{[]string{filepath.Join(b, "misc"), filepath.Join(a, "nonexistent")}, ""},
		{nil, ""},
	}
	for _, tt := range tests {
		f := findFonts(tt.dirs)
		if f.Path() != tt.want {
			t.Errorf("findFonts(%q) chose %q, want %q", tt.dirs, f.Path(), tt.want)
		}
	}
	if f := findFonts(nil); f.Name() != "Go Regular (built-in)" || f.HasCJK() {
		t.Errorf("built-in fallback: %q cjk=%v", f.Name(), f.HasCJK())
	}

	// Microhei is preferred to Zen Hei wherever they are.
	if f := findFonts([]string{a, filepath.Join(b, "wenquanyi")}); !strings.HasSuffix(f.Path(), "wqy-microhei.ttc") {
		t.Errorf("chose %q, want wqy-microhei.ttc", f.Path())
	}
}

func TestFindFontsSystem(t *testing.T) {
	f := FindFonts()
	if f == nil || f.Name() == "" {
		t.Fatalf("FindFonts() = %v", f)
	}
	if FindFonts() != f {
		t.Error("FindFonts() searched twice")
	}
	t.Logf("system font: %s (%s), CJK: %v", f.Name(), f.Path(), f.HasCJK())
}
