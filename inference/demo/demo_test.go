package demo

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sensenova/studio/inference/checkpoint"
	"github.com/sensenova/studio/inference/imageproc"
	"github.com/sensenova/studio/inference/pipeline"
	"github.com/sensenova/studio/inference/prompt"
	"github.com/sensenova/studio/inference/sampler"
	"github.com/sensenova/studio/inference/tensor"
	"github.com/sensenova/studio/inference/tokenizer"
	"github.com/sensenova/studio/internal/golden"
)

// shared is one demo folder and engine for the tests that only read them.
var shared struct {
	once sync.Once
	dir  string
	e    *pipeline.Engine
	err  error
}

func demoEngine(t testing.TB) (string, *pipeline.Engine) {
	t.Helper()
	shared.once.Do(func() {
		root, err := os.MkdirTemp("", "sensenova-demo-test-")
		if err != nil {
			shared.err = err
			return
		}
		if shared.dir, shared.err = Ensure(root); shared.err != nil {
			return
		}
		shared.e, shared.err = pipeline.Open(shared.dir, tensor.NewCPU(0))
	})
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.dir, shared.e
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.e != nil {
		shared.e.Close()
	}
	if shared.dir != "" {
		os.RemoveAll(filepath.Dir(shared.dir))
	}
	os.Exit(code)
}

// snapshot records the folder's files with their modification times.
func snapshot(t *testing.T, dir string) map[string]time.Time {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]time.Time{}
	for _, e := range ents {
		info, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = info.ModTime()
	}
	return out
}

// onlyFolder checks that root holds the demo folder and nothing else (no
// temporary folders left behind).
func onlyFolder(t *testing.T, root string) {
	t.Helper()
	ents, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{FolderName}) {
		t.Errorf("cache root holds %v, want only %s", names, FolderName)
	}
}

func TestFolderNameHasVersion(t *testing.T) {
	if want := fmt.Sprintf("demo-model-v%d", Version); FolderName != want {
		t.Errorf("FolderName %q, want %q", FolderName, want)
	}
}

func TestEnsureReusesFolder(t *testing.T) {
	root := t.TempDir()
	dir, err := Ensure(root)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(root, FolderName); dir != want {
		t.Fatalf("Ensure = %s, want %s", dir, want)
	}
	before := snapshot(t, dir)
	time.Sleep(20 * time.Millisecond) // a rewrite would show in the times
	dir2, err := Ensure(root)
	if err != nil {
		t.Fatal(err)
	}
	if dir2 != dir {
		t.Fatalf("second Ensure = %s, want %s", dir2, dir)
	}
	after := snapshot(t, dir)
	if len(after) != len(before) {
		t.Fatalf("files changed: %v → %v", before, after)
	}
	for name, mt := range before {
		if !after[name].Equal(mt) {
			t.Errorf("%s was rewritten (mtime %v → %v)", name, mt, after[name])
		}
	}
	onlyFolder(t, root)
	if !IsDemo(dir) {
		t.Error("IsDemo = false for the demo folder")
	}
}

func TestEnsureConcurrent(t *testing.T) {
	root := t.TempDir()
	const n = 4
	dirs := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dirs[i], errs[i] = Ensure(root)
		}()
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("Ensure %d: %v", i, errs[i])
		}
		if dirs[i] != dirs[0] {
			t.Fatalf("Ensure %d = %s, Ensure 0 = %s", i, dirs[i], dirs[0])
		}
	}
	if err := verify(dirs[0]); err != nil {
		t.Fatal(err)
	}
	onlyFolder(t, root)
}

