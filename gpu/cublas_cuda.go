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
static int blas_gemm_batched(void* f, void* h, int ta, int tb, int m, int n, int k, const float* alpha,
	uintptr_t A, int at, int lda, long long sa, uintptr_t B, int bt, int ldb, long long sb, const float* beta,
	uintptr_t C, int ct, int ldc, long long sc, int batch, int compute, int algo) {
	typedef int (*fn_t)(void*, int, int, int, int, int, const void*, const void*, int, int, long long,
		const void*, int, int, long long, const void*, void*, int, int, long long, int, int, int);
	return ((fn_t)f)(h, ta, tb, m, n, k, alpha, (const void*)A, at, lda, sa, (const void*)B, bt, ldb, sb,
		beta, (void*)C, ct, ldc, sc, batch, compute, algo);
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
	cudaR32F         = 0
	cudaR16BF        = 14
	cublasOpN        = 0
	cublasOpT        = 1
	cublasCompute32F = 68
	cublasGemmDflt   = -1
)

// ErrNoCUBLAS is wrapped by the error when no cuBLAS library can be loaded.
var ErrNoCUBLAS = errors.New("no cuBLAS library found")

type cublas struct {
	b        *CUDA // for the scratch and the bias kernel of gemm
	path     string
	version  int
	handle   unsafe.Pointer
	gemmExFn unsafe.Pointer
	batched  unsafe.Pointer // cublasGemmStridedBatchedEx; nil if absent
	destroy  unsafe.Pointer
}

// loadCUBLAS opens the first cuBLAS that works and creates a handle on the
// current context, bound to the backend's stream.
func loadCUBLAS(backend *CUDA) (*cublas, error) {
	stream := rawStream(backend.stream)
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
		b := &cublas{b: backend, path: cand}
		create := dlSym(lib, "cublasCreate_v2")
		setStream := dlSym(lib, "cublasSetStream_v2")
		getVersion := dlSym(lib, "cublasGetVersion_v2")
		b.gemmExFn = dlSym(lib, "cublasGemmEx")
		b.batched = dlSym(lib, "cublasGemmStridedBatchedEx")
		b.destroy = dlSym(lib, "cublasDestroy_v2")
		if create == nil || setStream == nil || b.gemmExFn == nil || b.destroy == nil {
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

// gemm computes, row-major, y [M, N] = x [M, K] · w [N, K]ᵀ (+ bias) in
// bf16 with fp32 accumulation. In cuBLAS's column-major terms that is
// yᵀ = w · xᵀ. Without a bias cuBLAS writes bf16 directly. With one it
// writes fp32 to a scratch and biasround adds the bias and rounds once:
// cublasGemmEx with beta = 1 over a bf16 output prefilled with the bias
// rounds the product to bf16 before adding it (measured with cuBLAS 13.1),
// one rounding more than torch's Linear.
func (b *cublas) gemm(y, x, w uintptr, M, N, K int, bias uintptr) error {
	if bias == 0 {
		return b.gemmEx(y, cudaR16BF, x, w, M, N, K)
	}
	acc, size, err := b.b.alloc.get(int64(M) * int64(N) * 4)
	if err != nil {
		return err
	}
	defer b.b.alloc.put(acc, size)
	if err := b.gemmEx(uintptr(acc), cudaR32F, x, w, M, N, K); err != nil {
		return err
	}
	b.b.launch1D("biasround", int64(M)*int64(N), argPtr(y), argPtr(uintptr(acc)), argPtr(bias), argInt(int64(M)), argInt(int64(N)))
	return nil
}

// gemmEx runs cublasGemmEx with bf16 inputs, fp32 compute and an output
// of type yType (bf16 or fp32).
func (b *cublas) gemmEx(y uintptr, yType C.int, x, w uintptr, M, N, K int) error {
	alpha, beta := C.float(1), C.float(0)
	st := C.blas_gemm_ex(b.gemmExFn, b.handle, cublasOpT, cublasOpN, C.int(N), C.int(M), C.int(K),
		&alpha, C.uintptr_t(w), cudaR16BF, C.int(K), C.uintptr_t(x), cudaR16BF, C.int(K),
		&beta, C.uintptr_t(y), yType, C.int(N), cublasCompute32F, cublasGemmDflt)
	if st != 0 {
		return fmt.Errorf("cublasGemmEx (%d×%d×%d): status %d", M, N, K, int(st))
	}
	return nil
}

// batchedGemm computes, for each of batch products, row-major
// c [M, N] = a [M, K] · bm [K, N] in bf16 with fp32 accumulation, the
// matrices of one product strideA, strideB, strideC elements after the
// previous one's — the call torch's bmm makes for contiguous operands
// (cuBLAS's column-major cᵀ = bmᵀ · aᵀ), so cuBLAS picks the same kernel.
func (b *cublas) batchedGemm(c, a, bm uintptr, M, N, K int, strideA, strideB, strideC int64, batch int) error {
	if b.batched == nil {
		return errors.New("cublasGemmStridedBatchedEx is missing")
	}
	alpha, beta := C.float(1), C.float(0)
	st := C.blas_gemm_batched(b.batched, b.handle, cublasOpN, cublasOpN, C.int(N), C.int(M), C.int(K),
		&alpha, C.uintptr_t(bm), cudaR16BF, C.int(N), C.longlong(strideB), C.uintptr_t(a), cudaR16BF, C.int(K), C.longlong(strideA),
		&beta, C.uintptr_t(c), cudaR16BF, C.int(N), C.longlong(strideC), C.int(batch), cublasCompute32F, cublasGemmDflt)
	if st != 0 {
		return fmt.Errorf("cublasGemmStridedBatchedEx (%d × %d×%d×%d): status %d", batch, M, N, K, int(st))
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
