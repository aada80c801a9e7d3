package cli

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/sensenova/studio/inference/pipeline"
	"github.com/sensenova/studio/inference/record"
	"github.com/sensenova/studio/inference/sampler"
)

// samplerFlags are the flow-matching and guidance flags of the three
// picture-making tasks (PIPELINES.md 3.1, 4.1, 5.1), plus --t_eps.
type samplerFlags struct {
	cfgScale    float64
	imgCFGScale float64 // edit, interleave
	cfgNorm     string  // t2i, edit (interleave is always none)
	shift       float64
	interval    interval
	steps       int
	seed        int64
	tEps        float64
	mode        sampler.Mode
}

// maxSteps and maxBatch bound --num_steps and --batch_size far above any
// useful value, so that a typo is reported instead of exhausting memory.
const (
	maxSteps = 10000
	maxBatch = 64
)

// seedHelp says where the noise comes from.
const seedHelp = "seed of the engine's Go noise generator: the same seed gives the same picture with this engine (not upstream's PyTorch noise; use --init_noise for that)"

func addSamplerFlags(fs *flag.FlagSet, mode sampler.Mode) *samplerFlags {
	f := &samplerFlags{mode: mode, interval: interval{0, 1}}
	fs.Float64Var(&f.cfgScale, "cfg_scale", 4.0, "text guidance scale; ≤ 1 turns guidance off")
	if mode != sampler.TextToImage {
		fs.Float64Var(&f.imgCFGScale, "img_cfg_scale", 1.0, "image guidance scale (1.0 = image guidance off)")
	}
	switch mode {
	case sampler.TextToImage:
		fs.StringVar(&f.cfgNorm, "cfg_norm", "none", "guidance rescale: none, global, channel or cfg_zero_star")
	case sampler.Edit:
		fs.StringVar(&f.cfgNorm, "cfg_norm", "none", "guidance rescale: none, global or channel")
	default:
		f.cfgNorm = "none"
	}
	fs.Float64Var(&f.shift, "timestep_shift", 3.0, "timestep shift s of the schedule")
	fs.Var(&f.interval, "cfg_interval", "window of shifted timesteps with guidance: `LO HI` (two arguments, or one \"LO,HI\")")
	fs.IntVar(&f.steps, "num_steps", 50, "number of denoising steps")
	fs.Int64Var(&f.seed, "seed", 42, seedHelp)
	fs.Float64Var(&f.tEps, "t_eps", sampler.DefaultTEps, "floor of 1 − t in the velocity (parity knob; upstream hard-codes 0.02)")
	return f
}

// guidance validates the flags and returns the guidance settings.
func (f *samplerFlags) guidance() (sampler.Guidance, error) {
	norm, err := sampler.ParseNorm(f.cfgNorm)
	if err != nil {
		return sampler.Guidance{}, badUsage("--cfg_norm: %v", err)
	}
	if norm == sampler.NormCFGZeroStar && f.mode != sampler.TextToImage {
		return sampler.Guidance{}, badUsage("--cfg_norm cfg_zero_star is for text-to-image only: editing accepts none, global or channel (as upstream)")
	}
	switch {
	case f.steps < 1 || f.steps > maxSteps:
		return sampler.Guidance{}, badUsage("--num_steps %d: want 1 to %d", f.steps, maxSteps)
	case !(f.shift > 0):
		return sampler.Guidance{}, badUsage("--timestep_shift %v: want a number > 0", f.shift)
	case !(f.tEps > 0 && f.tEps < 1):
		return sampler.Guidance{}, badUsage("--t_eps %v: want a number in (0, 1)", f.tEps)
	case f.interval.lo > f.interval.hi:
		return sampler.Guidance{}, badUsage("--cfg_interval %v %v: LO must not exceed HI", f.interval.lo, f.interval.hi)
	}
	g := sampler.Guidance{Mode: f.mode, Scale: f.cfgScale, ImageScale: f.imgCFGScale, Norm: norm,
		IntervalLo: f.interval.lo, IntervalHi: f.interval.hi}
	if f.mode == sampler.TextToImage {
		g.ImageScale = 1
	}
	if err := g.Validate(); err != nil {
		return sampler.Guidance{}, badUsage("%v", err)
	}
	return g, nil
}

