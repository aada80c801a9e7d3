package app

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
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

// fakeCUDAEngine writes a shell script standing in for a CUDA engine that
// cannot start: it prints body's output and exits as body says.
func fakeCUDAEngine(t *testing.T, body string) string {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("the fake CUDA engines are shell scripts")
	}
	p := filepath.Join(t.TempDir(), "sensenova-cuda")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestEngineFallsBackToTheCPUEngine starts a CUDA engine that dies before
// its hello in the ways a machine without the driver or a GPU makes it die,
// and checks that the CPU engine runs instead, with a sentence saying why,
// and that it is the CPU engine that is restarted after a crash.
func TestEngineFallsBackToTheCPUEngine(t *testing.T) {
	cases := []struct {
		name, script, want string
	}{
		{"no GPU", `echo 'Error in initialization, please refer to "https://docs.nvidia.com/cuda/cuda-driver-api/group__CUDA__INITIALIZE.html" for details on: NoDevice'; exit 1`,
			"No NVIDIA GPU was found (the driver reports no CUDA device), so the engine runs on the CPU"},
		{"no driver", `echo "$0: error while loading shared libraries: libcuda.so.1: cannot open shared object file: No such file or directory" >&2; exit 127`,
			"No NVIDIA driver was found (libcuda.so.1 is missing), so the engine runs on the CPU"},
		{"exits at once", `exit 1`,
			"The CUDA engine could not start (exit status 1), so the engine runs on the CPU"},
		{"other error", `echo "warming up" >&2; echo "sensenova: cuda: out of memory" >&2; exit 2`,
			"The CUDA engine could not start (sensenova: cuda: out of memory), so the engine runs on the CPU"},
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("SENSENOVA_FAKE_ENGINE", "1")
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cuda := fakeCUDAEngine(t, c.script)
			var log strings.Builder
			var logMu sync.Mutex
			statuses := make(chan EngineStatus, 64)
			e, err := StartEngine(context.Background(), EngineOptions{
				Binary: cuda, Fallback: exe,
				Log: writerFunc(func(b []byte) (int, error) { logMu.Lock(); defer logMu.Unlock(); return log.Write(b) }),
				OnStatus: func(s EngineStatus) {
					select {
					case statuses <- s:
					default:
					}
				},
			})
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			st := e.Status()
			if st.State != EngineReady || st.Version != "fake" {
				t.Fatalf("status %+v, want the fake CPU engine ready", st)
			}
			if !strings.HasPrefix(st.Fallback, c.want) {
				t.Errorf("fallback sentence %q, want it to start with %q", st.Fallback, c.want)
			}
			logMu.Lock()
			if !strings.Contains(log.String(), c.want) {
				t.Errorf("the log does not say why: %q", log.String())
			}
			logMu.Unlock()
			if ev := wait(t, mustSubmit(t, e, protocol.Request{Op: protocol.OpTextImage, Prompt: "on the cpu"})); ev.Event != protocol.EventDone {
				t.Fatalf("job on the fallback engine: %+v", ev)
			}
			// A crash restarts the CPU engine, and the sentence stays.
			wait(t, mustSubmit(t, e, protocol.Request{Op: protocol.OpTextImage, Prompt: "crash"}))
			if ev := wait(t, mustSubmit(t, e, protocol.Request{Op: protocol.OpTextImage, Prompt: "after"})); ev.Event != protocol.EventDone {
				t.Fatalf("job after the restart: %+v", ev)
			}
			if st := e.Status(); st.State != EngineReady || !strings.HasPrefix(st.Fallback, c.want) {
				t.Errorf("after the restart: %+v", st)
			}
		})
	}
}

func TestEngineFallbackWhenTheCUDAEngineCannotBeExecuted(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("SENSENOVA_FAKE_ENGINE", "1")
	missing := filepath.Join(t.TempDir(), "sensenova-cuda")
	e, err := StartEngine(context.Background(), EngineOptions{Binary: missing, Fallback: exe})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if st := e.Status(); st.State != EngineReady || !strings.HasPrefix(st.Fallback, "The CUDA engine could not start (starting the engine "+missing) {
		t.Errorf("status %+v", st)
	}
	// Without a fallback the error says it could not be started.
	_, err = StartEngine(context.Background(), EngineOptions{Binary: missing})
	if err == nil || !strings.HasPrefix(err.Error(), "starting the engine "+missing+": ") {
		t.Errorf("error %v", err)
	}
}

func TestEngineWithoutFallbackSaysWhyItDidNotStart(t *testing.T) {
	cuda := fakeCUDAEngine(t, `echo "Error in initialization: NoDevice"; exit 1`)
	_, err := StartEngine(context.Background(), EngineOptions{Binary: cuda})
	if err == nil {
		t.Fatal("an engine that exits at once started")
	}
	if msg := err.Error(); !strings.Contains(msg, "sensenova-cuda exited before it was ready: exit status 1") || !strings.Contains(msg, "NoDevice") {
		t.Errorf("error %q", msg)
	}
}

