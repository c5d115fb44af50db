"""30 FPS resampling with hand-computed values."""
import numpy as np

from egom2p.geometry import make_pose, quat_to_matrix
from egom2p.timeline import canonical_times, nearest_indices, resample_linear, resample_poses


def test_canonical_times_cover_the_source_span():
    src = np.arange(0, 1.0, 0.02)           # 50 Hz, last frame at 0.98 s
    t = canonical_times(src, 30.0)
    assert len(t) == 30                     # 0 .. 29/30 (0.9667) ≤ 0.98 + 0.01
    np.testing.assert_allclose(np.diff(t), 1 / 30)
    assert t[0] == 0.0
    assert len(canonical_times(np.array([5.0]), 30.0)) == 1


def test_nearest_indices_ties_go_earlier():
    src = np.array([0.0, 0.1, 0.2])
    np.testing.assert_array_equal(nearest_indices(src, np.array([0.0, 0.04, 0.05, 0.06, 0.3, -1.0])),
                                  [0, 0, 0, 1, 2, 0])


def test_linear_resampling_with_gaps_and_range():
    times = np.array([0.0, 0.1, 0.2, 0.6, 0.7])
    vals = np.array([[0, 0], [1, 10], [2, 20], [6, 60], [7, 70]], float)
    q = np.array([-0.05, 0.05, 0.15, 0.2, 0.4, 0.65, 0.7, 0.75])
    out = resample_linear(times, vals, q, max_gap=0.25)
    np.testing.assert_allclose(out[1], [0.5, 5])
    np.testing.assert_allclose(out[2], [1.5, 15])
    np.testing.assert_allclose(out[3], [2, 20])       # exact sample before a gap stays valid
    assert np.isnan(out[4]).all()                     # inside the 0.4 s gap
    np.testing.assert_allclose(out[5], [6.5, 65])
    np.testing.assert_allclose(out[6], [7, 70])
    assert np.isnan(out[0]).all() and np.isnan(out[7]).all()   # outside the samples


def test_nan_neighbour_poisons_only_its_interval():
    times = np.array([0.0, 0.1, 0.2])
    vals = np.array([[1.0], [np.nan], [3.0]])
    out = resample_linear(times, vals, np.array([0.0, 0.05, 0.2]), max_gap=1)
    assert out[0, 0] == 1.0 and np.isnan(out[1, 0]) and out[2, 0] == 3.0


def test_pose_slerp_and_lerp():
    s = np.sqrt(0.5)
    T = np.stack([make_pose(np.eye(3), [0, 0, 0]), make_pose(quat_to_matrix([0, 0, s, s]), [1, 2, 0])])
    out = resample_poses(np.array([0.0, 1.0]), T, np.array([0.25, 0.5, 1.5]), max_gap=2)
    a = np.deg2rad(22.5)
    np.testing.assert_allclose(out[0, :3, :3], [[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]],
                               atol=1e-12)
    np.testing.assert_allclose(out[0, :3, 3], [0.25, 0.5, 0])
    np.testing.assert_allclose(out[1, :3, 3], [0.5, 1.0, 0])
    assert np.isnan(out[2]).all()
    gap = resample_poses(np.array([0.0, 1.0]), T, np.array([0.5]), max_gap=0.5)
    assert np.isnan(gap).all()
