#!/usr/bin/env python3
"""Convert a GGUF decoder (llama or gemma3 architecture) into an ONNX decoder in the standard layout.

The output follows the layout of transformers.js / onnx-community / Optimum exports:

    inputs   input_ids       int64 [batch, seq]
             attention_mask  int64 [batch, past + seq]
             position_ids    int64 [batch, seq]
             past_key_values.N.key / .value  float32 [batch, n_head_kv, past, head_dim]
    outputs  logits          float32 [batch, seq, vocab]
             present.N.key / .value          float32 [batch, n_head_kv, past + seq, head_dim]

Weights are dequantized to float32 with gguf-py (the numbers llama.cpp multiplies with, up to its
own activation quantization). The graph follows llama.cpp's graph for the architecture (see
README.md, "Converting a model"). Positions must be contiguous from 0 (no left padding): the
attention mask is built from `position_ids`, key index and `attention_mask`.

A `tokenizer.json` (Hugging Face format, BPE with byte fallback, merges ordered by SentencePiece
score) is written beside the model, built from the GGUF vocabulary.

Usage:
    python gguf_to_onnx.py IN.gguf OUT.onnx [--max-positions N] [--external-data] [--check] [--split-embeddings]

With --split-embeddings the decoder takes `inputs_embeds` [batch, seq, n_embd] instead of `input_ids`,
and `embed_tokens.onnx` beside it maps `input_ids` to them (Gather, and Gemma's sqrt(n_embd) scale),
the layout of exports that ship a separate embedding model.

Requirements (PyPI): gguf, numpy, onnx (onnxruntime for --check).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path

import numpy as np

try:
    import gguf
    import onnx
    from gguf import GGUFReader
    from onnx import TensorProto, helper, numpy_helper
except ImportError as e:  # pragma: no cover
    sys.stderr.write(f"error: {e}. Install: pip install gguf numpy onnx\n")
    sys.exit(2)

SUPPORTED = ("llama", "gemma3")
OPSET = 18


class ConvertError(Exception):
    """A model this tool cannot convert (message says why)."""


# ---------------------------------------------------------------------------------------------
# GGUF reading


class Gguf:
    def __init__(self, path: str) -> None:
        self.reader = GGUFReader(path)
        self.tensors = {t.name: t for t in self.reader.tensors}

    def field(self, key: str, default=None):
        f = self.reader.fields.get(key)
        if f is None:
            return default
        return f.contents()

    def tensor(self, name: str) -> np.ndarray:
        """Dequantized float32 array in numpy order (reversed GGUF dims: [rows, cols])."""
        t = self.tensors.get(name)
        if t is None:
            raise ConvertError(f"tensor {name} is missing")
        shape = [int(x) for x in reversed(t.shape)]
        if t.tensor_type == gguf.GGMLQuantizationType.F32:
            a = np.asarray(t.data, dtype=np.float32)
        elif t.tensor_type == gguf.GGMLQuantizationType.F16:
            a = np.asarray(t.data, dtype=np.float16).astype(np.float32)
        else:
            a = gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float32)
        return np.ascontiguousarray(a.reshape(shape))


# ---------------------------------------------------------------------------------------------
# graph building helpers


class Builder:
    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self.n = 0

    def name(self, hint: str) -> str:
        self.n += 1
        return f"{hint}_{self.n}"

    def init(self, name: str, arr: np.ndarray) -> str:
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(arr), name))
        return name

    def const(self, value, dtype=np.float32, hint: str = "c") -> str:
        return self.init(self.name(hint), np.array(value, dtype=dtype))

    def op(self, op_type: str, inputs: list[str], hint: str | None = None, out: str | None = None, **attrs) -> str:
        o = out or self.name(hint or op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [o], name=self.name("n_" + op_type), **attrs))
        return o

    def op_multi(self, op_type: str, inputs: list[str], n_out: int, hint: str, **attrs) -> list[str]:
        outs = [self.name(hint) for _ in range(n_out)]
        self.nodes.append(helper.make_node(op_type, inputs, outs, name=self.name("n_" + op_type), **attrs))
        return outs


def rope_tables(max_pos: int, n_rot: int, base: float, freq_scale: float) -> tuple[np.ndarray, np.ndarray]:
    """cos/sin tables [max_pos, n_rot/2], computed like ggml's CPU rope cache (float32 steps)."""
    theta_scale = np.float32(np.float32(base) ** np.float32(-2.0 / n_rot))
    # powf(base, -2/n) in float32: numpy float32 power is computed in float32
    theta = np.arange(max_pos, dtype=np.float32)
    cos = np.empty((max_pos, n_rot // 2), dtype=np.float32)
    sin = np.empty((max_pos, n_rot // 2), dtype=np.float32)
    for i in range(n_rot // 2):
        t = (np.float32(freq_scale) * theta).astype(np.float32)
        cos[:, i] = np.cos(t.astype(np.float64)).astype(np.float32)
        sin[:, i] = np.sin(t.astype(np.float64)).astype(np.float32)
        theta = (theta * theta_scale).astype(np.float32)
    return cos, sin


def convert(src: str, dst: str, max_positions: int | None, external: bool, split_embeddings: bool = False) -> dict:
    g = Gguf(src)
    arch = g.field("general.architecture")
    if arch not in SUPPORTED:
        raise ConvertError(f"architecture {arch!r} is not supported (supported: {', '.join(SUPPORTED)})")
    p = arch + "."
    n_embd = int(g.field(p + "embedding_length"))
    n_layer = int(g.field(p + "block_count"))
    n_head = int(g.field(p + "attention.head_count"))
    n_head_kv = int(g.field(p + "attention.head_count_kv", n_head))
    head_dim = int(g.field(p + "attention.key_length", n_embd // n_head))
    v_dim = int(g.field(p + "attention.value_length", head_dim))
    if v_dim != head_dim:
        raise ConvertError("key_length != value_length is not supported")
    n_rot = int(g.field(p + "rope.dimension_count", head_dim))
    if n_rot != head_dim:
        raise ConvertError("partial rotary embeddings (rope.dimension_count < head dim) are not supported")
    eps = float(g.field(p + "attention.layer_norm_rms_epsilon"))
    n_ctx_train = int(g.field(p + "context_length"))
    freq_base = float(g.field(p + "rope.freq_base", 10000.0))
    freq_scale = 1.0
    if g.field(p + "rope.scaling.type") not in (None, "none"):
        if g.field(p + "rope.scaling.type") != "linear":
            raise ConvertError(f"rope scaling {g.field(p + 'rope.scaling.type')!r} is not supported")
        freq_scale = 1.0 / float(g.field(p + "rope.scaling.factor", 1.0))
    if "rope_freqs.weight" in g.tensors:
        raise ConvertError("rope frequency factors (rope_freqs.weight, Llama 3.1 style) are not supported")
    max_pos = min(n_ctx_train, max_positions or 8192)
    gemma = arch == "gemma3"

    embd = g.tensor("token_embd.weight")  # [vocab, n_embd]
    n_vocab = embd.shape[0]
    tied = "output.weight" not in g.tensors

    b = Builder()
    FP = TensorProto.FLOAT
    ids_info = helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch_size", "sequence_length"])
    embeds_info = helper.make_tensor_value_info("inputs_embeds", FP, ["batch_size", "sequence_length", n_embd])
    inputs = [
        embeds_info if split_embeddings else ids_info,
        helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch_size", "total_sequence_length"]),
        helper.make_tensor_value_info("position_ids", TensorProto.INT64, ["batch_size", "sequence_length"]),
    ]
    outputs = [helper.make_tensor_value_info("logits", FP, ["batch_size", "sequence_length", n_vocab])]
    for i in range(n_layer):
        for kv in ("key", "value"):
            inputs.append(helper.make_tensor_value_info(
                f"past_key_values.{i}.{kv}", FP, ["batch_size", n_head_kv, "past_sequence_length", head_dim]))
            outputs.append(helper.make_tensor_value_info(
                f"present.{i}.{kv}", FP, ["batch_size", n_head_kv, "total_sequence_length", head_dim]))

    # llama.cpp: ggml_scale(inp, sqrtf(n_embd)) for token inputs only (Gemma)
    embed_scale = np.float32(math.sqrt(n_embd)) if gemma else None
    if split_embeddings:
        # the decoder takes inputs_embeds; embed_tokens.onnx maps input_ids to them (Gather [+ Mul])
        embed_name = b.init("model.embed_tokens.weight", embd) if tied else ""
        x = "inputs_embeds"
    else:
        embed_name = b.init("model.embed_tokens.weight", embd)
        x = b.op("Gather", [embed_name, "input_ids"], "inputs_embeds_raw")
        if embed_scale is not None:
            x = b.op("Mul", [x, b.const(embed_scale, hint="embed_scale")], "embed_scaled")

    # ---- attention mask [B,1,S,T] (bool, true = may attend) --------------------------------
    one_i = b.const(1, np.int64, "one")
    zero_i = b.const(0, np.int64, "zero")
    am_shape = b.op("Shape", ["attention_mask"], "am_shape")
    total = b.op("Gather", [am_shape, one_i], "total_len", axis=0)
    kpos = b.op("Range", [zero_i, total, one_i], "kpos")  # [T]
    kpos4 = b.op("Unsqueeze", [kpos, b.const([0, 1, 2], np.int64)], "kpos4")  # [1,1,1,T]
    qpos4 = b.op("Unsqueeze", ["position_ids", b.const([1, 3], np.int64)], "qpos4")  # [B,1,S,1]
    causal = b.op("LessOrEqual", [kpos4, qpos4], "causal")
    am4 = b.op("Unsqueeze", ["attention_mask", b.const([1, 2], np.int64)], "am4")  # [B,1,1,T]
    am_ok = b.op("Equal", [am4, one_i], "am_ok")
    allowed_full = b.op("And", [causal, am_ok], "allowed_full")
    allowed_swa = None
    swa_window = 0
    swa_layers: set[int] = set()
    if gemma:
        swa_window = int(g.field(p + "attention.sliding_window", 0))
        if swa_window > 0:
            # llama.cpp set_swa_pattern(6): layer il is sliding-window when il % 6 < 5
            swa_layers = {i for i in range(n_layer) if i % 6 < 5}
            diff = b.op("Sub", [qpos4, kpos4], "qk_dist")
            in_win = b.op("Less", [diff, b.const(swa_window, np.int64)], "in_window")
            allowed_swa = b.op("And", [allowed_full, in_win], "allowed_swa")
    neg_inf = b.const(np.float32(-np.inf), hint="neg_inf")

    # ---- rotary tables ------------------------------------------------------------------------
    rope_cache: dict[float, tuple[str, str]] = {}

    def rope_cs(base: float) -> tuple[str, str]:
        if base not in rope_cache:
            c, s = rope_tables(max_pos, n_rot, base, freq_scale)
            tag = f"{int(base)}"
            ct = b.init(f"rope_cos_{tag}", c)
            st = b.init(f"rope_sin_{tag}", s)
            cg = b.op("Gather", [ct, "position_ids"], f"cos_{tag}")  # [B,S,D/2]
            sg = b.op("Gather", [st, "position_ids"], f"sin_{tag}")
            ax = b.const([2], np.int64)
            rope_cache[base] = (b.op("Unsqueeze", [cg, ax], f"cos4_{tag}"), b.op("Unsqueeze", [sg, ax], f"sin4_{tag}"))
        return rope_cache[base]

    def rope(t: str, heads: int, base: float) -> str:
        """t: [B,S,heads,D] → rotated. llama: adjacent pairs (ggml NORM); gemma3: halves (NEOX)."""
        cos, sin = rope_cs(base)
        half = n_rot // 2
        if gemma:
            x0, x1 = b.op_multi("Split", [t, b.const([half, half], np.int64)], 2, "rope_half", axis=-1)
            # cos/sin [B,S,1,D/2]
        else:
            pairs = b.op("Reshape", [t, b.const([0, 0, heads, half, 2], np.int64)], "rope_pairs")
            x0, x1 = b.op_multi("Split", [pairs, b.const([1, 1], np.int64)], 2, "rope_pair", axis=-1)
            x0 = b.op("Squeeze", [x0, b.const([-1], np.int64)])
            x1 = b.op("Squeeze", [x1, b.const([-1], np.int64)])
        y0 = b.op("Sub", [b.op("Mul", [x0, cos]), b.op("Mul", [x1, sin])], "rope_y0")
        y1 = b.op("Add", [b.op("Mul", [x0, sin]), b.op("Mul", [x1, cos])], "rope_y1")
        if gemma:
            return b.op("Concat", [y0, y1], "rope_out", axis=-1)
        ax = b.const([-1], np.int64)
        st = b.op("Concat", [b.op("Unsqueeze", [y0, ax]), b.op("Unsqueeze", [y1, ax])], "rope_stack", axis=-1)
        return b.op("Reshape", [st, b.const([0, 0, heads, n_rot], np.int64)], "rope_out")

    eps_c = b.const(np.float32(eps), hint="eps")
    mean_axes = b.const([-1], np.int64, "axes_last")

    def rmsnorm(t: str, w_name: str, hint: str) -> str:
        w = g.tensor(w_name)
        sq = b.op("Mul", [t, t], hint + "_sq")
        ms = b.op("ReduceMean", [sq, mean_axes], hint + "_ms", keepdims=1)
        rs = b.op("Reciprocal", [b.op("Sqrt", [b.op("Add", [ms, eps_c])])], hint + "_rs")
        return b.op("Mul", [b.op("Mul", [t, rs]), b.init(w_name, w)], hint)

    def linear(t: str, w_name: str, hint: str) -> str:
        w = g.tensor(w_name)  # [out, in]
        return b.op("MatMul", [t, b.init(w_name + ".T", np.ascontiguousarray(w.T))], hint)

    group = n_head // n_head_kv
    kq_scale = 1.0 if gemma else 1.0 / math.sqrt(head_dim)
    attn_scale = 1.0 / math.sqrt(head_dim)  # gemma3 f_attention_scale (not the 27B variant)
    swa_base = 10000.0

    for il in range(n_layer):
        lp = f"blk.{il}."
        base = swa_base if il in swa_layers else freq_base
        h = rmsnorm(x, lp + "attn_norm.weight", f"l{il}_attn_norm")
        q = b.op("Reshape", [linear(h, lp + "attn_q.weight", f"l{il}_q"), b.const([0, 0, n_head, head_dim], np.int64)])
        k = b.op("Reshape", [linear(h, lp + "attn_k.weight", f"l{il}_k"), b.const([0, 0, n_head_kv, head_dim], np.int64)])
        v = b.op("Reshape", [linear(h, lp + "attn_v.weight", f"l{il}_v"), b.const([0, 0, n_head_kv, head_dim], np.int64)])
        if gemma:
            q = rmsnorm(q, lp + "attn_q_norm.weight", f"l{il}_q_norm")
            k = rmsnorm(k, lp + "attn_k_norm.weight", f"l{il}_k_norm")
        q = rope(q, n_head, base)
        k = rope(k, n_head_kv, base)
        if gemma:
            q = b.op("Mul", [q, b.const(np.float32(attn_scale), hint="attn_scale")])
        qt = b.op("Transpose", [q], f"l{il}_qt", perm=[0, 2, 1, 3])  # [B,H,S,D]
        kt = b.op("Transpose", [k], f"l{il}_kt", perm=[0, 2, 1, 3])  # [B,Hkv,S,D]
        vt = b.op("Transpose", [v], f"l{il}_vt", perm=[0, 2, 1, 3])
        pk = b.op("Concat", [f"past_key_values.{il}.key", kt], out=f"present.{il}.key", axis=2)
        pv = b.op("Concat", [f"past_key_values.{il}.value", vt], out=f"present.{il}.value", axis=2)
        qg = b.op("Reshape", [qt, b.const([0, n_head_kv, -1, head_dim], np.int64)], f"l{il}_qg")  # [B,Hkv,g*S,D]
        kT = b.op("Transpose", [pk], f"l{il}_kT", perm=[0, 1, 3, 2])
        sc = b.op("MatMul", [qg, kT], f"l{il}_scores")  # [B,Hkv,g*S,T]
        if kq_scale != 1.0:
            sc = b.op("Mul", [sc, b.const(np.float32(kq_scale), hint="kq_scale")])
        sc = b.op("Reshape", [sc, b.const([0, n_head, -1, 0], np.int64)], f"l{il}_scores_h")  # [B,H,S,T]
        allowed = allowed_swa if (allowed_swa is not None and il in swa_layers) else allowed_full
        sc = b.op("Where", [allowed, sc, neg_inf], f"l{il}_masked")
        pr = b.op("Softmax", [sc], f"l{il}_probs", axis=-1)
        pr = b.op("Reshape", [pr, b.const([0, n_head_kv, -1, 0], np.int64)], f"l{il}_probs_g")
        o = b.op("MatMul", [pr, pv], f"l{il}_attn")  # [B,Hkv,g*S,D]
        o = b.op("Reshape", [o, b.const([0, n_head, -1, head_dim], np.int64)])
        o = b.op("Transpose", [o], perm=[0, 2, 1, 3])
        o = b.op("Reshape", [o, b.const([0, 0, n_head * head_dim], np.int64)])
        o = linear(o, lp + "attn_output.weight", f"l{il}_attn_out")
        if gemma:
            o = rmsnorm(o, lp + "post_attention_norm.weight", f"l{il}_attn_post_norm")
        x = b.op("Add", [o, x], f"l{il}_sa_out")
        h = rmsnorm(x, lp + "ffn_norm.weight", f"l{il}_ffn_norm")
        gate = linear(h, lp + "ffn_gate.weight", f"l{il}_gate")
        up = linear(h, lp + "ffn_up.weight", f"l{il}_up")
        if gemma:
            # GELU, tanh approximation (ggml_gelu)
            g3 = b.op("Mul", [b.op("Mul", [gate, gate]), gate])
            inner = b.op("Mul", [b.op("Add", [gate, b.op("Mul", [g3, b.const(np.float32(0.044715))])]),
                                 b.const(np.float32(math.sqrt(2.0 / math.pi)))])
            act = b.op("Mul", [b.op("Mul", [gate, b.const(np.float32(0.5))]),
                               b.op("Add", [b.op("Tanh", [inner]), b.const(np.float32(1.0))])], f"l{il}_gelu")
        else:
            act = b.op("Mul", [gate, b.op("Sigmoid", [gate])], f"l{il}_silu")
        d = linear(b.op("Mul", [act, up]), lp + "ffn_down.weight", f"l{il}_down")
        if gemma:
            d = rmsnorm(d, lp + "post_ffw_norm.weight", f"l{il}_ffn_post_norm")
        x = b.op("Add", [d, x], f"l{il}_out")

    hidden = rmsnorm(x, "output_norm.weight", "final_norm")
    if tied:
        wt = b.op("Transpose", [embed_name], "lm_head_weight_T", perm=[1, 0])
    else:
        wt = b.init("lm_head.weight.T", np.ascontiguousarray(g.tensor("output.weight").T))
    b.op("MatMul", [hidden, wt], out="logits")

    graph = helper.make_graph(b.nodes, "mnemo_" + arch, inputs, outputs, b.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="mnemo-gguf-to-onnx")
    model.ir_version = 8
    name = g.field("general.name") or Path(src).stem
    meta = {
        "mnemo.architecture": arch,
        "mnemo.name": str(name),
        "mnemo.max_positions": str(max_pos),
        "mnemo.source": os.path.basename(src),
    }
    for k, v in meta.items():
        e = model.metadata_props.add()
        e.key, e.value = k, v

    Path(dst).parent.mkdir(parents=True, exist_ok=True)
    tmp = dst + ".tmp"
    data_name = os.path.basename(dst) + ".data"
    if external:
        if os.path.exists(os.path.join(os.path.dirname(dst), data_name)):
            os.remove(os.path.join(os.path.dirname(dst), data_name))
        onnx.save_model(model, tmp, save_as_external_data=True, all_tensors_to_one_file=True,
                        location=data_name, size_threshold=1024)
    else:
        onnx.save_model(model, tmp)
    os.replace(tmp, dst)
    embed_model = None
    if split_embeddings:
        embed_model = os.path.join(os.path.dirname(dst), "embed_tokens.onnx")
        write_embed_model(embd, embed_scale, embed_model, external, meta)
    tok = write_tokenizer(g, os.path.join(os.path.dirname(dst), "tokenizer.json"))
    return {"arch": arch, "vocab": n_vocab, "layers": n_layer, "max_positions": max_pos, "tokenizer": tok,
            "external": external, "embed_model": embed_model}


def write_embed_model(embd: np.ndarray, scale, dst: str, external: bool, meta: dict) -> None:
    """embed_tokens.onnx: input_ids [batch, seq] → inputs_embeds [batch, seq, n_embd] (Gather, × scale)."""
    b = Builder()
    table = b.init("embed_tokens.weight", embd)
    if scale is None:
        b.op("Gather", [table, "input_ids"], out="inputs_embeds")
    else:
        raw = b.op("Gather", [table, "input_ids"], "embeds_raw")
        b.op("Mul", [raw, b.const(scale, hint="embed_scale")], out="inputs_embeds")
    graph = helper.make_graph(
        b.nodes, "mnemo_embed_tokens",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch_size", "sequence_length"])],
        [helper.make_tensor_value_info("inputs_embeds", TensorProto.FLOAT, ["batch_size", "sequence_length", embd.shape[1]])],
        b.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="mnemo-gguf-to-onnx")
    model.ir_version = 8
    for k, v in meta.items():
        e = model.metadata_props.add()
        e.key, e.value = k, v
    tmp = dst + ".tmp"
    if external:
        data_name = os.path.basename(dst) + ".data"
        if os.path.exists(os.path.join(os.path.dirname(dst), data_name)):
            os.remove(os.path.join(os.path.dirname(dst), data_name))
        onnx.save_model(model, tmp, save_as_external_data=True, all_tensors_to_one_file=True,
                        location=data_name, size_threshold=1024)
    else:
        onnx.save_model(model, tmp)
    os.replace(tmp, dst)


# ---------------------------------------------------------------------------------------------
# tokenizer.json from the GGUF vocabulary


def write_tokenizer(g: Gguf, path: str) -> str:
    model = g.field("tokenizer.ggml.model")
    if model != "llama":
        return f"skipped (tokenizer.ggml.model={model!r}; only SentencePiece-style 'llama' vocabularies are exported)"
    tokens: list[str] = list(g.field("tokenizer.ggml.tokens"))
    scores = list(g.field("tokenizer.ggml.scores") or [0.0] * len(tokens))
    types = list(g.field("tokenizer.ggml.token_type") or [1] * len(tokens))
    bos = g.field("tokenizer.ggml.bos_token_id")
    eos = g.field("tokenizer.ggml.eos_token_id")
    unk = g.field("tokenizer.ggml.unknown_token_id")
    add_bos = bool(g.field("tokenizer.ggml.add_bos_token", True))
    add_space = bool(g.field("tokenizer.ggml.add_space_prefix", True))
    NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6
    vocab = {t: i for i, t in enumerate(tokens)}
    added = []
    for i, t in enumerate(tokens):
        ty = int(types[i])
        if ty in (CONTROL, USER_DEFINED, UNKNOWN):
            added.append({"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
                          "normalized": False, "special": ty != USER_DEFINED})
    # merges: every split a+b of a NORMAL piece into two pieces of the vocabulary, ranked by the
    # piece's score (llama.cpp's SPM tokenizer merges the best-scoring adjacent pair first)
    cand = []
    for i, t in enumerate(tokens):
        if int(types[i]) not in (NORMAL, USER_DEFINED) or len(t) < 2:
            continue
        for k in range(1, len(t)):
            a, c = t[:k], t[k:]
            ia, ic = vocab.get(a), vocab.get(c)
            if ia is not None and ic is not None:
                cand.append((-float(scores[i]), i, ia, ic, a, c))
    cand.sort()
    merges = [[a, c] for (_, _, _, _, a, c) in cand]
    normalizers = []
    if add_space:
        normalizers.append({"type": "Prepend", "prepend": "\u2581"})
    normalizers.append({"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"})
    decoders = [{"type": "Replace", "pattern": {"String": "\u2581"}, "content": " "},
                {"type": "ByteFallback"}, {"type": "Fuse"}]
    if add_space:
        decoders.append({"type": "Strip", "content": " ", "start": 1, "stop": 0})
    post = None
    if add_bos and bos is not None:
        bt = tokens[int(bos)]
        post = {"type": "TemplateProcessing",
                "single": [{"SpecialToken": {"id": bt, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
                "pair": [{"SpecialToken": {"id": bt, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                         {"SpecialToken": {"id": bt, "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
                "special_tokens": {bt: {"id": bt, "ids": [int(bos)], "tokens": [bt]}}}
    doc = {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
        "normalizer": {"type": "Sequence", "normalizers": normalizers},
        "pre_tokenizer": None, "post_processor": post,
        "decoder": {"type": "Sequence", "decoders": decoders},
        "model": {"type": "BPE", "dropout": None, "unk_token": tokens[int(unk)] if unk is not None else None,
                  "continuing_subword_prefix": None, "end_of_word_suffix": None, "fuse_unk": True,
                  "byte_fallback": True, "ignore_merges": False, "vocab": vocab, "merges": merges},
    }
    cfg = {"add_bos_token": add_bos, "add_eos_token": False,
           "bos_token": tokens[int(bos)] if bos is not None else None,
           "eos_token": tokens[int(eos)] if eos is not None else None,
           "unk_token": tokens[int(unk)] if unk is not None else None,
           "tokenizer_class": "LlamaTokenizer", "model_max_length": 1 << 30,
           "mnemo_eog_token_ids": sorted({int(eos)} | {i for i, t in enumerate(tokens)
                                                       if t in ("<end_of_turn>", "<|eot_id|>", "<|im_end|>")}
                                         if eos is not None else [])}
    chat = g.field("tokenizer.chat_template")
    if chat:
        cfg["chat_template"] = chat
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False)
    os.replace(path + ".tmp", path)
    cpath = os.path.join(os.path.dirname(path), "tokenizer_config.json")
    with open(cpath, "w", encoding="utf-8") as f:
        json.dump(cfg, f, ensure_ascii=False, indent=1)
    return path


def check(dst: str) -> None:
    import onnxruntime as ort

    s = ort.InferenceSession(dst, providers=["CPUExecutionProvider"])
    ins = {i.name: i for i in s.get_inputs()}
    feeds = {"input_ids": np.array([[1, 2, 3]], np.int64), "attention_mask": np.ones((1, 3), np.int64),
             "position_ids": np.arange(3, dtype=np.int64)[None]}
    if "inputs_embeds" in ins:
        e = ort.InferenceSession(os.path.join(os.path.dirname(dst), "embed_tokens.onnx"), providers=["CPUExecutionProvider"])
        feeds["inputs_embeds"] = e.run(["inputs_embeds"], {"input_ids": feeds.pop("input_ids")})[0]
    for n, i in ins.items():
        if n.startswith("past_key_values."):
            feeds[n] = np.zeros((1, i.shape[1], 0, i.shape[3]), np.float32)
    out = s.run(["logits"], feeds)[0]
    print(f"  check: logits {out.shape}, finite={bool(np.isfinite(out).all())}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="GGUF (llama, gemma3) → ONNX decoder, standard layout")
    ap.add_argument("src")
    ap.add_argument("dst")
    ap.add_argument("--max-positions", type=int, default=None,
                    help="size of the rotary tables = longest context the ONNX model runs (default min(train ctx, 8192))")
    ap.add_argument("--external-data", action="store_true", help="store weights in DST.data (external data)")
    ap.add_argument("--check", action="store_true", help="run the result once with onnxruntime")
    ap.add_argument("--split-embeddings", action="store_true",
                    help="write a decoder taking inputs_embeds plus embed_tokens.onnx (input_ids → inputs_embeds) beside it")
    a = ap.parse_args(argv)
    try:
        info = convert(a.src, a.dst, a.max_positions, a.external_data, a.split_embeddings)
    except ConvertError as e:
        sys.stderr.write(f"error: {e}\n")
        return 1
    print(f"wrote {a.dst}: {json.dumps(info)}")
    if a.check:
        check(a.dst)
    return 0


if __name__ == "__main__":
    sys.exit(main())
