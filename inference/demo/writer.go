package demo

import (
	"fmt"
	"math"

	"github.com/sensenova/studio/inference/safetensors"
)

// The writer: the hand-set part of the understanding path (weights.go
// gives the overview). It writes sentences of a small grammar, decides
// where pictures go in a storyboard and when an answer or a reasoning
// block ends. It works in residual dimensions of text tokens, which the
// generation path never reads, and leaves alone what that path does read:
// word tokens' embeddings and layer-0 keys and values, and <img>'s keys and
// values (whose layer-1 input is now exactly its marker: the writer's
// layer-0 heads make <img> attend to itself, whose values there are 0).
//
// Kinds of text token. Words (a letter, digit or non-ASCII byte) keep
// their random embedding and dText. Markers (</img>, "assistant",
// <|im_start|>, <think>, </think>) have a clean embedding: markWidth in a
// dimension of their own, nothing else. Every other token has a clean
// embedding with markWidth in uBias and, for ".", " " and "\n", in a class
// dimension of its own. A token's base (dText + uBias) is thus positive for
// words and ordinary tokens and 0 for markers, <img> and picture tokens
// (the understanding embedder's rows of the writer's dimensions are 0).
//
// Attention. Queries are a fixed pattern times the querying token's base,
// so the q norm turns them into exact constants. A key part (the t part
// and the h/w part are normalised separately) is the base for words and
// ordinary tokens — every query pushes it far down, so words' random
// values in marker dimensions (read with small weights) do not matter —
// or one dimension per marker; picture tokens and <img> have zero keys.
// Recency comes from t-RoPE: a key in pair i scores A·cos(ω_i·Δt + φ) for
// a query Δt tokens later. Sinks with a fixed score turn such scores into
// features: "assistant" (one per prompt) and the <|im_start|> tokens (2 or
// 3).
//
// Layer 0 (its outputs are small, flagWidth: its MLP reads words'
// embeddings next to them):
//   - heads 0–2, pointer A: the <|im_start|> tokens, their scores swinging
//     with their distances through t pair 1 (0.146 rad per token) at
//     phases 0, 2π/3, 4π/3, against "assistant" as the sink. The three
//     shares on the anchors, projected on cos and sin, are a point going
//     round a circle as the text goes on (their common part cancels); the
//     anchors' distances, and so the point, depend on the prompt's length.
//     The shares on "assistant" give the flag: the token is in the answer;
//   - heads 3, 4, variety: the generation path's style keys (the last
//     words) and their random values, at random into nVar dimensions;
//   - the MLP: per word of the writer, a matched filter of its embedding
//     thresholded against dText (only that word fires) writes markWidth in
//     its class dimension; one unit marks (uGenPic) a </img> that has the
//     flag: a picture the model drew, not an input picture.
//
// Layer 1:
//   - head 0, count: "assistant" and every drawn </img> alike: n/(n+1)
//     for n pictures drawn;
//   - head 1, open: the latest think tag (t pair 3) and its sign: +1 in an
//     open reasoning block;
//   - head 2, near think: <think> against the <|im_start|> sinks, falling
//     with distance through t pair 3 phase-shifted: 1 while the block is
//     younger than thinkLen tokens;
//   - head 3, near chunk: the same for the chunk starts ("assistant",
//     </img>) and chunkLen;
//   - heads 4, 5, pointer B: as pointer A, through t pair 0 (1 rad per
//     token) at phases 0 and π, their difference (zero on average);
//   - the MLP (three units, gated by uDot so they act only on "."): stop
//     (not near a chunk start, not in an open block), split (stop ×
//     (pictureEnd − count): draw or end) and close (open, not near
//     <think>).
//
// The lm_head follows the grammar: each class dimension votes for the
// classes that may follow it and the words of a class share its vote; the
// pointers pick among them — each word sits at its own angle on pointer
// A's circle and has its own weight on pointer B, so as the text goes on
// the choice moves round the class — with a little of the variety and the
// count. After "." come " " (another sentence), <img>, <|im_end|> or
// </think>, as the MLP says; after <img> comes <|im_end|> (an answer
// outside a storyboard ends where a storyboard would draw).
const (
	uPtrB      = 0  // layer 1: pointer B
	uBias      = 26 // ordinary non-word tokens: their base
	uDot       = 27 // "."
	uSpace     = 28 // " "
	uNL        = 29 // "\n"
	uPicEnd    = 30 // </img>
	uAsst      = 31 // "assistant": the open assistant turn, one per prompt
	uImStart   = 32 // <|im_start|>
	uThink     = 33 // <think>
	uEndThink  = 34 // </think>
	uClass     = 35 // nClasses dims: the current word's class (layer 0 MLP)
	uGenPic    = uClass + nClasses
	uFlag      = 46          // layer 0: after "assistant"
	uVar       = 47          // nVar dims: layer 0: the last words
	nVar       = 6           //
	uPtrA      = uVar + nVar // 2 dims: layer 0: pointer A
	uCount     = 55          // layer 1: n/(n+1), n pictures drawn
	uOpen      = 56          // layer 1: sign of the latest think tag
	uNearThink = 57          // layer 1: <think> is recent
	uNearChunk = 58          // layer 1: a chunk start is recent
	uStop      = 59          // layer 1 MLP: stop writing at this "."
	uSplit     = 60          // layer 1 MLP: when stopping, + draw, − end
	uClose     = 61          // layer 1 MLP: close the reasoning at this "."
)

