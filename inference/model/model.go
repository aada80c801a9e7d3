package model

import (
	"fmt"
	"math"

	"github.com/sensenova/studio/inference/checkpoint"
	"github.com/sensenova/studio/inference/tensor"
)

// Expert is one expert's weights in one decoder layer (MODEL.md 2.2/2.3).
type Expert struct {
	InputNorm tensor.Tensor `weight:"input_layernorm{gen}.weight"`
	PostNorm  tensor.Tensor `weight:"post_attention_layernorm{gen}.weight"`
	Q         tensor.Tensor `weight:"self_attn.q_proj{gen}.weight"`
	K         tensor.Tensor `weight:"self_attn.k_proj{gen}.weight"`
	V         tensor.Tensor `weight:"self_attn.v_proj{gen}.weight"`
	O         tensor.Tensor `weight:"self_attn.o_proj{gen}.weight"`
	QBias     tensor.Tensor `weight:"self_attn.q_proj{gen}.bias,optional"`
	KBias     tensor.Tensor `weight:"self_attn.k_proj{gen}.bias,optional"`
	VBias     tensor.Tensor `weight:"self_attn.v_proj{gen}.bias,optional"`
	OBias     tensor.Tensor `weight:"self_attn.o_proj{gen}.bias,optional"`
	QNorm     tensor.Tensor `weight:"self_attn.q_norm{gen}.weight"`
	QNormHW   tensor.Tensor `weight:"self_attn.q_norm_hw{gen}.weight"`
	KNorm     tensor.Tensor `weight:"self_attn.k_norm{gen}.weight"`
	KNormHW   tensor.Tensor `weight:"self_attn.k_norm_hw{gen}.weight"`
	Gate      tensor.Tensor `weight:"mlp{gen}.gate_proj.weight"`
	Up        tensor.Tensor `weight:"mlp{gen}.up_proj.weight"`
	Down      tensor.Tensor `weight:"mlp{gen}.down_proj.weight"`
}

// Layer is one decoder layer: both experts.
type Layer struct {
	Und, Gen Expert
}

// Dims are the sizes the forward passes use, from the config.
type Dims struct {
	Hidden, Layers       int
	Heads, KVHeads, Head int
	Vocab                int
	VisionWidth          int // E
	Patch                int // P = 16
	TokenPixels          int // T = 32
	Eps                  float32
	RoPE                 tensor.RoPEParams
	VisionTheta          float64
	FMOutput             int // F = 3·T·T
}

// Model is a loaded SenseNova-U1 network.
type Model struct {
	Config *checkpoint.Config
	Dims   Dims
	b      tensor.Backend

	embed, lmHead tensor.Tensor
	norm, normGen tensor.Tensor
	layers        []Layer
	vision        PatchEmbedder // understanding inputs (ImageNet-normalised pixels)
	visionGen     PatchEmbedder // the noisy canvas
	timeEmbed     TimestepEmbedder
	noiseEmbed    *TimestepEmbedder // nil without add_noise_scale_embedding
	mlpHead       *MLPHead
	pixelHead     *PixelHead
	placement     Placement
}

// sharedWeights are the tensors outside the layers and the fm modules.
type sharedWeights struct {
	Embed   tensor.Tensor `weight:"language_model.model.embed_tokens.weight"`
	LMHead  tensor.Tensor `weight:"language_model.lm_head.weight,optional"`
	Norm    tensor.Tensor `weight:"language_model.model.norm.weight"`
	NormGen tensor.Tensor `weight:"language_model.model.norm_mot_gen.weight"`
}

// Load builds the network of an opened checkpoint on backend b. The
// checkpoint has been validated (checkpoint.Open); Load checks what the
// forward math itself requires and loads every weight. The checkpoint must
// stay open while the model is used (the CPU backend aliases its mapping).
func Load(ck *checkpoint.Checkpoint, b tensor.Backend) (*Model, error) {
	return Build(ck.Config(), CheckpointSource{ck}, b, nil)
}

// Build builds the network of cfg on backend b with the weights of src,
// calling progress (when non-nil) after each tensor with its name.
func Build(cfg *checkpoint.Config, src Source, b tensor.Backend, progress func(name string)) (*Model, error) {
	return BuildWith(cfg, src, b, BuildOptions{Progress: progress})
}

// BuildOptions configure BuildWith.
type BuildOptions struct {
	// Progress, when set, is called after each tensor with its name.
	Progress func(name string)
	// DeviceBytes, when positive and b is a tensor.Streamer and src a
	// Sizer, bounds the bytes of weights kept in device memory; the others
	// stay in host memory and are copied to the device for each op that
	// reads them (--vram_mode low/balanced with --max_memory). Weights
	// claim the budget in the order a denoising step needs them most: the
	// generation path (fm_modules, then every layer's generation expert and
	// the norms), then the understanding picture embedder, the token
	// embedding and lm_head, and the understanding experts last (read once
	// per prompt or token).
	DeviceBytes int64
}

// Placement says where BuildWith put the weights.
type Placement struct {
	DeviceTensors, HostTensors int
	DeviceBytes, HostBytes     int64
}

