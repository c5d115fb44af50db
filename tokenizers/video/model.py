"""The Cosmos discrete causal video tokenizer (DV): encoder → FSQ indices → decoder.

``encode``: video (B, 3, T, H, W) in [-1, 1], T = 1 + k·temporal_compression, H, W multiples of the
spatial compression → ``indices`` (B, t, h, w) int64 in [0, Π levels) with t = 1 + k, h = H/s, w = W/s,
and ``codes`` (B, len(levels), t, h, w) on the FSQ grid in [-1, 1].
``decode``: indices (B, t, h, w) → video (B, 3, 1 + (t-1)·c_t, h·s, w·s) in about [-1, 1].

At the ``paper`` preset (256², 17 frames, DV4x8x8, FSQ [8,8,8,5,5,5]) this is (B,3,17,256,256) →
(B,5,32,32) in [0, 64000). The FSQ is vector-quantize-pytorch's ``FSQ`` (identical grid and mixed-radix
index order as Cosmos' FSQuantizer).
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import torch
from torch import nn
from vector_quantize_pytorch import FSQ

from egom2p.presets import VideoTokenizerSpec

from .layers import CausalNorm, HaarPatcher, HybridDownsample, HybridUpsample, MidBlock, ResBlock, factorized_conv


@dataclass(frozen=True)
class VideoTokenizerConfig:
    """Everything that defines the network; saved as JSON beside every set of weights."""
    resolution: int = 64
    frames: int = 16
    fps: float = 8.0
    temporal_compression: int = 4
    spatial_compression: int = 8
    fsq_levels: tuple[int, ...] = (8, 8, 8, 5, 5, 5)
    channels: int = 32
    channels_mult: tuple[int, ...] = (2, 4, 4)
    num_res_blocks: int = 2
    z_channels: int = 16
    patch_size: int = 4
    in_channels: int = 3

    @classmethod
    def from_spec(cls, spec: VideoTokenizerSpec) -> "VideoTokenizerConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in dataclasses.asdict(spec).items() if k in names})

    @classmethod
    def from_dict(cls, d: dict) -> "VideoTokenizerConfig":
        d = {k: tuple(v) if isinstance(v, list) else v for k, v in d.items()}
        return cls(**{k: v for k, v in d.items() if k in {f.name for f in dataclasses.fields(cls)}})

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @property
    def spatial_downs(self) -> int:
        return int(math.log2(self.spatial_compression // self.patch_size))

    @property
    def temporal_downs(self) -> int:
        return int(math.log2(self.temporal_compression // self.patch_size)) if self.temporal_compression > self.patch_size else 0

    @property
    def input_frames(self) -> int:
        """Frames per clip after causal padding: 1 + k·temporal_compression (16 → 17)."""
        c = self.temporal_compression
        return 1 + math.ceil((self.frames - 1) / c) * c if (self.frames - 1) % c else self.frames

    @property
    def token_grid(self) -> tuple[int, int, int]:
        s = self.resolution // self.spatial_compression
        return (1 + (self.input_frames - 1) // self.temporal_compression, s, s)

    @property
    def vocab_size(self) -> int:
        return math.prod(self.fsq_levels)


class Encoder(nn.Module):
    """Haar patcher → conv_in → levels of res blocks (+ hybrid downsampling) → mid → norm/SiLU/conv_out."""

    def __init__(self, cfg: VideoTokenizerConfig):
        super().__init__()
        p = cfg.patch_size
        self.patcher = HaarPatcher(p)
        widths = [cfg.channels * m for m in cfg.channels_mult]
        layers: list[nn.Module] = [factorized_conv(cfg.in_channels * p ** 3, cfg.channels)]
        cin = cfg.channels
        for level, cout in enumerate(widths):
            for _ in range(cfg.num_res_blocks):
                layers.append(ResBlock(cin, cout))
                cin = cout
            if level < cfg.spatial_downs:
                layers.append(HybridDownsample(cout, temporal=level < cfg.temporal_downs))
        layers += [MidBlock(cin), CausalNorm(cin), nn.SiLU(), factorized_conv(cin, cfg.z_channels)]
        self.trunk = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.trunk(self.patcher(x))


class Decoder(nn.Module):
    """Mirror of the encoder: conv_in → mid → levels of res blocks (+ hybrid upsampling) → inverse Haar."""

    def __init__(self, cfg: VideoTokenizerConfig):
        super().__init__()
        p = cfg.patch_size
        widths = [cfg.channels * m for m in cfg.channels_mult][::-1]
        cin = widths[0]
        layers: list[nn.Module] = [factorized_conv(cfg.z_channels, cin), MidBlock(cin)]
        n = len(widths)
        for i, cout in enumerate(widths):
            level = n - 1 - i
            for _ in range(cfg.num_res_blocks + 1):
                layers.append(ResBlock(cin, cout))
                cin = cout
            if 0 < level <= cfg.spatial_downs:
                layers.append(HybridUpsample(cout, temporal=level <= cfg.temporal_downs))
        layers += [CausalNorm(cin), nn.SiLU(), factorized_conv(cin, cfg.in_channels * p ** 3)]
        self.trunk = nn.Sequential(*layers)
        self.unpatcher = HaarPatcher(p)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.unpatcher.inverse(self.trunk(z))


class VideoTokenizer(nn.Module):
    """Encoder + FSQ + decoder; ``forward`` trains end to end through the straight-through FSQ."""

    def __init__(self, cfg: VideoTokenizerConfig):
        super().__init__()
        self.cfg = cfg
        self.encoder = Encoder(cfg)
        self.quant_conv = nn.Conv3d(cfg.z_channels, len(cfg.fsq_levels), 1)
        self.fsq = FSQ(list(cfg.fsq_levels), channel_first=True)
        self.post_quant_conv = nn.Conv3d(len(cfg.fsq_levels), cfg.z_channels, 1)
        self.decoder = Decoder(cfg)

    def quantize(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """video (B,3,T,H,W) → (codes (B,6,t,h,w) on the FSQ grid, indices (B,t,h,w) int64)."""
        codes, indices = self.fsq(self.quant_conv(self.encoder(x)))
        return codes, indices.long()

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """video (B,3,T,H,W) in [-1,1] → (indices (B,t,h,w) int64, codes (B,6,t,h,w)), as Cosmos' encoder."""
        codes, indices = self.quantize(x)
        return indices, codes

    def decode_codes(self, codes: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.post_quant_conv(codes))

    def decode(self, indices: torch.Tensor) -> torch.Tensor:
        """indices (B,t,h,w) → video (B,3,1+(t-1)·c_t,h·s,w·s) in about [-1,1]."""
        return self.decode_codes(self.fsq.indices_to_codes(indices.long()))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """video → (reconstruction, indices); gradients pass the FSQ rounding straight through."""
        codes, indices = self.quantize(x)
        return self.decode_codes(codes), indices
