"""Evaluation metrics shared by the tokenizers and the tasks (pure numpy; one implementation of each).

- pose: poses are (N, 4, 4) OpenCV camera-to-world, metres. An alignment is a similarity
  ``x ↦ s·R·x + t`` applied to the *predicted* trajectory so that its camera centres best match the ground
  truth in the least-squares sense (Umeyama 1991, as evo's ``PosePath3D.align``): the aligned pose is
  ``[s·R·t_i + t, R·R_i]``. Modes ``"sim3"`` (monocular methods, unknown scale), ``"se3"`` (metric
  methods), ``"none"``. ``camera_metrics``: ``ate_m`` = RMSE of the aligned centres; ``rte_m`` / ``rre_deg``
  = RMSE over all pairs (i, i+δ) of the relative-pose error translation (m) / angle (deg), δ = 1 frame
  (evo ``main_rpe(delta=1, all_pairs=True)`` + ``stats['rmse']``); ``are_deg`` = RMSE of the absolute
  rotation angle after alignment (ill-conditioned when the gt centres are static or collinear).
- gaze: normalized image coordinates in [0, 1] of a ``side``² clip (pixel u ↔ (u + 0.5) / side);
  errors over frames whose gt is finite: Euclidean (in fractions of the side or scaled to pixels) and
  angular (rays through the clip's pinhole K); a non-finite prediction on a valid frame gives NaN.
- depth: canonical depth is per-sequence normalized inverse depth. ``depth_metrics`` fits the prediction
  to the gt in inverse-depth space by least-squares scale and shift (per clip), then AbsRel and δ<1.25 on
  depths 1/x over valid pixels; ``abs_rel`` / ``abs_rel_metric`` are the unaligned AbsRel of a
  reconstruction (tokenizers).
- video: PSNR of uint8 frames, peak 255 (``psnr`` over a whole array, ``psnr_frames`` per frame).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .geometry import invert_pose

ALIGN_MODES = ("sim3", "se3", "none")
DEGENERATE_VAR = 1e-12  # m²: a predicted trajectory whose centres spread less than this is "static"
RTE_DELTA = 1           # frames (30 fps → 33 ms)
DEPTH_EPS = 1e-6        # gt inverse depth must exceed this to be a valid pixel
DEPTH_FLOOR_REL = 1e-2  # default floor of the aligned inverse depth: 1 % of the clip's median gt inverse depth
DELTA1 = 1.25


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x)))) if len(x) else float("nan")


# --------------------------------------------------------------------------------------------- pose
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


def camera_metrics(pred: np.ndarray, gt: np.ndarray, align: str = "sim3", delta: int = RTE_DELTA) -> dict[str, float]:
    """Camera tracking metrics of one clip.

    pred, gt: (N, 4, 4) OpenCV camera-to-world, metres (gt relative to the first frame; pred in any frame
    and, for ``align="sim3"``, any scale). align: "sim3" (default), "se3" or "none".
    Returns {ate_m, rte_m, rre_deg, are_deg, align_scale (the similarity's scale; 1 unless "sim3")}; all NaN
    when the prediction has a non-finite value.
    """
    gt, pred = np.asarray(gt, np.float64), np.asarray(pred, np.float64)
    if not np.isfinite(pred).all():                                   # never forgiven, never raises
        return dict.fromkeys(("ate_m", "rte_m", "rre_deg", "are_deg", "align_scale"), float("nan"))
    aligned, sim = align_trajectory(pred, gt, align)
    t_err, r_err = relative_pose_errors(aligned, gt, delta)
    return {"ate_m": position_rmse(aligned, gt), "rte_m": _rms(t_err), "rre_deg": _rms(r_err),
            "are_deg": _rms(rotation_error_deg(aligned[:, :3, :3], gt[:, :3, :3])), "align_scale": float(sim.scale)}


# --------------------------------------------------------------------------------------------- gaze
def gaze_pixel_errors(pred: np.ndarray, gt: np.ndarray, image_size: tuple[float, float] = (1.0, 1.0)) -> np.ndarray:
    """Euclidean gaze errors of the valid (finite-gt) samples of (…, 2) normalized gaze, scaled by
    ``image_size`` = (W, H) pixels (default (1, 1): fractions of the image side). Returns (M,)."""
    pred, gt = np.asarray(pred, np.float64), np.asarray(gt, np.float64)
    valid = np.isfinite(gt).all(-1)
    return np.linalg.norm((pred[valid] - gt[valid]) * np.asarray(image_size, np.float64), axis=-1)


def gaze_rays(gaze: np.ndarray, K: np.ndarray, side: int) -> np.ndarray:
    """(…, 2) normalized gaze of a ``side``² clip → (…, 3) rays K⁻¹·[u, v, 1] with u = x·side − 0.5
    (the inverse of ``egom2p.normalize.normalize_gaze``: pixel centres at integers)."""
    uv = np.asarray(gaze, np.float64) * side - 0.5
    uv1 = np.concatenate([uv, np.ones(uv.shape[:-1] + (1,))], -1)
    return uv1 @ np.linalg.inv(np.asarray(K, np.float64)).T


def gaze_angular_errors_deg(pred: np.ndarray, gt: np.ndarray, K: np.ndarray, side: int) -> np.ndarray:
    """Angles (degrees) between the predicted and gt gaze rays through the pinhole K (3, 3) of a ``side``²
    clip, over the valid (finite-gt) samples of (…, 2) normalized gaze. Returns (M,)."""
    pred, gt = np.asarray(pred, np.float64), np.asarray(gt, np.float64)
    valid = np.isfinite(gt).all(-1)
    a, b = gaze_rays(pred[valid], K, side), gaze_rays(gt[valid], K, side)
    return np.degrees(np.arctan2(np.linalg.norm(np.cross(a, b), axis=-1), (a * b).sum(-1)))


def gaze_metrics(pred: np.ndarray, gt: np.ndarray, K: np.ndarray | None = None, side: int | None = None,
                 image_size: tuple[float, float] | None = None) -> dict[str, float]:
    """Gaze estimation metrics of one clip.

    pred, gt: (60, 2) normalized image coords (x right, y down) in [0, 1]; NaN gt = invalid frame.
    K: (3, 3) pinhole intrinsics of the ``side``² clip for the angular error.
    image_size: (W, H) pixels that normalized coords are scaled by for ``gaze_px_error`` (e.g. the original
      camera's, to compare with numbers quoted in its pixels; a plain scaling that ignores rectification);
      defaults to (side, side), the rectified clip.
    Returns {gaze_mse (normalized units², mean over valid frames and both coords, as torch ``mse_loss``),
    gaze_px_error (px), gaze_angular_error_deg, gaze_valid_frames}; NaN where not computable (no valid
    frame, no K/side).
    """
    pred, gt = np.asarray(pred, np.float64), np.asarray(gt, np.float64)
    valid = np.isfinite(gt).all(-1)
    out = {"gaze_mse": float(np.mean((pred[valid] - gt[valid]) ** 2)) if valid.any() else float("nan"),
           "gaze_px_error": float("nan"), "gaze_angular_error_deg": float("nan"), "gaze_valid_frames": float(valid.sum())}
    if not valid.any():
        return out
    size = image_size if image_size is not None else ((side, side) if side is not None else None)
    if size is not None:
        out["gaze_px_error"] = float(gaze_pixel_errors(pred, gt, size).mean())
    if K is not None and side is not None:
        out["gaze_angular_error_deg"] = float(gaze_angular_errors_deg(pred, gt, K, side).mean())
    return out


# -------------------------------------------------------------------------------------------- depth
def fit_scale_shift(pred: np.ndarray, target: np.ndarray) -> tuple[float, float]:
    """Least-squares (s, b) minimizing Σ(s·pred + b − target)² over 1-D arrays; constant pred → (0, mean)."""
    p, g = np.asarray(pred, np.float64), np.asarray(target, np.float64)
    pc = p - p.mean()
    var = float((pc ** 2).sum())
    s = float((pc * (g - g.mean())).sum() / var) if var > 1e-12 * max(len(p), 1) else 0.0
    return s, float(g.mean() - s * p.mean())


def depth_metrics(pred: np.ndarray, gt: np.ndarray, gt_normalization: dict | None = None,
                  min_inverse: float | None = None, eps: float = DEPTH_EPS) -> dict[str, float]:
    """Depth estimation metrics of one clip: AbsRel and δ<1.25 after scale-and-shift alignment.

    pred: (60, S, S) predicted inverse depth in any affine frame (e.g. canonical normalized [0, 1]).
    gt: (60, S, S) canonical depth = normalized inverse depth, NaN unknown (same shape as pred).
    gt_normalization: the clip's ``meta["depth_normalization"]`` ({inv_lo, inv_hi}); when given, gt is
      mapped back to inverse depth ``gt·(inv_hi − inv_lo) + inv_lo`` (1/m for metric gt), so 1/x is a true
      depth. Without it the normalized value is used as inverse depth (only meaningful when inv_lo ≈ 0).
      Annotator (pseudo-label) depth is relative inverse depth: its 1/x is not a depth up to scale.
    Steps: valid = finite gt & gt_inv > eps (a non-finite prediction there makes the metrics NaN);
    (s, b) = least squares s·pred + b ≈ gt_inv on valid pixels (inverse-depth space, per clip); aligned =
    max(s·pred + b, min_inverse) with default min_inverse = 1 % of the median valid gt_inv (predicted depth
    capped at 100 × the median gt depth); AbsRel = mean |1/aligned − 1/gt_inv| · gt_inv, computed as
    mean |gt_inv / aligned − 1|; δ1 = fraction with max(d/d*, d*/d) < 1.25.
    Returns {absrel, delta1 (fraction), align_scale, align_shift, valid_frac}.
    """
    pred, gt = np.asarray(pred, np.float64), np.asarray(gt, np.float64)
    if pred.shape != gt.shape:
        raise ValueError(f"depth pred {pred.shape} and gt {gt.shape} differ; resize the prediction first")
    if gt_normalization is not None:
        gt = gt * (gt_normalization["inv_hi"] - gt_normalization["inv_lo"]) + gt_normalization["inv_lo"]
    with np.errstate(invalid="ignore"):
        valid = np.isfinite(gt) & (gt > eps)
    g, p = gt[valid], pred[valid]
    s, b = fit_scale_shift(p, g) if valid.any() else (float("nan"), float("nan"))
    if not (np.isfinite(p).all() and np.isfinite([s, b]).all()):
        nan = float("nan")
        return {"absrel": nan, "delta1": nan, "align_scale": s, "align_shift": b, "valid_frac": float(valid.mean())}
    floor = DEPTH_FLOOR_REL * float(np.median(g)) if min_inverse is None else float(min_inverse)
    a = np.maximum(s * p + b, floor)
    ratio = g / a                        # = depth_pred / depth_gt
    return {"absrel": float(np.abs(ratio - 1.0).mean()),
            "delta1": float((np.maximum(ratio, 1.0 / ratio) < DELTA1).mean()),
            "align_scale": s, "align_shift": b, "valid_frac": float(valid.mean())}


def abs_rel(pred: np.ndarray, gt: np.ndarray, valid: np.ndarray, min_gt: float = 0.0) -> float:
    """Unaligned AbsRel mean |pred − gt| / gt of same-shape arrays over ``valid`` (bool, same shape) pixels
    with gt ≥ ``min_gt``, in the arrays' own units; NaN when no pixel qualifies."""
    m = valid & (gt >= min_gt)
    if not m.any():
        return float("nan")
    return float(np.mean(np.abs(pred[m] - gt[m]) / gt[m]))


def abs_rel_metric(pred: np.ndarray, gt: np.ndarray, valid: np.ndarray, inv_lo: float, inv_hi: float) -> float:
    """Unaligned AbsRel mean |D_pred − D_gt| / D_gt of depth D = 1 / (d·(inv_hi − inv_lo) + inv_lo), d the
    canonical normalized inverse depth (same-shape arrays; the clip's ``depth_normalization`` constants),
    over ``valid`` pixels with gt strictly inside (0, 1) (pixels clipped by the normalization have no exact
    ground truth); the predicted inverse depth is floored at 1e-9. Computed as mean |1/inv_p − 1/inv_g|·inv_g;
    NaN when no pixel qualifies."""
    m = valid & (gt > 0.0) & (gt < 1.0)
    if not m.any():
        return float("nan")
    inv_p, inv_g = (np.asarray(a, np.float64)[m] * (inv_hi - inv_lo) + inv_lo for a in (pred, gt))
    return float(np.mean(np.abs(1.0 / np.maximum(inv_p, 1e-9) - 1.0 / inv_g) * inv_g))


# -------------------------------------------------------------------------------------------- video
def _psnr_db(mse, peak: float):
    """10·log10(peak² / mse) (dB) of a scalar or array MSE; 0 → inf."""
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(peak ** 2 / np.asarray(mse, np.float64))


def psnr(pred: np.ndarray, gt: np.ndarray, peak: float = 255.0) -> float:
    """PSNR (dB) of two same-shape arrays from the MSE over all their elements (uint8 video: peak 255);
    identical arrays → inf."""
    mse = float(np.mean((pred.astype(np.float64) - gt.astype(np.float64)) ** 2))
    return float(_psnr_db(mse, peak))


def psnr_frames(pred: np.ndarray, gt: np.ndarray, max_psnr: float = 100.0) -> np.ndarray:
    """Per-frame PSNR (dB, peak 255) of uint8 videos (T, H, W[, C]) → (T,); identical frames → ``max_psnr``."""
    d = np.asarray(pred, np.float64) - np.asarray(gt, np.float64)
    mse = np.mean(d.reshape(len(d), -1) ** 2, axis=1)
    return np.minimum(_psnr_db(mse, 255.0), max_psnr)


__all__ = ["ALIGN_MODES", "Similarity", "umeyama", "align_trajectory", "rotation_angle_deg", "rotation_error_deg",
           "position_rmse", "relative_pose_errors", "RTE_DELTA", "camera_metrics", "gaze_pixel_errors", "gaze_rays",
           "gaze_angular_errors_deg", "gaze_metrics", "fit_scale_shift", "depth_metrics", "abs_rel",
           "abs_rel_metric", "psnr", "psnr_frames"]
