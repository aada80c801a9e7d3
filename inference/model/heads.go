package model

import (
	"fmt"
	"math"

	"github.com/sensenova/studio/inference/tensor"
)

// TimestepEmbedder maps a scalar to a hidden-size vector (MODEL.md 3.11):
// a 256-wide cos/sin sinusoid, Linear, SiLU, Linear. The same architecture
// embeds the flow time and the noise scale.
type TimestepEmbedder struct {
	W1 tensor.Tensor `weight:"mlp.0.weight"` // [Hd, 256]
	B1 tensor.Tensor `weight:"mlp.0.bias"`
	W2 tensor.Tensor `weight:"mlp.2.weight"` // [Hd, Hd]
	B2 tensor.Tensor `weight:"mlp.2.bias"`
}

// sinusoid is the embedder's input for s: cos then sin of s·exp(−ln(10000)·i/half),
// i < half, evaluated in float32 as the reference does.
func sinusoid(s float32, width int) []float32 {
	half := width / 2
	out := make([]float32, width)
	neg := float32(-math.Log(10000))
	for i := 0; i < half; i++ {
		e := neg * float32(i)
		e = e / float32(half)
		freq := float32(math.Exp(float64(e)))
		arg := s * freq
		out[i] = float32(math.Cos(float64(arg)))
		out[half+i] = float32(math.Sin(float64(arg)))
	}
	return out
}

func (m *Model) embedScalar(te *TimestepEmbedder, s float32) tensor.Tensor {
	b := m.b
	width := te.W1.Shape()[1]
	x := b.FromFloat32(sinusoid(s, width), 1, width)
	h := b.Linear(x, te.W1, te.B1)
	b.Free(x)
	a := b.SiLU(h)
	b.Free(h)
	out := b.Linear(a, te.W2, te.B2)
	b.Free(a)
	return out
}

// TimeEmbedding returns the vector added to every image token of a
// denoising step, [1, Hd]: the timestep embedding of the flow time t plus,
// when the checkpoint has a noise-scale embedder, the embedding of
// noiseScale / noise_scale_max_value.
func (m *Model) TimeEmbedding(t float32, noiseScale float64) tensor.Tensor {
	temb := m.embedScalar(&m.timeEmbed, t)
	if m.noiseEmbed != nil {
		nemb := m.embedScalar(m.noiseEmbed, float32(noiseScale/m.Config.NoiseScaleMaxValue))
		sum := m.b.Add(temb, nemb)
		m.b.Free(temb)
		m.b.Free(nemb)
		temb = sum
	}
	return temb
}

// MLPHead is the two-layer flow-matching head of the 8B-MoT (MODEL.md
// 3.12a): Linear(Hd → W), exact GELU, Linear(W → F); W is read from the
// weights (4096 upstream).
type MLPHead struct {
	W1 tensor.Tensor `weight:"0.weight"`
	B1 tensor.Tensor `weight:"0.bias"`
	W2 tensor.Tensor `weight:"2.weight"`
	B2 tensor.Tensor `weight:"2.bias"`
}

// PixelHead is the conv decoder of the U1.5 layout (MODEL.md 3.12b).
type PixelHead struct {
	Conv1W tensor.Tensor `weight:"conv1.weight"` // [1024, Hd/4, 3, 3]
	Conv1B tensor.Tensor `weight:"conv1.bias"`
	Conv2W tensor.Tensor `weight:"conv2.weight"` // [192, 256, 3, 3]
	Conv2B tensor.Tensor `weight:"conv2.bias"`
}

// Predict maps the normed hidden states of a picture's tokens [n, Hd]
// (row-major over a th×tw token grid) to the predicted clean picture in
// token layout, [n, F] with F = 3·T·T channel-last.
func (m *Model) Predict(hidden tensor.Tensor, th, tw int) (tensor.Tensor, error) {
	b := m.b
	if n := hidden.Shape()[0]; n != th*tw || n == 0 {
		return nil, fmt.Errorf("model: %d hidden rows for a %dx%d token grid", n, th, tw)
	}
	if m.mlpHead != nil {
		h := m.mlpHead
		a := b.Linear(hidden, h.W1, h.B1)
		g := b.GELU(a)
		b.Free(a)
		out := b.Linear(g, h.W2, h.B2)
		b.Free(g)
		return out, nil
	}
	p := m.pixelHead
	hd := m.Dims.Hidden
	// (n, Hd) → feature map (Hd, th, tw), channel = hidden dim.
	tr := b.Transpose(hidden)
	fmap := b.Reshape(tr, hd, th, tw)
	s1 := b.PixelShuffle(fmap, 2)
	b.Free(tr)
	c1 := b.Conv3x3(s1, p.Conv1W, p.Conv1B)
	b.Free(s1)
	g1 := b.GELU(c1)
	b.Free(c1)
	s2 := b.PixelShuffle(g1, 2)
	b.Free(g1)
	c2 := b.Conv3x3(s2, p.Conv2W, p.Conv2B)
	b.Free(s2)
	img := b.PixelShuffle(c2, 8)
	b.Free(c2)
	out := b.ImageToPatches(img, m.Dims.TokenPixels, true)
	b.Free(img)
	return out, nil
}
