package checkpoint

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
)

// ModelType is the config.json model_type of every SenseNova-U1 checkpoint.
const ModelType = "neo_chat"

// ConfigFile is the name of the config inside a model folder.
const ConfigFile = "config.json"

// ErrNotSenseNova is wrapped by the error for a config.json whose model_type
// is not "neo_chat" (a plain Qwen3 or Llama folder, for example).
var ErrNotSenseNova = errors.New("not a SenseNova-U1 checkpoint")

// Config is config.json of a SenseNova-U1 checkpoint (MODEL.md 1.4): the
// top-level NEOChatConfig fields with llm_config and vision_config.
//
// Fields marked "required" have no default in the reference, which reads
// them unconditionally; ParseConfig fails, listing every one that is absent
// (or null). Other absent fields take the reference's class default. Pointer
// fields have neither and stay nil when absent. Keys this struct does not
// know are kept in Extra.
type Config struct {
	ModelType     string   `json:"model_type"`
	Architectures []string `json:"architectures,omitempty"`
	// Template names the conversation template ("neo1_0"). Required.
	Template string `json:"template" cfg:"req"`
	// DownsampleRatio sets the token geometry: merge = int(1/ratio). Must be 0.5.
	DownsampleRatio float64 `json:"downsample_ratio" cfg:"list1,default=0.5"`
	// TieWordEmbeddings is copied from llm_config, as NEOChatConfig does; a
	// top-level key of that name is ignored.
	TieWordEmbeddings bool `json:"tie_word_embeddings" cfg:"derived"`
	UseBackboneLora   int  `json:"use_backbone_lora" cfg:"default=0"`
	UseLLMLora        int  `json:"use_llm_lora" cfg:"default=0"`

	// FMHeadLayers > 2 selects the deep AdaLN head, which upstream cannot
	// build (MODEL.md 7.3); <= 2 selects the two-layer MLP head. Required.
	FMHeadLayers int `json:"fm_head_layers" cfg:"req"`
	// UsePixelHead replaces the MLP fm_head by the conv pixel head (U1.5). Required.
	UsePixelHead bool `json:"use_pixel_head" cfg:"req"`
	// FMHeadDim and FMHeadMLPRatio only configure the deep head (unused).
	FMHeadDim      *int     `json:"fm_head_dim,omitempty"`
	FMHeadMLPRatio *float64 `json:"fm_head_mlp_ratio,omitempty"`
	// ConcatTimeTokenNum must be 0 (t2i_generate asserts it). Required.
	ConcatTimeTokenNum int `json:"concat_time_token_num" cfg:"req"`

	// Noise-scale fields (MODEL.md 3.13). All required.
	NoiseScale                float64 `json:"noise_scale" cfg:"req"`
	NoiseScaleMode            string  `json:"noise_scale_mode" cfg:"req"`
	NoiseScaleBaseImageSeqLen int     `json:"noise_scale_base_image_seq_len" cfg:"req"`
	NoiseScaleMaxValue        float64 `json:"noise_scale_max_value" cfg:"req"`
	AddNoiseScaleEmbedding    bool    `json:"add_noise_scale_embedding" cfg:"req"`

	// Dynamic time-shift fields: required by the reference's constructor,
	// dead at inference (the schedule is forced to "standard").
	TimeSchedule    string  `json:"time_schedule" cfg:"req"`
	TimeShiftType   string  `json:"time_shift_type" cfg:"req"`
	BaseShift       float64 `json:"base_shift" cfg:"req"`
	MaxShift        float64 `json:"max_shift" cfg:"req"`
	BaseImageSeqLen int     `json:"base_image_seq_len" cfg:"req"`
	MaxImageSeqLen  int     `json:"max_image_seq_len" cfg:"req"`

	// Present in released configs but overridden or unused at inference.
	TEps                  *float64 `json:"t_eps,omitempty"`
	TimestepShift         *float64 `json:"timestep_shift,omitempty"`
	PMean                 *float64 `json:"P_mean,omitempty"`
	PStd                  *float64 `json:"P_std,omitempty"`
	UseAdaLN              *bool    `json:"use_adaLN,omitempty"`
	ExtraNumLayersPost    *int     `json:"extra_num_layers_post,omitempty"`
	MinPixels             *int     `json:"min_pixels,omitempty"`
	MaxPixels             *int     `json:"max_pixels,omitempty"`
	PatchSize             *int     `json:"patch_size,omitempty"`
	TorchDType            string   `json:"torch_dtype,omitempty"`
	SensenovaU1MinVersion string   `json:"sensenova_u1_min_version,omitempty"`

	LLM    LLMConfig    `json:"llm_config" cfg:"nested"`
	Vision VisionConfig `json:"vision_config" cfg:"nested"`

	// Extra holds top-level keys not described by MODEL.md 1.
	Extra map[string]json.RawMessage `json:"-"`
	// Source is where the config was read from (for messages).
	Source string `json:"-"`
}

