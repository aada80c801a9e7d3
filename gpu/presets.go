package gpu

import (
	"fmt"
	"math"
	"regexp"
	"strings"
)

// Memory presets: which --max_memory and --vram_mode to run SenseNova-U1-8B
// with on a given card and host.
//
// The numbers behind the rules (PIPELINES.md 7.3, 7.4, 8.4; MODEL.md 1.6):
//
//   - The model is 17,552,340,992 bf16 parameters: ModelBytes = 35.1 GB =
//     32.69 GiB. Its 42 decoder layers (both experts) are 0.72 GiB each
//     (LayerBytes) and 30.19 GiB together; the rest (embeddings, lm_head, the
//     two ViTs, the flow-matching modules) is 2.50 GiB.
//   - A budget (MaxMemoryGiB, as upstream's --max_memory) bounds the GPU bytes
//     of weights: those kept resident plus the layers being streamed in.
//     Activations, KV cache, allocator slack and the CUDA context come on
//     top. In the seed's measurements of text-to-image at 2048² the
//     generation peak is 2.6 GiB above the weights at every budget (27, 20,
//     13, 9, 7 GiB), and the CUDA context and cuBLAS workspace add about
//     0.4 GiB, hence WorkingMarginBytes = 3 GiB. Editing and interleaved
//     generation measured more (≈ 8.5 and up to 36 GiB above the weights in
//     full mode); the presets are sized for text-to-image, as the seed's are.
//   - Streaming modes: "balanced" keeps the current layer and prefetches two
//     (3 layers in flight, 2.2 GiB); "low" copies one layer at a time
//     (0.72 GiB, slower). Newest upstream measures 4.0 and 3.3 GiB peaks for
//     them, so a card with less than about 4 GiB free cannot run the model.
//
// Host memory: the weights that are not on the GPU must stay in host memory
// (as pinned buffers or as page cache of the memory-mapped checkpoint: either
// way they are read again at every forward, well over a hundred times per
// picture, and reading them from disk each time would be several times
// slower). The page cache of the part uploaded to the GPU is reclaimable and
// does not count. So a budget of B needs
//
//	host RAM ≥ (ModelBytes − B) + HostHeadroomBytes
//
// where the 4 GiB headroom covers the engine itself (Go heap, CUDA host-side
// state, staging copies of the layers in flight) and the operating system
// and desktop, since pinned memory cannot be swapped out. Full mode needs the
// headroom only; the CPU backend needs the whole model plus the headroom.
// The host figure is MemTotal (or a smaller container limit), not what is
// free right now: other programs can be closed, the card's memory cannot be
// added to.
const (
	// ModelBytes is SenseNova-U1-8B-MoT in bf16 (17,552,340,992 parameters).
	ModelBytes int64 = 35_104_681_984
	// LayerBytes is one decoder layer with both experts in bf16
	// (2 × 192,946,432 parameters).
	LayerBytes int64 = 771_785_728
	// WorkingMarginBytes is the GPU memory kept free beyond the weight
	// budget: activations and allocator slack of a 2048² text-to-image
	// (2.6 GiB measured) plus the CUDA context (≈ 0.4 GiB).
	WorkingMarginBytes int64 = 3 << 30
	// HostHeadroomBytes is the host memory needed beyond the weights kept
	// there: the engine (≈ 2 GiB) and the operating system and desktop
	// (≈ 2 GiB).
	HostHeadroomBytes int64 = 4 << 30
	// DataCentreBytes is the total memory from which a card counts as
	// 80 GB-class (H100, H200, A100 80GB, H800, B200, …). The class is
	// decided by memory, not name: a MIG slice carries its parent's name
	// ("NVIDIA H100 80GB HBM3 MIG 3g.40gb") but only the slice's memory.
	DataCentreBytes int64 = 75 << 30
	// DisplayAllowanceBytes is how much of a named consumer card the seed's
	// presets allow to be in use already (display, CUDA context); memory
	// used by other programs beyond it comes off the preset's budget.
	DisplayAllowanceBytes int64 = 1 << 30
)

// VRAM modes (--vram_mode) and the preset for machines whose GPU cannot run
// the model.
const (
	// ModeFull keeps the whole model on the GPU (MaxMemoryGiB 0: no cap).
	ModeFull = "full"
	// ModeBalanced keeps MaxMemoryGiB of weights on the GPU and streams the
	// rest from host memory, prefetching two layers ahead.
	ModeBalanced = "balanced"
	// ModeLow streams the layers one at a time, synchronously: the least
	// GPU memory, the slowest.
	ModeLow = "low"
	// ModeCPU means no GPU can run the model: only the CPU backend (very
	// slow) can. MaxMemoryGiB is 0 and nothing goes to a GPU.
	ModeCPU = "cpu"
)

