package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sensenova/studio/internal/golden"
)

// t2iArgs is the command line of a golden text-to-image case.
func t2iArgs(dir string, c golden.Case) []string {
	args := []string{"t2i", "--model_path", dir, "--prompt", c.Prompt,
		"--width", fmt.Sprint(c.Width), "--height", fmt.Sprint(c.Height),
		"--num_steps", fmt.Sprint(c.NumSteps), "--cfg_scale", fmtF(c.CFGScale),
		"--cfg_norm", c.CFGNorm, "--timestep_shift", fmtF(c.TimestepShift),
		"--seed", fmt.Sprint(c.Seed), "--t_eps", fmtF(c.TEps), "--cfg_interval", "0", "1"}
	if c.Kind == "t2i_think" {
		args = append(args, "--think")
	}
	return args
}

// TestT2IGoldenThroughCommandLine runs every golden text-to-image case
// (both checkpoints, with and without thinking) through the command line
// from the reference's noise: --output_raw within 1e-3 of the reference
// canvas, think ids exactly through --json_out, the PNG equal to the 8-bit
// conversion of the raw canvas, and the PNG's parameters record.
func TestT2IGoldenThroughCommandLine(t *testing.T) {
	for _, folder := range []string{"mlphead", "pixelhead"} {
		g := openGolden(t, folder)
		for _, c := range g.cases.Cases {
			if c.Kind != "t2i" && c.Kind != "t2i_think" {
				continue
			}
			t.Run(folder+"/"+c.Name, func(t *testing.T) {
				key := folder + "." + c.Name
				tmp := t.TempDir()
				noise := g.extract(t, filepath.Join(tmp, "noise.safetensors"), map[string]string{key + ".noise": "noise"})
				out, raw, js := filepath.Join(tmp, "pic.png"), filepath.Join(tmp, "raw.safetensors"), filepath.Join(tmp, "run.json")
				args := append(t2iArgs(g.dir, c), "--output", out, "--init_noise", noise, "--output_raw", raw, "--json_out", js)
				r := mustRun(t, args...)
				if !strings.Contains(r.out, "[saved] "+out+"\n") || !strings.HasPrefix(r.out, "[attn] backend='auto' (effective='cpu')\n") {
					t.Errorf("stdout:\n%s", r.out)
				}
				canvas, shape := readRaw(t, raw, "image")
				if !slices.Equal(shape, []int64{3, int64(c.Height), int64(c.Width)}) {
					t.Fatalf("raw image shape %v", shape)
				}
				checkClose(t, key+".image", canvas, g.ref(t, key+".image"), imageTol)
				rep := readJSONOut(t, js)
				if rep.Task != "t2i" || rep.ImageCount != 1 || rep.Width != c.Width || rep.Height != c.Height || rep.Timings.GenerateSeconds <= 0 {
					t.Errorf("json_out %+v", rep)
				}
				p := checkPNG(t, out, canvas, c.Width, c.Height)
				if p.Task != "t2i" || p.Prompt != c.Prompt || p.Seed != c.Seed || p.Steps != c.NumSteps || p.CFGScale != c.CFGScale ||
					p.CFGNorm != c.CFGNorm || p.TimestepShift != c.TimestepShift || p.TEps != c.TEps || p.Width != c.Width || p.Height != c.Height ||
					p.Model != folder || len(p.ModelConfigSHA256) != 64 || p.InitNoise != noise || p.UncondBranch != (c.CFGScale > 1) ||
					p.Think != (c.Kind == "t2i_think") || p.CFGInterval != [2]float64{0, 1} {
					t.Errorf("parameters record %+v", p)
				}
				if c.Kind != "t2i_think" {
					if rep.ThinkIDs != nil || rep.ThinkText != nil {
						t.Errorf("think fields without --think: %+v", rep)
					}
					return
				}
				if rep.ThinkIDs == nil || !slices.Equal(*rep.ThinkIDs, c.ThinkIDs) || *rep.ThinkText != c.ThinkText {
					t.Errorf("think ids %v\nwant %v", rep.ThinkIDs, c.ThinkIDs)
				}
				// The reasoning file: <stem>.think.txt (PIPELINES.md 3.5).
				text, err := os.ReadFile(filepath.Join(tmp, "pic.think.txt"))
				if err != nil || string(text) != c.ThinkText {
					t.Errorf("pic.think.txt: %v %q", err, text)
				}
			})
		}
	}
}

