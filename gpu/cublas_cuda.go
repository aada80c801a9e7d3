//go:build cuda

package gpu

// cuBLAS is loaded at run time with dlopen (libcublas.so.13, .12 or .11),
// never linked: the binary starts wherever the driver is installed, and the
// engine says plainly when no cuBLAS can be found. The few entry points used
// are declared here by hand; their ABI is the same from CUDA 11 to 13.

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdlib.h>
#include <stdint.h>

static void* blas_dlopen(const char* path) { return dlopen(path, RTLD_NOW | RTLD_GLOBAL); }
static const char* blas_dlerror(void) { return dlerror(); }
static void* blas_dlsym(void* lib, const char* name) { return dlsym(lib, name); }

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

// cublasCandidates lists what to try, in order: $SENSENOVA_CUBLAS (a file),
// the folders of $CUBLAS_LIB_DIR and $LD_LIBRARY_PATH, the app's own folder
// and the usual pip wheel and toolkit folders with .so.13, .12, .11, then the
// bare sonames (the ld.so cache).
func cublasCandidates() []string {
	var out []string
	if p := os.Getenv("SENSENOVA_CUBLAS"); p != "" {
		out = append(out, p)
	}
	var dirs []string
	for _, env := range []string{"CUBLAS_LIB_DIR", "LD_LIBRARY_PATH"} {
		for _, d := range strings.Split(os.Getenv(env), ":") {
			if d != "" {
				dirs = append(dirs, d)
			}
		}
	}
	if exe, err := os.Executable(); err == nil {
		dirs = append(dirs, filepath.Dir(exe))
	}
	for _, pattern := range []string{
		"/usr/local/lib/python3*/dist-packages/nvidia/cu13/lib", "/usr/local/lib/python3*/dist-packages/nvidia/cublas/lib",
		"/usr/lib/python3*/site-packages/nvidia/cu13/lib", "/usr/lib/python3*/site-packages/nvidia/cublas/lib",
		"/opt/*/.venv/lib/python3*/site-packages/nvidia/cu13/lib", "/opt/*/.venv/lib/python3*/site-packages/nvidia/cublas/lib",
		"/usr/local/cuda/lib64", "/usr/local/cuda-*/lib64",
	} {
		m, _ := filepath.Glob(pattern)
		dirs = append(dirs, m...)
	}
	for _, v := range []string{"13", "12", "11"} {
		for _, d := range dirs {
			p := filepath.Join(d, "libcublas.so."+v)
			if _, err := os.Stat(p); err == nil {
				out = append(out, p)
			}
		}
	}
	for _, v := range []string{"13", "12", "11"} {
		out = append(out, "libcublas.so."+v)
	}
	return out
}

func blasSym(lib unsafe.Pointer, name string) unsafe.Pointer {
	cs := C.CString(name)
	defer C.free(unsafe.Pointer(cs))
	return C.blas_dlsym(lib, cs)
}

// loadCUBLAS opens the first cuBLAS that works and creates a handle on the
// current context, bound to stream.
func loadCUBLAS(stream uintptr) (*cublas, error) {
	var tried []string
	for _, cand := range cublasCandidates() {
		if strings.Contains(cand, "/") {
			// Load cuBLASLt from the same folder first, for libraries without RUNPATH.
			lt := strings.Replace(cand, "libcublas.so.", "libcublasLt.so.", 1)
			if _, err := os.Stat(lt); err == nil {
				cs := C.CString(lt)
				C.blas_dlopen(cs)
				C.free(unsafe.Pointer(cs))
			}
		}
		cs := C.CString(cand)
		lib := C.blas_dlopen(cs)
		C.free(unsafe.Pointer(cs))
		if lib == nil {
			tried = append(tried, fmt.Sprintf("%s (%s)", cand, C.GoString(C.blas_dlerror())))
			continue
		}
		b := &cublas{path: cand}
		create := blasSym(lib, "cublasCreate_v2")
		setStream := blasSym(lib, "cublasSetStream_v2")
		getVersion := blasSym(lib, "cublasGetVersion_v2")
		b.gemmEx = blasSym(lib, "cublasGemmEx")
		b.destroy = blasSym(lib, "cublasDestroy_v2")
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
	return nil, fmt.Errorf("gpu: %w; tried %s. Install the CUDA toolkit's cuBLAS (or the nvidia-cublas pip wheel) or set SENSENOVA_CUBLAS to libcublas.so.N", ErrNoCUBLAS, strings.Join(tried, "; "))
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

func (b *cublas) close() {
	if b.handle != nil {
		C.blas_destroy(b.destroy, b.handle)
		b.handle = nil
	}
}
