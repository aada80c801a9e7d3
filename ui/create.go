package ui

// The Create and Think screens: text-to-image, optionally with the model's
// reasoning first. One type serves both; think=true adds the reasoning panel
// and sets think in the request.

import (
	"errors"
	"fmt"
	"image"
	"io"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/sensenova/studio/app"
	"github.com/sensenova/studio/inference/protocol"
)

// t2iSize is one entry of the size list.
type t2iSize struct {
	label string
	w, h  int
}

// t2iBuckets are the trained resolution buckets (PIPELINES.md 3.2), the
// first being the default.
var t2iBuckets = []t2iSize{
	{"1:1 · 2048 × 2048", 2048, 2048},
	{"16:9 · 2720 × 1536", 2720, 1536},
	{"9:16 · 1536 × 2720", 1536, 2720},
	{"3:2 · 2496 × 1664", 2496, 1664},
	{"2:3 · 1664 × 2496", 1664, 2496},
	{"4:3 · 2368 × 1760", 2368, 1760},
	{"3:4 · 1760 × 2368", 1760, 2368},
	{"1:2 · 1440 × 2880", 1440, 2880},
	{"2:1 · 2880 × 1440", 2880, 1440},
	{"1:3 · 1152 × 3456", 1152, 3456},
	{"3:1 · 3456 × 1152", 3456, 1152},
}

// t2iDemoSizes are offered first on the demo model, whose pictures at the
// trained sizes take minutes on the CPU; the second is its default.
var t2iDemoSizes = []t2iSize{
	{"1:1 · 256 × 256 (quick, demo)", 256, 256},
	{"1:1 · 512 × 512 (quick, demo)", 512, 512},
}

const (
	t2iCustomLabel = "Custom size…"
	// t2iSideStep, t2iMinSide and t2iMaxSide bound a side: the engine
	// works on 32-pixel patches up to 8192 pixels.
	t2iSideStep = 32
	t2iMinSide  = 32
	t2iMaxSide  = 8192
	// Defaults of the upstream script (PIPELINES.md 3.1) and of the demo.
	t2iSteps     = 50
	t2iDemoSteps = 12
	t2iCFG       = 4.0
	t2iShift     = 3.0
	t2iMaxSteps  = 1000
	// t2iPreviewSize bounds the longer side of the step previews.
	t2iPreviewSize = 256
	// t2iMaxPrompt bounds a prompt's length in characters.
	t2iMaxPrompt = 20000
	// t2iRecentPrompts is how many earlier prompts the history list offers.
	t2iRecentPrompts = 30
)

var t2iNorms = []string{"none", "global", "channel", "cfg_zero_star"}

// createScreen is the Create tab (text-to-image) or, with think, the Think
// tab (the model reasons in text first; the text streams into a panel and
// stays with the picture).
type createScreen struct {
	env   *env
	think bool

	prompt  *actionEntry
	recent  *widget.Select
	size    *widget.Select
	width   *actionEntry
	height  *actionEntry
	custom  *fyne.Container // the width × height row
	customL *widget.Label
	steps   *actionEntry
	cfg     *actionEntry
	norm    *widget.Select
	shift   *actionEntry
	seed    *actionEntry
	lock    *widget.Check
	note    *widget.Label // why the demo model has small defaults
	problem *widget.Label // what is wrong with the input or the run

	thinkEvery time.Duration // the most often the reasoning panel changes

	generate *widget.Button
	cancel   *widget.Button
	progress *taskProgress
	image    *ImageView
	info     *widget.Label
	saveAs   *widget.Button
	openDir  *widget.Button

	thinkText *thinkPanel // nil on the Create tab

	content    fyne.CanvasObject
	left       *fyne.Container // the form column
	leftScroll *container.Scroll

	// State owned by the UI goroutine.
	demo         bool
	sizes        []t2iSize
	recentFull   map[string]string // list label → full prompt
	base         protocol.Request  // fields of a loaded entry not on the form
	cur          *t2iRun           // the run in progress, nil when idle
	entry        *app.Entry        // the result shown
	shown        image.Image       // its picture
	thinkUpdates int               // times the reasoning panel was updated while streaming (tests)
	previews     int               // previews shown (tests)

	// showMu orders what the image and reasoning panel show between a run's
	// previews and its end (fyne.Do runs in place under the test driver).
	showMu sync.Mutex
}

