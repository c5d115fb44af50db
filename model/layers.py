"""Transformer layers of the 4M-style encoder-decoder: no biases anywhere,
``LayerNorm(eps=1e-6, bias=False)``, SwiGLU MLP with hidden ``int(2·mlp_ratio·dim/3)``, multi-head
attention through ``scaled_dot_product_attention`` with boolean masks (True = may attend)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def layer_norm(dim: int, eps: float = 1e-6) -> nn.LayerNorm:
    return nn.LayerNorm(dim, eps=eps, bias=False)


def guard_mask(mask: torch.Tensor) -> torch.Tensor:
    """Let query rows that may attend to nothing (padding rows) attend to every key, so softmax never
    sees an all −inf row (NaN). Valid rows are unchanged; padding rows' outputs are never used."""
    return mask | ~mask.any(dim=-1, keepdim=True)


class SwiGLU(nn.Module):
    """x (..., dim) → fc3(silu(fc1 x) · fc2 x) (..., dim); 4M's ``GatedMlp``."""

    def __init__(self, dim: int, mlp_ratio: float = 4.0):
        super().__init__()
        hidden = int(2 * mlp_ratio * dim / 3)
        self.fc1 = nn.Linear(dim, hidden, bias=False)
        self.fc2 = nn.Linear(dim, hidden, bias=False)
        self.fc3 = nn.Linear(hidden, dim, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc3(F.silu(self.fc1(x)) * self.fc2(x))


class Attention(nn.Module):
    """Multi-head attention: self-attention when ``context`` is None, else cross-attention.

    x (B, N, dim), context (B, M, dim) or None (M = N), mask bool broadcastable to (B, heads, N, M),
    True = may attend; it is passed through ``guard_mask``. Returns (B, N, dim).
    """

    def __init__(self, dim: int, heads: int):
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim {dim} is not divisible by heads {heads}")
        self.heads = heads
        self.q = nn.Linear(dim, dim, bias=False)
        self.kv = nn.Linear(dim, 2 * dim, bias=False)
        self.proj = nn.Linear(dim, dim, bias=False)

    def _split(self, x: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        return x.view(b, n, self.heads, d // self.heads).transpose(1, 2)

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None,
                mask: torch.Tensor | None = None) -> torch.Tensor:
        k, v = self.kv(x if context is None else context).chunk(2, dim=-1)
        q, k, v = self._split(self.q(x)), self._split(k), self._split(v)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=None if mask is None else guard_mask(mask))
        return self.proj(y.transpose(1, 2).reshape(x.shape))


class Block(nn.Module):
    """Pre-norm encoder block: x + attn(norm x), then x + mlp(norm x). x (B, N, dim)."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float = 4.0, eps: float = 1e-6):
        super().__init__()
        self.norm1, self.attn = layer_norm(dim, eps), Attention(dim, heads)
        self.norm2, self.mlp = layer_norm(dim, eps), SwiGLU(dim, mlp_ratio)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        x = x + self.attn(self.norm1(x), mask=mask)
        return x + self.mlp(self.norm2(x))


class DecoderBlock(nn.Module):
    """Pre-norm decoder block (4M): self-attention, cross-attention with separate query/context norms,
    MLP. x (B, T, dim), context (B, N, dim); masks bool (B, 1, T, T) and (B, 1, 1 or T, N)."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float = 4.0, eps: float = 1e-6):
        super().__init__()
        self.norm1, self.self_attn = layer_norm(dim, eps), Attention(dim, heads)
        self.query_norm, self.context_norm = layer_norm(dim, eps), layer_norm(dim, eps)
        self.cross_attn = Attention(dim, heads)
        self.norm2, self.mlp = layer_norm(dim, eps), SwiGLU(dim, mlp_ratio)

    def forward(self, x: torch.Tensor, context: torch.Tensor, self_mask: torch.Tensor | None = None,
                cross_mask: torch.Tensor | None = None) -> torch.Tensor:
        x = x + self.self_attn(self.norm1(x), mask=self_mask)
        x = x + self.cross_attn(self.query_norm(x), self.context_norm(context), mask=cross_mask)
        return x + self.mlp(self.norm2(x))