const (
	gib             = float64(1 << 30)
	balancedMinimum = 3 * LayerBytes // current layer + two prefetched
	lowMinimum      = LayerBytes     // one layer in flight
)

// Preset is what to run the model with on one card of one machine.
type Preset struct {
	// MaxMemoryGiB is the GPU weight budget (--max_memory) in GiB; 0 means
	// no cap: in full mode the whole model is resident, in cpu mode nothing
	// goes to the GPU.
	MaxMemoryGiB float64 `json:"max_memory_gib"`
	// VRAMMode is ModeFull, ModeBalanced, ModeLow or ModeCPU.
	VRAMMode string `json:"vram_mode"`
	// Runnable is false when this machine cannot run the full model at all
	// (too little host memory for what the card leaves to it); the other
	// fields then describe the closest setting and Reason says what is
	// missing.
	Runnable bool `json:"runnable"`
	// HostRAMNeededBytes is the host memory this preset needs (see the
	// formula above).
	HostRAMNeededBytes int64 `json:"host_ram_needed_bytes"`
	// Reason is one plain sentence, for the window, saying why.
	Reason string `json:"reason"`
}

// seedPresets are the seed document's --max_memory budgets per card memory
// size (PIPELINES.md 8.4: RTX 5090, 4090, 4080, 4070, 4060). A named card
// gets the row of its memory size, so variants are decided by memory: a
// 4070 Ti SUPER (16 GB) gets the 16 GB row, a 4060 Ti the 8 or 16 GB row, a
// 4090 Laptop GPU (16 GB) the 16 GB row, a 5090 Laptop GPU (24 GB) the 24 GB
// row. The 8 GB row is the seed's 7 GiB although its measured peak (8.18 GiB
// reserved at 2048²) leaves no margin on an 8 GB card.
var seedPresets = []struct{ memoryGiB, budgetGiB float64 }{
	{32, 27}, {24, 20}, {16, 13}, {12, 9}, {8, 7},
}

// seedCards matches the cards the seed's presets were made for, with any
// suffix (Ti, SUPER, D, Laptop GPU). Other GeForce cards take the generic
// rule, which gives about the same budget (free memory − 3 GiB).
var seedCards = regexp.MustCompile(`(?i)\bRTX\s*(4060|4070|4080|4090|5090)\b`)

// seedBudget returns the seed's budget for a named card whose memory is one
// of the table's sizes, or false.
func seedBudget(name string, totalBytes int64) (float64, bool) {
	if !seedCards.MatchString(name) {
		return 0, false
	}
	if size, ok := memorySize(totalBytes); ok {
		for _, p := range seedPresets {
			if p.memoryGiB == size {
				return p.budgetGiB, true
			}
		}
	}
	return 0, false
}

// memorySize returns the table size (GiB) a card's reported total memory
// belongs to. Cards report less than their nominal size: nvidia-smi's total
// is a little under it (a 5090: 32607 MiB, 31.84 GiB) and CUDA's
// cuDeviceTotalMem, which Detect reads, leaves out the driver's reserved
// memory as well (an H100 80GB HBM3: 81559 MiB in nvidia-smi, 480 MiB
// reserved, 81079 MiB from CUDA; a 4090 is commonly seen at 23.65 GiB). So a
// size C matches a total in [C − 1, C + 0.5] GiB.
func memorySize(totalBytes int64) (float64, bool) {
	total := float64(totalBytes) / gib
	for _, p := range seedPresets {
		if total >= p.memoryGiB-1 && total <= p.memoryGiB+0.5 {
			return p.memoryGiB, true
		}
	}
	return 0, false
}

