package checkpoint

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
)

// The config structs are decoded field by field from their struct tags, so
// each field's JSON key, default and required flag sit next to the field:
//
//	`json:"hidden_size" cfg:"default=4096"`  absent or null: 4096
//	`json:"template" cfg:"req"`              absent or null: listed as missing
//	`json:"llm_hidden_size" cfg:"list1,..."` a 1-element list is unwrapped
//	`json:"llm_config" cfg:"nested"`         decoded by the caller
//	`json:"tie_word_embeddings" cfg:"derived"` set by the caller
//
// A field without a default keeps its zero value when absent (pointer
// fields stay nil, so "absent" and "zero" can be told apart).

type fieldTag struct {
	key    string
	req    bool
	list1  bool
	skip   bool // decoded or set by the caller
	hasDef bool
	def    string
}

func parseFieldTag(sf reflect.StructField) (fieldTag, bool) {
	key, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
	if key == "" || key == "-" {
		return fieldTag{}, false
	}
	ft := fieldTag{key: key}
	opts := sf.Tag.Get("cfg")
	for opts != "" {
		var opt string
		if strings.HasPrefix(opts, "default=") {
			// default is always the last option: it may contain commas.
			ft.hasDef, ft.def = true, strings.TrimPrefix(opts, "default=")
			break
		}
		opt, opts, _ = strings.Cut(opts, ",")
		switch opt {
		case "req":
			ft.req = true
		case "list1":
			ft.list1 = true
		case "nested", "derived":
			ft.skip = true
		}
	}
	return ft, true
}

// decodeReport collects what decoding found wrong.
type decodeReport struct {
	missing  []string // required keys absent or null, with their path
	problems []string // values of the wrong type, and other findings
	// typeErrors is set when a value had the wrong JSON type.
	typeErrors bool
}

// decodeObject fills the struct dst points to from obj. path prefixes the
// keys in messages ("llm_config."). It returns the keys it knows (so the
// caller can keep the others as extras) and the keys that were present with
// a non-null value.
func decodeObject(obj map[string]json.RawMessage, dst any, path string, rep *decodeReport) (known, present map[string]bool) {
	v := reflect.ValueOf(dst).Elem()
	t := v.Type()
	known = make(map[string]bool)
	present = make(map[string]bool)
	for i := 0; i < t.NumField(); i++ {
		ft, ok := parseFieldTag(t.Field(i))
		if !ok {
			continue
		}
		known[ft.key] = true
		if ft.skip {
			continue
		}
		raw, ok := obj[ft.key]
		if ok && isNull(raw) {
			ok = false
		}
		field := v.Field(i)
		if !ok {
			switch {
			case ft.req:
				rep.missing = append(rep.missing, path+ft.key)
			case ft.hasDef:
				if err := setDefault(field, ft.def); err != nil {
					// A bad default is a programming error in this file; report it
					// rather than panic.
					rep.problems = append(rep.problems, fmt.Sprintf("%s%s: internal default %q: %v", path, ft.key, ft.def, err))
				}
			}
			continue
		}
		present[ft.key] = true
		if ft.list1 && bytes.HasPrefix(bytes.TrimSpace(raw), []byte("[")) {
			var elems []json.RawMessage
			if err := json.Unmarshal(raw, &elems); err != nil || len(elems) != 1 {
				rep.problems = append(rep.problems, fmt.Sprintf("%s%s: got %s, want a number or a 1-element list", path, ft.key, clipRaw(raw)))
				rep.typeErrors = true
				continue
			}
			raw = elems[0]
		}
		if err := assign(field, raw); err != nil {
			rep.problems = append(rep.problems, fmt.Sprintf("%s%s: %v", path, ft.key, err))
			rep.typeErrors = true
		}
	}
	return known, present
}

func setDefault(v reflect.Value, def string) error {
	if v.Kind() == reflect.String {
		v.SetString(def)
		return nil
	}
	return assign(v, json.RawMessage(def))
}

var rawMessageType = reflect.TypeOf(json.RawMessage(nil))