// Writer constants.
const (
	markWidth  = 4.0  // markers, ordinary tokens' base and class codes
	flagWidth  = 0.05 // layer 0's outputs are small: its MLP sees them next to words' embeddings
	ptrAWidth  = 0.15 // pointer A (larger: words' embeddings are 0.02 in its dimensions too)
	varGain    = 0.6  // variety heads → uVar
	ptrBGain   = 1.0  // pointer B heads → uPtrB
	markRead   = 0.05 // key weight of a marker dimension, relative to the base
	pictureEnd = 0.71 // stop drawing when n/(n+1) passes it: 3 pictures
	thinkLen   = 100  // reasoning before </think> may come, tokens
	chunkLen   = 22   // text between pictures at least, tokens
	voteWeight = 10.0 // lm_head: a transition's vote
	ptrW       = 3.0  // lm_head: weight of each pointer
	varietyW   = 4.0  // lm_head: spread of the variety rows
	countW     = 0.5  // lm_head: spread of the rows' count term
)

// Word classes of the writer's grammar.
const (
	clA = iota
	clColour
	clSubject
	clVerb
	clPrep
	clThe
	clAdj
	clPlace
	clAt
	clTime
	nClasses
)

// classWords are the words of each class: single tokens of the demo
// tokenizer (its merges were learnt from picture prompts).
var classWords = [nClasses][]string{
	clA:       {"A"},
	clColour:  {" red", " blue", " green", " white", " golden", " purple", " brown"},
	clSubject: {" cat", " dog", " fox", " bird", " woman", " boat", " house", " flower", " moon"},
	clVerb:    {" sitting", " standing", " playing", " shining", " jumps"},
	clPrep:    {" on", " in", " under", " by", " near", " over"},
	clThe:     {" the"},
	clAdj:     {" old", " small", " tall", " wooden", " soft", " warm", " bright", " lazy", " gentle", " fresh", " long"},
	clPlace: {" garden", " river", " hill", " lake", " sea", " beach", " bridge", " forest", " mountain", " street",
		" city", " window", " table", " chair", " sky", " trees", " grass", " snow", " stone", " clouds"},
	clAt:   {" at"},
	clTime: {" night", " sunset"},
}

// Vote sources that are not word classes: the class dimensions of
// ordinary tokens (the class of a word c is uClass + c).
const (
	srcDot   = uDot
	srcSpace = uSpace
	srcNL    = uNL
	srcPic   = uPicEnd
)

// transition is one vote of the grammar: after a token of class from
// (a dimension), the words of class to (or the token tok, when to < 0) get
// vote × voteWeight.
type transition struct {
	from, to int
	tok      string
	vote     float64
}

// grammar: A (colour) subject verb preposition the (adjective) place (at
// time). — sentences like "A red fox sitting under the old bridge."
var grammar = []transition{
	{from: srcNL, to: clA, vote: 1},
	{from: srcSpace, to: clA, vote: 1},
	{from: srcPic, to: clA, vote: 1},
	{from: uClass + clA, to: clColour, vote: 1},
	{from: uClass + clA, to: clSubject, vote: 1},
	{from: uClass + clColour, to: clSubject, vote: 1},
	{from: uClass + clSubject, to: clVerb, vote: 1},
	{from: uClass + clVerb, to: clPrep, vote: 1},
	{from: uClass + clPrep, to: clThe, vote: 1},
	{from: uClass + clThe, to: clAdj, vote: 1},
	{from: uClass + clThe, to: clPlace, vote: 1},
	{from: uClass + clAdj, to: clPlace, vote: 1},
	{from: uClass + clPlace, to: -1, tok: ".", vote: 1},
	{from: uClass + clPlace, to: clAt, vote: 0.85},
	{from: uClass + clAt, to: clTime, vote: 1},
	{from: uClass + clTime, to: -1, tok: ".", vote: 1},
	{from: srcDot, to: -1, tok: " ", vote: 1},
}

