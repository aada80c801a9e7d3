package pipeline

import (
	"context"
	"fmt"
	"image"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sensenova/studio/inference/imageproc"
	"github.com/sensenova/studio/inference/prompt"
	"github.com/sensenova/studio/inference/safetensors"
	"github.com/sensenova/studio/inference/sampler"
	"github.com/sensenova/studio/inference/tensor"
	"github.com/sensenova/studio/internal/golden"
)

// Tolerances of ../shared/golden/README.md (max abs difference ÷ max abs of
// the reference).
const (
	stateTol = 1e-4
	imageTol = 1e-3
)

type goldenRun struct {
	dir   string
	e     *Engine
	refs  *safetensors.File
	cases *golden.Cases
}

func openGolden(t *testing.T, folder string) goldenRun {
	t.Helper()
	dir, err := golden.Path(folder)
	if err != nil {
		t.Fatal(err)
	}
	e, err := Open(dir, tensor.NewCPU(0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	refs, err := safetensors.Open(filepath.Join(dir, "references.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { refs.Close() })
	cases, err := golden.LoadCases(folder)
	if err != nil {
		t.Fatal(err)
	}
	return goldenRun{dir: dir, e: e, refs: refs, cases: cases}
}

func (g goldenRun) ref(t *testing.T, name string) []float32 {
	t.Helper()
	v, _, err := g.refs.Float32(name)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// pixels returns a reference's resized input picture as an RGB image.
func (g goldenRun) pixels(t *testing.T, name string) *image.NRGBA {
	t.Helper()
	v, shape, err := g.refs.Int64(name)
	if err != nil {
		t.Fatal(err)
	}
	h, w := int(shape[0]), int(shape[1])
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < h*w; i++ {
		copy(img.Pix[4*i:], []uint8{uint8(v[3*i]), uint8(v[3*i+1]), uint8(v[3*i+2]), 255})
	}
	return img
}

func checkClose(t *testing.T, what string, got, want []float32, tol float64) {
	t.Helper()
	golden.CheckClose(t, what, got, want, tol)
}

func guidanceOf(c golden.Case) sampler.Guidance {
	norm := c.CFGNorm
	if norm == "" {
		norm = "none"
	}
	return sampler.Guidance{Scale: c.CFGScale, ImageScale: c.ImgCFGScale, Norm: sampler.Norm(norm), IntervalLo: 0, IntervalHi: 1}
}

func settingsOf(c golden.Case, noise []float32) ImageSettings {
	return ImageSettings{
		Width: c.Width, Height: c.Height, Steps: c.NumSteps, Shift: c.TimestepShift,
		TEps: c.TEps, Guidance: guidanceOf(c), Seed: c.Seed, Noise: noise,
	}
}

// TestGoldenTextToImage runs every text-to-image case (with and without
// thinking) from the reference's noise: final canvas within 1e-3, reasoning
// ids exactly.
func TestGoldenTextToImage(t *testing.T) {
	for _, folder := range []string{"mlphead", "pixelhead"} {
		t.Run(folder, func(t *testing.T) {
			g := openGolden(t, folder)
			ran := 0
			for _, c := range g.cases.Cases {
				if c.Kind != "t2i" && c.Kind != "t2i_think" {
					continue
				}
				key := folder + "." + c.Name
				res, err := g.e.TextToImage(context.Background(), TextToImageRequest{
					Prompt: c.Prompt, Think: c.Kind == "t2i_think",
					ImageSettings: settingsOf(c, g.ref(t, key+".noise")),
				}, nil)
				if err != nil {
					t.Fatalf("%s: %v", key, err)
				}
				if c.Kind == "t2i_think" {
					if !slices.Equal(res.ThinkIDs, c.ThinkIDs) {
						t.Errorf("%s: think ids differ (%d vs %d)\n got %v\nwant %v", key, len(res.ThinkIDs), len(c.ThinkIDs), res.ThinkIDs, c.ThinkIDs)
					}
					if res.ThinkText != c.ThinkText {
						t.Errorf("%s: think text differs", key)
					}
				}
				checkClose(t, key+".image", res.Canvases[0], g.ref(t, key+".image"), imageTol)
				ran++
			}
			if ran != 6 {
				t.Errorf("ran %d text-to-image cases, want 6", ran)
			}
		})
	}
}

// TestGoldenEdit runs both editing cases from the reference's resized
// pictures: every branch velocity of step 0 within 1e-4 and the final
// canvas within 1e-3. The same cases run again from the PNG files through
// the resizer.
func TestGoldenEdit(t *testing.T) {
	for _, folder := range []string{"mlphead", "pixelhead"} {
		t.Run(folder, func(t *testing.T) {
			g := openGolden(t, folder)
			ran := 0
			for _, c := range g.cases.Cases {
				if c.Kind != "edit" {
					continue
				}
				key := folder + "." + c.Name
				for _, fromPNG := range []bool{false, true} {
					var pics []Picture
					for k, name := range c.InputPNGs {
						if fromPNG {
							p, err := imageproc.Load(filepath.Join(g.dir, name))
							if err != nil {
								t.Fatal(err)
							}
							pics = append(pics, Picture{Image: p.RGB(imageproc.DropAlpha)})
						} else {
							pics = append(pics, Picture{Image: g.pixels(t, fmt.Sprintf("%s.input%d_pixels_u8", key, k+1)), Resized: true})
						}
					}
					step0 := map[string][]float32{}
					g.e.observeVelocity = func(_, step int, branch string, v []float32) {
						if step == 0 {
							step0[branch] = v
						}
					}
					res, err := g.e.Edit(context.Background(), EditRequest{
						Prompt: c.Prompt, Pictures: pics,
						ImageSettings: settingsOf(c, g.ref(t, key+".noise")),
					}, nil)
					g.e.observeVelocity = nil
					if err != nil {
						t.Fatalf("%s: %v", key, err)
					}
					// Branch order of the reference: full condition, then
					// image-only, then unconditional, as built.
					order := []string{"cond"}
					gd := guidanceOf(c)
					gd.Mode = sampler.Edit
					imageOnly, uncond := gd.Prefixes()
					if imageOnly {
						order = append(order, "image")
					}
					if uncond {
						order = append(order, "uncond")
					}
					for k, br := range order {
						checkClose(t, fmt.Sprintf("%s.step0.branch%d.v (png %v)", key, k, fromPNG), step0[br], g.ref(t, fmt.Sprintf("%s.step0.branch%d.v", key, k)), stateTol)
					}
					if _, ok := g.refs.Info(fmt.Sprintf("%s.step0.branch%d.v", key, len(order))); ok {
						t.Errorf("%s: the reference ran more than %d branches", key, len(order))
					}
					checkClose(t, fmt.Sprintf("%s.image (png %v)", key, fromPNG), res.Canvases[0], g.ref(t, key+".image"), imageTol)
				}
				ran++
			}
			if ran != 2 {
				t.Errorf("ran %d editing cases, want 2", ran)
			}
		})
	}
}

// TestGoldenVQA answers the VQA case from the PNG (full preprocessing) and
// from the reference's resized pixels: ids exactly, answer text exactly.
func TestGoldenVQA(t *testing.T) {
	for _, folder := range []string{"mlphead", "pixelhead"} {
		t.Run(folder, func(t *testing.T) {
			g := openGolden(t, folder)
			ran := 0
			for _, c := range g.cases.Cases {
				if c.Kind != "vqa" {
					continue
				}
				key := folder + "." + c.Name
				p, err := imageproc.Load(filepath.Join(g.dir, c.InputPNG))
				if err != nil {
					t.Fatal(err)
				}
				for _, pic := range []Picture{
					{Image: p.RGB(imageproc.CompositeRGBAOnWhite)},
					{Image: g.pixels(t, key+".input1_pixels_u8"), Resized: true},
				} {
					res, err := g.e.VQA(context.Background(), VQARequest{Question: c.Question, Picture: &pic, MaxNewTokens: c.MaxNewTokens}, nil)
					if err != nil {
						t.Fatal(err)
					}
					if !slices.Equal(res.IDs, c.AnswerIDs) {
						t.Errorf("%s (resized %v): ids\n got %v\nwant %v", key, pic.Resized, res.IDs, c.AnswerIDs)
					}
					if res.Answer != c.Answer {
						t.Errorf("%s (resized %v): answer %q, want %q", key, pic.Resized, res.Answer, c.Answer)
					}
				}
				ran++
			}
			if ran != 1 {
				t.Errorf("ran %d VQA cases, want 1", ran)
			}
		})
	}
}

// TestGoldenInterleave replays the storyboard run: the text before the
// picture, the picture (from the reference's noise_1), the text after it and
// the stop.
func TestGoldenInterleave(t *testing.T) {
	g := openGolden(t, "interleave")
	c := g.cases.Cases[0]
	if c.Kind != "interleave" {
		t.Fatalf("unexpected case kind %q", c.Kind)
	}
	gd := guidanceOf(c)
	res, err := g.e.Interleave(context.Background(), InterleaveRequest{
		Prompt: c.Prompt, SystemMessage: c.SystemMessage, Think: c.ThinkMode,
		MaxNewTokens: c.MaxNewTokens,
		NoiseFor: func(k int) ([]float32, error) {
			return g.ref(t, fmt.Sprintf("interleave.noise_%d", k+1)), nil
		},
		ImageSettings: ImageSettings{
			Width: c.Width, Height: c.Height, Steps: c.NumSteps, Shift: c.TimestepShift,
			TEps: c.TEps, Guidance: gd, Seed: c.Seed,
		},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Chunks) != len(c.TextChunksIDs) {
		t.Fatalf("%d text chunks %v, want %d %v", len(res.Chunks), res.Chunks, len(c.TextChunksIDs), c.TextChunksIDs)
	}
	for i := range res.Chunks {
		if !slices.Equal(res.Chunks[i], c.TextChunksIDs[i]) {
			t.Errorf("chunk %d: %v, want %v", i, res.Chunks[i], c.TextChunksIDs[i])
		}
	}
	if res.Text != c.GeneratedText {
		t.Errorf("text %q, want %q", res.Text, c.GeneratedText)
	}
	if len(res.Canvases) != c.ImageCount {
		t.Fatalf("%d pictures, want %d", len(res.Canvases), c.ImageCount)
	}
	for k, canvas := range res.Canvases {
		name := fmt.Sprintf("interleave.image_%d", k+1)
		checkClose(t, name, canvas, g.ref(t, name), imageTol)
	}
}

// TestAppendedPictureEqualsPrefill checks the interleave cache after a
// generated picture was fed back: keys and values of every layer equal those
// of one prefill of the same sequence (prompt, text, <img>, the picture's
// tokens, </img>), and so do the next-token scores.
func TestAppendedPictureEqualsPrefill(t *testing.T) {
	g := openGolden(t, "interleave")
	c := g.cases.Cases[0]
	e := g.e
	ctx := context.Background()
	query, err := promptInterleave(c)
	if err != nil {
		t.Fatal(err)
	}
	inc, err := e.prefill(ctx, query, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	text := append(slices.Clone(c.TextChunksIDs[0]), e.IDs.ImgStart)
	if _, err := e.feed(ctx, inc, text...); err != nil {
		t.Fatal(err)
	}
	canvas := g.ref(t, "interleave.image_1")
	incLogits, err := e.appendPicture(ctx, inc, canvas, c.Height, c.Width)
	if err != nil {
		t.Fatal(err)
	}

	// The same sequence in one prefill: the picture as a context picture.
	pic, err := e.embedPicture(reencode(canvas, c.Height, c.Width), c.Height, c.Width)
	if err != nil {
		t.Fatal(err)
	}
	ids := append(e.Tokenizer.Encode(query), text...)
	for range pic.grid.Tokens() {
		ids = append(ids, e.IDs.ImgContext)
	}
	ids = append(ids, e.IDs.ImgEnd)
	once, err := e.prefillIDs(ctx, e.IDs, ids, []contextPicture{pic}, true)
	if err != nil {
		t.Fatal(err)
	}
	if inc.cache.Len() != once.cache.Len() || inc.cache.LastT() != once.cache.LastT() {
		t.Fatalf("incremental cache has %d tokens (last t %d), one prefill %d (last t %d)", inc.cache.Len(), inc.cache.LastT(), once.cache.Len(), once.cache.LastT())
	}
	for l := 0; l < e.Model.Dims.Layers; l++ {
		checkClose(t, fmt.Sprintf("layer %d keys", l), inc.cache.Keys(l), once.cache.Keys(l), 1e-5)
		checkClose(t, fmt.Sprintf("layer %d values", l), inc.cache.Values(l), once.cache.Values(l), 1e-5)
	}
	checkClose(t, "scores after </img>", incLogits, once.logits, 1e-5)
}

func promptInterleave(c golden.Case) (string, error) {
	return prompt.Interleave(c.SystemMessage, c.Prompt, 0, c.ThinkMode)
}

// TestStreamedTextEqualsResult checks that the text pieces of EventToken,
// joined, equal the decoded reasoning even where byte-level tokens split
// characters (the golden think case has several).
func TestStreamedTextEqualsResult(t *testing.T) {
	for _, folder := range []string{"mlphead", "pixelhead"} {
		g := openGolden(t, folder)
		for _, c := range g.cases.Cases {
			if c.Kind != "t2i_think" {
				continue
			}
			var streamed strings.Builder
			tokens := 0
			s := settingsOf(c, nil)
			s.Steps = 1
			res, err := g.e.TextToImage(context.Background(), TextToImageRequest{Prompt: c.Prompt, Think: true, ImageSettings: s}, func(ev Event) {
				if ev.Kind == EventToken {
					streamed.WriteString(ev.Text)
					if ev.TokenID >= 0 {
						tokens++
					}
				}
			})
			if err != nil {
				t.Fatal(err)
			}
			if streamed.String() != res.ThinkText {
				t.Errorf("%s: streamed text differs from the decoded reasoning\n got %q\nwant %q", folder, streamed.String(), res.ThinkText)
			}
			if tokens != len(res.ThinkIDs) {
				t.Errorf("%s: %d token events for %d reasoning tokens", folder, tokens, len(res.ThinkIDs))
			}
			if !strings.ContainsRune(res.ThinkText, '\uFFFD') && strings.Count(streamed.String(), "\uFFFD") > 0 {
				t.Errorf("%s: streaming introduced replacement characters", folder)
			}
		}
	}
}
