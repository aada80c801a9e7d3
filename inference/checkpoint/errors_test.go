package checkpoint

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sensenova/studio/inference/safetensors"
)

func TestTinyLayoutOpens(t *testing.T) {
	for _, shards := range []int{1, 2, 5} {
		dir := writeTiny(t, tinyConfig(), shards)
		c, err := Open(dir)
		if err != nil {
			t.Fatalf("%d shards: %v", shards, err)
		}
		if c.Len() != 26*2+24 || c.FMHeadWidth() != 32 || len(c.Shards()) != shards || len(c.Warnings()) != 0 {
			t.Errorf("%d shards: %d tensors, width %d, %d files, warnings %v", shards, c.Len(), c.FMHeadWidth(), len(c.Shards()), c.Warnings())
		}
		if got, want := c.ParamCounts(), expectedCounts(c.Config(), 32); got != want {
			t.Errorf("%d shards: counts %+v, want %+v", shards, got, want)
		}
		c.Close()
	}
}

func TestTruncatedShard(t *testing.T) {
	dir := writeTiny(t, tinyConfig(), 2)
	shard := "model-00002-of-00002.safetensors"
	path := filepath.Join(dir, shard)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, fi.Size()-100); err != nil {
		t.Fatal(err)
	}
	_, err = Open(dir)
	wantErr(t, err, "checkpoint "+dir, shard, "truncated")
	if le := layoutError(t, err); len(le.Problems) != 1 {
		t.Errorf("%d problems, want just the truncated shard (its tensors are not reported again as missing):\n%v", len(le.Problems), err)
	}
}

func TestHeaderLongerThanFile(t *testing.T) {
	dir := writeTiny(t, tinyConfig(), 1)
	path := filepath.Join(dir, SingleFile)
	fi, _ := os.Stat(path)
	writeRaw(t, path, readRaw(t, path), uint64(fi.Size())*2)
	_, err := Open(dir)
	wantErr(t, err, "checkpoint "+dir, SingleFile, "header length field says")
}

func TestOverlappingOffsets(t *testing.T) {
	dir := writeTiny(t, tinyConfig(), 1)
	path := filepath.Join(dir, SingleFile)
	a := "language_model.model.layers.0.self_attn.q_norm.weight"
	b := "language_model.model.layers.0.self_attn.k_norm.weight"
	editShard(t, path, func(ts []rawTensor) []rawTensor {
		ia, ib := find(ts, a), find(ts, b)
		// Lay the tensors out normally, then point b at a's bytes.
		var off int64
		for i := range ts {
			o := [2]int64{off, off + int64(len(ts[i].Data))}
			ts[i].Offsets = &o
			off += int64(len(ts[i].Data))
		}
		shifted := [2]int64{ts[ia].Offsets[0] + 2, ts[ia].Offsets[1] + 2}
		ts[ib].Offsets = &shifted
		return ts
	})
	_, err := Open(dir)
	wantErr(t, err, "checkpoint "+dir, SingleFile, "overlap", a, b)
}

func TestUnknownDType(t *testing.T) {
	dir := writeTiny(t, tinyConfig(), 1)
	path := filepath.Join(dir, SingleFile)
	name := "language_model.model.norm.weight"
	editShard(t, path, func(ts []rawTensor) []rawTensor {
		ts[find(ts, name)].DType = "Q4"
		return ts
	})
	_, err := Open(dir)
	wantErr(t, err, "checkpoint "+dir, SingleFile, name, `"Q4"`)
}

func TestIndexNamesMissingShard(t *testing.T) {
	dir := writeTiny(t, tinyConfig(), 3)
	gone := "model-00003-of-00003.safetensors"
	if err := os.Remove(filepath.Join(dir, gone)); err != nil {
		t.Fatal(err)
	}
	_, err := Open(dir)
	wantErr(t, err, "checkpoint "+dir, IndexFile, gone, "does not exist")
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("errors.Is(err, fs.ErrNotExist) = false for %v", err)
	}
	if le := layoutError(t, err); len(le.Problems) != 1 {
		t.Errorf("%d problems, want 1 (the shard's tensors are not listed again):\n%v", len(le.Problems), err)
	}

	// A problem in a readable shard is reported together with it.
	first := "model-00001-of-00003.safetensors"
	var bad string
	editShard(t, filepath.Join(dir, first), func(ts []rawTensor) []rawTensor {
		ts[0].Shape = append([]int64{1}, ts[0].Shape...)
		bad = ts[0].Name
		return ts
	})
	_, err = Open(dir)
	wantErr(t, err, "2 problems", gone, fmt.Sprintf("tensor %q in %s has shape", bad, first))
}

