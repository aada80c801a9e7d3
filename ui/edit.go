package ui

import (
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/sensenova/studio/app"
	"github.com/sensenova/studio/inference/protocol"
)

// maxEditPictures is how many pictures one edit takes: the engine's
// pipeline.MaxEditPictures (ui does not import the engine). With more, each
// would be resized below the model's 512² minimum to fit the context.
const maxEditPictures = 64

// Defaults of the editing screen: the upstream script's (PIPELINES.md 4.1),
// and smaller ones on the built-in demo model, whose pictures are abstract
// anyway, so an edit there finishes in seconds on the CPU.
const (
	editTargetPixels     = 2048 * 2048
	editSteps            = 50
	demoEditTargetPixels = 512 * 512
	demoEditSteps        = 12
	editPreviewSize      = 384
	editSizeFactor       = 32 // output sides are multiples of this
)

const (
	editSizeSame   = "Same as the first picture"
	editSizeCustom = "Custom"

	editLayoutSideBySide = "Side by side"
	editLayoutSlider     = "Before / after"
)

// editPictureExtensions are the files the file picker offers (what
// app.ReadPicture decodes).
var editPictureExtensions = []string{".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif"}

// editPicture is one input picture of the list.
type editPicture struct {
	path  string
	thumb image.Image
	w, h  int
	// seed is the seed that made the picture, when it is a result of this
	// app's history (hasSeed).
	seed    int64
	hasSeed bool
}

// editScreen edits pictures: an instruction and one or more pictures in,
// one picture out, shown next to the input and as a before/after slider,
// both following one View (zoom and pan).
//
// Every edit gets a fresh random seed unless the user keeps one: editing a
// picture with the seed that made it is known to collapse the result, so
// the screen also warns when a kept seed made one of the pictures (known
// for results of the history: their records sit beside them).
type editScreen struct {
	env *env

	// Pictures, in the order sent. Touched on the UI goroutine only; addMu
	// keeps batches of added pictures in the order they were given while
	// they are decoded in the background.
	pics     []editPicture
	addMu    sync.Mutex
	list     *fyne.Container
	picsMsg  *widget.Label
	pasteBtn *widget.Button
	addBtn   *widget.Button
	lastDir  string

	prompt    *actionEntry
	cfg       *widget.Entry
	imgCfg    *widget.Entry
	norm      *widget.Select
	steps     *widget.Entry
	shift     *widget.Entry
	sizeMode  *widget.RadioGroup
	width     *widget.Entry
	height    *widget.Entry
	sizeNote  *widget.Label
	lockSeed  *widget.Check
	seed      *widget.Entry
	seedNote  *widget.Label
	seedWarn  *widget.Label
	demoNote  *widget.Label
	generate  *widget.Button
	cancel    *widget.Button
	errLabel  *widget.Label
	progress  *taskProgress
	target    int    // pixel count of "same as the first picture"
	defSteps  string // the steps default shown (replaced while untouched)
	lastSeed  int64  // the seed of the last edit started
	demoKnown bool   // the model kind has been applied to the defaults

	// Result area.
	view       *View
	before     *ImageView
	after      *ImageView
	compare    *compareView
	slider     *widget.Slider
	layout     *widget.RadioGroup
	sideBySide fyne.CanvasObject
	sliderBox  fyne.CanvasObject
	zoomLabel  *widget.Label
	useResult  *widget.Button
	info       *widget.Label
	// result is the last result (hasResult while it is shown).
	result    app.Entry
	hasResult bool

	// The job in flight; run numbers the edits so that events of an
	// earlier one are ignored.
	mu          sync.Mutex
	job         *app.Job
	run         int
	running     bool
	previewStep int

	settingsBox *fyne.Container
	actionsBox  *fyne.Container
	leftBox     *fyne.Container
	root        fyne.CanvasObject
}

func newEditScreen(e *env) *editScreen {
	s := &editScreen{env: e, target: editTargetPixels, defSteps: strconv.Itoa(editSteps), view: NewView()}
	s.build()
	if e.studio != nil {
		e.onModel(func(bool) { s.statusChanged(e.studio.Status()) })
	}
	return s
}

func (s *editScreen) Content() fyne.CanvasObject { return s.root }

// setShown shows or hides a message label and lays its column out again
// (a label that appears or wraps changes the column's height).
func (s *editScreen) setShown(l *widget.Label, text string, shown bool) {
	l.SetText(text)
	if shown {
		l.Show()
	} else {
		l.Hide()
	}
	if s.leftBox != nil {
		s.leftBox.Refresh()
	}
}