// t2iRun is one Generate: its job and what its callbacks gather.
type t2iRun struct {
	job     *app.Job
	req     protocol.Request
	started time.Time

	// Owned by the UI goroutine (under showMu where noted).
	finished   bool // under showMu
	cancelling bool
	step       int
	steps      int

	mu           sync.Mutex
	text         strings.Builder
	tokens       int
	flushPending bool
	preview      string // newest preview not decoded yet
	decoding     bool
}

func newCreateScreen(e *env, think bool) *createScreen {
	s := &createScreen{env: e, think: think, recentFull: map[string]string{}, thinkEvery: thinkEvery}

	s.prompt = newActionEntry(s, true)
	s.prompt.SetMinRowsVisible(5)
	if think {
		s.prompt.SetPlaceHolder("Describe the picture; the model reasons about it first, then draws.")
	} else {
		s.prompt.SetPlaceHolder("Describe the picture you want.")
	}
	s.prompt.OnChanged = func(string) { s.clearProblem() }
	s.recent = widget.NewSelect(nil, s.pickRecent)
	s.recent.PlaceHolder = "Recent prompts"

	s.size = widget.NewSelect(nil, s.sizeChanged)
	s.width = newActionEntry(s, false)
	s.height = newActionEntry(s, false)
	s.width.OnChanged = func(string) { s.clearProblem() }
	s.height.OnChanged = func(string) { s.clearProblem() }
	s.customL = widget.NewLabel("Width × height")
	s.custom = container.NewBorder(nil, nil, nil, nil,
		container.NewGridWithColumns(3, s.width, widget.NewLabelWithStyle("×", fyne.TextAlignCenter, fyne.TextStyle{}), s.height))
	s.steps = newActionEntry(s, false)
	s.cfg = newActionEntry(s, false)
	s.cfg.SetText(formatFloat(t2iCFG))
	s.norm = widget.NewSelect(t2iNorms, nil)
	s.norm.SetSelected("none")
	s.shift = newActionEntry(s, false)
	s.shift.SetText(formatFloat(t2iShift))
	for _, en := range []*actionEntry{s.steps, s.cfg, s.shift} {
		en.OnChanged = func(string) { s.clearProblem() }
	}
	s.seed = newActionEntry(s, false)
	s.seed.SetText(strconv.FormatInt(newSeed(), 10))
	s.seed.OnChanged = func(string) { s.clearProblem() }
	s.lock = widget.NewCheck("Lock", nil)
	dice := widget.NewButtonWithIcon("", theme.ViewRefreshIcon(), func() {
		s.seed.SetText(strconv.FormatInt(newSeed(), 10))
	})
	s.note = hiddenMessage(widget.LowImportance)
	s.problem = hiddenMessage(widget.DangerImportance)

	s.generate = widget.NewButtonWithIcon("Generate", theme.MediaPlayIcon(), s.Start)
	s.generate.Importance = widget.HighImportance
	s.cancel = widget.NewButtonWithIcon("Cancel", theme.CancelIcon(), s.Cancel)
	s.cancel.Disable()

	s.setDemo(false, true)

	seedRow := container.NewBorder(nil, nil, nil, container.NewHBox(s.lock, dice), s.seed)
	form := container.New(layout.NewFormLayout(),
		widget.NewLabel("Size"), s.size,
		s.customL, s.custom,
		widget.NewLabel("Steps"), s.steps,
		widget.NewLabel("CFG scale"), s.cfg,
		widget.NewLabel("CFG norm"), s.norm,
		widget.NewLabel("Timestep shift"), s.shift,
		widget.NewLabel("Seed"), seedRow,
	)
	promptHead := container.NewBorder(nil, nil, widget.NewLabelWithStyle("Prompt", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), nil, s.recent)
	keys := widget.NewLabel("Ctrl+Enter generates, Esc cancels.")
	keys.Importance = widget.LowImportance
	s.left = container.NewVBox(
		promptHead, s.prompt, form, s.note,
		container.NewGridWithColumns(2, s.generate, s.cancel),
		s.problem, keys,
	)

	s.progress = newTaskProgress()
	s.image = NewImageView(nil, "Type a prompt and press Generate (Ctrl+Enter).\nThe picture appears here as it forms.")
	s.info = widget.NewLabel("")
	s.info.Truncation = fyne.TextTruncateEllipsis
	s.saveAs = widget.NewButtonWithIcon("Save as…", theme.DocumentSaveIcon(), s.savePicture)
	s.openDir = widget.NewButtonWithIcon("Open folder", theme.FolderOpenIcon(), s.openFolder)
	s.saveAs.Disable()
	s.openDir.Disable()
	zoom := container.NewHBox(
		widget.NewButtonWithIcon("", theme.ZoomOutIcon(), s.image.ZoomOut),
		widget.NewButtonWithIcon("", theme.ZoomFitIcon(), s.image.View().Reset),
		widget.NewButtonWithIcon("", theme.ZoomInIcon(), s.image.ZoomIn),
	)
	bottom := container.NewBorder(nil, nil, nil, container.NewHBox(zoom, s.saveAs, s.openDir), s.info)
	var picture fyne.CanvasObject = s.image
	if think {
		s.thinkText = newThinkPanel()
		panel := container.NewBorder(widget.NewLabelWithStyle("Reasoning", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), nil, nil, nil, s.thinkText.scroll)
		split := container.NewHSplit(s.image, panel)
		split.Offset = 0.6
		picture = split
	}
	right := container.NewBorder(s.progress.box, bottom, nil, nil, picture)
	s.leftScroll = container.NewVScroll(container.NewPadded(s.left))
	main := container.NewHSplit(s.leftScroll, container.NewPadded(right))
	main.Offset = 0.3
	s.content = main

	if e != nil && e.studio != nil {
		s.refreshRecent()
		e.onModel(func(demo bool) { s.setDemo(demo, false) })
	}
	return s
}

