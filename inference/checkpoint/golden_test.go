package checkpoint

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/sensenova/studio/inference/safetensors"
)

func TestGoldenMLPHead(t *testing.T) {
	dir := goldenDir(t, "mlphead")
	c, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cfg := c.Config()

	// Spot checks against golden/mlphead/config.json.
	for _, chk := range []struct {
		what      string
		got, want any
	}{
		{"model_type", cfg.ModelType, "neo_chat"},
		{"template", cfg.Template, "neo1_0"},
		{"layers", cfg.LLM.NumHiddenLayers, 3},
		{"hidden", cfg.LLM.HiddenSize, 128},
		{"intermediate", cfg.LLM.IntermediateSize, 384},
		{"heads", cfg.LLM.NumAttentionHeads, 4},
		{"kv heads", cfg.LLM.NumKeyValueHeads, 2},
		{"head_dim", cfg.LLM.HeadDim, 32},
		{"vocab", cfg.LLM.VocabSize, 1024},
		{"rope_theta", cfg.LLM.RopeTheta, 5000000.0},
		{"rope_theta_hw", cfg.LLM.RopeThetaHW, 10000.0},
		{"rms_norm_eps", cfg.LLM.RMSNormEps, 1e-6},
		{"max_position_embeddings", cfg.LLM.MaxPositionEmbeddings, 262144},
		{"vision hidden", cfg.Vision.HiddenSize, 64},
		{"vision llm_hidden", cfg.Vision.LLMHiddenSize, 128},
		{"patch", cfg.Vision.PatchSize, 16},
		{"max_pixels", cfg.Vision.MaxPixels, 4194304},
		{"use_pixel_head", cfg.UsePixelHead, false},
		{"head type", cfg.HeadType(), "mlp"},
		{"noise_scale_max_value", cfg.NoiseScaleMaxValue, 8.0},
		{"noise_scale_mode", cfg.NoiseScaleMode, "resolution"},
		{"noise_scale_base_image_seq_len", cfg.NoiseScaleBaseImageSeqLen, 64},
		{"add_noise_scale_embedding", cfg.AddNoiseScaleEmbedding, true},
		{"t_eps", *cfg.TEps, 0.05},
		{"P_mean", *cfg.PMean, -0.8},
		{"fm_head_dim", *cfg.FMHeadDim, 1536},
		{"merge", cfg.Merge(), 2},
		{"token pixels", cfg.TokenPixels(), 32},
		{"F", cfg.FMOutputWidth(), 3072},
		{"tensors", c.Len(), 26*3 + 24},
		{"fm_head inner width", c.FMHeadWidth(), 256},
		{"shards", len(c.Shards()), 3},
		{"warnings", len(c.Warnings()), 0},
	} {
		if chk.got != chk.want {
			t.Errorf("%s = %v, want %v", chk.what, chk.got, chk.want)
		}
	}
	if len(cfg.Extra)+len(cfg.LLM.Extra)+len(cfg.Vision.Extra) != 0 {
		t.Errorf("golden config keys not described by MODEL.md 1: %v %v %v", cfg.Extra, cfg.LLM.Extra, cfg.Vision.Extra)
	}
	if got, want := c.ParamCounts(), expectedCounts(cfg, 256); got != want {
		t.Errorf("param counts %+v, want %+v (MODEL.md 1.6 formulas)", got, want)
	}

	// Every index entry points where the tensor is.
	var idx struct {
		WeightMap map[string]string `json:"weight_map"`
	}
	data, err := os.ReadFile(filepath.Join(dir, IndexFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &idx); err != nil {
		t.Fatal(err)
	}
	for name, file := range idx.WeightMap {
		if _, shard, ok := c.Info(name); !ok || shard != file {
			t.Errorf("%s: shard %q, index says %q", name, shard, file)
		}
	}

	// Decoding through the checkpoint equals reading the shard directly.
	for _, name := range []string{NameFMHead0W, "language_model.model.layers.2.self_attn.k_norm_hw_mot_gen.weight", NameEmbedTokens} {
		sameAsShard(t, c, dir, name)
	}
}

// sameAsShard compares Checkpoint.Float32 and Tensor with the shard read
// on its own.
func sameAsShard(t *testing.T, c *Checkpoint, dir, name string) {
	t.Helper()
	tensor, err := c.Tensor(name)
	if err != nil {
		t.Fatal(err)
	}
	got, shape, err := c.Float32(name)
	if err != nil {
		t.Fatal(err)
	}
	f, err := safetensors.Open(filepath.Join(dir, tensor.Shard))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want, wantShape, err := f.Float32(name)
	if err != nil {
		t.Fatal(err)
	}
	if !shapeMatches(shape, wantShape) || !shapeMatches(tensor.Shape, wantShape) || len(got) != len(want) {
		t.Fatalf("%s: shape %v / %v, want %v", name, shape, tensor.Shape, wantShape)
	}
	if int64(len(tensor.Data)) != tensor.NumElements()*int64(tensor.DType.Size()) {
		t.Errorf("%s: %d bytes for %v %s", name, len(tensor.Data), tensor.Shape, tensor.DType)
	}
	nonzero := false
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("%s[%d] = %v, shard says %v", name, i, got[i], want[i])
		}
		nonzero = nonzero || got[i] != 0
	}
	if !nonzero {
		t.Errorf("%s decodes to all zeros", name)
	}
}

