"""Normalization with hand-computed values."""
import numpy as np
import pytest

from egom2p.geometry import make_pose, quat_to_matrix
from egom2p.normalize import (denormalize_depth, depth_constants, normalize_depth, normalize_gaze,
                             relative_poses)


def test_inverse_depth_normalization():
    c = {"inv_lo": 0.25, "inv_hi": 1.0}
    d = np.array([1.0, 2.0, 4.0, 8.0, 0.5, np.nan, 0.0])
    n = normalize_depth(d, c)
    np.testing.assert_allclose(n[:5], [1.0, 1 / 3, 0.0, 0.0, 1.0])   # far/near beyond range clip
    assert np.isnan(n[5]) and np.isnan(n[6])
    np.testing.assert_allclose(denormalize_depth(n[:3], c), [1.0, 2.0, 4.0])


def test_depth_constants_are_per_sequence_percentiles():
    maps = [np.full((4, 4), 2.0), np.full((4, 4), 4.0)]
    maps[0][0, 0] = np.nan
    c = depth_constants(maps, (0.0, 100.0))
    assert c["inv_lo"] == pytest.approx(0.25) and c["inv_hi"] == pytest.approx(0.5)
    with pytest.raises(ValueError):
        depth_constants([np.full((2, 2), np.nan)])


def test_gaze_normalization_pixel_centres_and_off_frame():
    g = np.array([[0.0, 0.0], [3.0, 1.0], [-0.6, 2.0], [np.nan, 1.0], [4.2, 0.0]])
    out = normalize_gaze(g, side=4)
    np.testing.assert_allclose(out[0], [0.125, 0.125])
    np.testing.assert_allclose(out[1], [0.875, 0.375])
    assert np.isnan(out[2:]).all()


def test_relative_poses_first_is_identity():
    s = np.sqrt(0.5)
    T0 = make_pose(quat_to_matrix([0, 0, s, s]), [1, 1, 0])
    T1 = make_pose(quat_to_matrix([0, 0, s, s]), [1, 2, 0])   # moved +1 along world y
    rel = relative_poses(np.stack([T0, T1]))
    np.testing.assert_allclose(rel[0], np.eye(4))
    # world +y is the camera's -x (camera x axis points along world +y after 90° about z? R[:,0]=(0,1,0))
    np.testing.assert_allclose(rel[1, :3, 3], [1, 0, 0], atol=1e-12)
    np.testing.assert_allclose(rel[1, :3, :3], np.eye(3), atol=1e-12)