// TestT2IBatchNamesAndProfile: --batch_size 2 writes <stem>_0 and <stem>_1
// and a [2,3,H,W] raw tensor; the same seed gives the same pictures; the
// profile summary counts one call of two pictures.
func TestT2IBatchNamesAndProfile(t *testing.T) {
	dir := goldenPath(t, "mlphead")
	tmp := t.TempDir()
	out := filepath.Join(tmp, "sub", "fox.png")
	raw := filepath.Join(tmp, "raw.safetensors")
	base := []string{"t2i", "--model_path", dir, "--prompt", "a fox", "--width", "64", "--height", "64", "--num_steps", "2", "--seed", "5", "--batch_size", "2"}
	r := mustRun(t, append(base, "--output", out, "--output_raw", raw, "--profile")...)
	for i := 0; i < 2; i++ {
		if want := fmt.Sprintf("[saved] %s\n", filepath.Join(tmp, "sub", fmt.Sprintf("fox_%d.png", i))); !strings.Contains(r.out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.out)
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("with a batch of 2, fox.png itself must not be written")
	}
	vals, shape := readRaw(t, raw, "image")
	if !slices.Equal(shape, []int64{2, 3, 64, 64}) {
		t.Fatalf("raw shape %v", shape)
	}
	n := 3 * 64 * 64
	if slices.Equal(vals[:n], vals[n:]) {
		t.Error("the two batch pictures are identical: each must have its own noise")
	}
	for i := 0; i < 2; i++ {
		p := checkPNG(t, filepath.Join(tmp, "sub", fmt.Sprintf("fox_%d.png", i)), vals[i*n:(i+1)*n], 64, 64)
		if p.BatchIndex != i || p.Seed != 5 {
			t.Errorf("picture %d record %+v", i, p)
		}
	}
	for _, want := range []string{"Profile summary", "1 call(s), 2 image(s) total", "config              : vram_mode=full, attn_backend=cpu, dtype=float32", "cpu RSS"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("profile output lacks %q:\n%s", want, r.out)
		}
	}
	// Same seed, same pictures (the Go noise generator).
	raw2 := filepath.Join(tmp, "raw2.safetensors")
	mustRun(t, append(base, "--output", filepath.Join(tmp, "again.png"), "--output_raw", raw2)...)
	if vals2, _ := readRaw(t, raw2, "image"); !slices.Equal(vals, vals2) {
		t.Error("the same seed gave different pictures")
	}
	noTempFiles(t, filepath.Join(tmp, "sub"))
}

// TestT2IProfileOneCall checks the summary block of a single call.
func TestT2IProfileOneCall(t *testing.T) {
	tmp := t.TempDir()
	r := mustRun(t, "t2i", "--model_path", goldenPath(t, "mlphead"), "--prompt", "a fox", "--resolution", "1:1",
		"--width", "64", "--height", "32", "--num_steps", "1", "--output", filepath.Join(tmp, "o.png"), "--profile")
	for _, want := range []string{"\n================================================================\nProfile summary\n", "generations         : 1 call(s), 1 image(s) total", "image tokens        : patch_size=32, avg 2 tok/image (2)", "[warn] (64x32) is outside the trained resolution set"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.out)
		}
	}
}

// TestT2IJSONL runs a JSONL file: names <NNNN>[_<type>]_<W>x<H>.png (NNNN
// counts non-blank lines), per-sample size, seed and think (truthiness),
// <stem>.think.txt and the [think] pointer line.
func TestT2IJSONL(t *testing.T) {
	tmp := t.TempDir()
	jsonl := filepath.Join(tmp, "in.jsonl")
	os.WriteFile(jsonl, []byte(`{"prompt": "a cat", "type": "poster", "seed": "7"}

{"prompt": "a dog", "width": 96, "height": 64, "think": 1}
`), 0o644)
	outDir := filepath.Join(tmp, "outs")
	r := mustRun(t, "t2i", "--model_path", goldenPath(t, "mlphead"), "--jsonl", jsonl, "--output_dir", outDir,
		"--width", "64", "--height", "32", "--num_steps", "1", "--print_think")
	for _, name := range []string{"0001_poster_64x32.png", "0002_96x64.png", "0002_96x64.think.txt"} {
		if _, err := os.Stat(filepath.Join(outDir, name)); err != nil {
			t.Errorf("missing %s: %v", name, err)
		}
	}
	if !strings.Contains(r.out, "[think] sample 2 -> 0002_96x64.think.txt\n") {
		t.Errorf("stdout:\n%s", r.out)
	}
	p := checkPNGRecord(t, filepath.Join(outDir, "0001_poster_64x32.png"))
	if p.Seed != 7 || p.Prompt != "a cat" || p.Think {
		t.Errorf("sample 1 record %+v", p)
	}
	if p := checkPNGRecord(t, filepath.Join(outDir, "0002_96x64.png")); p.Seed != 42 || !p.Think || p.Width != 96 {
		t.Errorf("sample 2 record %+v", p)
	}
}
