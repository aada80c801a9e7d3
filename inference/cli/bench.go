package cli

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sensenova/studio/gpu"
	"github.com/sensenova/studio/inference/checkpoint"
	"github.com/sensenova/studio/inference/demo"
	"github.com/sensenova/studio/inference/model"
	"github.com/sensenova/studio/inference/pipeline"
	"github.com/sensenova/studio/inference/profile"
	"github.com/sensenova/studio/inference/prompt"
	"github.com/sensenova/studio/inference/sampler"
	"github.com/sensenova/studio/inference/tensor"
	"github.com/sensenova/studio/inference/tokenizer"
)

const benchSynopsis = `[--config NAME|PATH] [--device D] [--width W --height H] [--num_steps N]
       [--cfg_scale S] [--timestep_shift S] [--repeats R] [--prefix_tokens N] [--op_steps N]

Builds the network of a config with random bf16 weights made on the device
(no checkpoint needed) and times text-to-image through the real pipeline:
the prompt prefill of both guidance branches, every denoising step, the
head and the final read-back. Prints each run's time, time per step,
achieved TFLOP/s and peak memory, the --profile summary of the upstream
scripts, and, on a GPU, the device time per op (CUDA events, from a
separate run of --op_steps steps). The defaults are the upstream seed's
first command: SenseNova-U1-8B-MoT, 2048×2048, 50 steps, CFG 4, shift 3.`

// benchMLPHeadWidth is the MLP head's inner width, hard-coded upstream
// (MODEL.md 2), which a config does not state.
const benchMLPHeadWidth = 4096

type benchFlags struct {
	config, device, maxMemory, tokenizer string
	vramMode                             string
	width, height, steps, repeats        int
	cfgScale, shift                      float64
	prefixTokens, uncondTokens, opSteps  int
	decodeTokens                         int
	seed                                 int64
}

