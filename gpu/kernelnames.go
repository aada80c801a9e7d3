package gpu

// kernelNameList is every kernel the CUDA backend loads from the embedded
// PTX (gpu/kernels); a test checks their parameters in both builds.
var kernelNameList = []string{
	"rmsnorm", "qknorm", "rope3", "patchrope", "gelu", "silu", "swiglu", "add", "addrow", "repeatrow", "biasround", "addcol",
	"combine4", "scalegroups", "dot", "embed", "transpose", "f32tobf16", "bf16tof32", "fillrandom", "fill",
	"merge2x2", "pixelshuffle", "img2patches", "patches2img", "im2col3x3", "gemm_tn", "gemm_simple",
	"attention_d16_w4", "attention_d32_w4", "attention_d64_w4", "attention_d128_w4", "attention_d128_w8",
	"eager_attention_d16_w4", "eager_attention_d32_w4", "eager_attention_d64_w4", "eager_attention_d128_w4", "eager_attention_d128_w8",
	"eager_probs_d16_w4", "eager_probs_d32_w4", "eager_probs_d64_w4", "eager_probs_d128_w4", "eager_probs_d128_w8",
	"repeatkv", "mergeheads",
}
