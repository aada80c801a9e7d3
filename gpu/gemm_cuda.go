//go:build cuda

package gpu

import (
	"errors"
	"fmt"
	"os"
)

// gemmer computes, row-major, y [M, N] = x [M, K] · w [N, K]ᵀ + bias (a
// bf16 row of N values added to every row; none when bias is 0) in bf16
// with fp32 accumulation, the sum rounded to bf16 once as torch's Linear
// does (its bias is added in the cuBLASLt epilogue): cuBLAS when it can be
// loaded, else the engine's own kernels (gpu/kernels/gemm.cu).
type gemmer interface {
	gemm(y, x, w uintptr, M, N, K int, bias uintptr) error
	describe() string
	close()
}

// gemmEnv picks the GEMM: "auto" (the default: cuBLAS, else the built-in
// kernels), "cublas" (cuBLAS or an error) or "builtin" (the kernels, for
// machines and measurements without cuBLAS).
const gemmEnv = "SENSENOVA_GEMM"

// openGEMM returns the GEMM the backend uses.
func openGEMM(b *CUDA) (gemmer, error) {
	mode := os.Getenv(gemmEnv)
	switch mode {
	case "", "auto", "cublas":
		blas, err := loadCUBLAS(b)
		if err == nil {
			return blas, nil
		}
		if mode == "cublas" || !errors.Is(err, ErrNoCUBLAS) {
			return nil, err
		}
		return newKernelGEMM(b, "no cuBLAS found")
	case "builtin":
		return newKernelGEMM(b, gemmEnv+"=builtin")
	default:
		return nil, fmt.Errorf("gpu: %s=%q: want auto, cublas or builtin", gemmEnv, mode)
	}
}

// kernelGEMM is the GEMM on the engine's own tensor-core kernel.
type kernelGEMM struct {
	b   *CUDA
	why string
}

// gemmSharedBytes is GM_SMEM_BYTES of gemm.cu: four stages of two
// 128 × (32 + 8) bf16 tiles.
const gemmSharedBytes = 4 * (128 + 128) * (32 + 8) * 2

func newKernelGEMM(b *CUDA, why string) (*kernelGEMM, error) {
	if err := setMaxDynamicShared(b.fns["gemm_tn"], gemmSharedBytes); err != nil {
		return nil, err
	}
	return &kernelGEMM{b: b, why: why}, nil
}

// gemm prefills y with the bias and lets the kernel add its product to it:
// one rounding.
func (g *kernelGEMM) gemm(y, x, w uintptr, M, N, K int, bias uintptr) error {
	acc := int64(0)
	if bias != 0 {
		g.b.launch1D("repeatrow", int64(M)*int64(N), argPtr(y), argPtr(bias), argInt(int64(M)), argInt(int64(N)))
		acc = 1
	}
	args := []arg{argPtr(y), argPtr(x), argPtr(w), argInt(int64(M)), argInt(int64(N)), argInt(int64(K)), argInt(acc)}
	if K%8 != 0 || x%16 != 0 || w%16 != 0 {
		g.b.launch1D("gemm_simple", int64(M)*int64(N), args...)
		return nil
	}
	const tile = 128 // GM_BM, GM_BN of gemm.cu
	grid := [3]int{(N + tile - 1) / tile, (M + tile - 1) / tile, 1}
	if grid[1] > 65535 {
		return fmt.Errorf("built-in GEMM: %d rows is more than it tiles (%d)", M, 65535*tile)
	}
	g.b.launch("gemm_tn", grid, [3]int{256, 1, 1}, gemmSharedBytes, args...)
	return nil
}

func (g *kernelGEMM) describe() string {
	return "built-in tensor-core GEMM kernels (" + g.why + ")"
}

func (g *kernelGEMM) close() {}
