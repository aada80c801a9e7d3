package checkpoint

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sensenova/studio/inference/safetensors"
	"github.com/sensenova/studio/internal/golden"
)

// goldenDir returns a golden folder, read in place; a missing one fails the
// test (the fixtures are part of the project's shared tree).
func goldenDir(t *testing.T, name string) string {
	t.Helper()
	dir, err := golden.Path(name)
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// tinyConfig is the MODEL.md 9 configuration with a small vocabulary, so
// layouts written from it stay well under a megabyte.
func tinyConfig() map[string]any {
	return map[string]any{
		"model_type":                     "neo_chat",
		"architectures":                  []any{"NEOChatModel"},
		"template":                       "neo1_0",
		"downsample_ratio":               0.5,
		"tie_word_embeddings":            false,
		"fm_head_layers":                 2,
		"fm_head_dim":                    64,
		"fm_head_mlp_ratio":              1,
		"use_pixel_head":                 false,
		"concat_time_token_num":          0,
		"noise_scale":                    1.0,
		"noise_scale_mode":               "resolution",
		"noise_scale_base_image_seq_len": 4,
		"noise_scale_max_value":          8.0,
		"add_noise_scale_embedding":      true,
		"time_schedule":                  "standard",
		"time_shift_type":                "exponential",
		"base_shift":                     0.5,
		"max_shift":                      1.15,
		"base_image_seq_len":             64,
		"max_image_seq_len":              4096,
		"t_eps":                          0.02,
		"llm_config": map[string]any{
			"architectures":              []any{"Qwen3ForCausalLM"},
			"model_type":                 "qwen3",
			"vocab_size":                 512,
			"hidden_size":                64,
			"intermediate_size":          128,
			"num_hidden_layers":          2,
			"num_attention_heads":        4,
			"num_key_value_heads":        2,
			"head_dim":                   32,
			"hidden_act":                 "silu",
			"rms_norm_eps":               1e-6,
			"rope_theta":                 5000000.0,
			"rope_theta_hw":              10000.0,
			"rope_scaling":               nil,
			"max_position_embeddings":    4096,
			"max_position_embeddings_hw": 10000,
			"attention_bias":             false,
			"tie_word_embeddings":        false,
			"use_sliding_window":         false,
		},
		"vision_config": map[string]any{
			"architectures":                  []any{"NEOVisionModel"},
			"model_type":                     "neo_vision",
			"num_channels":                   3,
			"patch_size":                     16,
			"hidden_size":                    48,
			"llm_hidden_size":                64,
			"downsample_ratio":               0.5,
			"rope_theta_vision":              10000.0,
			"max_position_embeddings_vision": 10000,
		},
	}
}

// realConfig is the embedded 8B-MoT config.json (MODEL.md 1.2–1.4); pixel
// selects the U1.5 variant (pixel head, noise cap 16).
func realConfig(pixel bool) map[string]any {
	name := "SenseNova-U1-8B-MoT"
	if pixel {
		name = "SenseNova-U1.5-8B-MoT"
	}
	data, err := ReferenceConfig(name)
	if err != nil {
		panic(err)
	}
	var c map[string]any
	if err := json.Unmarshal(data, &c); err != nil {
		panic(err)
	}
	return c
}

func llmOf(c map[string]any) map[string]any    { return c["llm_config"].(map[string]any) }
func visionOf(c map[string]any) map[string]any { return c["vision_config"].(map[string]any) }

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// writeTiny writes a tiny layout (fm_head width 32) and returns its folder.
func writeTiny(t *testing.T, cfg map[string]any, shards int) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "model")
	if err := WriteLayout(dir, mustJSON(t, cfg), LayoutOptions{Shards: shards, FMHeadWidth: 32, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	return dir
}

// rawTensor is one tensor of a shard being rebuilt by a test. DType is a
// string so tests can write dtypes no library accepts; Offsets, when set,
// replaces the computed data_offsets.
type rawTensor struct {
	Name    string
	DType   string
	Shape   []int64
	Data    []byte
	Offsets *[2]int64
}

func readRaw(t *testing.T, path string) []rawTensor {
	t.Helper()
	f, err := safetensors.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []rawTensor
	for _, n := range f.Names() {
		info, _ := f.Info(n)
		b, err := f.Bytes(n)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, rawTensor{Name: n, DType: info.DType.String(), Shape: info.Shape, Data: append([]byte(nil), b...)})
	}
	return out
}

