package demo

import (
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"github.com/sensenova/studio/inference/checkpoint"
	"github.com/sensenova/studio/inference/safetensors"
)

// The weights. Every tensor starts from MODEL.md 9's random init (normal
// std 0.02, RMSNorm weights 1 + N(0, 0.1²)), seeded by Seed and the
// tensor's name. A random network of that kind paints grey static, so the
// generation path is then shaped, deterministically, into a small painter
// of smooth colour fields. Shapes, names, dtypes and every code path stay
// those of the real model; only values are chosen.
//
//  1. The generation patch embedder writes two things into the residual
//     stream: a constant (dimension dConst) and the mean colour of the
//     token's 32×32 block of the noisy canvas (dContent). No pixel detail.
//  2. Generation layer 0 (its input is dominated by the constant, so its
//     RMSNorm is close to linear):
//     – head 0 attends evenly to all picture tokens and subtracts the
//     picture's mean colour from every token;
//     – heads 4 and 5 attend to the last words before the picture (the
//     end of the user's prompt: t-RoPE on a position-only key part that
//     only word tokens have) and write what they read as a small colour
//     offset ("steering", which changes how the field develops) and as
//     style dimensions (a tint);
//     – head 3 lowers the constant to 1/32, so layer 1's RMSNorm sees the
//     colour deviation and normalises it: whatever the noise level, the
//     field has unit scale.
//  3. Generation layer 1: heads 0–3 have constant queries and keys, so the
//     2-D RoPE turns their scores into a Gaussian kernel (σ ≈ 1.6 tokens)
//     centred on one corner of the token; each samples the blurred,
//     normalised colour field there. Tokens sharing a corner compute the
//     same sample. Head 4 raises the constant to 100, so the final RMSNorm
//     scales every token alike.
//  4. The fm_head paints each token's block as the bilinear blend of its
//     four corner colours (its output columns are the bilinear weight
//     images), through a smooth clamp and a colour matrix, plus the tint
//     (also clamped). Neighbouring blocks meet without a seam.
//
// The constants those heads need come from the prompt: the <img> token
// that ends every generation prefix has a large embedding in dimension
// dImg, and heads that look only for its key read back an exact constant.
// Over the denoising steps the canvas is drawn towards its own blurred,
// normalised colour field, so the noise organises into soft blobs and
// swirls of colour. The seed decides the layout; the prompt, through the
// steering and the tint (both amplified by the guidance, since the
// unconditional branch has no words), changes the colours and partly the
// arrangement.
//
// The understanding path (text, VQA, context pictures) keeps the parts of
// it the generation path reads: word tokens' random embeddings, which
// carry dText, layer 0's KV head 1 (whose keys read only the markers: dText
// in pairs 2 and 3, dImg in tImg) and the <img> marker, which no layer and
// no context picture writes. The rest is hand-set into a small writer
// (writer.go), in residual dimensions [uBias, 64) and [0, 8) of text tokens,
// which the generation path never reads:
//
//  5. Non-word tokens get clean embeddings: a marker dimension for
//     "assistant", <|im_start|>, <think>, </think> and </img>, a base
//     dimension and for ".", " " and "\n" a class dimension for the others.
//  6. Understanding layer 0: a matched-filter unit per word of the
//     writer's small vocabulary (A, colours, subjects, verbs, prepositions,
//     "the", adjectives, places, "at", times) writes the word's class; a
//     three-phase t-RoPE "pointer" turns as the answer grows; a flag marks
//     the answer and, with it, the </img> of pictures the model drew. <img>
//     attends to itself, so its layer-1 key and value stay exact.
//  7. Understanding layer 1: heads count the drawn pictures (against
//     "assistant" as a sink: n/(n+1)), find whether a reasoning block is
//     open and how far back it and the last chunk of text started (t-RoPE
//     recency against the <|im_start|> tokens as sinks), and turn a second
//     pointer; its MLP decides, on ".", whether to stop the text here and
//     then whether to draw or to end, or to close the reasoning.
//  8. The lm_head is a grammar — "A (colour) subject verb preposition the
//     (adjective) place (at time)." — whose class votes pick the next
//     class and whose pointer rows pick the word; after "." come " ",
//     <img>, <|im_end|> or </think> as the MLP decided, after <img>
//     <|im_end|>.
//
// So a storyboard writes two or three sentences, draws, and again, three
// pictures in all, then a last few sentences and <|im_end|>; a reasoning
// block closes with </think> after about thinkLen tokens; a VQA answer is
// a few sentences. The text is word-like but says nothing about the prompt
// (which only shifts the choice of words).

