package ui

import (
	"bytes"
	"image"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"

	"github.com/sensenova/studio/app"
)

// createTestScreen opens the window on the demo model and returns the
// Create (or Think) screen once it has the demo model's defaults.
func createTestScreen(t *testing.T, think bool) (*Window, *app.Studio, *createScreen) {
	t.Helper()
	w, studio := newTestWindow(t)
	tab := tabCreate
	if think {
		tab = tabThink
	}
	s := w.Screen(tab).(*createScreen)
	fyne.DoAndWait(func() { w.Select(tab) })
	eventually(t, 10*time.Second, "the demo model's defaults", func() bool { return s.demo && !s.note.Hidden && s.size.Selected == t2iDemoSizes[1].label })
	return w, studio, s
}

// fillForm types a prompt and sets a custom size and the steps.
func fillForm(s *createScreen, prompt string, width, height, steps int) {
	fyne.DoAndWait(func() {
		s.prompt.SetText("")
		test.Type(s.prompt, prompt)
		s.size.SetSelected(t2iCustomLabel)
		s.width.SetText(strconv.Itoa(width))
		s.height.SetText(strconv.Itoa(height))
		s.steps.SetText(strconv.Itoa(steps))
	})
}

// generate presses Generate and waits for the run to end; it returns the
// entry shown.
func generate(t *testing.T, s *createScreen) app.Entry {
	t.Helper()
	var before *app.Entry
	fyne.DoAndWait(func() {
		before = s.entry
		test.Tap(s.generate)
	})
	eventually(t, 30*time.Second, "the run to end", func() bool { return s.cur == nil && !s.generate.Disabled() })
	var e *app.Entry
	var problem string
	fyne.DoAndWait(func() { e, problem = s.entry, s.problem.Text })
	if e == nil || e == before {
		t.Fatalf("no new result; the screen says %q", problem)
	}
	return *e
}

