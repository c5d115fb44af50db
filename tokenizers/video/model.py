"""The Cosmos discrete causal video tokenizer (DV): encoder → FSQ indices → decoder.

``encode``: video (B, 3, T, H, W) in [-1, 1], T = 1 + k·temporal_compression, H, W multiples of the
spatial compression → ``indices`` (B, t, h, w) int64 in [0, Π levels) with t = 1 + k, h = H/s, w = W/s,
and ``codes`` (B, len(levels), t, h, w) on the FSQ grid in [-1, 1].
``decode``: indices (B, t, h, w) → video (B, 3, 1 + (t-1)·c_t, h·s, w·s) in about [-1, 1].

At the ``paper`` preset (256², 17 frames, DV4x8x8, FSQ [8,8,8,5,5,5]) this is (B,3,17,256,256) →
(B,5,32,32) in [0, 64000). The FSQ is vector-quantize-pytorch's ``FSQ`` (identical grid and mixed-radix
index order as Cosmos' FSQuantizer).

The network is Cosmos' ``CausalDiscreteVideoTokenizer`` with FACTORIZED encoder and decoder, layer for layer
and key for key (Haar scale and channel order, where the decoder upsamples, which resampling convs exist);
``cosmos.py`` converts a Cosmos state_dict into it. Only the attention's q/k/v convs are fused into one.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from vector_quantize_pytorch import FSQ

from egom2p.presets import VideoTokenizerSpec

from .layers import CausalNorm, HaarPatcher, HybridDownsample, HybridUpsample, Level, MidBlock, factorized_conv, \
    pointwise_conv


@dataclass(frozen=True)
class VideoTokenizerConfig:
    """Everything that defines the network; saved as JSON beside every set of weights.

    ``attn_levels``: levels with an attention pair after each res block besides the mid block's (Cosmos'
    ``attn_resolutions``; none in every Cosmos DV, whose nominal resolutions never hit 32).
    """
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
    attn_levels: tuple[int, ...] = ()

    def __post_init__(self):
        n = len(self.channels_mult)
        if self.spatial_downs < 0 or self.temporal_downs < 0:
            raise ValueError(f"compression {self.temporal_compression}x{self.spatial_compression} is below the "
                             f"patch size {self.patch_size}")
        for name, resample in (("encoder", self.encoder_resampling), ("decoder", self.decoder_resampling)):
            flags = [resample(level) for level in range(n)]
            if (sum(s for s, _ in flags), sum(t for _, t in flags)) != (self.spatial_downs, self.temporal_downs):
                raise ValueError(f"the Cosmos DV layout cannot place {self.spatial_downs} spatial and "
                                 f"{self.temporal_downs} temporal resamplings in the {name}'s {n} levels")

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
    def widths(self) -> tuple[int, ...]:
        """Channels of each level (encoder order)."""
        return tuple(self.channels * m for m in self.channels_mult)

    @property
    def spatial_downs(self) -> int:
        """Learned 2× spatial resamplings: log2(spatial compression) − log2(patch size)."""
        return int(math.log2(self.spatial_compression)) - int(math.log2(self.patch_size))

    @property
    def temporal_downs(self) -> int:
        """Learned 2× temporal resamplings: log2(temporal compression) − log2(patch size)."""
        return int(math.log2(self.temporal_compression)) - int(math.log2(self.patch_size))

    def encoder_resampling(self, level: int) -> tuple[bool, bool]:
        """(spatial, temporal) downsampling at the end of encoder ``level``: the first levels, never the last."""
        if level == len(self.channels_mult) - 1:
            return False, False
        return level < self.spatial_downs, level < self.temporal_downs

    def decoder_resampling(self, level: int) -> tuple[bool, bool]:
        """(spatial, temporal) upsampling at the end of decoder ``level`` (levels run from the last to 0).

        Cosmos' rule, counted from the decoder's first level (``r`` = n−1−level, level 0 never upsamples):
        temporal when 0 < r ≤ temporal_downs; spatial when temporal, or when r < spatial_downs and there are
        more spatial than temporal resamplings. For DV4x8x8 (1 spatial, 0 temporal) that is right after the
        first (deepest) level, so the second deepest level runs at twice the latent's resolution.
        """
        r = len(self.channels_mult) - 1 - level
        if level == 0:
            return False, False
        temporal = 0 < r < self.temporal_downs + 1
        return temporal or (r < self.spatial_downs and self.spatial_downs > self.temporal_downs), temporal

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


def _level_widths(cin: int, cout: int, blocks: int) -> list[tuple[int, int]]:
    return [(cin, cout)] + [(cout, cout)] * (blocks - 1)


class Encoder(nn.Module):
    """Haar ``patcher3d`` → ``conv_in`` → ``down`` levels (res blocks + hybrid downsampling) → ``mid`` →
    ``norm_out``/SiLU/``conv_out``: (B,3,T,H,W) → (B, z_channels, t, h, w)."""

    def __init__(self, cfg: VideoTokenizerConfig):
        super().__init__()
        p = cfg.patch_size
        self.patcher3d = HaarPatcher(p)
        self.conv_in = factorized_conv(cfg.in_channels * p ** 3, cfg.channels)
        # Unit-scale init: Cosmos' patcher hands the first conv values ``gain`` (8) times smaller than an orthonormal
        # one, so its default-initialized weights are scaled up to match; loaded weights replace this.
        with torch.no_grad():
            self.conv_in[0].conv3d.weight.mul_(self.patcher3d.gain)
        self.down = nn.ModuleList()
        cin = cfg.channels
        for level, cout in enumerate(cfg.widths):
            spatial, temporal = cfg.encoder_resampling(level)
            resample = HybridDownsample(cout, spatial, temporal) if spatial or temporal else None
            self.down.append(Level(_level_widths(cin, cout, cfg.num_res_blocks), level in cfg.attn_levels,
                                   downsample=resample))
            cin = cout
        self.mid = MidBlock(cin)
        self.norm_out = CausalNorm(cin)
        self.conv_out = factorized_conv(cin, cfg.z_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv_in(self.patcher3d(x))
        for level in self.down:
            h = level(h)
        return self.conv_out(F.silu(self.norm_out(self.mid(h))))


class Decoder(nn.Module):
    """``conv_in`` → ``mid`` → ``up`` levels from the deepest to level 0 (res blocks + hybrid upsampling) →
    ``norm_out``/SiLU/``conv_out`` → inverse Haar: (B, z_channels, t, h, w) → (B,3,T,H,W).
    ``up[i]`` is level ``i`` (Cosmos' indexing), so it runs in reverse order."""

    def __init__(self, cfg: VideoTokenizerConfig):
        super().__init__()
        p = cfg.patch_size
        widths = cfg.widths
        cin = widths[-1]
        self.conv_in = factorized_conv(cfg.z_channels, cin)
        self.mid = MidBlock(cin)
        levels: dict[int, Level] = {}
        for level in reversed(range(len(widths))):
            cout = widths[level]
            spatial, temporal = cfg.decoder_resampling(level)
            resample = HybridUpsample(cout, spatial, temporal) if spatial or temporal else None
            levels[level] = Level(_level_widths(cin, cout, cfg.num_res_blocks + 1), level in cfg.attn_levels,
                                  upsample=resample)
            cin = cout
        self.up = nn.ModuleList(levels[i] for i in range(len(widths)))
        self.norm_out = CausalNorm(cin)
        self.conv_out = factorized_conv(cin, cfg.in_channels * p ** 3)
        self.unpatcher3d = HaarPatcher(p)
        # Unit-scale init (as in the Encoder): the inverse patcher multiplies by ``gain``, so the last conv starts
        # that much smaller; otherwise a fresh network's first reconstructions are ~8× too large.
        with torch.no_grad():
            for t in self.conv_out[1].conv3d.parameters():
                t.div_(self.unpatcher3d.gain)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.mid(self.conv_in(z))
        for i in range(len(self.up) - 1, -1, -1):
            h = self.up[i](h)
        return self.unpatcher3d.inverse(self.conv_out(F.silu(self.norm_out(h))))


class VideoTokenizer(nn.Module):
    """Encoder + FSQ + decoder; ``forward`` trains end to end through the straight-through FSQ."""

    def __init__(self, cfg: VideoTokenizerConfig):
        super().__init__()
        self.cfg = cfg
        self.encoder = Encoder(cfg)
        self.quant_conv = pointwise_conv(cfg.z_channels, len(cfg.fsq_levels))
        self.fsq = FSQ(list(cfg.fsq_levels), channel_first=True)
        self.post_quant_conv = pointwise_conv(len(cfg.fsq_levels), cfg.z_channels)
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
