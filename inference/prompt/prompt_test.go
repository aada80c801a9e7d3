package prompt

import (
	"crypto/sha256"
	"encoding/hex"
	"math/rand"
	"strings"
	"testing"

	"github.com/sensenova/studio/internal/golden"
)

func TestSystemMessagesAreByteExact(t *testing.T) {
	for _, c := range []struct {
		name, text, sha string
		bytes, newlines int
	}{
		{"SystemGen", SystemGen, "97bc0d73e6f61b20689dd81ad2bcf9eb795a65de5d07dd2e2c01d16503f44492", 1175, 23},
		{"SystemInterleave", SystemInterleave, "4d46ea4c8a19ea09d8099c03a96c3d2046ca9b4a5620c62fe265ba8cf5b63603", 775, 6},
	} {
		sum := sha256.Sum256([]byte(c.text))
		if got := hex.EncodeToString(sum[:]); got != c.sha {
			t.Errorf("%s: sha256 %s, want %s", c.name, got, c.sha)
		}
		if len(c.text) != c.bytes || strings.Count(c.text, "\n") != c.newlines {
			t.Errorf("%s: %d bytes / %d newlines, want %d / %d", c.name, len(c.text), strings.Count(c.text, "\n"), c.bytes, c.newlines)
		}
	}
}

func TestRenderNeo10(t *testing.T) {
	cases := []struct {
		system string
		turns  []Turn
		want   string
	}{
		{"", []Turn{{Text: "hi"}, {Assistant: true, Open: true}},
			"<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"},
		{"S", []Turn{{Text: ""}, {Assistant: true, Open: true}},
			"<|im_start|>system\nS<|im_end|>\n<|im_start|>user\n<|im_end|>\n<|im_start|>assistant\n"},
		{"", []Turn{{Text: "q"}, {Assistant: true, Text: "a"}, {Text: "q2"}, {Assistant: true, Open: true}},
			"<|im_start|>user\nq<|im_end|>\n<|im_start|>assistant\na<|im_end|>\n<|im_start|>user\nq2<|im_end|>\n<|im_start|>assistant\n"},
	}
	for i, c := range cases {
		if got := Render(c.system, c.turns...); got != c.want {
			t.Errorf("case %d: got %q, want %q", i, got, c.want)
		}
	}
}

// TestGoldenTextToImagePrompts checks the prompt strings of every case that
// recorded them against the reference, character for character.
func TestGoldenTextToImagePrompts(t *testing.T) {
	for _, folder := range []string{"mlphead", "pixelhead"} {
		cs, err := golden.LoadCases(folder)
		if err != nil {
			t.Fatal(err)
		}
		checked := 0
		for _, c := range cs.Cases {
			if c.QueryCond == nil {
				continue
			}
			if c.Kind != "t2i" && c.Kind != "t2i_think" {
				t.Fatalf("%s/%s: query strings recorded for kind %q, which this test does not know", folder, c.Name, c.Kind)
			}
			if got := TextToImage(c.Prompt, c.Kind == "t2i_think"); got != *c.QueryCond {
				t.Errorf("%s/%s cond:\n got %q\nwant %q", folder, c.Name, got, *c.QueryCond)
			}
			wantUncond := c.QueryUncond != nil
			// The think cases record only their conditional prompt.
			if hasUncond := c.CFGScale > 1; c.Kind == "t2i" && hasUncond != wantUncond {
				t.Errorf("%s/%s: cfg %v implies uncond branch %v, reference recorded %v", folder, c.Name, c.CFGScale, hasUncond, wantUncond)
			}
			if wantUncond && Unconditional() != *c.QueryUncond {
				t.Errorf("%s/%s uncond: got %q, want %q", folder, c.Name, Unconditional(), *c.QueryUncond)
			}
			checked++
		}
		if checked < 6 {
			t.Errorf("%s: only %d cases carried query strings, expected the 6 t2i cases", folder, checked)
		}
	}
}

