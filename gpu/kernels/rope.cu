// rope3: the three-axis half-split LLM RoPE (MODEL.md 3.2a) on rows of
// heads·D values, as the bf16 reference applies it: cos and sin rounded to
// bf16, then bf16(bf16(x·cos) + bf16(rotate_half(x)·sin)).
// One thread per (row, head, pair); pairs per head = D/2 (D/4 in the t part,
// D/8 in each of h and w). freq holds the float32 frequency of every pair
// (t part, then h, then w), computed on the host as the reference does.
extern "C" __global__ void rope3(bf16* __restrict__ out, const bf16* __restrict__ x,
                                 const int* __restrict__ pt, const int* __restrict__ ph,
                                 const int* __restrict__ pw, const float* __restrict__ freq,
                                 long long rows, long long heads, long long D) {
    const long long pairs = D / 2;
    const long long total = rows * heads * pairs;
    FOR_EACH(idx, total) {
        const long long p = idx % pairs;
        const long long rh = idx / pairs;  // row·heads + head
        const long long row = rh / heads;
        const bf16* xh = x + rh * D;
        bf16* yh = out + rh * D;
        // Which part: t = [0, D/2) with n = D/2; h = [D/2, 3D/4), w = [3D/4, D) with n = D/4.
        long long base, n, i;
        int pos;
        if (p < D / 4) {
            base = 0; n = D / 2; i = p; pos = pt[row];
        } else if (p < D / 4 + D / 8) {
            base = D / 2; n = D / 4; i = p - D / 4; pos = ph[row];
        } else {
            base = 3 * D / 4; n = D / 4; i = p - D / 4 - D / 8; pos = pw[row];
        }
        const float a = (float)pos * freq[p];
        const float c = rb(cosf(a)), s = rb(sinf(a));
        const float x1 = ld(xh, base + i), x2 = ld(xh, base + i + n / 2);
        st(yh, base + i, rb(x1 * c) + rb(-x2 * s));
        st(yh, base + i + n / 2, rb(x2 * c) + rb(x1 * s));
    }
}

// patchrope: the interleaved 2-D feature RoPE of the patch embedders
// (MODEL.md 3.2b) in float32: pairs (2i, 2i+1) of dims [0, E/2) rotate by
// the patch's column, of [E/2, E) by its row. One thread per (patch, pair);
// freq holds the E/4 frequencies of a half.
extern "C" __global__ void patchrope(bf16* __restrict__ out, const bf16* __restrict__ x,
                                     const int* __restrict__ cols, const int* __restrict__ rows,
                                     const float* __restrict__ freq, long long N, long long E) {
    const long long pairs = E / 2;
    FOR_EACH(idx, N * pairs) {
        const long long p = idx % pairs, k = idx / pairs;
        const long long halfPairs = E / 4;  // pairs per half (n = E/2)
        const long long i = p % halfPairs;
        const int pos = p < halfPairs ? cols[k] : rows[k];
        const float a = (float)pos * freq[i];
        const float c = cosf(a), s = sinf(a);
        const float x0 = ld(x, k * E + 2 * p), x1 = ld(x, k * E + 2 * p + 1);
        st(out, k * E + 2 * p, x0 * c - x1 * s);
        st(out, k * E + 2 * p + 1, x0 * s + x1 * c);
    }
}
