package app

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"html"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/sensenova/studio/internal/atomicfile"
)

// StoryImageMarker stands where each picture goes in a storyboard's text
// (protocol.Result.Text, Entry.Text).
const StoryImageMarker = "<image>"

// Markers of a thinking block in a storyboard's text: in think mode the
// model writes its reasoning between them before the answer.
const (
	thinkOpen  = "<think>"
	thinkClose = "</think>"
)

// StoryPart is one piece of a storyboard in reading order: a block of text
// (the answer, or the model's thinking), or a picture.
type StoryPart struct {
	// Text is the text of a text part (surrounding white space removed);
	// Think marks the model's reasoning (between <think> and </think>).
	Text  string
	Think bool
	// Picture is a picture part's file name; Index its number, from 0.
	Picture string
	Index   int
}

// IsPicture tells a picture part from a text part.
func (p StoryPart) IsPicture() bool { return p.Picture != "" }

// StoryParts splits a storyboard entry into text and pictures in the order
// the model wrote them (ParseStory of its text and pictures).
func StoryParts(e Entry) []StoryPart { return ParseStory(e.Text, e.Pictures) }

// ParseStory splits a storyboard's text into parts: the k-th
// StoryImageMarker is pictures[k]; text between <think> and </think> is
// thinking (an unclosed <think> runs to the end, as when the token budget
// ran out; a </think> with no <think> closes thinking that began the text).
// Markers beyond the pictures (the model may write the literal text) stay
// in the text; pictures beyond the markers follow at the end. Empty text is
// left out. It works on a text still being written too: parts only grow at
// the end as the text does (until a marker completes).
func ParseStory(text string, pictures []string) []StoryPart {
	var parts []StoryPart
	var buf strings.Builder
	think := false
	flush := func(th bool) {
		if t := strings.TrimSpace(buf.String()); t != "" {
			parts = append(parts, StoryPart{Text: t, Think: th})
		}
		buf.Reset()
	}
	k := 0
	for {
		i, marker := firstMarker(text)
		if i < 0 {
			buf.WriteString(text)
			break
		}
		buf.WriteString(text[:i])
		text = text[i+len(marker):]
		switch marker {
		case thinkOpen:
			flush(think)
			think = true
		case thinkClose:
			flush(true)
			think = false
		case StoryImageMarker:
			if k >= len(pictures) {
				buf.WriteString(marker) // not one of ours: keep it as text
				continue
			}
			flush(think)
			parts = append(parts, StoryPart{Picture: pictures[k], Index: k})
			k++
		}
	}
	flush(think)
	for ; k < len(pictures); k++ {
		parts = append(parts, StoryPart{Picture: pictures[k], Index: k})
	}
	return parts
}

// firstMarker finds the first picture or thinking marker in s.
func firstMarker(s string) (int, string) {
	best, which := -1, ""
	for _, m := range []string{StoryImageMarker, thinkOpen, thinkClose} {
		if i := strings.Index(s, m); i >= 0 && (best < 0 || i < best) {
			best, which = i, m
		}
	}
	return best, which
}

// CleanText removes what a page cannot show: control characters other than
// tab and newline (a random model writes them), carriage returns included.
func CleanText(s string) string {
	if !strings.ContainsFunc(s, isUnshown) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if isUnshown(r) {
			return -1
		}
		return r
	}, s)
}

func isUnshown(r rune) bool {
	if r == '\n' || r == '\t' {
		return false
	}
	return unicode.IsControl(r) || r == 0xFFFE || r == 0xFFFF
}

// storyTitle is the prompt on one line, shortened to a heading's length
// ("Storyboard" when empty); long says whether it lost anything.
func storyTitle(prompt string) (title string, long bool) {
	one := strings.Join(strings.Fields(CleanText(prompt)), " ")
	if one == "" {
		return "Storyboard", false
	}
	const maxRunes = 120
	if utf8.RuneCountInString(one) > maxRunes {
		r := []rune(one)
		return strings.TrimSpace(string(r[:maxRunes])) + "…", true
	}
	return one, strings.TrimSpace(prompt) != one
}

// storyFooter is the line naming how the storyboard was made.
func storyFooter(e Entry) string {
	var bits []string
	bits = append(bits, "Made with SenseNova Studio")
	if e.Model != "" {
		bits = append(bits, "model "+e.Model)
	}
	if !e.Created.IsZero() {
		bits = append(bits, e.Created.Format("2006-01-02 15:04"))
	}
	r := e.Request
	if r.Width > 0 && r.Height > 0 && len(r.Images) == 0 {
		bits = append(bits, fmt.Sprintf("%d×%d", r.Width, r.Height))
	}
	if r.Steps > 0 {
		bits = append(bits, fmt.Sprintf("%d steps", r.Steps))
	}
	bits = append(bits, fmt.Sprintf("seed %d", r.Seed))
	if r.Think {
		bits = append(bits, "think mode")
	}
	return strings.Join(bits, " · ")
}

