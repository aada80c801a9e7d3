package ui

import (
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/test"

	"github.com/sensenova/studio/app"
	"github.com/sensenova/studio/inference/protocol"
)

// askTestScreen opens the window on the demo model and returns the Ask
// screen once it offers the demo model's defaults.
func askTestScreen(t *testing.T) (*Window, *app.Studio, *askScreen) {
	t.Helper()
	w, studio := newTestWindow(t)
	s := w.Screen(tabAsk).(*askScreen)
	fyne.DoAndWait(func() {
		w.Resize(fyne.NewSize(1180, 800))
		w.Select(tabAsk)
	})
	eventually(t, 10*time.Second, "the demo model's defaults", func() bool { return s.set && s.demo })
	return w, studio, s
}

// askPicture writes a small picture (a colour ramp) to ask about.
func askPicture(t *testing.T, name string) string {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, 96, 64))
	for y := 0; y < 64; y++ {
		for x := 0; x < 96; x++ {
			img.SetNRGBA(x, y, color.NRGBA{uint8(x * 255 / 95), uint8(y * 255 / 63), 160, 255})
		}
	}
	p := filepath.Join(t.TempDir(), name)
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	return p
}

func askRunning(s *askScreen) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.running
}

// askTrim removes what the engine strips from an answer (Python's
// str.strip).
func askTrim(s string) string {
	return strings.TrimFunc(s, func(r rune) bool { return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f) })
}

