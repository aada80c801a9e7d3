package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sensenova/studio/inference/protocol"
	"github.com/sensenova/studio/inference/record"
)

// serveSession runs `sensenova serve` in-process over pipes.
type serveSession struct {
	t      *testing.T
	in     *io.PipeWriter
	events chan protocol.Event
	done   chan int
}

func startServe(t *testing.T, args ...string) *serveSession {
	t.Helper()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	s := &serveSession{t: t, in: inW, events: make(chan protocol.Event, 1024), done: make(chan int, 1)}
	go func() {
		code := Run(context.Background(), append([]string{"serve", "--session_dir", t.TempDir()}, args...), Streams{In: inR, Out: outW, Err: io.Discard})
		outW.Close()
		s.done <- code
	}()
	go func() {
		sc := bufio.NewScanner(outR)
		sc.Buffer(make([]byte, 1<<16), 1<<24)
		for sc.Scan() {
			var ev protocol.Event
			if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
				t.Errorf("engine wrote a non-JSON line %q", sc.Text())
				continue
			}
			s.events <- ev
		}
		close(s.events)
	}()
	hello := s.next()
	if hello.Event != protocol.EventHello || hello.SessionDir == "" {
		t.Fatalf("first event %+v, want hello", hello)
	}
	t.Cleanup(func() { s.send(`{"id":"bye","op":"shutdown"}`); <-s.done })
	return s
}

func (s *serveSession) send(line string) {
	s.t.Helper()
	if _, err := io.WriteString(s.in, line+"\n"); err != nil {
		s.t.Fatalf("sending %s: %v", line, err)
	}
}

func (s *serveSession) next() protocol.Event {
	s.t.Helper()
	select {
	case ev, ok := <-s.events:
		if !ok {
			s.t.Fatal("the engine closed its output")
		}
		return ev
	case <-time.After(60 * time.Second):
		s.t.Fatal("no event within 60 s")
	}
	return protocol.Event{}
}

// until collects the events of request id up to its final one.
func (s *serveSession) until(id string) (final protocol.Event, all []protocol.Event) {
	s.t.Helper()
	for {
		ev := s.next()
		if ev.ID != id {
			s.t.Fatalf("event for %q while waiting for %q: %+v", ev.ID, id, ev)
		}
		all = append(all, ev)
		switch ev.Event {
		case protocol.EventDone, protocol.EventError, protocol.EventLoaded, protocol.EventGPU:
			return ev, all
		}
	}
}

func TestServeLoadGenerateAndErrors(t *testing.T) {
	s := startServe(t)
	// A task before any model.
	s.send(`{"id":"0","op":"t2i","prompt":"x"}`)
	if ev, _ := s.until("0"); ev.Code != protocol.CodeNotLoaded {
		t.Errorf("task before load: %+v", ev)
	}
	// Bad requests are answered, the engine goes on.
	s.send(`not json`)
	if ev := s.next(); ev.Event != protocol.EventError || ev.Code != protocol.CodeBadRequest {
		t.Errorf("bad line: %+v", ev)
	}
	s.send(`{"id":"b","op":"paint"}`)
	if ev := s.next(); ev.ID != "b" || ev.Code != protocol.CodeBadRequest || !strings.Contains(ev.Message, "paint") {
		t.Errorf("unknown op: %+v", ev)
	}
	s.send(`{"id":"l0","op":"load","model_dir":"/no/such/folder"}`)
	if ev, _ := s.until("l0"); ev.Code != protocol.CodeLoadFailed || !strings.Contains(ev.Message, "/no/such/folder") {
		t.Errorf("load of a missing folder: %+v", ev)
	}

	dir := goldenPath(t, "mlphead")
	s.send(`{"id":"1","op":"load","model_dir":"` + dir + `"}`)
	ev, _ := s.until("1")
	if ev.Event != protocol.EventLoaded || ev.Model.Layers != 3 || ev.Model.Device != "cpu" || ev.Model.Demo {
		t.Fatalf("load: %+v (model %+v)", ev, ev.Model)
	}

	s.send(`{"id":"2","op":"t2i","prompt":"a red fox","width":128,"height":96,"steps":3,"seed":5,"preview_size":64}`)
	final, all := s.until("2")
	if final.Event != protocol.EventDone || len(final.Result.Pictures) != 1 {
		t.Fatalf("t2i: %+v", final)
	}
	steps := 0
	for _, ev := range all {
		if ev.Event == protocol.EventProgress {
			steps++
			if _, err := os.Stat(ev.Preview); err != nil {
				t.Errorf("preview %q of step %d: %v", ev.Preview, ev.Step, err)
			}
		}
	}
	if steps != 3 {
		t.Errorf("%d progress events, want 3", steps)
	}
	rec, err := record.FromPNG(final.Result.Pictures[0])
	if err != nil || rec.Prompt != "a red fox" || rec.Seed != 5 || rec.Steps != 3 || rec.Width != 128 {
		t.Errorf("picture record %+v, %v", rec, err)
	}

	// A bad size is the request's error, named.
	s.send(`{"id":"3","op":"t2i","prompt":"x","width":100,"height":96,"steps":1}`)
	if ev, _ := s.until("3"); ev.Code != protocol.CodeBadRequest || !strings.Contains(ev.Message, "multiple of 32") {
		t.Errorf("bad size: %+v", ev)
	}

	// VQA streams its answer.
	s.send(`{"id":"4","op":"vqa","question":"What is this?","images":["` + final.Result.Pictures[0] + `"],"max_new_tokens":5}`)
	ans, all := s.until("4")
	var streamed strings.Builder
	for _, ev := range all {
		if ev.Event == protocol.EventToken {
			streamed.WriteString(ev.Text)
		}
	}
	if ans.Event != protocol.EventDone || strings.TrimSpace(streamed.String()) != ans.Result.Answer {
		t.Errorf("vqa: final %+v, streamed %q", ans, streamed.String())
	}

	s.send(`{"id":"5","op":"unload"}`)
	if ev, _ := s.until("5"); ev.Event != protocol.EventDone {
		t.Errorf("unload: %+v", ev)
	}
	s.send(`{"id":"6","op":"t2i","prompt":"x"}`)
	if ev, _ := s.until("6"); ev.Code != protocol.CodeNotLoaded {
		t.Errorf("task after unload: %+v", ev)
	}
}

