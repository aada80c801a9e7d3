package cli

import (
	"context"
	"fmt"
	"image"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/sensenova/studio/inference/imageproc"
	"github.com/sensenova/studio/inference/montage"
	"github.com/sensenova/studio/inference/pipeline"
	"github.com/sensenova/studio/inference/record"
	"github.com/sensenova/studio/inference/sampler"
)

// editFlags are the flags of `sensenova edit` (PIPELINES.md 4.1 and 7.1).
type editFlags struct {
	rt             *runtimeFlags
	smp            *samplerFlags
	par            *parityFlags
	prompt         string
	jsonl          string
	images         stringList
	output         string
	outputDir      string
	width, height  optInt
	targetPixels   int
	inputMaxPixels string
	doResize       bool
	batch          int
	think          bool
	compare        bool
}

// Editing's pixel budgets (upstream examples/editing/inference.py).
const (
	editTargetPixels   = 2048 * 2048 // default --target_pixels
	editInputMaxPixels = 2048 * 2048 // auto budget for ≤ 2 inputs
	editMinInputPixels = 512 * 512   // smallest --input_max_pixels
)

const editSynopsis = `--model_path DIR (--prompt TEXT --image PATH… | --jsonl FILE) [flags]

Picture editing, with the flags and outputs of upstream examples/editing/inference.py.
--image takes one or more paths (--image a.png b.png, as upstream) and may
also be repeated (--image a.png --image b.png). --prompt writes --output
(B > 1: <stem>_<i><suffix>); --jsonl writes <output_dir>/<NNNN>[_<type>]_<W>x<H>.png
per line (keys: prompt, image (path or list); optional width+height,
input_max_pixels, do_resize, type; seed is ignored, as upstream). Every PNG
carries its parameters in a "parameters" text chunk. Files are replaced
atomically if they exist.`

func runEdit(ctx context.Context, args []string, s Streams) error {
	fs := newFlags("edit", editSynopsis, s)
	f := &editFlags{}
	f.rt = addRuntimeFlags(fs, true)
	fs.StringVar(&f.prompt, "prompt", "", "the edit instruction (needs --image)")
	fs.StringVar(&f.jsonl, "jsonl", "", "JSONL file, one sample per line: {\"prompt\": …, \"image\": path or [paths], \"width\": W, \"height\": H, \"input_max_pixels\": N or \"auto\", \"do_resize\": bool, \"type\": name}")
	fs.Var(&f.images, "image", "input picture(s) of --prompt: `PATH [PATH …]`, or repeat the flag")
	fs.StringVar(&f.output, "output", "output.png", "output path with --prompt")
	fs.StringVar(&f.outputDir, "output_dir", "outputs", "output folder with --jsonl")
	fs.Var(&f.width, "width", "explicit output width, an `int` multiple of 32 (with --height; default: from the first input and --target_pixels)")
	fs.Var(&f.height, "height", "explicit output height, an `int` multiple of 32 (with --width)")
	fs.IntVar(&f.targetPixels, "target_pixels", editTargetPixels, "pixel count of the output size derived from the first input (aspect ratio kept)")
	fs.StringVar(&f.inputMaxPixels, "input_max_pixels", "auto", "pre-resize budget per input picture: auto (2048² for up to 2 inputs, else max(512², 2·2048²/n)) or an integer ≥ 262144")
	optionalBool(fs, &f.doResize, "do_resize", true, "pre-resize every input to ≈ --input_max_pixels (Lanczos) before the model's own preprocessing; --no-do_resize (also --do-resize / --no-do-resize) turns it off", "do-resize")
	f.smp = addSamplerFlags(fs, sampler.Edit)
	fs.IntVar(&f.batch, "batch_size", 1, "pictures per --prompt call, each from its own noise (--jsonl: 1)")
	fs.BoolVar(&f.think, "think", false, "let the model reason before editing; the text is printed and saved to <stem>_think.txt")
	fs.BoolVar(&f.compare, "compare", false, "also write <stem>_compare<suffix>: inputs and output side by side with the prompt below")
	f.par = addParityFlags(fs, parityNoise|parityInputs, "tensor noise, [B,3,H,W] (or [1,3,H,W])")
	if err := parse(fs, expandArgs(fs, args, map[string]int{"cfg_interval": nargsPair, "image": nargsOneOrMore})); err != nil {
		return err
	}
	set := setFlags(fs)
	g, err := f.check()
	if err != nil {
		return err
	}
	if f.jsonl != "" {
		return f.runJSONL(ctx, s, set, g)
	}
	return f.runPrompt(ctx, s, set, g)
}

