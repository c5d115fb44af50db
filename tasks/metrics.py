"""Per-clip evaluation metrics of the four EgoM2P tasks (issue 7; PAPER.md §1.10). Pure numpy/OpenCV.

Every ``*_metrics`` function scores ONE canonical clip (DESIGN.md §4) and returns a plain ``dict`` of
floats; dataset numbers are means of the per-clip values. Choices (sources in PAPER.md §1.10, the rest
marked as our own decision):

- gaze: ``gaze_mse`` in normalized image coordinates [0, 1] of the clip (canonical ``gaze.npy``; EgoM2P's
  ``gaze_dataset.convert`` normalizes to [0, 1] before its [-1, 1] model features, PAPER.md §1.5),
  averaged over valid frames *and* both coordinates (torch ``mse_loss`` convention; squared Euclidean
  = 2 × mse, the [-1, 1] feature space would give 4 × mse). The paper's gaze-MSE normalization is not
  stated (the only reported value, 0.0311, is [secondary], §1.10(b)). ``gaze_px_error`` = mean Euclidean
  distance after scaling by (W, H); ``gaze_angular_error_deg`` = mean angle between the rays unprojected
  with the clip's pinhole K. Frames whose gt is not finite are skipped; a non-finite prediction on a
  valid frame makes the metric NaN (abstaining is not rewarded).
- camera: after per-clip alignment of the predicted camera centres to the gt (Umeyama, ``alignment.py``),
  default **Sim(3)**: the only stated protocol, ReViV's evaluation of EgoM2P, aligns each clip with
  Sim(3) to its own full-clip gt (§1.10(b)); EgoM2P's own table does not state its alignment (§1.10(a));
  VO and other monocular methods have no metric scale. ``ate_m`` = RMSE of aligned centres (m);
  ``rte_m`` / ``rre_deg`` = RMSE over all pairs (i, i+δ) of the relative-pose error translation (m) /
  angle (deg) with **δ = 1 frame** (1/30 s) — evo ``main_rpe(delta=1, all_pairs=True)`` +
  ``stats['rmse']`` as in the MonST3R/DUSt3R ``vo_eval`` protocol whose ATE/RTE/RRE names the tables use
  [inference: δ is not stated in PAPER.md]; ``are_deg`` = RMSE of the absolute rotation angle after
  alignment (ill-conditioned when the gt centres are static or collinear: the alignment rotation is
  then unobservable; RTE/RRE do not depend on the alignment rotation).
- depth: canonical depth is per-sequence *normalized inverse depth*; the prediction is fitted to the gt
  in inverse-depth space by least-squares scale and shift (per clip), then AbsRel (``absrel``) and
  δ<1.25 (``delta1``) are computed on depths 1/x over valid pixels (see ``depth_metrics``).
- video: PSNR (uint8, peak 255, per frame, capped at ``max_psnr``) and SSIM (Wang et al. 2004: Gaussian
  window 11, σ 1.5, K1 0.01, K2 0.03, L 255, 'valid' region) — default per RGB channel then averaged
  (the torchmetrics / pytorch-msssim convention), ``ssim_on="gray"`` for BT.601 luma; both averaged
  over frames ``start:``.
"""
from __future__ import annotations

import cv2
import numpy as np

from .alignment import align_trajectory, position_rmse, relative_pose_errors, rotation_error_deg

RTE_DELTA = 1           # frames (30 fps → 33 ms)
SSIM_WINDOW, SSIM_SIGMA, SSIM_K1, SSIM_K2 = 11, 1.5, 0.01, 0.03
DEPTH_EPS = 1e-6        # gt inverse depth must exceed this to be a valid pixel
DEPTH_FLOOR_REL = 1e-2  # default floor of the aligned inverse depth: 1 % of the clip's median gt inverse depth
DELTA1 = 1.25


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x)))) if len(x) else float("nan")