// build makes the widgets.
func (s *editScreen) build() {
	// Pictures.
	s.list = container.NewVBox()
	s.picsMsg = hiddenMessage(widget.WarningImportance)
	s.addBtn = widget.NewButtonWithIcon("Add pictures…", theme.ContentAddIcon(), s.choose)
	s.pasteBtn = widget.NewButtonWithIcon("Paste path", theme.ContentPasteIcon(), s.paste)
	picsHint := editHint("Drop pictures on the window, add them, or copy a picture file's path and press Paste path.")

	// Instruction and settings.
	s.prompt = newActionEntry(s, true)
	s.prompt.SetPlaceHolder("What to change, e.g. \"make it winter, with snow on the roofs\"")
	s.prompt.Wrapping = fyne.TextWrapWord
	s.prompt.SetMinRowsVisible(3)
	promptHint := editHint("With several pictures, call them Image-1, Image-2, … in the list's order.")
	s.cfg = editEntry("4")
	s.imgCfg = editEntry("1")
	s.norm = widget.NewSelect([]string{"none", "global", "channel"}, nil)
	s.norm.SetSelected("none")
	s.steps = editEntry(s.defSteps)
	s.shift = editEntry("3")
	cfgHint := editHint("How closely the instruction is followed; 1 = off.")
	imgHint := editHint("1 = off. Higher keeps the result closer to the pictures (one more pass per step).")
	normHint := editHint("Rescales each guided step to the unguided one's strength: over the whole picture (global) or per patch (channel).")

	s.sizeMode = widget.NewRadioGroup([]string{editSizeSame, editSizeCustom}, func(string) { s.updateSize() })
	s.sizeMode.Required = true
	s.width = editEntry("1024")
	s.height = editEntry("1024")
	s.width.OnChanged = func(string) { s.updateSizeNote() }
	s.height.OnChanged = func(string) { s.updateSizeNote() }
	s.sizeNote = editHint("")
	s.sizeMode.SetSelected(editSizeSame)

	s.seed = editEntry("")
	s.seed.SetPlaceHolder("random")
	s.seed.OnChanged = func(string) { s.updateSeedWarning() }
	s.lockSeed = widget.NewCheck("Keep", func(on bool) {
		if on {
			s.seed.Enable()
			if s.seed.Text == "" && s.lastSeed != 0 {
				s.seed.SetText(strconv.FormatInt(s.lastSeed, 10))
			}
		} else {
			s.seed.Disable()
			if s.lastSeed != 0 {
				s.seed.SetText(strconv.FormatInt(s.lastSeed, 10))
			}
		}
		s.updateSeedNote()
		s.updateSeedWarning()
	})
	s.seed.Disable()
	s.seedNote = editHint("")
	s.seedWarn = hiddenMessage(widget.WarningImportance)
	s.updateSeedNote()

	s.demoNote = editHint("")
	s.demoNote.Hide()
	s.generate = widget.NewButtonWithIcon("Edit", theme.MediaPlayIcon(), s.Start)
	s.generate.Importance = widget.HighImportance
	s.cancel = widget.NewButtonWithIcon("Cancel", theme.CancelIcon(), s.Cancel)
	s.cancel.Disable()
	s.errLabel = hiddenMessage(widget.DangerImportance)
	s.progress = newTaskProgress()

	form := container.New(layout.NewFormLayout(),
		widget.NewLabel("Text guidance"), container.NewVBox(s.cfg, cfgHint),
		widget.NewLabel("Image guidance"), container.NewVBox(s.imgCfg, imgHint),
		widget.NewLabel("Steps"), s.steps,
		widget.NewLabel("Output size"), container.NewVBox(s.sizeMode,
			container.NewBorder(nil, nil, nil, nil, container.NewGridWithColumns(3, s.width, widget.NewLabelWithStyle("×", fyne.TextAlignCenter, fyne.TextStyle{}), s.height)),
			s.sizeNote),
		widget.NewLabel("Seed"), container.NewVBox(container.NewBorder(nil, nil, nil, s.lockSeed, s.seed), s.seedNote),
	)
	more := widget.NewAccordion(widget.NewAccordionItem("More settings", container.New(layout.NewFormLayout(),
		widget.NewLabel("Guidance rescale"), container.NewVBox(s.norm, normHint),
		widget.NewLabel("Timestep shift"), container.NewVBox(s.shift, editHint("How long the steps stay on coarse shapes; 3 is the default.")),
	)))
	s.settingsBox = container.NewVBox(
		editHeading("Pictures"),
		picsHint,
		container.NewGridWithColumns(2, s.addBtn, s.pasteBtn),
		s.list,
		s.picsMsg,
		widget.NewSeparator(),
		editHeading("Instruction"),
		s.prompt,
		promptHint,
		form,
		more,
		s.demoNote,
	)
	s.actionsBox = container.NewVBox(
		s.seedWarn,
		s.errLabel,
		container.NewGridWithColumns(2, s.generate, s.cancel),
		editHint("Ctrl+Enter edits, Esc cancels."),
	)
	s.leftBox = container.NewBorder(nil, s.actionsBox, nil, nil, container.NewVScroll(s.settingsBox))

	// Result.
	s.before = NewImageView(s.view, "The first picture appears here.")
	s.after = NewImageView(s.view, "The edited picture appears here.")
	s.compare = newCompareView(s.view, "Edit a picture to compare it with the result here: drag the divider (or tap) to move it.")
	s.slider = widget.NewSlider(0, 1)
	s.slider.Step = 0.001
	s.slider.Value = 0.5
	s.slider.OnChanged = func(v float64) { s.compare.SetSplit(float32(v)) }
	s.compare.onSplit = func(f float32) {
		if float64(f) != s.slider.Value {
			s.slider.SetValue(float64(f))
		}
	}
	s.sideBySide = container.NewGridWithColumns(2,
		container.NewBorder(editCaption("Before: picture 1"), nil, nil, nil, s.before),
		container.NewBorder(editCaption("After"), nil, nil, nil, s.after))
	// The slider mirrors the divider: left of it the input, right of it
	// the result.
	s.sliderBox = container.NewBorder(nil, s.slider, nil, nil, s.compare)
	s.sliderBox.Hide()
	s.layout = widget.NewRadioGroup([]string{editLayoutSideBySide, editLayoutSlider}, func(v string) {
		if v == editLayoutSlider {
			s.sideBySide.Hide()
			s.sliderBox.Show()
		} else {
			s.sliderBox.Hide()
			s.sideBySide.Show()
		}
	})
	s.layout.Horizontal = true
	s.layout.Required = true
	s.layout.SetSelected(editLayoutSideBySide)
	s.zoomLabel = widget.NewLabel("Fit")
	s.view.listen(func() { fyne.Do(s.updateZoomLabel) })
	zoomOut := widget.NewButtonWithIcon("", theme.ZoomOutIcon(), func() { s.zoom(1 / math.Sqrt2) })
	zoomIn := widget.NewButtonWithIcon("", theme.ZoomInIcon(), func() { s.zoom(math.Sqrt2) })
	fit := widget.NewButtonWithIcon("", theme.ZoomFitIcon(), s.view.Reset)
	s.useResult = widget.NewButtonWithIcon("Edit the result", theme.ContentRedoIcon(), s.editResult)
	s.useResult.Disable()
	s.info = widget.NewLabel("")
	s.info.Truncation = fyne.TextTruncateEllipsis
	toolbar := container.NewHBox(s.layout, layout.NewSpacer(), zoomOut, s.zoomLabel, zoomIn, fit)
	bottom := container.NewBorder(nil, nil, nil, s.useResult, s.info)
	right := container.NewBorder(container.NewVBox(s.progress.box, toolbar), bottom, nil, nil, container.NewStack(s.sideBySide, s.sliderBox))

	split := container.NewHSplit(container.NewPadded(s.leftBox), container.NewPadded(right))
	split.Offset = 0.34
	s.root = split
	s.refreshList()
}

