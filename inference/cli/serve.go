package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"github.com/sensenova/studio/gpu"
	"github.com/sensenova/studio/inference/demo"
	"github.com/sensenova/studio/inference/imageproc"
	"github.com/sensenova/studio/inference/pipeline"
	"github.com/sensenova/studio/inference/profile"
	"github.com/sensenova/studio/inference/prompt"
	"github.com/sensenova/studio/inference/protocol"
	"github.com/sensenova/studio/inference/record"
	"github.com/sensenova/studio/inference/sampler"
	"github.com/sensenova/studio/inference/tensor"
	"github.com/sensenova/studio/internal/version"
)

// runServe is `sensenova serve`: the engine process of the desktop app,
// speaking the JSON-lines protocol of package protocol on stdin/stdout.
// Logs go to stderr.
func runServe(ctx context.Context, args []string, s Streams) error {
	fs := newFlags("serve", "[--session_dir DIR] [--device D]", s)
	sessionDir := fs.String("session_dir", "", "folder for the pictures of this session (default: a new private temporary folder)")
	device := fs.String("device", "auto", "default device of load requests: auto, cpu, cuda, cuda:N")
	demoRoot := fs.String("demo_cache", "", "cache folder of the built-in demo model (default: the user cache folder)")
	if err := parse(fs, args); err != nil {
		return err
	}
	dir := *sessionDir
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "sensenova-session-"); err != nil {
			return err
		}
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	srv := &server{
		in: s.In, log: s.Err, sessionDir: dir, device: *device, demoRoot: *demoRoot,
		enc:     json.NewEncoder(s.Out),
		work:    make(chan protocol.Request, 64),
		running: map[string]context.CancelFunc{},
		queued:  map[string]bool{},
		dropped: map[string]bool{},
	}
	srv.enc.SetEscapeHTML(false)
	return srv.serve(ctx)
}

// server is one engine session.
type server struct {
	in         io.Reader
	log        io.Writer
	sessionDir string
	device     string
	demoRoot   string

	outMu sync.Mutex
	enc   *json.Encoder

	work    chan protocol.Request
	mu      sync.Mutex
	running map[string]context.CancelFunc // work request id → its cancel
	queued  map[string]bool               // work request ids waiting for the worker
	dropped map[string]bool               // queued requests cancelled (and answered) before they started

	// Owned by the worker goroutine.
	engine  *pipeline.Engine
	backend tensor.Backend
	info    protocol.ModelInfo
}

func (srv *server) emit(ev protocol.Event) {
	srv.outMu.Lock()
	defer srv.outMu.Unlock()
	srv.enc.Encode(ev)
}

func (srv *server) fail(id, code string, err error) {
	srv.emit(protocol.Event{ID: id, Event: protocol.EventError, Code: code, Message: err.Error()})
}

// serve reads requests until stdin ends or a shutdown request, running work
// requests one at a time on a worker goroutine.
func (srv *server) serve(ctx context.Context) error {
	ctx, cancelAll := context.WithCancel(ctx)
	defer cancelAll()
	_, cudaErr := gpu.Detect()
	srv.emit(protocol.Event{Event: protocol.EventHello, Version: version.Version, SessionDir: srv.sessionDir, CUDA: cudaErr == nil})
	fmt.Fprintf(srv.log, "sensenova serve %s: session folder %s\n", version.Version, srv.sessionDir)

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		srv.worker(ctx)
	}()

	lines := make(chan []byte)
	go func() {
		sc := bufio.NewScanner(srv.in)
		sc.Buffer(make([]byte, 64<<10), maxLineBytes)
		for sc.Scan() {
			lines <- append([]byte(nil), sc.Bytes()...)
		}
		close(lines)
	}()
	for done := false; !done; {
		select {
		case <-ctx.Done():
			done = true
		case line, ok := <-lines:
			if !ok {
				done = true
				break
			}
			done = srv.handle(ctx, line)
		}
	}
	// Stop: cancel what runs, let the worker drain the queue as cancelled.
	srv.mu.Lock()
	for _, cancel := range srv.running {
		cancel()
	}
	srv.mu.Unlock()
	close(srv.work)
	cancelAll()
	wg.Wait()
	if srv.engine != nil {
		srv.engine.Close()
	}
	return nil
}