# --------------------------------------------------------------------------------------------- gaze
def clip_intrinsics(meta: dict, side: int | None = None) -> np.ndarray:
    """(3, 3) pinhole K of a clip (``meta["intrinsics"]`` at ``meta["side"]`` px), rescaled to ``side`` px
    with the pixel-centre rule p' = s·(p + 0.5) − 0.5 when the frames were resized."""
    K = np.array(meta["intrinsics"], np.float64)
    if side is not None and side != int(meta["side"]):
        s = side / float(meta["side"])
        K[:2, :2] *= s
        K[:2, 2] = s * (K[:2, 2] + 0.5) - 0.5
    return K


def gaze_pixel_errors(pred: np.ndarray, gt: np.ndarray, image_size: tuple[float, float] = (1.0, 1.0)) -> np.ndarray:
    """Euclidean gaze errors of the valid (finite-gt) samples of (…, 2) normalized gaze, scaled by
    ``image_size`` = (W, H) pixels (default (1, 1): fractions of the image side). Returns (M,)."""
    pred, gt = np.asarray(pred, np.float64), np.asarray(gt, np.float64)
    valid = np.isfinite(gt).all(-1)
    return np.linalg.norm((pred[valid] - gt[valid]) * np.asarray(image_size, np.float64), axis=-1)


def gaze_rays(gaze: np.ndarray, K: np.ndarray, side: int) -> np.ndarray:
    """(…, 2) normalized gaze of a ``side``² clip → (…, 3) rays K⁻¹·[u, v, 1] with u = x·side − 0.5
    (the inverse of ``curation.normalize.normalize_gaze``: pixel centres at integers)."""
    uv = np.asarray(gaze, np.float64) * side - 0.5
    uv1 = np.concatenate([uv, np.ones(uv.shape[:-1] + (1,))], -1)
    return uv1 @ np.linalg.inv(np.asarray(K, np.float64)).T


def gaze_metrics(pred: np.ndarray, gt: np.ndarray, K: np.ndarray | None = None, side: int | None = None,
                 image_size: tuple[float, float] | None = None) -> dict[str, float]:
    """Gaze estimation metrics of one clip.

    pred, gt: (60, 2) normalized image coords (x right, y down) in [0, 1]; NaN gt = invalid frame.
    K: (3, 3) pinhole intrinsics of the ``side``² clip (``clip_intrinsics(meta)``) for the angular error.
    image_size: (W, H) pixels that normalized coords are scaled by for ``gaze_px_error`` (e.g. the original
      camera's, to compare with numbers quoted in its pixels; a plain scaling that ignores rectification);
      defaults to (side, side), the rectified clip.
    Returns {gaze_mse (normalized units², mean over frames and coords), gaze_px_error (px),
    gaze_angular_error_deg, gaze_valid_frames}; NaN where not computable (no valid frame, no K/side).
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
        a, b = gaze_rays(pred[valid], K, side), gaze_rays(gt[valid], K, side)
        ang = np.arctan2(np.linalg.norm(np.cross(a, b), axis=-1), (a * b).sum(-1))
        out["gaze_angular_error_deg"] = float(np.degrees(ang).mean())
    return out


# ------------------------------------------------------------------------------------------- camera
def camera_metrics(pred: np.ndarray, gt: np.ndarray, align: str = "sim3", delta: int = RTE_DELTA) -> dict[str, float]:
    """Camera tracking metrics of one clip.

    pred, gt: (N, 4, 4) OpenCV camera-to-world, metres (gt relative to the first frame; pred in any frame
    and, for ``align="sim3"``, any scale). align: "sim3" (default), "se3" or "none" (``alignment.py``).
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
    (s, b) = least squares s·pred + b ≈ gt_inv on valid pixels (inverse-depth space, per clip); aligned = max(s·pred + b, min_inverse) with default
    min_inverse = 1 % of the median valid gt_inv (predicted depth capped at 100 × the median gt depth);
    AbsRel = mean |1/aligned − 1/gt_inv| · gt_inv; δ1 = fraction with max(d/d*, d*/d) < 1.25.
    Returns {absrel, delta1 (fraction; the paper tables give %), align_scale, align_shift, valid_frac}.
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