// ChoosePreset picks the preset for card d on a host with hostRAMBytes of
// memory (0: unknown). d.FreeBytes ≤ 0 means unknown and is taken as idle.
//
// Rules, in order:
//  1. An 80 GB-class card (≥ DataCentreBytes) whose free memory holds the
//     model plus the working margin: full.
//  2. An RTX 5090/4090/4080/4070/4060 (any variant) with a memory size of
//     the seed's table: the seed's budget for that size, less the memory
//     other programs hold beyond DisplayAllowanceBytes.
//  3. Any other card: its free memory minus WorkingMarginBytes, rounded
//     down to 0.5 GiB.
//
// A budget that holds the whole model gives full; one that holds three
// layers, balanced; one layer, low; less, cpu. Then the host: if it cannot
// hold what the budget leaves to it, the budget is raised to the smallest
// that the host can hold, up to what the card allows (the larger of the
// rule's budget and free − margin); if even that is not enough, the preset
// is marked not runnable and Reason says what the machine would need. With
// the host memory unknown the preset is kept and Reason says how much it
// needs.
func ChoosePreset(d Device, hostRAMBytes int64) Preset {
	name := strings.TrimSpace(d.Name)
	if name == "" {
		name = "this GPU"
	}
	total, free := d.TotalBytes, d.FreeBytes
	if free <= 0 || free > total {
		free = total
	}
	generic := floorHalf(float64(free-WorkingMarginBytes) / gib)

	var budget float64 // GiB
	var why string     // how the budget was found, for Reason
	seed, named := seedBudget(name, total)
	seedSize, _ := memorySize(total)
	switch {
	case total >= DataCentreBytes && free-WorkingMarginBytes >= ModelBytes:
		budget, why = math.Inf(1), "datacentre"
	case named:
		budget, why = seed, "seed"
		if short := total - DisplayAllowanceBytes - free; short > 0 {
			budget = floorHalf(seed - float64(short)/gib)
			why = "seed-busy"
		}
	default:
		budget, why = generic, "generic"
	}
	ceiling := math.Max(budget, generic) // the most the card allows

	p := presetFor(budget)
	if p.VRAMMode == ModeCPU {
		return cpuPreset(fmt.Sprintf("the %s has %s of free memory, less than the 4 GiB the model needs even with its layers streamed one at a time", name, gibs(free)), hostRAMBytes)
	}
	usual := budget
	if hostRAMBytes > 0 && p.HostRAMNeededBytes > hostRAMBytes && p.VRAMMode != ModeFull {
		need := ceilHalf(float64(ModelBytes+HostHeadroomBytes-hostRAMBytes) / gib)
		budget = math.Min(need, ceiling)
		p = presetFor(budget)
	}
	model := float64(ModelBytes) / gib
	if hostRAMBytes > 0 && p.HostRAMNeededBytes > hostRAMBytes {
		p.Runnable = false
		if p.VRAMMode == ModeFull {
			p.Reason = fmt.Sprintf("This machine cannot run the model: the %s holds all of it, but the engine and the system still need about %s of RAM and this machine has %s",
				name, gibs(p.HostRAMNeededBytes), gibs(hostRAMBytes))
			return finish(p)
		}
		// What would do: that much RAM, or a card whose free memory
		// less the margin leaves the host only what it can hold.
		orGPU := ""
		if hostRAMBytes >= HostHeadroomBytes {
			gpuNeed := math.Ceil(float64(ModelBytes+HostHeadroomBytes-hostRAMBytes+WorkingMarginBytes) / gib)
			orGPU = fmt.Sprintf(", or a GPU with at least %g GiB", math.Min(gpuNeed, math.Ceil(float64(ModelBytes+WorkingMarginBytes)/gib)))
		}
		p.Reason = fmt.Sprintf("This machine cannot run the full model: with %g GiB of it on the %s the other %.1f GiB must stay in host memory, which needs about %s of RAM but this machine has %s (it would need that much RAM%s)",
			budget, name, model-budget, gibs(p.HostRAMNeededBytes), gibs(hostRAMBytes), orGPU)
		return finish(p)
	}

	switch {
	case why == "datacentre":
		p.Reason = fmt.Sprintf("The %s is an 80 GB-class card: the whole model (%.1f GiB) stays on it with %s to spare, the fastest setting",
			name, model, gibs(free-ModelBytes))
		return finish(p)
	case p.VRAMMode == ModeFull:
		spare := free - ModelBytes
		tight := ""
		if spare < 9<<30 {
			tight = ", enough for text-to-image but tight for large edits and interleaved stories"
		}
		p.Reason = fmt.Sprintf("The whole model (%.1f GiB) fits in the %s's %s of free memory with %s left for the work itself%s",
			model, name, gibs(free), gibs(spare), tight)
		return finish(p)
	}
	var lead string
	switch {
	case budget != usual:
		lead = fmt.Sprintf("The %s has %s free, and as this machine's %s of RAM cannot hold more of the rest, %g GiB of the model stays on it instead of the usual %g GiB",
			name, gibs(free), gibs(hostRAMBytes), budget, usual)
	case why == "seed":
		lead = fmt.Sprintf("The %s has %s, so the preset for %g GB cards keeps %g GiB of the model on it",
			name, gibs(total), seedSize, budget)
	case why == "seed-busy":
		lead = fmt.Sprintf("Other programs are using %s of the %s's %s, so %g GiB of the model stays on it instead of the %g GB preset's %g GiB",
			gibs(total-free), name, gibs(total), budget, seedSize, seed)
	default:
		lead = fmt.Sprintf("The %s has %s free, so after 3 GiB for the work itself %g GiB of the model stays on it",
			name, gibs(free), budget)
	}
	how := "stream from host memory"
	if p.VRAMMode == ModeLow {
		how = "stream from host memory one layer at a time (low mode, slow)"
	}
	unknown := ""
	if hostRAMBytes <= 0 {
		unknown = " (this machine's memory could not be read, so that is not checked)"
	}
	p.Reason = fmt.Sprintf("%s and the other %.1f GiB %s, which needs about %s of RAM%s",
		lead, model-budget, how, gibs(p.HostRAMNeededBytes), unknown)
	if keep := float64(total-WorkingMarginBytes) / gib; keep < budget {
		// The engine never lets the weights take the margin (the command
		// line's memoryPlan): say what it will really keep.
		p.Reason += fmt.Sprintf("; the engine itself holds only %.1f GiB of weights on the card and streams the rest too, so that %s of its %s stay free for the work itself",
			math.Max(keep, 0.5), gibs(WorkingMarginBytes), gibs(total))
	}
	return finish(p)
}

