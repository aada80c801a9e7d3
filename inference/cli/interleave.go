package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"strings"

	"github.com/sensenova/studio/inference/imageproc"
	"github.com/sensenova/studio/inference/pipeline"
	"github.com/sensenova/studio/inference/prompt"
	"github.com/sensenova/studio/inference/safetensors"
	"github.com/sensenova/studio/inference/sampler"
)

// interleaveFlags are the flags of `sensenova interleave` (PIPELINES.md
// 5.1 and 7.1).
type interleaveFlags struct {
	rt            *runtimeFlags
	smp           *samplerFlags
	par           *parityFlags
	prompt        string
	jsonl         string
	images        stringList
	imageRoot     string
	outputDir     string
	stem          string
	resolution    string
	width, height optInt
	think         bool
	system        optString
	maxNewTokens  int
}

const interleaveSynopsis = `--model_path DIR (--prompt TEXT [--image PATH]… | --jsonl FILE) [flags]

Interleaved text-and-picture answers, with the flags and outputs of upstream
examples/interleave/inference.py. --prompt writes <output_dir>/<stem>.txt,
<stem>_input_<i>.png (copies of the inputs) and <stem>_image_<i>.png; --jsonl
writes the same per line with stem <NNNN>_think or <NNNN>_no_think, plus
results.jsonl (keys: prompt or conversations; optional image/images (list),
width+height (without images), think_mode; seed is ignored, as upstream).
Every generated picture has the answer's size. Files are replaced
atomically if they exist.`

func runInterleave(ctx context.Context, args []string, s Streams) error {
	fs := newFlags("interleave", interleaveSynopsis, s)
	f := &interleaveFlags{}
	f.rt = addRuntimeFlags(fs, true)
	fs.StringVar(&f.prompt, "prompt", "", "the request (or use --jsonl); put one <image> per --image where it belongs")
	fs.StringVar(&f.jsonl, "jsonl", "", "JSONL file, one sample per line: {\"prompt\": … or \"conversations\": [{\"from\": \"human\", \"value\": …}], \"image\": [paths], \"width\": W, \"height\": H, \"think_mode\": bool}")
	fs.Var(&f.images, "image", "input picture of --prompt (repeat the flag for more)")
	fs.StringVar(&f.imageRoot, "image_root", "", "folder prepended to relative picture paths of --jsonl samples")
	fs.StringVar(&f.outputDir, "output_dir", "outputs", "folder of every output file")
	fs.StringVar(&f.stem, "stem", "sample", "file stem with --prompt")
	fs.StringVar(&f.resolution, "resolution", "16:9", "picture size without input pictures: "+presetNames(interleavePresets))
	fs.Var(&f.width, "width", "picture width without input pictures, an `int` multiple of 32 (with --height; overrides --resolution)")
	fs.Var(&f.height, "height", "picture height without input pictures, an `int` multiple of 32 (with --width)")
	f.smp = addSamplerFlags(fs, sampler.Interleave)
	optionalBool(fs, &f.think, "think_mode", true, "think protocol (the model reasons in a <think> block); --no-think_mode for direct answers")
	fs.Var(&f.system, "system_message", "system prompt of the conditional branch, a `string` (default: upstream's interleave system message)")
	fs.IntVar(&f.maxNewTokens, "max_new_tokens", pipeline.DefaultInterleaveTokens, "bound on the text tokens of an answer")
	f.par = addParityFlags(fs, parityNoise|parityInputs, "tensors noise_1, noise_2, … (one per generated picture, [1,3,H,W])")
	if err := parse(fs, expandArgs(fs, args, map[string]int{"cfg_interval": nargsPair})); err != nil {
		return err
	}
	set := setFlags(fs)
	g, fallbackW, fallbackH, err := f.check()
	if err != nil {
		return err
	}
	if f.jsonl != "" {
		return f.runJSONL(ctx, s, set, g, fallbackW, fallbackH)
	}
	return f.runPrompt(ctx, s, set, g, fallbackW, fallbackH)
}

func (f *interleaveFlags) systemMessage() string {
	if f.system.set {
		return f.system.v
	}
	return prompt.SystemInterleave
}