func TestEditPrompts(t *testing.T) {
	head := "<|im_start|>system\n" + SystemGen + "<|im_end|>\n<|im_start|>user\n"
	tail := "<|im_end|>\n<|im_start|>assistant\n"
	cases := []struct {
		instr string
		n     int
		think bool
		user  string
	}{
		{"Make it blue.", 1, false, "<image>\nMake it blue."},
		{"Make it blue.", 2, false, "Image-1:<image>\nImage-2:<image>\nMake it blue."},
		{"Put <image> into <image>", 2, false, "Put <image> into <image>"},
		{"Put <image> left", 3, true, "<image>\n<image>\nPut <image> left"},
	}
	for _, c := range cases {
		got, err := Edit(c.instr, c.n, c.think)
		if err != nil {
			t.Fatal(err)
		}
		want := head + c.user + tail + NoThinkSuffix
		if c.think {
			want = head + c.user + tail + "<think>\n"
		}
		if got != want {
			t.Errorf("Edit(%q, %d, %v):\n got %q\nwant %q", c.instr, c.n, c.think, got, want)
		}
	}
	if _, err := Edit("a <image> b <image>", 1, false); err == nil || !strings.Contains(err.Error(), "2 <image> placeholders") {
		t.Errorf("too many placeholders: err %v", err)
	}
	if _, err := Edit("x", 0, false); err == nil {
		t.Error("editing without pictures must fail")
	}
	if got, want := ImagesOnly(2), "<|im_start|>user\n<image><image><|im_end|>\n<|im_start|>assistant\n<img>"; got != want {
		t.Errorf("ImagesOnly: got %q want %q", got, want)
	}
}

func TestEditBranchesFor(t *testing.T) {
	cases := []struct {
		text, img float64
		want      EditBranches
	}{
		{1, 1, EditBranches{}},
		{4, 1, EditBranches{ImageOnly: true}},
		{4, 4, EditBranches{Unconditional: true}},
		{4, 1.5, EditBranches{ImageOnly: true, Unconditional: true}},
		{1, 2, EditBranches{ImageOnly: true, Unconditional: true}},
	}
	for _, c := range cases {
		if got := EditBranchesFor(c.text, c.img); got != c.want {
			t.Errorf("EditBranchesFor(%v, %v) = %+v, want %+v", c.text, c.img, got, c.want)
		}
	}
}

func TestVQAAndInterleavePrompts(t *testing.T) {
	got, _ := VQA("What is it?", true)
	if want := "<|im_start|>user\n<image>\nWhat is it?<|im_end|>\n<|im_start|>assistant\n"; got != want {
		t.Errorf("VQA: got %q want %q", got, want)
	}
	got, _ = VQA("Here <image> what?", true)
	if want := "<|im_start|>user\nHere <image> what?<|im_end|>\n<|im_start|>assistant\n"; got != want {
		t.Errorf("VQA with placeholder: got %q want %q", got, want)
	}
	got, _ = Interleave("SYS", "Tell me", 1, true)
	if want := "<|im_start|>system\nSYS<|im_end|>\n<|im_start|>user\n<image>\nTell me<|im_end|>\n<|im_start|>assistant\n"; got != want {
		t.Errorf("Interleave think: got %q want %q", got, want)
	}
	got, _ = Interleave("", "Tell me", 0, false)
	if want := "<|im_start|>user\nTell me<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"; got != want {
		t.Errorf("Interleave no-think: got %q want %q", got, want)
	}
	if got, want := InterleaveTextUncond(0), "<|im_start|>user\n<|im_end|>\n<|im_start|>assistant\n"; got != want {
		t.Errorf("TU n=0: got %q want %q", got, want)
	}
	if got, want := InterleaveTextUncond(2), "<|im_start|>user\n<image><image><|im_end|>\n<|im_start|>assistant\n"; got != want {
		t.Errorf("TU n=2: got %q want %q", got, want)
	}
}

func TestExpandImages(t *testing.T) {
	got, err := ExpandImages("a<image>b<image>c", []int{2, 1})
	if err != nil {
		t.Fatal(err)
	}
	if want := "a<img><IMG_CONTEXT><IMG_CONTEXT></img>b<img><IMG_CONTEXT></img>c"; got != want {
		t.Errorf("got %q want %q", got, want)
	}
	if _, err := ExpandImages("a<image>", []int{1, 2}); err == nil {
		t.Error("placeholder/picture count mismatch must fail")
	}
	if _, err := ExpandImages("<image>", []int{0}); err == nil {
		t.Error("a picture of zero tokens must fail")
	}
}

