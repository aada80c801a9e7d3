package tokenizer

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// maxID bounds token ids: a real vocabulary has a few hundred thousand, and
// a larger id is a corrupt file rather than a reason to allocate gigabytes.
const maxID = 1 << 24

// Load reads a tokenizer from path: a tokenizer.json file, or a folder. In a
// folder, tokenizer.json is used when present; otherwise vocab.json +
// merges.txt, with the added tokens of added_tokens.json and of
// tokenizer_config.json's added_tokens_decoder (which carries their
// "special" flags), and special_tokens_map.json. The vocab.json form has no
// pipeline description: it is read as a Qwen2 tokenizer (NFC, the Qwen2
// split regex, byte-level BPE), and a tokenizer_config.json naming another
// tokenizer_class is rejected.
func Load(path string) (*Tokenizer, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer %s: want a tokenizer.json file or a folder holding one: %w", path, err)
	}
	if !fi.IsDir() {
		return loadJSON(path)
	}
	tj := filepath.Join(path, "tokenizer.json")
	if fileExists(tj) {
		return loadJSON(tj)
	}
	vj, mt := filepath.Join(path, "vocab.json"), filepath.Join(path, "merges.txt")
	if fileExists(vj) && fileExists(mt) {
		return loadVocabMerges(path)
	}
	return nil, fmt.Errorf("tokenizer %s: folder has no tokenizer.json and no vocab.json + merges.txt pair", path)
}

func fileExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir()
}

// ---- tokenizer.json ----

type tokenizerJSON struct {
	AddedTokens   []addedTokenJSON `json:"added_tokens"`
	Normalizer    json.RawMessage  `json:"normalizer"`
	PreTokenizer  json.RawMessage  `json:"pre_tokenizer"`
	Decoder       json.RawMessage  `json:"decoder"`
	PostProcessor json.RawMessage  `json:"post_processor"` // not used: Encode adds no special tokens
	Model         *modelJSON       `json:"model"`
}

type addedTokenJSON struct {
	ID         *int   `json:"id"`
	Content    string `json:"content"`
	SingleWord bool   `json:"single_word"`
	LStrip     bool   `json:"lstrip"`
	RStrip     bool   `json:"rstrip"`
	Normalized *bool  `json:"normalized"`
	Special    bool   `json:"special"`
}

type modelJSON struct {
	Type                    string          `json:"type"`
	Dropout                 *float64        `json:"dropout"`
	UnkToken                *string         `json:"unk_token"`
	ContinuingSubwordPrefix *string         `json:"continuing_subword_prefix"`
	EndOfWordSuffix         *string         `json:"end_of_word_suffix"`
	FuseUnk                 bool            `json:"fuse_unk"`
	ByteFallback            bool            `json:"byte_fallback"`
	IgnoreMerges            bool            `json:"ignore_merges"`
	Vocab                   json.RawMessage `json:"vocab"`
	Merges                  json.RawMessage `json:"merges"`
}

type typed struct {
	Type string `json:"type"`
}

func jsonError(file string, err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("tokenizer %s: invalid JSON at byte %d: %v", file, se.Offset, err)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Errorf("tokenizer %s: field %q is a JSON %s, want %s", file, te.Field, te.Value, te.Type)
	}
	return fmt.Errorf("tokenizer %s: invalid JSON: %v", file, err)
}

