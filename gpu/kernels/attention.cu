// Attention for one layer (MODEL.md 3.5): out = softmax(q·kᵀ·scale + mask)·v
// per query head, GQA (query head h reads key/value head h / group), keys
// limited per query row by keyLimit (block-causal prefill) or all nKeys.
// q [S, Nq·D], k and v [≥nKeys, Nkv·D], out [S, Nq·D], all bf16.
//
// A flash-attention kernel on the tensor cores (mma.sync m16n8k16, bf16 in,
// fp32 accumulate): a block takes 16·WARPS query rows of one head, each warp
// 16 rows, and walks the keys in tiles of 64 with an online softmax, so no
// S×S score matrix exists anywhere. As in FlashAttention-2, the
// probabilities are rounded to bf16 for the P·V product while the row sums
// stay fp32. K and V tiles come through cp.async into padded shared memory
// (row stride D+8 elements: ldmatrix rows fall on distinct banks); V's copy
// overlaps the Q·Kᵀ product and the next K's copy overlaps P·V.
//
// With EAGER (the understanding expert, which the reference runs with
// "eager" attention, MODEL.md 3.0) the kernel reproduces that arithmetic
// instead: scores rounded to bf16 after the product and again after the
// scaling, softmax in fp32 over the exact row maximum with the row sum
// added in the order of torch's softmax kernel, probabilities divided by
// the sum and rounded to bf16 for P·V. That needs the row statistics first,
// so the keys are walked three times (maximum, sum, product); a decoded
// token's single row takes a faster, not bit-exact way (see below). With PROBS
// as well it stops at the probabilities and writes them out, for a P·V
// product on cuBLAS (gpu.CUDA.eagerAttention).
//
// Needs D a multiple of 16, rows of q, k, v 16-byte aligned (the host checks).

#define FA_KEYS 64
#define FA_PAD 8

__device__ __forceinline__ unsigned smem_addr(const void* p) { return (unsigned)__cvta_generic_to_shared(p); }

// cp_async16 copies 16 bytes, or writes 16 zero bytes when !valid.
__device__ __forceinline__ void cp_async16(void* dst, const void* src, bool valid) {
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(smem_addr(dst)), "l"(src), "r"(valid ? 16 : 0));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int N>
__device__ __forceinline__ void cp_async_wait() { asm volatile("cp.async.wait_group %0;\n" ::"n"(N)); }

__device__ __forceinline__ void ldsm_x4(unsigned* r, const void* p) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(smem_addr(p)));
}
__device__ __forceinline__ void ldsm_x4_trans(unsigned* r, const void* p) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(smem_addr(p)));
}
// mma16816: c[16×8] += a[16×16] · b[16×8], bf16 inputs, fp32 accumulators.
__device__ __forceinline__ void mma16816(float* c, const unsigned* a, unsigned b0, unsigned b1) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}
__device__ __forceinline__ unsigned pack_bf16(float lo, float hi) {
    __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
    return *reinterpret_cast<unsigned*>(&v);
}

// load_tile copies rows [row0, row0+rows) of a [·, ld] matrix, columns
// [col0, col0+D), into smem [rows][D+FA_PAD]; rows at or past limit are zero.
template <int D, int THREADS>
__device__ __forceinline__ void load_tile(bf16* sm, const bf16* g, long long ld, long long col0, long long row0,
                                          int rows, long long limit) {
    constexpr int CHUNKS = D / 8;  // 16-byte chunks per row
    for (int i = threadIdx.x; i < rows * CHUNKS; i += THREADS) {
        const int r = i / CHUNKS, c = i % CHUNKS;
        const long long gr = row0 + r;
        const bool valid = gr < limit;
        const bf16* src = valid ? g + gr * ld + col0 + c * 8 : g;
        cp_async16(sm + r * (D + FA_PAD) + c * 8, src, valid);
    }
}

