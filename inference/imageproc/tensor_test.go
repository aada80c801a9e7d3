package imageproc

import (
	"image"
	"math"
	"math/rand/v2"
	"testing"
)

// TestNormalizeImageNet checks a few pixels against values computed with
// numpy float32 the way torchvision does it (float32(u)/255, then
// (x − mean)/std, each rounded to float32). The bit patterns differ from a
// float64 computation for u = 128 and 200, so the float32 order matters.
func TestNormalizeImageNet(t *testing.T) {
	want := map[uint8][3]uint32{
		0:   {0xc0078bbd, 0xc0024924, 0xbfe6f809},
		1:   {0xc006732b, 0xc0012a4f, 0xbfe4bcea},
		128: {0x3d97af32, 0x3e521b48, 0x3eda5d3c},
		200: {0x3fa74d4f, 0x3fbb9b9c, 0x3fd737ef},
		255: {0x400fee1d, 0x401b6db7, 0x4028f5c3},
	}
	order := []uint8{0, 1, 128, 200, 255}
	// One row of 5 pixels; pixel i has value order[i] in R, G and B, and a
	// second row with the channels rotated, to catch channel mix-ups.
	img := image.NewNRGBA(image.Rect(0, 0, 5, 2))
	for i, v := range order {
		copy(img.Pix[4*i:], []byte{v, v, v, 255})
		copy(img.Pix[img.Stride+4*i:], []byte{v, 0, 255, 255})
	}
	x, err := NormalizeImageNet(img)
	if err != nil {
		t.Fatal(err)
	}
	if len(x) != 3*2*5 {
		t.Fatalf("got %d values, want 30", len(x))
	}
	at := func(c, y, xx int) uint32 { return math.Float32bits(x[c*10+y*5+xx]) }
	for i, v := range order {
		for c := 0; c < 3; c++ {
			if got := at(c, 0, i); got != want[v][c] {
				t.Errorf("u8 %d channel %d: got %v (%#08x), want %v (%#08x)", v, c, math.Float32frombits(got), got, math.Float32frombits(want[v][c]), want[v][c])
			}
		}
		if got := at(0, 1, i); got != want[v][0] {
			t.Errorf("row 1 pixel %d R: got %#08x, want %#08x", i, got, want[v][0])
		}
		if got := at(1, 1, i); got != want[0][1] {
			t.Errorf("row 1 pixel %d G: got %#08x, want %#08x", i, got, want[0][1])
		}
		if got := at(2, 1, i); got != want[255][2] {
			t.Errorf("row 1 pixel %d B: got %#08x, want %#08x", i, got, want[255][2])
		}
	}
}

func TestNormalizeErrors(t *testing.T) {
	if _, err := Normalize(nil, ImageNetMean, ImageNetStd); err == nil {
		t.Error("nil picture: no error")
	}
	if _, err := Normalize(image.NewNRGBA(image.Rect(0, 0, 0, 0)), ImageNetMean, ImageNetStd); err == nil {
		t.Error("empty picture: no error")
	}
	if _, err := Normalize(image.NewNRGBA(image.Rect(0, 0, 1, 1)), ImageNetMean, [3]float32{1, 0, 1}); err == nil {
		t.Error("zero std: no error")
	}
}

// TestCanvasRoundTrip checks CanvasToImage(ImageToCanvas(p)) == p for every
// byte value in every channel, and the model-space value of byte 128.
func TestCanvasRoundTrip(t *testing.T) {
	img := image.NewNRGBA(image.Rect(0, 0, 256, 3))
	for x := 0; x < 256; x++ {
		for y := 0; y < 3; y++ {
			o := img.Pix[img.PixOffset(x, y):]
			o[0], o[1], o[2], o[3] = byte(x), byte(255-x), byte(x*7+y), 255
		}
	}
	c, err := ImageToCanvas(img)
	if err != nil {
		t.Fatal(err)
	}
	// (float32(128)/255 − 0.5)/0.5 in float32, from numpy.
	if got := math.Float32bits(c[128]); got != 0x3b808100 {
		t.Errorf("byte 128 in model space: got %#08x, want 0x3b808100", got)
	}
	back, err := CanvasToImage(c, 3, 256)
	if err != nil {
		t.Fatal(err)
	}
	if maxDiff, n := pixelDiff(back, rgbBytes(img)); n != 0 {
		t.Errorf("round trip changed %d bytes (max %d)", n, maxDiff)
	}
}