// TestAskStreamsTheAnswer asks real questions on the demo model: bad input
// is refused before sending; the answer streams into the panel and equals
// the saved entry's; sampling settings travel and come back on re-run;
// Cancel stops a long answer.
func TestAskStreamsTheAnswer(t *testing.T) {
	w, studio, s := askTestScreen(t)
	var added []app.Entry
	fyne.DoAndWait(func() {
		next := w.env.added
		w.env.added = func(e app.Entry) { added = append(added, e); next(e) }
		if s.tokens.Text != "256" || s.note.Hidden || !strings.Contains(s.note.Text, "Demo model") {
			t.Errorf("demo defaults: tokens %q, note %q", s.tokens.Text, s.note.Text)
		}
		if s.sample.Checked || !s.temperature.Disabled() {
			t.Error("sampling is on by default; upstream decodes greedily")
		}
		// Nothing to ask about yet.
		test.Type(s.question, "What colours are in this picture?")
		test.Tap(s.ask)
		if s.message.Hidden || !strings.Contains(s.message.Text, "Open a picture") {
			t.Errorf("no picture: message %q", s.message.Text)
		}
	})

	// A file that is not a picture is refused, naming it.
	bad := filepath.Join(t.TempDir(), "notes.png")
	os.WriteFile(bad, []byte("not a picture"), 0o644)
	fyne.DoAndWait(func() { s.setPicture(bad) })
	eventually(t, 5*time.Second, "the unreadable picture's message", func() bool {
		return !s.message.Hidden && strings.Contains(s.message.Text, "notes.png")
	})
	var taken bool
	fyne.DoAndWait(func() { taken = s.picture != "" || s.view.Image() != nil })
	if taken {
		t.Fatal("an unreadable file was taken as the picture")
	}

	// A dropped picture is shown.
	pic := askPicture(t, "ramp.png")
	fyne.DoAndWait(func() { s.handleDrop([]fyne.URI{storage.NewFileURI(pic)}) })
	eventually(t, 5*time.Second, "the dropped picture", func() bool { return s.view.Image() != nil && s.picture == pic })
	fyne.DoAndWait(func() {
		if !strings.Contains(s.picName.Text, "ramp.png · 96×64") {
			t.Errorf("picture label %q", s.picName.Text)
		}
		s.question.SetText("")
		test.Tap(s.ask)
		if s.message.Hidden || !strings.Contains(s.message.Text, "question") {
			t.Errorf("empty question: message %q", s.message.Text)
		}
	})
	if len(sbHistory(t, studio, protocol.OpVQA)) != 0 {
		t.Fatal("a question was sent with invalid input")
	}

	// A real answer, streamed.
	fyne.DoAndWait(func() {
		test.Type(s.question, "What colours are in this picture?")
		s.tokens.SetText("24")
		test.Tap(s.ask)
	})
	eventually(t, 30*time.Second, "the answer", func() bool { return !askRunning(s) && s.entry != nil })
	es := sbHistory(t, studio, protocol.OpVQA)
	if len(es) != 1 {
		t.Fatalf("%d questions in the history, want 1", len(es))
	}
	e := es[0]
	onUI(t, func() bool {
		s.mu.Lock()
		streamed, pieces := s.streamed.String(), s.count
		s.mu.Unlock()
		if pieces == 0 || e.Answer == "" {
			t.Errorf("no answer streamed (%d pieces, answer %q)", pieces, e.Answer)
			return false
		}
		if askTrim(streamed) != e.Answer {
			t.Errorf("the streamed pieces join to %q; the saved answer is %q", streamed, e.Answer)
		}
		if s.answer.Text != app.CleanText(e.Answer) {
			t.Errorf("the panel shows %q, want the answer %q", s.answer.Text, e.Answer)
		}
		if !strings.Contains(s.status.Text, "answered") || s.ask.Disabled() || !s.cancel.Disabled() || s.copyAnswer.Disabled() {
			t.Errorf("after the answer: status %q, ask disabled %v, cancel disabled %v", s.status.Text, s.ask.Disabled(), s.cancel.Disabled())
		}
		if len(added) != 1 || added[0].ID != e.ID {
			t.Errorf("the History screen was told of %d entries, want the answer", len(added))
		}
		if r := e.Request; r.Question != "What colours are in this picture?" || r.MaxNewTokens != 24 || r.DoSample || len(e.Inputs) != 1 {
			t.Errorf("request saved: %+v, inputs %v", r, e.Inputs)
		}
		return true
	})

	// Sampling with the README's settings; the seed is recorded and comes
	// back when the entry is opened again.
	fyne.DoAndWait(func() {
		s.sample.SetChecked(true)
		if s.temperature.Disabled() {
			t.Error("sampling fields stay disabled when sampling is on")
		}
		test.Tap(s.ask)
	})
	eventually(t, 30*time.Second, "the sampled answer", func() bool { return !askRunning(s) && s.entry != nil && s.entry.ID != e.ID })
	var sampled app.Entry
	fyne.DoAndWait(func() { sampled = *s.entry })
	r := sampled.Request
	if !r.DoSample || r.Temperature == nil || *r.Temperature != 0.6 || r.TopP == nil || *r.TopP != 0.95 || r.TopK != 20 ||
		r.RepetitionPenalty == nil || *r.RepetitionPenalty != 1.05 || r.Seed == 0 {
		t.Errorf("sampling request: %+v", r)
	}
	fyne.DoAndWait(func() {
		s.sample.SetChecked(false)
		s.question.SetText("")
		s.answer.SetText("")
		w.Select(tabHistory)
		w.rerun(sampled)
	})
	eventually(t, 5*time.Second, "the loaded question's picture", func() bool { return s.picture == r.Images[0] && s.view.Image() != nil })
	fyne.DoAndWait(func() {
		if w.tabs.Selected().Text != tabAsk || s.question.Text != r.Question || !s.sample.Checked || s.answer.Text != app.CleanText(sampled.Answer) {
			t.Errorf("loaded: tab %q question %q sampling %v answer %q", w.tabs.Selected().Text, s.question.Text, s.sample.Checked, s.answer.Text)
		}
		req, err := s.request()
		if err != nil || req.Seed != r.Seed || !req.DoSample || req.TopK != 20 || req.Images[0] != studio.History().Path(sampled.Inputs[0]) {
			t.Errorf("the loaded screen would send %+v (%v)", req, err)
		}
	})

	// Cancel a question waiting behind a long picture: the screen says it
	// was cancelled, is ready again, and saves nothing. (The demo model's
	// answers are a few sentences, over before a Cancel could land; the
	// storyboard test cancels text mid-stream.)
	steps := 100000
	long, err := studio.Run(protocol.Request{Op: protocol.OpTextImage, Prompt: "a long one", Width: 256, Height: 256, Steps: steps, Seed: 1}, app.Callbacks{})
	if err != nil {
		t.Fatal(err)
	}
	defer long.Cancel()
	fyne.DoAndWait(func() {
		s.sample.SetChecked(false)
		test.Tap(s.ask)
		if !askRunning(s) {
			t.Error("Ask did not start")
		}
		s.Cancel()
	})
	eventually(t, 10*time.Second, "the cancel to be answered", func() bool { return strings.Contains(s.status.Text, "cancelled") })
	fyne.DoAndWait(func() {
		if askRunning(s) || s.ask.Disabled() || !s.cancel.Disabled() {
			t.Errorf("after Cancel: running %v, Ask disabled %v, Cancel disabled %v", askRunning(s), s.ask.Disabled(), s.cancel.Disabled())
		}
	})
	long.Cancel()
	if n := len(sbHistory(t, studio, protocol.OpVQA)); n != 2 {
		t.Errorf("%d questions in the history after a cancelled one, want 2", n)
	}
}

// TestScreenshotAsk shows a real demo answer about a demo picture.
func TestScreenshotAsk(t *testing.T) {
	w, studio, s := askTestScreen(t)
	pic := sbDemoPictures(t, studio, 1, 512, 384)[0]
	fyne.DoAndWait(func() { s.setPicture(pic) })
	eventually(t, 5*time.Second, "the picture", func() bool { return s.view.Image() != nil })
	fyne.DoAndWait(func() {
		test.Type(s.question, "Describe this picture: which colours are there, and how do they blend?")
		s.tokens.SetText("160")
		test.Tap(s.ask)
	})
	eventually(t, 30*time.Second, "the answer", func() bool { return !askRunning(s) && s.entry != nil })
	sbCapture(t, w, "ask")
}