func editEntry(text string) *widget.Entry {
	e := widget.NewEntry()
	e.SetText(text)
	return e
}

func editHint(text string) *widget.Label {
	l := widget.NewLabel(text)
	l.Wrapping = fyne.TextWrapWord
	l.Importance = widget.LowImportance
	l.SizeName = theme.SizeNameCaptionText
	return l
}

func editHeading(text string) *widget.Label {
	return widget.NewLabelWithStyle(text, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
}

func editCaption(text string) *widget.Label {
	l := widget.NewLabel(text)
	l.Importance = widget.LowImportance
	return l
}

// statusChanged applies the loaded model's defaults (the demo model's small
// size and few steps) to the fields the user has not changed.
func (s *editScreen) statusChanged(st app.StudioStatus) {
	if st.Model == nil {
		return
	}
	demo := st.Model.Demo
	target, steps := editTargetPixels, strconv.Itoa(editSteps)
	if demo {
		target, steps = demoEditTargetPixels, strconv.Itoa(demoEditSteps)
		s.setShown(s.demoNote, fmt.Sprintf("Demo model: about %d² pixels and %s steps by default, to keep an edit short on the CPU.", int(math.Sqrt(float64(target))), steps), true)
	} else if s.demoNote.Visible() {
		s.setShown(s.demoNote, "", false)
	}
	if s.steps.Text == s.defSteps {
		s.steps.SetText(steps)
	}
	s.defSteps, s.target, s.demoKnown = steps, target, true
	s.updateSize()
}

// --- Pictures --------------------------------------------------------------

// editSource is a picture to add: its path, and the path that tells
// where it came from (for the seed that made it; the same unless it is a
// history copy of an input).
type editSource struct{ path, origin string }

// handleDrop adds pictures dropped on the window (while this screen is
// shown), in the order given.
func (s *editScreen) handleDrop(uris []fyne.URI) {
	var srcs []editSource
	var problems []string
	for _, u := range uris {
		if u == nil {
			continue
		}
		if u.Scheme() != "file" {
			problems = append(problems, fmt.Sprintf("%s is not a file on this computer: save the picture to a file first and drop the file.", u.String()))
			continue
		}
		srcs = append(srcs, editSource{path: u.Path(), origin: u.Path()})
	}
	s.addPictures(srcs, problems, false)
}

// choose opens the file picker.
func (s *editScreen) choose() {
	d := dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
		if err != nil {
			s.showPicsMessage([]string{fmt.Sprintf("The file could not be opened: %v", err)})
			return
		}
		if r == nil {
			return // cancelled
		}
		path := r.URI().Path()
		r.Close()
		s.addPictures([]editSource{{path: path, origin: path}}, nil, false)
	}, s.env.win)
	d.SetFilter(storage.NewExtensionFileFilter(editPictureExtensions))
	if s.lastDir != "" {
		if l, err := storage.ListerForURI(storage.NewFileURI(s.lastDir)); err == nil {
			d.SetLocation(l)
		}
	}
	d.Resize(fyne.NewSize(860, 580))
	d.Show()
}

