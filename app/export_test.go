package app

import (
	"bytes"
	"encoding/base64"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/sensenova/studio/inference/protocol"
)

func TestParseStory(t *testing.T) {
	pics := []string{"a.png", "b.png"}
	txt := func(s string) StoryPart { return StoryPart{Text: s} }
	thk := func(s string) StoryPart { return StoryPart{Text: s, Think: true} }
	pic := func(k int) StoryPart { return StoryPart{Picture: pics[k], Index: k} }
	for _, tc := range []struct {
		name string
		text string
		pics []string
		want []StoryPart
	}{
		{"text only", "  Once upon a time.\n", nil, []StoryPart{txt("Once upon a time.")}},
		{"empty", "", nil, nil},
		{"pictures in order", "Intro\n<image>\nMiddle<image>End", pics, []StoryPart{txt("Intro"), pic(0), txt("Middle"), pic(1), txt("End")}},
		{"adjacent pictures", "<image><image>", pics, []StoryPart{pic(0), pic(1)}},
		{"marker without picture stays text", "a<image>b <image> c", pics[:1], []StoryPart{txt("a"), pic(0), txt("b <image> c")}},
		{"picture without marker at the end", "just text", pics[:1], []StoryPart{txt("just text"), pic(0)}},
		{"thinking then answer", "<think>\nplan it\n</think>\n\nThe story<image>more", pics[:1], []StoryPart{thk("plan it"), txt("The story"), pic(0), txt("more")}},
		{"unclosed thinking", "<think>still thinking", nil, []StoryPart{thk("still thinking")}},
		{"close without open", "reasoning</think>answer", nil, []StoryPart{thk("reasoning"), txt("answer")}},
		{"partial marker while streaming", "Hello <ima", pics, []StoryPart{txt("Hello <ima"), pic(0), pic(1)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ParseStory(tc.text, tc.pics)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ParseStory(%q)\n got %+v\nwant %+v", tc.text, got, tc.want)
			}
		})
	}
}

func TestCleanText(t *testing.T) {
	if got := CleanText("a\x04b\tc\nd\r\x7fe"); got != "ab\tc\nde" {
		t.Errorf("CleanText = %q", got)
	}
}

// writePNG writes a small solid picture.
func writePNG(t *testing.T, path string, c color.NRGBA) {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, 8, 6))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, c.A
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// storyEntry adds a storyboard with two pictures and one input picture to
// a new history.
func storyEntry(t *testing.T) (Entry, *History) {
	t.Helper()
	tmp := t.TempDir()
	h, err := OpenHistory(filepath.Join(tmp, "history"))
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(tmp, "session")
	os.Mkdir(src, 0o755)
	p0, p1, in := filepath.Join(src, "1-0.png"), filepath.Join(src, "1-1.png"), filepath.Join(src, "input.png")
	writePNG(t, p0, color.NRGBA{255, 0, 0, 255})
	writePNG(t, p1, color.NRGBA{0, 0, 255, 255})
	writePNG(t, in, color.NRGBA{0, 255, 0, 255})
	e, err := h.Add(Entry{
		Task:   protocol.OpInterleave,
		Prompt: "A <script>alert('x')</script> story & more",
		Text:   "<think>plan: red, then blue</think>Intro <b>bold</b> & more\n<image>\nMiddle\x04 part<image>The end.",
		Model:  "demo-model-v1",
		Request: protocol.Request{Op: protocol.OpInterleave, Prompt: "A <script>alert('x')</script> story & more",
			Images: []string{in}, Steps: 3, Seed: 7},
	}, []string{p0, p1}, []string{in})
	if err != nil {
		t.Fatal(err)
	}
	return e, h
}

// dirNames lists a folder.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

// inOrder checks that the pieces occur in s in this order.
func inOrder(t *testing.T, s string, pieces ...string) {
	t.Helper()
	at := 0
	for _, p := range pieces {
		i := strings.Index(s[at:], p)
		if i < 0 {
			t.Fatalf("%q missing or out of order (after offset %d) in:\n%s", p, at, s)
		}
		at += i + len(p)
	}
}