// LLMConfig is llm_config (NEOLLMConfig: HF Qwen3Config plus the h/w RoPE
// fields), MODEL.md 1.2. Defaults are the HF Qwen3Config class defaults.
type LLMConfig struct {
	ModelType     string   `json:"model_type" cfg:"default=qwen3"`
	Architectures []string `json:"architectures,omitempty"`

	HiddenSize        int `json:"hidden_size" cfg:"default=4096"`
	NumHiddenLayers   int `json:"num_hidden_layers" cfg:"default=32"`
	NumAttentionHeads int `json:"num_attention_heads" cfg:"default=32"`
	// NumKeyValueHeads: absent → 32; null → NumAttentionHeads (as HF).
	NumKeyValueHeads int `json:"num_key_value_heads" cfg:"default=32"`
	// HeadDim: absent → 128; null → HiddenSize / NumAttentionHeads (as HF).
	HeadDim          int     `json:"head_dim" cfg:"default=128"`
	IntermediateSize int     `json:"intermediate_size" cfg:"default=22016"`
	VocabSize        int     `json:"vocab_size" cfg:"default=151936"`
	HiddenAct        string  `json:"hidden_act" cfg:"default=silu"`
	RMSNormEps       float64 `json:"rms_norm_eps" cfg:"default=1e-6"`

	// RopeTheta is the base of the t-axis RoPE. transformers 5 may store it
	// only in rope_parameters; ParseConfig restores it from there.
	RopeTheta   float64 `json:"rope_theta" cfg:"default=10000.0"`
	RopeThetaHW float64 `json:"rope_theta_hw" cfg:"default=10000.0"`
	// RopeScaling must be null (or a "default" rope type).
	RopeScaling json.RawMessage `json:"rope_scaling,omitempty"`
	// RopeParameters is the transformers-5 form of rope_theta/rope_scaling.
	RopeParameters json.RawMessage `json:"rope_parameters,omitempty"`

	AttentionBias     bool `json:"attention_bias" cfg:"default=false"`
	TieWordEmbeddings bool `json:"tie_word_embeddings" cfg:"default=false"`

	// Sliding-window attention: off for SenseNova-U1 (and ignored by the
	// reference's eager attention).
	UseSlidingWindow bool     `json:"use_sliding_window" cfg:"default=false"`
	SlidingWindow    *int     `json:"sliding_window,omitempty"`
	MaxWindowLayers  int      `json:"max_window_layers" cfg:"default=28"`
	LayerTypes       []string `json:"layer_types,omitempty"`

	// Table sizes; not used by the math (RoPE is computed on the fly).
	MaxPositionEmbeddings   int `json:"max_position_embeddings" cfg:"default=32768"`
	MaxPositionEmbeddingsHW int `json:"max_position_embeddings_hw" cfg:"default=10000"`

	PadTokenID *int `json:"pad_token_id,omitempty"`
	BOSTokenID *int `json:"bos_token_id,omitempty"`
	// EOSTokenID accepts a single id or a list.
	EOSTokenID []int  `json:"eos_token_id,omitempty"`
	TorchDType string `json:"torch_dtype,omitempty"`

	Extra map[string]json.RawMessage `json:"-"`
}