// paste adds the pictures whose paths (or file:// URIs) the clipboard
// holds, one a line.
func (s *editScreen) paste() {
	text := s.env.app.Clipboard().Content()
	srcs, problems := editParsePaste(text)
	if len(srcs) == 0 && len(problems) == 0 {
		problems = append(problems, "The clipboard holds no file path. Copy a picture's path (for example with \"Copy as path\" or from the file manager's address bar) and press Paste path again.")
	}
	s.addPictures(srcs, problems, false)
}

// editParsePaste reads file paths or file:// URIs, one a line, quotes
// allowed.
func editParsePaste(text string) ([]editSource, []string) {
	var srcs []editSource
	var problems []string
	for _, line := range strings.Split(text, "\n") {
		line = strings.Trim(strings.TrimSpace(line), "\"'")
		if line == "" {
			continue
		}
		path := line
		if strings.HasPrefix(strings.ToLower(line), "file://") {
			u, err := storage.ParseURI(line)
			if err != nil {
				problems = append(problems, fmt.Sprintf("%q is not a file address: %v", line, err))
				continue
			}
			path = u.Path()
		}
		if _, err := os.Stat(path); err != nil {
			short := line
			if len(short) > 80 {
				short = short[:77] + "…"
			}
			problems = append(problems, fmt.Sprintf("The clipboard holds %q, which is not a picture file on this computer: copy the picture file's path and press Paste path again.", short))
			continue
		}
		srcs = append(srcs, editSource{path: path, origin: path})
	}
	return srcs, problems
}

// addPictures decodes the pictures in the background (each must decode
// before it is accepted) and then appends them (or replaces the list) in
// the order given. problems are shown with those found while decoding.
func (s *editScreen) addPictures(srcs []editSource, problems []string, replace bool) {
	go func() {
		s.addMu.Lock()
		defer s.addMu.Unlock()
		var ok []editPicture
		for _, src := range srcs {
			if fi, err := os.Stat(src.path); err == nil && fi.IsDir() {
				problems = append(problems, fmt.Sprintf("%s is a folder: add the pictures in it, not the folder.", filepath.Base(src.path)))
				continue
			}
			img, err := app.ReadPicture(src.path)
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s was not added: it is not a picture this app can read (PNG, JPEG, WebP, BMP or GIF): %v", filepath.Base(src.path), err))
				continue
			}
			b := img.Bounds()
			p := editPicture{path: src.path, thumb: editThumbnail(img, 128), w: b.Dx(), h: b.Dy()}
			// A picture made by this app carries its seed.
			if p.seed, p.hasSeed = app.PictureSeed(src.origin); !p.hasSeed {
				p.seed, p.hasSeed = app.PictureSeed(src.path)
			}
			ok = append(ok, p)
		}
		// fyne.Do keeps the order: batches queue here one at a time.
		fyne.Do(func() {
			if replace {
				s.pics = nil
			}
			if room := maxEditPictures - len(s.pics); len(ok) > room {
				problems = append(problems, fmt.Sprintf("At most %d pictures can be edited together: %d picture(s) were not added.", maxEditPictures, len(ok)-room))
				ok = ok[:room]
			}
			s.pics = append(s.pics, ok...)
			if len(ok) > 0 {
				s.lastDir = filepath.Dir(ok[len(ok)-1].path)
			}
			s.showPicsMessage(problems)
			s.picturesChanged()
		})
	}()
}

func (s *editScreen) showPicsMessage(problems []string) {
	if len(problems) == 0 {
		if s.picsMsg.Visible() {
			s.setShown(s.picsMsg, "", false)
		}
		return
	}
	s.setShown(s.picsMsg, strings.Join(problems, "\n"), true)
}

// move swaps picture i with picture i+d.
func (s *editScreen) move(i, d int) {
	j := i + d
	if i < 0 || j < 0 || i >= len(s.pics) || j >= len(s.pics) {
		return
	}
	s.pics[i], s.pics[j] = s.pics[j], s.pics[i]
	s.picturesChanged()
}

// remove drops picture i.
func (s *editScreen) remove(i int) {
	if i < 0 || i >= len(s.pics) {
		return
	}
	s.pics = append(s.pics[:i], s.pics[i+1:]...)
	s.showPicsMessage(nil)
	s.picturesChanged()
}

// paths returns the pictures' paths in order.
func (s *editScreen) paths() []string {
	var out []string
	for _, p := range s.pics {
		out = append(out, p.path)
	}
	return out
}

func (s *editScreen) picturesChanged() {
	s.refreshList()
	s.updateSize()
	s.updateSeedWarning()
	if !s.hasResult && !s.isRunning() {
		s.showFirstPicture()
	}
}

