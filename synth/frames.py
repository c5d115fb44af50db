"""Rendering a synthetic sequence frame by frame through one camera (shared by the pinhole layouts)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np

from .common import FPS, Sequence
from .render import render, render_depth


@dataclass
class Frame:
    """One rendered frame: index i, motion time t (s), OpenCV c2w (4,4), rgb (H,W,3) uint8,
    z-depth (H,W) float32 metres (None unless asked), gaze world point (3,) NaN when invalid."""
    i: int
    t: float
    c2w: np.ndarray
    rgb: np.ndarray
    depth: np.ndarray | None
    gaze_world: np.ndarray


def render_frames(seq: Sequence, rays: np.ndarray, n: int, fps: float = FPS, depth_rays: np.ndarray | None = None,
                  bar=None) -> Iterator[Frame]:
    """Render frames 0..n-1 at ``i / fps`` seconds; depth from ``depth_rays`` (same camera centre)."""
    traj = seq.motion.sample(np.arange(n) / fps)
    for i in range(n):
        t, c2w = float(traj.times[i]), traj.c2w[i]
        rgb, depth = render(seq.world, c2w, rays, t)
        if depth_rays is not None and depth_rays is not rays:
            depth = render_depth(seq.world, c2w, depth_rays, t)
        yield Frame(i, t, c2w, rgb, depth if depth_rays is not None else None, traj.gaze_world[i])
        if bar is not None:
            bar.update(1)


def depth_to_uint16(depth_m: np.ndarray, units_per_m: float) -> np.ndarray:
    """Metric depth -> uint16 sensor units (0 = invalid / out of range)."""
    d = np.nan_to_num(np.asarray(depth_m, np.float64), nan=0.0, posinf=0.0) * units_per_m
    d[(d < 0) | (d > 65535)] = 0
    return np.round(d).astype(np.uint16)


def iter_sequences(layout: str, kind: str, sequences: int, seconds: float, seed: int, progress: bool,
                   frames_per_sequence: int) -> Iterator[tuple[int, Sequence, object]]:
    """(k, sequence, progress bar) for each sequence of a layout — the loop every emitter shares."""
    from .common import make_sequence, progress_bar
    with progress_bar(sequences * frames_per_sequence, layout, progress) as bar:
        for k in range(sequences):
            yield k, make_sequence(layout, seed, k, kind, seconds), bar
