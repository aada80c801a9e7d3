// Package prompt builds the exact prompt strings, position indexes and
// attention visibility the SenseNova-U1 pipelines feed the network.
//
// It owns the neo1_0 conversation template, the task prompts of every
// pipeline (text-to-image with and without thinking, editing with 1..N
// pictures and its guidance branches, VQA, interleaved storyboards), the two
// long system messages (embedded byte-exact, verified by SHA-256 in the
// tests), the expansion of the <image> placeholder into <img> +
// <IMG_CONTEXT>×n + </img>, the three-axis (t, h, w) position rule and the
// block-causal visibility rule of MODEL.md 3.3–3.4.
//
// It works on strings and token ids only: it does not tokenize (the caller
// passes ids produced by the tokenizer package and the special-token ids
// looked up there) and it knows nothing about weights or tensors.
package prompt