// TestCanvasToImage checks the clamp bounds, exact .5 ties (numpy rounds half
// to even) and non-finite values. The tie inputs were found with numpy: each
// x gives float32(0.5·x + 0.5)·255 = k + 0.5 exactly in float32.
func TestCanvasToImage(t *testing.T) {
	cases := []struct {
		name string
		x    float32
		want uint8
	}{
		{"−1 → 0", -1, 0},
		{"1 → 255", 1, 255},
		{"0 → 127.5 → 128 (tie, even)", 0, 128},
		{"below −1 clamps", -3.5, 0},
		{"above 1 clamps", 2, 255},
		{"64.5 → 64", math.Float32frombits(0xbefcfcfc), 64},
		{"128.5 → 128", math.Float32frombits(0x3c008080), 128},
		{"200.5 → 200", math.Float32frombits(0x3f129292), 200},
		{"201.5 → 202", math.Float32frombits(0x3f149494), 202},
		{"253.5 → 254", math.Float32frombits(0x3f7cfcfc), 254},
		{"254.5 → 254", math.Float32frombits(0x3f7efefe), 254},
		{"10.7 → 11", float32(2*10.7/255 - 1), 11},
		{"10.3 → 10", float32(2*10.3/255 - 1), 10},
		{"NaN → 0", float32(math.NaN()), 0},
		{"+Inf → 255", float32(math.Inf(1)), 255},
		{"−Inf → 0", float32(math.Inf(-1)), 0},
		{"−0 → 128", float32(math.Copysign(0, -1)), 128},
	}
	// One canvas of 1×len pixels; channel c holds the case rotated by c, so a
	// channel mix-up shows.
	n := len(cases)
	x := make([]float32, 3*n)
	for c := 0; c < 3; c++ {
		for i := range cases {
			x[c*n+i] = cases[(i+c)%n].x
		}
	}
	img, err := CanvasToImage(x, 1, n)
	if err != nil {
		t.Fatal(err)
	}
	for c := 0; c < 3; c++ {
		for i := range cases {
			want := cases[(i+c)%n]
			if got := img.Pix[4*i+c]; got != want.want {
				t.Errorf("%s (channel %d): got %d, want %d", want.name, c, got, want.want)
			}
		}
	}
	for i := 0; i < n; i++ {
		if img.Pix[4*i+3] != 255 {
			t.Fatalf("pixel %d alpha %d, want 255", i, img.Pix[4*i+3])
		}
	}
}

func TestCanvasToImageErrors(t *testing.T) {
	if _, err := CanvasToImage(make([]float32, 11), 2, 2); err == nil {
		t.Error("wrong length: no error")
	}
	if _, err := CanvasToImage(nil, 0, 2); err == nil {
		t.Error("zero height: no error")
	}
}

func randomCanvas(h, w int, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 1))
	x := make([]float32, 3*h*w)
	for i := range x {
		x[i] = r.Float32()*2 - 1
	}
	return x
}

// TestPatchify16Layout checks every element against MODEL.md 3.14:
// out[(r·gw + c)·768 + ch·256 + py·16 + px] = x[ch, 16r+py, 16c+px].
func TestPatchify16Layout(t *testing.T) {
	const h, w = 48, 80
	x := randomCanvas(h, w, 16)
	p, gh, gw, err := Patchify16(x, h, w)
	if err != nil {
		t.Fatal(err)
	}
	if gh != 3 || gw != 5 || len(p) != gh*gw*768 {
		t.Fatalf("grid %d×%d, %d values; want 3×5, %d", gh, gw, len(p), 15*768)
	}
	for r := 0; r < gh; r++ {
		for c := 0; c < gw; c++ {
			for ch := 0; ch < 3; ch++ {
				for py := 0; py < 16; py++ {
					for px := 0; px < 16; px++ {
						got := p[(r*gw+c)*768+ch*256+py*16+px]
						want := x[(ch*h+16*r+py)*w+16*c+px]
						if got != want {
							t.Fatalf("patch (%d,%d) ch %d py %d px %d: got %v, want %v", r, c, ch, py, px, got, want)
						}
					}
				}
			}
		}
	}
}

// TestPatchify32Layout checks every element against MODEL.md 3.14:
// out[(r·tw + c)·3072 + (py·32 + px)·3 + ch] = x[ch, 32r+py, 32c+px],
// and that Unpatchify32 inverts it exactly.
func TestPatchify32Layout(t *testing.T) {
	const h, w = 64, 96
	x := randomCanvas(h, w, 32)
	z, err := Patchify32(x, h, w)
	if err != nil {
		t.Fatal(err)
	}
	th, tw := h/32, w/32
	if len(z) != th*tw*3072 {
		t.Fatalf("%d values, want %d", len(z), th*tw*3072)
	}
	for r := 0; r < th; r++ {
		for c := 0; c < tw; c++ {
			for py := 0; py < 32; py++ {
				for px := 0; px < 32; px++ {
					for ch := 0; ch < 3; ch++ {
						got := z[(r*tw+c)*3072+(py*32+px)*3+ch]
						want := x[(ch*h+32*r+py)*w+32*c+px]
						if got != want {
							t.Fatalf("token (%d,%d) py %d px %d ch %d: got %v, want %v", r, c, py, px, ch, got, want)
						}
					}
				}
			}
		}
	}
	back, err := Unpatchify32(z, h, w)
	if err != nil {
		t.Fatal(err)
	}
	for i := range x {
		if math.Float32bits(back[i]) != math.Float32bits(x[i]) {
			t.Fatalf("Unpatchify32(Patchify32(x))[%d] = %v, want %v", i, back[i], x[i])
		}
	}
}

func TestPatchErrors(t *testing.T) {
	x := make([]float32, 3*40*64)
	if _, _, _, err := Patchify16(x, 40, 64); err == nil {
		t.Error("Patchify16 40×64: no error (40 is not a multiple of 16)")
	}
	if _, err := Patchify32(x, 40, 64); err == nil {
		t.Error("Patchify32 40×64: no error (40 is not a multiple of 32)")
	}
	if _, _, _, err := Patchify16(x[:10], 32, 32); err == nil {
		t.Error("Patchify16 short slice: no error")
	}
	if _, err := Patchify32(x, 32, 32); err == nil {
		t.Error("Patchify32 length mismatch: no error")
	}
	if _, err := Unpatchify32(make([]float32, 3072), 32, 64); err == nil {
		t.Error("Unpatchify32 one token for two: no error")
	}
	if _, err := Unpatchify32(make([]float32, 3072), 48, 32); err == nil {
		t.Error("Unpatchify32 48×32: no error")
	}
	if _, err := Unpatchify32(nil, 0, 32); err == nil {
		t.Error("Unpatchify32 zero height: no error")
	}
}
