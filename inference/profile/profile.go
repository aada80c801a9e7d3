package profile

import (
	"fmt"
	"io"
	"strings"
	"sync"
)

// PatchSize is the side, in pixels, of one output image token; the report
// counts (W/PatchSize)·(H/PatchSize) tokens per generated picture.
const PatchSize = 32

// rule is the line of 64 '=' that frames the summary.
var rule = strings.Repeat("=", 64)

// Memory is a peak-memory reading. GPU fields are summed over devices; zero on the CPU.
type Memory struct {
	AllocatedBytes, ReservedBytes int64          // GPU: max bytes held by live tensors / by the allocator
	RSSBytes                      int64          // process max resident set size (lifetime, monotonic)
	Devices                       []DeviceMemory // per-device breakdown, printed only when len > 1
}

// DeviceMemory is one device's share of a Memory reading.
type DeviceMemory struct {
	Name                          string
	AllocatedBytes, ReservedBytes int64
}

// IsZero reports whether every value of the reading, per-device ones
// included, is zero: such a reading is not printed.
func (m Memory) IsZero() bool {
	if m.AllocatedBytes != 0 || m.ReservedBytes != 0 || m.RSSBytes != 0 {
		return false
	}
	for _, d := range m.Devices {
		if d.AllocatedBytes != 0 || d.ReservedBytes != 0 {
			return false
		}
	}
	return true
}

// Call is one timed generation call.
type Call struct {
	Width, Height, Batch int
	Seconds              float64
	Peak                 Memory
}

// Tokens is the number of output image tokens of the call:
// (Width/32)·(Height/32)·Batch, with integer division like the reference.
func (c Call) Tokens() int64 {
	return int64(c.Width/PatchSize) * int64(c.Height/PatchSize) * int64(c.Batch)
}

// Profiler collects the records of one run. The zero value is not ready for
// use; call New. Its methods may be called from several goroutines.
type Profiler struct {
	mu       sync.Mutex
	keys     []string
	config   map[string]string
	loadSet  bool
	loadSecs float64
	loadPeak Memory
	calls    []Call
}

// New returns an empty profiler.
func New() *Profiler {
	return &Profiler{config: map[string]string{}}
}

// SetConfig records one "key=value" entry of the config line. Entries are
// printed in the order their keys were first set; setting a key again
// replaces its value in place. An entry whose value is empty is left out of
// the line (the reference drops absent values such as gguf without a GGUF
// checkpoint).
func (p *Profiler) SetConfig(key, value string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.config[key]; !ok {
		p.keys = append(p.keys, key)
	}
	p.config[key] = value
}

// SetLoad records the model-load wall time and the peak memory of the load.
func (p *Profiler) SetLoad(seconds float64, peak Memory) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.loadSet = true
	p.loadSecs = seconds
	p.loadPeak = cloneMemory(peak)
}

// AddCall records one timed generation call.
func (p *Profiler) AddCall(c Call) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c.Peak = cloneMemory(c.Peak)
	p.calls = append(p.calls, c)
}

// Calls returns a copy of the recorded calls, in the order they were added.
func (p *Profiler) Calls() []Call {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]Call, len(p.calls))
	for i, c := range p.calls {
		c.Peak = cloneMemory(c.Peak)
		out[i] = c
	}
	return out
}

// Summary holds the figures of PIPELINES.md 8.2 derived from the calls.
type Summary struct {
	Calls        int
	Images       int64   // Σ batch
	TotalSeconds float64 // Σ seconds
	Tokens       int64   // Σ (W/32)·(H/32)·batch
	// SecondsPerImage is TotalSeconds / Images and TokensPerImage is
	// Tokens / Images; both are valid only when PerImageOK (Images ≠ 0).
	SecondsPerImage, TokensPerImage float64
	PerImageOK                      bool
	// TokensPerSecond is Tokens / TotalSeconds, valid only when ThroughputOK
	// (TotalSeconds ≠ 0).
	TokensPerSecond float64
	ThroughputOK    bool
	// Peak is the per-field maximum of the calls' peak memory; devices are
	// matched by name and listed in the order they first appear.
	Peak Memory
}

