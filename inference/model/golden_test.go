package model

import (
	"fmt"
	"math"
	"testing"

	"github.com/sensenova/studio/inference/checkpoint"
	"github.com/sensenova/studio/inference/imageproc"
	"github.com/sensenova/studio/inference/prompt"
	"github.com/sensenova/studio/inference/safetensors"
	"github.com/sensenova/studio/inference/tensor"
	"github.com/sensenova/studio/inference/tokenizer"
	"github.com/sensenova/studio/internal/golden"
)

// Tolerances of ../shared/golden/README.md: max abs difference ÷ max abs of
// the reference.
const stateTol = 1e-4

type goldenModel struct {
	m     *Model
	tok   *tokenizer.Tokenizer
	sp    prompt.SpecialIDs
	refs  *safetensors.File
	cases *golden.Cases
}

func openGoldenModel(t *testing.T, folder string) goldenModel {
	t.Helper()
	dir, err := golden.Path(folder)
	if err != nil {
		t.Fatal(err)
	}
	ck, err := checkpoint.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ck.Close() })
	var g goldenModel
	if g.m, err = Load(ck, tensor.NewCPU(0)); err != nil {
		t.Fatal(err)
	}
	if g.tok, err = tokenizer.Load(dir); err != nil {
		t.Fatal(err)
	}
	if g.sp, err = prompt.LookupSpecialIDs(g.tok.TokenID); err != nil {
		t.Fatal(err)
	}
	if g.refs, err = safetensors.Open(dir + "/references.safetensors"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.refs.Close() })
	if g.cases, err = golden.LoadCases(folder); err != nil {
		t.Fatal(err)
	}
	return g
}