func (s *createScreen) Content() fyne.CanvasObject { return s.content }

// setDemo offers the sizes and defaults of the demo model (or of a real
// one). Fields the user changed keep their values.
func (s *createScreen) setDemo(demo, first bool) {
	oldSize, oldSteps := s.defaults()
	untouchedSize := first || s.size.Selected == oldSize.label
	untouchedSteps := first || strings.TrimSpace(s.steps.Text) == strconv.Itoa(oldSteps)
	s.demo = demo
	s.sizes = nil
	if demo {
		s.sizes = append(s.sizes, t2iDemoSizes...)
	}
	s.sizes = append(s.sizes, t2iBuckets...)
	var opts []string
	for _, z := range s.sizes {
		opts = append(opts, z.label)
	}
	s.size.SetOptions(append(opts, t2iCustomLabel))
	newSize, newSteps := s.defaults()
	if _, ok := s.sizeOption(s.size.Selected); !ok && s.size.Selected != t2iCustomLabel {
		untouchedSize = true
	}
	if untouchedSize {
		s.size.SetSelected(newSize.label)
	}
	if untouchedSteps {
		s.steps.SetText(strconv.Itoa(newSteps))
	}
	if demo {
		s.note.SetText(fmt.Sprintf("Demo model: %d × %d and %d steps by default, so a picture takes seconds on the CPU; the trained sizes work too but take minutes.", newSize.w, newSize.h, newSteps))
		s.note.Show()
	} else {
		s.note.Hide()
	}
	s.relayout()
}

// defaults are the default size and steps for the current model.
func (s *createScreen) defaults() (t2iSize, int) {
	if s.demo {
		return t2iDemoSizes[1], t2iDemoSteps
	}
	return t2iBuckets[0], t2iSteps
}

func (s *createScreen) sizeOption(label string) (t2iSize, bool) {
	for _, z := range s.sizes {
		if z.label == label {
			return z, true
		}
	}
	return t2iSize{}, false
}

// sizeChanged shows the width and height fields for a custom size, filled
// with the size chosen before so they start valid.
func (s *createScreen) sizeChanged(label string) {
	s.clearProblem()
	if label == t2iCustomLabel {
		if strings.TrimSpace(s.width.Text) == "" || strings.TrimSpace(s.height.Text) == "" {
			z, _ := s.defaults()
			s.width.SetText(strconv.Itoa(z.w))
			s.height.SetText(strconv.Itoa(z.h))
		}
		s.customL.Show()
		s.custom.Show()
		s.relayout()
		return
	}
	if z, ok := s.sizeOption(label); ok {
		s.width.SetText(strconv.Itoa(z.w))
		s.height.SetText(strconv.Itoa(z.h))
	}
	s.customL.Hide()
	s.custom.Hide()
	s.relayout()
}

