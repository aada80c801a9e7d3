package checkpoint

import (
	"fmt"
	"strings"
)

// Group is a parameter group of MODEL.md 1.6 (upstream
// docs/parameter_breakdown.md).
type Group string

const (
	// Understanding: vision_model.* and the understanding expert's
	// language_model.* tensors (no _mot_gen), with the final norm.
	Understanding Group = "understanding"
	// Generation: fm_modules.* and every _mot_gen tensor, with norm_mot_gen.
	Generation Group = "generation"
	// Shared: the token embedding and lm_head.
	Shared Group = "shared"
	// Other: a tensor no rule places (only unexpected tensors).
	Other Group = "other"
)

// Tensor names outside the per-layer blocks.
const (
	NameEmbedTokens = "language_model.model.embed_tokens.weight"
	NameLMHead      = "language_model.lm_head.weight"
	NameNorm        = "language_model.model.norm.weight"
	NameNormGen     = "language_model.model.norm_mot_gen.weight"
	NameFMHead0W    = "fm_modules.fm_head.0.weight"
)

// GroupOf places any tensor name in its parameter group by the rules of
// MODEL.md 1.6.
func GroupOf(name string) Group {
	switch {
	case name == NameEmbedTokens || name == NameLMHead ||
		strings.HasPrefix(name, "language_model.model.embed_tokens.") ||
		strings.HasPrefix(name, "language_model.lm_head."):
		return Shared
	case strings.HasPrefix(name, "fm_modules."):
		return Generation
	case strings.HasPrefix(name, "vision_model."):
		return Understanding
	case strings.HasPrefix(name, "language_model."):
		if strings.Contains(name, "_mot_gen") {
			return Generation
		}
		return Understanding
	}
	return Other
}

// DimFMHeadWidth marks, in a TensorSpec shape, the inner width of the MLP
// fm_head. It is hard-coded to 4096 upstream but must be read from the
// weights (the golden fixtures use 256); it must agree between
// fm_head.0.weight [W, Hd], fm_head.0.bias [W] and fm_head.2.weight [F, W].
const DimFMHeadWidth int64 = -1

// TimestepFreqDim is the width of the sinusoidal timestep (and noise-scale)
// features, hard-coded upstream.
const TimestepFreqDim = 256

// Hard-coded channel counts of the conv pixel head (ConvDecoder).
const (
	PixelHeadConv1Out = 1024
	PixelHeadConv2In  = 256
	PixelHeadConv2Out = 192
)

// TensorSpec is one tensor a config implies.
type TensorSpec struct {
	Name string
	// Shape is the expected shape; negative entries are symbolic dimensions
	// read from the weights (DimFMHeadWidth).
	Shape []int64
	Group Group
	// Optional is set for lm_head when word embeddings are tied: transformers
	// does not save the tied copy, but one that is present must fit.
	Optional bool
}

// Symbolic reports whether the shape has a dimension read from the weights.
func (s TensorSpec) Symbolic() bool {
	for _, d := range s.Shape {
		if d < 0 {
			return true
		}
	}
	return false
}