// Summary computes the derived figures of the calls recorded so far.
func (p *Profiler) Summary() Summary {
	p.mu.Lock()
	defer p.mu.Unlock()
	return summarize(p.calls)
}

func summarize(calls []Call) Summary {
	s := Summary{Calls: len(calls)}
	peaks := make([]Memory, 0, len(calls))
	for _, c := range calls {
		s.Images += int64(c.Batch)
		s.TotalSeconds += c.Seconds
		s.Tokens += c.Tokens()
		peaks = append(peaks, c.Peak)
	}
	if s.Images != 0 {
		s.PerImageOK = true
		s.SecondsPerImage = s.TotalSeconds / float64(s.Images)
		s.TokensPerImage = float64(s.Tokens) / float64(s.Images)
	}
	if s.TotalSeconds != 0 {
		s.ThroughputOK = true
		s.TokensPerSecond = float64(s.Tokens) / s.TotalSeconds
	}
	s.Peak = maxMemory(peaks)
	return s
}

// maxMemory is the per-field maximum of the readings, each device
// separately (matched by name, in order of first appearance).
func maxMemory(ms []Memory) Memory {
	var out Memory
	index := map[string]int{}
	for _, m := range ms {
		out.AllocatedBytes = max(out.AllocatedBytes, m.AllocatedBytes)
		out.ReservedBytes = max(out.ReservedBytes, m.ReservedBytes)
		out.RSSBytes = max(out.RSSBytes, m.RSSBytes)
		for _, d := range m.Devices {
			i, ok := index[d.Name]
			if !ok {
				i = len(out.Devices)
				index[d.Name] = i
				out.Devices = append(out.Devices, DeviceMemory{Name: d.Name})
			}
			o := &out.Devices[i]
			o.AllocatedBytes = max(o.AllocatedBytes, d.AllocatedBytes)
			o.ReservedBytes = max(o.ReservedBytes, d.ReservedBytes)
		}
	}
	return out
}

func cloneMemory(m Memory) Memory {
	if m.Devices != nil {
		m.Devices = append([]DeviceMemory(nil), m.Devices...)
	}
	return m
}

// gib formats a byte count as GiB (bytes / 1024³) with two decimals.
func gib(b int64) string {
	return fmt.Sprintf("%.2f", float64(b)/(1<<30))
}

// FormatMemory renders a reading the way the summary does (<MEM> of
// PIPELINES.md 8.3): "allocated X GiB, reserved Y GiB" (left out when both
// are zero), then "cpu RSS Z GiB" (left out when zero), joined by ", ", or
// "n/a" when both are left out; with more than one device, " (<name>: A GiB
// alloc/R GiB reserved, …)" is appended.
func FormatMemory(m Memory) string {
	var parts []string
	if m.AllocatedBytes != 0 || m.ReservedBytes != 0 {
		parts = append(parts, "allocated "+gib(m.AllocatedBytes)+" GiB, reserved "+gib(m.ReservedBytes)+" GiB")
	}
	if m.RSSBytes != 0 {
		parts = append(parts, "cpu RSS "+gib(m.RSSBytes)+" GiB")
	}
	s := strings.Join(parts, ", ")
	if s == "" {
		s = "n/a"
	}
	if len(m.Devices) > 1 {
		devs := make([]string, len(m.Devices))
		for i, d := range m.Devices {
			devs[i] = d.Name + ": " + gib(d.AllocatedBytes) + " GiB alloc/" + gib(d.ReservedBytes) + " GiB reserved"
		}
		s += " (" + strings.Join(devs, ", ") + ")"
	}
	return s
}

// label renders "  <name padded to 20>: ".
func label(name string) string {
	return fmt.Sprintf("  %-20s: ", name)
}

