package model

import "github.com/sensenova/studio/inference/tensor"

// Cache holds, per layer, the keys (after the q/k norms and RoPE) and values
// of the tokens a branch has seen: the prompt prefix, decoded tokens and
// appended blocks. Generation steps write their image tokens' keys and
// values after the committed rows for the duration of one forward without
// committing them, so the prefix is computed once and never changes
// (MODEL.md 5.6).
type Cache struct {
	m     *Model
	k, v  []tensor.Tensor // per layer [capacity, Nkv·D]
	n     int             // committed rows
	lastT int             // t of the last committed token; -1 when empty
}

// NewCache returns an empty cache with room for capacity tokens; it grows
// when needed.
func (m *Model) NewCache(capacity int) *Cache {
	c := &Cache{m: m, lastT: -1}
	c.alloc(max(capacity, 16))
	return c
}

func (c *Cache) alloc(capacity int) {
	b, kv := c.m.b, c.m.Dims.KVHeads*c.m.Dims.Head
	k := make([]tensor.Tensor, c.m.Dims.Layers)
	v := make([]tensor.Tensor, c.m.Dims.Layers)
	for l := range k {
		k[l] = b.Zeros(capacity, kv)
		v[l] = b.Zeros(capacity, kv)
		if c.n > 0 {
			b.CopyRows(k[l], 0, b.Rows(c.k[l], 0, c.n))
			b.CopyRows(v[l], 0, b.Rows(c.v[l], 0, c.n))
		}
	}
	for l := range c.k {
		b.Free(c.k[l])
		b.Free(c.v[l])
	}
	c.k, c.v = k, v
}

// reserve makes room for rows more tokens after the committed ones.
func (c *Cache) reserve(rows int) {
	capacity := c.k[0].Shape()[0]
	if c.n+rows <= capacity {
		return
	}
	c.alloc(max(c.n+rows, 2*capacity))
}

// Len returns the number of committed tokens.
func (c *Cache) Len() int { return c.n }

// LastT returns the t position of the last committed token (-1 if none).
func (c *Cache) LastT() int { return c.lastT }

// Keys returns a copy on the host of layer l's committed keys, [Len, Nkv·D].
func (c *Cache) Keys(l int) []float32 { return c.m.b.Float32(c.m.b.Rows(c.k[l], 0, c.n)) }

// Values returns a copy on the host of layer l's committed values.
func (c *Cache) Values(l int) []float32 { return c.m.b.Float32(c.m.b.Rows(c.v[l], 0, c.n)) }

// Free releases the cache's storage.
func (c *Cache) Free() {
	for l := range c.k {
		c.m.b.Free(c.k[l])
		c.m.b.Free(c.v[l])
	}
	c.k, c.v, c.n = nil, nil, 0
}
