package demo

import (
	"fmt"
	"strings"
)

// MarkerKey is the top-level config.json key that marks a demo checkpoint;
// its value is the Version the folder was made by. The checkpoint loader
// keeps it in Config.Extra and otherwise ignores it.
const MarkerKey = "sensenova_studio_demo"

// Sizes of the demo network (the real 8B-MoT values in brackets).
const (
	hidden       = 64   // llm hidden_size [4096]
	layers       = 2    // num_hidden_layers [42]
	heads        = 6    // num_attention_heads [32]
	kvHeads      = 2    // num_key_value_heads [8]
	headDim      = 32   // head_dim [128]
	intermediate = 128  // intermediate_size [12288]
	visionWidth  = 64   // vision hidden_size E [1024]
	patch        = 16   // patch_size P [16]: 32-px tokens, the real geometry
	vocabSize    = 1024 // vocab_size [151936]: larger than the tokenizer, as in the real model
	fmHeadWidth  = 96   // MLP fm_head inner width [4096]
	tokenPixels  = 2 * patch
)

// configText is the demo's config.json: every field of the released
// SenseNova-U1-8B-MoT config (checkpoint.ReferenceConfig), at toy width,
// plus the marker. noise_scale_base_image_seq_len 64 and the noise cap 8
// are the released values, so the noise scale follows the picture size as
// it does for the real model. The token ids are the tokenizer's, in the
// places of the real 151643 (<|endoftext|>) and 151645 (<|im_end|>).
func configText(td tokenizerData) string {
	endOfText, imEnd := td.addedAt, td.addedAt+2
	return strings.TrimLeft(fmt.Sprintf(`
{
  "architectures": ["NEOChatModel"],
  "model_type": "neo_chat",
  "%s": %d,
  "template": "neo1_0",
  "downsample_ratio": 0.5,
  "tie_word_embeddings": false,
  "torch_dtype": "bfloat16",
  "fm_head_layers": 2,
  "fm_head_dim": 1536,
  "fm_head_mlp_ratio": 1,
  "use_pixel_head": false,
  "concat_time_token_num": 0,
  "noise_scale": 1.0,
  "noise_scale_mode": "resolution",
  "noise_scale_base_image_seq_len": 64,
  "noise_scale_max_value": 8.0,
  "add_noise_scale_embedding": true,
  "time_schedule": "standard",
  "time_shift_type": "exponential",
  "base_shift": 0.5,
  "max_shift": 1.15,
  "base_image_seq_len": 64,
  "max_image_seq_len": 4096,
  "timestep_shift": 1.0,
  "t_eps": 0.05,
  "llm_config": {
    "architectures": ["Qwen3ForCausalLM"],
    "model_type": "qwen3",
    "vocab_size": %d,
    "hidden_size": %d,
    "intermediate_size": %d,
    "num_hidden_layers": %d,
    "num_attention_heads": %d,
    "num_key_value_heads": %d,
    "head_dim": %d,
    "hidden_act": "silu",
    "rms_norm_eps": 1e-06,
    "rope_theta": 5000000.0,
    "rope_theta_hw": 10000.0,
    "rope_scaling": null,
    "max_position_embeddings": 262144,
    "max_position_embeddings_hw": 10000,
    "attention_bias": false,
    "tie_word_embeddings": false,
    "use_sliding_window": false,
    "pad_token_id": %d,
    "bos_token_id": %d,
    "eos_token_id": %d,
    "torch_dtype": "bfloat16"
  },
  "vision_config": {
    "architectures": ["NEOVisionModel"],
    "model_type": "neo_vision",
    "num_channels": 3,
    "patch_size": %d,
    "hidden_size": %d,
    "llm_hidden_size": %d,
    "downsample_ratio": 0.5,
    "rope_theta_vision": 10000.0,
    "max_position_embeddings_vision": 10000,
    "min_pixels": 65536,
    "max_pixels": 4194304
  }
}
`, MarkerKey, Version, vocabSize, hidden, intermediate, layers, heads, kvHeads, headDim,
		endOfText, endOfText, imEnd, patch, visionWidth, hidden), "\n")
}
