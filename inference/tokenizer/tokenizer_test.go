package tokenizer

import (
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/sensenova/studio/inference/safetensors"
	"github.com/sensenova/studio/internal/golden"
)

// goldenDir returns the shared golden folder, read in place.
func goldenDir(tb testing.TB) string {
	tb.Helper()
	dir, err := golden.Dir()
	if err != nil {
		tb.Fatal(err)
	}
	return dir
}

func readJSON(tb testing.TB, file string, v any) {
	tb.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		tb.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		tb.Fatalf("%s: %v", file, err)
	}
}

func copyFile(tb testing.TB, src, dst string) {
	tb.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(dst, data, 0o644); err != nil {
		tb.Fatal(err)
	}
}

func mustLoad(tb testing.TB, path string) *Tokenizer {
	tb.Helper()
	tok, err := Load(path)
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}

// qwen3Dir gunzips the real Qwen3 tokenizer.json into a temporary folder,
// next to a copy of its tokenizer_config.json.
func qwen3Dir(tb testing.TB) string {
	tb.Helper()
	src := filepath.Join(goldenDir(tb), "qwen3")
	dir := tb.TempDir()
	f, err := os.Open(filepath.Join(src, "tokenizer.json.gz"))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		tb.Fatal(err)
	}
	out, err := os.Create(filepath.Join(dir, "tokenizer.json"))
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := io.Copy(out, zr); err != nil {
		tb.Fatal(err)
	}
	if err := out.Close(); err != nil {
		tb.Fatal(err)
	}
	copyFile(tb, filepath.Join(src, "tokenizer_config.json"), filepath.Join(dir, "tokenizer_config.json"))
	return dir
}

type probe struct {
	Text               string  `json:"text"`
	IDs                []int   `json:"ids"`
	Decoded            string  `json:"decoded"`
	DecodedSkipSpecial *string `json:"decoded_skip_special"`
}

// checkProbes runs every probe and returns how many passed.
func checkProbes(t *testing.T, tok *Tokenizer, probes []probe) int {
	t.Helper()
	pass := 0
	for i, p := range probes {
		ok := true
		if got := tok.Encode(p.Text); !reflect.DeepEqual(got, p.IDs) && !(len(got) == 0 && len(p.IDs) == 0) {
			t.Errorf("probe %d %q: Encode = %v, want %v", i, p.Text, got, p.IDs)
			ok = false
		}
		if got := tok.Decode(p.IDs, false); got != p.Decoded {
			t.Errorf("probe %d %q: Decode(ids, false) = %q, want %q", i, p.Text, got, p.Decoded)
			ok = false
		}
		if p.DecodedSkipSpecial != nil {
			if got := tok.Decode(p.IDs, true); got != *p.DecodedSkipSpecial {
				t.Errorf("probe %d %q: Decode(ids, true) = %q, want %q", i, p.Text, got, *p.DecodedSkipSpecial)
				ok = false
			}
		}
		if ok {
			pass++
		}
	}
	t.Logf("%d of %d probes match", pass, len(probes))
	return pass
}

func TestTinyProbes(t *testing.T) {
	src := filepath.Join(goldenDir(t), "tokenizer")
	var probes []probe
	readJSON(t, filepath.Join(src, "probes.json"), &probes)
	if len(probes) == 0 {
		t.Fatal("no probes")
	}

	t.Run("tokenizer.json", func(t *testing.T) {
		tok := mustLoad(t, src)
		if tok.Path() != filepath.Join(src, "tokenizer.json") {
			t.Errorf("loaded %s, want the folder's tokenizer.json", tok.Path())
		}
		checkProbes(t, tok, probes)
	})
	t.Run("vocab.json+merges.txt", func(t *testing.T) {
		dir := t.TempDir()
		for _, f := range []string{"vocab.json", "merges.txt", "added_tokens.json", "tokenizer_config.json", "special_tokens_map.json"} {
			copyFile(t, filepath.Join(src, f), filepath.Join(dir, f))
		}
		tok := mustLoad(t, dir)
		checkProbes(t, tok, probes)
		ref := mustLoad(t, filepath.Join(src, "tokenizer.json"))
		// Both forms must agree beyond the probes, including where NFC
		// would change the text around an added token (">" + U+0338 is "≯").
		extra := []string{"<think>\u0338x", "a\u0338<img>\u0338", "<|im_end|>\u0301", "A\u030a<think>"}
		r := rand.New(rand.NewPCG(3, 4))
		for range 500 {
			extra = append(extra, randomText(r))
		}
		for _, s := range extra {
			if got, want := tok.Encode(s), ref.Encode(s); !reflect.DeepEqual(got, want) {
				t.Errorf("Encode(%q) = %v, tokenizer.json gives %v", s, got, want)
			}
		}
		if tok.Len() != ref.Len() {
			t.Errorf("Len = %d, tokenizer.json gives %d", tok.Len(), ref.Len())
		}
		for id := range ref.Len() {
			if tok.IsSpecial(id) != ref.IsSpecial(id) {
				t.Errorf("IsSpecial(%d) = %v, tokenizer.json gives %v", id, tok.IsSpecial(id), ref.IsSpecial(id))
			}
			a, _ := tok.Token(id)
			b, _ := ref.Token(id)
			if a != b {
				t.Errorf("Token(%d) = %q, tokenizer.json gives %q", id, a, b)
			}
		}
	})
}

