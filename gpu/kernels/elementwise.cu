// Elementwise kernels. Each output is rounded to bf16 once, after the fp32
// computation, as a bf16 torch op does.

__device__ __forceinline__ float gelu_f(float v) { return 0.5f * v * (1.f + erff(v * 0.70710678118654752f)); }
__device__ __forceinline__ float silu_f(float v) { return v / (1.f + expf(-v)); }

// Elementwise maps read and write 8 bf16 (16 bytes) per access when every
// pointer is 16-byte aligned, one element at a time otherwise and for the
// tail.
struct GeluOp { __device__ float operator()(float v) const { return gelu_f(v); } };
struct SiluOp { __device__ float operator()(float v) const { return silu_f(v); } };
struct AddOp { __device__ float operator()(float a, float b) const { return a + b; } };
// swiglu: silu(gate) rounded to bf16, times up, rounded (act_fn(gate) * up).
struct SwigluOp { __device__ float operator()(float g, float u) const { return rb(silu_f(g)) * u; } };

__device__ __forceinline__ bool aligned16(const void* p) { return ((unsigned long long)p & 15) == 0; }

template <typename F>
__device__ __forceinline__ void map1(bf16* out, const bf16* x, long long n, F f) {
    long long done = 0;
    if (aligned16(out) && aligned16(x)) {
        const long long n8 = n / 8;
        FOR_EACH(i, n8) {
            uint4 vx = reinterpret_cast<const uint4*>(x)[i], vo;
            const bf16* px = reinterpret_cast<const bf16*>(&vx);
            bf16* po = reinterpret_cast<bf16*>(&vo);
            for (int k = 0; k < 8; k++) po[k] = __float2bfloat16(f(__bfloat162float(px[k])));
            reinterpret_cast<uint4*>(out)[i] = vo;
        }
        done = n8 * 8;
    }
    FOR_EACH(j, n - done) st(out, done + j, f(ld(x, done + j)));
}

template <typename F>
__device__ __forceinline__ void map2(bf16* out, const bf16* a, const bf16* b, long long n, F f) {
    long long done = 0;
    if (aligned16(out) && aligned16(a) && aligned16(b)) {
        const long long n8 = n / 8;
        FOR_EACH(i, n8) {
            uint4 va = reinterpret_cast<const uint4*>(a)[i], vb = reinterpret_cast<const uint4*>(b)[i], vo;
            const bf16* pa = reinterpret_cast<const bf16*>(&va);
            const bf16* pb = reinterpret_cast<const bf16*>(&vb);
            bf16* po = reinterpret_cast<bf16*>(&vo);
            for (int k = 0; k < 8; k++) po[k] = __float2bfloat16(f(__bfloat162float(pa[k]), __bfloat162float(pb[k])));
            reinterpret_cast<uint4*>(out)[i] = vo;
        }
        done = n8 * 8;
    }
    FOR_EACH(j, n - done) st(out, done + j, f(ld(a, done + j), ld(b, done + j)));
}

extern "C" __global__ void gelu(bf16* out, const bf16* x, long long n) { map1(out, x, n, GeluOp()); }
extern "C" __global__ void silu(bf16* out, const bf16* x, long long n) { map1(out, x, n, SiluOp()); }
extern "C" __global__ void swiglu(bf16* out, const bf16* gate, const bf16* up, long long n) { map2(out, gate, up, n, SwigluOp()); }
extern "C" __global__ void add(bf16* out, const bf16* a, const bf16* b, long long n) { map2(out, a, b, n, AddOp()); }

// addrow: out[i, j] = x[i, j] + row[j] for x [M, N].
extern "C" __global__ void addrow(bf16* out, const bf16* x, const bf16* row, long long M, long long N) {
    FOR_EACH(i, M * N) st(out, i, ld(x, i) + ld(row, i % N));
}

// repeatrow: out [M, N] = row [N] on every row (a Linear's bias; the
// built-in GEMM then adds its product to it, one rounding as in torch).
extern "C" __global__ void repeatrow(bf16* out, const bf16* row, long long M, long long N) {
    FOR_EACH(i, M * N) out[i] = row[i % N];
}
// biasround: out [M, N] = bf16(acc + bias[j]) for an fp32 GEMM product acc,
// the bias added in fp32 and the sum rounded once (cuBLAS with a bias).
extern "C" __global__ void biasround(bf16* out, const float* acc, const bf16* bias, long long M, long long N) {
    FOR_EACH(i, M * N) st(out, i, acc[i] + ld(bias, i % N));
}
// addcol: out[i, j] = x[i, j] + col[i] for x [M, N], rounded: a
// convolution's bias per output channel of an [O, H·W] result, added after
// the product was rounded, as torch adds it to cuDNN's bf16 output.
extern "C" __global__ void addcol(bf16* out, const bf16* x, const bf16* col, long long M, long long N) {
    FOR_EACH(i, M * N) st(out, i, ld(x, i) + ld(col, i / N));
}

