package ui

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/sensenova/studio/inference/protocol"
)

// The GPU screen: the cards the engine detected (name, memory, compute
// capability, driver), the host memory, the memory preset the engine chose
// (--max_memory, --vram_mode) with the reason, and an override.
//
// The report is the JSON of `sensenova gpu` (inference/cli/gpu.go), asked of
// the engine with studio.GPU off the UI goroutine and decoded into
// protocol.GPUReport, the type the engine encodes.

// VRAM modes the override offers; gpuModeAuto means "the preset's".
const (
	gpuModeAuto     = "auto"
	gpuModeFull     = "full"
	gpuModeBalanced = "balanced"
	gpuModeLow      = "low"
	gpuModeCPU      = "cpu"
)

// gpuOverride is the user's choice of vram_mode and max_memory in place of
// the preset (Mode gpuModeAuto: none).
type gpuOverride struct {
	Mode         string
	MaxMemoryGiB float64
}

type gpuScreen struct {
	env *env
	// fetch asks the engine for its report (tests replace it).
	fetch func(ctx context.Context) (json.RawMessage, error)

	report *protocol.GPUReport
	// override is kept in the screen until the settings can hold it.
	override gpuOverride
	gen      int

	state      *widget.Label
	refreshBtn *widget.Button
	devices    *fyne.Container
	host       *widget.Label
	presetHead *widget.Label
	reason     *widget.Label

	mode         *widget.Select
	maxMemory    *widget.Entry
	applyBtn     *widget.Button
	overrideMsg  *widget.Label
	overrideNote *widget.Label

	content fyne.CanvasObject
}

func newGPUScreen(e *env) *gpuScreen {
	s := &gpuScreen{env: e, override: gpuOverride{Mode: gpuModeAuto}}
	s.fetch = func(ctx context.Context) (json.RawMessage, error) { return s.env.studio.GPU(ctx) }

	s.state = widget.NewLabel("")
	s.state.Wrapping = fyne.TextWrapWord
	s.refreshBtn = widget.NewButtonWithIcon("Refresh", theme.ViewRefreshIcon(), s.refresh)
	s.devices = container.NewVBox()
	s.host = widget.NewLabel("")
	s.presetHead = widget.NewLabel("")
	s.presetHead.TextStyle.Bold = true
	s.presetHead.Wrapping = fyne.TextWrapWord
	s.reason = widget.NewLabel("")
	s.reason.Wrapping = fyne.TextWrapWord

	s.mode = widget.NewSelect([]string{gpuModeAuto, gpuModeFull, gpuModeBalanced, gpuModeLow}, func(string) { s.modeChanged() })
	s.maxMemory = widget.NewEntry()
	s.maxMemory.SetPlaceHolder("GiB, e.g. 20")
	s.maxMemory.OnSubmitted = func(string) { s.applyOverride() }
	s.applyBtn = widget.NewButtonWithIcon("Apply", theme.ConfirmIcon(), s.applyOverride)
	s.overrideMsg = widget.NewLabel("")
	s.overrideMsg.Wrapping = fyne.TextWrapWord
	s.overrideNote = widget.NewLabel("auto uses the preset above. full keeps the whole model on the GPU; balanced keeps the given GiB of weights on it and streams the rest from host memory two layers ahead; low streams one layer at a time (least GPU memory, slowest).")
	s.overrideNote.Wrapping = fyne.TextWrapWord
	s.overrideNote.Importance = widget.LowImportance
	s.mode.SetSelected(gpuModeAuto)
	if st := e.studio.Settings(); st.VRAMMode != "" {
		s.override = gpuOverride{Mode: st.VRAMMode, MaxMemoryGiB: st.MaxMemoryGiB}
		s.mode.SetSelected(st.VRAMMode)
		if st.MaxMemoryGiB > 0 {
			s.maxMemory.SetText(strconv.FormatFloat(st.MaxMemoryGiB, 'g', -1, 64))
		}
	}

	form := container.New(layout.NewFormLayout(),
		widget.NewLabel("VRAM mode"), s.mode,
		widget.NewLabel("GPU memory for weights"), container.NewBorder(nil, nil, nil, widget.NewLabel("GiB"), s.maxMemory),
	)
	overrideCard := widget.NewCard("Override", "Choose the memory settings yourself",
		container.NewVBox(form, container.NewHBox(s.applyBtn), s.overrideMsg, s.overrideNote))
	presetCard := widget.NewCard("Memory preset", "What the engine runs the model with on this machine",
		container.NewVBox(s.presetHead, s.reason))
	hardware := widget.NewCard("Detected hardware", "", container.NewVBox(s.state, s.devices, s.host))

	top := container.NewBorder(nil, nil, nil, s.refreshBtn, widget.NewLabelWithStyle("Graphics cards and memory", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}))
	s.content = container.NewBorder(top, nil, nil, nil,
		container.NewVScroll(container.NewVBox(hardware, presetCard, overrideCard)))
	s.showOverride()
	s.refresh()
	return s
}