// presetFor is the mode a weight budget of budget GiB allows, runnable,
// without a reason.
func presetFor(budget float64) Preset {
	if budget >= float64(ModelBytes)/gib {
		return Preset{VRAMMode: ModeFull, Runnable: true, HostRAMNeededBytes: HostHeadroomBytes}
	}
	b := int64(budget * gib)
	switch {
	case b >= balancedMinimum:
		return Preset{MaxMemoryGiB: budget, VRAMMode: ModeBalanced, Runnable: true, HostRAMNeededBytes: ModelBytes - b + HostHeadroomBytes}
	case b >= lowMinimum:
		return Preset{MaxMemoryGiB: budget, VRAMMode: ModeLow, Runnable: true, HostRAMNeededBytes: ModelBytes - b + HostHeadroomBytes}
	}
	return Preset{VRAMMode: ModeCPU, Runnable: true, HostRAMNeededBytes: ModelBytes + HostHeadroomBytes}
}

// cpuPreset is the CPU-only preset; cause says why no GPU can run the
// model, as a clause.
func cpuPreset(cause string, hostRAMBytes int64) Preset {
	p := presetFor(0)
	switch {
	case hostRAMBytes <= 0:
		p.Reason = fmt.Sprintf("%s, so only the CPU can run the model, very slowly, which needs about %s of RAM (this machine's memory could not be read, so that is not checked)",
			upperFirst(cause), gibs(p.HostRAMNeededBytes))
	case hostRAMBytes < p.HostRAMNeededBytes:
		p.Runnable = false
		p.Reason = fmt.Sprintf("This machine cannot run the full model: %s, and running it on the CPU needs about %s of RAM but this machine has %s",
			cause, gibs(p.HostRAMNeededBytes), gibs(hostRAMBytes))
	default:
		p.Reason = fmt.Sprintf("%s, so only the CPU can run the model, very slowly", upperFirst(cause))
	}
	return finish(p)
}

// ChooseForInventory picks the card to run on and its preset: a runnable
// preset before one that is not, then full before balanced before low
// before cpu, then the larger budget, then the lower device index. With no
// device it returns the zero Device and the CPU preset. Only one card is
// used: the engine does not split the model across GPUs.
func ChooseForInventory(inv Inventory, hostRAMBytes int64) (Device, Preset) {
	if len(inv.Devices) == 0 {
		return Device{}, cpuPreset("no NVIDIA GPU was detected", hostRAMBytes)
	}
	var best Device
	var bestP Preset
	for i, d := range inv.Devices {
		p := ChoosePreset(d, hostRAMBytes)
		if i == 0 || better(p, bestP) {
			best, bestP = d, p
		}
	}
	return best, bestP
}

// better reports whether a is a strictly better preset than b.
func better(a, b Preset) bool {
	if a.Runnable != b.Runnable {
		return a.Runnable
	}
	if ra, rb := modeRank(a.VRAMMode), modeRank(b.VRAMMode); ra != rb {
		return ra > rb
	}
	return a.MaxMemoryGiB > b.MaxMemoryGiB
}

func modeRank(m string) int {
	switch m {
	case ModeFull:
		return 3
	case ModeBalanced:
		return 2
	case ModeLow:
		return 1
	}
	return 0
}

// finish ends the reason with a full stop.
func finish(p Preset) Preset {
	p.Reason = strings.TrimSpace(p.Reason)
	if !strings.HasSuffix(p.Reason, ".") {
		p.Reason += "."
	}
	return p
}

func gibs(b int64) string { return fmt.Sprintf("%.1f GiB", float64(b)/gib) }

func floorHalf(x float64) float64 { return math.Floor(x*2) / 2 }

// ceilHalf rounds up to 0.5, ignoring float noise below 1e-9.
func ceilHalf(x float64) float64 { return math.Ceil(x*2-1e-9) / 2 }

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
