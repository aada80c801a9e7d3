package app

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/sensenova/studio/inference/protocol"
)

// EngineStatus is what the window shows about the engine process.
type EngineStatus struct {
	State   string // "starting", "ready", "restarting", "stopped"
	Message string // a sentence for the user, e.g. why it restarted
	Version string
	CUDA    bool
	// Fallback is a sentence saying why the engine runs on the CPU although
	// a CUDA engine was found (no NVIDIA driver, no GPU…); empty otherwise.
	// It stays the same across restarts.
	Fallback string
}

// Engine states.
const (
	EngineStarting   = "starting"
	EngineReady      = "ready"
	EngineRestarting = "restarting"
	EngineStopped    = "stopped"
)

// EngineOptions configure the engine process.
type EngineOptions struct {
	// Binary is the path of the engine executable (FindEngines).
	Binary string
	// Fallback is the engine started instead when Binary cannot start or
	// exits before it is ready: the CPU engine, when Binary is the CUDA
	// one. Empty: no fallback.
	Fallback string
	// Args are extra arguments after "serve".
	Args []string
	// Log receives the engine's stderr (its progress and warnings); nil
	// discards it.
	Log io.Writer
	// OnStatus is called (from the supervisor's goroutine) whenever the
	// engine's state changes. It must not block.
	OnStatus func(EngineStatus)
	// MaxRestarts bounds restarts within RestartWindow (default 5 per minute);
	// beyond that the engine stays stopped and says so.
	MaxRestarts   int
	RestartWindow time.Duration
}

// ErrEngineStopped is returned for work submitted to a stopped engine.
var ErrEngineStopped = errors.New("the engine is not running")

// Engine supervises `sensenova serve`: it starts the process, sends
// requests, routes events to the job that asked, and restarts the process
// when it dies — failing the jobs that were running with a clear error and
// reloading the model that was loaded. All methods are safe for concurrent
// use; nothing blocks the caller for longer than writing one line.
type Engine struct {
	opts EngineOptions

	mu         sync.Mutex
	proc       *engineProcess
	jobs       map[string]*Job
	nextID     int
	lastLoad   *protocol.Request    // replayed after a restart…
	lastLoadCB func(protocol.Event) // …with the same event handler
	status     EngineStatus
	restarts   []time.Time
	closed     bool
	sessionDir string
	fallback   string // EngineStatus.Fallback
}

// engineProcess is one run of the engine executable.
type engineProcess struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	enc   *json.Encoder
	done  chan struct{} // closed when the process has exited and its output is drained
	// output keeps the last lines the process printed that were not
	// protocol events (stderr, and stdout before its hello), to say why it
	// failed to start.
	output *lineTail
}

// Job is one request in flight.
type Job struct {
	ID      string
	req     protocol.Request
	onEvent func(protocol.Event)
	done    chan struct{}
	final   protocol.Event
	e       *Engine
	once    sync.Once
}

// StartEngine starts the engine process and waits until it says hello (or
// ctx ends). When the process cannot start or exits before its hello and
// opts.Fallback is set, the fallback engine is started instead and
// EngineStatus.Fallback says why.
func StartEngine(ctx context.Context, opts EngineOptions) (*Engine, error) {
	if opts.MaxRestarts == 0 {
		opts.MaxRestarts = 5
	}
	if opts.RestartWindow == 0 {
		opts.RestartWindow = time.Minute
	}
	e := &Engine{opts: opts, jobs: map[string]*Job{}}
	err := e.start(ctx)
	var failed *startFailure
	if err != nil && errors.As(err, &failed) && opts.Fallback != "" && opts.Fallback != opts.Binary {
		why := cpuFallbackReason(failed)
		if opts.Log != nil {
			fmt.Fprintf(opts.Log, "sensenova-studio: %s (%v)\n", why, err)
		}
		e.mu.Lock()
		e.opts.Binary = opts.Fallback
		e.fallback = why
		e.mu.Unlock()
		err = e.start(ctx)
	}
	if err != nil {
		return nil, err
	}
	return e, nil
}

// start runs e.opts.Binary and waits for its hello. On failure nothing is
// left running and the engine can be started again.
func (e *Engine) start(ctx context.Context) error {
	hello := make(chan error, 1)
	if err := e.spawn(hello); err != nil {
		return err
	}
	select {
	case err := <-hello:
		return err
	case <-ctx.Done():
		e.Close()
		return ctx.Err()
	}
}

