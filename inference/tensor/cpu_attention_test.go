package tensor

import (
	"fmt"
	"math"
	"testing"
)

// refAttention is softmax(q·kᵀ·scale)·v per head in float64, over the first
// nKeys (or keyLimit[i]) keys.
func refAttention(q, k, v []float32, s, nKeys, nq, nkv, d int, scale float32, keyLimit []int32) []float64 {
	out := make([]float64, s*nq*d)
	ldq, ldk := nq*d, nkv*d
	for i := range s {
		l := nKeys
		if keyLimit != nil {
			l = int(keyLimit[i])
		}
		for h := range nq {
			kvh := h / (nq / nkv)
			sc := make([]float64, l)
			mx := math.Inf(-1)
			for j := range l {
				var dot float64
				for e := range d {
					dot += float64(q[i*ldq+h*d+e]) * float64(k[j*ldk+kvh*d+e])
				}
				sc[j] = dot * float64(scale)
				mx = math.Max(mx, sc[j])
			}
			var sum float64
			for j := range sc {
				sc[j] = math.Exp(sc[j] - mx)
				sum += sc[j]
			}
			for j := range sc {
				p := sc[j] / sum
				for e := range d {
					out[i*ldq+h*d+e] += p * float64(v[j*ldk+kvh*d+e])
				}
			}
		}
	}
	return out
}

// blockCausal returns the key limits of a prefill of s new tokens after
// cached keys: query i sees the cache, every earlier token and its whole
// block (blocks given by their lengths, MODEL.md 3.4).
func blockCausal(cached int, blocks ...int) []int32 {
	var lim []int32
	end := cached
	for _, b := range blocks {
		end += b
		for range b {
			lim = append(lim, int32(end))
		}
	}
	return lim
}

// Measured max relative error against the float64 reference: 7e-8.
func TestAttention(t *testing.T) {
	r := newRNG(13)
	cases := []struct {
		name                     string
		s, kRows, nKeys, nq, nkv int
		d                        int
		limit                    []int32
	}{
		{"single", 1, 1, 1, 1, 1, 8, nil},
		{"R=2 nKeys<rows", 5, 10, 7, 4, 2, 16, nil},
		{"R=4 block-causal over 300 keys", 37, 300, 300, 8, 2, 32, blockCausal(263, 3, 1, 20, 1, 12)},
		{"R=1 causal", 20, 24, 20, 3, 3, 8, blockCausal(0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1)},
		{"decode R=4", 1, 600, 513, 8, 2, 16, nil},
		{"generation, no mask", 40, 70, 70, 4, 1, 24, nil},
	}
	for _, cs := range cases {
		c := NewCPU(3)
		d := cs.d
		qv := randVals(r, cs.s*cs.nq*d, 1.5)
		kv := randVals(r, cs.kRows*cs.nkv*d, 1.5)
		vv := randVals(r, cs.kRows*cs.nkv*d, 1)
		scale := float32(1 / math.Sqrt(float64(d)))
		// q as a view into a larger tensor.
		qBig := c.FromFloat32(append(randVals(r, 2*cs.nq*d, 1), qv...), cs.s+2, cs.nq*d)
		q := c.Rows(qBig, 2, cs.s)
		k, v := c.FromFloat32(kv, cs.kRows, cs.nkv*d), c.FromFloat32(vv, cs.kRows, cs.nkv*d)
		y := c.Attention(q, k, v, cs.nKeys, cs.nq, cs.nkv, scale, cs.limit)
		if !sameDims(y.Shape(), []int{cs.s, cs.nq * d}) {
			t.Fatalf("%s: shape %v", cs.name, y.Shape())
		}
		got := c.Float32(y)
		want := refAttention(qv, kv, vv, cs.s, cs.nKeys, cs.nq, cs.nkv, d, scale, cs.limit)
		checkClose(t, cs.name, got, want, relTol)

		// Same bits with one worker, with every query alone, and (without a
		// mask) with a mask that shows every key.
		one := NewCPU(1)
		checkSame(t, cs.name+" one worker", one.Float32(one.Attention(q, k, v, cs.nKeys, cs.nq, cs.nkv, scale, cs.limit)), got)
		for i := 0; i < cs.s; i += max(1, cs.s/4) {
			var lim []int32
			if cs.limit != nil {
				lim = cs.limit[i : i+1]
			}
			row := c.Float32(c.Attention(c.Rows(q, i, 1), k, v, cs.nKeys, cs.nq, cs.nkv, scale, lim))
			checkSame(t, fmt.Sprintf("%s query %d alone", cs.name, i), row, got[i*cs.nq*d:(i+1)*cs.nq*d])
		}
		if cs.limit == nil {
			all := make([]int32, cs.s)
			for i := range all {
				all[i] = int32(cs.nKeys)
			}
			checkSame(t, cs.name+" full mask", c.Float32(c.Attention(q, k, v, cs.nKeys, cs.nq, cs.nkv, scale, all)), got)
		}
	}
}

// A large score range: the maximum subtraction keeps the softmax finite.
func TestAttentionLargeScores(t *testing.T) {
	c := NewCPU(1)
	q := c.FromFloat32([]float32{100, 0}, 1, 2)
	k := c.FromFloat32([]float32{100, 0, 99, 0, -100, 0}, 3, 2)
	v := c.FromFloat32([]float32{1, 2, 3, 4, 5, 6}, 3, 2)
	got := c.Float32(c.Attention(q, k, v, 3, 1, 1, 1, nil))
	// Scores 10000, 9900, -10000: all weight on the first key.
	checkSame(t, "large scores", got, []float32{1, 2})
}

func TestAttentionPanics(t *testing.T) {
	c := NewCPU(1)
	q, k := c.Zeros(3, 32), c.Zeros(5, 16)
	mustPanic(t, []string{"tensor.Attention:", "4 query heads", "3 kv heads"}, func() { c.Attention(q, k, k, 5, 4, 3, 1, nil) })
	mustPanic(t, []string{"tensor.Attention:", "nKeys 6", "[5 16]"}, func() { c.Attention(q, k, k, 6, 4, 2, 1, nil) })
	mustPanic(t, []string{"tensor.Attention:", "keyLimit[1] = 0"}, func() { c.Attention(q, k, k, 5, 4, 2, 1, []int32{1, 0, 2}) })
	mustPanic(t, []string{"tensor.Attention:", "keyLimit[2] = 6"}, func() { c.Attention(q, k, k, 5, 4, 2, 1, []int32{1, 1, 6}) })
	mustPanic(t, []string{"tensor.Attention:", "keyLimit has 2"}, func() { c.Attention(q, k, k, 5, 4, 2, 1, []int32{1, 1}) })
	mustPanic(t, []string{"tensor.Attention:", "[3 32]", "[5 24]"}, func() { c.Attention(q, c.Zeros(5, 24), c.Zeros(5, 24), 5, 4, 2, 1, nil) })
	mustPanic(t, []string{"tensor.Attention:", "[5 16]", "[5 8]"}, func() { c.Attention(q, k, c.Zeros(5, 8), 5, 4, 2, 1, nil) })
}