// selectSize picks the list entry of w×h, or Custom with the fields set.
func (s *createScreen) selectSize(w, h int) {
	for _, z := range s.sizes {
		if z.w == w && z.h == h {
			s.size.SetSelected(z.label)
			return
		}
	}
	s.width.SetText(strconv.Itoa(w))
	s.height.SetText(strconv.Itoa(h))
	s.size.SetSelected(t2iCustomLabel)
}

// pickRecent puts an earlier prompt back into the prompt box.
func (s *createScreen) pickRecent(label string) {
	if label == "" {
		return
	}
	if p, ok := s.recentFull[label]; ok {
		s.prompt.SetText(p)
	}
	s.recent.ClearSelected()
}

// refreshRecent reads the history's prompts (newest first, each once) off
// the UI goroutine.
func (s *createScreen) refreshRecent() {
	h := s.env.studio.History()
	go func() {
		entries, _, err := h.List()
		if err != nil {
			return
		}
		var prompts []string
		for _, e := range entries {
			if e.Task == protocol.OpTextImage {
				prompts = append(prompts, e.Prompt)
			}
		}
		fyne.Do(func() { s.setRecent(prompts) })
	}()
}

// setRecent fills the recent-prompts list.
func (s *createScreen) setRecent(prompts []string) {
	seen := map[string]bool{}
	full := map[string]string{}
	var labels []string
	for _, p := range prompts {
		p = strings.TrimSpace(p)
		if p == "" || seen[p] {
			continue
		}
		seen[p] = true
		label := oneLine(p, 60)
		for k := 2; full[label] != ""; k++ {
			label = fmt.Sprintf("%s (%d)", oneLine(p, 55), k)
		}
		full[label] = p
		labels = append(labels, label)
		if len(labels) == t2iRecentPrompts {
			break
		}
	}
	s.recentFull = full
	s.recent.SetOptions(labels)
}

// oneLine shortens text to one line of at most n characters.
func oneLine(text string, n int) string {
	text = strings.Join(strings.Fields(text), " ")
	r := []rune(text)
	if len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return text
}

// request reads the form into a request, or says what to fix.
func (s *createScreen) request() (protocol.Request, error) {
	req := s.base
	req.ID, req.Images, req.Question = "", nil, ""
	req.Op = protocol.OpTextImage
	req.Think = s.think
	req.PreviewSize = t2iPreviewSize

	prompt := strings.TrimSpace(s.prompt.Text)
	switch {
	case prompt == "":
		return req, errors.New("Type a prompt first: describe the picture you want.")
	case len([]rune(prompt)) > t2iMaxPrompt:
		return req, fmt.Errorf("The prompt is %d characters long; shorten it to at most %d.", len([]rune(prompt)), t2iMaxPrompt)
	}
	req.Prompt = prompt

	if s.size.Selected == t2iCustomLabel {
		w, err := checkSide("Width", s.width.Text)
		if err != nil {
			return req, err
		}
		h, err := checkSide("Height", s.height.Text)
		if err != nil {
			return req, err
		}
		req.Width, req.Height = w, h
	} else {
		z, ok := s.sizeOption(s.size.Selected)
		if !ok {
			return req, errors.New("Choose a size.")
		}
		req.Width, req.Height = z.w, z.h
	}

	steps, err := strconv.Atoi(strings.TrimSpace(s.steps.Text))
	if err != nil || steps < 1 || steps > t2iMaxSteps {
		return req, fmt.Errorf("Steps %q: type a whole number from 1 to %d (%d is the usual).", s.steps.Text, t2iMaxSteps, t2iSteps)
	}
	req.Steps = steps
	cfg, err := strconv.ParseFloat(strings.TrimSpace(s.cfg.Text), 64)
	if err != nil || cfg < 0 || cfg > 50 {
		return req, fmt.Errorf("CFG scale %q: type a number from 0 to 50 (4 is the usual; 1 or less turns guidance off).", s.cfg.Text)
	}
	req.CFGScale = &cfg
	req.CFGNorm = s.norm.Selected
	shift, err := strconv.ParseFloat(strings.TrimSpace(s.shift.Text), 64)
	if err != nil || shift <= 0 || shift > 100 {
		return req, fmt.Errorf("Timestep shift %q: type a number above 0 and at most 100 (3 is the usual).", s.shift.Text)
	}
	req.TimestepShift = &shift
	if s.lock.Checked {
		seed, err := strconv.ParseInt(strings.TrimSpace(s.seed.Text), 10, 64)
		if err != nil || seed < 0 {
			return req, fmt.Errorf("Seed %q: type a whole number of 0 or more, or untick Lock for a random one.", s.seed.Text)
		}
		req.Seed = seed
	} else {
		req.Seed = newSeed()
	}
	return req, nil
}

