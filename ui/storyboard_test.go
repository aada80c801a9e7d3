package ui

import (
	"bytes"
	"image"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/sensenova/studio/app"
	"github.com/sensenova/studio/inference/protocol"
)

// sbTestScreen opens the window on the demo model and returns the
// Storyboard screen once it offers the demo model's defaults.
func sbTestScreen(t *testing.T) (*Window, *app.Studio, *storyboardScreen) {
	t.Helper()
	w, studio := newTestWindow(t)
	s := w.Screen(tabStoryboard).(*storyboardScreen)
	fyne.DoAndWait(func() {
		w.Resize(fyne.NewSize(1180, 800))
		w.Select(tabStoryboard)
	})
	eventually(t, 10*time.Second, "the demo model's defaults", func() bool { return s.demo && strings.Contains(s.note.Text, "Demo model") })
	return w, studio, s
}

// sbRunning tells whether a storyboard is being written.
func sbRunning(s *storyboardScreen) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.running
}

// sbCardTexts describes the cards shown: "text:…", "think:…", "picture N"
// (with "(empty)" when it has no picture), "drawing".
func sbCardTexts(s *storyboardScreen) []string {
	var out []string
	for _, o := range s.cards.Objects {
		switch {
		case o == s.empty:
		case s.preview != nil && o == s.preview:
			out = append(out, "drawing")
		default:
			for _, v := range s.views {
				if v.obj != o {
					continue
				}
				switch {
				case v.pic != nil && v.pic.img.Image == nil:
					out = append(out, "picture "+strconv.Itoa(v.part.Index+1)+" (empty)")
				case v.pic != nil:
					out = append(out, "picture "+strconv.Itoa(v.part.Index+1))
				case v.part.Think:
					out = append(out, "think:"+v.text.Text)
				default:
					out = append(out, "text:"+v.text.Text)
				}
			}
		}
	}
	return out
}

// sbDemoPictures makes n real demo pictures (t2i, w×h, 2 steps) and returns
// copies of them outside the history, as the engine's session files would
// be.
func sbDemoPictures(t *testing.T, studio *app.Studio, n, w, h int) []string {
	t.Helper()
	dir := t.TempDir()
	var out []string
	for k := 0; k < n; k++ {
		done := make(chan app.Entry, 1)
		fail := make(chan string, 1)
		cfg := 4.0
		_, err := studio.Run(protocol.Request{Op: protocol.OpTextImage, Prompt: "storyboard scene " + strconv.Itoa(k),
			Width: w, Height: h, Steps: 2, CFGScale: &cfg, Seed: int64(7 + k)},
			app.Callbacks{Done: func(e app.Entry) { done <- e }, Failed: func(_, m string) { fail <- m }})
		if err != nil {
			t.Fatal(err)
		}
		select {
		case e := <-done:
			p := filepath.Join(dir, strconv.Itoa(k)+".png")
			data, err := os.ReadFile(studio.History().Path(e.Pictures[0]))
			if err != nil {
				t.Fatal(err)
			}
			os.WriteFile(p, data, 0o644)
			out = append(out, p)
		case m := <-fail:
			t.Fatalf("demo picture: %s", m)
		case <-time.After(30 * time.Second):
			t.Fatal("demo picture: no result in 30 s")
		}
	}
	return out
}

func sbCopy(t *testing.T, src, dst string) string {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	return dst
}

func sbHistory(t *testing.T, studio *app.Studio, task string) []app.Entry {
	t.Helper()
	es, _, err := studio.History().List()
	if err != nil {
		t.Fatal(err)
	}
	var out []app.Entry
	for _, e := range es {
		if e.Task == task {
			out = append(out, e)
		}
	}
	return out
}

