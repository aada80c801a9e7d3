package tensor

import "math"

// Attention blocking: a task is one query head × attQB query rows; scores
// are produced attKC keys at a time through a float64 block of attQB×attKC
// and kept as one float32 row block of attQB × (visible keys).
const (
	attQB = 16
	attKC = 256
)

// Attention computes softmax(q·kᵀ·scale + mask)·v per query head for q
// [S, Nq·D] against the first nKeys rows of k, v [≥nKeys, Nkv·D]; query head
// h reads key/value head h / (Nq/Nkv). keyLimit, when non-nil, gives for
// every query row the number of leading keys it may see (1 … nKeys).
//
// Numerics as PyTorch's float32 eager attention: a score is
// float32(q·k)·scale in float32 (the dot product in float64), the softmax is
// taken in float64 over the visible keys with its maximum subtracted and the
// probabilities rounded to float32, and out = Σ p·v in float64, rounded.
// Work is split over heads × blocks of attQB queries; each goroutine holds at
// most attQB rows of scores. v is first transposed (one padded copy of its
// first nKeys rows).
func (c *CPU) Attention(q, k, v Tensor, nKeys, numHeads, numKVHeads int, scale float32, keyLimit []int32) Tensor {
	const op = "Attention"
	qs, qt := read(op, "q", q)
	ks, kt := read(op, "k", k)
	vs, vt := read(op, "v", v)
	if numHeads <= 0 || numKVHeads <= 0 || numHeads%numKVHeads != 0 {
		panicf(op, "%d query heads do not group over %d kv heads", numHeads, numKVHeads)
	}
	if len(qt.shape) != 2 || qt.shape[1]%numHeads != 0 || qt.shape[1] == 0 {
		panicf(op, "q %v is not [S, %d·D]", qt.shape, numHeads)
	}
	s, d := qt.shape[0], qt.shape[1]/numHeads
	if len(kt.shape) != 2 || len(vt.shape) != 2 || kt.shape[1] != numKVHeads*d || vt.shape[1] != numKVHeads*d {
		panicf(op, "q %v, k %v, v %v: want k, v [≥nKeys, %d·%d]", qt.shape, kt.shape, vt.shape, numKVHeads, d)
	}
	if nKeys <= 0 || nKeys > kt.shape[0] || nKeys > vt.shape[0] {
		panicf(op, "nKeys %d is outside [1, rows of k %v and v %v]", nKeys, kt.shape, vt.shape)
	}
	if keyLimit != nil {
		if len(keyLimit) != s {
			panicf(op, "q %v has %d rows but keyLimit has %d", qt.shape, s, len(keyLimit))
		}
		for i, l := range keyLimit {
			if l < 1 || int(l) > nKeys {
				panicf(op, "keyLimit[%d] = %d is outside [1, nKeys = %d]", i, l, nKeys)
			}
		}
	}
	out := make([]float32, s*numHeads*d)
	c.attention(out, qs, ks, vs, s, nKeys, numHeads, numKVHeads, d, scale, keyLimit)
	return newF32(out, s, numHeads*d)
}

// attention computes Attention into out [s, numHeads·d].
func (c *CPU) attention(out, qs, ks, vs []float32, s, nKeys, numHeads, numKVHeads, d int, scale float32, keyLimit []int32) {
	if s == 0 {
		return
	}
	ldq, ldk := numHeads*d, numKVHeads*d
	group := numHeads / numKVHeads

	// vT[h·d + e][j] = v[j][h·d + e], rows ldt apart, so that p·v runs on
	// the matrix kernel (accumulating rows of v directly measured slower,
	// even for one query). The padding keeps the rows written together from
	// mapping to one cache set when nKeys is a power of two.
	ldt := nKeys + 16
	vtp := c.scratch32(numKVHeads * d * ldt)
	defer c.put32(vtp)
	vT := *vtp
	const tb = 64
	kb := (nKeys + tb - 1) / tb
	c.parallelFor(numKVHeads*kb, tb*d, func(lo, hi int) {
		for t := lo; t < hi; t++ {
			h, j0 := t/kb, (t%kb)*tb
			dst := vT[h*d*ldt:]
			for j := j0; j < min(j0+tb, nKeys); j++ {
				for e, x := range vs[j*ldk+h*d : j*ldk+h*d+d] {
					dst[e*ldt+j] = x
				}
			}
		}
	})

	qBlocks := (s + attQB - 1) / attQB
	c.parallelFor(numHeads*qBlocks, 4*attQB*nKeys*d, func(lo, hi int) {
		accp := c.scratch64(attQB * max(attKC, d))
		defer c.put64(accp)
		e64p := c.scratch64(nKeys)
		defer c.put64(e64p)
		scp := c.scratch32(attQB * nKeys)
		defer c.put32(scp)
		acc, e64, sc := *accp, *e64p, *scp
		for t := lo; t < hi; t++ {
			h, i0 := t/qBlocks, (t%qBlocks)*attQB
			rows := min(attQB, s-i0)
			kvh := h / group
			lim := nKeys // keys visible to some row of the block
			if keyLimit != nil {
				lim = 0
				for _, l := range keyLimit[i0 : i0+rows] {
					lim = max(lim, int(l))
				}
			}
			qa := qs[i0*ldq+h*d:]
			// Scores, attKC keys at a time: sc[i·lim + j].
			for j0 := 0; j0 < lim; j0 += attKC {
				bn := min(attKC, lim-j0)
				clear(acc[:rows*bn])
				gemmNT(acc, bn, qa, ldq, ks[j0*ldk+kvh*d:], ldk, rows, bn, d)
				for i := range rows {
					dst := sc[i*lim+j0 : i*lim+j0+bn]
					for j, a := range acc[i*bn : i*bn+bn] {
						dst[j] = float32(a) * scale
					}
				}
			}
			// Softmax per row over its visible keys; zeros beyond them.
			for i := range rows {
				l := lim
				if keyLimit != nil {
					l = int(keyLimit[i0+i])
				}
				softmaxRow(sc[i*lim:i*lim+lim], l, e64)
			}
			// out = p·v: row e of vT is value dimension e of head kvh.
			clear(acc[:rows*d])
			gemmNT(acc, d, sc, lim, vT[kvh*d*ldt:], ldt, rows, d, lim)
			for i := range rows {
				o := out[(i0+i)*ldq+h*d : (i0+i)*ldq+h*d+d]
				for e, a := range acc[i*d : i*d+d] {
					o[e] = float32(a)
				}
			}
		}
	})
}

// softmaxRow replaces the first l scores of row by their softmax (float64
// with the maximum subtracted, probabilities rounded to float32) and the
// rest by zero; e64 is scratch of at least l values.
func softmaxRow(row []float32, l int, e64 []float64) {
	mx := row[0]
	for _, v := range row[1:l] {
		if v > mx {
			mx = v
		}
	}
	m := float64(mx)
	var sum float64
	e64 = e64[:l]
	for j, v := range row[:l] {
		e := math.Exp(float64(v) - m)
		e64[j] = e
		sum += e
	}
	for j, e := range e64 {
		row[j] = float32(e / sum)
	}
	clear(row[l:])
}