// check validates the flags and returns the size used without input
// pictures.
func (f *interleaveFlags) check() (g sampler.Guidance, w, h int, err error) {
	if err := f.rt.check(); err != nil {
		return g, 0, 0, err
	}
	switch {
	case (f.prompt == "") == (f.jsonl == ""):
		return g, 0, 0, badUsage("give exactly one of --prompt and --jsonl")
	case f.jsonl != "" && len(f.images) > 0:
		return g, 0, 0, badUsage("--image is only valid with --prompt; in --jsonl mode, put \"image\" in each sample")
	case f.width.set != f.height.set:
		return g, 0, 0, badUsage("--width and --height must be given together (or both omitted: --resolution applies)")
	case f.maxNewTokens < 1:
		return g, 0, 0, badUsage("--max_new_tokens %d: want at least 1", f.maxNewTokens)
	case f.jsonl != "" && (f.par.initNoise != "" || f.par.outputRaw != "" || f.par.jsonOut != "" || f.par.inputTensors != ""):
		return g, 0, 0, badUsage("--init_noise, --output_raw, --input_tensors and --json_out work with --prompt (one call), not --jsonl")
	case len(f.images) > pipeline.MaxEditPictures:
		return g, 0, 0, badUsage("%d input pictures: at most %d fit the context together", len(f.images), pipeline.MaxEditPictures)
	}
	p, err := findPreset(interleavePresets, f.resolution)
	if err != nil {
		return g, 0, 0, err
	}
	w, h = p.w, p.h
	if f.width.set {
		w, h = f.width.v, f.height.v
		if err := checkSize("--width", "--height", w, h); err != nil {
			return g, 0, 0, err
		}
	}
	g, err = f.smp.guidance()
	return g, w, h, err
}

// interleaveInputs are the input pictures of one answer.
type interleaveInputs struct {
	paths     []string
	originals []*image.NRGBA // RGB-converted, not resized (size, copies)
	pics      []pipeline.Picture
}

// loadInterleaveInputs decodes the pictures, converted to RGB by dropping
// alpha (as upstream's .convert("RGB")); with tensorFile, the model gets
// the already-resized pixels of that file instead.
func loadInterleaveInputs(paths []string, tensorFile string) (*interleaveInputs, error) {
	in := &interleaveInputs{paths: paths}
	for _, p := range paths {
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("input image not found: %s", p)
		}
		pic, err := imageproc.Load(p)
		if err != nil {
			return nil, err
		}
		img := pic.RGB(imageproc.DropAlpha)
		in.originals = append(in.originals, img)
		in.pics = append(in.pics, pipeline.Picture{Image: img})
	}
	if tensorFile != "" {
		imgs, err := readInputTensors(tensorFile, len(paths))
		if err != nil {
			return nil, err
		}
		for i, img := range imgs {
			in.pics[i] = pipeline.Picture{Image: img, Resized: true}
		}
	}
	return in, nil
}

// answerSize is upstream's _resolve_image_size: the first input picture's
// smart_resize, or the fallback size.
func answerSize(in *interleaveInputs, fallbackW, fallbackH int) (int, int, error) {
	if len(in.originals) == 0 {
		return fallbackW, fallbackH, nil
	}
	w, h, err := pipeline.InterleaveSize(pipeline.Picture{Image: in.originals[0]})
	if err != nil {
		return 0, 0, fmt.Errorf("%s: %w", in.paths[0], err)
	}
	return w, h, nil
}

// interleaveCall is one answer and its results.
type interleaveCall struct {
	prompt string
	think  bool
	in     *interleaveInputs
	w, h   int
	res    *pipeline.InterleaveResult
	imgs   []*image.NRGBA
	sec    float64
}

func (f *interleaveFlags) generate(ctx context.Context, run *engineRun, g sampler.Guidance, c *interleaveCall, noise *safetensors.File, label string, s Streams) error {
	prog := newProgress(s.Err)
	prog.label, prog.stream = label, true
	req := pipeline.InterleaveRequest{
		Prompt: c.prompt, SystemMessage: f.systemMessage(), Think: c.think, Pictures: c.in.pics,
		MaxNewTokens:  f.maxNewTokens,
		ImageSettings: f.smp.settings(g, c.w, c.h, 1, f.smp.seed, nil),
	}
	if noise != nil {
		req.NoiseFor = func(k int) ([]float32, error) {
			return readNoise(noise, fmt.Sprintf("noise_%d", k+1), 1, c.w, c.h)
		}
	}
	var err error
	c.sec, err = run.timed(c.w, c.h, 1, func(batch *int) error {
		var err error
		if c.res, err = run.e.Interleave(ctx, req, prog.handle); err != nil {
			return err
		}
		*batch = len(c.res.Canvases)
		c.imgs, err = toImages(c.res.Canvases, c.res.Width, c.res.Height)
		return err
	})
	prog.done()
	return err
}