// VisionConfig is vision_config (NEOVisionConfig), MODEL.md 1.3; it
// configures both patch embedders.
type VisionConfig struct {
	ModelType     string   `json:"model_type" cfg:"default=neo_vision"`
	Architectures []string `json:"architectures,omitempty"`

	NumChannels int `json:"num_channels" cfg:"default=3"`
	PatchSize   int `json:"patch_size" cfg:"default=16"`
	HiddenSize  int `json:"hidden_size" cfg:"default=1024"`
	// LLMHiddenSize and DownsampleRatio may be given as 1-element lists
	// (the reference stores them as tuples).
	LLMHiddenSize               int     `json:"llm_hidden_size" cfg:"list1,default=2048"`
	DownsampleRatio             float64 `json:"downsample_ratio" cfg:"list1,default=0.5"`
	RopeThetaVision             float64 `json:"rope_theta_vision" cfg:"default=10000.0"`
	MaxPositionEmbeddingsVision int     `json:"max_position_embeddings_vision" cfg:"default=10000"`
	// MinPixels and MaxPixels are stored but not used by the modelling code.
	MinPixels int `json:"min_pixels" cfg:"default=65536"`
	MaxPixels int `json:"max_pixels" cfg:"default=4194304"`

	Extra map[string]json.RawMessage `json:"-"`
}

// ConfigError lists every problem found in a config.json.
type ConfigError struct {
	Source string
	// Missing are the required fields that are absent or null, with their
	// path ("template", "llm_config.hidden_size" ...).
	Missing []string
	// Problems are the other findings, one sentence each.
	Problems []string
}

func (e *ConfigError) Error() string {
	var lines []string
	if len(e.Missing) > 0 {
		lines = append(lines, fmt.Sprintf("missing required field(s), which the reference reads without a default: %s", strings.Join(e.Missing, ", ")))
	}
	lines = append(lines, e.Problems...)
	if len(lines) == 1 {
		return fmt.Sprintf("config %s: %s", e.Source, lines[0])
	}
	return fmt.Sprintf("config %s: %d problems:\n\t%s", e.Source, len(lines), strings.Join(lines, "\n\t"))
}

// LoadConfig reads and checks dir/config.json.
func LoadConfig(dir string) (*Config, error) {
	path := filepath.Join(dir, ConfigFile)
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("checkpoint %s: no %s: not a model folder (a SenseNova-U1 folder holds config.json, the tokenizer files and model.safetensors or model.safetensors.index.json): %w", dir, ConfigFile, err)
		}
		return nil, fmt.Errorf("checkpoint %s: reading %s: %w", dir, ConfigFile, err)
	}
	return ParseConfig(data, path)
}

