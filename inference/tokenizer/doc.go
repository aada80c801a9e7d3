// Package tokenizer turns text into token ids and back for Qwen2/Qwen3-style
// byte-level BPE tokenizers, reproducing HuggingFace `tokenizers` exactly.
//
// It owns the whole text ↔ id mapping of the model:
//
//   - loading a tokenizer.json, or the older vocab.json + merges.txt form
//     (with added_tokens.json, tokenizer_config.json and
//     special_tokens_map.json for the added and special tokens);
//   - finding added tokens (special or not) in the raw text, leftmost-longest,
//     before normalization, honouring their lstrip/rstrip/single_word flags;
//   - NFC normalization of the text between added tokens;
//   - the Qwen2 pre-tokenizer regex, implemented as a hand-written scanner
//     that matches exactly what the regex engine matches (Go's regexp cannot
//     express its look-ahead);
//   - the GPT-2 byte-to-unicode mapping and BPE merges by rank, with a
//     per-word cache;
//   - decoding ids back to text, with the byte-level decoder and the same
//     lossy UTF-8 conversion as Rust's String::from_utf8_lossy.
//
// Encode adds no BOS/EOS or other template tokens (Qwen adds none): it is
// HuggingFace's encode(text, add_special_tokens=False). Chat templates,
// prompt layout and image placeholders belong to the callers, not here.
//
// The package must not know about any model beyond its tokenizer files, and
// it does no I/O except in Load. A Tokenizer is safe for concurrent use.
package tokenizer