// Residual-stream dimensions the shaping uses; the others are free.
const (
	dConst   = 0  // constant: sign source for constant queries/keys, scale for the final norm
	dContent = 1  // 3 dims: the token's colour (mean of its block, minus the picture's mean)
	dCorner  = 4  // 12 dims: the blurred colour at the token's 4 corners, 3 each
	dStyle   = 16 // nStyle dims: what the prompt contributes
	nStyle   = 8
	dImg     = 24 // text embedding: marks the <img> token
	dText    = 25 // text embedding: a constant in word tokens (gives their keys a position-only part)
	nClean   = 26 // dims [0, nClean) are written only where described
)

// Shaping constants (see above).
const (
	constIn     = 8.0        // dConst at the embedder's output (layer 0 works in linear regime)
	constLower  = 0.99609375 // layer 0 subtracts 8× this from dConst (bf16-exact), leaving 1/32
	constOut    = 100.0      // dConst added by layer 1 (final norm ≈ constant)
	imgMark     = 10.0       // <img> embedding in dImg
	textMark    = 0.2        // other tokens' embedding in dText
	blurA1      = 1.0        // corner-kernel query/key weights on the 0.1 rad/token pair
	blurA2      = 0.6        // and on the 0.01 rad/token pair
	blurScale   = 6.0        // q/k norm weights of the corner heads
	recency     = 25.0       // q norm weight of the style heads' position pairs
	styleGain   = 0.05       // prompt → style dims (small: layer 1 normalises by the whole stream)
	timeGain    = 0.1        // scale of the time and noise-level embeddings
	paletteGain = 0.15       // corner colour → saturating palette input
	paletteAmp  = 0.6        // palette output amplitude
	tintGain    = 70.0       // style → tint clamp input
	tintAmp     = 0.2        // tint amplitude (before guidance multiplies it)
	steerGain   = 0.15       // prompt → colour offset before the normalisation
)

// Attention-head roles in the generation expert: 6 query heads, 2 KV heads
// (q heads 0–2 use KV head 0, 3–5 KV head 1).
const (
	l0MeanHead  = 0 // layer 0: mean colour, subtracted
	l0LowerHead = 3 // layer 0: lowers dConst (reads <img>)
	l1RaiseHead = 4 // layer 1: raises dConst (reads <img>)
	// Layer 0, heads 4 and 5 read the prompt into dStyle; layer 1, heads
	// 0–3 sample the corners (-½,-½), (-½,+½), (+½,-½), (+½,+½). Heads 1, 2
	// of layer 0 and 5 of layer 1 keep random queries and write nothing.

	// t-part dimensions of queries and keys (the RoPE pair of dimension i
	// is i+8). Pairs 5–7 turn by ≤ 6.5e-5 rad per token of t distance: for
	// them only the content matters.
	tMean  = 6 // mean head query ↔ picture keys of KV head 0 (layer 0)
	tStyle = 5 // picture keys of KV head 1 (layer 0): the style heads' fallback
	tImg   = 7 // <img> keys (both layers' understanding KV head 1)
	vImg   = 31
)

// styleHeads are the layer-0 heads reading the prompt, with the t distance
// (in tokens, before the picture) their attention centres on. Only word
// tokens have a position key (dText), and the chat template's tokens are
// not words, so the heads land on the last words before the picture: the
// end of the user's prompt, of the reasoning, or of the storyboard text.
// With no word in the prompt (the unconditional branch) they read the
// picture's keys, whose values are 0.
var styleHeads = []struct {
	head   int
	centre float64
}{{4, -1}, {5, -8}}

// shaper fills the demo tensors.
type shaper struct {
	imgID     int    // id of <img>
	words     []bool // ids whose embedding carries dText
	tok       writerTokens
	detectors []detector // layer 0's word units (writer.go)
	inNorm0   []float64  // layer 0's understanding input norm weights
}

// templateWords are the chat template's role names: not words of the
// prompt (the corpus makes each one token).
var templateWords = []string{"user", "assistant", "system"}