// startFailure is why an engine process ended before it was ready.
type startFailure struct {
	binary   string
	started  bool     // false: it could not be executed at all
	err      error    // from starting or waiting for the process
	exitCode int      // -1 when it did not run or was killed by a signal
	output   []string // its last lines of output
}

func (f *startFailure) Error() string {
	if !f.started {
		return f.err.Error()
	}
	msg := fmt.Sprintf("the engine %s exited before it was ready: %v", filepath.Base(f.binary), f.err)
	if n := len(f.output); n > 0 {
		msg += " (its last words: " + f.output[n-1] + ")"
	}
	return msg
}

func (f *startFailure) Unwrap() error { return f.err }

// Windows' exit status for a program whose DLL is missing
// (STATUS_DLL_NOT_FOUND).
const statusDLLNotFound = 0xC0000135

// cpuFallbackReason says in a sentence why the CUDA engine could not be
// used, from how it failed.
func cpuFallbackReason(f *startFailure) string {
	const onCPU = ", so the engine runs on the CPU (fine for the demo model, far too slow for the 8B model)."
	text := strings.Join(f.output, "\n")
	switch {
	case strings.Contains(text, "libcuda.so"):
		return "No NVIDIA driver was found (libcuda.so.1 is missing)" + onCPU
	case strings.Contains(strings.ToLower(text), "nvcuda.dll") || f.exitCode == statusDLLNotFound:
		return "No NVIDIA driver was found (nvcuda.dll is missing)" + onCPU
	case strings.Contains(text, "NoDevice"):
		return "No NVIDIA GPU was found (the driver reports no CUDA device)" + onCPU
	}
	detail := f.err.Error()
	if n := len(f.output); n > 0 {
		detail = f.output[n-1]
	}
	return "The CUDA engine could not start (" + detail + ")" + onCPU
}

// EngineBinaries are the engine executables the app can run.
type EngineBinaries struct {
	// Preferred is started first: $SENSENOVA_ENGINE, else the CUDA engine
	// (sensenova-cuda), else the CPU engine (sensenova).
	Preferred string
	// Fallback is started when Preferred cannot start: the CPU engine, or
	// empty when there is none besides Preferred.
	Fallback string
}

// FindEngines looks for the engines: each is looked for next to this
// program, then on PATH; $SENSENOVA_ENGINE, when set, is the preferred one.
func FindEngines() (EngineBinaries, error) {
	appDir := ""
	if exe, err := os.Executable(); err == nil {
		appDir = filepath.Dir(exe)
	}
	return findEngines(os.Getenv("SENSENOVA_ENGINE"), appDir, runtime.GOOS, exec.LookPath)
}

func findEngines(env, appDir, goos string, lookPath func(string) (string, error)) (EngineBinaries, error) {
	find := func(name string) string {
		if goos == "windows" {
			name += ".exe"
		}
		if appDir != "" {
			p := filepath.Join(appDir, name)
			if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
				return p
			}
		}
		if p, err := lookPath(name); err == nil {
			return p
		}
		return ""
	}
	cpu := find("sensenova")
	preferred := env
	if preferred == "" {
		preferred = find("sensenova-cuda")
	}
	if preferred == "" {
		preferred = cpu
	}
	if preferred == "" {
		return EngineBinaries{}, errors.New("the engine program (sensenova-cuda or sensenova) was not found next to the app or on PATH (set SENSENOVA_ENGINE to its path)")
	}
	b := EngineBinaries{Preferred: preferred}
	if cpu != preferred {
		b.Fallback = cpu
	}
	return b, nil
}

// setStatus is called with e.mu held.
func (e *Engine) setStatus(s EngineStatus) {
	s.Fallback = e.fallback
	e.status = s
	if e.opts.OnStatus != nil {
		e.opts.OnStatus(s)
	}
}

// Status returns the current engine status.
func (e *Engine) Status() EngineStatus {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.status
}

// SessionDir is the folder the engine writes its pictures to.
func (e *Engine) SessionDir() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.sessionDir
}

