package cli

import (
	"encoding/json"
	"flag"
	"io"
	"slices"
	"strings"
	"testing"
)

func testFlagSet() (*flag.FlagSet, *interval, *stringList, *string, *bool) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	iv := &interval{0, 1}
	imgs := &stringList{}
	prompt := fs.String("prompt", "", "")
	think := fs.Bool("think", false, "")
	fs.Var(iv, "cfg_interval", "")
	fs.Var(imgs, "image", "")
	fs.Int("seed", 0, "")
	return fs, iv, imgs, prompt, think
}

// TestExpandArgs: upstream's space-separated multi-value flags are joined,
// values of other flags are never taken for flag names, and "--" ends it.
func TestExpandArgs(t *testing.T) {
	fs, iv, imgs, prompt, think := testFlagSet()
	args := []string{"--prompt", "--image", "--cfg_interval", "-0.5", "0.75", "--image", "a.png", "b.png", "-image=c.png",
		"--think", "--image", "d.png", "--seed", "-3", "--", "--image", "e.png"}
	got := expandArgs(fs, args, map[string]int{"cfg_interval": nargsPair, "image": nargsOneOrMore})
	want := []string{"--prompt", "--image", "--cfg_interval=-0.5 0.75", "--image=a.png", "--image=b.png", "-image=c.png",
		"--think", "--image=d.png", "--seed", "-3", "--", "--image", "e.png"}
	if !slices.Equal(got, want) {
		t.Fatalf("expandArgs:\n got %q\nwant %q", got, want)
	}
	if err := fs.Parse(got); err != nil {
		t.Fatal(err)
	}
	if *prompt != "--image" || !*think || iv.lo != -0.5 || iv.hi != 0.75 || !slices.Equal(*imgs, []string{"a.png", "b.png", "c.png", "d.png"}) {
		t.Errorf("parsed prompt %q think %v interval %+v images %v", *prompt, *think, *iv, *imgs)
	}
	if !slices.Equal(fs.Args(), []string{"--image", "e.png"}) {
		t.Errorf("after --: %v", fs.Args())
	}
	// "LO,HI" in one argument, and a bad pair.
	if err := iv.Set("0.1,0.2"); err != nil || iv.lo != 0.1 || iv.hi != 0.2 {
		t.Errorf("LO,HI: %v %+v", err, *iv)
	}
	if err := iv.Set("0.1"); err == nil {
		t.Error("one number accepted")
	}
}

// TestOptionalBool: --x, --no-x and the dashed aliases.
func TestOptionalBool(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want bool
	}{
		{nil, true}, {[]string{"--no-do_resize"}, false}, {[]string{"--no-do-resize"}, false},
		{[]string{"--no-do_resize", "--do-resize"}, true}, {[]string{"--do_resize=false"}, false},
	} {
		fs := flag.NewFlagSet("x", flag.ContinueOnError)
		var v bool
		optionalBool(fs, &v, "do_resize", true, "resize", "do-resize")
		if err := fs.Parse(tc.args); err != nil || v != tc.want {
			t.Errorf("%v: %v, %v", tc.args, v, err)
		}
	}
}

