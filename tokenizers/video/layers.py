"""Building blocks of the Cosmos discrete causal video tokenizer.

All tensors are channel-first video ``(B, C, T, H, W)``. *Causal* means output frame ``t`` depends only on
input frames ``<= t``: temporal padding replicates the first frame on the left, temporal attention is
masked lower-triangular. Spatial padding is zeros.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class HaarPatcher(nn.Module):
    """3D Haar wavelet packet: (B, C, 1+k·p, H, W) -> (B, C·p³, k+1, H/p, W/p), orthonormal, invertible.

    The first frame is repeated ``p`` times (so frame 0 forms its own causal patch), then ``log2(p)``
    levels of a separable orthonormal Haar transform (low, high = (a±b)/√2) run along t, h, w; each
    level multiplies the channels by 8 (band-major). ``inverse`` undoes it and drops the ``p-1`` extra
    leading frames.
    """

    def __init__(self, patch_size: int):
        super().__init__()
        self.levels = int(math.log2(patch_size))
        if 2 ** self.levels != patch_size:
            raise ValueError(f"patch_size must be a power of 2, got {patch_size}")
        self.patch_size = patch_size

    @staticmethod
    def _split(x: torch.Tensor, dim: int) -> torch.Tensor:
        pairs = x.unflatten(dim, (x.shape[dim] // 2, 2))
        a, b = pairs.select(dim + 1, 0), pairs.select(dim + 1, 1)
        return torch.cat([(a + b) / math.sqrt(2), (a - b) / math.sqrt(2)], dim=1)

    @staticmethod
    def _merge(x: torch.Tensor, dim: int) -> torch.Tensor:
        low, high = x.chunk(2, dim=1)
        a, b = (low + high) / math.sqrt(2), (low - high) / math.sqrt(2)
        return torch.stack([a, b], dim=dim + 1).flatten(dim, dim + 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.cat([x[:, :, :1].repeat_interleave(self.patch_size, dim=2), x[:, :, 1:]], dim=2)
        for _ in range(self.levels):
            for dim in (2, 3, 4):
                x = self._split(x, dim)
        return x

    def inverse(self, x: torch.Tensor) -> torch.Tensor:
        for _ in range(self.levels):
            for dim in (4, 3, 2):
                x = self._merge(x, dim)
        return x[:, :, self.patch_size - 1:]


class CausalConv3d(nn.Module):
    """Conv3d with replicate-first-frame temporal padding ``(k_t-1) + (1-stride_t)`` and zero spatial padding."""

    def __init__(self, cin: int, cout: int, kernel=(3, 3, 3), stride=(1, 1, 1), spatial_pad: int | None = None):
        super().__init__()
        kt, kh, _ = kernel
        self.time_pad = max(0, (kt - 1) + (1 - stride[0]))
        pad = kh // 2 if spatial_pad is None else spatial_pad
        self.conv = nn.Conv3d(cin, cout, kernel, stride=stride, padding=(0, pad, pad))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.time_pad:
            x = torch.cat([x[:, :, :1].expand(-1, -1, self.time_pad, -1, -1), x], dim=2)
        return self.conv(x)


def factorized_conv(cin: int, cout: int) -> nn.Sequential:
    """Spatial (1,3,3) conv followed by a causal temporal (3,1,1) conv."""
    return nn.Sequential(CausalConv3d(cin, cout, (1, 3, 3)), CausalConv3d(cout, cout, (3, 1, 1)))


class CausalNorm(nn.Module):
    """GroupNorm(1) applied to each frame separately (so statistics never look at future frames)."""

    def __init__(self, channels: int):
        super().__init__()
        self.norm = nn.GroupNorm(1, channels, eps=1e-6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, t, h, w = x.shape
        y = self.norm(x.transpose(1, 2).reshape(b * t, c, h, w))
        return y.reshape(b, t, c, h, w).transpose(1, 2)


class ResBlock(nn.Module):
    """norm-SiLU-factorized conv ×2 with a 1×1×1 shortcut when the width changes."""

    def __init__(self, cin: int, cout: int, dropout: float = 0.0):
        super().__init__()
        self.norm1, self.conv1 = CausalNorm(cin), factorized_conv(cin, cout)
        self.norm2, self.conv2 = CausalNorm(cout), factorized_conv(cout, cout)
        self.dropout = nn.Dropout(dropout)
        self.shortcut = nn.Conv3d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = self.conv2(self.dropout(F.silu(self.norm2(h))))
        return self.shortcut(x) + h


class _FactorizedAttention(nn.Module):
    """Single-head self-attention along one factor of a (B, C, T, H, W) tensor (q, k, v: 1×1×1 convs),
    residual. ``order`` permutes (b, c, t, h, w) so that the attended axes come last before channels;
    ``seq_dims`` of them form the sequence, the rest are batched."""
    order: tuple[int, ...] = ()
    seq_dims: int = 1
    causal: bool = False

    def __init__(self, channels: int):
        super().__init__()
        self.norm = CausalNorm(channels)
        self.qkv = nn.Conv3d(channels, 3 * channels, 1)
        self.proj = nn.Conv3d(channels, channels, 1)
        self.inverse = tuple(sorted(range(5), key=self.order.__getitem__))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = x.shape[1]
        qkv = self.qkv(self.norm(x)).permute(*self.order)
        shape = qkv.shape[:-1]
        length = math.prod(shape[len(shape) - self.seq_dims:])
        q, k, v = qkv.reshape(-1, length, 3 * c).chunk(3, dim=-1)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=self.causal)
        return x + self.proj(y.reshape(*shape, c).permute(*self.inverse))


class SpatialAttention(_FactorizedAttention):
    """Attention over the H·W positions of each frame."""
    order, seq_dims = (0, 2, 3, 4, 1), 2


class CausalTemporalAttention(_FactorizedAttention):
    """Attention over time at each pixel, lower-triangular (causal) mask."""
    order, seq_dims, causal = (0, 3, 4, 2, 1), 1, True


class MidBlock(nn.Sequential):
    """resblock → spatial attention → causal temporal attention → resblock."""

    def __init__(self, channels: int, dropout: float = 0.0):
        super().__init__(ResBlock(channels, channels, dropout), SpatialAttention(channels),
                         CausalTemporalAttention(channels), ResBlock(channels, channels, dropout))


class HybridDownsample(nn.Module):
    """Halve H, W (strided (1,3,3) conv + 2×2 average pool, summed) and optionally T (causal strided
    (3,1,1) conv + average pool over time, summed: 1+2k frames -> 1+k), then a 1×1×1 conv."""

    def __init__(self, channels: int, temporal: bool):
        super().__init__()
        self.temporal = temporal
        self.conv_s = CausalConv3d(channels, channels, (1, 3, 3), stride=(1, 2, 2), spatial_pad=0)
        self.conv_t = CausalConv3d(channels, channels, (3, 1, 1), stride=(2, 1, 1)) if temporal else None
        self.out = nn.Conv3d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = F.avg_pool3d(x, (1, 2, 2), (1, 2, 2))
        x = self.conv_s(F.pad(x, (0, 1, 0, 1))) + pooled
        if self.conv_t is not None:
            padded = torch.cat([x[:, :, :1], x], dim=2)
            x = self.conv_t(x) + F.avg_pool3d(padded, (2, 1, 1), (2, 1, 1))
        return self.out(x)


class HybridUpsample(nn.Module):
    """Double H, W (nearest + residual (1,3,3) conv) and optionally T (repeat ×2 dropping the first
    duplicate: 1+k -> 1+2k frames, + residual causal (3,1,1) conv), then a 1×1×1 conv."""

    def __init__(self, channels: int, temporal: bool):
        super().__init__()
        self.temporal = temporal
        self.conv_t = CausalConv3d(channels, channels, (3, 1, 1)) if temporal else None
        self.conv_s = CausalConv3d(channels, channels, (1, 3, 3))
        self.out = nn.Conv3d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.conv_t is not None:
            x = x.repeat_interleave(2, dim=2)[:, :, 1:]
            x = x + self.conv_t(x)
        x = x.repeat_interleave(2, dim=3).repeat_interleave(2, dim=4)
        x = x + self.conv_s(x)
        return self.out(x)