// checkSide reads a custom width or height: a multiple of 32 from 32 to
// 8192, with a message naming the nearest valid values.
func checkSide(name, text string) (int, error) {
	text = strings.TrimSpace(text)
	v, err := strconv.Atoi(text)
	switch {
	case err != nil:
		return 0, fmt.Errorf("%s %q is not a whole number: type a multiple of %d from %d to %d, such as 1024.", name, text, t2iSideStep, t2iMinSide, t2iMaxSide)
	case v < t2iMinSide:
		return 0, fmt.Errorf("%s %d is too small: the smallest is %d.", name, v, t2iMinSide)
	case v > t2iMaxSide:
		return 0, fmt.Errorf("%s %d is too large: the largest is %d.", name, v, t2iMaxSide)
	case v%t2iSideStep != 0:
		lo := v / t2iSideStep * t2iSideStep
		hi := lo + t2iSideStep
		if lo < t2iMinSide {
			return 0, fmt.Errorf("%s %d is not a multiple of %d: use %d.", name, v, t2iSideStep, hi)
		}
		if hi > t2iMaxSide {
			return 0, fmt.Errorf("%s %d is not a multiple of %d: use %d.", name, v, t2iSideStep, lo)
		}
		return 0, fmt.Errorf("%s %d is not a multiple of %d: the nearest valid values are %d and %d.", name, v, t2iSideStep, lo, hi)
	}
	return v, nil
}

// newSeed is a random seed that is easy to read and type.
func newSeed() int64 { return 1 + rand.Int64N(1<<31-1) }

func formatFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

func (s *createScreen) showProblem(msg string) {
	s.problem.SetText(msg)
	s.problem.Show()
	s.relayout()
}

func (s *createScreen) clearProblem() {
	if s.problem != nil && !s.problem.Hidden {
		s.problem.SetText("")
		s.problem.Hide()
		s.relayout()
	}
}

// relayout lays the form column out again after a row was shown or hidden
// (the desktop driver notices this by itself; the test driver, which
// renders the screenshots, does not).
func (s *createScreen) relayout() {
	if s.left == nil {
		return
	}
	s.leftScroll.Refresh()
	s.left.Refresh()
}

// progressChanged lays the progress row out again after its label changed
// length (for the same reason).
func (s *createScreen) progressChanged() { s.progress.box.Refresh() }

// Start runs Generate (Ctrl+Enter).
func (s *createScreen) Start() {
	if s.cur != nil {
		return
	}
	req, err := s.request()
	if err != nil {
		s.showProblem(err.Error())
		return
	}
	s.clearProblem()
	s.seed.SetText(strconv.FormatInt(req.Seed, 10))
	r := &t2iRun{req: req, started: time.Now()}
	s.showMu.Lock()
	s.cur = r
	s.showMu.Unlock()
	s.generate.Disable()
	s.cancel.Enable()
	if s.think {
		s.progress.begin("thinking…")
		s.thinkText.set("")
		s.thinkUpdates = 0
	} else {
		s.progress.begin("starting…")
	}
	s.progressChanged()
	s.info.SetText(fmt.Sprintf("Generating %d × %d, seed %d…", req.Width, req.Height, req.Seed))

	job, err := s.env.studio.Run(req, app.Callbacks{
		Progress: func(picture, step, steps int, preview string) {
			fyne.Do(func() { s.stepped(r, picture, step, steps) })
			if preview != "" {
				s.queuePreview(r, preview)
			}
		},
		Token: func(text string) { s.token(r, text) },
		Done: func(e app.Entry) {
			// Decode the result away from the engine's reader.
			go func() {
				var img image.Image
				var err error
				if len(e.Pictures) > 0 {
					img, err = app.ReadPicture(s.env.studio.History().Path(e.Pictures[0]))
				}
				fyne.Do(func() { s.finished(r, &e, img, err, "", "") })
			}()
		},
		Failed: func(code, message string) {
			fyne.Do(func() { s.finished(r, nil, nil, nil, code, message) })
		},
	})
	if err != nil {
		s.finished(r, nil, nil, nil, "not_sent", fmt.Sprintf("The request could not be sent: %v", err))
		return
	}
	r.job = job
}