// ExpectedTensors lists every tensor cfg implies, in module order
// (MODEL.md 2): 26·L + 24 tensors for the MLP-head layout with the
// noise-scale embedder, 4 fewer without it, 8 more per layer with
// attention biases. Shapes use DimFMHeadWidth where the width is not in the
// config.
func ExpectedTensors(cfg *Config) []TensorSpec {
	l, v := &cfg.LLM, &cfg.Vision
	hd, vocab := int64(l.HiddenSize), int64(l.VocabSize)
	qd, kvd := int64(cfg.QDim()), int64(cfg.KVDim())
	half, inter := int64(l.HeadDim/2), int64(l.IntermediateSize)
	e, p, m := int64(v.HiddenSize), int64(v.PatchSize), int64(cfg.Merge())
	ch := int64(v.NumChannels)

	var specs []TensorSpec
	add := func(name string, shape ...int64) {
		specs = append(specs, TensorSpec{Name: name, Shape: shape, Group: GroupOf(name)})
	}

	add(NameEmbedTokens, vocab, hd)
	for i := 0; i < l.NumHiddenLayers; i++ {
		pre := fmt.Sprintf("language_model.model.layers.%d.", i)
		for _, sfx := range []string{"", "_mot_gen"} {
			add(pre+"input_layernorm"+sfx+".weight", hd)
			add(pre+"post_attention_layernorm"+sfx+".weight", hd)
			add(pre+"self_attn.q_proj"+sfx+".weight", qd, hd)
			add(pre+"self_attn.k_proj"+sfx+".weight", kvd, hd)
			add(pre+"self_attn.v_proj"+sfx+".weight", kvd, hd)
			add(pre+"self_attn.o_proj"+sfx+".weight", hd, qd)
			if l.AttentionBias {
				add(pre+"self_attn.q_proj"+sfx+".bias", qd)
				add(pre+"self_attn.k_proj"+sfx+".bias", kvd)
				add(pre+"self_attn.v_proj"+sfx+".bias", kvd)
				add(pre+"self_attn.o_proj"+sfx+".bias", hd)
			}
			add(pre+"self_attn.q_norm"+sfx+".weight", half)
			add(pre+"self_attn.q_norm_hw"+sfx+".weight", half)
			add(pre+"self_attn.k_norm"+sfx+".weight", half)
			add(pre+"self_attn.k_norm_hw"+sfx+".weight", half)
			add(pre+"mlp"+sfx+".gate_proj.weight", inter, hd)
			add(pre+"mlp"+sfx+".up_proj.weight", inter, hd)
			add(pre+"mlp"+sfx+".down_proj.weight", hd, inter)
		}
	}
	add(NameNorm, hd)
	add(NameNormGen, hd)
	add(NameLMHead, vocab, hd)
	if l.TieWordEmbeddings {
		specs[len(specs)-1].Optional = true
	}

	for _, pre := range []string{"vision_model.", "fm_modules.vision_model_mot_gen."} {
		add(pre+"embeddings.patch_embedding.weight", e, ch, p, p)
		add(pre+"embeddings.patch_embedding.bias", e)
		add(pre+"embeddings.dense_embedding.weight", hd, e, m, m)
		add(pre+"embeddings.dense_embedding.bias", hd)
	}
	embedders := []string{"fm_modules.timestep_embedder."}
	if cfg.AddNoiseScaleEmbedding {
		embedders = append(embedders, "fm_modules.noise_scale_embedder.")
	}
	for _, pre := range embedders {
		add(pre+"mlp.0.weight", hd, TimestepFreqDim)
		add(pre+"mlp.0.bias", hd)
		add(pre+"mlp.2.weight", hd, hd)
		add(pre+"mlp.2.bias", hd)
	}
	if cfg.UsePixelHead {
		add("fm_modules.fm_head.conv1.weight", PixelHeadConv1Out, hd/4, 3, 3)
		add("fm_modules.fm_head.conv1.bias", PixelHeadConv1Out)
		add("fm_modules.fm_head.conv2.weight", PixelHeadConv2Out, PixelHeadConv2In, 3, 3)
		add("fm_modules.fm_head.conv2.bias", PixelHeadConv2Out)
	} else {
		f := int64(cfg.FMOutputWidth())
		add(NameFMHead0W, DimFMHeadWidth, hd)
		add("fm_modules.fm_head.0.bias", DimFMHeadWidth)
		add("fm_modules.fm_head.2.weight", f, DimFMHeadWidth)
		add("fm_modules.fm_head.2.bias", f)
	}
	return specs
}

// formatShape prints a shape like %v does, with W for DimFMHeadWidth.
func formatShape(shape []int64) string {
	parts := make([]string, len(shape))
	for i, d := range shape {
		if d == DimFMHeadWidth {
			parts[i] = "W"
		} else {
			parts[i] = fmt.Sprint(d)
		}
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// resolveShape replaces DimFMHeadWidth by w.
func resolveShape(shape []int64, w int64) []int64 {
	out := append([]int64(nil), shape...)
	for i, d := range out {
		if d == DimFMHeadWidth {
			out[i] = w
		}
	}
	return out
}

func numElements(shape []int64) int64 {
	n := int64(1)
	for _, d := range shape {
		n *= d
	}
	return n
}
