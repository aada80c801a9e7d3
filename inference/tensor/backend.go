// Package tensor defines the narrow interface the network is written against
// (Backend) and implements it for the CPU in float32 (CPU).
//
// A Tensor is a row-major array owned by one backend; the model never looks
// inside one except through Backend.Float32, so the same model code runs on
// the CPU backend here and on the CUDA backend in package gpu. Activations
// are float32 (the CPU) or bf16 (CUDA); weights keep the dtype the backend
// prefers (the CPU aliases the checkpoint's memory-mapped bf16 bytes).
//
// Shapes are checked by every op; a mismatch is a programming error and
// panics with a message naming the op and the shapes. Ops never see user
// input directly: the pipelines validate sizes, prompts and pictures first.
//
// Keep the op set small: an op exists because the model or the sampler needs
// it, and each is specified here precisely enough to be reimplemented as a
// GPU kernel and tested against the CPU one.
package tensor

import (
	"fmt"

	"github.com/sensenova/studio/inference/safetensors"
)

// DType is the element type of a tensor's storage.
type DType uint8

// Storage types.
const (
	F32 DType = iota
	BF16
)

func (d DType) String() string {
	switch d {
	case F32:
		return "F32"
	case BF16:
		return "BF16"
	}
	return fmt.Sprintf("DType(%d)", uint8(d))
}

// Tensor is a handle to backend-owned storage.
type Tensor interface {
	// Shape returns the dimensions (do not modify the slice).
	Shape() []int
	DType() DType
}

// NumElements returns the product of a tensor's dimensions.
func NumElements(t Tensor) int {
	n := 1
	for _, d := range t.Shape() {
		n *= d
	}
	return n
}

// Positions are the three RoPE position indexes (t, h, w) of a run of tokens,
// held on the host; backends copy what they need.
type Positions struct {
	T, H, W []int32
}

// Len is the number of tokens.
func (p Positions) Len() int { return len(p.T) }

// RoPEParams are the bases of the three-axis LLM RoPE (MODEL.md 3.2a).
type RoPEParams struct {
	HeadDim int     // D; the t part is [0, D/2), h is [D/2, 3D/4), w is [3D/4, D)
	ThetaT  float64 // rope_theta
	ThetaHW float64 // rope_theta_hw
}

// Term is one summand coef·X of Backend.Combine.
type Term struct {
	Coef float32
	X    Tensor
}