func TestEnsureRebuildsBrokenFolder(t *testing.T) {
	shard := "model-00001-of-00002.safetensors"
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, dir string)
	}{
		{"truncated shard", func(t *testing.T, dir string) {
			if err := os.Truncate(filepath.Join(dir, shard), 1000); err != nil {
				t.Fatal(err)
			}
		}},
		{"flipped byte", func(t *testing.T, dir string) {
			p := filepath.Join(dir, "tokenizer.json")
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			data[len(data)/2] ^= 1
			if err := os.WriteFile(p, data, 0o644); err != nil {
				t.Fatal(err)
			}
		}},
		{"missing file", func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, checkpoint.IndexFile)); err != nil {
				t.Fatal(err)
			}
		}},
		{"no manifest (half-copied folder)", func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, manifestFile)); err != nil {
				t.Fatal(err)
			}
		}},
		{"older version", func(t *testing.T, dir string) {
			p := filepath.Join(dir, manifestFile)
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			data = []byte(strings.Replace(string(data), fmt.Sprintf(`"version": %d`, Version), `"version": 0`, 1))
			if err := os.WriteFile(p, data, 0o644); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			dir, err := Ensure(root)
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(filepath.Join(dir, shard))
			if err != nil {
				t.Fatal(err)
			}
			tc.damage(t, dir)
			if verify(dir) == nil {
				t.Fatal("verify accepts the broken folder")
			}
			dir2, err := Ensure(root)
			if err != nil {
				t.Fatal(err)
			}
			if dir2 != dir {
				t.Fatalf("Ensure = %s, want %s", dir2, dir)
			}
			if err := verify(dir); err != nil {
				t.Fatalf("rebuilt folder: %v", err)
			}
			got, err := os.ReadFile(filepath.Join(dir, shard))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, want) {
				t.Error("the rebuilt shard differs from the first build: generation is not deterministic")
			}
			onlyFolder(t, root)
		})
	}
}

func TestEnsureErrors(t *testing.T) {
	if _, err := Ensure(""); err == nil {
		t.Error("Ensure(\"\") succeeded")
	}
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Ensure(file); err == nil {
		t.Error("Ensure with a file as cache root succeeded")
	}
}

func TestDefaultCacheRoot(t *testing.T) {
	root, err := DefaultCacheRoot()
	if err != nil {
		t.Skip(err) // no user cache folder in this environment
	}
	if filepath.Base(root) != "sensenova-studio" {
		t.Errorf("DefaultCacheRoot = %s, want …/sensenova-studio", root)
	}
}

func TestIsDemo(t *testing.T) {
	dir, _ := demoEngine(t)
	if !IsDemo(dir) {
		t.Error("IsDemo(demo folder) = false")
	}
	if IsDemo(t.TempDir()) {
		t.Error("IsDemo(empty folder) = true")
	}
	if real, err := golden.Path("mlphead"); err == nil {
		if _, err := os.Stat(real); err == nil && IsDemo(real) {
			t.Error("IsDemo(golden mlphead checkpoint) = true")
		}
	}
}

func TestCheckpointValidates(t *testing.T) {
	dir, _ := demoEngine(t)
	ck, err := checkpoint.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ck.Close()
	cfg := ck.Config()
	if w := ck.Warnings(); len(w) > 0 {
		t.Errorf("warnings: %v", w)
	}
	if raw, ok := cfg.Extra[MarkerKey]; !ok || string(raw) != strconv.Itoa(Version) {
		t.Errorf("config Extra[%q] = %s, want %d", MarkerKey, raw, Version)
	}
	if got := len(ck.Shards()); got != shards {
		t.Errorf("%d weight files, want %d", got, shards)
	}
	if ck.FMHeadWidth() != fmHeadWidth {
		t.Errorf("fm_head width %d, want %d", ck.FMHeadWidth(), fmHeadWidth)
	}
	if cfg.FMOutputWidth() != 3072 || cfg.TokenPixels() != 32 {
		t.Errorf("token geometry %d px, F = %d; want the real 32 px, 3072", cfg.TokenPixels(), cfg.FMOutputWidth())
	}
	if want := 26*layers + 24; ck.Len() != want {
		t.Errorf("%d tensors, want %d", ck.Len(), want)
	}
	// Every field of the released config is present.
	ref, err := checkpoint.ReferenceConfig("SenseNova-U1-8B-MoT")
	if err != nil {
		t.Fatal(err)
	}
	refCfg, err := checkpoint.ParseConfig(ref, "reference")
	if err != nil {
		t.Fatal(err)
	}
	if len(refCfg.Extra) != 0 || len(cfg.Extra) != 1 || len(cfg.LLM.Extra) != 0 || len(cfg.Vision.Extra) != 0 {
		t.Errorf("unknown keys: %v %v %v", cfg.Extra, cfg.LLM.Extra, cfg.Vision.Extra)
	}
	if cfg.NoiseScaleBaseImageSeqLen != 64 || cfg.NoiseScaleMaxValue != 8 || cfg.Template != "neo1_0" || cfg.UsePixelHead {
		t.Errorf("noise base %d, cap %v, template %q, pixel head %v; want the released 64, 8, neo1_0, MLP head",
			cfg.NoiseScaleBaseImageSeqLen, cfg.NoiseScaleMaxValue, cfg.Template, cfg.UsePixelHead)
	}
}