// tile_scores: s[j] (keys j·8 … j·8+7 of the tile) = q·kᵀ for this warp's
// 16 rows, fp32.
template <int D>
__device__ __forceinline__ void tile_scores(float (*s)[4], const unsigned (*qf)[4], const bf16* ks, int lane) {
    constexpr int LDS = D + FA_PAD;
    for (int j = 0; j < FA_KEYS / 8; j++) s[j][0] = s[j][1] = s[j][2] = s[j][3] = 0.f;
    for (int kc = 0; kc < D / 16; kc++) {
        for (int j = 0; j < FA_KEYS / 8; j += 2) {
            unsigned b[4];
            const int mi = lane / 8;
            ldsm_x4(b, ks + ((j + mi / 2) * 8 + lane % 8) * LDS + kc * 16 + (mi % 2) * 8);
            mma16816(s[j], qf[kc], b[0], b[1]);
            mma16816(s[j + 1], qf[kc], b[2], b[3]);
        }
    }
}

// eager_scores turns raw scores into the reference's eager ones
// (bf16(bf16(q·k)·scale), masked keys -inf) and returns the tile's maxima
// of rows A and B over this thread's columns.
__device__ __forceinline__ void eager_scores(float (*s)[4], long long key0, int t4, long long limA, long long limB,
                                             float scale, float& maxA, float& maxB) {
    for (int j = 0; j < FA_KEYS / 8; j++) {
        const long long kidx = key0 + j * 8 + t4 * 2;
        for (int e = 0; e < 4; e++) {
            const long long lim = e < 2 ? limA : limB;
            const float v = rb(rb(s[j][e]) * scale);
            s[j][e] = kidx + (e & 1) < lim ? v : -INFINITY;
        }
        maxA = fmaxf(maxA, fmaxf(s[j][0], s[j][1]));
        maxB = fmaxf(maxB, fmaxf(s[j][2], s[j][3]));
    }
}

// quad_max and quad_sum combine a row's values over the four threads of an
// mma quad (xor 1, then 2).
__device__ __forceinline__ float quad_max(float v) {
    for (int off = 1; off < 4; off <<= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, off));
    return v;
}
__device__ __forceinline__ float quad_sum(float v) {
    for (int off = 1; off < 4; off <<= 1) v += __shfl_xor_sync(0xffffffffu, v, off);
    return v;
}

// warp_softmax_sum combines the lane sums p of one row (this thread's
// eight lanes 8a + 2·t4 + e at p[2a + e], see the EAGER walks) in torch's
// butterfly order for a warp of W = min(2^⌈log2 n⌉, 32) lanes: pairs at
// distance W/2 first, then W/4, …, 1. Every thread of the quad returns the
// row's sum.
__device__ __forceinline__ float warp_softmax_sum(const float* p, long long n) {
    int W = 1;
    while (W < n && W < 32) W <<= 1;
    float u[2];
    for (int e = 0; e < 2; e++) {
        if (W == 32) u[e] = (p[e] + p[4 + e]) + (p[2 + e] + p[6 + e]);
        else if (W == 16) u[e] = p[e] + p[2 + e];
        else u[e] = p[e];
        if (W >= 8) u[e] += __shfl_xor_sync(0xffffffffu, u[e], 2);
        if (W >= 4) u[e] += __shfl_xor_sync(0xffffffffu, u[e], 1);
    }
    const float sum = W >= 2 ? u[0] + u[1] : u[0];
    // For W < 8 only some threads of the quad hold lanes: take t4 = 0's.
    return __shfl_sync(0xffffffffu, sum, (threadIdx.x & 31) & ~3);
}

