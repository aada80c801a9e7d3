package cli

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/sensenova/studio/gpu"
	"github.com/sensenova/studio/inference/pipeline"
	"github.com/sensenova/studio/inference/tensor"
	"github.com/sensenova/studio/internal/version"
)

// deviceSpec is a parsed --device.
type deviceSpec struct {
	kind  string // "auto", "cpu" or "cuda"
	index int    // CUDA ordinal (cuda:N); 0 for a bare "cuda"
}

func parseDevice(s string) (deviceSpec, error) {
	switch {
	case s == "auto" || s == "cpu":
		return deviceSpec{kind: s}, nil
	case s == "cuda":
		return deviceSpec{kind: "cuda"}, nil
	case strings.HasPrefix(s, "cuda:"):
		n, err := strconv.Atoi(s[len("cuda:"):])
		if err == nil && n >= 0 {
			return deviceSpec{kind: "cuda", index: n}, nil
		}
	}
	return deviceSpec{}, badUsage("--device %q: want auto, cpu, cuda or cuda:N (N = 0, 1, …)", s)
}

// openBackend returns the tensor backend of --device and the name the
// profile and the [attn] line report for it ("cpu" or "cuda:N"). This is
// the one place a backend is chosen. auto takes the first CUDA device of
// compute capability 8.0 or newer when the build has CUDA, else the CPU.
// budget caps the GPU memory the backend allocates (0: the whole card).
func openBackend(device string, budget int64) (tensor.Backend, string, error) {
	d, err := parseDevice(device)
	if err != nil {
		return nil, "", err
	}
	switch d.kind {
	case "cpu":
		return tensor.NewCPU(0), "cpu", nil
	case "auto":
		inv, err := gpu.Detect()
		if err != nil {
			return tensor.NewCPU(0), "cpu", nil
		}
		for _, dev := range inv.Devices {
			if dev.ComputeMajor >= 8 {
				d.index = dev.Index
				break
			}
			d.index = -1
		}
		if len(inv.Devices) == 0 || d.index < 0 {
			return tensor.NewCPU(0), "cpu", nil
		}
	}
	a, err := gpu.Open(d.index, budget)
	if errors.Is(err, gpu.ErrNoCUDA) {
		return nil, "", fmt.Errorf("--device %s: this engine (%s %s) was built without CUDA; build it with `make build-cuda` (go build -tags cuda), or use --device cpu", device, version.Name, version.Version)
	}
	if err != nil {
		return nil, "", fmt.Errorf("--device %s: %w", device, err)
	}
	return a, a.Name(), nil
}

// closeBackend releases a GPU backend's memory and context.
func closeBackend(b tensor.Backend) {
	if a, ok := b.(gpu.Accelerator); ok {
		a.Close()
	}
}

// gpuBudget is the --max_memory entry of the GPU that --device names, in
// bytes (0: none given).
func gpuBudget(device, maxMemory string) int64 {
	if maxMemory == "" {
		return 0
	}
	d, err := parseDevice(device)
	if err != nil {
		return 0
	}
	m, err := parseMaxMemory(maxMemory)
	if err != nil {
		return 0
	}
	return m[strconv.Itoa(d.index)]
}

// memoryPlan is how a --vram_mode and a GPU memory budget (--max_memory,
// bytes; 0 when none) divide a card of cardBytes: the budget of the
// backend's allocator and the bytes of weights kept on the device (0: all
// of them). full keeps every weight on the device and the budget bounds
// everything the engine allocates. low, balanced and fast stream: weights
// stay on the device up to the budget (as upstream's --max_memory bounds
// weights, not activations) and the rest are copied in from host memory
// for each use, the allocator bounded only by the card. Without a budget,
// low keeps 2 GiB of weights on the device and balanced or fast all the
// card but streamReserve. Either way the weights leave streamReserve of the
// card free for activations, the KV cache and the copies in flight (a
// 2048² picture needs about 2.5 GiB besides its weights), so the presets'
// budgets (7 GiB on an 8 GB card) cannot run the card out of memory.
func memoryPlan(vramMode string, budget, cardBytes int64) (allocBudget, weightBytes int64) {
	if vramMode == "" || vramMode == "full" {
		return budget, 0
	}
	w := budget
	switch {
	case w > 0:
	case vramMode == "low":
		w = 2 << 30
	default:
		w = cardBytes - streamReserve
	}
	if cardBytes > 0 {
		w = min(w, cardBytes-streamReserve)
	}
	return 0, max(w, minDeviceWeights)
}

// streamReserve is the card memory streaming leaves to everything but the
// weights kept there; minDeviceWeights the least kept (the small fm modules
// and norms, and a few layers' worth).
const (
	streamReserve    = 3 << 30
	minDeviceWeights = 512 << 20
)

// weightBudget applies memoryPlan to an opened backend: the device bytes
// for pipeline.OpenOptions (0 on the CPU or in full mode).
func weightBudget(b tensor.Backend, vramMode string, budget int64) int64 {
	a, ok := b.(gpu.Accelerator)
	if !ok {
		return 0
	}
	_, w := memoryPlan(vramMode, budget, a.Info().TotalBytes)
	return w
}

// allocBudget is memoryPlan's allocator budget.
func allocBudget(vramMode string, budget int64) int64 {
	a, _ := memoryPlan(vramMode, budget, 0)
	return a
}

// placementNote describes where the weights went when some stream.
func placementNote(e *pipeline.Engine, b tensor.Backend) string {
	p := e.Model.Placement()
	if p.HostTensors == 0 {
		return ""
	}
	note := fmt.Sprintf("weights: %.2f GiB on the device, %.2f GiB (%d tensors) streamed from host memory for each use", float64(p.DeviceBytes)/(1<<30), float64(p.HostBytes)/(1<<30), p.HostTensors)
	if s, ok := b.(tensor.Streamer); ok {
		held, pinned := s.HostBytes()
		if pinned < held {
			note += fmt.Sprintf("; %.2f GiB of it could not be page-locked and is copied from the checkpoint's mapping (slower)", float64(held-pinned)/(1<<30))
		}
	}
	return note
}

// explainLoadError adds to a model load that ran out of GPU memory with
// every weight on the card what would make it fit.
func explainLoadError(err error, vramMode string) error {
	if err == nil || !errors.Is(err, gpu.ErrOutOfMemory) || (vramMode != "" && vramMode != "full") {
		return err
	}
	return fmt.Errorf("%w; the model does not fit on this card with every weight on it: --vram_mode balanced --max_memory 0=<GiB> keeps that much of it on the card and streams the rest from host memory (`sensenova gpu` suggests a budget)", err)
}