// showFirstPicture shows the first picture on the "before" side while there
// is no result.
func (s *editScreen) showFirstPicture() {
	if len(s.pics) == 0 {
		s.before.SetImage(nil)
		s.compare.SetImages(nil, nil)
		return
	}
	path := s.pics[0].path
	go func() {
		img, err := app.ReadPicture(path)
		if err != nil {
			return
		}
		fyne.Do(func() {
			if s.hasResult || s.isRunning() || len(s.pics) == 0 || s.pics[0].path != path {
				return
			}
			s.before.SetImage(img)
			s.compare.SetImages(img, nil)
		})
	}()
}

// refreshList rebuilds the rows of the picture list.
func (s *editScreen) refreshList() {
	var rows []fyne.CanvasObject
	for i, p := range s.pics {
		i := i
		num := widget.NewLabelWithStyle(strconv.Itoa(i+1), fyne.TextAlignCenter, fyne.TextStyle{Bold: true})
		th := canvas.NewImageFromImage(p.thumb)
		th.FillMode = canvas.ImageFillContain
		th.ScaleMode = canvas.ImageScaleSmooth
		th.SetMinSize(fyne.NewSize(56, 56))
		name := widget.NewLabel(filepath.Base(p.path))
		name.Truncation = fyne.TextTruncateEllipsis
		dims := editHint(fmt.Sprintf("%d × %d", p.w, p.h))
		up := widget.NewButtonWithIcon("", theme.MoveUpIcon(), func() { s.move(i, -1) })
		down := widget.NewButtonWithIcon("", theme.MoveDownIcon(), func() { s.move(i, 1) })
		del := widget.NewButtonWithIcon("", theme.DeleteIcon(), func() { s.remove(i) })
		if i == 0 {
			up.Disable()
		}
		if i == len(s.pics)-1 {
			down.Disable()
		}
		rows = append(rows, container.NewBorder(nil, nil,
			container.NewHBox(num, th),
			container.NewHBox(up, down, del),
			container.NewVBox(name, dims)))
	}
	if len(rows) == 0 {
		rows = append(rows, editHint("No pictures yet."))
	}
	s.list.Objects = rows
	s.list.Refresh()
}

// editResult makes the shown result the picture to edit next.
func (s *editScreen) editResult() {
	if !s.hasResult || len(s.result.Pictures) == 0 {
		return
	}
	p := s.env.studio.History().Path(s.result.Pictures[0])
	s.addPictures([]editSource{{path: p, origin: p}}, nil, true)
}

// --- Size and seed -----------------------------------------------------------

// editSameSize returns the output size "same as the first picture" gives: the
// first picture's aspect ratio at about target pixels, sides multiples of
// 32 (smart_resize with min = max = target, as the engine derives it).
func editSameSize(w, h, target int) (int, int) {
	oh, ow := editSmartResize(h, w, editSizeFactor, target, target)
	return ow, oh
}

// editSmartResize is the reference's smart_resize (imageproc.SmartResize):
// both sides multiples of factor, the aspect ratio kept, the pixel count
// brought into [minPixels, maxPixels].
func editSmartResize(height, width, factor, minPixels, maxPixels int) (h, w int) {
	if height <= 0 || width <= 0 {
		return factor, factor
	}
	f := float64(factor)
	h = max(factor, int(math.RoundToEven(float64(height)/f))*factor)
	w = max(factor, int(math.RoundToEven(float64(width)/f))*factor)
	area := float64(height) * float64(width)
	switch {
	case h*w > maxPixels:
		beta := math.Sqrt(area / float64(maxPixels))
		h = max(factor, int(math.Floor(float64(height)/beta/f))*factor)
		w = max(factor, int(math.Floor(float64(width)/beta/f))*factor)
	case h*w < minPixels:
		beta := math.Sqrt(float64(minPixels) / area)
		h = int(math.Ceil(float64(height)*beta/f)) * factor
		w = int(math.Ceil(float64(width)*beta/f)) * factor
	}
	return h, w
}

func (s *editScreen) updateSize() {
	if s.sizeMode.Selected == editSizeCustom {
		s.width.Enable()
		s.height.Enable()
	} else {
		s.width.Disable()
		s.height.Disable()
	}
	s.updateSizeNote()
}

func (s *editScreen) updateSizeNote() {
	if s.sizeMode.Selected == editSizeCustom {
		s.sizeNote.SetText("Width and height in pixels, multiples of 32.")
		return
	}
	if len(s.pics) == 0 {
		s.sizeNote.SetText("The first picture's shape at about " + editMegapixels(s.target) + ".")
		return
	}
	w, h := editSameSize(s.pics[0].w, s.pics[0].h, s.target)
	s.sizeNote.SetText(fmt.Sprintf("%d × %d: the first picture's shape at about %s.", w, h, editMegapixels(s.target)))
	if s.width.Disabled() {
		s.width.SetText(strconv.Itoa(w))
		s.height.SetText(strconv.Itoa(h))
	}
}

func editMegapixels(n int) string {
	side := int(math.Sqrt(float64(n)))
	return fmt.Sprintf("%d² pixels", side)
}

