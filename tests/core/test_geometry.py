import numpy as np
import pytest

from egom2p import geometry as G

S = np.sqrt(0.5)


def test_quaternion_hand_values_and_round_trip():
    Rz90 = G.quat_to_matrix([0, 0, S, S])
    np.testing.assert_allclose(Rz90, [[0, -1, 0], [1, 0, 0], [0, 0, 1]], atol=1e-12)
    np.testing.assert_allclose(G.quat_to_matrix([1, 0, 0, 0]), np.diag([1, -1, -1]), atol=1e-12)
    rng = np.random.default_rng(0)
    q = rng.normal(size=(50, 4))
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    q *= np.sign(q[:, 3:])
    np.testing.assert_allclose(G.matrix_to_quat(G.quat_to_matrix(q)), q, atol=1e-10)
    np.testing.assert_allclose(G.wxyz_to_xyzw([1, 2, 3, 4]), [2, 3, 4, 1])
    np.testing.assert_allclose(G.xyzw_to_wxyz([2, 3, 4, 1]), [1, 2, 3, 4])
    with pytest.raises(ValueError):
        G.quat_to_matrix([0, 0, 0, 0])


def test_slerp_halfway_and_short_arc():
    q0, q1 = np.array([0, 0, 0, 1.0]), np.array([0, 0, S, S])
    half = G.slerp(q0, q1, 0.5)
    np.testing.assert_allclose(half, [0, 0, np.sin(np.pi / 8), np.cos(np.pi / 8)], atol=1e-12)
    # -q1 is the same rotation: slerp must take the short arc
    np.testing.assert_allclose(np.abs(G.slerp(q0, -q1, 0.5)), np.abs(half), atol=1e-12)
    np.testing.assert_allclose(G.slerp(q0, q0, 0.3), q0)


def test_pose_inverse_and_points():
    T = G.make_pose(G.quat_to_matrix([0, 0, S, S]), [1, 2, 3])
    np.testing.assert_allclose(G.invert_pose(T) @ T, np.eye(4), atol=1e-12)
    np.testing.assert_allclose(G.transform_points(T, [1, 0, 0]), [1, 3, 3], atol=1e-12)


def test_opengl_to_opencv_flips_y_and_z():
    # an OpenGL camera at the origin looking down -z: OpenCV forward must be world -z
    ext_gl = np.eye(4)
    c2w_cv = G.invert_pose(G.OPENGL_TO_OPENCV @ ext_gl)
    np.testing.assert_allclose(c2w_cv[:3, 2], [0, 0, -1])
    np.testing.assert_allclose(c2w_cv[:3, 1], [0, -1, 0])


def test_look_at_and_rotation_errors():
    T = G.look_at_opencv([0, 0, 1.6], [1, 0, 1.6])
    np.testing.assert_allclose(T[:3, 2], [1, 0, 0], atol=1e-12)   # forward
    np.testing.assert_allclose(T[:3, 1], [0, 0, -1], atol=1e-12)  # image down = world down
    assert max(G.rotation_errors(T[:3, :3])) < 1e-12
    assert G.rotation_errors(np.diag([1.0, 1.0, -1.0]))[1] == pytest.approx(2.0)


def test_batched_rodrigues_matches_axis_angle():
    rng = np.random.default_rng(1)
    axes, angles = rng.normal(size=(20, 3)), rng.uniform(-np.pi, np.pi, 20)
    w = axes / np.linalg.norm(axes, axis=1, keepdims=True) * angles[:, None]
    R = G.rotvec_to_matrix(w)
    assert R.shape == (20, 3, 3)
    for Ri, a, t in zip(R, axes, angles):
        np.testing.assert_allclose(Ri, G.axis_angle_to_matrix(a, t), atol=1e-12)
    np.testing.assert_array_equal(G.rotvec_to_matrix(np.zeros((2, 3))), np.broadcast_to(np.eye(3), (2, 3, 3)))
    np.testing.assert_allclose(G.rotvec_to_matrix(np.array([[0.0, 0.0, np.pi / 2]]))[0],
                               [[0, -1, 0], [1, 0, 0], [0, 0, 1]], atol=1e-12)
