package ui

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/sensenova/studio/app"
	"github.com/sensenova/studio/inference/demo"
	"github.com/sensenova/studio/internal/hubtest"
)

// TestFirstRunWelcomeDownloadsTheModel starts the window as a newcomer
// does (no model folder, no first run): the welcome shows instead of the
// tabs with the detected GPU and the recommended model; a folder that is no
// checkpoint is refused with a reason; Download fetches the recommended
// model from a hub on loopback (serving the demo checkpoint's files under
// its name) into the chosen folder, which becomes the model, and the window
// goes on to Create. The welcome is not shown again.
func TestFirstRunWelcomeDownloadsTheModel(t *testing.T) {
	src, err := demo.Ensure(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	recommended := app.Models()[0]
	h := hubtest.Serve(t, recommended.Repo, src)
	w, studio := newTestWindowWith(t, func(s *app.Settings) { s.HubEndpoint = h.URL })
	var f *firstRun
	fyne.DoAndWait(func() {
		if wel, ok := w.Welcome().(*firstRun); ok {
			f = wel
		}
	})
	if f == nil {
		t.Fatal("a newcomer's window shows no welcome")
	}
	eventually(t, 30*time.Second, "the GPU report", func() bool { return f.preset.Visible() })
	dest := filepath.Join(t.TempDir(), "SenseNova-U1")
	onUI(t, func() bool {
		if !strings.Contains(f.gpuState.Text, "GPU") || f.preset.Text == "" {
			t.Errorf("GPU part: %q / %q", f.gpuState.Text, f.preset.Text)
		}
		if !strings.Contains(f.model.Selected, recommended.Name) || !strings.Contains(f.model.Selected, "recommended") || len(f.model.Options) != len(app.Models()) {
			t.Errorf("model choice %q of %d options", f.model.Selected, len(f.model.Options))
		}
		if def, _ := app.DefaultModelDir(recommended); f.dest.Text != def {
			t.Errorf("proposed folder %q, want %q", f.dest.Text, def)
		}
		// Not a checkpoint: refused, the welcome stays.
		f.useFolder(t.TempDir())
		if !f.message.Visible() || !strings.Contains(f.message.Text, "cannot be used") || w.Welcome() == nil {
			t.Errorf("an empty folder: message %q, welcome shown %v", f.message.Text, w.Welcome() != nil)
			return false
		}
		f.dest.SetText(dest)
		test.Tap(f.download)
		return true
	})
	eventually(t, 60*time.Second, "the download to finish", func() bool { return w.Welcome() == nil || (!f.downloading() && f.message.Visible()) })
	onUI(t, func() bool {
		if w.Welcome() != nil {
			t.Errorf("the download did not finish: %q", f.message.Text)
			return false
		}
		if w.tabs.Selected().Text != tabCreate {
			t.Errorf("after the welcome the %s tab shows, want %s", w.tabs.Selected().Text, tabCreate)
		}
		return true
	})
	if got := studio.Settings(); got.ModelDir != dest || !got.FirstRunDone {
		t.Errorf("settings after the download: %+v", got)
	}
	if _, err := os.Stat(filepath.Join(dest, "config.json")); err != nil {
		t.Errorf("the downloaded folder: %v", err)
	}
	eventually(t, 60*time.Second, "the downloaded model to load", func() bool {
		m := studio.Status().Model
		return m != nil && m.Dir == dest
	})
	if studio.NeedsFirstRun() {
		t.Error("the welcome would show again")
	}
}

// TestFirstRunWelcomeCanBeSkipped keeps the demo model and goes to Create;
// Settings opens the welcome again.
func TestFirstRunWelcomeCanBeSkipped(t *testing.T) {
	w, studio := newTestWindowWith(t, func(*app.Settings) {})
	onUI(t, func() bool {
		f, ok := w.Welcome().(*firstRun)
		if !ok {
			t.Error("no welcome on a first run")
			return false
		}
		test.Tap(f.skip)
		if w.Welcome() != nil || w.tabs.Selected().Text != tabCreate {
			t.Errorf("after skipping: welcome %v, tab %s", w.Welcome() != nil, w.tabs.Selected().Text)
		}
		return true
	})
	if st := studio.Settings(); !st.FirstRunDone || st.ModelDir != "" || studio.NeedsFirstRun() {
		t.Errorf("settings after skipping: %+v", st)
	}
	onUI(t, func() bool {
		s := w.Screen(tabSettings).(*settingsScreen)
		test.Tap(s.modelDownload)
		if w.Welcome() == nil {
			t.Error("Settings' Download a model… shows no welcome")
		}
		return true
	})
}

// TestScreenshotWelcome renders the first-run welcome as this machine's
// engine reports its GPU.
func TestScreenshotWelcome(t *testing.T) {
	w, _ := newTestWindowWith(t, func(*app.Settings) {})
	var f *firstRun
	fyne.DoAndWait(func() {
		f, _ = w.Welcome().(*firstRun)
		w.Resize(fyne.NewSize(1180, 800))
	})
	if f == nil {
		t.Fatal("no welcome on a first run")
	}
	eventually(t, 30*time.Second, "the GPU report", func() bool { return f.preset.Visible() })
	hgsScreenshot(t, w, "welcome")
}