func (s *editScreen) updateSeedNote() {
	if s.lockSeed.Checked {
		s.seedNote.SetText("Every edit uses this seed, to reproduce a result.")
	} else {
		s.seedNote.SetText("A fresh random seed for every edit: editing a picture with the seed that made it can collapse the result.")
	}
}

// updateSeedWarning warns when the kept seed made one of the pictures.
func (s *editScreen) updateSeedWarning() {
	seed, err := strconv.ParseInt(strings.TrimSpace(s.seed.Text), 10, 64)
	if s.lockSeed.Checked && err == nil {
		for i, p := range s.pics {
			if p.hasSeed && p.seed == seed {
				s.setShown(s.seedWarn, fmt.Sprintf("Picture %d was made with seed %d, the seed kept here. Editing a picture with the seed that made it can collapse the result: untick \"Keep\" for a fresh one, or type another.", i+1, seed), true)
				return
			}
		}
	}
	if s.seedWarn.Visible() {
		s.setShown(s.seedWarn, "", false)
	}
}

// freshSeed draws a seed that made none of the pictures.
func (s *editScreen) freshSeed() int64 {
	for {
		seed := rand.Int64N(math.MaxInt32) + 1
		clash := false
		for _, p := range s.pics {
			clash = clash || (p.hasSeed && p.seed == seed)
		}
		if !clash {
			return seed
		}
	}
}

// --- Running -------------------------------------------------------------

// request checks the fields and builds the edit request; its errors are
// sentences for the user.
func (s *editScreen) request() (protocol.Request, error) {
	req := protocol.Request{Op: protocol.OpEdit, PreviewSize: editPreviewSize}
	if len(s.pics) == 0 {
		return req, errors.New("Add a picture to edit: drop it on the window, press Add pictures…, or copy its path and press Paste path.")
	}
	if len(s.pics) > maxEditPictures {
		return req, fmt.Errorf("At most %d pictures can be edited together: remove %d.", maxEditPictures, len(s.pics)-maxEditPictures)
	}
	req.Images = s.paths()
	req.Prompt = strings.TrimSpace(s.prompt.Text)
	if req.Prompt == "" {
		return req, errors.New("Type what to change in the instruction, e.g. \"make it winter\".")
	}
	if k := strings.Count(req.Prompt, "<image>"); k > len(s.pics) {
		return req, fmt.Errorf("The instruction has %d <image> marks but only %d picture(s) were added: remove marks or add pictures.", k, len(s.pics))
	}
	cfg, err := editParseScale(s.cfg.Text, "Text guidance")
	if err != nil {
		return req, err
	}
	img, err := editParseScale(s.imgCfg.Text, "Image guidance")
	if err != nil {
		return req, err
	}
	req.CFGScale, req.ImgCFGScale = &cfg, &img
	req.CFGNorm = s.norm.Selected
	steps, err := strconv.Atoi(strings.TrimSpace(s.steps.Text))
	if err != nil || steps < 1 || steps > 1000 {
		return req, fmt.Errorf("Steps %q: type a whole number from 1 to 1000 (%s is the default).", s.steps.Text, s.defSteps)
	}
	req.Steps = steps
	shift, err := strconv.ParseFloat(strings.TrimSpace(s.shift.Text), 64)
	if err != nil || !(shift > 0) || math.IsInf(shift, 0) {
		return req, fmt.Errorf("Timestep shift %q: type a number above 0 (3 is the default).", s.shift.Text)
	}
	req.TimestepShift = &shift
	if s.sizeMode.Selected == editSizeCustom {
		if req.Width, err = editParseSide(s.width.Text, "Width"); err != nil {
			return req, err
		}
		if req.Height, err = editParseSide(s.height.Text, "Height"); err != nil {
			return req, err
		}
	} else {
		req.Width, req.Height = editSameSize(s.pics[0].w, s.pics[0].h, s.target)
	}
	if s.lockSeed.Checked {
		seed, err := strconv.ParseInt(strings.TrimSpace(s.seed.Text), 10, 64)
		if err != nil || seed < 0 {
			return req, fmt.Errorf("Seed %q: type a whole number of 0 or more, or untick \"Keep\" for a fresh one.", s.seed.Text)
		}
		req.Seed = seed
	} else {
		req.Seed = s.freshSeed()
	}
	return req, nil
}

func editParseScale(text, name string) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimSpace(text), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 || v > 100 {
		return 0, fmt.Errorf("%s %q: type a number from 0 to 100 (1 turns it off).", name, text)
	}
	return v, nil
}

func editParseSide(text, name string) (int, error) {
	v, err := strconv.Atoi(strings.TrimSpace(text))
	if err != nil {
		return 0, fmt.Errorf("%s %q: type a whole number of pixels, a multiple of 32 (e.g. 1024).", name, text)
	}
	if v < editSizeFactor || v > 8192 {
		return 0, fmt.Errorf("%s %d: type a multiple of 32 from 32 to 8192 pixels.", name, v)
	}
	if v%editSizeFactor != 0 {
		lo := v / editSizeFactor * editSizeFactor
		return 0, fmt.Errorf("%s %d is not a multiple of 32: use %d or %d.", name, v, lo, lo+editSizeFactor)
	}
	return v, nil
}