func (f *editFlags) check() (sampler.Guidance, error) {
	if err := f.rt.check(); err != nil {
		return sampler.Guidance{}, err
	}
	switch {
	case (f.prompt == "") == (f.jsonl == ""):
		return sampler.Guidance{}, badUsage("give exactly one of --prompt and --jsonl")
	case f.prompt != "" && len(f.images) == 0:
		return sampler.Guidance{}, badUsage("--prompt requires at least one --image")
	case f.jsonl != "" && len(f.images) > 0:
		return sampler.Guidance{}, badUsage("--image is only valid with --prompt; in --jsonl mode, put \"image\" in each sample")
	case f.width.set != f.height.set:
		return sampler.Guidance{}, badUsage("--width and --height must be given together (or both omitted)")
	case f.targetPixels < 1:
		return sampler.Guidance{}, badUsage("--target_pixels %d: want a positive pixel count", f.targetPixels)
	case f.batch < 1 || f.batch > maxBatch:
		return sampler.Guidance{}, badUsage("--batch_size %d: want 1 to %d", f.batch, maxBatch)
	case f.jsonl != "" && (f.par.initNoise != "" || f.par.outputRaw != "" || f.par.jsonOut != "" || f.par.inputTensors != ""):
		return sampler.Guidance{}, badUsage("--init_noise, --output_raw, --input_tensors and --json_out work with --prompt (one call), not --jsonl")
	case len(f.images) > pipeline.MaxEditPictures:
		return sampler.Guidance{}, badUsage("%d input pictures: at most %d can be edited together", len(f.images), pipeline.MaxEditPictures)
	}
	if f.width.set {
		if err := checkSize("--width", "--height", f.width.v, f.height.v); err != nil {
			return sampler.Guidance{}, err
		}
	}
	if _, err := resolveInputBudget(f.inputMaxPixels, max(1, len(f.images))); err != nil {
		return sampler.Guidance{}, badUsage("%v", err)
	}
	return f.smp.guidance()
}

// resolveInputBudget is upstream's _resolve_input_max_pixels.
func resolveInputBudget(v string, n int) (int, error) {
	if v == "auto" {
		if n <= 2 {
			return editInputMaxPixels, nil
		}
		return max(editMinInputPixels, 2*editInputMaxPixels/n), nil
	}
	b, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return 0, fmt.Errorf("--input_max_pixels %q: want an integer or 'auto'", v)
	}
	if b < editMinInputPixels {
		return 0, fmt.Errorf("--input_max_pixels %d: want at least %d (512*512)", b, editMinInputPixels)
	}
	return b, nil
}

// editInputs are the pictures of one call, as the model receives them.
type editInputs struct {
	paths    []string
	pics     []pipeline.Picture
	shown    []*image.NRGBA // the pre-resized pictures (--compare, output size)
	budget   int            // pre-resize budget, 0 when off
	fromFile string         // --input_tensors
}

