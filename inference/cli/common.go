package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/sensenova/studio/gpu"
	"github.com/sensenova/studio/inference/pipeline"
	"github.com/sensenova/studio/inference/profile"
	"github.com/sensenova/studio/inference/record"
	"github.com/sensenova/studio/inference/tensor"
)

// runtimeFlags are the loading and runtime flags every task shares
// (PIPELINES.md 7.1), with the upstream names and defaults except --device,
// whose default is auto (the best backend of this build) instead of cuda.
type runtimeFlags struct {
	modelPath   string
	device      string
	dtype       string
	deviceMap   string
	maxMemory   string
	vramMode    string
	fastFrac    float64
	fastHeadGiB float64
	fastActGiB  float64
	fastBudget  optFloat
	gguf        string
	attnBackend string
	profile     bool
	lora        string // t2i, edit, interleave only
}

// Choices of the runtime flags, as the upstream parsers list them.
var (
	dtypeChoices     = []string{"bfloat16", "float16", "float32"}
	attnChoices      = []string{"auto", "flash", "sdpa"}
	vramChoices      = []string{"full", "low", "balanced", "fast"}
	deviceMapChoices = []string{"auto", "balanced", "balanced_low_0", "sequential"}
)

func addRuntimeFlags(fs *flag.FlagSet, withLora bool) *runtimeFlags {
	r := &runtimeFlags{}
	fs.StringVar(&r.modelPath, "model_path", "", "the model folder: config.json, tokenizer files, model*.safetensors (required; hub ids are not fetched)")
	fs.StringVar(&r.device, "device", "auto", "compute device: auto (the first CUDA GPU when this build has CUDA and one is present, else the CPU), cpu, cuda or cuda:N")
	fs.StringVar(&r.dtype, "dtype", "bfloat16", "upstream weight dtype: bfloat16, float16 or float32 (the CPU backend always computes in float32)")
	fs.StringVar(&r.deviceMap, "device_map", "", "upstream Accelerate placement: auto, balanced, balanced_low_0 or sequential (no effect on the CPU; see the note printed)")
	fs.StringVar(&r.maxMemory, "max_memory", "", "per-device memory budget, JSON or KEY=VALUE pairs like 0=20GiB,cpu=64GiB: the GPU entry caps what the CUDA backend allocates (no effect on the CPU)")
	fs.StringVar(&r.vramMode, "vram_mode", "full", "layer offload: full, low, balanced or fast (no effect on the CPU)")
	fs.Float64Var(&r.fastFrac, "fast_vram_fraction", 0.90, "fast mode: VRAM budget as a fraction of the card, in (0, 1] (no effect on the CPU)")
	fs.Float64Var(&r.fastHeadGiB, "fast_vram_headroom_gib", 2, "fast mode: VRAM headroom in GiB, ≥ 0 (no effect on the CPU)")
	fs.Float64Var(&r.fastActGiB, "fast_activation_reserve_gib", 4, "fast mode: activation allowance in GiB, ≥ 0 (no effect on the CPU)")
	fs.Var(&r.fastBudget, "fast_vram_budget_gib", "fast mode: absolute VRAM budget in `GiB`, > 0 (no effect on the CPU)")
	fs.StringVar(&r.gguf, "gguf_checkpoint", "", "quantised .gguf weights (not supported yet: an error)")
	fs.StringVar(&r.attnBackend, "attn_backend", "auto", "attention kernel: auto, flash or sdpa (the CPU backend has one kernel)")
	fs.BoolVar(&r.profile, "profile", false, "print the timing and memory summary of PIPELINES.md 8 (on the CPU: wall times and the process's peak RSS)")
	if withLora {
		fs.StringVar(&r.lora, "lora_path", "", "a LoRA .safetensors to merge after loading (not supported yet: an error)")
	}
	return r
}

// check validates the runtime flags and rejects the ones this engine
// cannot honour yet (silently ignoring them would change the pictures).
func (r *runtimeFlags) check() error {
	if r.modelPath == "" {
		return badUsage("--model_path is required")
	}
	if err := oneOf("dtype", r.dtype, dtypeChoices...); err != nil {
		return err
	}
	if err := oneOf("attn_backend", r.attnBackend, attnChoices...); err != nil {
		return err
	}
	if err := oneOf("vram_mode", r.vramMode, vramChoices...); err != nil {
		return err
	}
	if r.deviceMap != "" {
		if err := oneOf("device_map", r.deviceMap, deviceMapChoices...); err != nil {
			return err
		}
	}
	if r.maxMemory != "" {
		if _, err := parseMaxMemory(r.maxMemory); err != nil {
			return badUsage("--max_memory %q: %v", r.maxMemory, err)
		}
	}
	switch {
	case !(r.fastFrac > 0 && r.fastFrac <= 1):
		return badUsage("--fast_vram_fraction %v: want 0 < value ≤ 1", r.fastFrac)
	case r.fastHeadGiB < 0:
		return badUsage("--fast_vram_headroom_gib %v: want a value ≥ 0", r.fastHeadGiB)
	case r.fastActGiB < 0:
		return badUsage("--fast_activation_reserve_gib %v: want a value ≥ 0", r.fastActGiB)
	case r.fastBudget.set && !(r.fastBudget.v > 0):
		return badUsage("--fast_vram_budget_gib %v: want a value > 0", r.fastBudget.v)
	}
	if _, err := parseDevice(r.device); err != nil {
		return err
	}
	if r.gguf != "" {
		return badUsage("--gguf_checkpoint is not supported yet: this engine loads the checkpoint's safetensors weights only, and quantised weights would give other pictures; leave it out to run the full-precision model")
	}
	if r.lora != "" {
		return badUsage("--lora_path is not supported yet: merging LoRA weights after loading is not implemented, and running without them would give other pictures; merge the LoRA into the checkpoint, or leave the flag out")
	}
	return nil
}

