"""Canonical clip ↔ video-tokenizer tensors.

A canonical clip holds 60 frames at 30 fps and ``clip_resolution``² pixels. The tokenizer sees
``frames`` (16) frames at ``fps`` (8) — frame i is clip frame round(i·30/8) — resized to ``resolution``²,
in [-1, 1], edge-padded in time to the causal length 1 + k·c_t (16 → 17) as Cosmos' ``pad_video_batch``.
Depth is tokenized as a 3-channel video (inverse depth d ∈ [0,1] → 2d-1 on every channel, NaN → 0 = far)
and decoded as the channel mean.
"""
from __future__ import annotations

import cv2
import numpy as np
import torch

from egom2p.presets import CLIP_FPS


def frame_indices(frames: int, fps: float, clip_fps: float = CLIP_FPS) -> np.ndarray:
    """Indices of the clip frames kept when subsampling to ``fps``: (frames,) int."""
    return np.round(np.arange(frames) * clip_fps / fps).astype(int)


def _resize(frames: np.ndarray, side: int) -> np.ndarray:
    if frames.shape[1] == side and frames.shape[2] == side:
        return frames
    return np.stack([cv2.resize(f, (side, side), interpolation=cv2.INTER_AREA) for f in frames])


def rgb_frames(rgb: np.ndarray, side: int) -> np.ndarray:
    """(T, S, S, 3) uint8 → (3, T, side, side) float32 in [-1, 1] (every frame, area-resized)."""
    x = _resize(rgb, side).astype(np.float32) / 127.5 - 1.0
    return np.ascontiguousarray(x.transpose(3, 0, 1, 2))


def rgb_to_video(rgb: np.ndarray, frames: int, fps: float, side: int) -> np.ndarray:
    """(60, S, S, 3) uint8 → (3, frames, side, side) float32 in [-1, 1]."""
    return rgb_frames(rgb[frame_indices(frames, fps)], side)


def depth_to_video(depth: np.ndarray, frames: int, fps: float, side: int) -> tuple[np.ndarray, np.ndarray]:
    """(60, S, S) inverse depth in [0,1] with NaN → ((3, frames, side, side) in [-1,1], valid mask (frames, side, side))."""
    return depth_frames(depth[frame_indices(frames, fps)], side)


def depth_frames(depth: np.ndarray, side: int) -> tuple[np.ndarray, np.ndarray]:
    """(T, S, S) inverse depth in [0,1] with NaN → ((3, T, side, side) in [-1,1], valid mask (T, side, side))."""
    d = depth.astype(np.float32)
    valid = _resize(np.isfinite(d).astype(np.float32), side) > 0.999
    d = _resize(np.nan_to_num(d, nan=0.0), side)
    x = np.repeat((2.0 * d - 1.0)[None], 3, axis=0)
    return np.ascontiguousarray(x, dtype=np.float32), valid


def rgb_reference(rgb: np.ndarray, frames: int, fps: float, side: int) -> np.ndarray:
    """(60, S, S, 3) uint8 clip → what a tokenizer reconstruction is scored against: (frames, side, side, 3) uint8."""
    return video_to_rgb(rgb_to_video(rgb, frames, fps, side))


def depth_reference(depth: np.ndarray, frames: int, fps: float, side: int) -> tuple[np.ndarray, np.ndarray]:
    """(60, S, S) inverse depth with NaN → the scoring reference: ((frames, side, side) in [0, 1], valid mask)."""
    vid, valid = depth_to_video(depth, frames, fps, side)
    return video_to_depth(vid), valid


def video_to_depth(video: torch.Tensor | np.ndarray) -> np.ndarray:
    """(3, T, H, W) or (B, 3, T, H, W) in [-1,1] → inverse depth (…, T, H, W) in [0,1] (channel mean)."""
    v = video.detach().float().cpu().numpy() if isinstance(video, torch.Tensor) else np.asarray(video, np.float32)
    return np.clip((v.mean(axis=-4) + 1.0) / 2.0, 0.0, 1.0)


def video_to_rgb(video: torch.Tensor | np.ndarray) -> np.ndarray:
    """(3, T, H, W) in [-1,1] → (T, H, W, 3) uint8."""
    v = video.detach().float().cpu().numpy() if isinstance(video, torch.Tensor) else np.asarray(video, np.float32)
    return np.clip((v.transpose(1, 2, 3, 0) + 1.0) * 127.5 + 0.5, 0, 255).astype(np.uint8)


def pad_time(x: torch.Tensor, frames: int) -> torch.Tensor:
    """(B, C, T, H, W) → (B, C, frames, H, W), repeating the last frame (Cosmos pads 16 → 17 this way)."""
    extra = frames - x.shape[2]
    if extra <= 0:
        return x
    return torch.cat([x, x[:, :, -1:].expand(-1, -1, extra, -1, -1)], dim=2)


def psnr(a: np.ndarray, b: np.ndarray, peak: float = 255.0) -> float:
    """PSNR in dB between two arrays of the same shape (uint8 video: peak 255)."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(peak ** 2 / mse)


def abs_rel(pred: np.ndarray, gt: np.ndarray, valid: np.ndarray, min_gt: float = 0.05) -> float:
    """Mean |pred - gt| / gt over valid pixels with gt ≥ ``min_gt``, in the canonical clip's units.

    Canonical depth is inverse depth *affinely* normalized per sequence (its 1st/99th percentiles → 0/1,
    curation/normalize.py), so 0 is the sequence's far end, not infinity: relative errors near 0 are
    amplified, which makes this stricter than AbsRel of metric depth (:func:`abs_rel_metric`).
    """
    m = valid & (gt >= min_gt)
    if not m.any():
        return float("nan")
    return float(np.mean(np.abs(pred[m] - gt[m]) / gt[m]))


def abs_rel_metric(pred: np.ndarray, gt: np.ndarray, valid: np.ndarray, inv_lo: float, inv_hi: float) -> float:
    """Standard AbsRel mean |D_pred - D_gt| / D_gt of depth D = 1 / (d·(inv_hi - inv_lo) + inv_lo), d the
    canonical normalized inverse depth (the clip's ``depth_normalization`` constants), over valid pixels
    strictly inside (0, 1) (pixels clipped by the normalization have no exact ground truth)."""
    m = valid & (gt > 0.0) & (gt < 1.0)
    if not m.any():
        return float("nan")
    inv_p, inv_g = (np.asarray(a, np.float64)[m] * (inv_hi - inv_lo) + inv_lo for a in (pred, gt))
    return float(np.mean(np.abs(1.0 / np.maximum(inv_p, 1e-9) - 1.0 / inv_g) * inv_g))
