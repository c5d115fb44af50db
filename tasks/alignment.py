"""Trajectory alignment (Umeyama SE(3) / Sim(3)) and pose-error primitives for the camera metrics.

Conventions (DESIGN.md §4, core/geometry.py): poses are (N, 4, 4) OpenCV camera-to-world ``T_w_c``,
translations in metres. An alignment is a similarity ``x ↦ s·R·x + t`` applied to the *predicted*
trajectory so that it best matches the ground truth in the least-squares sense over camera centres
(Umeyama 1991, as in evo's ``PosePath3D.align``): the aligned pose is ``[s·R·t_i + t, R·R_i]``.

Modes: ``"sim3"`` (rotation, translation, scale: monocular methods whose scale is unknown), ``"se3"``
(rotation and translation only: metric methods), ``"none"`` (identity).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from egom2p.geometry import invert_pose

ALIGN_MODES = ("sim3", "se3", "none")
DEGENERATE_VAR = 1e-12  # m²: a predicted trajectory whose centres spread less than this is "static"


@dataclass(frozen=True)
class Similarity:
    """``x ↦ scale · R @ x + t`` — R (3, 3), t (3,) metres, scale dimensionless."""
    scale: float
    R: np.ndarray
    t: np.ndarray

    def apply_points(self, p: np.ndarray) -> np.ndarray:
        """(…, 3) points → (…, 3) transformed points."""
        return self.scale * np.einsum("ij,...j->...i", self.R, p) + self.t

    def apply_poses(self, T: np.ndarray) -> np.ndarray:
        """(N, 4, 4) c2w poses → aligned (N, 4, 4) poses (rotation R·R_i, centre s·R·c_i + t), float64."""
        T = np.asarray(T, np.float64)
        out = np.array(T)
        out[..., :3, :3] = self.R @ T[..., :3, :3]
        out[..., :3, 3] = self.apply_points(T[..., :3, 3])
        return out

    @classmethod
    def identity(cls) -> "Similarity":
        return cls(1.0, np.eye(3), np.zeros(3))


def umeyama(src: np.ndarray, dst: np.ndarray, with_scale: bool = True) -> Similarity:
    """Least-squares similarity (or rigid, ``with_scale=False``) mapping ``src`` onto ``dst``.

    src, dst: (N, 3) corresponding points. Minimizes Σ‖dst_i − (s·R·src_i + t)‖² (Umeyama 1991, eq. 40–42),
    with the reflection fix so det R = +1. Degenerate input: when ``src`` has (numerically) no spread, R = I,
    s = 1 and t moves the centroid (the rotation and scale are unobservable); a rank-1/2 covariance (collinear
    or planar centres) still gives a valid, non-unique rotation.
    """
    src, dst = np.asarray(src, np.float64), np.asarray(dst, np.float64)
    if src.shape != dst.shape or src.ndim != 2 or src.shape[1] != 3 or len(src) == 0:
        raise ValueError(f"umeyama needs two (N, 3) arrays of the same shape, got {src.shape} and {dst.shape}")
    mu_s, mu_d = src.mean(0), dst.mean(0)
    xs, xd = src - mu_s, dst - mu_d
    var_s = float((xs ** 2).sum(1).mean())
    if var_s < DEGENERATE_VAR:
        return Similarity(1.0, np.eye(3), mu_d - mu_s)
    cov = xd.T @ xs / len(src)
    U, D, Vt = np.linalg.svd(cov)
    S = np.eye(3)
    if np.linalg.det(U) * np.linalg.det(Vt) < 0:
        S[2, 2] = -1.0
    R = U @ S @ Vt
    s = float(np.trace(np.diag(D) @ S) / var_s) if with_scale else 1.0
    return Similarity(s, R, mu_d - s * R @ mu_s)


def align_trajectory(pred: np.ndarray, gt: np.ndarray, mode: str = "sim3") -> tuple[np.ndarray, Similarity]:
    """Align predicted c2w poses (N, 4, 4) to gt (N, 4, 4) by their camera centres.

    Returns (aligned poses (N, 4, 4) float64, the similarity used). ``mode`` in ``ALIGN_MODES``.
    """
    if mode not in ALIGN_MODES:
        raise ValueError(f"alignment mode {mode!r} not in {ALIGN_MODES}")
    pred, gt = np.asarray(pred, np.float64), np.asarray(gt, np.float64)
    if pred.shape != gt.shape or pred.shape[-2:] != (4, 4):
        raise ValueError(f"pose arrays must both be (N, 4, 4), got {pred.shape} and {gt.shape}")
    sim = Similarity.identity() if mode == "none" else umeyama(pred[:, :3, 3], gt[:, :3, 3], mode == "sim3")
    return sim.apply_poses(pred), sim


def rotation_angle_deg(R: np.ndarray) -> np.ndarray:
    """Geodesic angle (degrees) of rotations (…, 3, 3): arccos((tr R − 1) / 2), clipped for round-off."""
    R = np.asarray(R, np.float64)
    cos = np.clip((np.trace(R, axis1=-2, axis2=-1) - 1.0) / 2.0, -1.0, 1.0)
    return np.degrees(np.arccos(cos))


def rotation_error_deg(Ra: np.ndarray, Rb: np.ndarray) -> np.ndarray:
    """Geodesic angle (degrees) between rotations (…, 3, 3) and (…, 3, 3): angle of Raᵀ·Rb."""
    return rotation_angle_deg(np.swapaxes(np.asarray(Ra, np.float64), -1, -2) @ np.asarray(Rb, np.float64))


def position_rmse(pred: np.ndarray, gt: np.ndarray) -> float:
    """RMSE (metres) of the camera centres of (…, 4, 4) poses over all leading dims (ATE once aligned)."""
    d = np.asarray(pred, np.float64)[..., :3, 3] - np.asarray(gt, np.float64)[..., :3, 3]
    return float(np.sqrt(np.mean(np.sum(d ** 2, axis=-1))))


def relative_pose_errors(pred: np.ndarray, gt: np.ndarray, delta: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Relative pose errors over all frame pairs (i, i + delta) — evo's RPE with ``all_pairs=True``.

    E_i = (G_i⁻¹ G_{i+δ})⁻¹ (P_i⁻¹ P_{i+δ}); returns (‖trans(E_i)‖ in metres (N−δ,),
    angle(rot(E_i)) in degrees (N−δ,)). Empty arrays when N ≤ delta.
    """
    pred, gt = np.asarray(pred, np.float64), np.asarray(gt, np.float64)
    if delta < 1:
        raise ValueError("delta must be >= 1")
    if len(pred) <= delta:
        return np.empty(0), np.empty(0)
    rel_p = invert_pose(pred[:-delta]) @ pred[delta:]
    rel_g = invert_pose(gt[:-delta]) @ gt[delta:]
    E = invert_pose(rel_g) @ rel_p
    return np.linalg.norm(E[:, :3, 3], axis=-1), rotation_angle_deg(E[:, :3, :3])


__all__ = ["ALIGN_MODES", "Similarity", "umeyama", "align_trajectory", "rotation_angle_deg",
           "rotation_error_deg", "position_rmse", "relative_pose_errors"]
