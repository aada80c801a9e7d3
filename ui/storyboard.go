package ui

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/sensenova/studio/app"
	"github.com/sensenova/studio/inference/protocol"
)

// The Storyboard screen (interleaved text and pictures, PIPELINES.md 5): a
// prompt and an aspect preset go in; the model's text streams into cards and
// each picture appears as a card where the model placed it, with a live
// preview while it is drawn. A finished storyboard is shown from the
// history and can be exported as Markdown (with a folder of pictures) or as
// one self-contained HTML file.

// sbPreset is an interleave size preset (PIPELINES.md 5.2).
type sbPreset struct {
	name string
	w, h int
}

// sbPresets are the upstream interleave presets; 16:9 is the default.
var sbPresets = []sbPreset{
	{"1:1", 1536, 1536}, {"16:9", 2048, 1152}, {"9:16", 1152, 2048}, {"3:2", 1888, 1248},
	{"2:3", 1248, 1888}, {"4:3", 1760, 1312}, {"3:4", 1312, 1760}, {"1:2", 1088, 2144},
	{"2:1", 2144, 1088}, {"1:3", 864, 2592}, {"3:1", 2592, 864},
}

const sbDefaultPreset = "16:9"

// sbDemoSize is a preset's size for the demo model: a quarter of each side,
// on the 32-pixel grid, so a picture takes a fraction of a second on the CPU.
func sbDemoSize(p sbPreset) (int, int) {
	r := func(v int) int { return max(32, (v/4+16)/32*32) }
	return r(p.w), r(p.h)
}

// Defaults of the upstream interleave script (PIPELINES.md 5.1) and the
// smaller ones used with the demo model.
const (
	sbSteps         = 50
	sbTokens        = 8192
	sbSeed          = 42
	sbCFG           = 4.0
	sbImgCFG        = 1.0
	sbDemoSteps     = 12
	sbDemoTokens    = 512
	sbPreviewSize   = 384
	sbMaxPromptRune = 32000
	sbPictureHeight = 340
)

// storyboardScreen is the Storyboard tab.
type storyboardScreen struct {
	e       *env
	content fyne.CanvasObject

	prompt                           *actionEntry
	aspect                           *widget.Select
	left                             *fyne.Container   // the fields; lines come and go in it
	sizes                            map[string][2]int // aspect option → size
	steps, cfg, imgCFG, tokens, seed *widget.Entry
	think                            *widget.Check
	inputs                           []string // input picture paths
	inputBox                         *fyne.Container
	note, message                    *widget.Label
	generate, cancel                 *widget.Button
	progress                         *taskProgress
	cards                            *fyne.Container
	scroll                           *container.Scroll
	empty                            *widget.Label
	exportMD, exportHTML             *widget.Button
	exported                         *widget.Label
	views                            []sbCard // the cards shown, in order
	preview                          *storyPicture

	// base carries the fields of a loaded request the screen does not show
	// (system message, shift, guidance interval), so a re-run is exact.
	base protocol.Request
	demo bool

	mu      sync.Mutex // guards what callbacks touch
	run     int        // the current run; callbacks of older runs are dropped
	running bool
	job     *app.Job
	stream  sbStream
	pending bool // a sync is queued

	entry   *app.Entry   // the finished storyboard shown (nil while none)
	history *app.History // where entry's files are
}

// sbStream is a storyboard being written, as the callbacks report it.
type sbStream struct {
	text     strings.Builder // with StoryImageMarker where pictures went
	pictures []string        // session paths, in order
	images   map[int]image.Image
	tokens   int
	// The picture being drawn.
	drawing              bool
	picture, step, steps int
	previewImg           image.Image
}

// sbCard is one card of the list and the part it shows.
type sbCard struct {
	part app.StoryPart
	obj  fyne.CanvasObject
	text *widget.Label
	pic  *storyPicture
}

