package gpu

import (
	"strings"
	"testing"
	"unicode"
)

const mib = 1 << 20

// card is a device as CUDA reports it: total (and free) memory in MiB;
// free 0 means idle (free = total).
func card(name string, totalMiB, freeMiB int64) Device {
	return Device{Name: name, TotalBytes: totalMiB * mib, FreeBytes: freeMiB * mib}
}

// checkSentence fails unless reason is one plain sentence: capitalised,
// ending in a full stop, with no other sentence break or line break.
func checkSentence(t *testing.T, reason string) {
	t.Helper()
	r := []rune(reason)
	if len(r) < 20 || !unicode.IsUpper(r[0]) || !strings.HasSuffix(reason, ".") ||
		strings.Contains(reason, ". ") || strings.ContainsAny(reason, "\n\t") {
		t.Errorf("reason %q is not one plain sentence", reason)
	}
}

func TestChoosePreset(t *testing.T) {
	const plenty = 128 << 10 // host MiB that never limits
	tests := []struct {
		name     string
		dev      Device
		hostMiB  int64
		budget   float64
		mode     string
		runnable bool
		mention  []string // in the reason
	}{
		// The seed's presets, by memory size (PIPELINES.md 8.4).
		{"5090", card("NVIDIA GeForce RTX 5090", 32607, 0), plenty, 27, ModeBalanced, true, []string{"32 GB", "27 GiB"}},
		{"5090 D", card("NVIDIA GeForce RTX 5090 D", 32607, 0), plenty, 27, ModeBalanced, true, nil},
		{"5090 Laptop 24 GB", card("NVIDIA GeForce RTX 5090 Laptop GPU", 24463, 0), plenty, 20, ModeBalanced, true, []string{"24 GB"}},
		{"4090", card("NVIDIA GeForce RTX 4090", 24564, 0), plenty, 20, ModeBalanced, true, []string{"24 GB", "20 GiB", "12.7 GiB"}},
		{"4090 D", card("NVIDIA GeForce RTX 4090 D", 24564, 0), plenty, 20, ModeBalanced, true, nil},
		{"4090 Laptop 16 GB", card("NVIDIA GeForce RTX 4090 Laptop GPU", 16376, 0), plenty, 13, ModeBalanced, true, nil},
		{"4080", card("NVIDIA GeForce RTX 4080", 16376, 0), plenty, 13, ModeBalanced, true, []string{"16 GB"}},
		{"4080 SUPER", card("NVIDIA GeForce RTX 4080 SUPER", 16376, 0), plenty, 13, ModeBalanced, true, nil},
		{"4080 Laptop 12 GB", card("NVIDIA GeForce RTX 4080 Laptop GPU", 12282, 0), plenty, 9, ModeBalanced, true, nil},
		{"4070", card("NVIDIA GeForce RTX 4070", 12282, 0), plenty, 9, ModeBalanced, true, []string{"12 GB"}},
		{"4070 SUPER", card("NVIDIA GeForce RTX 4070 SUPER", 12282, 0), plenty, 9, ModeBalanced, true, nil},
		{"4070 Ti", card("NVIDIA GeForce RTX 4070 Ti", 12282, 0), plenty, 9, ModeBalanced, true, nil},
		{"4070 Ti SUPER 16 GB", card("NVIDIA GeForce RTX 4070 Ti SUPER", 16376, 0), plenty, 13, ModeBalanced, true, nil},
		{"4070 Laptop 8 GB", card("NVIDIA GeForce RTX 4070 Laptop GPU", 8188, 0), plenty, 7, ModeBalanced, true, nil},
		{"4060", card("NVIDIA GeForce RTX 4060", 8188, 0), plenty, 7, ModeBalanced, true, []string{"8 GB", "7 GiB"}},
		{"4060 Ti 8 GB", card("NVIDIA GeForce RTX 4060 Ti", 8188, 0), plenty, 7, ModeBalanced, true, nil},
		{"4060 Ti 16 GB", card("NVIDIA GeForce RTX 4060 Ti", 16380, 0), plenty, 13, ModeBalanced, true, nil},
		{"4060 Laptop", card("NVIDIA GeForce RTX 4060 Laptop GPU", 8188, 0), plenty, 7, ModeBalanced, true, nil},
		// Totals as CUDA reports them (nvidia-smi's less the driver's
		// reserved memory, ≈ 0.3–0.7 GiB).
		{"5090 from CUDA", card("NVIDIA GeForce RTX 5090", 32111, 0), plenty, 27, ModeBalanced, true, nil},
		{"4090 from CUDA", card("NVIDIA GeForce RTX 4090", 24217, 0), plenty, 20, ModeBalanced, true, nil},
		{"4080 from CUDA", card("NVIDIA GeForce RTX 4080", 15948, 0), plenty, 13, ModeBalanced, true, nil},
		{"4070 from CUDA", card("NVIDIA GeForce RTX 4070", 11872, 0), plenty, 9, ModeBalanced, true, nil},
		{"4060 from CUDA", card("NVIDIA GeForce RTX 4060", 7805, 0), plenty, 7, ModeBalanced, true, nil},
		{"4060 Ti 16 GB from CUDA", card("NVIDIA GeForce RTX 4060 Ti", 15948, 0), plenty, 13, ModeBalanced, true, nil},
		// A typical desktop: the display and the context hold 0.6 GiB of
		// a 4090 (allowed), or 1.5 GiB (0.53 GiB over: 20 − 0.53 GiB,
		// rounded down to 0.5 GiB).
		{"4090 driving a display", card("NVIDIA GeForce RTX 4090", 24217, 23600), plenty, 20, ModeBalanced, true, nil},
		{"4090 driving two displays", card("NVIDIA GeForce RTX 4090", 24564, 23000), plenty, 19, ModeBalanced, true, []string{"Other programs"}},
		// A named card busy with other programs loses what they hold
		// beyond 1 GiB: 24564 − 1024 − 20480 MiB = 2.99 GiB.
		{"4090 busy", card("NVIDIA GeForce RTX 4090", 24564, 20480), plenty, 17, ModeBalanced, true, []string{"Other programs", "4.0 GiB"}},
		// A named card of a memory size not in the table: generic rule.
		{"4090 modded 48 GB", card("NVIDIA GeForce RTX 4090", 49140, 0), plenty, 0, ModeFull, true, nil},

		// Data-centre cards.
		{"H100 80GB", card("NVIDIA H100 80GB HBM3", 81559, 81000), plenty, 0, ModeFull, true, []string{"80 GB-class"}},
		{"H200", card("NVIDIA H200", 143771, 0), plenty, 0, ModeFull, true, []string{"80 GB-class"}},
		{"A100 80GB", card("NVIDIA A100-SXM4-80GB", 81920, 0), plenty, 0, ModeFull, true, nil},
		{"H100 busy", card("NVIDIA H100 80GB HBM3", 81559, 30720), plenty, 27, ModeBalanced, true, nil},
		{"A100 40GB", card("NVIDIA A100-SXM4-40GB", 40960, 40400), plenty, 0, ModeFull, true, []string{"whole model", "tight"}},
		{"L40S 48 GB", card("NVIDIA L40S", 46068, 0), plenty, 0, ModeFull, true, []string{"whole model"}},
		{"H100 MIG slice 40 GB", card("NVIDIA H100 80GB HBM3 MIG 3g.40gb", 40192, 0), plenty, 0, ModeFull, true, nil},
		{"H100 MIG slice 10 GB", card("NVIDIA H100 80GB HBM3 MIG 1g.10gb", 9984, 0), plenty, 6.5, ModeBalanced, true, nil},

		// Other cards: free memory − 3 GiB, rounded down to 0.5 GiB.
		{"unknown 12 GB", card("NVIDIA GeForce RTX 3060", 12288, 0), plenty, 9, ModeBalanced, true, []string{"3 GiB for the work"}},
		{"unknown 12 GB with display", card("NVIDIA GeForce RTX 3060", 12288, 11700), plenty, 8, ModeBalanced, true, nil},
		{"RTX 4000 Ada is not a 4060-4090", card("NVIDIA RTX 4000 Ada Generation", 20475, 0), plenty, 16.5, ModeBalanced, true, nil},
		{"6 GB", card("NVIDIA GeForce RTX 3060 Laptop GPU", 6144, 0), plenty, 3, ModeBalanced, true, nil},
		{"4 GB: low", card("NVIDIA GeForce GTX 1650", 4096, 0), plenty, 1, ModeLow, true, []string{"one layer at a time"}},
		{"2 GB: cpu", card("NVIDIA GeForce GT 1030", 2048, 0), plenty, 0, ModeCPU, true, []string{"only the CPU"}},
		{"3.5 GB free: cpu", card("NVIDIA GeForce GTX 1650", 4096, 3584), plenty, 0, ModeCPU, true, []string{"only the CPU"}},

		// Host memory.
		{"4060 on a 16 GB host", card("NVIDIA GeForce RTX 4060", 8188, 0), 16384, 7, ModeBalanced, false,
			[]string{"cannot run the full model", "29.7 GiB of RAM", "16.0 GiB", "at least 24 GiB"}},
		{"4060 on a 32 GB host", card("NVIDIA GeForce RTX 4060", 8188, 0), 31900, 7, ModeBalanced, true, nil},
		{"4090 on 16.5 GB: larger budget", card("NVIDIA GeForce RTX 4090", 24564, 0), 16896, 20.5, ModeBalanced, true,
			[]string{"instead of the usual 20 GiB", "16.5 GiB of RAM"}},
		{"4090 on 16 GB: beyond the card", card("NVIDIA GeForce RTX 4090", 24564, 0), 16384, 20.5, ModeBalanced, false, []string{"cannot run"}},
		{"5090 on 9 GB: larger budget", card("NVIDIA GeForce RTX 5090", 32607, 0), 9216, 28, ModeBalanced, true, []string{"instead of the usual 27 GiB"}},
		{"unknown 12 GB on 16 GB", card("NVIDIA GeForce RTX 3060", 12288, 0), 16384, 9, ModeBalanced, false, []string{"cannot run"}},
		{"H100 on a tiny host", card("NVIDIA H100 80GB HBM3", 81559, 0), 2048, 0, ModeFull, false, []string{"cannot run"}},
		{"H100 on 8 GB", card("NVIDIA H100 80GB HBM3", 81559, 0), 8192, 0, ModeFull, true, nil},
		{"2 GB on an 8 GB host", card("NVIDIA GeForce GT 1030", 2048, 0), 8192, 0, ModeCPU, false, []string{"cannot run", "on the CPU", "36.7 GiB"}},
		{"host unknown", card("NVIDIA GeForce RTX 4090", 24564, 0), 0, 20, ModeBalanced, true, []string{"could not be read"}},
		{"host unknown, full", card("NVIDIA H100 80GB HBM3", 81559, 0), 0, 0, ModeFull, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := ChoosePreset(tt.dev, tt.hostMiB*mib)
			if p.MaxMemoryGiB != tt.budget || p.VRAMMode != tt.mode || p.Runnable != tt.runnable {
				t.Errorf("got %g GiB %s runnable=%v, want %g GiB %s runnable=%v\nreason: %s",
					p.MaxMemoryGiB, p.VRAMMode, p.Runnable, tt.budget, tt.mode, tt.runnable, p.Reason)
			}
			checkSentence(t, p.Reason)
			for _, m := range tt.mention {
				if !strings.Contains(p.Reason, m) {
					t.Errorf("reason %q does not mention %q", p.Reason, m)
				}
			}
			if (p.VRAMMode == ModeFull || p.VRAMMode == ModeCPU) && p.MaxMemoryGiB != 0 {
				t.Errorf("%s mode with a budget of %g GiB", p.VRAMMode, p.MaxMemoryGiB)
			}
			if tt.hostMiB > 0 && p.Runnable != (p.HostRAMNeededBytes <= tt.hostMiB*mib) {
				t.Errorf("runnable=%v but needs %d of %d host bytes", p.Runnable, p.HostRAMNeededBytes, tt.hostMiB*mib)
			}
			if name := strings.TrimSpace(tt.dev.Name); !strings.Contains(p.Reason, name) {
				t.Errorf("reason %q does not name the card", p.Reason)
			}
		})
	}
}

