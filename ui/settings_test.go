package ui

import (
	"image/color"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/sensenova/studio/app"
)

// settingsFile is the test window's settings file: newTestWindow keeps it
// next to the history folder it starts with.
func settingsFile(studio *app.Studio) string {
	return filepath.Join(filepath.Dir(studio.History().Dir()), "settings.json")
}

func settingsRead(t *testing.T, path string) app.Settings {
	t.Helper()
	st, err := app.LoadSettings(path)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// settingsScreenOf is the window's Settings screen once it has seen the
// first model load through.
func settingsScreenOf(t *testing.T, w *Window) *settingsScreen {
	t.Helper()
	s := w.Screen(tabSettings).(*settingsScreen)
	eventually(t, 10*time.Second, "the Settings screen shows the loaded model", func() bool {
		return !s.following && !s.busy
	})
	return s
}

func TestSettingsModelFolder(t *testing.T) {
	w, studio := newTestWindow(t)
	s := settingsScreenOf(t, w)
	file := settingsFile(studio)
	demoDir := studio.Status().Model.Dir
	before, _ := os.ReadFile(file)

	// A folder of another model is refused, says why, and is not saved.
	llama := t.TempDir()
	os.WriteFile(filepath.Join(llama, "config.json"), []byte(`{"model_type":"llama"}`), 0o644)
	fyne.DoAndWait(func() {
		test.Type(s.modelEntry, llama)
		test.Tap(s.modelApply)
	})
	eventually(t, 10*time.Second, "the llama folder is refused", func() bool { return !s.busy })
	fyne.DoAndWait(func() {
		if !strings.Contains(s.modelMsg.Text, "is not a SenseNova-U1 model folder") || !strings.Contains(s.modelMsg.Text, `"llama"`) ||
			s.modelMsg.Importance != widget.DangerImportance {
			t.Errorf("message %q (importance %v)", s.modelMsg.Text, s.modelMsg.Importance)
		}
	})
	if after, _ := os.ReadFile(file); string(after) != string(before) || studio.Settings().ModelDir != "" {
		t.Errorf("a refused folder changed the settings: %s", after)
	}
	if m := studio.Status().Model; m == nil || !m.Demo {
		t.Errorf("the loaded model changed: %+v", m)
	}
	// An empty field asks for a folder instead of doing anything.
	fyne.DoAndWait(func() {
		s.modelEntry.SetText("")
		test.Tap(s.modelApply)
		if !strings.Contains(s.modelMsg.Text, "Type or choose") {
			t.Errorf("empty folder: %q", s.modelMsg.Text)
		}
	})

	// A real checkpoint folder (the demo model's own files) is described,
	// saved and loaded.
	fyne.DoAndWait(func() {
		test.Type(s.modelEntry, demoDir)
		test.Tap(s.modelApply)
	})
	eventually(t, 60*time.Second, "the folder loads", func() bool {
		return !s.busy && strings.HasPrefix(s.modelState.Text, "Loaded ")
	})
	desc, err := app.ValidateModelDir(demoDir)
	if err != nil {
		t.Fatal(err)
	}
	fyne.DoAndWait(func() {
		if s.modelMsg.Text != desc+"." {
			t.Errorf("description %q, want %q", s.modelMsg.Text, desc+".")
		}
	})
	if got := settingsRead(t, file).ModelDir; got != demoDir {
		t.Errorf("settings file model_dir %q, want %q", got, demoDir)
	}

	// The demo button goes back to the built-in model.
	fyne.DoAndWait(func() { test.Tap(s.modelDemo) })
	eventually(t, 60*time.Second, "the demo model loads", func() bool {
		return !s.busy && strings.Contains(s.modelState.Text, "Loaded the built-in demo model")
	})
	if st := studio.Status(); st.Model == nil || !st.Model.Demo {
		t.Errorf("status %+v, want the demo model", st)
	}
	var field, about string
	fyne.DoAndWait(func() { field, about = s.modelEntry.Text, s.about.Text })
	if got := settingsRead(t, file).ModelDir; got != "" || field != "" {
		t.Errorf("after the demo button: settings %q, field %q", got, field)
	}
	if !strings.Contains(about, "Settings file: ") || !strings.Contains(about, "engine ") {
		t.Errorf("about %q", about)
	}
}

func TestSettingsThemeSavedAndApplied(t *testing.T) {
	w, studio := newTestWindow(t)
	s := settingsScreenOf(t, w)
	file := settingsFile(studio)
	background := func() (c color.Color) {
		fyne.DoAndWait(func() {
			c = w.env.app.Settings().Theme().Color(theme.ColorNameBackground, w.env.app.Settings().ThemeVariant())
		})
		return c
	}
	same := func(a, b color.Color) bool {
		r1, g1, b1, a1 := a.RGBA()
		r2, g2, b2, a2 := b.RGBA()
		return r1 == r2 && g1 == g2 && b1 == b2 && a1 == a2
	}
	light := theme.DefaultTheme().Color(theme.ColorNameBackground, theme.VariantLight)
	dark := theme.DefaultTheme().Color(theme.ColorNameBackground, theme.VariantDark)

	fyne.DoAndWait(func() { s.theme.SetSelected("Light") })
	if got := settingsRead(t, file).Theme; got != app.ThemeLight {
		t.Errorf("saved theme %q, want light", got)
	}
	if !same(background(), light) {
		t.Errorf("background %v, want the light %v", background(), light)
	}
	fyne.DoAndWait(func() { s.theme.SetSelected("Dark") })
	if got := settingsRead(t, file).Theme; got != app.ThemeDark {
		t.Errorf("saved theme %q, want dark", got)
	}
	if !same(background(), dark) {
		t.Errorf("background %v, want the dark %v", background(), dark)
	}
	// A new window (the next run) applies the saved theme.
	fyne.DoAndWait(func() {
		w.env.app.Settings().SetTheme(theme.DefaultTheme())
		newSettingsScreen(w.env)
	})
	if !same(background(), dark) {
		t.Errorf("a new Settings screen did not apply the saved dark theme")
	}
	fyne.DoAndWait(func() { s.theme.SetSelected("Follow the system") })
	if got := settingsRead(t, file).Theme; got != app.ThemeSystem {
		t.Errorf("saved theme %q, want system", got)
	}
}

func TestSettingsOutputFolder(t *testing.T) {
	w, studio := newTestWindow(t)
	s := settingsScreenOf(t, w)
	h := w.Screen(tabHistory).(*historyScreen)
	file := settingsFile(studio)
	old := historyRun(t, w, studio, historyT2I("before the move", 1))
	eventually(t, 10*time.Second, "the first result is listed", func() bool { return len(h.entries) == 1 })

	// A file is not a folder.
	notDir := filepath.Join(t.TempDir(), "a-file")
	os.WriteFile(notDir, []byte("x"), 0o644)
	var msg string
	fyne.DoAndWait(func() {
		s.outputEntry.SetText(notDir)
		test.Tap(s.outputApply)
		msg = s.outputMsg.Text
	})
	if !strings.Contains(msg, "is a file, not a folder") || studio.History().Dir() == notDir {
		t.Errorf("a file as output folder: %q", msg)
	}

	dir := filepath.Join(t.TempDir(), "new results")
	fyne.DoAndWait(func() {
		s.outputEntry.SetText(dir)
		test.Tap(s.outputApply)
		msg = s.outputMsg.Text
	})
	if studio.History().Dir() != dir || settingsRead(t, file).OutputDir != dir {
		t.Fatalf("output folder %q, saved %q, want %q (%s)", studio.History().Dir(), settingsRead(t, file).OutputDir, dir, msg)
	}
	if !strings.Contains(msg, "New results are saved in "+dir) {
		t.Errorf("message %q", msg)
	}
	// The History screen lists the new, empty folder.
	eventually(t, 10*time.Second, "the History screen lists the new folder", func() bool {
		return !h.listing && h.dir == dir && len(h.entries) == 0
	})
	// New results land there.
	e := historyRun(t, w, studio, historyT2I("after the move", 2))
	if _, err := os.Stat(filepath.Join(dir, e.Pictures[0])); err != nil {
		t.Errorf("the new result is not in the new folder: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, old.Pictures[0])); err == nil {
		t.Errorf("the earlier result moved too")
	}
	eventually(t, 10*time.Second, "the new result is listed", func() bool {
		return len(h.entries) == 1 && h.entries[0].ID == e.ID
	})
}

// TestScreenshotSettings renders the Settings screen after a refused
// folder, the way a user sees the message.
func TestScreenshotSettings(t *testing.T) {
	w, _ := newTestWindow(t)
	s := settingsScreenOf(t, w)
	llama := filepath.Join(t.TempDir(), "Llama-3-8B")
	os.MkdirAll(llama, 0o755)
	os.WriteFile(filepath.Join(llama, "config.json"), []byte(`{"model_type":"llama"}`), 0o644)
	fyne.DoAndWait(func() {
		w.Select(tabSettings)
		w.Resize(fyne.NewSize(1180, 800))
		test.Type(s.modelEntry, llama)
		test.Tap(s.modelApply)
	})
	eventually(t, 10*time.Second, "the folder is refused", func() bool { return !s.busy && s.modelMsg.Importance == widget.DangerImportance })
	hgsScreenshot(t, w, "settings")
}
