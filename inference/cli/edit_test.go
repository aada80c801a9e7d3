package cli

import (
	"fmt"
	"image"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sensenova/studio/inference/imageproc"
	"github.com/sensenova/studio/internal/golden"
)

// editArgs is the command line of a golden editing case.
func editArgs(g goldenFolder, c golden.Case) []string {
	args := []string{"edit", "--model_path", g.dir, "--prompt", c.Prompt, "--image"}
	for _, p := range c.InputPNGs {
		args = append(args, filepath.Join(g.dir, p))
	}
	norm := c.CFGNorm
	if norm == "" {
		norm = "none"
	}
	return append(args, "--width", fmt.Sprint(c.Width), "--height", fmt.Sprint(c.Height),
		"--num_steps", fmt.Sprint(c.NumSteps), "--cfg_scale", fmtF(c.CFGScale), "--img_cfg_scale", fmtF(c.ImgCFGScale),
		"--cfg_norm", norm, "--timestep_shift", fmtF(c.TimestepShift), "--seed", fmt.Sprint(c.Seed), "--t_eps", fmtF(c.TEps))
}

// TestEditGoldenThroughCommandLine runs both golden editing cases of both
// checkpoints through the command line: once from the reference's resized
// pixels (--input_tensors) and once from the PNG files with the pre-resize
// off (the model's own bicubic resize then gives the same pixels); both
// from the reference's noise, --output_raw within 1e-3.
func TestEditGoldenThroughCommandLine(t *testing.T) {
	for _, folder := range []string{"mlphead", "pixelhead"} {
		g := openGolden(t, folder)
		for _, c := range g.cases.Cases {
			if c.Kind != "edit" {
				continue
			}
			for _, fromTensors := range []bool{true, false} {
				t.Run(fmt.Sprintf("%s/%s/tensors=%v", folder, c.Name, fromTensors), func(t *testing.T) {
					key := folder + "." + c.Name
					tmp := t.TempDir()
					noise := g.extract(t, filepath.Join(tmp, "noise.safetensors"), map[string]string{key + ".noise": "noise"})
					out, raw, js := filepath.Join(tmp, "edited.png"), filepath.Join(tmp, "raw.safetensors"), filepath.Join(tmp, "run.json")
					args := append(editArgs(g, c), "--output", out, "--init_noise", noise, "--output_raw", raw, "--json_out", js)
					if fromTensors {
						args = append(args, "--input_tensors", g.inputTensors(t, filepath.Join(tmp, "inputs.safetensors"), key, len(c.InputPNGs)))
					} else {
						args = append(args, "--no-do_resize")
					}
					r := mustRun(t, args...)
					canvas, shape := readRaw(t, raw, "image")
					if !slices.Equal(shape, []int64{3, int64(c.Height), int64(c.Width)}) {
						t.Fatalf("raw shape %v", shape)
					}
					checkClose(t, key+".image", canvas, g.ref(t, key+".image"), imageTol)
					p := checkPNG(t, out, canvas, c.Width, c.Height)
					if p.Task != "edit" || p.Prompt != c.Prompt || p.ImgCFGScale != c.ImgCFGScale || len(p.Inputs) != len(c.InputPNGs) ||
						p.UncondBranch != (c.ImgCFGScale != 1) || p.ImageOnlyBranch != (c.ImgCFGScale == 1 || c.CFGScale != c.ImgCFGScale) {
						t.Errorf("record %+v", p)
					}
					if fromTensors != (p.InputTensors != "") || p.InputMaxPixels != 0 {
						t.Errorf("record inputs %+v", p)
					}
					if rep := readJSONOut(t, js); rep.Task != "edit" || rep.ImageCount != 1 || rep.ThinkIDs != nil {
						t.Errorf("json_out %+v", rep)
					}
					if !fromTensors && !strings.Contains(r.out, "[editing] resize-to-budget disabled; model preprocessing will still enforce its input limits.\n") {
						t.Errorf("stdout:\n%s", r.out)
					}
				})
			}
		}
	}
}

// writePNG writes a w×h test picture.
func writePNG(t *testing.T, path string, w, h int) string {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 7)
	}
	if err := imageproc.SavePNG(path, img, nil); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestEditPreResizeOutputSizeThinkAndCompare: the pre-resize budget and its
