// The engine's own GEMM, for machines without cuBLAS: y [M, N] = x [M, K] ·
// w [N, K]ᵀ (+ y when acc), bf16 storage, fp32 accumulation, one rounding
// to bf16 at the end, as cublasGemmEx with CUBLAS_COMPUTE_32F and beta 0
// or 1 (Linear's bias is written into y first).
//
// gemm_tn: a block computes a GM_BM × GM_BN tile of y with 8 warps (2 along
// M, 4 along N; each warp 64 × 32 = 4 × 4 mma.sync m16n8k16 tiles). Both
// operands are K-contiguous, which is what mma's row.col shape wants: x's
// rows are A's rows and w's rows are B's columns, so ldmatrix without
// transposition gives both fragments. K advances GM_BK at a time through a
// four-stage cp.async pipeline into padded shared memory (row stride
// GM_BK + 8 elements: the 8 rows an ldmatrix reads fall on distinct banks).
// Rows past M or N and columns past K are zero-filled, so any M and N work;
// K must be a multiple of 8 and the rows 16-byte aligned (the host checks
// and uses gemm_simple otherwise).
//
// Uses cp_async16, ldsm_x4 and mma16816 of attention.cu.

#define GM_BM 128
#define GM_BN 128
#define GM_BK 32
#define GM_LDS (GM_BK + 8)
#define GM_THREADS 256
#define GM_STAGES 4
// Dynamic shared memory of gemm_tn: GM_STAGES stages of an A and a B tile
// (80 KB; the host raises the kernel's limit above the default 48 KB).
#define GM_SMEM_BYTES (GM_STAGES * (GM_BM + GM_BN) * GM_LDS * 2)

// gm_load_stage copies the K-slice [k0, k0+GM_BK) of rows [row0, row0+128)
// of a [rows, K] matrix into sm[128][GM_LDS].
__device__ __forceinline__ void gm_load_stage(bf16* sm, const bf16* g, long long rows, long long K, long long row0, long long k0) {
    constexpr int CHUNKS = GM_BK / 8;  // 16-byte chunks per row
#pragma unroll
    for (int i = threadIdx.x; i < GM_BM * CHUNKS; i += GM_THREADS) {
        const int r = i / CHUNKS, c = i % CHUNKS;
        const long long gr = row0 + r, gk = k0 + c * 8;
        const bool valid = gr < rows && gk < K;
        cp_async16(sm + r * GM_LDS + c * 8, valid ? g + gr * K + gk : g, valid);
    }
}

extern "C" __global__ void __launch_bounds__(GM_THREADS) gemm_tn(bf16* y, const bf16* x, const bf16* w, long long M, long long N, long long K, long long acc) {
    extern __shared__ __align__(16) unsigned char gm_smem[];
    bf16* as = reinterpret_cast<bf16*>(gm_smem);  // [GM_STAGES][GM_BM * GM_LDS]
    bf16* bs = as + GM_STAGES * GM_BM * GM_LDS;   // [GM_STAGES][GM_BN * GM_LDS]
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int wm = warp >> 2, wn = warp & 3;  // warp's place: 64 rows × 32 columns
    const long long m0 = (long long)blockIdx.y * GM_BM, n0 = (long long)blockIdx.x * GM_BN;

    float c[4][4][4];
#pragma unroll
    for (int i = 0; i < 4; i++)
#pragma unroll
        for (int j = 0; j < 4; j++) c[i][j][0] = c[i][j][1] = c[i][j][2] = c[i][j][3] = 0.f;

    // A GM_STAGES-deep cp.async pipeline: tiles t+1 … t+GM_STAGES-1 are in
    // flight while tile t is multiplied. One commit group per tile (empty
    // past the end) keeps the wait count exact.
    const long long tiles = (K + GM_BK - 1) / GM_BK;
#pragma unroll
    for (int s = 0; s < GM_STAGES - 1; s++) {
        if (s < tiles) {
            gm_load_stage(as + s * GM_BM * GM_LDS, x, M, K, m0, (long long)s * GM_BK);
            gm_load_stage(bs + s * GM_BN * GM_LDS, w, N, K, n0, (long long)s * GM_BK);
        }
        cp_async_commit();
    }
    for (long long t = 0; t < tiles; t++) {
        cp_async_wait<GM_STAGES - 2>();
        __syncthreads();  // tile t is in; every warp is done with tile t-1's stage
        const long long next = t + GM_STAGES - 1;
        if (next < tiles) {
            const int ns = (int)(next % GM_STAGES);
            gm_load_stage(as + ns * GM_BM * GM_LDS, x, M, K, m0, next * GM_BK);
            gm_load_stage(bs + ns * GM_BN * GM_LDS, w, N, K, n0, next * GM_BK);
        }
        cp_async_commit();
        const int cs = (int)(t % GM_STAGES);
        const bf16* a = as + cs * GM_BM * GM_LDS;
        const bf16* b = bs + cs * GM_BN * GM_LDS;
#pragma unroll
        for (int kk = 0; kk < GM_BK; kk += 16) {
            unsigned af[4][4], bfr[2][4];
#pragma unroll
            for (int i = 0; i < 4; i++)
                ldsm_x4(af[i], a + (wm * 64 + i * 16 + (lane & 15)) * GM_LDS + kk + (lane >> 4) * 8);
            // Two n8 tiles per ldmatrix.x4: matrices (n 0–7, k 0–7), (n 0–7,
            // k 8–15), (n 8–15, k 0–7), (n 8–15, k 8–15).
#pragma unroll
            for (int j = 0; j < 2; j++)
                ldsm_x4(bfr[j], b + (wn * 32 + j * 16 + (lane & 7) + ((lane >> 4) << 3)) * GM_LDS + kk + ((lane >> 3) & 1) * 8);
#pragma unroll
            for (int i = 0; i < 4; i++)
#pragma unroll
                for (int j = 0; j < 4; j++) mma16816(c[i][j], af[i], bfr[j >> 1][(j & 1) * 2], bfr[j >> 1][(j & 1) * 2 + 1]);
        }
    }
    cp_async_wait<0>();

    // Accumulator layout: c[0], c[1] at row lane/4, columns 2·(lane%4) and
    // +1; c[2], c[3] eight rows below.
#pragma unroll
    for (int i = 0; i < 4; i++) {
#pragma unroll
        for (int j = 0; j < 4; j++) {
            const long long col = n0 + wn * 32 + j * 8 + (lane & 3) * 2;
#pragma unroll
            for (int h = 0; h < 2; h++) {
                const long long row = m0 + wm * 64 + i * 16 + (lane >> 2) + h * 8;
                if (row >= M) continue;
#pragma unroll
                for (int e = 0; e < 2; e++) {
                    if (col + e >= N) continue;
                    const long long o = row * N + col + e;
                    float v = c[i][j][h * 2 + e];
                    if (acc) v += ld(y, o);
                    st(y, o, v);
                }
            }
        }
    }
}

// gemm_simple: the same product for any K and alignment, one output per
// thread (slow; for odd shapes only).
extern "C" __global__ void gemm_simple(bf16* y, const bf16* x, const bf16* w, long long M, long long N, long long K, long long acc) {
    FOR_EACH(o, M * N) {
        const long long r = o / N, col = o % N;
        const bf16* xr = x + r * K;
        const bf16* wr = w + col * K;
        float s = 0.f;
        for (long long k = 0; k < K; k++) s += __bfloat162float(xr[k]) * __bfloat162float(wr[k]);
        if (acc) s += ld(y, o);
        st(y, o, s);
    }
}
