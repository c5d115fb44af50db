"""Trivial baselines of the four tasks, in canonical-clip format.

Each takes the conditioning inputs it needs and returns what a model would: gaze (60, 2) float32 in
[0, 1]; camera (60, 4, 4) float32 c2w with the first frame = identity; depth (60, S, S) float16 normalized
inverse depth; rgb (60, S, S, 3) uint8. The classical camera specialist (monocular VO) is in ``vo.py``.
"""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from egom2p.presets import CLIP_FRAMES


def center_gaze(frames: int = CLIP_FRAMES) -> np.ndarray:
    """Gaze at the image centre (0.5, 0.5) on every frame: (frames, 2) float32."""
    return np.full((frames, 2), 0.5, np.float32)


def static_camera(frames: int = CLIP_FRAMES) -> np.ndarray:
    """A camera that never moves: (frames, 4, 4) float32 identity poses."""
    return np.broadcast_to(np.eye(4, dtype=np.float32), (frames, 4, 4)).copy()


def fit_mean_depth(depths: Iterable[np.ndarray]) -> tuple[float, np.ndarray]:
    """Mean training inverse depth from canonical depth arrays (60, S, S) (NaN ignored, all the same S).

    Returns (scalar mean over all valid pixels, per-pixel mean map (S, S) float32, NaN where never valid).
    """
    total, count = None, None
    for d in depths:
        d = np.asarray(d, np.float64)
        ok = np.isfinite(d)
        s, n = np.where(ok, d, 0.0).sum(0), ok.sum(0)
        total, count = (s, n) if total is None else (total + s, count + n)
    if total is None or count.sum() == 0:
        raise ValueError("no valid depth to average")
    with np.errstate(invalid="ignore", divide="ignore"):
        per_pixel = np.where(count > 0, total / np.maximum(count, 1), np.nan).astype(np.float32)
    return float(total.sum() / count.sum()), per_pixel


def mean_depth(side: int, mean: float | np.ndarray, frames: int = CLIP_FRAMES) -> np.ndarray:
    """Constant depth prediction: (frames, side, side) float16 filled with ``mean``.

    mean: a scalar (the mean training inverse depth) or a per-pixel map (side, side) (``fit_mean_depth``;
    NaN pixels of the map fall back to its finite mean).
    """
    m = np.asarray(mean, np.float32)
    if m.ndim == 2:
        if m.shape != (side, side):
            raise ValueError(f"mean depth map {m.shape} does not match side {side}")
        m = np.where(np.isfinite(m), m, np.nanmean(m) if np.isfinite(m).any() else 0.5)
    return np.broadcast_to(m, (frames, side, side)).astype(np.float16)


def copy_first_frame(rgb: np.ndarray, frames: int = CLIP_FRAMES) -> np.ndarray:
    """Video generation by repeating the conditioning frame: rgb (S, S, 3) or (T, S, S, 3) uint8 (its first
    frame is used) → (frames, S, S, 3) uint8."""
    rgb = np.asarray(rgb)
    first = rgb if rgb.ndim == 3 else rgb[0]
    return np.broadcast_to(first, (frames,) + first.shape).astype(np.uint8)


__all__ = ["center_gaze", "static_camera", "fit_mean_depth", "mean_depth", "copy_first_frame"]