func historyEntries(t *testing.T, studio *app.Studio) []app.Entry {
	t.Helper()
	es, bad, err := studio.History().List()
	if err != nil || bad != 0 {
		t.Fatalf("history: %v (%d unreadable)", err, bad)
	}
	return es
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCreateGeneratesWithProgressPreviewAndHistory(t *testing.T) {
	w, studio, s := createTestScreen(t, false)
	fyne.DoAndWait(func() {
		if s.note.Hidden || !strings.Contains(s.note.Text, "Demo model") {
			t.Errorf("the screen does not say why the demo model has small defaults: %q", s.note.Text)
		}
		if s.size.Selected != t2iDemoSizes[1].label || s.steps.Text != "12" {
			t.Errorf("demo defaults: size %q, steps %q; want %q and 12", s.size.Selected, s.steps.Text, t2iDemoSizes[1].label)
		}
	})

	fillForm(s, "a red fox in the snow", 64, 96, 3)
	e := generate(t, s)

	fyne.DoAndWait(func() {
		if got := s.progress.label.Text; !strings.Contains(got, "step 3/3") {
			t.Errorf("progress label %q, want it to reach step 3/3", got)
		}
		if s.progress.bar.Value != 1 {
			t.Errorf("progress bar at %v, want 1", s.progress.bar.Value)
		}
		if s.previews == 0 {
			t.Error("no live preview was shown while the picture formed")
		}
		img := s.image.Image()
		if img == nil || img.Bounds().Dx() != 64 || img.Bounds().Dy() != 96 {
			t.Errorf("result shown: %v, want a 64×96 picture", img)
		}
		if want := "seed " + strconv.FormatInt(e.Request.Seed, 10); !strings.Contains(s.info.Text, want) {
			t.Errorf("info line %q does not name the %s", s.info.Text, want)
		}
		if s.seed.Text != strconv.FormatInt(e.Request.Seed, 10) {
			t.Errorf("seed field %q, want the result's seed %d", s.seed.Text, e.Request.Seed)
		}
		if s.saveAs.Disabled() || s.openDir.Disabled() {
			t.Error("Save as… and Open folder stay disabled with a result shown")
		}
	})
	es := historyEntries(t, studio)
	if len(es) != 1 || es[0].Prompt != "a red fox in the snow" || es[0].Task != "t2i" || es[0].Request.Width != 64 || es[0].Request.Height != 96 || es[0].Request.Steps != 3 || es[0].Request.Think {
		t.Fatalf("history %+v, want one 64×96 t2i entry of the prompt", es)
	}
	if img, err := app.ReadPicture(studio.History().Path(es[0].Pictures[0])); err != nil || img.Bounds().Dx() != 64 {
		t.Errorf("history picture: %v %v", img, err)
	}
	eventually(t, 5*time.Second, "the prompt in the recent-prompts list", func() bool {
		return len(s.recent.Options) == 1 && s.recentFull[s.recent.Options[0]] == "a red fox in the snow"
	})

	// A recent prompt refills the prompt box.
	fyne.DoAndWait(func() {
		s.prompt.SetText("something else")
		s.recent.SetSelected(s.recent.Options[0])
		if s.prompt.Text != "a red fox in the snow" {
			t.Errorf("choosing a recent prompt gave %q", s.prompt.Text)
		}
	})

	// Locked: the same seed twice gives the same file.
	fyne.DoAndWait(func() {
		s.lock.SetChecked(true)
		s.seed.SetText("77")
	})
	a := generate(t, s)
	b := generate(t, s)
	if a.Request.Seed != 77 || b.Request.Seed != 77 {
		t.Errorf("locked seeds %d and %d, want 77", a.Request.Seed, b.Request.Seed)
	}
	if !bytes.Equal(readFile(t, studio.History().Path(a.Pictures[0])), readFile(t, studio.History().Path(b.Pictures[0]))) {
		t.Error("two runs with a locked seed gave different files")
	}

	// Unlocked: a new seed every time, shown in the field.
	fyne.DoAndWait(func() { s.lock.SetChecked(false) })
	c := generate(t, s)
	d := generate(t, s)
	if c.Request.Seed == 77 || c.Request.Seed == d.Request.Seed {
		t.Errorf("unlocked seeds %d and %d: want new ones", c.Request.Seed, d.Request.Seed)
	}
	var seed string
	fyne.DoAndWait(func() { seed = s.seed.Text })
	if seed != strconv.FormatInt(d.Request.Seed, 10) {
		t.Errorf("seed field %q, want %d", seed, d.Request.Seed)
	}
	if n := len(historyEntries(t, studio)); n != 5 {
		t.Errorf("history has %d entries, want 5", n)
	}

	// Re-running the first entry from the history fills the form and gives
	// the same picture.
	fyne.DoAndWait(func() {
		s.prompt.SetText("changed")
		s.steps.SetText("7")
		s.size.SetSelected(t2iDemoSizes[0].label)
		w.Select(tabHistory)
		w.env.rerun(e)
	})
	fyne.DoAndWait(func() {
		if got := w.tabs.Selected().Text; got != tabCreate {
			t.Errorf("rerun opened tab %q, want %q", got, tabCreate)
		}
		if s.prompt.Text != e.Prompt || s.size.Selected != t2iCustomLabel || s.width.Text != "64" || s.height.Text != "96" ||
			s.steps.Text != "3" || s.cfg.Text != "4" || s.shift.Text != "3" || s.norm.Selected != "none" ||
			s.seed.Text != strconv.FormatInt(e.Request.Seed, 10) || !s.lock.Checked {
			t.Errorf("load filled prompt %q size %q %s×%s steps %s cfg %s shift %s norm %s seed %s lock %v; want the entry's",
				s.prompt.Text, s.size.Selected, s.width.Text, s.height.Text, s.steps.Text, s.cfg.Text, s.shift.Text, s.norm.Selected, s.seed.Text, s.lock.Checked)
		}
	})
	eventually(t, 5*time.Second, "the loaded entry's picture", func() bool { return s.image.Image() != nil && s.entry != nil && s.entry.ID == e.ID })
	again := generate(t, s)
	if !bytes.Equal(readFile(t, studio.History().Path(e.Pictures[0])), readFile(t, studio.History().Path(again.Pictures[0]))) {
		t.Error("re-running an entry gave a different picture")
	}
}

func TestCreateCancelStopsALongRun(t *testing.T) {
	w, studio, s := createTestScreen(t, false)
	fillForm(s, "a very slow picture", 256, 256, 1000)
	fyne.DoAndWait(func() { test.Tap(s.generate) })
	eventually(t, 30*time.Second, "step 2 of 1000", func() bool {
		return s.cur != nil && s.cur.step >= 2 && strings.Contains(s.progress.label.Text, "/1000")
	})
	fyne.DoAndWait(func() {
		if !s.generate.Disabled() || s.cancel.Disabled() {
			t.Errorf("while running: Generate disabled %v, Cancel disabled %v; want true, false", s.generate.Disabled(), s.cancel.Disabled())
		}
		// Ctrl+Enter while running starts nothing more.
		s.prompt.TypedShortcut(&desktop.CustomShortcut{KeyName: fyne.KeyReturn, Modifier: fyne.KeyModifierShortcutDefault})
		// Esc reaches the screen through the window.
		w.Canvas().OnTypedKey()(&fyne.KeyEvent{Name: fyne.KeyEscape})
	})
	eventually(t, 20*time.Second, "Generate enabled again after Cancel", func() bool {
		return s.cur == nil && !s.generate.Disabled() && s.cancel.Disabled()
	})
	fyne.DoAndWait(func() {
		if got := s.progress.label.Text; !strings.Contains(got, "cancelled at step") || strings.Contains(got, "1000/1000") {
			t.Errorf("progress label %q, want it to say where it was cancelled", got)
		}
		if !s.problem.Hidden {
			t.Errorf("a cancel is shown as a problem: %q", s.problem.Text)
		}
		if s.image.Image() != nil {
			t.Error("a half-made preview stays on show after Cancel")
		}
	})
	if es := historyEntries(t, studio); len(es) != 0 {
		t.Errorf("a cancelled run was saved: %+v", es)
	}
}

func TestCreateRejectsInvalidInputBeforeSending(t *testing.T) {
	_, studio, s := createTestScreen(t, false)
	cases := []struct {
		prompt, width, height, steps, want string
	}{
		{"", "64", "64", "3", "Type a prompt"},
		{"a fox", "100", "64", "3", "Width 100 is not a multiple of 32: the nearest valid values are 96 and 128"},
		{"a fox", "64", "9000", "3", "Height 9000 is too large: the largest is 8192"},
		{"a fox", "64", "20", "3", "Height 20 is too small"},
		{"a fox", "sixty", "64", "3", `Width "sixty" is not a whole number`},
		{"a fox", "64", "64", "0", "Steps"},
	}
	for _, c := range cases {
		fyne.DoAndWait(func() {
			s.prompt.SetText(c.prompt)
			s.size.SetSelected(t2iCustomLabel)
			s.width.SetText(c.width)
			s.height.SetText(c.height)
			s.steps.SetText(c.steps)
			test.Tap(s.generate)
			if s.problem.Hidden || !strings.Contains(s.problem.Text, c.want) {
				t.Errorf("%+v: the screen says %q (hidden %v), want %q", c, s.problem.Text, s.problem.Hidden, c.want)
			}
			if s.cur != nil || s.generate.Disabled() {
				t.Errorf("%+v: a run started", c)
			}
		})
	}
	// Fixing the size clears the message; Ctrl+Enter in the prompt box
	// then generates, and the history holds only that one result.
	fyne.DoAndWait(func() {
		s.width.SetText("64")
		s.height.SetText("64")
		s.steps.SetText("2")
		s.prompt.SetText("a fox")
		if !s.problem.Hidden {
			t.Errorf("the message stays after the fields changed: %q", s.problem.Text)
		}
		s.prompt.TypedShortcut(&desktop.CustomShortcut{KeyName: fyne.KeyReturn, Modifier: fyne.KeyModifierShortcutDefault})
	})
	eventually(t, 30*time.Second, "the Ctrl+Enter run to end", func() bool { return s.cur == nil && s.entry != nil })
	if es := historyEntries(t, studio); len(es) != 1 || es[0].Request.Width != 64 || es[0].Request.Steps != 2 {
		t.Errorf("history %+v, want only the valid run", es)
	}
}

func TestCheckSideNamesNearestValues(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int
		msg  string
	}{
		{"1024", 1024, ""}, {" 32 ", 32, ""}, {"8192", 8192, ""},
		{"1000", 0, "992 and 1024"}, {"8190", 0, "8160 and 8192"}, {"10", 0, "smallest is 32"}, {"0", 0, "smallest is 32"}, {"-64", 0, "smallest is 32"},
		{"8224", 0, "largest is 8192"}, {"1e3", 0, "not a whole number"},
	} {
		got, err := checkSide("Width", c.in)
		if c.msg == "" {
			if err != nil || got != c.want {
				t.Errorf("checkSide(%q) = %d, %v; want %d", c.in, got, err, c.want)
			}
		} else if err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("checkSide(%q) error %v, want it to say %q", c.in, err, c.msg)
		}
	}
}

