package demo

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/sensenova/studio/inference/pipeline"
	"github.com/sensenova/studio/inference/prompt"
	"github.com/sensenova/studio/inference/sampler"
)

// storyPrompts are typical storyboard prompts: a tutorial, a story in
// scenes, one word, Chinese.
var storyPrompts = []string{
	"I want to learn how to cook tomato and egg stir-fry. Please give me a beginner-friendly illustrated tutorial.",
	"A short illustrated story about a lighthouse keeper and a storm, in three scenes.",
	"Dragons",
	"给我讲一个小猫去海边的故事，配上插图。",
}

// grammarSlips counts the adjacent pairs of ids the writer's grammar does
// not allow (a chunk of text must also start with "A").
func grammarSlips(s shaper, ids []int) int {
	src := func(id int) int {
		if c, ok := s.tok.class[id]; ok {
			return uClass + c
		}
		switch id {
		case s.tok.dot:
			return srcDot
		case s.tok.space:
			return srcSpace
		case s.tok.nl:
			return srcNL
		}
		return -1
	}
	allowed := func(a, b int) bool {
		for _, t := range grammar {
			switch {
			case t.from != src(a):
			case t.to < 0 && s.tok.tokenID(t.tok) == b:
				return true
			case t.to >= 0 && slices.Contains(s.tok.words[t.to], b):
				return true
			}
		}
		return false
	}
	slips := 0
	if len(ids) > 0 && ids[0] != s.tok.words[clA][0] {
		slips++
	}
	for i := 1; i < len(ids); i++ {
		if !allowed(ids[i-1], ids[i]) {
			slips++
		}
	}
	return slips
}

// TestStoryboardDraws: on typical prompts, with and without thinking and
// an input picture, a storyboard writes a few sentences, draws, writes
// more, draws 2–4 pictures in all and ends with <|im_end|> well within 512
// tokens; its text follows the writer's grammar; the same request gives
// the same storyboard.
func TestStoryboardDraws(t *testing.T) {
	_, e := demoEngine(t)
	s := newShaper(buildTokenizer())
	run := func(p string, think, withPicture bool) *pipeline.InterleaveResult {
		t.Helper()
		req := pipeline.InterleaveRequest{Prompt: p, SystemMessage: prompt.SystemInterleave, Think: think,
			MaxNewTokens: 512, ImageSettings: settings(64, 64, 1, 42, sampler.Interleave)}
		if withPicture {
			req.Pictures = []pipeline.Picture{{Image: testPicture(96, 64)}}
		}
		res, err := e.Interleave(context.Background(), req, nil)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	texts := map[string]bool{}
	for _, think := range []bool{false, true} {
		for _, withPicture := range []bool{false, true} {
			for _, p := range storyPrompts {
				name := fmt.Sprintf("think=%v picture=%v %.20q", think, withPicture, p)
				res := run(p, think, withPicture)
				var lens []int
				n, slips := 0, 0
				for _, c := range res.Chunks {
					lens = append(lens, len(c))
					n += len(c)
					slips += grammarSlips(s, c)
				}
				t.Logf("%s: %d pictures, chunks %v: %q", name, len(res.Canvases), lens, res.Text)
				// Under the token budget and the picture limit, the
				// answer ended with <|im_end|>.
				if k := len(res.Canvases); k < 2 || k > 4 || n >= 300 {
					t.Errorf("%s: %d pictures and %d text tokens; want 2 to 4 pictures, ended with <|im_end|> well within 512 tokens", name, k, n)
				}
				for i, c := range res.Chunks {
					if len(c) < 5 || len(c) > 60 {
						t.Errorf("%s: text %d is %d tokens; want a few sentences between pictures", name, i, len(c))
					}
				}
				if slips > 0 {
					t.Errorf("%s: %d slips of the grammar in %q", name, slips, res.Text)
				}
				for _, cv := range res.Canvases {
					if len(cv) != 3*64*64 || slices.ContainsFunc(cv, func(v float32) bool { return math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) }) {
						t.Errorf("%s: a picture of %d values, or not finite", name, len(cv))
					}
				}
				texts[res.Text] = true
			}
		}
	}
	if len(texts) < len(storyPrompts) {
		t.Errorf("%d different storyboards for %d prompts: the text does not depend on the prompt", len(texts), len(storyPrompts))
	}
	a, b := run(storyPrompts[1], true, false), run(storyPrompts[1], true, false)
	if a.Text != b.Text || len(a.Canvases) != len(b.Canvases) {
		t.Fatalf("the same request wrote %q, then %q", a.Text, b.Text)
	}
	for k := range a.Canvases {
		if !slices.Equal(a.Canvases[k], b.Canvases[k]) {
			t.Errorf("the same request drew picture %d differently", k+1)
		}
	}
}

