// Package gpu owns everything that touches the NVIDIA GPU: device discovery
// (devices*.go), the memory presets that pick --max_memory and --vram_mode
// for a card and a host (presets.go, hostram*.go; plain Go, no CUDA, so the
// desktop window can use them), and, as the engine grows, the CUDA backend
// of inference/tensor, the memory budget, layer streaming and the kernels.
//
// Code that links CUDA (gorgonia.org/cu, whose package init exits the
// process when no device is present) lives only in files with the `cuda`
// build tag; without the tag the same API reports ErrNoCUDA, so the default
// build, the tests and the desktop window never need a driver.
package gpu
