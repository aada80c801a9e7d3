package checkpoint

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sensenova/studio/internal/golden"
)

func parseMap(t *testing.T, m map[string]any) (*Config, error) {
	t.Helper()
	return ParseConfig(mustJSON(t, m), "test/config.json")
}

func configError(t *testing.T, err error) *ConfigError {
	t.Helper()
	var ce *ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("error is %T, want *ConfigError: %v", err, err)
	}
	return ce
}

func TestParseTinyConfig(t *testing.T) {
	cfg, err := parseMap(t, tinyConfig())
	if err != nil {
		t.Fatal(err)
	}
	if cfg.LLM.HiddenSize != 64 || cfg.LLM.HeadDim != 32 || cfg.QDim() != 128 || cfg.KVDim() != 64 || cfg.GQAGroup() != 2 ||
		cfg.Vision.HiddenSize != 48 || cfg.Merge() != 2 || cfg.TokenPixels() != 32 || cfg.FMOutputWidth() != 3072 ||
		cfg.KVValuesPerToken() != 2*2*64 || !cfg.NoiseResolutionDependent() || *cfg.TEps != 0.02 {
		t.Errorf("parsed %+v", cfg)
	}
	if n := len(ExpectedTensors(cfg)); n != 26*2+24 {
		t.Errorf("%d expected tensors, want %d", n, 26*2+24)
	}
}

func TestConfigDefaults(t *testing.T) {
	m := tinyConfig()
	l, v := llmOf(m), visionOf(m)
	for _, k := range []string{"rms_norm_eps", "rope_theta", "rope_theta_hw", "hidden_act", "max_position_embeddings_hw", "attention_bias", "tie_word_embeddings"} {
		delete(l, k)
	}
	for _, k := range []string{"num_channels", "rope_theta_vision", "max_position_embeddings_vision", "downsample_ratio"} {
		delete(v, k)
	}
	delete(m, "downsample_ratio")
	delete(m, "t_eps")
	l["num_key_value_heads"] = nil // HF: null means one kv head per query head
	m["some_future_key"] = 7
	cfg, err := parseMap(t, m)
	if err != nil {
		t.Fatal(err)
	}
	for _, chk := range []struct {
		what      string
		got, want any
	}{
		{"rms_norm_eps", cfg.LLM.RMSNormEps, 1e-6},
		{"rope_theta", cfg.LLM.RopeTheta, 10000.0},
		{"rope_theta_hw", cfg.LLM.RopeThetaHW, 10000.0},
		{"hidden_act", cfg.LLM.HiddenAct, "silu"},
		{"max_position_embeddings_hw", cfg.LLM.MaxPositionEmbeddingsHW, 10000},
		{"num_key_value_heads", cfg.LLM.NumKeyValueHeads, 4},
		{"num_channels", cfg.Vision.NumChannels, 3},
		{"rope_theta_vision", cfg.Vision.RopeThetaVision, 10000.0},
		{"vision downsample_ratio", cfg.Vision.DownsampleRatio, 0.5},
		{"min_pixels", cfg.Vision.MinPixels, 65536},
		{"max_pixels", cfg.Vision.MaxPixels, 4194304},
		{"downsample_ratio", cfg.DownsampleRatio, 0.5},
		{"use_llm_lora", cfg.UseLLMLora, 0},
		{"t_eps absent", cfg.TEps == nil, true},
		{"extra kept", string(cfg.Extra["some_future_key"]), "7"},
	} {
		if chk.got != chk.want {
			t.Errorf("%s = %v, want %v", chk.what, chk.got, chk.want)
		}
	}
}

