// Package demo makes the built-in demo model: a tiny SenseNova-U1
// checkpoint with the real layout, generated in code into the cache folder,
// so the window works end to end on the CPU for a newcomer who has not
// downloaded the 35 GB model.
//
// It owns:
//   - Ensure, which makes (or reuses) the folder cacheRoot/FolderName
//     atomically: built in a temporary sibling and renamed into place, safe
//     against concurrent callers in several processes, rebuilt when a file
//     is missing, changed or from another Version (a manifest of sizes and
//     SHA-256 sums, written last, vouches for the folder);
//   - IsDemo, which recognises the folder by the "sensenova_studio_demo"
//     key of its config.json (the checkpoint loader keeps it in
//     Config.Extra and otherwise ignores it), and DefaultCacheRoot;
//   - what is generated: config.json with every field of the released
//     SenseNova-U1-8B-MoT config at toy width; a Qwen2-style byte-level BPE
//     tokenizer (the 256 byte tokens in GPT-2 order, merges learnt from a
//     short corpus in tokenizer.go, the added tokens of the real
//     vocabulary with their special flags) as tokenizer.json and as
//     vocab.json + merges.txt + added_tokens.json, with
//     tokenizer_config.json and special_tokens_map.json; the weights as
//     two bfloat16 safetensors shards with model.safetensors.index.json.
//     The folder is read by exactly the code that reads a download
//     (checkpoint.Open, tokenizer.Load, pipeline.Open).
//
// It must not ship binary blobs (everything is computed from Seed), write
// anywhere but the cache root, know about the window, or print.
//
// # The network
//
// hidden 64, 2 layers, 6 query heads / 2 KV heads of 32, MLP 128,
// vocabulary 1024 (the tokenizer has under 600 ids), patch embedders 64 wide with
// 16-px patches (32-px tokens and F = 3072, the real geometry, so every
// size rule is exercised), MLP fm_head 96 wide, noise scale base 64 and cap
// 8, template neo1_0. The generation path is shaped into a painter of
// smooth colour fields; the understanding path keeps what the painter reads
// of it random (MODEL.md 9) and is otherwise hand-set into a small writer;
// weights.go and writer.go explain how.
//
// # The text
//
// Sentences of one small grammar over words the tokenizer has as single
// tokens — "A golden fox sitting under the old bridge at sunset." — word-
// like, never saying anything about the prompt, whose words and length
// only change which words come. A storyboard writes two or three
// sentences, draws (<img>), writes again, three pictures in all (pictures
// given as input do not count), then a last few sentences and
// <|im_end|>: about 100 tokens, with or without thinking. Reasoning
// (text-to-image or editing with thinking) closes with </think> after
// about 100 tokens; a VQA answer is a few sentences, then <|im_end|>.
// Storyboards and reasoning decode greedily (VQA does by default), so the
// same request gives the same text.
//
// # The pictures
//
// Soft, seamless gradients of a few saturated colours — blobs, bands and
// colour-wheel swirls, like an aurora or a mesh-gradient wallpaper, with
// no objects and no text. They do not follow the prompt: the seed decides
// the layout; the last words before the picture (the end of the prompt,
// of the reasoning in think mode, of the storyboard text) shift
// the colours and partly the arrangement, so the same seed with another
// prompt gives a visibly different picture. The same prompt, seed and
// settings give the same picture. Larger pictures show more, smaller
// features; small ones (256² and below) are one or two broad gradients,
// sometimes nearly a single colour. Editing ignores the input picture's
// content.
//
// # Speed
//
// On a 2-core AMD EPYC, tensor.NewCPU(0) (BenchmarkTextToImage): a
// 512×512 text-to-image with 20 steps and guidance 4 takes 3–3.7 s,
// 1024×1024 about 20 s (attention over the picture's tokens dominates);
// with thinking (about 100 reasoning tokens) about 0.2 s more. A
// storyboard at the window's demo settings (512×288, 12 steps, thinking)
// takes about 3 s. Ensure builds the folder (1.7 MB) in about 30 ms and
// checks an existing one in about 2 ms.
package demo