func (s *gpuScreen) Content() fyne.CanvasObject { return s.content }

// Start asks the engine again; Cancel has nothing to stop.
func (s *gpuScreen) Start()  { s.refresh() }
func (s *gpuScreen) Cancel() {}

// refresh asks the engine for its report (off the UI goroutine).
func (s *gpuScreen) refresh() {
	s.gen++
	gen := s.gen
	s.state.SetText("Asking the engine what it detects…")
	s.state.Importance = widget.MediumImportance
	s.refreshBtn.Disable()
	fetch := s.fetch
	go func() {
		rep, err := fetchGPUReport(fetch)
		fyne.Do(func() {
			if gen != s.gen {
				return
			}
			if err != nil {
				s.report = nil
				s.state.SetText(fmt.Sprintf("The engine could not say which GPUs it sees: %v", err))
				s.state.Importance = widget.DangerImportance
				s.state.Refresh()
			} else {
				s.show(rep)
			}
			s.refreshBtn.Enable()
		})
	}()
}

// fetchGPUReport asks the engine for its GPU report and decodes it (off
// the UI goroutine; 30 s at most).
func fetchGPUReport(fetch func(context.Context) (json.RawMessage, error)) (protocol.GPUReport, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	raw, err := fetch(ctx)
	var rep protocol.GPUReport
	if err == nil {
		if err = json.Unmarshal(raw, &rep); err != nil {
			err = fmt.Errorf("the engine's GPU report is not valid JSON: %w", err)
		}
	}
	return rep, err
}

// gib formats bytes as GiB.
func gpuGiB(bytes int64) string { return fmt.Sprintf("%.1f GiB", float64(bytes)/(1<<30)) }

// gpuDriver formats a CUDA driver API version (12040 → "12.4").
func gpuDriver(v int) string {
	if v <= 0 {
		return "unknown"
	}
	return fmt.Sprintf("%d.%d", v/1000, v%1000/10)
}

// gpuSentence makes sure an engine message ends like a sentence.
func gpuSentence(msg string) string {
	msg = strings.TrimSpace(msg)
	if msg == "" || strings.HasSuffix(msg, ".") {
		return msg
	}
	return msg + "."
}