func TestBadIndex(t *testing.T) {
	dir := writeTiny(t, tinyConfig(), 2)
	path := filepath.Join(dir, IndexFile)
	os.WriteFile(path, []byte("{\n  \"weight_map\": {\n    \"a\": \"b\",\n  }\n}\n"), 0o644)
	_, err := Open(dir)
	wantErr(t, err, "checkpoint "+dir, IndexFile+":4:3:", "invalid JSON")

	os.WriteFile(path, []byte(`{"metadata": {}}`), 0o644)
	_, err = Open(dir)
	wantErr(t, err, "no weight_map entries")

	os.WriteFile(path, []byte(`{"weight_map": {"language_model.lm_head.weight": "../elsewhere.safetensors"}}`), 0o644)
	_, err = Open(dir)
	wantErr(t, err, `maps tensor "language_model.lm_head.weight" to "../elsewhere.safetensors": want a file name inside the model folder`)
}

func TestMissingMisshapedWrongDTypeTogether(t *testing.T) {
	dir := writeTiny(t, tinyConfig(), 1)
	path := filepath.Join(dir, SingleFile)
	gone := "language_model.model.layers.1.mlp.up_proj.weight"
	reshaped := "language_model.model.norm.weight"
	ints := "language_model.model.layers.0.input_layernorm.weight"
	editShard(t, path, func(ts []rawTensor) []rawTensor {
		ts[find(ts, reshaped)].Shape = []int64{2, 32}
		i := find(ts, ints)
		ts[i].DType, ts[i].Data = "I64", make([]byte, 64*8)
		g := find(ts, gone)
		return append(ts[:g], ts[g+1:]...)
	})
	_, err := Open(dir)
	le := layoutError(t, err)
	if len(le.Problems) != 3 {
		t.Errorf("%d problems, want 3:\n%v", len(le.Problems), err)
	}
	wantErr(t, err, "checkpoint "+dir, "3 problems",
		fmt.Sprintf("tensor %q (understanding, shape [128 64]) is missing", gone),
		fmt.Sprintf("tensor %q in %s has shape [2 32], want [64]", reshaped, SingleFile),
		fmt.Sprintf("tensor %q in %s has dtype I64, want a float type", ints, SingleFile))
	for _, p := range le.Problems {
		if p.Tensor == "" {
			t.Errorf("problem without tensor name: %+v", p)
		}
	}
}

func TestIndexEntryNotInShard(t *testing.T) {
	dir := writeTiny(t, tinyConfig(), 2)
	moved := NameEmbedTokens
	from := shardOf(t, dir, moved)
	to := "model-00002-of-00002.safetensors"
	if from == to {
		to = "model-00001-of-00002.safetensors"
	}
	editIndex(t, dir, func(m map[string]string) {
		m[moved] = to
		m["phantom.weight"] = from
	})
	_, err := Open(dir)
	wantErr(t, err, "checkpoint "+dir, "2 problems",
		fmt.Sprintf("puts tensor %q in %s, but that shard does not hold it (it is in %s)", moved, to, from),
		fmt.Sprintf("puts tensor %q in %s, but that shard does not hold it", "phantom.weight", from))
}

func TestTensorInTwoShards(t *testing.T) {
	dir := writeTiny(t, tinyConfig(), 2)
	dup := NameNormGen
	from := shardOf(t, dir, dup)
	other := "model-00001-of-00002.safetensors"
	if from == other {
		other = "model-00002-of-00002.safetensors"
	}
	src := readRaw(t, filepath.Join(dir, from))
	editShard(t, filepath.Join(dir, other), func(ts []rawTensor) []rawTensor {
		return append(ts, src[find(src, dup)])
	})
	_, err := Open(dir)
	wantErr(t, err, "checkpoint "+dir, dup, "stored in two shards", from, other)
}