func TestTokenizer(t *testing.T) {
	dir, e := demoEngine(t)
	tok, err := tokenizer.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	// The vocab.json + merges.txt form, as older downloads carry it.
	old := t.TempDir()
	for _, f := range []string{"vocab.json", "merges.txt", "added_tokens.json", "tokenizer_config.json", "special_tokens_map.json"} {
		data, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(old, f), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tokOld, err := tokenizer.Load(old)
	if err != nil {
		t.Fatal(err)
	}
	if tok.Len() >= vocabSize || tok.Len() != tokOld.Len() {
		t.Errorf("tokenizer sizes %d and %d, model vocabulary %d", tok.Len(), tokOld.Len(), vocabSize)
	}
	ids, err := prompt.LookupSpecialIDs(tok.TokenID)
	if err != nil {
		t.Fatal(err)
	}
	if ids != e.IDs {
		t.Errorf("special ids %+v, engine has %+v", ids, e.IDs)
	}
	for _, s := range []struct {
		tok     string
		special bool
	}{{"<|endoftext|>", true}, {"<|im_start|>", true}, {"<|im_end|>", true}, {"<think>", false},
		{"</think>", false}, {"<IMG_CONTEXT>", true}, {"<img>", true}, {"</img>", true}} {
		id, ok := tok.TokenID(s.tok)
		if !ok || tok.IsSpecial(id) != s.special {
			t.Errorf("%s: id %d (%v), special %v, want special %v", s.tok, id, ok, tok.IsSpecial(id), s.special)
		}
	}
	texts := []string{
		"a photo of a cat sitting on the red chair in the garden",
		"Hello, World! 123 — naïve café",
		"城市夜景，霓虹灯下的雨。",
		"日本語のテキストと한국어",
		"emoji 🌊🎨👩‍👩‍👧 and flags 🇨🇳",
		"tabs\tand\nnew lines\r\n  spaces   ",
		"<|im_start|>user\nDraw <img><IMG_CONTEXT></img><|im_end|>\n<think>\n\n</think>",
	}
	for _, text := range texts {
		got := tok.Encode(text)
		if back := tok.Decode(got, false); back != text {
			t.Errorf("round trip %q → %v → %q", text, got, back)
		}
		if gotOld := tokOld.Encode(text); !slices.Equal(gotOld, got) {
			t.Errorf("%q: tokenizer.json gives %v, vocab.json + merges.txt %v", text, got, gotOld)
		}
	}
	if n := len(tok.Encode("the garden")); n != 2 {
		t.Errorf("\"the garden\" is %d tokens, want 2 (learnt merges)", n)
	}
}

// testPicture is a small picture with some structure.
func testPicture(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.SetNRGBA(x, y, color.NRGBA{uint8(255 * x / w), uint8(255 * y / h), uint8((x * y) % 256), 255})
		}
	}
	return img
}

