// RMSNorm as the reference computes it in bf16 (MODEL.md 3.1):
//   y = bf16(x32 / sqrt(mean(x32²) + eps)); out = bf16(w · y)
// with mean(x32²) added up in the order of torch's reduction kernel, so the
// statistics are bit-identical to the reference's. torch reduces each row
// with bw threads (the host works bw out as torch's ReduceConfig does, from
// the row length and the number of rows): with vectorised loads (rows of
// 128 values or more, a multiple of 4) thread l takes the 4-value groups
// l, l + bw, … and keeps one running sum per position in the group; without
// (shorter rows) it takes the values l, l + bw, … into four running sums in
// turn. Each thread adds its four sums left to right, then the threads
// combine pairwise at distances bw/2, bw/4, …, 1. The squares of bf16 values
// are exact in fp32, so only this order matters.

// load4 reads four consecutive bf16 values as floats, as one 8-byte load
// when wide (8-byte aligned).
__device__ __forceinline__ void load4(const bf16* p, bool wide, float* v) {
    if (wide) {
        const uint2 u = *reinterpret_cast<const uint2*>(p);
        const __nv_bfloat162 lo = *reinterpret_cast<const __nv_bfloat162*>(&u.x);
        const __nv_bfloat162 hi = *reinterpret_cast<const __nv_bfloat162*>(&u.y);
        v[0] = __low2float(lo);
        v[1] = __high2float(lo);
        v[2] = __low2float(hi);
        v[3] = __high2float(hi);
    } else {
        for (int c = 0; c < 4; c++) v[c] = ld(p, c);
    }
}

// norm_rows normalises rows of n values, blockDim.x / bw rows per block;
// row r uses weight w, or w2 for odd r when w2 is non-null (the split q/k
// norms, whose rows alternate between the two halves of a head). red holds
// blockDim.x floats.
__device__ __forceinline__ void norm_rows(bf16* __restrict__ out, const bf16* __restrict__ x,
                                          const bf16* __restrict__ w, const bf16* __restrict__ w2,
                                          long long rows, long long n, int bw, bool vec, float eps, float* red) {
    const int t = threadIdx.x, lane = t % bw;
    const long long r = (long long)blockIdx.x * (blockDim.x / bw) + t / bw;
    const bool live = r < rows;
    const bf16* xr = x + r * n;
    float a[4] = {0.f, 0.f, 0.f, 0.f};
    // Vectorised rows load and store their groups of four as 8 bytes.
    const bool wide = vec && ((unsigned long long)xr & 7) == 0 && ((unsigned long long)(out + r * n) & 7) == 0 &&
                      ((unsigned long long)w & 7) == 0 && (!w2 || ((unsigned long long)w2 & 7) == 0);
    if (live && vec) {
        for (long long g = lane; 4 * g < n; g += bw) {
            float v[4];
            load4(xr + 4 * g, wide, v);
            for (int c = 0; c < 4; c++) a[c] += v[c] * v[c];
        }
    } else if (live) {
        long long i = lane;
        for (; i + 3LL * bw < n; i += 4LL * bw)
            for (int j = 0; j < 4; j++) {
                const float v = ld(xr, i + j * bw);
                a[j] += v * v;
            }
        for (int j = 0; j < 4 && i + j * bw < n; j++) {
            const float v = ld(xr, i + j * bw);
            a[j] += v * v;
        }
    }
    // The pairwise sums: through shared memory while the distance spans
    // warps, then by shuffles within a warp (rows of bw ≤ 32 threads lie in
    // one warp, so the shuffles stay inside a row with width bw).
    float sum = ((a[0] + a[1]) + a[2]) + a[3];
    int o = bw / 2;
    if (bw > 32) {
        red[t] = sum;
        for (; o >= 32; o >>= 1) {
            __syncthreads();
            if (lane < o) red[t] += red[t + o];
        }
        __syncthreads();
        sum = red[t];
    }
    const int width = bw < 32 ? bw : 32;
    for (; o >= 1; o >>= 1) sum += __shfl_down_sync(0xffffffffu, sum, o, width);
    if (bw > 32) {
        if (lane == 0) red[t] = sum;
        __syncthreads();
        sum = red[t - lane];
    } else {
        sum = __shfl_sync(0xffffffffu, sum, 0, width);
    }
    if (!live) return;
    const float inv = rsqrtf(sum / (float)n + eps);
    const bf16* wr = (w2 && (r & 1)) ? w2 : w;
    bf16* yr = out + r * n;
    if (vec) {
        for (long long g = lane; 4 * g < n; g += bw) {
            float v[4], u[4];
            load4(xr + 4 * g, wide, v);
            load4(wr + 4 * g, wide, u);
            for (int c = 0; c < 4; c++) v[c] = rb(v[c] * inv) * u[c];
            if (wide) {
                __nv_bfloat162 lo = __floats2bfloat162_rn(v[0], v[1]), hi = __floats2bfloat162_rn(v[2], v[3]);
                uint2 o;
                o.x = *reinterpret_cast<unsigned*>(&lo);
                o.y = *reinterpret_cast<unsigned*>(&hi);
                *reinterpret_cast<uint2*>(yr + 4 * g) = o;
            } else {
                for (int c = 0; c < 4; c++) st(yr, 4 * g + c, v[c]);
            }
        }
        return;
    }
    for (long long i = lane; i < n; i += bw) st(yr, i, rb(ld(xr, i) * inv) * ld(wr, i));
}

// rmsnorm: rows of cols values, one weight of cols values.
extern "C" __global__ void rmsnorm(bf16* __restrict__ out, const bf16* __restrict__ x, const bf16* __restrict__ w,
                                   long long rows, long long cols, long long bw, long long vec, double eps) {
    extern __shared__ float red[];
    norm_rows(out, x, w, nullptr, rows, cols, (int)bw, vec != 0, (float)eps, red);
}

// qknorm: the split q/k norms (MODEL.md 3.5): each head of 2·half values is
// two groups of half, normalised with wt (first half) and whw (second).
extern "C" __global__ void qknorm(bf16* __restrict__ out, const bf16* __restrict__ x, const bf16* __restrict__ wt,
                                  const bf16* __restrict__ whw, long long groups, long long half, long long bw,
                                  long long vec, double eps) {
    extern __shared__ float red[];
    norm_rows(out, x, wt, whw, groups, half, (int)bw, vec != 0, (float)eps, red);
}
