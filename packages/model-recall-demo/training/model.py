"""A small Llama-architecture decoder (RMSNorm, RoPE, SwiGLU, untied head) whose forward pass
matches llama.cpp's `llama` architecture exactly:

- RoPE is llama.cpp's "normal" mode (LLAMA_ROPE_TYPE_NORM): adjacent pairs (x[2i], x[2i+1]) of
  each head are rotated by pos * base^(-2i/head_dim). Weights therefore need no q/k permutation
  on export (HF-converted Llama weights are permuted because HF uses the rotate-half layout).
- attention scale 1/sqrt(head_dim), causal, no biases; RMSNorm eps from the config.
- `forward` can replace the input embedding at one position per row by a given vector (the
  memory vector injected after <recall>), exactly as llama.cpp's `llama_batch.embd` does.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class ModelConfig:
    vocab_size: int = 262
    d_model: int = 256
    n_layers: int = 8
    n_heads: int = 8
    n_kv_heads: int = 8
    d_ff: int = 704
    rms_eps: float = 1e-5
    rope_base: float = 10000.0
    max_len: int = 512

    @property
    def head_dim(self) -> int:
        return self.d_model // self.n_heads

    def to_dict(self) -> dict:
        return asdict(self)


class RMSNorm(nn.Module):
    def __init__(self, d: int, eps: float) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xf = x.float()
        y = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)
        return (y * self.weight.float()).to(x.dtype)


def rope_tables(cfg: ModelConfig, device) -> tuple[torch.Tensor, torch.Tensor]:
    hd = cfg.head_dim
    inv = cfg.rope_base ** (-torch.arange(0, hd, 2, dtype=torch.float64, device=device) / hd)
    pos = torch.arange(cfg.max_len, dtype=torch.float64, device=device)
    ang = pos[:, None] * inv[None, :]  # (T, hd/2)
    return torch.cos(ang).float(), torch.sin(ang).float()


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """x: (B, H, T, hd); rotate adjacent pairs (llama.cpp NORM mode)."""
    T = x.shape[2]
    c, s = cos[:T][None, None], sin[:T][None, None]
    xf = x.float()
    x0, x1 = xf[..., 0::2], xf[..., 1::2]
    y0 = x0 * c - x1 * s
    y1 = x0 * s + x1 * c
    return torch.stack((y0, y1), dim=-1).flatten(-2).to(x.dtype)


class Block(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        d, hd = cfg.d_model, cfg.head_dim
        self.attn_norm = RMSNorm(d, cfg.rms_eps)
        self.wq = nn.Linear(d, cfg.n_heads * hd, bias=False)
        self.wk = nn.Linear(d, cfg.n_kv_heads * hd, bias=False)
        self.wv = nn.Linear(d, cfg.n_kv_heads * hd, bias=False)
        self.wo = nn.Linear(cfg.n_heads * hd, d, bias=False)
        self.ffn_norm = RMSNorm(d, cfg.rms_eps)
        self.w_gate = nn.Linear(d, cfg.d_ff, bias=False)
        self.w_up = nn.Linear(d, cfg.d_ff, bias=False)
        self.w_down = nn.Linear(cfg.d_ff, d, bias=False)

    def forward(self, x, cos, sin, attn_mask=None):
        cfg = self.cfg
        B, T, _ = x.shape
        h = self.attn_norm(x)
        q = self.wq(h).view(B, T, cfg.n_heads, cfg.head_dim).transpose(1, 2)
        k = self.wk(h).view(B, T, cfg.n_kv_heads, cfg.head_dim).transpose(1, 2)
        v = self.wv(h).view(B, T, cfg.n_kv_heads, cfg.head_dim).transpose(1, 2)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        if cfg.n_kv_heads != cfg.n_heads:
            rep = cfg.n_heads // cfg.n_kv_heads
            k = k.repeat_interleave(rep, dim=1)
            v = v.repeat_interleave(rep, dim=1)
        a = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.wo(a.transpose(1, 2).reshape(B, T, -1))
        h = self.ffn_norm(x)
        return x + self.w_down(F.silu(self.w_gate(h)) * self.w_up(h))


class RecallLM(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.tok_emb = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layers))
        self.norm = RMSNorm(cfg.d_model, cfg.rms_eps)
        self.head = nn.Linear(cfg.d_model, cfg.vocab_size, bias=False)
        cos, sin = rope_tables(cfg, "cpu")
        self.register_buffer("rope_cos", cos, persistent=False)
        self.register_buffer("rope_sin", sin, persistent=False)
        self.apply(self._init)
        for b in self.blocks:  # scaled init of residual projections
            nn.init.normal_(b.wo.weight, std=0.02 / math.sqrt(2 * cfg.n_layers))
            nn.init.normal_(b.w_down.weight, std=0.02 / math.sqrt(2 * cfg.n_layers))

    @staticmethod
    def _init(m: nn.Module) -> None:
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, std=0.02)
        elif isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight, std=0.02)

    def hidden(self, ids: torch.Tensor, inject_pos: torch.Tensor | None = None,
               inject_vec: torch.Tensor | None = None) -> torch.Tensor:
        """Final-norm hidden states (B, T, d). inject_pos: (B,) or (B, K) long, -1 = none;
        inject_vec: (B, d) or (B, K, d), used as the input embeddings at inject_pos (as llama.cpp
        feeds `llama_batch.embd` rows)."""
        x = self.tok_emb(ids)
        if inject_pos is not None:
            if inject_pos.dim() == 1:
                inject_pos, inject_vec = inject_pos[:, None], inject_vec[:, None, :]
            b, k = (inject_pos >= 0).nonzero(as_tuple=True)
            x = x.index_put((b, inject_pos[b, k]), inject_vec[b, k].to(x.dtype))
        for b in self.blocks:
            x = b(x, self.rope_cos, self.rope_sin)
        return self.norm(x)

    def logits(self, h: torch.Tensor) -> torch.Tensor:
        return self.head(h)

    def forward(self, ids, inject_pos=None, inject_vec=None):
        h = self.hidden(ids, inject_pos, inject_vec)
        return self.logits(h), h

    def n_params(self) -> int:
        return sum(p.numel() for p in self.parameters())