// TestEngineNoFallbackWhenCUDAStarts checks that a working preferred engine
// is kept and nothing is said about the CPU.
func TestEngineNoFallbackWhenCUDAStarts(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("SENSENOVA_FAKE_ENGINE", "1")
	cpu := fakeCUDAEngine(t, "exit 1") // would fail if it were used
	e, err := StartEngine(context.Background(), EngineOptions{Binary: exe, Fallback: cpu})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if st := e.Status(); st.State != EngineReady || st.Fallback != "" {
		t.Errorf("status %+v", st)
	}
}

func TestCPUFallbackReasonOnWindows(t *testing.T) {
	f := &startFailure{binary: `C:\Program Files\SenseNova Studio\sensenova-cuda.exe`, err: errors.New("exit status 3221225781"), exitCode: 0xC0000135}
	if got := cpuFallbackReason(f); !strings.HasPrefix(got, "No NVIDIA driver was found (nvcuda.dll is missing), so the engine runs on the CPU") {
		t.Errorf("reason %q", got)
	}
}

func TestFindEngines(t *testing.T) {
	touch := func(dir string, names ...string) string {
		for _, n := range names {
			if err := os.WriteFile(filepath.Join(dir, n), []byte("#!/bin/sh\n"), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	onPath := t.TempDir()
	touch(onPath, "sensenova", "sensenova-cuda")
	lookPath := func(name string) (string, error) {
		p := filepath.Join(onPath, name)
		if _, err := os.Stat(p); err != nil {
			return "", exec.ErrNotFound
		}
		return p, nil
	}
	noPath := func(string) (string, error) { return "", exec.ErrNotFound }
	both := touch(t.TempDir(), "sensenova", "sensenova-cuda")
	cpuOnly := touch(t.TempDir(), "sensenova")
	cudaOnly := touch(t.TempDir(), "sensenova-cuda")
	winBoth := touch(t.TempDir(), "sensenova.exe", "sensenova-cuda.exe")
	empty := t.TempDir()
	j := filepath.Join
	cases := []struct {
		name, env, dir, goos string
		look                 func(string) (string, error)
		want                 EngineBinaries
	}{
		{"both next to the app", "", both, "linux", noPath, EngineBinaries{j(both, "sensenova-cuda"), j(both, "sensenova")}},
		{"CPU only", "", cpuOnly, "linux", noPath, EngineBinaries{j(cpuOnly, "sensenova"), ""}},
		{"CUDA only", "", cudaOnly, "linux", noPath, EngineBinaries{j(cudaOnly, "sensenova-cuda"), ""}},
		{"next to the app before PATH", "", cpuOnly, "linux", lookPath, EngineBinaries{j(onPath, "sensenova-cuda"), j(cpuOnly, "sensenova")}},
		{"PATH", "", empty, "linux", lookPath, EngineBinaries{j(onPath, "sensenova-cuda"), j(onPath, "sensenova")}},
		{"Windows names", "", winBoth, "windows", noPath, EngineBinaries{j(winBoth, "sensenova-cuda.exe"), j(winBoth, "sensenova.exe")}},
		{"SENSENOVA_ENGINE first", "/opt/engine", both, "linux", noPath, EngineBinaries{"/opt/engine", j(both, "sensenova")}},
		{"SENSENOVA_ENGINE is the CPU engine", j(both, "sensenova"), both, "linux", noPath, EngineBinaries{j(both, "sensenova"), ""}},
	}
	for _, c := range cases {
		got, err := findEngines(c.env, c.dir, c.goos, c.look)
		if err != nil || got != c.want {
			t.Errorf("%s: %+v, %v; want %+v", c.name, got, err, c.want)
		}
	}
	if _, err := findEngines("", empty, "linux", noPath); err == nil || !strings.Contains(err.Error(), "SENSENOVA_ENGINE") {
		t.Errorf("no engine anywhere: %v", err)
	}
}

func TestLineTailKeepsTheLastLines(t *testing.T) {
	tail := &lineTail{max: 2}
	tail.Write([]byte("one\ntw"))
	tail.Write([]byte("o\n\nthree\nfou"))
	if got := strings.Join(tail.Lines(), "|"); got != "two|three|fou" {
		t.Errorf("lines %q", got)
	}
	long := &lineTail{max: 2}
	long.Write([]byte(strings.Repeat("x", 1000) + "\n"))
	if l := long.Lines(); len(l) != 1 || len(l[0]) != 300 {
		t.Errorf("a long line was kept as %d lines of %d bytes", len(l), len(l[0]))
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }
