package cli

import (
	"context"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"strings"

	"github.com/sensenova/studio/inference/imageproc"
	"github.com/sensenova/studio/inference/pipeline"
	"github.com/sensenova/studio/inference/sampler"
)

// t2iFlags are the flags of `sensenova t2i` (PIPELINES.md 3.1 and 7.1).
type t2iFlags struct {
	rt           *runtimeFlags
	smp          *samplerFlags
	par          *parityFlags
	prompt       string
	jsonl        string
	output       string
	outputDir    string
	width        int
	height       int
	resolution   string
	batch        int
	think        bool
	thinkOutput  string
	printThink   bool
	enhance      bool
	printEnhance bool
}

const t2iSynopsis = `--model_path DIR (--prompt TEXT | --jsonl FILE) [flags]

Text-to-image, with the flags and outputs of upstream examples/t2i/inference.py.
--prompt writes --output (B > 1: <stem>_<i><suffix>); --jsonl writes
<output_dir>/<NNNN>[_<type>]_<W>x<H>.png per line (keys: prompt; optional
width+height, seed, think, type). Every PNG carries its parameters in a
"parameters" text chunk. Files are replaced atomically if they exist.`

func runT2I(ctx context.Context, args []string, s Streams) error {
	fs := newFlags("t2i", t2iSynopsis, s)
	f := &t2iFlags{}
	f.rt = addRuntimeFlags(fs, true)
	fs.StringVar(&f.prompt, "prompt", "", "generate from this prompt (or use --jsonl)")
	fs.StringVar(&f.jsonl, "jsonl", "", "JSONL file, one sample per line: {\"prompt\": …, \"width\": W, \"height\": H, \"seed\": S, \"think\": bool, \"type\": name}")
	fs.StringVar(&f.output, "output", "output.png", "output path with --prompt")
	fs.StringVar(&f.outputDir, "output_dir", "outputs", "output folder with --jsonl (ignored with --prompt, as upstream)")
	fs.IntVar(&f.width, "width", 2048, "picture width, a multiple of 32 (JSONL fallback)")
	fs.IntVar(&f.height, "height", 2048, "picture height, a multiple of 32 (JSONL fallback)")
	fs.StringVar(&f.resolution, "resolution", "", "trained bucket instead of --width/--height (our addition): "+presetNames(t2iPresets)+"; --width and --height both given override it")
	f.smp = addSamplerFlags(fs, sampler.TextToImage)
	fs.IntVar(&f.batch, "batch_size", 1, "pictures per --prompt call, each from its own noise (--jsonl: 1)")
	fs.BoolVar(&f.think, "think", false, "let the model reason before it draws (JSONL key think overrides)")
	fs.StringVar(&f.thinkOutput, "think_output", "", "--prompt with --think: file of the reasoning text (default <output stem>.think.txt)")
	fs.BoolVar(&f.printThink, "print_think", false, "with --think: stream the reasoning to stderr and print it to stdout between --- think --- markers")
	fs.BoolVar(&f.enhance, "enhance", false, "rewrite the prompt with an external LLM first (not supported yet: an error)")
	fs.BoolVar(&f.printEnhance, "print_enhance", false, "with --enhance: print the rewritten prompt (not supported yet: an error)")
	f.par = addParityFlags(fs, parityNoise, "tensor noise, [B,3,H,W] (or [1,3,H,W])")
	if err := parse(fs, expandArgs(fs, args, map[string]int{"cfg_interval": nargsPair})); err != nil {
		return err
	}
	set := setFlags(fs)
	g, err := f.check(set)
	if err != nil {
		return err
	}
	if f.jsonl != "" {
		return f.runJSONL(ctx, s, set, g)
	}
	return f.runPrompt(ctx, s, set, g)
}