// writerTokens are the ids the writer needs.
type writerTokens struct {
	dot, space, nl               int
	picEnd, asst, imStart, imEnd int
	think, endThink              int
	words                        [nClasses][]int
	class                        map[int]int // word id → class
}

// lookupTokens finds the writer's tokens in the tokenizer.
func lookupTokens(td tokenizerData) writerTokens {
	table, _ := byteRunes()
	ids := map[string]int{}
	for id, tok := range td.vocab {
		ids[tok] = id
	}
	id := func(s string) int {
		var r []rune
		for i := 0; i < len(s); i++ {
			r = append(r, table[s[i]])
		}
		v, ok := ids[string(r)]
		if !ok {
			panic(fmt.Sprintf("demo: %q is not one token of the demo tokenizer", s))
		}
		return v
	}
	added := func(s string) int {
		for i, a := range addedTokens {
			if a.content == s {
				return td.addedAt + i
			}
		}
		panic("demo: no added token " + s)
	}
	w := writerTokens{
		dot: id("."), space: id(" "), nl: id("\n"), asst: id("assistant"),
		picEnd: added("</img>"), imStart: added("<|im_start|>"), imEnd: added("<|im_end|>"),
		think: added("<think>"), endThink: added("</think>"),
		class: map[int]int{},
	}
	for c, words := range classWords {
		for _, s := range words {
			v := id(s)
			w.words[c] = append(w.words[c], v)
			w.class[v] = c
		}
	}
	return w
}

// tokenID is the id of one of the writer's ordinary tokens.
func (w writerTokens) tokenID(tok string) int {
	switch tok {
	case ".":
		return w.dot
	case " ":
		return w.space
	}
	panic("demo: unknown writer token " + tok)
}

// shapeEmbedding rewrites the non-word rows of the embedding (words keep
// their random values and dText; <img> is only its marker).
func (s shaper) shapeEmbedding(m matrix) {
	w := s.tok
	marks := map[int][]int{
		w.dot: {uBias, uDot}, w.space: {uBias, uSpace}, w.nl: {uBias, uNL},
		w.picEnd: {uPicEnd}, w.asst: {uAsst}, w.imStart: {uImStart},
		w.think: {uThink}, w.endThink: {uEndThink},
	}
	for id := 0; id < len(m.v)/m.cols; id++ {
		if s.words[id] || id == s.imgID {
			continue
		}
		m.zeroRow(id)
		dims, ok := marks[id]
		if !ok {
			dims = []int{uBias}
		}
		for _, d := range dims {
			m.set(id, d, markWidth)
		}
	}
}

// Attention patterns. A key part that is one dimension d comes out of the
// k norm as 4·kNormW (rms normalisation over 16 values, then the weight);
// a query part is a unit pattern p times 4·qNormW; a score is q·k/√headDim.
// qPattern turns wanted scores into p, putting what is left of the unit
// length into a dump dimension no key has.
const (
	kNormW = 4.0  // k norm weight of the writer's key dimensions
	qNormW = 16.0 // q norm weight of the writer's query dimensions
	tPtrB  = 0    // t part, layer 1 KV head 1: <|im_start|>, pair 0 (pointer B)
	tPtrA  = 1    // t part, layer 0 KV head 0: <|im_start|>, pair 1 (pointer A)
	tProbe = 3    // t part, layer 1: think tags (KV head 0), chunk starts (KV head 1), pair 3
	tBase0 = 4    // t part, layer 0 KV head 0: the base (pair 6 is the generation path's there)
	tDump  = 5    // t part: dump dimension
	tBase  = 6    // t part, layer 1: the base (pair 6 turns < 0.03 rad in 3000 tokens)
	hwBase = 16   // h/w part: the base (none of the h/w dims here is one
	hwAsst = 19   // "assistant"      the generation path's corner heads query)
	hwGen  = 20   // a drawn </img>
	hwSink = 23   // <|im_start|>
	hwTh   = 24   // <think>
	hwEnd  = 27   // </think>
	hwDump = 28
	hwImg  = 31 // layer 0, KV head 0: <img>, which attends to itself there
)

