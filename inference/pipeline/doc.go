// Package pipeline runs the five SenseNova-U1 tasks end to end on a loaded
// model: text-to-image (with an optional thinking phase), editing with one
// or more pictures, interleaved text-and-picture storyboards, and visual
// question answering (PIPELINES.md sections 3–7).
//
// It owns the control flow: which prompts and guidance branches a task
// builds, the prefix caches, the think / text decoding loops with their stop
// rules, the denoising loop, feeding generated pictures back into the
// context, and progress events. Every long call takes a context and stops
// within one model forward of its cancellation.
//
// It does not parse flags, read or write files, or draw: the command line
// (package cli) and the desktop app do that around it. Pictures come in as
// decoded RGB images or already-resized pixels, and leave as canvases in
// model space ([3, H, W] float32, ≈[-1, 1]).
package pipeline
