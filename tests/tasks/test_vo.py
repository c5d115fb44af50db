"""Monocular VO (tasks/vo.py) on a synthetic textured room seen from a known trajectory."""
from __future__ import annotations

import time

import cv2
import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from egom2p.geometry import axis_angle_to_matrix, make_pose
from egom2p.metrics import camera_metrics, rotation_error_deg
from egom2p.tasks.baselines import static_camera
from egom2p.tasks.vo import monocular_vo

ROOM = np.array([[-3.0, 3.0], [-1.6, 1.4], [-3.0, 4.0]])   # x, y (down), z wall positions, metres
TEX_PX_PER_M = 128


def _texture(seed: int = 0, size: int = 512) -> np.ndarray:
    """Tileable multi-scale noise in [0, 255] (float32), so that every wall is trackable."""
    rng = np.random.default_rng(seed)
    t = sum(gaussian_filter(rng.normal(size=(size, size)), s, mode="wrap") * s for s in (1.5, 4.0, 12.0))
    return ((t - t.min()) / (t.max() - t.min()) * 255).astype(np.float32)


def _render(c2w: np.ndarray, K: np.ndarray, side: int, tex: np.ndarray) -> np.ndarray:
    """Ray-cast the inside of the axis-aligned ROOM box (each wall textured) → (side, side) uint8."""
    u, v = np.meshgrid(np.arange(side, dtype=np.float64), np.arange(side, dtype=np.float64))
    rays = np.stack([(u - K[0, 2]) / K[0, 0], (v - K[1, 2]) / K[1, 1], np.ones_like(u)], -1) @ c2w[:3, :3].T
    o = c2w[:3, 3]
    with np.errstate(divide="ignore", invalid="ignore"):
        ts = np.stack([(ROOM[a, s] - o[a]) / rays[..., a] for a in range(3) for s in range(2)])
    ts[~(ts > 1e-6)] = np.inf
    wall = ts.argmin(0)
    hit = o + ts.min(0)[..., None] * rays
    other = np.array([[2, 1], [0, 2], [0, 1]])[wall // 2]            # in-plane axes of each wall
    a = np.take_along_axis(hit, other[..., :1], -1)[..., 0]
    b = np.take_along_axis(hit, other[..., 1:], -1)[..., 0]
    mx = (a * TEX_PX_PER_M + 97 * wall).astype(np.float32)
    my = (b * TEX_PX_PER_M + 61 * wall).astype(np.float32)
    return np.clip(cv2.remap(tex, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP), 0, 255).astype(np.uint8)


def _trajectory(n: int = 60) -> np.ndarray:
    """Walk ~3 cm/frame on a curve with a vertical bob, turning 0.4°/frame (24° in all) and nodding ±3°."""
    poses = []
    for i in range(n):
        R = axis_angle_to_matrix([0, 1, 0], np.radians(0.4 * i)) @ axis_angle_to_matrix([1, 0, 0], np.radians(3 * np.sin(i / 12)))
        poses.append(make_pose(R, [0.03 * i, 0.1 * np.sin(i / 9.5), 0.0003 * i * i]))
    return np.stack(poses)


@pytest.fixture(scope="module")
def room_clip():
    side, f = 160, 120.0                                             # 67° field of view
    K = np.array([[f, 0, (side - 1) / 2], [0, f, (side - 1) / 2], [0, 0, 1.0]])
    gt, tex = _trajectory(), _texture()
    rgb = np.stack([cv2.cvtColor(_render(T, K, side, tex), cv2.COLOR_GRAY2RGB) for T in gt])
    return rgb, gt, K


def test_vo_tracks_a_known_trajectory(room_clip):
    rgb, gt, K = room_clip
    t0 = time.perf_counter()
    res = monocular_vo(rgb, K)
    seconds = time.perf_counter() - t0
    assert res.poses.shape == (60, 4, 4) and res.poses.dtype == np.float32
    assert np.allclose(res.poses[0], np.eye(4))
    assert res.fallback_frames == 0 and res.static_frames == 0 and res.inliers[1:].min() >= 50
    steps = np.linalg.norm(np.diff(res.poses[:, :3, 3], axis=0), axis=1)
    assert np.allclose(steps, 1.0, atol=1e-5)                        # unit-norm translation per step
    vo, static = camera_metrics(res.poses, gt), camera_metrics(static_camera(), gt)
    print(f"VO {seconds:.2f}s", {k: round(v, 4) for k, v in vo.items()}, "static", {k: round(v, 4) for k, v in static.items()})
    assert vo["are_deg"] < 6.0 < static["are_deg"]                   # Sim(3)-aligned rotation error: a few degrees
    assert rotation_error_deg(res.poses[-1, :3, :3], gt[-1, :3, :3]) < 3.0   # accumulated over 24° of turn
    assert vo["rre_deg"] < 0.25 * static["rre_deg"]
    assert vo["ate_m"] < 0.15 * static["ate_m"] and vo["rte_m"] < 0.3 * static["rte_m"]
    assert vo["align_scale"] == pytest.approx(np.linalg.norm(np.diff(gt[:, :3, 3], axis=0), axis=1).mean(), rel=0.3)


def test_vo_never_raises_and_counts_fallbacks(room_clip):
    rgb, gt, K = room_clip
    flat = monocular_vo(np.full((60, 32, 32, 3), 128, np.uint8), K)  # textureless: identity, all fallbacks
    assert flat.fallback_frames == 59 and np.allclose(flat.poses, np.eye(4))
    still = monocular_vo(np.repeat(rgb[:1], 5, axis=0), K)           # no motion: identity, not a failure
    assert still.static_frames == 4 and still.fallback_frames == 0 and np.allclose(still.poses, np.eye(4), atol=1e-6)
    holes = rgb[:12].copy()
    holes[6:9] = 128                                                 # 3 blank frames: 4 steps carried over
    res = monocular_vo(holes, K)
    assert res.fallback_frames == 4 and np.isfinite(res.poses).all()
    step = np.linalg.inv(res.poses[5]) @ res.poses[6]                # constant velocity through the gap
    assert np.allclose(np.linalg.inv(res.poses[4]) @ res.poses[5], step, atol=1e-5)
    assert monocular_vo(rgb[:1], K).poses.shape == (1, 4, 4)