// loadEditInputs decodes, converts (alpha dropped, as upstream) and
// pre-resizes the pictures (PIPELINES.md 4.2), printing upstream's hint.
func loadEditInputs(s Streams, paths []string, budgetFlag string, doResize bool) (*editInputs, error) {
	budget, err := resolveInputBudget(budgetFlag, len(paths))
	if err != nil {
		return nil, err
	}
	if doResize {
		side := int(math.Sqrt(float64(budget)))
		fmt.Fprintf(s.Out, "[editing] %d input image(s); %s input_max_pixels=%d (about %dx%d per image, aspect ratio preserved).\n", len(paths), budgetFlag, budget, side, side)
	} else {
		fmt.Fprintln(s.Out, "[editing] resize-to-budget disabled; model preprocessing will still enforce its input limits.")
		budget = 0
	}
	in := &editInputs{paths: paths, budget: budget}
	for _, p := range paths {
		pic, err := imageproc.Load(p)
		if err != nil {
			return nil, err
		}
		img := pic.RGB(imageproc.DropAlpha)
		if budget > 0 {
			h, w, err := imageproc.SmartResize(img.Rect.Dy(), img.Rect.Dx(), imageproc.Factor, budget, budget)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", p, err)
			}
			if w != img.Rect.Dx() || h != img.Rect.Dy() {
				if img, err = imageproc.Resize(img, w, h, imageproc.Lanczos); err != nil {
					return nil, fmt.Errorf("%s: %w", p, err)
				}
			}
		}
		in.pics = append(in.pics, pipeline.Picture{Image: img})
		in.shown = append(in.shown, img)
	}
	return in, nil
}

// tensorEditInputs takes the pictures from --input_tensors instead.
func tensorEditInputs(s Streams, paths []string, file string) (*editInputs, error) {
	imgs, err := readInputTensors(file, len(paths))
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(s.Err, "note: the %d input picture(s) come from --input_tensors %s, already resized: --image files are not decoded and no pre-resize is done\n", len(imgs), file)
	in := &editInputs{paths: paths, shown: imgs, fromFile: file}
	for _, img := range imgs {
		in.pics = append(in.pics, pipeline.Picture{Image: img, Resized: true})
	}
	return in, nil
}

// outputSize is upstream's _resolve_output_size: explicit, or the first
// (pre-resized) input's aspect ratio at ≈ target pixels.
func outputSize(first *image.NRGBA, explicitW, explicitH, target int) (w, h int, err error) {
	if explicitW > 0 {
		return explicitW, explicitH, nil
	}
	h, w, err = imageproc.SmartResize(first.Rect.Dy(), first.Rect.Dx(), imageproc.Factor, target, target)
	return w, h, err
}

// editCall is one editing call and its results.
type editCall struct {
	prompt string
	in     *editInputs
	w, h   int
	batch  int
	res    *pipeline.Result
	imgs   []*image.NRGBA
	sec    float64
}

func (f *editFlags) edit(ctx context.Context, run *engineRun, g sampler.Guidance, c *editCall, noise []float32, label string, s Streams) error {
	prog := newProgress(s.Err)
	prog.label = label
	var err error
	c.sec, err = run.timed(c.w, c.h, c.batch, func(*int) error {
		var err error
		c.res, err = run.e.Edit(ctx, pipeline.EditRequest{
			Prompt: c.prompt, Pictures: c.in.pics, Think: f.think,
			ImageSettings: f.smp.settings(g, c.w, c.h, c.batch, f.smp.seed, noise),
		}, prog.handle)
		if err != nil {
			return err
		}
		c.imgs, err = toImages(c.res.Canvases, c.res.Width, c.res.Height)
		return err
	})
	prog.done()
	return err
}

func (f *editFlags) record(run *engineRun, g sampler.Guidance, c *editCall) record.Parameters {
	rec := f.smp.record(run, g, "edit", c.prompt, c.w, c.h, f.smp.seed)
	rec.Think, rec.Inputs, rec.InputMaxPixels, rec.InputTensors = f.think, c.in.paths, c.in.budget, c.in.fromFile
	rec.InitNoise = f.par.initNoise
	return rec
}

