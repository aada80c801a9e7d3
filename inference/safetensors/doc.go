// Package safetensors reads and writes files in the safetensors format.
//
// Reading maps the whole file into memory (mmap on Unix, a file mapping on
// Windows) and hands out tensor views that alias the mapping: a 35 GB
// checkpoint costs address space, not Go heap, and pages are read by the
// kernel only when a tensor's bytes are touched. The header is parsed with
// github.com/nlpodyssey/safetensors; the checks that follow (header length,
// offsets inside the file, no overlap, byte counts matching dtype × shape)
// are ours, so each failure names the file, the tensor and what was expected.
//
// Writing (used for parity outputs such as --output_raw and for test
// fixtures) goes through github.com/nlpodyssey/safetensors as well.
//
// The package owns no knowledge of any model: names, shapes and the meaning
// of tensors belong to the checkpoint package.
package safetensors