func TestConfigOneElementListsAndRopeParameters(t *testing.T) {
	m := tinyConfig()
	visionOf(m)["llm_hidden_size"] = []any{64}
	visionOf(m)["downsample_ratio"] = []any{0.5}
	m["downsample_ratio"] = []any{0.5}
	l := llmOf(m)
	delete(l, "rope_theta")
	delete(l, "rope_scaling")
	l["rope_parameters"] = map[string]any{"rope_type": "default", "rope_theta": 5000000.0}
	l["dtype"] = "bfloat16"
	cfg, err := parseMap(t, m)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Vision.LLMHiddenSize != 64 || cfg.Vision.DownsampleRatio != 0.5 || cfg.Merge() != 2 {
		t.Errorf("1-element lists: llm_hidden_size %d, ratio %v", cfg.Vision.LLMHiddenSize, cfg.Vision.DownsampleRatio)
	}
	if cfg.LLM.RopeTheta != 5000000 {
		t.Errorf("rope_theta restored from rope_parameters = %v, want 5e6", cfg.LLM.RopeTheta)
	}
	if cfg.LLM.TorchDType != "bfloat16" {
		t.Errorf("dtype %q", cfg.LLM.TorchDType)
	}

	// Both forms, disagreeing: ambiguous.
	l["rope_theta"] = 1000000.0
	_, err = parseMap(t, m)
	wantErr(t, err, "rope_theta is 1e+06 but rope_parameters.rope_theta is 5e+06")
	// A scaled RoPE in the new form.
	delete(l, "rope_theta")
	l["rope_parameters"] = map[string]any{"rope_type": "yarn", "factor": 4.0, "rope_theta": 5000000.0}
	_, err = parseMap(t, m)
	wantErr(t, err, "rope_parameters", "yarn", "not supported")
	// A 2-element list is not a scalar.
	l["rope_parameters"] = map[string]any{"rope_type": "default", "rope_theta": 5000000.0}
	visionOf(m)["llm_hidden_size"] = []any{64, 64}
	_, err = parseMap(t, m)
	wantErr(t, err, "vision_config.llm_hidden_size: got [64,64], want a number or a 1-element list")
}

func TestConfigOtherModelType(t *testing.T) {
	for _, tc := range []struct{ json, found string }{
		{`{"model_type": "qwen3", "architectures": ["Qwen3ForCausalLM"], "hidden_size": 4096, "num_hidden_layers": 36}`, `model_type "qwen3", architectures [Qwen3ForCausalLM]`},
		{`{"model_type": "llama", "hidden_size": 4096}`, `model_type "llama"`},
		{`{"hidden_size": 4096}`, `no model_type`},
	} {
		_, err := ParseConfig([]byte(tc.json), "x/config.json")
		wantErr(t, err, "config x/config.json", "not a SenseNova-U1 checkpoint", tc.found, `want model_type "neo_chat"`)
		if !errors.Is(err, ErrNotSenseNova) {
			t.Errorf("%s: not ErrNotSenseNova", tc.json)
		}
	}
}

func TestConfigInvalidJSON(t *testing.T) {
	for _, tc := range []struct {
		text string
		pos  string
	}{
		{"{\n  \"model_type\": \"neo_chat\",\n  \"template\": \"neo1_0\",\n}\n", "config.json:4:1:"},
		{"{\n  \"model_type\": \"neo_chat\"\n  \"template\": 1\n}", "config.json:3:3:"},
		{"[1, 2]", "config.json:1:"},
		{"", "config.json"},
	} {
		_, err := ParseConfig([]byte(tc.text), "dir/config.json")
		wantErr(t, err, "dir/"+tc.pos)
	}
	// Through LoadConfig, with the folder's path.
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, ConfigFile), []byte("{\"model_type\": \"neo_chat\",,}"), 0o644)
	_, err := LoadConfig(dir)
	wantErr(t, err, filepath.Join(dir, ConfigFile)+":1:27:", "invalid JSON", "invalid character ','")
}

func TestConfigMissingRequiredListsAll(t *testing.T) {
	m := tinyConfig()
	req := []string{"template", "fm_head_layers", "use_pixel_head", "concat_time_token_num", "noise_scale", "noise_scale_mode",
		"noise_scale_base_image_seq_len", "noise_scale_max_value", "add_noise_scale_embedding", "time_schedule",
		"time_shift_type", "base_shift", "max_shift", "base_image_seq_len", "max_image_seq_len"}
	for _, k := range req {
		delete(m, k)
	}
	m["noise_scale"] = nil // null counts as missing
	_, err := parseMap(t, m)
	ce := configError(t, err)
	if len(ce.Missing) != len(req) {
		t.Errorf("missing %v, want all %d of %v", ce.Missing, len(req), req)
	}
	wantErr(t, err, append([]string{"config test/config.json", "missing required field"}, req...)...)

	// Nested sections are required too; a few fields missing on their own.
	m = tinyConfig()
	delete(m, "vision_config")
	delete(m, "template")
	delete(m, "add_noise_scale_embedding")
	_, err = parseMap(t, m)
	ce = configError(t, err)
	if strings.Join(ce.Missing, ",") != "template,add_noise_scale_embedding,vision_config" {
		t.Errorf("missing %v", ce.Missing)
	}
}