// TestThinkCloses: text-to-image reasoning ends with </think> after about
// thinkLen tokens, on every prompt.
func TestThinkCloses(t *testing.T) {
	_, e := demoEngine(t)
	for _, p := range append([]string{"a cat on a red chair"}, storyPrompts...) {
		res, err := e.TextToImage(context.Background(), pipeline.TextToImageRequest{
			Prompt: p, Think: true, ImageSettings: settings(64, 64, 1, 1, sampler.TextToImage),
		}, nil)
		if err != nil {
			t.Fatal(err)
		}
		ids := res.ThinkIDs
		t.Logf("%.20q: %d tokens: %q", p, len(ids), e.Tokenizer.Decode(ids, false))
		if len(ids) < 50 || len(ids) > 200 || ids[len(ids)-1] != e.IDs.EndThink {
			t.Errorf("%.20q: %d reasoning tokens ending with %q; want </think> after 50 to 200", p, len(ids), e.Tokenizer.Decode(ids[len(ids)-1:], false))
		}
	}
}

// TestVQAEnds: answers end with <|im_end|> within a few dozen tokens, with
// a picture or without.
func TestVQAEnds(t *testing.T) {
	_, e := demoEngine(t)
	for _, q := range []string{"What is in this image?", "Describe it.", "这是什么？"} {
		for _, withPicture := range []bool{false, true} {
			req := pipeline.VQARequest{Question: q, MaxNewTokens: 256}
			if withPicture {
				req.Picture = &pipeline.Picture{Image: testPicture(96, 64)}
			}
			res, err := e.VQA(context.Background(), req, nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%q (picture %v): %d ids: %q", q, withPicture, len(res.IDs), res.Answer)
			if n := len(res.IDs); n > 60 || res.IDs[n-1] != e.IDs.ImEnd || !strings.HasPrefix(res.Answer, "A ") {
				t.Errorf("%q: %d ids ending with %d, answer %q; want a few sentences and <|im_end|>", q, n, res.IDs[n-1], res.Answer)
			}
		}
	}
}

// TestImgStaysExact: the writer leaves what the generation path reads of
// <img> exact — in layer 1 (whose input the writer's layer 0 could have
// touched) its key on KV head 1 is its marker alone and its value vImg is
// 8 (up to the norms' ε) with nothing beside it.
func TestImgStaysExact(t *testing.T) {
	_, e := demoEngine(t)
	m := e.Model
	for _, think := range []bool{false, true} {
		query := prompt.TextToImage("a cat on a red chair", think)
		if think {
			query += "A red fox sitting on the old bridge.</think>\n\n<img>"
		}
		ids := e.Tokenizer.Encode(query)
		pos, err := prompt.Indexes(ids, e.IDs, nil)
		if err != nil {
			t.Fatal(err)
		}
		x, err := m.EmbedTokens(ids)
		if err != nil {
			t.Fatal(err)
		}
		c := m.NewCache(len(ids))
		h, err := m.Prefill(c, x, pos)
		if err != nil {
			t.Fatal(err)
		}
		m.Backend().Free(h)
		last := (c.Len() - 1) * hidden
		key, val := c.Keys(1)[last+headDim:last+2*headDim], c.Values(1)[last+headDim:last+2*headDim]
		// The key is tImg's RoPE pair alone, of length 4 (one value
		// normalised over 16) × k norm 5.
		pair := tImg + headDim/4
		r := math.Hypot(float64(key[tImg]), float64(key[pair]))
		ok := math.Abs(r-20) < 1e-4
		for d := 0; d < headDim; d++ {
			wantV := float32(0)
			if d == vImg {
				wantV = 8
			}
			if d != tImg && d != pair && key[d] != 0 || math.Abs(float64(val[d]-wantV)) > 1e-5 { // (the norms' ε)
				ok = false
			}
		}
		if !ok {
			t.Errorf("think %v: <img>'s layer-1 key and value on KV head 1: %v, %v", think, key, val)
		}
	}
}