// TestHelpListsEveryUpstreamFlag checks each command's help for the
// upstream flag names of PIPELINES.md 3.1, 4.1, 5.1, 6.1 and 7.1, and that
// aliases stay out of the list.
func TestHelpListsEveryUpstreamFlag(t *testing.T) {
	common := []string{"model_path", "device", "dtype", "device_map", "max_memory", "vram_mode", "gguf_checkpoint", "attn_backend", "profile"}
	want := map[string][]string{
		"t2i": {"lora_path", "prompt", "jsonl", "output", "output_dir", "width", "height", "cfg_scale", "cfg_norm", "timestep_shift",
			"cfg_interval", "num_steps", "batch_size", "seed", "think", "think_output", "print_think", "enhance", "print_enhance",
			"resolution", "init_noise", "output_raw", "t_eps", "json_out"},
		"edit": {"lora_path", "prompt", "jsonl", "image", "output", "output_dir", "width", "height", "target_pixels", "input_max_pixels",
			"do_resize", "cfg_scale", "img_cfg_scale", "cfg_norm", "timestep_shift", "cfg_interval", "num_steps", "batch_size", "seed",
			"think", "compare", "init_noise", "output_raw", "input_tensors", "t_eps", "json_out"},
		"interleave": {"lora_path", "prompt", "jsonl", "image", "image_root", "output_dir", "stem", "resolution", "width", "height",
			"cfg_scale", "img_cfg_scale", "timestep_shift", "cfg_interval", "num_steps", "think_mode", "system_message", "seed",
			"max_new_tokens", "init_noise", "output_raw", "input_tensors", "t_eps", "json_out"},
		"vqa": {"image", "jsonl", "question", "output", "output_dir", "max_new_tokens", "do_sample", "temperature", "top_p", "top_k",
			"repetition_penalty", "seed", "input_tensors", "json_out"},
	}
	for cmd, names := range want {
		r := runCtx(t.Context(), cmd, "--help")
		if r.code != 0 {
			t.Fatalf("%s --help: exit %d", cmd, r.code)
		}
		for _, n := range append(names, common...) {
			if !strings.Contains(r.errOut, "\n  --"+n+" ") && !strings.Contains(r.errOut, "\n  --"+n+"\n") {
				t.Errorf("%s --help lacks --%s", cmd, n)
			}
		}
		if strings.Contains(r.errOut, "--no-") && !strings.Contains(r.errOut, "--no-do_resize") && !strings.Contains(r.errOut, "--no-think_mode") {
			t.Errorf("%s --help lists an alias:\n%s", cmd, r.errOut)
		}
		if strings.Contains(r.errOut, "\n  --do-resize") || strings.Contains(r.errOut, "\n  --no-") {
			t.Errorf("%s --help lists an alias as a flag", cmd)
		}
	}
}

func TestParseMaxMemory(t *testing.T) {
	m, err := parseMaxMemory("0=20GiB, 1=512MB ,cpu=80GiB")
	if err != nil || m["0"] != 20<<30 || m["1"] != 512e6 || m["cpu"] != 80<<30 {
		t.Errorf("%v %v", m, err)
	}
	if m, err := parseMaxMemory(`{"0": "7GiB", "cpu": 1000}`); err != nil || m["0"] != 7<<30 || m["cpu"] != 1000 {
		t.Errorf("JSON: %v %v", m, err)
	}
	for _, bad := range []string{"0", "0=", "gpu0=1GiB", "0=1 parsec", "{"} {
		if _, err := parseMaxMemory(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestPythonPathsAndJSON(t *testing.T) {
	for in, want := range map[string]string{"output.png": "output.png", "./out//a.png": "out/a.png", "/x/./y/": "/x/y", "": ".", "a/../b": "a/../b"} {
		if got := pyPath(in); got != want {
			t.Errorf("pyPath(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{"peacock.png": "peacock.think.txt", "d/a.b.png": "d/a.b.think.txt", "noext": "noext.think.txt", "d/.hidden": "d/.hidden.think.txt"} {
		if got := withSuffix(in, ".think.txt"); got != want {
			t.Errorf("withSuffix(%q) = %q, want %q", in, got, want)
		}
	}
	if got := batchPaths("d/out.png", 2); !slices.Equal(got, []string{"d/out_0.png", "d/out_1.png"}) {
		t.Errorf("batchPaths %v", got)
	}
	if got := jsonlName(11, "poster", 2720, 1536); got != "0012_poster_2720x1536.png" {
		t.Errorf("jsonlName %q", got)
	}
	obj := pyObject{{"id", json.RawMessage(`{"b": [1, 2.50], "a": null}`)}, {"s", "中文 \"q\" \\ \n\t\x01 <&>"}, {"l", []string{}}, {"b", false}}
	if got, want := obj.String(), `{"id": {"a": null, "b": [1, 2.50]}, "s": "中文 \"q\" \\ \n\t\u0001 <&>", "l": [], "b": false}`; got != want {
		t.Errorf("pyObject:\n got %s\nwant %s", got, want)
	}
}