// handle deals with one request line; it reports whether to stop.
func (srv *server) handle(ctx context.Context, line []byte) (stop bool) {
	if len(line) == 0 {
		return false
	}
	req, err := protocol.DecodeRequest(line)
	if err != nil {
		srv.fail(req.ID, protocol.CodeBadRequest, err)
		return false
	}
	switch req.Op {
	case protocol.OpShutdown:
		return true
	case protocol.OpCancel:
		// A running request stops at its next check; a waiting one is
		// answered now (its screen is free again at once) and skipped.
		srv.mu.Lock()
		cancel, running := srv.running[req.Target]
		waiting := srv.queued[req.Target] && !srv.dropped[req.Target]
		if waiting {
			srv.dropped[req.Target] = true
		}
		srv.mu.Unlock()
		switch {
		case running:
			cancel()
		case waiting:
			srv.fail(req.Target, protocol.CodeCancelled, errors.New("cancelled before it started"))
		}
	case protocol.OpGPU:
		go srv.gpuInfo(req.ID)
	default:
		srv.mu.Lock()
		srv.queued[req.ID] = true
		srv.mu.Unlock()
		select {
		case srv.work <- req:
		default:
			srv.mu.Lock()
			delete(srv.queued, req.ID)
			srv.mu.Unlock()
			srv.fail(req.ID, protocol.CodeBadRequest, errors.New("too many requests are waiting; send more once some have finished"))
		}
	}
	return false
}

// gpuInfo answers a gpu request with what `sensenova gpu` prints.
func (srv *server) gpuInfo(id string) {
	rep, _ := detectGPUs()
	data, err := json.Marshal(rep)
	if err != nil {
		srv.fail(id, protocol.CodeInternal, err)
		return
	}
	srv.emit(protocol.Event{ID: id, Event: protocol.EventGPU, GPU: data})
}

// worker runs the queued work requests in order.
func (srv *server) worker(ctx context.Context) {
	for req := range srv.work {
		srv.mu.Lock()
		dropped := srv.dropped[req.ID]
		delete(srv.dropped, req.ID)
		delete(srv.queued, req.ID)
		if dropped { // answered when it was cancelled
			srv.mu.Unlock()
			continue
		}
		rctx, cancel := context.WithCancel(ctx)
		srv.running[req.ID] = cancel
		srv.mu.Unlock()
		if ctx.Err() != nil {
			srv.fail(req.ID, protocol.CodeCancelled, errors.New("cancelled before it started"))
		} else {
			srv.run(rctx, req)
		}
		cancel()
		srv.mu.Lock()
		delete(srv.running, req.ID)
		srv.mu.Unlock()
	}
}

// run executes one work request and emits its final event; a panic is
// reported as an internal error and the engine goes on.
func (srv *server) run(ctx context.Context, req protocol.Request) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(srv.log, "panic in request %s: %v\n%s", req.ID, r, debug.Stack())
			srv.fail(req.ID, protocol.CodeInternal, fmt.Errorf("the engine hit an internal error (%v); the details are in its log", r))
		}
	}()
	var err error
	code := protocol.CodeBadRequest
	switch req.Op {
	case protocol.OpLoad:
		err = srv.load(ctx, req)
		code = protocol.CodeLoadFailed
	case protocol.OpUnload:
		srv.unload()
		srv.emit(protocol.Event{ID: req.ID, Event: protocol.EventDone, Result: &protocol.Result{}})
	default:
		if srv.engine == nil {
			srv.fail(req.ID, protocol.CodeNotLoaded, errors.New("no model is loaded: send a load request first"))
			return
		}
		err = srv.task(ctx, req)
	}
	switch {
	case err == nil:
	case errors.Is(err, context.Canceled):
		srv.fail(req.ID, protocol.CodeCancelled, errors.New("cancelled"))
	default:
		srv.fail(req.ID, code, err)
	}
}

func (srv *server) unload() {
	if srv.engine != nil {
		srv.engine.Close()
		srv.engine = nil
		srv.info = protocol.ModelInfo{}
	}
	if srv.backend != nil {
		closeBackend(srv.backend)
		srv.backend = nil
	}
}