// TestStoryboardWritesSavesAndCancels runs real storyboards on the demo
// model: the text streams into cards that end equal to the saved entry; bad
// input is refused before sending; Cancel stops a long one and keeps its
// text without saving it.
func TestStoryboardWritesSavesAndCancels(t *testing.T) {
	_, studio, s := sbTestScreen(t)
	fyne.DoAndWait(func() {
		if s.aspect.Selected != "16:9  (512×288)" || s.steps.Text != "12" || s.tokens.Text != "512" {
			t.Errorf("demo defaults: aspect %q, steps %q, tokens %q; want 16:9 (512×288), 12, 512", s.aspect.Selected, s.steps.Text, s.tokens.Text)
		}
		if s.note.Hidden || !strings.Contains(s.note.Text, "Demo model") {
			t.Errorf("the screen does not say why its defaults are small: %q", s.note.Text)
		}
		if len(s.aspect.Options) != len(sbPresets) {
			t.Errorf("%d aspect presets offered, want %d", len(s.aspect.Options), len(sbPresets))
		}
		if !s.think.Checked {
			t.Error("think mode is off by default; upstream has it on")
		}
	})

	// Invalid input is caught before anything is sent.
	fyne.DoAndWait(func() {
		test.Tap(s.generate)
		if s.message.Hidden || !strings.Contains(s.message.Text, "prompt") {
			t.Errorf("empty prompt: message %q", s.message.Text)
		}
		test.Type(s.prompt, "A short story about a lighthouse keeper and a storm, with pictures.")
		s.steps.SetText("two")
		test.Tap(s.generate)
		if s.message.Hidden || !strings.Contains(s.message.Text, "Steps") {
			t.Errorf("steps %q: message %q", s.steps.Text, s.message.Text)
		}
	})
	if sbRunning(s) || len(sbHistory(t, studio, protocol.OpInterleave)) != 0 {
		t.Fatal("a storyboard was sent with invalid input")
	}

	// A real storyboard with a small text budget.
	fyne.DoAndWait(func() {
		s.steps.SetText("2")
		s.tokens.SetText("40")
		test.Tap(s.generate)
	})
	eventually(t, 30*time.Second, "the storyboard to finish", func() bool { return !sbRunning(s) && s.entry != nil })
	entries := sbHistory(t, studio, protocol.OpInterleave)
	if len(entries) != 1 {
		t.Fatalf("%d storyboards in the history, want 1", len(entries))
	}
	e := entries[0]
	fyne.DoAndWait(func() {
		if s.entry.ID != e.ID {
			t.Errorf("the screen shows entry %s, the history has %s", s.entry.ID, e.ID)
		}
		if r := e.Request; r.MaxNewTokens != 40 || r.Steps != 2 || r.Width != 512 || r.Height != 288 || !r.Think || r.Seed != 42 {
			t.Errorf("request sent: %+v", r)
		}
		s.mu.Lock()
		streamed, tokens := s.stream.text.String(), s.stream.tokens
		s.mu.Unlock()
		if tokens == 0 || streamed != e.Text {
			t.Errorf("streamed %d pieces joined to %q; the saved text is %q", tokens, streamed, e.Text)
		}
		var want []string
		for _, p := range app.StoryParts(e) {
			switch {
			case p.IsPicture():
				want = append(want, "picture "+strconv.Itoa(p.Index+1))
			case p.Think:
				want = append(want, "think:"+app.CleanText(p.Text))
			default:
				want = append(want, "text:"+app.CleanText(p.Text))
			}
		}
		got := sbCardTexts(s)
		if len(got) == 0 || strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("cards %q, want %q", got, want)
		}
		if !strings.Contains(s.progress.label.Text, "done") || s.exportMD.Disabled() || s.exportHTML.Disabled() {
			t.Errorf("after the run: progress %q, exports disabled %v/%v", s.progress.label.Text, s.exportMD.Disabled(), s.exportHTML.Disabled())
		}
	})

	// Cancel a long one: it stops, its text stays, nothing is saved. (Many
	// steps make its first picture take long enough to cancel during it.)
	fyne.DoAndWait(func() {
		s.steps.SetText("500")
		s.tokens.SetText("60000")
		test.Tap(s.generate)
	})
	eventually(t, 20*time.Second, "the first words", func() bool { return s.streamTokens() > 20 })
	fyne.DoAndWait(s.Cancel)
	eventually(t, 10*time.Second, "the cancel to be answered", func() bool { return strings.Contains(s.progress.label.Text, "cancelled") })
	fyne.DoAndWait(func() {
		if !strings.Contains(s.progress.label.Text, "cancelled") {
			t.Errorf("progress after Cancel: %q", s.progress.label.Text)
		}
		if len(sbCardTexts(s)) == 0 {
			t.Error("the text written before Cancel is gone")
		}
		if s.generate.Disabled() || !s.cancel.Disabled() {
			t.Error("Generate/Cancel not reset after cancelling")
		}
		if s.streamTokens() >= 60000 {
			t.Error("the storyboard ran to its end; Cancel did nothing")
		}
	})
	if n := len(sbHistory(t, studio, protocol.OpInterleave)); n != 1 {
		t.Errorf("%d storyboards in the history after a cancelled one, want 1", n)
	}

	// Input pictures: a file that is not a picture is refused by name; a
	// picture is listed, replaces the aspect preset, and travels with the
	// request (the history keeps a copy).
	bad := filepath.Join(t.TempDir(), "notes.png")
	os.WriteFile(bad, []byte("not a picture"), 0o644)
	pic := askPicture(t, "harbour.png")
	fyne.DoAndWait(func() { s.handleDrop([]fyne.URI{storage.NewFileURI(bad), storage.NewFileURI(pic)}) })
	eventually(t, 5*time.Second, "the dropped pictures", func() bool {
		return len(s.inputs) == 1 && strings.Contains(s.note.Text, "first input")
	})
	fyne.DoAndWait(func() {
		if s.message.Hidden || !strings.Contains(s.message.Text, "notes.png") {
			t.Errorf("a file that is not a picture: message %q", s.message.Text)
		}
		if s.inputs[0] != pic || len(s.inputBox.Objects) != 1 || !s.aspect.Disabled() || !strings.Contains(s.note.Text, "first input") {
			t.Errorf("with an input picture: inputs %v, rows %d, aspect disabled %v, note %q", s.inputs, len(s.inputBox.Objects), s.aspect.Disabled(), s.note.Text)
		}
		s.tokens.SetText("16")
		test.Tap(s.generate)
	})
	eventually(t, 30*time.Second, "the storyboard with an input", func() bool { return s.entry != nil && len(s.entry.Inputs) == 1 })
	fyne.DoAndWait(func() {
		e := *s.entry
		if len(e.Request.Images) != 1 || e.Request.Images[0] != studio.History().Path(e.Inputs[0]) {
			t.Errorf("the entry's request images %v, want the history's copy of the input", e.Request.Images)
		}
		// The row's remove button takes the picture out again.
		row := s.inputBox.Objects[0].(*fyne.Container)
		for _, o := range row.Objects {
			if b, ok := o.(*widget.Button); ok {
				test.Tap(b)
			}
		}
		if len(s.inputs) != 0 || len(s.inputBox.Objects) != 0 || s.aspect.Disabled() {
			t.Errorf("after removing the input: inputs %v, rows %d, aspect disabled %v", s.inputs, len(s.inputBox.Objects), s.aspect.Disabled())
		}
	})
}

