package tokenizer

import "unicode/utf8"

// Stream decodes generated ids one at a time for display. Byte-level tokens
// may end inside a multi-byte character; Stream holds back such an
// unfinished sequence until the next token completes it, so the pieces it
// returns, joined, equal Decode of all the ids (invalid bytes become U+FFFD
// exactly where Decode puts them).
type Stream struct {
	t           *Tokenizer
	skipSpecial bool
	held        []byte
}

// NewStream starts a stream; skipSpecial drops special added tokens as
// Decode does.
func (t *Tokenizer) NewStream(skipSpecial bool) *Stream {
	return &Stream{t: t, skipSpecial: skipSpecial}
}

// Push adds one id and returns the text it completes (possibly empty).
func (s *Stream) Push(id int) string {
	t := s.t
	if id >= 0 && id < len(t.tokens) && t.hasToken[id] && !(s.skipSpecial && t.skip[id]) {
		s.held = append(s.held, t.decBytes[t.decOff[id]:t.decOff[id+1]]...)
	}
	cut := len(s.held) - unfinishedTail(s.held)
	out := lossyUTF8(s.held[:cut])
	s.held = append(s.held[:0], s.held[cut:]...)
	return out
}

// Flush returns the text of bytes still held (an unfinished character
// becomes U+FFFD, as Decode would make it) and empties the stream.
func (s *Stream) Flush() string {
	out := lossyUTF8(s.held)
	s.held = s.held[:0]
	return out
}

// unfinishedTail returns how many trailing bytes of b form the beginning of
// a valid multi-byte sequence that more bytes could complete (0 if none).
func unfinishedTail(b []byte) int {
	for k := 1; k <= utf8.UTFMax-1 && k <= len(b); k++ {
		c := b[len(b)-k]
		switch {
		case c < 0x80:
			return 0
		case c >= 0xC0: // a lead byte: is what follows it a valid prefix?
			if !utf8.FullRune(b[len(b)-k:]) {
				return k
			}
			return 0
		}
	}
	return 0
}
