package tokenizer

import (
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Tokenizer is a loaded byte-level BPE tokenizer. It is safe for concurrent
// use.
type Tokenizer struct {
	path string

	vocab map[string]int // model vocab, byte-level string form → id
	model *bpe
	nfc   bool // NFC-normalize the text between added tokens

	added   []*addedToken
	addedBy map[string]*addedToken // content → token
	raw     *matcher               // added tokens with normalized=false
	normed  *matcher               // added tokens with normalized=true, matched after NFC

	// Per id, for ids below Len(): the token string (added tokens win over
	// vocab entries), whether there is one, whether Decode skips it when
	// skipping special tokens, and the bytes the ByteLevel decoder makes of
	// it (decBytes[decOff[id]:decOff[id+1]]).
	tokens   []string
	hasToken []bool
	special  []bool
	skip     []bool
	decOff   []uint32
	decBytes []byte
}

// addedToken is one entry of tokenizer.json's added_tokens.
type addedToken struct {
	content    string
	id         int
	special    bool
	lstrip     bool
	rstrip     bool
	singleWord bool
	normalized bool
}

// Encode returns the ids of text, with no BOS/EOS or template tokens added.
// Added tokens (special or not) in the text are emitted as their single id.
// Text that is not valid UTF-8 (which HuggingFace cannot receive) is first
// made valid the way from_utf8_lossy does.
func (t *Tokenizer) Encode(text string) []int {
	if !utf8.ValidString(text) {
		text = lossyUTF8([]byte(text))
	}
	ids := make([]int, 0, len(text)/3+1)
	t.raw.split(text, func(seg string, tok *addedToken) {
		if tok != nil {
			ids = append(ids, tok.id)
			return
		}
		if t.nfc {
			seg = norm.NFC.String(seg)
		}
		t.normed.split(seg, func(seg string, tok *addedToken) {
			if tok != nil {
				ids = append(ids, tok.id)
				return
			}
			preTokenize(seg, func(piece string) {
				ids = t.model.appendWord(ids, piece)
			})
		})
	})
	return ids
}

// Decode turns ids back into text: each id's token (ids without one, such as
// the model's padding rows beyond the tokenizer, give nothing; special added
// tokens are left out when skipSpecial), then the ByteLevel decoder, then
// lossy UTF-8 conversion (one U+FFFD per maximal ill-formed subpart, as Rust's
// String::from_utf8_lossy).
func (t *Tokenizer) Decode(ids []int, skipSpecial bool) string {
	var buf []byte
	for _, id := range ids {
		if id < 0 || id >= len(t.tokens) || !t.hasToken[id] || skipSpecial && t.skip[id] {
			continue
		}
		buf = append(buf, t.decBytes[t.decOff[id]:t.decOff[id+1]]...)
	}
	return lossyUTF8(buf)
}

// TokenID returns the id of an added token (by its content) or of a vocab
// entry (in its byte-level string form, e.g. "Ġthe").
func (t *Tokenizer) TokenID(token string) (int, bool) {
	if a, ok := t.addedBy[token]; ok {
		return a.id, true
	}
	id, ok := t.vocab[token]
	return id, ok
}

// Token returns the token string of id: an added token's content, or a vocab
// entry in its byte-level form.
func (t *Tokenizer) Token(id int) (string, bool) {
	if id < 0 || id >= len(t.tokens) || !t.hasToken[id] {
		return "", false
	}
	return t.tokens[id], true
}

// IsSpecial reports whether id is an added token flagged special.
func (t *Tokenizer) IsSpecial(id int) bool {
	return id >= 0 && id < len(t.special) && t.special[id]
}

// Len returns the number of ids that have a token: the largest id + 1.
func (t *Tokenizer) Len() int { return len(t.tokens) }

// AddedTokens returns the contents of the added tokens, by increasing id.
func (t *Tokenizer) AddedTokens() []string {
	out := make([]string, len(t.added))
	for i, a := range t.added {
		out[i] = a.content
	}
	return out
}

// Path returns the file or folder the tokenizer was loaded from.
func (t *Tokenizer) Path() string { return t.path }

// matcher finds added tokens in text: leftmost-longest matches among their
// contents, as the aho-corasick automaton of HuggingFace's AddedVocabulary
// (MatchKind::LeftmostLongest) finds them, then applies each token's
// single_word, lstrip and rstrip flags as AddedVocabulary::find_matches does.
type matcher struct {
	tokens  []*addedToken
	byFirst [256][]*addedToken // by first byte of the content, longest first
}

func newMatcher(tokens []*addedToken) *matcher {
	m := &matcher{}
	for _, a := range tokens {
		if a.content == "" {
			continue
		}
		m.tokens = append(m.tokens, a)
		m.byFirst[a.content[0]] = append(m.byFirst[a.content[0]], a)
	}
	for i := range m.byFirst {
		l := m.byFirst[i]
		sort.SliceStable(l, func(a, b int) bool { return len(l[a].content) > len(l[b].content) })
	}
	return m
}

type rawMatch struct {
	start, end int
	tok        *addedToken
}

// split calls fn with the pieces of s in order: text between added tokens
// (tok == nil, possibly empty only when s is) and each added token found.
func (m *matcher) split(s string, fn func(seg string, tok *addedToken)) {
	if len(m.tokens) == 0 {
		fn(s, nil)
		return
	}
	// Non-overlapping leftmost-longest matches, scanning on after each.
	var matches []rawMatch
	for i := 0; i < len(s); {
		found := false
		for _, a := range m.byFirst[s[i]] {
			if strings.HasPrefix(s[i:], a.content) {
				matches = append(matches, rawMatch{i, i + len(a.content), a})
				i += len(a.content)
				found = true
				break
			}
		}
		if !found {
			i++
		}
	}
	if len(matches) == 0 {
		fn(s, nil)
		return
	}
	startOffset := 0
	for _, mt := range matches {
		start, stop, a := mt.start, mt.end, mt.tok
		if a.singleWord {
			startSpace := start == 0 || !endsWithWord(s[:start])
			stopSpace := stop == len(s) || !startsWithWord(s[stop:])
			if !startSpace || !stopSpace {
				continue
			}
		}
		if a.lstrip {
			start = max(spaceLeftmostAtEnd(s[:start]), startOffset)
		}
		if a.rstrip {
			stop += spaceRightmostAtStart(s[stop:])
		}
		if startOffset < start {
			fn(s[startOffset:start], nil)
		}
		fn("", a) // the token's text is not needed, only its id
		startOffset = stop
	}
	if startOffset < len(s) {
		fn(s[startOffset:], nil)
	}
}

// isWordRune is Rust regex's Unicode \w: Alphabetic, Mark, Decimal_Number,
// Connector_Punctuation or Join_Control.
func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsMark(r) || unicode.IsDigit(r) ||
		unicode.In(r, unicode.Nl, unicode.Other_Alphabetic, unicode.Pc, unicode.Join_Control)
}

func endsWithWord(s string) bool {
	r, _ := utf8.DecodeLastRuneInString(s)
	return s != "" && isWordRune(r)
}

func startsWithWord(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return s != "" && isWordRune(r)
}

func isSpaceRune(r rune) bool { return unicode.Is(unicode.White_Space, r) }

// spaceLeftmostAtEnd returns where the trailing white-space run of s starts.
func spaceLeftmostAtEnd(s string) int {
	i := len(s)
	for i > 0 {
		r, w := utf8.DecodeLastRuneInString(s[:i])
		if !isSpaceRune(r) {
			break
		}
		i -= w
	}
	return i
}

// spaceRightmostAtStart returns the length of the leading white-space run.
func spaceRightmostAtStart(s string) int {
	i := 0
	for i < len(s) {
		r, w := utf8.DecodeRuneInString(s[i:])
		if !isSpaceRune(r) {
			break
		}
		i += w
	}
	return i
}
