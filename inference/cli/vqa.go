package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/sensenova/studio/inference/imageproc"
	"github.com/sensenova/studio/inference/pipeline"
)

// vqaFlags are the flags of `sensenova vqa` (PIPELINES.md 6.1 and 7.1).
type vqaFlags struct {
	rt                *runtimeFlags
	par               *parityFlags
	image             string
	jsonl             string
	question          string
	output            optString
	outputDir         string
	maxNewTokens      int
	doSample          bool
	temperature       float64
	topP              float64
	topK              optInt
	repetitionPenalty optFloat
	seed              uint64
}

// hfDefaultTopK is Hugging Face generate's top_k when the generation config
// does not set one, which upstream's VQA relies on when --top_k is omitted.
const hfDefaultTopK = 50

const vqaSynopsis = `--model_path DIR (--image PATH --question TEXT | --jsonl FILE) [flags]

Visual question answering, with the flags and outputs of upstream
examples/vqa/inference.py. --image prints the answer (or writes --output);
--jsonl writes <output_dir>/answers.jsonl (keys: image, question; optional id)
and prints "[<id>] <first 80 characters>" per sample. Decoding is greedy
unless --do_sample; sampling draws from a generator seeded with --seed, so a
run can be repeated (upstream's is unseeded).`

func runVQA(ctx context.Context, args []string, s Streams) error {
	fs := newFlags("vqa", vqaSynopsis, s)
	f := &vqaFlags{}
	f.rt = addRuntimeFlags(fs, false)
	fs.StringVar(&f.image, "image", "", "the picture (or use --jsonl)")
	fs.StringVar(&f.jsonl, "jsonl", "", "JSONL file, one sample per line: {\"image\": path, \"question\": …, \"id\": …}")
	fs.StringVar(&f.question, "question", "", "the question about --image (required with --image)")
	fs.Var(&f.output, "output", "with --image: write the answer to this `file` (default: print it)")
	fs.StringVar(&f.outputDir, "output_dir", "outputs", "folder of answers.jsonl with --jsonl")
	fs.IntVar(&f.maxNewTokens, "max_new_tokens", 1024, "bound on the answer's tokens")
	fs.BoolVar(&f.doSample, "do_sample", false, "sample the answer instead of greedy decoding")
	fs.Float64Var(&f.temperature, "temperature", 0.7, "sampling temperature (with --do_sample)")
	fs.Float64Var(&f.topP, "top_p", 0.9, "nucleus sampling mass (with --do_sample)")
	fs.Var(&f.topK, "top_k", "keep the `k` most likely tokens (with --do_sample; default 50, Hugging Face's default that upstream inherits; 0 turns it off)")
	fs.Var(&f.repetitionPenalty, "repetition_penalty", "penalty (`float`) > 0 on tokens already generated (also when greedy; default none)")
	fs.Uint64Var(&f.seed, "seed", 42, "seed of the sampling generator (our addition; only with --do_sample)")
	f.par = addParityFlags(fs, parityInputs, "")
	if err := parse(fs, args); err != nil {
		return err
	}
	set := setFlags(fs)
	sampling, err := f.check()
	if err != nil {
		return err
	}
	if f.jsonl != "" {
		return f.runJSONL(ctx, s, set, sampling)
	}
	return f.runImage(ctx, s, set, sampling)
}

func (f *vqaFlags) check() (pipeline.TextSampling, error) {
	var ts pipeline.TextSampling
	if err := f.rt.check(); err != nil {
		return ts, err
	}
	switch {
	case (f.image == "") == (f.jsonl == ""):
		return ts, badUsage("give exactly one of --image and --jsonl")
	case f.image != "" && f.question == "":
		return ts, badUsage("--question is required when using --image")
	case f.maxNewTokens < 1:
		return ts, badUsage("--max_new_tokens %d: want at least 1", f.maxNewTokens)
	case f.repetitionPenalty.set && !(f.repetitionPenalty.v > 0):
		return ts, badUsage("--repetition_penalty %v: want a number > 0", f.repetitionPenalty.v)
	case f.jsonl != "" && (f.par.jsonOut != "" || f.par.inputTensors != ""):
		return ts, badUsage("--input_tensors and --json_out work with --image (one question), not --jsonl")
	}
	ts = pipeline.TextSampling{DoSample: f.doSample, Temperature: f.temperature, TopP: f.topP, TopK: hfDefaultTopK, Seed: f.seed}
	if f.topK.set {
		ts.TopK = f.topK.v
	}
	if f.repetitionPenalty.set {
		ts.RepetitionPenalty = f.repetitionPenalty.v
	}
	if err := ts.Validate(); err != nil {
		return ts, badUsage("%v", err)
	}
	return ts, nil
}