var tinyIDs = SpecialIDs{ImStart: 1, ImEnd: 2, Think: 3, EndThink: 4, ImgStart: 10, ImgEnd: 11, ImgContext: 12}

func TestIndexesWorkedExample(t *testing.T) {
	// MODEL.md 3.3: a b <img> C C C C </img> c with one 2×2-token picture.
	ids := []int{100, 101, 10, 12, 12, 12, 12, 11, 102}
	p, err := Indexes(ids, tinyIDs, []TokenGrid{{2, 2}})
	if err != nil {
		t.Fatal(err)
	}
	want := Positions{
		T: []int{0, 1, 2, 3, 3, 3, 3, 4, 5},
		H: []int{0, 0, 0, 0, 0, 1, 1, 0, 0},
		W: []int{0, 0, 0, 0, 1, 0, 1, 0, 0},
	}
	if !equalPositions(p, want) {
		t.Errorf("got %+v, want %+v", p, want)
	}
}

func TestIndexesTwoPicturesAndTrailingImg(t *testing.T) {
	// Non-square grids (1×3 then 2×1) and a final <img> opening the generated picture.
	ids := []int{100, 10, 12, 12, 12, 11, 10, 12, 12, 11, 101, 10}
	p, err := Indexes(ids, tinyIDs, []TokenGrid{{1, 3}, {2, 1}})
	if err != nil {
		t.Fatal(err)
	}
	want := Positions{
		T: []int{0, 1, 2, 2, 2, 3, 4, 5, 5, 6, 7, 8},
		H: []int{0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0},
		W: []int{0, 0, 0, 1, 2, 0, 0, 0, 0, 0, 0, 0},
	}
	if !equalPositions(p, want) {
		t.Errorf("got %+v\nwant %+v", p, want)
	}
	gen := ImageAt(p.MaxT()+1, TokenGrid{2, 3})
	if !equalPositions(gen, Positions{T: []int{9, 9, 9, 9, 9, 9}, H: []int{0, 0, 0, 1, 1, 1}, W: []int{0, 1, 2, 0, 1, 2}}) {
		t.Errorf("ImageAt: %+v", gen)
	}
	app := AppendedImage(8, TokenGrid{1, 2})
	if !equalPositions(app, Positions{T: []int{9, 9, 10}, H: []int{0, 0, 0}, W: []int{0, 1, 0}}) {
		t.Errorf("AppendedImage: %+v", app)
	}
}

func TestIndexesRejectsMismatchedGrids(t *testing.T) {
	ids := []int{10, 12, 12, 12, 11}
	for _, grids := range [][]TokenGrid{{{2, 2}}, {{1, 2}}, nil, {{1, 3}, {1, 1}}} {
		if _, err := Indexes(ids, tinyIDs, grids); err == nil {
			t.Errorf("grids %v for a 3-token picture: want an error", grids)
		}
	}
}

func TestKeyLimitsMatchesVisible(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for trial := 0; trial < 200; trial++ {
		n := 1 + rng.Intn(40)
		tpos := make([]int, n)
		cur := 0
		for i := range tpos {
			if rng.Intn(3) != 0 {
				cur++
			}
			tpos[i] = cur
		}
		lim, err := KeyLimits(tpos)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < n; i++ {
			for j := 0; j < n; j++ {
				if got, want := j < lim[i], Visible(tpos, i, j); got != want {
					t.Fatalf("t=%v: query %d key %d: limit says %v, rule says %v", tpos, i, j, got, want)
				}
			}
		}
	}
	if _, err := KeyLimits([]int{0, 2, 1}); err == nil {
		t.Error("decreasing t must be rejected")
	}
}

func TestLookupSpecialIDsListsMissing(t *testing.T) {
	_, err := LookupSpecialIDs(func(s string) (int, bool) { return 7, s != ImgContext && s != ImgEnd })
	if err == nil || !strings.Contains(err.Error(), ImgContext) || !strings.Contains(err.Error(), ImgEnd) {
		t.Errorf("err = %v, want both missing tokens named", err)
	}
}

func equalPositions(a, b Positions) bool {
	eq := func(x, y []int) bool {
		if len(x) != len(y) {
			return false
		}
		for i := range x {
			if x[i] != y[i] {
				return false
			}
		}
		return true
	}
	return eq(a.T, b.T) && eq(a.H, b.H) && eq(a.W, b.W)
}