// show fills the screen from a report.
func (s *gpuScreen) show(rep protocol.GPUReport) {
	s.report = &rep
	text, imp := gpuStateText(rep)
	s.state.SetText(text)
	s.state.Importance = imp
	s.state.Refresh()

	var cards []fyne.CanvasObject
	for _, d := range rep.Devices {
		cards = append(cards, s.deviceCard(d, rep))
	}
	s.devices.Objects = cards
	s.devices.Refresh()

	if rep.Preset.HostRAMMiB > 0 {
		s.host.SetText(fmt.Sprintf("Host memory (RAM): %s", gpuGiB(rep.Preset.HostRAMMiB<<20)))
	} else {
		s.host.SetText("Host memory (RAM): unknown")
	}

	p := rep.Preset
	s.presetHead.SetText(gpuPresetSummary(p))
	s.reason.SetText(gpuSentence(p.Reason))
	if p.Runnable {
		s.presetHead.Importance = widget.SuccessImportance
		s.reason.Importance = widget.MediumImportance
	} else {
		s.presetHead.Importance = widget.WarningImportance
		s.reason.Importance = widget.WarningImportance
	}
	s.presetHead.Refresh()
	s.reason.Refresh()
	s.showOverride()
}

// gpuStateText says in a sentence or two what the engine detected, and how
// much that matters (a warning when the engine runs on the CPU).
func gpuStateText(rep protocol.GPUReport) (string, widget.Importance) {
	switch {
	case !rep.CUDA:
		why := rep.Error
		if why == "" {
			why = "this engine was built without CUDA"
		}
		return fmt.Sprintf("No NVIDIA GPU is usable by this engine build: %s; the engine runs on the CPU.", strings.TrimSuffix(why, ".")), widget.WarningImportance
	case len(rep.Devices) == 0:
		why := "no CUDA device was found"
		if rep.Error != "" {
			why = strings.TrimSuffix(rep.Error, ".")
		}
		return fmt.Sprintf("No NVIDIA GPU was found: %s; the engine runs on the CPU.", why), widget.WarningImportance
	default:
		n := len(rep.Devices)
		text := fmt.Sprintf("%d NVIDIA GPU", n)
		if n > 1 {
			text += "s"
		}
		text += " found; CUDA driver " + gpuDriver(rep.DriverAPIVersion) + "."
		if rep.Error != "" {
			text += " " + gpuSentence(rep.Error)
		}
		return text, widget.MediumImportance
	}
}

// gpuPresetSummary is the preset in one line.
func gpuPresetSummary(p protocol.GPUPreset) string {
	var what string
	switch p.VRAMMode {
	case gpuModeFull:
		what = "vram_mode full, no max_memory: the whole model stays on the GPU"
	case gpuModeBalanced:
		what = fmt.Sprintf("vram_mode balanced, max_memory %g GiB: that much of the model on the GPU, the rest streamed from host memory", p.MaxMemoryGiB)
	case gpuModeLow:
		what = fmt.Sprintf("vram_mode low, max_memory %g GiB: the rest streamed from host memory one layer at a time", p.MaxMemoryGiB)
	case gpuModeCPU:
		what = "vram_mode cpu: no GPU can hold the model, so it runs on the CPU"
	default:
		what = "vram_mode " + p.VRAMMode
	}
	if p.Name != "" {
		what = p.Name + ": " + what
	}
	return what
}

// deviceCard shows one card.
func (s *gpuScreen) deviceCard(d protocol.GPUDevice, rep protocol.GPUReport) fyne.CanvasObject {
	sub := fmt.Sprintf("GPU %d · compute capability %d.%d · %d multiprocessors · CUDA driver %s",
		d.Index, d.ComputeMajor, d.ComputeMinor, d.Multiprocessors, gpuDriver(rep.DriverAPIVersion))
	chosen := rep.Preset.Index != nil && *rep.Preset.Index == d.Index
	mem := widget.NewLabel(fmt.Sprintf("Memory: %s total, %s free", gpuGiB(d.TotalBytes), gpuGiB(d.FreeBytes)))
	used := widget.NewProgressBar()
	used.TextFormatter = func() string { return "" }
	if d.TotalBytes > 0 {
		used.SetValue(float64(d.TotalBytes-d.FreeBytes) / float64(d.TotalBytes))
	}
	objs := []fyne.CanvasObject{mem, used}
	if chosen {
		l := widget.NewLabel("The engine runs on this card.")
		l.Importance = widget.SuccessImportance
		objs = append(objs, l)
	}
	return widget.NewCard(d.Name, sub, container.NewVBox(objs...))
}

