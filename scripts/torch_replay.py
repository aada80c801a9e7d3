#!/usr/bin/env python3
"""Recompute every op of a CUDA-backend trace with torch's bf16 ops.

Usage: torch_replay.py TRACE.safetensors

TRACE comes from the pipeline test TestTraceOps (docs/torch-parity.md).
Each op is recomputed from its recorded inputs the way MODEL.md 3.0-3.13
says the reference computes it (torch bf16 ops, eager attention for the
understanding expert, SDPA for the generation expert), on the GPU, and
compared bit for bit with the recorded output. Prints, per op kind, how
many outputs differ, and the first op of each kind that differs.
Needs torch with CUDA and the safetensors package; reads nothing else.
"""
import collections
import json
import struct
import sys

import torch
import torch.nn.functional as F
from safetensors import safe_open

DEV = "cuda"


def rmsnorm(x, w, eps):
    x32 = x.float()
    return w * (x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + eps)).to(torch.bfloat16)


def rope_part(x, pos, n, theta):
    # Qwen3RotaryEmbedding: inverse frequencies on the CPU at init, angles
    # as a float32 product, cos/sin rounded to bf16, then bf16 arithmetic.
    inv = 1.0 / (theta ** (torch.arange(0, n, 2, dtype=torch.int64).to(dtype=torch.float) / n))
    freqs = (inv.to(DEV)[:, None].float() @ pos.to(DEV)[None, :].float()).transpose(0, 1)
    emb = torch.cat([freqs, freqs], -1)
    cos, sin = emb.cos().to(torch.bfloat16)[:, None, :], emb.sin().to(torch.bfloat16)[:, None, :]
    x1, x2 = x[..., : n // 2], x[..., n // 2 :]
    return (x * cos) + (torch.cat([-x2, x1], -1) * sin)


def as_float(bits):
    return struct.unpack("f", struct.pack("I", bits & 0xFFFFFFFF))[0]


def replay(op, ints, fl, inp):
    if op == "rmsnorm":
        return op, rmsnorm(inp[0], inp[1], fl)
    if op == "qknorm":
        x, d = inp[0], ints[0]
        xh = x.view(x.shape[0], -1, d)
        halves = [rmsnorm(xh[..., : d // 2], inp[1], fl), rmsnorm(xh[..., d // 2 :], inp[2], fl)]
        return op, torch.cat(halves, -1).reshape(x.shape)
    if op == "rope":
        d, theta_t, theta_hw, s = ints[0], float(ints[1]), float(ints[2]), ints[3]
        pos = torch.tensor(ints[4:], dtype=torch.int64).view(s, 3)
        xr = inp[0].view(s, -1, d)
        parts = [rope_part(xr[..., : d // 2], pos[:, 0], d // 2, theta_t),
                 rope_part(xr[..., d // 2 : 3 * d // 4], pos[:, 1], d // 4, theta_hw),
                 rope_part(xr[..., 3 * d // 4 :], pos[:, 2], d // 4, theta_hw)]
        return op, torch.cat(parts, -1).reshape(inp[0].shape)
    if op == "attention":
        n_keys, heads, kv, limit = ints[0], ints[1], ints[2], ints[3:]
        q, k, v = inp
        s, d = q.shape[0], q.shape[1] // heads
        Q = q.view(1, s, heads, d).transpose(1, 2)
        K = k.view(1, n_keys, kv, d).transpose(1, 2).repeat_interleave(heads // kv, 1)
        V = v.view(1, n_keys, kv, d).transpose(1, 2).repeat_interleave(heads // kv, 1)
        if limit:  # the understanding expert: eager attention (transformers)
            scores = torch.matmul(Q, K.transpose(2, 3)) * fl
            j = torch.arange(n_keys, device=DEV)[None, :]
            lim = torch.tensor(limit, device=DEV)[:, None]
            mask = torch.where(j < lim, 0.0, torch.finfo(torch.float32).min)
            p = F.softmax(scores + mask, dim=-1, dtype=torch.float32).to(torch.bfloat16)
            o = torch.matmul(p, V)
            kind = "attention (eager, decode)" if s == 1 else "attention (eager)"
        else:  # the generation expert: SDPA
            o = F.scaled_dot_product_attention(Q, K, V, scale=fl)
            kind = "attention (sdpa)"
        return kind, o.transpose(1, 2).reshape(s, heads * d)
    if op == "linear":
        return op, F.linear(inp[0], inp[1], inp[2] if len(inp) > 2 else None)
    if op == "swiglu":
        return op, F.silu(inp[0]) * inp[1]
    if op == "gelu":
        return op, F.gelu(inp[0])
    if op == "add":
        return op, inp[0] + inp[1]
    if op == "addrow":
        return op, inp[0] + inp[1].reshape(1, -1)
    if op == "patchrope":
        # NEOVisionEmbeddings: float32 tables and rotation, interleaved pairs.
        n_patches = ints[0]
        cr = torch.tensor(ints[1:], dtype=torch.int64).view(n_patches, 2)
        x = inp[0].float()
        half = x.shape[1] // 2
        inv = 1.0 / (fl ** (torch.arange(0, half, 2)[: half // 2].float() / half))

        def rot(xh, pos):
            ang = torch.outer(pos.float(), inv).to(DEV)
            c, s_ = ang.cos(), ang.sin()
            y = torch.empty_like(xh)
            y[:, 0::2] = xh[:, 0::2] * c - xh[:, 1::2] * s_
            y[:, 1::2] = xh[:, 0::2] * s_ + xh[:, 1::2] * c
            return y

        return op, torch.cat([rot(x[:, :half], cr[:, 0]), rot(x[:, half:], cr[:, 1])], -1).to(torch.bfloat16)
    if op == "combine":
        acc = None
        for bits, t in zip(ints, inp):
            term = t.float() * as_float(bits)
            acc = term if acc is None else acc + term
        return op, acc.to(torch.bfloat16)
    return None, None


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    f = safe_open(sys.argv[1], "pt", device=DEV)
    ops = json.loads(f.metadata()["ops"])
    names = set(f.keys())
    stats = collections.defaultdict(lambda: [0, 0, 0])
    first = {}
    for k, rec in enumerate(ops):
        inp = [f.get_tensor(f"{k:05d}.in{i}") if f"{k:05d}.in{i}" in names else None for i in range(rec["inputs"])]
        kind, ref = replay(rec["op"], rec.get("ints") or [], rec.get("float", 0.0), inp)
        if kind is None:
            continue
        out = f.get_tensor(f"{k:05d}.out")
        differ = (ref.reshape(out.shape) != out).sum().item()
        s = stats[kind]
        s[0], s[1], s[2] = s[0] + 1, s[1] + out.numel(), s[2] + differ
        if differ and kind not in first:
            first[kind] = (k, differ, tuple(out.shape))
    for kind, (calls, values, differ) in sorted(stats.items()):
        print(f"{kind:28s} {calls:6d} calls {values:10d} outputs {differ:8d} differ")
    for kind, (k, differ, shape) in first.items():
        print(f"first difference in {kind}: op {k}, {differ} of {shape}")


if __name__ == "__main__":
    main()
