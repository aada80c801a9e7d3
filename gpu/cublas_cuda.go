//go:build cuda

package gpu

// cuBLAS is loaded at run time (dl_unix_cuda.go, dl_windows_cuda.go:
// libcublas.so.13, .12 or .11; cublas64_13.dll, _12 or _11), never linked:
// the binary starts wherever the driver is installed. Without cuBLAS the
// engine uses its own GEMM kernels (gemm_cuda.go) and says so. The few entry
// points used are declared here by hand; their ABI is the same from CUDA 11
// to 13.

/*
#include <stdlib.h>
#include <stdint.h>

// Trampolines: cgo cannot call C function pointers directly.
static int blas_create(void* f, void** h) { return ((int (*)(void**))f)(h); }
static int blas_destroy(void* f, void* h) { return ((int (*)(void*))f)(h); }
static int blas_set_stream(void* f, void* h, uintptr_t s) { return ((int (*)(void*, void*))f)(h, (void*)s); }
static int blas_get_version(void* f, void* h, int* v) { return ((int (*)(void*, int*))f)(h, v); }
static int blas_set_workspace(void* f, void* h, uintptr_t ws, size_t n) {
	return ((int (*)(void*, void*, size_t))f)(h, (void*)ws, n);
}
static int blas_gemm_ex(void* f, void* h, int ta, int tb, int m, int n, int k, const float* alpha,
	uintptr_t A, int at, int lda, uintptr_t B, int bt, int ldb, const float* beta,
	uintptr_t C, int ct, int ldc, int compute, int algo) {
	typedef int (*fn_t)(void*, int, int, int, int, int, const void*, const void*, int, int,
		const void*, int, int, const void*, void*, int, int, int, int);
	return ((fn_t)f)(h, ta, tb, m, n, k, alpha, (const void*)A, at, lda, (const void*)B, bt, ldb,
		beta, (void*)C, ct, ldc, compute, algo);
}
*/
import "C"

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unsafe"
)

// Constants of library_types.h / cublas_api.h (unchanged from CUDA 11 to 13).
const (
	cudaR16BF        = 14
	cublasOpN        = 0
	cublasOpT        = 1
	cublasCompute32F = 68
	cublasGemmDflt   = -1
)

// ErrNoCUBLAS is wrapped by the error when no cuBLAS library can be loaded.
var ErrNoCUBLAS = errors.New("no cuBLAS library found")

type cublas struct {
	path    string
	version int
	handle  unsafe.Pointer
	gemmEx  unsafe.Pointer
	destroy unsafe.Pointer
}

// loadCUBLAS opens the first cuBLAS that works and creates a handle on the
// current context, bound to stream.
func loadCUBLAS(stream uintptr) (*cublas, error) {
	var tried []string
	for _, cand := range cublasCandidates() {
		if filepath.IsAbs(cand) {
			// Load cuBLASLt from the same folder first, for libraries without RUNPATH.
			if lt := cublasLtBeside(cand); lt != "" {
				if _, err := os.Stat(lt); err == nil {
					dlOpen(lt)
				}
			}
		}
		lib, err := dlOpen(cand)
		if err != nil {
			tried = append(tried, fmt.Sprintf("%s (%v)", cand, err))
			continue
		}
		b := &cublas{path: cand}
		create := dlSym(lib, "cublasCreate_v2")
		setStream := dlSym(lib, "cublasSetStream_v2")
		getVersion := dlSym(lib, "cublasGetVersion_v2")
		b.gemmEx = dlSym(lib, "cublasGemmEx")
		b.destroy = dlSym(lib, "cublasDestroy_v2")
		if create == nil || setStream == nil || b.gemmEx == nil || b.destroy == nil {
			tried = append(tried, cand+" (missing cuBLAS entry points)")
			continue
		}
		if st := C.blas_create(create, &b.handle); st != 0 {
			tried = append(tried, fmt.Sprintf("%s (cublasCreate: status %d)", cand, int(st)))
			continue
		}
		if st := C.blas_set_stream(setStream, b.handle, C.uintptr_t(stream)); st != 0 {
			return nil, fmt.Errorf("gpu: cublasSetStream: status %d", int(st))
		}
		if getVersion != nil {
			var v C.int
			C.blas_get_version(getVersion, b.handle, &v)
			b.version = int(v)
		}
		return b, nil
	}
	return nil, fmt.Errorf("gpu: %w; tried %s. Install the CUDA toolkit's cuBLAS (or the nvidia-cublas pip wheel), put it next to the engine, or set SENSENOVA_CUBLAS to its file", ErrNoCUBLAS, strings.Join(tried, "; "))
}

// gemm computes, row-major, y [M, N] = x [M, K] · w [N, K]ᵀ (+ y when
// accumulate) in bf16 with fp32 accumulation, rounding once. In cuBLAS's
// column-major terms that is yᵀ = w · xᵀ (+ yᵀ).
func (b *cublas) gemm(y, x, w uintptr, M, N, K int, accumulate bool) error {
	alpha, beta := C.float(1), C.float(0)
	if accumulate {
		beta = 1
	}
	st := C.blas_gemm_ex(b.gemmEx, b.handle, cublasOpT, cublasOpN, C.int(N), C.int(M), C.int(K),
		&alpha, C.uintptr_t(w), cudaR16BF, C.int(K), C.uintptr_t(x), cudaR16BF, C.int(K),
		&beta, C.uintptr_t(y), cudaR16BF, C.int(N), cublasCompute32F, cublasGemmDflt)
	if st != 0 {
		return fmt.Errorf("cublasGemmEx (%d×%d×%d): status %d", M, N, K, int(st))
	}
	return nil
}

func (b *cublas) describe() string {
	v := ""
	if b.version > 0 {
		v = fmt.Sprintf(" %d.%d.%d", b.version/10000, b.version/100%100, b.version%100)
	}
	return fmt.Sprintf("cuBLAS%s (%s)", v, b.path)
}

func (b *cublas) close() {
	if b.handle != nil {
		C.blas_destroy(b.destroy, b.handle)
		b.handle = nil
	}
}
