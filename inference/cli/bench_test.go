package cli

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/sensenova/studio/gpu"
	"github.com/sensenova/studio/inference/checkpoint"
)

// TestBenchOnTheCPU runs the benchmark end to end on the tiny golden
// config: random weights, the pipeline, the run lines and the profile.
func TestBenchOnTheCPU(t *testing.T) {
	dir := goldenPath(t, "mlphead")
	code, out, errOut := run(t, "", "bench", "--config", dir, "--tokenizer", dir, "--device", "cpu",
		"--width", "128", "--height", "96", "--num_steps", "2", "--repeats", "2", "--prefix_tokens", "40", "--decode_tokens", "6")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		"3 layers, hidden 128, 4/2 heads of 32) on cpu",
		"task: t2i 128x96, 2 steps, cfg 4, shift 3, prefix 40 + 10 tokens",
		"Profile summary",
		"generations         : 2 call(s), 2 image(s) total",
		"image tokens        : patch_size=32, avg 12 tok/image (12)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if n := len(regexp.MustCompile(`(?m)^run [12]: [0-9.]+ s, [0-9.]+ ms/step, [0-9.e+-]+ TFLOP/s, peak RSS`).FindAllString(out, -1)); n != 2 {
		t.Errorf("%d run lines, want 2:\n%s", n, out)
	}
	if !regexp.MustCompile(`(?m)^decode: 6 tokens after a 39-token prompt: prefill and first token [0-9.]+ s, then [0-9.]+ ms/token, [0-9.]+ tokens/s$`).MatchString(out) {
		t.Errorf("no decode line:\n%s", out)
	}
}

func TestBenchRejectsBadInput(t *testing.T) {
	for _, args := range [][]string{
		{"--width", "100"},
		{"--num_steps", "0"},
		{"--prefix_tokens", "1"},
		{"--config", "no-such-model"},
		{"--max_memory", "0=lots"},
		{"--decode_tokens", "-1"},
		{"--vram_mode", "half"},
	} {
		code, _, errOut := run(t, "", append([]string{"bench", "--device", "cpu"}, args...)...)
		if code != 2 || !strings.Contains(errOut, strings.TrimPrefix(args[0], "--")) {
			t.Errorf("%v: exit %d, stderr %q", args, code, errOut)
		}
	}
}

// TestBenchFLOPs checks the FLOP count of the seed's job against a count by
// hand: 42 layers, 4096 image tokens, prefixes of 269 and 10 tokens.
func TestBenchFLOPs(t *testing.T) {
	data, err := checkpoint.ReferenceConfig("SenseNova-U1-8B-MoT")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := checkpoint.ParseConfig(data, "ref")
	if err != nil {
		t.Fatal(err)
	}
	const n = 4096.0
	linear := 2 * n * (4096*4096 + 2*4096*1024 + 4096*4096 + 3*4096*12288.0)
	head := 2 * n * (4096*4096 + 4096*3072.0)
	attn := func(p float64) float64 { return 4 * n * (p + n) * 4096 }
	want := 42*(linear+attn(269)) + head + 42*(linear+attn(10)) + head
	if got := benchFLOPs(cfg, 4096, 269, 10, 2); got != want {
		t.Errorf("benchFLOPs = %.6g, want %.6g", got, want)
	}
}

func TestMemoryPlan(t *testing.T) {
	const gib = int64(1) << 30
	for _, c := range []struct {
		mode          string
		budget, card  int64
		alloc, weight int64
	}{
		{"full", 0, 80 * gib, 0, 0},
		{"full", 30 * gib, 80 * gib, 30 * gib, 0},
		{"balanced", 7 * gib, 80 * gib, 0, 7 * gib},
		{"balanced", 7 * gib, 8 * gib, 0, 5 * gib}, // an 8 GB card keeps 3 GiB for the rest
		{"balanced", 20 * gib, 24 * gib, 0, 20 * gib},
		{"low", 3 * gib, 8 * gib, 0, 3 * gib},
		{"low", 0, 8 * gib, 0, 2 * gib},
		{"balanced", 0, 24 * gib, 0, 21 * gib},
		{"fast", 0, 3 * gib, 0, gib / 2},
	} {
		a, w := memoryPlan(c.mode, c.budget, c.card)
		if a != c.alloc || w != c.weight {
			t.Errorf("memoryPlan(%s, %d GiB, card %d GiB) = allocator %d, weights %d; want %d, %d",
				c.mode, c.budget/gib, c.card/gib, a, w, c.alloc, c.weight)
		}
	}
}

func TestExplainLoadError(t *testing.T) {
	oom := fmt.Errorf("model: weight %q: %w", "w", gpu.ErrOutOfMemory)
	if err := explainLoadError(oom, "full"); !errors.Is(err, gpu.ErrOutOfMemory) || !strings.Contains(err.Error(), "--vram_mode balanced") {
		t.Errorf("full mode out of memory: %v", err)
	}
	if err := explainLoadError(oom, "balanced"); err != oom {
		t.Errorf("balanced mode: %v, want the error as it is", err)
	}
	other := errors.New("bad shard")
	if err := explainLoadError(other, "full"); err != other {
		t.Errorf("another error: %v", err)
	}
}