// markdownEscape makes text show literally in Markdown: every ASCII
// punctuation character that Markdown gives a meaning is backslash-escaped.
func markdownEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune("\\`*_[]<>#|~&", r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// ExportMarkdown writes a storyboard entry (its pictures and inputs taken
// from history h) as a Markdown file at path, with the pictures copied into
// a folder beside it named after the file: story.md links story_files/1.png,
// story_files/2.png, … and story_files/input-1.png for input pictures. The
// text is the model's own (it writes Markdown-like prose) and is kept as it
// is; the prompt becomes the title, escaped.
//
// Nothing is left half-written: the pictures are copied into a temporary
// folder that replaces an existing folder of that name only once complete,
// the Markdown file is written atomically last, and on any failure the
// earlier folder and file are put back.
func ExportMarkdown(e Entry, h *History, path string) error {
	dir := filepath.Dir(path)
	base := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	filesName := base + "_files"
	filesDir := filepath.Join(dir, filesName)
	link := func(name string) string { return url.PathEscape(filesName) + "/" + url.PathEscape(name) }

	var md strings.Builder
	title, long := storyTitle(e.Prompt)
	fmt.Fprintf(&md, "# %s\n\n", markdownEscape(title))
	if long {
		for _, line := range strings.Split(strings.TrimSpace(CleanText(e.Prompt)), "\n") {
			fmt.Fprintf(&md, "> %s\n", markdownEscape(line))
		}
		md.WriteString("\n")
	}

	// copies lists (source, name in the folder) of the files to copy.
	var copies [][2]string
	if len(e.Inputs) > 0 {
		md.WriteString("Input pictures:")
		for k, in := range e.Inputs {
			name := fmt.Sprintf("input-%d%s", k+1, strings.ToLower(filepath.Ext(in)))
			copies = append(copies, [2]string{h.Path(in), name})
			fmt.Fprintf(&md, " ![Input %d](%s)", k+1, link(name))
		}
		md.WriteString("\n\n")
	}
	for _, p := range StoryParts(e) {
		if p.Think {
			md.WriteString("> **Thinking**\n>\n")
			for _, line := range strings.Split(CleanText(p.Text), "\n") {
				fmt.Fprintf(&md, "> %s\n", line)
			}
			md.WriteString("\n")
			continue
		}
		if !p.IsPicture() {
			md.WriteString(CleanText(p.Text))
			md.WriteString("\n\n")
			continue
		}
		name := fmt.Sprintf("%d%s", p.Index+1, strings.ToLower(filepath.Ext(p.Picture)))
		copies = append(copies, [2]string{h.Path(p.Picture), name})
		fmt.Fprintf(&md, "![Picture %d](%s)\n\n", p.Index+1, link(name))
	}
	fmt.Fprintf(&md, "---\n\n*%s*\n", markdownEscape(storyFooter(e)))

	if len(copies) == 0 {
		return atomicfile.WriteFile(path, []byte(md.String()), 0o644)
	}

	// 1. The pictures, into a temporary folder beside the destination.
	tmp, err := os.MkdirTemp(dir, "."+filesName+".tmp-")
	if err != nil {
		return fmt.Errorf("exporting %s: %w", path, err)
	}
	committed := false
	defer func() {
		if !committed {
			os.RemoveAll(tmp)
		}
	}()
	for _, c := range copies {
		if err := copyFile(c[0], filepath.Join(tmp, c[1])); err != nil {
			return fmt.Errorf("exporting %s: copying picture %s: %w", path, c[0], err)
		}
	}
	// 2. An existing folder of that name is moved aside, the new one moved
	// in.
	aside := ""
	if _, err := os.Lstat(filesDir); err == nil {
		aside = filepath.Join(dir, "."+filesName+".old-"+randomSuffix())
		if err := os.Rename(filesDir, aside); err != nil {
			return fmt.Errorf("exporting %s: replacing %s: %w", path, filesDir, err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("exporting %s: %w", path, err)
	}
	restore := func() {
		if aside != "" {
			os.Rename(aside, filesDir)
		}
	}
	if err := os.Rename(tmp, filesDir); err != nil {
		restore()
		return fmt.Errorf("exporting %s: %w", path, err)
	}
	// 3. The Markdown file, last.
	if err := atomicfile.WriteFile(path, []byte(md.String()), 0o644); err != nil {
		os.RemoveAll(filesDir)
		restore()
		return fmt.Errorf("exporting %s: %w", path, err)
	}
	committed = true
	if aside != "" {
		os.RemoveAll(aside)
	}
	return nil
}

func randomSuffix() string {
	var b [4]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

const htmlHead = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<meta name="generator" content="SenseNova Studio">
<title>%s</title>
<style>
body{max-width:52rem;margin:2rem auto;padding:0 1rem;font:17px/1.6 system-ui,-apple-system,"Segoe UI",sans-serif;color:#222;background:#fff}
h1{font-size:1.6rem;line-height:1.3}
.prompt{white-space:pre-wrap;color:#555;border-left:3px solid #ccc;padding-left:.8rem}
.text{white-space:pre-wrap;overflow-wrap:anywhere;margin:1rem 0}
figure{margin:1.5rem 0;text-align:center}
figure img{max-width:100%%;height:auto;border-radius:6px}
.inputs img{max-height:10rem;max-width:45%%;margin:.2rem;border-radius:4px}
figcaption{color:#777;font-size:.85rem}
.think{color:#666;border-left:3px solid #ccc;padding-left:.8rem;margin:1rem 0}
.think summary{cursor:pointer;font-style:italic}
footer{color:#777;font-size:.8rem;border-top:1px solid #ddd;margin-top:2rem;padding-top:.5rem}
@media (prefers-color-scheme:dark){body{background:#161616;color:#ddd}.prompt,.think{color:#aaa;border-color:#444}footer{border-color:#333}}
</style>
</head>
<body>
`

// ExportHTML writes a storyboard entry as ONE self-contained HTML file at
// path: the prompt as the title, the text (HTML-escaped, line breaks kept)
// and the pictures embedded as data: URIs (base64 of the history files,
// PNG with their parameters), in order; input pictures come first. The page
// loads nothing and runs nothing (its Content-Security-Policy forbids
// both). The file is written atomically: on failure nothing is left at
// path, and an earlier file there is kept.
func ExportHTML(e Entry, h *History, path string) error {
	f, err := atomicfile.Create(path)
	if err != nil {
		return fmt.Errorf("exporting %s: %w", path, err)
	}
	defer f.Abort()
	if err := f.Chmod(0o644); err != nil {
		return fmt.Errorf("exporting %s: %w", path, err)
	}
	w := bufio.NewWriterSize(f, 1<<16)
	title, long := storyTitle(e.Prompt)
	fmt.Fprintf(w, htmlHead, html.EscapeString(title))
	fmt.Fprintf(w, "<h1>%s</h1>\n", html.EscapeString(title))
	if long {
		fmt.Fprintf(w, "<p class=\"prompt\">%s</p>\n", html.EscapeString(strings.TrimSpace(CleanText(e.Prompt))))
	}
	if len(e.Inputs) > 0 {
		w.WriteString("<p class=\"inputs\">Input pictures:<br>")
		for k, in := range e.Inputs {
			if err := writeDataImage(w, h.Path(in), fmt.Sprintf("Input %d", k+1)); err != nil {
				return fmt.Errorf("exporting %s: %w", path, err)
			}
		}
		w.WriteString("</p>\n")
	}
	for _, p := range StoryParts(e) {
		if p.Think {
			fmt.Fprintf(w, "<details class=\"think\"><summary>Thinking</summary><div class=\"text\">%s</div></details>\n", html.EscapeString(CleanText(p.Text)))
			continue
		}
		if !p.IsPicture() {
			fmt.Fprintf(w, "<div class=\"text\">%s</div>\n", html.EscapeString(CleanText(p.Text)))
			continue
		}
		label := fmt.Sprintf("Picture %d", p.Index+1)
		w.WriteString("<figure>")
		if err := writeDataImage(w, h.Path(p.Picture), label); err != nil {
			return fmt.Errorf("exporting %s: %w", path, err)
		}
		fmt.Fprintf(w, "<figcaption>%s</figcaption></figure>\n", label)
	}
	fmt.Fprintf(w, "<footer>%s</footer>\n</body>\n</html>\n", html.EscapeString(storyFooter(e)))
	if err := w.Flush(); err != nil {
		return fmt.Errorf("exporting %s: %w", path, err)
	}
	if err := f.Commit(); err != nil {
		return fmt.Errorf("exporting %s: %w", path, err)
	}
	return nil
}

// writeDataImage writes an <img> whose source is the picture file embedded
// as a data: URI.
func writeDataImage(w io.Writer, file, alt string) error {
	in, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("picture %s: %w", file, err)
	}
	defer in.Close()
	head := make([]byte, 16)
	n, err := io.ReadFull(in, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("picture %s: %w", file, err)
	}
	head = head[:n]
	mime := pictureMIME(head)
	if mime == "" {
		return fmt.Errorf("picture %s is not a PNG, JPEG, GIF, WebP or BMP file", file)
	}
	if _, err := fmt.Fprintf(w, "<img alt=\"%s\" src=\"data:%s;base64,", html.EscapeString(alt), mime); err != nil {
		return err
	}
	enc := base64.NewEncoder(base64.StdEncoding, w)
	if _, err := io.Copy(enc, io.MultiReader(bytes.NewReader(head), in)); err != nil {
		return fmt.Errorf("picture %s: %w", file, err)
	}
	if err := enc.Close(); err != nil {
		return err
	}
	_, err = io.WriteString(w, "\">")
	return err
}

// pictureMIME recognises a picture file by its first bytes.
func pictureMIME(head []byte) string {
	switch {
	case bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n")):
		return "image/png"
	case bytes.HasPrefix(head, []byte("\xff\xd8\xff")):
		return "image/jpeg"
	case bytes.HasPrefix(head, []byte("GIF8")):
		return "image/gif"
	case len(head) >= 12 && bytes.HasPrefix(head, []byte("RIFF")) && string(head[8:12]) == "WEBP":
		return "image/webp"
	case bytes.HasPrefix(head, []byte("BM")):
		return "image/bmp"
	}
	return ""
}