// save writes an answer's files (upstream _save_outputs) and returns the
// names of the input copies.
func (f *interleaveFlags) save(run *engineRun, g sampler.Guidance, c *interleaveCall, stem string, s Streams) ([]string, error) {
	if err := os.MkdirAll(f.outputDir, 0o755); err != nil {
		return nil, err
	}
	textPath := filepath.Join(f.outputDir, stem+".txt")
	text := c.res.Text
	if c.prompt != "" {
		text = fmt.Sprintf("# PROMPT\n%s\n\n# OUTPUT\n%s\n", c.prompt, c.res.Text)
	}
	if err := writeText(textPath, text); err != nil {
		return nil, err
	}
	fmt.Fprintf(s.Out, "[saved] %s\n", pyPath(textPath))
	var inputNames []string
	for i, img := range c.in.originals {
		name := fmt.Sprintf("%s_input_%d.png", stem, i)
		path := filepath.Join(f.outputDir, name)
		if err := saveInputCopy(path, img); err != nil {
			return nil, err
		}
		inputNames = append(inputNames, name)
		fmt.Fprintf(s.Out, "[saved] %s\n", pyPath(path))
	}
	for k, img := range c.imgs {
		path := filepath.Join(f.outputDir, fmt.Sprintf("%s_image_%d.png", stem, k))
		rec := f.smp.record(run, g, "interleave", c.prompt, c.w, c.h, f.smp.seed)
		rec.SystemMessage, rec.Think, rec.BatchIndex, rec.Inputs = f.systemMessage(), c.think, k, c.in.paths
		rec.MaxNewTokens, rec.InitNoise, rec.InputTensors = f.maxNewTokens, f.par.initNoise, f.par.inputTensors
		if err := savePNG(path, img, rec); err != nil {
			return nil, err
		}
		fmt.Fprintf(s.Out, "[saved] %s\n", pyPath(path))
	}
	return inputNames, nil
}

func (f *interleaveFlags) runPrompt(ctx context.Context, s Streams, set map[string]bool, g sampler.Guidance, fallbackW, fallbackH int) error {
	run, err := prepareEngine(f.rt, set, s)
	if err != nil {
		return err
	}
	defer run.Close()
	if f.width.set {
		warnIfUnsupported(s.Out, fallbackW, fallbackH, interleavePresets)
	}
	var noise *safetensors.File
	if f.par.initNoise != "" {
		if noise, err = openNoise(f.par.initNoise); err != nil {
			return err
		}
		defer noise.Close()
		if _, ok := noise.Info("noise_1"); !ok {
			return fmt.Errorf("--init_noise %s: no tensor \"noise_1\" (interleave reads noise_1, noise_2, … one per picture; it has %s)", f.par.initNoise, tensorList(noise))
		}
	}
	if err := run.load(ctx, s); err != nil {
		return err
	}
	fmt.Fprintf(s.Out, "prompt: %s\n", f.prompt)
	in, err := loadInterleaveInputs(f.images, f.par.inputTensors)
	if err != nil {
		return err
	}
	c := &interleaveCall{prompt: f.prompt, think: f.think, in: in}
	if c.w, c.h, err = answerSize(in, fallbackW, fallbackH); err != nil {
		return err
	}
	if err := f.generate(ctx, run, g, c, noise, "", s); err != nil {
		return err
	}
	fmt.Fprintf(s.Out, "[text] %s\n", c.res.Text)
	if _, err := f.save(run, g, c, f.stem, s); err != nil {
		return err
	}
	if f.par.outputRaw != "" {
		ts := make([]rawTensor, len(c.res.Canvases))
		for k, cv := range c.res.Canvases {
			ts[k] = rawTensor{name: fmt.Sprintf("image_%d", k+1), canvases: [][]float32{cv}, h: c.h, w: c.w}
		}
		if err := writeRaw(f.par.outputRaw, ts); err != nil {
			return err
		}
	}
	if f.par.jsonOut != "" {
		chunks := c.res.Chunks
		for i := range chunks {
			if chunks[i] == nil {
				chunks[i] = []int{}
			}
		}
		rep := jsonReport{Task: "interleave", GeneratedText: strPtr(c.res.Text), TextChunksIDs: &chunks,
			ImageCount: len(c.res.Canvases), Width: c.w, Height: c.h,
			Timings: jsonTimes{LoadSeconds: run.loadSeconds, GenerateSeconds: c.sec}}
		if err := writeJSONReport(f.par.jsonOut, rep); err != nil {
			return err
		}
	}
	return run.report(s.Out)
}

// interleaveSample is one JSONL line, resolved.
type interleaveSample struct {
	src    jsonlSample
	prompt string
	paths  []string
	w, h   int // explicit size (no input pictures), 0 if none
	think  bool
}

// extractPrompt is upstream's _extract_prompt: "prompt", or the value of
// the first human turn of "conversations".
func extractPrompt(l jsonlSample) (string, error) {
	if l.has("prompt") {
		return l.str("prompt")
	}
	var turns []map[string]json.RawMessage
	if raw, ok := l.keys["conversations"]; ok {
		if err := json.Unmarshal(raw, &turns); err != nil {
			return "", l.errorf("\"conversations\" must be a list of {\"from\": …, \"value\": …} objects")
		}
	}
	for _, t := range turns {
		var from, value string
		json.Unmarshal(t["from"], &from)
		if from == "human" {
			if err := json.Unmarshal(t["value"], &value); err != nil {
				return "", l.errorf("the human turn's \"value\" must be a string")
			}
			return value, nil
		}
	}
	return "", l.errorf("sample has no \"prompt\" and no human turn in \"conversations\"")
}