func settings(w, h, steps int, seed int64, mode sampler.Mode) pipeline.ImageSettings {
	return pipeline.ImageSettings{Width: w, Height: h, Steps: steps, Shift: 3, Seed: seed, Guidance: sampler.DefaultGuidance(mode)}
}

// checkCanvas checks a picture is a smooth colour field: finite, in range,
// not flat, and without steps at the 32-px token borders.
func checkCanvas(t *testing.T, what string, cv []float32, w, h int) {
	t.Helper()
	if len(cv) != 3*w*h {
		t.Fatalf("%s: %d values, want %d", what, len(cv), 3*w*h)
	}
	var lo, hi float32 = math.MaxFloat32, -math.MaxFloat32
	var inner, border float64 // largest step between horizontal neighbours
	for c := 0; c < 3; c++ {
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				v := cv[(c*h+y)*w+x]
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
					t.Fatalf("%s: value %v at (%d, %d, %d)", what, v, c, y, x)
				}
				lo, hi = min(lo, v), max(hi, v)
				if x > 0 {
					d := math.Abs(float64(v - cv[(c*h+y)*w+x-1]))
					if x%32 == 0 {
						border = max(border, d)
					} else {
						inner = max(inner, d)
					}
				}
			}
		}
	}
	// Guidance may push a little past [-1, 1] (the 8-bit conversion
	// clamps), but a picture mostly out of range is a broken painter.
	out := 0
	for _, v := range cv {
		if v < -1.1 || v > 1.1 {
			out++
		}
	}
	// The largest spatial standard deviation of a channel: a flat picture
	// is a broken painter too.
	var sd float64
	for c := 0; c < 3; c++ {
		var sum, sq float64
		for _, v := range cv[c*w*h : (c+1)*w*h] {
			sum += float64(v)
			sq += float64(v) * float64(v)
		}
		n := float64(w * h)
		sd = max(sd, math.Sqrt(max(0, sq/n-sum*sum/n/n)))
	}
	if lo < -3 || hi > 3 || out > len(cv)/2 || sd < 0.05 {
		t.Errorf("%s: values in [%.3f, %.3f], %d of %d beyond ±1.1, spatial sd ≤ %.3f; want a visible colour field within about [-1, 1]", what, lo, hi, out, len(cv), sd)
	}
	t.Logf("%s: values in [%.3f, %.3f], %d of %d beyond ±1.1, spatial sd ≤ %.3f, steps ≤ %.4f inside tokens, ≤ %.4f across borders", what, lo, hi, out, len(cv), sd, inner, border)
	if inner > 0.05 || border > 2*inner+0.01 {
		t.Errorf("%s: largest step between neighbouring pixels %.4f inside tokens, %.4f across token borders; want a smooth, seamless field", what, inner, border)
	}
}

