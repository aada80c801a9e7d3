package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sensenova/studio/inference/prompt"
)

// TestInterleaveGoldenThroughCommandLine replays the golden storyboard run
// through the command line with the reference's noise_1: the text chunks'
// ids and the text exactly (--json_out), the picture within 1e-3
// (--output_raw image_1), and the output files of PIPELINES.md 5.6.
func TestInterleaveGoldenThroughCommandLine(t *testing.T) {
	g := openGolden(t, "interleave")
	c := g.cases.Cases[0]
	if c.SystemMessage != prompt.SystemInterleave {
		t.Fatal("the golden case's system message is not the default one")
	}
	tmp := t.TempDir()
	noise := g.extract(t, filepath.Join(tmp, "noise.safetensors"), map[string]string{"interleave.noise_1": "noise_1"})
	raw, js, outDir := filepath.Join(tmp, "raw.safetensors"), filepath.Join(tmp, "run.json"), filepath.Join(tmp, "out")
	r := mustRun(t, "interleave", "--model_path", g.dir, "--prompt", c.Prompt, "--output_dir", outDir, "--stem", "story",
		"--width", fmt.Sprint(c.Width), "--height", fmt.Sprint(c.Height), "--num_steps", fmt.Sprint(c.NumSteps),
		"--cfg_scale", fmtF(c.CFGScale), "--img_cfg_scale", fmtF(c.ImgCFGScale), "--timestep_shift", fmtF(c.TimestepShift),
		"--seed", fmt.Sprint(c.Seed), "--t_eps", fmtF(c.TEps), "--max_new_tokens", fmt.Sprint(c.MaxNewTokens), "--think_mode",
		"--init_noise", noise, "--output_raw", raw, "--json_out", js, "--profile")
	rep := readJSONOut(t, js)
	if rep.TextChunksIDs == nil || len(*rep.TextChunksIDs) != len(c.TextChunksIDs) {
		t.Fatalf("chunks %v, want %v", rep.TextChunksIDs, c.TextChunksIDs)
	}
	for i, chunk := range *rep.TextChunksIDs {
		if !slices.Equal(chunk, c.TextChunksIDs[i]) {
			t.Errorf("chunk %d: %v, want %v", i, chunk, c.TextChunksIDs[i])
		}
	}
	if rep.GeneratedText == nil || *rep.GeneratedText != c.GeneratedText || rep.ImageCount != c.ImageCount {
		t.Errorf("json_out %+v", rep)
	}
	canvas, shape := readRaw(t, raw, "image_1")
	if !slices.Equal(shape, []int64{3, int64(c.Height), int64(c.Width)}) {
		t.Fatalf("raw shape %v", shape)
	}
	checkClose(t, "interleave.image_1", canvas, g.ref(t, "interleave.image_1"), imageTol)
	p := checkPNG(t, filepath.Join(outDir, "story_image_0.png"), canvas, c.Width, c.Height)
	if p.Task != "interleave" || p.SystemMessage != c.SystemMessage || !p.Think || p.BatchIndex != 0 || p.MaxNewTokens != c.MaxNewTokens {
		t.Errorf("record %+v", p)
	}
	text, err := os.ReadFile(filepath.Join(outDir, "story.txt"))
	if err != nil || string(text) != "# PROMPT\n"+c.Prompt+"\n\n# OUTPUT\n"+c.GeneratedText+"\n" {
		t.Errorf("story.txt: %v %q", err, text)
	}
	for _, want := range []string{"prompt: " + c.Prompt + "\n", "[text] " + c.GeneratedText + "\n",
		"[saved] " + filepath.Join(outDir, "story.txt") + "\n", "[saved] " + filepath.Join(outDir, "story_image_0.png") + "\n",
		"1 call(s), 1 image(s) total", "[warn] (96x64) is outside the trained resolution set"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.out)
		}
	}
}