// computeDType is the precision the backend really computes in.
func computeDType(backend string) string {
	if backend == "cpu" {
		return "float32"
	}
	return "bfloat16"
}

// cpuNote is the one line telling what the accelerator-only flags that
// were given do here: nothing on the CPU, and what they map to.
func (r *runtimeFlags) cpuNote(set map[string]bool) string {
	var parts []string
	if set["dtype"] {
		parts = append(parts, fmt.Sprintf("--dtype %s is the upstream weight dtype; the CPU backend computes in float32", r.dtype))
	}
	if set["attn_backend"] {
		parts = append(parts, fmt.Sprintf("--attn_backend %s picks an upstream attention kernel; the CPU backend has one", r.attnBackend))
	}
	if set["vram_mode"] || set["fast_vram_fraction"] || set["fast_vram_headroom_gib"] || set["fast_activation_reserve_gib"] || set["fast_vram_budget_gib"] {
		parts = append(parts, fmt.Sprintf("--vram_mode %s (and the --fast_* budgets) stream decoder layers between host and GPU memory; on the CPU everything already is in host memory", r.vramMode))
	}
	if set["device_map"] || set["max_memory"] {
		parts = append(parts, "--device_map/--max_memory are Accelerate placement budgets upstream; on CUDA --max_memory bounds the engine's GPU memory (--vram_mode full) or the weights kept on the GPU (low, balanced, fast)")
	}
	if len(parts) == 0 {
		return ""
	}
	return "note: on the CPU these flags have no effect: " + strings.Join(parts, "; ") + "."
}

// parseMaxMemory parses --max_memory as upstream does (a JSON object, or
// comma-separated KEY=VALUE pairs; digit-only keys are GPU indices) and
// checks that every value is a size such as 20GiB, 512MB or 1000000.
func parseMaxMemory(s string) (map[string]int64, error) {
	raw := map[string]string{}
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "{") {
		var obj map[string]any
		if err := json.Unmarshal([]byte(s), &obj); err != nil {
			return nil, fmt.Errorf("not a JSON object: %v", err)
		}
		for k, v := range obj {
			raw[k] = fmt.Sprint(v)
		}
	} else {
		for _, item := range strings.Split(s, ",") {
			item = strings.TrimSpace(item)
			if item == "" {
				continue
			}
			k, v, ok := strings.Cut(item, "=")
			k, v = strings.TrimSpace(k), strings.TrimSpace(v)
			if !ok || k == "" || v == "" {
				return nil, fmt.Errorf("entry %q: want DEVICE=SIZE, e.g. 0=20GiB,cpu=64GiB", item)
			}
			raw[k] = v
		}
	}
	out := map[string]int64{}
	for k, v := range raw {
		if !isDigits(k) && k != "cpu" && k != "disk" && k != "mps" {
			return nil, fmt.Errorf("device %q: want a GPU index, cpu or disk", k)
		}
		n, err := parseBytes(v)
		if err != nil {
			return nil, fmt.Errorf("device %s: %v", k, err)
		}
		out[k] = n
	}
	return out, nil
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

var sizeRE = regexp.MustCompile(`^([0-9]+(?:\.[0-9]*)?)\s*([KMGT]i?B|B)?$`)