// assign decodes one JSON value into v, accepting only the JSON type that
// matches v's kind (integers must be integral numbers; 64.0 is accepted).
func assign(v reflect.Value, raw json.RawMessage) error {
	raw = bytes.TrimSpace(raw)
	if v.Type() == rawMessageType {
		v.SetBytes(append([]byte(nil), raw...))
		return nil
	}
	switch v.Kind() {
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		if err := assign(p.Elem(), raw); err != nil {
			return err
		}
		v.Set(p)
		return nil
	case reflect.String:
		var s string
		if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
			return fmt.Errorf("got %s, want a string", clipRaw(raw))
		}
		v.SetString(s)
		return nil
	case reflect.Bool:
		var b bool
		if json.Unmarshal(raw, &b) != nil {
			return fmt.Errorf("got %s, want true or false", clipRaw(raw))
		}
		v.SetBool(b)
		return nil
	case reflect.Int, reflect.Int64:
		n, ok := parseInt(raw)
		if !ok {
			return fmt.Errorf("got %s, want an integer", clipRaw(raw))
		}
		v.SetInt(n)
		return nil
	case reflect.Float64:
		f, ok := parseNumber(raw)
		if !ok {
			return fmt.Errorf("got %s, want a number", clipRaw(raw))
		}
		v.SetFloat(f)
		return nil
	case reflect.Slice:
		var elems []json.RawMessage
		if len(raw) > 0 && raw[0] == '[' {
			if err := json.Unmarshal(raw, &elems); err != nil {
				return fmt.Errorf("got %s, want a list", clipRaw(raw))
			}
		} else if v.Type().Elem().Kind() == reflect.Int {
			elems = []json.RawMessage{raw} // token ids: a single id or a list
		} else {
			return fmt.Errorf("got %s, want a list", clipRaw(raw))
		}
		s := reflect.MakeSlice(v.Type(), len(elems), len(elems))
		for i, e := range elems {
			if err := assign(s.Index(i), e); err != nil {
				return fmt.Errorf("element %d: %v", i, err)
			}
		}
		v.Set(s)
		return nil
	}
	return fmt.Errorf("unsupported field kind %s", v.Kind())
}

func parseNumber(raw json.RawMessage) (float64, bool) {
	if len(raw) == 0 || !(raw[0] == '-' || (raw[0] >= '0' && raw[0] <= '9')) {
		return 0, false
	}
	var f float64
	if json.Unmarshal(raw, &f) != nil {
		return 0, false
	}
	return f, true
}

func parseInt(raw json.RawMessage) (int64, bool) {
	f, ok := parseNumber(raw)
	if !ok {
		return 0, false
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		if i, err := n.Int64(); err == nil {
			return i, true
		}
	}
	if f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, false
	}
	return int64(f), true
}

func isNull(raw json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(raw), []byte("null")) }

// clipRaw shows a JSON value compactly in a message.
func clipRaw(raw []byte) string {
	var b bytes.Buffer
	s := string(bytes.TrimSpace(raw))
	if json.Compact(&b, raw) == nil {
		s = b.String()
	}
	if len(s) > 80 {
		s = s[:77] + "..."
	}
	if s == "" {
		s = "nothing"
	}
	return s
}

// jsonPosition turns a byte offset of data into a 1-based line and column.
func jsonPosition(data []byte, offset int64) (line, col int) {
	if offset < 0 {
		offset = 0
	}
	if offset > int64(len(data)) {
		offset = int64(len(data))
	}
	before := data[:offset]
	line = 1 + bytes.Count(before, []byte("\n"))
	col = len(before) - (bytes.LastIndexByte(before, '\n') + 1)
	if col < 1 {
		col = 1
	}
	return line, col
}

// jsonError describes a JSON decoding error of file source with its line
// and column where encoding/json gives an offset.
func jsonError(source string, data []byte, err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		line, col := jsonPosition(data, se.Offset)
		return fmt.Errorf("%s:%d:%d: invalid JSON: %w", source, line, col, err)
	case errors.As(err, &te):
		line, col := jsonPosition(data, te.Offset)
		return fmt.Errorf("%s:%d:%d: %w", source, line, col, err)
	}
	return fmt.Errorf("%s: invalid JSON: %w", source, err)
}