func TestConfigConstraintsCollected(t *testing.T) {
	m := tinyConfig()
	l, v := llmOf(m), visionOf(m)
	l["head_dim"] = 12
	l["num_key_value_heads"] = 3
	l["rope_scaling"] = map[string]any{"type": "yarn", "factor": 4.0}
	l["hidden_act"] = "gelu"
	v["llm_hidden_size"] = 128
	v["hidden_size"] = 50
	m["concat_time_token_num"] = 1
	m["fm_head_layers"] = 3
	m["downsample_ratio"] = 0.25
	m["noise_scale_max_value"] = 0
	_, err := parseMap(t, m)
	ce := configError(t, err)
	if len(ce.Problems) != 10 {
		t.Errorf("%d problems, want 10:\n%v", len(ce.Problems), err)
	}
	wantErr(t, err, "10 problems",
		"head_dim is 12: must be a multiple of 8",
		"num_attention_heads 4 is not divisible by num_key_value_heads 3",
		"rope_scaling is", "yarn", "RoPE scaling is not supported",
		`hidden_act is "gelu"`,
		"llm_hidden_size is 128 but llm_config.hidden_size is 64",
		"vision_config.hidden_size is 50: must be a positive multiple of 4",
		"concat_time_token_num is 1, want 0",
		"fm_head_layers is 3", "deep AdaLN head",
		"downsample_ratio is 0.25",
		"noise_scale_max_value is 0")
}

func TestConfigPixelHeadConstraints(t *testing.T) {
	m := tinyConfig()
	m["use_pixel_head"] = true
	visionOf(m)["patch_size"] = 8
	_, err := parseMap(t, m)
	wantErr(t, err, "use_pixel_head needs patch_size × merge = 32 pixels per token, got 8 × 2 = 16")

	m = tinyConfig()
	m["use_pixel_head"] = true
	llmOf(m)["hidden_size"] = 66
	visionOf(m)["llm_hidden_size"] = 66
	_, err = parseMap(t, m)
	wantErr(t, err, "use_pixel_head needs llm_config.hidden_size divisible by 4")

	// The MLP head has no such restriction.
	m = tinyConfig()
	visionOf(m)["patch_size"] = 4
	cfg, err := parseMap(t, m)
	if err != nil || cfg.FMOutputWidth() != 192 {
		t.Errorf("patch 4 MLP head: %v, F %d", err, cfg.FMOutputWidth())
	}
}

func TestConfigRejectsMoE(t *testing.T) {
	m := tinyConfig()
	l := llmOf(m)
	l["model_type"] = "qwen3_moe"
	l["architectures"] = []any{"Qwen3MoeForCausalLM"}
	l["num_experts"] = 128
	l["num_experts_per_tok"] = 8
	l["moe_intermediate_size"] = 768
	_, err := parseMap(t, m)
	wantErr(t, err, "Qwen3-MoE", `model_type "qwen3_moe"`, "num_experts 128", "not supported")

	m = tinyConfig()
	llmOf(m)["num_experts"] = 64 // the key alone is enough
	_, err = parseMap(t, m)
	wantErr(t, err, "MoE", "num_experts 64")
}