// combine4: out = Σ c_k · x_k over up to four terms (unused terms have a
// null pointer), summed in fp32 and rounded once.
extern "C" __global__ void combine4(bf16* out, long long n,
                                    const bf16* x0, double c0, const bf16* x1, double c1,
                                    const bf16* x2, double c2, const bf16* x3, double c3) {
    FOR_EACH(i, n) {
        float v = (float)c0 * ld(x0, i);
        if (x1) v += (float)c1 * ld(x1, i);
        if (x2) v += (float)c2 * ld(x2, i);
        if (x3) v += (float)c3 * ld(x3, i);
        st(out, i, v);
    }
}

// scalegroups: out[i] = x[i] · scale[i / groupSize] (scale is fp32).
extern "C" __global__ void scalegroups(bf16* out, const bf16* x, const float* scale, long long groupSize, long long n) {
    FOR_EACH(i, n) st(out, i, ld(x, i) * scale[i / groupSize]);
}

// dot: partial[g · blocksPerGroup + b] = Σ x·y over block b's share of
// group g (fp64 accumulation of fp32 products); the host adds the partials.
extern "C" __global__ void dot(double* partial, const bf16* x, const bf16* y, long long groupSize, long long blocksPerGroup) {
    __shared__ double red[32];
    const long long g = blockIdx.x / blocksPerGroup, b = blockIdx.x % blocksPerGroup;
    const bf16* xg = x + g * groupSize;
    const bf16* yg = y + g * groupSize;
    double s = 0;
    for (long long i = b * blockDim.x + threadIdx.x; i < groupSize; i += blocksPerGroup * blockDim.x)
        s += (double)(ld(xg, i) * ld(yg, i));
    for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    if (lane == 0) red[warp] = s;
    __syncthreads();
    if (threadIdx.x == 0) {
        double t = 0;
        for (int w = 0; w < (int)((blockDim.x + 31) >> 5); w++) t += red[w];
        partial[blockIdx.x] = t;
    }
}

// embed: out[r] = table[ids[r]] for rows of cols values.
extern "C" __global__ void embed(bf16* out, const bf16* table, const int* ids, long long rows, long long cols) {
    FOR_EACH(i, rows * cols) out[i] = table[(long long)ids[i / cols] * cols + i % cols];
}

// transpose: out [N, M] = x [M, N]ᵀ, through 32×32 shared tiles.
extern "C" __global__ void transpose(bf16* out, const bf16* x, long long M, long long N) {
    __shared__ bf16 tile[32][33];
    const long long bx = blockIdx.x * 32, by = blockIdx.y * 32;
    for (int j = threadIdx.y; j < 32; j += blockDim.y) {
        long long r = by + j, c = bx + threadIdx.x;
        if (r < M && c < N) tile[j][threadIdx.x] = x[r * N + c];
    }
    __syncthreads();
    for (int j = threadIdx.y; j < 32; j += blockDim.y) {
        long long r = bx + j, c = by + threadIdx.x;
        if (r < N && c < M) out[r * M + c] = tile[threadIdx.x][j];
    }
}

// f32tobf16 and bf16tof32 convert on the device.
extern "C" __global__ void f32tobf16(bf16* out, const float* x, long long n) {
    FOR_EACH(i, n) out[i] = __float2bfloat16(x[i]);
}
extern "C" __global__ void bf16tof32(float* out, const bf16* x, long long n) {
    FOR_EACH(i, n) out[i] = __bfloat162float(x[i]);
}

// fillrandom writes uniform values of standard deviation std (range ±std·√3)
// from a counter-based hash of (seed, index): random weights for the
// benchmark, the same on every run and card.
__device__ __forceinline__ unsigned long long mix64(unsigned long long z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
extern "C" __global__ void fillrandom(bf16* out, long long n, long long seed, double std) {
    const float a = (float)(std * 1.7320508075688772);
    FOR_EACH(i, n) {
        const unsigned long long r = mix64((unsigned long long)seed * 0x9e3779b97f4a7c15ull + (unsigned long long)i);
        const float u = (float)(r >> 40) * (1.f / 16777216.f);  // [0, 1)
        st(out, i, (2.f * u - 1.f) * a);
    }
}

// fill writes one value everywhere.
extern "C" __global__ void fill(bf16* out, long long n, double value) {
    FOR_EACH(i, n) st(out, i, (float)value);
}
