"""Classical camera-tracking specialist: frame-to-frame monocular visual odometry with OpenCV.

For each consecutive pair (i−1, i) of a clip: Shi–Tomasi corners on frame i−1 → pyramidal Lucas–Kanade
tracking into frame i with a forward–backward check → essential matrix by 5-point RANSAC
(``cv2.findEssentialMat``) → R, t by the cheirality check (``cv2.recoverPose``) using the clip's pinhole K
→ Levenberg–Marquardt refinement of (R, t) on all inliers (Sampson distance; ``refine_sampson``). Steps
are chained into camera-to-world poses starting at identity. Monocular scale is unknown: every step's
translation has unit norm, so the trajectory is only defined up to a similarity and must be evaluated
with Sim(3) alignment (``metrics.camera_metrics(align="sim3")``).

Robustness: a step with too few tracked corners or RANSAC inliers (textureless, blurred, dark frames) is a
*fallback* step: it repeats the previous step's motion (constant velocity; identity before any step was
estimated) and is counted. A step whose median feature motion is below ``min_flow_px`` is taken as
"no motion" (identity; the essential matrix is degenerate without parallax) and is not counted. The
function never raises on valid-shaped input.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from egom2p.geometry import invert_pose, make_pose, rotvec_to_matrix

# recoverPose drops triangulated points farther than this many baselines from the cheirality vote (OpenCV's
# default overload uses 50). Ego head motion is ~1–5 cm per frame at 30 fps with scene depths of 0.5–10 m,
# i.e. 10–1000 baselines, so the default would reject most correct correspondences.
CHEIRALITY_MAX_DEPTH = 1e4
REFINE_SCREEN_ITERS = 5   # LM iterations per start before the best start is run to convergence


@dataclass(frozen=True)
class VOResult:
    """poses: (T, 4, 4) float32 OpenCV c2w, poses[0] = I, unit-norm translation per step (arbitrary scale).
    inliers: (T,) int, cheirality inliers of step (i−1 → i) (0 for frame 0, fallback and no-motion steps).
    fallback_frames: steps whose motion was carried over from the previous step.
    static_frames: steps taken as no motion (median flow below ``min_flow_px``)."""
    poses: np.ndarray
    inliers: np.ndarray
    fallback_frames: int
    static_frames: int


def _gray(frame: np.ndarray) -> np.ndarray:
    frame = np.ascontiguousarray(frame)
    if frame.dtype != np.uint8:
        frame = np.clip(frame, 0, 255).astype(np.uint8)
    return cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY) if frame.ndim == 3 else frame


def track_pair(g0: np.ndarray, g1: np.ndarray, max_corners: int = 500,
               fb_max_px: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Corners of gray frame g0 tracked into g1: ((M, 2), (M, 2)) float32 pixel coords (M may be 0)."""
    empty = np.empty((0, 2), np.float32)
    p0 = cv2.goodFeaturesToTrack(g0, max_corners, 0.01, 7, blockSize=7)
    if p0 is None or len(p0) == 0:
        return empty, empty
    lk = dict(winSize=(21, 21), maxLevel=3,
              criteria=(cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 30, 0.01))
    p1, st, _ = cv2.calcOpticalFlowPyrLK(g0, g1, p0, None, **lk)
    if p1 is None:
        return empty, empty
    p0b, stb, _ = cv2.calcOpticalFlowPyrLK(g1, g0, p1, None, **lk)
    ok = (st.ravel() == 1) & (stb.ravel() == 1) & (np.linalg.norm((p0 - p0b).reshape(-1, 2), axis=1) < fb_max_px)
    h, w = g0.shape
    q = p1.reshape(-1, 2)
    ok &= (q[:, 0] >= 0) & (q[:, 0] <= w - 1) & (q[:, 1] >= 0) & (q[:, 1] <= h - 1)
    return p0.reshape(-1, 2)[ok], q[ok]