// ParseConfig decodes and checks a config.json; source names it in errors.
// A config of another model type fails with an error wrapping
// ErrNotSenseNova; invalid JSON with the line and column; everything else
// wrong (missing required fields, types, unsupported settings) is collected
// into one *ConfigError.
func ParseConfig(data []byte, source string) (*Config, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, fmt.Errorf("config %w", jsonError(source, data, err))
	}
	if top == nil {
		return nil, fmt.Errorf("config %s: is null, want a JSON object", source)
	}

	c := &Config{Source: source}
	var mt string
	if raw, ok := top["model_type"]; ok && !isNull(raw) {
		if err := json.Unmarshal(raw, &mt); err != nil {
			return nil, fmt.Errorf("config %s: model_type: got %s, want a string: %w", source, clipRaw(raw), ErrNotSenseNova)
		}
	}
	if mt != ModelType {
		return nil, notSenseNova(source, mt, top)
	}

	rep := &decodeReport{}
	known, _ := decodeObject(top, c, "", rep)
	c.Extra = extras(top, known)

	llmOK := decodeNested(top, "llm_config", &c.LLM, rep, func(k, p map[string]bool, obj map[string]json.RawMessage) {
		c.LLM.Extra = extras(obj, k)
		// HF nulls: num_key_value_heads → num_attention_heads,
		// head_dim → hidden_size / num_attention_heads.
		if raw, ok := obj["num_key_value_heads"]; ok && isNull(raw) {
			c.LLM.NumKeyValueHeads = c.LLM.NumAttentionHeads
		}
		if raw, ok := obj["head_dim"]; ok && isNull(raw) && c.LLM.NumAttentionHeads > 0 {
			c.LLM.HeadDim = c.LLM.HiddenSize / c.LLM.NumAttentionHeads
		}
		if !p["torch_dtype"] {
			if raw, ok := obj["dtype"]; ok {
				_ = json.Unmarshal(raw, &c.LLM.TorchDType)
			}
		}
		rep.problems = append(rep.problems, c.LLM.restoreRopeTheta(p["rope_theta"])...)
		if desc := moeDescription(obj); desc != "" {
			rep.problems = append(rep.problems, fmt.Sprintf("llm_config describes a Qwen3-MoE backbone (%s): MoE SenseNova-U1 variants are not supported; this engine runs the dense MoT layout (MODEL.md 7.2)", desc))
		}
	})
	visionOK := decodeNested(top, "vision_config", &c.Vision, rep, func(k, _ map[string]bool, obj map[string]json.RawMessage) {
		c.Vision.Extra = extras(obj, k)
	})
	c.TieWordEmbeddings = c.LLM.TieWordEmbeddings
	if c.TorchDType == "" {
		if raw, ok := top["dtype"]; ok {
			_ = json.Unmarshal(raw, &c.TorchDType)
		}
	}

	cerr := &ConfigError{Source: source, Missing: rep.missing, Problems: rep.problems}
	// Constraints are checked on values that decoded; a field of the wrong
	// type would otherwise show up again as a bogus constraint violation.
	if !rep.typeErrors {
		cerr.Problems = append(cerr.Problems, c.check(rep, llmOK, visionOK)...)
	}
	if len(cerr.Missing) > 0 || len(cerr.Problems) > 0 {
		return nil, cerr
	}
	return c, nil
}

func notSenseNova(source, mt string, top map[string]json.RawMessage) error {
	var archs []string
	if raw, ok := top["architectures"]; ok {
		_ = json.Unmarshal(raw, &archs)
	}
	found := fmt.Sprintf("model_type %q", mt)
	if mt == "" {
		found = "no model_type"
	}
	if len(archs) > 0 {
		found += fmt.Sprintf(", architectures %v", archs)
	}
	return fmt.Errorf("config %s: %w: found %s, want model_type %q (SenseNova-U1 / NEO-unify config with llm_config and vision_config)", source, ErrNotSenseNova, found, ModelType)
}

// decodeNested decodes top[key] into dst; then calls after. It reports the
// section as missing when absent: the reference would fall back to class
// defaults that describe no released checkpoint.
func decodeNested(top map[string]json.RawMessage, key string, dst any, rep *decodeReport, after func(known, present map[string]bool, obj map[string]json.RawMessage)) bool {
	raw, ok := top[key]
	if !ok || isNull(raw) {
		rep.missing = append(rep.missing, key)
		return false
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		rep.problems = append(rep.problems, fmt.Sprintf("%s: got %s, want a JSON object", key, clipRaw(raw)))
		return false
	}
	known, present := decodeObject(obj, dst, key+".", rep)
	after(known, present, obj)
	return true
}

func extras(obj map[string]json.RawMessage, known map[string]bool) map[string]json.RawMessage {
	var out map[string]json.RawMessage
	for k, v := range obj {
		if known[k] || k == "dtype" {
			continue
		}
		if out == nil {
			out = make(map[string]json.RawMessage)
		}
		out[k] = v
	}
	return out
}

