"""Evaluation metrics on hand-computed cases (core/metrics.py)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from egom2p.geometry import axis_angle_to_matrix, make_pose
from egom2p.metrics import (abs_rel, abs_rel_metric, align_trajectory, camera_metrics, depth_metrics, fit_scale_shift,
                            gaze_angular_errors_deg, gaze_metrics, gaze_pixel_errors, psnr, psnr_frames,
                            relative_pose_errors, rotation_angle_deg, umeyama)

K100 = np.array([[100.0, 0, 49.5], [0, 100.0, 49.5], [0, 0, 1]])  # centred pinhole of a 100² clip


# ------------------------------------------------------------------------------------------------ gaze
def test_gaze_metrics_hand_computed():
    gt = np.array([[0.5, 0.5], [0.5, 0.5], [np.nan, np.nan]])
    pred = np.array([[0.6, 0.5], [0.5, 0.5], [0.9, 0.9]])          # frame 2 has no gt: skipped
    m = gaze_metrics(pred, gt, K=K100, side=100, image_size=(200, 100))
    assert m["gaze_valid_frames"] == 2.0
    assert m["gaze_mse"] == pytest.approx(0.0025)                   # (0.1² + 0 + 0 + 0) / 4 elements
    assert m["gaze_px_error"] == pytest.approx(10.0)                # (0.1 · 200 px + 0) / 2
    # pixel 59.5 vs the principal point 49.5 at f = 100: atan(0.1) = 5.710593137499643°, mean with 0
    assert m["gaze_angular_error_deg"] == pytest.approx(5.710593137499643 / 2, rel=1e-12)


def test_gaze_metrics_defaults_and_degenerate_inputs():
    gt = np.array([[0.25, 0.75], [0.5, 0.5]])
    pred = np.array([[0.25, 0.45], [0.9, 0.8]])
    m = gaze_metrics(pred, gt, side=100)                             # no K: no angle; size = side²
    assert m["gaze_px_error"] == pytest.approx((30.0 + 50.0) / 2)    # |(0, -0.3)|, |(0.4, 0.3)| × 100
    assert math.isnan(m["gaze_angular_error_deg"])
    none = gaze_metrics(pred, np.full((2, 2), np.nan), K=K100, side=100)
    assert none["gaze_valid_frames"] == 0.0 and math.isnan(none["gaze_mse"]) and math.isnan(none["gaze_px_error"])
    bad = gaze_metrics(np.array([[np.nan, np.nan], [0.5, 0.5]]), gt)  # a NaN prediction is not forgiven
    assert math.isnan(bad["gaze_mse"])


# ---------------------------------------------------------------------------------------------- camera
def _line(n=4, step=1.0):
    return np.stack([make_pose(np.eye(3), [step * i, 0, 0]) for i in range(n)])


def test_camera_metrics_se3_vs_sim3_on_half_scale_line():
    gt, pred = _line(step=1.0), _line(step=0.5)
    se3 = camera_metrics(pred, gt, align="se3")
    # centred gt (−1.5, −0.5, 0.5, 1.5) vs pred (−0.75, …): errors 0.75, 0.25, 0.25, 0.75 → √(1.25/4)
    assert se3["ate_m"] == pytest.approx(math.sqrt(0.3125))
    assert se3["rte_m"] == pytest.approx(0.5)                        # every 1 m step predicted as 0.5 m
    assert se3["rre_deg"] == pytest.approx(0.0, abs=1e-9) and se3["align_scale"] == 1.0
    sim3 = camera_metrics(pred, gt)                                  # default: Sim(3)
    assert sim3["align_scale"] == pytest.approx(2.0)
    assert sim3["ate_m"] == pytest.approx(0.0, abs=1e-12) and sim3["rte_m"] == pytest.approx(0.0, abs=1e-12)
    none = camera_metrics(pred, gt, align="none")                    # errors 0, 0.5, 1, 1.5 → √(3.5/4)
    assert none["ate_m"] == pytest.approx(math.sqrt(0.875))
    pred[1, 0, 3] = np.nan
    assert all(math.isnan(v) for v in camera_metrics(pred, gt).values())


def test_camera_metrics_rotation_errors_hand_computed():
    gt = np.stack([make_pose(np.eye(3), [i, (i % 2) * 0.5, 0]) for i in range(3)])
    pred = gt.copy()
    pred[2, :3, :3] = axis_angle_to_matrix([0, 0, 1], np.radians(3.0))  # last camera turned 3° in place
    m = camera_metrics(pred, gt, align="none")
    assert m["ate_m"] == 0.0
    assert m["rre_deg"] == pytest.approx(math.sqrt((0 + 9.0) / 2))   # pairs (0,1): 0°, (1,2): 3°
    assert m["are_deg"] == pytest.approx(math.sqrt(9.0 / 3))
    assert m["rte_m"] == pytest.approx(0.0, abs=1e-12)               # rotation about the camera centre


def test_umeyama_recovers_a_similarity_and_alignment_is_invariant():
    rng = np.random.default_rng(0)
    src = rng.normal(size=(30, 3))
    R = axis_angle_to_matrix([1, 2, 3], 0.7)
    dst = 2.5 * src @ R.T + np.array([1.0, -2.0, 0.5])
    sim = umeyama(src, dst)
    assert sim.scale == pytest.approx(2.5) and np.allclose(sim.R, R) and np.allclose(sim.apply_points(src), dst)
    rigid = umeyama(src, dst, with_scale=False)
    assert rigid.scale == 1.0 and np.allclose(rigid.R, R)           # rotation is scale-independent
    gt = np.stack([make_pose(axis_angle_to_matrix([0, 1, 0], 0.02 * i), p) for i, p in enumerate(src[:10])])
    moved = np.stack([make_pose(R @ T[:3, :3], 0.3 * R @ T[:3, 3] - 1.0) for T in gt])  # gt in another frame
    m = camera_metrics(moved, gt)
    assert m["ate_m"] < 1e-9 and m["are_deg"] < 1e-5 and m["rre_deg"] < 1e-5 and m["align_scale"] == pytest.approx(1 / 0.3)


def test_alignment_degenerate_and_rpe_delta():
    gt = _line(5)
    aligned, sim = align_trajectory(np.tile(np.eye(4), (5, 1, 1)), gt)  # static prediction: no scale/rotation
    assert sim.scale == 1.0 and np.allclose(sim.R, np.eye(3)) and np.allclose(aligned[:, 0, 3], 2.0)
    t_err, r_err = relative_pose_errors(_line(5, 0.5), gt, delta=2)
    assert np.allclose(t_err, 1.0) and len(t_err) == 3 and np.allclose(r_err, 0.0)
    assert rotation_angle_deg(axis_angle_to_matrix([1, 0, 0], np.pi)) == pytest.approx(180.0)
    with pytest.raises(ValueError):
        align_trajectory(gt, gt, "affine")


# ----------------------------------------------------------------------------------------------- depth
def test_depth_metrics_scale_shift_then_depth_space():
    # gt inverse depth 0.2, 0.4 | 0.5, 0.7 ; pred 0, 0 | 1, 1 → LS fit = group means 0.3 | 0.6 (s 0.3, b 0.3)
    gt = np.array([[[0.2, 0.4], [0.5, 0.7]], [[np.nan, 0.0], [np.nan, np.nan]]])  # NaN / 0 ignored
    pred = np.array([[[0.0, 0.0], [1.0, 1.0]], [[5.0, 5.0], [5.0, 5.0]]])
    m = depth_metrics(pred, gt)
    assert m["align_scale"] == pytest.approx(0.3) and m["align_shift"] == pytest.approx(0.3)
    # |d̂/d − 1| = |g/a − 1|: 1/3, 1/3, 1/6, 1/6 ; max ratio 1.5, 1.333, 1.2, 1.1667 → 2 of 4 below 1.25
    assert m["absrel"] == pytest.approx(0.25) and m["delta1"] == pytest.approx(0.5)
    assert m["valid_frac"] == pytest.approx(4 / 8)
    # the same gt stored normalized with (inv_lo, inv_hi) = (0.1, 1.1): mapped back before the metrics
    norm = depth_metrics(pred, gt - 0.1, gt_normalization={"inv_lo": 0.1, "inv_hi": 1.1})
    assert norm["absrel"] == pytest.approx(0.25) and norm["delta1"] == pytest.approx(0.5)


def test_depth_metrics_floor_exact_fit_and_constant_prediction():
    gt = np.array([[[0.4, 0.1, 0.1]]])
    pred = np.array([[[0.0, 1.0, 2.0]]])                             # LS: s −0.15, b 0.35 → 0.35, 0.2, 0.05
    m = depth_metrics(pred, gt, min_inverse=0.1)                     # 0.05 floored to 0.1
    assert m["align_scale"] == pytest.approx(-0.15) and m["align_shift"] == pytest.approx(0.35)
    assert m["absrel"] == pytest.approx((1 / 7 + 0.5 + 0.0) / 3)     # 0.4/0.35−1, 0.1/0.2−1, 0.1/0.1−1
    assert m["delta1"] == pytest.approx(2 / 3)
    exact = depth_metrics(2.0 * gt + 0.1, gt)
    assert exact["absrel"] == pytest.approx(0.0, abs=1e-12) and exact["delta1"] == 1.0
    const = depth_metrics(np.full_like(gt, 0.7), gt)                 # constant → gt mean 0.2 everywhere
    assert const["align_scale"] == 0.0 and const["align_shift"] == pytest.approx(0.2)
    assert const["absrel"] == pytest.approx((1.0 + 0.5 + 0.5) / 3)  # |0.4/0.2 − 1| = 1, |0.1/0.2 − 1| = 0.5 ×2
    assert fit_scale_shift(np.array([1.0, 2.0]), np.array([3.0, 5.0])) == pytest.approx((2.0, 1.0))
    assert math.isnan(depth_metrics(pred, np.full_like(gt, np.nan))["absrel"])
    nan_pred = depth_metrics(np.array([[[np.nan, 1.0, 2.0]]]), gt)   # a NaN prediction is not forgiven
    assert math.isnan(nan_pred["absrel"]) and math.isnan(nan_pred["delta1"])
    with pytest.raises(ValueError):
        depth_metrics(pred, gt[:, :, :2])


def test_unaligned_abs_rel_of_a_reconstruction():
    gt = np.array([0.05, 0.5, 1.0, 0.0])
    valid = np.ones(4, bool)
    pred = gt * 1.1
    assert abs_rel(pred, gt, valid, min_gt=0.05) == pytest.approx(0.1, abs=1e-9)  # includes gt = 1, excludes 0
    assert math.isnan(abs_rel(pred, gt, np.zeros(4, bool)))
    # metric: inverse depth 0.25 + d·0.5 (4 m … 1.33 m); pixels at the clipped ends (0, 1) are excluded
    inv_g, inv_p = 0.25 + gt[:2] * 0.5, 0.25 + pred[:2] * 0.5
    expect = np.mean(np.abs(1 / inv_p - 1 / inv_g) * inv_g)
    assert abs_rel_metric(pred, gt, valid, 0.25, 0.75) == pytest.approx(expect, abs=1e-9)
    assert math.isnan(abs_rel_metric(pred, np.zeros(4), valid, 0.25, 0.75))


def test_psnr_whole_array_and_per_frame_agree_on_one_frame():
    gt = np.full((1, 8, 8, 3), 100, np.uint8)
    pred = gt + np.uint8(10)
    assert psnr(pred, gt) == pytest.approx(10 * math.log10(255 ** 2 / 100))
    assert psnr(pred, gt) == psnr_frames(pred, gt)[0]
    assert psnr(gt, gt) == math.inf and psnr_frames(gt, gt)[0] == 100.0


def test_gaze_error_arrays_skip_invalid_gt():
    gt = np.array([[0.5, 0.5], [np.nan, np.nan], [0.5, 0.5]])
    pred = np.array([[0.6, 0.5], [0.0, 0.0], [0.5, 0.5]])
    np.testing.assert_allclose(gaze_pixel_errors(pred, gt), [0.1, 0.0], atol=1e-15)
    np.testing.assert_allclose(gaze_angular_errors_deg(pred, gt, K100, 100), [5.710593137499643, 0.0], atol=1e-9)
