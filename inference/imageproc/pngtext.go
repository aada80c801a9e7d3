package imageproc

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	"image/png"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/sensenova/studio/internal/atomicfile"
)

// TextChunk is one key/value text entry of a PNG file (for example a
// generation parameter: "prompt", "seed", "cfg_scale").
type TextChunk struct {
	Key   string
	Value string
}

var pngSignature = []byte("\x89PNG\r\n\x1a\n")

// EncodePNG writes img as a PNG file with the given text entries placed right
// after the IHDR chunk, in order. A value whose characters are all Latin-1
// goes into a tEXt chunk (stored as Latin-1 bytes); any other value (for
// example a Chinese prompt) goes into an uncompressed iTXt chunk as UTF-8,
// which is what Pillow's PngInfo.add_text does too. Keys must be 1–79
// printable Latin-1 characters without leading, trailing or double spaces
// (PNG specification, 11.3.4); values must be valid UTF-8 without NUL.
func EncodePNG(w io.Writer, img image.Image, text []TextChunk) error {
	if img == nil {
		return fmt.Errorf("encode png: picture is nil")
	}
	chunks := make([][]byte, 0, len(text))
	for _, t := range text {
		c, err := textChunk(t)
		if err != nil {
			return fmt.Errorf("encode png: %w", err)
		}
		chunks = append(chunks, c)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return fmt.Errorf("encode png: %w", err)
	}
	data := buf.Bytes()
	// Go's encoder writes the signature then IHDR (4 length + 4 type + 13 data + 4 CRC).
	const afterIHDR = 8 + 4 + 4 + 13 + 4
	if len(data) < afterIHDR || !bytes.Equal(data[:8], pngSignature) || string(data[12:16]) != "IHDR" {
		return fmt.Errorf("encode png: encoder output does not start with signature and IHDR")
	}
	if _, err := w.Write(data[:afterIHDR]); err != nil {
		return fmt.Errorf("encode png: %w", err)
	}
	for _, c := range chunks {
		if _, err := w.Write(c); err != nil {
			return fmt.Errorf("encode png: %w", err)
		}
	}
	if _, err := w.Write(data[afterIHDR:]); err != nil {
		return fmt.Errorf("encode png: %w", err)
	}
	return nil
}

// textChunk builds the complete chunk (length, type, data, CRC) of one entry.
func textChunk(t TextChunk) ([]byte, error) {
	key, err := pngKeyword(t.Key)
	if err != nil {
		return nil, err
	}
	if !utf8.ValidString(t.Value) {
		return nil, fmt.Errorf("text value of %q is not valid UTF-8", t.Key)
	}
	if strings.IndexByte(t.Value, 0) >= 0 {
		return nil, fmt.Errorf("text value of %q contains a NUL byte", t.Key)
	}
	var body []byte
	var kind string
	if latin1, ok := toLatin1(t.Value); ok {
		kind = "tEXt"
		body = append(append(append(body, key...), 0), latin1...)
	} else {
		// keyword, NUL, compression flag 0, method 0, empty language tag
		// NUL, empty translated keyword NUL, UTF-8 text.
		kind = "iTXt"
		body = append(append(body, key...), 0, 0, 0, 0, 0)
		body = append(body, t.Value...)
	}
	if uint64(len(body)) > 1<<31-1 {
		return nil, fmt.Errorf("text value of %q is too long for a PNG chunk (%d bytes)", t.Key, len(body))
	}
	return makeChunk(kind, body), nil
}

// makeChunk frames data as a PNG chunk; the CRC covers the type and data.
func makeChunk(kind string, data []byte) []byte {
	out := make([]byte, 0, 12+len(data))
	out = binary.BigEndian.AppendUint32(out, uint32(len(data)))
	out = append(out, kind...)
	out = append(out, data...)
	return binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(out[4:]))
}

// pngKeyword checks a keyword and returns its Latin-1 bytes.
func pngKeyword(k string) ([]byte, error) {
	b, ok := toLatin1(k)
	switch {
	case !utf8.ValidString(k) || !ok:
		return nil, fmt.Errorf("text key %q: want Latin-1 characters only", k)
	case len(b) < 1 || len(b) > 79:
		return nil, fmt.Errorf("text key %q has %d characters, want 1 to 79", k, len(b))
	case b[0] == ' ' || b[len(b)-1] == ' ' || bytes.Contains(b, []byte("  ")):
		return nil, fmt.Errorf("text key %q: leading, trailing and double spaces are not allowed", k)
	}
	for _, c := range b {
		if c < 32 || (c > 126 && c < 161) {
			return nil, fmt.Errorf("text key %q contains the non-printable character %#02x", k, c)
		}
	}
	return b, nil
}

// toLatin1 encodes s as ISO 8859-1 bytes if every character fits.
func toLatin1(s string) ([]byte, bool) {
	out := make([]byte, 0, len(s))
	for _, r := range s {
		if r > 0xFF || r == utf8.RuneError {
			return nil, false
		}
		out = append(out, byte(r))
	}
	return out, true
}

// fromLatin1 decodes ISO 8859-1 bytes to a Go string.
func fromLatin1(b []byte) string {
	var sb strings.Builder
	for _, c := range b {
		sb.WriteRune(rune(c))
	}
	return sb.String()
}