// newShaper reads what the shaping needs from the tokenizer: the <img> id
// and which tokens are words (hold a letter or digit, or a byte of a
// non-ASCII character, and are not a role name of the template). Added
// tokens, white space and punctuation are not.
func newShaper(td tokenizerData) shaper {
	table, _ := byteRunes()
	toByte := map[rune]byte{}
	for b, r := range table {
		toByte[r] = byte(b)
	}
	s := shaper{imgID: td.addedAt + 6, words: make([]bool, vocabSize)}
	for id, tok := range td.vocab {
		for _, r := range tok {
			b := toByte[r]
			if b >= 0x80 || b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' {
				s.words[id] = true
			}
		}
		if slices.Contains(templateWords, tok) {
			s.words[id] = false
		}
	}
	s.tok = lookupTokens(td)
	emb := make([]float32, vocabSize*hidden)
	s.shapeEmbeddingTable(emb)
	s.detectors = makeDetectors(roundedEmbedding(emb), s.tok)
	norm := make([]float32, hidden)
	spec := checkpoint.TensorSpec{Name: "language_model.model.layers.0.input_layernorm.weight", Shape: []int64{hidden}}
	s.fill(spec, norm)
	for _, x := range norm {
		s.inNorm0 = append(s.inNorm0, float64(safetensors.RoundBF16(x)))
	}
	return s
}

// shapeEmbeddingTable fills the understanding embedding: the random init,
// dText on words, <img> alone in dImg, and the writer's clean rows for the
// other non-word tokens (writer.go).
func (s shaper) shapeEmbeddingTable(v []float32) {
	randomFill(checkpoint.TensorSpec{Name: checkpoint.NameEmbedTokens, Shape: []int64{vocabSize, hidden}}, v)
	m := matrix{v, hidden}
	for id := 0; id < vocabSize; id++ {
		m.set(id, dImg, 0)
		m.set(id, dText, 0)
		if s.words[id] {
			m.set(id, dText, textMark)
		}
	}
	m.zeroRow(s.imgID) // so the values read from it are exact
	m.set(s.imgID, dImg, imgMark)
	s.shapeEmbedding(m)
}

// rng returns the random stream of one tensor: seeded by Seed and the
// tensor's name (and a purpose), so values do not depend on the order
// tensors are made in.
func rng(name string) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(name))
	return rand.New(rand.NewPCG(Seed, h.Sum64()))
}

// randomFill is MODEL.md 9's random init: RMSNorm weights 1 + N(0, 0.1²),
// every other tensor N(0, 0.02²).
func randomFill(spec checkpoint.TensorSpec, v []float32) {
	r := rng(spec.Name)
	mean, std := 0.0, 0.02
	if isNorm(spec) {
		mean, std = 1, 0.1
	}
	for i := range v {
		v[i] = float32(mean + std*r.NormFloat64())
	}
}

func isNorm(spec checkpoint.TensorSpec) bool {
	return len(spec.Shape) == 1 && strings.Contains(spec.Name, "norm") && strings.HasSuffix(spec.Name, ".weight")
}

// matrix is a row-major view of a [rows, cols] weight.
type matrix struct {
	v    []float32
	cols int
}

func (m matrix) set(r, c int, x float64) { m.v[r*m.cols+c] = float32(x) }
func (m matrix) zeroRow(r int)           { clear(m.v[r*m.cols : (r+1)*m.cols]) }
func (m matrix) zeroCol(c int) {
	for r := 0; r < len(m.v)/m.cols; r++ {
		m.v[r*m.cols+c] = 0
	}
}

