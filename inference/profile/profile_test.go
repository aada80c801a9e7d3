package profile

import (
	"bytes"
	"errors"
	"runtime"
	"strings"
	"testing"
)

// gb converts a GiB figure of the reference tables (PIPELINES.md 8.4) to
// bytes; it prints back as the same two decimals.
func gb(g float64) int64 { return int64(g * (1 << 30)) }

// mem is a single-GPU reading: allocated / reserved GiB and cpu RSS GiB.
func mem(alloc, reserved, rss float64) Memory {
	return Memory{AllocatedBytes: gb(alloc), ReservedBytes: gb(reserved), RSSBytes: gb(rss)}
}

// fullConfig is the config the T2I script records for --vram_mode full.
func fullConfig(p *Profiler) {
	p.SetConfig("vram_mode", "full")
	p.SetConfig("attn_backend", "flash_attention_2")
	p.SetConfig("dtype", "bf16")
	p.SetConfig("gguf", "") // no GGUF: dropped
}

func render(t *testing.T, p *Profiler) string {
	t.Helper()
	var b bytes.Buffer
	if err := p.Write(&b); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if s := p.String(); s != b.String() {
		t.Fatalf("String() differs from Write:\n%s\nvs\n%s", s, b.String())
	}
	return b.String()
}

func checkGolden(t *testing.T, got, want string) {
	t.Helper()
	if got != want {
		gl, wl := strings.Split(got, "\n"), strings.Split(want, "\n")
		for i := 0; i < max(len(gl), len(wl)); i++ {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Errorf("line %d:\n got %q\nwant %q", i+1, g, w)
			}
		}
		t.Fatalf("summary differs; got:\n%s", got)
	}
}

// TestSingleCall is the T2I 2048² row of PIPELINES.md 8.4 (full mode).
func TestSingleCall(t *testing.T) {
	p := New()
	fullConfig(p)
	p.SetLoad(88.857, mem(32.77, 33.10, 5.59))
	p.AddCall(Call{Width: 2048, Height: 2048, Batch: 1, Seconds: 22.108, Peak: mem(34.83, 35.82, 5.59)})
	want := `
================================================================
Profile summary
================================================================
  config              : vram_mode=full, attn_backend=flash_attention_2, dtype=bf16
  model load          :   88.857 s
  load peak memory    : allocated 32.77 GiB, reserved 33.10 GiB, cpu RSS 5.59 GiB
  generations         : 1 call(s), 1 image(s) total, 22.108 s wall
  avg per image       :   22.108 s
  image tokens        : patch_size=32, avg 4096 tok/image (4096)
  throughput          :   185.27 tok/s
  generation peak mem : allocated 34.83 GiB, reserved 35.82 GiB, cpu RSS 5.59 GiB
================================================================
`
	checkGolden(t, render(t, p), want)
}

// TestMultiCall puts the T2I, T2I + think and editing rows of 8.4 in one
// run (as a JSONL run would record them). The editing call has 1632×2528 →
// 51·79 = 4029 tokens; at exactly 25.871 s that is 155.73 tok/s (the
// table's 155.74 comes from the unrounded wall time).
func TestMultiCall(t *testing.T) {
	p := New()
	fullConfig(p)
	p.SetLoad(88.857, mem(32.77, 33.10, 5.59))
	p.AddCall(Call{Width: 2048, Height: 2048, Batch: 1, Seconds: 22.108, Peak: mem(34.83, 35.82, 5.59)})
	p.AddCall(Call{Width: 2048, Height: 2048, Batch: 1, Seconds: 38.342, Peak: mem(35.02, 35.94, 5.58)})
	p.AddCall(Call{Width: 1632, Height: 2528, Batch: 1, Seconds: 25.871, Peak: mem(39.50, 41.32, 5.61)})
	want := `
================================================================
Profile summary
================================================================
  config              : vram_mode=full, attn_backend=flash_attention_2, dtype=bf16
  model load          :   88.857 s
  load peak memory    : allocated 32.77 GiB, reserved 33.10 GiB, cpu RSS 5.59 GiB
  generations         : 3 call(s), 3 image(s) total, 86.321 s wall
  avg per image       :   28.774 s
  image tokens        : patch_size=32, avg 4074 tok/image (4073)
  throughput          :   141.58 tok/s
  generation peak mem : allocated 39.50 GiB, reserved 41.32 GiB, cpu RSS 5.61 GiB
  per-call breakdown  :
    [  1] 2048x2048 x1   22.108 s  (  4096 tok,   185.27 tok/s, allocated 34.83 GiB, reserved 35.82 GiB, cpu RSS 5.59 GiB)
    [  2] 2048x2048 x1   38.342 s  (  4096 tok,   106.83 tok/s, allocated 35.02 GiB, reserved 35.94 GiB, cpu RSS 5.58 GiB)
    [  3] 1632x2528 x1   25.871 s  (  4029 tok,   155.73 tok/s, allocated 39.50 GiB, reserved 41.32 GiB, cpu RSS 5.61 GiB)
================================================================
`
	checkGolden(t, render(t, p), want)

	s := p.Summary()
	if s.Images != 3 || s.Tokens != 12221 || !s.PerImageOK || !s.ThroughputOK {
		t.Errorf("Summary = %+v", s)
	}
}

