package ui

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/sensenova/studio/app"
	"github.com/sensenova/studio/inference/hub"
)

// firstRun is the welcome the window shows instead of its tabs on the first
// start (no model folder set, the welcome never finished): the GPU the
// engine detected and the memory preset chosen for it, the recommended
// checkpoint with its size, and three ways on — download it (progress,
// speed, ETA, Cancel; a later Download resumes), choose a folder already on
// disk, or keep the built-in demo model for now. Each ends on the Create
// screen. Settings offers the download again later.
type firstRun struct {
	env    *env
	finish func() // shows the tabs
	models []hub.Model

	content    fyne.CanvasObject
	gpuState   *widget.Label
	preset     *widget.Label
	model      *widget.Select
	modelInfo  *widget.Label
	dest       *widget.Entry
	browse     *widget.Button
	download   *widget.Button
	cancel     *widget.Button
	existing   *widget.Button
	skip       *widget.Button
	bar        *widget.ProgressBar
	progress   *widget.Label
	message    *widget.Label
	destEdited bool

	mu  sync.Mutex
	job context.CancelFunc // the running download
	// fetchGPU asks the engine for its GPU report (tests replace it).
	fetchGPU func(context.Context) (json.RawMessage, error)
}

// modelLabel is a catalogue entry as the model list shows it.
func modelLabel(m hub.Model, recommended bool) string {
	s := fmt.Sprintf("%s  (%s)", m.Name, hub.FormatBytes(m.ApproxBytes))
	if recommended {
		s += "  · recommended"
	}
	return s
}

