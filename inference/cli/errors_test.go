package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/sensenova/studio/inference/safetensors"
)

// TestBadInput runs every kind of bad input through the command line: each
// must give a clear message naming what was wrong and what was expected,
// with status 2 for a bad command line and 1 for a bad file or model, and
// nothing may panic.
func TestBadInput(t *testing.T) {
	mlp := goldenPath(t, "mlphead")
	tmp := t.TempDir()
	pic := writePNG(t, filepath.Join(tmp, "pic.png"), 64, 64)
	thin := writePNG(t, filepath.Join(tmp, "thin.png"), 40000, 1)
	notPic := filepath.Join(tmp, "notes.png")
	os.WriteFile(notPic, []byte("these are notes, not a picture"), 0o644)
	otherModel := filepath.Join(tmp, "llama")
	os.MkdirAll(otherModel, 0o755)
	os.WriteFile(filepath.Join(otherModel, "config.json"), []byte(`{"model_type": "llama", "hidden_size": 4096}`), 0o644)
	badJSON := filepath.Join(tmp, "bad.jsonl")
	os.WriteFile(badJSON, []byte("{\"prompt\": \"ok\"}\n\n{\"prompt\": \"unterminated}\n"), 0o644)
	noPrompt := filepath.Join(tmp, "noprompt.jsonl")
	os.WriteFile(noPrompt, []byte("{\"prompt\": \"ok\"}\n{\"text\": \"where is the prompt\"}\n"), 0o644)
	badResize := filepath.Join(tmp, "resize.jsonl")
	os.WriteFile(badResize, []byte("{\"prompt\": \"p\", \"image\": \""+pic+"\", \"do_resize\": \"maybe\"}\n"), 0o644)
	badSize := filepath.Join(tmp, "size.jsonl")
	os.WriteFile(badSize, []byte("{\"prompt\": \"p\", \"width\": 100, \"height\": 64}\n"), 0o644)
	noise := filepath.Join(tmp, "noise.safetensors")
	if err := safetensors.Write(noise, []safetensors.Tensor{safetensors.FromFloat32("noise", []int64{1, 3, 64, 64}, make([]float32, 3*64*64))}, nil); err != nil {
		t.Fatal(err)
	}
	// --input_tensors files: one without the grid, one with a wrong grid,
	// one with float pixels.
	u8 := func(name string, shape []int64) safetensors.Tensor {
		n := shape[0] * shape[1] * shape[2]
		return safetensors.Tensor{Name: name, DType: safetensors.U8, Shape: shape, Data: make([]byte, n)}
	}
	grid := func(h, w int64) safetensors.Tensor {
		d := make([]byte, 16)
		d[0], d[8] = byte(h), byte(w)
		return safetensors.Tensor{Name: "input1_grid_hw", DType: safetensors.I64, Shape: []int64{1, 2}, Data: d}
	}
	noGrid := filepath.Join(tmp, "nogrid.safetensors")
	safetensors.Write(noGrid, []safetensors.Tensor{u8("input1_pixels_u8", []int64{64, 96, 3})}, nil)
	wrongGrid := filepath.Join(tmp, "wronggrid.safetensors")
	safetensors.Write(wrongGrid, []safetensors.Tensor{u8("input1_pixels_u8", []int64{64, 96, 3}), grid(6, 4)}, nil)
	validOne := filepath.Join(tmp, "one.safetensors")
	safetensors.Write(validOne, []safetensors.Tensor{u8("input1_pixels_u8", []int64{64, 96, 3}), grid(4, 6)}, nil)
	floatPix := filepath.Join(tmp, "float.safetensors")
	safetensors.Write(floatPix, []safetensors.Tensor{safetensors.FromFloat32("input1_pixels_u8", []int64{64, 96, 3}, make([]float32, 64*96*3)), grid(4, 6)}, nil)
	out := filepath.Join(tmp, "out.png")
	jl := func(name, text string) string { return writeFile(t, filepath.Join(tmp, name), text) }

	t2i := func(extra ...string) []string {
		return append([]string{"t2i", "--model_path", mlp, "--prompt", "a fox", "--width", "64", "--height", "64", "--num_steps", "1", "--output", out}, extra...)
	}
	edit := func(extra ...string) []string {
		return append([]string{"edit", "--model_path", mlp, "--prompt", "red", "--image", pic, "--num_steps", "1", "--output", out}, extra...)
	}
	many := []string{"edit", "--model_path", mlp, "--prompt", "x", "--image"}
	for i := 0; i < 65; i++ {
		many = append(many, pic)
	}
	cases := []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"size not multiple of 32", t2i("--width", "100"), 2, []string{"sensenova t2i: --width 100 is not a multiple of 32: the nearest valid values are 96 and 128"}},
		{"height not multiple of 32", t2i("--height", "1000"), 2, []string{"--height 1000 is not a multiple of 32: the nearest valid values are 992 and 1024"}},
		{"JSONL size", []string{"t2i", "--model_path", mlp, "--jsonl", badSize}, 1, []string{"size.jsonl line 1: width 100 is not a multiple of 32"}},
		{"edit size", edit("--width", "65", "--height", "64"), 2, []string{"--width 65 is not a multiple of 32: the nearest valid values are 64 and 96"}},
		{"edit width alone", edit("--width", "64"), 2, []string{"--width and --height must be given together"}},
		{"unknown resolution", t2i("--resolution", "5:4"), 2, []string{`--resolution "5:4": want one of 1:1, 16:9, 9:16`}},
		{"unknown interleave resolution", []string{"interleave", "--model_path", mlp, "--prompt", "x", "--resolution", "4:5"}, 2, []string{`--resolution "4:5"`, "16:9"}},
		{"unknown cfg_norm", t2i("--cfg_norm", "loud"), 2, []string{"--cfg_norm", "loud", "global"}},
		{"cfg_zero_star in editing", edit("--cfg_norm", "cfg_zero_star"), 2, []string{"cfg_zero_star is for text-to-image only"}},
		{"zero steps", t2i("--num_steps", "0"), 2, []string{"--num_steps 0: want 1 to 10000"}},
		{"absurd steps", t2i("--num_steps", "5000000000"), 2, []string{"--num_steps 5000000000: want 1 to 10000"}},
		{"absurd batch", edit("--batch_size", "100000"), 2, []string{"--batch_size 100000: want 1 to 64"}},
		{"not a number", t2i("--cfg_scale", "lots"), 2, []string{`invalid value "lots" for flag -cfg_scale`}},
		{"reversed interval", t2i("--cfg_interval", "0.8", "0.2"), 2, []string{"--cfg_interval 0.8 0.2: LO must not exceed HI"}},
		{"both prompt and jsonl", t2i("--jsonl", badJSON), 2, []string{"give exactly one of --prompt and --jsonl"}},
		{"neither prompt nor jsonl", []string{"t2i", "--model_path", mlp}, 2, []string{"give exactly one of --prompt and --jsonl"}},
		{"no model_path", []string{"t2i", "--prompt", "x"}, 2, []string{"--model_path is required"}},
		{"edit without image", []string{"edit", "--model_path", mlp, "--prompt", "x"}, 2, []string{"--prompt requires at least one --image"}},
		{"picture that does not decode", edit("--image", notPic), 1, []string{"notes.png", "unrecognised picture format"}},
		{"1x40000 picture (edit)", edit("--image", thin), 1, []string{"thin.png", "aspect ratio 40000, must be at most 200"}},
		{"1x40000 picture (interleave)", []string{"interleave", "--model_path", mlp, "--prompt", "x", "--image", thin}, 1, []string{"thin.png", "aspect ratio 40000, must be at most 200"}},
		{"1x40000 picture (vqa)", []string{"vqa", "--model_path", mlp, "--image", thin, "--question", "q"}, 1, []string{"thin.png", "aspect ratio 40000, must be at most 200"}},
		{"missing picture", edit("--image", filepath.Join(tmp, "gone.png")), 1, []string{"gone.png", "no such file"}},
		{"too many pictures", many, 2, []string{"65 input pictures: at most 64 can be edited together"}},
		{"input_max_pixels too small", edit("--input_max_pixels", "1000"), 2, []string{"--input_max_pixels 1000: want at least 262144"}},
		{"prompt over the context", t2i("--prompt", strings.Repeat("snow fox ", 200000/9)), 1, []string{"more than the model's context of 32768"}},
		{"input_tensors missing tensor", edit("--input_tensors", noise), 1, []string{"noise.safetensors", "no tensor input1_pixels_u8"}},
		{"input_tensors missing grid", edit("--input_tensors", noGrid), 1, []string{"no tensor input1_grid_hw"}},
		{"input_tensors wrong grid", edit("--input_tensors", wrongGrid), 1, []string{"input1_grid_hw is [6 4]", "want [4 6]"}},
		{"input_tensors float pixels", edit("--input_tensors", floatPix), 1, []string{"input1_pixels_u8 has dtype F32, want U8"}},
		{"input_tensors for two pictures", edit("--image", pic, pic, "--input_tensors", validOne), 1, []string{"no tensor input2_pixels_u8: want input1…input3 for 3 picture(s)"}},
		{"input_tensors for fewer pictures", edit("--input_tensors", writeTwo(t, tmp, u8, grid)), 1, []string{"it has input2_pixels_u8 but only 1 picture(s) were given"}},
		{"init_noise wrong shape", t2i("--width", "96", "--init_noise", noise), 1, []string{`tensor "noise" has shape [1 3 64 64], want [1 3 64 96]`}},
		{"init_noise batch", t2i("--batch_size", "2", "--init_noise", noise), 1, []string{"want [2 3 64 64]"}},
		{"interleave noise names", []string{"interleave", "--model_path", mlp, "--prompt", "x", "--init_noise", noise}, 1, []string{`no tensor "noise_1"`}},
		{"missing model folder", t2i("--model_path", filepath.Join(tmp, "nowhere")), 1, []string{"nowhere", "folder does not exist"}},
		{"not a model folder", t2i("--model_path", goldenPath(t, "tokenizer")), 1, []string{"no config.json: not a model folder"}},
		{"another model", t2i("--model_path", otherModel), 1, []string{"not a SenseNova-U1 checkpoint", "llama"}},
		{"cuda device", t2i("--device", "cuda:1"), 1, []string{"--device cuda:1: this engine (SenseNova Studio dev) was built without CUDA", "use --device cpu"}},
		{"unknown device", t2i("--device", "tpu"), 2, []string{`--device "tpu": want auto, cpu, cuda or cuda:N`}},
		{"unknown dtype", t2i("--dtype", "float8"), 2, []string{`--dtype "float8": want one of bfloat16, float16, float32`}},
		{"bad max_memory", t2i("--device_map", "auto", "--max_memory", "0=lots"), 2, []string{"--max_memory", `size "lots"`}},
		{"bad device_map", t2i("--device_map", "everywhere"), 2, []string{"--device_map", "balanced_low_0"}},
		{"lora", t2i("--lora_path", "x.safetensors"), 2, []string{"--lora_path is not supported yet"}},
		{"gguf", t2i("--gguf_checkpoint", "x.gguf"), 2, []string{"--gguf_checkpoint is not supported yet"}},
		{"enhance", t2i("--enhance"), 2, []string{"--enhance/--print_enhance are not supported yet"}},
		{"invalid JSONL line", []string{"t2i", "--model_path", mlp, "--jsonl", badJSON}, 1, []string{"bad.jsonl line 3: invalid JSON"}},
		{"JSONL missing key", []string{"t2i", "--model_path", mlp, "--jsonl", noPrompt}, 1, []string{`noprompt.jsonl line 2: missing key "prompt"`}},
		{"JSONL bad do_resize", []string{"edit", "--model_path", mlp, "--jsonl", badResize}, 1, []string{`resize.jsonl line 1: "do_resize": want a boolean`, "maybe"}},
		{"JSONL prompt not a string", []string{"t2i", "--model_path", mlp, "--jsonl", jl("p.jsonl", `{"prompt": 5}`)}, 1, []string{`p.jsonl line 1: "prompt" must be a string, got 5`}},
		{"JSONL width not a number", []string{"t2i", "--model_path", mlp, "--jsonl", jl("w.jsonl", `{"prompt": "x", "width": "abc", "height": 64}`)}, 1, []string{`w.jsonl line 1: "width" must be an integer, got "abc"`}},
		{"JSONL huge width", []string{"t2i", "--model_path", mlp, "--jsonl", jl("h.jsonl", `{"prompt": "x", "width": 1e30, "height": 64}`)}, 1, []string{`h.jsonl line 1: "width" must be an integer`}},
		{"JSONL array line", []string{"t2i", "--model_path", mlp, "--jsonl", jl("a.jsonl", `[1, 2]`)}, 1, []string{`a.jsonl line 1: want a JSON object`}},
		{"JSONL empty", []string{"t2i", "--model_path", mlp, "--jsonl", jl("e.jsonl", "\n  \n")}, 1, []string{`e.jsonl: no samples`}},
		{"JSONL image not a path", []string{"edit", "--model_path", mlp, "--jsonl", jl("i.jsonl", `{"prompt": "x", "image": 5}`)}, 1, []string{`i.jsonl line 1: "image" must be a path or a list of paths`}},
		{"JSONL image missing", []string{"edit", "--model_path", mlp, "--jsonl", jl("m.jsonl", `{"prompt": "x"}`)}, 1, []string{`m.jsonl line 1: missing key "image"`}},
		{"JSONL conversations", []string{"interleave", "--model_path", mlp, "--jsonl", jl("c.jsonl", `{"conversations": 3}`)}, 1, []string{`c.jsonl line 1: "conversations" must be a list`}},
		{"JSONL no human turn", []string{"interleave", "--model_path", mlp, "--jsonl", jl("n.jsonl", `{"conversations": [{"from": "gpt", "value": "x"}]}`)}, 1, []string{`no "prompt" and no human turn`}},
		{"JSONL interleave picture missing", []string{"interleave", "--model_path", mlp, "--jsonl", jl("ip.jsonl", `{"prompt": "x", "image": ["nope.png"]}`)}, 1, []string{`ip.jsonl line 1: input image not found: nope.png`}},
		{"JSONL vqa picture missing", []string{"vqa", "--model_path", mlp, "--jsonl", jl("v.jsonl", `{"image": "nope.png", "question": "q"}`)}, 1, []string{`v.jsonl line 1: image:`, "nope.png"}},
		{"missing JSONL file", []string{"vqa", "--model_path", mlp, "--jsonl", filepath.Join(tmp, "none.jsonl")}, 1, []string{"none.jsonl"}},
		{"vqa without question", []string{"vqa", "--model_path", mlp, "--image", pic}, 2, []string{"--question is required when using --image"}},
		{"vqa zero penalty", []string{"vqa", "--model_path", mlp, "--image", pic, "--question", "q", "--repetition_penalty", "0"}, 2, []string{"--repetition_penalty 0: want a number > 0"}},
		{"vqa bad top_p", []string{"vqa", "--model_path", mlp, "--image", pic, "--question", "q", "--do_sample", "--top_p", "0"}, 2, []string{"top_p 0 must be in (0, 1]"}},
		{"parity flags with JSONL", []string{"t2i", "--model_path", mlp, "--jsonl", badJSON, "--output_raw", "x"}, 2, []string{"work with --prompt (one call)"}},
		{"interleave max tokens", []string{"interleave", "--model_path", mlp, "--prompt", "x", "--max_new_tokens", "0"}, 2, []string{"--max_new_tokens 0: want at least 1"}},
		{"unknown flag", t2i("--colour", "red"), 2, []string{"flag provided but not defined: -colour"}},
		{"vqa has no lora", []string{"vqa", "--model_path", mlp, "--image", pic, "--question", "q", "--lora_path", "x"}, 2, []string{"not defined: -lora_path"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := runCtx(context.Background(), c.args...)
			if r.code != c.code {
				t.Errorf("exit %d, want %d\nstderr: %s", r.code, c.code, r.errOut)
			}
			for _, w := range c.want {
				if !strings.Contains(r.errOut, w) {
					t.Errorf("stderr lacks %q:\n%s", w, r.errOut)
				}
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("a failed run wrote %s", out)
				os.Remove(out)
			}
		})
	}
}

