package ui

import (
	"fmt"
	"image/color"
	"os"
	"path/filepath"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/sensenova/studio/app"
	"github.com/sensenova/studio/internal/version"
)

// The Settings screen: the model folder (checked with the checkpoint
// loader before it is kept), the output folder, and the theme. Every change
// is saved to the settings file at once through app.Studio.

// variantTheme is the default theme held to one variant (light or dark),
// whatever the system prefers.
type variantTheme struct {
	fyne.Theme
	variant fyne.ThemeVariant
}

func (t variantTheme) Color(name fyne.ThemeColorName, _ fyne.ThemeVariant) color.Color {
	return t.Theme.Color(name, t.variant)
}

// settingsTheme is the Fyne theme for a theme setting.
func settingsTheme(name string) fyne.Theme {
	switch name {
	case app.ThemeLight:
		return variantTheme{theme.DefaultTheme(), theme.VariantLight}
	case app.ThemeDark:
		return variantTheme{theme.DefaultTheme(), theme.VariantDark}
	}
	return theme.DefaultTheme()
}

// Theme choices as the select shows them.
var settingsThemeNames = map[string]string{
	app.ThemeSystem: "Follow the system",
	app.ThemeLight:  "Light",
	app.ThemeDark:   "Dark",
}

// settingsPollEvery is how often the model's load status is read while it
// loads.
const settingsPollEvery = 150 * time.Millisecond

type settingsScreen struct {
	env *env

	modelEntry    *widget.Entry
	modelApply    *widget.Button
	modelChoose   *widget.Button
	modelDemo     *widget.Button
	modelDownload *widget.Button
	modelMsg      *widget.Label
	modelState    *widget.Label
	// busy is true while a model folder is checked or loaded.
	busy    bool
	pollGen int
	// following is true while the load status is being followed.
	following bool

	outputEntry  *widget.Entry
	outputApply  *widget.Button
	outputChoose *widget.Button
	outputMsg    *widget.Label

	theme    *widget.Select
	themeMsg *widget.Label

	about *widget.Label

	content fyne.CanvasObject
}

func newSettingsScreen(e *env) *settingsScreen {
	s := &settingsScreen{env: e}
	st := e.studio.Settings()

	s.modelEntry = widget.NewEntry()
	s.modelEntry.SetPlaceHolder("Folder of a SenseNova-U1 model (config.json, tokenizer and weights)")
	s.modelEntry.SetText(st.ModelDir)
	s.modelEntry.OnSubmitted = func(string) { s.applyModel() }
	s.modelChoose = widget.NewButtonWithIcon("Choose…", theme.FolderOpenIcon(), func() {
		s.chooseFolder(s.modelEntry, s.applyModel)
	})
	s.modelApply = widget.NewButtonWithIcon("Use this folder", theme.ConfirmIcon(), s.applyModel)
	s.modelApply.Importance = widget.HighImportance
	s.modelDemo = widget.NewButtonWithIcon("Use the built-in demo model", theme.ComputerIcon(), s.useDemo)
	s.modelDownload = widget.NewButtonWithIcon("Download a model…", theme.DownloadIcon(), func() {
		if e.showWelcome != nil {
			e.showWelcome()
		}
	})
	s.modelMsg = widget.NewLabel("")
	s.modelMsg.Wrapping = fyne.TextWrapWord
	s.modelState = widget.NewLabel("")
	s.modelState.Wrapping = fyne.TextWrapWord
	if st.ModelDir == "" {
		s.modelMsg.SetText("The built-in demo model is in use: a tiny random network with the real layout, for trying the app. Choose a SenseNova-U1 model folder for real pictures.")
	} else {
		s.describeModel(st.ModelDir)
	}
	modelCard := widget.NewCard("Model", "The SenseNova-U1 checkpoint the engine runs",
		container.NewVBox(
			container.NewBorder(nil, nil, nil, s.modelChoose, s.modelEntry),
			container.NewHBox(s.modelApply, s.modelDemo, s.modelDownload),
			s.modelMsg, s.modelState))

	s.outputEntry = widget.NewEntry()
	s.outputEntry.SetText(e.studio.History().Dir())
	s.outputEntry.OnSubmitted = func(string) { s.applyOutput() }
	s.outputChoose = widget.NewButtonWithIcon("Choose…", theme.FolderOpenIcon(), func() {
		s.chooseFolder(s.outputEntry, s.applyOutput)
	})
	s.outputApply = widget.NewButtonWithIcon("Save results here", theme.ConfirmIcon(), s.applyOutput)
	s.outputMsg = widget.NewLabel("Every result is saved in this folder: its pictures with their parameters and a record to re-run it.")
	s.outputMsg.Wrapping = fyne.TextWrapWord
	outputCard := widget.NewCard("Output folder", "Where results and their records are saved",
		container.NewVBox(
			container.NewBorder(nil, nil, nil, s.outputChoose, s.outputEntry),
			container.NewHBox(s.outputApply),
			s.outputMsg))

	var names []string
	for _, t := range []string{app.ThemeSystem, app.ThemeLight, app.ThemeDark} {
		names = append(names, settingsThemeNames[t])
	}
	s.themeMsg = widget.NewLabel("")
	s.themeMsg.Wrapping = fyne.TextWrapWord
	s.theme = widget.NewSelect(names, func(string) { s.applyTheme() })
	current := st.Theme
	if current == "" {
		current = app.ThemeSystem
	}
	// Show the saved choice and apply it (a system theme is Fyne's own).
	s.theme.Selected = settingsThemeNames[current]
	if current != app.ThemeSystem {
		e.app.Settings().SetTheme(settingsTheme(current))
	}
	themeCard := widget.NewCard("Appearance", "", container.NewVBox(
		container.New(layout.NewFormLayout(), widget.NewLabel("Theme"), s.theme), s.themeMsg))

	s.about = widget.NewLabel("")
	s.about.Wrapping = fyne.TextWrapWord
	aboutCard := widget.NewCard("About", "", s.about)
	s.showAbout()

	s.content = container.NewVScroll(container.NewVBox(modelCard, outputCard, container.NewGridWithColumns(2, themeCard, aboutCard)))
	s.showModelState()
	if e.studio.Status().Loading {
		s.followLoad()
	}
	return s
}