func loadJSON(file string) (*Tokenizer, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("tokenizer %s: want a HuggingFace tokenizer.json: %w", file, err)
	}
	var tj tokenizerJSON
	if err := json.Unmarshal(data, &tj); err != nil {
		return nil, jsonError(file, err)
	}
	m := tj.Model
	if m == nil {
		return nil, fmt.Errorf("tokenizer %s: no \"model\" object, want a HuggingFace tokenizer.json with a BPE model", file)
	}
	if m.Type != "BPE" && !(m.Type == "" && m.Merges != nil) {
		return nil, fmt.Errorf("tokenizer %s: model type %q is not supported, want \"BPE\"", file, m.Type)
	}
	if m.Dropout != nil && *m.Dropout != 0 {
		return nil, fmt.Errorf("tokenizer %s: BPE dropout %v is not supported, want null", file, *m.Dropout)
	}
	if m.ByteFallback {
		return nil, fmt.Errorf("tokenizer %s: BPE byte_fallback is not supported, want false", file)
	}
	if m.ContinuingSubwordPrefix != nil && *m.ContinuingSubwordPrefix != "" {
		return nil, fmt.Errorf("tokenizer %s: continuing_subword_prefix %q is not supported, want null or \"\"", file, *m.ContinuingSubwordPrefix)
	}
	if m.EndOfWordSuffix != nil && *m.EndOfWordSuffix != "" {
		return nil, fmt.Errorf("tokenizer %s: end_of_word_suffix %q is not supported, want null or \"\"", file, *m.EndOfWordSuffix)
	}
	nfc, err := parseNormalizer(file, tj.Normalizer)
	if err != nil {
		return nil, err
	}
	if err := checkPreTokenizer(file, tj.PreTokenizer); err != nil {
		return nil, err
	}
	if err := checkDecoder(file, tj.Decoder); err != nil {
		return nil, err
	}
	if isNull(m.Vocab) {
		return nil, fmt.Errorf("tokenizer %s: model has no \"vocab\" object, want token → id", file)
	}
	vocab, ok := fastVocab(m.Vocab)
	if !ok {
		if err := json.Unmarshal(m.Vocab, &vocab); err != nil {
			return nil, fmt.Errorf("tokenizer %s: model.vocab: %v, want an object of token → id", file, err)
		}
	}
	merges, err := parseMergesJSON(file, m.Merges)
	if err != nil {
		return nil, err
	}
	var added []*addedToken
	for i, a := range tj.AddedTokens {
		if a.ID == nil {
			return nil, fmt.Errorf("tokenizer %s: added_tokens[%d] (%q) has no id", file, i, a.Content)
		}
		normalized := !a.Special // HuggingFace's default when the field is absent
		if a.Normalized != nil {
			normalized = *a.Normalized
		}
		added = append(added, &addedToken{
			content: a.Content, id: *a.ID, special: a.Special,
			lstrip: a.LStrip, rstrip: a.RStrip, singleWord: a.SingleWord, normalized: normalized,
		})
	}
	return build(file, buildSpec{
		vocab: vocab, merges: merges, added: added, nfc: nfc,
		unk: m.UnkToken, fuseUnk: m.FuseUnk, ignoreMerges: m.IgnoreMerges,
	})
}

func isNull(raw json.RawMessage) bool {
	return len(raw) == 0 || string(bytes.TrimSpace(raw)) == "null"
}

// parseNormalizer accepts no normalizer, NFC, or a Sequence of those.
func parseNormalizer(file string, raw json.RawMessage) (nfc bool, err error) {
	if isNull(raw) {
		return false, nil
	}
	var n struct {
		Type        string            `json:"type"`
		Normalizers []json.RawMessage `json:"normalizers"`
	}
	if err := json.Unmarshal(raw, &n); err != nil {
		return false, fmt.Errorf("tokenizer %s: normalizer: %v", file, err)
	}
	switch n.Type {
	case "NFC":
		return true, nil
	case "Sequence":
		for _, sub := range n.Normalizers {
			s, err := parseNormalizer(file, sub)
			if err != nil {
				return false, err
			}
			nfc = nfc || s
		}
		return nfc, nil
	}
	return false, fmt.Errorf("tokenizer %s: normalizer type %q is not supported, want NFC or none", file, n.Type)
}