// load opens a model folder, or the built-in demo model for an empty one.
func (srv *server) load(ctx context.Context, req protocol.Request) error {
	srv.unload()
	dir := req.ModelDir
	if dir == "" {
		root := srv.demoRoot
		if root == "" {
			var err error
			if root, err = demo.DefaultCacheRoot(); err != nil {
				return err
			}
		}
		var err error
		if dir, err = demo.Ensure(root); err != nil {
			return fmt.Errorf("making the demo model: %w", err)
		}
	}
	device := req.Device
	if device == "" {
		device = srv.device
	}
	budget := int64(req.MaxMemoryGiB * (1 << 30))
	b, name, err := openBackend(device, allocBudget(req.VRAMMode, budget))
	if err != nil {
		return err
	}
	if a, ok := b.(gpu.Accelerator); ok {
		fmt.Fprintf(srv.log, "device %s: %s; GEMM: %s\n", name, a.Info().Name, a.Info().GEMM)
	}
	if name == "cpu" && (req.VRAMMode != "" || req.MaxMemoryGiB != 0) {
		fmt.Fprintf(srv.log, "note: vram_mode %q / max_memory %g GiB have no effect on the CPU backend\n", req.VRAMMode, req.MaxMemoryGiB)
	}
	start := time.Now()
	e, err := pipeline.OpenWith(dir, b, pipeline.OpenOptions{DeviceBytes: weightBudget(b, req.VRAMMode, budget)})
	if err != nil {
		closeBackend(b)
		return explainLoadError(err, req.VRAMMode)
	}
	if note := placementNote(e, b); note != "" {
		fmt.Fprintln(srv.log, note)
	}
	srv.engine, srv.backend = e, b
	if err := ctx.Err(); err != nil {
		srv.unload()
		return err
	}
	_, sha, err := record.ModelOf(dir)
	if err != nil {
		srv.unload()
		return err
	}
	cfg := e.Checkpoint.Config()
	srv.info = protocol.ModelInfo{
		Dir: dir, Demo: demo.IsDemo(dir), Layers: cfg.LLM.NumHiddenLayers, Hidden: cfg.LLM.HiddenSize,
		HeadType: cfg.HeadType(), Params: e.Checkpoint.ParamCounts().Total, Device: name,
		LoadSeconds: time.Since(start).Seconds(), ConfigSHA256: sha,
	}
	info := srv.info
	srv.emit(protocol.Event{ID: req.ID, Event: protocol.EventLoaded, Model: &info})
	return nil
}

// Defaults of the upstream scripts (PIPELINES.md 3.1, 4.1, 5.1, 6.1).
const (
	defaultSteps     = 50
	defaultCFG       = 4.0
	defaultShift     = 3.0
	defaultVQATokens = 1024
	// demoInputPixels is the editing pre-resize budget on the demo model:
	// the smallest the model accepts (512²), so demo edits stay quick.
	demoInputPixels = 512 * 512
)

func orFloat(p *float64, def float64) float64 {
	if p == nil {
		return def
	}
	return *p
}

// guidanceOf reads the guidance fields of a request.
func guidanceOf(req protocol.Request) (sampler.Guidance, error) {
	g := sampler.Guidance{
		Scale: orFloat(req.CFGScale, defaultCFG), ImageScale: orFloat(req.ImgCFGScale, 1),
		Norm: sampler.NormNone, IntervalLo: 0, IntervalHi: 1,
	}
	if req.CFGNorm != "" {
		n, err := sampler.ParseNorm(req.CFGNorm)
		if err != nil {
			return g, err
		}
		g.Norm = n
	}
	if len(req.CFGInterval) != 0 {
		if len(req.CFGInterval) != 2 {
			return g, fmt.Errorf("cfg_interval has %d values, want [lo, hi]", len(req.CFGInterval))
		}
		g.IntervalLo, g.IntervalHi = req.CFGInterval[0], req.CFGInterval[1]
	}
	return g, nil
}

// settingsOf reads the sampler fields of a request for a w×h picture.
func settingsOf(req protocol.Request, g sampler.Guidance, w, h int) pipeline.ImageSettings {
	steps := req.Steps
	if steps == 0 {
		steps = defaultSteps
	}
	return pipeline.ImageSettings{
		Width: w, Height: h, Steps: steps, Shift: orFloat(req.TimestepShift, defaultShift),
		Guidance: g, Seed: req.Seed, Batch: max(1, req.Batch), Previews: req.PreviewSize > 0,
	}
}

// baseRecord is the parameters record of one picture of a request.
func (srv *server) baseRecord(task string, req protocol.Request, s pipeline.ImageSettings) record.Parameters {
	imageOnly, uncond := s.Guidance.Branches()
	return record.Parameters{
		Task: task, Prompt: req.Prompt, Think: req.Think, Seed: s.Seed, Steps: s.Steps,
		CFGScale: s.Guidance.Scale, ImgCFGScale: s.Guidance.ImageScale, CFGNorm: string(s.Guidance.Norm),
		CFGInterval: [2]float64{s.Guidance.IntervalLo, s.Guidance.IntervalHi}, TimestepShift: s.Shift,
		TEps: sampler.DefaultTEps, Width: s.Width, Height: s.Height, Inputs: req.Images,
		ImageOnlyBranch: imageOnly, UncondBranch: uncond,
		Model: filepath.Base(srv.info.Dir), ModelConfigSHA256: srv.info.ConfigSHA256,
	}
}