// The host formula: (model − budget) + headroom for streaming, the headroom
// for full, the model + headroom on the CPU.
func TestPresetHostNeed(t *testing.T) {
	for _, tt := range []struct {
		budget float64
		want   int64
	}{
		{0, ModelBytes + HostHeadroomBytes}, // cpu
		{1, ModelBytes - 1<<30 + HostHeadroomBytes},
		{20, ModelBytes - 20<<30 + HostHeadroomBytes},
		{32.5, ModelBytes - 65<<29 + HostHeadroomBytes},
		{33, HostHeadroomBytes}, // full
	} {
		if got := presetFor(tt.budget).HostRAMNeededBytes; got != tt.want {
			t.Errorf("budget %g GiB: host need %d, want %d", tt.budget, got, tt.want)
		}
	}
}

func TestChooseForInventory(t *testing.T) {
	const host = 64 << 30
	g4060 := card("NVIDIA GeForce RTX 4060", 8188, 0)
	g4090 := card("NVIDIA GeForce RTX 4090", 24564, 0)
	h100 := card("NVIDIA H100 80GB HBM3", 81559, 0)
	gt1030 := card("NVIDIA GeForce GT 1030", 2048, 0)
	idx := func(d Device, i int) Device { d.Index = i; return d }
	tests := []struct {
		name      string
		devs      []Device
		host      int64
		wantIndex int
		wantMode  string
	}{
		{"none", nil, host, -1, ModeCPU},
		{"one", []Device{idx(g4090, 0)}, host, 0, ModeBalanced},
		{"larger budget wins", []Device{idx(g4060, 0), idx(g4090, 1)}, host, 1, ModeBalanced},
		{"full wins", []Device{idx(g4090, 0), idx(h100, 1), idx(g4060, 2)}, host, 1, ModeFull},
		{"tie: first", []Device{idx(g4090, 0), idx(g4090, 1)}, host, 0, ModeBalanced},
		{"a GPU beats cpu", []Device{idx(gt1030, 0), idx(g4060, 1)}, host, 1, ModeBalanced},
		{"none runnable: the closest", []Device{idx(g4060, 0), idx(g4090, 1)}, 16 << 30, 1, ModeBalanced},
		{"runnable first", []Device{idx(g4060, 0), idx(h100, 1)}, 16 << 30, 1, ModeFull},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, p := ChooseForInventory(Inventory{Devices: tt.devs}, tt.host)
			if tt.wantIndex < 0 {
				if d != (Device{}) {
					t.Errorf("device %+v, want none", d)
				}
			} else if d.Index != tt.wantIndex {
				t.Errorf("device %d (%s), want %d", d.Index, d.Name, tt.wantIndex)
			}
			if p.VRAMMode != tt.wantMode {
				t.Errorf("mode %s, want %s (%s)", p.VRAMMode, tt.wantMode, p.Reason)
			}
			checkSentence(t, p.Reason)
		})
	}
	_, p := ChooseForInventory(Inventory{}, 0)
	if !p.Runnable || !strings.Contains(p.Reason, "No NVIDIA GPU") || !strings.Contains(p.Reason, "could not be read") {
		t.Errorf("no GPU, host unknown: %+v", p)
	}
}

func TestPresetParseHostMemory(t *testing.T) {
	meminfo := "MemTotal:       24684096 kB\nMemFree:        23719444 kB\n"
	if got, want := parseMemTotal([]byte(meminfo)), int64(24684096*1024); got != want {
		t.Errorf("parseMemTotal = %d, want %d", got, want)
	}
	for _, bad := range []string{"", "MemFree: 1 kB\n", "MemTotal: x kB\n", "MemTotal:\n"} {
		if got := parseMemTotal([]byte(bad)); got != 0 {
			t.Errorf("parseMemTotal(%q) = %d, want 0", bad, got)
		}
	}
	for in, want := range map[string]int64{
		"max\n":                 0,
		"9223372036854771712\n": 0, // cgroup v1 "unlimited"
		"17179869184\n":         16 << 30,
		"":                      0,
	} {
		if got := parseCgroupLimit([]byte(in)); got != want {
			t.Errorf("parseCgroupLimit(%q) = %d, want %d", in, got, want)
		}
	}
	if got := HostRAMBytes(); got < 0 {
		t.Errorf("HostRAMBytes() = %d", got)
	}
}