// checkPreTokenizer accepts exactly the Qwen2 pipeline: Sequence of Split
// (the Qwen2 regex, Isolated, not inverted) and ByteLevel (no prefix space,
// no regex of its own).
func checkPreTokenizer(file string, raw json.RawMessage) error {
	const want = "want Sequence[Split(Qwen2 regex, Isolated), ByteLevel(add_prefix_space=false, use_regex=false)]"
	if isNull(raw) {
		return fmt.Errorf("tokenizer %s: no pre_tokenizer, %s", file, want)
	}
	var seq struct {
		Type          string            `json:"type"`
		PreTokenizers []json.RawMessage `json:"pretokenizers"`
	}
	if err := json.Unmarshal(raw, &seq); err != nil {
		return fmt.Errorf("tokenizer %s: pre_tokenizer: %v", file, err)
	}
	if seq.Type != "Sequence" || len(seq.PreTokenizers) != 2 {
		return fmt.Errorf("tokenizer %s: pre_tokenizer %s is not supported, %s", file, seq.Type, want)
	}
	var split struct {
		Type    string `json:"type"`
		Pattern struct {
			Regex  *string `json:"Regex"`
			String *string `json:"String"`
		} `json:"pattern"`
		Behavior string `json:"behavior"`
		Invert   bool   `json:"invert"`
	}
	if err := json.Unmarshal(seq.PreTokenizers[0], &split); err != nil {
		return fmt.Errorf("tokenizer %s: pre_tokenizer Split: %v", file, err)
	}
	if split.Type != "Split" || split.Pattern.Regex == nil || *split.Pattern.Regex != qwen2Pattern ||
		split.Behavior != "Isolated" || split.Invert {
		return fmt.Errorf("tokenizer %s: first pre-tokenizer is not the Qwen2 Split (regex %q, Isolated, invert false), %s", file, qwen2Pattern, want)
	}
	var bl struct {
		Type           string `json:"type"`
		AddPrefixSpace bool   `json:"add_prefix_space"`
		UseRegex       *bool  `json:"use_regex"`
	}
	if err := json.Unmarshal(seq.PreTokenizers[1], &bl); err != nil {
		return fmt.Errorf("tokenizer %s: pre_tokenizer ByteLevel: %v", file, err)
	}
	if bl.Type != "ByteLevel" || bl.AddPrefixSpace || bl.UseRegex == nil || *bl.UseRegex {
		return fmt.Errorf("tokenizer %s: second pre-tokenizer is not ByteLevel with add_prefix_space and use_regex false, %s", file, want)
	}
	return nil
}

// checkDecoder accepts the ByteLevel decoder; its add_prefix_space,
// trim_offsets and use_regex do not change decoded text.
func checkDecoder(file string, raw json.RawMessage) error {
	var d typed
	if !isNull(raw) {
		if err := json.Unmarshal(raw, &d); err != nil {
			return fmt.Errorf("tokenizer %s: decoder: %v", file, err)
		}
	}
	if d.Type != "ByteLevel" {
		return fmt.Errorf("tokenizer %s: decoder %q is not supported, want ByteLevel", file, d.Type)
	}
	return nil
}

// parseMergesJSON reads model.merges in either form tokenizers writes:
// ["a b", …] (older) or [["a", "b"], …].
func parseMergesJSON(file string, raw json.RawMessage) ([][2]string, error) {
	raw = bytes.TrimSpace(raw)
	if isNull(raw) {
		return nil, fmt.Errorf("tokenizer %s: model has no \"merges\" list, want a BPE merges list", file)
	}
	if out, ok := fastMerges(raw); ok {
		return out, nil
	}
	// Not the common shape: let encoding/json read it, and find the entry
	// at fault.
	inner := bytes.TrimSpace(bytes.TrimPrefix(raw, []byte("[")))
	if len(inner) > 0 && inner[0] == '"' {
		var lines []string
		if err := json.Unmarshal(raw, &lines); err != nil {
			return nil, fmt.Errorf("tokenizer %s: model.merges: %v, want a list of \"a b\" strings or [a, b] pairs", file, err)
		}
		out := make([][2]string, len(lines))
		for i, l := range lines {
			a, b, ok := splitMergeLine(l)
			if !ok {
				return nil, fmt.Errorf("tokenizer %s: model.merges[%d] is %q, want two tokens separated by one space", file, i, l)
			}
			out[i] = [2]string{a, b}
		}
		return out, nil
	}
	var pairs [][]string
	if err := json.Unmarshal(raw, &pairs); err != nil {
		return nil, fmt.Errorf("tokenizer %s: model.merges: %v, want a list of \"a b\" strings or [a, b] pairs", file, err)
	}
	out := make([][2]string, len(pairs))
	for i, p := range pairs {
		if len(p) != 2 {
			return nil, fmt.Errorf("tokenizer %s: model.merges[%d] has %d elements, want 2", file, i, len(p))
		}
		out[i] = [2]string{p[0], p[1]}
	}
	return out, nil
}

// ---- vocab.json + merges.txt ----