func TestTinyAPI(t *testing.T) {
	tok := mustLoad(t, filepath.Join(goldenDir(t), "tokenizer"))
	if tok.Len() != 666 {
		t.Errorf("Len = %d, want 666", tok.Len())
	}
	for _, c := range []struct {
		tok     string
		id      int
		special bool
	}{
		{"<|im_start|>", 661, true}, {"<|im_end|>", 662, true}, {"<think>", 658, false},
		{"</think>", 659, false}, {"<img>", 664, true}, {"Ġyellow", 648, false}, {"!", 0, false},
	} {
		id, ok := tok.TokenID(c.tok)
		if !ok || id != c.id {
			t.Errorf("TokenID(%q) = %d, %v; want %d", c.tok, id, ok, c.id)
		}
		if tok.IsSpecial(c.id) != c.special {
			t.Errorf("IsSpecial(%d) = %v, want %v", c.id, !c.special, c.special)
		}
	}
	if _, ok := tok.TokenID("no such token"); ok {
		t.Error("TokenID of an unknown token reports ok")
	}
	if tok.IsSpecial(-1) || tok.IsSpecial(5000) {
		t.Error("IsSpecial of an out-of-range id is true")
	}
	if got := tok.Decode([]int{-5, 700, 1023, 71, 365, 78, 1 << 40}, false); got != "hello" {
		t.Errorf("Decode with ids outside the tokenizer = %q, want %q", got, "hello")
	}
}

func TestQwen3Probes(t *testing.T) {
	var probes []probe
	readJSON(t, filepath.Join(goldenDir(t), "qwen3", "probes.json"), &probes)
	if len(probes) != 57 {
		t.Fatalf("%d Qwen3 probes, want 57", len(probes))
	}
	for i, p := range probes {
		if p.DecodedSkipSpecial == nil {
			t.Fatalf("probe %d has no decoded_skip_special", i)
		}
	}
	tok := mustLoad(t, qwen3Dir(t))
	if tok.Len() != 151669 {
		t.Errorf("Len = %d, want 151669", tok.Len())
	}
	checkProbes(t, tok, probes)
}

// pyStrip is Python's str.strip(): it trims what str.isspace calls white
// space, which is Go's unicode.IsSpace plus U+001C..U+001F.
func pyStrip(s string) string {
	return strings.TrimFunc(s, func(r rune) bool {
		return r >= 0x1C && r <= 0x1F || strings.ContainsRune("\t\n\v\f\r \u0085\u00a0\u1680\u2028\u2029\u202f\u205f\u3000", r) ||
			r >= 0x2000 && r <= 0x200A
	})
}