// vqaPicture loads a picture as load_image_native does: an RGBA picture is
// composited on white.
func vqaPicture(path string) (*pipeline.Picture, error) {
	pic, err := imageproc.Load(path)
	if err != nil {
		return nil, err
	}
	img := pic.RGB(imageproc.CompositeRGBAOnWhite)
	// Check the size before the model loads (the engine resizes it the same way).
	if _, _, err := imageproc.SmartResize(img.Rect.Dy(), img.Rect.Dx(), imageproc.Factor, imageproc.VQAMinPixels, imageproc.VQAMaxPixels); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &pipeline.Picture{Image: img}, nil
}

func (f *vqaFlags) answer(ctx context.Context, run *engineRun, pic *pipeline.Picture, question string, ts pipeline.TextSampling, label string, s Streams) (*pipeline.VQAResult, float64, error) {
	prog := newProgress(s.Err)
	prog.label, prog.tokenWord = label, "answer"
	var res *pipeline.VQAResult
	// Upstream times VQA as a 1×1 picture of batch 1.
	sec, err := run.timed(1, 1, 1, func(*int) error {
		var err error
		res, err = run.e.VQA(ctx, pipeline.VQARequest{Question: question, Picture: pic, MaxNewTokens: f.maxNewTokens, Sampling: ts}, prog.handle)
		return err
	})
	prog.done()
	return res, sec, err
}

func (f *vqaFlags) runImage(ctx context.Context, s Streams, set map[string]bool, ts pipeline.TextSampling) error {
	run, err := prepareEngine(f.rt, set, s)
	if err != nil {
		return err
	}
	defer run.Close()
	var pic *pipeline.Picture
	if f.par.inputTensors != "" {
		imgs, err := readInputTensors(f.par.inputTensors, 1)
		if err != nil {
			return err
		}
		pic = &pipeline.Picture{Image: imgs[0], Resized: true}
	} else if pic, err = vqaPicture(f.image); err != nil {
		return err
	}
	if err := run.load(ctx, s); err != nil {
		return err
	}
	res, sec, err := f.answer(ctx, run, pic, f.question, ts, "", s)
	if err != nil {
		return err
	}
	if f.output.set {
		if err := writeText(f.output.v, res.Answer); err != nil {
			return err
		}
		fmt.Fprintf(s.Out, "[saved] %s\n", pyPath(f.output.v))
	} else {
		fmt.Fprintln(s.Out, res.Answer)
	}
	if f.par.jsonOut != "" {
		rep := jsonReport{Task: "vqa", Answer: strPtr(res.Answer), AnswerIDs: idsPtr(res.IDs),
			Timings: jsonTimes{LoadSeconds: run.loadSeconds, GenerateSeconds: sec}}
		if err := writeJSONReport(f.par.jsonOut, rep); err != nil {
			return err
		}
	}
	return run.report(s.Out)
}

// vqaSample is one JSONL line, resolved.
type vqaSample struct {
	src             jsonlSample
	image, question string
	id              json.RawMessage // as given ("" when absent)
	label           string          // str(id) or "?"
}

func (f *vqaFlags) samples() ([]vqaSample, error) {
	lines, err := readJSONL(f.jsonl)
	if err != nil {
		return nil, err
	}
	out := make([]vqaSample, len(lines))
	for i, l := range lines {
		sm := vqaSample{src: l, id: json.RawMessage(`""`), label: "?"}
		if sm.image, err = l.str("image"); err != nil {
			return nil, err
		}
		if _, err := os.Stat(sm.image); err != nil {
			return nil, l.errorf("image: %v", err)
		}
		if sm.question, err = l.str("question"); err != nil {
			return nil, err
		}
		if l.has("id") {
			sm.id = l.keys["id"]
			if l.truthy("id") {
				sm.label = l.pyStr("id")
			}
		}
		out[i] = sm
	}
	return out, nil
}

func (f *vqaFlags) runJSONL(ctx context.Context, s Streams, set map[string]bool, ts pipeline.TextSampling) error {
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
	outFile := filepath.Join(f.outputDir, "answers.jsonl")
	var answers strings.Builder
	for i, sm := range samples {
		pic, err := vqaPicture(sm.image)
		if err != nil {
			return sm.src.wrap(err)
		}
		res, _, err := f.answer(ctx, run, pic, sm.question, ts, fmt.Sprintf("sample %d/%d", i+1, len(samples)), s)
		if err != nil {
			return sm.src.wrap(err)
		}
		answers.WriteString(pyObject{{"id", sm.id}, {"image", pyPath(sm.image)}, {"question", sm.question}, {"answer", res.Answer}}.String() + "\n")
		head, more := res.Answer, ""
		if r := []rune(res.Answer); len(r) > 80 {
			head, more = string(r[:80]), "..."
		}
		fmt.Fprintf(s.Out, "[%s] %s%s\n", sm.label, head, more)
		// Written after every sample, so an interrupted run keeps the
		// answers it has (upstream writes the file once at the end).
		if err := writeText(outFile, answers.String()); err != nil {
			return err
		}
	}
	fmt.Fprintf(s.Out, "[saved] %s\n", pyPath(outFile))
	return run.report(s.Out)
}