// Cancel stops the run in progress (Esc).
func (s *createScreen) Cancel() {
	r := s.cur
	if r == nil || r.job == nil || r.cancelling {
		return
	}
	r.cancelling = true
	r.job.Cancel()
	s.cancel.Disable()
	s.progress.end("cancelling…")
	s.progressChanged()
}

// stepped shows a sampler step (UI goroutine).
func (s *createScreen) stepped(r *t2iRun, picture, step, steps int) {
	if s.cur != r || r.cancelling {
		return
	}
	r.step, r.steps = step, steps
	s.progress.step(picture, step, steps)
	s.progressChanged()
}

// queuePreview decodes the newest preview off the UI goroutine; previews
// that arrive while one is decoded replace each other, so a slow decode
// never lags behind the sampler. The client owns the files, so each is
// removed once read.
func (s *createScreen) queuePreview(r *t2iRun, path string) {
	r.mu.Lock()
	old := r.preview
	r.preview = path
	busy := r.decoding
	r.decoding = true
	r.mu.Unlock()
	if old != "" {
		os.Remove(old)
	}
	if busy {
		return
	}
	go func() {
		for {
			r.mu.Lock()
			p := r.preview
			r.preview = ""
			if p == "" {
				r.decoding = false
				r.mu.Unlock()
				return
			}
			r.mu.Unlock()
			img, err := app.ReadPicture(p)
			os.Remove(p)
			if err != nil {
				continue
			}
			fyne.Do(func() {
				s.showMu.Lock()
				defer s.showMu.Unlock()
				if s.cur == r && !r.finished {
					s.image.SetImage(img)
					s.previews++
				}
			})
		}
	}()
}

// token adds streamed reasoning text; panel updates are coalesced so a
// fast decoder never floods the UI goroutine.
func (s *createScreen) token(r *t2iRun, text string) {
	r.mu.Lock()
	r.text.WriteString(text)
	r.tokens++
	pending := r.flushPending
	r.flushPending = true
	r.mu.Unlock()
	if pending {
		return
	}
	// At most one panel update per thinkEvery: enough to read along, and
	// cheap however fast the tokens come.
	time.AfterFunc(s.thinkEvery, func() { fyne.Do(func() { s.flushThink(r) }) })
}

// thinkEvery is the most often the reasoning panel changes (a screen's
// thinkEvery; tests shorten it to see a short reasoning stream).
const thinkEvery = 50 * time.Millisecond

// flushThink shows the reasoning gathered so far (UI goroutine).
func (s *createScreen) flushThink(r *t2iRun) {
	r.mu.Lock()
	text, n := r.text.String(), r.tokens
	r.flushPending = false
	r.mu.Unlock()
	s.showMu.Lock()
	defer s.showMu.Unlock()
	if s.cur != r || r.finished || s.thinkText == nil {
		return
	}
	s.thinkText.set(text)
	s.thinkText.scroll.ScrollToBottom()
	s.thinkUpdates++
	if r.step == 0 && !r.cancelling {
		s.progress.label.SetText(fmt.Sprintf("thinking · %d tokens", n))
		s.progressChanged()
	}
}