func (g goldenModel) ref(t *testing.T, name string) []float32 {
	t.Helper()
	v, _, err := g.refs.Float32(name)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func checkClose(t *testing.T, what string, got, want []float32, tol float64) {
	t.Helper()
	golden.CheckClose(t, what, got, want, tol)
}

// prefillText tokenizes a text-only prompt, prefills a fresh cache and
// returns the cache and the hidden states on the host.
func (g goldenModel) prefillText(t *testing.T, query string) (*Cache, []float32, []int) {
	t.Helper()
	ids := g.tok.Encode(query)
	pos, err := prompt.Indexes(ids, g.sp, nil)
	if err != nil {
		t.Fatal(err)
	}
	x, err := g.m.EmbedTokens(ids)
	if err != nil {
		t.Fatal(err)
	}
	c := g.m.NewCache(len(ids))
	h, err := g.m.Prefill(c, x, pos)
	if err != nil {
		t.Fatal(err)
	}
	return c, g.m.b.Float32(h), ids
}

// headMajor reorders cache rows [S, Nkv·D] to the reference's [Nkv, S, D].
func headMajor(rows []float32, s, heads, d int) []float32 {
	out := make([]float32, len(rows))
	for i := 0; i < s; i++ {
		for h := 0; h < heads; h++ {
			copy(out[(h*s+i)*d:(h*s+i+1)*d], rows[(i*heads+h)*d:(i*heads+h+1)*d])
		}
	}
	return out
}

func TestGoldenPrefixStates(t *testing.T) {
	for _, folder := range []string{"mlphead", "pixelhead"} {
		t.Run(folder, func(t *testing.T) {
			g := openGoldenModel(t, folder)
			d := g.m.Dims
			checked := 0
			for _, c := range g.cases.Cases {
				for _, br := range []struct {
					name  string
					query *string
				}{{"cond", c.QueryCond}, {"uncond", c.QueryUncond}} {
					key := fmt.Sprintf("%s.%s.%s", folder, c.Name, br.name)
					if _, ok := g.refs.Info(key + ".hidden_last"); !ok {
						continue
					}
					cache, hidden, ids := g.prefillText(t, *br.query)
					checkClose(t, key+".hidden_last", hidden, g.ref(t, key+".hidden_last"), stateTol)
					checkClose(t, key+".layer0_keys", headMajor(cache.Keys(0), len(ids), d.KVHeads, d.Head), g.ref(t, key+".layer0_keys"), stateTol)
					checkClose(t, key+".layer0_values", headMajor(cache.Values(0), len(ids), d.KVHeads, d.Head), g.ref(t, key+".layer0_values"), stateTol)
					checked++
				}
			}
			if checked != 3 {
				t.Errorf("checked %d prefixes, want 3 (t2i_cfg cond+uncond, t2i_nocfg cond)", checked)
			}
		})
	}
}

// noiseScale is MODEL.md 3.13's σ_n for a picture of n tokens.
func noiseScale(cfg *checkpoint.Config, n int) float64 {
	s := cfg.NoiseScale
	if cfg.NoiseResolutionDependent() {
		s = math.Sqrt(float64(n)/float64(cfg.NoiseScaleBaseImageSeqLen)) * cfg.NoiseScale
		if cfg.NoiseScaleMode == "dynamic_sqrt" {
			s = math.Sqrt(s)
		}
	}
	return math.Min(s, cfg.NoiseScaleMaxValue)
}

// TestGoldenStepZero checks the generation embedding of the noisy canvas at
// step 0 and the velocity each text-to-image branch predicts from it.
func TestGoldenStepZero(t *testing.T) {
	for _, folder := range []string{"mlphead", "pixelhead"} {
		t.Run(folder, func(t *testing.T) {
			g := openGoldenModel(t, folder)
			b := g.m.b
			checked := 0
			for _, c := range g.cases.Cases {
				if c.Kind != "t2i" {
					continue
				}
				key := folder + "." + c.Name
				th, tw := c.Height/32, c.Width/32
				sigma := noiseScale(g.m.Config, th*tw)
				noise := g.ref(t, key+".noise")
				x := make([]float32, len(noise))
				for i, e := range noise {
					x[i] = float32(sigma) * e
				}
				p16, gh, gw, err := imageproc.Patchify16(x, c.Height, c.Width)
				if err != nil {
					t.Fatal(err)
				}
				z, err := imageproc.Patchify32(x, c.Height, c.Width)
				if err != nil {
					t.Fatal(err)
				}
				canvas, err := g.m.EmbedCanvas(b.FromFloat32(p16, gh*gw, 3*16*16), Grid{gh, gw})
				if err != nil {
					t.Fatal(err)
				}
				tokens := b.AddRow(canvas, b.Reshape(g.m.TimeEmbedding(0, sigma), g.m.Dims.Hidden))
				checkClose(t, key+".step0.cond.image_embeds", b.Float32(tokens), g.ref(t, key+".step0.cond.image_embeds"), stateTol)

				branches := map[string]*string{"cond": c.QueryCond}
				if c.CFGScale > 1 {
					branches["uncond"] = c.QueryUncond
				}
				for br, query := range branches {
					cache, _, _ := g.prefillText(t, *query)
					pos := prompt.ImageAt(cache.LastT()+1, prompt.TokenGrid{Rows: th, Cols: tw})
					h, err := g.m.Denoise(cache, tokens, pos)
					if err != nil {
						t.Fatal(err)
					}
					xhat, err := g.m.Predict(h, th, tw)
					if err != nil {
						t.Fatal(err)
					}
					v := b.Float32(xhat)
					for i := range v { // t = 0: v = (x̂ − z) / max(1 − 0, t_eps)
						v[i] -= z[i]
					}
					checkClose(t, key+".step0."+br+".v", v, g.ref(t, key+".step0."+br+".v"), stateTol)
					checked++
				}
			}
			if checked != 9 {
				t.Errorf("checked %d branch velocities, want 9", checked)
			}
		})
	}
}

// TestGoldenContextFeatures runs the understanding patch embedder on the
// reference's resized editing pictures (normalised, rounded to bf16 as the
// editing pipeline does).
func TestGoldenContextFeatures(t *testing.T) {
	for _, folder := range []string{"mlphead", "pixelhead"} {
		t.Run(folder, func(t *testing.T) {
			g := openGoldenModel(t, folder)
			b := g.m.b
			checked := 0
			for _, c := range g.cases.Cases {
				if c.Kind != "edit" {
					continue
				}
				key := folder + "." + c.Name
				pix, shape, err := g.refs.Int64(key + ".input1_pixels_u8")
				if err != nil {
					t.Fatal(err)
				}
				h, w := int(shape[0]), int(shape[1])
				chw := make([]float32, 3*h*w)
				mean := [3]float32{0.485, 0.456, 0.406}
				std := [3]float32{0.229, 0.224, 0.225}
				for y := 0; y < h; y++ {
					for x := 0; x < w; x++ {
						for ch := 0; ch < 3; ch++ {
							u := float32(pix[(y*w+x)*3+ch]) / 255
							chw[(ch*h+y)*w+x] = safetensors.RoundBF16((u - mean[ch]) / std[ch])
						}
					}
				}
				p16, gh, gw, err := imageproc.Patchify16(chw, h, w)
				if err != nil {
					t.Fatal(err)
				}
				feat, err := g.m.EmbedPicture(b.FromFloat32(p16, gh*gw, 768), Grid{gh, gw})
				if err != nil {
					t.Fatal(err)
				}
				checkClose(t, key+".input_features", b.Float32(feat), g.ref(t, key+".input_features"), stateTol)
				checked++
			}
			if checked != 2 {
				t.Errorf("checked %d editing pictures, want 2", checked)
			}
		})
	}
}