func TestNoWeights(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, ConfigFile), mustJSON(t, tinyConfig()), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Open(dir)
	wantErr(t, err, "checkpoint "+dir, "no weights", SingleFile, IndexFile, "no weight files")

	// Shards without their index, and a GGUF file, are named.
	for _, f := range []string{"model-00001-of-00002.safetensors", "u1.gguf"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, err = Open(dir)
	wantErr(t, err, "model-00001-of-00002.safetensors", "u1.gguf")
}

func TestFolderDoesNotExist(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nowhere")
	_, err := Open(dir)
	wantErr(t, err, "checkpoint "+dir, "does not exist")
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("errors.Is(err, fs.ErrNotExist) = false for %v", err)
	}
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o644)
	_, err = Open(file)
	wantErr(t, err, "not a folder")
}

func TestConfigMissing(t *testing.T) {
	dir := writeTiny(t, tinyConfig(), 1)
	if err := os.Remove(filepath.Join(dir, ConfigFile)); err != nil {
		t.Fatal(err)
	}
	_, err := Open(dir)
	wantErr(t, err, "checkpoint "+dir, "no config.json")
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("errors.Is(err, fs.ErrNotExist) = false for %v", err)
	}
}

func TestOpenReportsConfigErrors(t *testing.T) {
	dir := writeTiny(t, tinyConfig(), 1)
	os.WriteFile(filepath.Join(dir, ConfigFile), []byte(`{"model_type": "llama", "architectures": ["LlamaForCausalLM"]}`), 0o644)
	_, err := Open(dir)
	wantErr(t, err, filepath.Join(dir, ConfigFile), "not a SenseNova-U1 checkpoint", `"llama"`)
	if !errors.Is(err, ErrNotSenseNova) {
		t.Errorf("not ErrNotSenseNova: %v", err)
	}
}

func TestUnexpectedTensorsAreWarnings(t *testing.T) {
	dir := writeTiny(t, tinyConfig(), 1)
	path := filepath.Join(dir, SingleFile)
	editShard(t, path, func(ts []rawTensor) []rawTensor {
		return append(ts, rawTensor{Name: "extra.lora_down.weight", DType: "F32", Shape: []int64{2, 2}, Data: make([]byte, 16)},
			rawTensor{Name: "language_model.model.layers.0.self_attn.q_proj.bias", DType: "BF16", Shape: []int64{128}, Data: make([]byte, 256)})
	})
	c, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	warn := strings.Join(c.Warnings(), "\n")
	for _, s := range []string{`"extra.lora_down.weight"`, `"language_model.model.layers.0.self_attn.q_proj.bias"`, "unexpected"} {
		if !strings.Contains(warn, s) {
			t.Errorf("warnings lack %q:\n%s", s, warn)
		}
	}
	pc, want := c.ParamCounts(), expectedCounts(c.Config(), 32)
	if pc.Other != 4 || pc.Understanding != want.Understanding+128 || pc.Total != want.Total+132 {
		t.Errorf("counts %+v (layout %+v)", pc, want)
	}
	if s := c.Summary(); len(s.Warnings) != 2 || s.Tensors != 78 {
		t.Errorf("summary: %d warnings, %d tensors", len(s.Warnings), s.Tensors)
	}
}

func TestFMHeadWidthMustAgree(t *testing.T) {
	dir := writeTiny(t, tinyConfig(), 1)
	path := filepath.Join(dir, SingleFile)
	bias := "fm_modules.fm_head.0.bias"
	editShard(t, path, func(ts []rawTensor) []rawTensor {
		i := find(ts, bias)
		ts[i].Shape, ts[i].Data = []int64{33}, make([]byte, 66)
		return ts
	})
	_, err := Open(dir)
	wantErr(t, err, bias, "has shape [33], want [32]", "fm_head inner width 32, read from "+NameFMHead0W)
}