func TestExportHTML(t *testing.T) {
	e, h := storyEntry(t)
	out := filepath.Join(t.TempDir(), "story.html")
	if err := ExportHTML(e, h, out); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	page := string(data)
	if strings.Contains(page, "<script") || strings.Contains(page, "<b>") {
		t.Errorf("the page carries unescaped markup from the prompt or text:\n%s", page)
	}
	inOrder(t, page,
		"<title>A &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; story &amp; more</title>",
		"<h1>A &lt;script&gt;", "Input pictures", "data:image/",
		`<details class="think"><summary>Thinking</summary><div class="text">plan: red, then blue</div></details>`,
		"Intro &lt;b&gt;bold&lt;/b&gt; &amp; more",
		`<img alt="Picture 1" src="data:image/png;base64,`, "Middle part", // control character removed
		`<img alt="Picture 2" src="data:image/png;base64,`, "The end.", "seed 7", "</html>")
	if strings.Contains(page, "http://") || strings.Contains(page, "https://") || strings.Contains(page, `src="file`) {
		t.Error("the page refers to something outside itself")
	}
	// The embedded pictures are the history files, byte for byte, in order.
	re := regexp.MustCompile(`src="data:image/png;base64,([A-Za-z0-9+/=]+)"`)
	m := re.FindAllStringSubmatch(page, -1)
	want := []string{h.Path(e.Inputs[0]), h.Path(e.Pictures[0]), h.Path(e.Pictures[1])}
	if len(m) != len(want) {
		t.Fatalf("%d embedded pictures, want %d", len(m), len(want))
	}
	for i, w := range want {
		got, err := base64.StdEncoding.DecodeString(m[i][1])
		if err != nil {
			t.Fatalf("picture %d: %v", i, err)
		}
		file, _ := os.ReadFile(w)
		if !bytes.Equal(got, file) {
			t.Errorf("embedded picture %d differs from %s", i, w)
		}
	}
	if names := dirNames(t, filepath.Dir(out)); !reflect.DeepEqual(names, []string{"story.html"}) {
		t.Errorf("folder holds %v, want only story.html", names)
	}
}

func TestExportMarkdown(t *testing.T) {
	e, h := storyEntry(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "my story.md")
	if err := ExportMarkdown(e, h, out); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	md := string(data)
	inOrder(t, md,
		`# A \<script\>alert('x')\</script\> story \& more`,
		"![Input 1](my%20story_files/input-1.png)",
		"> **Thinking**", "> plan: red, then blue",
		"Intro <b>bold</b> & more", // the model's own text is kept as written
		"![Picture 1](my%20story_files/1.png)", "Middle part",
		"![Picture 2](my%20story_files/2.png)", "The end.", "seed 7")
	for name, src := range map[string]string{
		"input-1.png": h.Path(e.Inputs[0]), "1.png": h.Path(e.Pictures[0]), "2.png": h.Path(e.Pictures[1]),
	} {
		got, err := os.ReadFile(filepath.Join(dir, "my story_files", name))
		want, _ := os.ReadFile(src)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: not a copy of %s (%v)", name, src, err)
		}
	}
	if names := dirNames(t, dir); !reflect.DeepEqual(names, []string{"my story.md", "my story_files"}) {
		t.Errorf("folder holds %v", names)
	}

	// Exporting again replaces the folder whole: no stale files, nothing
	// left aside.
	os.WriteFile(filepath.Join(dir, "my story_files", "stale.png"), []byte("x"), 0o644)
	if err := ExportMarkdown(e, h, out); err != nil {
		t.Fatal(err)
	}
	if names := dirNames(t, filepath.Join(dir, "my story_files")); !reflect.DeepEqual(names, []string{"1.png", "2.png", "input-1.png"}) {
		t.Errorf("files folder holds %v after a second export", names)
	}
	if names := dirNames(t, dir); !reflect.DeepEqual(names, []string{"my story.md", "my story_files"}) {
		t.Errorf("folder holds %v after a second export", names)
	}
}