// fill is LayoutOptions.Fill: the random init, then the shaping.
func (s shaper) fill(spec checkpoint.TensorSpec, v []float32) {
	randomFill(spec, v)
	name := spec.Name
	cols := 1
	if len(spec.Shape) > 1 {
		cols = len(v) / int(spec.Shape[0])
	}
	m := matrix{v, cols}

	// Decoder layers: the layer number and the name inside the layer.
	var layer int
	var rest string
	if after, ok := strings.CutPrefix(name, "language_model.model.layers."); ok {
		num, r, _ := strings.Cut(after, ".")
		layer, _ = strconv.Atoi(num)
		rest = r
	}
	gen := strings.Contains(rest, "_mot_gen")

	switch {
	case name == checkpoint.NameEmbedTokens:
		s.shapeEmbeddingTable(v)
	case name == checkpoint.NameLMHead:
		s.shapeLMHead(m)
	case name == checkpoint.NameNorm:
		fillConst(v, 1)
	case strings.HasPrefix(name, "vision_model.embeddings.dense_embedding."):
		// Context pictures' tokens carry neither marker, nothing the
		// writer's keys read, no base (writer.go).
		m.zeroRow(dImg)
		m.zeroRow(dText)
		for d := uBias; d <= uGenPic; d++ {
			m.zeroRow(d)
		}

	case strings.HasPrefix(name, "fm_modules.vision_model_mot_gen."):
		shapeGenEmbedder(strings.TrimPrefix(name, "fm_modules.vision_model_mot_gen.embeddings."), m)
	case strings.HasPrefix(name, "fm_modules.timestep_embedder.mlp.2."),
		strings.HasPrefix(name, "fm_modules.noise_scale_embedder.mlp.2."):
		for i := range v {
			v[i] *= float32(timeGain)
		}
		for d := 0; d < nClean; d++ {
			m.zeroRow(d) // time and noise level stay out of the shaped dims
		}
	case strings.HasPrefix(name, "fm_modules.fm_head."):
		shapeHead(strings.TrimPrefix(name, "fm_modules.fm_head."), m)
	case name == checkpoint.NameNormGen:
		for d := 0; d < nClean; d++ {
			v[d] = 1
		}
	case rest != "" && gen:
		shapeGenLayer(layer, rest, m)
	case rest != "":
		shapeUndLayer(layer, rest, m)
		s.shapeWriterLayer(layer, rest, m)
	}
}

// shapeUndLayer makes the <img> token's dImg survive both understanding
// layers untouched, and gives it a key and a value of its own on KV head 1:
// a key along t-dimension tImg and value dimension vImg, which no other
// prefix token has. In layer 0 word tokens get a position-only key part
// from dText (t pairs 2 and 3), which the style heads use to find the last
// words; other tokens have no t-part key on KV head 1.
func shapeUndLayer(layer int, rest string, m matrix) {
	kv1 := headDim // first row of KV head 1
	switch rest {
	case "self_attn.o_proj.weight", "mlp.down_proj.weight":
		m.zeroRow(dImg)
	case "input_layernorm.weight":
		m.v[dImg] = 1
	case "self_attn.k_proj.weight":
		// KV head 1's t part reads only the markers: words (layer 0, pairs
		// 2 and 3, a position-only key) and <img> (dimension tImg).
		for d := 0; d < headDim/2; d++ {
			m.zeroRow(kv1 + d)
		}
		m.zeroCol(dImg)
		m.set(kv1+tImg, dImg, 1)
		if layer == 0 {
			m.set(kv1+2, dText, 1)
			m.set(kv1+3, dText, 1)
		}
	case "self_attn.k_norm.weight":
		m.v[tImg] = 5
	case "self_attn.v_proj.weight":
		m.zeroCol(dImg)
		m.zeroCol(dText) // values carry only what differs between tokens
		m.zeroRow(kv1 + vImg)
		m.set(kv1+vImg, dImg, 1)
	}
}

// shapeGenEmbedder: content features in the patch conv, merged into
// dContent; the constant from the merge bias; nothing else reaches the
// residual stream.
func shapeGenEmbedder(rest string, m matrix) {
	// (+r, −r, +g, −g, +b, −b) in feature dims whose RoPE frequency is
	// lowest (≤ 5.6e-4 rad per patch); their pair partners stay 0.
	feats := [6]int{30, 28, 26, 62, 60, 58}
	pp := patch * patch
	switch rest {
	case "patch_embedding.weight":
		for i, f := range feats {
			c, sign := i/2, 1.0-2.0*float64(i%2)
			m.zeroRow(f)
			m.zeroRow(f + 1)
			for k := 0; k < pp; k++ {
				m.set(f, c*pp+k, sign/float64(pp))
			}
		}
	case "patch_embedding.bias":
		for _, f := range feats {
			m.v[f], m.v[f+1] = 0, 0
		}
	case "dense_embedding.weight":
		clear(m.v)
		for i, f := range feats {
			c, sign := i/2, 1.0-2.0*float64(i%2)
			for k := 0; k < 4; k++ {
				m.set(dContent+c, f*4+k, sign/4) // gelu(x) − gelu(−x) = x
			}
		}
	case "dense_embedding.bias":
		clear(m.v)
		m.v[dConst] = float32(constIn)
	}
}

// cornerOffsets are the (row, column) offsets, in tokens, of the corner each
// layer-1 head samples.
var cornerOffsets = [4][2]float64{{-0.5, -0.5}, {-0.5, 0.5}, {0.5, -0.5}, {0.5, 0.5}}

