#!/usr/bin/env python3
"""Float64 numpy forward of the tiny GGUF Llama (same maths as scripts/tiny-model-reference.py).

Usage: tiny_reference.py MODEL.gguf '[[1,2,3], ...]'  → JSON list of {logits, hidden} (last position).
"""
import json
import sys

import numpy as np
from gguf import GGUFReader

r = GGUFReader(sys.argv[1])
T = {t.name: np.array(t.data, dtype=np.float32).reshape([int(x) for x in reversed(t.shape)]).astype(np.float64)
     for t in r.tensors}
E, H, HKV, D = 64, 4, 2, 16


def rms(x, w):
    return x / np.sqrt((x * x).mean(-1, keepdims=True) + 1e-5) * w


def rope(x, pos):  # llama.cpp NORM mode: adjacent pairs
    inv = 10000.0 ** (-np.arange(0, D, 2) / D)
    ang = pos[:, None] * inv[None]
    c, s = np.cos(ang)[:, None], np.sin(ang)[:, None]
    x0, x1 = x[..., 0::2], x[..., 1::2]
    o = np.empty_like(x)
    o[..., 0::2] = x0 * c - x1 * s
    o[..., 1::2] = x0 * s + x1 * c
    return o


def forward(toks):
    x = T["token_embd.weight"][toks]
    n = len(toks)
    pos = np.arange(n, dtype=np.float64)
    for layer in range(2):
        p = f"blk.{layer}."
        h = rms(x, T[p + "attn_norm.weight"])
        q = rope((h @ T[p + "attn_q.weight"].T).reshape(n, H, D), pos)
        k = rope((h @ T[p + "attn_k.weight"].T).reshape(n, HKV, D), pos)
        v = (h @ T[p + "attn_v.weight"].T).reshape(n, HKV, D)
        k = np.repeat(k, H // HKV, 1)
        v = np.repeat(v, H // HKV, 1)
        att = np.einsum("qhd,khd->hqk", q, k) / np.sqrt(D) + np.triu(np.full((n, n), -np.inf), 1)
        att = np.exp(att - att.max(-1, keepdims=True))
        att /= att.sum(-1, keepdims=True)
        x = x + np.einsum("hqk,khd->qhd", att, v).reshape(n, E) @ T[p + "attn_output.weight"].T
        h = rms(x, T[p + "ffn_norm.weight"])
        g = h @ T[p + "ffn_gate.weight"].T
        x = x + ((g / (1 + np.exp(-g))) * (h @ T[p + "ffn_up.weight"].T)) @ T[p + "ffn_down.weight"].T
    hidden = rms(x, T["output_norm.weight"])
    return hidden @ T["output.weight"].T, hidden


out = []
for toks in json.loads(sys.argv[2]):
    logits, hidden = forward(np.array(toks))
    out.append({"logits": logits[-1].tolist(), "hidden": hidden[-1].tolist()})
print(json.dumps(out))
