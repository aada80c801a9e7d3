package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"

	"github.com/sensenova/studio/gpu"
	"github.com/sensenova/studio/inference/protocol"
)

func newGPUPreset(d gpu.Device, hostRAM int64, p gpu.Preset) protocol.GPUPreset {
	return protocol.GPUPreset{
		Name:             d.Name,
		VRAMMiB:          d.TotalBytes >> 20,
		HostRAMMiB:       hostRAM >> 20,
		MaxMemoryGiB:     p.MaxMemoryGiB,
		VRAMMode:         p.VRAMMode,
		Runnable:         p.Runnable,
		HostRAMNeededMiB: (p.HostRAMNeededBytes + 1<<20 - 1) >> 20,
		Reason:           p.Reason,
	}
}

const gpuSimulateFormat = `"NAME,VRAM_MiB[,HOST_RAM_MiB]", e.g. "NVIDIA GeForce RTX 4090,24564,65536"`

const gpuSynopsis = `[--simulate "NAME,VRAM_MiB[,HOST_RAM_MiB]"]

Prints the CUDA devices this build detects and the memory preset
(--max_memory, --vram_mode) chosen for the best of them, as JSON. With
--simulate it skips detection and prints only the preset for the card
described (its free memory taken as its total; host memory this machine's
unless given).`

func runGPU(_ context.Context, args []string, s Streams) error {
	fs := newFlags("gpu", gpuSynopsis, s)
	simulate := fs.String("simulate", "", "choose the preset for this card instead of the detected ones: "+gpuSimulateFormat)
	if err := parse(fs, args); err != nil {
		return err
	}
	enc := json.NewEncoder(s.Out)
	enc.SetIndent("", "  ")

	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == "simulate" })
	if given {
		d, hostRAM, err := parseGPUSimulate(*simulate)
		if err != nil {
			fmt.Fprintf(s.Err, "sensenova gpu: --simulate %q: %v; want %s\n", *simulate, err, gpuSimulateFormat)
			return errUsage
		}
		if hostRAM == 0 {
			hostRAM = gpu.HostRAMBytes()
		}
		return enc.Encode(newGPUPreset(d, hostRAM, gpu.ChoosePreset(d, hostRAM)))
	}

	rep, err := detectGPUs()
	if encErr := enc.Encode(rep); encErr != nil {
		return encErr
	}
	if err != nil && rep.CUDA {
		return err // a CUDA build that cannot query its devices failed
	}
	return nil
}

// parseGPUSimulate parses "NAME,VRAM_MiB[,HOST_RAM_MiB]" into an idle card
// (free = total) and the host memory in bytes (0: not given).
func parseGPUSimulate(v string) (gpu.Device, int64, error) {
	parts := strings.Split(v, ",")
	if len(parts) < 2 || len(parts) > 3 {
		return gpu.Device{}, 0, fmt.Errorf("%d comma-separated field(s)", len(parts))
	}
	name := strings.TrimSpace(parts[0])
	if name == "" {
		return gpu.Device{}, 0, errors.New("NAME is empty")
	}
	vram, err := positiveMiB("VRAM_MiB", parts[1])
	if err != nil {
		return gpu.Device{}, 0, err
	}
	var host int64
	if len(parts) == 3 {
		if host, err = positiveMiB("HOST_RAM_MiB", parts[2]); err != nil {
			return gpu.Device{}, 0, err
		}
	}
	return gpu.Device{Name: name, TotalBytes: vram, FreeBytes: vram}, host, nil
}

// positiveMiB parses a whole, positive number of MiB (at most 16 TiB) into
// bytes.
func positiveMiB(field, s string) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n <= 0 || n > 16<<20 {
		return 0, fmt.Errorf("%s %q is not a whole number of MiB between 1 and %d", field, strings.TrimSpace(s), 16<<20)
	}
	return n << 20, nil
}

// detectGPUs is the report of `sensenova gpu` (and of the engine's gpu
// request): the devices found and the preset chosen for the best of them.
// The error is the detection's; the report says what was found anyway.
func detectGPUs() (protocol.GPUReport, error) {
	inv, err := gpu.Detect()
	rep := protocol.GPUReport{CUDA: !errors.Is(err, gpu.ErrNoCUDA), DriverAPIVersion: inv.DriverAPIVersion, Devices: []protocol.GPUDevice{}}
	if err != nil {
		rep.Error = err.Error()
	}
	for _, d := range inv.Devices {
		rep.Devices = append(rep.Devices, protocol.GPUDevice{Index: d.Index, Name: d.Name, TotalBytes: d.TotalBytes, FreeBytes: d.FreeBytes,
			ComputeMajor: d.ComputeMajor, ComputeMinor: d.ComputeMinor, Multiprocessors: d.Multiprocessors, GEMM: d.GEMM})
	}
	hostRAM := gpu.HostRAMBytes()
	d, p := gpu.ChooseForInventory(inv, hostRAM)
	rep.Preset = newGPUPreset(d, hostRAM, p)
	if len(rep.Devices) > 0 {
		rep.Preset.Index = &d.Index
	}
	return rep, err
}
