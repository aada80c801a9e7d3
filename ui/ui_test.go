package ui

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"

	"github.com/sensenova/studio/app"
	"github.com/sensenova/studio/internal/enginetest"
	"github.com/sensenova/studio/internal/version"
)

// newTestWindow starts a studio on the real engine and the built-in demo
// model (temporary settings, history and cache folders; the first-run
// welcome already done) and builds the main window on Fyne's headless test
// app.
func newTestWindow(t *testing.T) (*Window, *app.Studio) {
	t.Helper()
	return newTestWindowWith(t, func(s *app.Settings) { s.FirstRunDone = true })
}

// newTestWindowWith is newTestWindow with settings that adjust changes.
func newTestWindowWith(t *testing.T, adjust func(*app.Settings)) (*Window, *app.Studio) {
	t.Helper()
	bin, err := enginetest.Build()
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	settings := app.Settings{OutputDir: filepath.Join(tmp, "history")}
	adjust(&settings)
	if err := settings.Save(filepath.Join(tmp, "settings.json")); err != nil {
		t.Fatal(err)
	}
	a := newSerialApp(t)
	var w *Window
	statusCh := make(chan app.StudioStatus, 256)
	studio, err := app.NewStudio(context.Background(), app.StudioOptions{
		SettingsPath: filepath.Join(tmp, "settings.json"),
		Engine:       bin,
		EngineArgs:   []string{"--demo_cache", filepath.Join(tmp, "cache")},
		OnStatus: func(st app.StudioStatus) {
			select {
			case statusCh <- st:
			default:
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(studio.Close)
	// The window is built and told the status on the UI goroutine, as
	// main does.
	fyne.DoAndWait(func() { w = NewMainWindow(a, studio, nil) })
	t.Cleanup(func() { fyne.DoAndWait(w.Close) })
	deadline := time.After(120 * time.Second)
	for st := studio.Status(); st.Model == nil; st = studio.Status() {
		if st.LoadError != "" {
			t.Fatalf("the demo model did not load: %s", st.LoadError)
		}
		select {
		case st := <-statusCh:
			w.ShowStatus(st)
		case <-deadline:
			t.Fatalf("no model after 120 s: %+v", studio.Status())
		}
	}
	w.ShowStatus(studio.Status())
	return w, studio
}

// eventually polls cond (on the UI goroutine) until it holds or the time is
// up.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		ok := false
		fyne.DoAndWait(func() { ok = cond() })
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// onUI runs f on the UI goroutine and waits, as fyne.DoAndWait does, then
// ends the test if f returned false. f must not call t.Fatal: that would end
// the UI goroutine instead of the test, and the test would hang.
func onUI(t *testing.T, f func() bool) {
	t.Helper()
	ok := true
	fyne.DoAndWait(func() { ok = f() })
	if !ok {
		t.FailNow()
	}
}

// labels returns the texts of every label under o.
func labels(o fyne.CanvasObject) []string {
	var out []string
	var walk func(o fyne.CanvasObject)
	walk = func(o fyne.CanvasObject) {
		switch x := o.(type) {
		case *widget.Label:
			out = append(out, x.Text)
		case *fyne.Container:
			for _, c := range x.Objects {
				walk(c)
			}
		}
	}
	walk(o)
	return out
}

func TestMainWindowTabsAndDemoNotice(t *testing.T) {
	w, _ := newTestWindow(t)
	var title string
	var tabs []string
	var noted bool
	// The last status reaches the window through fyne.Do: read after it.
	fyne.DoAndWait(func() {
		title = w.Title()
		for _, it := range w.tabs.Items {
			tabs = append(tabs, it.Text)
		}
		noted = !w.note.Hidden && w.note.Text != ""
	})
	if title != version.Name {
		t.Errorf("title %q, want %q", title, version.Name)
	}
	want := []string{tabCreate, tabThink, tabEdit, tabStoryboard, tabAsk, tabHistory, tabGPU, tabSettings}
	if len(tabs) != len(want) {
		t.Fatalf("tabs %v, want %v", tabs, want)
	}
	for i := range want {
		if tabs[i] != want[i] {
			t.Errorf("tab %d is %q, want %q", i, tabs[i], want[i])
		}
	}
	if !noted {
		t.Error("the window does not say the demo model's pictures are abstract")
	}
}

func TestWindowWithoutEngineExplains(t *testing.T) {
	a := newSerialApp(t)
	var shown []string
	fyne.DoAndWait(func() {
		w := NewMainWindow(a, nil, errTest("the engine program \"sensenova\" was not found"))
		shown = labels(w.Content())
		w.Close()
	})
	found := false
	for _, s := range shown {
		found = found || strings.Contains(s, "was not found")
	}
	if !found {
		t.Errorf("the window does not explain why the engine is missing: %v", shown)
	}
}

type errTest string

func (e errTest) Error() string { return string(e) }