// Write renders the summary of PIPELINES.md 8.3, preceded by a blank line:
//
//	================================================================
//	Profile summary
//	================================================================
//	  config              : k=v, k=v
//	  model load          :   88.857 s
//	  load peak memory    : <MEM>
//	  generations         : 1 call(s), 1 image(s) total, 22.108 s wall
//	  avg per image       :   22.108 s
//	  image tokens        : patch_size=32, avg 4096 tok/image (4096)
//	  throughput          :   185.27 tok/s
//	  generation peak mem : <MEM>
//	  per-call breakdown  :
//	    [  1] 2048x2048 x1   22.108 s  (  4096 tok,   185.27 tok/s, <MEM>)
//	================================================================
//
// The config line is left out when no entry has a value, the model-load
// lines when SetLoad was never called, the memory lines when the reading is
// all zero, the per-call breakdown unless there is more than one call, and a
// call's ", <MEM>" when its reading is all zero. Without any timed call,
// "  (no generations were timed)" follows the load lines and the closing
// rule is left out.
func (p *Profiler) Write(w io.Writer) error {
	p.mu.Lock()
	text := p.render()
	p.mu.Unlock()
	if _, err := io.WriteString(w, text); err != nil {
		return fmt.Errorf("writing profile summary: %w", err)
	}
	return nil
}

// String returns the text Write writes.
func (p *Profiler) String() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.render()
}

func (p *Profiler) render() string {
	var b strings.Builder
	line := func(format string, args ...any) {
		fmt.Fprintf(&b, format, args...)
		b.WriteByte('\n')
	}
	line("")
	line("%s", rule)
	line("Profile summary")
	line("%s", rule)

	var cfg []string
	for _, k := range p.keys {
		if v := p.config[k]; v != "" {
			cfg = append(cfg, k+"="+v)
		}
	}
	if len(cfg) > 0 {
		line("%s%s", label("config"), strings.Join(cfg, ", "))
	}
	if p.loadSet {
		line("%s%8.3f s", label("model load"), p.loadSecs)
		if !p.loadPeak.IsZero() {
			line("%s%s", label("load peak memory"), FormatMemory(p.loadPeak))
		}
	}
	if len(p.calls) == 0 {
		line("  (no generations were timed)")
		return b.String()
	}

	s := summarize(p.calls)
	line("%s%d call(s), %d image(s) total, %.3f s wall", label("generations"), s.Calls, s.Images, s.TotalSeconds)
	if s.PerImageOK {
		line("%s%8.3f s", label("avg per image"), s.SecondsPerImage)
		line("%spatch_size=%d, avg %.0f tok/image (%d)", label("image tokens"), PatchSize, s.TokensPerImage, int64(s.TokensPerImage))
	} else {
		line("%s%8s", label("avg per image"), "n/a")
		line("%spatch_size=%d, avg n/a", label("image tokens"), PatchSize)
	}
	if s.ThroughputOK {
		line("%s%8.2f tok/s", label("throughput"), s.TokensPerSecond)
	} else {
		line("%s%8s", label("throughput"), "n/a")
	}
	if !s.Peak.IsZero() {
		line("%s%s", label("generation peak mem"), FormatMemory(s.Peak))
	}
	if len(p.calls) > 1 {
		line("  %-20s:", "per-call breakdown")
		for k, c := range p.calls {
			tokens := c.Tokens()
			rate := fmt.Sprintf("%8s", "n/a")
			if c.Seconds != 0 {
				rate = fmt.Sprintf("%8.2f tok/s", float64(tokens)/c.Seconds)
			}
			mem := ""
			if !c.Peak.IsZero() {
				mem = ", " + FormatMemory(c.Peak)
			}
			line("    [%3d] %dx%d x%d  %7.3f s  (%6d tok, %s%s)", k+1, c.Width, c.Height, c.Batch, c.Seconds, tokens, rate, mem)
		}
	}
	line("%s", rule)
	return b.String()
}