// settings returns the sampler settings of one call.
func (f *samplerFlags) settings(g sampler.Guidance, w, h, batch int, seed int64, noise []float32) pipeline.ImageSettings {
	return pipeline.ImageSettings{Width: w, Height: h, Steps: f.steps, Shift: f.shift, TEps: f.tEps,
		Guidance: g, Seed: seed, Noise: noise, Batch: batch}
}

// record returns the parameters record of one picture of a call; the
// caller fills in the task-specific fields.
func (f *samplerFlags) record(run *engineRun, g sampler.Guidance, task, prompt string, w, h int, seed int64) record.Parameters {
	imageOnly, uncond := g.Branches()
	return record.Parameters{
		Task: task, Prompt: prompt, Seed: seed, Steps: f.steps,
		CFGScale: g.Scale, ImgCFGScale: g.ImageScale, CFGNorm: string(g.Norm),
		CFGInterval: [2]float64{g.IntervalLo, g.IntervalHi}, TimestepShift: f.shift, TEps: f.tEps,
		Width: w, Height: h, ImageOnlyBranch: imageOnly, UncondBranch: uncond,
		Model: run.model, ModelConfigSHA256: run.configSHA,
	}
}

// preset is one trained resolution bucket.
type preset struct {
	name string
	w, h int
}

// t2iPresets are the text-to-image buckets (PIPELINES.md 3.2), default 1:1.
var t2iPresets = []preset{
	{"1:1", 2048, 2048}, {"16:9", 2720, 1536}, {"9:16", 1536, 2720}, {"3:2", 2496, 1664},
	{"2:3", 1664, 2496}, {"4:3", 2368, 1760}, {"3:4", 1760, 2368}, {"1:2", 1440, 2880},
	{"2:1", 2880, 1440}, {"1:3", 1152, 3456}, {"3:1", 3456, 1152},
}

// interleavePresets are the interleave buckets (PIPELINES.md 5.2), default
// 16:9.
var interleavePresets = []preset{
	{"1:1", 1536, 1536}, {"16:9", 2048, 1152}, {"9:16", 1152, 2048}, {"3:2", 1888, 1248},
	{"2:3", 1248, 1888}, {"4:3", 1760, 1312}, {"3:4", 1312, 1760}, {"1:2", 1088, 2144},
	{"2:1", 2144, 1088}, {"1:3", 864, 2592}, {"3:1", 2592, 864},
}

func presetNames(ps []preset) string {
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = p.name
	}
	return strings.Join(names, ", ")
}

func findPreset(ps []preset, name string) (preset, error) {
	for _, p := range ps {
		if p.name == name {
			return p, nil
		}
	}
	return preset{}, badUsage("--resolution %q: want one of %s", name, presetNames(ps))
}

// warnIfUnsupported prints upstream's warning for a size outside the
// trained buckets (to stdout, as upstream prints it).
func warnIfUnsupported(w io.Writer, width, height int, ps []preset) {
	for _, p := range ps {
		if p.w == width && p.h == height {
			return
		}
	}
	buckets := make([]string, len(ps))
	for i, p := range ps {
		buckets[i] = fmt.Sprintf("%s->%dx%d", p.name, p.w, p.h)
	}
	fmt.Fprintf(w, "[warn] (%dx%d) is outside the trained resolution set; quality may degrade. Supported buckets: %s\n", width, height, strings.Join(buckets, ", "))
}

// checkSize reports a picture size the model cannot make, naming the flags
// (or JSONL keys) the values came from and the nearest valid values.
func checkSize(wName, hName string, w, h int) error {
	err := pipeline.CheckSize(w, h)
	if err == nil {
		return nil
	}
	msg := err.Error()
	switch {
	case strings.HasPrefix(msg, "width"):
		msg = wName + msg[len("width"):]
	case strings.HasPrefix(msg, "height"):
		msg = hName + msg[len("height"):]
	default:
		msg = fmt.Sprintf("size %dx%d: %s", w, h, msg)
	}
	return badUsage("%s", msg)
}