func newStoryboardScreen(e *env) *storyboardScreen {
	s := &storyboardScreen{e: e, sizes: map[string][2]int{}}
	s.prompt = newActionEntry(s, true)
	s.prompt.Wrapping = fyne.TextWrapWord
	s.prompt.SetPlaceHolder("What should the story be about? e.g. A short illustrated story about a lighthouse keeper and a storm, in four scenes.")
	s.prompt.SetMinRowsVisible(5)

	s.aspect = widget.NewSelect(nil, nil)
	s.steps = sbEntry(strconv.Itoa(sbSteps))
	s.cfg = sbEntry(sbFormat(sbCFG))
	s.imgCFG = sbEntry(sbFormat(sbImgCFG))
	s.tokens = sbEntry(strconv.Itoa(sbTokens))
	s.seed = sbEntry(strconv.Itoa(sbSeed))
	dice := widget.NewButtonWithIcon("", theme.ViewRefreshIcon(), func() {
		s.seed.SetText(strconv.FormatInt(rand.Int64N(1<<31), 10))
	})
	s.think = widget.NewCheck("Think first (the model plans before it writes)", nil)
	s.think.SetChecked(true)

	s.inputBox = container.NewVBox()
	addInput := widget.NewButtonWithIcon("Add picture…", theme.ContentAddIcon(), func() {
		sbOpenPicture(s.e.win, s.addInput)
	})

	s.note = hiddenMessage(widget.LowImportance)
	s.message = hiddenMessage(widget.DangerImportance)

	s.generate = widget.NewButtonWithIcon("Generate", theme.MediaPlayIcon(), s.Start)
	s.generate.Importance = widget.HighImportance
	s.cancel = widget.NewButtonWithIcon("Cancel", theme.CancelIcon(), s.Cancel)
	s.cancel.Disable()

	form := widget.NewForm(
		widget.NewFormItem("Aspect", s.aspect),
		widget.NewFormItem("Steps", s.steps),
		widget.NewFormItem("CFG scale", s.cfg),
		widget.NewFormItem("Image CFG scale", s.imgCFG),
		widget.NewFormItem("Max text tokens", s.tokens),
		widget.NewFormItem("Seed", container.NewBorder(nil, nil, nil, dice, s.seed)),
	)
	s.left = container.NewVBox(
		widget.NewLabelWithStyle("Prompt", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		s.prompt,
		form,
		s.think,
		container.NewBorder(nil, nil, widget.NewLabel("Input pictures"), addInput),
		s.inputBox,
		s.note,
		s.message,
		container.NewGridWithColumns(2, s.generate, s.cancel),
		sbHint("Ctrl+Enter generates, Esc cancels. Tap a picture to zoom."),
	)

	s.progress = newTaskProgress()
	s.progress.label.SetText("Ready.")
	s.empty = widget.NewLabel("The story's text and pictures appear here, in order, as the model writes them.")
	s.empty.Wrapping = fyne.TextWrapWord
	s.empty.Alignment = fyne.TextAlignCenter
	s.cards = container.NewVBox(s.empty)
	s.scroll = container.NewVScroll(container.NewPadded(s.cards))
	s.exportMD = widget.NewButtonWithIcon("Export Markdown…", theme.DocumentSaveIcon(), func() { s.askExport("md") })
	s.exportHTML = widget.NewButtonWithIcon("Export HTML…", theme.DocumentSaveIcon(), func() { s.askExport("html") })
	s.exportMD.Disable()
	s.exportHTML.Disable()
	s.exported = widget.NewLabel("")
	s.exported.Truncation = fyne.TextTruncateEllipsis
	right := container.NewBorder(s.progress.box,
		container.NewBorder(nil, nil, nil, container.NewHBox(s.exportMD, s.exportHTML), s.exported),
		nil, nil, s.scroll)

	split := container.NewHSplit(container.NewVScroll(container.NewPadded(s.left)), right)
	split.Offset = 0.34
	s.content = split

	s.setDemo(false)
	e.onModel(func(demo bool) { s.setDemo(demo) })
	return s
}

func (s *storyboardScreen) Content() fyne.CanvasObject { return s.content }

// setDemo switches the presets and defaults between the real model and the
// demo model; fields the person changed are kept.
func (s *storyboardScreen) setDemo(demo bool) {
	first := len(s.sizes) == 0
	if !first && demo == s.demo {
		return
	}
	oldSteps, oldTokens := sbSteps, sbTokens
	if s.demo {
		oldSteps, oldTokens = sbDemoSteps, sbDemoTokens
	}
	selected := sbDefaultPreset
	if cur := s.aspect.Selected; cur != "" {
		selected = strings.Fields(cur)[0]
	}
	s.sizes = map[string][2]int{}
	var opts []string
	pick := ""
	for _, p := range sbPresets {
		w, h := p.w, p.h
		if demo {
			w, h = sbDemoSize(p)
		}
		label := fmt.Sprintf("%s  (%d×%d)", p.name, w, h)
		s.sizes[label] = [2]int{w, h}
		opts = append(opts, label)
		if p.name == selected {
			pick = label
		}
	}
	if pick == "" {
		pick = opts[1]
	}
	s.aspect.SetOptions(opts)
	s.aspect.SetSelected(pick)
	newSteps, newTokens := sbSteps, sbTokens
	if demo {
		newSteps, newTokens = sbDemoSteps, sbDemoTokens
	}
	if s.steps.Text == strconv.Itoa(oldSteps) {
		s.steps.SetText(strconv.Itoa(newSteps))
	}
	if s.tokens.Text == strconv.Itoa(oldTokens) {
		s.tokens.SetText(strconv.Itoa(newTokens))
	}
	s.demo = demo
	s.updateNote()
}

// updateNote explains the demo defaults and what input pictures change.
func (s *storyboardScreen) updateNote() {
	var lines []string
	if s.demo {
		lines = append(lines, fmt.Sprintf("Demo model: sizes are a quarter of the real presets, with %d steps and %d text tokens, so a storyboard takes seconds on the CPU. Its text is made-up sentences of a tiny grammar that never follow the prompt, with three abstract pictures.", sbDemoSteps, sbDemoTokens))
	}
	if len(s.inputs) > 0 {
		lines = append(lines, "With input pictures, every picture takes the first input's proportions (as upstream); the aspect preset is not used.")
		s.aspect.Disable()
	} else {
		s.aspect.Enable()
	}
	s.note.SetText(strings.Join(lines, "\n"))
	sbSetVisible(s.note, len(lines) > 0, s.left)
}

// addInput checks a picture and adds it to the inputs.
func (s *storyboardScreen) addInput(path string) { s.addInputs([]string{path}) }

// addInputs checks pictures (decoded off the UI goroutine) and adds those
// that can be read to the inputs, in order.
func (s *storyboardScreen) addInputs(paths []string) {
	go func() {
		imgs := make([]image.Image, len(paths))
		errs := make([]error, len(paths))
		for i, p := range paths {
			imgs[i], errs[i] = app.ReadPicture(p)
		}
		fyne.Do(func() {
			var problems []string
			for i, p := range paths {
				if errs[i] != nil {
					problems = append(problems, fmt.Sprintf("%s cannot be used as an input picture: %v", filepath.Base(p), errs[i]))
					continue
				}
				s.inputs = append(s.inputs, p)
				s.inputBox.Add(s.inputRow(p, imgs[i]))
			}
			if len(problems) > 0 {
				s.showMessage(strings.Join(problems, "\n"))
			} else {
				sbSetVisible(s.message, false, s.left)
			}
			s.updateNote()
			s.left.Refresh()
		})
	}()
}

// inputRow shows one input picture with a button that removes it.
func (s *storyboardScreen) inputRow(path string, img image.Image) fyne.CanvasObject {
	thumb := canvas.NewImageFromImage(img)
	thumb.FillMode = canvas.ImageFillContain
	thumb.SetMinSize(fyne.NewSize(48, 48))
	name := widget.NewLabel(filepath.Base(path))
	name.Truncation = fyne.TextTruncateEllipsis
	var row *fyne.Container
	remove := widget.NewButtonWithIcon("", theme.DeleteIcon(), func() {
		for i, p := range s.inputs {
			if p == path {
				s.inputs = append(s.inputs[:i:i], s.inputs[i+1:]...)
				break
			}
		}
		s.inputBox.Remove(row)
		s.updateNote()
		s.left.Refresh()
	})
	row = container.NewBorder(nil, nil, thumb, remove, name)
	return row
}

// setInputs replaces the inputs (load).
func (s *storyboardScreen) setInputs(paths []string) {
	s.inputs = nil
	s.inputBox.RemoveAll()
	if len(paths) > 0 {
		s.addInputs(paths)
	}
	s.updateNote()
}

// handleDrop adds dropped pictures to the inputs.
func (s *storyboardScreen) handleDrop(uris []fyne.URI) {
	var paths []string
	for _, u := range uris {
		if u.Scheme() == "file" {
			paths = append(paths, u.Path())
		}
	}
	s.addInputs(paths)
}

func (s *storyboardScreen) showMessage(msg string) {
	s.message.SetText(msg)
	sbSetVisible(s.message, true, s.left)
}

// request reads and checks the fields.
func (s *storyboardScreen) request() (protocol.Request, error) {
	req := s.base
	req.ID, req.Op = "", protocol.OpInterleave
	req.Prompt = s.prompt.Text
	if strings.TrimSpace(req.Prompt) == "" {
		return req, errors.New("Type a prompt first: what should the story be about?")
	}
	if n := utf8.RuneCountInString(req.Prompt); n > sbMaxPromptRune {
		return req, fmt.Errorf("The prompt is %d characters long; keep it under %d.", n, sbMaxPromptRune)
	}
	size, ok := s.sizes[s.aspect.Selected]
	if !ok {
		return req, errors.New("Choose an aspect preset.")
	}
	req.Width, req.Height = size[0], size[1]
	if req.Width%32 != 0 || req.Height%32 != 0 {
		return req, fmt.Errorf("The size %d×%d is not a multiple of 32; choose a preset.", req.Width, req.Height)
	}
	var err error
	if req.Steps, err = sbInt(s.steps, "Steps", 1, 1000); err != nil {
		return req, err
	}
	cfg, err := sbFloat(s.cfg, "CFG scale", 0, 100)
	if err != nil {
		return req, err
	}
	img, err := sbFloat(s.imgCFG, "Image CFG scale", 0, 100)
	if err != nil {
		return req, err
	}
	req.CFGScale, req.ImgCFGScale = &cfg, &img
	if req.MaxNewTokens, err = sbInt(s.tokens, "Max text tokens", 1, 65536); err != nil {
		return req, err
	}
	seed, err := sbInt(s.seed, "Seed", 0, 1<<62)
	if err != nil {
		return req, err
	}
	req.Seed = int64(seed)
	req.Think = s.think.Checked
	req.Images = append([]string(nil), s.inputs...)
	for _, p := range req.Images {
		if _, err := os.Stat(p); err != nil {
			return req, fmt.Errorf("The input picture %s cannot be read any more (%v); remove it or add it again.", p, err)
		}
	}
	req.PreviewSize = sbPreviewSize
	return req, nil
}

// Start writes a storyboard (Ctrl+Enter).
func (s *storyboardScreen) Start() {
	s.mu.Lock()
	busy := s.running
	s.mu.Unlock()
	if busy {
		return
	}
	req, err := s.request()
	if err != nil {
		s.showMessage(err.Error())
		return
	}
	run := s.begin()
	job, err := s.e.studio.Run(req, s.callbacks(run))
	if err != nil {
		s.finish(run, fmt.Sprintf("Could not start: %v", err))
		dialog.ShowError(fmt.Errorf("the storyboard could not start: %w", err), s.e.win)
		return
	}
	s.mu.Lock()
	if s.run == run && s.running {
		s.job = job
	}
	s.mu.Unlock()
}

// begin clears the screen for a new run and returns its number.
func (s *storyboardScreen) begin() int {
	sbSetVisible(s.message, false, s.left)
	s.mu.Lock()
	s.run++
	run := s.run
	s.running, s.job, s.pending = true, nil, false
	s.stream = sbStream{images: map[int]image.Image{}}
	s.mu.Unlock()

	s.entry, s.history = nil, nil
	s.exportMD.Disable()
	s.exportHTML.Disable()
	s.exported.SetText("")
	s.preview = nil
	s.setCards(nil, nil, nil)
	s.empty.SetText("Waiting for the first words…")
	s.progress.begin("starting…")
	s.generate.Disable()
	s.cancel.Enable()
	return run
}

// Cancel stops the storyboard being written (Esc); what was written so far
// stays on screen.
func (s *storyboardScreen) Cancel() {
	s.mu.Lock()
	job := s.job
	s.mu.Unlock()
	if job != nil {
		job.Cancel()
		s.progress.label.SetText("cancelling…")
	}
}

// callbacks feed a run's events into the stream; they run on the engine's
// reader goroutine.
func (s *storyboardScreen) callbacks(run int) app.Callbacks {
	// update changes the stream of this run and queues one redraw.
	update := func(change func(st *sbStream)) {
		s.mu.Lock()
		if s.run != run || !s.running {
			s.mu.Unlock()
			return
		}
		change(&s.stream)
		queue := !s.pending
		s.pending = true
		s.mu.Unlock()
		if queue {
			fyne.Do(func() { s.sync(run) })
		}
	}
	return app.Callbacks{
		Token: func(text string) {
			update(func(st *sbStream) {
				st.text.WriteString(text)
				st.tokens++
			})
		},
		Progress: func(picture, step, steps int, preview string) {
			var img image.Image
			if preview != "" {
				img, _ = app.ReadPicture(preview) // small; a preview that fails is skipped
				os.Remove(preview)
			}
			update(func(st *sbStream) {
				st.drawing, st.picture, st.step, st.steps = true, picture, step, steps
				if img != nil {
					st.previewImg = img
				}
			})
		},
		Picture: func(index int, path string) {
			// Decoded here, before the result is moved to the history.
			img, err := app.ReadPicture(path)
			update(func(st *sbStream) {
				st.text.WriteString(app.StoryImageMarker)
				st.pictures = append(st.pictures, path)
				if err == nil {
					st.images[len(st.pictures)-1] = img
				}
				st.drawing, st.previewImg = false, nil
			})
		},
		Done: func(entry app.Entry) {
			h := s.e.studio.History()
			images := sbReadPictures(h, entry.Pictures)
			fyne.Do(func() {
				if !s.finish(run, fmt.Sprintf("done in %.1f s · %d pictures · %d tokens", entry.Seconds, len(entry.Pictures), s.streamTokens())) {
					return
				}
				s.progress.bar.SetValue(1)
				if s.e.added != nil {
					s.e.added(entry)
				}
				s.show(entry, h, images)
			})
		},
		Failed: streamFailed(s.e.win, func(msg string) bool { return s.finish(run, msg) },
			"cancelled; the text so far is kept above but not saved", "the storyboard failed"),
	}
}

func (s *storyboardScreen) streamTokens() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stream.tokens
}