func runBench(ctx context.Context, args []string, s Streams) error {
	fs := newFlags("bench", benchSynopsis, s)
	f := &benchFlags{}
	fs.StringVar(&f.config, "config", "SenseNova-U1-8B-MoT", "a reference config ("+strings.Join(checkpoint.ReferenceConfigNames(), ", ")+"), a config.json or a model folder")
	fs.StringVar(&f.device, "device", "auto", "compute device: auto, cpu, cuda or cuda:N")
	fs.StringVar(&f.maxMemory, "max_memory", "", "GPU memory budget, e.g. 0=35GiB (as the task commands take it)")
	fs.StringVar(&f.vramMode, "vram_mode", "full", "full (every weight on the GPU) or low, balanced, fast: weights beyond --max_memory stay in host memory and stream in for each use")
	fs.StringVar(&f.tokenizer, "tokenizer", "", "tokenizer folder for the special-token ids (default: the built-in demo model's)")
	fs.IntVar(&f.width, "width", 2048, "picture width in pixels (a multiple of 32)")
	fs.IntVar(&f.height, "height", 2048, "picture height in pixels (a multiple of 32)")
	fs.IntVar(&f.steps, "num_steps", 50, "denoising steps")
	fs.Float64Var(&f.cfgScale, "cfg_scale", 4, "text guidance scale (1: no unconditional branch)")
	fs.Float64Var(&f.shift, "timestep_shift", 3, "timestep shift")
	fs.IntVar(&f.repeats, "repeats", 1, "timed runs")
	fs.IntVar(&f.prefixTokens, "prefix_tokens", 269, "tokens of the conditional prompt prefix (269: the t2i system prompt with a short user prompt)")
	fs.IntVar(&f.uncondTokens, "uncond_tokens", 10, "tokens of the unconditional prompt prefix")
	fs.IntVar(&f.opSteps, "op_steps", 5, "steps of the extra run timed per op on a GPU (0: none)")
	fs.IntVar(&f.decodeTokens, "decode_tokens", 0, "also time greedy decoding of this many tokens after the prompt prefix (reasoning and answers; 0: none)")
	fs.Int64Var(&f.seed, "seed", 42, "noise seed")
	if err := parse(fs, args); err != nil {
		return err
	}
	switch {
	case f.width <= 0 || f.height <= 0 || f.width%32 != 0 || f.height%32 != 0:
		return badUsage("--width %d --height %d: want positive multiples of 32", f.width, f.height)
	case f.steps < 1 || f.repeats < 1 || f.opSteps < 0 || f.decodeTokens < 0:
		return badUsage("--num_steps %d, --repeats %d, --op_steps %d, --decode_tokens %d: want at least 1, 1, 0 and 0", f.steps, f.repeats, f.opSteps, f.decodeTokens)
	case f.prefixTokens < 2 || f.uncondTokens < 2:
		return badUsage("--prefix_tokens %d, --uncond_tokens %d: want at least 2 (a start token and <img>)", f.prefixTokens, f.uncondTokens)
	}
	if f.maxMemory != "" {
		if _, err := parseMaxMemory(f.maxMemory); err != nil {
			return badUsage("--max_memory %q: %v", f.maxMemory, err)
		}
	}
	if err := oneOf("vram_mode", f.vramMode, vramChoices...); err != nil {
		return err
	}
	cfg, err := benchConfig(f.config)
	if err != nil {
		return err
	}
	tok, err := benchTokenizer(f.tokenizer)
	if err != nil {
		return err
	}
	budget := gpuBudget(f.device, f.maxMemory)
	b, name, err := openBackend(f.device, allocBudget(f.vramMode, budget))
	if err != nil {
		return err
	}
	defer closeBackend(b)
	run := &engineRun{b: b, backend: name, prof: profile.New()}
	run.prof.SetConfig("vram_mode", f.vramMode)
	run.prof.SetConfig("attn_backend", name)
	run.prof.SetConfig("dtype", computeDType(name))

	fmt.Fprintf(s.Out, "bench: %s (%d layers, hidden %d, %d/%d heads of %d) on %s, random weights\n",
		f.config, cfg.LLM.NumHiddenLayers, cfg.LLM.HiddenSize, cfg.LLM.NumAttentionHeads, cfg.LLM.NumKeyValueHeads, cfg.LLM.HeadDim, benchDeviceName(b, name))
	run.sync(true)
	start := time.Now()
	m, err := model.BuildWith(cfg, newRandomSource(cfg, b), b, model.BuildOptions{DeviceBytes: weightBudget(b, f.vramMode, budget)})
	if err != nil {
		return err
	}
	if p := m.Placement(); p.HostTensors > 0 {
		fmt.Fprintf(s.Out, "weights: %.2f GiB on the device, %.2f GiB (%d tensors) in host memory, streamed in for each use\n",
			float64(p.DeviceBytes)/(1<<30), float64(p.HostBytes)/(1<<30), p.HostTensors)
	}
	run.sync(false)
	run.loadSeconds = time.Since(start).Seconds()
	run.prof.SetLoad(run.loadSeconds, run.memory())
	fmt.Fprintf(s.Out, "weights: %.2f GiB made in %.3f s\n", float64(weightBytes(cfg))/(1<<30), run.loadSeconds)

	e, err := pipeline.NewEngine(m, tok)
	if err != nil {
		return err
	}
	cond, uncond := benchPrompt(f.prefixTokens, e.IDs), benchPrompt(f.uncondTokens, e.IDs)
	settings := func(steps int) pipeline.ImageSettings {
		return pipeline.ImageSettings{
			Width: f.width, Height: f.height, Steps: steps, Shift: f.shift, Seed: f.seed,
			Guidance: sampler.Guidance{Scale: f.cfgScale, ImageScale: 1, Norm: sampler.Norm("none"), IntervalLo: 0, IntervalHi: 1},
		}
	}
	branches := 1
	if f.cfgScale != 1 {
		branches = 2
	}
	flops := benchFLOPs(cfg, f.width/32*(f.height/32), f.prefixTokens, f.uncondTokens, branches) * float64(f.steps)
	fmt.Fprintf(s.Out, "task: t2i %dx%d, %d steps, cfg %g, shift %g, prefix %d + %d tokens, %.4g TFLOP per run\n",
		f.width, f.height, f.steps, f.cfgScale, f.shift, f.prefixTokens, f.uncondTokens, flops/1e12)

	for r := 1; r <= f.repeats; r++ {
		sec, err := run.timed(f.width, f.height, 1, func(*int) error {
			_, err := e.TextToImageTokens(ctx, cond, uncond, settings(f.steps), nil)
			return err
		})
		if err != nil {
			return err
		}
		peak := run.prof.Calls()[r-1].Peak
		mem := fmt.Sprintf("peak %.2f GiB allocated / %.2f GiB reserved", float64(peak.AllocatedBytes)/(1<<30), float64(peak.ReservedBytes)/(1<<30))
		if name == "cpu" {
			mem = fmt.Sprintf("peak RSS %.2f GiB", float64(peak.RSSBytes)/(1<<30))
		}
		fmt.Fprintf(s.Out, "run %d: %.3f s, %.1f ms/step, %.3g TFLOP/s, %s\n", r, sec, 1000*sec/float64(f.steps), flops/sec/1e12, mem)
	}
	if err := run.prof.Write(s.Out); err != nil {
		return err
	}
	if f.decodeTokens > 0 {
		// Prefill and one token, then prefill and all of them: the
		// difference is the decoding alone.
		prompt := cond[:len(cond)-1]
		decode := func(n int) (float64, error) {
			run.sync(false)
			start := time.Now()
			_, err := e.DecodeTokens(ctx, prompt, n)
			run.sync(false)
			return time.Since(start).Seconds(), err
		}
		first, err := decode(1)
		if err != nil {
			return err
		}
		all, err := decode(f.decodeTokens)
		if err != nil {
			return err
		}
		fmt.Fprintf(s.Out, "decode: %d tokens after a %d-token prompt: prefill and first token %.3f s", f.decodeTokens, len(prompt), first)
		if f.decodeTokens > 1 && all > first {
			fmt.Fprintf(s.Out, ", then %.2f ms/token, %.1f tokens/s", 1000*(all-first)/float64(f.decodeTokens-1), float64(f.decodeTokens-1)/(all-first))
		}
		fmt.Fprintln(s.Out)
	}
	if a, ok := b.(gpu.Accelerator); ok && f.opSteps > 0 {
		a.TimeOps(true)
		_, err := e.TextToImageTokens(ctx, cond, uncond, settings(f.opSteps), nil)
		times := a.OpTimes()
		a.TimeOps(false)
		if err != nil {
			return err
		}
		writeOpTimes(s.Out, times, f.opSteps)
	}
	return nil
}