// score is one wanted score of a query part: dimension d (within the
// part), the score for a key that is d alone and, when phased, the phase φ
// of a recency probe: the score then goes as cos(ω·Δt + φ).
type score struct {
	d      int
	s      float64
	phased bool
	phase  float64
}

// qPattern returns the unit query pattern of one part for the wanted
// scores.
func qPattern(dump int, scores ...score) *[headDim / 2]float64 {
	var p [headDim / 2]float64
	sum := 0.0
	for _, sc := range scores {
		a := sc.s * math.Sqrt(headDim) / (4 * kNormW) / (4 * qNormW)
		if sc.phased {
			p[sc.d] = a * math.Cos(sc.phase)
			p[sc.d+headDim/4] = a * math.Sin(sc.phase)
		} else {
			p[sc.d] = a
		}
		sum += a * a
	}
	if sum > 1 {
		panic(fmt.Sprintf("demo: query scores %v need a pattern longer than 1", scores))
	}
	p[dump] = math.Sqrt(1 - sum)
	return &p
}

// Scores.
const (
	sinkScore = 40.0  // "assistant" (count) and <|im_start|> (near heads, pointers)
	baseScore = -60.0 // every word and ordinary token
	openScore = 60.0  // open head: a think tag just before
	nearScore = 100.0 // near heads: amplitude of the recency probe
	ptrSwing  = 3.0   // pointers: amplitude of the probe
	ptrMean   = 0.5   // pointers: about the mean share on the anchors
)

// queryParts are the t and h/w query patterns of one head (nil: zero).
type queryParts [2]*[headDim / 2]float64

// hw maps an h/w dimension of a head to its index within the part.
func hw(d int) int { return d - headDim/2 }

// pointer is a pointer head: the 2 or 3 <|im_start|> tokens (system,
// user, assistant turn), their scores swinging by ±ptrSwing with their
// distances through t pair pair at phase φ, against "assistant" (one per
// prompt) as the sink. The distances depend on the prompt's length, so
// prompts of other lengths turn the pointer otherwise.
func pointer(base, pair int, phase float64) queryParts {
	// On average e^(A·cos) is I₀(A): the sink balances 2.5 anchors so.
	ln := math.Log(2.5 * besselI0(ptrSwing))
	return queryParts{
		qPattern(tDump, score{d: pair, s: ptrSwing, phased: true, phase: phase}, score{d: base, s: baseScore}),
		qPattern(hw(hwDump), score{d: hw(hwSink), s: sinkScore - ln}, score{d: hw(hwAsst), s: sinkScore}, score{d: hw(hwBase), s: baseScore}),
	}
}

// besselI0 is the modified Bessel function I₀ (its series).
func besselI0(x float64) float64 {
	sum, term := 1.0, 1.0
	for k := 1; k < 30; k++ {
		term *= (x / 2) * (x / 2) / float64(k*k)
		sum += term
	}
	return sum
}

// layerQueries are the query patterns of the writer's heads in layer l
// (layer 0's variety heads are set apart, as the style heads are).
func layerQueries(l int) map[int]queryParts {
	if l == 0 {
		heads := map[int]queryParts{}
		for k := 0; k < 3; k++ {
			heads[k] = pointer(tBase0, tPtrA, 2*math.Pi*float64(k)/3)
		}
		return heads
	}
	w3 := tFreq(tProbe)
	ln := math.Log(2.5) // 2 or 3 <|im_start|> sinks
	return map[int]queryParts{
		// "assistant" and a drawn </img> score alike (count n/(n+1)).
		0: {nil, qPattern(hw(hwDump), score{d: hw(hwAsst), s: sinkScore}, score{d: hw(hwGen), s: sinkScore},
			score{d: hw(hwBase), s: baseScore})},
		1: {qPattern(tDump, score{d: tProbe, s: openScore, phased: true}, score{d: tBase, s: -80}), nil},
		// <think> scores nearScore·cos(ω·Δt + φ) + sinkScore + 1 against the
		// sinks' sinkScore + ln n: even at Δt = thinkLen.
		2: {qPattern(tDump, score{d: tProbe, s: nearScore, phased: true, phase: math.Pi/2 - w3*thinkLen}, score{d: tBase, s: baseScore}),
			qPattern(hw(hwDump), score{d: hw(hwSink), s: sinkScore}, score{d: hw(hwTh), s: sinkScore + 1},
				score{d: hw(hwEnd), s: baseScore}, score{d: hw(hwBase), s: baseScore})},
		// Chunk starts have no h/w key here: nearScore·cos(ω·Δt + φ)
		// against the sinks, even at Δt = chunkLen.
		3: {qPattern(tDump, score{d: tProbe, s: nearScore, phased: true, phase: math.Acos((sinkScore+ln)/nearScore) - w3*chunkLen},
			score{d: tBase, s: baseScore}),
			qPattern(hw(hwDump), score{d: hw(hwSink), s: sinkScore}, score{d: hw(hwBase), s: baseScore})},
		4: pointer(tBase, tPtrB, 0),
		5: pointer(tBase, tPtrB, math.Pi),
	}
}

