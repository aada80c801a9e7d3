package demo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// The demo tokenizer is a Qwen2-style byte-level BPE tokenizer made in code:
// the 256 byte tokens in GPT-2's order (ids 0–255, as in the real Qwen
// vocabulary), merges learnt by plain BPE from the little corpus below, and
// the added tokens the pipelines look up, in the real vocabulary's order.

// corpus is the text the merges are learnt from: words of the kind picture
// prompts use. Changing it changes the tokenizer (bump Version).
const corpus = `
a photo of a cat sitting on the red chair in the garden
a painting of the sea at sunset with golden light and soft clouds
the blue house on the hill under a bright morning sky
a portrait of a woman with long hair and a green dress
a small boat on the river near the old stone bridge
an abstract picture with warm colors and gentle shapes
the city street at night with rain and shining lights
a bowl of fresh fruit on the wooden table by the window
a mountain lake in the forest with tall trees and snow
two children playing with a dog on the beach in summer
draw a flower in the style of a watercolor illustration
make the background white and the picture more colorful
what is in this image please describe the scene
change the color of the sky to purple and add a moon
a detailed drawing of a bird standing in the grass
the quick brown fox jumps over the lazy dog
system
user
assistant
`

// maxMerges bounds the merges learnt from corpus.
const maxMerges = 400

// Added tokens, in the order of the real Qwen3 vocabulary (151643 …
// 151645, then 151667 … 151671): the first three are special, the think
// tags are not, the picture tags are.
var addedTokens = []struct {
	content string
	special bool
}{
	{"<|endoftext|>", true},
	{"<|im_start|>", true},
	{"<|im_end|>", true},
	{"<think>", false},
	{"</think>", false},
	{"<IMG_CONTEXT>", true},
	{"<img>", true},
	{"</img>", true},
}