// parseBytes parses a memory size as Accelerate does: a plain number of
// bytes, or a number with B, KB/MB/GB/TB (powers of 1000) or
// KiB/MiB/GiB/TiB (powers of 1024).
func parseBytes(s string) (int64, error) {
	m := sizeRE.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, fmt.Errorf("size %q: want a number of bytes or a number with a unit (B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)", s)
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	mult := map[string]float64{"": 1, "B": 1, "KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12,
		"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40}[m[2]]
	return int64(v * mult), nil
}

// engineRun is an opened engine and what the outputs need to know about it.
type engineRun struct {
	rt          *runtimeFlags
	b           tensor.Backend
	e           *pipeline.Engine
	backend     string
	loadSeconds float64
	model       string // folder name
	configSHA   string
	prof        *profile.Profiler // nil without --profile
	weightBytes int64             // weights kept on the device when streaming (memoryPlan; 0: all)
}

// prepareEngine chooses the backend and prints upstream's [attn] line (to
// stdout) and the CPU note (to stderr); load then loads the model.
func prepareEngine(r *runtimeFlags, set map[string]bool, s Streams) (*engineRun, error) {
	budget := gpuBudget(r.device, r.maxMemory)
	b, name, err := openBackend(r.device, allocBudget(r.vramMode, budget))
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(s.Out, "[attn] backend=%s (effective=%s)\n", pyRepr(r.attnBackend), pyRepr(name))
	if note := r.cpuNote(set); note != "" && name == "cpu" {
		fmt.Fprintln(s.Err, note)
	}
	if a, ok := b.(gpu.Accelerator); ok && !strings.HasPrefix(a.Info().GEMM, "cuBLAS") {
		fmt.Fprintf(s.Err, "note: matrix products run on the %s, slower than cuBLAS\n", a.Info().GEMM)
	}
	run := &engineRun{rt: r, b: b, backend: name, weightBytes: weightBudget(b, r.vramMode, budget)}
	if r.profile {
		run.prof = profile.New()
		run.prof.SetConfig("vram_mode", r.vramMode)
		run.prof.SetConfig("attn_backend", name)
		run.prof.SetConfig("dtype", computeDType(name))
	}
	return run, nil
}

// load loads the model, timed as upstream's time_load (config, tokenizer,
// weights).
func (run *engineRun) load(ctx context.Context, s Streams) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	fmt.Fprintf(s.Err, "loading %s …\n", run.rt.modelPath)
	run.sync(true)
	start := time.Now()
	e, err := pipeline.OpenWith(run.rt.modelPath, run.b, pipeline.OpenOptions{Progress: loadProgress(s), DeviceBytes: run.weightBytes})
	if err != nil {
		return explainLoadError(err, run.rt.vramMode)
	}
	run.e = e
	if note := placementNote(e, run.b); note != "" {
		fmt.Fprintln(s.Err, note)
	}
	run.sync(false)
	run.loadSeconds = time.Since(start).Seconds()
	if run.prof != nil {
		run.prof.SetLoad(run.loadSeconds, run.memory())
	}
	if run.model, run.configSHA, err = record.ModelOf(run.rt.modelPath); err != nil {
		return err
	}
	return ctx.Err()
}

// Close releases the engine and the backend.
func (run *engineRun) Close() {
	if run.e != nil {
		run.e.Close()
	}
	closeBackend(run.b)
}

// sync waits for the device's queued work (timing is synchronised as
// upstream does), and with reset starts a new peak-memory measurement.
func (run *engineRun) sync(reset bool) {
	if a, ok := run.b.(gpu.Accelerator); ok {
		a.Sync()
		if reset {
			a.ResetPeaks()
		}
	}
}

// memory is the profile's peak-memory reading: the GPU allocator's peaks
// since the last reset and the process's peak RSS.
func (run *engineRun) memory() profile.Memory {
	m := profile.Memory{RSSBytes: profile.MaxRSS()}
	if a, ok := run.b.(gpu.Accelerator); ok {
		st := a.Memory()
		m.AllocatedBytes, m.ReservedBytes = st.PeakInUse, st.PeakReserved
	}
	return m
}

// loadProgress prints the weight upload every 10% to stderr.
func loadProgress(s Streams) func(done, total int64) {
	next := int64(10)
	return func(done, total int64) {
		if total <= 0 {
			return
		}
		for pct := done * 100 / total; pct >= next && next <= 100; next += 10 {
			fmt.Fprintf(s.Err, "  weights %3d%% (%.2f / %.2f GiB)\n", next, float64(done)/(1<<30), float64(total)/(1<<30))
		}
	}
}

// timed runs one generation call as upstream's time_generate does and
// records it for --profile: width×height×batch as the task reports it
// (batch may be corrected by fn through the returned pointer's value).
func (run *engineRun) timed(w, h, batch int, fn func(batch *int) error) (float64, error) {
	run.sync(true)
	start := time.Now()
	err := fn(&batch)
	run.sync(false)
	sec := time.Since(start).Seconds()
	if err == nil && run.prof != nil {
		run.prof.AddCall(profile.Call{Width: w, Height: h, Batch: batch, Seconds: sec, Peak: run.memory()})
	}
	return sec, err
}

// report prints the --profile summary.
func (run *engineRun) report(w io.Writer) error {
	if run.prof == nil {
		return nil
	}
	return run.prof.Write(w)
}

// pyRepr is Python's repr of a plain string (single quotes), as the
// upstream [attn] line prints it.
func pyRepr(s string) string {
	if strings.Contains(s, "'") && !strings.Contains(s, `"`) {
		return `"` + s + `"`
	}
	return "'" + strings.ReplaceAll(s, "'", `\'`) + "'"
}