// finished ends a run: with its history entry and picture, or with an
// error code and message (UI goroutine).
func (s *createScreen) finished(r *t2iRun, e *app.Entry, img image.Image, readErr error, code, message string) {
	s.showMu.Lock()
	if s.cur != r || r.finished {
		s.showMu.Unlock()
		return
	}
	r.finished = true
	s.cur = nil
	if e != nil {
		s.entry, s.shown = e, img
		s.image.SetImage(img)
		if s.thinkText != nil {
			s.setThinkText(e.ThinkText)
		}
	} else {
		// No result: show the previous one again instead of a half-made
		// preview.
		s.image.SetImage(s.shown)
		if s.thinkText != nil {
			if s.entry != nil {
				s.setThinkText(s.entry.ThinkText)
			} else if code == protocol.CodeCancelled {
				s.setThinkText("")
			}
		}
	}
	s.showMu.Unlock()

	s.generate.Enable()
	s.cancel.Disable()
	defer s.progressChanged()
	switch {
	case e != nil:
		n := r.req.Steps
		s.progress.bar.SetValue(1)
		s.progress.end(fmt.Sprintf("step %d/%d · done in %s", n, n, formatDuration(time.Since(r.started))))
		s.showInfo(e)
		if readErr != nil {
			s.showProblem(fmt.Sprintf("The picture was saved but cannot be shown: %v", readErr))
		}
		if s.env.added != nil {
			s.env.added(*e)
		}
		s.refreshRecent()
	case code == protocol.CodeCancelled:
		if r.steps > 0 {
			s.progress.end(fmt.Sprintf("cancelled at step %d/%d", r.step, r.steps))
		} else {
			s.progress.end("cancelled")
		}
		s.restoreInfo()
	default:
		s.progress.end("failed")
		s.showProblem(message)
		s.restoreInfo()
	}
}

func (s *createScreen) setThinkText(text string) {
	s.thinkText.set(text)
}

// thinkPanel shows the reasoning text as it grows. Fyne re-wraps a whole
// label on every change at a cost that grows with the square of its length
// (half a second for 5000 characters), so the text is split into labels of
// a few hundred characters at paragraph, sentence or word ends: only the
// last one changes while tokens arrive.
type thinkPanel struct {
	box         *fyne.Container
	scroll      *container.Scroll
	placeholder *widget.Label
	labels      []*widget.Label // the last holds the growing tail
	text        string
	frozen      int // bytes of text in every label but the last
}

const thinkChunk = 400

func newThinkPanel() *thinkPanel {
	p := &thinkPanel{placeholder: widget.NewLabel("The model's reasoning appears here while it thinks, and stays with the picture.")}
	p.placeholder.Wrapping = fyne.TextWrapWord
	p.placeholder.Importance = widget.LowImportance
	// Labels pad their text; a negative gap joins them as lines of one text.
	p.box = container.New(layout.NewCustomPaddedVBoxLayout(-2*theme.InnerPadding()), p.placeholder)
	p.scroll = container.NewVScroll(p.box)
	return p
}

// Text is the text shown.
func (p *thinkPanel) Text() string { return p.text }

// set shows text; when it extends the text shown, only the end changes.
func (p *thinkPanel) set(text string) {
	if text == p.text {
		return
	}
	if !strings.HasPrefix(text, p.text) || len(p.labels) == 0 {
		p.labels, p.frozen = nil, 0
		p.box.Objects = nil
		if text == "" {
			p.box.Objects = []fyne.CanvasObject{p.placeholder}
			p.text = ""
			p.box.Refresh()
			return
		}
		p.addLabel()
	}
	p.text = text
	tail := text[p.frozen:]
	for len(tail) > thinkChunk {
		cut := chunkEnd(tail, thinkChunk)
		p.labels[len(p.labels)-1].SetText(strings.TrimRight(tail[:cut], "\n"))
		p.frozen += cut
		tail = tail[cut:]
		p.addLabel()
	}
	p.labels[len(p.labels)-1].SetText(strings.TrimRight(tail, "\n"))
}

func (p *thinkPanel) addLabel() {
	l := widget.NewLabel("")
	l.Wrapping = fyne.TextWrapWord
	l.Selectable = true
	p.labels = append(p.labels, l)
	p.box.Add(l)
}

// chunkEnd is where to end a label within the first n bytes of s (n <
// len(s)): after the last paragraph, sentence or word end in their second
// half, else at a character boundary.
func chunkEnd(s string, n int) int {
	for _, sep := range []string{"\n", ". ", " "} {
		if i := strings.LastIndex(s[:n], sep); i >= n/2 {
			return i + len(sep)
		}
	}
	i := n
	for i > n/2 && !utf8.RuneStart(s[i]) {
		i--
	}
	return i
}