// cancelOn is a stderr that cancels the run once a marker is written.
type cancelOn struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	marker string
	cancel context.CancelFunc
}

func (w *cancelOn) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if strings.Contains(w.buf.String(), w.marker) {
		w.cancel()
	}
	return len(p), nil
}

// TestCancelStopsWithinAStepAndWritesNothing cancels a run after its first
// denoising step: it stops at the next step, says "cancelled", exits with
// 130 and leaves no output file; a JSONL run keeps the samples it
// finished.
func TestCancelStopsWithinAStepAndWritesNothing(t *testing.T) {
	mlp := goldenPath(t, "mlphead")
	tmp := t.TempDir()
	for _, tc := range []struct {
		name   string
		args   []string
		marker string
		absent []string
		kept   []string
	}{
		{"t2i", []string{"t2i", "--model_path", mlp, "--prompt", "a fox", "--width", "64", "--height", "64", "--num_steps", "40",
			"--output", filepath.Join(tmp, "t2i.png"), "--output_raw", filepath.Join(tmp, "raw.safetensors")},
			"step 2/40", []string{"t2i.png", "raw.safetensors"}, nil},
		{"jsonl second sample", []string{"t2i", "--model_path", mlp, "--jsonl", writeFile(t, filepath.Join(tmp, "two.jsonl"), "{\"prompt\": \"a\"}\n{\"prompt\": \"b\"}\n"),
			"--output_dir", filepath.Join(tmp, "outs"), "--width", "64", "--height", "64", "--num_steps", "40"},
			"[sample 2/2] picture 1: step 2/40", []string{"outs/0002_64x64.png"}, []string{"outs/0001_64x64.png"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			errw := &cancelOn{marker: tc.marker, cancel: cancel}
			var out bytes.Buffer
			code := Run(ctx, tc.args, Streams{In: strings.NewReader(""), Out: &out, Err: errw})
			if code != exitCancelled {
				t.Errorf("exit %d, want %d\nstderr:\n%s", code, exitCancelled, errw.buf.String())
			}
			errText := errw.buf.String()
			if !strings.HasSuffix(errText, ": cancelled\n") {
				t.Errorf("stderr does not end with cancelled:\n%s", errText)
			}
			if after := errText[strings.Index(errText, tc.marker)+len(tc.marker):]; regexp.MustCompile(`step [0-9]+/`).MatchString(after) {
				t.Errorf("the run went on after the cancel:\n%s", errText)
			}
			for _, name := range tc.absent {
				if _, err := os.Stat(filepath.Join(tmp, name)); err == nil {
					t.Errorf("%s was written", name)
				}
			}
			for _, name := range tc.kept {
				if _, err := os.Stat(filepath.Join(tmp, name)); err != nil {
					t.Errorf("finished sample lost: %v", err)
				}
			}
			noTempFiles(t, tmp)
			noTempFiles(t, filepath.Join(tmp, "outs"))
		})
	}
}

