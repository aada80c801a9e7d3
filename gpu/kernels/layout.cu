// Image layouts (MODEL.md 3.9, 3.12b, 3.14). Pure data movement.

// merge2x2: x [gh·gw, E] → out [(gh/2)·(gw/2), E·4], element e·4+dy·2+dx of
// token (r, c) = x[(2r+dy)·gw + 2c+dx][e].
extern "C" __global__ void merge2x2(bf16* out, const bf16* x, long long gh, long long gw, long long E) {
    const long long tw = gw / 2, n = (gh / 2) * tw * E * 4;
    FOR_EACH(i, n) {
        const long long k = i % (E * 4), t = i / (E * 4);
        const long long e = k / 4, dy = (k % 4) / 2, dx = k % 2;
        const long long r = t / tw, c = t % tw;
        out[i] = x[((2 * r + dy) * gw + 2 * c + dx) * E + e];
    }
}

// pixelshuffle: x [C·r², H, W] → out [C, H·r, W·r]; input channel
// c·r² + i·r + j at (y, x) goes to channel c at (y·r+i, x·r+j).
extern "C" __global__ void pixelshuffle(bf16* out, const bf16* x, long long C, long long H, long long W, long long r) {
    const long long OH = H * r, OW = W * r;
    FOR_EACH(o, C * OH * OW) {
        const long long ox = o % OW, oy = (o / OW) % OH, c = o / (OW * OH);
        const long long i = oy % r, j = ox % r, y = oy / r, xx = ox / r;
        out[o] = x[((c * r * r + i * r + j) * H + y) * W + xx];
    }
}

// img2patches: img [C, H, W] → out [(H/p)·(W/p), C·p·p], within a patch
// (c, y, x) order, or (y, x, c) when channelLast; patches2img is the inverse.
extern "C" __global__ void img2patches(bf16* out, const bf16* img, long long C, long long H, long long W, long long p, long long channelLast) {
    const long long gw = W / p, per = C * p * p;
    FOR_EACH(o, C * H * W) {
        const long long k = o % per, t = o / per;
        const long long r = t / gw, cc = t % gw;
        long long c, y, x;
        if (channelLast) { c = k % C; x = (k / C) % p; y = k / (C * p); }
        else { x = k % p; y = (k / p) % p; c = k / (p * p); }
        out[o] = img[(c * H + r * p + y) * W + cc * p + x];
    }
}
extern "C" __global__ void patches2img(bf16* out, const bf16* patches, long long C, long long H, long long W, long long p, long long channelLast) {
    const long long gw = W / p, per = C * p * p;
    FOR_EACH(o, C * H * W) {
        const long long xx = o % W, yy = (o / W) % H, c = o / (W * H);
        const long long r = yy / p, cc = xx / p, y = yy % p, x = xx % p;
        const long long k = channelLast ? (y * p + x) * C + c : (c * p + y) * p + x;
        out[o] = patches[(r * gw + cc) * per + k];
    }
}

// im2col3x3: x [C, H, W] → out [H·W, C·9] for a 3×3 convolution with zero
// padding 1; element c·9 + ky·3 + kx of pixel (y, x) = x[c, y+ky-1, x+kx-1].
extern "C" __global__ void im2col3x3(bf16* out, const bf16* x, long long C, long long H, long long W) {
    FOR_EACH(o, H * W * C * 9) {
        const long long k = o % (C * 9), pix = o / (C * 9);
        const long long c = k / 9, ky = (k % 9) / 3, kx = k % 3;
        const long long y = pix / W + ky - 1, xx = pix % W + kx - 1;
        out[o] = (y >= 0 && y < H && xx >= 0 && xx < W) ? x[(c * H + y) * W + xx] : __float2bfloat16(0.f);
    }
}