func (s *editScreen) isRunning() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.running
}

// current reports whether run is the edit in flight.
func (s *editScreen) current(run int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.running && s.run == run
}

// finish ends run (if it is the edit in flight) and re-enables the screen.
func (s *editScreen) finish(run int) bool {
	s.mu.Lock()
	if !s.running || s.run != run {
		s.mu.Unlock()
		return false
	}
	s.running, s.job = false, nil
	s.mu.Unlock()
	s.generate.Enable()
	s.cancel.Disable()
	return true
}

func (s *editScreen) showError(msg string) { s.setShown(s.errLabel, msg, true) }

func (s *editScreen) hideError() {
	if s.errLabel.Visible() {
		s.setShown(s.errLabel, "", false)
	}
}

// Start sends the edit (Ctrl+Enter).
func (s *editScreen) Start() {
	if s.isRunning() || s.env.studio == nil {
		return
	}
	s.statusChanged(s.env.studio.Status())
	req, err := s.request()
	if err != nil {
		s.showError(err.Error())
		return
	}
	s.hideError()
	s.mu.Lock()
	s.run++
	run := s.run
	s.running, s.previewStep = true, 0
	s.mu.Unlock()
	s.lastSeed = req.Seed
	s.seed.SetText(strconv.FormatInt(req.Seed, 10))
	s.generate.Disable()
	s.cancel.Enable()
	s.progress.begin("reading the pictures and the instruction…")

	// The "before" side: the first picture at the output size.
	s.hasResult = false
	s.useResult.Disable()
	s.after.SetImage(nil)
	first := req.Images[0]
	go func() {
		if img, err := app.ReadPicture(first); err == nil {
			img = editResized(img, req.Width, req.Height)
			fyne.Do(func() {
				if s.current(run) {
					s.before.SetImage(img)
					s.compare.SetImages(img, s.after.Image())
				}
			})
		}
	}()

	history := s.env.studio.History()
	job, err := s.env.studio.Run(req, app.Callbacks{
		Progress: func(picture, step, steps int, preview string) {
			fyne.Do(func() {
				if s.current(run) {
					s.progress.step(picture, step, steps)
				}
			})
			if preview != "" {
				s.showPreview(run, step, preview)
			}
		},
		Done: func(e app.Entry) {
			go s.done(run, history, e)
		},
		Failed: func(code, message string) {
			fyne.Do(func() {
				if !s.current(run) {
					return
				}
				if code == protocol.CodeCancelled {
					s.progress.end("Cancelled.")
				} else {
					s.progress.end("Failed.")
					s.showError("The edit failed: " + message)
				}
				s.finish(run)
				s.restoreResult()
			})
		},
	})
	if err != nil {
		s.finish(run)
		s.progress.end("")
		s.showError("The edit could not be sent to the engine: " + err.Error())
		return
	}
	s.mu.Lock()
	if s.running && s.run == run {
		s.job = job
	}
	s.mu.Unlock()
}

// showPreview shows a step's preview (a small PNG the engine wrote, which
// is removed once read).
func (s *editScreen) showPreview(run, step int, path string) {
	go func() {
		img, err := app.ReadPicture(path)
		os.Remove(path)
		if err != nil {
			return
		}
		fyne.Do(func() {
			s.mu.Lock()
			ok := s.running && s.run == run && step > s.previewStep
			if ok {
				s.previewStep = step
			}
			s.mu.Unlock()
			if ok {
				s.after.SetImage(img)
				before, _ := s.compare.Images()
				s.compare.SetImages(before, img)
			}
		})
	}()
}

// done shows a finished edit from the history folder (decoding off the UI
// goroutine) and tells the History screen.
func (s *editScreen) done(run int, history *app.History, e app.Entry) {
	result, before, err := editReadEntry(history, e)
	fyne.Do(func() {
		if s.env.added != nil {
			s.env.added(e)
		}
		if !s.current(run) {
			return
		}
		// The screen is enabled again last, once everything is shown.
		defer s.finish(run)
		if err != nil {
			s.progress.end("Saved, but not shown.")
			s.showError(err.Error())
			return
		}
		s.showResult(e, before, result)
		s.progress.bar.SetValue(1)
		s.progress.end(fmt.Sprintf("done in %.1f s · seed %d", e.Seconds, e.Request.Seed))
	})
}

// editReadEntry reads an entry's result and its first input, resized to
// the result's size.
func editReadEntry(history *app.History, e app.Entry) (result, before image.Image, err error) {
	if len(e.Pictures) == 0 {
		return nil, nil, errors.New("The engine returned no picture.")
	}
	result, err = app.ReadPicture(history.Path(e.Pictures[0]))
	if err != nil {
		return nil, nil, fmt.Errorf("The result could not be read back: %v", err)
	}
	if len(e.Inputs) > 0 {
		if in, err := app.ReadPicture(history.Path(e.Inputs[0])); err == nil {
			b := result.Bounds()
			before = editResized(in, b.Dx(), b.Dy())
		}
	}
	return result, before, nil
}

