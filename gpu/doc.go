// Package gpu owns everything that touches the NVIDIA GPU: device discovery
// (devices*.go), the memory presets that pick --max_memory and --vram_mode
// for a card and a host (presets.go, hostram*.go; plain Go, no CUDA, so the
// desktop window can use them), and the CUDA backend of inference/tensor
// (Accelerator, opened by Open):
//
//   - backend_cuda.go: context, stream, pinned staging buffer, bf16 tensors
//     and their transfers; ops_cuda.go: the ops; optimer_cuda.go: per-op
//     device times with CUDA events (the benchmark's breakdown);
//   - alloc_cuda.go: a caching device allocator with a byte budget and the
//     peak figures --profile prints;
//   - cublas_cuda.go: cuBLAS found and loaded at run time (dl_unix_cuda.go:
//     dlopen; dl_windows_cuda.go: LoadLibraryEx), GEMMs in bf16 with fp32
//     accumulation; gemm_cuda.go: the GEMM in use, cuBLAS or, where there is
//     none, the engine's own tensor-core kernels (funcattr_cuda.go lets them
//     use more than 48 KB of shared memory);
//   - hostweights_cuda.go: layer streaming (tensor.Streamer): weights kept in
//     host memory, copied in for each op that reads them, the next ones
//     prefetched on a second stream;
//   - kernels/: the CUDA C of every other op (GEMM, norms, RoPE, flash
//     attention on the tensor cores, elementwise, layouts) and the PTX `make
//     kernels` generates from it, embedded and JIT-compiled by the driver.
//
// Code that links CUDA (gorgonia.org/cu, whose package init exits the
// process when no device is present) lives only in files with the `cuda`
// build tag; without the tag the same API reports ErrNoCUDA, so the default
// build, the tests and the desktop window never need a driver.
package gpu
