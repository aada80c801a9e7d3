package model

import (
	"fmt"
	"math"

	"github.com/sensenova/studio/inference/prompt"
	"github.com/sensenova/studio/inference/tensor"
)

// toTensorPositions converts prompt positions to the backend's form.
func toTensorPositions(p prompt.Positions) tensor.Positions {
	conv := func(s []int) []int32 {
		out := make([]int32, len(s))
		for i, v := range s {
			out[i] = int32(v)
		}
		return out
	}
	return tensor.Positions{T: conv(p.T), H: conv(p.H), W: conv(p.W)}
}

// layerForward runs one decoder layer of expert e on x [S, Hd]. The new
// tokens' keys and values go to cache rows [c.n, c.n+S); attention reads
// the first c.n+S rows, each query row limited by keyLimit when non-nil.
func (m *Model) layerForward(c *Cache, l int, e *Expert, x tensor.Tensor, pos tensor.Positions, keyLimit []int32) tensor.Tensor {
	b, d := m.b, m.Dims
	s := x.Shape()[0]
	a := b.RMSNorm(x, e.InputNorm, d.Eps)
	q := b.Linear(a, e.Q, e.QBias)
	k := b.Linear(a, e.K, e.KBias)
	v := b.Linear(a, e.V, e.VBias)
	b.Free(a)
	qn := b.QKNorm(q, d.Head, e.QNorm, e.QNormHW, d.Eps)
	kn := b.QKNorm(k, d.Head, e.KNorm, e.KNormHW, d.Eps)
	b.Free(q)
	b.Free(k)
	qr := b.RoPE(qn, pos, d.RoPE)
	kr := b.RoPE(kn, pos, d.RoPE)
	b.Free(qn)
	b.Free(kn)
	b.CopyRows(c.k[l], c.n, kr)
	b.CopyRows(c.v[l], c.n, v)
	b.Free(kr)
	b.Free(v)
	o := b.Attention(qr, c.k[l], c.v[l], c.n+s, d.Heads, d.KVHeads, float32(1/math.Sqrt(float64(d.Head))), keyLimit)
	b.Free(qr)
	proj := b.Linear(o, e.O, e.OBias)
	b.Free(o)
	h := b.Add(x, proj)
	b.Free(proj)

	a2 := b.RMSNorm(h, e.PostNorm, d.Eps)
	gate := b.Linear(a2, e.Gate, nil)
	up := b.Linear(a2, e.Up, nil)
	b.Free(a2)
	act := b.SwiGLU(gate, up)
	b.Free(gate)
	b.Free(up)
	down := b.Linear(act, e.Down, nil)
	b.Free(act)
	out := b.Add(h, down)
	b.Free(h)
	b.Free(down)
	return out
}

// stack runs x through every layer with the understanding (gen false) or
// generation expert and returns the final-normed hidden states. x is not
// freed.
func (m *Model) stack(c *Cache, x tensor.Tensor, pos tensor.Positions, gen bool, keyLimit []int32) tensor.Tensor {
	b := m.b
	h := x
	for l := range m.layers {
		e := &m.layers[l].Und
		if gen {
			e = &m.layers[l].Gen
		}
		next := m.layerForward(c, l, e, h, pos, keyLimit)
		if h != x {
			b.Free(h)
		}
		h = next
	}
	norm := m.norm
	if gen {
		norm = m.normGen
	}
	out := b.RMSNorm(h, norm, m.Dims.Eps)
	if h != x {
		b.Free(h)
	}
	return out
}