// editInfo describes a result in one line.
func editInfo(e app.Entry) string {
	r := e.Request
	return fmt.Sprintf("%d × %d · seed %d · %d steps · %.1f s · %s", r.Width, r.Height, r.Seed, r.Steps, e.Seconds, e.ID)
}

func (s *editScreen) showResult(e app.Entry, before, result image.Image) {
	s.result, s.hasResult = e, true
	s.info.SetText(editInfo(e))
	s.before.SetImage(before)
	s.after.SetImage(result)
	s.compare.SetImages(before, result)
	s.useResult.Enable()
}

// restoreResult shows the last result again after a failed or cancelled
// edit (or the first picture when there is none).
func (s *editScreen) restoreResult() {
	if s.result.ID == "" || s.env.studio == nil {
		s.after.SetImage(nil)
		s.showFirstPicture()
		return
	}
	e, history := s.result, s.env.studio.History()
	go func() {
		result, before, err := editReadEntry(history, e)
		if err != nil {
			return
		}
		fyne.Do(func() {
			if !s.isRunning() && s.result.ID == e.ID {
				s.showResult(e, before, result)
			}
		})
	}()
}

// Cancel stops the edit in flight (Esc); the engine stops within one step.
func (s *editScreen) Cancel() {
	s.mu.Lock()
	job := s.job
	s.mu.Unlock()
	if job != nil {
		job.Cancel()
		s.progress.end("cancelling…")
	}
}

// zoom scales the shared view around the centre.
func (s *editScreen) zoom(f float64) {
	var img image.Image
	var size fyne.Size
	switch {
	case s.sliderBox.Visible() && s.compare.frame() != nil:
		img, size = s.compare.frame(), s.compare.Size()
	case s.after.Image() != nil:
		img, size = s.after.Image(), s.after.Size()
	default:
		img, size = s.before.Image(), s.before.Size()
	}
	c := fyne.NewPos(size.Width/2, size.Height/2)
	compareZoom(s.view, img, size, f, &c)
}

func (s *editScreen) updateZoomLabel() {
	z := s.view.Zoom()
	if z <= 1 {
		s.zoomLabel.SetText("Fit")
	} else {
		s.zoomLabel.SetText(fmt.Sprintf("×%.1f", z))
	}
}

// load fills the screen from a history entry so that Edit runs it again
// exactly: its instruction, settings, size and seed (kept), and its input
// pictures (the copies in the history folder).
func (s *editScreen) load(e app.Entry) {
	r := e.Request
	s.prompt.SetText(r.Prompt)
	s.cfg.SetText(editFormatFloat(r.CFGScale, 4))
	s.imgCfg.SetText(editFormatFloat(r.ImgCFGScale, 1))
	norm := r.CFGNorm
	if norm == "" {
		norm = "none"
	}
	s.norm.SetSelected(norm)
	steps := r.Steps
	if steps == 0 {
		steps = editSteps
	}
	s.steps.SetText(strconv.Itoa(steps))
	s.shift.SetText(editFormatFloat(r.TimestepShift, 3))
	w, h := r.Width, r.Height
	if w == 0 || h == 0 {
		var rec struct{ Width, Height int }
		if json.Unmarshal(e.Parameters, &rec) == nil {
			w, h = rec.Width, rec.Height
		}
	}
	if w > 0 && h > 0 {
		s.sizeMode.SetSelected(editSizeCustom)
		s.width.SetText(strconv.Itoa(w))
		s.height.SetText(strconv.Itoa(h))
	} else {
		s.sizeMode.SetSelected(editSizeSame)
	}
	s.lastSeed = r.Seed
	s.seed.SetText(strconv.FormatInt(r.Seed, 10))
	s.lockSeed.SetChecked(true)
	s.hideError()

	// The pictures: the history's copies; the record's inputs say where
	// they came from (for the seed warning).
	var rec struct {
		Inputs []string `json:"inputs"`
	}
	json.Unmarshal(e.Parameters, &rec)
	history := s.env.studio.History()
	var srcs []editSource
	for k, name := range e.Inputs {
		src := editSource{path: history.Path(name), origin: history.Path(name)}
		if len(rec.Inputs) == len(e.Inputs) {
			src.origin = rec.Inputs[k]
		}
		srcs = append(srcs, src)
	}
	var problems []string
	if len(srcs) == 0 {
		problems = append(problems, "This history entry kept no input pictures: add them again.")
	}
	s.addPictures(srcs, problems, true)
	if len(e.Pictures) > 0 {
		go func() {
			result, before, err := editReadEntry(history, e)
			if err != nil {
				return
			}
			fyne.Do(func() {
				if !s.isRunning() {
					s.showResult(e, before, result)
					s.progress.end(fmt.Sprintf("loaded from the history · seed %d", r.Seed))
				}
			})
		}()
	}
}

func editFormatFloat(p *float64, def float64) string {
	v := def
	if p != nil {
		v = *p
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}