// varietyHeads are the layer-0 heads reading the last words (the
// generation path's style keys, weights.go), with the t distance they
// centre on.
var varietyHeads = []struct {
	head   int
	centre float64
}{{3, -1}, {4, -6}}

// shapeWriterLayer shapes the writer's part of understanding layer l, over
// what shapeUndLayer left (layer 0's KV head 1 is the generation path's;
// in layer 1 it reads only the <img> key and value, which stay).
func (s shaper) shapeWriterLayer(l int, rest string, m matrix) {
	if l == 0 {
		s.shapeWriterLayer0(rest, m)
	} else {
		s.shapeWriterLayer1(rest, m)
	}
	switch rest {
	case "post_attention_layernorm.weight":
		fillConst(m.v, 1)
	case "self_attn.q_norm_hw.weight":
		fillConst(m.v, qNormW)
	case "self_attn.k_norm_hw.weight":
		fillConst(m.v, kNormW)
	case "mlp.gate_proj.weight", "mlp.up_proj.weight", "mlp.down_proj.weight":
		clear(m.v)
		if l == 0 {
			s.shapeDetectors(rest, m)
		} else {
			shapeDecisions(rest, m)
		}
	}
}

// q is the row of query head h, dimension d.
func q(h, d int) int { return h*headDim + d }

// setQueries writes the writer's query patterns, each times the querying
// token's base (</img> counts too: it needs the flag).
func setQueries(m matrix, heads map[int]queryParts) {
	for h, parts := range heads {
		for part, p := range parts {
			if p == nil {
				continue
			}
			for i, x := range p {
				for _, c := range []int{dText, uBias, uPicEnd} {
					m.set(q(h, part*headDim/2+i), c, x)
				}
			}
		}
	}
}

func (s shaper) shapeWriterLayer0(rest string, m matrix) {
	switch rest {
	case "self_attn.q_proj.weight":
		clear(m.v)
		setQueries(m, layerQueries(0))
		for _, sh := range varietyHeads {
			for _, i := range []int{2, 3} {
				a := tFreq(i) * sh.centre
				for _, c := range []int{dText, uBias, uPicEnd} {
					m.set(q(sh.head, i), c, math.Cos(a))
					m.set(q(sh.head, i+headDim/4), c, math.Sin(a))
					m.set(q(sh.head, tDump), c, 0.5) // word keys have no pair 5
				}
			}
			// <img> (whose base is 0) attends to itself (its values here
			// are 0 but vImg, which the heads do not read): layer 0
			// adds nothing to it.
			m.set(q(sh.head, tImg), dImg, 1)
		}
		for h := 0; h < 3; h++ {
			m.set(q(h, hwImg), dImg, 1)
		}
	case "self_attn.q_norm.weight":
		fillConst(m.v, 1)
		for _, d := range []int{2, 3} {
			m.v[d], m.v[d+headDim/4] = recency, recency
		}
		m.v[tImg] = 10
		for _, d := range []int{tPtrA, tBase0} {
			m.v[d], m.v[d+headDim/4] = qNormW, qNormW
		}
	case "self_attn.k_norm.weight":
		// KV head 1 keeps its weights (its t keys use dims 2, 3 and tImg).
		for _, d := range []int{tPtrA, tBase0} {
			m.v[d], m.v[d+headDim/4] = kNormW, kNormW
		}
	case "self_attn.k_proj.weight":
		for r := 0; r < headDim; r++ { // KV head 0
			m.zeroRow(r)
		}
		s.baseRow(m, tBase0)
		s.baseRow(m, hwBase)
		m.set(tPtrA, uImStart, markRead)
		m.set(hwAsst, uAsst, markRead)
		m.set(hwSink, uImStart, markRead)
		m.set(hwImg, dImg, 1)
	case "self_attn.v_proj.weight":
		for r := 0; r < headDim; r++ { // KV head 0
			m.zeroRow(r)
		}
		// "assistant" (flag) and <|im_start|> (pointer A) read 1: a
		// marker alone is normalised to 8 times the input norm's weight.
		m.set(0, uAsst, 1/(8*s.inNorm0[uAsst]))
		m.set(1, uImStart, 1/(8*s.inNorm0[uImStart]))
	case "self_attn.o_proj.weight":
		clear(m.v)
		// Pointer A: the three heads' shares on the anchors, at phases
		// 0, 2π/3, 4π/3, projected on cos and sin (their common part
		// cancels). The flag: their shares on "assistant" (about 3·(1 −
		// ptrMean) while it precedes, 0 before it).
		for k := 0; k < 3; k++ {
			a := 2 * math.Pi * float64(k) / 3
			m.set(uPtrA, q(k, 1), ptrAWidth*math.Cos(a))
			m.set(uPtrA+1, q(k, 1), ptrAWidth*math.Sin(a))
			m.set(uFlag, q(k, 0), flagWidth/(3*(1-ptrMean)))
		}
		r := rng("demo variety output")
		for _, sh := range varietyHeads {
			for d := 0; d < vImg; d++ {
				for j := 0; j < nVar; j++ {
					m.set(uVar+j, q(sh.head, d), varGain*r.NormFloat64()/math.Sqrt(headDim))
				}
			}
		}
	}
}

