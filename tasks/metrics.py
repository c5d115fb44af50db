"""Per-clip evaluation metrics of the four EgoM2P tasks: the task-level glue around ``egom2p.metrics``.

Every ``*_metrics`` function scores ONE canonical clip and returns a plain ``dict`` of floats; dataset
numbers are means of the per-clip values. Gaze, camera and depth are pure numpy and live in
``egom2p.metrics`` (``gaze_metrics``, ``camera_metrics`` with Sim(3) alignment and δ = ``RTE_DELTA``,
``depth_metrics`` with scale-and-shift alignment); they are re-exported here so that the evaluator finds
all four tasks' metrics in one module. This module adds what needs the clip's meta or OpenCV:

- ``clip_intrinsics``: the clip's pinhole K for the angular gaze error.
- video: PSNR (``egom2p.metrics.psnr_frames``: uint8, peak 255, per frame, capped at ``max_psnr``) and SSIM
  (Wang et al. 2004: Gaussian window 11, σ 1.5, K1 0.01, K2 0.03, L 255, 'valid' region) — default per RGB
  channel then averaged (the torchmetrics / pytorch-msssim convention), ``ssim_on="gray"`` for BT.601
  luma; both averaged over frames ``start:``.
"""
from __future__ import annotations

import cv2
import numpy as np

from egom2p.metrics import RTE_DELTA, camera_metrics, depth_metrics, gaze_metrics, psnr_frames

SSIM_WINDOW, SSIM_SIGMA, SSIM_K1, SSIM_K2 = 11, 1.5, 0.01, 0.03


def clip_intrinsics(meta: dict, side: int | None = None) -> np.ndarray:
    """(3, 3) pinhole K of a clip (``meta["intrinsics"]`` at ``meta["side"]`` px), rescaled to ``side`` px
    with the pixel-centre rule p' = s·(p + 0.5) − 0.5 when the frames were resized."""
    K = np.array(meta["intrinsics"], np.float64)
    if side is not None and side != int(meta["side"]):
        s = side / float(meta["side"])
        K[:2, :2] *= s
        K[:2, 2] = s * (K[:2, 2] + 0.5) - 0.5
    return K


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


__all__ = ["RTE_DELTA", "camera_metrics", "depth_metrics", "gaze_metrics", "clip_intrinsics", "ssim_frames",
           "video_metrics"]
