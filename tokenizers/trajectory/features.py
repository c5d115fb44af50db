"""Trajectory features: canonical clip arrays ↔ per-frame vectors for the VQ-VAE.

gaze   (60, 2) in [0,1], NaN invalid  →  (60, 2) in [-1,1] (mean/std 0.5), NaN → 0 and mask False.
camera (60, 4, 4) OpenCV c2w          →  (60, 9) = [R[:,0], R[:,1], t] of T_0⁻¹·T_i (6D rotation + metres),
                                          z-normalized with mean/std (9,) from the training data.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from egom2p.metrics import gaze_pixel_errors, position_rmse, rotation_error_deg

def gaze_features(gaze: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(60, 2) normalized gaze → (features (60, 2) float32 in [-1,1], valid mask (60,) bool)."""
    valid = np.isfinite(gaze).all(axis=-1)
    x = np.where(valid[:, None], (gaze - 0.5) / 0.5, 0.0).astype(np.float32)
    return x, valid


def features_to_gaze(x: np.ndarray) -> np.ndarray:
    """(…, 60, 2) features → gaze in [0,1] image coordinates."""
    return (np.asarray(x, np.float32) * 0.5 + 0.5).astype(np.float32)


def camera_features(camera: np.ndarray) -> np.ndarray:
    """(60, 4, 4) c2w → (60, 9) raw features [6D rotation, translation (m)] relative to the first frame."""
    T = np.asarray(camera, np.float64)
    rel = np.linalg.inv(T[0])[None] @ T
    R, t = rel[:, :3, :3], rel[:, :3, 3]
    return np.concatenate([R[:, :, 0], R[:, :, 1], t], axis=-1).astype(np.float32)


def rotation_from_6d(r6: np.ndarray) -> np.ndarray:
    """(…, 6) two rotation columns → (…, 3, 3) by Gram–Schmidt."""
    a, b = r6[..., :3], r6[..., 3:6]
    c1 = a / np.linalg.norm(a, axis=-1, keepdims=True).clip(1e-8)
    b = b - (c1 * b).sum(-1, keepdims=True) * c1
    c2 = b / np.linalg.norm(b, axis=-1, keepdims=True).clip(1e-8)
    return np.stack([c1, c2, np.cross(c1, c2)], axis=-1)


def features_to_camera(x: np.ndarray) -> np.ndarray:
    """(…, 60, 9) raw features → (…, 60, 4, 4) c2w poses relative to the first frame."""
    x = np.asarray(x, np.float64)
    T = np.zeros(x.shape[:-1] + (4, 4))
    T[..., :3, :3] = rotation_from_6d(x[..., :6])
    T[..., :3, 3] = x[..., 6:9]
    T[..., 3, 3] = 1.0
    return T.astype(np.float32)


@dataclass(frozen=True)
class Normalizer:
    """Per-channel ``(compand(x) - mean) / std``; saved with the tokenizer (:meth:`to_dict`).

    ``compand`` (per channel, same units as x; empty or 0 = linear, the paper's features) maps
    x → sign(x)·s·log1p(|x|/s): linear below ~s, logarithmic above, so centimetre motions keep resolution
    when the statistics are dominated by metre-scale ones."""
    mean: tuple[float, ...]
    std: tuple[float, ...]
    compand: tuple[float, ...] = ()

    @classmethod
    def identity(cls, dims: int) -> "Normalizer":
        return cls((0.0,) * dims, (1.0,) * dims)

    @classmethod
    def fit(cls, x: np.ndarray, mask: np.ndarray | None = None, min_std: float = 1e-3,
            compand: tuple[float, ...] = ()) -> "Normalizer":
        """Stats of (N, 60, D) features (companded first) over valid frames (mask (N, 60))."""
        y = cls((0.0,) * x.shape[-1], (1.0,) * x.shape[-1], tuple(compand))._compand(x)
        flat = y.reshape(-1, y.shape[-1]) if mask is None else y[mask]
        return cls(tuple(float(v) for v in flat.mean(0)), tuple(float(v) for v in np.maximum(flat.std(0), min_std)),
                   tuple(float(v) for v in compand))

    @classmethod
    def from_dict(cls, d: dict) -> "Normalizer":
        return cls(tuple(d["mean"]), tuple(d["std"]), tuple(d.get("compand", ())))

    def to_dict(self) -> dict:
        return {"mean": list(self.mean), "std": list(self.std), **({"compand": list(self.compand)} if any(self.compand) else {})}

    def _compand(self, x: np.ndarray, inverse: bool = False) -> np.ndarray:
        if not any(self.compand):
            return x
        s = np.array(self.compand, np.float64)
        on, safe = s > 0, np.where(s > 0, s, 1.0)
        a = np.abs(x) / safe
        y = np.sign(x) * safe * (np.expm1(a) if inverse else np.log1p(a))
        return np.where(on, y, x)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        y = self._compand(np.asarray(x, np.float64))
        return ((y - np.array(self.mean)) / np.array(self.std)).astype(np.float32)

    def inverse(self, x: np.ndarray) -> np.ndarray:
        y = np.asarray(x, np.float64) * np.array(self.std) + np.array(self.mean)
        return self._compand(y, inverse=True).astype(np.float32)


def camera_errors(pred: np.ndarray, gt: np.ndarray) -> tuple[float, float]:
    """(ATE in metres = RMSE of positions, mean geodesic rotation error in degrees) for (…, 60, 4, 4) c2w.

    Unaligned (a tokenizer reconstructs the gt frame); the task metrics with alignment are
    ``egom2p.metrics.camera_metrics``."""
    err = rotation_error_deg(np.asarray(pred)[..., :3, :3], np.asarray(gt)[..., :3, :3])
    return position_rmse(pred, gt), float(err.mean())


def gaze_error(pred: np.ndarray, gt: np.ndarray) -> float:
    """Mean Euclidean error over valid (finite) gt samples, in fractions of the image width."""
    err = gaze_pixel_errors(pred, gt)
    return float(err.mean()) if err.size else float("nan")