template <int D, int WARPS, bool EAGER, bool PROBS = false>
__device__ __forceinline__ void flash_attention(bf16* __restrict__ out, const bf16* __restrict__ q,
                                                const bf16* __restrict__ k, const bf16* __restrict__ v,
                                                const int* __restrict__ keyLimit, long long S, long long nKeys,
                                                long long heads, long long kvHeads, float scale) {
    constexpr int ROWS = 16 * WARPS, THREADS = 32 * WARPS, LDS = D + FA_PAD;
    constexpr int QROWS = ROWS > 2 * FA_KEYS ? ROWS : 2 * FA_KEYS;
    // Q is staged through the K and V buffers before the loop starts.
    __shared__ __align__(16) bf16 sm[QROWS * LDS];
    __shared__ int blockKeys;
    bf16* ks = sm;
    bf16* vs = sm + FA_KEYS * LDS;

    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int g = lane / 4, t4 = lane % 4;  // mma fragment row group and column pair
    const long long h = blockIdx.y, kvh = h / (heads / kvHeads);
    const long long row0 = (long long)blockIdx.x * ROWS;
    const long long ldq = heads * D, ldk = kvHeads * D;

    // The keys this block needs: the largest limit among its rows.
    if (threadIdx.x == 0) blockKeys = 1;
    __syncthreads();
    if (threadIdx.x < ROWS && row0 + threadIdx.x < S)
        atomicMax(&blockKeys, keyLimit ? keyLimit[row0 + threadIdx.x] : (int)nKeys);

    // Q fragments (A operands) for this warp's 16 rows, all of D.
    load_tile<D, THREADS>(sm, q, ldq, h * D, row0, ROWS, S);
    cp_async_commit();
    cp_async_wait<0>();
    __syncthreads();
    unsigned qf[D / 16][4];
    {
        const int r = warp * 16 + (lane % 8) + ((lane / 8) % 2) * 8;
        for (int kc = 0; kc < D / 16; kc++) ldsm_x4(qf[kc], sm + r * LDS + kc * 16 + (lane / 16) * 8);
    }
    const long long maxKeys = blockKeys;
    __syncthreads();  // Q is in registers; the buffers are free

    // Each thread owns rows g and g+8 of its warp's 16.
    const long long rowA = row0 + warp * 16 + g, rowB = rowA + 8;
    const long long limA = rowA < S ? (keyLimit ? keyLimit[rowA] : nKeys) : 1;
    const long long limB = rowB < S ? (keyLimit ? keyLimit[rowB] : nKeys) : 1;
    const float sl2 = scale * 1.4426950408889634f;  // exp(x) = exp2(x·log2 e)

    float o[D / 8][4];
    for (int j = 0; j < D / 8; j++) o[j][0] = o[j][1] = o[j][2] = o[j][3] = 0.f;
    float mA = -INFINITY, mB = -INFINITY, lA = 0.f, lB = 0.f;

    const int tiles = (int)((maxKeys + FA_KEYS - 1) / FA_KEYS);
    if constexpr (EAGER) {
        // Two walks before the product: the exact row maxima, then the row
        // sums of exp(score − max) added in the order of torch's warp
        // softmax (the kernel of torch.softmax for rows of up to 2048
        // values): lane c of a warp of W = min(2^⌈log2 nKeys⌉, 32) lanes
        // sums the keys c, c + W, c + 2W, … in turn from 0, then the lanes
        // combine pairwise at distances W/2, W/4, …, 1. This thread holds
        // keys tile·64 + j·8 + 2·t4 + e, so for W = 32 it owns the eight
        // lanes 8·(j mod 4) + 2·t4 + e and visits each lane's keys in
        // increasing order; for W ≤ 16 every lane has at most one key.
        //
        // A decoded token (S = 1) takes the faster way instead: one walk
        // with a running maximum, rescaling the partial sums as it rises,
        // and probabilities multiplied by the sum's reciprocal rather than
        // divided by it. That rounds differently from torch now and then;
        // it saves a walk over the keys and sixteen divisions per tile (the
        // 8B-MoT's attention per decoded token on the H100: 1.6 ms against
        // 2.7 with the divisions).
        //
        // walk runs step(s, tmA, tmB) on every tile's eager scores and the
        // tile's maxima over this thread's columns, keys in order.
        const auto walk = [&](auto step) {
            load_tile<D, THREADS>(ks, k, ldk, kvh * D, 0, FA_KEYS, maxKeys);
            cp_async_commit();
            for (int tile = 0; tile < tiles; tile++) {
                const long long key0 = (long long)tile * FA_KEYS;
                cp_async_wait<0>();
                __syncthreads();
                float s[FA_KEYS / 8][4];
                tile_scores<D>(s, qf, ks, lane);
                __syncthreads();
                if (tile + 1 < tiles) load_tile<D, THREADS>(ks, k, ldk, kvh * D, key0 + FA_KEYS, FA_KEYS, maxKeys);
                cp_async_commit();
                float tmA = -INFINITY, tmB = -INFINITY;
                eager_scores(s, key0, t4, limA, limB, scale, tmA, tmB);
                step(s, tmA, tmB);
            }
            cp_async_wait<0>();
            __syncthreads();
        };
        if (S == 1) {
            walk([&](float (*s)[4], float tmA, float tmB) {
                tmA = quad_max(tmA);
                tmB = quad_max(tmB);
                const float nmA = fmaxf(mA, tmA), nmB = fmaxf(mB, tmB);
                const float bA = nmA == -INFINITY ? 0.f : nmA, bB = nmB == -INFINITY ? 0.f : nmB;
                float sumA = 0.f, sumB = 0.f;
                for (int j = 0; j < FA_KEYS / 8; j++) {
                    sumA += expf(s[j][0] - bA) + expf(s[j][1] - bA);
                    sumB += expf(s[j][2] - bB) + expf(s[j][3] - bB);
                }
                lA = lA * expf(mA - bA) + sumA;
                lB = lB * expf(mB - bB) + sumB;
                mA = nmA;
                mB = nmB;
            });
            lA = quad_sum(lA);
            lB = quad_sum(lB);
        } else {
            walk([&](float (*)[4], float tmA, float tmB) {
                mA = fmaxf(mA, tmA);
                mB = fmaxf(mB, tmB);
            });
            mA = quad_max(mA);
            mB = quad_max(mB);
            float pA[8] = {}, pB[8] = {};
            walk([&](float (*s)[4], float, float) {
                for (int j = 0; j < FA_KEYS / 8; j++) {
                    const int c = (j % 4) * 2;
                    pA[c] += expf(s[j][0] - mA);
                    pA[c + 1] += expf(s[j][1] - mA);
                    pB[c] += expf(s[j][2] - mB);
                    pB[c + 1] += expf(s[j][3] - mB);
                }
            });
            lA = warp_softmax_sum(pA, nKeys);
            lB = warp_softmax_sum(pB, nKeys);
        }
    }
    load_tile<D, THREADS>(ks, k, ldk, kvh * D, 0, FA_KEYS, maxKeys);
    cp_async_commit();
    if constexpr (!PROBS) load_tile<D, THREADS>(vs, v, ldk, kvh * D, 0, FA_KEYS, maxKeys);
    cp_async_commit();

    for (int tile = 0; tile < tiles; tile++) {
        const long long key0 = (long long)tile * FA_KEYS;
        cp_async_wait<1>();  // this tile's K has landed
        __syncthreads();

        // s = q·kᵀ for 64 keys: 8 fragments of 8 keys.
        float s[FA_KEYS / 8][4];
        tile_scores<D>(s, qf, ks, lane);
        __syncthreads();  // every warp is done with K: fetch the next one
        if (tile + 1 < tiles) load_tile<D, THREADS>(ks, k, ldk, kvh * D, key0 + FA_KEYS, FA_KEYS, maxKeys);
        cp_async_commit();

        if constexpr (EAGER) {
            // Probabilities from the first walk's statistics, rounded.
            float unusedA = -INFINITY, unusedB = -INFINITY;
            eager_scores(s, key0, t4, limA, limB, scale, unusedA, unusedB);
            if (S == 1) {
                // Decoding: a reciprocal and products (see the walks above).
                const float iA = 1.f / lA, iB = 1.f / lB;
                for (int j = 0; j < FA_KEYS / 8; j++) {
                    s[j][0] = expf(s[j][0] - mA) * iA;
                    s[j][1] = expf(s[j][1] - mA) * iA;
                    s[j][2] = expf(s[j][2] - mB) * iB;
                    s[j][3] = expf(s[j][3] - mB) * iB;
                }
            } else {
                for (int j = 0; j < FA_KEYS / 8; j++) {
                    s[j][0] = expf(s[j][0] - mA) / lA;
                    s[j][1] = expf(s[j][1] - mA) / lA;
                    s[j][2] = expf(s[j][2] - mB) / lB;
                    s[j][3] = expf(s[j][3] - mB) / lB;
                }
            }
        } else {
        // Online softmax over this tile, in the exp2 domain.
        float tmA = -INFINITY, tmB = -INFINITY;
        for (int j = 0; j < FA_KEYS / 8; j++) {
            const long long kidx = key0 + j * 8 + t4 * 2;
            s[j][0] = kidx < limA ? s[j][0] * sl2 : -INFINITY;
            s[j][1] = kidx + 1 < limA ? s[j][1] * sl2 : -INFINITY;
            s[j][2] = kidx < limB ? s[j][2] * sl2 : -INFINITY;
            s[j][3] = kidx + 1 < limB ? s[j][3] * sl2 : -INFINITY;
            tmA = fmaxf(tmA, fmaxf(s[j][0], s[j][1]));
            tmB = fmaxf(tmB, fmaxf(s[j][2], s[j][3]));
        }
        tmA = quad_max(tmA);
        tmB = quad_max(tmB);
        const float nmA = fmaxf(mA, tmA), nmB = fmaxf(mB, tmB);
        // A row with no visible key yet keeps m = -inf; subtract 0 instead.
        const float baseA = nmA == -INFINITY ? 0.f : nmA, baseB = nmB == -INFINITY ? 0.f : nmB;
        const float cA = exp2f(mA - baseA), cB = exp2f(mB - baseB);
        mA = nmA;
        mB = nmB;
        float sumA = 0.f, sumB = 0.f;
        for (int j = 0; j < FA_KEYS / 8; j++) {
            s[j][0] = exp2f(s[j][0] - baseA);
            s[j][1] = exp2f(s[j][1] - baseA);
            s[j][2] = exp2f(s[j][2] - baseB);
            s[j][3] = exp2f(s[j][3] - baseB);
            sumA += s[j][0] + s[j][1];
            sumB += s[j][2] + s[j][3];
        }
        lA = lA * cA + sumA;
        lB = lB * cB + sumB;
        for (int j = 0; j < D / 8; j++) {
            o[j][0] *= cA;
            o[j][1] *= cA;
            o[j][2] *= cB;
            o[j][3] *= cB;
        }
        }

        if constexpr (PROBS) {
            // out is P [heads, S, nKeys]: the rounded probabilities, for a
            // P·V product outside (zeroed beforehand past the block's keys).
            for (int j = 0; j < FA_KEYS / 8; j++) {
                const long long kidx = key0 + j * 8 + t4 * 2;
                for (int e = 0; e < 2; e++) {
                    if (kidx + e >= nKeys) continue;
                    if (rowA < S) out[(h * S + rowA) * nKeys + kidx + e] = __float2bfloat16(s[j][e]);
                    if (rowB < S) out[(h * S + rowB) * nKeys + kidx + e] = __float2bfloat16(s[j][2 + e]);
                }
            }
            cp_async_commit();  // no V: an empty group keeps the waits' counts
            continue;
        }
        cp_async_wait<1>();  // this tile's V has landed
        __syncthreads();
        for (int kk = 0; kk < FA_KEYS / 16; kk++) {
            unsigned a[4];
            a[0] = pack_bf16(s[2 * kk][0], s[2 * kk][1]);
            a[1] = pack_bf16(s[2 * kk][2], s[2 * kk][3]);
            a[2] = pack_bf16(s[2 * kk + 1][0], s[2 * kk + 1][1]);
            a[3] = pack_bf16(s[2 * kk + 1][2], s[2 * kk + 1][3]);
            for (int j = 0; j < D / 8; j += 2) {
                unsigned b[4];
                const int mi = lane / 8;
                ldsm_x4_trans(b, vs + (kk * 16 + (mi % 2) * 8 + lane % 8) * LDS + (j + mi / 2) * 8);
                mma16816(o[j], a, b[0], b[1]);
                mma16816(o[j + 1], a, b[2], b[3]);
            }
        }
        __syncthreads();  // every warp is done with V: fetch the next one
        if (tile + 1 < tiles) load_tile<D, THREADS>(vs, v, ldk, kvh * D, key0 + FA_KEYS, FA_KEYS, maxKeys);
        cp_async_commit();
    }
    cp_async_wait<0>();
    if constexpr (PROBS) return;

    float iA = 1.f, iB = 1.f;  // eager probabilities are normalised already
    if constexpr (!EAGER) {
        lA = quad_sum(lA);
        lB = quad_sum(lB);
        iA = 1.f / lA;
        iB = 1.f / lB;
    }
    for (int j = 0; j < D / 8; j++) {
        const long long col = h * D + j * 8 + t4 * 2;
        if (rowA < S)
            *reinterpret_cast<__nv_bfloat162*>(out + rowA * ldq + col) = __floats2bfloat162_rn(o[j][0] * iA, o[j][1] * iA);
        if (rowB < S)
            *reinterpret_cast<__nv_bfloat162*>(out + rowB * ldq + col) = __floats2bfloat162_rn(o[j][2] * iB, o[j][3] * iB);
    }
}