# -------------------------------------------------------------------------------------------- video
def psnr_frames(pred: np.ndarray, gt: np.ndarray, max_psnr: float = 100.0) -> np.ndarray:
    """Per-frame PSNR (dB, peak 255) of uint8 videos (T, H, W[, C]); identical frames → ``max_psnr``."""
    d = np.asarray(pred, np.float64) - np.asarray(gt, np.float64)
    mse = np.mean(d.reshape(len(d), -1) ** 2, axis=1)
    with np.errstate(divide="ignore"):
        return np.minimum(10.0 * np.log10(255.0 ** 2 / mse), max_psnr)


def _luma(x: np.ndarray) -> np.ndarray:
    return x[..., 0] * 0.299 + x[..., 1] * 0.587 + x[..., 2] * 0.114


def ssim_frames(pred: np.ndarray, gt: np.ndarray, ssim_on: str = "rgb") -> np.ndarray:
    """Per-frame SSIM of uint8 videos (T, H, W, 3) (or (T, H, W) grayscale): Gaussian window 11 / σ 1.5,
    C1 = (0.01·255)², C2 = (0.03·255)², mean over the 'valid' region (pixels ≥ 5 from the border) and, for
    ``ssim_on="rgb"``, over the 3 channels; ``"gray"`` uses float BT.601 luma 0.299 R + 0.587 G + 0.114 B."""
    x, y = np.asarray(pred, np.float64), np.asarray(gt, np.float64)
    if ssim_on == "gray" and x.ndim == 4:
        x, y = _luma(x), _luma(y)
    elif ssim_on not in ("rgb", "gray"):
        raise ValueError(f"ssim_on must be 'rgb' or 'gray', got {ssim_on!r}")
    r = SSIM_WINDOW // 2
    if min(x.shape[1:3]) < SSIM_WINDOW:
        raise ValueError(f"frames smaller than the {SSIM_WINDOW}-pixel SSIM window")
    k = cv2.getGaussianKernel(SSIM_WINDOW, SSIM_SIGMA, cv2.CV_64F)
    c1, c2 = (SSIM_K1 * 255.0) ** 2, (SSIM_K2 * 255.0) ** 2

    def blur(im: np.ndarray) -> np.ndarray:
        return cv2.sepFilter2D(im, cv2.CV_64F, k, k, borderType=cv2.BORDER_REFLECT)[r:-r, r:-r]

    out = np.empty(len(x))
    for i, (a, b) in enumerate(zip(x, y)):
        mu_a, mu_b = blur(a), blur(b)
        saa, sbb, sab = blur(a * a) - mu_a ** 2, blur(b * b) - mu_b ** 2, blur(a * b) - mu_a * mu_b
        num = (2 * mu_a * mu_b + c1) * (2 * sab + c2)
        out[i] = float(np.mean(num / ((mu_a ** 2 + mu_b ** 2 + c1) * (saa + sbb + c2))))
    return out


def video_metrics(pred: np.ndarray, gt: np.ndarray, start: int = 0, ssim_on: str = "rgb",
                  max_psnr: float = 100.0) -> dict[str, float]:
    """Video generation metrics of one clip: mean PSNR (dB) and SSIM over frames ``start:``.

    pred, gt: (T, H, W, 3) uint8 RGB of the same shape. start: first scored frame (1 to leave out a
    conditioning frame given to the model). Returns {psnr, ssim}.
    """
    pred, gt = np.asarray(pred), np.asarray(gt)
    if pred.shape != gt.shape:
        raise ValueError(f"video pred {pred.shape} and gt {gt.shape} differ")
    pred, gt = pred[start:], gt[start:]
    return {"psnr": float(psnr_frames(pred, gt, max_psnr).mean()), "ssim": float(ssim_frames(pred, gt, ssim_on).mean())}


__all__ = ["RTE_DELTA", "clip_intrinsics", "gaze_pixel_errors", "gaze_rays", "gaze_metrics", "camera_metrics",
           "fit_scale_shift", "depth_metrics", "psnr_frames", "ssim_frames", "video_metrics"]