// benchConfig reads a reference config by name, a config.json or a model
// folder's config.
func benchConfig(arg string) (*checkpoint.Config, error) {
	if slices.Contains(checkpoint.ReferenceConfigNames(), arg) {
		data, err := checkpoint.ReferenceConfig(arg)
		if err != nil {
			return nil, err
		}
		return checkpoint.ParseConfig(data, arg)
	}
	st, err := os.Stat(arg)
	if err != nil {
		return nil, badUsage("--config %q: not a reference config (%s) nor a file or folder: %v", arg, strings.Join(checkpoint.ReferenceConfigNames(), ", "), err)
	}
	if st.IsDir() {
		return checkpoint.LoadConfig(arg)
	}
	data, err := os.ReadFile(arg)
	if err != nil {
		return nil, err
	}
	return checkpoint.ParseConfig(data, arg)
}

// benchTokenizer loads the tokenizer whose special-token ids the prompt
// uses: the given folder, or the demo model's (made on first use).
func benchTokenizer(dir string) (*tokenizer.Tokenizer, error) {
	if dir == "" {
		root, err := demo.DefaultCacheRoot()
		if err != nil {
			return nil, err
		}
		if dir, err = demo.Ensure(root); err != nil {
			return nil, fmt.Errorf("making the demo model for its tokenizer: %w", err)
		}
	}
	return tokenizer.Load(dir)
}

func benchDeviceName(b tensor.Backend, name string) string {
	if a, ok := b.(gpu.Accelerator); ok {
		d := a.Info()
		desc := fmt.Sprintf("%s (%s, %.0f GiB, sm_%d%d)", name, d.Name, float64(d.TotalBytes)/(1<<30), d.ComputeMajor, d.ComputeMinor)
		if d.GEMM != "" {
			desc += "; GEMM: " + d.GEMM
		}
		return desc
	}
	return name
}

// benchPrompt is a pre-tokenized prompt of n ids: <|im_start|>, ordinary
// ids, and <img> last, as a real prompt ends.
func benchPrompt(n int, ids prompt.SpecialIDs) []int {
	special := map[int]bool{}
	for _, id := range []int{ids.ImStart, ids.ImEnd, ids.ImgStart, ids.ImgEnd, ids.ImgContext, ids.Think, ids.EndThink} {
		special[id] = true
	}
	out := []int{ids.ImStart}
	for id := 0; len(out) < n-1; id = (id + 7) % 256 {
		if !special[id] {
			out = append(out, id)
		}
	}
	return append(out, ids.ImgStart)
}

