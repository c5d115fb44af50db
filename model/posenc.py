"""Fixed sin-cos positional tables.

4M's convention: for positions ``p`` and ``d/2`` frequencies ``ω_i = 1 / 10000^(i / (d/2))`` the
embedding is ``[sin(p·ω), cos(p·ω)]`` (concatenated, not interleaved). Video token grids (t, h, w)
use EgoM2P's ``build_3d_sincos_posemb``: the width split into three equal parts for t, h and w. When
``dim`` is not a multiple of 6 (EgoM2P asserts it is; the tiny preset's 256 is not) each axis gets
``2·(dim // 6)`` channels and the last ``dim mod 6`` channels are zero.
"""
from __future__ import annotations

import torch

from .config import ModalitySpec

TEMPERATURE = 10000.0


def sincos_1d(positions: torch.Tensor, dim: int, temperature: float = TEMPERATURE) -> torch.Tensor:
    """positions (n,) → (n, dim) float32 table ``[sin(p·ω), cos(p·ω)]``; ``dim`` even."""
    if dim % 2:
        raise ValueError(f"sin-cos dim must be even, got {dim}")
    half = dim // 2
    omega = 1.0 / temperature ** (torch.arange(half, dtype=torch.float32) / half)
    angles = positions.to(torch.float32)[:, None] * omega[None, :]
    return torch.cat([angles.sin(), angles.cos()], dim=1)


def sincos_3d(t: int, h: int, w: int, dim: int, temperature: float = TEMPERATURE) -> torch.Tensor:
    """(t·h·w, dim) table for a (t, h, w) token grid flattened in row-major (t, h, w) order."""
    part = 2 * (dim // 6)
    if part == 0:
        raise ValueError(f"3D sin-cos needs dim >= 6, got {dim}")
    grid = torch.stack(torch.meshgrid(torch.arange(t), torch.arange(h), torch.arange(w), indexing="ij"), -1)
    grid = grid.reshape(-1, 3)
    table = torch.cat([sincos_1d(grid[:, a], part, temperature) for a in range(3)], dim=1)
    return torch.nn.functional.pad(table, (0, dim - 3 * part))


def modality_posenc(spec: ModalitySpec, dim: int) -> torch.Tensor:
    """(spec.n_tokens, dim) fixed table for one modality, by its ``pos_enc`` kind."""
    if spec.pos_enc == "sincos3d":
        if len(spec.token_shape) != 3:
            raise ValueError(f"{spec.name}: sincos3d needs a (t, h, w) token grid, got {spec.token_shape}")
        return sincos_3d(*spec.token_shape, dim)
    if spec.pos_enc == "sincos1d":
        return sincos_1d(torch.arange(spec.n_tokens), dim)
    raise ValueError(f"{spec.name}: unknown positional encoding {spec.pos_enc!r}")


def layout_posenc(specs: tuple[ModalitySpec, ...], dim: int) -> torch.Tensor:
    """(L, dim): the per-modality tables concatenated in layout order (L = sum of token counts)."""
    return torch.cat([modality_posenc(s, dim) for s in specs], dim=0)