// modeChanged enables the GiB entry where the mode takes a budget.
func (s *gpuScreen) modeChanged() {
	if s.maxMemory == nil {
		return
	}
	switch s.mode.Selected {
	case gpuModeBalanced, gpuModeLow:
		s.maxMemory.Enable()
	default:
		s.maxMemory.Disable()
	}
}

// parseOverride checks the override fields: balanced and low need a budget
// of GPU memory between 1 GiB and the card's memory.
func (s *gpuScreen) parseOverride() (gpuOverride, error) {
	o := gpuOverride{Mode: s.mode.Selected}
	switch o.Mode {
	case gpuModeAuto, gpuModeFull:
		return o, nil
	case gpuModeBalanced, gpuModeLow:
	default:
		return o, fmt.Errorf("choose a VRAM mode: auto, full, balanced or low")
	}
	text := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s.maxMemory.Text), "GiB"))
	if text == "" {
		return o, fmt.Errorf("%s needs the GPU memory for weights: type a number of GiB, e.g. 20", o.Mode)
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(text), 64)
	if err != nil {
		return o, fmt.Errorf("GPU memory %q is not a number: type the GiB as a number, e.g. 20", s.maxMemory.Text)
	}
	limit := 1024.0
	if s.report != nil && s.report.Preset.VRAMMiB > 0 {
		limit = float64(s.report.Preset.VRAMMiB) / 1024
	}
	if v < 1 || v > limit {
		return o, fmt.Errorf("GPU memory %g GiB is out of range: give between 1 and %.0f GiB (the card's memory)", v, limit)
	}
	o.MaxMemoryGiB = v
	return o, nil
}

// applyOverride validates and keeps the override.
func (s *gpuScreen) applyOverride() {
	o, err := s.parseOverride()
	if err != nil {
		s.overrideMsg.SetText(gpuSentence(err.Error()))
		s.overrideMsg.Importance = widget.DangerImportance
		s.overrideMsg.Refresh()
		return
	}
	if err := s.saveOverride(o); err != nil {
		s.overrideMsg.SetText(gpuSentence("The override could not be saved: " + err.Error()))
		s.overrideMsg.Importance = widget.DangerImportance
		s.overrideMsg.Refresh()
		return
	}
	s.override = o
	s.showOverride()
}

// saveOverride saves the override in the settings (the model is reloaded
// with it).
func (s *gpuScreen) saveOverride(o gpuOverride) error {
	return s.env.studio.SetGPUOverride(string(o.Mode), o.MaxMemoryGiB)
}

// showOverride says which settings are in effect.
func (s *gpuScreen) showOverride() {
	o := s.override
	s.overrideMsg.Importance = widget.MediumImportance
	switch o.Mode {
	case gpuModeAuto:
		text := "In effect: the preset."
		if s.report != nil {
			text = fmt.Sprintf("In effect: the preset (vram_mode %s", s.report.Preset.VRAMMode)
			if s.report.Preset.MaxMemoryGiB > 0 {
				text += fmt.Sprintf(", max_memory %g GiB", s.report.Preset.MaxMemoryGiB)
			}
			text += ")."
		}
		s.overrideMsg.SetText(text)
	case gpuModeFull:
		s.overrideMsg.SetText("In effect: your override, vram_mode full (the whole model on the GPU).")
	default:
		s.overrideMsg.SetText(fmt.Sprintf("In effect: your override, vram_mode %s with max_memory %g GiB.", o.Mode, o.MaxMemoryGiB))
	}
	if s.report != nil && !s.report.CUDA && o.Mode != gpuModeAuto {
		s.overrideMsg.SetText(s.overrideMsg.Text + " It takes effect when the engine runs on an NVIDIA GPU.")
	}
	s.overrideMsg.Refresh()
}
