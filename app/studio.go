package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"io"
	"path/filepath"
	"sync"

	"github.com/sensenova/studio/inference/checkpoint"
	"github.com/sensenova/studio/inference/imageproc"
	"github.com/sensenova/studio/inference/protocol"
	"github.com/sensenova/studio/inference/record"
)

// StudioOptions configure NewStudio.
type StudioOptions struct {
	// SettingsPath is the settings file (DefaultSettingsPath when empty).
	SettingsPath string
	// Engine is the engine executable and EngineFallback the one started
	// when Engine cannot start (both from FindEngines when Engine is
	// empty); EngineArgs are extra arguments of `sensenova serve`.
	Engine         string
	EngineFallback string
	EngineArgs     []string
	// Log receives the engine's log.
	Log io.Writer
	// OnStatus is told of every engine or model change; it is called from
	// background goroutines and must not block.
	OnStatus func(StudioStatus)
}

// StudioStatus is what the window's status line shows.
type StudioStatus struct {
	Engine EngineStatus
	// Model is the loaded model, nil while none is.
	Model *protocol.ModelInfo
	// Loading is true while a model loads; LoadError says why the last load
	// failed.
	Loading   bool
	LoadError string
}

// Studio is what the window works with: the settings, the engine process,
// the loaded model and the history. Its methods are safe to call from any
// goroutine and never block on the engine.
type Studio struct {
	opts    StudioOptions
	engine  *Engine
	history *History

	mu       sync.Mutex
	settings Settings
	status   StudioStatus
}

// NewStudio reads the settings, opens the history, starts the engine and
// loads the configured model (the built-in demo model when none is set).
func NewStudio(ctx context.Context, opts StudioOptions) (*Studio, error) {
	if opts.SettingsPath == "" {
		p, err := DefaultSettingsPath()
		if err != nil {
			return nil, err
		}
		opts.SettingsPath = p
	}
	settings, err := LoadSettings(opts.SettingsPath)
	if err != nil {
		return nil, err
	}
	s := &Studio{opts: opts, settings: settings}
	dir := settings.OutputDir
	if dir == "" {
		if dir, err = DefaultHistoryDir(); err != nil {
			return nil, err
		}
	}
	if s.history, err = OpenHistory(dir); err != nil {
		return nil, err
	}
	bins := EngineBinaries{Preferred: opts.Engine, Fallback: opts.EngineFallback}
	if bins.Preferred == "" {
		if bins, err = FindEngines(); err != nil {
			return nil, err
		}
	}
	s.engine, err = StartEngine(ctx, EngineOptions{
		Binary: bins.Preferred, Fallback: bins.Fallback, Args: opts.EngineArgs, Log: opts.Log,
		OnStatus: func(es EngineStatus) {
			s.mu.Lock()
			s.status.Engine = es
			if es.State != EngineReady {
				s.status.Model = nil
			}
			st := s.status
			s.mu.Unlock()
			s.notify(st)
		},
	})
	if err != nil {
		return nil, err
	}
	s.LoadModel(settings.ModelDir)
	return s, nil
}

func (s *Studio) notify(st StudioStatus) {
	if s.opts.OnStatus != nil {
		s.opts.OnStatus(st)
	}
}

// Status returns the current status.
func (s *Studio) Status() StudioStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.status
}

// Settings returns a copy of the settings.
func (s *Studio) Settings() Settings {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.settings
}

// History is the results folder.
func (s *Studio) History() *History {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.history
}

// SettingsPath is the settings file.
func (s *Studio) SettingsPath() string { return s.opts.SettingsPath }

// SetGPUOverride saves the memory override ("auto" or "": the preset) and
// reloads the model with it.
func (s *Studio) SetGPUOverride(mode string, maxMemoryGiB float64) error {
	if mode == "auto" {
		mode, maxMemoryGiB = "", 0
	}
	if err := s.updateSettings(func(st *Settings) { st.VRAMMode, st.MaxMemoryGiB = mode, maxMemoryGiB }); err != nil {
		return err
	}
	s.LoadModel(s.Settings().ModelDir)
	return nil
}

// Engine is the engine process.
func (s *Studio) Engine() *Engine { return s.engine }

// ValidateModelDir checks that dir is a SenseNova-U1 checkpoint folder
// (config, every tensor's header; no weights are read) and returns a
// sentence describing it.
func ValidateModelDir(dir string) (string, error) {
	ck, err := checkpoint.OpenHeaders(dir)
	if err != nil {
		if errors.Is(err, checkpoint.ErrNotSenseNova) {
			return "", fmt.Errorf("%s is not a SenseNova-U1 model folder: %w", dir, err)
		}
		return "", err
	}
	defer ck.Close()
	pc := ck.ParamCounts()
	cfg := ck.Config()
	return fmt.Sprintf("%s: %d layers, hidden %d, %s head, %.2fB parameters",
		filepath.Base(dir), cfg.LLM.NumHiddenLayers, cfg.LLM.HiddenSize, cfg.HeadType(), float64(pc.Total)/1e9), nil
}

// SetModelDir validates and saves a new model folder ("" = the demo model)
// and loads it.
func (s *Studio) SetModelDir(dir string) error {
	if dir != "" {
		if _, err := ValidateModelDir(dir); err != nil {
			return err
		}
	}
	if err := s.updateSettings(func(st *Settings) { st.ModelDir = dir }); err != nil {
		return err
	}
	s.LoadModel(dir)
	return nil
}

// SetOutputDir moves the history to another folder (new results go there;
// earlier ones stay where they are).
func (s *Studio) SetOutputDir(dir string) error {
	h, err := OpenHistory(dir)
	if err != nil {
		return err
	}
	if err := s.updateSettings(func(st *Settings) { st.OutputDir = dir }); err != nil {
		return err
	}
	s.mu.Lock()
	s.history = h
	s.mu.Unlock()
	return nil
}