def relative_motion(p0: np.ndarray, p1: np.ndarray, K: np.ndarray, min_inliers: int = 20,
                    ransac_px: float = 1.0, refine: bool = True) -> tuple[np.ndarray, int] | None:
    """T_cur_prev (4, 4) with unit-norm translation from matched pixels p0 → p1 (x_cur = R·x_prev + t),
    and its inlier count; None when the estimate is not trustworthy."""
    if len(p0) < max(min_inliers, 5):
        return None
    K = np.asarray(K, np.float64)
    try:
        E, mask = cv2.findEssentialMat(p0, p1, K, cv2.RANSAC, 0.999, ransac_px)
        if E is None or E.shape[0] < 3:
            return None
        n, R, t, good, _ = cv2.recoverPose(E[:3], p0, p1, K, distanceThresh=CHEIRALITY_MAX_DEPTH, mask=mask)
    except cv2.error:
        return None
    t = t.ravel()
    norm = float(np.linalg.norm(t))
    if n < min_inliers or not np.isfinite(R).all() or not np.isfinite(norm) or norm < 1e-9:
        return None
    if refine:
        inl = good.ravel() > 0
        R, t = refine_sampson(R, t / norm, _normalized(p0[inl], K), _normalized(p1[inl], K))
    return make_pose(R, t / np.linalg.norm(t)), int(n)


def _normalized(p: np.ndarray, K: np.ndarray) -> np.ndarray:
    return (np.asarray(p, np.float64) - K[:2, 2]) / np.diag(K)[:2]


def _sampson(P: np.ndarray, R0: np.ndarray, h0: np.ndarray, h1: np.ndarray) -> np.ndarray:
    """Sampson distances (B, M) of E = [t]×R for parameter rows P (B, 6) = (rotation vector applied to R0,
    t of any norm), homogeneous normalized points h0, h1 (M, 3)."""
    t = P[:, 3:] / np.linalg.norm(P[:, 3:], axis=1, keepdims=True)
    tx = np.zeros((len(P), 3, 3))
    tx[:, 0, 1], tx[:, 0, 2], tx[:, 1, 2] = -t[:, 2], t[:, 1], -t[:, 0]
    E = (tx - np.swapaxes(tx, 1, 2)) @ rotvec_to_matrix(P[:, :3]) @ R0
    Ex0, Etx1 = h0 @ np.swapaxes(E, 1, 2), h1 @ E                      # (B, M, 3)
    den = Ex0[..., 0] ** 2 + Ex0[..., 1] ** 2 + Etx1[..., 0] ** 2 + Etx1[..., 1] ** 2
    return (h1 * Ex0).sum(-1) / np.sqrt(den + 1e-30)


def _levenberg_marquardt(f, p: np.ndarray, iters: int = 30, h: float = 1e-7) -> tuple[np.ndarray, float]:
    """Minimize ‖f(p)‖² for batched f ((B, n) → (B, M)) with a forward-difference Jacobian and Marquardt
    damping; returns (p, cost)."""
    r = f(p[None])[0]
    cost, lam, n = float(r @ r), 1e-3, len(p)
    for _ in range(iters):
        J = ((f(p + h * np.eye(n)) - r) / h).T
        A, g = J.T @ J, J.T @ r
        while lam < 1e8:
            step = np.linalg.solve(A + lam * np.diag(np.diag(A) + 1e-12), -g)
            r_new = f((p + step)[None])[0]
            c_new = float(r_new @ r_new)
            if np.isfinite(c_new) and c_new < cost:
                p, r, lam = p + step, r_new, max(lam / 10, 1e-9)
                done, cost = cost - c_new < 1e-8 * cost, c_new
                break
            lam *= 10
        else:
            break
        if done:
            break
    return p, cost


