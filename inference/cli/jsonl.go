package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
)

// jsonlSample is one non-blank line of a --jsonl file: a JSON object whose
// keys the task reads with Python's conversions (int(), bool(), str()), as
// the upstream scripts do.
type jsonlSample struct {
	file  string
	line  int // 1-based line number in the file
	index int // 0-based among the non-blank lines (names outputs)
	keys  map[string]json.RawMessage
}

// readJSONL reads every sample of a JSONL file up front, as upstream does
// (so a bad line stops the run before any work): blank lines are skipped;
// every other line must be a JSON object.
func readJSONL(path string) ([]jsonlSample, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--jsonl: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), maxLineBytes)
	var out []jsonlSample
	for n := 1; sc.Scan(); n++ {
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		s := jsonlSample{file: path, line: n, index: len(out)}
		if !json.Valid(text) {
			var v any
			err := json.Unmarshal(text, &v)
			return nil, s.errorf("invalid JSON: %v", err)
		}
		if err := json.Unmarshal(text, &s.keys); err != nil || s.keys == nil {
			return nil, s.errorf("want a JSON object {\"key\": value, …}, got %s", clip(string(text), 40))
		}
		out = append(out, s)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("--jsonl %s: %w", path, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--jsonl %s: no samples (the file has no non-blank line)", path)
	}
	return out, nil
}

// errorf makes an error naming the file and line.
func (s jsonlSample) errorf(format string, args ...any) error {
	return fmt.Errorf("%s line %d: %s", s.file, s.line, fmt.Sprintf(format, args...))
}

// wrap prefixes an error of the sample's run with the file and line.
func (s jsonlSample) wrap(err error) error {
	return fmt.Errorf("%s line %d: %w", s.file, s.line, err)
}

func (s jsonlSample) has(key string) bool {
	_, ok := s.keys[key]
	return ok
}

// str reads a required string key.
func (s jsonlSample) str(key string) (string, error) {
	raw, ok := s.keys[key]
	if !ok {
		return "", s.errorf("missing key %q", key)
	}
	var v string
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", s.errorf("%q must be a string, got %s", key, clip(string(raw), 40))
	}
	return v, nil
}

// pyInt reads a key as Python's int() does: integers, floats (truncated
// toward zero), booleans and strings of digits.
func (s jsonlSample) pyInt(key string) (int64, error) {
	raw := s.keys[key]
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return 0, s.errorf("%q: %v", key, err)
	}
	switch v := v.(type) {
	case float64:
		if math.Abs(v) < 1<<62 {
			return int64(v), nil
		}
	case bool:
		if v {
			return 1, nil
		}
		return 0, nil
	case string:
		n, err := strconv.ParseInt(strings.TrimSpace(strings.ReplaceAll(v, "_", "")), 10, 64)
		if err == nil {
			return n, nil
		}
	}
	return 0, s.errorf("%q must be an integer, got %s", key, clip(string(raw), 40))
}

// size reads the "width" and "height" keys as Python's int() does; ok is
// false (and w, h 0) unless both are present.
func (s jsonlSample) size() (w, h int, ok bool, err error) {
	if !s.has("width") || !s.has("height") {
		return 0, 0, false, nil
	}
	wv, err := s.pyInt("width")
	if err != nil {
		return 0, 0, false, err
	}
	hv, err := s.pyInt("height")
	if err != nil {
		return 0, 0, false, err
	}
	return int(wv), int(hv), true, nil
}

// truthy is Python's bool() of a JSON value: false for null, false, 0, "",
// [] and {}; true for everything else (the string "false" included).
func (s jsonlSample) truthy(key string) bool {
	raw := bytes.TrimSpace(s.keys[key])
	switch string(raw) {
	case "null", "false", `""`, "[]", "{}":
		return false
	}
	var f float64
	if err := json.Unmarshal(raw, &f); err == nil {
		return f != 0
	}
	var a []any
	if err := json.Unmarshal(raw, &a); err == nil {
		return len(a) > 0
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err == nil {
		return len(m) > 0
	}
	return true
}

// pyStr is Python's str() of a JSON value, for keys that only name things
// (type, id): strings as they are, integers and booleans as Python prints
// them, anything else as its JSON text.
func (s jsonlSample) pyStr(key string) string {
	raw := bytes.TrimSpace(s.keys[key])
	var str string
	if json.Unmarshal(raw, &str) == nil {
		return str
	}
	switch string(raw) {
	case "true":
		return "True"
	case "false":
		return "False"
	case "null":
		return "None"
	}
	return string(raw)
}

// strings reads a key holding one string or a list of strings.
func (s jsonlSample) strings(key string) ([]string, error) {
	raw := s.keys[key]
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}, nil
	}
	var list []string
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, s.errorf("%q must be a path or a list of paths, got %s", key, clip(string(raw), 40))
	}
	return list, nil
}

// coerceBool is upstream editing's _coerce_bool: a JSON boolean, or one of
// the strings 1/true/yes/y/on and 0/false/no/n/off (any case, spaces
// trimmed); anything else is an error.
func (s jsonlSample) coerceBool(key string) (bool, error) {
	raw := s.keys[key]
	var b bool
	if json.Unmarshal(raw, &b) == nil {
		return b, nil
	}
	var str string
	if json.Unmarshal(raw, &str) == nil {
		switch strings.ToLower(strings.TrimSpace(str)) {
		case "1", "true", "yes", "y", "on":
			return true, nil
		case "0", "false", "no", "n", "off":
			return false, nil
		}
	}
	return false, s.errorf("%q: want a boolean (or 1/true/yes/y/on, 0/false/no/n/off), got %s", key, clip(string(raw), 40))
}