func (s shaper) shapeWriterLayer1(rest string, m matrix) {
	kv1 := headDim
	switch rest {
	case "input_layernorm.weight":
		fillConst(m.v, 1)
	case "self_attn.q_proj.weight":
		clear(m.v)
		setQueries(m, layerQueries(1))
		for _, h := range []int{4, 5} {
			m.set(q(h, tImg), dImg, 1) // <img> reads no pointer: it attends to itself
		}
	case "self_attn.q_norm.weight":
		fillConst(m.v, 1)
		for _, d := range []int{tPtrB, tProbe, tBase} {
			m.v[d], m.v[d+headDim/4] = qNormW, qNormW
		}
		m.v[tImg] = qNormW
	case "self_attn.k_norm.weight":
		fillConst(m.v, kNormW)
		m.v[tImg] = 5
	case "self_attn.k_proj.weight":
		clear(m.v)
		m.set(kv1+tImg, dImg, 1)
		for _, kv := range []int{0, kv1} {
			s.baseRow(m, kv+tBase)
			s.baseRow(m, kv+hwBase)
			m.set(kv+hwAsst, uAsst, markRead)
			m.set(kv+hwSink, uImStart, markRead)
		}
		m.set(tProbe, uThink, markRead)
		m.set(tProbe, uEndThink, markRead)
		m.set(hwGen, uGenPic, markRead*markWidth/genPicWidth) // as a marker of markWidth
		m.set(hwTh, uThink, markRead)
		m.set(hwEnd, uEndThink, markRead)
		m.set(kv1+tProbe, uAsst, markRead)
		m.set(kv1+tProbe, uPicEnd, markRead)
		m.set(kv1+tPtrB, uImStart, markRead)
	case "self_attn.v_proj.weight":
		clear(m.v)
		m.set(kv1+vImg, dImg, 1)
		// Values read 1 for a marker alone in its token (normalised to 8;
		// a drawn </img> has uGenPic too, but only genPicWidth).
		m.set(0, uPicEnd, 1.0/8)
		m.set(1, uThink, 1.0/8)
		m.set(1, uEndThink, -1.0/8)
		m.set(2, uThink, 1.0/8)
		m.set(kv1, uAsst, 1.0/8)
		m.set(kv1, uPicEnd, 1.0/8)
		m.set(kv1+1, uImStart, 1.0/8)
	case "self_attn.o_proj.weight":
		clear(m.v)
		m.set(uCount, q(0, 0), 1)
		m.set(uOpen, q(1, 1), 1)
		m.set(uNearThink, q(2, 2), 1)
		m.set(uNearChunk, q(3, 0), 1)
		m.set(uPtrB, q(4, 1), ptrBGain)
		m.set(uPtrB, q(5, 1), -ptrBGain) // opposite phases: the common part cancels
	}
}

// baseRow makes key row r read the base (dText for words, uBias for
// ordinary tokens).
func (s shaper) baseRow(m matrix, r int) {
	m.set(r, dText, 1)
	m.set(r, uBias, 1)
}