type addedDecoderEntry struct {
	Content    string `json:"content"`
	Special    *bool  `json:"special"`
	LStrip     bool   `json:"lstrip"`
	RStrip     bool   `json:"rstrip"`
	SingleWord bool   `json:"single_word"`
	Normalized *bool  `json:"normalized"`
}

// specialTokenKeys are the tokenizer_config.json / special_tokens_map.json
// keys whose values are special tokens.
var specialTokenKeys = []string{
	"bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token",
	"additional_special_tokens",
}

func readJSONFile(file string, v any, optional bool) (bool, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		if optional && errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		return false, fmt.Errorf("tokenizer %s: %w", file, err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return false, jsonError(file, err)
	}
	return true, nil
}

// specialContents collects token strings from a special-tokens value: a
// string, an {"content": …} object, a list of those, or null.
func specialContents(file, key string, raw json.RawMessage, into map[string]bool) error {
	if isNull(raw) {
		return nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		into[s] = true
		return nil
	}
	var obj struct {
		Content *string `json:"content"`
	}
	if json.Unmarshal(raw, &obj) == nil && obj.Content != nil {
		into[*obj.Content] = true
		return nil
	}
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) == nil {
		for _, e := range list {
			if err := specialContents(file, key, e, into); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("tokenizer %s: %q is %s, want a token string, {\"content\": …} or a list of those", file, key, raw)
}

func loadVocabMerges(dir string) (*Tokenizer, error) {
	vocabFile := filepath.Join(dir, "vocab.json")
	data, err := os.ReadFile(vocabFile)
	if err != nil {
		return nil, fmt.Errorf("tokenizer %s: %w", vocabFile, err)
	}
	vocab, ok := fastVocab(data)
	if !ok {
		if err := json.Unmarshal(data, &vocab); err != nil {
			return nil, jsonError(vocabFile, err)
		}
	}
	if vocab == nil {
		return nil, fmt.Errorf("tokenizer %s: want a JSON object of token → id", vocabFile)
	}
	mergesFile := filepath.Join(dir, "merges.txt")
	merges, mergeLines, err := readMergesTxt(mergesFile)
	if err != nil {
		return nil, err
	}

	// tokenizer_config.json: added_tokens_decoder, special token keys.
	cfgFile := filepath.Join(dir, "tokenizer_config.json")
	var cfg map[string]json.RawMessage
	if _, err := readJSONFile(cfgFile, &cfg, true); err != nil {
		return nil, err
	}
	if raw, ok := cfg["tokenizer_class"]; ok && !isNull(raw) {
		var class string
		_ = json.Unmarshal(raw, &class)
		if class != "Qwen2Tokenizer" && class != "Qwen2TokenizerFast" {
			return nil, fmt.Errorf("tokenizer %s: tokenizer_class %s is not supported without a tokenizer.json, want Qwen2Tokenizer", cfgFile, raw)
		}
	}
	special := map[string]bool{}
	for _, k := range specialTokenKeys {
		if err := specialContents(cfgFile, k, cfg[k], special); err != nil {
			return nil, err
		}
	}
	byID := map[int]*addedToken{}
	if raw, ok := cfg["added_tokens_decoder"]; ok && !isNull(raw) {
		var dec map[string]addedDecoderEntry
		if err := json.Unmarshal(raw, &dec); err != nil {
			return nil, fmt.Errorf("tokenizer %s: added_tokens_decoder: %v, want id → {content, special, …}", cfgFile, err)
		}
		for k, e := range dec {
			id, err := strconv.Atoi(k)
			if err != nil {
				return nil, fmt.Errorf("tokenizer %s: added_tokens_decoder key %q is not an integer id", cfgFile, k)
			}
			a := &addedToken{content: e.Content, id: id, lstrip: e.LStrip, rstrip: e.RStrip, singleWord: e.SingleWord}
			if e.Special != nil {
				a.special = *e.Special
			}
			// Absent "normalized" means false: transformers writes these
			// files' tokens to tokenizer.json with normalized false, special
			// or not (see the tiny checkpoint's pair of forms).
			if e.Normalized != nil {
				a.normalized = *e.Normalized
			}
			byID[id] = a
		}
	}

	// special_tokens_map.json.
	mapFile := filepath.Join(dir, "special_tokens_map.json")
	var smap map[string]json.RawMessage
	if _, err := readJSONFile(mapFile, &smap, true); err != nil {
		return nil, err
	}
	for k, raw := range smap {
		if err := specialContents(mapFile, k, raw, special); err != nil {
			return nil, err
		}
	}

	// added_tokens.json: content → id.
	atFile := filepath.Join(dir, "added_tokens.json")
	var at map[string]int
	if _, err := readJSONFile(atFile, &at, true); err != nil {
		return nil, err
	}
	for content, id := range at {
		if a, ok := byID[id]; ok {
			if a.content != content {
				return nil, fmt.Errorf("tokenizer %s: id %d is %q, but %s says %q", atFile, id, content, cfgFile, a.content)
			}
			continue
		}
		byID[id] = &addedToken{content: content, id: id}
	}

	// Tokens named special take the flag; a special token that is not an
	// added token yet but is in the vocab becomes one with its vocab id.
	have := map[string]bool{}
	for _, a := range byID {
		have[a.content] = true
		if special[a.content] {
			a.special = true
		}
	}
	names := make([]string, 0, len(special))
	for s := range special {
		names = append(names, s)
	}
	sort.Strings(names)
	for _, s := range names {
		if have[s] {
			continue
		}
		id, ok := vocab[s]
		if !ok {
			return nil, fmt.Errorf("tokenizer %s: special token %q is neither an added token nor in vocab.json", dir, s)
		}
		byID[id] = &addedToken{content: s, id: id, special: true}
	}
	added := make([]*addedToken, 0, len(byID))
	for _, a := range byID {
		added = append(added, a)
	}
	return build(dir, buildSpec{vocab: vocab, merges: merges, mergesFile: mergesFile, mergeLines: mergeLines, added: added, nfc: true})
}

// readMergesTxt reads merges.txt: an optional "#version" first line, then one
// "a b" pair per line (blank lines are skipped, as transformers does). It
// also returns the line number of each merge, for errors.
func readMergesTxt(file string) ([][2]string, []int, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, nil, fmt.Errorf("tokenizer %s: %w", file, err)
	}
	defer f.Close()
	var out [][2]string
	var lines []int
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		if line == 1 && strings.HasPrefix(text, "#version") {
			continue
		}
		parts := strings.Fields(text)
		if len(parts) == 0 {
			continue
		}
		if len(parts) != 2 {
			return nil, nil, fmt.Errorf("tokenizer %s: line %d is %q, want two tokens separated by a space", file, line, text)
		}
		out = append(out, [2]string{parts[0], parts[1]})
		lines = append(lines, line)
	}
	if err := sc.Err(); err != nil {
		return nil, nil, fmt.Errorf("tokenizer %s: %w", file, err)
	}
	return out, lines, nil
}

