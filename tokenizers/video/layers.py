"""Building blocks of the Cosmos discrete causal video tokenizer, layer for layer as Cosmos DV.

All tensors are channel-first video ``(B, C, T, H, W)``. *Causal* means output frame ``t`` depends only on
input frames ``<= t``: temporal padding replicates the first frame on the left, temporal attention is
masked lower-triangular. Spatial padding is zeros.

Module and attribute names follow Cosmos' (``conv3d``, ``nin_shortcut``, ``conv1``/``conv2``/``conv3``,
``proj_out``, …) so that a Cosmos state_dict maps onto ours key for key; the one difference is attention,
whose q, k and v 1×1×1 convs are fused into one ``qkv`` conv (one matmul instead of three, then SDPA).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class HaarPatcher(nn.Module):
    """3D Haar wavelet packet: (B, C, 1+k·p, H, W) -> (B, C·p³, k+1, H/p, W/p), invertible; Cosmos' Patcher3D.

    The first frame is repeated ``p`` times (so frame 0 forms its own causal patch), then ``log2(p)`` levels
    of a separable Haar transform run along t, h, w. Each level maps 8 neighbours to 8 subbands scaled by
    1/8 (low = (a+b)/2, high = (a-b)/2 per axis: Cosmos' orthonormal filters divided by 2√2), so the lowest
    band of a level is the mean of its 2×2×2 block. Channels are band-major, each level's band index is
    ``4·t_band + 2·h_band + w_band`` (low = 0) and a later level's band is more significant:
    channel = band₂·8C + band₁·C + c. ``inverse`` undoes it and drops the ``p-1`` extra leading frames.
    """

    def __init__(self, patch_size: int):
        super().__init__()
        self.levels = int(math.log2(patch_size))
        if 2 ** self.levels != patch_size:
            raise ValueError(f"patch_size must be a power of 2, got {patch_size}")
        self.patch_size = patch_size

    @property
    def gain(self) -> float:
        """(2√2)^levels: an orthonormal Haar packet's output divided by this one's (8 at patch size 4)."""
        return (2 * math.sqrt(2)) ** self.levels

    @staticmethod
    def _split(x: torch.Tensor, dim: int) -> torch.Tensor:
        """Pairs along ``dim`` → [low; high] stacked on channels (the new band bit is the most significant)."""
        pairs = x.unflatten(dim, (x.shape[dim] // 2, 2))
        a, b = pairs.select(dim + 1, 0), pairs.select(dim + 1, 1)
        return torch.cat([(a + b) * 0.5, (a - b) * 0.5], dim=1)

    @staticmethod
    def _merge(x: torch.Tensor, dim: int) -> torch.Tensor:
        low, high = x.chunk(2, dim=1)
        return torch.stack([low + high, low - high], dim=dim + 1).flatten(dim, dim + 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.cat([x[:, :, :1].expand(-1, -1, self.patch_size, -1, -1), x[:, :, 1:]], dim=2)
        for _ in range(self.levels):
            for dim in (4, 3, 2):  # w, h, t: t's bit ends up most significant within the level
                x = self._split(x, dim)
        return x

    def inverse(self, x: torch.Tensor) -> torch.Tensor:
        for _ in range(self.levels):
            for dim in (2, 3, 4):
                x = self._merge(x, dim)
        return x[:, :, self.patch_size - 1:]


class CausalConv3d(nn.Module):
    """Conv3d with replicate-first-frame temporal padding ``(k_t-1) + (1-stride_t)`` and zero spatial padding
    (done by the convolution itself, no separate pad pass)."""

    def __init__(self, cin: int, cout: int, kernel=(3, 3, 3), stride=(1, 1, 1), spatial_pad: int | None = None):
        super().__init__()
        kt, kh, _ = kernel
        self.time_pad = max(0, (kt - 1) + (1 - stride[0]))
        pad = kh // 2 if spatial_pad is None else spatial_pad
        self.conv3d = nn.Conv3d(cin, cout, kernel, stride=stride, padding=(0, pad, pad))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.time_pad:
            x = torch.cat([x[:, :, :1].expand(-1, -1, self.time_pad, -1, -1), x], dim=2)
        return self.conv3d(x)


def pointwise_conv(cin: int, cout: int) -> CausalConv3d:
    """1×1×1 convolution (Cosmos keeps these as CausalConv3d too, hence the same key names)."""
    return CausalConv3d(cin, cout, (1, 1, 1))


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
    """norm-SiLU-factorized conv ×2 with a 1×1×1 ``nin_shortcut`` when the width changes."""

    def __init__(self, cin: int, cout: int, dropout: float = 0.0):
        super().__init__()
        self.norm1, self.conv1 = CausalNorm(cin), factorized_conv(cin, cout)
        self.norm2, self.conv2 = CausalNorm(cout), factorized_conv(cout, cout)
        self.dropout = nn.Dropout(dropout)
        self.nin_shortcut = pointwise_conv(cin, cout) if cin != cout else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = self.conv2(self.dropout(F.silu(self.norm2(h))))
        return self.nin_shortcut(x) + h


class _FactorizedAttention(nn.Module):
    """Single-head self-attention along one factor of a (B, C, T, H, W) tensor (fused q/k/v 1×1×1 conv, SDPA
    with scale C^-½ as Cosmos), residual. ``order`` permutes (b, c, t, h, w) so that the attended axes come
    last before channels; ``seq_dims`` of them form the sequence, the rest are batched."""
    order: tuple[int, ...] = ()
    seq_dims: int = 1
    causal: bool = False

    def __init__(self, channels: int):
        super().__init__()
        self.norm = CausalNorm(channels)
        self.qkv = pointwise_conv(channels, 3 * channels)
        self.proj_out = pointwise_conv(channels, channels)
        self.inverse = tuple(sorted(range(5), key=self.order.__getitem__))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = x.shape[1]
        qkv = self.qkv(self.norm(x)).permute(*self.order)
        shape = qkv.shape[:-1]
        length = math.prod(shape[len(shape) - self.seq_dims:])
        q, k, v = qkv.reshape(-1, length, 3 * c).chunk(3, dim=-1)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=self.causal)
        return x + self.proj_out(y.reshape(*shape, c).permute(*self.inverse))


class SpatialAttention(_FactorizedAttention):
    """Attention over the H·W positions of each frame (Cosmos' CausalAttnBlock)."""
    order, seq_dims = (0, 2, 3, 4, 1), 2


class CausalTemporalAttention(_FactorizedAttention):
    """Attention over time at each pixel, lower-triangular (causal) mask (Cosmos' CausalTemporalAttnBlock)."""
    order, seq_dims, causal = (0, 3, 4, 2, 1), 1, True


def attention_pair(channels: int) -> nn.Sequential:
    """Spatial then causal temporal attention (Cosmos' ``attn_1`` and per-level ``attn`` entries)."""
    return nn.Sequential(SpatialAttention(channels), CausalTemporalAttention(channels))


class MidBlock(nn.Module):
    """``block_1`` (resblock) → ``attn_1`` (spatial + causal temporal attention) → ``block_2`` (resblock)."""

    def __init__(self, channels: int, dropout: float = 0.0):
        super().__init__()
        self.block_1 = ResBlock(channels, channels, dropout)
        self.attn_1 = attention_pair(channels)
        self.block_2 = ResBlock(channels, channels, dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block_2(self.attn_1(self.block_1(x)))


class HybridDownsample(nn.Module):
    """Optionally halve H, W (``conv1``: strided (1,3,3) conv + 2×2 average pool of the right/bottom
    zero-padded input, summed) and T (``conv2``: the first frame replicated once, then a causal strided
    (3,1,1) conv + 2-frame average pool, summed: 1+2k frames -> 1+k), then ``conv3`` (1×1×1).
    Cosmos keeps ``conv1``/``conv2`` even when its flag is off; here they exist only when they run."""

    def __init__(self, channels: int, spatial: bool, temporal: bool):
        super().__init__()
        self.conv1 = CausalConv3d(channels, channels, (1, 3, 3), stride=(1, 2, 2), spatial_pad=0) if spatial else None
        self.conv2 = CausalConv3d(channels, channels, (3, 1, 1), stride=(2, 1, 1)) if temporal else None
        self.conv3 = pointwise_conv(channels, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.conv1 is not None:
            x = F.pad(x, (0, 1, 0, 1))
            x = self.conv1(x) + F.avg_pool3d(x, (1, 2, 2), (1, 2, 2))
        if self.conv2 is not None:
            x = torch.cat([x[:, :, :1], x], dim=2)
            x = self.conv2(x) + F.avg_pool3d(x, (2, 1, 1), (2, 1, 1))
        return self.conv3(x)


class HybridUpsample(nn.Module):
    """Optionally double T (``conv1``: each frame repeated twice, the first copy of frame 0 dropped:
    1+k -> 1+2k frames, + residual causal (3,1,1) conv) and H, W (``conv2``: nearest ×2 + residual (1,3,3)
    conv), then ``conv3`` (1×1×1). As in the downsampler, only the convs that run exist."""

    def __init__(self, channels: int, spatial: bool, temporal: bool):
        super().__init__()
        self.conv1 = CausalConv3d(channels, channels, (3, 1, 1)) if temporal else None
        self.conv2 = CausalConv3d(channels, channels, (1, 3, 3)) if spatial else None
        self.conv3 = pointwise_conv(channels, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.conv1 is not None:
            if x.shape[2] > 1:
                x = x.repeat_interleave(2, dim=2)[:, :, 1:]
            x = self.conv1(x) + x
        if self.conv2 is not None:
            b, c, t, h, w = x.shape
            x = x[:, :, :, :, None, :, None].expand(b, c, t, h, 2, w, 2).reshape(b, c, t, 2 * h, 2 * w)
            x = self.conv2(x) + x
        return self.conv3(x)


class Level(nn.Module):
    """One resolution level: ``block`` (res blocks ``(cin, cout)``), ``attn`` (an attention pair after each
    block, or none) and an optional resampler, ``downsample`` (encoder) or ``upsample`` (decoder)."""

    def __init__(self, widths: list[tuple[int, int]], attention: bool, downsample: nn.Module | None = None,
                 upsample: nn.Module | None = None):
        super().__init__()
        self.block = nn.ModuleList(ResBlock(cin, cout) for cin, cout in widths)
        self.attn = nn.ModuleList(attention_pair(cout) for _, cout in widths) if attention else nn.ModuleList()
        self.downsample, self.upsample = downsample, upsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i, block in enumerate(self.block):
            x = block(x)
            if len(self.attn):
                x = self.attn[i](x)
        if self.downsample is not None:
            x = self.downsample(x)
        if self.upsample is not None:
            x = self.upsample(x)
        return x
