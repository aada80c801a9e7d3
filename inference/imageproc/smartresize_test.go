package imageproc

import (
	"strings"
	"testing"
)

func TestSmartResize(t *testing.T) {
	const k = 1 << 30 // a budget that never triggers
	cases := []struct {
		name                 string
		h, w, factor, mn, mx int
		wantH, wantW         int
	}{
		// MODEL.md 6.2 VQA examples (given as W×H there).
		{"VQA 1000×750", 750, 1000, 32, VQAMinPixels, VQAMaxPixels, 736, 992},
		{"VQA 200×100 (ceil branch)", 100, 200, 32, VQAMinPixels, VQAMaxPixels, 192, 384},
		{"VQA 4000×3000 (floor branch)", 3000, 4000, 32, VQAMinPixels, VQAMaxPixels, 1760, 2336},
		// PIPELINES.md 4.2: 1.webp 672×1024 pre-resized with min = max = 2048²
		// overshoots to 1664×2560, which the model floors to 1632×2528
		// (51×79 = 4029 tokens).
		{"edit pre-resize 672×1024", 1024, 672, 32, 4194304, 4194304, 2560, 1664},
		{"edit model 1664×2560", 2560, 1664, 32, ContextMinPixels, ContextMaxPixels(1), 2528, 1632},
		// MODEL.md 6.1: 1024×768 pre-resized to 2368×1792, output 2336×1760.
		{"edit pre-resize 1024×768", 768, 1024, 32, 4194304, 4194304, 1792, 2368},
		{"edit output 2368×1792", 1792, 2368, 32, 4194304, 4194304, 1760, 2336},
		// PIPELINES.md 5.2: interleave output for a 1920×1303 input.
		{"interleave 1920×1303", 1303, 1920, 32, InterleaveMinPixels, InterleaveMaxPixels, 1184, 1728},
		// Golden inputs (edit: 300×200 and 160×240; VQA: 256×192).
		{"golden edit 300×200", 200, 300, 32, ContextMinPixels, ContextMaxPixels(1), 448, 640},
		{"golden edit 160×240", 240, 160, 32, ContextMinPixels, ContextMaxPixels(1), 640, 448},
		{"golden vqa 256×192", 192, 256, 32, VQAMinPixels, VQAMaxPixels, 224, 320},
		// Python's round is half to even.
		{"80/32 = 2.5 → 2", 80, 80, 32, 0, k, 64, 64},
		{"112/32 = 3.5 → 4", 112, 112, 32, 0, k, 128, 128},
		{"48/32 = 1.5 → 2, 16/32 = 0.5 → 0 → factor", 48, 16, 32, 0, k, 64, 32},
		{"208/32 = 6.5 → 6", 208, 32, 32, 0, k, 192, 32},
		// Aspect ratio exactly 200 is accepted; the ceil branch has no clamp.
		{"1×200 at ratio 200", 1, 200, 32, VQAMinPixels, VQAMaxPixels, 32, 3648},
		{"exact multiple unchanged", 512, 768, 32, ContextMinPixels, ContextMaxPixels(1), 512, 768},
		{"factor 16", 100, 100, 16, 0, k, 96, 96},
	}
	for _, c := range cases {
		h, w, err := SmartResize(c.h, c.w, c.factor, c.mn, c.mx)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if h != c.wantH || w != c.wantW {
			t.Errorf("%s: SmartResize(%d, %d, %d, %d, %d) = %d×%d, want %d×%d", c.name, c.h, c.w, c.factor, c.mn, c.mx, h, w, c.wantH, c.wantW)
		}
	}
}

func TestSmartResizeTokens(t *testing.T) {
	h, w, err := SmartResize(2560, 1664, Factor, ContextMinPixels, ContextMaxPixels(1))
	if err != nil {
		t.Fatal(err)
	}
	if n := (h / TokenSize) * (w / TokenSize); n != 4029 {
		t.Errorf("1664×2560 gives %d context tokens, want 4029", n)
	}
	h, w, err = SmartResize(750, 1000, Factor, VQAMinPixels, VQAMaxPixels)
	if err != nil {
		t.Fatal(err)
	}
	if n := (h / TokenSize) * (w / TokenSize); n != 713 {
		t.Errorf("VQA 1000×750 gives %d tokens, want 713", n)
	}
}

func TestSmartResizeErrors(t *testing.T) {
	cases := []struct {
		name                 string
		h, w, factor, mn, mx int
		wantInMessage        string
	}{
		{"1×40000", 1, 40000, 32, VQAMinPixels, VQAMaxPixels, "1×40000"},
		{"40000×1", 40000, 1, 32, VQAMinPixels, VQAMaxPixels, "aspect ratio 40000"},
		{"ratio 201", 1, 201, 32, VQAMinPixels, VQAMaxPixels, "aspect ratio 201"},
		{"zero height", 0, 100, 32, VQAMinPixels, VQAMaxPixels, "0×100"},
		{"zero width", 100, 0, 32, VQAMinPixels, VQAMaxPixels, "100×0"},
		{"negative", -5, 100, 32, VQAMinPixels, VQAMaxPixels, "-5×100"},
		{"zero factor", 100, 100, 0, VQAMinPixels, VQAMaxPixels, "factor 0"},
		{"zero max pixels", 100, 100, 32, 0, 0, "max pixels 0"},
		{"huge side", 1 << 25, 1 << 25, 32, 0, 1, "not supported"},
	}
	for _, c := range cases {
		h, w, err := SmartResize(c.h, c.w, c.factor, c.mn, c.mx)
		if err == nil {
			t.Errorf("%s: got %d×%d, want an error", c.name, h, w)
			continue
		}
		if !strings.Contains(err.Error(), c.wantInMessage) {
			t.Errorf("%s: error %q does not mention %q", c.name, err, c.wantInMessage)
		}
	}
}

func TestContextMaxPixels(t *testing.T) {
	for _, c := range []struct{ n, want int }{{0, 4194304}, {1, 4194304}, {4, 4194304}, {5, 3355443}, {10, 1677721}} {
		if got := ContextMaxPixels(c.n); got != c.want {
			t.Errorf("ContextMaxPixels(%d) = %d, want %d", c.n, got, c.want)
		}
	}
}

func TestInterleaveOutputSize(t *testing.T) {
	h, w, err := InterleaveOutputSize(1303, 1920)
	if err != nil || h != 1184 || w != 1728 {
		t.Errorf("InterleaveOutputSize(1303, 1920) = %d, %d, %v; want 1184, 1728", h, w, err)
	}
	// A small picture is scaled up to at least 512² pixels.
	h, w, err = InterleaveOutputSize(100, 100)
	if err != nil || h != 512 || w != 512 {
		t.Errorf("InterleaveOutputSize(100, 100) = %d, %d, %v; want 512, 512", h, w, err)
	}
	if _, _, err := InterleaveOutputSize(0, 10); err == nil {
		t.Error("InterleaveOutputSize(0, 10): no error")
	}
}