func (f *editFlags) runPrompt(ctx context.Context, s Streams, set map[string]bool, g sampler.Guidance) error {
	run, err := prepareEngine(f.rt, set, s)
	if err != nil {
		return err
	}
	defer run.Close()
	if set["output_dir"] {
		fmt.Fprintf(s.Err, "note: --output_dir is ignored with --prompt (as upstream); the picture goes to %s\n", pyPath(f.output))
	}
	var in *editInputs
	if f.par.inputTensors != "" {
		in, err = tensorEditInputs(s, f.images, f.par.inputTensors)
	} else {
		in, err = loadEditInputs(s, f.images, f.inputMaxPixels, f.doResize)
	}
	if err != nil {
		return err
	}
	c := &editCall{prompt: f.prompt, in: in, batch: f.batch}
	if c.w, c.h, err = outputSize(in.shown[0], f.width.v, f.height.v, f.targetPixels); err != nil {
		return err
	}
	if err := checkSize("output width", "output height", c.w, c.h); err != nil {
		return err
	}
	var noise []float32
	if f.par.initNoise != "" {
		nf, err := openNoise(f.par.initNoise)
		if err != nil {
			return err
		}
		noise, err = readNoise(nf, "noise", f.batch, c.w, c.h)
		nf.Close()
		if err != nil {
			return err
		}
	}
	var fonts *montage.Fonts
	if f.compare {
		fonts = findFonts(s, f.prompt)
	}
	if err := run.load(ctx, s); err != nil {
		return err
	}
	if err := f.edit(ctx, run, g, c, noise, "", s); err != nil {
		return err
	}
	for i, p := range batchPaths(f.output, len(c.imgs)) {
		rec := f.record(run, g, c)
		rec.BatchIndex = i
		if err := savePNG(p, c.imgs[i], rec); err != nil {
			return err
		}
		fmt.Fprintf(s.Out, "[saved] %s\n", pyPath(p))
	}
	if c.res.ThinkText != "" {
		fmt.Fprintf(s.Out, "[think] %s\n", c.res.ThinkText)
		dir, name := filepath.Split(f.output)
		stem, _ := pySplit(name)
		path := dir + stem + "_think.txt"
		if err := writeText(path, c.res.ThinkText); err != nil {
			return err
		}
		fmt.Fprintf(s.Out, "[saved] %s\n", pyPath(path))
	}
	if f.compare {
		if err := saveCompare(s, f.output, c, fonts, f.record(run, g, c)); err != nil {
			return err
		}
	}
	if f.par.outputRaw != "" {
		if err := writeRaw(f.par.outputRaw, []rawTensor{{name: "image", canvases: c.res.Canvases, h: c.h, w: c.w, batched: len(c.res.Canvases) > 1}}); err != nil {
			return err
		}
	}
	if f.par.jsonOut != "" {
		rep := jsonReport{Task: "edit", ImageCount: len(c.res.Canvases), Width: c.w, Height: c.h,
			Timings: jsonTimes{LoadSeconds: run.loadSeconds, GenerateSeconds: c.sec}}
		if f.think {
			rep.ThinkText, rep.ThinkIDs = strPtr(c.res.ThinkText), idsPtr(c.res.ThinkIDs)
		}
		if err := writeJSONReport(f.par.jsonOut, rep); err != nil {
			return err
		}
	}
	return run.report(s.Out)
}

// findFonts looks for the montage fonts once, warning when the prompt
// needs CJK glyphs that no installed font has.
func findFonts(s Streams, prompts ...string) *montage.Fonts {
	fonts := montage.FindFonts()
	if fonts.HasCJK() {
		return fonts
	}
	for _, p := range prompts {
		if montage.HasCJKText(p) {
			fmt.Fprintf(s.Err, "[compare] warning: the prompt has CJK characters but no CJK font was found (Noto Sans CJK or WenQuanYi); they will not render in the montage (font used: %s)\n", fonts.Name())
			break
		}
	}
	return fonts
}

// saveCompare writes the --compare montage of the first picture next to
// out as <stem>_compare<suffix> (PIPELINES.md 4.6).
func saveCompare(s Streams, out string, c *editCall, fonts *montage.Fonts, rec record.Parameters) error {
	m, err := montage.Compare(c.in.shown, c.imgs[0], c.prompt, fonts)
	if err != nil {
		return fmt.Errorf("--compare: %w", err)
	}
	path := withStemTail(out, "_compare")
	if err := savePNG(path, m, rec); err != nil {
		return err
	}
	fmt.Fprintf(s.Out, "[saved] %s\n", pyPath(path))
	return nil
}

// editSample is one JSONL line, resolved.
type editSample struct {
	src           jsonlSample
	prompt, tag   string
	paths         []string
	width, height int // explicit, 0 if none
	budget        string
	doResize      bool
}

