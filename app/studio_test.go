package app

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sensenova/studio/inference/protocol"
	"github.com/sensenova/studio/inference/record"
	"github.com/sensenova/studio/internal/enginetest"
)

// newTestStudio starts a studio on the real engine with the demo model, in
// temporary settings, history and cache folders.
func newTestStudio(t *testing.T) (*Studio, chan StudioStatus) {
	t.Helper()
	bin, err := enginetest.Build()
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	settings := Settings{OutputDir: filepath.Join(tmp, "history")}
	if err := settings.Save(filepath.Join(tmp, "settings.json")); err != nil {
		t.Fatal(err)
	}
	statuses := make(chan StudioStatus, 256)
	s, err := NewStudio(context.Background(), StudioOptions{
		SettingsPath: filepath.Join(tmp, "settings.json"),
		Engine:       bin,
		EngineArgs:   []string{"--demo_cache", filepath.Join(tmp, "cache")},
		OnStatus: func(st StudioStatus) {
			select {
			case statuses <- st:
			default:
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	waitModel(t, s, statuses)
	return s, statuses
}

func waitModel(t *testing.T, s *Studio, statuses chan StudioStatus) *protocol.ModelInfo {
	t.Helper()
	deadline := time.After(120 * time.Second)
	for {
		if st := s.Status(); st.Model != nil && !st.Loading {
			return st.Model
		} else if st.LoadError != "" {
			t.Fatalf("model load failed: %s", st.LoadError)
		}
		select {
		case <-statuses:
		case <-deadline:
			t.Fatalf("no model after 120 s: %+v", s.Status())
		}
	}
}

func runTask(t *testing.T, s *Studio, req protocol.Request) (Entry, []string) {
	t.Helper()
	var mu sync.Mutex
	var tokens []string
	done := make(chan Entry, 1)
	failed := make(chan string, 1)
	_, err := s.Run(req, Callbacks{
		Token:  func(text string) { mu.Lock(); tokens = append(tokens, text); mu.Unlock() },
		Done:   func(e Entry) { done <- e },
		Failed: func(code, msg string) { failed <- code + ": " + msg },
	})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case e := <-done:
		mu.Lock()
		defer mu.Unlock()
		return e, tokens
	case msg := <-failed:
		t.Fatalf("%s failed: %s", req.Op, msg)
	case <-time.After(120 * time.Second):
		t.Fatalf("%s: no result after 120 s", req.Op)
	}
	return Entry{}, nil
}

// TestStudioEndToEnd drives the real engine on the demo model through every
// task and checks what lands in the history.
func TestStudioEndToEnd(t *testing.T) {
	s, _ := newTestStudio(t)
	if m := s.Status().Model; !m.Demo || m.Device != "cpu" {
		t.Errorf("model %+v, want the demo model on the CPU", m)
	}
	e, _ := runTask(t, s, protocol.Request{Op: protocol.OpTextImage, Prompt: "a red fox", Width: 256, Height: 256, Steps: 4, Seed: 3})
	if len(e.Pictures) != 1 {
		t.Fatalf("t2i entry %+v", e)
	}
	rec, err := record.FromPNG(s.History().Path(e.Pictures[0]))
	if err != nil || rec.Prompt != "a red fox" || rec.Seed != 3 {
		t.Errorf("the stored picture's record: %+v, %v", rec, err)
	}
	var params record.Parameters
	if err := json.Unmarshal(e.Parameters, &params); err != nil || params.Steps != 4 {
		t.Errorf("entry parameters %s: %v", e.Parameters, err)
	}

	edit, _ := runTask(t, s, protocol.Request{Op: protocol.OpEdit, Prompt: "make it blue", Images: []string{s.History().Path(e.Pictures[0])}, Width: 256, Height: 256, Steps: 3, Seed: 4})
	if len(edit.Pictures) != 1 || len(edit.Inputs) != 1 {
		t.Errorf("edit entry %+v", edit)
	}
	ask, tokens := runTask(t, s, protocol.Request{Op: protocol.OpVQA, Question: "What is this?", Images: []string{s.History().Path(e.Pictures[0])}, MaxNewTokens: 6})
	if strings.TrimSpace(strings.Join(tokens, "")) != ask.Answer {
		t.Errorf("streamed %q, answer %q", strings.Join(tokens, ""), ask.Answer)
	}
	story, _ := runTask(t, s, protocol.Request{Op: protocol.OpInterleave, Prompt: "how to draw a cat", Width: 256, Height: 128, Steps: 2, MaxNewTokens: 8, Think: true})
	if story.Task != protocol.OpInterleave {
		t.Errorf("storyboard entry %+v", story)
	}

	// Re-running an entry gives the same picture.
	again, _ := runTask(t, s, e.Request)
	a, _ := os.ReadFile(s.History().Path(e.Pictures[0]))
	b, _ := os.ReadFile(s.History().Path(again.Pictures[0]))
	if len(a) == 0 || string(a) != string(b) {
		t.Error("re-running an entry did not give the same picture")
	}
	list, bad, err := s.History().List()
	if err != nil || bad != 0 || len(list) != 5 {
		t.Errorf("history has %d entries (%d bad, %v), want 5", len(list), bad, err)
	}
}

// TestStudioSettingsValidateModelFolder checks that a folder that is not a
// SenseNova checkpoint is refused with a clear message and not saved.
func TestStudioSettingsValidateModelFolder(t *testing.T) {
	s, _ := newTestStudio(t)
	notModel := t.TempDir()
	os.WriteFile(filepath.Join(notModel, "config.json"), []byte(`{"model_type": "llama"}`), 0o644)
	err := s.SetModelDir(notModel)
	if err == nil || !strings.Contains(err.Error(), "not a SenseNova-U1") {
		t.Errorf("SetModelDir(llama folder) = %v", err)
	}
	if s.Settings().ModelDir != "" {
		t.Error("a refused folder was saved")
	}
	if err := s.SetModelDir(filepath.Join(notModel, "missing")); err == nil {
		t.Error("a missing folder was accepted")
	}
}

// TestStudioReportsTheCPUFallback starts the studio with a CUDA engine that
// exits at once (as it does without a GPU) and the fake engine as the CPU
// engine: the studio runs, and its status says why it is on the CPU.
func TestStudioReportsTheCPUFallback(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("SENSENOVA_FAKE_ENGINE", "1")
	cuda := fakeCUDAEngine(t, `echo 'Error in initialization, please refer to "…" for details on: NoDevice'; exit 1`)
	tmp := t.TempDir()
	settings := Settings{OutputDir: filepath.Join(tmp, "history")}
	if err := settings.Save(filepath.Join(tmp, "settings.json")); err != nil {
		t.Fatal(err)
	}
	statuses := make(chan StudioStatus, 64)
	s, err := NewStudio(context.Background(), StudioOptions{
		SettingsPath: filepath.Join(tmp, "settings.json"),
		Engine:       cuda, EngineFallback: exe,
		OnStatus: func(st StudioStatus) {
			select {
			case statuses <- st:
			default:
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	waitModel(t, s, statuses)
	want := "No NVIDIA GPU was found (the driver reports no CUDA device), so the engine runs on the CPU"
	if st := s.Status(); !strings.HasPrefix(st.Engine.Fallback, want) || st.Engine.Version != "fake" {
		t.Errorf("status %+v, want the fake CPU engine and a sentence starting %q", st.Engine, want)
	}
}