// attention_d{D}_w{WARPS} and eager_attention_d{D}_w{WARPS}: grid
// (ceil(S / (16·WARPS)), heads), block 32·WARPS.
#define ATTENTION(D, W)                                                                                              \
    extern "C" __global__ void __launch_bounds__(32 * W)                                                             \
        attention_d##D##_w##W(bf16* out, const bf16* q, const bf16* k, const bf16* v, const int* keyLimit,        \
                              long long S, long long nKeys, long long heads, long long kvHeads, double scale) {        \
        flash_attention<D, W, false>(out, q, k, v, keyLimit, S, nKeys, heads, kvHeads, (float)scale);              \
    }                                                                                                                \
    extern "C" __global__ void __launch_bounds__(32 * W)                                                             \
        eager_attention_d##D##_w##W(bf16* out, const bf16* q, const bf16* k, const bf16* v, const int* keyLimit,  \
                                    long long S, long long nKeys, long long heads, long long kvHeads, double scale) {  \
        flash_attention<D, W, true>(out, q, k, v, keyLimit, S, nKeys, heads, kvHeads, (float)scale);               \
    }                                                                                                                \
    extern "C" __global__ void __launch_bounds__(32 * W)                                                             \
        eager_probs_d##D##_w##W(bf16* out, const bf16* q, const bf16* k, const bf16* v, const int* keyLimit,      \
                                long long S, long long nKeys, long long heads, long long kvHeads, double scale) {      \
        flash_attention<D, W, true, true>(out, q, k, v, keyLimit, S, nKeys, heads, kvHeads, (float)scale);         \
    }
ATTENTION(16, 4)
ATTENTION(32, 4)
ATTENTION(64, 4)
ATTENTION(128, 4)
ATTENTION(128, 8)

// repeatkv: out [heads, n, D] = the rows [n, kvHeads·D] of one cache
// tensor with each key/value head repeated for its heads/kvHeads query
// heads (torch's repeat_kv), head-major for a batched GEMM.
extern "C" __global__ void repeatkv(bf16* __restrict__ out, const bf16* __restrict__ x, long long n, long long heads,
                                    long long kvHeads, long long D) {
    FOR_EACH(i, heads * n * D) {
        const long long d = i % D, r = (i / D) % n, h = i / (D * n);
        out[i] = x[r * kvHeads * D + (h / (heads / kvHeads)) * D + d];
    }
}

// mergeheads: out [S, heads·D] = x [heads, S, D] with the heads side by side.
extern "C" __global__ void mergeheads(bf16* __restrict__ out, const bf16* __restrict__ x, long long S, long long heads,
                                      long long D) {
    FOR_EACH(i, S * heads * D) {
        const long long d = i % D, h = (i / D) % heads, r = i / (D * heads);
        out[i] = x[(h * S + r) * D + d];
    }
}