func (f *interleaveFlags) samples(s Streams) ([]interleaveSample, error) {
	lines, err := readJSONL(f.jsonl)
	if err != nil {
		return nil, err
	}
	seedNoted := false
	out := make([]interleaveSample, len(lines))
	for i, l := range lines {
		sm := interleaveSample{src: l, think: f.think}
		if sm.prompt, err = extractPrompt(l); err != nil {
			return nil, err
		}
		// sample.get("image") or sample.get("images") or []
		for _, key := range []string{"image", "images"} {
			if l.has(key) && l.truthy(key) {
				if sm.paths, err = l.strings(key); err != nil {
					return nil, err
				}
				break
			}
		}
		for j, p := range sm.paths {
			if f.imageRoot != "" && !filepath.IsAbs(p) {
				sm.paths[j] = filepath.Join(f.imageRoot, p)
			}
			if _, err := os.Stat(sm.paths[j]); err != nil {
				return nil, l.errorf("input image not found: %s", sm.paths[j])
			}
		}
		if len(sm.paths) == 0 { // with input pictures the size comes from them
			w, h, ok, err := l.size()
			if err != nil {
				return nil, err
			}
			if ok {
				sm.w, sm.h = w, h
				if err := checkSize("width", "height", sm.w, sm.h); err != nil {
					return nil, l.errorf("%v", err)
				}
			}
		}
		if l.has("think_mode") {
			sm.think = l.truthy("think_mode") // JSON truthiness: "false" is true (quirk 13)
		}
		if l.has("seed") && !seedNoted {
			fmt.Fprintf(s.Err, "note: %s has \"seed\" keys: interleave ignores them and uses --seed %d for every sample (as upstream)\n", f.jsonl, f.smp.seed)
			seedNoted = true
		}
		out[i] = sm
	}
	return out, nil
}

func (f *interleaveFlags) runJSONL(ctx context.Context, s Streams, set map[string]bool, g sampler.Guidance, fallbackW, fallbackH int) error {
	samples, err := f.samples(s)
	if err != nil {
		return err
	}
	run, err := prepareEngine(f.rt, set, s)
	if err != nil {
		return err
	}
	defer run.Close()
	if f.width.set {
		warnIfUnsupported(s.Out, fallbackW, fallbackH, interleavePresets)
	}
	if err := run.load(ctx, s); err != nil {
		return err
	}
	resultsPath := filepath.Join(f.outputDir, "results.jsonl")
	var results strings.Builder
	for i, sm := range samples {
		in, err := loadInterleaveInputs(sm.paths, "")
		if err != nil {
			return sm.src.wrap(err)
		}
		c := &interleaveCall{prompt: sm.prompt, think: sm.think, in: in}
		switch {
		case len(in.originals) > 0:
			c.w, c.h, err = answerSize(in, fallbackW, fallbackH)
		case sm.w > 0:
			c.w, c.h = sm.w, sm.h
			warnIfUnsupported(s.Out, c.w, c.h, interleavePresets)
		default:
			c.w, c.h = fallbackW, fallbackH
		}
		if err != nil {
			return sm.src.wrap(err)
		}
		if err := f.generate(ctx, run, g, c, nil, fmt.Sprintf("sample %d/%d", i+1, len(samples)), s); err != nil {
			return sm.src.wrap(err)
		}
		stem := fmt.Sprintf("%04d_no_think", i+1)
		if c.think {
			stem = fmt.Sprintf("%04d_think", i+1)
		}
		inputNames, err := f.save(run, g, c, stem, s)
		if err != nil {
			return err
		}
		images := make([]string, len(c.imgs))
		for k := range images {
			images[k] = fmt.Sprintf("%s_image_%d.png", stem, k)
		}
		if inputNames == nil {
			inputNames = []string{}
		}
		results.WriteString(pyObject{
			{"index", i}, {"prompt", sm.prompt}, {"text", c.res.Text}, {"input_images", inputNames},
			{"images", images}, {"width", c.w}, {"height", c.h}, {"think_mode", c.think},
		}.String() + "\n")
		// Rewritten after every sample, so an interrupted run keeps the
		// finished samples' lines (upstream flushes each line).
		if err := writeText(resultsPath, results.String()); err != nil {
			return err
		}
	}
	fmt.Fprintf(s.Out, "[saved] %s\n", pyPath(resultsPath))
	return run.report(s.Out)
}