// Prefill runs the understanding expert over embeds [S, Hd] (text and
// understanding-picture tokens) at positions pos, appends their keys and
// values to the cache permanently, and returns the final-normed hidden
// states [S, Hd]. Attention is block-causal over the whole cache (MODEL.md
// 3.4): every cached token is visible, new token i sees the new tokens up to
// i and every token sharing its t. This covers a prompt prefill, a decoded
// token, an appended text block and an appended re-encoded picture.
func (m *Model) Prefill(c *Cache, embeds tensor.Tensor, pos prompt.Positions) (tensor.Tensor, error) {
	s := embeds.Shape()[0]
	if pos.Len() != s || s == 0 {
		return nil, fmt.Errorf("model: prefill of %d embeddings with %d positions", s, pos.Len())
	}
	if pos.T[0] <= c.lastT {
		return nil, fmt.Errorf("model: new tokens start at t=%d, not after the cache's last t=%d", pos.T[0], c.lastT)
	}
	lim, err := prompt.KeyLimits(pos.T)
	if err != nil {
		return nil, err
	}
	keyLimit := make([]int32, s)
	for i, v := range lim {
		keyLimit[i] = int32(c.n + v)
	}
	c.reserve(s)
	h := m.stack(c, embeds, toTensorPositions(pos), false, keyLimit)
	c.n += s
	c.lastT = pos.MaxT()
	return h, nil
}

// Denoise runs the generation expert over the image tokens [n, Hd] of one
// denoising step at positions pos, attending to every committed cache row
// and to each other with no mask; the cache is left unchanged. It returns
// the hidden states after norm_mot_gen, [n, Hd].
func (m *Model) Denoise(c *Cache, tokens tensor.Tensor, pos prompt.Positions) (tensor.Tensor, error) {
	n := tokens.Shape()[0]
	if pos.Len() != n || n == 0 {
		return nil, fmt.Errorf("model: denoising %d tokens with %d positions", n, pos.Len())
	}
	c.reserve(n)
	return m.stack(c, tokens, toTensorPositions(pos), true, nil), nil
}

// EmbedTokens returns the embedding rows of ids, [len(ids), Hd].
func (m *Model) EmbedTokens(ids []int) (tensor.Tensor, error) {
	if len(ids) == 0 {
		return nil, fmt.Errorf("model: no tokens to embed")
	}
	rows := make([]int32, len(ids))
	for i, id := range ids {
		if id < 0 || id >= m.Dims.Vocab {
			return nil, fmt.Errorf("model: token id %d at position %d is outside the vocabulary [0, %d)", id, i, m.Dims.Vocab)
		}
		rows[i] = int32(id)
	}
	return m.b.Embed(m.embed, rows), nil
}

// EmbedPrompt embeds ids and replaces the rows of the <IMG_CONTEXT> tokens,
// in order, by the rows of the pictures' tokens (each [n_k, Hd], pictures in
// prompt order), as MODEL.md 3.10 step 6 does.
func (m *Model) EmbedPrompt(ids []int, imgContext int, pictures []tensor.Tensor) (tensor.Tensor, error) {
	x, err := m.EmbedTokens(ids)
	if err != nil {
		return nil, err
	}
	next := 0 // next picture
	for i := 0; i < len(ids); {
		if ids[i] != imgContext {
			i++
			continue
		}
		j := i
		for j < len(ids) && ids[j] == imgContext {
			j++
		}
		if next >= len(pictures) {
			return nil, fmt.Errorf("model: the prompt has more picture runs than the %d picture(s) given", len(pictures))
		}
		if rows := pictures[next].Shape()[0]; rows != j-i {
			return nil, fmt.Errorf("model: picture %d has %d tokens but its run of %s is %d long", next+1, rows, prompt.ImgContext, j-i)
		}
		m.b.CopyRows(x, i, pictures[next])
		next++
		i = j
	}
	if next != len(pictures) {
		return nil, fmt.Errorf("model: %d picture(s) given, the prompt has room for %d", len(pictures), next)
	}
	return x, nil
}

// Logits returns the lm_head scores of the last row of hidden, [Vocab], on
// the host.
func (m *Model) Logits(hidden tensor.Tensor) []float32 {
	last := m.b.Rows(hidden, hidden.Shape()[0]-1, 1)
	out := m.b.Linear(last, m.lmHead, nil)
	defer m.b.Free(out)
	return m.b.Float32(out)
}
