package app

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sensenova/studio/inference/protocol"
)

// The test binary doubles as a fake engine when SENSENOVA_FAKE_ENGINE is set:
// it speaks the protocol with canned answers so the supervisor can be tested
// without a model (the real engine is tested end to end elsewhere).
func TestMain(m *testing.M) {
	if os.Getenv("SENSENOVA_FAKE_ENGINE") != "" {
		fakeEngine()
		return
	}
	os.Exit(m.Run())
}

func fakeEngine() {
	out := json.NewEncoder(os.Stdout)
	var mu sync.Mutex
	emit := func(ev protocol.Event) {
		mu.Lock()
		defer mu.Unlock()
		out.Encode(ev)
	}
	emit(protocol.Event{Event: protocol.EventHello, Version: "fake", SessionDir: os.TempDir()})
	cancels := map[string]chan struct{}{}
	loads := 0
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		req, err := protocol.DecodeRequest(sc.Bytes())
		if err != nil {
			emit(protocol.Event{ID: req.ID, Event: protocol.EventError, Code: protocol.CodeBadRequest, Message: err.Error()})
			continue
		}
		switch req.Op {
		case protocol.OpLoad:
			loads++
			emit(protocol.Event{ID: req.ID, Event: protocol.EventLoaded, Model: &protocol.ModelInfo{Dir: req.ModelDir, Layers: loads}})
		case protocol.OpShutdown:
			return
		case protocol.OpCancel:
			mu.Lock()
			if c, ok := cancels[req.Target]; ok {
				close(c)
				delete(cancels, req.Target)
			}
			mu.Unlock()
		case protocol.OpTextImage:
			switch req.Prompt {
			case "crash":
				os.Exit(3)
			case "slow":
				c := make(chan struct{})
				mu.Lock()
				cancels[req.ID] = c
				mu.Unlock()
				go func(id string) {
					for step := 1; ; step++ {
						select {
						case <-c:
							emit(protocol.Event{ID: id, Event: protocol.EventError, Code: protocol.CodeCancelled, Message: "cancelled"})
							return
						case <-time.After(10 * time.Millisecond):
							emit(protocol.Event{ID: id, Event: protocol.EventProgress, Step: step, Steps: 1000})
						}
					}
				}(req.ID)
			default:
				for step := 1; step <= 3; step++ {
					emit(protocol.Event{ID: req.ID, Event: protocol.EventProgress, Step: step, Steps: 3})
				}
				emit(protocol.Event{ID: req.ID, Event: protocol.EventDone, Result: &protocol.Result{Text: req.Prompt}})
			}
		}
	}
}

func startFake(t *testing.T, statuses chan<- EngineStatus) *Engine {
	t.Helper()
	return startFakeWith(t, statuses, 0)
}

