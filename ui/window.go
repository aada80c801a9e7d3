// Package ui owns the Fyne screens and widgets of SenseNova Studio. It never
// imports fyne.io/fyne/v2/app, so every screen can be built and tested
// headless with fyne.io/fyne/v2/test; the caller supplies the fyne.App and
// the app.Studio the screens work with. All engine work happens in the
// studio's background goroutines; screens update widgets only through
// fyne.Do, so the window never freezes.
package ui

import (
	"fmt"
	"path/filepath"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/widget"

	"github.com/sensenova/studio/app"
	"github.com/sensenova/studio/assets"
	"github.com/sensenova/studio/internal/version"
)

// AppID is the application's unique id (also in FyneApp.toml).
const AppID = "io.sensenova.studio"

// Icon is the app icon as a Fyne resource.
var Icon = fyne.NewStaticResource("icon.png", assets.Icon)

// screen is one tab of the window.
type screen interface {
	// Content is the tab's widget tree.
	Content() fyne.CanvasObject
	// Start runs the screen's main action (Generate, Ask, …): Ctrl+Enter.
	Start()
	// Cancel stops it: Esc.
	Cancel()
}

// env is what every screen works with.
type env struct {
	app    fyne.App
	win    fyne.Window
	studio *app.Studio
	// added is called (on the UI goroutine) whenever a result is saved to
	// the history, so the History screen can show it.
	added func(app.Entry)
	// rerun opens an entry's task on its screen with its parameters.
	rerun func(app.Entry)
	// historyChanged tells the History screen to read its folder again
	// (after the output folder changed).
	historyChanged func()
	// modelWatchers are told (on the UI goroutine) whether the loaded model
	// is the demo model, first when a model is known and again whenever a
	// model of the other kind is loaded.
	modelWatchers []func(demo bool)
	modelKnown    bool
	modelDemo     bool
	// showWelcome shows the first-run welcome again (model download).
	showWelcome func()
}

// onModel registers f to learn whether the loaded model is the demo model
// (screens offer small defaults for it). If a model is already known, f is
// called at once.
func (e *env) onModel(f func(demo bool)) {
	e.modelWatchers = append(e.modelWatchers, f)
	if e.modelKnown {
		f(e.modelDemo)
	}
}

// modelLoaded tells the watchers about a loaded model if its kind changed.
func (e *env) modelLoaded(demo bool) {
	if e.modelKnown && e.modelDemo == demo {
		return
	}
	e.modelKnown, e.modelDemo = true, demo
	for _, f := range e.modelWatchers {
		f(demo)
	}
}

// dropper is a screen that takes files dropped on the window while it is
// visible.
type dropper interface {
	handleDrop(uris []fyne.URI)
}

// focuser is a screen with a field to focus when the window opens.
type focuser interface {
	focusTarget() fyne.Focusable
}

// Tab titles, in order.
const (
	tabCreate     = "Create"
	tabThink      = "Think"
	tabEdit       = "Edit"
	tabStoryboard = "Storyboard"
	tabAsk        = "Ask"
	tabHistory    = "History"
	tabGPU        = "GPU"
	tabSettings   = "Settings"
)

// Window is the main window and its screens.
type Window struct {
	fyne.Window
	env     *env
	tabs    *container.AppTabs
	screens map[string]screen
	status  *widget.Label
	note    *widget.Label
	bottom  *fyne.Container
	main    fyne.CanvasObject // the tabs and the status lines
	welcome *firstRun         // the first-run welcome while it is shown
}