// TestGoldenCases decodes the generated ids of the reference runs with each
// checkpoint folder's own tokenizer.json.
func TestGoldenCases(t *testing.T) {
	for _, variant := range []string{"mlphead", "pixelhead"} {
		t.Run(variant, func(t *testing.T) {
			dir := filepath.Join(goldenDir(t), variant)
			tok := mustLoad(t, dir)
			var cases struct {
				Cases []struct {
					Name       string `json:"name"`
					ThinkText  string `json:"think_text"`
					ThinkIDs   []int  `json:"think_ids"`
					Answer     string `json:"answer"`
					AnswerIDs  []int  `json:"answer_ids"`
					QueryCond  string `json:"query_cond"`
					QueryUncon string `json:"query_uncond"`
				} `json:"cases"`
			}
			readJSON(t, filepath.Join(dir, "cases.json"), &cases)
			seen := map[string]bool{}
			for _, c := range cases.Cases {
				switch c.Name {
				case "t2i_think":
					// think_text keeps special tokens: it contains
					// <IMG_CONTEXT>, </img> and <|im_start|>, which a
					// skip-special decode would drop.
					if got := tok.Decode(c.ThinkIDs, false); got != c.ThinkText {
						t.Errorf("t2i_think: Decode(think_ids, false) =\n%q\nwant\n%q", got, c.ThinkText)
					}
					seen[c.Name] = true
				case "vqa":
					// answer = decode with special tokens skipped, then
					// Python str.strip().
					if got := pyStrip(tok.Decode(c.AnswerIDs, true)); got != c.Answer {
						t.Errorf("vqa: strip(Decode(answer_ids, true)) = %q, want %q", got, c.Answer)
					}
					seen[c.Name] = true
				}
			}
			if !seen["t2i_think"] || !seen["vqa"] {
				t.Errorf("cases.json lacks t2i_think or vqa (found %v)", seen)
			}
		})
	}
}

