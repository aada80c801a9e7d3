package gpu

import "errors"

// ErrOutOfMemory is wrapped by the error of an allocation that would pass
// the memory budget or that the device cannot satisfy.
var ErrOutOfMemory = errors.New("out of GPU memory")

// ErrNoCUDA is returned by a binary built without the cuda tag.
var ErrNoCUDA = errors.New("this build has no CUDA support (rebuild the engine with -tags cuda)")

// Device describes one CUDA device.
type Device struct {
	Index           int    `json:"index"`
	Name            string `json:"name"`
	TotalBytes      int64  `json:"total_bytes"`
	FreeBytes       int64  `json:"free_bytes"`
	ComputeMajor    int    `json:"compute_major"`
	ComputeMinor    int    `json:"compute_minor"`
	Multiprocessors int    `json:"multiprocessors"`
	// GEMM names the matrix-product library of an opened device: cuBLAS
	// with its version and file, or the built-in kernels and why.
	GEMM string `json:"gemm,omitempty"`
}

// Inventory is what Detect found.
type Inventory struct {
	// DriverAPIVersion is the CUDA driver API version, e.g. 13000 for 13.0.
	DriverAPIVersion int      `json:"driver_api_version"`
	Devices          []Device `json:"devices"`
}