// finish ends run (UI goroutine): what was written stays on screen, the
// picture being drawn goes. It returns false if run is not current.
func (s *storyboardScreen) finish(run int, msg string) bool {
	s.mu.Lock()
	if s.run != run || !s.running {
		s.mu.Unlock()
		return false
	}
	s.running, s.job, s.pending = false, nil, false
	parts, images := s.streamParts()
	s.mu.Unlock()
	s.preview = nil
	s.setCards(parts, images, nil)
	if len(s.views) == 0 {
		s.empty.SetText("The story's text and pictures appear here, in order, as the model writes them.")
	}
	s.generate.Enable()
	s.cancel.Disable()
	s.progress.end(msg)
	return true
}

// streamParts is the story written so far and its pictures (s.mu held).
func (s *storyboardScreen) streamParts() ([]app.StoryPart, map[int]image.Image) {
	st := &s.stream
	images := make(map[int]image.Image, len(st.images))
	for k, v := range st.images {
		images[k] = v
	}
	return app.ParseStory(st.text.String(), st.pictures), images
}

// sync redraws the cards from the stream (UI goroutine).
func (s *storyboardScreen) sync(run int) {
	s.mu.Lock()
	if s.run != run || !s.running {
		s.mu.Unlock()
		return
	}
	s.pending = false
	parts, images := s.streamParts()
	st := &s.stream
	drawing, picture, step, steps, prev, tokens := st.drawing, st.picture, st.step, st.steps, st.previewImg, st.tokens
	s.mu.Unlock()

	var preview *storyPicture
	if drawing {
		if s.preview == nil {
			s.preview = newStoryPicture(nil, "", nil)
		}
		s.preview.caption.SetText(fmt.Sprintf("Picture %d · drawing, step %d/%d", picture+1, step, steps))
		s.preview.setImage(prev, "the preview appears after the first step")
		preview = s.preview
		s.progress.step(picture, step, steps)
	} else {
		s.preview = nil
		if limit := s.maxTokens(); limit > 0 {
			s.progress.bar.SetValue(float64(tokens) / float64(limit))
		}
		s.progress.label.SetText(fmt.Sprintf("writing · %d tokens", tokens))
	}
	s.setCards(parts, images, preview)
}

