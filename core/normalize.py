"""Normalization primitives of the canonical clip (pure numpy; curation and the synthetic world share them).

- depth: inverse depth, normalized per *sequence* so that its (low, high) percentiles map to (0, 1),
  clipped to [0, 1]; NaN stays NaN. Ground truth is metric (1 / depth_m); annotator labels are already
  relative inverse depth and are normalized directly (no reciprocal), with their own per-sequence range.
- gaze: rectified pixels (u, v) -> ((u + 0.5) / S, (v + 0.5) / S) in [0, 1]; outside the frame -> NaN.
- camera: OpenCV camera-to-world relative to the clip's first frame: T_0⁻¹ · T_i (first = identity).
"""
from __future__ import annotations

from typing import Iterable

import numpy as np

from .geometry import invert_pose

MAX_DEPTH_SAMPLES = 200_000


def depth_constants(depth_maps: Iterable[np.ndarray], percentiles=(1.0, 99.0), seed: int = 0) -> dict:
    """Per-sequence inverse-depth range {inv_lo, inv_hi} (1/m) from metric z-depth maps (NaN unknown)."""
    values = [d[np.isfinite(d) & (d > 0)].astype(np.float64) for d in depth_maps]
    return _inverse_range([1.0 / v for v in values], percentiles, seed)


def inverse_depth_constants(inv_maps: Iterable[np.ndarray], percentiles=(1.0, 99.0), seed: int = 0) -> dict:
    """The same range from relative inverse depth maps (annotators: affine-invariant, NaN unknown)."""
    return _inverse_range([m[np.isfinite(m)].astype(np.float64) for m in inv_maps], percentiles, seed)


def _inverse_range(values: list[np.ndarray], percentiles, seed: int) -> dict:
    v = np.concatenate(values) if values else np.empty(0)
    if v.size == 0:
        raise ValueError("no valid depth in sequence")
    if v.size > MAX_DEPTH_SAMPLES:
        v = np.random.default_rng(seed).choice(v, MAX_DEPTH_SAMPLES, replace=False)
    lo, hi = np.percentile(v, percentiles)
    if hi - lo < 1e-9:
        hi = lo + 1e-9
    return {"inv_lo": float(lo), "inv_hi": float(hi), "percentiles": list(percentiles)}


def normalize_depth(depth_m: np.ndarray, c: dict) -> np.ndarray:
    """Metric z-depth (…) -> normalized inverse depth in [0,1] (1 = near), NaN where unknown."""
    d = np.asarray(depth_m, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = np.where(np.isfinite(d) & (d > 0), 1.0 / d, np.nan)
    return normalize_inverse_depth(inv, c)


def normalize_inverse_depth(inv: np.ndarray, c: dict) -> np.ndarray:
    """Inverse depth (1/m or relative) -> [0,1] with the sequence's (inv_lo, inv_hi); NaN stays NaN."""
    inv = np.asarray(inv, dtype=np.float64)
    return np.clip((inv - c["inv_lo"]) / (c["inv_hi"] - c["inv_lo"]), 0.0, 1.0)


def denormalize_depth(depth_n: np.ndarray, c: dict) -> np.ndarray:
    """Inverse of ``normalize_depth`` inside the unclipped range: normalized -> metres."""
    inv = np.asarray(depth_n, np.float64) * (c["inv_hi"] - c["inv_lo"]) + c["inv_lo"]
    return 1.0 / inv


def normalize_gaze(gaze_px: np.ndarray, side: int) -> np.ndarray:
    """(T,2) rectified pixels -> (T,2) normalized coordinates in [0,1]; off-frame or invalid -> NaN."""
    g = (np.asarray(gaze_px, dtype=np.float64) + 0.5) / side
    bad = ~np.isfinite(g).all(-1) | (g < 0).any(-1) | (g > 1).any(-1)
    g[bad] = np.nan
    return g


def relative_poses(T_world_cam: np.ndarray) -> np.ndarray:
    """(T,4,4) camera-to-world -> poses relative to the first frame (T_0⁻¹ T_i), first exactly I."""
    T = np.asarray(T_world_cam, dtype=np.float64)
    rel = invert_pose(T[0]) @ T
    rel[0] = np.eye(4)
    rel[:, 3] = [0, 0, 0, 1]
    return rel


def valid_fraction(array: np.ndarray) -> float:
    """Fraction of frames (first axis) whose sample is entirely finite."""
    a = np.asarray(array)
    return float(np.isfinite(a.reshape(len(a), -1)).all(1).mean())


def gaze_from_meta(gaze_px: np.ndarray, meta: dict) -> np.ndarray:
    """``normalize_gaze`` with the clip's side (``meta["side"]``, pixels)."""
    return normalize_gaze(gaze_px, int(meta["side"]))


def poses_from_meta(T_world_cam: np.ndarray, meta: dict) -> np.ndarray:
    """``relative_poses`` (the clip meta is not needed)."""
    return relative_poses(T_world_cam)
