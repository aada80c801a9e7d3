//go:build cuda

package gpu

// gorgonia.org/cu v0.9.6 reads function attributes but cannot set them;
// kernels that use more than 48 KB of dynamic shared memory must raise
// their limit with cuFuncSetAttribute first.

/*
#cgo LDFLAGS: -lcuda
#include <cuda.h>

static int shim_set_max_dynamic_smem(CUfunction f, int bytes) {
	return (int)cuFuncSetAttribute(f, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, bytes);
}
*/
import "C"

import (
	"fmt"
	"unsafe"

	"gorgonia.org/cu"
)

// setMaxDynamicShared lets fn launch with up to bytes of dynamic shared
// memory.
func setMaxDynamicShared(fn cu.Function, bytes int) error {
	if unsafe.Sizeof(fn) != unsafe.Sizeof(uintptr(0)) {
		return fmt.Errorf("gpu: cu.Function layout changed")
	}
	raw := *(*C.CUfunction)(unsafe.Pointer(&fn))
	if st := C.shim_set_max_dynamic_smem(raw, C.int(bytes)); st != 0 {
		return fmt.Errorf("gpu: cuFuncSetAttribute(max dynamic shared memory %d bytes): CUDA error %d", bytes, int(st))
	}
	return nil
}