// moeDescription says why obj (an llm_config) looks like a MoE backbone, or
// returns "" (the reference's _is_moe_llm_config, plus the other MoE keys).
func moeDescription(obj map[string]json.RawMessage) string {
	var why []string
	var mt string
	if raw, ok := obj["model_type"]; ok && json.Unmarshal(raw, &mt) == nil && strings.Contains(strings.ToLower(mt), "moe") {
		why = append(why, fmt.Sprintf("model_type %q", mt))
	}
	var archs []string
	if raw, ok := obj["architectures"]; ok && json.Unmarshal(raw, &archs) == nil {
		for _, a := range archs {
			if strings.Contains(strings.ToLower(a), "moe") {
				why = append(why, fmt.Sprintf("architecture %q", a))
			}
		}
	}
	for _, k := range []string{"num_experts", "num_experts_per_tok", "moe_intermediate_size"} {
		if raw, ok := obj[k]; ok && !isNull(raw) {
			if n, ok := parseInt(raw); ok && n == 0 {
				continue
			}
			why = append(why, fmt.Sprintf("%s %s", k, clipRaw(raw)))
		}
	}
	return strings.Join(why, ", ")
}

// restoreRopeTheta applies the transformers-5 form (MODEL.md 7.9):
// rope_theta may live only in rope_parameters, which also carries the rope
// type that rope_scaling used to.
func (l *LLMConfig) restoreRopeTheta(thetaPresent bool) []string {
	var problems []string
	if len(l.RopeScaling) > 0 && !isNull(l.RopeScaling) && !isDefaultRope(l.RopeScaling) {
		problems = append(problems, fmt.Sprintf("llm_config.rope_scaling is %s: RoPE scaling is not supported (SenseNova-U1 uses plain RoPE, rope_scaling null; MODEL.md 3.2)", clipRaw(l.RopeScaling)))
	}
	if len(l.RopeParameters) == 0 || isNull(l.RopeParameters) {
		return problems
	}
	var rp map[string]json.RawMessage
	if json.Unmarshal(l.RopeParameters, &rp) != nil {
		return append(problems, fmt.Sprintf("llm_config.rope_parameters: got %s, want a JSON object", clipRaw(l.RopeParameters)))
	}
	if !isDefaultRope(l.RopeParameters) {
		problems = append(problems, fmt.Sprintf("llm_config.rope_parameters is %s: RoPE type other than \"default\" is not supported (SenseNova-U1 uses plain RoPE)", clipRaw(l.RopeParameters)))
	}
	raw, ok := rp["rope_theta"]
	if !ok || isNull(raw) {
		return problems
	}
	theta, ok := parseNumber(raw)
	if !ok {
		return append(problems, fmt.Sprintf("llm_config.rope_parameters.rope_theta: got %s, want a number", clipRaw(raw)))
	}
	if !thetaPresent {
		l.RopeTheta = theta
	} else if theta != l.RopeTheta {
		problems = append(problems, fmt.Sprintf("llm_config.rope_theta is %g but rope_parameters.rope_theta is %g: which one the t axis uses is ambiguous", l.RopeTheta, theta))
	}
	return problems
}

// isDefaultRope reports whether a rope_scaling / rope_parameters object
// selects plain RoPE: no "rope_type"/"type" key, or "default".
func isDefaultRope(raw json.RawMessage) bool {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return false
	}
	typed := false
	for _, k := range []string{"rope_type", "type"} {
		if v, ok := m[k]; ok && !isNull(v) {
			var s string
			if json.Unmarshal(v, &s) != nil || s != "default" {
				return false
			}
			typed = true
		}
	}
	if typed {
		return true // default RoPE ignores any other parameter
	}
	// Without a type, only an empty object or a bare rope_theta means plain
	// RoPE; {"factor": 2} and the like ask for scaling.
	for k := range m {
		if k != "rope_theta" {
			return false
		}
	}
	return true
}

// Bounds that keep every shape product far from int64 overflow; real
// configs are orders of magnitude below them.
const (
	maxDim    = 1 << 22
	maxLayers = 1024
	maxHeads  = 1 << 12
	maxPatch  = 1024
)