// hwFreq is the RoPE frequency of pair i of an h or w part (MODEL.md 3.2a).
func hwFreq(i int) float64 { return math.Pow(10000, -2*float64(i)/float64(headDim/4)) }

// tFreq is the RoPE frequency of pair i of the t part (MODEL.md 3.2a).
func tFreq(i int) float64 { return math.Pow(5e6, -2*float64(i)/float64(headDim/2)) }

// shapeGenLayer shapes the generation expert of one layer.
func shapeGenLayer(layer int, rest string, m matrix) {
	half, quarter := headDim/2, headDim/4
	q := func(h, d int) int { return h*headDim + d } // row of q head h, dim d
	clearHead := func(h int) {
		for d := 0; d < headDim; d++ {
			m.zeroRow(q(h, d))
		}
	}
	switch rest {
	case "input_layernorm_mot_gen.weight":
		fillConst(m.v[:nClean], 1)
		return
	case "mlp_mot_gen.down_proj.weight":
		for d := 0; d < nClean; d++ {
			m.zeroRow(d)
		}
		return
	}
	if layer == 0 {
		switch rest {
		case "self_attn.q_proj_mot_gen.weight":
			clearHead(l0MeanHead)
			clearHead(l0LowerHead)
			m.set(q(l0MeanHead, tMean), dConst, 1)
			m.set(q(l0LowerHead, tImg), dConst, 1)
			for _, sh := range styleHeads {
				clearHead(sh.head)
				for _, i := range []int{2, 3} {
					a := tFreq(i) * sh.centre
					m.set(q(sh.head, i), dConst, math.Cos(a))
					m.set(q(sh.head, i+half/2), dConst, math.Sin(a))
				}
				// A fixed score for the picture's own keys (whose values
				// are 0): what the heads read when no word is near.
				m.set(q(sh.head, tStyle), dConst, 0.5)
			}
		case "self_attn.q_norm_mot_gen.weight":
			fillConst(m.v, 3)
			for _, d := range []int{2, 3, 10, 11} {
				m.v[d] = float32(recency)
			}
		case "self_attn.k_proj_mot_gen.weight":
			clear(m.v)
			m.set(tMean, dConst, 1)
			m.set(headDim+tStyle, dConst, 1)
		case "self_attn.k_norm_mot_gen.weight":
			fillConst(m.v, 4)
		case "self_attn.v_proj_mot_gen.weight":
			clear(m.v)
			for c := 0; c < 3; c++ {
				m.set(c, dContent+c, 1)
			}
		case "self_attn.o_proj_mot_gen.weight":
			clear(m.v)
			// The mean head reads content·8/rms, rms ≈ constIn/8.
			for c := 0; c < 3; c++ {
				m.set(dContent+c, q(l0MeanHead, c), -constIn/8)
			}
			m.set(dConst, q(l0LowerHead, vImg), -constLower)
			r := rng("demo style output")
			for _, sh := range styleHeads {
				for d := 0; d < vImg; d++ {
					for j := 0; j < nStyle; j++ {
						m.set(dStyle+j, q(sh.head, d), styleGain*r.NormFloat64()/math.Sqrt(vImg))
					}
					for c := 0; c < 3; c++ {
						m.set(dContent+c, q(sh.head, d), steerGain*r.NormFloat64()/math.Sqrt(vImg))
					}
				}
			}
		}
		return
	}
	switch rest {
	case "self_attn.q_proj_mot_gen.weight":
		for h, off := range cornerOffsets {
			clearHead(h)
			for axis, o := range off {
				base := half + axis*quarter
				for i, a := range []float64{blurA1, blurA2} {
					f := hwFreq(i + 1)
					m.set(q(h, base+i+1), dConst, a*math.Cos(f*o))
					m.set(q(h, base+i+1+quarter/2), dConst, a*math.Sin(f*o))
				}
			}
		}
		clearHead(l1RaiseHead)
		m.set(q(l1RaiseHead, tImg), dConst, 1)
	case "self_attn.q_norm_mot_gen.weight":
		fillConst(m.v, 4)
	case "self_attn.q_norm_hw_mot_gen.weight", "self_attn.k_norm_hw_mot_gen.weight":
		fillConst(m.v, blurScale)
	case "self_attn.k_proj_mot_gen.weight":
		// Both KV heads: the corner key; no t part.
		clear(m.v)
		for kv := 0; kv < kvHeads; kv++ {
			for axis := 0; axis < 2; axis++ {
				base := kv*headDim + half + axis*quarter
				m.set(base+1, dConst, blurA1)
				m.set(base+2, dConst, blurA2)
			}
		}
	case "self_attn.v_proj_mot_gen.weight":
		clear(m.v)
		for kv := 0; kv < kvHeads; kv++ {
			for c := 0; c < 3; c++ {
				m.set(kv*headDim+c, dContent+c, 1)
			}
		}
	case "self_attn.o_proj_mot_gen.weight":
		clear(m.v)
		for h := range cornerOffsets {
			for c := 0; c < 3; c++ {
				m.set(dCorner+3*h+c, q(h, c), 1)
			}
		}
		m.set(dConst, q(l1RaiseHead, vImg), constOut/8)
	}
}

