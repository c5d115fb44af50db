"""Feature codecs: how a trajectory modality's canonical array becomes per-frame VQ-VAE features.

A codec belongs to a registry ``value`` kind, not to a modality name, so every modality of a kind shares
it and a new modality of a known kind needs no code here:

- ``image_point`` (gaze (60, 2) in [0, 1], NaN invalid) -> (60, 2) in [-1, 1], fixed mean/std 0.5; augmented
  by time reversal and an x-flip;
- ``pose`` (camera (60, 4, 4) c2w) -> (60, 9) [6D rotation, translation (m)] relative to frame 0,
  z-normalized with training statistics (optionally companded translation); augmented by time reversal
  (re-anchored at the new first frame) and small conjugating rotations;
- ``vector`` (any (60, *shape) signal, NaN invalid) -> (60, prod(shape)) flattened, z-normalized over
  valid frames; no augmentation.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from egom2p import modalities as M

from . import features as F


@dataclass(frozen=True)
class FeatureCodec:
    """encode(array) -> (raw features (60, C) float32, valid (60,) bool; invalid frames are 0);
    decode(x (…, 60, C), sample_shape) -> canonical arrays (…, 60, *sample_shape) float32;
    dims(sample_shape) -> C; fit: z-normalize with training statistics (else identity);
    compand(cfg) -> per-channel companding scales for the normalizer (empty = linear);
    augment(batch, reversed, rng) -> batch: per-batch augmentation after time reversal (None = the
    codec trains without augmentation); errors(modality, recon, gt) -> reconstruction metrics."""
    encode: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
    decode: Callable[[np.ndarray, tuple[int, ...]], np.ndarray]
    dims: Callable[[tuple[int, ...]], int]
    fit: bool
    errors: Callable[[str, list, list], dict]
    compand: Callable[[object], tuple[float, ...]] = lambda cfg: ()
    augment: Callable | None = None


def _camera_encode(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return F.camera_features(a), np.ones(len(a), bool)


def _camera_compand(cfg) -> tuple[float, ...]:
    """Translation channels 6:9 companded when ``cfg.compand_m`` > 0."""
    return (0.0,) * 6 + (cfg.compand_m,) * 3 if cfg.compand_m > 0 else ()


def _augment_camera(x: np.ndarray, rng: np.random.Generator, max_deg: float = 10.0) -> np.ndarray:
    """Conjugate each (60,4,4) relative trajectory by a small random rotation S: S⁻¹·T·S (frame 0 stays I)."""
    out = []
    for T in x:
        axis = rng.normal(size=3)
        axis /= np.linalg.norm(axis)
        ang = np.radians(rng.uniform(-max_deg, max_deg))
        K = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
        S = np.eye(4)
        S[:3, :3] = np.eye(3) + np.sin(ang) * K + (1 - np.cos(ang)) * K @ K
        out.append(np.linalg.inv(S) @ T @ S)
    return np.stack(out)


def _camera_augment(batch: np.ndarray, rev: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    batch[rev] = np.linalg.inv(batch[rev][:, :1]) @ batch[rev]
    return _augment_camera(batch, rng)


def _gaze_augment(batch: np.ndarray, rev: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    flip = rng.random(len(batch)) < 0.5
    batch[flip, :, 0] = 1.0 - batch[flip, :, 0]
    return batch


def _gaze_errors(modality: str, recon: list, gt: list) -> dict:
    return {f"{modality}_error_frac_width": float(np.mean([F.gaze_error(r, a) for r, a in zip(recon, gt)]))}


def _camera_errors(modality: str, recon: list, gt: list) -> dict:
    errs = [F.camera_errors(r, a) for r, a in zip(recon, gt)]
    return {f"{modality}_ate_m": float(np.sqrt(np.mean([e[0] ** 2 for e in errs]))),
            f"{modality}_rot_deg": float(np.mean([e[1] for e in errs]))}


def _vector_encode(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(a, np.float64).reshape(len(a), -1)
    valid = np.isfinite(x).all(axis=-1)
    return np.where(valid[:, None], x, 0.0).astype(np.float32), valid


def _vector_errors(modality: str, recon: list, gt: list) -> dict:
    """RMSE over valid frames of every clip."""
    sq = [((np.asarray(r, np.float64) - g) ** 2)[np.isfinite(g)] for r, g in zip(recon, gt)]
    flat = np.concatenate([s.ravel() for s in sq]) if sq else np.empty(0)
    return {f"{modality}_rmse": float(np.sqrt(flat.mean())) if flat.size else float("nan")}


CODECS: dict[str, FeatureCodec] = {
    "image_point": FeatureCodec(F.gaze_features, lambda x, shape: F.features_to_gaze(x), lambda shape: 2, fit=False,
                                errors=_gaze_errors, augment=_gaze_augment),
    "pose": FeatureCodec(_camera_encode, lambda x, shape: F.features_to_camera(x), lambda shape: 9, fit=True,
                         errors=_camera_errors,
                         compand=_camera_compand, augment=_camera_augment),
    "vector": FeatureCodec(_vector_encode, lambda x, shape: np.asarray(x, np.float32).reshape(*x.shape[:-1], *shape),
                           lambda shape: math.prod(shape),
                           fit=True, errors=_vector_errors),
}


def codec_for(modality: str) -> FeatureCodec:
    """The codec of a registered trajectory modality (by its row's ``value``)."""
    row = M.get(modality)
    if row.value not in CODECS:
        raise KeyError(f"no trajectory feature codec for value kind {row.value!r} (modality {modality!r}); "
                       f"known: {sorted(CODECS)}")
    return CODECS[row.value]


def feature_dims(modality: str) -> int:
    """Feature channels C of a trajectory modality."""
    return codec_for(modality).dims(M.get(modality).sample_shape)


def decode(modality: str, x: np.ndarray) -> np.ndarray:
    """Raw features (…, 60, C) -> canonical arrays (…, 60, *sample_shape)."""
    return codec_for(modality).decode(x, M.get(modality).sample_shape)