// hint, the output size derived from the first pre-resized input and
// --target_pixels, space-separated --image paths, <stem>_think.txt with the
// [think] print, and the --compare montage.
func TestEditPreResizeOutputSizeThinkAndCompare(t *testing.T) {
	tmp := t.TempDir()
	a := writePNG(t, filepath.Join(tmp, "a.png"), 300, 200)
	b := writePNG(t, filepath.Join(tmp, "b.png"), 100, 100)
	out := filepath.Join(tmp, "res.png")
	r := mustRun(t, "edit", "--model_path", goldenPath(t, "mlphead"), "--prompt", "make it red", "--image", a, b,
		"--input_max_pixels", "262144", "--target_pixels", "8192", "--num_steps", "1", "--think", "--compare", "--output", out)
	if !strings.Contains(r.out, "[editing] 2 input image(s); 262144 input_max_pixels=262144 (about 512x512 per image, aspect ratio preserved).\n") {
		t.Errorf("hint missing:\n%s", r.out)
	}
	// smart_resize(448, 640, 32, 8192, 8192) of the pre-resized 640×448
	// input (β = √35, floors): width 96, height 64.
	p := checkPNGRecord(t, out)
	if p.Width != 96 || p.Height != 64 || len(p.Inputs) != 2 || p.InputMaxPixels != 262144 || !p.Think {
		t.Errorf("record %+v", p)
	}
	for _, want := range []string{"[saved] " + out + "\n", "[think] ", "[saved] " + filepath.Join(tmp, "res_think.txt") + "\n", "[saved] " + filepath.Join(tmp, "res_compare.png") + "\n"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.out)
		}
	}
	cmp, err := imageproc.Load(filepath.Join(tmp, "res_compare.png"))
	if err != nil {
		t.Fatal(err)
	}
	if b := cmp.Image.Bounds(); b.Dy() <= 64 || b.Dx() <= 128 {
		t.Errorf("compare montage is %v", b)
	}
	noTempFiles(t, tmp)
}

// TestEditJSONL: names, per-sample width/height, do_resize strings,
// input_max_pixels, the seed note, and <stem>.think.txt (not _think.txt,
// upstream quirk 7).
func TestEditJSONL(t *testing.T) {
	tmp := t.TempDir()
	a := writePNG(t, filepath.Join(tmp, "a.png"), 64, 96)
	jsonl := writeFile(t, filepath.Join(tmp, "e.jsonl"), fmt.Sprintf(`{"prompt": "p1", "image": %q, "width": 64, "height": 64, "do_resize": "no", "seed": 3, "type": "x"}
{"prompt": "p2", "image": [%q, %q], "input_max_pixels": 262144, "do_resize": "Yes"}
`, a, a, a))
	outDir := filepath.Join(tmp, "o")
	r := mustRun(t, "edit", "--model_path", goldenPath(t, "mlphead"), "--jsonl", jsonl, "--output_dir", outDir,
		"--num_steps", "1", "--target_pixels", "6144")
	if !strings.Contains(r.errOut, `has "seed" keys: editing ignores them`) {
		t.Errorf("no seed note:\n%s", r.errOut)
	}
	if !strings.Contains(r.out, "[editing] resize-to-budget disabled") || !strings.Contains(r.out, "[editing] 2 input image(s); 262144 input_max_pixels=262144") {
		t.Errorf("hints:\n%s", r.out)
	}
	// Sample 2: pre-resized to 448×640 (≈512²), then 6144 pixels: β = √(448·640/6144), floors → 64×64.
	for _, name := range []string{"0001_x_64x64.png", "0002_64x64.png"} {
		if _, err := os.Stat(filepath.Join(outDir, name)); err != nil {
			t.Errorf("missing %s", name)
		}
	}
	if p := checkPNGRecord(t, filepath.Join(outDir, "0002_64x64.png")); p.InputMaxPixels != 262144 || len(p.Inputs) != 2 || p.Seed != 42 {
		t.Errorf("record %+v", p)
	}
	// Thinking in JSONL mode: <stem>.think.txt, nothing printed.
	one := writeFile(t, filepath.Join(tmp, "one.jsonl"), fmt.Sprintf(`{"prompt": "p1", "image": %q, "width": 64, "height": 32, "type": "t", "do_resize": false}`, a))
	r = mustRun(t, "edit", "--model_path", goldenPath(t, "mlphead"), "--jsonl", one, "--output_dir", outDir, "--num_steps", "1", "--think")
	if _, err := os.Stat(filepath.Join(outDir, "0001_t_64x32.think.txt")); err != nil {
		t.Error(err)
	}
	if strings.Contains(r.out, "[think]") {
		t.Errorf("JSONL mode printed the reasoning:\n%s", r.out)
	}
}