// check returns the violated constraints that keep the model computable.
// Checks that need a section which is missing (already reported) are skipped.
func (c *Config) check(rep *decodeReport, llmOK, visionOK bool) []string {
	var p []string
	add := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }
	missing := make(map[string]bool, len(rep.missing))
	for _, m := range rep.missing {
		missing[m] = true
	}
	l, v := &c.LLM, &c.Vision
	if llmOK {
		p = append(p, l.check()...)
	}
	if visionOK {
		p = append(p, v.check()...)
		if llmOK && v.LLMHiddenSize != l.HiddenSize {
			add("vision_config.llm_hidden_size is %d but llm_config.hidden_size is %d: the patch embedder's merge conv must output the LLM width", v.LLMHiddenSize, l.HiddenSize)
		}
	}
	if c.DownsampleRatio != 0.5 {
		add("downsample_ratio is %g: only 0.5 (one LLM token per 2×2 patches) is supported", c.DownsampleRatio)
	}
	if !missing["concat_time_token_num"] && c.ConcatTimeTokenNum != 0 {
		add("concat_time_token_num is %d, want 0 (the reference asserts it in t2i_generate)", c.ConcatTimeTokenNum)
	}
	if !missing["fm_head_layers"] && c.FMHeadLayers > 2 {
		add("fm_head_layers is %d: values > 2 select the deep AdaLN head, which the reference cannot build (MODEL.md 7.3); want <= 2 (MLP head)", c.FMHeadLayers)
	}
	if !missing["use_pixel_head"] && c.UsePixelHead && llmOK && visionOK {
		if t := c.TokenPixels(); t != 32 {
			add("use_pixel_head needs patch_size × merge = 32 pixels per token, got %d × %d = %d", v.PatchSize, c.Merge(), t)
		}
		if l.HiddenSize%4 != 0 {
			add("use_pixel_head needs llm_config.hidden_size divisible by 4 (pixel shuffle), got %d", l.HiddenSize)
		}
	}
	if !missing["noise_scale_max_value"] && !(c.NoiseScaleMaxValue > 0) {
		add("noise_scale_max_value is %g, want > 0 (it clamps the noise scale and divides the noise-scale embedding input)", c.NoiseScaleMaxValue)
	}
	if !missing["noise_scale_base_image_seq_len"] && c.NoiseResolutionDependent() && c.NoiseScaleBaseImageSeqLen <= 0 {
		add("noise_scale_base_image_seq_len is %d, want > 0 with noise_scale_mode %q", c.NoiseScaleBaseImageSeqLen, c.NoiseScaleMode)
	}
	if math.IsNaN(c.NoiseScale) || math.IsInf(c.NoiseScale, 0) {
		add("noise_scale is %g, want a finite number", c.NoiseScale)
	}
	return p
}

func (l *LLMConfig) check() []string {
	var p []string
	add := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }
	for _, f := range []struct {
		name string
		val  int
	}{
		{"llm_config.hidden_size", l.HiddenSize},
		{"llm_config.num_hidden_layers", l.NumHiddenLayers},
		{"llm_config.num_attention_heads", l.NumAttentionHeads},
		{"llm_config.num_key_value_heads", l.NumKeyValueHeads},
		{"llm_config.head_dim", l.HeadDim},
		{"llm_config.intermediate_size", l.IntermediateSize},
		{"llm_config.vocab_size", l.VocabSize},
	} {
		if f.val <= 0 {
			add("%s is %d, want > 0", f.name, f.val)
		} else if f.val > maxDim {
			add("%s is %d: implausibly large (limit %d)", f.name, f.val, maxDim)
		}
	}
	if l.NumHiddenLayers > maxLayers {
		add("llm_config.num_hidden_layers is %d: implausibly large (limit %d)", l.NumHiddenLayers, maxLayers)
	}
	if l.NumAttentionHeads > maxHeads || l.NumKeyValueHeads > maxHeads {
		add("llm_config heads %d / %d: implausibly many (limit %d)", l.NumAttentionHeads, l.NumKeyValueHeads, maxHeads)
	}
	if l.HeadDim > 0 && l.HeadDim%8 != 0 {
		add("llm_config.head_dim is %d: must be a multiple of 8 (the t half and the h/w quarters of each head are rotated in pairs; MODEL.md 3.2)", l.HeadDim)
	}
	if l.NumAttentionHeads > 0 && l.NumKeyValueHeads > 0 && l.NumAttentionHeads%l.NumKeyValueHeads != 0 {
		add("llm_config.num_attention_heads %d is not divisible by num_key_value_heads %d (grouped-query attention needs whole groups)", l.NumAttentionHeads, l.NumKeyValueHeads)
	}
	if l.HiddenAct != "silu" {
		add("llm_config.hidden_act is %q: only \"silu\" (SwiGLU MLP) is supported", l.HiddenAct)
	}
	if !(l.RMSNormEps > 0) {
		add("llm_config.rms_norm_eps is %g, want > 0", l.RMSNormEps)
	}
	if !(l.RopeTheta > 0) {
		add("llm_config.rope_theta is %g, want > 0", l.RopeTheta)
	}
	if !(l.RopeThetaHW > 0) {
		add("llm_config.rope_theta_hw is %g, want > 0", l.RopeThetaHW)
	}
	return p
}