func TestGoldenPixelHead(t *testing.T) {
	dir := goldenDir(t, "pixelhead")
	c, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cfg := c.Config()
	for _, chk := range []struct {
		what      string
		got, want any
	}{
		{"layers", cfg.LLM.NumHiddenLayers, 2},
		{"heads", cfg.LLM.NumAttentionHeads, 6},
		{"kv heads", cfg.LLM.NumKeyValueHeads, 3},
		{"head_dim", cfg.LLM.HeadDim, 16},
		{"intermediate", cfg.LLM.IntermediateSize, 256},
		{"use_pixel_head", cfg.UsePixelHead, true},
		{"head type", cfg.HeadType(), "pixel"},
		{"noise_scale_max_value", cfg.NoiseScaleMaxValue, 16.0},
		{"tensors", c.Len(), 26*2 + 24},
		{"fm_head inner width", c.FMHeadWidth(), 0},
		{"shards", len(c.Shards()), 1},
		{"shard file", c.Shards()[0].File, SingleFile},
		{"shard dtypes", c.Shards()[0].DTypes["BF16"], 76},
	} {
		if chk.got != chk.want {
			t.Errorf("%s = %v, want %v", chk.what, chk.got, chk.want)
		}
	}
	if got, want := c.ParamCounts(), expectedCounts(cfg, 0); got != want {
		t.Errorf("param counts %+v, want %+v (MODEL.md 1.6 formulas)", got, want)
	}
	info, _, _ := c.Info("fm_modules.fm_head.conv1.weight")
	if !shapeMatches(info.Shape, []int64{1024, 32, 3, 3}) {
		t.Errorf("conv1 shape %v", info.Shape)
	}
	sameAsShard(t, c, dir, "fm_modules.fm_head.conv1.weight")
	sameAsShard(t, c, dir, "vision_model.embeddings.dense_embedding.weight")
}

func TestGoldenInterleaveOpens(t *testing.T) {
	c, err := Open(goldenDir(t, "interleave"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Len() != 102 || c.FMHeadWidth() != 256 {
		t.Errorf("%d tensors, fm_head width %d; want 102, 256", c.Len(), c.FMHeadWidth())
	}
}

func TestOpenHeadersMapsNothing(t *testing.T) {
	dir := goldenDir(t, "mlphead")
	h, err := OpenHeaders(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	full, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer full.Close()
	if h.Mapped() || !full.Mapped() {
		t.Error("Mapped() wrong")
	}
	if h.ParamCounts() != full.ParamCounts() || h.Len() != full.Len() || h.FMHeadWidth() != 256 {
		t.Errorf("headers-only counts %+v, mapped %+v", h.ParamCounts(), full.ParamCounts())
	}
	if _, err := h.Tensor(NameLMHead); !errors.Is(err, safetensors.ErrNotMapped) {
		t.Errorf("Tensor on a headers-only checkpoint: %v, want ErrNotMapped", err)
	}
	if _, _, err := h.Float32(NameLMHead); !errors.Is(err, safetensors.ErrNotMapped) {
		t.Errorf("Float32 on a headers-only checkpoint: %v, want ErrNotMapped", err)
	}
}

func TestTensorAccessErrors(t *testing.T) {
	c, err := Open(goldenDir(t, "pixelhead"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Tensor("no.such.weight")
	wantErr(t, err, `"no.such.weight"`, "no tensor")
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := c.Tensor(NameLMHead); !errors.Is(err, ErrClosed) {
		t.Errorf("Tensor after Close: %v, want ErrClosed", err)
	}
	if _, _, err := c.Float32(NameLMHead); !errors.Is(err, ErrClosed) {
		t.Errorf("Float32 after Close: %v, want ErrClosed", err)
	}
}