func startFakeWith(t *testing.T, statuses chan<- EngineStatus, maxRestarts int) *Engine {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("SENSENOVA_FAKE_ENGINE", "1")
	e, err := StartEngine(context.Background(), EngineOptions{
		Binary:      exe,
		MaxRestarts: maxRestarts,
		OnStatus: func(s EngineStatus) {
			if statuses != nil {
				select {
				case statuses <- s:
				default:
				}
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e
}

func wait(t *testing.T, j *Job) protocol.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ev, err := j.Wait(ctx)
	if err != nil {
		t.Fatalf("job %s: %v", j.ID, err)
	}
	return ev
}

func TestEngineRoutesEventsToJobs(t *testing.T) {
	e := startFake(t, nil)
	if e.Status().State != EngineReady || e.Status().Version != "fake" {
		t.Fatalf("status %+v", e.Status())
	}
	var mu sync.Mutex
	steps := map[string]int{}
	var jobs []*Job
	for _, p := range []string{"a", "b", "c"} {
		j, err := e.Submit(protocol.Request{Op: protocol.OpTextImage, Prompt: p}, func(ev protocol.Event) {
			if ev.Event == protocol.EventProgress {
				mu.Lock()
				steps[ev.ID]++
				mu.Unlock()
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		jobs = append(jobs, j)
	}
	for i, j := range jobs {
		ev := wait(t, j)
		if ev.Event != protocol.EventDone || ev.Result.Text != []string{"a", "b", "c"}[i] {
			t.Errorf("job %d: final %+v", i, ev)
		}
		mu.Lock()
		if steps[j.ID] != 3 {
			t.Errorf("job %d saw %d progress events, want 3", i, steps[j.ID])
		}
		mu.Unlock()
	}
}

func TestEngineCancel(t *testing.T) {
	e := startFake(t, nil)
	j, err := e.Submit(protocol.Request{Op: protocol.OpTextImage, Prompt: "slow"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	j.Cancel()
	if ev := wait(t, j); ev.Event != protocol.EventError || ev.Code != protocol.CodeCancelled {
		t.Errorf("final %+v, want a cancelled error", ev)
	}
}

func TestEngineRestartsAfterCrashAndReloads(t *testing.T) {
	statuses := make(chan EngineStatus, 32)
	e := startFake(t, statuses)
	if ev := wait(t, mustSubmit(t, e, protocol.Request{Op: protocol.OpLoad, ModelDir: "/models/x"})); ev.Event != protocol.EventLoaded {
		t.Fatalf("load: %+v", ev)
	}
	ev := wait(t, mustSubmit(t, e, protocol.Request{Op: protocol.OpTextImage, Prompt: "crash"}))
	if ev.Event != protocol.EventError || ev.Code != "engine_stopped" || !strings.Contains(ev.Message, "stopped unexpectedly") {
		t.Fatalf("crashed job: %+v", ev)
	}
	// The supervisor says so, restarts the engine and reloads the model.
	deadline := time.After(20 * time.Second)
	sawRestarting := false
	for ready := false; !ready; {
		select {
		case s := <-statuses:
			sawRestarting = sawRestarting || s.State == EngineRestarting
			ready = sawRestarting && s.State == EngineReady
		case <-deadline:
			t.Fatalf("engine not ready again; status %+v", e.Status())
		}
	}
	ev = wait(t, mustSubmit(t, e, protocol.Request{Op: protocol.OpTextImage, Prompt: "after"}))
	if ev.Event != protocol.EventDone || ev.Result.Text != "after" {
		t.Errorf("after restart: %+v", ev)
	}
	// The replayed load ran in the new process before "after" (requests are
	// in order): a fresh load there is the process's second.
	if ev := wait(t, mustSubmit(t, e, protocol.Request{Op: protocol.OpLoad, ModelDir: "/models/x"})); ev.Model == nil || ev.Model.Layers != 2 {
		t.Errorf("the model was not reloaded after the restart: %+v", ev)
	}
}

func TestEngineGivesUpAfterRepeatedCrashes(t *testing.T) {
	statuses := make(chan EngineStatus, 64)
	e := startFakeWith(t, statuses, 2)
	for i := 0; i < 3; i++ {
		deadline := time.Now().Add(20 * time.Second)
		var j *Job
		var err error
		for time.Now().Before(deadline) {
			if j, err = e.Submit(protocol.Request{Op: protocol.OpTextImage, Prompt: "crash"}, nil); err == nil {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err != nil {
			t.Fatalf("crash %d: %v", i, err)
		}
		wait(t, j)
	}
	deadline := time.After(20 * time.Second)
	for e.Status().State != EngineStopped {
		select {
		case <-statuses:
		case <-deadline:
			t.Fatalf("status %+v, want stopped", e.Status())
		}
	}
	if !strings.Contains(e.Status().Message, "not restarted again") {
		t.Errorf("message %q", e.Status().Message)
	}
	if _, err := e.Submit(protocol.Request{Op: protocol.OpTextImage, Prompt: "x"}, nil); err != ErrEngineStopped {
		t.Errorf("submit to a stopped engine: %v", err)
	}
}

func mustSubmit(t *testing.T, e *Engine, req protocol.Request) *Job {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		j, err := e.Submit(req, nil)
		if err == nil {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("submit %s: %v", req.Op, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
