//go:build cuda

package gpu

// gorgonia.org/cu v0.9.6 wraps cuMemFreeHost but not cuMemAllocHost, so
// page-locked host memory comes from this shim.

/*
#cgo LDFLAGS: -lcuda
#include <cuda.h>

static int shim_alloc_host(void** p, size_t n) { return (int)cuMemAllocHost(p, n); }
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// allocPinned returns n bytes of page-locked host memory outside the Go
// heap; free it with cu.MemFreeHost(unsafe.Pointer(&b[0])). The context must
// be current.
func allocPinned(n int) ([]byte, error) {
	var p unsafe.Pointer
	if r := C.shim_alloc_host(&p, C.size_t(n)); r != 0 {
		return nil, fmt.Errorf("gpu: cuMemAllocHost(%d bytes): CUresult %d", n, int(r))
	}
	return unsafe.Slice((*byte)(p), n), nil
}