func TestConfigWrongTypes(t *testing.T) {
	m := tinyConfig()
	llmOf(m)["hidden_size"] = "64"
	m["use_pixel_head"] = "false"
	m["noise_scale_base_image_seq_len"] = 4.5
	m["template"] = 1
	_, err := parseMap(t, m)
	ce := configError(t, err)
	if len(ce.Problems) != 4 {
		t.Errorf("%d problems, want 4 (no follow-on constraint errors):\n%v", len(ce.Problems), err)
	}
	wantErr(t, err, `llm_config.hidden_size: got "64", want an integer`, `use_pixel_head: got "false", want true or false`,
		"noise_scale_base_image_seq_len: got 4.5, want an integer", "template: got 1, want a string")

	// 64.0 is an integer.
	m = tinyConfig()
	llmOf(m)["hidden_size"] = 64.0
	if _, err := ParseConfig([]byte(strings.Replace(string(mustJSON(t, m)), `"hidden_size": 64`, `"hidden_size": 64.0`, 1)), "c"); err != nil {
		t.Errorf("64.0: %v", err)
	}
}

func TestExpectedTensorsVariants(t *testing.T) {
	base, err := parseMap(t, tinyConfig())
	if err != nil {
		t.Fatal(err)
	}
	specs := ExpectedTensors(base)
	groups := map[Group]int{}
	seen := map[string]bool{}
	for _, s := range specs {
		if seen[s.Name] {
			t.Errorf("%s listed twice", s.Name)
		}
		seen[s.Name] = true
		groups[s.Group]++
		if s.Group != GroupOf(s.Name) {
			t.Errorf("%s: group %s, GroupOf says %s", s.Name, s.Group, GroupOf(s.Name))
		}
	}
	// Understanding: 13 per layer + norm + 4 patch-embedder; shared: 2.
	if groups[Understanding] != 13*2+1+4 || groups[Shared] != 2 || groups[Generation] != 13*2+1+4+8+4 {
		t.Errorf("groups %v", groups)
	}
	for name, want := range map[string]Group{
		"language_model.model.norm_mot_gen.weight":                          Generation,
		"language_model.model.norm.weight":                                  Understanding,
		"language_model.model.layers.7.mlp_mot_gen.up_proj.weight":          Generation,
		"language_model.model.layers.7.self_attn.q_norm_hw.weight":          Understanding,
		"fm_modules.vision_model_mot_gen.embeddings.patch_embedding.weight": Generation,
		"vision_model.embeddings.patch_embedding.bias":                      Understanding,
		NameEmbedTokens: Shared, NameLMHead: Shared, "lora.alpha": Other,
	} {
		if got := GroupOf(name); got != want {
			t.Errorf("GroupOf(%s) = %s, want %s", name, got, want)
		}
	}
	sym := 0
	for _, s := range specs {
		if s.Symbolic() {
			sym++
		}
	}
	if sym != 3 {
		t.Errorf("%d specs with the fm_head width wildcard, want 3", sym)
	}

	m := tinyConfig()
	m["add_noise_scale_embedding"] = false
	llmOf(m)["attention_bias"] = true
	cfg, _ := parseMap(t, m)
	if n := len(ExpectedTensors(cfg)); n != 26*2+24-4+8*2 {
		t.Errorf("no noise embedder, biases: %d tensors", n)
	}
	if s := ExpectedTensors(cfg); s[3].Name != "language_model.model.layers.0.self_attn.q_proj.weight" {
		t.Errorf("order: %s", s[3].Name)
	}
}

// FuzzParseConfig: no input makes ParseConfig panic, and a config it
// accepts always yields a consistent layout.
func FuzzParseConfig(f *testing.F) {
	for _, seed := range []string{
		`{"model_type": "neo_chat"}`, `{"model_type": "neo_chat", "llm_config": {}, "vision_config": {}}`,
		`[]`, `null`, `{"model_type": 1}`, `{"model_type": "neo_chat", "llm_config": {"num_hidden_layers": -1, "head_dim": null}}`,
	} {
		f.Add([]byte(seed))
	}
	dir, err := golden.Path("mlphead")
	if err != nil {
		f.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, ConfigFile))
	if err != nil {
		f.Fatalf("golden config: %v", err)
	}
	f.Add(data)
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := ParseConfig(data, "fuzz")
		if err != nil {
			return
		}
		if n := len(ExpectedTensors(cfg)); n < 24 {
			t.Errorf("accepted config implies %d tensors", n)
		}
	})
}