// spawn starts a process; hello receives nil once it said hello, or the
// error that prevented it. Called with e.mu not held.
func (e *Engine) spawn(hello chan<- error) error {
	e.mu.Lock()
	bin := e.opts.Binary
	e.mu.Unlock()
	cmd := exec.Command(bin, append([]string{"serve"}, e.opts.Args...)...)
	hideConsole(cmd)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	output := &lineTail{max: 8}
	if e.opts.Log != nil {
		cmd.Stderr = io.MultiWriter(e.opts.Log, output)
	} else {
		cmd.Stderr = output
	}
	e.mu.Lock()
	e.setStatus(EngineStatus{State: EngineStarting, Message: "Starting the engine…"})
	e.mu.Unlock()
	if err := cmd.Start(); err != nil {
		err = fmt.Errorf("starting the engine %s: %w", bin, err)
		if hello != nil {
			return &startFailure{binary: bin, err: err, exitCode: -1}
		}
		return err
	}
	p := &engineProcess{cmd: cmd, stdin: stdin, enc: json.NewEncoder(stdin), done: make(chan struct{}), output: output}
	e.mu.Lock()
	e.proc = p
	e.mu.Unlock()
	go e.read(p, stdout, hello)
	return nil
}

// read routes the events of process p until it exits, then handles its
// death: a process that never said hello to a waiting start is reported to
// it (and not restarted); any other is restarted.
func (e *Engine) read(p *engineProcess, stdout io.Reader, hello chan<- error) {
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	greeted := false
	for sc.Scan() {
		var ev protocol.Event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			// Not a protocol line: the engine logs to stderr, but a
			// library may print to stdout before main (gorgonia's
			// "Error in initialization … NoDevice").
			if !greeted {
				p.output.Write(append(sc.Bytes(), '\n'))
			}
			continue
		}
		if ev.Event == protocol.EventHello {
			e.mu.Lock()
			e.sessionDir = ev.SessionDir
			e.setStatus(EngineStatus{State: EngineReady, Message: "The engine is ready.", Version: ev.Version, CUDA: ev.CUDA})
			e.mu.Unlock()
			if !greeted && hello != nil {
				hello <- nil
			}
			greeted = true
			continue
		}
		e.route(ev)
	}
	err := p.cmd.Wait()
	close(p.done)
	if !greeted && hello != nil {
		if err == nil {
			err = errors.New("it ended without an error")
		}
		code := -1
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			code = exit.ExitCode()
		}
		e.mu.Lock()
		if e.proc == p {
			e.proc = nil
		}
		e.mu.Unlock()
		hello <- &startFailure{binary: p.cmd.Path, started: true, err: err, exitCode: code, output: p.output.Lines()}
		return
	}
	e.died(p, err)
}

// route hands an event to its job; a final event completes the job.
func (e *Engine) route(ev protocol.Event) {
	e.mu.Lock()
	j := e.jobs[ev.ID]
	final := ev.Event == protocol.EventDone || ev.Event == protocol.EventError || ev.Event == protocol.EventLoaded || ev.Event == protocol.EventGPU
	if final && j != nil {
		delete(e.jobs, ev.ID)
	}
	e.mu.Unlock()
	if j == nil {
		return
	}
	if j.onEvent != nil {
		j.onEvent(ev)
	}
	if final {
		j.finish(ev)
	}
}

// died fails the jobs of a process that exited and restarts it unless the
// engine was closed or restarts too often.
func (e *Engine) died(p *engineProcess, exitErr error) {
	e.mu.Lock()
	if e.proc != p { // an older process
		e.mu.Unlock()
		return
	}
	e.proc = nil
	jobs := e.jobs
	e.jobs = map[string]*Job{}
	closed := e.closed
	why := "the engine stopped"
	if exitErr != nil {
		why = fmt.Sprintf("the engine stopped unexpectedly (%v)", exitErr)
	}
	now := time.Now()
	recent := e.restarts[:0]
	for _, t := range e.restarts {
		if now.Sub(t) < e.opts.RestartWindow {
			recent = append(recent, t)
		}
	}
	e.restarts = recent
	giveUp := len(recent) >= e.opts.MaxRestarts
	if closed {
		e.setStatus(EngineStatus{State: EngineStopped, Message: "The engine was stopped."})
	} else if giveUp {
		e.setStatus(EngineStatus{State: EngineStopped, Message: fmt.Sprintf("%s and kept failing (%d restarts in %v); it was not restarted again.", capitalise(why), len(recent), e.opts.RestartWindow)})
	} else {
		e.restarts = append(e.restarts, now)
		e.setStatus(EngineStatus{State: EngineRestarting, Message: capitalise(why) + "; restarting it."})
	}
	load, loadCB := e.lastLoad, e.lastLoadCB
	e.mu.Unlock()

	for _, j := range jobs {
		ev := protocol.Event{ID: j.ID, Event: protocol.EventError, Code: "engine_stopped", Message: capitalise(why) + " while working on this request; nothing was lost, you can run it again."}
		if j.onEvent != nil {
			j.onEvent(ev)
		}
		j.finish(ev)
	}
	if closed || giveUp {
		return
	}
	if err := e.spawn(nil); err != nil {
		e.mu.Lock()
		e.setStatus(EngineStatus{State: EngineStopped, Message: "The engine could not be restarted: " + err.Error()})
		e.mu.Unlock()
		return
	}
	if load != nil {
		// Reload the model the window had loaded, under a new id.
		e.Submit(*load, loadCB)
	}
}

