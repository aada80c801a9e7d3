package checkpoint

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// writeReal writes the real 8B-MoT layout (or its U1.5 variant) header-only
// as sparse shards with an index.
func writeReal(t *testing.T, pixel bool, shards int) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "SenseNova-U1-8B-MoT")
	if err := WriteLayout(dir, mustJSON(t, realConfig(pixel)), LayoutOptions{Shards: shards, Sparse: true}); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestReal8BMoTLayout(t *testing.T) {
	dir := writeReal(t, false, 4)

	// Sparse: ≈35 GB of apparent size, almost nothing allocated.
	var apparent, allocated int64
	sparseKnown := false
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		apparent += fi.Size()
		if a, ok := allocatedBytes(filepath.Join(dir, e.Name())); ok {
			allocated += a
			sparseKnown = true
		}
	}
	if apparent < 35e9 {
		t.Errorf("apparent size %d bytes, want the full ≈35.1 GB", apparent)
	}
	if sparseKnown && allocated > 64<<20 {
		t.Errorf("the header-only checkpoint allocates %d bytes on disk; want a sparse file", allocated)
	}
	t.Logf("apparent %d bytes, allocated %d bytes (known: %t)", apparent, allocated, sparseKnown)

	c, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Len() != 1116 {
		t.Errorf("%d tensors, want 1116 (26·42 + 24)", c.Len())
	}
	if len(c.Shards()) != 4 {
		t.Errorf("%d shards, want 4", len(c.Shards()))
	}
	if c.FMHeadWidth() != 4096 {
		t.Errorf("fm_head width %d, want 4096", c.FMHeadWidth())
	}
	want := ParamCounts{Understanding: 8121323008, Generation: 8186358272, Shared: 1244659712, Total: 17552340992}
	if got := c.ParamCounts(); got != want {
		t.Errorf("param counts %+v, want %+v (docs/parameter_breakdown.md)", got, want)
	}
	if got := expectedCounts(c.Config(), 4096); got != want {
		t.Errorf("MODEL.md 1.6 formulas give %+v, want %+v", got, want)
	}
	if len(c.Warnings()) != 0 {
		t.Errorf("warnings: %v", c.Warnings())
	}
	// Sparse data reads as zeros through the mapping.
	vals, shape, err := c.Float32("language_model.model.layers.41.self_attn.k_norm_hw_mot_gen.weight")
	if err != nil || !shapeMatches(shape, []int64{64}) || vals[63] != 0 {
		t.Errorf("k_norm_hw_mot_gen: shape %v err %v", shape, err)
	}
	if tensor, err := c.Tensor(NameEmbedTokens); err != nil || len(tensor.Data) != 151936*4096*2 {
		t.Errorf("embed_tokens: %d bytes, %v", len(tensor.Data), err)
	}

	var text bytes.Buffer
	if err := c.Summary().WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"8.121B", "8,121,323,008", "8.186B", "8,186,358,272", "1.245B", "1,244,659,712", "17.552B", "17,552,340,992",
		"layers", "42", "4096 (32 query heads, 8 key/value heads, head_dim 128)", "mlp, inner width 4096", "5000000 (t)", "model-00004-of-00004.safetensors"} {
		if !strings.Contains(text.String(), s) {
			t.Errorf("summary text lacks %q:\n%s", s, text.String())
		}
	}
	t.Logf("\n%s", text.String())
}

