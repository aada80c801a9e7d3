package hub

import "sort"

// span is the half-open byte range [Start, End).
type span struct{ Start, End int64 }

// spans is a set of byte ranges, kept sorted, disjoint and merged.
type spans []span

// add puts [a, b) in the set, merging it with ranges it touches.
func (s *spans) add(a, b int64) {
	if a >= b {
		return
	}
	out := make(spans, 0, len(*s)+1)
	placed := false
	for _, r := range *s {
		switch {
		case r.End < a:
			out = append(out, r)
		case b < r.Start:
			if !placed {
				out = append(out, span{a, b})
				placed = true
			}
			out = append(out, r)
		default: // overlaps or touches: widen the new range
			a, b = min(a, r.Start), max(b, r.End)
		}
	}
	if !placed {
		out = append(out, span{a, b})
	}
	*s = out
}

// covered is the number of bytes in the set.
func (s spans) covered() int64 {
	var n int64
	for _, r := range s {
		n += r.End - r.Start
	}
	return n
}

// missing is [0, size) minus the set.
func (s spans) missing(size int64) []span {
	var out []span
	pos := int64(0)
	for _, r := range s {
		if r.Start > pos {
			out = append(out, span{pos, min(r.Start, size)})
		}
		pos = max(pos, r.End)
		if pos >= size {
			break
		}
	}
	if pos < size {
		out = append(out, span{pos, size})
	}
	return out
}

// chunks cuts ranges into pieces of at most n bytes.
func chunks(rs []span, n int64) []span {
	var out []span
	for _, r := range rs {
		for a := r.Start; a < r.End; a += n {
			out = append(out, span{a, min(a+n, r.End)})
		}
	}
	return out
}

// spansFrom rebuilds a set from recorded pairs, rejecting any outside
// [0, size] or reversed.
func spansFrom(pairs [][2]int64, size int64) (spans, bool) {
	sorted := make([][2]int64, len(pairs))
	copy(sorted, pairs)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i][0] < sorted[j][0] })
	var s spans
	for _, p := range sorted {
		if p[0] < 0 || p[1] > size || p[0] > p[1] {
			return nil, false
		}
		s.add(p[0], p[1])
	}
	return s, true
}

// pairs is the set in its recorded form.
func (s spans) pairs() [][2]int64 {
	out := make([][2]int64, len(s))
	for i, r := range s {
		out[i] = [2]int64{r.Start, r.End}
	}
	return out
}