// check validates everything that can be checked before the model loads.
func (f *t2iFlags) check(set map[string]bool) (sampler.Guidance, error) {
	if err := f.rt.check(); err != nil {
		return sampler.Guidance{}, err
	}
	if (f.prompt == "") == (f.jsonl == "") {
		return sampler.Guidance{}, badUsage("give exactly one of --prompt and --jsonl")
	}
	if f.enhance || f.printEnhance {
		return sampler.Guidance{}, badUsage("--enhance/--print_enhance are not supported yet: the prompt rewrite calls an external LLM service, which this engine does not; rewrite the prompt yourself and pass it with --prompt")
	}
	if f.resolution != "" {
		p, err := findPreset(t2iPresets, f.resolution)
		if err != nil {
			return sampler.Guidance{}, err
		}
		switch {
		case set["width"] && set["height"]:
		case set["width"] || set["height"]:
			return sampler.Guidance{}, badUsage("--resolution %s with only one of --width/--height: give both to override the preset, or neither", f.resolution)
		default:
			f.width, f.height = p.w, p.h
		}
	}
	if f.batch < 1 || f.batch > maxBatch {
		return sampler.Guidance{}, badUsage("--batch_size %d: want 1 to %d", f.batch, maxBatch)
	}
	if f.jsonl != "" && (f.par.initNoise != "" || f.par.outputRaw != "" || f.par.jsonOut != "") {
		return sampler.Guidance{}, badUsage("--init_noise, --output_raw and --json_out work with --prompt (one call), not --jsonl")
	}
	if f.prompt != "" {
		if err := checkSize("--width", "--height", f.width, f.height); err != nil {
			return sampler.Guidance{}, err
		}
	}
	return f.smp.guidance()
}

func (f *t2iFlags) runPrompt(ctx context.Context, s Streams, set map[string]bool, g sampler.Guidance) error {
	if set["output_dir"] {
		fmt.Fprintf(s.Err, "note: --output_dir is ignored with --prompt (as upstream); the picture goes to %s\n", pyPath(f.output))
	}
	run, err := prepareEngine(f.rt, set, s)
	if err != nil {
		return err
	}
	defer run.Close()
	var noise []float32
	if f.par.initNoise != "" {
		nf, err := openNoise(f.par.initNoise)
		if err != nil {
			return err
		}
		noise, err = readNoise(nf, "noise", f.batch, f.width, f.height)
		nf.Close()
		if err != nil {
			return err
		}
	}
	if err := run.load(ctx, s); err != nil {
		return err
	}

	warnIfUnsupported(s.Out, f.width, f.height, t2iPresets)
	prog := newProgress(s.Err)
	prog.stream = f.printThink
	var res *pipeline.Result
	var imgs []*image.NRGBA
	sec, err := run.timed(f.width, f.height, f.batch, func(*int) error {
		var err error
		res, err = run.e.TextToImage(ctx, pipeline.TextToImageRequest{
			Prompt: f.prompt, Think: f.think,
			ImageSettings: f.smp.settings(g, f.width, f.height, f.batch, f.smp.seed, noise),
		}, prog.handle)
		if err != nil {
			return err
		}
		imgs, err = toImages(res.Canvases, res.Width, res.Height)
		return err
	})
	prog.done()
	if err != nil {
		return err
	}
	for i, p := range batchPaths(f.output, len(imgs)) {
		rec := f.smp.record(run, g, "t2i", f.prompt, f.width, f.height, f.smp.seed)
		rec.Think, rec.BatchIndex, rec.InitNoise = f.think, i, f.par.initNoise
		if err := savePNG(p, imgs[i], rec); err != nil {
			return err
		}
		fmt.Fprintf(s.Out, "[saved] %s\n", pyPath(p))
	}
	if f.think {
		path := f.thinkOutput
		if path == "" {
			path = withSuffix(f.output, ".think.txt")
		}
		if err := writeText(path, res.ThinkText); err != nil {
			return err
		}
		fmt.Fprintf(s.Out, "[saved] %s\n", pyPath(path))
		if f.printThink {
			fmt.Fprintf(s.Out, "--- think ---\n%s\n--- end think ---\n", res.ThinkText)
		}
	}
	if f.par.outputRaw != "" {
		if err := writeRaw(f.par.outputRaw, []rawTensor{{name: "image", canvases: res.Canvases, h: res.Height, w: res.Width, batched: len(res.Canvases) > 1}}); err != nil {
			return err
		}
	}
	if f.par.jsonOut != "" {
		rep := jsonReport{Task: "t2i", ImageCount: len(res.Canvases), Width: res.Width, Height: res.Height,
			Timings: jsonTimes{LoadSeconds: run.loadSeconds, GenerateSeconds: sec}}
		if f.think {
			rep.ThinkText, rep.ThinkIDs = strPtr(res.ThinkText), idsPtr(res.ThinkIDs)
		}
		if err := writeJSONReport(f.par.jsonOut, rep); err != nil {
			return err
		}
	}
	return run.report(s.Out)
}