// TestInterleaveJSONL: stems <NNNN>_think / <NNNN>_no_think (think_mode by
// JSON truthiness: "false" counts as true), conversations prompts, input
// copies, image_root, and results.jsonl in json.dumps layout.
func TestInterleaveJSONL(t *testing.T) {
	g := openGolden(t, "interleave")
	c := g.cases.Cases[0]
	tmp := t.TempDir()
	writePNG(t, filepath.Join(tmp, "in.png"), 40, 30)
	prompt, _ := json.Marshal(c.Prompt)
	jsonl := filepath.Join(tmp, "s.jsonl")
	os.WriteFile(jsonl, []byte(fmt.Sprintf(`{"prompt": %s, "width": 96, "height": 64, "seed": 1}
{"conversations": [{"from": "gpt", "value": "x"}, {"from": "human", "value": "Tell 中文"}], "think_mode": "false"}
{"prompt": "<image> what?", "images": ["in.png"], "think_mode": 0}
`, prompt)), 0o644)
	outDir := filepath.Join(tmp, "o")
	r := mustRun(t, "interleave", "--model_path", g.dir, "--jsonl", jsonl, "--image_root", tmp, "--output_dir", outDir,
		"--num_steps", "1", "--max_new_tokens", "4", "--width", "64", "--height", "32")
	for _, name := range []string{"0001_think.txt", "0001_think_image_0.png", "0002_think.txt", "0003_no_think.txt", "0003_no_think_input_0.png", "results.jsonl"} {
		if _, err := os.Stat(filepath.Join(outDir, name)); err != nil {
			t.Errorf("missing %s", name)
		}
	}
	if !strings.Contains(r.errOut, `has "seed" keys: interleave ignores them`) || !strings.Contains(r.out, "[saved] "+filepath.Join(outDir, "results.jsonl")+"\n") {
		t.Errorf("stdout:\n%s\nstderr:\n%s", r.out, r.errOut)
	}
	data, _ := os.ReadFile(filepath.Join(outDir, "results.jsonl"))
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("results.jsonl:\n%s", data)
	}
	if !strings.HasPrefix(lines[0], fmt.Sprintf(`{"index": 0, "prompt": %s, "text": `, prompt)) ||
		!strings.HasSuffix(lines[0], `"input_images": [], "images": ["0001_think_image_0.png"], "width": 96, "height": 64, "think_mode": true}`) {
		t.Errorf("line 1: %s", lines[0])
	}
	if !strings.HasPrefix(lines[1], `{"index": 1, "prompt": "Tell 中文", `) || !strings.HasSuffix(lines[1], `"width": 64, "height": 32, "think_mode": true}`) {
		t.Errorf("line 2: %s", lines[1])
	}
	// The input's size decides: smart_resize(30, 40) with 512²…2048²/2 → 608×448.
	if !strings.HasSuffix(lines[2], `"input_images": ["0003_no_think_input_0.png"], "images": [], "width": 608, "height": 448, "think_mode": false}`) {
		t.Errorf("line 3: %s", lines[2])
	}
}

// TestInterleavePromptWithPicture: --image in --prompt mode (the input copy
// <stem>_input_0.png is the RGB original, not resized), and --input_tensors
// replacing the engine's resize.
func TestInterleavePromptWithPicture(t *testing.T) {
	g := openGolden(t, "interleave")
	tmp := t.TempDir()
	in := writePNG(t, filepath.Join(tmp, "in.png"), 40, 30)
	for _, tensors := range []bool{false, true} {
		outDir := filepath.Join(tmp, fmt.Sprint(tensors))
		args := []string{"interleave", "--model_path", g.dir, "--prompt", "<image> what is it?", "--image", in,
			"--output_dir", outDir, "--num_steps", "1", "--max_new_tokens", "3", "--no-think_mode"}
		if tensors {
			args = append(args, "--input_tensors", openGolden(t, "mlphead").inputTensors(t, filepath.Join(tmp, "t.safetensors"), "mlphead.vqa", 1))
		}
		r := mustRun(t, args...)
		if !strings.Contains(r.out, "[saved] "+filepath.Join(outDir, "sample_input_0.png")+"\n") || !strings.Contains(r.out, "prompt: <image> what is it?\n") {
			t.Errorf("stdout:\n%s", r.out)
		}
		copyPic := checkPNGSize(t, filepath.Join(outDir, "sample_input_0.png"))
		if copyPic != [2]int{40, 30} {
			t.Errorf("input copy is %v, want the 40x30 original", copyPic)
		}
	}
}
