// Package model is the SenseNova-U1 network (NEO-unify, mixture of
// transformers), written once against tensor.Backend so the same code runs
// on the CPU and on CUDA.
//
// It owns: loading the weights of a checkpoint into a backend (by their
// upstream names, through struct tags), the decoder stack with its two
// experts per layer (understanding and generation), the split q/k RMSNorms
// and three-axis RoPE, GQA attention against a KV cache, the final norms and
// lm_head, both patch embedders with their 2-D feature RoPE, the timestep and
// noise-scale embedders, and the two flow-matching heads (MLP and conv pixel
// head). The math follows MODEL.md section 3.
//
// It does not tokenize, build prompts, resize pictures, sample or choose
// guidance: those belong to the prompt, imageproc, sampler and pipeline
// packages. It never reads user input; the pipelines validate first.
package model