func TestExportFailureLeavesNothing(t *testing.T) {
	e, h := storyEntry(t)
	// A picture of the entry has gone from the history.
	if err := os.Remove(h.Path(e.Pictures[1])); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := ExportHTML(e, h, filepath.Join(dir, "s.html")); err == nil || !strings.Contains(err.Error(), e.Pictures[1]) {
		t.Errorf("ExportHTML with a missing picture: %v, want an error naming it", err)
	}
	if err := ExportMarkdown(e, h, filepath.Join(dir, "s.md")); err == nil || !strings.Contains(err.Error(), e.Pictures[1]) {
		t.Errorf("ExportMarkdown with a missing picture: %v, want an error naming it", err)
	}
	if names := dirNames(t, dir); len(names) != 0 {
		t.Errorf("failed exports left %v", names)
	}

	// Earlier exports at the same place survive a failed one.
	os.WriteFile(filepath.Join(dir, "s.html"), []byte("old page"), 0o644)
	os.WriteFile(filepath.Join(dir, "s.md"), []byte("old md"), 0o644)
	os.Mkdir(filepath.Join(dir, "s_files"), 0o755)
	os.WriteFile(filepath.Join(dir, "s_files", "1.png"), []byte("old picture"), 0o644)
	ExportHTML(e, h, filepath.Join(dir, "s.html"))
	ExportMarkdown(e, h, filepath.Join(dir, "s.md"))
	for name, want := range map[string]string{"s.html": "old page", "s.md": "old md", "s_files/1.png": "old picture"} {
		if got, _ := os.ReadFile(filepath.Join(dir, name)); string(got) != want {
			t.Errorf("%s holds %q after a failed export, want %q", name, got, want)
		}
	}
	if names := dirNames(t, dir); !reflect.DeepEqual(names, []string{"s.html", "s.md", "s_files"}) {
		t.Errorf("folder holds %v after failed exports", names)
	}
}

func TestExportMarkdownWriteFailureRestoresFolder(t *testing.T) {
	e, h := storyEntry(t)
	dir := t.TempDir()
	// The Markdown file cannot be written (a folder has its name), after
	// the pictures were copied: the earlier pictures folder comes back.
	os.MkdirAll(filepath.Join(dir, "s.md", "x"), 0o755)
	os.Mkdir(filepath.Join(dir, "s_files"), 0o755)
	os.WriteFile(filepath.Join(dir, "s_files", "keep.png"), []byte("old"), 0o644)
	if err := ExportMarkdown(e, h, filepath.Join(dir, "s.md")); err == nil {
		t.Fatal("ExportMarkdown over a folder succeeded")
	}
	if names := dirNames(t, filepath.Join(dir, "s_files")); !reflect.DeepEqual(names, []string{"keep.png"}) {
		t.Errorf("pictures folder holds %v after a failed export, want the earlier keep.png", names)
	}
	if names := dirNames(t, dir); !reflect.DeepEqual(names, []string{"s.md", "s_files"}) {
		t.Errorf("folder holds %v after a failed export", names)
	}
}

func TestExportWithoutPictures(t *testing.T) {
	h, _ := OpenHistory(t.TempDir())
	e := Entry{Task: protocol.OpInterleave, Prompt: "", Text: "Only words."}
	dir := t.TempDir()
	if err := ExportMarkdown(e, h, filepath.Join(dir, "w.md")); err != nil {
		t.Fatal(err)
	}
	if err := ExportHTML(e, h, filepath.Join(dir, "w.html")); err != nil {
		t.Fatal(err)
	}
	md, _ := os.ReadFile(filepath.Join(dir, "w.md"))
	page, _ := os.ReadFile(filepath.Join(dir, "w.html"))
	inOrder(t, string(md), "# Storyboard", "Only words.")
	inOrder(t, string(page), "<title>Storyboard</title>", "Only words.")
	if names := dirNames(t, dir); !reflect.DeepEqual(names, []string{"w.html", "w.md"}) {
		t.Errorf("folder holds %v, want no pictures folder", names)
	}
}