// TestGoldenPromptIDs encodes the reference's exact prompt strings and
// compares with the input ids it fed the model.
func TestGoldenPromptIDs(t *testing.T) {
	for _, variant := range []string{"mlphead", "pixelhead"} {
		t.Run(variant, func(t *testing.T) {
			dir := filepath.Join(goldenDir(t), variant)
			tok := mustLoad(t, dir)
			refs, err := safetensors.Open(filepath.Join(dir, "references.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			defer refs.Close()
			var cases struct {
				Cases []struct {
					Name        string `json:"name"`
					QueryCond   string `json:"query_cond"`
					QueryUncond string `json:"query_uncond"`
				} `json:"cases"`
			}
			readJSON(t, filepath.Join(dir, "cases.json"), &cases)
			checked := 0
			for _, c := range cases.Cases {
				for _, br := range []struct{ branch, text string }{{"cond", c.QueryCond}, {"uncond", c.QueryUncond}} {
					name := variant + "." + c.Name + "." + br.branch + ".input_ids"
					info, ok := refs.Info(name)
					if !ok {
						continue
					}
					if info.DType != safetensors.I64 {
						t.Fatalf("%s is %s, want I64", name, info.DType)
					}
					b, err := refs.Bytes(name)
					if err != nil {
						t.Fatal(err)
					}
					want := make([]int, len(b)/8)
					for i := range want {
						want[i] = int(int64(binary.LittleEndian.Uint64(b[8*i:])))
					}
					if got := tok.Encode(br.text); !reflect.DeepEqual(got, want) {
						t.Errorf("%s: Encode(%s) differs:\n got %v\nwant %v", name, "query_"+br.branch, got, want)
					}
					checked++
				}
			}
			if checked == 0 {
				t.Fatal("no *.input_ids in references.safetensors")
			}
			t.Logf("%d prompts encode to the reference's input ids", checked)
		})
	}
}

// TestGoldenInterleave decodes the interleave run's text chunks: joined with
// the <image> marker they give generated_text.
func TestGoldenInterleave(t *testing.T) {
	dir := filepath.Join(goldenDir(t), "interleave")
	tok := mustLoad(t, dir)
	var cases struct {
		Cases []struct {
			GeneratedText string  `json:"generated_text"`
			Chunks        [][]int `json:"text_chunks_ids"`
		} `json:"cases"`
	}
	readJSON(t, filepath.Join(dir, "cases.json"), &cases)
	if len(cases.Cases) == 0 {
		t.Fatal("no cases")
	}
	for _, c := range cases.Cases {
		parts := make([]string, len(c.Chunks))
		for i, ids := range c.Chunks {
			parts[i] = tok.Decode(ids, false)
		}
		if got := strings.Join(parts, "<image>"); got != c.GeneratedText {
			t.Errorf("decoded chunks joined = %q, want %q", got, c.GeneratedText)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	golden := filepath.Join(goldenDir(t), "tokenizer")
	tjData, err := os.ReadFile(filepath.Join(golden, "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	write := func(t *testing.T, dir, name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// modified returns the tiny tokenizer.json with one edit applied.
	modified := func(t *testing.T, edit func(m map[string]any)) string {
		var m map[string]any
		if err := json.Unmarshal(tjData, &m); err != nil {
			t.Fatal(err)
		}
		edit(m)
		out, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return string(out)
	}

	cases := []struct {
		name  string
		setup func(t *testing.T, dir string) string // returns the path to load
		want  []string                              // substrings of the error
	}{
		{"missing path", func(t *testing.T, dir string) string {
			return filepath.Join(dir, "nope")
		}, []string{"nope", "want a tokenizer.json file or a folder"}},
		{"folder with neither form", func(t *testing.T, dir string) string {
			write(t, dir, "vocab.json", "{}") // merges.txt missing
			return dir
		}, []string{dir0, "no tokenizer.json and no vocab.json + merges.txt"}},
		{"invalid JSON", func(t *testing.T, dir string) string {
			return write(t, dir, "tokenizer.json", `{"model": {"type": "BPE",`)
		}, []string{"tokenizer.json", "invalid JSON"}},
		{"invalid vocab.json", func(t *testing.T, dir string) string {
			write(t, dir, "vocab.json", `{"a": 0,,}`)
			write(t, dir, "merges.txt", "#version: 0.2\n")
			return dir
		}, []string{"vocab.json", "invalid JSON"}},
		{"merge of unknown token (merges.txt)", func(t *testing.T, dir string) string {
			write(t, dir, "vocab.json", `{"a": 0, "b": 1, "ab": 2}`)
			write(t, dir, "merges.txt", "#version: 0.2\na b\nab zz\n")
			return dir
		}, []string{"merges.txt", "line 3", `"zz" is not in the vocab`}},
		{"merge result unknown (merges.txt)", func(t *testing.T, dir string) string {
			write(t, dir, "vocab.json", `{"a": 0, "b": 1}`)
			write(t, dir, "merges.txt", "a b\n")
			return dir
		}, []string{"merges.txt", `merged token "ab" is not in the vocab`}},
		{"bad merges line", func(t *testing.T, dir string) string {
			write(t, dir, "vocab.json", `{"a": 0, "b": 1, "ab": 2}`)
			write(t, dir, "merges.txt", "#version: 0.2\na b c\n")
			return dir
		}, []string{"merges.txt", "line 2", "want two tokens"}},
		{"merge of unknown token (tokenizer.json)", func(t *testing.T, dir string) string {
			return write(t, dir, "tokenizer.json", modified(t, func(m map[string]any) {
				model := m["model"].(map[string]any)
				model["merges"] = append(model["merges"].([]any), []any{"Ġ", "nosuchtoken"})
			}))
		}, []string{"tokenizer.json", "model.merges[402]", `"nosuchtoken" is not in the vocab`}},
		{"model not BPE", func(t *testing.T, dir string) string {
			return write(t, dir, "tokenizer.json", modified(t, func(m map[string]any) {
				m["model"].(map[string]any)["type"] = "WordPiece"
			}))
		}, []string{"tokenizer.json", `model type "WordPiece" is not supported, want "BPE"`}},
		{"other pre-tokenizer", func(t *testing.T, dir string) string {
			return write(t, dir, "tokenizer.json", modified(t, func(m map[string]any) {
				m["pre_tokenizer"] = map[string]any{"type": "ByteLevel", "add_prefix_space": false, "use_regex": true}
			}))
		}, []string{"tokenizer.json", "pre_tokenizer ByteLevel is not supported"}},
		{"other normalizer", func(t *testing.T, dir string) string {
			return write(t, dir, "tokenizer.json", modified(t, func(m map[string]any) {
				m["normalizer"] = map[string]any{"type": "NFKC"}
			}))
		}, []string{"tokenizer.json", `normalizer type "NFKC" is not supported`}},
		{"byte fallback", func(t *testing.T, dir string) string {
			return write(t, dir, "tokenizer.json", modified(t, func(m map[string]any) {
				m["model"].(map[string]any)["byte_fallback"] = true
			}))
		}, []string{"tokenizer.json", "byte_fallback"}},
		{"other tokenizer class", func(t *testing.T, dir string) string {
			for _, f := range []string{"vocab.json", "merges.txt"} {
				copyFile(t, filepath.Join(golden, f), filepath.Join(dir, f))
			}
			write(t, dir, "tokenizer_config.json", `{"tokenizer_class": "GPT2Tokenizer"}`)
			return dir
		}, []string{"tokenizer_config.json", "GPT2Tokenizer", "want Qwen2Tokenizer"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			path := c.setup(t, dir)
			tok, err := Load(path)
			if err == nil {
				t.Fatalf("Load(%s) succeeded (Len %d), want an error", path, tok.Len())
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "tokenizer ") {
				t.Errorf("error %q does not start with \"tokenizer \"", msg)
			}
			for _, w := range c.want {
				if w == dir0 {
					w = dir
				}
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not mention %q", msg, w)
				}
			}
		})
	}
}

// dir0 in a want list stands for the case's temporary folder.
const dir0 = "\x00dir"

// TestAddedTokenFlags checks lstrip, rstrip and single_word (all false in
// the real files) against AddedVocabulary's rules.
func TestAddedTokenFlags(t *testing.T) {
	src := filepath.Join(goldenDir(t), "tokenizer", "tokenizer.json")
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	for _, e := range m["added_tokens"].([]any) {
		a := e.(map[string]any)
		switch a["content"] {
		case "<img>":
			a["lstrip"], a["rstrip"] = true, true
		case "<think>":
			a["single_word"] = true
		}
	}
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "tokenizer.json")
	if err := os.WriteFile(file, out, 0o644); err != nil {
		t.Fatal(err)
	}
	tok := mustLoad(t, file)
	plain := mustLoad(t, src)
	cat := func(parts ...[]int) []int {
		var r []int
		for _, p := range parts {
			r = append(r, p...)
		}
		return r
	}
	const img, think = 664, 658

	// lstrip/rstrip: the white space around <img> goes with it.
	if got, want := tok.Encode("a \t<img>\n b"), cat(plain.Encode("a"), []int{img}, plain.Encode("b")); !reflect.DeepEqual(got, want) {
		t.Errorf("lstrip/rstrip: Encode = %v, want %v", got, want)
	}
	// Two stripped tokens in a row share nothing twice.
	if got, want := tok.Encode("x <img> <img> y"), cat(plain.Encode("x"), []int{img, img}, plain.Encode("y")); !reflect.DeepEqual(got, want) {
		t.Errorf("lstrip/rstrip twice: Encode = %v, want %v", got, want)
	}
	// single_word: <think> glued to a word is not the added token.
	for _, s := range []string{"x<think>", "<think>y", "é<think>", "<think>_", "<think>3"} {
		if got := tok.Encode(s); slices.Contains(got, think) {
			t.Errorf("single_word: Encode(%q) = %v contains <think>", s, got)
		} else if dec := tok.Decode(got, false); dec != s {
			t.Errorf("single_word: Decode(Encode(%q)) = %q", s, dec)
		}
	}
	for _, s := range []string{"<think>", " <think> ", "(<think>)", "<think>\n"} {
		if got := tok.Encode(s); !slices.Contains(got, think) {
			t.Errorf("single_word: Encode(%q) = %v lacks <think>", s, got)
		}
	}
}

// TestLossyUTF8 checks the from_utf8_lossy conversion on hand-worked cases:
// one U+FFFD per maximal subpart of an ill-formed sequence (Unicode §3.9,
// "U+FFFD Substitution of Maximal Subparts").
func TestLossyUTF8(t *testing.T) {
	const R = "\uFFFD"
	cases := []struct {
		in   string
		want string
	}{
		{"", ""},
		{"plain ascii", "plain ascii"},
		{"h\u00e9 \u4e16 \U0001F642", "h\u00e9 \u4e16 \U0001F642"},
		// truncated sequences: the valid prefix is one subpart
		{"a\xC3", "a" + R},        // 2-byte lead at end
		{"a\xC3b", "a" + R + "b"}, // 2-byte lead, then ASCII
		{"\xE4\xB8", R},           // 3-byte, 2 of 3
		{"\xE4\xB8x", R + "x"},    // 3-byte, 2 of 3, then ASCII
		{"\xE4x", R + "x"},        // 3-byte, 1 of 3
		{"\xF0\x9F\x99", R},       // 4-byte, 3 of 4
		{"\xF0\x9F\x99x\xF0\x9F", R + "x" + R},
		{"\xF0\x9Fx", R + "x"},                             // 4-byte, 2 of 4
		{"\xF0\x9F\x99\xF0\x9F\x99\x82", R + "\U0001F642"}, // truncated then complete
		// lone continuation bytes: one each
		{"\x80", R},
		{"\x80\x80\xBF", R + R + R},
		{"a\xBFb", "a" + R + "b"},
		// overlong encodings: C0/C1 never start a sequence; E0 80, F0 80 break at the second byte
		{"\xC0\x80", R + R},
		{"\xC1\xBF", R + R},
		{"\xE0\x80\x80", R + R + R},
		{"\xE0\x9F\xBF", R + R + R},
		{"\xF0\x80\x80\x80", R + R + R + R},
		{"\xF0\x8F\xBF\xBF", R + R + R + R},
		// surrogates encoded in UTF-8 (CESU): ED A0..BF is ill-formed at the second byte
		{"\xED\xA0\x80", R + R + R},
		{"\xED\xB0\x80x", R + R + R + "x"},
		{"\xED\x9F\xBF", "\uD7FF"}, // the last code point before the surrogates is fine
		// beyond U+10FFFF and bytes F5..FF
		{"\xF4\x90\x80\x80", R + R + R + R},
		{"\xF4\x8F\xBF\xBF", "\U0010FFFF"},
		{"\xF5\x80", R + R},
		{"\xF8\x88\x80\x80\x80", R + R + R + R + R},
		{"\xFE\xFF", R + R},
		// a lead byte interrupted by another lead byte
		{"\xE4\xC3\xA9", R + "\u00e9"},
		{"\xC3\xE4\xB8\x96", R + "\u4e16"},
	}
	for _, c := range cases {
		if got := lossyUTF8([]byte(c.in)); got != c.want {
			t.Errorf("lossyUTF8(% X) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestByteLevelTable(t *testing.T) {
	seen := map[rune]bool{}
	for b := range 256 {
		r := byteToRune[b]
		if seen[r] {
			t.Fatalf("rune %U used twice", r)
		}
		seen[r] = true
		if got := runeToByte[r]; got != byte(b) {
			t.Errorf("byte %#x → %U → %#x", b, r, got)
		}
	}
	for b, want := range map[byte]rune{' ': 'Ġ', '\n': 'Ċ', '\t': 'ĉ', 0: 'Ā', 0x7F: 'ġ', 0xA0: 'ł', 0xAD: 'Ń', 'a': 'a', 0xE9: 'é'} {
		if byteToRune[b] != want {
			t.Errorf("byte %#x → %q, want %q", b, byteToRune[b], want)
		}
	}
}

// TestPreTokenize pins hand-worked splits of the Qwen2 regex.
func TestPreTokenize(t *testing.T) {
	buildClassTable()
	cases := []struct {
		in   string
		want []string
	}{
		{"Hello world", []string{"Hello", " world"}},
		{"don't WE'LL i'M", []string{"don", "'t", " WE", "'LL", " i", "'M"}},
		{"x'ſ x'Re 'Ve 'll 'd 'q", []string{"x", "'ſ", " x", "'Re", " '", "Ve", " '", "ll", " '", "d", " '", "q"}},
		{"'sam", []string{"'s", "am"}},
		{"12345", []string{"1", "2", "3", "4", "5"}},
		{"a  b", []string{"a", " ", " b"}},
		{"a \n\n b", []string{"a", " \n\n", " b"}},
		{"x \r\n \t", []string{"x", " \r\n", " \t"}},
		{"\t\ttabs", []string{"\t", "\ttabs"}},
		{"  1", []string{" ", " ", "1"}},
		{"!!! ...\n\nx", []string{"!!!", " ...\n\n", "x"}},
		{" (nested", []string{" (", "nested"}},
		{"\u00a0nbsp", []string{"\u00a0nbsp"}},
		{"a\u3000b", []string{"a", "\u3000b"}},
		{"e\u0301x", []string{"e", "\u0301x"}},
		{"\r\nx", []string{"\r\n", "x"}},
		{"end  ", []string{"end", "  "}},
		{"你好，世界！", []string{"你好", "，世界", "！"}},
	}
	for _, c := range cases {
		var got []string
		preTokenize(c.in, func(p string) { got = append(got, p) })
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("preTokenize(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// randomText builds a string from a mix of the scripts and shapes the
// tokenizer must survive.
func randomText(r *rand.Rand) string {
	pools := []string{
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
		"0123456789٠١٢３４",
		" \t\n\r\u00a0\u3000\u2028\u0085\v\f",
		"!?.,;:'\"()[]{}<>|/\\-_=+*&^%$#@~`",
		"雪地里的红狐狸清晨柔和的光线한국어日本語ひらがなカタカナ",
		"\U0001F642\U0001F3A8\U0001F680\U0001F468\u200d\U0001F469\U0001F1E8\U0001F1F3",
		"\u0301\u0308\u0327\u0323\u0951\u093f\u05b7",
		"éèêëñçåøæœßſKÅΩπΣσςДжЯ",
		"'s't're've'm'll'd'S'T'RE",
	}
	n := r.IntN(40)
	var sb strings.Builder
	for range n {
		switch k := r.IntN(len(pools) + 1); {
		case k == len(pools):
			// random bytes, made valid UTF-8 the Go way
			b := make([]byte, 1+r.IntN(6))
			for i := range b {
				b[i] = byte(r.UintN(256))
			}
			sb.WriteString(strings.ToValidUTF8(string(b), "\uFFFD"))
		default:
			rs := []rune(pools[k])
			for range 1 + r.IntN(5) {
				sb.WriteRune(rs[r.IntN(len(rs))])
			}
		}
	}
	return sb.String()
}

func TestRoundTrip(t *testing.T) {
	tiny := mustLoad(t, filepath.Join(goldenDir(t), "tokenizer"))
	qwen := mustLoad(t, qwen3Dir(t))
	r := rand.New(rand.NewPCG(1, 2))
	for _, tok := range []*Tokenizer{tiny, qwen} {
		checked := 0
		for range 3000 {
			s := randomText(r)
			if containsAdded(tok, s) {
				continue
			}
			checked++
			want := norm.NFC.String(s)
			if got := tok.Decode(tok.Encode(s), false); got != want {
				t.Fatalf("%s: Decode(Encode(%q)) = %q, want %q", tok.Path(), s, got, want)
			}
		}
		if checked < 1000 {
			t.Errorf("only %d strings checked", checked)
		}
	}
}

func containsAdded(tok *Tokenizer, s string) bool {
	for _, a := range tok.AddedTokens() {
		if strings.Contains(s, a) {
			return true
		}
	}
	return false
}

func TestEncodeInvalidUTF8(t *testing.T) {
	tok := mustLoad(t, filepath.Join(goldenDir(t), "tokenizer"))
	// Invalid bytes are replaced as from_utf8_lossy would, then encoded.
	got := tok.Decode(tok.Encode("a\xE4\xB8b\xFF"), false)
	if want := "a\uFFFDb\uFFFD"; got != want {
		t.Errorf("round trip of invalid UTF-8 = %q, want %q", got, want)
	}
}

func TestConcurrentEncode(t *testing.T) {
	tok := mustLoad(t, filepath.Join(goldenDir(t), "tokenizer"))
	text := benchText()[:4000]
	want := tok.Encode(text)
	done := make(chan []int)
	for range 8 {
		go func() { done <- tok.Encode(text) }()
	}
	for range 8 {
		if got := <-done; !reflect.DeepEqual(got, want) {
			t.Fatal("concurrent Encode gave a different result")
		}
	}
}

func FuzzEncode(f *testing.F) {
	for _, s := range []string{"", "hello world", "don't", "<|im_start|>user\nhi<|im_end|>", "\xff\xfe", "  \n  ", "雪地里的红狐狸", "x'ſ", "\r\n\r\n  \t"} {
		f.Add(s)
	}
	dir := filepath.Join(goldenDir(f), "tokenizer")
	tok := mustLoad(f, dir)
	f.Fuzz(func(t *testing.T, s string) {
		ids := tok.Encode(s)
		for _, id := range ids {
			if id < 0 || id >= tok.Len() {
				t.Fatalf("Encode(%q) gave id %d outside [0, %d)", s, id, tok.Len())
			}
		}
		out := tok.Decode(ids, false)
		if !utf8.ValidString(out) {
			t.Fatalf("Decode gave invalid UTF-8 for %q", s)
		}
		if utf8.ValidString(s) && !containsAdded(tok, s) {
			if want := norm.NFC.String(s); out != want {
				t.Fatalf("Decode(Encode(%q)) = %q, want %q", s, out, want)
			}
		}
		// Decoding arbitrary ids must not panic either.
		raw := []byte(s)
		junk := make([]int, 0, len(raw))
		for i, b := range raw {
			junk = append(junk, int(b)*(i+1)-50)
		}
		_ = tok.Decode(junk, true)
	})
}

// benchText is ~100 KB of mixed English prose, Chinese prose and Go code,
// assembled pseudo-randomly (fixed seed) from word and snippet lists, so that
// words repeat as in real text but paragraphs do not.
func benchText() string {
	en := strings.Fields("the a of and to in is was for on that with as by at from it this be are " +
		"portrait elderly woman farmhouse window textured skin gentle smile warm natural light emotional " +
		"documentary look model generates image prompt style color red fox snow morning soft cat sitting " +
		"windowsill sky purple tomato egg stir-fry beginner-friendly illustrated tutorial don't we'll it's " +
		"They're I've Mr. Smith's 2024 3.14 1024×1024 50% (cfg) [steps] {seed} \"quoted\" e-mail https://example.com/a?b=c")
	zh := []string{"雪地里的红狐狸", "清晨柔和的光线", "一只猫坐在窗台上", "把天空改成紫色", "我想学做番茄炒蛋",
		"请给我一个适合初学者的图文教程", "模型", "生成", "图像", "文本", "，", "。", "！", "？", "、", "“引号”", "２０２４年"}
	code := []string{"func (t *Tokenizer) Encode(text string) []int {\n", "\tids := make([]int, 0, len(text)/3+1)\n",
		"\tfor i := 0; i < len(text); i++ {\n", "\t\tif text[i] == '\\n' {\n\t\t\tids = append(ids, 198)\n\t\t}\n",
		"\t}\n", "\treturn ids // TODO(lead): check 42\n}\n\n", "x = np.zeros((3, 224, 224), dtype=np.float32)\n",
		"    if err != nil {\n        return nil, fmt.Errorf(\"load %s: %w\", path, err)\n    }\n"}
	r := rand.New(rand.NewPCG(7, 11))
	var sb strings.Builder
	for sb.Len() < 100_000 {
		switch r.IntN(3) {
		case 0:
			for range 20 + r.IntN(40) {
				sb.WriteString(en[r.IntN(len(en))])
				if r.IntN(12) == 0 {
					sb.WriteString(",")
				}
				sb.WriteString(" ")
			}
			sb.WriteString("end.\n\n")
		case 1:
			for range 10 + r.IntN(20) {
				sb.WriteString(zh[r.IntN(len(zh))])
			}
			sb.WriteString("。\n")
		case 2:
			for range 3 + r.IntN(6) {
				sb.WriteString(code[r.IntN(len(code))])
			}
		}
	}
	return sb.String()
}

func BenchmarkEncodeQwen3(b *testing.B) {
	tok := mustLoad(b, qwen3Dir(b))
	text := benchText()
	b.SetBytes(int64(len(text)))
	b.ResetTimer()
	for b.Loop() {
		tok.Encode(text)
	}
}

// BenchmarkEncodeQwen3Cold measures encoding with an empty word cache.
func BenchmarkEncodeQwen3Cold(b *testing.B) {
	tok := mustLoad(b, qwen3Dir(b))
	text := benchText()
	b.SetBytes(int64(len(text)))
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		tok.model.cache = map[string][]int{}
		b.StartTimer()
		tok.Encode(text)
	}
}

func BenchmarkLoadQwen3(b *testing.B) {
	dir := qwen3Dir(b)
	b.ResetTimer()
	for b.Loop() {
		if _, err := Load(dir); err != nil {
			b.Fatal(err)
		}
	}
}