// BuildWith is Build with options.
func BuildWith(cfg *checkpoint.Config, src Source, b tensor.Backend, opts BuildOptions) (*Model, error) {
	d, err := dimsOf(cfg)
	if err != nil {
		return nil, err
	}
	m := &Model{Config: cfg, Dims: d, b: b}
	l := &weightLoader{src: src, b: b, progress: opts.Progress}
	if s, ok := b.(tensor.Streamer); ok && opts.DeviceBytes > 0 {
		if _, sized := src.(Sizer); !sized {
			return nil, fmt.Errorf("model %s: a device budget needs weight sizes, which this source does not give", cfg.Source)
		}
		l.streamer, l.budget = s, opts.DeviceBytes
	}

	if err := l.fill(&m.visionGen, "fm_modules.vision_model_mot_gen.embeddings.", ""); err != nil {
		return nil, err
	}
	if err := l.fill(&m.timeEmbed, "fm_modules.timestep_embedder.", ""); err != nil {
		return nil, err
	}
	if cfg.AddNoiseScaleEmbedding {
		m.noiseEmbed = new(TimestepEmbedder)
		if err := l.fill(m.noiseEmbed, "fm_modules.noise_scale_embedder.", ""); err != nil {
			return nil, err
		}
	}
	if cfg.UsePixelHead {
		m.pixelHead = new(PixelHead)
		err = l.fill(m.pixelHead, "fm_modules.fm_head.", "")
	} else {
		m.mlpHead = new(MLPHead)
		err = l.fill(m.mlpHead, "fm_modules.fm_head.", "")
	}
	if err != nil {
		return nil, err
	}
	m.layers = make([]Layer, d.Layers)
	for i := range m.layers {
		if err := l.fill(&m.layers[i].Gen, fmt.Sprintf("language_model.model.layers.%d.", i), genSuffix); err != nil {
			return nil, err
		}
	}
	var sw sharedWeights
	if err := l.fill(&sw, "", ""); err != nil {
		return nil, err
	}
	m.embed, m.norm, m.normGen = sw.Embed, sw.Norm, sw.NormGen
	m.lmHead = sw.LMHead
	if m.lmHead == nil {
		if !cfg.TieWordEmbeddings {
			return nil, fmt.Errorf("model %s: no language_model.lm_head.weight and tie_word_embeddings is false", cfg.Source)
		}
		m.lmHead = m.embed
	}
	if err := l.fill(&m.vision, "vision_model.embeddings.", ""); err != nil {
		return nil, err
	}
	for i := range m.layers {
		if err := l.fill(&m.layers[i].Und, fmt.Sprintf("language_model.model.layers.%d.", i), ""); err != nil {
			return nil, err
		}
	}
	m.placement = Placement{DeviceTensors: l.devN, HostTensors: l.hostN, DeviceBytes: l.onDev, HostBytes: l.hostBytesTotal}
	return m, nil
}

// Placement says where the weights are (all on the backend's device unless
// BuildOptions.DeviceBytes streamed some).
func (m *Model) Placement() Placement { return m.placement }

// dimsOf derives the forward sizes and rejects what the math cannot run.
// checkpoint.ParseConfig has already rejected inconsistent configs; these
// are the model's own preconditions, restated so a hand-built Config cannot
// slip past.
func dimsOf(cfg *checkpoint.Config) (Dims, error) {
	llm, vis := cfg.LLM, cfg.Vision
	d := Dims{
		Hidden: llm.HiddenSize, Layers: llm.NumHiddenLayers,
		Heads: llm.NumAttentionHeads, KVHeads: llm.NumKeyValueHeads, Head: llm.HeadDim,
		Vocab:       llm.VocabSize,
		VisionWidth: vis.HiddenSize, Patch: vis.PatchSize, TokenPixels: cfg.TokenPixels(),
		Eps:         float32(llm.RMSNormEps),
		RoPE:        tensor.RoPEParams{HeadDim: llm.HeadDim, ThetaT: llm.RopeTheta, ThetaHW: llm.RopeThetaHW},
		VisionTheta: vis.RopeThetaVision,
		FMOutput:    cfg.FMOutputWidth(),
	}
	var problems []string
	if d.Head <= 0 || d.Head%8 != 0 {
		problems = append(problems, fmt.Sprintf("head_dim %d must be a positive multiple of 8 (t, h, w RoPE parts)", d.Head))
	}
	if d.KVHeads <= 0 || d.Heads%d.KVHeads != 0 {
		problems = append(problems, fmt.Sprintf("num_attention_heads %d must be a multiple of num_key_value_heads %d", d.Heads, d.KVHeads))
	}
	if cfg.Merge() != 2 {
		problems = append(problems, fmt.Sprintf("downsample_ratio %v: only 0.5 (2×2 merge) is supported", cfg.DownsampleRatio))
	}
	if vis.LLMHiddenSize != d.Hidden {
		problems = append(problems, fmt.Sprintf("vision llm_hidden_size %d must equal hidden_size %d", vis.LLMHiddenSize, d.Hidden))
	}
	if d.VisionWidth%4 != 0 {
		problems = append(problems, fmt.Sprintf("vision hidden_size %d must be a multiple of 4", d.VisionWidth))
	}
	if cfg.UsePixelHead && (d.TokenPixels != 32 || d.Hidden%4 != 0) {
		problems = append(problems, fmt.Sprintf("the pixel head needs 32-px tokens and hidden_size divisible by 4 (have %d px, hidden %d)", d.TokenPixels, d.Hidden))
	}
	if !(d.Eps > 0) || math.IsInf(float64(d.Eps), 0) {
		problems = append(problems, fmt.Sprintf("rms_norm_eps %v must be positive", llm.RMSNormEps))
	}
	if len(problems) > 0 {
		return d, fmt.Errorf("model %s: cannot run this configuration: %v", cfg.Source, problems)
	}
	return d, nil
}

// Backend returns the backend the model runs on.
func (m *Model) Backend() tensor.Backend { return m.b }