func (s *settingsScreen) Content() fyne.CanvasObject { return s.content }

// Start and Cancel have no task to run here.
func (s *settingsScreen) Start()  {}
func (s *settingsScreen) Cancel() {}

// settingsPath is the settings file's path.
func (s *settingsScreen) settingsPath() string { return s.env.studio.SettingsPath() }

// showAbout shows the versions and the settings file.
func (s *settingsScreen) showAbout() {
	es := s.env.studio.Status().Engine
	engine := es.Version
	if engine == "" {
		engine = "not reported yet"
	}
	backend := "CPU only (built without CUDA)"
	if es.CUDA {
		backend = "CUDA"
	}
	s.about.SetText(fmt.Sprintf("%s %s · engine %s, %s\nSettings file: %s",
		version.Name, version.Version, engine, backend, s.settingsPath()))
}

// chooseFolder lets the user pick a folder into entry, then runs then.
func (s *settingsScreen) chooseFolder(entry *widget.Entry, then func()) {
	d := dialog.NewFolderOpen(func(u fyne.ListableURI, err error) {
		if err != nil {
			dialog.ShowError(err, s.env.win)
			return
		}
		if u == nil {
			return // cancelled
		}
		entry.SetText(u.Path())
		then()
	}, s.env.win)
	d.Resize(fyne.NewSize(800, 560))
	d.Show()
}

// describeModel shows what a model folder holds (checked off the UI
// goroutine: it reads every shard's header).
func (s *settingsScreen) describeModel(dir string) {
	go func() {
		desc, err := app.ValidateModelDir(dir)
		fyne.Do(func() {
			if err != nil {
				s.setModelMsg(err.Error(), widget.DangerImportance)
				return
			}
			s.setModelMsg(desc, widget.MediumImportance)
		})
	}()
}

func (s *settingsScreen) setModelMsg(text string, imp widget.Importance) {
	text = strings.TrimSpace(text)
	if text != "" && !strings.HasSuffix(text, ".") {
		text += "."
	}
	s.modelMsg.SetText(text)
	s.modelMsg.Importance = imp
	s.modelMsg.Refresh()
}

// applyModel checks and keeps the folder typed, then loads it.
func (s *settingsScreen) applyModel() {
	dir := strings.TrimSpace(s.modelEntry.Text)
	if dir == "" {
		s.setModelMsg("Type or choose a SenseNova-U1 model folder, or press “Use the built-in demo model”", widget.DangerImportance)
		return
	}
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	s.setModel(dir)
}

// useDemo switches to the built-in demo model.
func (s *settingsScreen) useDemo() {
	s.modelEntry.SetText("")
	s.setModel("")
}