// progress turns pipeline events into protocol events.
func (srv *server) progress(req protocol.Request) pipeline.Progress {
	return func(ev pipeline.Event) {
		switch ev.Kind {
		case pipeline.EventStep:
			out := protocol.Event{ID: req.ID, Event: protocol.EventProgress, Picture: ev.Picture, Step: ev.Step, Steps: ev.Steps}
			if ev.Canvas != nil && req.PreviewSize > 0 {
				p := filepath.Join(srv.sessionDir, fmt.Sprintf("%s-preview-%d-%d.png", req.ID, ev.Picture, ev.Step))
				if err := savePreview(p, ev.Canvas, ev.Width, ev.Height, req.PreviewSize); err == nil {
					out.Preview = p
				} else {
					fmt.Fprintf(srv.log, "preview: %v\n", err)
				}
			}
			srv.emit(out)
		case pipeline.EventToken:
			if ev.Text != "" {
				srv.emit(protocol.Event{ID: req.ID, Event: protocol.EventToken, Text: ev.Text, TokenID: ev.TokenID})
			}
		}
	}
}

// savePreview writes a small PNG of a canvas.
func savePreview(path string, canvas []float32, w, h, size int) error {
	img, err := imageproc.CanvasToImage(canvas, h, w)
	if err != nil {
		return err
	}
	if w > size || h > size {
		pw, ph := size, h*size/w
		if h > w {
			pw, ph = w*size/h, size
		}
		if img, err = imageproc.Resize(img, max(1, pw), max(1, ph), imageproc.Bilinear); err != nil {
			return err
		}
	}
	return imageproc.SavePNG(path, img, nil)
}

// savePictures writes the result canvases of a request with their records.
func (srv *server) savePictures(req protocol.Request, canvases [][]float32, w, h int, rec record.Parameters) ([]string, error) {
	var paths []string
	for k, c := range canvases {
		img, err := imageproc.CanvasToImage(c, h, w)
		if err != nil {
			return nil, err
		}
		r := rec
		r.BatchIndex = k
		p := filepath.Join(srv.sessionDir, fmt.Sprintf("%s-%d.png", req.ID, k))
		if err := savePNG(p, img, r); err != nil {
			return nil, err
		}
		paths = append(paths, p)
	}
	return paths, nil
}