// maxTextBytes bounds a decompressed text chunk read by ReadPNGText.
const maxTextBytes = 16 << 20

// ReadPNGText returns the text entries (tEXt, zTXt and iTXt chunks, in file
// order) of a PNG file, checking each chunk's CRC. It stops at IEND.
func ReadPNGText(r io.Reader) ([]TextChunk, error) {
	var sig [8]byte
	if _, err := io.ReadFull(r, sig[:]); err != nil {
		return nil, fmt.Errorf("read png text: reading signature: %w", err)
	}
	if !bytes.Equal(sig[:], pngSignature) {
		return nil, fmt.Errorf("read png text: not a PNG file (first bytes % x)", sig[:])
	}
	var out []TextChunk
	for {
		var hdr [8]byte
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return nil, fmt.Errorf("read png text: reading chunk header (no IEND before the end?): %w", err)
		}
		n := binary.BigEndian.Uint32(hdr[:4])
		kind := string(hdr[4:8])
		if n > 1<<31-1 {
			return nil, fmt.Errorf("read png text: chunk %q has length %d, above 2³¹−1", kind, n)
		}
		isText := kind == "tEXt" || kind == "zTXt" || kind == "iTXt"
		crc := crc32.NewIEEE()
		crc.Write(hdr[4:8])
		var data []byte
		if isText {
			if n > maxTextBytes {
				return nil, fmt.Errorf("read png text: %s chunk of %d bytes is above the %d-byte limit", kind, n, maxTextBytes)
			}
			data = make([]byte, n)
			if _, err := io.ReadFull(r, data); err != nil {
				return nil, fmt.Errorf("read png text: reading %s chunk: %w", kind, err)
			}
			crc.Write(data)
		} else if _, err := io.CopyN(crc, r, int64(n)); err != nil {
			return nil, fmt.Errorf("read png text: reading %s chunk: %w", kind, err)
		}
		var sum [4]byte
		if _, err := io.ReadFull(r, sum[:]); err != nil {
			return nil, fmt.Errorf("read png text: reading %s CRC: %w", kind, err)
		}
		if got, want := crc.Sum32(), binary.BigEndian.Uint32(sum[:]); got != want {
			return nil, fmt.Errorf("read png text: %s chunk CRC is %08x, computed %08x", kind, want, got)
		}
		if kind == "IEND" {
			return out, nil
		}
		if !isText {
			continue
		}
		t, err := parseTextChunk(kind, data)
		if err != nil {
			return nil, fmt.Errorf("read png text: %w", err)
		}
		out = append(out, t)
	}
}

func parseTextChunk(kind string, data []byte) (TextChunk, error) {
	key, rest, ok := bytes.Cut(data, []byte{0})
	if !ok {
		return TextChunk{}, fmt.Errorf("%s chunk has no NUL after its keyword", kind)
	}
	t := TextChunk{Key: fromLatin1(key)}
	switch kind {
	case "tEXt":
		t.Value = fromLatin1(rest)
	case "zTXt":
		if len(rest) < 1 || rest[0] != 0 {
			return t, fmt.Errorf("zTXt chunk %q: unknown compression method", t.Key)
		}
		v, err := inflate(rest[1:])
		if err != nil {
			return t, fmt.Errorf("zTXt chunk %q: %w", t.Key, err)
		}
		t.Value = fromLatin1(v)
	case "iTXt":
		if len(rest) < 2 {
			return t, fmt.Errorf("iTXt chunk %q is truncated", t.Key)
		}
		compressed, method := rest[0], rest[1]
		rest = rest[2:]
		var found bool
		if _, rest, found = bytes.Cut(rest, []byte{0}); !found { // language tag
			return t, fmt.Errorf("iTXt chunk %q has no language tag terminator", t.Key)
		}
		if _, rest, found = bytes.Cut(rest, []byte{0}); !found { // translated keyword
			return t, fmt.Errorf("iTXt chunk %q has no translated keyword terminator", t.Key)
		}
		if compressed != 0 {
			if method != 0 {
				return t, fmt.Errorf("iTXt chunk %q: unknown compression method %d", t.Key, method)
			}
			v, err := inflate(rest)
			if err != nil {
				return t, fmt.Errorf("iTXt chunk %q: %w", t.Key, err)
			}
			rest = v
		}
		if !utf8.Valid(rest) {
			return t, fmt.Errorf("iTXt chunk %q: text is not valid UTF-8", t.Key)
		}
		t.Value = string(rest)
	}
	return t, nil
}

func inflate(b []byte) ([]byte, error) {
	zr, err := zlib.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	v, err := io.ReadAll(io.LimitReader(zr, maxTextBytes+1))
	if err != nil {
		return nil, err
	}
	if len(v) > maxTextBytes {
		return nil, fmt.Errorf("decompressed text exceeds %d bytes", maxTextBytes)
	}
	return v, nil
}

// SavePNG writes img to path as a PNG file with the given text entries (see
// EncodePNG), atomically: a reader sees the old file or the whole new one.
func SavePNG(path string, img image.Image, text []TextChunk) error {
	f, err := atomicfile.Create(path)
	if err != nil {
		return fmt.Errorf("save png: %w", err)
	}
	defer f.Abort()
	if err := EncodePNG(f, img, text); err != nil {
		return fmt.Errorf("save png %s: %w", path, err)
	}
	return f.Commit()
}
