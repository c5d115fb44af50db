"""Checks of canonical clip arrays: each returns the list of problems found (empty = valid).

Shapes are the canonical clip's: gaze (60, 2) in [0, 1] or NaN, camera (60, 4, 4) OpenCV camera-to-world
with orthonormal rotations and the first pose the identity, depth (60, S, S) in [0, 1] or NaN.
"""
from __future__ import annotations

import numpy as np

from .geometry import rotation_errors
from .presets import CLIP_FRAMES

ROT_TOL = 1e-3      # float32 storage: |R R^T - I| and |det R - 1| tolerance
IDENTITY_TOL = 1e-5


def check_gaze(gaze: np.ndarray, side: int | None = None) -> list[str]:
    """(60, 2) normalized gaze: right shape, both coordinates NaN or neither, inside [0, 1], no inf."""
    problems = []
    if gaze.shape != (CLIP_FRAMES, 2):
        return [f"gaze shape {gaze.shape} != {(CLIP_FRAMES, 2)}"]
    valid = ~np.isnan(gaze).any(axis=1)
    if np.isnan(gaze).any(axis=1).sum() != np.isnan(gaze).all(axis=1).sum():
        problems.append("gaze has half-NaN samples")
    g = gaze[valid]
    if g.size and (g.min() < 0 or g.max() > 1):
        problems.append(f"gaze outside [0,1]: min {g.min():.4f} max {g.max():.4f}")
    if np.isinf(gaze).any():
        problems.append("gaze has inf")
    return problems


def check_camera(camera: np.ndarray, side: int | None = None) -> list[str]:
    """(60, 4, 4) poses: finite, proper rotations, first pose the identity, bottom rows [0, 0, 0, 1]."""
    if camera.shape != (CLIP_FRAMES, 4, 4):
        return [f"camera shape {camera.shape} != {(CLIP_FRAMES, 4, 4)}"]
    if not np.isfinite(camera).all():
        return ["camera has non-finite values"]
    problems = []
    ortho, det = rotation_errors(camera[:, :3, :3])
    if ortho > ROT_TOL or det > ROT_TOL:
        problems.append(f"camera rotations not orthonormal/det 1 (|RRᵀ-I|={ortho:.2e}, |det-1|={det:.2e})")
    if np.abs(camera[0] - np.eye(4)).max() > IDENTITY_TOL:
        problems.append("first camera pose is not identity")
    if np.abs(camera[:, 3] - np.array([0, 0, 0, 1])).max() > 0:
        problems.append("camera bottom rows are not [0,0,0,1]")
    return problems


def check_depth(depth: np.ndarray, side: int | None = None) -> list[str]:
    """(60, S, S) normalized inverse depth: square frames of the rgb side (when given), finite values in
    [0, 1] where not NaN. A stored clip's depth decodes from 16-bit codes (``egom2p.depthio``), so its range
    holds by construction; the range test guards in-memory arrays."""
    if depth.ndim != 3 or depth.shape[0] != CLIP_FRAMES or depth.shape[1] != depth.shape[2]:
        return [f"depth shape {depth.shape} is not (60, S, S)"]
    if side is not None and depth.shape[1] != side:
        return [f"depth side {depth.shape[1]} != rgb side {side}"]
    d = depth[~np.isnan(depth)].astype(np.float32)
    if np.isinf(d).any():
        return ["depth has inf"]
    if d.size and (d.min() < 0 or d.max() > 1):
        return [f"depth outside [0,1]: min {d.min():.4f} max {d.max():.4f}"]
    return []


def check_shape(shape: tuple[int, ...]):
    """A check for a per-frame signal of sample ``shape``: the clip array is (60, *shape) with no inf
    (NaN marks invalid frames)."""
    expect = (CLIP_FRAMES, *shape)

    def check(array: np.ndarray, side: int | None = None) -> list[str]:
        if tuple(array.shape) != expect:
            return [f"shape {tuple(array.shape)} != {expect}"]
        return ["has inf"] if np.isinf(array).any() else []
    return check


BLANK_STD = 0.5     # uint8 levels: a frame whose pixels vary less than this is one flat colour


def check_rgb(frames: np.ndarray, side: int | None = None) -> list[str]:
    """(60, S, S, 3) uint8 decoded frames: not blank (every pixel 0) and not one constant colour (the
    standard deviation of every frame below ``BLANK_STD``), the rgb side when given. A decoder that
    failed silently or a reader that returned a black buffer leaves such a clip."""
    if frames.ndim != 4 or frames.shape[0] != CLIP_FRAMES or frames.shape[3] != 3 or frames.shape[1] != frames.shape[2]:
        return [f"rgb shape {frames.shape} is not (60, S, S, 3)"]
    if side is not None and frames.shape[1] != side:
        return [f"rgb side {frames.shape[1]} != clip side {side}"]
    if int(frames.max(initial=0)) == 0:
        return ["rgb is blank (every pixel 0)"]
    std = frames.reshape(len(frames), -1).astype(np.float32).std(axis=1)
    if float(std.max()) < BLANK_STD:
        return [f"rgb is one constant colour (max per-frame std {float(std.max()):.3f} < {BLANK_STD})"]
    return []
