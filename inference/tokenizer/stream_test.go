package tokenizer

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// TestStreamPiecesJoinToDecode feeds random byte sequences (valid UTF-8,
// truncated and invalid sequences mixed) cut at random points and checks
// that the held-back pieces join to the lossy decoding of the whole.
func TestStreamPiecesJoinToDecode(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := [][]byte{
		[]byte("a"), []byte("é"), []byte("中"), []byte("🙂"), {0xE4, 0xB8}, {0xF0, 0x9F}, {0x80}, {0xFF},
		{0xED, 0xA0, 0x80}, {0xC0, 0xAF}, {0xE0, 0x80}, {0xF4, 0x90}, []byte("\n"),
	}
	for trial := 0; trial < 3000; trial++ {
		var all []byte
		for n := rng.IntN(12); n > 0; n-- {
			all = append(all, alphabet[rng.IntN(len(alphabet))]...)
		}
		s := &Stream{}
		var joined strings.Builder
		for i := 0; i < len(all); {
			j := min(len(all), i+1+rng.IntN(4))
			s.held = append(s.held, all[i:j]...)
			cut := len(s.held) - unfinishedTail(s.held)
			joined.WriteString(lossyUTF8(s.held[:cut]))
			s.held = append(s.held[:0], s.held[cut:]...)
			i = j
		}
		joined.WriteString(s.Flush())
		if got, want := joined.String(), lossyUTF8(all); got != want {
			t.Fatalf("bytes % x: pieces join to %q, whole decodes to %q", all, got, want)
		}
	}
}

// TestStreamOnTokenizer streams the ids of every Qwen3 probe one by one:
// the pieces join to Decode, with and without special tokens.
func TestStreamOnTokenizer(t *testing.T) {
	tok := mustLoad(t, qwen3Dir(t))
	for _, text := range []string{"雪地里的红狐狸，清晨柔和的光线。", "emoji 🙂🎨🚀 and flags 🇨🇳🇺🇸", "<|im_start|>user\nhi<|im_end|>", "naïve café"} {
		ids := tok.Encode(text)
		for _, skip := range []bool{false, true} {
			s := tok.NewStream(skip)
			var joined strings.Builder
			for _, id := range ids {
				joined.WriteString(s.Push(id))
			}
			joined.WriteString(s.Flush())
			if want := tok.Decode(ids, skip); joined.String() != want {
				t.Errorf("%q (skip %v): stream %q, decode %q", text, skip, joined.String(), want)
			}
		}
	}
}
