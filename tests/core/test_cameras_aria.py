"""Camera models and Aria conventions against the documented Aria golden values."""
import numpy as np
import pytest

from egom2p import aria
from egom2p.cameras import Fisheye624, KannalaBrandtK3, Pinhole, square_pinhole
from egom2p.geometry import invert_pose, transform_points

ADT_RGB = (610.9410078676575, 715.1148341104505, 716.7147122529825, 0.4060356696288849, -0.489948419647729,
           0.1745652818132035, 1.132983686620576, -1.701635218233742, 0.6511555293441647,
           0.0006211469747214578, 1.932200015697112e-05, -1.485525650871087e-05, 0.0002601225712292815,
           -0.0006582109778598294, 3.761395141407565e-05)


def test_fisheye624_golden_projection_and_unprojection():
    cam = Fisheye624(ADT_RGB, 1408, 1408)
    uv = cam.project(np.array([[0.1, -0.05, 1.0], [0.3, 0.2, 0.5]]))
    np.testing.assert_allclose(uv, [[776.2701, 686.1345], [1067.2784, 951.1664]], atol=1e-3)
    rays = cam.unproject(uv)
    np.testing.assert_allclose(rays, [[0.1, -0.05, 1], [0.6, 0.4, 1]], atol=1e-8)
    # the 16-parameter form with fy = fx is the same lens
    p16 = (ADT_RGB[0], ADT_RGB[0], *ADT_RGB[1:])
    np.testing.assert_allclose(Fisheye624(p16, 1408, 1408).project([0.1, -0.05, 1.0]), uv[0], atol=1e-9)


def test_fisheye_scaling_uses_pixel_centre_rule():
    cam = Fisheye624(ADT_RGB, 1408, 1408)
    half = cam.scaled(0.5)
    p = np.array([0.2, 0.1, 1.0])
    np.testing.assert_allclose(half.project(p), 0.5 * (cam.project(p) + 0.5) - 0.5, atol=1e-9)


def test_kb3_golden_values():
    cam = KannalaBrandtK3((1761.275757, 1761.275757, 1920, 1080, 0.036902, 0.057131, -0.057154, 0.018458), 3840, 2160)
    np.testing.assert_allclose(cam.project(np.array([[0.1, -0.05, 1], [0.5, 0.3, 1]])),
                               [[2095.4809, 992.2595], [2728.1115, 1564.8669]], atol=1e-3)


def test_pinhole_round_trip_and_square():
    cam = Pinhole(100, 110, 63.5, 47.5, 128, 96)
    uv = np.array([[3.0, 4.0], [100.0, 90.0]])
    np.testing.assert_allclose(cam.project(cam.unproject(uv)), uv)
    sq = square_pinhole(128, 90.0)
    assert sq.fx == pytest.approx(64.0) and sq.cx == 63.5


def test_cad_extrinsics_match_the_spec():
    np.testing.assert_allclose(aria.cad_T_device_cpf()[:3], [[-0.0319, -0.9986, -0.0415, 0.0050],
                                                            [0.7934, 0.0000, -0.6088, -0.0515],
                                                            [0.6079, -0.0523, 0.7923, -0.0499]], atol=1e-4)
    np.testing.assert_allclose(aria.cad_T_device_sensor("camera-rgb")[:3],
                               [[0.99551, -0.03186, 0.08918, -0.00454], [0.07946, 0.79335, -0.60355, -0.01261],
                                [-0.05152, 0.60793, 0.79232, -0.00533]], atol=1e-5)


def test_gaze_golden_pixel_with_cad_extrinsics():
    """First ADT gaze row -> (1036.006, 715.541) in the raw 1408 image (CAD T_device_rgb)."""
    p_cpf = aria.gaze_point_cpf(0.069013, -0.606622, 0.0)  # depth 0 -> 1 m
    np.testing.assert_allclose(p_cpf, [0.05670, -0.56918, 0.82026], atol=1e-5)
    p_rgb = transform_points(invert_pose(aria.cad_T_device_sensor("camera-rgb")) @ aria.cad_T_device_cpf(), p_cpf)
    np.testing.assert_allclose(p_rgb, [0.46595, -0.00155, 0.87648], atol=1e-5)
    np.testing.assert_allclose(Fisheye624(ADT_RGB, 1408, 1408).project(p_rgb), [1036.006, 715.541], atol=1e-3)


def test_vergence_round_trip():
    p = np.array([[0.1, -0.2, 0.8], [-0.3, 0.05, 2.0]])
    left, right, pitch = aria.point_to_vergence(p)
    yaw, depth = aria.vergence_to_yaw_depth(left, right, pitch)
    np.testing.assert_allclose(yaw, np.arctan(p[:, 0] / p[:, 2]), atol=1e-12)
    np.testing.assert_allclose(depth, np.linalg.norm(p, axis=1), atol=1e-12)
    np.testing.assert_allclose(aria.gaze_point_cpf(yaw, pitch, depth), p, atol=1e-12)


def test_upright_rotation_matches_pixel_rule():
    """Right-multiplying by RAW_FROM_UPRIGHT equals rotating raw pixels by (W-1-y, x) (pinhole check)."""
    W = 101
    raw = Pinhole(80, 80, 50, 50, W, W)
    p_up = np.array([0.2, -0.1, 1.0])
    p_raw = aria.RAW_FROM_UPRIGHT @ p_up
    x, y = raw.project(p_raw)
    np.testing.assert_allclose(raw.project(p_up), [W - 1 - y, x], atol=1e-9)


def test_fisheye_unprojection_converges_over_the_whole_frame():
    cam = Fisheye624(ADT_RGB, 1408, 1408).scaled(256 / 1408)
    u, v = np.meshgrid(np.arange(0, 256, 3.0), np.arange(0, 256, 3.0))
    uv = np.stack([u, v], -1)
    np.testing.assert_allclose(cam.project(cam.unproject(uv)), uv, atol=1e-6)
