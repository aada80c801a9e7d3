package ui

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

// The screenshot tests check that a capture of the window is not blank and
// write it to $SENSENOVA_SCREENSHOTS/<name>.png when that is set (the
// pictures in docs/screenshots).

// distinctColours counts the 8-bit colours of img sampled every stride
// pixels in both directions.
func distinctColours(img image.Image, stride int) int {
	colours := map[[3]uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += stride {
		for x := b.Min.X; x < b.Max.X; x += stride {
			r, g, bl, _ := img.At(x, y).RGBA()
			colours[[3]uint32{r >> 8, g >> 8, bl >> 8}] = true
		}
	}
	return len(colours)
}

// saveScreenshot writes img as $SENSENOVA_SCREENSHOTS/<name>.png when that
// is set.
func saveScreenshot(t *testing.T, img image.Image, name string) {
	t.Helper()
	dir := os.Getenv("SENSENOVA_SCREENSHOTS")
	if dir == "" {
		return
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}
