package pipeline

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"

	"github.com/sensenova/studio/inference/prompt"
)

// MaxThinkTokens bounds the reasoning of text-to-image and editing
// (upstream's _generate_think default).
const MaxThinkTokens = 1024

// think runs the greedy reasoning loop of PIPELINES.md 3.5 on the
// conditional branch, whose prompt ends with "<think>\n": starting from the
// argmax of the prefix's last scores, each token is kept and fed until
// <|im_end|> (neither kept nor fed), </think> (kept, fed, then stop) or
// limit tokens; then "\n\n<img>" is appended, so the picture's tokens
// follow. It returns the kept ids.
func (e *Engine) think(ctx context.Context, cond *branch, limit int, progress Progress) ([]int, error) {
	var kept []int
	stream := e.newTextStream(false, progress)
	defer stream.flush()
	e.chose(cond.logits)
	next := e.thinkToken(cond.logits, 0)
	for len(kept) < limit {
		if next == e.IDs.ImEnd {
			break
		}
		kept = append(kept, next)
		stream.push(next)
		logits, err := e.feed(ctx, cond, next)
		if err != nil {
			return kept, err
		}
		if next == e.IDs.EndThink {
			break
		}
		e.chose(logits)
		next = e.thinkToken(logits, len(kept))
	}
	tail := e.Tokenizer.Encode(prompt.AfterThinkText)
	if _, err := e.feed(ctx, cond, tail...); err != nil {
		return kept, err
	}
	return kept, nil
}

// thinkToken is the greedy choice from scores, or the k-th forced token
// of a test.
func (e *Engine) thinkToken(scores []float32, k int) int {
	if e.forceThink != nil {
		if k < len(e.forceThink) {
			return e.forceThink[k]
		}
		return e.IDs.ImEnd
	}
	return argmax(scores)
}

// TextSampling chooses how answers are decoded: greedy by default, or
// sampled with Hugging Face generate's processors in its order (repetition
// penalty, temperature, top-k, top-p) from a seeded generator.
type TextSampling struct {
	DoSample          bool
	Temperature       float64 // used when DoSample; > 0
	TopP              float64 // used when DoSample; (0, 1]
	TopK              int     // used when DoSample; 0 = no top-k filter
	RepetitionPenalty float64 // applied whenever ≠ 0 and ≠ 1 (also greedy)
	Seed              uint64
}

// Validate reports settings that cannot be honoured.
func (s TextSampling) Validate() error {
	if s.RepetitionPenalty < 0 || math.IsNaN(s.RepetitionPenalty) {
		return fmt.Errorf("repetition_penalty %v must be positive", s.RepetitionPenalty)
	}
	if !s.DoSample {
		return nil
	}
	if !(s.Temperature > 0) || math.IsInf(s.Temperature, 0) {
		return fmt.Errorf("temperature %v must be positive", s.Temperature)
	}
	if !(s.TopP > 0 && s.TopP <= 1) {
		return fmt.Errorf("top_p %v must be in (0, 1]", s.TopP)
	}
	if s.TopK < 0 {
		return fmt.Errorf("top_k %d must not be negative", s.TopK)
	}
	return nil
}

// picker chooses the next token from scores.
type picker struct {
	s   TextSampling
	rng *rand.Rand
}

func newPicker(s TextSampling) *picker {
	return &picker{s: s, rng: rand.New(rand.NewPCG(s.Seed, 0x5e45e40a))}
}

// pick applies the processors to a copy of scores and picks a token;
// generated holds the ids produced so far (the only ones the repetition
// penalty sees, as upstream passes embeddings rather than prompt ids).
func (p *picker) pick(scores []float32, generated []int) int {
	rp := p.s.RepetitionPenalty
	if !p.s.DoSample && (rp == 0 || rp == 1) {
		return argmax(scores)
	}
	logits := make([]float64, len(scores))
	for i, v := range scores {
		logits[i] = float64(v)
	}
	if rp != 0 && rp != 1 {
		seen := map[int]bool{}
		for _, id := range generated {
			if id < 0 || id >= len(logits) || seen[id] {
				continue
			}
			seen[id] = true
			if logits[id] > 0 {
				logits[id] /= rp
			} else {
				logits[id] *= rp
			}
		}
	}
	if !p.s.DoSample {
		best := 0
		for i, v := range logits {
			if v > logits[best] {
				best = i
			}
		}
		return best
	}
	for i := range logits {
		logits[i] /= p.s.Temperature
	}
	order := make([]int, len(logits))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return logits[order[a]] > logits[order[b]] })
	keep := len(order)
	if k := p.s.TopK; k > 0 && k < keep {
		// Ties with the k-th score survive, as in Hugging Face's filter.
		kth := logits[order[k-1]]
		keep = k
		for keep < len(order) && logits[order[keep]] == kth {
			keep++
		}
	}
	probs := softmax(logits, order[:keep])
	if p.s.TopP < 1 {
		// Keep the smallest head of the sorted list whose mass reaches top_p
		// (at least one token).
		cum := 0.0
		n := 0
		for n < keep {
			cum += probs[n]
			n++
			if cum >= p.s.TopP {
				break
			}
		}
		keep = n
		probs = softmax(logits, order[:keep])
	}
	r := p.rng.Float64()
	for i := 0; i < keep; i++ {
		r -= probs[i]
		if r < 0 {
			return order[i]
		}
	}
	return order[keep-1]
}

// softmax returns the probabilities of the logits at idx, in idx order.
func softmax(logits []float64, idx []int) []float64 {
	mx := math.Inf(-1)
	for _, i := range idx {
		mx = math.Max(mx, logits[i])
	}
	out := make([]float64, len(idx))
	var sum float64
	for j, i := range idx {
		out[j] = math.Exp(logits[i] - mx)
		sum += out[j]
	}
	for j := range out {
		out[j] /= sum
	}
	return out
}

// answer decodes generated ids as the VQA script reports them: special
// tokens skipped, cut at the first <|im_end|>, surrounding white space
// stripped (Python str.strip).
func (e *Engine) answer(ids []int) string {
	for i, id := range ids {
		if id == e.IDs.ImEnd {
			ids = ids[:i]
			break
		}
	}
	return strings.TrimFunc(e.Tokenizer.Decode(ids, true), isPythonSpace)
}

// isPythonSpace is Python's str.isspace for one rune.
func isPythonSpace(r rune) bool {
	switch r {
	case ' ', '\t', '\n', '\v', '\f', '\r', 0x1c, 0x1d, 0x1e, 0x1f, 0x85, 0xa0, 0x1680,
		0x2028, 0x2029, 0x202f, 0x205f, 0x3000:
		return true
	}
	return r >= 0x2000 && r <= 0x200a
}

// DecodeTokens prefills ids (a tokenized prompt without pictures) and then
// decodes n tokens greedily, each fed back, ignoring every stop token: the
// understanding expert's token-by-token path as reasoning and answers use
// it, for the benchmark. It returns the decoded ids.
func (e *Engine) DecodeTokens(ctx context.Context, ids []int, n int) (_ []int, err error) {
	defer recoverDeviceFailure(&err)
	br, err := e.prefillIDs(ctx, e.IDs, ids, nil, true)
	if err != nil {
		return nil, err
	}
	defer br.cache.Free()
	out := make([]int, 0, n)
	logits := br.logits
	for len(out) < n {
		next := argmax(logits)
		out = append(out, next)
		if len(out) == n {
			break
		}
		if logits, err = e.feed(ctx, br, next); err != nil {
			return out, err
		}
	}
	return out, nil
}