func (s *storyboardScreen) maxTokens() int {
	n, _ := strconv.Atoi(strings.TrimSpace(s.tokens.Text))
	return n
}

// setCards makes the card list show parts (and the picture being drawn at
// the end), reusing the cards that still fit.
func (s *storyboardScreen) setCards(parts []app.StoryPart, images map[int]image.Image, preview *storyPicture) {
	follow := s.atBottom()
	same := 0
	for same < len(parts) && same < len(s.views) && sbSameKind(s.views[same].part, parts[same]) {
		same++
	}
	changed := same != len(s.views) || same != len(parts)
	s.views = s.views[:same]
	for i := 0; i < same; i++ {
		v := &s.views[i]
		p := parts[i]
		if v.text != nil && v.part.Text != p.Text {
			v.text.SetText(app.CleanText(p.Text))
		}
		if v.pic != nil && images != nil && images[p.Index] != nil && v.pic.img.Image != images[p.Index] {
			v.pic.setImage(images[p.Index], "")
		}
		v.part = p
	}
	for _, p := range parts[same:] {
		s.views = append(s.views, s.newCard(p, images))
	}
	objs := make([]fyne.CanvasObject, 0, len(s.views)+2)
	for _, v := range s.views {
		objs = append(objs, v.obj)
	}
	if preview != nil {
		objs = append(objs, preview)
	}
	if len(objs) == 0 {
		objs = append(objs, s.empty)
	}
	if changed || len(objs) != len(s.cards.Objects) || (len(objs) > 0 && objs[len(objs)-1] != s.cards.Objects[len(s.cards.Objects)-1]) {
		s.cards.Objects = objs
		s.cards.Refresh()
	}
	if follow {
		s.scroll.ScrollToBottom()
	}
}

