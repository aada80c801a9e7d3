package tokenizer

import (
	"sync"
	"unicode"
	"unicode/utf8"
)

// qwen2Pattern is the Split pre-tokenizer regex of Qwen2 and Qwen3, as it is
// written in their tokenizer.json. The scanner below implements it by hand.
const qwen2Pattern = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`

// Rune classes the pattern distinguishes. \s is Unicode White_Space; \r and
// \n are white space too but get their own class because the pattern names
// them.
const (
	clOther   uint8 = iota // none of the below
	clLetter               // \p{L}
	clNumber               // \p{N}
	clSpace                // \s other than \r and \n
	clNewline              // \r or \n
)

var (
	bmpClassOnce sync.Once
	bmpClass     []uint8 // class of every rune below 0x10000, built on first use
)

func buildClassTable() {
	bmpClassOnce.Do(func() {
		t := make([]uint8, 0x10000)
		for r := rune(0); r < 0x10000; r++ {
			t[r] = slowClass(r)
		}
		bmpClass = t
	})
}

func slowClass(r rune) uint8 {
	switch {
	case r == '\r' || r == '\n':
		return clNewline
	case unicode.IsLetter(r):
		return clLetter
	case unicode.IsNumber(r):
		return clNumber
	case unicode.Is(unicode.White_Space, r):
		return clSpace
	}
	return clOther
}

func classOf(r rune) uint8 {
	if r < 0x10000 {
		return bmpClass[r]
	}
	return slowClass(r)
}

// at decodes the rune at byte i of s (s is valid UTF-8, i < len(s)) and
// returns its width and class.
func at(s string, i int) (rune, int, uint8) {
	if c := s[i]; c < utf8.RuneSelf {
		return rune(c), 1, bmpClass[c]
	}
	r, w := utf8.DecodeRuneInString(s[i:])
	return r, w, classOf(r)
}

// preTokenize calls fn with each piece of s, in order, as the Qwen2 Split
// pre-tokenizer (behaviour Isolated) produces them. s must be valid UTF-8.
// Every position of a non-empty string starts a match of some alternative
// and no alternative matches the empty string, so the pieces are exactly the
// successive matches and cover s.
func preTokenize(s string, fn func(piece string)) {
	for i := 0; i < len(s); {
		e := pieceEnd(s, i)
		fn(s[i:e])
		i = e
	}
}

// pieceEnd returns the end of the regex match that starts at byte i (i <
// len(s)), trying the alternatives in order as a backtracking engine does
// (leftmost-first alternation, greedy quantifiers).
func pieceEnd(s string, i int) int {
	r0, w0, c0 := at(s, i)

	// 1. (?i:'s|'t|'re|'ve|'m|'ll|'d)
	if r0 == '\'' {
		if e := contractionEnd(s, i+1); e > 0 {
			return e
		}
	}

	// 2. [^\r\n\p{L}\p{N}]?\p{L}+
	switch c0 {
	case clLetter:
		// The optional class excludes letters, so it matches empty here.
		return classRunEnd(s, i+w0, clLetter)
	case clOther, clSpace:
		if j := i + w0; j < len(s) {
			if _, w1, c1 := at(s, j); c1 == clLetter {
				return classRunEnd(s, j+w1, clLetter)
			}
		}
		// Without the optional rune, \p{L}+ would have to start at r0,
		// which is not a letter: this alternative fails.
	}

	// 3. \p{N}
	if c0 == clNumber {
		return i + w0
	}

	// 4. ` ?[^\s\p{L}\p{N}]+[\r\n]*`
	j := i
	if r0 == ' ' {
		j = i + 1 // with the optional space; without it, [^\s…] fails on ' '
	}
	if j < len(s) {
		if _, w, c := at(s, j); c == clOther {
			e := classRunEnd(s, j+w, clOther)
			for e < len(s) && (s[e] == '\r' || s[e] == '\n') {
				e++
			}
			return e
		}
	}

	// Only white space is left (letters, numbers and other runes have
	// matched above). Find the maximal white-space run [i, e), the start of
	// its last rune and its last \r or \n.
	e, last, lastNL := i, i, -1
	for e < len(s) {
		_, w, c := at(s, e)
		if c != clSpace && c != clNewline {
			break
		}
		if c == clNewline {
			lastNL = e
		}
		last = e
		e += w
	}
	// 5. \s*[\r\n]+ : \s* backs off until [\r\n]+ can start, i.e. to the
	// last \r/\n of the run; [\r\n]+ then takes that one byte (what follows
	// is not \r/\n, or it would have been the last).
	if lastNL >= 0 {
		return lastNL + 1
	}
	// 6. \s+(?!\S) : the whole run at the end of the text; otherwise the run
	// minus its last rune, if that leaves at least one.
	if e == len(s) {
		return e
	}
	if last > i {
		return last
	}
	// 7. \s+
	return e
}

// contractionEnd matches 's|'t|'re|'ve|'m|'ll|'d case-insensitively at j
// (just after the apostrophe) and returns the end, or 0. Under Unicode simple
// case folding the only non-ASCII rune equivalent to one of these letters is
// U+017F LATIN SMALL LETTER LONG S (≡ s); K (U+212A KELVIN SIGN) and Å
// (U+212B) fold to letters the pattern does not use, and no full (multi-rune)
// folding yields "re", "ve" or "ll".
func contractionEnd(s string, j int) int {
	if j >= len(s) {
		return 0
	}
	r, w := utf8.DecodeRuneInString(s[j:])
	switch r {
	case 's', 'S', 'ſ', 't', 'T', 'm', 'M', 'd', 'D':
		return j + w
	case 'r', 'R', 'v', 'V':
		if k := j + w; k < len(s) && (s[k] == 'e' || s[k] == 'E') {
			return k + 1
		}
	case 'l', 'L':
		if k := j + w; k < len(s) && (s[k] == 'l' || s[k] == 'L') {
			return k + 1
		}
	}
	return 0
}

// classRunEnd returns the end of the run of runes of class c starting at j.
func classRunEnd(s string, j int, c uint8) int {
	for j < len(s) {
		_, w, cj := at(s, j)
		if cj != c {
			break
		}
		j += w
	}
	return j
}
