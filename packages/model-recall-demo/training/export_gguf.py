"""Export a checkpoint (train.py) to a GGUF file that llama.cpp loads as arch `llama`.

    python export_gguf.py --ckpt DIR --out model.gguf [--dtype f16|f32]

Tensor layout follows scripts/make-tiny-model.py (gguf-py reverses numpy dims, so a torch
Linear weight (out, in) becomes ne = [in, out], which is what llama.cpp expects). The model was
trained with llama.cpp's own rotary layout (adjacent pairs), so q/k need no permutation.
Norm weights stay f32; with --dtype f16 the matrices are stored as f16.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

import gguf
import tok

sys.path.insert(0, str(Path(__file__).resolve().parent))


def gguf_tensors(sd: dict[str, np.ndarray], n_layers: int) -> dict[str, np.ndarray]:
    t = {"token_embd.weight": sd["tok_emb.weight"]}
    names = {"attn_norm.weight": "attn_norm.weight", "wq.weight": "attn_q.weight", "wk.weight": "attn_k.weight",
             "wv.weight": "attn_v.weight", "wo.weight": "attn_output.weight", "ffn_norm.weight": "ffn_norm.weight",
             "w_gate.weight": "ffn_gate.weight", "w_up.weight": "ffn_up.weight", "w_down.weight": "ffn_down.weight"}
    for i in range(n_layers):
        for src, dst in names.items():
            t[f"blk.{i}.{dst}"] = sd[f"blocks.{i}.{src}"]
    t["output_norm.weight"] = sd["norm.weight"]
    t["output.weight"] = sd["head.weight"]
    return t


def write_gguf(sd: dict[str, np.ndarray], mcfg: dict, out: Path, dtype: str = "f16", meta: dict | None = None) -> int:
    pieces = tok.vocab_pieces()
    types = [gguf.TokenType.UNKNOWN, gguf.TokenType.CONTROL, gguf.TokenType.CONTROL]
    types += [gguf.TokenType.BYTE] * 256
    types += [gguf.TokenType.USER_DEFINED, gguf.TokenType.NORMAL, gguf.TokenType.CONTROL]
    scores = [0.0] * len(pieces)
    scores[tok.SPACE_ID] = -1.0
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    w = gguf.GGUFWriter(str(tmp), "llama")
    w.add_name("mnemo-recall-demo")
    w.add_description("Small bilingual (zh/en) Llama-architecture model trained to recall a memory from one "
                      "vector injected after <recall> (mnemo demo model)")
    w.add_file_type(int(gguf.LlamaFileType.MOSTLY_F16 if dtype == "f16" else gguf.LlamaFileType.ALL_F32))
    w.add_vocab_size(len(pieces))
    w.add_context_length(mcfg["max_len"])
    w.add_embedding_length(mcfg["d_model"])
    w.add_block_count(mcfg["n_layers"])
    w.add_feed_forward_length(mcfg["d_ff"])
    w.add_head_count(mcfg["n_heads"])
    w.add_head_count_kv(mcfg["n_kv_heads"])
    w.add_rope_dimension_count(mcfg["d_model"] // mcfg["n_heads"])
    w.add_rope_freq_base(mcfg["rope_base"])
    w.add_layer_norm_rms_eps(mcfg["rms_eps"])
    w.add_tokenizer_model("llama")
    w.add_token_list(pieces)
    w.add_token_scores(scores)
    w.add_token_types([int(x) for x in types])
    w.add_bos_token_id(tok.BOS_ID)
    w.add_eos_token_id(tok.EOS_ID)
    w.add_unk_token_id(tok.UNK_ID)
    w.add_pad_token_id(tok.PAD_ID)
    w.add_add_bos_token(True)
    w.add_add_eos_token(False)
    w.add_add_space_prefix(False)
    w.add_uint32("mnemo.recall_token", tok.RECALL_ID)
    for k, v in (meta or {}).items():
        w.add_string(f"mnemo.{k}", v)
    n = 0
    for name, arr in gguf_tensors(sd, mcfg["n_layers"]).items():
        a = np.ascontiguousarray(arr, dtype=np.float32)
        if dtype == "f16" and a.ndim == 2:
            a = a.astype(np.float16)
        w.add_tensor(name, a)
        n += a.size
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    tmp.replace(out)
    return n


def main() -> None:
    import torch

    from train import load_sharded

    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--dtype", default="f16", choices=["f16", "f32"])
    args = ap.parse_args()
    ck = Path(args.ckpt)
    state = json.loads((ck / "state.json").read_text())
    sd = {k: v.float().numpy() for k, v in load_sharded(ck, "model").items()}
    meta = {"model_json": json.dumps(model_json(), ensure_ascii=False, separators=(",", ":"))}
    n = write_gguf(sd, state["config"]["model"], Path(args.out), args.dtype, meta)
    print(f"wrote {args.out} ({Path(args.out).stat().st_size} bytes, {n:,} params, {args.dtype}, step {state['step']})")
    del torch


def model_json() -> dict:
    """The package's model/model.json, embedded as GGUF metadata `mnemo.model_json` so that the
    GGUF file alone says how its memories must be encoded (mnemo's loadModelConfig reads it when no
    config file sits beside the model)."""
    return json.loads((Path(__file__).resolve().parent.parent / "model" / "model.json").read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()


def load_from_gguf(path: str, device="cpu"):
    """Inverse of write_gguf: a RecallLM with the GGUF's weights (f16 matrices become f32), so
    evaluate.py can run on the committed GGUF without the training checkpoint."""
    import torch

    from model import ModelConfig, RecallLM

    r = gguf.GGUFReader(path)

    def kv(name):
        f = r.fields[name]
        return f.parts[f.data[0]][0].item()

    n_layers = int(kv("llama.block_count"))
    mcfg = {"vocab_size": len(tok.vocab_pieces()), "d_model": int(kv("llama.embedding_length")),
            "n_layers": n_layers, "n_heads": int(kv("llama.attention.head_count")),
            "n_kv_heads": int(kv("llama.attention.head_count_kv")), "d_ff": int(kv("llama.feed_forward_length")),
            "rms_eps": float(kv("llama.attention.layer_norm_rms_epsilon")), "rope_base": float(kv("llama.rope.freq_base")),
            "max_len": int(kv("llama.context_length"))}
    tensors = {t.name: np.array(t.data, dtype=np.float32) for t in r.tensors}
    inv = {v: k for k, v in {
        "tok_emb.weight": "token_embd.weight", "norm.weight": "output_norm.weight", "head.weight": "output.weight"}.items()}
    names = {"attn_norm.weight": "attn_norm.weight", "attn_q.weight": "wq.weight", "attn_k.weight": "wk.weight",
             "attn_v.weight": "wv.weight", "attn_output.weight": "wo.weight", "ffn_norm.weight": "ffn_norm.weight",
             "ffn_gate.weight": "w_gate.weight", "ffn_up.weight": "w_up.weight", "ffn_down.weight": "w_down.weight"}
    sd = {}
    for name, a in tensors.items():
        if name in inv:
            sd[inv[name]] = torch.from_numpy(a)
        else:
            _, i, rest = name.split(".", 2)
            sd[f"blocks.{i}.{names[rest]}"] = torch.from_numpy(a)
    model = RecallLM(ModelConfig(**mcfg))
    model.load_state_dict(sd)
    return model.to(device), {"step": f"gguf:{Path(path).name}", "config": {"model": mcfg}}
