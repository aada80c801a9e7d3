package prompt

import "fmt"

// SpecialIDs are the ids of the special tokens the pipelines act on, looked
// up in the checkpoint's own tokenizer (never hard-coded: the real vocabulary
// puts <img> at 151670, the golden tiny one at 664).
type SpecialIDs struct {
	ImStart, ImEnd   int
	Think, EndThink  int
	ImgStart, ImgEnd int
	ImgContext       int
}

// LookupSpecialIDs resolves every special token through lookup (typically
// (*tokenizer.Tokenizer).TokenID) and reports all missing ones at once.
func LookupSpecialIDs(lookup func(string) (int, bool)) (SpecialIDs, error) {
	var ids SpecialIDs
	var missing []string
	for _, e := range []struct {
		tok string
		dst *int
	}{
		{ImStart, &ids.ImStart}, {ImEnd, &ids.ImEnd},
		{Think, &ids.Think}, {EndThink, &ids.EndThink},
		{ImgStart, &ids.ImgStart}, {ImgEnd, &ids.ImgEnd},
		{ImgContext, &ids.ImgContext},
	} {
		id, ok := lookup(e.tok)
		if !ok {
			missing = append(missing, e.tok)
			continue
		}
		*e.dst = id
	}
	if len(missing) > 0 {
		return SpecialIDs{}, fmt.Errorf("prompt: the tokenizer has no token for %q: not a SenseNova-U1 tokenizer", missing)
	}
	return ids, nil
}

// Positions holds the three RoPE position indexes of a token sequence.
type Positions struct {
	T, H, W []int
}

// Len returns the number of tokens.
func (p Positions) Len() int { return len(p.T) }

// Append adds the positions of q after those of p.
func (p *Positions) Append(q Positions) {
	p.T = append(p.T, q.T...)
	p.H = append(p.H, q.H...)
	p.W = append(p.W, q.W...)
}

// MaxT returns the largest t (the t of the last token), or -1 when empty.
func (p Positions) MaxT() int {
	if len(p.T) == 0 {
		return -1
	}
	return p.T[len(p.T)-1]
}

// TokenGrid is the size of a picture in LLM tokens (32-px blocks): Rows =
// H/32, Cols = W/32.
type TokenGrid struct{ Rows, Cols int }

// Tokens returns Rows·Cols.
func (g TokenGrid) Tokens() int { return g.Rows * g.Cols }

// UpstreamImgStartID is the id of <img> in the real SenseNova-U1 vocabulary,
// which the reference's editing path hard-codes for its position rule
// instead of asking the tokenizer (PIPELINES.md 1.2). Pass a SpecialIDs whose
// ImgStart is this value to Indexes to reproduce that path on any
// tokenizer; on the real one it changes nothing.
const UpstreamImgStartID = 151670

// Indexes computes the (t, h, w) positions of a prompt (MODEL.md 3.3):
// t_k = Σ_{j≤k} ([ids_j ≠ <IMG_CONTEXT>] + [ids_{j−1} = sp.ImgStart]) − 1, so
// all <IMG_CONTEXT> tokens of one picture share t(<img>)+1 and </img> gets
// t(<img>)+2; the k-th run of <IMG_CONTEXT> tokens is picture k and its
// tokens get the row-major coordinates of grids[k]; every other token has
// h = w = 0. Each run must match its grid, and every grid must be used.
func Indexes(ids []int, sp SpecialIDs, grids []TokenGrid) (Positions, error) {
	p := Positions{T: make([]int, len(ids)), H: make([]int, len(ids)), W: make([]int, len(ids))}
	t := -1
	pic := -1 // index into grids of the run being read
	k := 0    // context token within that run
	for i, id := range ids {
		if id != sp.ImgContext {
			t++
		}
		if i > 0 && ids[i-1] == sp.ImgStart {
			t++
		}
		p.T[i] = t
		if id != sp.ImgContext {
			continue
		}
		if i == 0 || ids[i-1] != sp.ImgContext { // a new picture's run
			if err := checkRun(grids, pic, k); err != nil {
				return Positions{}, err
			}
			pic, k = pic+1, 0
			if pic >= len(grids) {
				return Positions{}, fmt.Errorf("prompt: the ids hold more pictures than the %d grid(s) given", len(grids))
			}
		}
		g := grids[pic]
		if k >= g.Tokens() {
			return Positions{}, fmt.Errorf("prompt: picture %d has more than the %d context tokens of its %dx%d grid", pic+1, g.Tokens(), g.Rows, g.Cols)
		}
		p.H[i], p.W[i] = k/g.Cols, k%g.Cols
		k++
	}
	if err := checkRun(grids, pic, k); err != nil {
		return Positions{}, err
	}
	if pic+1 != len(grids) {
		return Positions{}, fmt.Errorf("prompt: the ids hold %d picture(s), %d grid(s) were given", pic+1, len(grids))
	}
	return p, nil
}

// checkRun reports a finished run of context tokens shorter than its grid.
func checkRun(grids []TokenGrid, pic, k int) error {
	if pic >= 0 && k != grids[pic].Tokens() {
		g := grids[pic]
		return fmt.Errorf("prompt: picture %d has %d context tokens, its grid %dx%d needs %d", pic+1, k, g.Rows, g.Cols, g.Tokens())
	}
	return nil
}

// TextAfter returns the positions of n text tokens appended after a sequence
// whose last t is tLast: t = tLast+1 … tLast+n, h = w = 0. A decoded token
// is the case n = 1.
func TextAfter(tLast, n int) Positions {
	p := Positions{T: make([]int, n), H: make([]int, n), W: make([]int, n)}
	for i := range p.T {
		p.T[i] = tLast + 1 + i
	}
	return p
}

// ImageAt returns the positions of a picture's tokens that all share t, in
// row-major order over grid: h = k / Cols, w = k % Cols. This is the layout
// of a picture being generated (t = t(<img>)+1) and of a re-encoded picture
// appended to a cache.
func ImageAt(t int, grid TokenGrid) Positions {
	n := grid.Tokens()
	p := Positions{T: make([]int, n), H: make([]int, n), W: make([]int, n)}
	for k := 0; k < n; k++ {
		p.T[k] = t
		p.H[k], p.W[k] = k/grid.Cols, k%grid.Cols
	}
	return p
}

// AppendedImage returns the positions of a re-encoded picture plus its
// closing </img> appended after tLast (interleave): the picture's tokens at
// tLast+1 with grid coordinates, </img> at tLast+2.
func AppendedImage(tLast int, grid TokenGrid) Positions {
	p := ImageAt(tLast+1, grid)
	p.Append(TextAfter(tLast+1, 1))
	return p
}
