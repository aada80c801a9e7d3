package model

import (
	"fmt"

	"github.com/sensenova/studio/inference/tensor"
)

// PatchEmbedder turns 16-px patches into LLM tokens (MODEL.md 3.9): a P×P
// conv (a linear map on each patch), exact GELU, the interleaved 2-D feature
// RoPE, then a 2×2 stride-2 conv merging four patches into one token.
type PatchEmbedder struct {
	PatchW    tensor.Tensor `weight:"patch_embedding.weight"` // [E, 3, P, P]
	PatchB    tensor.Tensor `weight:"patch_embedding.bias"`   // [E]
	MergeW    tensor.Tensor `weight:"dense_embedding.weight"` // [Hd, E, 2, 2]
	MergeB    tensor.Tensor `weight:"dense_embedding.bias"`   // [Hd]
	patchFlat tensor.Tensor
	mergeFlat tensor.Tensor
}

// Grid is a picture's size in 16-px patches.
type Grid struct{ Rows, Cols int }

// flat returns the two conv weights as matrices ([E, 3·P·P] and
// [Hd, E·4]); both keep the checkpoint's element order, which is the order
// of the patch vectors and of Merge2x2's output.
func (pe *PatchEmbedder) flat(b tensor.Backend) (tensor.Tensor, tensor.Tensor) {
	if pe.patchFlat == nil {
		ps, ms := pe.PatchW.Shape(), pe.MergeW.Shape()
		pe.patchFlat = b.Reshape(pe.PatchW, ps[0], ps[1]*ps[2]*ps[3])
		pe.mergeFlat = b.Reshape(pe.MergeW, ms[0], ms[1]*ms[2]*ms[3])
	}
	return pe.patchFlat, pe.mergeFlat
}

// embed runs the embedder on the patches of one picture, [gh·gw, 3·P·P]
// (channel-first patches, row-major), and returns [gh/2·gw/2, Hd].
func (m *Model) runEmbedder(pe *PatchEmbedder, patches tensor.Tensor, g Grid) (tensor.Tensor, error) {
	b, d := m.b, m.Dims
	if g.Rows <= 0 || g.Cols <= 0 || g.Rows%2 != 0 || g.Cols%2 != 0 {
		return nil, fmt.Errorf("model: patch grid %dx%d must be positive and even", g.Rows, g.Cols)
	}
	if s := patches.Shape(); len(s) != 2 || s[0] != g.Rows*g.Cols || s[1] != 3*d.Patch*d.Patch {
		return nil, fmt.Errorf("model: patches of shape %v for a %dx%d grid, want [%d %d]", s, g.Rows, g.Cols, g.Rows*g.Cols, 3*d.Patch*d.Patch)
	}
	pw, mw := pe.flat(b)
	feat := convLinear(b, patches, pw, pe.PatchB)
	act := b.GELU(feat)
	b.Free(feat)
	cols := make([]int32, g.Rows*g.Cols)
	rows := make([]int32, g.Rows*g.Cols)
	for k := range cols {
		cols[k], rows[k] = int32(k%g.Cols), int32(k/g.Cols)
	}
	rot := b.PatchRoPE(act, cols, rows, d.VisionTheta)
	b.Free(act)
	merged := b.Merge2x2(rot, g.Rows, g.Cols)
	b.Free(rot)
	out := convLinear(b, merged, mw, pe.MergeB)
	b.Free(merged)
	return out, nil
}

// convLinear is a convolution computed as a Linear map, x·wᵀ + bias, with
// the bias added the way the reference's convolutions add it: cuDNN returns
// the product in the model's dtype and torch adds the bias afterwards, two
// roundings in bf16 where a Linear's fused bias has one.
func convLinear(b tensor.Backend, x, w, bias tensor.Tensor) tensor.Tensor {
	y := b.Linear(x, w, nil)
	out := b.AddRow(y, bias)
	b.Free(y)
	return out
}

// EmbedPicture runs the understanding embedder (vision_model) on the
// ImageNet-normalised patches of a context picture.
func (m *Model) EmbedPicture(patches tensor.Tensor, g Grid) (tensor.Tensor, error) {
	return m.runEmbedder(&m.vision, patches, g)
}

// EmbedCanvas runs the generation embedder (vision_model_mot_gen) on the
// patches of the noisy canvas.
func (m *Model) EmbedCanvas(patches tensor.Tensor, g Grid) (tensor.Tensor, error) {
	return m.runEmbedder(&m.visionGen, patches, g)
}