// qwen2Pattern is the Split regex of Qwen2's tokenizer.json.
const qwen2Pattern = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`

// byteRunes is GPT-2's byte-to-unicode table: bytes '!'..'~', '¡'..'¬' and
// '®'..'ÿ' stand for themselves, the other 68 take U+0100, U+0101, … in
// byte order. order lists the bytes in vocabulary order (printable ones
// first), which is the order of ids 0–255 in Qwen's vocabulary.
func byteRunes() (table [256]rune, order []byte) {
	next := rune(256)
	var rest []byte
	for b := 0; b < 256; b++ {
		if b >= '!' && b <= '~' || b >= 0xA1 && b <= 0xAC || b >= 0xAE && b <= 0xFF {
			table[b] = rune(b)
			order = append(order, byte(b))
		} else {
			table[b] = next
			next++
			rest = append(rest, byte(b))
		}
	}
	return table, append(order, rest...)
}

// tokenizerData is the generated tokenizer: vocab in id order, merges in
// rank order, and the id of the first added token.
type tokenizerData struct {
	vocab   []string // vocab[id]
	merges  [][2]string
	addedAt int
}

// buildTokenizer learns the merges from corpus by plain BPE: every word
// (preceded by a space unless it starts a line, as in running text) starts
// as its byte-level symbols; the most frequent adjacent pair (ties: the
// smaller pair in string order) is merged everywhere, until maxMerges or
// no pair is left.
func buildTokenizer() tokenizerData {
	table, order := byteRunes()
	var td tokenizerData
	have := map[string]bool{}
	for _, b := range order {
		s := string(table[b])
		td.vocab = append(td.vocab, s)
		have[s] = true
	}

	freq := map[string]int{}
	for _, line := range strings.Split(corpus, "\n") {
		for i, w := range strings.Fields(line) {
			if i > 0 {
				w = " " + w
			}
			freq[w]++
		}
	}
	type word struct {
		syms  []string
		count int
	}
	var words []word
	for w, n := range freq {
		var syms []string
		for i := 0; i < len(w); i++ {
			syms = append(syms, string(table[w[i]]))
		}
		words = append(words, word{syms, n})
	}

	for len(td.merges) < maxMerges {
		counts := map[[2]string]int{}
		for _, w := range words {
			for i := 0; i+1 < len(w.syms); i++ {
				counts[[2]string{w.syms[i], w.syms[i+1]}] += w.count
			}
		}
		var best [2]string
		bestN := 0
		for p, n := range counts {
			if n > bestN || n == bestN && (p[0] < best[0] || p[0] == best[0] && p[1] < best[1]) {
				best, bestN = p, n
			}
		}
		if bestN == 0 {
			break
		}
		td.merges = append(td.merges, best)
		joined := best[0] + best[1]
		if !have[joined] {
			td.vocab = append(td.vocab, joined)
			have[joined] = true
		}
		for k := range words {
			syms := words[k].syms
			out := syms[:0]
			for i := 0; i < len(syms); i++ {
				if i+1 < len(syms) && syms[i] == best[0] && syms[i+1] == best[1] {
					out = append(out, joined)
					i++
				} else {
					out = append(out, syms[i])
				}
			}
			words[k].syms = out
		}
	}
	td.addedAt = len(td.vocab)
	return td
}

// tokenizerFiles renders the tokenizer in both forms a download carries:
// tokenizer.json, and vocab.json + merges.txt + added_tokens.json +
// special_tokens_map.json, with tokenizer_config.json for both.
func tokenizerFiles(td tokenizerData) (map[string][]byte, error) {
	files := map[string][]byte{}

	// vocab in id order (encoding/json would sort the keys).
	var vocab bytes.Buffer
	vocab.WriteByte('{')
	for id, tok := range td.vocab {
		if id > 0 {
			vocab.WriteByte(',')
		}
		k, err := jsonText(tok, "")
		if err != nil {
			return nil, err
		}
		vocab.Write(k)
		vocab.WriteByte(':')
		vocab.WriteString(strconv.Itoa(id))
	}
	vocab.WriteByte('}')
	files["vocab.json"] = append(vocab.Bytes(), '\n')

	var merges strings.Builder
	merges.WriteString("#version: 0.2\n")
	for _, m := range td.merges {
		merges.WriteString(m[0] + " " + m[1] + "\n")
	}
	files["merges.txt"] = []byte(merges.String())

	type addedJSON struct {
		ID         int    `json:"id"`
		Content    string `json:"content"`
		SingleWord bool   `json:"single_word"`
		LStrip     bool   `json:"lstrip"`
		RStrip     bool   `json:"rstrip"`
		Normalized bool   `json:"normalized"`
		Special    bool   `json:"special"`
	}
	type decoderEntry struct {
		Content    string `json:"content"`
		LStrip     bool   `json:"lstrip"`
		Normalized bool   `json:"normalized"`
		RStrip     bool   `json:"rstrip"`
		SingleWord bool   `json:"single_word"`
		Special    bool   `json:"special"`
	}
	var added []addedJSON
	addedIDs := map[string]int{}
	decoder := map[string]decoderEntry{}
	for i, a := range addedTokens {
		id := td.addedAt + i
		added = append(added, addedJSON{ID: id, Content: a.content, Special: a.special})
		addedIDs[a.content] = id
		decoder[strconv.Itoa(id)] = decoderEntry{Content: a.content, Special: a.special}
	}

	byteLevel := map[string]any{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false}
	tj := struct {
		Version       string          `json:"version"`
		Truncation    any             `json:"truncation"`
		Padding       any             `json:"padding"`
		AddedTokens   []addedJSON     `json:"added_tokens"`
		Normalizer    any             `json:"normalizer"`
		PreTokenizer  any             `json:"pre_tokenizer"`
		PostProcessor any             `json:"post_processor"`
		Decoder       any             `json:"decoder"`
		Model         json.RawMessage `json:"model"`
	}{
		Version:     "1.0",
		AddedTokens: added,
		Normalizer:  map[string]any{"type": "NFC"},
		PreTokenizer: map[string]any{
			"type": "Sequence",
			"pretokenizers": []any{
				map[string]any{"type": "Split", "pattern": map[string]string{"Regex": qwen2Pattern}, "behavior": "Isolated", "invert": false},
				map[string]any{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false},
			},
		},
		PostProcessor: byteLevel,
		Decoder:       byteLevel,
	}
	mergePairs, err := jsonText(td.merges, "")
	if err != nil {
		return nil, err
	}
	var model bytes.Buffer
	model.WriteString(`{"type":"BPE","dropout":null,"unk_token":null,"continuing_subword_prefix":"","end_of_word_suffix":"","fuse_unk":false,"byte_fallback":false,"ignore_merges":false,"vocab":`)
	model.Write(bytes.TrimSpace(files["vocab.json"]))
	model.WriteString(`,"merges":`)
	model.Write(mergePairs)
	model.WriteByte('}')
	tj.Model = model.Bytes()
	if files["tokenizer.json"], err = jsonText(tj, "  "); err != nil {
		return nil, err
	}

	cfg := map[string]any{
		"tokenizer_class":              "Qwen2Tokenizer",
		"add_bos_token":                false,
		"add_prefix_space":             false,
		"bos_token":                    nil,
		"eos_token":                    "<|im_end|>",
		"pad_token":                    "<|endoftext|>",
		"unk_token":                    nil,
		"errors":                       "replace",
		"clean_up_tokenization_spaces": false,
		"split_special_tokens":         false,
		"model_max_length":             32768,
		"additional_special_tokens":    []string{"<|im_start|>", "<|im_end|>"},
		"added_tokens_decoder":         decoder,
	}
	if files["tokenizer_config.json"], err = jsonText(cfg, "  "); err != nil {
		return nil, err
	}
	if files["added_tokens.json"], err = jsonText(addedIDs, "  "); err != nil {
		return nil, err
	}
	if files["special_tokens_map.json"], err = jsonText(map[string]any{
		"eos_token": "<|im_end|>", "pad_token": "<|endoftext|>",
		"additional_special_tokens": []string{"<|im_start|>", "<|im_end|>"},
	}, "  "); err != nil {
		return nil, err
	}
	return files, nil
}

// jsonText encodes v without HTML escaping (token strings keep their < and
// >), indented when indent is not empty, with a final newline.
func jsonText(v any, indent string) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", indent)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("demo: encoding JSON: %w", err)
	}
	if indent == "" {
		return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
	}
	return buf.Bytes(), nil
}
