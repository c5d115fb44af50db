"""The modality registry: one row per modality (DESIGN.md §2).

Everything the pipeline knows about a modality — how it is stored in a canonical clip, its sampling rate,
how many tokens it becomes under each preset, its vocabulary and positional-encoding kind — comes from
its row here. Adding a modality is one ``register(...)`` call plus its tokenizer.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .presets import CLIP_FPS, CLIP_FRAMES, Preset, get_preset


@dataclass(frozen=True)
class Modality:
    """One modality.

    name:        registry key, also the canonical-clip file stem (``rgb.mp4``, ``gaze.npy`` …)
    kind:        ``"video"`` (frames) or ``"trajectory"`` (per-frame vectors)
    clip_file:   file name inside a canonical clip folder; absent file = modality missing
    sample_shape: shape of one 30 FPS sample in the clip file, e.g. (2,) for gaze, (4, 4) for camera;
                  for video, (channels,) and the spatial size comes from the preset
    rate_hz:     sampling rate in the canonical clip
    pos_enc:     ``"sincos3d"`` (t, h, w grid) or ``"sincos1d"`` (time)
    token_shape: preset -> token grid of one clip, e.g. (5, 32, 32) or (30,)
    vocab_size:  preset -> number of discrete codes
    """
    name: str
    kind: str
    clip_file: str
    sample_shape: tuple[int, ...]
    rate_hz: float
    pos_enc: str
    token_shape: Callable[[Preset], tuple[int, ...]]
    vocab_size: Callable[[Preset], int]

    def tokens_per_clip(self, preset: Preset | str | None = None) -> int:
        p = preset if isinstance(preset, Preset) else get_preset(preset)
        n = 1
        for d in self.token_shape(p):
            n *= d
        return n

    def clip_shape(self, preset: Preset | str | None = None) -> tuple[int, ...]:
        """Array shape of this modality in a canonical clip (video: (T, H, W[, C]))."""
        p = preset if isinstance(preset, Preset) else get_preset(preset)
        if self.kind == "video":
            side = p.clip_resolution
            c = self.sample_shape[0]
            return (CLIP_FRAMES, side, side) if c == 1 else (CLIP_FRAMES, side, side, c)
        return (CLIP_FRAMES, *self.sample_shape)


def _video_grid(p: Preset) -> tuple[int, ...]:
    return p.video.token_grid


def _traj_grid(p: Preset) -> tuple[int, ...]:
    return (CLIP_FRAMES // p.trajectory.temporal_compression,)


REGISTRY: dict[str, Modality] = {}


def register(modality: Modality) -> Modality:
    """Add a modality row; names are unique."""
    if modality.name in REGISTRY:
        raise ValueError(f"modality {modality.name!r} is already registered")
    if modality.kind not in ("video", "trajectory"):
        raise ValueError(f"modality kind must be 'video' or 'trajectory', got {modality.kind!r}")
    REGISTRY[modality.name] = modality
    return modality


def unregister(name: str) -> None:
    """Remove a row (tests that add a toy modality clean up with this)."""
    REGISTRY.pop(name, None)


def get(name: str) -> Modality:
    try:
        return REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown modality {name!r}; registered: {sorted(REGISTRY)}") from None


register(Modality("rgb", "video", "rgb.mp4", (3,), CLIP_FPS, "sincos3d", _video_grid, lambda p: p.video.vocab_size))
register(Modality("depth", "video", "depth.npy", (1,), CLIP_FPS, "sincos3d", _video_grid, lambda p: p.video.vocab_size))
register(Modality("gaze", "trajectory", "gaze.npy", (2,), CLIP_FPS, "sincos1d", _traj_grid,
                  lambda p: p.trajectory.codebook_size))
register(Modality("camera", "trajectory", "camera.npy", (4, 4), CLIP_FPS, "sincos1d", _traj_grid,
                  lambda p: p.trajectory.codebook_size))

MODALITIES = ("rgb", "depth", "gaze", "camera")