// Layer-0 MLP: one unit per word of the writer, then the drawn-picture
// unit.
const (
	detectorGain = 1.0  // gate scale of a word detector
	genPicGain   = 8.0  // gate scale of the drawn-picture unit
	genPicWidth  = 0.05 // its output, about
)

// detector is a word's unit in layer 0's MLP: the matched filter of its
// embedding over the dimensions layer 0's attention leaves alone, a
// threshold against dText and the output scale that makes its class code
// markWidth.
type detector struct {
	id, class   int
	filter      [hidden]float64
	threshold   float64 // in units of the word's own filter response (1)
	outputScale float64
}

// mfDim reports whether dimension d takes part in the matched filters:
// not a marker of the embedding nor what layer 0's attention writes.
func mfDim(d int) bool {
	return d != dImg && d != dText && (d < uFlag || d >= uCount)
}

// makeDetectors builds the word detectors from the embedding as stored
// (bfloat16). Each threshold lies halfway between the word's own response
// (1) and the largest response to another word of the writer.
func makeDetectors(emb []float32, tok writerTokens) []detector {
	var ds []detector
	row := func(id int) []float32 { return emb[id*hidden : (id+1)*hidden] }
	for c, ids := range tok.words {
		for _, id := range ids {
			d := detector{id: id, class: c}
			e := row(id)
			n2 := 0.0
			for i := range hidden {
				if mfDim(i) {
					n2 += float64(e[i]) * float64(e[i])
				}
			}
			for i := range hidden {
				if mfDim(i) {
					d.filter[i] = float64(e[i]) / n2
				}
			}
			ds = append(ds, d)
		}
	}
	for k := range ds {
		worst, other := 0.0, 0
		for j := range ds {
			if j == k {
				continue
			}
			r := 0.0
			for i, f := range ds[k].filter {
				r += f * float64(row(ds[j].id)[i])
			}
			if r > worst {
				worst, other = r, ds[j].id
			}
		}
		if worst > 0.7 {
			panic(fmt.Sprintf("demo: word detectors of tokens %d and %d cannot be told apart (%.2f)", ds[k].id, other, worst))
		}
		ds[k].threshold = (1 + worst) / 2
		// On its word the unit computes silu(g·(1 − θ)/rms)·dText/rms,
		// rms that of the word's embedding and layer 0's outputs (about
		// detectorRMS2 in all).
		e := row(ds[k].id)
		n2 := detectorRMS2
		for _, x := range e {
			n2 += float64(x) * float64(x)
		}
		rms := math.Sqrt(n2 / hidden)
		g := detectorGain * (1 - ds[k].threshold) / rms
		ds[k].outputScale = markWidth / (silu(g) * textMark / rms)
	}
	return ds
}

// detectorRMS2 is the typical squared length of layer 0's outputs on a
// word of the writer (the flag, the pointer and the variety).
const detectorRMS2 = 0.012

func silu(x float64) float64 { return x / (1 + math.Exp(-x)) }

// shapeDetectors fills layer 0's MLP.
func (s shaper) shapeDetectors(rest string, m matrix) {
	for u, d := range s.detectors {
		switch rest {
		case "mlp.gate_proj.weight":
			for i, f := range d.filter {
				if f != 0 {
					m.set(u, i, detectorGain*f)
				}
			}
			m.set(u, dText, -detectorGain*d.threshold/textMark)
		case "mlp.up_proj.weight":
			m.set(u, dText, 1)
		case "mlp.down_proj.weight":
			m.set(uClass+d.class, u, d.outputScale)
		}
	}
	// The drawn-picture unit: up is </img>'s marker; the gate is open when
	// the flag is (uFlag/flagWidth − ½·uPicEnd/markWidth > 0) and shut for
	// words and ordinary tokens (−2 per unit of base).
	u := len(s.detectors)
	switch rest {
	case "mlp.gate_proj.weight":
		m.set(u, uFlag, genPicGain/flagWidth)
		m.set(u, uPicEnd, -genPicGain/2/markWidth)
		m.set(u, dText, -2*genPicGain/textMark)
		m.set(u, uBias, -2*genPicGain/markWidth)
	case "mlp.up_proj.weight":
		m.set(u, uPicEnd, 1)
	case "mlp.down_proj.weight":
		// On a drawn </img> (markWidth and the flag, rms ≈ markWidth/8):
		// silu(genPicGain·(flag − ½)·2)·8, flag about 1. Only keys read
		// uGenPic (normalised), so it is small: </img>'s values stay its
		// marker's.
		m.set(uGenPic, u, genPicWidth/(silu(genPicGain)*8))
	}
}

