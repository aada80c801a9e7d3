package tokenizer

import (
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// Fast readers for the two big parts of a tokenizer.json, the vocab object
// and the merges list (Qwen3: 151k entries each), which encoding/json reads
// through reflection at about three times the cost. They handle the common
// shapes; on anything else they report false and the caller falls back to
// encoding/json, so what is accepted, and every error message, stays
// encoding/json's.

type jsonScan struct {
	b []byte
	i int
}

func (s *jsonScan) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// eat skips white space and then c, reporting whether c was there.
func (s *jsonScan) eat(c byte) bool {
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

func (s *jsonScan) peek() byte {
	s.ws()
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

// str reads a JSON string. Strings with escapes are handed to
// encoding/json, which also takes care of surrogate pairs.
func (s *jsonScan) str() (string, bool) {
	if !s.eat('"') {
		return "", false
	}
	start := s.i
	simple := true
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			raw := s.b[start:s.i]
			s.i++
			if simple && utf8.Valid(raw) {
				return string(raw), true
			}
			var out string
			if json.Unmarshal(s.b[start-1:s.i], &out) != nil {
				return "", false
			}
			return out, true
		case c == '\\':
			simple = false
			s.i += 2
		case c < 0x20:
			return "", false
		default:
			s.i++
		}
	}
	return "", false
}

// small reads a non-negative integer below maxID.
func (s *jsonScan) small() (int, bool) {
	s.ws()
	start, n := s.i, 0
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		n = 10*n + int(s.b[s.i]-'0')
		s.i++
		if n >= maxID {
			return 0, false
		}
	}
	if s.i == start || s.i < len(s.b) && (s.b[s.i] == '.' || s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		return 0, false
	}
	return n, true
}

func (s *jsonScan) end() bool {
	s.ws()
	return s.i == len(s.b)
}

// fastVocab reads {"token": id, …}.
func fastVocab(b []byte) (map[string]int, bool) {
	s := &jsonScan{b: b}
	if !s.eat('{') {
		return nil, false
	}
	m := make(map[string]int, len(b)/16)
	if s.eat('}') {
		return m, s.end()
	}
	for {
		k, ok := s.str()
		if !ok || !s.eat(':') {
			return nil, false
		}
		v, ok := s.small()
		if !ok {
			return nil, false
		}
		m[k] = v // a repeated key keeps its last value, as in encoding/json
		if s.eat(',') {
			continue
		}
		if s.eat('}') {
			return m, s.end()
		}
		return nil, false
	}
}

// fastMerges reads ["a b", …] or [["a", "b"], …] when every entry is a
// well-formed pair.
func fastMerges(b []byte) ([][2]string, bool) {
	s := &jsonScan{b: b}
	if !s.eat('[') {
		return nil, false
	}
	out := make([][2]string, 0, len(b)/16)
	if s.eat(']') {
		return out, s.end()
	}
	pairForm := s.peek() == '['
	for {
		var p [2]string
		if pairForm {
			var ok1, ok2 bool
			if !s.eat('[') {
				return nil, false
			}
			p[0], ok1 = s.str()
			if !ok1 || !s.eat(',') {
				return nil, false
			}
			p[1], ok2 = s.str()
			if !ok2 || !s.eat(']') {
				return nil, false
			}
		} else {
			e, ok := s.str()
			if !ok {
				return nil, false
			}
			a, b, ok := splitMergeLine(e)
			if !ok {
				return nil, false
			}
			p = [2]string{a, b}
		}
		out = append(out, p)
		if s.eat(',') {
			continue
		}
		if s.eat(']') {
			return out, s.end()
		}
		return nil, false
	}
}

// splitMergeLine splits the "a b" form of a merge.
func splitMergeLine(l string) (a, b string, ok bool) {
	a, b, ok = strings.Cut(l, " ")
	if !ok || a == "" || b == "" || strings.Contains(b, " ") {
		return "", "", false
	}
	return a, b, true
}