def refine_sampson(R: np.ndarray, t: np.ndarray, x0: np.ndarray, x1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Levenberg–Marquardt refinement of (R, unit t) on inlier normalized coords x0, x1 (M, 2) by the Sampson
    distance of E = [t]×R. The minimal-sample RANSAC model is noisy at ~cm per-frame baselines (rotation and
    translation trade off) and the cost has separate shallow minima in t, so LM starts from the RANSAC t and
    from the three axes (the cost is even in t), a few iterations each; the lowest cost is run to
    convergence and t's sign is then fixed by cheirality. Using all inliers cuts the rotation error
    several-fold."""
    if len(x0) < 6:
        return R, t
    h0, h1 = np.c_[x0, np.ones(len(x0))], np.c_[x1, np.ones(len(x1))]
    f = lambda P: _sampson(P, R, h0, h1)  # noqa: E731
    runs = [_levenberg_marquardt(f, np.r_[np.zeros(3), t0], iters=REFINE_SCREEN_ITERS) for t0 in (t, *np.eye(3))]
    p, _ = _levenberg_marquardt(f, min(runs, key=lambda pc: pc[1])[0])
    if not np.isfinite(p).all():
        return R, t
    R, t = rotvec_to_matrix(p[None, :3])[0] @ R, p[3:] / np.linalg.norm(p[3:])
    return R, t * cheirality_sign(R, t, h0, h1)


def cheirality_sign(R: np.ndarray, t: np.ndarray, h0: np.ndarray, h1: np.ndarray) -> float:
    """+1 or −1: the sign of t that puts more points in front of both cameras. E = [t]×R cannot tell t from
    −t; solves λ1·x1 = λ0·R·x0 + t per point (least squares) — negating t negates both depths."""
    a = h0 @ R.T                                    # R·x0 (M, 3)
    b = -h1                                         # coefficients of λ1
    aa, bb, ab = (a * a).sum(1), (b * b).sum(1), (a * b).sum(1)
    at, bt = a @ t, b @ t
    det = aa * bb - ab ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        l0, l1 = (-bb * at + ab * bt) / det, (ab * at - aa * bt) / det
    front, back = np.sum((l0 > 0) & (l1 > 0)), np.sum((l0 < 0) & (l1 < 0))
    return -1.0 if back > front else 1.0


def monocular_vo(rgb: np.ndarray, K: np.ndarray, *, max_corners: int = 500, min_inliers: int = 20,
                 min_flow_px: float = 0.3, ransac_px: float = 1.0) -> VOResult:
    """Monocular VO over a clip.

    rgb: (T, S, S, 3) uint8 RGB frames (or (T, H, W) gray). K: (3, 3) pinhole intrinsics in pixels of
    these frames (``metrics.clip_intrinsics(meta, side)``). Returns a ``VOResult`` (poses (T, 4, 4) c2w).
    """
    rgb = np.asarray(rgb)
    T = len(rgb)
    poses = np.tile(np.eye(4), (max(T, 0), 1, 1))
    inliers = np.zeros(T, np.int64)
    fallback = static = 0
    step = np.eye(4)          # last T_prev_cur (camera i expressed in camera i-1)
    prev = _gray(rgb[0]) if T else None
    for i in range(1, T):
        cur = _gray(rgb[i])
        p0, p1 = track_pair(prev, cur, max_corners)
        if len(p0) >= max(min_inliers, 5) and np.median(np.linalg.norm(p1 - p0, axis=1)) < min_flow_px:
            step, static = np.eye(4), static + 1
        else:
            est = relative_motion(p0, p1, K, min_inliers, ransac_px)
            if est is None:
                fallback += 1
            else:
                step, inliers[i] = invert_pose(est[0]), est[1]
        poses[i] = poses[i - 1] @ step
        prev = cur
    return VOResult(poses.astype(np.float32), inliers, fallback, static)


__all__ = ["VOResult", "track_pair", "relative_motion", "refine_sampson", "cheirality_sign", "monocular_vo"]