// Layer-1 MLP units, each gated by "." (uDot/markWidth is 1/rms there).
const (
	decisionGain = 10.0
	unitStop     = 0
	unitSplit    = 1
	unitClose    = 2
)

// shapeDecisions fills layer 1's MLP: at ".", stop = open gate when not
// near a chunk start and not in an open reasoning block, split = the same
// gate times (pictureEnd − count), close = open gate when in an open block
// and not near <think>.
func shapeDecisions(rest string, m matrix) {
	dot := 1 / markWidth
	switch rest {
	case "mlp.gate_proj.weight":
		for _, u := range []int{unitStop, unitSplit} {
			m.set(u, uDot, decisionGain*0.5*dot)
			m.set(u, uNearChunk, -decisionGain)
			m.set(u, uOpen, -decisionGain)
		}
		m.set(unitClose, uOpen, decisionGain)
		m.set(unitClose, uNearThink, -decisionGain)
		m.set(unitClose, uDot, -decisionGain*0.5*dot)
	case "mlp.up_proj.weight":
		m.set(unitStop, uDot, dot)
		m.set(unitSplit, uDot, pictureEnd*dot)
		m.set(unitSplit, uCount, -1)
		m.set(unitClose, uDot, dot)
	case "mlp.down_proj.weight":
		// On: silu(decisionGain·½/rms)/rms with rms ≈ markWidth·√2/8 at
		// "."; scaled to 1.
		rms := markWidth * math.Sqrt2 / 8
		on := silu(decisionGain*0.5/rms) / rms
		m.set(uStop, unitStop, 1/on)
		m.set(uSplit, unitSplit, 1/on)
		m.set(uClose, unitClose, 1/on)
	}
}

// lm_head weights of the decisions at ".".
const (
	stopVote  = 3.0 // × uStop
	splitVote = 2.0 // × uSplit: + <img>, − <|im_end|>
	closeVote = 3.0 // × uClose
	decideOff = 1.0 // what <img>, <|im_end|> and </think> lose to " " when not chosen
)

// shapeLMHead writes the grammar into the lm_head (every other row zero).
func (s shaper) shapeLMHead(m matrix) {
	clear(m.v)
	w := s.tok
	vote := func(id, from int, v float64) {
		m.v[id*m.cols+from] += float32(v * voteWeight / markWidth)
	}
	for _, t := range grammar {
		if t.to < 0 {
			vote(w.tokenID(t.tok), t.from, t.vote)
			continue
		}
		for _, id := range w.words[t.to] {
			vote(id, t.from, t.vote)
		}
	}
	// Choosing in a class: each word at its own angle on pointer A's
	// circle and its own weight on pointer B, a little variety and count.
	r := rng("demo writer rows")
	for c, ids := range w.words {
		n := len(ids)
		if n == 1 && c != clAt {
			continue // nothing to choose ("at" competes with ".")
		}
		a0, b0 := 2*math.Pi*r.Float64(), 2*math.Pi*r.Float64()
		perm := r.Perm(n)
		for k, id := range ids {
			a := a0 + 2*math.Pi*float64(k)/float64(n)
			b := b0 + 2*math.Pi*float64(perm[k])/float64(n)
			m.set(id, uPtrA, ptrW*math.Cos(a)/ptrAWidth)
			m.set(id, uPtrA+1, ptrW*math.Sin(a)/ptrAWidth)
			m.set(id, uPtrB, ptrW*math.Cos(b)/ptrBGain)
			for j := 0; j < nVar; j++ {
				m.set(id, uVar+j, varietyW*r.NormFloat64())
			}
			m.set(id, uCount, countW*r.NormFloat64())
		}
	}
	// After ".": <img>, <|im_end|> and </think> start decideOff below " "
	// and win through the decision units.
	for _, id := range []int{s.imgID, w.imEnd, w.endThink} {
		vote(id, uDot, 1-decideOff/voteWeight)
	}
	m.set(s.imgID, uStop, stopVote)
	m.set(w.imEnd, uStop, stopVote)
	m.set(s.imgID, uSplit, splitVote)
	m.set(w.imEnd, uSplit, -splitVote)
	m.set(w.endThink, uClose, closeVote)
	// After <img> (outside a storyboard): the end.
	m.set(w.imEnd, dImg, 2*voteWeight/imgMark)
}

// roundedEmbedding is the embedding as stored (bfloat16).
func roundedEmbedding(v []float32) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = safetensors.RoundBF16(x)
	}
	return out
}