func TestRealU15PixelHeadLayout(t *testing.T) {
	dir := writeReal(t, true, 3)
	c, err := OpenHeaders(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Len() != 1116 || c.FMHeadWidth() != 0 || c.Config().NoiseScaleMaxValue != 16 {
		t.Errorf("%d tensors, width %d, noise cap %v", c.Len(), c.FMHeadWidth(), c.Config().NoiseScaleMaxValue)
	}
	// MODEL.md 1.6: the pixel head replaces the 29,367,296-parameter MLP
	// head with 9,880,768 parameters; nothing else changes.
	const mlpHead, pixelHead = 29367296, 9880768
	pixelFormula := (1024*(4096/4)*3*3 + 1024) + (192*256*3*3 + 192)
	if pixelFormula != pixelHead {
		t.Fatalf("pixel head formula %d, MODEL.md says %d", pixelFormula, pixelHead)
	}
	want := ParamCounts{Understanding: 8121323008, Generation: 8186358272 - mlpHead + pixelHead, Shared: 1244659712}
	want.Total = want.Understanding + want.Generation + want.Shared
	if got := c.ParamCounts(); got != want {
		t.Errorf("param counts %+v, want %+v", got, want)
	}
	if got := expectedCounts(c.Config(), 0); got != want {
		t.Errorf("MODEL.md 1.6 formulas give %+v, want %+v", got, want)
	}
}

func TestSummaryJSONRoundTrip(t *testing.T) {
	c, err := Open(goldenDir(t, "mlphead"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s := c.Summary()
	data, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var back Summary
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, s) {
		t.Errorf("round trip changed the summary:\n%+v\n%+v", back, s)
	}

	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	pc := c.ParamCounts()
	for key, want := range map[string]int64{
		"understanding_params": pc.Understanding, "generation_params": pc.Generation,
		"shared_params": pc.Shared, "total_params": pc.Total, "tensors": 102, "layers": 3,
		"hidden_size": 128, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 32,
		"intermediate_size": 384, "vocab_size": 1024, "vision_hidden_size": 64, "patch_size": 16,
		"fm_head_width": 256,
	} {
		n, ok := m[key].(json.Number)
		if !ok {
			t.Errorf("%s: %T %v, want an integer", key, m[key], m[key])
			continue
		}
		if got, err := n.Int64(); err != nil || got != want {
			t.Errorf("%s = %s, want %d", key, n, want)
		}
	}
	for key, want := range map[string]string{"model_type": "neo_chat", "head_type": "mlp", "template": "neo1_0"} {
		if m[key] != want {
			t.Errorf("%s = %v, want %q", key, m[key], want)
		}
	}
	if m["noise_scale_max_value"] != json.Number("8") || m["rope_theta"] != json.Number("5000000") {
		t.Errorf("noise cap %v, rope theta %v", m["noise_scale_max_value"], m["rope_theta"])
	}
	shards, _ := m["shards"].([]any)
	if len(shards) != 3 {
		t.Fatalf("shards = %v", m["shards"])
	}
	for _, sh := range shards {
		o := sh.(map[string]any)
		if _, err := o["bytes"].(json.Number).Int64(); err != nil || o["file"] == "" {
			t.Errorf("shard entry %v", o)
		}
	}
	dt := m["dtypes"].(map[string]any)["BF16"].(map[string]any)
	if dt["tensors"] != json.Number("102") || dt["params"] != json.Number(itoa(pc.Total)) {
		t.Errorf("dtypes = %v", m["dtypes"])
	}
	if w, ok := m["warnings"].([]any); !ok || len(w) != 0 {
		t.Errorf("warnings = %v, want []", m["warnings"])
	}
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

func TestFormatParams(t *testing.T) {
	for n, want := range map[int64]string{
		8121323008: "8.121B", 17552340992: "17.552B", 622329856: "622.330M", 9880768: "9.881M",
		4096: "4.096K", 12: "12", 0: "0",
	} {
		if got := FormatParams(n); got != want {
			t.Errorf("FormatParams(%d) = %q, want %q", n, got, want)
		}
	}
	for n, want := range map[int64]string{8121323008: "8,121,323,008", 999: "999", 1000: "1,000", -1234567: "-1,234,567"} {
		if got := groupDigits(n); got != want {
			t.Errorf("groupDigits(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestReferenceConfigs(t *testing.T) {
	names := ReferenceConfigNames()
	if len(names) != 2 {
		t.Fatalf("reference configs %v, want the U1 and U1.5 8B-MoT", names)
	}
	for _, n := range names {
		data, err := ReferenceConfig(n)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := ParseConfig(data, n)
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		if cfg.LLM.NumHiddenLayers != 42 || cfg.LLM.HiddenSize != 4096 {
			t.Errorf("%s: %d layers, hidden %d", n, cfg.LLM.NumHiddenLayers, cfg.LLM.HiddenSize)
		}
	}
	if _, err := ReferenceConfig("SenseNova-U2"); err == nil || !strings.Contains(err.Error(), "SenseNova-U1-8B-MoT") {
		t.Errorf("unknown name: %v", err)
	}
}