func TestHeadMismatchHint(t *testing.T) {
	pixel := tinyConfig()
	pixel["use_pixel_head"] = true
	dir := writeTiny(t, pixel, 1)
	os.WriteFile(filepath.Join(dir, ConfigFile), mustJSON(t, tinyConfig()), 0o644)
	_, err := Open(dir)
	wantErr(t, err, "4 problems", `"fm_modules.fm_head.2.weight" (generation, shape [3072 W]) is missing`, "says use_pixel_head false, but the weights hold a conv pixel head")
}

func TestWriteLayoutOptions(t *testing.T) {
	// Refuses to overwrite a checkpoint.
	dir := writeTiny(t, tinyConfig(), 1)
	err := WriteLayout(dir, mustJSON(t, tinyConfig()), LayoutOptions{})
	wantErr(t, err, "refusing to overwrite")
	err = WriteLayout(t.TempDir(), mustJSON(t, tinyConfig()), LayoutOptions{Sparse: true, Fill: func(TensorSpec, []float32) {}})
	wantErr(t, err, "Fill cannot be used with Sparse")
	err = WriteLayout(t.TempDir(), []byte(`{"model_type":"qwen3"}`), LayoutOptions{})
	wantErr(t, err, "not a SenseNova-U1 checkpoint")

	// Seeded default fill is deterministic per seed.
	a, b, c := writeTiny(t, tinyConfig(), 2), writeTiny(t, tinyConfig(), 3), filepath.Join(t.TempDir(), "c")
	if err := WriteLayout(c, mustJSON(t, tinyConfig()), LayoutOptions{FMHeadWidth: 32, Seed: 2}); err != nil {
		t.Fatal(err)
	}
	ca, _ := Open(a)
	cb, _ := Open(b)
	cc, _ := Open(c)
	defer ca.Close()
	defer cb.Close()
	defer cc.Close()
	va, _, _ := ca.Float32(NameLMHead)
	vb, _, _ := cb.Float32(NameLMHead)
	vc, _, _ := cc.Float32(NameLMHead)
	if va[0] != vb[0] || va[len(va)-1] != vb[len(vb)-1] || va[0] == vc[0] {
		t.Errorf("seeded fill: %v %v %v", va[0], vb[0], vc[0])
	}
	norm, _, _ := ca.Float32(NameNorm)
	if norm[0] < 0.5 || norm[0] > 1.5 {
		t.Errorf("RMSNorm weight %v, want about 1", norm[0])
	}

	// F32 with a custom fill, tied embeddings (no lm_head saved), attention
	// biases and no noise-scale embedder.
	cfg := tinyConfig()
	llmOf(cfg)["tie_word_embeddings"] = true
	llmOf(cfg)["attention_bias"] = true
	cfg["add_noise_scale_embedding"] = false
	d := filepath.Join(t.TempDir(), "f32")
	err = WriteLayout(d, mustJSON(t, cfg), LayoutOptions{DType: safetensors.F32, FMHeadWidth: 8, Fill: func(s TensorSpec, v []float32) {
		for i := range v {
			v[i] = float32(len(s.Shape)) + float32(i%7)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	ck, err := Open(d)
	if err != nil {
		t.Fatal(err)
	}
	defer ck.Close()
	if want := 26*2 + 24 + 8*2 - 4 - 1; ck.Len() != want {
		t.Errorf("%d tensors, want %d", ck.Len(), want)
	}
	if _, _, ok := ck.Info(NameLMHead); ok {
		t.Error("tied lm_head was written")
	}
	v, _, err := ck.Float32("language_model.model.layers.1.self_attn.o_proj_mot_gen.bias")
	if err != nil || v[0] != 1 || v[3] != 4 {
		t.Errorf("fill: %v %v", v[:4], err)
	}
	if ck.Shards()[0].DTypes["F32"] != ck.Len() || ck.FMHeadWidth() != 8 {
		t.Errorf("shards %+v, width %d", ck.Shards(), ck.FMHeadWidth())
	}
}
