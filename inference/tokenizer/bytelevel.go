package tokenizer

import (
	"strings"
	"unicode/utf8"
)

// GPT-2's byte-level alphabet: every byte is shown as one printable rune.
// Bytes '!'..'~', '¡'..'¬' and '®'..'ÿ' stand for themselves; the other 68
// bytes (controls, space, DEL, NBSP, soft hyphen, …) take the runes U+0100,
// U+0101, … in increasing byte order.
var (
	byteToRune [256]rune
	runeToByte map[rune]byte
	// byteToString[b] is string(byteToRune[b]), ready to use as a vocab key.
	byteToString [256]string
)

func init() {
	runeToByte = make(map[rune]byte, 256)
	next := rune(256)
	for b := 0; b < 256; b++ {
		r := rune(b)
		if !(b >= '!' && b <= '~' || b >= 0xA1 && b <= 0xAC || b >= 0xAE && b <= 0xFF) {
			r = next
			next++
		}
		byteToRune[b] = r
		runeToByte[r] = byte(b)
		byteToString[b] = string(r)
	}
}

// byteLevelEncode maps raw bytes to their byte-level string form.
func byteLevelEncode(s string) string {
	var sb strings.Builder
	sb.Grow(2 * len(s))
	for i := 0; i < len(s); i++ {
		sb.WriteRune(byteToRune[s[i]])
	}
	return sb.String()
}

// byteLevelDecode maps a token string back to bytes as the ByteLevel decoder
// does: each rune through the byte-level table; if any rune of the token is
// outside the table, the whole token contributes its raw UTF-8 bytes instead.
func byteLevelDecode(tok string) []byte {
	out := make([]byte, 0, len(tok))
	for _, r := range tok {
		b, ok := runeToByte[r]
		if !ok {
			return []byte(tok)
		}
		out = append(out, b)
	}
	return out
}

// lossyUTF8 converts bytes to a string the way Rust's
// String::from_utf8_lossy (and Python's decode(errors="replace")) does:
// valid sequences are kept, and each maximal subpart of an ill-formed
// sequence — the longest prefix of a well-formed sequence, or a single byte
// when no well-formed sequence starts there — becomes one U+FFFD.
func lossyUTF8(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	var sb strings.Builder
	sb.Grow(len(b) + 8)
	for i := 0; i < len(b); {
		c := b[i]
		if c < 0x80 {
			sb.WriteByte(c)
			i++
			continue
		}
		n, lo, hi := utf8Lead(c)
		if n == 0 || i+1 >= len(b) || b[i+1] < lo || b[i+1] > hi {
			sb.WriteRune(utf8.RuneError)
			i++
			continue
		}
		j := i + 2
		for j < i+n && j < len(b) && b[j] >= 0x80 && b[j] <= 0xBF {
			j++
		}
		if j == i+n {
			sb.Write(b[i:j])
		} else {
			sb.WriteRune(utf8.RuneError)
		}
		i = j
	}
	return sb.String()
}

// utf8Lead describes a lead byte: the length n of the sequence it starts
// and the allowed range [lo, hi] of the second byte (Unicode Table 3-7).
// n is 0 for bytes that cannot start a sequence (80..C1, F5..FF).
func utf8Lead(c byte) (n int, lo, hi byte) {
	switch {
	case c >= 0xC2 && c <= 0xDF:
		return 2, 0x80, 0xBF
	case c == 0xE0:
		return 3, 0xA0, 0xBF
	case c == 0xED: // excludes the surrogates D800..DFFF
		return 3, 0x80, 0x9F
	case c >= 0xE1 && c <= 0xEF:
		return 3, 0x80, 0xBF
	case c == 0xF0:
		return 4, 0x90, 0xBF
	case c >= 0xF1 && c <= 0xF3:
		return 4, 0x80, 0xBF
	case c == 0xF4:
		return 4, 0x80, 0x8F
	}
	return 0, 0, 0
}