// SetTheme saves the theme choice.
func (s *Studio) SetTheme(theme string) error {
	return s.updateSettings(func(st *Settings) { st.Theme = theme })
}

func (s *Studio) updateSettings(change func(*Settings)) error {
	s.mu.Lock()
	next := s.settings
	change(&next)
	s.mu.Unlock()
	if err := next.Save(s.opts.SettingsPath); err != nil {
		return err
	}
	s.mu.Lock()
	s.settings = next
	s.mu.Unlock()
	return nil
}

// LoadModel asks the engine to load a model folder ("" = the demo model);
// the outcome arrives through OnStatus.
func (s *Studio) LoadModel(dir string) {
	s.mu.Lock()
	s.status.Loading, s.status.LoadError, s.status.Model = true, "", nil
	st := s.status
	s.mu.Unlock()
	s.notify(st)
	set := s.Settings()
	_, err := s.engine.Submit(protocol.Request{Op: protocol.OpLoad, ModelDir: dir, VRAMMode: set.VRAMMode, MaxMemoryGiB: set.MaxMemoryGiB}, func(ev protocol.Event) {
		s.mu.Lock()
		switch ev.Event {
		case protocol.EventLoaded:
			s.status.Loading, s.status.Model = false, ev.Model
		case protocol.EventError:
			s.status.Loading, s.status.LoadError = false, ev.Message
		}
		st := s.status
		s.mu.Unlock()
		s.notify(st)
	})
	if err != nil {
		s.mu.Lock()
		s.status.Loading, s.status.LoadError = false, err.Error()
		st := s.status
		s.mu.Unlock()
		s.notify(st)
	}
}

// Callbacks receive a task's progress; each is optional and called from a
// background goroutine.
type Callbacks struct {
	Progress func(picture, step, steps int, preview string)
	Token    func(text string)
	Picture  func(index int, path string)
	// Done receives the history entry the result was saved as.
	Done func(Entry)
	// Failed receives the error code and a sentence.
	Failed func(code, message string)
}

// Run sends a task (t2i, edit, interleave, vqa) and saves its result to
// the history when it is done.
func (s *Studio) Run(req protocol.Request, cb Callbacks) (*Job, error) {
	switch req.Op {
	case protocol.OpTextImage, protocol.OpEdit, protocol.OpInterleave, protocol.OpVQA:
	default:
		return nil, fmt.Errorf("studio: %q is not a task", req.Op)
	}
	return s.engine.Submit(req, func(ev protocol.Event) {
		switch ev.Event {
		case protocol.EventProgress:
			if cb.Progress != nil {
				cb.Progress(ev.Picture, ev.Step, ev.Steps, ev.Preview)
			}
		case protocol.EventToken:
			if cb.Token != nil {
				cb.Token(ev.Text)
			}
		case protocol.EventPicture:
			if cb.Picture != nil {
				cb.Picture(ev.Picture, ev.Path)
			}
		case protocol.EventError:
			if cb.Failed != nil {
				cb.Failed(ev.Code, ev.Message)
			}
		case protocol.EventDone:
			entry, err := s.save(req, ev.Result)
			switch {
			case err != nil && cb.Failed != nil:
				cb.Failed("save_failed", err.Error())
			case err == nil && cb.Done != nil:
				cb.Done(entry)
			}
		}
	})
}

// save adds a finished result to the history.
func (s *Studio) save(req protocol.Request, res *protocol.Result) (Entry, error) {
	if res == nil {
		return Entry{}, errors.New("the engine reported no result")
	}
	st := s.Status()
	model := ""
	if st.Model != nil {
		model = filepath.Base(st.Model.Dir)
	}
	prompt := req.Prompt
	if req.Op == protocol.OpVQA {
		prompt = req.Question
	}
	e := Entry{
		Task: req.Op, Prompt: prompt, ThinkText: res.ThinkText, Answer: res.Answer, Text: res.Text,
		Seconds: res.Seconds, Model: model, Request: req, Parameters: json.RawMessage(res.Parameters),
	}
	return s.History().Add(e, res.Pictures, req.Images)
}

// Rerun sends an entry's request again (same seed, same settings).
func (s *Studio) Rerun(e Entry, cb Callbacks) (*Job, error) {
	req := e.Request
	req.ID = ""
	return s.Run(req, cb)
}

// GPU asks the engine what it detected and the preset it chose (the JSON of
// `sensenova gpu`).
func (s *Studio) GPU(ctx context.Context) (json.RawMessage, error) {
	j, err := s.engine.Submit(protocol.Request{Op: protocol.OpGPU}, nil)
	if err != nil {
		return nil, err
	}
	ev, err := j.Wait(ctx)
	if err != nil {
		return nil, err
	}
	if ev.Event != protocol.EventGPU {
		return nil, fmt.Errorf("gpu: %s", ev.Message)
	}
	return ev.GPU, nil
}

// Close stops the engine.
func (s *Studio) Close() { s.engine.Close() }

// ReadPicture decodes a picture file (PNG, JPEG, WebP, BMP, GIF) for
// display, with an error naming the file when it cannot.
func ReadPicture(path string) (image.Image, error) {
	p, err := imageproc.Load(path)
	if err != nil {
		return nil, err
	}
	return p.RGB(imageproc.CompositeRGBAOnWhite), nil
}

// PictureSeed returns the seed recorded in a picture made by this app or
// the command line (false for any other picture).
func PictureSeed(path string) (int64, bool) {
	p, err := record.FromPNG(path)
	if err != nil {
		return 0, false
	}
	return p.Seed, true
}