func (v *VisionConfig) check() []string {
	var p []string
	add := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }
	if v.NumChannels != 3 {
		add("vision_config.num_channels is %d: only RGB input (3) is supported", v.NumChannels)
	}
	if v.PatchSize <= 0 || v.PatchSize > maxPatch {
		add("vision_config.patch_size is %d, want 1 to %d", v.PatchSize, maxPatch)
	}
	if v.HiddenSize > maxDim {
		add("vision_config.hidden_size is %d: implausibly large (limit %d)", v.HiddenSize, maxDim)
	} else if v.HiddenSize <= 0 || v.HiddenSize%4 != 0 {
		add("vision_config.hidden_size is %d: must be a positive multiple of 4 (the feature 2-D RoPE rotates two halves in pairs; MODEL.md 3.9)", v.HiddenSize)
	}
	if v.DownsampleRatio != 0.5 {
		add("vision_config.downsample_ratio is %g: only 0.5 (2×2 merge) is supported", v.DownsampleRatio)
	}
	if !(v.RopeThetaVision > 0) {
		add("vision_config.rope_theta_vision is %g, want > 0", v.RopeThetaVision)
	}
	if v.MaxPositionEmbeddingsVision <= 0 {
		add("vision_config.max_position_embeddings_vision is %d, want > 0", v.MaxPositionEmbeddingsVision)
	}
	return p
}

// Merge is the patch-merge factor M = int(1 / downsample_ratio).
func (c *Config) Merge() int {
	if !(c.DownsampleRatio > 0) {
		return 0
	}
	return int(1 / c.DownsampleRatio)
}

// TokenPixels is T = patch_size × merge, the side in pixels of the block one
// LLM image token covers.
func (c *Config) TokenPixels() int { return c.Vision.PatchSize * c.Merge() }

// FMOutputWidth is F = 3·T·T, the fm_head output per image token.
func (c *Config) FMOutputWidth() int { t := c.TokenPixels(); return 3 * t * t }

// HeadType is "pixel" for the conv pixel head and "mlp" for the MLP head.
func (c *Config) HeadType() string {
	if c.UsePixelHead {
		return "pixel"
	}
	return "mlp"
}

// GQAGroup is R = num_attention_heads / num_key_value_heads.
func (c *Config) GQAGroup() int {
	if c.LLM.NumKeyValueHeads <= 0 {
		return 0
	}
	return c.LLM.NumAttentionHeads / c.LLM.NumKeyValueHeads
}

// QDim is Nq·D, the width of the query projection.
func (c *Config) QDim() int { return c.LLM.NumAttentionHeads * c.LLM.HeadDim }

// KVDim is Nkv·D, the width of the key and value projections.
func (c *Config) KVDim() int { return c.LLM.NumKeyValueHeads * c.LLM.HeadDim }

// KVValuesPerToken is L·2·Nkv·D, the KV-cache values one token costs.
func (c *Config) KVValuesPerToken() int { return c.LLM.NumHiddenLayers * 2 * c.KVDim() }

// NoiseResolutionDependent reports whether noise_scale_mode makes the noise
// scale depend on the image token count (MODEL.md 3.13).
func (c *Config) NoiseResolutionDependent() bool {
	switch c.NoiseScaleMode {
	case "resolution", "dynamic", "dynamic_sqrt":
		return true
	}
	return false
}
