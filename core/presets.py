"""Presets: one code path, several sizes.

A preset is a named, frozen config. ``tiny`` (the default) runs everything on a 2-core CPU; ``paper``
is the same code at the size of the EgoM2P paper. Every artifact stores ``preset.to_dict()``.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

CLIP_FRAMES = 60  # frames per canonical clip (2 s at 30 FPS), every preset
CLIP_FPS = 30.0


@dataclass(frozen=True)
class VideoTokenizerSpec:
    """Cosmos-style discrete video tokenizer: (B,3,T,H,W) in [-1,1] -> indices (B,t,h,w)."""
    resolution: int            # square input side, pixels
    frames: int = 16           # frames fed per clip (8 fps x 2 s), padded to 17 (causal 1+4k)
    fps: float = 8.0
    temporal_compression: int = 4
    spatial_compression: int = 8
    fsq_levels: tuple[int, ...] = (8, 8, 8, 5, 5, 5)
    channels: int = 128        # base width of the conv trunk
    channels_mult: tuple[int, ...] = (2, 4, 4)  # width multiplier per level (Cosmos DV default)
    num_res_blocks: int = 2    # residual blocks per encoder level (decoder: +1)
    z_channels: int = 16       # latent width before the 1x1x1 projection to len(fsq_levels)
    patch_size: int = 4        # Haar wavelet patcher: t, h, w divided by this (log2 levels)

    @property
    def token_grid(self) -> tuple[int, int, int]:
        """(t, h, w) token grid of one clip; t counts the causal first frame."""
        padded = self.frames + 1
        t = 1 + (padded - 1) // self.temporal_compression
        s = self.resolution // self.spatial_compression
        return (t, s, s)

    @property
    def vocab_size(self) -> int:
        n = 1
        for level in self.fsq_levels:
            n *= level
        return n


@dataclass(frozen=True)
class TrajectoryTokenizerSpec:
    """Transformer VQ-VAE over 60 samples -> 30 tokens (2x temporal downsampling)."""
    dim: int
    depth: int
    heads: int
    codebook_size: int = 256
    latent_dim: int = 32
    temporal_compression: int = 2
    mlp_ratio: float = 4.0
    ema_decay: float = 0.99            # EMA codebook decay
    dead_code_threshold: float = 2.0   # EMA cluster size below which a code is replaced from the batch
    commitment_weight: float = 1.0


@dataclass(frozen=True)
class ModelSpec:
    """4M-style encoder-decoder sizes."""
    dim: int
    encoder_depth: int
    decoder_depth: int
    heads: int
    mlp_ratio: float = 4.0
    input_budget: int = 256
    target_budget: int = 256


@dataclass(frozen=True)
class Preset:
    name: str
    video: VideoTokenizerSpec
    trajectory: TrajectoryTokenizerSpec
    model: ModelSpec
    clip_frames: int = CLIP_FRAMES
    clip_fps: float = CLIP_FPS
    # canonical clip side in pixels: twice the tokenizer resolution, so a tokenizer of
    # another preset can still read the same clips.
    clip_resolution: int = field(default=0)

    def __post_init__(self):
        if self.clip_resolution == 0:
            object.__setattr__(self, "clip_resolution", 2 * self.video.resolution)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


TINY = Preset(
    name="tiny",
    video=VideoTokenizerSpec(resolution=64, channels=32),
    trajectory=TrajectoryTokenizerSpec(dim=128, depth=2, heads=4),
    model=ModelSpec(dim=256, encoder_depth=4, decoder_depth=4, heads=4, input_budget=256, target_budget=256),
)

PAPER = Preset(
    name="paper",
    video=VideoTokenizerSpec(resolution=256, channels=128),
    trajectory=TrajectoryTokenizerSpec(dim=768, depth=12, heads=12),
    model=ModelSpec(dim=768, encoder_depth=12, decoder_depth=12, heads=12, input_budget=2048, target_budget=2048),
)

PRESETS: dict[str, Preset] = {p.name: p for p in (TINY, PAPER)}
DEFAULT_PRESET = "tiny"


def get_preset(name: str | None = None) -> Preset:
    """Return the preset called ``name`` (default ``tiny``); unknown names raise a clear KeyError."""
    name = name or DEFAULT_PRESET
    try:
        return PRESETS[name]
    except KeyError:
        raise KeyError(f"unknown preset {name!r}; known presets: {sorted(PRESETS)}") from None