func (f *editFlags) samples(s Streams) ([]editSample, error) {
	lines, err := readJSONL(f.jsonl)
	if err != nil {
		return nil, err
	}
	seedNoted := false
	out := make([]editSample, len(lines))
	for i, l := range lines {
		sm := editSample{src: l, budget: f.inputMaxPixels, doResize: f.doResize}
		if f.width.set {
			sm.width, sm.height = f.width.v, f.height.v
		}
		if sm.prompt, err = l.str("prompt"); err != nil {
			return nil, err
		}
		if !l.has("image") {
			return nil, l.errorf("missing key %q", "image")
		}
		if sm.paths, err = l.strings("image"); err != nil {
			return nil, err
		}
		switch n := len(sm.paths); {
		case n == 0:
			return nil, l.errorf("\"image\" is an empty list: editing needs at least one picture")
		case n > pipeline.MaxEditPictures:
			return nil, l.errorf("%d input pictures: at most %d can be edited together", n, pipeline.MaxEditPictures)
		}
		for _, p := range sm.paths {
			if _, err := os.Stat(p); err != nil {
				return nil, l.errorf("input picture: %v", err)
			}
		}
		if w, h, ok, err := l.size(); err != nil {
			return nil, err
		} else if ok {
			sm.width, sm.height = w, h
			if err := checkSize("width", "height", sm.width, sm.height); err != nil {
				return nil, l.errorf("%v", err)
			}
		}
		if l.has("input_max_pixels") {
			sm.budget = l.pyStr("input_max_pixels")
		}
		if _, err := resolveInputBudget(sm.budget, len(sm.paths)); err != nil {
			return nil, l.errorf("%v", err)
		}
		if l.has("do_resize") {
			if sm.doResize, err = l.coerceBool("do_resize"); err != nil {
				return nil, err
			}
		}
		if l.has("type") && l.truthy("type") {
			sm.tag = l.pyStr("type")
		}
		if l.has("seed") && !seedNoted {
			fmt.Fprintf(s.Err, "note: %s has \"seed\" keys: editing ignores them and uses --seed %d for every sample (as upstream)\n", f.jsonl, f.smp.seed)
			seedNoted = true
		}
		out[i] = sm
	}
	return out, nil
}

func (f *editFlags) runJSONL(ctx context.Context, s Streams, set map[string]bool, g sampler.Guidance) error {
	samples, err := f.samples(s)
	if err != nil {
		return err
	}
	var fonts *montage.Fonts
	if f.compare {
		prompts := make([]string, len(samples))
		for i, sm := range samples {
			prompts[i] = sm.prompt
		}
		fonts = findFonts(s, prompts...)
	}
	run, err := prepareEngine(f.rt, set, s)
	if err != nil {
		return err
	}
	defer run.Close()
	if err := run.load(ctx, s); err != nil {
		return err
	}
	if err := os.MkdirAll(f.outputDir, 0o755); err != nil {
		return err
	}
	for i, sm := range samples {
		in, err := loadEditInputs(s, sm.paths, sm.budget, sm.doResize)
		if err != nil {
			return sm.src.wrap(err)
		}
		c := &editCall{prompt: sm.prompt, in: in, batch: 1}
		if c.w, c.h, err = outputSize(in.shown[0], sm.width, sm.height, f.targetPixels); err != nil {
			return sm.src.wrap(err)
		}
		if err := checkSize("output width", "output height", c.w, c.h); err != nil {
			return sm.src.wrap(err)
		}
		if err := f.edit(ctx, run, g, c, nil, fmt.Sprintf("sample %d/%d", i+1, len(samples)), s); err != nil {
			return sm.src.wrap(err)
		}
		path := filepath.Join(f.outputDir, jsonlName(i, sm.tag, c.w, c.h))
		if err := savePNG(path, c.imgs[0], f.record(run, g, c)); err != nil {
			return err
		}
		if c.res.ThinkText != "" {
			if err := writeText(withSuffix(path, ".think.txt"), c.res.ThinkText); err != nil {
				return err
			}
		}
		if f.compare {
			if err := saveCompare(s, path, c, fonts, f.record(run, g, c)); err != nil {
				return err
			}
		}
	}
	return run.report(s.Out)
}