func writeFile(t *testing.T, path, text string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestExistingOutputIsReplacedAtomically: like upstream, an existing
// --output is overwritten; the write goes through a temporary file renamed
// into place, so none is left behind.
func TestExistingOutputIsReplacedAtomically(t *testing.T) {
	tmp := t.TempDir()
	out := writeFile(t, filepath.Join(tmp, "output.png"), "an older file")
	mlp := goldenPath(t, "mlphead")
	t.Chdir(tmp)
	r := mustRun(t, "t2i", "--model_path", mlp, "--prompt", "x", "--width", "32", "--height", "32", "--num_steps", "1", "--output_dir", "ignored")
	if !strings.Contains(r.out, "[saved] output.png\n") || !strings.Contains(r.errOut, "--output_dir is ignored with --prompt") {
		t.Errorf("stdout:\n%s\nstderr:\n%s", r.out, r.errOut)
	}
	if p := checkPNGRecord(t, out); p.Width != 32 {
		t.Errorf("record %+v", p)
	}
	if _, err := os.Stat(filepath.Join(tmp, "ignored")); err == nil {
		t.Error("--output_dir was created in --prompt mode")
	}
	noTempFiles(t, tmp)
}

// writeTwo writes an --input_tensors file holding two pictures.
func writeTwo(t *testing.T, dir string, u8 func(string, []int64) safetensors.Tensor, grid func(h, w int64) safetensors.Tensor) string {
	t.Helper()
	g2 := grid(2, 2)
	g2.Name = "input2_grid_hw"
	path := filepath.Join(dir, "two.safetensors")
	if err := safetensors.Write(path, []safetensors.Tensor{u8("input1_pixels_u8", []int64{64, 96, 3}), grid(4, 6), u8("input2_pixels_u8", []int64{32, 32, 3}), g2}, nil); err != nil {
		t.Fatal(err)
	}
	return path
}