// NewMainWindow builds the main window on a over studio. When studio is nil
// (the engine could not start), the window says why and offers only the
// settings that might fix it (startErr).
func NewMainWindow(a fyne.App, studio *app.Studio, startErr error) *Window {
	a.SetIcon(Icon)
	w := &Window{Window: a.NewWindow(version.Name), screens: map[string]screen{}}
	w.env = &env{app: a, win: w.Window, studio: studio}
	w.status = widget.NewLabel("")
	w.status.Truncation = fyne.TextTruncateEllipsis
	w.note = widget.NewLabel("")
	w.note.Importance = widget.WarningImportance
	w.note.Truncation = fyne.TextTruncateEllipsis
	w.note.Hide()

	if studio == nil {
		msg := widget.NewLabel(fmt.Sprintf("The engine could not start: %v", startErr))
		msg.Wrapping = fyne.TextWrapWord
		w.SetContent(container.NewPadded(msg))
		w.Resize(fyne.NewSize(900, 600))
		return w
	}

	history := newHistoryScreen(w.env)
	w.env.added = history.add
	w.env.historyChanged = history.refresh
	w.screens[tabCreate] = newCreateScreen(w.env, false)
	w.screens[tabThink] = newCreateScreen(w.env, true)
	w.screens[tabEdit] = newEditScreen(w.env)
	w.screens[tabStoryboard] = newStoryboardScreen(w.env)
	w.screens[tabAsk] = newAskScreen(w.env)
	w.screens[tabHistory] = history
	w.screens[tabGPU] = newGPUScreen(w.env)
	w.screens[tabSettings] = newSettingsScreen(w.env)
	var items []*container.TabItem
	for _, name := range []string{tabCreate, tabThink, tabEdit, tabStoryboard, tabAsk, tabHistory, tabGPU, tabSettings} {
		items = append(items, container.NewTabItem(name, w.screens[name].Content()))
	}
	w.tabs = container.NewAppTabs(items...)
	w.env.rerun = w.rerun

	w.bottom = container.NewVBox(w.note, w.status)
	w.main = container.NewBorder(nil, w.bottom, nil, nil, w.tabs)
	w.env.showWelcome = w.showWelcome
	if studio.NeedsFirstRun() {
		w.showWelcome()
	} else {
		w.SetContent(w.main)
	}
	w.Resize(fyne.NewSize(1180, 800))
	// Files dropped on the window go to the visible screen if it takes
	// them, else to Edit (pictures dropped anywhere become edit inputs).
	w.SetOnDropped(func(_ fyne.Position, uris []fyne.URI) {
		d, ok := w.current().(dropper)
		if !ok {
			if d, ok = w.screens[tabEdit].(dropper); ok {
				w.Select(tabEdit)
			}
		}
		if ok {
			d.handleDrop(uris)
		}
	})
	// The prompt box has the focus when the window opens.
	if f, ok := w.screens[tabCreate].(focuser); ok {
		w.Canvas().Focus(f.focusTarget())
	}

	// Ctrl+Enter runs the visible screen's action, Esc cancels it.
	start := func(fyne.Shortcut) {
		if w.welcome == nil {
			w.current().Start()
		}
	}
	w.Canvas().AddShortcut(&desktop.CustomShortcut{KeyName: fyne.KeyReturn, Modifier: fyne.KeyModifierShortcutDefault}, start)
	w.Canvas().AddShortcut(&desktop.CustomShortcut{KeyName: fyne.KeyEnter, Modifier: fyne.KeyModifierShortcutDefault}, start)
	w.Canvas().SetOnTypedKey(func(ev *fyne.KeyEvent) {
		if ev.Name != fyne.KeyEscape {
			return
		}
		if w.welcome != nil {
			w.welcome.cancelDownload()
		} else {
			w.current().Cancel()
		}
	})
	w.showStatus(studio.Status())
	return w
}

// showWelcome shows the first-run welcome in place of the tabs; finishing
// it brings the tabs back on Create.
func (w *Window) showWelcome() {
	if w.welcome != nil {
		return
	}
	w.welcome = newFirstRun(w.env, func() {
		w.welcome = nil
		w.SetContent(w.main)
		w.Select(tabCreate)
	})
	w.SetContent(container.NewBorder(nil, w.bottom, nil, nil, w.welcome.Content()))
}

// Welcome returns the first-run welcome while it is shown, else nil (tests).
func (w *Window) Welcome() any {
	if w.welcome == nil {
		return nil
	}
	return w.welcome
}

// hiddenMessage is a word-wrapped label of importance imp, hidden until a
// screen has something to say in it (a note, a warning, an error).
func hiddenMessage(imp widget.Importance) *widget.Label {
	l := widget.NewLabel("")
	l.Wrapping = fyne.TextWrapWord
	l.Importance = imp
	l.Hide()
	return l
}

// current is the screen of the selected tab.
func (w *Window) current() screen {
	return w.screens[w.tabs.Selected().Text]
}

// Select shows a tab by title.
func (w *Window) Select(title string) {
	for _, it := range w.tabs.Items {
		if it.Text == title {
			w.tabs.Select(it)
		}
	}
}

// Screen returns the screen of a tab (tests).
func (w *Window) Screen(title string) any { return w.screens[title] }

// rerun opens an entry on the screen of its task.
func (w *Window) rerun(e app.Entry) {
	type rerunner interface{ load(app.Entry) }
	tab := map[string]string{"t2i": tabCreate, "edit": tabEdit, "interleave": tabStoryboard, "vqa": tabAsk}[e.Task]
	if e.Task == "t2i" && e.Request.Think {
		tab = tabThink
	}
	if s, ok := w.screens[tab].(rerunner); ok {
		s.load(e)
		w.Select(tab)
	}
}

// ShowStatus updates the status line; call it from the studio's OnStatus
// (any goroutine).
func (w *Window) ShowStatus(st app.StudioStatus) { fyne.Do(func() { w.showStatus(st) }) }

func (w *Window) showStatus(st app.StudioStatus) {
	engine := st.Engine.Message
	model := "no model loaded"
	switch {
	case st.Loading:
		model = "loading the model…"
	case st.LoadError != "":
		model = "the model did not load: " + st.LoadError
	case st.Model != nil:
		model = fmt.Sprintf("model %s on %s", filepath.Base(st.Model.Dir), st.Model.Device)
	}
	w.status.SetText(engine + " · " + model)
	if st.Model != nil && w.env != nil {
		w.env.modelLoaded(st.Model.Demo)
	}
	var notes []string
	if st.Engine.Fallback != "" {
		notes = append(notes, st.Engine.Fallback)
	}
	if st.Model != nil && st.Model.Demo {
		notes = append(notes, "Built-in demo model: a tiny random network, so pictures are abstract colour fields, not what you ask for. Choose a SenseNova-U1 model folder in Settings.")
	}
	if len(notes) > 0 {
		w.note.SetText(strings.Join(notes, " "))
		w.note.Show()
	} else {
		w.note.Hide()
	}
	if w.bottom != nil {
		w.bottom.Refresh()
		w.Content().Refresh()
	}
}