func TestServeCancelAndGPU(t *testing.T) {
	s := startServe(t)
	s.send(`{"id":"1","op":"load","model_dir":"` + goldenPath(t, "mlphead") + `"}`)
	if ev, _ := s.until("1"); ev.Event != protocol.EventLoaded {
		t.Fatalf("load: %+v", ev)
	}
	// A long run, cancelled after its first step; a queued request is
	// cancelled before it starts, and answered at once, while the long
	// run still goes on.
	s.send(`{"id":"2","op":"t2i","prompt":"slow","width":128,"height":96,"steps":500}`)
	s.send(`{"id":"3","op":"t2i","prompt":"queued","width":64,"height":64,"steps":1}`)
	s.send(`{"id":"c3","op":"cancel","target":"3"}`)
	// gpu is answered while work runs.
	s.send(`{"id":"g","op":"gpu"}`)
	sawGPU, queuedCancelled, cancelled, step := false, false, false, 0
	for !cancelled {
		ev := s.next()
		switch {
		case ev.ID == "g":
			sawGPU = ev.Event == protocol.EventGPU && strings.Contains(string(ev.GPU), "preset")
		case ev.ID == "3":
			if ev.Event != protocol.EventError || ev.Code != protocol.CodeCancelled {
				t.Errorf("queued request: %+v", ev)
			}
			queuedCancelled = true
		case ev.ID == "2" && ev.Event == protocol.EventProgress:
			step = ev.Step
			if step > 3 && !queuedCancelled {
				t.Fatalf("the cancelled queued request is not answered at step %d of the one before it", step)
			}
			if queuedCancelled && step >= 1 {
				s.send(`{"id":"c2","op":"cancel","target":"2"}`)
			}
		case ev.ID == "2" && ev.Event == protocol.EventError:
			if ev.Code != protocol.CodeCancelled {
				t.Errorf("cancelled run: %+v", ev)
			}
			cancelled = true
		}
	}
	if step > 10 {
		t.Errorf("still running at step %d after the cancel", step)
	}
	// Nothing more is said about request 3 once the worker reaches it.
	s.send(`{"id":"4","op":"t2i","prompt":"after","width":64,"height":64,"steps":1}`)
	for {
		ev := s.next()
		if ev.ID == "3" {
			t.Errorf("request 3 answered twice: %+v", ev)
		}
		if ev.ID == "4" && ev.Event != protocol.EventProgress {
			if ev.Event != protocol.EventDone {
				t.Errorf("request after the cancels: %+v", ev)
			}
			break
		}
	}
	if !sawGPU {
		t.Error("no gpu answer while work ran")
	}
}