func TestThinkStreamsReasoningIntoItsPanel(t *testing.T) {
	w, studio, s := createTestScreen(t, true)
	// The demo model reasons for about 100 tokens in a fraction of a
	// second: let the panel change at every few tokens.
	fyne.DoAndWait(func() { s.thinkEvery = time.Millisecond })
	fillForm(s, "a lighthouse at dusk", 64, 64, 2)
	e := generate(t, s)
	if e.ThinkText == "" || !e.Request.Think {
		t.Fatalf("entry think %v, text %q: want reasoning", e.Request.Think, e.ThinkText)
	}
	fyne.DoAndWait(func() {
		if s.thinkText.Text() != e.ThinkText {
			t.Errorf("panel shows %d bytes, the entry's reasoning has %d", len(s.thinkText.Text()), len(e.ThinkText))
		}
		if s.thinkUpdates < 2 {
			t.Errorf("the panel was updated %d times while the model thought; want the text to stream", s.thinkUpdates)
		}
		if img := s.image.Image(); img == nil || img.Bounds().Dx() != 64 {
			t.Errorf("result shown: %v", img)
		}
	})
	if es := historyEntries(t, studio); len(es) != 1 || es[0].ThinkText != e.ThinkText {
		t.Errorf("history does not keep the reasoning: %+v", es)
	}

	// Re-running from the history opens the Think tab with the reasoning.
	fyne.DoAndWait(func() {
		s.thinkText.set("")
		s.prompt.SetText("")
		w.Select(tabCreate)
		w.env.rerun(e)
		if w.tabs.Selected().Text != tabThink || s.prompt.Text != e.Prompt || s.thinkText.Text() != e.ThinkText {
			t.Errorf("rerun: tab %q, prompt %q, reasoning %d bytes", w.tabs.Selected().Text, s.prompt.Text, len(s.thinkText.Text()))
		}
	})
}

// screenshot renders the window at 1180×800 after a run at the demo
// defaults and writes it to $SENSENOVA_SCREENSHOTS/<name>.png when set.
func screenshot(t *testing.T, think bool, name, prompt string) {
	w, _, s := createTestScreen(t, think)
	fyne.DoAndWait(func() {
		w.Resize(fyne.NewSize(1180, 800))
		test.Type(s.prompt, prompt)
	})
	generate(t, s)
	var img image.Image
	fyne.DoAndWait(func() { img = w.Canvas().Capture() })
	if b, n := img.Bounds(), distinctColours(img, 4); b.Dx() < 1000 || n < 50 {
		t.Errorf("capture %v with %d colours looks blank", b, n)
	}
	saveScreenshot(t, img, name)
}

func TestScreenshotCreate(t *testing.T) {
	screenshot(t, false, "create", "a red fox sitting in fresh snow, morning light, watercolour")
}

func TestScreenshotThink(t *testing.T) {
	screenshot(t, true, "think", "a lighthouse on a cliff at dusk, waves below, warm window light")
}