func newFirstRun(e *env, finish func()) *firstRun {
	f := &firstRun{env: e, finish: finish, models: app.Models(), fetchGPU: e.studio.GPU}
	title := widget.NewLabelWithStyle("Welcome to SenseNova Studio", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	title.SizeName = theme.SizeNameHeadingText
	intro := widget.NewLabel("Pictures are made by SenseNova-U1, a model of about 35 GB that runs on your own GPU. " +
		"Download it once, choose a folder where you already have it, or try the app on its small built-in demo model first.")
	intro.Wrapping = fyne.TextWrapWord

	f.gpuState = widget.NewLabel("Asking the engine which GPU it sees…")
	f.gpuState.Wrapping = fyne.TextWrapWord
	f.preset = hiddenMessage(widget.MediumImportance)

	var labels []string
	for i, m := range f.models {
		labels = append(labels, modelLabel(m, i == 0))
	}
	f.modelInfo = widget.NewLabel("")
	f.modelInfo.Wrapping = fyne.TextWrapWord
	f.dest = widget.NewEntry()
	f.dest.OnChanged = func(string) { f.destEdited = true }
	f.model = widget.NewSelect(labels, func(string) { f.modelChanged() })
	f.browse = widget.NewButtonWithIcon("Browse…", theme.FolderOpenIcon(), f.chooseDest)

	f.download = widget.NewButtonWithIcon("Download", theme.DownloadIcon(), f.startDownload)
	f.download.Importance = widget.HighImportance
	f.cancel = widget.NewButtonWithIcon("Cancel", theme.CancelIcon(), f.cancelDownload)
	f.cancel.Disable()
	f.existing = widget.NewButtonWithIcon("I already have it: choose its folder…", theme.FolderIcon(), f.chooseExisting)
	skip := "Use the demo model for now"
	if e.studio.Settings().ModelDir != "" {
		skip = "Not now: keep the current model"
	}
	f.skip = widget.NewButtonWithIcon(skip, theme.NavigateNextIcon(), f.useDemo)
	f.bar = widget.NewProgressBar()
	f.bar.Hide()
	f.progress = widget.NewLabel("")
	f.progress.Hide()
	f.message = hiddenMessage(widget.MediumImportance)

	form := widget.NewForm(
		widget.NewFormItem("Model", f.model),
		widget.NewFormItem("", f.modelInfo),
		widget.NewFormItem("Save to", container.NewBorder(nil, nil, nil, f.browse, f.dest)),
	)
	gpuCard := widget.NewCard("Your GPU", "", container.NewVBox(f.gpuState, f.preset))
	modelCard := widget.NewCard("The model", "from "+e.studio.HubEndpoint(), container.NewVBox(
		form,
		container.NewHBox(f.download, f.cancel),
		f.bar, f.progress, f.message,
	))
	other := container.NewHBox(f.existing, f.skip)
	f.content = container.NewVScroll(container.NewPadded(container.NewVBox(title, intro, gpuCard, modelCard, other)))
	f.model.SetSelectedIndex(0)
	f.destEdited = false
	f.refreshGPU()
	return f
}

// Content is the welcome's widget tree.
func (f *firstRun) Content() fyne.CanvasObject { return f.content }

// selected is the chosen catalogue entry.
func (f *firstRun) selected() hub.Model {
	i := f.model.SelectedIndex()
	if i < 0 || i >= len(f.models) {
		i = 0
	}
	return f.models[i]
}

// modelChanged describes the chosen model and, unless the user typed a
// folder, proposes its default one.
func (f *firstRun) modelChanged() {
	m := f.selected()
	layout := "SenseNova-U1 layout, MLP head"
	if m.Head == "pixel" {
		layout = "SenseNova-U1.5 layout, pixel head"
	}
	f.modelInfo.SetText(fmt.Sprintf("%s: %s (%s). About %s to download; keep a few GB of free disk beyond that.",
		m.Name, m.Summary, layout, hub.FormatBytes(m.ApproxBytes)))
	if !f.destEdited {
		if dir, err := app.DefaultModelDir(m); err == nil {
			f.dest.SetText(dir)
			f.destEdited = false
		}
	}
}

// refreshGPU shows what the engine detects (off the UI goroutine).
func (f *firstRun) refreshGPU() {
	fetch := f.fetchGPU
	go func() {
		rep, err := fetchGPUReport(fetch)
		fyne.Do(func() {
			if err != nil {
				f.gpuState.SetText(fmt.Sprintf("The engine could not say which GPU it sees: %v", err))
				return
			}
			text, _ := gpuStateText(rep)
			if len(rep.Devices) > 0 {
				var names []string
				for _, d := range rep.Devices {
					names = append(names, fmt.Sprintf("%s (%s)", d.Name, gpuGiB(d.TotalBytes)))
				}
				text += " " + strings.Join(names, ", ") + "."
			} else {
				text += " On the CPU the real model takes many minutes per picture: the demo model is the way to look around."
			}
			f.gpuState.SetText(text)
			f.preset.SetText(gpuPresetSummary(rep.Preset) + ". " + gpuSentence(rep.Preset.Reason))
			f.preset.Show()
		})
	}()
}

// chooseDest picks the download folder.
func (f *firstRun) chooseDest() {
	dialog.ShowFolderOpen(func(u fyne.ListableURI, err error) {
		if err != nil || u == nil {
			return
		}
		f.dest.SetText(u.Path())
	}, f.env.win)
}

func (f *firstRun) setBusy(busy bool) {
	for _, w := range []fyne.Disableable{f.download, f.model, f.dest, f.browse, f.existing, f.skip} {
		if busy {
			w.Disable()
		} else {
			w.Enable()
		}
	}
	if busy {
		f.cancel.Enable()
	} else {
		f.cancel.Disable()
	}
}

func (f *firstRun) showMessage(text string, imp widget.Importance) {
	f.message.Importance = imp
	f.message.SetText(text)
	f.message.Show()
}

// startDownload fetches the chosen model into the folder; on success it
// becomes the model and the welcome ends.
func (f *firstRun) startDownload() {
	m, dest := f.selected(), strings.TrimSpace(f.dest.Text)
	if dest == "" {
		f.showMessage("Choose a folder to save the model in.", widget.DangerImportance)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	f.mu.Lock()
	f.job = cancel
	f.mu.Unlock()
	f.setBusy(true)
	f.message.Hide()
	f.bar.SetValue(0)
	f.bar.Show()
	f.progress.SetText("asking " + f.env.studio.HubEndpoint() + " for the file list…")
	f.progress.Show()
	go func() {
		res, err := f.env.studio.DownloadModel(ctx, m, dest, func(p hub.Progress) {
			fyne.Do(func() { f.showProgress(p) })
		})
		cancel()
		fyne.Do(func() {
			f.mu.Lock()
			f.job = nil
			f.mu.Unlock()
			f.setBusy(false)
			switch {
			case errors.Is(err, context.Canceled):
				f.showMessage("Download stopped. What was fetched is kept: Download continues where it stopped.", widget.WarningImportance)
			case err != nil:
				f.showMessage(fmt.Sprintf("The download did not finish: %v", err), widget.DangerImportance)
			default:
				f.done(fmt.Sprintf("%s is ready in %s.", m.Name, res.Path))
			}
		})
	}()
}

// showProgress shows one report: bytes, speed and time left.
func (f *firstRun) showProgress(p hub.Progress) {
	f.bar.SetValue(p.Fraction())
	switch p.Phase {
	case hub.PhaseListing:
		f.progress.SetText("asking for the file list…")
	case hub.PhaseChecking:
		f.progress.SetText("checking the files already in the folder…")
	case hub.PhaseDone:
		f.progress.SetText(fmt.Sprintf("%s · %d files · done", hub.FormatBytes(p.BytesTotal), p.FilesTotal))
	default:
		text := fmt.Sprintf("%s of %s · file %d of %d", hub.FormatBytes(p.BytesDone), hub.FormatBytes(p.BytesTotal), min(p.FilesDone+1, p.FilesTotal), p.FilesTotal)
		if p.BytesPerSecond > 0 {
			text += fmt.Sprintf(" · %s/s", hub.FormatBytes(int64(p.BytesPerSecond)))
		}
		if p.ETA >= 0 && p.BytesPerSecond > 0 {
			text += " · " + formatDuration(p.ETA) + " left"
		}
		if p.Phase == hub.PhaseVerifying {
			text += " · verifying " + p.File
		}
		f.progress.SetText(text)
	}
}

// cancelDownload stops the download (Cancel).
func (f *firstRun) cancelDownload() {
	f.mu.Lock()
	cancel := f.job
	f.mu.Unlock()
	if cancel != nil {
		cancel()
		f.progress.SetText("stopping…")
	}
}

// downloading reports whether a download runs.
func (f *firstRun) downloading() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.job != nil
}

// chooseExisting takes a folder the user already has, validated as a
// SenseNova-U1 checkpoint.
func (f *firstRun) chooseExisting() {
	dialog.ShowFolderOpen(func(u fyne.ListableURI, err error) {
		if err != nil || u == nil {
			return
		}
		f.useFolder(u.Path())
	}, f.env.win)
}

// useFolder makes dir the model if it is a checkpoint.
func (f *firstRun) useFolder(dir string) {
	if err := f.env.studio.SetModelDir(dir); err != nil {
		f.showMessage(fmt.Sprintf("That folder cannot be used: %v", err), widget.DangerImportance)
		return
	}
	f.done("")
}

// useDemo keeps the current model (the demo model on a first run).
func (f *firstRun) useDemo() { f.done("") }

// done records the welcome as finished and shows the tabs.
func (f *firstRun) done(note string) {
	if err := f.env.studio.FinishFirstRun(); err != nil {
		f.showMessage(fmt.Sprintf("The settings could not be saved (%v); the welcome will show again next time.", err), widget.WarningImportance)
	}
	f.finish()
	if note != "" {
		dialog.ShowInformation("Model ready", note, f.env.win)
	}
}