// showInfo describes the result shown.
func (s *createScreen) showInfo(e *app.Entry) {
	w, h := e.Request.Width, e.Request.Height
	name := ""
	if len(e.Pictures) > 0 {
		name = e.Pictures[0]
	}
	s.info.SetText(fmt.Sprintf("%d × %d · seed %d · %d steps · %.1f s · %s", w, h, e.Request.Seed, e.Request.Steps, e.Seconds, name))
	if name != "" {
		s.saveAs.Enable()
		s.openDir.Enable()
	}
}

func (s *createScreen) restoreInfo() {
	if s.entry != nil {
		s.showInfo(s.entry)
	} else {
		s.info.SetText("")
	}
}

// load fills the form from a history entry so Generate runs it again
// exactly (same seed, locked), and shows its picture and reasoning.
func (s *createScreen) load(e app.Entry) {
	req := e.Request
	s.base = req
	s.prompt.SetText(req.Prompt)
	w, h := req.Width, req.Height
	if w == 0 && h == 0 {
		w, h = 2048, 2048
	}
	s.selectSize(w, h)
	steps := req.Steps
	if steps == 0 {
		steps = t2iSteps
	}
	s.steps.SetText(strconv.Itoa(steps))
	cfg, shift := t2iCFG, t2iShift
	if req.CFGScale != nil {
		cfg = *req.CFGScale
	}
	if req.TimestepShift != nil {
		shift = *req.TimestepShift
	}
	s.cfg.SetText(formatFloat(cfg))
	s.shift.SetText(formatFloat(shift))
	norm := req.CFGNorm
	if norm == "" {
		norm = "none"
	}
	s.norm.SetSelected(norm)
	s.seed.SetText(strconv.FormatInt(req.Seed, 10))
	s.lock.SetChecked(true)
	s.clearProblem()
	if s.cur != nil {
		return // the running job's result will replace the picture
	}
	s.showMu.Lock()
	s.entry = &e
	if s.thinkText != nil {
		s.setThinkText(e.ThinkText)
		s.thinkText.scroll.ScrollToTop()
	}
	s.showMu.Unlock()
	s.showInfo(&e)
	if len(e.Pictures) == 0 {
		return
	}
	path := s.env.studio.History().Path(e.Pictures[0])
	go func() {
		img, err := app.ReadPicture(path)
		fyne.Do(func() {
			if err != nil {
				s.showProblem(fmt.Sprintf("The picture of this entry cannot be shown: %v", err))
				return
			}
			s.showMu.Lock()
			defer s.showMu.Unlock()
			if s.cur == nil && s.entry != nil && s.entry.ID == e.ID {
				s.shown = img
				s.image.SetImage(img)
			}
		})
	}()
}

// savePicture copies the result shown to a file the user picks.
func (s *createScreen) savePicture() {
	if s.entry == nil || len(s.entry.Pictures) == 0 {
		return
	}
	src := s.env.studio.History().Path(s.entry.Pictures[0])
	d := dialog.NewFileSave(func(w fyne.URIWriteCloser, err error) {
		if err != nil {
			dialog.ShowError(err, s.env.win)
			return
		}
		if w == nil {
			return // cancelled
		}
		defer w.Close()
		in, err := os.Open(src)
		if err == nil {
			_, err = io.Copy(w, in)
			in.Close()
		}
		if err != nil {
			dialog.ShowError(fmt.Errorf("saving %s as %s: %w", filepath.Base(src), w.URI().Path(), err), s.env.win)
		}
	}, s.env.win)
	d.SetFileName(filepath.Base(src))
	d.Show()
}

// openFolder shows the history folder in the file manager.
func (s *createScreen) openFolder() {
	dir := s.env.studio.History().Dir()
	u, err := url.Parse(storage.NewFileURI(dir).String())
	if err == nil {
		err = s.env.app.OpenURL(u)
	}
	if err != nil {
		dialog.ShowError(fmt.Errorf("opening the folder %s: %w", dir, err), s.env.win)
	}
}

// focusTarget is the prompt box, focused when the window opens.
func (s *createScreen) focusTarget() fyne.Focusable { return s.prompt }