// ---- assembly ----

type buildSpec struct {
	vocab        map[string]int
	merges       [][2]string
	mergesFile   string // for errors: merges.txt, or "" when merges came from tokenizer.json
	mergeLines   []int  // line of each merge in mergesFile
	added        []*addedToken
	nfc          bool
	unk          *string
	fuseUnk      bool
	ignoreMerges bool
}

func build(path string, sp buildSpec) (*Tokenizer, error) {
	buildClassTable()
	t := &Tokenizer{path: path, vocab: sp.vocab, nfc: sp.nfc}

	n := 0
	for tok, id := range sp.vocab {
		if id < 0 || id >= maxID {
			return nil, fmt.Errorf("tokenizer %s: vocab token %q has id %d, want 0 ≤ id < %d", path, tok, id, maxID)
		}
		n = max(n, id+1)
	}
	for _, a := range sp.added {
		if a.id < 0 || a.id >= maxID {
			return nil, fmt.Errorf("tokenizer %s: added token %q has id %d, want 0 ≤ id < %d", path, a.content, a.id, maxID)
		}
		n = max(n, a.id+1)
	}
	t.tokens = make([]string, n)
	t.hasToken = make([]bool, n)
	t.special = make([]bool, n)
	t.skip = make([]bool, n)
	for tok, id := range sp.vocab {
		if t.hasToken[id] {
			a, b := t.tokens[id], tok
			if a > b {
				a, b = b, a
			}
			return nil, fmt.Errorf("tokenizer %s: vocab tokens %q and %q share id %d, want one token per id", path, a, b, id)
		}
		t.tokens[id], t.hasToken[id] = tok, true
	}

	// Added tokens, by id; a content or an id given twice is an error.
	sort.Slice(sp.added, func(i, j int) bool { return sp.added[i].id < sp.added[j].id })
	t.addedBy = make(map[string]*addedToken, len(sp.added))
	var rawToks, normToks []*addedToken
	specialSet := map[string]bool{}
	for i, a := range sp.added {
		if i > 0 && sp.added[i-1].id == a.id {
			return nil, fmt.Errorf("tokenizer %s: added tokens %q and %q share id %d", path, sp.added[i-1].content, a.content, a.id)
		}
		if prev, ok := t.addedBy[a.content]; ok {
			return nil, fmt.Errorf("tokenizer %s: added token %q appears with ids %d and %d", path, a.content, prev.id, a.id)
		}
		if a.content == "" {
			return nil, fmt.Errorf("tokenizer %s: added token %d has empty content", path, a.id)
		}
		t.addedBy[a.content] = a
		t.added = append(t.added, a)
		t.tokens[a.id], t.hasToken[a.id] = a.content, true
		t.special[a.id] = a.special
		if a.special {
			specialSet[a.content] = true
		}
		if a.normalized {
			normToks = append(normToks, a)
		} else {
			rawToks = append(rawToks, a)
		}
	}
	t.raw = newMatcher(rawToks)
	t.normed = newMatcher(normToks)
	// HuggingFace skips a token when its string is a special token's content.
	for id := range n {
		t.skip[id] = t.hasToken[id] && specialSet[t.tokens[id]]
	}

	// Decoded bytes per id.
	t.decOff = make([]uint32, n+1)
	for id := range n {
		if t.hasToken[id] {
			t.decBytes = append(t.decBytes, byteLevelDecode(t.tokens[id])...)
		}
		if uint64(len(t.decBytes)) > 1<<32-1 {
			return nil, fmt.Errorf("tokenizer %s: vocabulary too large", path)
		}
		t.decOff[id+1] = uint32(len(t.decBytes))
	}

	// BPE model.
	m := &bpe{unk: -1, fuseUnk: sp.fuseUnk, ignoreMerges: sp.ignoreMerges, vocab: sp.vocab, cache: map[string][]int{}}
	for b := range 256 {
		m.byteID[b] = -1
		if id, ok := sp.vocab[byteToString[b]]; ok {
			m.byteID[b] = int32(id)
		}
	}
	if sp.unk != nil {
		id, ok := sp.vocab[*sp.unk]
		if !ok {
			return nil, fmt.Errorf("tokenizer %s: unk_token %q is not in the vocab", path, *sp.unk)
		}
		m.unk = int32(id)
	}
	m.merges = make(map[uint64]mergeRule, len(sp.merges))
	for i, p := range sp.merges {
		where := func() string {
			if sp.mergesFile != "" {
				return fmt.Sprintf("%s: line %d (%q %q)", sp.mergesFile, sp.mergeLines[i], p[0], p[1])
			}
			return fmt.Sprintf("%s: model.merges[%d] (%q %q)", path, i, p[0], p[1])
		}
		a, okA := sp.vocab[p[0]]
		b, okB := sp.vocab[p[1]]
		switch {
		case !okA:
			return nil, fmt.Errorf("tokenizer %s: token %q is not in the vocab, want merges of vocab tokens", where(), p[0])
		case !okB:
			return nil, fmt.Errorf("tokenizer %s: token %q is not in the vocab, want merges of vocab tokens", where(), p[1])
		}
		c, ok := sp.vocab[p[0]+p[1]]
		if !ok {
			return nil, fmt.Errorf("tokenizer %s: merged token %q is not in the vocab, want every merge result in the vocab", where(), p[0]+p[1])
		}
		// A pair listed twice keeps its last rank, as HuggingFace's map does.
		m.merges[pairKey(int32(a), int32(b))] = mergeRule{rank: int32(i), newID: int32(c)}
	}
	t.model = m
	return t, nil
}
