// Package checkpoint reads a SenseNova-U1 model folder as users download it
// (config.json plus model.safetensors, or shards listed by
// model.safetensors.index.json) and decides, before anything is computed,
// whether it is a checkpoint this engine can run.
//
// It owns:
//   - the config.json schema of MODEL.md section 1 (top level, llm_config,
//     vision_config), with the class defaults of the reference and its
//     required-field rule, and the constraints that make the model
//     computable (ParseConfig, LoadConfig);
//   - the tensor layout a config implies, with shapes and parameter groups
//     (ExpectedTensors, GroupOf);
//   - opening and validating the weight files, every shard memory-mapped
//     through package safetensors (Open, OpenHeaders), with every problem of
//     the folder reported in one *LayoutError;
//   - parameter counts and the summary behind `sensenova inspect`;
//   - writing folders with the real layout (WriteLayout), for tests and the
//     built-in demo model, optionally as sparse files.
//
// It must not compute: no tensor math, no dtype conversion beyond decoding
// a tensor to float32 on request, no knowledge of backends or devices, and
// no printing from library code (WriteText writes only to the writer it is
// given). Tensor bytes handed out alias read-only mappings and are valid
// until Close.
package checkpoint