// TestInterleaveBatch is the interleave row of 8.4: one call whose batch is
// the number of pictures generated (6 × 2048×1152 = 6 × 2304 tokens).
func TestInterleaveBatch(t *testing.T) {
	p := New()
	fullConfig(p)
	p.SetLoad(74.821, mem(32.77, 33.10, 5.63))
	p.AddCall(Call{Width: 2048, Height: 1152, Batch: 6, Seconds: 296.118, Peak: mem(49.22, 69.18, 5.63)})
	got := render(t, p)
	for _, want := range []string{
		"  generations         : 1 call(s), 6 image(s) total, 296.118 s wall\n",
		"  avg per image       :   49.353 s\n",
		"  image tokens        : patch_size=32, avg 2304 tok/image (2304)\n",
		"  throughput          :    46.68 tok/s\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
	if strings.Contains(got, "per-call breakdown") {
		t.Errorf("per-call breakdown printed for a single call:\n%s", got)
	}
}

func TestNoCall(t *testing.T) {
	p := New()
	fullConfig(p)
	p.SetLoad(82.06, mem(32.77, 33.10, 5.58))
	want := `
================================================================
Profile summary
================================================================
  config              : vram_mode=full, attn_backend=flash_attention_2, dtype=bf16
  model load          :   82.060 s
  load peak memory    : allocated 32.77 GiB, reserved 33.10 GiB, cpu RSS 5.58 GiB
  (no generations were timed)
`
	checkGolden(t, render(t, p), want)
}

// TestCPUOnlyMemory: in low/balanced mode (or on the CPU) the GPU counters
// are zero and only the RSS is printed; a reading of all zeros is not.
func TestCPUOnlyMemory(t *testing.T) {
	p := New()
	p.SetConfig("vram_mode", "low")
	p.SetConfig("attn_backend", "sdpa")
	p.SetConfig("dtype", "bf16")
	p.SetLoad(12.5, Memory{RSSBytes: gb(0.98)})
	p.AddCall(Call{Width: 2048, Height: 2048, Batch: 1, Seconds: 130.191, Peak: Memory{RSSBytes: gb(47.22)}})
	want := `
================================================================
Profile summary
================================================================
  config              : vram_mode=low, attn_backend=sdpa, dtype=bf16
  model load          :   12.500 s
  load peak memory    : cpu RSS 0.98 GiB
  generations         : 1 call(s), 1 image(s) total, 130.191 s wall
  avg per image       :  130.191 s
  image tokens        : patch_size=32, avg 4096 tok/image (4096)
  throughput          :    31.46 tok/s
  generation peak mem : cpu RSS 47.22 GiB
================================================================
`
	checkGolden(t, render(t, p), want)

	// All-zero readings: no memory lines at all, and no ", <MEM>" per call.
	q := New()
	q.SetConfig("dtype", "bf16")
	q.SetLoad(1, Memory{})
	q.AddCall(Call{Width: 64, Height: 64, Batch: 1, Seconds: 2})
	q.AddCall(Call{Width: 64, Height: 32, Batch: 2, Seconds: 1})
	want = `
================================================================
Profile summary
================================================================
  config              : dtype=bf16
  model load          :    1.000 s
  generations         : 2 call(s), 3 image(s) total, 3.000 s wall
  avg per image       :    1.000 s
  image tokens        : patch_size=32, avg 3 tok/image (2)
  throughput          :     2.67 tok/s
  per-call breakdown  :
    [  1] 64x64 x1    2.000 s  (     4 tok,     2.00 tok/s)
    [  2] 64x32 x2    1.000 s  (     4 tok,     4.00 tok/s)
================================================================
`
	checkGolden(t, render(t, q), want)
}

func TestMultiDeviceMemory(t *testing.T) {
	dev := func(name string, a, r float64) DeviceMemory {
		return DeviceMemory{Name: name, AllocatedBytes: gb(a), ReservedBytes: gb(r)}
	}
	p := New()
	p.SetConfig("vram_mode", "full")
	p.SetConfig("attn_backend", "sdpa")
	p.SetConfig("dtype", "bf16")
	p.SetConfig("gguf", "/models/u1-q8_0.gguf")
	p.SetLoad(60, Memory{AllocatedBytes: gb(20), ReservedBytes: gb(22), RSSBytes: gb(5.5),
		Devices: []DeviceMemory{dev("cuda:0", 12, 13), dev("cuda:1", 8, 9)}})
	p.AddCall(Call{Width: 1024, Height: 1024, Batch: 2, Seconds: 10, Peak: Memory{
		AllocatedBytes: gb(24), ReservedBytes: gb(26), RSSBytes: gb(5.75),
		Devices: []DeviceMemory{dev("cuda:0", 15, 16), dev("cuda:1", 9, 10)}}})
	p.AddCall(Call{Width: 1024, Height: 1024, Batch: 1, Seconds: 5, Peak: Memory{
		AllocatedBytes: gb(23), ReservedBytes: gb(25), RSSBytes: gb(5.75),
		Devices: []DeviceMemory{dev("cuda:0", 11, 12), dev("cuda:1", 12, 13)}}})
	want := `
================================================================
Profile summary
================================================================
  config              : vram_mode=full, attn_backend=sdpa, dtype=bf16, gguf=/models/u1-q8_0.gguf
  model load          :   60.000 s
  load peak memory    : allocated 20.00 GiB, reserved 22.00 GiB, cpu RSS 5.50 GiB (cuda:0: 12.00 GiB alloc/13.00 GiB reserved, cuda:1: 8.00 GiB alloc/9.00 GiB reserved)
  generations         : 2 call(s), 3 image(s) total, 15.000 s wall
  avg per image       :    5.000 s
  image tokens        : patch_size=32, avg 1024 tok/image (1024)
  throughput          :   204.80 tok/s
  generation peak mem : allocated 24.00 GiB, reserved 26.00 GiB, cpu RSS 5.75 GiB (cuda:0: 15.00 GiB alloc/16.00 GiB reserved, cuda:1: 12.00 GiB alloc/13.00 GiB reserved)
  per-call breakdown  :
    [  1] 1024x1024 x2   10.000 s  (  2048 tok,   204.80 tok/s, allocated 24.00 GiB, reserved 26.00 GiB, cpu RSS 5.75 GiB (cuda:0: 15.00 GiB alloc/16.00 GiB reserved, cuda:1: 9.00 GiB alloc/10.00 GiB reserved))
    [  2] 1024x1024 x1    5.000 s  (  1024 tok,   204.80 tok/s, allocated 23.00 GiB, reserved 25.00 GiB, cpu RSS 5.75 GiB (cuda:0: 11.00 GiB alloc/12.00 GiB reserved, cuda:1: 12.00 GiB alloc/13.00 GiB reserved))
================================================================
`
	checkGolden(t, render(t, p), want)
}

// TestZeroImages: an interleave run that generated no picture (the upstream
// divides by zero) prints n/a for the per-image figures; a zero-second call
// prints n/a for its rate and the throughput.
func TestZeroImages(t *testing.T) {
	p := New()
	fullConfig(p)
	p.SetLoad(74.821, mem(32.77, 33.10, 5.63))
	p.AddCall(Call{Width: 2048, Height: 1152, Batch: 0, Seconds: 41.5, Peak: mem(33.5, 34, 5.63)})
	want := `
================================================================
Profile summary
================================================================
  config              : vram_mode=full, attn_backend=flash_attention_2, dtype=bf16
  model load          :   74.821 s
  load peak memory    : allocated 32.77 GiB, reserved 33.10 GiB, cpu RSS 5.63 GiB
  generations         : 1 call(s), 0 image(s) total, 41.500 s wall
  avg per image       :      n/a
  image tokens        : patch_size=32, avg n/a
  throughput          :     0.00 tok/s
  generation peak mem : allocated 33.50 GiB, reserved 34.00 GiB, cpu RSS 5.63 GiB
================================================================
`
	checkGolden(t, render(t, p), want)

	q := New()
	q.AddCall(Call{Width: 2048, Height: 1152, Batch: 0})
	q.AddCall(Call{Width: 2048, Height: 1152, Batch: 0})
	want = `
================================================================
Profile summary
================================================================
  generations         : 2 call(s), 0 image(s) total, 0.000 s wall
  avg per image       :      n/a
  image tokens        : patch_size=32, avg n/a
  throughput          :      n/a
  per-call breakdown  :
    [  1] 2048x1152 x0    0.000 s  (     0 tok,      n/a)
    [  2] 2048x1152 x0    0.000 s  (     0 tok,      n/a)
================================================================
`
	checkGolden(t, render(t, q), want)
}

// TestVQA: VQA records (1, 1, 1): 0 tok/image and 0.00 tok/s (8.2).
func TestVQA(t *testing.T) {
	p := New()
	p.AddCall(Call{Width: 1, Height: 1, Batch: 1, Seconds: 3.25})
	got := render(t, p)
	for _, want := range []string{
		"  image tokens        : patch_size=32, avg 0 tok/image (0)\n",
		"  throughput          :     0.00 tok/s\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
}

func TestConfigOrder(t *testing.T) {
	p := New()
	p.SetConfig("b", "1")
	p.SetConfig("a", "2")
	p.SetConfig("c", "")
	p.SetConfig("b", "3") // keeps its place
	p.SetConfig("a", "")  // dropped
	got := render(t, p)
	if want := "  config              : b=3\n"; !strings.Contains(got, want) {
		t.Errorf("missing %q in:\n%s", want, got)
	}
	q := New()
	q.SetConfig("gguf", "")
	if got := render(t, q); strings.Contains(got, "config") {
		t.Errorf("config line printed without entries:\n%s", got)
	}
}

func TestFormatMemory(t *testing.T) {
	tests := []struct {
		m    Memory
		want string
	}{
		{Memory{}, "n/a"},
		{Memory{RSSBytes: 1 << 30}, "cpu RSS 1.00 GiB"},
		{Memory{AllocatedBytes: 3 << 29}, "allocated 1.50 GiB, reserved 0.00 GiB"},
		{Memory{ReservedBytes: 1 << 30, RSSBytes: 1 << 31}, "allocated 0.00 GiB, reserved 1.00 GiB, cpu RSS 2.00 GiB"},
		{Memory{AllocatedBytes: 1 << 30, ReservedBytes: 1 << 30, Devices: []DeviceMemory{{"cuda:0", 1 << 30, 1 << 30}}},
			"allocated 1.00 GiB, reserved 1.00 GiB"},
		{Memory{Devices: []DeviceMemory{{"cuda:0", 0, 0}, {"cuda:1", 0, 0}}},
			"n/a (cuda:0: 0.00 GiB alloc/0.00 GiB reserved, cuda:1: 0.00 GiB alloc/0.00 GiB reserved)"},
	}
	for _, tt := range tests {
		if got := FormatMemory(tt.m); got != tt.want {
			t.Errorf("FormatMemory(%+v) = %q, want %q", tt.m, got, tt.want)
		}
	}
}

func TestRecordsAreCopied(t *testing.T) {
	devs := []DeviceMemory{{"cuda:0", 1 << 30, 1 << 30}, {"cuda:1", 1 << 30, 1 << 30}}
	p := New()
	p.AddCall(Call{Width: 32, Height: 32, Batch: 1, Seconds: 1, Peak: Memory{AllocatedBytes: 2 << 30, ReservedBytes: 2 << 30, Devices: devs}})
	devs[0].AllocatedBytes = 99 << 30
	if got := p.Calls()[0].Peak.Devices[0].AllocatedBytes; got != 1<<30 {
		t.Errorf("recorded device memory changed with the caller's slice: %d", got)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteError(t *testing.T) {
	err := New().Write(failWriter{})
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("Write to a failing writer: err = %v", err)
	}
}

func TestMaxRSS(t *testing.T) {
	got := MaxRSS()
	if runtime.GOOS == "linux" && got <= 0 {
		t.Fatalf("MaxRSS() = %d on Linux, want > 0", got)
	}
	if got < 0 {
		t.Fatalf("MaxRSS() = %d, want ≥ 0", got)
	}
}