// Backend computes on tensors it owns. Unless said otherwise an op returns a
// new tensor and leaves its inputs unchanged; inputs and outputs are F32
// except the weights named w (which may be BF16 or F32). Biases (Linear,
// Conv3x3) and AddRow's row are usually checkpoint tensors too and may be
// BF16 like w.
type Backend interface {
	Name() string

	// --- memory ---

	// Zeros returns an F32 tensor of zeros.
	Zeros(shape ...int) Tensor
	// FromFloat32 copies host values into a new F32 tensor.
	FromFloat32(values []float32, shape ...int) Tensor
	// Weight makes a weight tensor from a checkpoint tensor's raw
	// little-endian bytes (BF16, F16 or F32). The backend may alias raw
	// (the CPU does for BF16/F32), so raw must outlive the tensor.
	Weight(dt safetensors.DType, raw []byte, shape ...int) (Tensor, error)
	// Float32 copies a tensor (any dtype) to the host.
	Float32(t Tensor) []float32
	// Free releases a tensor's storage early; using it afterwards is an
	// error. Views share storage with their parent: free only the parent.
	Free(t Tensor)

	// --- views and copies (dimension 0 is the row) ---

	// Reshape returns a view with another shape of the same element count.
	Reshape(t Tensor, shape ...int) Tensor
	// Rows returns a view of rows [start, start+n) of t.
	Rows(t Tensor, start, n int) Tensor
	// CopyRows writes src into dst starting at row dstRow (in place on dst).
	CopyRows(dst Tensor, dstRow int, src Tensor)
	// Transpose returns the transpose of a 2-D tensor.
	Transpose(x Tensor) Tensor

	// --- embeddings and linear algebra ---

	// Embed returns the rows ids of the table w [V, N] → [len(ids), N].
	Embed(w Tensor, ids []int32) Tensor

	// Linear returns x·wᵀ (+ bias): x [M,K], w [N,K], bias [N] or nil → [M,N].
	// A bf16 backend rounds the biased sum once, as torch's Linear does.
	Linear(x, w, bias Tensor) Tensor

	// --- normalisation and activations ---

	// RMSNorm normalises every contiguous run of len(w) values of x:
	// y = w ⊙ x / sqrt(mean(x²) + eps), statistics in float32.
	RMSNorm(x, w Tensor, eps float32) Tensor
	// QKNorm applies the split q/k RMSNorm of MODEL.md 3.5: x holds heads
	// of headDim values per row; within each head the first half is
	// normalised with wT and the second half with wHW (each [headDim/2]).
	QKNorm(x Tensor, headDim int, wT, wHW Tensor, eps float32) Tensor
	// SwiGLU returns silu(gate) ⊙ up.
	SwiGLU(gate, up Tensor) Tensor
	// GELU returns the exact (erf) GELU of x.
	GELU(x Tensor) Tensor
	// SiLU returns x·sigmoid(x).
	SiLU(x Tensor) Tensor

	// --- positions ---

	// RoPE rotates every head (p.HeadDim values) of every row of x [S, heads·D]
	// with the three-axis half-split RoPE of MODEL.md 3.2a: dims [0,D/2) by
	// pos.T[row] with ThetaT, [D/2,3D/4) by pos.H[row] and [3D/4,D) by
	// pos.W[row] with ThetaHW. Frequencies 1/θ^(2i/n) are float32.
	RoPE(x Tensor, pos Positions, p RoPEParams) Tensor
	// PatchRoPE rotates the feature vectors x [N, E] of 16-px patches with
	// the interleaved 2-D RoPE of MODEL.md 3.2b: pairs (2i, 2i+1) of dims
	// [0, E/2) by cols[n], of dims [E/2, E) by rows[n], base theta.
	PatchRoPE(x Tensor, cols, rows []int32, theta float64) Tensor

	// --- attention ---

	// Attention computes softmax(q·kᵀ·scale + mask)·v per query head for
	// q [S, Nq·D] against the first nKeys rows of k, v [≥nKeys, Nkv·D]; query
	// head h reads key/value head h / (Nq/Nkv). keyLimit, when non-nil,
	// holds for every query row the number of leading keys it may see, in
	// [1, nKeys] (block-causal prefill, MODEL.md 3.4); nil means every query
	// sees all nKeys keys. Softmax in float32. Returns [S, Nq·D].
	//
	// A bf16 backend follows the reference's arithmetic for each use
	// (MODEL.md 3.0): with keyLimit — the understanding expert's prefill,
	// which the reference runs as "eager" attention — scores are rounded
	// to bf16 after the product and after the scaling and the normalised
	// probabilities are rounded to bf16 before P·V; without it — the
	// generation expert's flash attention — scores stay float32. A float32
	// backend computes both the same way.
	Attention(q, k, v Tensor, nKeys, numHeads, numKVHeads int, scale float32, keyLimit []int32) Tensor

	// --- elementwise ---

	// Add returns a + b (same shapes).
	Add(a, b Tensor) Tensor
	// AddRow returns x with row added to each of its rows: x [M,N], row [N].
	AddRow(x, row Tensor) Tensor
	// Combine returns Σ coef·X over terms of equal shape.
	Combine(terms ...Term) Tensor
	// Dot returns, for each of `groups` equal contiguous groups of
	// elements, Σ x·y accumulated in float64.
	Dot(x, y Tensor, groups int) []float64
	// ScaleGroups multiplies each of len(scale) equal contiguous groups of
	// x by its factor.
	ScaleGroups(x Tensor, scale []float32) Tensor

	// --- image layouts ---

	// Merge2x2 gathers the 2×2 neighbourhoods of a patch grid for the merge
	// convolution: x [gh·gw, E] (patches row-major) → [(gh/2)·(gw/2), E·4]
	// with element e·4 + dy·2 + dx of token (r, c) = x[(2r+dy)·gw + 2c+dx][e].
	Merge2x2(x Tensor, gh, gw int) Tensor
	// PixelShuffle rearranges x [C·r², H, W] to [C, H·r, W·r]: input channel
	// c·r² + i·r + j at (y, x) goes to channel c at (y·r+i, x·r+j).
	PixelShuffle(x Tensor, r int) Tensor
	// ImageToPatches cuts an image [C, H, W] into p×p patches, row-major
	// over the (H/p)×(W/p) grid → [(H/p)·(W/p), C·p·p]. Within a patch the
	// values are ordered (channel, y, x) — channel first — or, with
	// channelLast, (y, x, channel).
	ImageToPatches(img Tensor, p int, channelLast bool) Tensor
	// PatchesToImage is the exact inverse of ImageToPatches for an image of
	// c channels and h×w pixels.
	PatchesToImage(patches Tensor, c, h, w, p int, channelLast bool) Tensor
	// Conv3x3 is a 3×3 convolution, stride 1, zero padding 1:
	// x [C, H, W], w [O, C, 3, 3], bias [O] or nil → [O, H, W]. A bf16
	// backend rounds the product, then adds the bias and rounds again, as
	// torch does after cuDNN's convolution.
	Conv3x3(x, w, bias Tensor) Tensor
}

// Streamer is a Backend that can keep weights in host memory and bring
// each to the device only for the ops that read it (layer streaming for
// cards whose memory cannot hold the whole model). Host weights are
// ordinary tensors to the model.
type Streamer interface {
	Backend
	// HostWeight is Weight with the storage in host memory. The backend
	// may alias raw, so raw must outlive the tensor.
	HostWeight(dt safetensors.DType, raw []byte, shape ...int) (Tensor, error)
	// ToHost moves a weight made on the device to host memory and frees
	// its device storage; t must not be used afterwards.
	ToHost(t Tensor) (Tensor, error)
	// HostBytes is the host memory the host weights hold, and how much of
	// it is page-locked.
	HostBytes() (held, pinned int64)
}
