package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/sensenova/studio/gpu"
)

// simulatedPreset is what `sensenova gpu --simulate` prints.
type simulatedPreset struct {
	Name         string  `json:"name"`
	VRAMMiB      int64   `json:"vram_mib"`
	HostRAMMiB   int64   `json:"host_ram_mib"`
	MaxMemoryGiB float64 `json:"max_memory_gib"`
	VRAMMode     string  `json:"vram_mode"`
	Runnable     bool    `json:"runnable"`
	Reason       string  `json:"reason"`
}

func runGPUCommand(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Run(context.Background(), append([]string{"gpu"}, args...), Streams{In: strings.NewReader(""), Out: &out, Err: &errb})
	return code, out.String(), errb.String()
}

func TestGPUSimulate(t *testing.T) {
	tests := []struct {
		spec     string
		want     simulatedPreset
		reasonOK string
	}{
		{"NVIDIA GeForce RTX 4090,24564,65536", simulatedPreset{"NVIDIA GeForce RTX 4090", 24564, 65536, 20, "balanced", true, ""}, "24 GB"},
		{"NVIDIA GeForce RTX 5090,32607,65536", simulatedPreset{"NVIDIA GeForce RTX 5090", 32607, 65536, 27, "balanced", true, ""}, "32 GB"},
		{"NVIDIA GeForce RTX 4080 SUPER,16376,65536", simulatedPreset{"NVIDIA GeForce RTX 4080 SUPER", 16376, 65536, 13, "balanced", true, ""}, "16 GB"},
		{"NVIDIA GeForce RTX 4070 Ti, 12282, 65536", simulatedPreset{"NVIDIA GeForce RTX 4070 Ti", 12282, 65536, 9, "balanced", true, ""}, "12 GB"},
		{"NVIDIA GeForce RTX 4060,8188,65536", simulatedPreset{"NVIDIA GeForce RTX 4060", 8188, 65536, 7, "balanced", true, ""}, "8 GB"},
		{"NVIDIA GeForce RTX 4060,8188,16384", simulatedPreset{"NVIDIA GeForce RTX 4060", 8188, 16384, 7, "balanced", false, ""}, "cannot run"},
		{"NVIDIA H100 80GB HBM3,81559,65536", simulatedPreset{"NVIDIA H100 80GB HBM3", 81559, 65536, 0, "full", true, ""}, "80 GB-class"},
		{"NVIDIA A100-SXM4-40GB,40960,65536", simulatedPreset{"NVIDIA A100-SXM4-40GB", 40960, 65536, 0, "full", true, ""}, "whole model"},
		{"Some Future GPU,12288,65536", simulatedPreset{"Some Future GPU", 12288, 65536, 9, "balanced", true, ""}, "3 GiB"},
		{"NVIDIA GeForce GT 1030,2048,65536", simulatedPreset{"NVIDIA GeForce GT 1030", 2048, 65536, 0, "cpu", true, ""}, "CPU"},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			code, out, errOut := runGPUCommand(t, "--simulate", tt.spec)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			var got simulatedPreset
			var raw map[string]any
			if err := json.Unmarshal([]byte(out), &raw); err != nil {
				t.Fatalf("output is not JSON: %v\n%s", err, out)
			}
			for _, k := range []string{"name", "vram_mib", "host_ram_mib", "max_memory_gib", "vram_mode", "reason"} {
				if _, ok := raw[k]; !ok {
					t.Errorf("field %q missing from %s", k, out)
				}
			}
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatal(err)
			}
			reason := got.Reason
			got.Reason = ""
			if got != tt.want {
				t.Errorf("got  %+v\nwant %+v\nreason: %s", got, tt.want, reason)
			}
			if !strings.Contains(reason, tt.reasonOK) || !strings.HasSuffix(reason, ".") {
				t.Errorf("reason %q: want a sentence mentioning %q", reason, tt.reasonOK)
			}
		})
	}
}

// Without HOST_RAM_MiB the simulated card is put in this machine.
func TestGPUSimulateUsesThisHost(t *testing.T) {
	code, out, errOut := runGPUCommand(t, "--simulate=NVIDIA GeForce RTX 4090,24564")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var got simulatedPreset
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	host := gpu.HostRAMBytes()
	want := gpu.ChoosePreset(gpu.Device{Name: "NVIDIA GeForce RTX 4090", TotalBytes: 24564 << 20, FreeBytes: 24564 << 20}, host)
	if got.HostRAMMiB != host>>20 || got.MaxMemoryGiB != want.MaxMemoryGiB || got.VRAMMode != want.VRAMMode || got.Reason != want.Reason {
		t.Errorf("got %+v, want host %d MiB and %+v", got, host>>20, want)
	}
}

func TestGPUSimulateBadValues(t *testing.T) {
	for _, spec := range []string{
		"",
		"NVIDIA GeForce RTX 4090",
		",24564",
		"NVIDIA GeForce RTX 4090,24 GB",
		"NVIDIA GeForce RTX 4090,0",
		"NVIDIA GeForce RTX 4090,-1",
		"NVIDIA GeForce RTX 4090,24564,lots",
		"NVIDIA GeForce RTX 4090,24564,65536,1",
	} {
		code, out, errOut := runGPUCommand(t, "--simulate", spec)
		if code != 2 || out != "" || !strings.Contains(errOut, "NAME,VRAM_MiB[,HOST_RAM_MiB]") || !strings.Contains(errOut, "--simulate") {
			t.Errorf("--simulate %q: exit %d, stdout %q, stderr %q; want exit 2 and the expected format", spec, code, out, errOut)
		}
	}
}

// The detected inventory (none in a build without the cuda tag) keeps its
// fields and gains the preset.
func TestGPUDetectIncludesPreset(t *testing.T) {
	code, out, errOut := runGPUCommand(t)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rep struct {
		CUDA             *bool            `json:"cuda"`
		DriverAPIVersion *int             `json:"driver_api_version"`
		Devices          []map[string]any `json:"devices"`
		Preset           *struct {
			simulatedPreset
			Index *int `json:"index"`
		} `json:"preset"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if rep.CUDA == nil || rep.DriverAPIVersion == nil || rep.Devices == nil || rep.Preset == nil {
		t.Fatalf("missing fields in %s", out)
	}
	p := rep.Preset
	if p.VRAMMode == "" || !strings.HasSuffix(p.Reason, ".") || p.HostRAMMiB != gpu.HostRAMBytes()>>20 {
		t.Errorf("preset %+v", p)
	}
	if len(rep.Devices) == 0 && (p.VRAMMode != gpu.ModeCPU || p.Index != nil || !strings.Contains(strings.ToLower(p.Reason), "no nvidia gpu")) {
		t.Errorf("no device, preset %+v", p)
	}
	if len(rep.Devices) > 0 && p.Index == nil {
		t.Errorf("a device was detected but the preset has no index: %s", out)
	}
}
