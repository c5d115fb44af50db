"""Training clips for the video tokenizer, held in memory at the tokenizer resolution, with augmentation.

A :class:`VideoBank` keeps *every* source frame of each clip (60 at 30 fps for canonical clips), so a
batch can shift the 8-fps sampling grid of ``data.frame_indices`` by 0…3 source frames: four distinct,
real frame sets per clip (``Augment.time_offset``). Horizontal flips double that again. Evaluation never
goes through the bank (it reads the canonical grid, ``data.rgb_to_video``/``depth_to_video``).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from egom2p import modalities as M
from egom2p.clip import read_clip

from . import data as V


def video_modalities() -> tuple[str, ...]:
    """Registered video modalities (rgb, depth, …), registry order."""
    return tuple(m.name for m in M.rows(kind="video"))


def is_map(modality: str) -> bool:
    """A video modality stored as a single-channel map in [0, 1] (depth) rather than color frames."""
    return M.get(modality).value != "color"


@dataclass(frozen=True)
class Augment:
    """Training-time augmentation: shift the temporal sampling grid (source frames), mirror left-right."""
    time_offset: bool = True
    hflip: bool = True


class VideoBank:
    """``videos`` (N, 3, F, S, S) float16 in [-1, 1] (F source frames), ``is_depth`` (N,) bool, and
    ``base`` (frames,) int: the source frames of one tokenizer clip before shifting; the shift is at most
    ``max_offset = F - 1 - base[-1]`` frames."""

    def __init__(self, videos: np.ndarray | torch.Tensor, is_depth: np.ndarray, base: np.ndarray):
        self.videos = torch.as_tensor(videos, dtype=torch.float16)
        self.is_depth = torch.as_tensor(np.asarray(is_depth, bool))
        self.base = np.asarray(base, np.int64)
        self.max_offset = int(self.videos.shape[2] - 1 - self.base[-1])
        if len(self.is_depth) != len(self.videos) or self.max_offset < 0:
            raise ValueError("videos, is_depth and base do not fit together")

    def __len__(self) -> int:
        return len(self.videos)

    @classmethod
    def from_videos(cls, videos: np.ndarray, kinds: list[str] | None = None) -> "VideoBank":
        """Ready-made clips (N, 3, frames, S, S) in [-1,1] (no time shifts); ``kinds``: the video modality of
        each row (default: all color)."""
        is_depth = [is_map(k) for k in kinds] if kinds else [False] * len(videos)
        return cls(videos, np.array(is_depth, bool), np.arange(videos.shape[2]))

    @classmethod
    def from_clips(cls, folders: list[Path], frames: int, fps: float, side: int,
                   modalities: tuple[str, ...] | None = None) -> "VideoBank":
        """Every video stream (rgb, depth, … or ``modalities``) of the canonical clips in ``folders`` (all 60
        frames, resized to ``side``)."""
        videos, depth = [], []
        for folder in folders:
            clip = read_clip(folder, modalities=modalities or video_modalities())
            for m in clip:
                stream = V.depth_frames(clip[m], side)[0] if is_map(m) else V.rgb_frames(clip[m], side)
                videos.append(torch.from_numpy(stream).half())
                depth.append(is_map(m))
        if not videos:
            raise ValueError(f"no rgb/depth streams in {len(folders)} clip folders")
        lengths = {v.shape[1] for v in videos}
        if len(lengths) != 1:
            raise ValueError(f"clips of different lengths {sorted(lengths)}")
        return cls(torch.stack(videos), np.array(depth), V.frame_indices(frames, fps))

    def sample(self, rng: np.random.Generator, batch: int, augment: Augment = Augment()) -> tuple[torch.Tensor, torch.Tensor]:
        """A random batch: (x (B, 3, frames, S, S) float32 in [-1,1], is_depth (B,) bool)."""
        idx = rng.integers(0, len(self), size=min(batch, len(self)))
        offsets = rng.integers(0, self.max_offset + 1, size=len(idx)) if augment.time_offset else np.zeros(len(idx), int)
        flips = rng.random(len(idx)) < 0.5 if augment.hflip else np.zeros(len(idx), bool)
        clips = []
        for i, o, f in zip(idx, offsets, flips):
            x = self.videos[i][:, torch.from_numpy(self.base + o)]
            clips.append(x.flip(-1) if f else x)
        return torch.stack(clips).float(), self.is_depth[torch.from_numpy(idx)]