// t2iSample is one JSONL line, resolved.
type t2iSample struct {
	src         jsonlSample
	prompt, tag string
	w, h        int
	seed        int64
	think       bool
}

func (f *t2iFlags) samples() ([]t2iSample, error) {
	lines, err := readJSONL(f.jsonl)
	if err != nil {
		return nil, err
	}
	out := make([]t2iSample, len(lines))
	for i, l := range lines {
		sm := t2iSample{src: l, w: f.width, h: f.height, seed: f.smp.seed, think: f.think}
		if sm.prompt, err = l.str("prompt"); err != nil {
			return nil, err
		}
		if w, h, ok, err := l.size(); err != nil {
			return nil, err
		} else if ok {
			sm.w, sm.h = w, h
		}
		if err := checkSize("width", "height", sm.w, sm.h); err != nil {
			return nil, l.errorf("%v", err)
		}
		if l.has("seed") {
			if sm.seed, err = l.pyInt("seed"); err != nil {
				return nil, err
			}
		}
		if l.has("think") {
			sm.think = l.truthy("think")
		}
		if l.has("type") && l.truthy("type") {
			sm.tag = l.pyStr("type")
		}
		out[i] = sm
	}
	return out, nil
}

func (f *t2iFlags) runJSONL(ctx context.Context, s Streams, set map[string]bool, g sampler.Guidance) error {
	samples, err := f.samples()
	if err != nil {
		return err
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
		warnIfUnsupported(s.Out, sm.w, sm.h, t2iPresets)
		prog := newProgress(s.Err)
		prog.label = fmt.Sprintf("sample %d/%d", i+1, len(samples))
		prog.stream = f.printThink
		var res *pipeline.Result
		var imgs []*image.NRGBA
		_, err := run.timed(sm.w, sm.h, 1, func(*int) error {
			var err error
			res, err = run.e.TextToImage(ctx, pipeline.TextToImageRequest{
				Prompt: sm.prompt, Think: sm.think,
				ImageSettings: f.smp.settings(g, sm.w, sm.h, 1, sm.seed, nil),
			}, prog.handle)
			if err != nil {
				return err
			}
			imgs, err = toImages(res.Canvases, res.Width, res.Height)
			return err
		})
		prog.done()
		if err != nil {
			return sm.src.wrap(err)
		}
		name := jsonlName(i, sm.tag, sm.w, sm.h)
		rec := f.smp.record(run, g, "t2i", sm.prompt, sm.w, sm.h, sm.seed)
		rec.Think = sm.think
		if err := savePNG(filepath.Join(f.outputDir, name), imgs[0], rec); err != nil {
			return err
		}
		if sm.think {
			thinkName := strings.ReplaceAll(name, ".png", ".think.txt")
			if err := writeText(filepath.Join(f.outputDir, thinkName), res.ThinkText); err != nil {
				return err
			}
			if f.printThink {
				fmt.Fprintf(s.Out, "[think] sample %d -> %s\n", i+1, thinkName)
			}
		}
	}
	return run.report(s.Out)
}

// toImages converts canvases to 8-bit pictures (PIPELINES.md 1.8); this is
// part of the timed call, as upstream's tensor → PIL conversion is.
func toImages(canvases [][]float32, w, h int) ([]*image.NRGBA, error) {
	out := make([]*image.NRGBA, len(canvases))
	for i, c := range canvases {
		img, err := imageproc.CanvasToImage(c, h, w)
		if err != nil {
			return nil, err
		}
		out[i] = img
	}
	return out, nil
}
