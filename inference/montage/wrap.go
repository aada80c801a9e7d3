package montage

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// tokenize splits one paragraph into the reference's wrapping units: runs
// of whitespace, single CJK ideographs (U+4E00–U+9FFF), and runs of any
// other characters.
func tokenize(para string) []string {
	var tokens []string
	const (
		none = iota
		space
		other
	)
	start, kind := 0, none
	flush := func(end int) {
		if kind != none && end > start {
			tokens = append(tokens, para[start:end])
		}
		kind = none
	}
	for i, r := range para {
		switch {
		case isCJK(r):
			flush(i)
			tokens = append(tokens, para[i:i+utf8.RuneLen(r)])
			start = i + utf8.RuneLen(r)
		case unicode.IsSpace(r):
			if kind != space {
				flush(i)
				start, kind = i, space
			}
		default:
			if kind != other {
				flush(i)
				start, kind = i, other
			}
		}
	}
	flush(len(para))
	return tokens
}

// wrapText wraps text greedily so that each line measures at most maxWidth
// (in the unit of width, 26.6 fixed point pixels for a font face):
// paragraphs are split on "\n"; tokens are added to the current line while
// the line still fits; at a wrap the finished line is right-trimmed and the
// next line starts with the token that did not fit, its leading whitespace
// dropped. A token wider than maxWidth is put on a line of its own and
// overflows. Paragraphs that are empty or only whitespace produce no line,
// and no line is ever empty.
func wrapText(text string, maxWidth int64, width func(string) int64) []string {
	var lines []string
	emit := func(line string) {
		if line = strings.TrimRightFunc(line, unicode.IsSpace); line != "" {
			lines = append(lines, line)
		}
	}
	for _, para := range strings.Split(text, "\n") {
		line := ""
		for _, tok := range tokenize(para) {
			candidate := line + tok
			// A line holding only whitespace takes the next token whatever
			// its width, so that no empty line is emitted before it.
			if strings.TrimSpace(line) == "" || width(candidate) <= maxWidth {
				line = candidate
				continue
			}
			emit(line)
			line = strings.TrimLeftFunc(tok, unicode.IsSpace)
		}
		emit(line)
	}
	return lines
}