// writeRaw writes tensors as a safetensors file with a hand-built header;
// lengthField, when non-zero, replaces the header length.
func writeRaw(t *testing.T, path string, tensors []rawTensor, lengthField uint64) {
	t.Helper()
	header := map[string]any{"__metadata__": map[string]string{"format": "pt"}}
	var data []byte
	for _, r := range tensors {
		off := [2]int64{int64(len(data)), int64(len(data) + len(r.Data))}
		if r.Offsets != nil {
			off = *r.Offsets
		}
		header[r.Name] = map[string]any{"dtype": r.DType, "shape": r.Shape, "data_offsets": off}
		data = append(data, r.Data...)
	}
	h, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	for len(h)%8 != 0 {
		h = append(h, ' ')
	}
	n := uint64(len(h))
	if lengthField != 0 {
		n = lengthField
	}
	buf := binary.LittleEndian.AppendUint64(nil, n)
	buf = append(append(buf, h...), data...)
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		t.Fatal(err)
	}
}

// editShard rewrites a shard after edit changes its tensor list.
func editShard(t *testing.T, path string, edit func([]rawTensor) []rawTensor) {
	t.Helper()
	writeRaw(t, path, edit(readRaw(t, path)), 0)
}

func find(ts []rawTensor, name string) int {
	for i, r := range ts {
		if r.Name == name {
			return i
		}
	}
	return -1
}

// editIndex rewrites model.safetensors.index.json's weight_map.
func editIndex(t *testing.T, dir string, edit func(map[string]string)) {
	t.Helper()
	path := filepath.Join(dir, IndexFile)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var idx struct {
		Metadata  map[string]any    `json:"metadata"`
		WeightMap map[string]string `json:"weight_map"`
	}
	if err := json.Unmarshal(data, &idx); err != nil {
		t.Fatal(err)
	}
	edit(idx.WeightMap)
	if err := os.WriteFile(path, mustJSON(t, idx), 0o644); err != nil {
		t.Fatal(err)
	}
}

// shardOf returns the shard file the index puts name in.
func shardOf(t *testing.T, dir, name string) string {
	t.Helper()
	var f string
	editIndex(t, dir, func(m map[string]string) { f = m[name] })
	if f == "" {
		t.Fatalf("index of %s has no %q", dir, name)
	}
	return f
}

// wantErr fails unless err is non-nil and its message contains every part.
func wantErr(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want one mentioning %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error does not mention %q:\n%v", p, err)
		}
	}
}

func layoutError(t *testing.T, err error) *LayoutError {
	t.Helper()
	var le *LayoutError
	if !errors.As(err, &le) {
		t.Fatalf("error is %T, want *LayoutError: %v", err, err)
	}
	return le
}

// expectedCounts computes the parameter groups from MODEL.md 1.6's
// formulas for cfg with an MLP head of inner width fmWidth.
func expectedCounts(cfg *Config, fmWidth int64) ParamCounts {
	l, v := cfg.LLM, cfg.Vision
	hd, inter, half := int64(l.HiddenSize), int64(l.IntermediateSize), int64(l.HeadDim/2)
	q, kv := int64(l.NumAttentionHeads*l.HeadDim), int64(l.NumKeyValueHeads*l.HeadDim)
	expertLayer := q*hd + 2*kv*hd + hd*q + 4*half + 3*hd*inter + 2*hd
	e, p := int64(v.HiddenSize), int64(v.PatchSize)
	patchEmbedder := (e*3*p*p + e) + (hd*e*2*2 + hd)
	timeEmbedder := (hd*256 + hd) + (hd*hd + hd)
	var head int64
	if cfg.UsePixelHead {
		head = (1024*(hd/4)*9 + 1024) + (192*256*9 + 192)
	} else {
		f := int64(cfg.FMOutputWidth())
		head = (fmWidth*hd + fmWidth) + (f*fmWidth + f)
	}
	embedders := timeEmbedder
	if cfg.AddNoiseScaleEmbedding {
		embedders *= 2
	}
	layers := int64(l.NumHiddenLayers)
	pc := ParamCounts{
		Understanding: layers*expertLayer + hd + patchEmbedder,
		Generation:    layers*expertLayer + hd + patchEmbedder + embedders + head,
		Shared:        2 * int64(l.VocabSize) * hd,
	}
	pc.Total = pc.Understanding + pc.Generation + pc.Shared
	return pc
}
