// RMSNorm as the reference computes it in bf16 (MODEL.md 3.1):
//   y = bf16(x32 / sqrt(mean(x32²) + eps)); out = bf16(w · y)
// rmsnorm: one block per row of cols values, weight of cols values.
extern "C" __global__ void rmsnorm(bf16* __restrict__ out, const bf16* __restrict__ x,
                                   const bf16* __restrict__ w, long long cols, double eps) {
    __shared__ float red[32];
    const long long row = blockIdx.x;
    const bf16* xr = x + row * cols;
    bf16* yr = out + row * cols;
    float ss = 0.f;
    for (long long i = threadIdx.x; i < cols; i += blockDim.x) {
        float v = ld(xr, i);
        ss += v * v;
    }
    ss = block_sum(ss, red);
    const float inv = rsqrtf(ss / (float)cols + (float)eps);
    for (long long i = threadIdx.x; i < cols; i += blockDim.x)
        st(yr, i, rb(ld(xr, i) * inv) * ld(w, i));
}

// qknorm: the split q/k norms (MODEL.md 3.5): each head of headDim values is
// two groups of headDim/2, normalised with wt (first half) and whw (second).
// One warp per group; groups = rows·heads·2.
extern "C" __global__ void qknorm(bf16* __restrict__ out, const bf16* __restrict__ x,
                                  const bf16* __restrict__ wt, const bf16* __restrict__ whw,
                                  long long groups, long long half, double eps) {
    const long long g = ((long long)blockIdx.x * blockDim.x + threadIdx.x) >> 5;
    const int lane = threadIdx.x & 31;
    if (g >= groups) return;
    const bf16* xg = x + g * half;
    bf16* yg = out + g * half;
    const bf16* w = (g & 1) ? whw : wt;
    float ss = 0.f;
    for (long long i = lane; i < half; i += 32) {
        float v = ld(xg, i);
        ss += v * v;
    }
    ss = warp_sum(ss);
    const float inv = rsqrtf(ss / (float)half + (float)eps);
    for (long long i = lane; i < half; i += 32) st(yg, i, rb(ld(xg, i) * inv) * ld(w, i));
}
