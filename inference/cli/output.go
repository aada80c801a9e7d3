package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/sensenova/studio/inference/imageproc"
	"github.com/sensenova/studio/inference/record"
	"github.com/sensenova/studio/internal/atomicfile"
)

// Output files. Every file is written atomically (a temporary file in the
// destination folder, renamed into place): an interrupted run leaves either
// the old file or the complete new one, never half a picture. Existing
// files are replaced, as the upstream scripts replace them.

// savePNG writes a picture with its parameters record.
func savePNG(path string, img image.Image, p record.Parameters) error {
	chunks, err := p.PNGText()
	if err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	f, err := atomicfile.Create(path)
	if err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	defer f.Abort()
	if err := f.Chmod(0o644); err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	if err := imageproc.EncodePNG(f, img, chunks); err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	return f.Commit()
}

// saveInputCopy writes a plain PNG (no record): interleave's copies of its
// input pictures.
func saveInputCopy(path string, img image.Image) error {
	var buf bytes.Buffer
	if err := imageproc.EncodePNG(&buf, img, nil); err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	return atomicfile.WriteFile(path, buf.Bytes(), 0o644)
}

// writeText writes a UTF-8 text file, creating its folder if needed.
func writeText(path, text string) error {
	return atomicfile.WriteFile(path, []byte(text), 0o644)
}

// pyPath renders a path as Python's pathlib prints it: "." components and
// repeated or trailing separators dropped ("./out//a.png" → "out/a.png").
func pyPath(p string) string {
	if p == "" {
		return "."
	}
	sep := string(filepath.Separator)
	abs := strings.HasPrefix(p, sep) || strings.HasPrefix(p, "/")
	var parts []string
	for _, c := range strings.FieldsFunc(p, func(r rune) bool { return r == '/' || r == filepath.Separator }) {
		if c != "." {
			parts = append(parts, c)
		}
	}
	s := strings.Join(parts, sep)
	if abs {
		s = sep + s
	}
	if s == "" {
		s = "."
	}
	return s
}

// pySplit splits a file name as pathlib's stem and suffix do: the suffix is
// the last ".ext" of the name, none for ".hidden" or "name.".
func pySplit(name string) (stem, suffix string) {
	i := strings.LastIndex(name, ".")
	if i <= 0 || i == len(name)-1 {
		return name, ""
	}
	return name[:i], name[i:]
}

// withSuffix is pathlib's Path.with_suffix: the last suffix replaced (or
// added).
func withSuffix(path, suffix string) string {
	dir, name := filepath.Split(path)
	stem, _ := pySplit(name)
	return dir + stem + suffix
}

// withStemTail is Path.with_name(f"{stem}{tail}{suffix}"): a tail added to
// the stem, the suffix kept ("out.png", "_1" → "out_1.png").
func withStemTail(path, tail string) string {
	dir, name := filepath.Split(path)
	stem, suffix := pySplit(name)
	return dir + stem + tail + suffix
}

// batchPaths are the files of B pictures saved for one --output (upstream
// _save_images): the path itself for one, <stem>_<i><suffix> for more.
func batchPaths(out string, n int) []string {
	if n == 1 {
		return []string{out}
	}
	paths := make([]string, n)
	for i := range paths {
		paths[i] = withStemTail(out, "_"+strconv.Itoa(i))
	}
	return paths
}

// jsonlName is the file name of sample i (0-based) of a text-to-image or
// editing JSONL run: <NNNN>[_<type>]_<W>x<H>.png.
func jsonlName(i int, tag string, w, h int) string {
	name := fmt.Sprintf("%04d", i+1)
	if tag != "" {
		name += "_" + tag
	}
	return fmt.Sprintf("%s_%dx%d.png", name, w, h)
}

// pyObject is an ordered JSON object rendered as Python's json.dumps(…,
// ensure_ascii=False) writes it: ", " and ": " separators, non-ASCII text
// kept, only quotes, backslashes and control characters escaped.
type pyObject []pyField

type pyField struct {
	key string
	val any // string, int, bool, []string, json.RawMessage
}

func (o pyObject) String() string {
	var b strings.Builder
	b.WriteByte('{')
	for i, f := range o {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(pyString(f.key))
		b.WriteString(": ")
		writePyValue(&b, f.val)
	}
	b.WriteByte('}')
	return b.String()
}

func writePyValue(b *strings.Builder, v any) {
	switch v := v.(type) {
	case string:
		b.WriteString(pyString(v))
	case int:
		b.WriteString(strconv.Itoa(v))
	case bool:
		if v {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case []string:
		b.WriteByte('[')
		for i, s := range v {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(pyString(s))
		}
		b.WriteByte(']')
	case json.RawMessage:
		dec := json.NewDecoder(bytes.NewReader(v))
		dec.UseNumber()
		var x any
		if err := dec.Decode(&x); err != nil {
			b.WriteString("null")
			return
		}
		writePyAny(b, x)
	default:
		b.WriteString("null")
	}
}

// writePyAny renders a decoded JSON value (json.Number for numbers).
func writePyAny(b *strings.Builder, x any) {
	switch x := x.(type) {
	case nil:
		b.WriteString("null")
	case string:
		b.WriteString(pyString(x))
	case bool:
		writePyValue(b, x)
	case json.Number:
		b.WriteString(x.String())
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			writePyAny(b, e)
		}
		b.WriteByte(']')
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys) // decoding lost the order; keep it stable
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(pyString(k))
			b.WriteString(": ")
			writePyAny(b, x[k])
		}
		b.WriteByte('}')
	}
}

// pyString is json.dumps(s, ensure_ascii=False).
func pyString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			if r < 0x20 {
				fmt.Fprintf(&b, `\u%04x`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}
