package cli

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/sensenova/studio/gpu"
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