// task runs t2i, edit, interleave or vqa.
func (srv *server) task(ctx context.Context, req protocol.Request) error {
	e, prog := srv.engine, srv.progress(req)
	res := &protocol.Result{}
	start := time.Now()
	var rec record.Parameters
	switch req.Op {
	case protocol.OpTextImage:
		g, err := guidanceOf(req)
		if err != nil {
			return err
		}
		w, h := req.Width, req.Height
		if w == 0 && h == 0 {
			w, h = 2048, 2048
		}
		s := settingsOf(req, g, w, h)
		out, err := e.TextToImage(ctx, pipeline.TextToImageRequest{Prompt: req.Prompt, Think: req.Think, ImageSettings: s}, prog)
		if err != nil {
			return err
		}
		res.Seconds = time.Since(start).Seconds()
		rec = srv.baseRecord("t2i", req, s)
		res.ThinkText, res.Width, res.Height = out.ThinkText, out.Width, out.Height
		res.Tokens = int(profile.Call{Width: w, Height: h, Batch: len(out.Canvases)}.Tokens())
		if res.Pictures, err = srv.savePictures(req, out.Canvases, w, h, rec); err != nil {
			return err
		}
	case protocol.OpEdit:
		g, err := guidanceOf(req)
		if err != nil {
			return err
		}
		if len(req.Images) == 0 {
			return errors.New("an edit needs at least one picture in \"images\"")
		}
		budget := "auto"
		switch {
		case req.InputMaxPixels > 0:
			budget = strconv.Itoa(req.InputMaxPixels)
		case srv.info.Demo:
			budget = strconv.Itoa(demoInputPixels)
		}
		in, err := loadEditInputs(Streams{Out: srv.log, Err: srv.log}, req.Images, budget, true)
		if err != nil {
			return err
		}
		w, h := req.Width, req.Height
		if w == 0 && h == 0 {
			if w, h, err = outputSize(in.shown[0], 0, 0, editTargetPixels); err != nil {
				return err
			}
		}
		start = time.Now()
		s := settingsOf(req, g, w, h)
		out, err := e.Edit(ctx, pipeline.EditRequest{Prompt: req.Prompt, Pictures: in.pics, Think: req.Think, ImageSettings: s}, prog)
		if err != nil {
			return err
		}
		res.Seconds = time.Since(start).Seconds()
		rec = srv.baseRecord("edit", req, s)
		rec.InputMaxPixels = in.budget
		res.ThinkText, res.Width, res.Height = out.ThinkText, w, h
		res.Tokens = int(profile.Call{Width: w, Height: h, Batch: len(out.Canvases)}.Tokens())
		if res.Pictures, err = srv.savePictures(req, out.Canvases, w, h, rec); err != nil {
			return err
		}
	case protocol.OpInterleave:
		if err := srv.interleave(ctx, req, res); err != nil {
			return err
		}
		res.Seconds = time.Since(start).Seconds()
	case protocol.OpVQA:
		var pic *pipeline.Picture
		if len(req.Images) > 1 {
			return fmt.Errorf("a question takes one picture, %d were given", len(req.Images))
		}
		if len(req.Images) == 1 {
			var err error
			if pic, err = vqaPicture(req.Images[0]); err != nil {
				return err
			}
		}
		max := req.MaxNewTokens
		if max == 0 {
			max = defaultVQATokens
		}
		ts := pipeline.TextSampling{DoSample: req.DoSample, Temperature: orFloat(req.Temperature, 0.7), TopP: orFloat(req.TopP, 0.9),
			TopK: req.TopK, RepetitionPenalty: orFloat(req.RepetitionPenalty, 0), Seed: uint64(req.Seed)}
		if ts.DoSample && ts.TopK == 0 {
			ts.TopK = 50
		}
		start = time.Now()
		out, err := e.VQA(ctx, pipeline.VQARequest{Question: req.Question, Picture: pic, MaxNewTokens: max, Sampling: ts}, prog)
		if err != nil {
			return err
		}
		res.Seconds = time.Since(start).Seconds()
		res.Answer = out.Answer
	}
	res.PeakRSSBytes = profile.MaxRSS()
	if rec.Task != "" {
		data, err := rec.JSON()
		if err != nil {
			return err
		}
		res.Parameters = data
	}
	srv.emit(protocol.Event{ID: req.ID, Event: protocol.EventDone, Result: res})
	return nil
}

// interleave runs a storyboard, reporting each picture as it is finished.
func (srv *server) interleave(ctx context.Context, req protocol.Request, res *protocol.Result) error {
	in, err := loadInterleaveInputs(req.Images, "")
	if err != nil {
		return err
	}
	w, h := req.Width, req.Height
	if w == 0 && h == 0 {
		w, h = 2048, 1152
	}
	if w, h, err = answerSize(in, w, h); err != nil {
		return err
	}
	g, err := guidanceOf(req)
	if err != nil {
		return err
	}
	g.Norm = sampler.NormNone
	s := settingsOf(req, g, w, h)
	s.Batch = 1
	system := prompt.SystemInterleave
	if req.SystemMessage != nil {
		system = *req.SystemMessage
	}
	rec := srv.baseRecord("interleave", req, s)
	rec.SystemMessage = system
	inner := srv.progress(req)
	prog := func(ev pipeline.Event) {
		if ev.Kind != pipeline.EventPicture {
			inner(ev)
			return
		}
		r := rec
		r.BatchIndex = ev.Picture
		img, err := imageproc.CanvasToImage(ev.Canvas, ev.Height, ev.Width)
		if err != nil {
			fmt.Fprintf(srv.log, "picture %d: %v\n", ev.Picture, err)
			return
		}
		p := filepath.Join(srv.sessionDir, fmt.Sprintf("%s-%d.png", req.ID, ev.Picture))
		if err := savePNG(p, img, r); err != nil {
			fmt.Fprintf(srv.log, "picture %d: %v\n", ev.Picture, err)
			return
		}
		res.Pictures = append(res.Pictures, p)
		srv.emit(protocol.Event{ID: req.ID, Event: protocol.EventPicture, Picture: ev.Picture, Path: p})
	}
	out, err := srv.engine.Interleave(ctx, pipeline.InterleaveRequest{
		Prompt: req.Prompt, SystemMessage: system, Think: req.Think, Pictures: in.pics,
		MaxNewTokens: req.MaxNewTokens, ImageSettings: s,
	}, prog)
	if err != nil {
		return err
	}
	res.Text, res.Width, res.Height = out.Text, w, h
	res.Tokens = int(profile.Call{Width: w, Height: h, Batch: len(out.Canvases)}.Tokens())
	if data, err := rec.JSON(); err == nil {
		res.Parameters = data
	}
	return nil
}