// setModel hands the folder to the studio (which validates, saves and
// loads it) off the UI goroutine, then follows the load.
func (s *settingsScreen) setModel(dir string) {
	if s.busy {
		return
	}
	s.setBusy(true)
	if dir == "" {
		s.setModelMsg("Switching to the built-in demo model…", widget.MediumImportance)
	} else {
		s.setModelMsg("Checking "+dir+"…", widget.MediumImportance)
	}
	go func() {
		desc := "The built-in demo model: a tiny random network with the real layout; its pictures are abstract colour fields"
		var err error
		if dir != "" {
			if desc, err = app.ValidateModelDir(dir); err == nil {
				err = s.env.studio.SetModelDir(dir)
			}
		} else {
			err = s.env.studio.SetModelDir("")
		}
		fyne.Do(func() {
			if err != nil {
				s.setModelMsg(fmt.Sprintf("This folder was not used: %v", err), widget.DangerImportance)
				s.showModelState()
				s.setBusy(false)
				return
			}
			s.setModelMsg(desc, widget.MediumImportance)
			s.followLoad()
		})
	}()
}

func (s *settingsScreen) setBusy(b bool) {
	s.busy = b
	for _, w := range []fyne.Disableable{s.modelApply, s.modelChoose, s.modelDemo} {
		if b {
			w.Disable()
		} else {
			w.Enable()
		}
	}
}

// followLoad shows the model's load status until it is loaded or failed.
func (s *settingsScreen) followLoad() {
	s.pollGen++
	gen := s.pollGen
	s.following = true
	s.showModelState()
	go func() {
		for {
			time.Sleep(settingsPollEvery)
			st := s.env.studio.Status()
			done := !st.Loading
			fyne.Do(func() {
				if gen != s.pollGen {
					return
				}
				s.showModelState()
				if done {
					s.setBusy(false)
					s.following = false
				}
			})
			if done {
				return
			}
		}
	}()
}

// showModelState shows the studio's model status.
func (s *settingsScreen) showModelState() {
	st := s.env.studio.Status()
	switch {
	case st.Loading:
		s.modelState.SetText("Loading the model…")
		s.modelState.Importance = widget.MediumImportance
	case st.LoadError != "":
		s.modelState.SetText("The model did not load: " + st.LoadError)
		s.modelState.Importance = widget.DangerImportance
	case st.Model != nil:
		name := filepath.Base(st.Model.Dir)
		if st.Model.Demo {
			name = "the built-in demo model"
		}
		s.modelState.SetText(fmt.Sprintf("Loaded %s on %s in %.1f s (%d layers, %s parameters).",
			name, st.Model.Device, st.Model.LoadSeconds, st.Model.Layers, settingsCount(st.Model.Params)))
		s.modelState.Importance = widget.SuccessImportance
	default:
		s.modelState.SetText("No model is loaded.")
		s.modelState.Importance = widget.WarningImportance
	}
	s.modelState.Refresh()
	s.showAbout()
}

// settingsCount writes a parameter count the way model cards do: 17.55B,
// 3.2M, 950k.
func settingsCount(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2fB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.1fM", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.0fk", float64(n)/1e3)
	}
	return fmt.Sprint(n)
}

// applyOutput moves new results to the folder typed.
func (s *settingsScreen) applyOutput() {
	dir := strings.TrimSpace(s.outputEntry.Text)
	if dir == "" {
		s.setOutputMsg("Type or choose a folder for the results", widget.DangerImportance)
		return
	}
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	if fi, err := os.Stat(dir); err == nil && !fi.IsDir() {
		s.setOutputMsg(dir+" is a file, not a folder: choose a folder for the results", widget.DangerImportance)
		return
	}
	old := s.env.studio.History().Dir()
	if err := s.env.studio.SetOutputDir(dir); err != nil {
		s.setOutputMsg(fmt.Sprintf("The output folder was not changed: %v", err), widget.DangerImportance)
		return
	}
	s.outputEntry.SetText(dir)
	msg := "New results are saved in " + dir
	if old != dir {
		msg += "; earlier ones stay in " + old
	}
	s.setOutputMsg(msg, widget.SuccessImportance)
	if s.env.historyChanged != nil {
		s.env.historyChanged()
	}
}

func (s *settingsScreen) setOutputMsg(text string, imp widget.Importance) {
	if !strings.HasSuffix(text, ".") {
		text += "."
	}
	s.outputMsg.SetText(text)
	s.outputMsg.Importance = imp
	s.outputMsg.Refresh()
}

// applyTheme applies the chosen theme at once and saves it.
func (s *settingsScreen) applyTheme() {
	name := app.ThemeSystem
	for k, v := range settingsThemeNames {
		if v == s.theme.Selected {
			name = k
		}
	}
	s.env.app.Settings().SetTheme(settingsTheme(name))
	if err := s.env.studio.SetTheme(name); err != nil {
		s.themeMsg.SetText(fmt.Sprintf("The theme is applied but could not be saved: %v", err))
		s.themeMsg.Importance = widget.DangerImportance
	} else {
		s.themeMsg.SetText("")
		s.themeMsg.Importance = widget.MediumImportance
	}
	s.themeMsg.Refresh()
}
