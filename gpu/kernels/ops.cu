// The engine's kernels in one translation unit (one PTX module per target).
#include "common.cuh"
#include "norm.cu"
#include "rope.cu"
#include "elementwise.cu"
#include "layout.cu"
#include "attention.cu"
#include "gemm.cu"
