#!/usr/bin/env python3
"""Generate a tiny, deterministic Llama-architecture GGUF model for exact tests.

The model is random (seeded) but fully reproducible: the same --seed always
yields a byte-identical file. It is meant for fast integration tests of the
llama.cpp backend (loads and runs in milliseconds), not for producing
meaningful text.

Usage:
    python scripts/make-tiny-model.py [--out PATH] [--seed 0]

Requirements (see scripts/requirements.txt): gguf==0.19.0, numpy.

Architecture (llama):
    n_vocab ~ 360, n_embd 64, 2 layers, 4 heads, 2 KV heads (GQA),
    n_ff 128, context 512, RMSNorm eps 1e-5, rope base 10000,
    untied output head, all tensors f32.

Tokenizer (SentencePiece-style, tokenizer.ggml.model = "llama"):
    0 <unk> (UNKNOWN), 1 <s> (CONTROL), 2 </s> (CONTROL),
    3..258 byte tokens <0x00>..<0xFF> (BYTE),
    259 <recall> (USER_DEFINED; also stored as metadata mnemo.recall_token),
    then NORMAL pieces: '▁', ASCII letters/digits/punctuation and a few
    short multi-character pieces. Anything else (e.g. Chinese, emoji) falls
    back to UTF-8 byte tokens.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
from pathlib import Path

import numpy as np

try:
    import gguf
except ImportError:  # pragma: no cover
    sys.stderr.write("error: the 'gguf' package is required: pip install -r scripts/requirements.txt\n")
    raise

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO_ROOT / ".mnemo" / "models" / "tiny-llama.gguf"

# ---- hyper-parameters -------------------------------------------------------
N_EMBD = 64
N_LAYER = 2
N_HEAD = 4
N_HEAD_KV = 2
HEAD_DIM = N_EMBD // N_HEAD  # 16
N_FF = 128
N_CTX = 512
RMS_EPS = 1e-5
ROPE_BASE = 10000.0

SPIECE_SPACE = "\u2581"  # '▁'

UNK_ID, BOS_ID, EOS_ID = 0, 1, 2
RECALL_PIECE = "<recall>"

# Multi-character pieces. Every piece of length > 1 must be reachable through
# pairwise merges of pieces that are also in the vocab (llama.cpp's SPM
# tokenizer only merges adjacent symbols whose concatenation is a token).
MULTI_PIECES = [
    "he", "ll", "lo", "llo", "ello", "hello",
    "in", "er", "an", "on", "re", "th", "the", "or", "en", "at", "ing",
    SPIECE_SPACE + "t", SPIECE_SPACE + "the",
    SPIECE_SPACE + "h", SPIECE_SPACE + "hello",
    SPIECE_SPACE + "a", SPIECE_SPACE + "w", "wor", "or", "ld", "world", SPIECE_SPACE + "world",
]


def build_vocab() -> tuple[list[str], list[float], list[int]]:
    tokens: list[str] = []
    scores: list[float] = []
    types: list[int] = []

    def add(piece: str, score: float, ttype: gguf.TokenType) -> None:
        if piece in tokens:
            return
        tokens.append(piece)
        scores.append(float(score))
        types.append(int(ttype))

    add("<unk>", 0.0, gguf.TokenType.UNKNOWN)
    add("<s>", 0.0, gguf.TokenType.CONTROL)
    add("</s>", 0.0, gguf.TokenType.CONTROL)
    for b in range(256):
        add(f"<0x{b:02X}>", 0.0, gguf.TokenType.BYTE)
    add(RECALL_PIECE, 0.0, gguf.TokenType.USER_DEFINED)

    # single characters (scores: typical SPM log-prob-like negatives)
    singles = [SPIECE_SPACE]
    singles += [chr(c) for c in range(ord("a"), ord("z") + 1)]
    singles += [chr(c) for c in range(ord("A"), ord("Z") + 1)]
    singles += [chr(c) for c in range(ord("0"), ord("9") + 1)]
    singles += list(".,!?'\"-:;()")
    for i, ch in enumerate(singles):
        add(ch, -5.0 - 0.01 * i, gguf.TokenType.NORMAL)

    # multi-character pieces: longer pieces get higher scores so they win merges
    for i, piece in enumerate(MULTI_PIECES):
        add(piece, -4.0 + 0.5 * len(piece) - 0.001 * i, gguf.TokenType.NORMAL)

    # sanity: every multi-char piece must be buildable from two vocab pieces
    vocab = set(tokens)
    for piece in MULTI_PIECES:
        assert any(piece[:k] in vocab and piece[k:] in vocab for k in range(1, len(piece))), piece
    return tokens, scores, types


def build_tensors(rng: np.random.Generator, n_vocab: int) -> dict[str, np.ndarray]:
    """numpy arrays in row-major (out_features, in_features) order.

    gguf-py reverses the dims when writing, so a numpy array of shape
    (n_vocab, n_embd) becomes a GGUF tensor with ne = [n_embd, n_vocab],
    which is what llama.cpp expects for token_embd / output / linear weights.
    """

    def normal(shape: tuple[int, ...], std: float) -> np.ndarray:
        return (rng.standard_normal(shape, dtype=np.float64) * std).astype(np.float32)

    def norm_weight(n: int) -> np.ndarray:
        return (1.0 + rng.uniform(-0.1, 0.1, size=n)).astype(np.float32)

    n_kv = N_HEAD_KV * HEAD_DIM
    # scales chosen so that activations stay O(1) and the output distribution
    # is spread out (greedy decoding is not a single repeated token)
    w_std = 1.0 / np.sqrt(N_EMBD)
    t: dict[str, np.ndarray] = {}
    t["token_embd.weight"] = normal((n_vocab, N_EMBD), 1.0)
    for i in range(N_LAYER):
        p = f"blk.{i}."
        t[p + "attn_norm.weight"] = norm_weight(N_EMBD)
        t[p + "attn_q.weight"] = normal((N_EMBD, N_EMBD), 2.0 * w_std)
        t[p + "attn_k.weight"] = normal((n_kv, N_EMBD), 2.0 * w_std)
        t[p + "attn_v.weight"] = normal((n_kv, N_EMBD), w_std)
        t[p + "attn_output.weight"] = normal((N_EMBD, N_EMBD), w_std)
        t[p + "ffn_norm.weight"] = norm_weight(N_EMBD)
        t[p + "ffn_gate.weight"] = normal((N_FF, N_EMBD), w_std)
        t[p + "ffn_up.weight"] = normal((N_FF, N_EMBD), w_std)
        t[p + "ffn_down.weight"] = normal((N_EMBD, N_FF), 1.0 / np.sqrt(N_FF))
    t["output_norm.weight"] = norm_weight(N_EMBD)
    t["output.weight"] = normal((n_vocab, N_EMBD), 0.4)
    return t


def write_model(out: Path, seed: int) -> dict[str, object]:
    rng = np.random.Generator(np.random.PCG64(seed))
    tokens, scores, types = build_vocab()
    n_vocab = len(tokens)
    recall_id = tokens.index(RECALL_PIECE)
    tensors = build_tensors(rng, n_vocab)

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    w = gguf.GGUFWriter(str(tmp), "llama")

    w.add_name("mnemo-tiny-llama")
    w.add_description(f"Tiny random Llama model for mnemo integration tests (seed={seed})")
    w.add_file_type(int(gguf.LlamaFileType.ALL_F32))
    w.add_vocab_size(n_vocab)
    w.add_context_length(N_CTX)
    w.add_embedding_length(N_EMBD)
    w.add_block_count(N_LAYER)
    w.add_feed_forward_length(N_FF)
    w.add_head_count(N_HEAD)
    w.add_head_count_kv(N_HEAD_KV)
    w.add_rope_dimension_count(HEAD_DIM)
    w.add_rope_freq_base(ROPE_BASE)
    w.add_layer_norm_rms_eps(RMS_EPS)

    w.add_tokenizer_model("llama")
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_bos_token_id(BOS_ID)
    w.add_eos_token_id(EOS_ID)
    w.add_unk_token_id(UNK_ID)
    w.add_add_bos_token(True)
    w.add_add_eos_token(False)
    # no implicit leading "▁": keeps detokenize(tokenize(s)) == s exact, also
    # around special tokens such as <recall>
    w.add_add_space_prefix(False)
    w.add_uint32("mnemo.recall_token", recall_id)
    w.add_uint32("mnemo.seed", seed)

    for name, arr in tensors.items():
        w.add_tensor(name, arr)

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    os.replace(tmp, out)

    h = hashlib.sha256()
    with open(out, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return {
        "path": str(out),
        "size": out.stat().st_size,
        "n_params": int(sum(a.size for a in tensors.values())),
        "n_vocab": n_vocab,
        "recall_id": recall_id,
        "sha256": h.hexdigest(),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output path (default: {DEFAULT_OUT.relative_to(REPO_ROOT)})")
    ap.add_argument("--seed", type=int, default=0, help="RNG seed (default: 0)")
    args = ap.parse_args(argv)
    if args.seed < 0 or args.seed >= 2**32:
        ap.error("--seed must be in [0, 2^32)")

    info = write_model(args.out, args.seed)
    print(f"wrote {info['path']}")
    print(f"  size     {info['size']} bytes")
    print(f"  params   {info['n_params']}")
    print(f"  vocab    {info['n_vocab']} (bos={BOS_ID} eos={EOS_ID} unk={UNK_ID} recall={info['recall_id']})")
    print(f"  seed     {args.seed}")
    print(f"  sha256   {info['sha256']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