// TestStoryboardPictureCardsExportAndLoad drives the picture path with real
// demo pictures (the random demo model never decides to draw by itself):
// the engine's events as app.Studio delivers them, then the saved entry,
// its exports, and loading it again from the history.
func TestStoryboardPictureCardsExportAndLoad(t *testing.T) {
	w, studio, s := sbTestScreen(t)
	pics := sbDemoPictures(t, studio, 2, 96, 64)
	session := t.TempDir()
	preview := sbCopy(t, pics[0], filepath.Join(session, "9-preview-0-1.png"))
	p0 := sbCopy(t, pics[0], filepath.Join(session, "9-0.png"))
	p1 := sbCopy(t, pics[1], filepath.Join(session, "9-1.png"))

	var run int
	var added []app.Entry
	fyne.DoAndWait(func() {
		next := w.env.added
		w.env.added = func(e app.Entry) { added = append(added, e); next(e) }
		test.Type(s.prompt, "A fox's day <script>alert(1)</script>")
		run = s.begin()
	})
	cb := s.callbacks(run)
	cb.Token("<think>plan two scenes</think>")
	cb.Token("Morning")
	cb.Token(" comes.")
	cb.Progress(0, 1, 2, preview)
	fyne.DoAndWait(func() {
		got := sbCardTexts(s)
		if strings.Join(got, "|") != "think:plan two scenes|text:Morning comes.|drawing" {
			t.Errorf("cards while drawing picture 1: %q", got)
		}
		if s.preview == nil || s.preview.img.Image == nil || !strings.Contains(s.preview.caption.Text, "step 1/2") {
			t.Error("the picture being drawn shows no preview and step")
		}
		if !strings.Contains(s.progress.label.Text, "step 1/2") {
			t.Errorf("progress %q, want step 1/2", s.progress.label.Text)
		}
	})
	if _, err := os.Stat(preview); err == nil {
		t.Error("the preview file was left in the session folder")
	}
	cb.Picture(0, p0)
	cb.Token("Night")
	cb.Token(" falls.")
	cb.Picture(1, p1)
	fyne.DoAndWait(func() {
		got := sbCardTexts(s)
		want := "think:plan two scenes|text:Morning comes.|picture 1|text:Night falls.|picture 2"
		if strings.Join(got, "|") != want {
			t.Errorf("cards after two pictures: %q, want %q", got, want)
		}
	})

	// The result as the engine would save it.
	text := "<think>plan two scenes</think>Morning comes.<image>Night falls.<image>"
	var prompt string
	fyne.DoAndWait(func() { prompt = s.prompt.Text })
	e, err := studio.History().Add(app.Entry{Task: protocol.OpInterleave, Prompt: prompt, Text: text, Model: "demo-model-v1",
		Request: protocol.Request{Op: protocol.OpInterleave, Prompt: prompt, Width: 96, Height: 64, Steps: 2, Seed: 5, Think: true, MaxNewTokens: 40}},
		[]string{p0, p1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cb.Done(e)
	eventually(t, 10*time.Second, "the saved storyboard", func() bool { return s.entry != nil })
	fyne.DoAndWait(func() {
		got := sbCardTexts(s)
		want := "think:plan two scenes|text:Morning comes.|picture 1|text:Night falls.|picture 2"
		if strings.Join(got, "|") != want {
			t.Errorf("cards of the saved storyboard: %q, want %q", got, want)
		}
		for _, v := range s.views {
			if v.pic != nil {
				if b := v.pic.img.Image.Bounds(); b.Dx() != 96 || b.Dy() != 64 {
					t.Errorf("picture %d shown at %v, want 96×64", v.part.Index+1, b)
				}
			}
		}
		if len(added) != 1 || added[0].ID != e.ID {
			t.Errorf("the History screen was told of %d entries, want the storyboard", len(added))
		}
		// Tapping a picture opens it zoomable.
		for _, v := range s.views {
			if v.pic != nil && v.part.Index == 1 {
				test.Tap(v.pic)
			}
		}
		if top := w.Canvas().Overlays().Top(); top == nil {
			t.Error("tapping a picture opened nothing")
		} else {
			found := false
			var walk func(o fyne.CanvasObject)
			walk = func(o fyne.CanvasObject) {
				if iv, ok := o.(*ImageView); ok && iv.Image() != nil && iv.Image().Bounds().Dx() == 96 {
					found = true
				}
				if c, ok := o.(*fyne.Container); ok {
					for _, x := range c.Objects {
						walk(x)
					}
				}
				if wd, ok := o.(fyne.Widget); ok {
					for _, x := range test.WidgetRenderer(wd).Objects() {
						walk(x)
					}
				}
			}
			walk(top)
			if !found {
				t.Error("the zoom view does not show the picture")
			}
			w.Canvas().Overlays().Remove(top)
		}
	})

	// Export both ways from the screen.
	dir := t.TempDir()
	md, page := filepath.Join(dir, "fox.md"), filepath.Join(dir, "fox.html")
	fyne.DoAndWait(func() { s.export("md", md, false) })
	eventually(t, 10*time.Second, "the Markdown export", func() bool { return strings.HasPrefix(s.exported.Text, "Exported to") })
	fyne.DoAndWait(func() { s.export("html", page, false) })
	eventually(t, 10*time.Second, "the HTML export", func() bool { return strings.HasSuffix(s.exported.Text, "fox.html") })
	mdText := string(readFileSB(t, md))
	for _, want := range []string{`# A fox's day \<script\>`, "Morning comes.", "![Picture 1](fox_files/1.png)", "Night falls.", "![Picture 2](fox_files/2.png)"} {
		if !strings.Contains(mdText, want) {
			t.Errorf("Markdown lacks %q:\n%s", want, mdText)
		}
	}
	for k := range 2 {
		got := readFileSB(t, filepath.Join(dir, "fox_files", strconv.Itoa(k+1)+".png"))
		if want := readFileSB(t, studio.History().Path(e.Pictures[k])); !bytes.Equal(got, want) {
			t.Errorf("fox_files/%d.png is not the history's picture", k+1)
		}
	}
	html := string(readFileSB(t, page))
	if strings.Count(html, `src="data:image/png;base64,`) != 2 || strings.Contains(html, "<script>") || !strings.Contains(html, "Night falls.") {
		t.Errorf("HTML export: %d embedded pictures, unescaped script %v", strings.Count(html, "data:image/png"), strings.Contains(html, "<script>"))
	}

	// Loading it again from the history (as the History screen's re-run
	// does) fills the fields and shows it.
	fyne.DoAndWait(func() {
		w.Select(tabHistory)
		s.prompt.SetText("")
		s.setCards(nil, nil, nil)
		s.entry = nil
		w.rerun(e)
	})
	eventually(t, 10*time.Second, "the loaded storyboard", func() bool { return s.entry != nil && len(s.views) == 5 })
	fyne.DoAndWait(func() {
		if w.tabs.Selected().Text != tabStoryboard {
			t.Errorf("re-run opened %q", w.tabs.Selected().Text)
		}
		if s.prompt.Text != e.Request.Prompt || s.seed.Text != "5" || s.steps.Text != "2" || s.tokens.Text != "40" ||
			!s.think.Checked || s.sizes[s.aspect.Selected] != [2]int{96, 64} {
			t.Errorf("loaded fields: prompt %q seed %q steps %q tokens %q aspect %q", s.prompt.Text, s.seed.Text, s.steps.Text, s.tokens.Text, s.aspect.Selected)
		}
		req, err := s.request()
		if err != nil || req.Seed != 5 || req.Width != 96 || req.Height != 64 || req.MaxNewTokens != 40 || req.Prompt != e.Request.Prompt {
			t.Errorf("the loaded screen would send %+v (%v)", req, err)
		}
	})
}

func readFileSB(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sbCapture renders the window and checks it is not blank; with
// SENSENOVA_SCREENSHOTS set it writes <name>.png there.
func sbCapture(t *testing.T, w *Window, name string) {
	t.Helper()
	var img image.Image
	fyne.DoAndWait(func() {
		w.Resize(fyne.NewSize(1180, 800))
		// The desktop driver lays containers out again whenever a min size
		// changes (a label's new text); the test driver does not, so do it
		// once here, as a frame of the real window would.
		w.Content().Refresh()
		img = w.Canvas().Capture()
	})
	if b, n := img.Bounds(), distinctColours(img, 4); b.Dx() < 1000 || n < 50 {
		t.Errorf("capture %v with %d colours looks blank", b, n)
	}
	saveScreenshot(t, img, name)
}

// TestScreenshotStoryboard shows a real storyboard of the demo model: its
// made-up sentences and the three pictures it decided to draw.
func TestScreenshotStoryboard(t *testing.T) {
	w, _, s := sbTestScreen(t)
	prompt := "A short illustrated story about a lighthouse keeper and a storm, in three scenes."
	fyne.DoAndWait(func() {
		test.Type(s.prompt, prompt)
		s.steps.SetText("4")
		test.Tap(s.generate)
	})
	eventually(t, 60*time.Second, "the storyboard", func() bool { return !sbRunning(s) && s.entry != nil })
	eventually(t, 10*time.Second, "the storyboard with its pictures", func() bool {
		n := 0
		for _, v := range s.views {
			if v.pic != nil && v.pic.img.Image != nil {
				n++
			}
		}
		return n >= 2
	})
	sbCapture(t, w, "storyboard")
}
