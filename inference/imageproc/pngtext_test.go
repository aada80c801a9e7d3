package imageproc

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"hash/crc32"
	"image/png"
	"path/filepath"
	"strings"
	"testing"
)

// pngChunks lists the chunk types of a PNG file in order, checking every CRC.
func pngChunks(t *testing.T, data []byte) []string {
	t.Helper()
	if !bytes.HasPrefix(data, pngSignature) {
		t.Fatal("no PNG signature")
	}
	var kinds []string
	for pos := 8; pos < len(data); {
		if pos+12 > len(data) {
			t.Fatalf("truncated chunk at %d", pos)
		}
		n := int(binary.BigEndian.Uint32(data[pos:]))
		kind := string(data[pos+4 : pos+8])
		end := pos + 8 + n
		if end+4 > len(data) {
			t.Fatalf("chunk %s at %d overruns the file", kind, pos)
		}
		if got, want := crc32.ChecksumIEEE(data[pos+4:end]), binary.BigEndian.Uint32(data[end:]); got != want {
			t.Fatalf("chunk %s at %d: CRC %08x, stored %08x", kind, pos, got, want)
		}
		kinds = append(kinds, kind)
		pos = end + 4
	}
	return kinds
}

func TestEncodePNGText(t *testing.T) {
	img := loadFixtureRGB(t, "resize_src.png")
	text := []TextChunk{
		{"prompt", "A red fox sitting in fresh snow at dawn, 雪地里的红狐狸"},
		{"seed", "42"},
		{"Comment", "café, 50% — no: em dash is not Latin-1"},
		{"Software", "SenseNova Studio ×2 ÿ"},
		{"empty", ""},
	}
	var buf bytes.Buffer
	if err := EncodePNG(&buf, img, text); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()

	// Layout: IHDR first, our chunks right after it, in order, with the
	// right kind (tEXt when the value is Latin-1, iTXt otherwise).
	kinds := pngChunks(t, data)
	want := []string{"IHDR", "iTXt", "tEXt", "iTXt", "tEXt", "tEXt"}
	if len(kinds) < len(want)+2 || strings.Join(kinds[:len(want)], ",") != strings.Join(want, ",") || kinds[len(kinds)-1] != "IEND" {
		t.Fatalf("chunks %v, want %v then image data and IEND", kinds, want)
	}
	// The Latin-1 value is stored as Latin-1 bytes, not UTF-8.
	if !bytes.Contains(data, []byte("Software\x00SenseNova Studio \xd72 \xff")) {
		t.Error("tEXt chunk of Software is not stored as Latin-1")
	}
	if !bytes.Contains(data, []byte("seed\x0042")) {
		t.Error("tEXt chunk seed=42 not found verbatim")
	}

	// Go's decoder still reads the picture, unchanged.
	dec, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("image/png cannot read the file: %v", err)
	}
	if _, n := pixelDiff(ToRGB(dec, DropAlpha), rgbBytes(img)); n != 0 {
		t.Errorf("decoded picture differs in %d bytes", n)
	}
	// And our reader gets the entries back.
	got, err := ReadPNGText(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(text) {
		t.Fatalf("read %d entries, want %d: %v", len(got), len(text), got)
	}
	for i := range text {
		if got[i] != text[i] {
			t.Errorf("entry %d: got %q=%q, want %q=%q", i, got[i].Key, got[i].Value, text[i].Key, text[i].Value)
		}
	}
}

func TestSavePNG(t *testing.T) {
	img := loadFixtureRGB(t, "resize_src.png")
	path := filepath.Join(t.TempDir(), "out.png")
	if err := SavePNG(path, img, []TextChunk{{"seed", "7"}}); err != nil {
		t.Fatal(err)
	}
	p, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if p.Mode != ModeRGB {
		t.Errorf("saved opaque picture has mode %q, want RGB", p.Mode)
	}
	if _, n := pixelDiff(p.RGB(DropAlpha), rgbBytes(img)); n != 0 {
		t.Errorf("saved picture differs in %d bytes", n)
	}
	if err := SavePNG(filepath.Join(t.TempDir(), "missing", "x.png"), img, nil); err == nil {
		t.Error("save into a missing folder: no error")
	}
}

func TestEncodePNGTextErrors(t *testing.T) {
	img := loadFixtureRGB(t, "resize_src.png")
	bad := []TextChunk{
		{"", "empty key"},
		{strings.Repeat("k", 80), "key too long"},
		{" lead", "leading space"},
		{"trail ", "trailing space"},
		{"dou  ble", "double space"},
		{"雪", "non-Latin-1 key"},
		{"tab\tkey", "control character"},
		{"nul", "a\x00b"},
		{"utf8", "\xff\xfe"},
	}
	for _, c := range bad {
		var buf bytes.Buffer
		if err := EncodePNG(&buf, img, []TextChunk{c}); err == nil {
			t.Errorf("key %q value %q: no error", c.Key, c.Value)
		}
	}
	if err := EncodePNG(&bytes.Buffer{}, img, []TextChunk{{strings.Repeat("k", 79), "ok"}}); err != nil {
		t.Errorf("79-character key: %v", err)
	}
}

// TestReadPNGTextForeign reads compressed zTXt and iTXt chunks, as other
// programs (Pillow for long values) write them, and rejects a bad CRC.
func TestReadPNGTextForeign(t *testing.T) {
	var plain bytes.Buffer
	if err := png.Encode(&plain, loadFixtureRGB(t, "resize_src.png")); err != nil {
		t.Fatal(err)
	}
	deflate := func(s string) []byte {
		var b bytes.Buffer
		w := zlib.NewWriter(&b)
		w.Write([]byte(s))
		w.Close()
		return b.Bytes()
	}
	z := append([]byte("ztext\x00\x00"), deflate("compressed \xe9")...)
	it := append([]byte("itext\x00\x01\x00en\x00Itext\x00"), deflate("压缩的")...)
	data := plain.Bytes()
	file := append(append(append(append([]byte(nil), data[:33]...), makeChunk("zTXt", z)...), makeChunk("iTXt", it)...), data[33:]...)
	got, err := ReadPNGText(bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	want := []TextChunk{{"ztext", "compressed é"}, {"itext", "压缩的"}}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("got %q, want %q", got, want)
	}
	if _, err := png.Decode(bytes.NewReader(file)); err != nil {
		t.Errorf("image/png rejects the file: %v", err)
	}
	broken := append([]byte(nil), file...)
	broken[33+8] ^= 1 // first data byte of the zTXt chunk
	if _, err := ReadPNGText(bytes.NewReader(broken)); err == nil || !strings.Contains(err.Error(), "CRC") {
		t.Errorf("corrupted chunk: error %v, want a CRC error", err)
	}
	if _, err := ReadPNGText(strings.NewReader("GIF89a")); err == nil {
		t.Error("not a PNG: no error")
	}
	if _, err := ReadPNGText(bytes.NewReader(file[:len(file)-12])); err == nil {
		t.Error("PNG without IEND: no error")
	}
}