// atBottom tells whether the list shows its end (so new cards keep in view).
func (s *storyboardScreen) atBottom() bool {
	return s.scroll.Offset.Y+s.scroll.Size().Height >= s.scroll.Content.MinSize().Height-40
}

func sbSameKind(a, b app.StoryPart) bool {
	if a.IsPicture() || b.IsPicture() {
		return a.IsPicture() && b.IsPicture() && a.Index == b.Index
	}
	return a.Think == b.Think
}

// newCard makes the card of one part.
func (s *storyboardScreen) newCard(p app.StoryPart, images map[int]image.Image) sbCard {
	if p.IsPicture() {
		img := images[p.Index]
		pc := newStoryPicture(img, fmt.Sprintf("Picture %d", p.Index+1), s.zoom)
		if img == nil {
			pc.setImage(nil, "the picture could not be read")
		}
		return sbCard{part: p, obj: pc, pic: pc}
	}
	l := widget.NewLabel(app.CleanText(p.Text))
	l.Wrapping = fyne.TextWrapWord
	l.Selectable = true
	var body fyne.CanvasObject = l
	if p.Think {
		l.Importance = widget.LowImportance
		l.TextStyle = fyne.TextStyle{Italic: true}
		title := widget.NewLabelWithStyle("Thinking", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
		title.Importance = widget.LowImportance
		body = container.NewVBox(title, l)
	}
	bg := canvas.NewRectangle(theme.Color(theme.ColorNameInputBackground))
	bg.CornerRadius = theme.InputRadiusSize()
	return sbCard{part: p, obj: container.NewStack(bg, body), text: l}
}

// zoom opens a picture in a window-sized, zoomable view.
func (s *storyboardScreen) zoom(img image.Image, title string) {
	iv := NewImageView(nil, "")
	iv.SetImage(img)
	hint := widget.NewLabel("Scroll to zoom, drag to move, double-click to fit.")
	hint.Importance = widget.LowImportance
	d := dialog.NewCustom(title, "Close", container.NewBorder(nil, hint, nil, nil, iv), s.e.win)
	size := s.e.win.Canvas().Size()
	d.Resize(fyne.NewSize(size.Width*0.9, size.Height*0.9))
	d.Show()
}

// show puts a finished storyboard on screen.
func (s *storyboardScreen) show(e app.Entry, h *app.History, images map[int]image.Image) {
	s.preview = nil
	s.setCards(app.StoryParts(e), images, nil)
	if len(s.views) == 0 {
		s.empty.SetText("The model wrote nothing.")
	}
	s.exportMD.Enable()
	s.exportHTML.Enable()
	s.scroll.ScrollToTop()
	s.entry, s.history = &e, h // last: tests wait for it
}

// sbReadPictures decodes an entry's pictures from the history (call it off
// the UI goroutine); pictures that cannot be read are missing from the map.
func sbReadPictures(h *app.History, names []string) map[int]image.Image {
	out := map[int]image.Image{}
	for k, n := range names {
		if img, err := app.ReadPicture(h.Path(n)); err == nil {
			out[k] = img
		}
	}
	return out
}

// load fills the fields from a history storyboard and shows it again;
// Generate then writes it again with the same seed.
func (s *storyboardScreen) load(e app.Entry) {
	s.Cancel()
	r := e.Request
	s.base = r
	s.prompt.SetText(r.Prompt)
	s.think.SetChecked(r.Think)
	s.steps.SetText(strconv.Itoa(sbOr(r.Steps, sbSteps)))
	s.cfg.SetText(sbFormat(sbOrF(r.CFGScale, sbCFG)))
	s.imgCFG.SetText(sbFormat(sbOrF(r.ImgCFGScale, sbImgCFG)))
	s.tokens.SetText(strconv.Itoa(sbOr(r.MaxNewTokens, sbTokens)))
	s.seed.SetText(strconv.FormatInt(r.Seed, 10))
	if r.Width > 0 && r.Height > 0 {
		s.selectSize(r.Width, r.Height)
	}
	h := s.e.studio.History()
	var inputs []string
	for k, name := range e.Inputs {
		p := h.Path(name)
		if k < len(r.Images) {
			if _, err := os.Stat(r.Images[k]); err == nil {
				p = r.Images[k]
			}
		}
		inputs = append(inputs, p)
	}
	s.setInputs(inputs)
	sbSetVisible(s.message, false, s.left)
	s.mu.Lock()
	s.run++ // older callbacks no longer draw here
	s.running, s.job = false, nil
	s.mu.Unlock()
	s.generate.Enable()
	s.cancel.Disable()
	s.progress.bar.SetValue(1)
	s.progress.end(fmt.Sprintf("from the history · %s", e.Created.Format("2006-01-02 15:04")))
	go func() {
		images := sbReadPictures(h, e.Pictures)
		fyne.Do(func() { s.show(e, h, images) })
	}()
}

// selectSize selects the preset of a size, adding it when no preset has it.
func (s *storyboardScreen) selectSize(w, h int) {
	for label, sz := range s.sizes {
		if sz == [2]int{w, h} {
			s.aspect.SetSelected(label)
			return
		}
	}
	label := fmt.Sprintf("%d×%d  (from the history)", w, h)
	s.sizes[label] = [2]int{w, h}
	s.aspect.SetOptions(append(s.aspect.Options, label))
	s.aspect.SetSelected(label)
}

// askExport asks where to export the storyboard shown.
func (s *storyboardScreen) askExport(kind string) {
	if s.entry == nil {
		return
	}
	d := dialog.NewFileSave(func(w fyne.URIWriteCloser, err error) {
		if err != nil {
			dialog.ShowError(err, s.e.win)
			return
		}
		if w == nil {
			return // cancelled
		}
		path := w.URI().Path()
		w.Close()
		s.export(kind, path, true)
	}, s.e.win)
	d.SetFileName(fmt.Sprintf("storyboard-%s.%s", s.entry.ID, kind))
	d.SetFilter(storage.NewExtensionFileFilter([]string{"." + kind}))
	d.Show()
}

// export writes the storyboard shown to path (off the UI goroutine). The
// save dialog has already created path empty; a failed export removes that
// empty file again when made is set.
func (s *storyboardScreen) export(kind, path string, made bool) {
	if s.entry == nil {
		return
	}
	e, h := *s.entry, s.history
	s.exported.SetText("exporting…")
	go func() {
		var err error
		if kind == "md" {
			err = app.ExportMarkdown(e, h, path)
		} else {
			err = app.ExportHTML(e, h, path)
		}
		if err != nil && made {
			if fi, serr := os.Stat(path); serr == nil && fi.Mode().IsRegular() && fi.Size() == 0 {
				os.Remove(path)
			}
		}
		fyne.Do(func() {
			if err != nil {
				s.exported.SetText("")
				dialog.ShowError(fmt.Errorf("the storyboard could not be exported: %w", err), s.e.win)
				return
			}
			s.exported.SetText("Exported to " + path)
		})
	}()
}

// storyPicture is a picture card: the picture fitted in a fixed height with
// a caption; a tap opens it zoomable.
type storyPicture struct {
	widget.BaseWidget
	img         *canvas.Image
	placeholder *widget.Label
	caption     *widget.Label
	bg          *canvas.Rectangle
	onTap       func(image.Image, string)
}

func newStoryPicture(img image.Image, caption string, onTap func(image.Image, string)) *storyPicture {
	p := &storyPicture{onTap: onTap}
	p.img = canvas.NewImageFromImage(img)
	p.img.FillMode = canvas.ImageFillContain
	p.img.ScaleMode = canvas.ImageScaleSmooth
	p.img.SetMinSize(fyne.NewSize(160, sbPictureHeight))
	p.placeholder = widget.NewLabel("")
	p.placeholder.Alignment = fyne.TextAlignCenter
	p.placeholder.Importance = widget.LowImportance
	p.placeholder.Hidden = img != nil
	p.caption = widget.NewLabel(caption)
	p.caption.Alignment = fyne.TextAlignCenter
	p.caption.Importance = widget.LowImportance
	p.bg = canvas.NewRectangle(color.Transparent)
	p.ExtendBaseWidget(p)
	return p
}

// setImage shows img, or the placeholder text while there is none.
func (p *storyPicture) setImage(img image.Image, placeholder string) {
	p.img.Image = img
	p.placeholder.SetText(placeholder)
	p.placeholder.Hidden = img != nil
	p.img.Refresh()
	p.placeholder.Refresh()
}

// Tapped opens the picture zoomable.
func (p *storyPicture) Tapped(*fyne.PointEvent) {
	if p.onTap != nil && p.img.Image != nil {
		p.onTap(p.img.Image, p.caption.Text)
	}
}

func (p *storyPicture) CreateRenderer() fyne.WidgetRenderer {
	return widget.NewSimpleRenderer(container.NewBorder(nil, p.caption, nil, nil,
		container.NewStack(p.bg, p.img, container.NewCenter(p.placeholder))))
}

// sbOpenPicture asks for a picture file.
func sbOpenPicture(win fyne.Window, chosen func(path string)) {
	d := dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
		if err != nil {
			dialog.ShowError(err, win)
			return
		}
		if r == nil {
			return
		}
		path := r.URI().Path()
		r.Close()
		chosen(path)
	}, win)
	d.SetFilter(storage.NewExtensionFileFilter([]string{".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".PNG", ".JPG", ".JPEG", ".WEBP", ".BMP", ".GIF"}))
	d.Show()
}

// sbSetVisible shows or hides o and lays its parent out again, so the lines
// around it move (the test driver, unlike the desktop one, does not notice
// by itself).
func sbSetVisible(o fyne.CanvasObject, visible bool, parent *fyne.Container) {
	if o.Visible() == visible {
		return
	}
	if visible {
		o.Show()
	} else {
		o.Hide()
	}
	if parent != nil {
		parent.Refresh()
	}
}

// sbHint is a muted line of help.
func sbHint(text string) *widget.Label {
	l := widget.NewLabel(text)
	l.Importance = widget.LowImportance
	l.Wrapping = fyne.TextWrapWord
	return l
}

func sbEntry(text string) *widget.Entry {
	e := widget.NewEntry()
	e.SetText(text)
	return e
}

// sbInt reads an integer field in [lo, hi].
func sbInt(e *widget.Entry, name string, lo, hi int) (int, error) {
	v, err := strconv.Atoi(strings.TrimSpace(e.Text))
	if err != nil || v < lo || v > hi {
		return 0, fmt.Errorf("%s must be a whole number from %d to %d, not %q.", name, lo, hi, e.Text)
	}
	return v, nil
}

// sbFloat reads a number field in [lo, hi].
func sbFloat(e *widget.Entry, name string, lo, hi float64) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimSpace(e.Text), 64)
	if err != nil || v < lo || v > hi {
		return 0, fmt.Errorf("%s must be a number from %g to %g, not %q.", name, lo, hi, e.Text)
	}
	return v, nil
}

func sbFormat(v float64) string {
	s := strconv.FormatFloat(v, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}

func sbOr(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

func sbOrF(p *float64, def float64) float64 {
	if p == nil {
		return def
	}
	return *p
}
