package tokenizer

import (
	"sync"
)

// Cache bounds: words longer than maxCachedWord bytes are not cached, and the
// cache stops growing at maxCacheEntries (like HuggingFace's, it does not
// evict).
const (
	maxCachedWord   = 256
	maxCacheEntries = 1 << 17
)

// mergeRule is what a pair of adjacent token ids merges into.
type mergeRule struct {
	rank  int32 // position in the merges list: lower merges first
	newID int32 // id of the concatenated token
}

func pairKey(a, b int32) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

// bpe is the BPE model over byte-level symbols.
type bpe struct {
	byteID       [256]int32 // vocab id of each byte's byte-level rune, -1 if absent
	merges       map[uint64]mergeRule
	unk          int32 // id of the unknown token, -1 for none
	fuseUnk      bool
	ignoreMerges bool
	vocab        map[string]int // only consulted when ignoreMerges

	mu    sync.RWMutex
	cache map[string][]int
}

// appendWord appends the ids of one pre-tokenized piece (raw bytes; the
// byte-level mapping is implied by byteID).
func (m *bpe) appendWord(dst []int, word string) []int {
	if len(word) <= maxCachedWord {
		m.mu.RLock()
		ids, ok := m.cache[word]
		m.mu.RUnlock()
		if ok {
			return append(dst, ids...)
		}
	}
	ids := m.word(word)
	if len(word) <= maxCachedWord {
		m.mu.Lock()
		if len(m.cache) < maxCacheEntries {
			m.cache[word] = ids
		}
		m.mu.Unlock()
	}
	return append(dst, ids...)
}

type symbol struct {
	id         int32
	prev, next int32 // neighbours' indexes, -1 at the ends
	dead       bool  // merged into its left neighbour
}

type pending struct {
	rank, pos, newID int32
}

// word runs BPE on one piece exactly as HuggingFace's Word::merge_all does:
// a priority queue of candidate merges ordered by (rank, position of the left
// symbol); a popped candidate is dropped if its left symbol is gone, has no
// right neighbour, or the current pair no longer merges into the same token.
func (m *bpe) word(word string) []int {
	if m.ignoreMerges {
		if id, ok := m.vocab[byteLevelEncode(word)]; ok {
			return []int{id}
		}
	}
	syms := make([]symbol, 0, len(word))
	lastUnk := false
	for i := 0; i < len(word); i++ {
		id := m.byteID[word[i]]
		if id < 0 {
			if m.unk < 0 {
				continue // no unk token: HuggingFace drops the rune
			}
			if m.fuseUnk && lastUnk {
				continue
			}
			id, lastUnk = m.unk, true
		} else {
			lastUnk = false
		}
		n := int32(len(syms))
		if n > 0 {
			syms[n-1].next = n
		}
		syms = append(syms, symbol{id: id, prev: n - 1, next: -1})
	}
	if len(syms) > 1 {
		m.mergeAll(syms)
	}
	out := make([]int, 0, len(syms))
	for _, s := range syms {
		if !s.dead {
			out = append(out, int(s.id))
		}
	}
	return out
}

func (m *bpe) mergeAll(syms []symbol) {
	h := make(pendingHeap, 0, len(syms))
	for i := 0; i+1 < len(syms); i++ {
		if r, ok := m.merges[pairKey(syms[i].id, syms[i+1].id)]; ok {
			h = append(h, pending{r.rank, int32(i), r.newID})
		}
	}
	h.init()
	for len(h) > 0 {
		top := h.pop()
		left := &syms[top.pos]
		if left.dead || left.next < 0 {
			continue
		}
		ri := left.next
		right := syms[ri]
		if r, ok := m.merges[pairKey(left.id, right.id)]; !ok || r.newID != top.newID {
			continue // stale entry
		}
		left.id = top.newID
		left.next = right.next
		syms[ri].dead = true
		if right.next >= 0 {
			syms[right.next].prev = top.pos
		}
		if left.prev >= 0 {
			if r, ok := m.merges[pairKey(syms[left.prev].id, left.id)]; ok {
				h.push(pending{r.rank, left.prev, r.newID})
			}
		}
		if left.next >= 0 {
			if r, ok := m.merges[pairKey(left.id, syms[left.next].id)]; ok {
				h.push(pending{r.rank, top.pos, r.newID})
			}
		}
	}
}

// pendingHeap is a binary min-heap on (rank, pos).
type pendingHeap []pending

func (h pendingHeap) less(i, j int) bool {
	if h[i].rank != h[j].rank {
		return h[i].rank < h[j].rank
	}
	return h[i].pos < h[j].pos
}

func (h pendingHeap) init() {
	for i := len(h)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}

func (h *pendingHeap) push(p pending) {
	*h = append(*h, p)
	s := *h
	for i := len(s) - 1; i > 0; {
		parent := (i - 1) / 2
		if !s.less(i, parent) {
			break
		}
		s[i], s[parent] = s[parent], s[i]
		i = parent
	}
}

func (h *pendingHeap) pop() pending {
	s := *h
	top := s[0]
	n := len(s) - 1
	s[0] = s[n]
	*h = s[:n]
	h.down(0)
	return top
}

func (h pendingHeap) down(i int) {
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		m := l
		if r := l + 1; r < len(h) && h.less(r, l) {
			m = r
		}
		if !h.less(m, i) {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}
