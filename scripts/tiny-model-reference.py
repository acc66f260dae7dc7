#!/usr/bin/env python3
"""Independent float64 numpy forward pass of the tiny GGUF model (see make-tiny-model.py).

Reads the GGUF with gguf-py and greedily decodes from token-id prompts, printing
the ids, the smallest top-1/top-2 logit margin and the mean entropy. Used to
cross-check llama.cpp's output (it matched exactly for seed 0).

Usage: python scripts/tiny-model-reference.py [MODEL] [--prompt 1,339,360 ...] [--n 20]
"""
import argparse, sys
from pathlib import Path
import numpy as np
from gguf import GGUFReader

ap = argparse.ArgumentParser()
ap.add_argument("model", nargs="?", default=str(Path(__file__).resolve().parent.parent / ".mnemo/models/tiny-llama.gguf"))
ap.add_argument("--prompt", action="append", help="comma-separated token ids (include BOS=1 yourself)")
ap.add_argument("--n", type=int, default=20)
args = ap.parse_args()
prompts = [[int(t) for t in p.split(",")] for p in args.prompt] if args.prompt else [[1, 339, 360], [1, 346, 260, 263, 349], [1, 231, 192, 163, 232, 168, 192], [1, 259]]
r = GGUFReader(args.model)
T = {t.name: np.array(t.data, dtype=np.float32).reshape([int(x) for x in reversed(t.shape)]) for t in r.tensors}
E, H, HKV, D = 64, 4, 2, 16
def rms(x, w): return x / np.sqrt((x*x).mean(-1, keepdims=True) + 1e-5) * w
def rope(x, pos):  # x: (n, heads, D); llama.cpp LLAMA uses rope NORM mode = adjacent pairs
    inv = 10000.0 ** (-np.arange(0, D, 2) / D)
    ang = pos[:, None] * inv[None]
    c, s = np.cos(ang)[:, None], np.sin(ang)[:, None]
    x0, x1 = x[..., 0::2], x[..., 1::2]
    o = np.empty_like(x); o[..., 0::2] = x0*c - x1*s; o[..., 1::2] = x0*s + x1*c; return o
def forward(toks):
    x = T["token_embd.weight"][toks].astype(np.float64); n = len(toks); pos = np.arange(n, dtype=np.float64)
    for l in range(2):
        p = f"blk.{l}."
        h = rms(x, T[p+"attn_norm.weight"])
        q = rope((h @ T[p+"attn_q.weight"].T).reshape(n, H, D), pos)
        k = rope((h @ T[p+"attn_k.weight"].T).reshape(n, HKV, D), pos)
        v = (h @ T[p+"attn_v.weight"].T).reshape(n, HKV, D)
        k = np.repeat(k, H//HKV, 1); v = np.repeat(v, H//HKV, 1)
        att = np.einsum("qhd,khd->hqk", q, k) / np.sqrt(D)
        att += np.triu(np.full((n, n), -np.inf), 1)
        att = np.exp(att - att.max(-1, keepdims=True)); att /= att.sum(-1, keepdims=True)
        o = np.einsum("hqk,khd->qhd", att, v).reshape(n, E)
        x = x + o @ T[p+"attn_output.weight"].T
        h = rms(x, T[p+"ffn_norm.weight"])
        g = h @ T[p+"ffn_gate.weight"].T; u = h @ T[p+"ffn_up.weight"].T
        x = x + ((g / (1 + np.exp(-g))) * u) @ T[p+"ffn_down.weight"].T
    return rms(x, T["output_norm.weight"]) @ T["output.weight"].T
for prompt in prompts:
    toks = list(prompt); out = []; margins = []; ents = []
    for _ in range(args.n):
        lg = forward(np.array(toks))[-1]; s = np.sort(lg)
        pr = np.exp(lg - lg.max()); pr /= pr.sum()
        margins.append(s[-1] - s[-2]); ents.append(-(pr * np.log(pr)).sum())
        t = int(lg.argmax()); out.append(t); toks.append(t)
    print(prompt, "->", out, "min margin %.4f, mean entropy %.2f nats" % (min(margins), np.mean(ents)))