func fillConst(v []float32, x float64) {
	for i := range v {
		v[i] = float32(x)
	}
}

// palette mixes the three colour-field values into RGB.
var palette = [3][3]float64{
	{1.0, 0.3, -0.2},
	{-0.2, 0.9, 0.3},
	{0.3, -0.3, 1.0},
}

// Head units: per corner k and field value c, and per style dimension, two
// units giving the smooth clamp sat(x) = gelu(x+1) − gelu(x−1) − 1
// (−1 … 1). The other units keep random inputs but draw nothing.
const (
	cornerUnits = 0
	styleUnits  = cornerUnits + 4*3*2
	usedUnits   = styleUnits + 2*nStyle
)

// shapeHead makes the fm_head paint each token's block: the output column
// of a corner unit is that corner's bilinear weight image times a colour,
// so a block is the bilinear blend of its four corner colours; the style
// units add a flat tint.
func shapeHead(rest string, m matrix) {
	inScale := constOut / 8 // the final norm divides by ≈ constOut/8
	switch rest {
	case "0.weight":
		for u := 0; u < usedUnits; u++ {
			m.zeroRow(u)
		}
		for k := 0; k < 4; k++ {
			for c := 0; c < 3; c++ {
				u := cornerUnits + 2*(3*k+c)
				m.set(u, dCorner+3*k+c, inScale*paletteGain)
				m.set(u+1, dCorner+3*k+c, inScale*paletteGain)
			}
		}
		for j := 0; j < nStyle; j++ {
			u := styleUnits + 2*j
			m.set(u, dStyle+j, inScale*tintGain)
			m.set(u+1, dStyle+j, inScale*tintGain)
		}
	case "0.bias":
		clear(m.v[:usedUnits])
		for u := cornerUnits; u < usedUnits; u += 2 {
			m.v[u], m.v[u+1] = 1, -1 // the clamp's pair
		}
	case "2.weight":
		clear(m.v)
		tint := tintColours()
		for py := 0; py < tokenPixels; py++ {
			for px := 0; px < tokenPixels; px++ {
				u, v := (float64(px)+0.5)/tokenPixels, (float64(py)+0.5)/tokenPixels
				w := [4]float64{(1 - u) * (1 - v), u * (1 - v), (1 - u) * v, u * v}
				for ch := 0; ch < 3; ch++ {
					row := (py*tokenPixels+px)*3 + ch
					for k := 0; k < 4; k++ {
						for c := 0; c < 3; c++ {
							x := paletteAmp * w[k] * palette[ch][c]
							m.set(row, cornerUnits+2*(3*k+c), x)
							m.set(row, cornerUnits+2*(3*k+c)+1, -x)
						}
					}
					for j := 0; j < nStyle; j++ {
						m.set(row, styleUnits+2*j, tint[j][ch])
						m.set(row, styleUnits+2*j+1, -tint[j][ch])
					}
				}
			}
		}
	case "2.bias":
		// The clamps' −1: summed over the corners (their weights add to
		// 1) and over the style dimensions.
		tint := tintColours()
		for i := range m.v {
			ch := i % 3
			b := -paletteAmp * (palette[ch][0] + palette[ch][1] + palette[ch][2])
			for j := range tint {
				b -= tint[j][ch]
			}
			m.v[i] = float32(b)
		}
	}
}

// tintColours are the colours the style dimensions add, each through the
// smooth clamp.
func tintColours() [nStyle][3]float64 {
	r := rng("demo tint colours")
	var tint [nStyle][3]float64
	for j := range tint {
		for ch := range 3 {
			tint[j][ch] = tintAmp * r.NormFloat64() / math.Sqrt(nStyle)
		}
	}
	return tint
}
