"""Trivial baselines: canonical-clip format and their scores on hand-computed cases (tasks/baselines.py)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from egom2p.checks import check_camera, check_depth, check_gaze
from egom2p.geometry import make_pose
from egom2p.metrics import camera_metrics, depth_metrics, gaze_metrics
from egom2p.tasks.baselines import center_gaze, copy_first_frame, fit_mean_depth, mean_depth, static_camera
from egom2p.tasks.metrics import video_metrics


def test_baselines_are_canonical_clip_arrays():
    g, c = center_gaze(), static_camera()
    assert g.shape == (60, 2) and g.dtype == np.float32 and np.all(g == 0.5) and check_gaze(g) == []
    assert c.shape == (60, 4, 4) and c.dtype == np.float32 and check_camera(c) == []
    c[1, 0, 3] = 1.0                                                 # a writable copy, not a broadcast view
    d = mean_depth(8, 0.25)
    assert d.shape == (60, 8, 8) and d.dtype == np.float16 and np.all(d == 0.25) and check_depth(d, 8) == []
    rgb = np.random.default_rng(0).integers(0, 256, (60, 8, 8, 3), dtype=np.uint8)
    v = copy_first_frame(rgb)
    assert v.shape == rgb.shape and v.dtype == np.uint8 and np.all(v == rgb[0])
    assert np.array_equal(copy_first_frame(rgb[0], frames=3), np.stack([rgb[0]] * 3))


def test_fit_mean_depth_scalar_and_per_pixel_map():
    a = np.array([[[0.2, np.nan], [0.4, 0.6]]] * 2)                 # 2 frames, pixel (0,1) never valid
    b = np.array([[[0.4, np.nan], [0.4, np.nan]]])
    scalar, per_pixel = fit_mean_depth([a, b])
    assert scalar == pytest.approx((0.2 * 2 + 0.4 * 3 + 0.6 * 2 + 0.4) / 8)   # 8 valid pixels
    assert per_pixel[0, 0] == pytest.approx((0.2 * 2 + 0.4) / 3) and math.isnan(per_pixel[0, 1])
    assert per_pixel[1, 1] == pytest.approx(0.6)
    d = mean_depth(2, per_pixel, frames=4)                           # NaN pixel → finite mean of the map
    assert d.shape == (4, 2, 2) and np.isfinite(d).all()
    assert float(d[0, 0, 1]) == pytest.approx(np.nanmean(per_pixel), abs=1e-3)
    with pytest.raises(ValueError):
        fit_mean_depth([np.full((1, 2, 2), np.nan)])
    with pytest.raises(ValueError):
        mean_depth(3, per_pixel)


def test_baseline_scores_hand_computed():
    gt_gaze = np.tile([0.5, 0.8], (60, 1))
    assert gaze_metrics(center_gaze(), gt_gaze, side=100)["gaze_px_error"] == pytest.approx(30.0)
    # static camera vs a 1 m/frame line: aligned to the centroid, ATE = std of 0..59 = √((60² − 1)/12)
    line = np.stack([make_pose(np.eye(3), [i, 0, 0]) for i in range(60)])
    m = camera_metrics(static_camera(), line)
    assert m["ate_m"] == pytest.approx(math.sqrt((60 ** 2 - 1) / 12)) and m["rte_m"] == pytest.approx(1.0)
    # a constant depth map is fitted to the gt mean: AbsRel of inverse depths 0.5 / 1.0 vs their mean 0.75
    gt = np.stack([np.full((4, 4), 0.5), np.full((4, 4), 1.0)])
    assert depth_metrics(mean_depth(4, 0.3, frames=2), gt)["absrel"] == pytest.approx((1 / 3 + 1 / 3) / 2)
    # copy of the conditioning frame is perfect on frame 0, scored from frame 1
    video = np.stack([np.full((12, 12, 3), 10 * i, np.uint8) for i in range(3)])
    assert video_metrics(copy_first_frame(video, 3), video, start=1)["psnr"] == pytest.approx(
        np.mean([10 * math.log10(255 ** 2 / 100), 10 * math.log10(255 ** 2 / 400)]))
