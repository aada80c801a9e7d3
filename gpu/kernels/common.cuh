// Shared helpers of the engine's kernels. Storage is bf16, arithmetic fp32.
// Every kernel parameter is 8 bytes wide (a pointer, long long or double):
// gorgonia.org/cu's Launch copies every argument as 8 bytes.
#pragma once
#include <cuda_bf16.h>

typedef __nv_bfloat16 bf16;

__device__ __forceinline__ float ld(const bf16* p, long long i) { return __bfloat162float(p[i]); }
__device__ __forceinline__ void st(bf16* p, long long i, float v) { p[i] = __float2bfloat16(v); }
// rb rounds a float to bf16 precision (round to nearest even), as a float.
__device__ __forceinline__ float rb(float v) { return __bfloat162float(__float2bfloat16(v)); }

__device__ __forceinline__ float warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

// block_sum adds v over the block; every thread gets the total. red must hold
// 32 floats of shared memory.
__device__ __forceinline__ float block_sum(float v, float* red) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    v = warp_sum(v);
    __syncthreads();
    if (lane == 0) red[warp] = v;
    __syncthreads();
    const int nw = (blockDim.x + 31) >> 5;
    v = lane < nw ? red[lane] : 0.f;
    return warp_sum(v);
}

// Grid-stride loop over n elements.
#define FOR_EACH(i, n) for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (long long)gridDim.x * blockDim.x)