// Submit sends a request (its ID is assigned here) and returns the job.
// onEvent, when not nil, receives every event of the job on the engine's
// reader goroutine; it must not block.
func (e *Engine) Submit(req protocol.Request, onEvent func(protocol.Event)) (*Job, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed || e.proc == nil {
		return nil, ErrEngineStopped
	}
	e.nextID++
	req.ID = strconv.Itoa(e.nextID)
	j := &Job{ID: req.ID, req: req, onEvent: onEvent, done: make(chan struct{}), e: e}
	if req.Op == protocol.OpLoad {
		r := req
		e.lastLoad, e.lastLoadCB = &r, onEvent
	} else if req.Op == protocol.OpUnload {
		e.lastLoad, e.lastLoadCB = nil, nil
	}
	e.jobs[req.ID] = j
	if err := e.proc.enc.Encode(req); err != nil {
		delete(e.jobs, req.ID)
		return nil, fmt.Errorf("sending to the engine: %w", err)
	}
	return j, nil
}

// Cancel asks the engine to stop the job; its final event is then an error
// with code "cancelled" (or its result, if it finished first).
func (j *Job) Cancel() {
	j.e.mu.Lock()
	defer j.e.mu.Unlock()
	if j.e.proc == nil {
		return
	}
	j.e.nextID++
	j.e.proc.enc.Encode(protocol.Request{ID: strconv.Itoa(j.e.nextID), Op: protocol.OpCancel, Target: j.ID})
}

func (j *Job) finish(ev protocol.Event) {
	j.once.Do(func() {
		j.final = ev
		close(j.done)
	})
}

// Done is closed when the job has its final event.
func (j *Job) Done() <-chan struct{} { return j.done }

// Wait returns the job's final event (done, loaded, gpu or error).
func (j *Job) Wait(ctx context.Context) (protocol.Event, error) {
	select {
	case <-j.done:
		return j.final, nil
	case <-ctx.Done():
		return protocol.Event{}, ctx.Err()
	}
}

// Close stops the engine process (asking it to shut down, then killing it
// after a grace period) and fails pending jobs.
func (e *Engine) Close() {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return
	}
	e.closed = true
	p := e.proc
	if p != nil {
		p.enc.Encode(protocol.Request{ID: "shutdown", Op: protocol.OpShutdown})
		p.stdin.Close()
	}
	e.mu.Unlock()
	if p == nil {
		return
	}
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
}

// lineTail is an io.Writer that keeps the last max lines written to it
// (each cut to 300 bytes), for error messages.
type lineTail struct {
	max     int
	mu      sync.Mutex
	lines   []string
	partial []byte
}

func (t *lineTail) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := len(b)
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			if len(t.partial) < 300 {
				t.partial = append(t.partial, b[:min(len(b), 300-len(t.partial))]...)
			}
			break
		}
		if len(t.partial) < 300 {
			t.partial = append(t.partial, b[:min(i, 300-len(t.partial))]...)
		}
		t.add(string(t.partial))
		t.partial = t.partial[:0]
		b = b[i+1:]
	}
	return n, nil
}

func (t *lineTail) add(line string) {
	line = strings.TrimSpace(line)
	if line == "" {
		return
	}
	t.lines = append(t.lines, line)
	if len(t.lines) > t.max {
		t.lines = t.lines[len(t.lines)-t.max:]
	}
}

// Lines returns the kept lines, an unfinished last line included.
func (t *lineTail) Lines() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := append([]string(nil), t.lines...)
	if p := strings.TrimSpace(string(t.partial)); p != "" {
		out = append(out, p)
	}
	return out
}

// capitalise upper-cases the first letter of a sentence.
func capitalise(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return s
	}
	return string(unicode.ToUpper(r)) + s[n:]
}
