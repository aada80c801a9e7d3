package ui

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/sensenova/studio/app"
	"github.com/sensenova/studio/inference/protocol"
)

// The Ask screen (visual question answering, PIPELINES.md 6): a picture
// (opened or dropped) and a question go in; the answer streams into a
// read-only panel token by token.

// Defaults of the upstream VQA script (PIPELINES.md 6.1), the README's
// recommended sampling settings, and the demo model's smaller budget.
const (
	askTokens      = 1024
	askDemoTokens  = 256
	askTemperature = 0.6
	askTopP        = 0.95
	askTopK        = 20
	askRepetition  = 1.05
)

// askScreen is the Ask tab.
type askScreen struct {
	e       *env
	content fyne.CanvasObject

	view                                      *ImageView
	picName                                   *widget.Label
	picture                                   string // the picture's path ("" while none)
	question                                  *actionEntry
	tokens                                    *widget.Entry
	sample                                    *widget.Check
	temperature, topP, topK, repetition, seed *widget.Entry
	note, message                             *widget.Label
	ask, cancel                               *widget.Button
	status                                    *widget.Label
	busy                                      *widget.ProgressBarInfinite
	answer                                    *widget.Label
	hint                                      *widget.Label
	answerScroll                              *container.Scroll
	top, answerBox                            *fyne.Container // lines come and go in these
	copyAnswer                                *widget.Button

	base protocol.Request // fields of a loaded request the screen does not show
	demo bool
	set  bool // setDemo has run

	mu       sync.Mutex // guards what callbacks touch
	run      int
	running  bool
	job      *app.Job
	streamed strings.Builder // the answer's pieces, joined
	count    int             // pieces received
	started  time.Time
	pending  bool

	entry *app.Entry // the last answer saved (nil while none)
}

func newAskScreen(e *env) *askScreen {
	s := &askScreen{e: e}
	s.view = NewImageView(nil, "Open a picture, or drop one here.")
	s.picName = widget.NewLabel("No picture")
	s.picName.Truncation = fyne.TextTruncateEllipsis
	open := widget.NewButtonWithIcon("Open picture…", theme.FolderOpenIcon(), func() {
		sbOpenPicture(s.e.win, s.setPicture)
	})
	left := container.NewBorder(container.NewBorder(nil, nil, open, nil, s.picName), nil, nil, nil, s.view)

	s.question = newActionEntry(s, true)
	s.question.Wrapping = fyne.TextWrapWord
	s.question.SetPlaceHolder("Ask about the picture, e.g. What is happening here? Describe it in detail.")
	s.question.SetMinRowsVisible(3)
	s.tokens = sbEntry(strconv.Itoa(askTokens))

	s.temperature = sbEntry(sbFormat(askTemperature))
	s.topP = sbEntry(sbFormat(askTopP))
	s.topK = sbEntry(strconv.Itoa(askTopK))
	s.repetition = sbEntry(sbFormat(askRepetition))
	s.seed = sbEntry("")
	s.seed.SetPlaceHolder("random")
	s.sample = widget.NewCheck("Sample (the upstream README's settings) instead of the most likely words", func(on bool) { s.enableSampling(on) })
	s.enableSampling(false)
	sampling := widget.NewForm(
		widget.NewFormItem("Temperature", s.temperature),
		widget.NewFormItem("Top p", s.topP),
		widget.NewFormItem("Top k", s.topK),
		widget.NewFormItem("Repetition penalty", s.repetition),
		widget.NewFormItem("Seed", s.seed),
	)
	options := widget.NewAccordion(widget.NewAccordionItem("Sampling", container.NewVBox(s.sample, sampling)))

	s.note = hiddenMessage(widget.LowImportance)
	s.message = hiddenMessage(widget.DangerImportance)

	s.ask = widget.NewButtonWithIcon("Ask", theme.MailSendIcon(), s.Start)
	s.ask.Importance = widget.HighImportance
	s.cancel = widget.NewButtonWithIcon("Cancel", theme.CancelIcon(), s.Cancel)
	s.cancel.Disable()
	s.status = widget.NewLabel("Ready.")
	s.status.Truncation = fyne.TextTruncateEllipsis
	s.busy = widget.NewProgressBarInfinite()
	s.busy.Stop()
	s.busy.Hide()

	s.answer = widget.NewLabel("")
	s.answer.Wrapping = fyne.TextWrapWord
	s.answer.Selectable = true
	s.hint = widget.NewLabel("The answer appears here as the model writes it.")
	s.hint.Importance = widget.LowImportance
	s.hint.Wrapping = fyne.TextWrapWord
	bg := canvas.NewRectangle(theme.Color(theme.ColorNameInputBackground))
	bg.CornerRadius = theme.InputRadiusSize()
	s.answerBox = container.NewVBox(s.hint, s.answer)
	s.answerScroll = container.NewVScroll(s.answerBox)
	s.copyAnswer = widget.NewButtonWithIcon("Copy answer", theme.ContentCopyIcon(), func() {
		s.e.app.Clipboard().SetContent(s.answer.Text)
		s.status.SetText("The answer was copied.")
	})
	s.copyAnswer.Disable()

	s.top = container.NewVBox(
		widget.NewLabelWithStyle("Question", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		s.question,
		widget.NewForm(widget.NewFormItem("Max answer tokens", s.tokens)),
		options,
		s.note,
		s.message,
		container.NewGridWithColumns(2, s.ask, s.cancel),
		container.NewStack(s.busy, s.status),
		widget.NewLabelWithStyle("Answer", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
	)
	right := container.NewBorder(s.top, container.NewBorder(nil, nil, s.copyAnswer, nil, sbHint("Ctrl+Enter asks, Esc cancels.")), nil, nil,
		container.NewStack(bg, container.NewPadded(s.answerScroll)))
	split := container.NewHSplit(container.NewPadded(left), container.NewPadded(right))
	split.Offset = 0.5
	s.content = split

	s.setDemo(false)
	e.onModel(s.setDemo)
	return s
}

func (s *askScreen) Content() fyne.CanvasObject { return s.content }

func (s *askScreen) enableSampling(on bool) {
	for _, e := range []*widget.Entry{s.temperature, s.topP, s.topK, s.repetition, s.seed} {
		if on {
			e.Enable()
		} else {
			e.Disable()
		}
	}
}

// setDemo switches the answer budget between the real and the demo model
// unless the person changed it.
func (s *askScreen) setDemo(demo bool) {
	if s.set && demo == s.demo {
		return
	}
	old := askTokens
	if s.demo {
		old = askDemoTokens
	}
	if s.tokens.Text == strconv.Itoa(old) {
		if demo {
			s.tokens.SetText(strconv.Itoa(askDemoTokens))
		} else {
			s.tokens.SetText(strconv.Itoa(askTokens))
		}
	}
	if demo {
		s.note.SetText(fmt.Sprintf("Demo model: answers are limited to %d tokens so they take a moment on the CPU; its answers are made-up sentences of a tiny grammar that do not describe the picture.", askDemoTokens))
	}
	sbSetVisible(s.note, demo, s.top)
	s.set, s.demo = true, demo // last: tests wait for it
}

// setPicture opens a picture (decoded off the UI goroutine) to ask about.
func (s *askScreen) setPicture(path string) {
	go func() {
		img, err := app.ReadPicture(path)
		fyne.Do(func() {
			if err != nil {
				s.showMessage(fmt.Sprintf("%s cannot be opened as a picture: %v", filepath.Base(path), err))
				return
			}
			sbSetVisible(s.message, false, s.top)
			s.picture = path
			s.view.View().Reset()
			s.view.SetImage(img)
			b := img.Bounds()
			s.picName.SetText(fmt.Sprintf("%s · %d×%d", filepath.Base(path), b.Dx(), b.Dy()))
		})
	}()
}

// handleDrop asks about a dropped picture (the first file dropped).
func (s *askScreen) handleDrop(uris []fyne.URI) {
	for _, u := range uris {
		if u.Scheme() == "file" {
			s.setPicture(u.Path())
			return
		}
	}
	s.showMessage("Drop a picture file (PNG, JPEG, WebP, BMP or GIF).")
}

func (s *askScreen) showMessage(msg string) {
	s.message.SetText(msg)
	sbSetVisible(s.message, true, s.top)
}

// request reads and checks the fields.
func (s *askScreen) request() (protocol.Request, error) {
	req := s.base
	req.ID, req.Op = "", protocol.OpVQA
	req.Prompt = ""
	if s.picture == "" {
		return req, errors.New("Open a picture to ask about (Open picture…, or drop one on the window).")
	}
	if _, err := os.Stat(s.picture); err != nil {
		return req, fmt.Errorf("The picture %s cannot be read any more (%v); open it again.", s.picture, err)
	}
	req.Images = []string{s.picture}
	req.Question = s.question.Text
	if strings.TrimSpace(req.Question) == "" {
		return req, errors.New("Type a question about the picture first.")
	}
	if n := utf8.RuneCountInString(req.Question); n > sbMaxPromptRune {
		return req, fmt.Errorf("The question is %d characters long; keep it under %d.", n, sbMaxPromptRune)
	}
	var err error
	if req.MaxNewTokens, err = sbInt(s.tokens, "Max answer tokens", 1, 65536); err != nil {
		return req, err
	}
	req.DoSample, req.Temperature, req.TopP, req.TopK, req.RepetitionPenalty, req.Seed = false, nil, nil, 0, nil, 0
	if s.sample.Checked {
		req.DoSample = true
		t, err := sbFloat(s.temperature, "Temperature", 0.01, 10)
		if err != nil {
			return req, err
		}
		p, err := sbFloat(s.topP, "Top p", 0.01, 1)
		if err != nil {
			return req, err
		}
		if req.TopK, err = sbInt(s.topK, "Top k", 1, 100000); err != nil {
			return req, err
		}
		r, err := sbFloat(s.repetition, "Repetition penalty", 0.01, 10)
		if err != nil {
			return req, err
		}
		req.Temperature, req.TopP, req.RepetitionPenalty = &t, &p, &r
		if strings.TrimSpace(s.seed.Text) == "" {
			// A fresh seed each time, recorded so the answer can be re-run.
			req.Seed = 1 + rand.Int64N(1<<31-1)
		} else {
			seed, err := sbInt(s.seed, "Seed", 0, 1<<62)
			if err != nil {
				return req, err
			}
			req.Seed = int64(seed)
		}
	}
	return req, nil
}

// Start asks the question (Ctrl+Enter).
func (s *askScreen) Start() {
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
	sbSetVisible(s.message, false, s.top)
	s.mu.Lock()
	s.run++
	run := s.run
	s.running, s.job, s.pending, s.count = true, nil, false, 0
	s.streamed.Reset()
	s.started = time.Now()
	s.mu.Unlock()

	s.entry = nil
	s.answer.SetText("")
	s.hint.SetText("Reading the picture…")
	sbSetVisible(s.hint, true, s.answerBox)
	s.copyAnswer.Disable()
	s.status.SetText("")
	s.busy.Show()
	s.busy.Start()
	s.ask.Disable()
	s.cancel.Enable()

	job, err := s.e.studio.Run(req, s.callbacks(run))
	if err != nil {
		s.finish(run, fmt.Sprintf("Could not start: %v", err))
		dialog.ShowError(fmt.Errorf("the question could not be sent: %w", err), s.e.win)
		return
	}
	s.mu.Lock()
	if s.run == run && s.running {
		s.job = job
	}
	s.mu.Unlock()
}

// Cancel stops the answer (Esc); what was written so far stays.
func (s *askScreen) Cancel() {
	s.mu.Lock()
	job := s.job
	s.mu.Unlock()
	if job != nil {
		job.Cancel()
		s.status.SetText("cancelling…")
	}
}

func (s *askScreen) callbacks(run int) app.Callbacks {
	return app.Callbacks{
		Token: func(text string) {
			s.mu.Lock()
			if s.run != run || !s.running {
				s.mu.Unlock()
				return
			}
			s.streamed.WriteString(text)
			s.count++
			queue := !s.pending
			s.pending = true
			s.mu.Unlock()
			if queue {
				fyne.Do(func() { s.sync(run) })
			}
		},
		Done: func(entry app.Entry) {
			fyne.Do(func() {
				if !s.finish(run, "") {
					return
				}
				s.answer.SetText(app.CleanText(entry.Answer))
				s.hint.SetText("The model gave no answer.")
				sbSetVisible(s.hint, entry.Answer == "", s.answerBox)
				s.copyAnswer.Enable()
				s.status.SetText(fmt.Sprintf("answered in %.1f s · %d tokens · saved to the history", entry.Seconds, s.pieces()))
				if s.e.added != nil {
					s.e.added(entry)
				}
				s.entry = &entry // last: tests wait for it
			})
		},
		Failed: streamFailed(s.e.win, func(msg string) bool { return s.finish(run, msg) },
			"cancelled; the answer so far is kept above but not saved", "the question could not be answered"),
	}
}

// streamFailed is the Failed callback of a run whose text streams into
// the screen (Ask, Storyboard): finish ends the run with a status line and
// reports whether it was the current one; a cancelled run keeps its text
// and says cancelled, a failed one also shows the engine's message,
// prefixed by what, in a dialog.
func streamFailed(win fyne.Window, finish func(status string) bool, cancelled, what string) func(code, message string) {
	return func(code, message string) {
		fyne.Do(func() {
			if code == protocol.CodeCancelled {
				finish(cancelled)
				return
			}
			if finish("failed: " + message) {
				dialog.ShowError(fmt.Errorf("%s: %s", what, message), win)
			}
		})
	}
}

func (s *askScreen) pieces() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.count
}

// sync shows the answer streamed so far (UI goroutine).
func (s *askScreen) sync(run int) {
	s.mu.Lock()
	if s.run != run || !s.running {
		s.mu.Unlock()
		return
	}
	s.pending = false
	text, n, since := s.streamed.String(), s.count, time.Since(s.started)
	s.mu.Unlock()
	follow := s.answerScroll.Offset.Y+s.answerScroll.Size().Height >= s.answerScroll.Content.MinSize().Height-40
	s.answer.SetText(app.CleanText(text))
	sbSetVisible(s.hint, false, s.answerBox)
	status := fmt.Sprintf("answering · %d tokens", n)
	if sec := since.Seconds(); sec > 0.5 {
		status += fmt.Sprintf(" · %.0f tokens/s", float64(n)/sec)
	}
	s.status.SetText(status)
	if follow {
		s.answerScroll.ScrollToBottom()
	}
}

// finish ends run (UI goroutine); false if it is not the current run.
func (s *askScreen) finish(run int, msg string) bool {
	s.mu.Lock()
	if s.run != run || !s.running {
		s.mu.Unlock()
		return false
	}
	s.running, s.job, s.pending = false, nil, false
	text := s.streamed.String()
	s.mu.Unlock()
	s.answer.SetText(app.CleanText(text))
	if text == "" {
		s.hint.SetText("The answer appears here as the model writes it.")
		sbSetVisible(s.hint, true, s.answerBox)
	} else {
		sbSetVisible(s.hint, false, s.answerBox)
		s.copyAnswer.Enable()
	}
	s.busy.Stop()
	s.busy.Hide()
	s.ask.Enable()
	s.cancel.Disable()
	s.status.SetText(msg)
	return true
}

// load fills the screen from a history question: its picture, question and
// settings, and shows its answer; Ask then asks it again the same way.
func (s *askScreen) load(e app.Entry) {
	s.Cancel()
	r := e.Request
	s.base = r
	s.question.SetText(r.Question)
	if r.Question == "" {
		s.question.SetText(e.Prompt)
	}
	s.tokens.SetText(strconv.Itoa(sbOr(r.MaxNewTokens, askTokens)))
	s.sample.SetChecked(r.DoSample)
	if r.DoSample {
		s.temperature.SetText(sbFormat(sbOrF(r.Temperature, askTemperature)))
		s.topP.SetText(sbFormat(sbOrF(r.TopP, askTopP)))
		s.topK.SetText(strconv.Itoa(sbOr(r.TopK, askTopK)))
		s.repetition.SetText(sbFormat(sbOrF(r.RepetitionPenalty, askRepetition)))
		s.seed.SetText(strconv.FormatInt(r.Seed, 10))
	}
	h := s.e.studio.History()
	switch {
	case len(r.Images) > 0 && askFileExists(r.Images[0]):
		s.setPicture(r.Images[0])
	case len(e.Inputs) > 0:
		s.setPicture(h.Path(e.Inputs[0]))
	}
	s.mu.Lock()
	s.run++
	s.running, s.job = false, nil
	s.mu.Unlock()
	sbSetVisible(s.message, false, s.top)
	s.busy.Stop()
	s.busy.Hide()
	s.ask.Enable()
	s.cancel.Disable()
	s.answer.SetText(app.CleanText(e.Answer))
	sbSetVisible(s.hint, e.Answer == "", s.answerBox)
	s.copyAnswer.Enable()
	s.status.SetText(fmt.Sprintf("from the history · %s", e.Created.Format("2006-01-02 15:04")))
	s.entry = &e
}

func askFileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