// benchFLOPs counts the multiply-adds (×2) of one denoising step: for each
// branch, every layer's projections and MLP over the image tokens and
// their attention over prefix + image, and the MLP head.
func benchFLOPs(cfg *checkpoint.Config, tokens, condPrefix, uncondPrefix, branches int) float64 {
	l := cfg.LLM
	hd, qd, kvd, inter := float64(l.HiddenSize), float64(cfg.QDim()), float64(cfg.KVDim()), float64(l.IntermediateSize)
	n := float64(tokens)
	perLayerLinear := 2 * n * (hd*qd + 2*hd*kvd + qd*hd + 3*hd*inter)
	head := 2 * n * (hd*benchMLPHeadWidth + benchMLPHeadWidth*float64(cfg.FMOutputWidth()))
	total := 0.0
	for br, prefix := range []int{condPrefix, uncondPrefix} {
		if br >= branches {
			break
		}
		attn := 4 * n * (float64(prefix) + n) * float64(l.NumAttentionHeads*l.HeadDim)
		total += float64(l.NumHiddenLayers)*(perLayerLinear+attn) + head
	}
	return total
}

// weightBytes is the bf16 size of every tensor the config implies.
func weightBytes(cfg *checkpoint.Config) int64 {
	var n int64
	for _, spec := range checkpoint.ExpectedTensors(cfg) {
		e := int64(2)
		for _, d := range resolveWidth(spec.Shape) {
			e *= int64(d)
		}
		n += e
	}
	return n
}

func resolveWidth(shape []int64) []int {
	out := make([]int, len(shape))
	for i, d := range shape {
		if d == checkpoint.DimFMHeadWidth {
			d = benchMLPHeadWidth
		}
		out[i] = int(d)
	}
	return out
}

// randomSource makes every weight a config implies: norm weights are ones,
// everything else uniform with standard deviation 0.02, made on the device
// when the backend is a GPU (no host copy of 33 GiB), on the host for the
// CPU.
type randomSource struct {
	b     tensor.Backend
	specs map[string][]int
	rng   *rand.Rand
}

func newRandomSource(cfg *checkpoint.Config, b tensor.Backend) *randomSource {
	src := &randomSource{b: b, specs: map[string][]int{}, rng: rand.New(rand.NewPCG(1, 2))}
	for _, spec := range checkpoint.ExpectedTensors(cfg) {
		if !spec.Optional {
			src.specs[spec.Name] = resolveWidth(spec.Shape)
		}
	}
	return src
}

func (r *randomSource) Has(name string) bool { _, ok := r.specs[name]; return ok }

// Size implements model.Sizer: bf16 bytes.
func (r *randomSource) Size(name string) (int64, bool) {
	shape, ok := r.specs[name]
	if !ok {
		return 0, false
	}
	n := int64(2)
	for _, d := range shape {
		n *= int64(d)
	}
	return n, true
}

func (r *randomSource) Load(b tensor.Backend, name string) (tensor.Tensor, error) {
	shape, ok := r.specs[name]
	if !ok {
		return nil, fmt.Errorf("bench: no tensor %q in the config's layout", name)
	}
	isNorm := strings.Contains(name, "norm") && strings.HasSuffix(name, ".weight")
	if a, ok := b.(gpu.Accelerator); ok {
		if isNorm {
			return a.Filled(1, shape...), nil
		}
		return a.RandomWeight(0.02, int64(len(r.specs))+r.rng.Int64N(1<<40), shape...), nil
	}
	n := 1
	for _, d := range shape {
		n *= d
	}
	v := make([]float32, n)
	for i := range v {
		if isNorm {
			v[i] = 1
		} else {
			v[i] = float32((2*r.rng.Float64() - 1) * 0.02 * 1.7320508)
		}
	}
	return b.FromFloat32(v, shape...), nil
}

// writeOpTimes prints the per-op device times of a run of steps steps.
func writeOpTimes(w io.Writer, times []gpu.OpTime, steps int) {
	var total float64
	for _, t := range times {
		total += t.Seconds
	}
	fmt.Fprintf(w, "\ndevice time per op (CUDA events, a separate run of %d steps, %.3f s in ops):\n", steps, total)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "op\tcalls\tseconds\tms/step\tshare\t")
	for _, t := range times {
		fmt.Fprintf(tw, "%s\t%d\t%.3f\t%.2f\t%.1f%%\t\n", t.Op, t.Calls, t.Seconds, 1000*t.Seconds/float64(steps), 100*t.Seconds/total)
	}
	tw.Flush()
}