func TestTextToImage(t *testing.T) {
	_, e := demoEngine(t)
	ctx := context.Background()
	run := func(p string, seed int64) []float32 {
		t.Helper()
		res, err := e.TextToImage(ctx, pipeline.TextToImageRequest{Prompt: p, ImageSettings: settings(160, 96, 4, seed, sampler.TextToImage)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		checkCanvas(t, p, res.Canvases[0], 160, 96)
		return res.Canvases[0]
	}
	a := run("a cat on a red chair", 7)
	if b := run("a cat on a red chair", 7); !slices.Equal(a, b) {
		t.Error("the same prompt and seed gave different canvases")
	}
	if c := run("a cat on a red chair", 8); golden.RelErr(c, a) < 0.1 {
		t.Errorf("another seed changed the canvas by only %.3f", golden.RelErr(c, a))
	}
	if d := run("the sea at sunset", 7); golden.RelErr(d, a) < 0.1 {
		t.Errorf("another prompt changed the canvas by only %.3f", golden.RelErr(d, a))
	}
}

func TestTextToImageThink(t *testing.T) {
	_, e := demoEngine(t)
	start := time.Now()
	tokens := 0
	res, err := e.TextToImage(context.Background(), pipeline.TextToImageRequest{
		Prompt: "a cat on a red chair", Think: true, ImageSettings: settings(160, 128, 6, 1, sampler.TextToImage),
	}, func(ev pipeline.Event) {
		if ev.Kind == pipeline.EventToken {
			tokens++
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("think: %d tokens (limit %d) and a 160×128 picture in %v", len(res.ThinkIDs), pipeline.MaxThinkTokens, time.Since(start))
	if len(res.ThinkIDs) == 0 || len(res.ThinkIDs) > pipeline.MaxThinkTokens || tokens < len(res.ThinkIDs) {
		t.Errorf("%d thinking ids, %d token events", len(res.ThinkIDs), tokens)
	}
	checkCanvas(t, "think", res.Canvases[0], 160, 128)
}

func TestEdit(t *testing.T) {
	_, e := demoEngine(t)
	for _, imageScale := range []float64{1, 1.5} { // two and three guidance branches
		s := settings(128, 96, 6, 2, sampler.Edit)
		s.Guidance.ImageScale = imageScale
		res, err := e.Edit(context.Background(), pipeline.EditRequest{
			Prompt: "make the sky purple", Pictures: []pipeline.Picture{{Image: testPicture(64, 96)}}, ImageSettings: s,
		}, nil)
		if err != nil {
			t.Fatal(err)
		}
		checkCanvas(t, "edit", res.Canvases[0], 128, 96)
	}
}

func TestVQA(t *testing.T) {
	_, e := demoEngine(t)
	pic := pipeline.Picture{Image: testPicture(96, 64)}
	res, err := e.VQA(context.Background(), pipeline.VQARequest{Question: "What is in this image?", Picture: &pic, MaxNewTokens: 8}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.IDs) == 0 || len(res.IDs) > 8 {
		t.Errorf("%d answer ids, want 1 to 8", len(res.IDs))
	}
	t.Logf("answer %q (ids %v)", res.Answer, res.IDs)
}

func TestInterleave(t *testing.T) {
	_, e := demoEngine(t)
	res, err := e.Interleave(context.Background(), pipeline.InterleaveRequest{
		Prompt: "Tell a short story about a boat, with pictures.", SystemMessage: prompt.SystemInterleave,
		MaxNewTokens: 16, ImageSettings: settings(96, 64, 2, 3, sampler.Interleave),
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range res.Chunks {
		n += len(c)
	}
	if n == 0 || n > 16 || len(res.Chunks) != len(res.Canvases)+1 {
		t.Errorf("%d text tokens in %d chunks, %d pictures", n, len(res.Chunks), len(res.Canvases))
	}
	for _, cv := range res.Canvases {
		checkCanvas(t, "interleave picture", cv, 96, 64)
	}
	t.Logf("interleave: %d tokens, %d pictures, text %q", n, len(res.Canvases), res.Text)
}

func TestCancel(t *testing.T) {
	_, e := demoEngine(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := e.TextToImage(ctx, pipeline.TextToImageRequest{Prompt: "x", ImageSettings: settings(64, 64, 4, 1, sampler.TextToImage)}, nil)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled run: %v, want context.Canceled", err)
	}
}

// TestPictureToImage checks a canvas converts to an 8-bit picture, as the
// window shows it.
func TestPictureToImage(t *testing.T) {
	_, e := demoEngine(t)
	res, err := e.TextToImage(context.Background(), pipeline.TextToImageRequest{Prompt: "abstract", ImageSettings: settings(64, 64, 2, 1, sampler.TextToImage)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	img, err := imageproc.CanvasToImage(res.Canvases[0], 64, 64)
	if err != nil || img.Rect.Dx() != 64 {
		t.Fatalf("CanvasToImage: %v", err)
	}
}
