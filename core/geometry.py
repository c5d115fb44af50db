"""Pose math shared by the synthetic world, the readers and the normalizers.

Conventions: ``T_a_b`` (4x4) maps points from frame b to frame a (``p_a = T_a_b @ p_b``). Quaternions
are Hamilton; ``xyzw`` order unless a function says ``wxyz``. Arrays broadcast over leading dims.
OpenCV camera axes: x right, y down, z forward. OpenGL camera axes: x right, y up, looking down -z.
"""
from __future__ import annotations

import numpy as np

OPENGL_TO_OPENCV = np.diag([1.0, -1.0, -1.0, 1.0])  # flips camera y and z; its own inverse


def quat_to_matrix(q_xyzw: np.ndarray) -> np.ndarray:
    """(..., 4) unit quaternions x,y,z,w -> (..., 3, 3) rotation matrices (normalizes first)."""
    q = np.asarray(q_xyzw, dtype=np.float64)
    norm = np.linalg.norm(q, axis=-1, keepdims=True)
    if np.any(norm == 0) or not np.all(np.isfinite(norm)):
        raise ValueError("quaternion with zero or non-finite norm")
    x, y, z, w = np.moveaxis(q / norm, -1, 0)
    return np.stack([
        np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)], -1),
        np.stack([2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)], -1),
        np.stack([2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)], -1),
    ], -2)


def matrix_to_quat(R: np.ndarray) -> np.ndarray:
    """(..., 3, 3) rotations -> (..., 4) quaternions x,y,z,w with w >= 0 (Shepperd's method)."""
    R = np.asarray(R, dtype=np.float64)
    flat = R.reshape(-1, 3, 3)
    out = np.empty((flat.shape[0], 4))
    for i, m in enumerate(flat):
        tr = np.trace(m)
        if tr > 0:
            s = 2.0 * np.sqrt(tr + 1.0)
            q = [(m[2, 1] - m[1, 2]) / s, (m[0, 2] - m[2, 0]) / s, (m[1, 0] - m[0, 1]) / s, 0.25 * s]
        elif m[0, 0] > m[1, 1] and m[0, 0] > m[2, 2]:
            s = 2.0 * np.sqrt(1.0 + m[0, 0] - m[1, 1] - m[2, 2])
            q = [0.25 * s, (m[0, 1] + m[1, 0]) / s, (m[0, 2] + m[2, 0]) / s, (m[2, 1] - m[1, 2]) / s]
        elif m[1, 1] > m[2, 2]:
            s = 2.0 * np.sqrt(1.0 + m[1, 1] - m[0, 0] - m[2, 2])
            q = [(m[0, 1] + m[1, 0]) / s, 0.25 * s, (m[1, 2] + m[2, 1]) / s, (m[0, 2] - m[2, 0]) / s]
        else:
            s = 2.0 * np.sqrt(1.0 + m[2, 2] - m[0, 0] - m[1, 1])
            q = [(m[0, 2] + m[2, 0]) / s, (m[1, 2] + m[2, 1]) / s, 0.25 * s, (m[1, 0] - m[0, 1]) / s]
        q = np.asarray(q)
        out[i] = q / np.linalg.norm(q) * (1 if q[3] >= 0 else -1)
    return out.reshape(R.shape[:-2] + (4,))


def wxyz_to_xyzw(q: np.ndarray) -> np.ndarray:
    q = np.asarray(q, dtype=np.float64)
    return np.concatenate([q[..., 1:], q[..., :1]], axis=-1)


def xyzw_to_wxyz(q: np.ndarray) -> np.ndarray:
    q = np.asarray(q, dtype=np.float64)
    return np.concatenate([q[..., 3:], q[..., :3]], axis=-1)


def make_pose(R: np.ndarray, t: np.ndarray) -> np.ndarray:
    """(...,3,3), (...,3) -> (...,4,4) homogeneous transforms."""
    R = np.asarray(R, dtype=np.float64)
    t = np.asarray(t, dtype=np.float64)
    T = np.zeros(R.shape[:-2] + (4, 4))
    T[..., :3, :3] = R
    T[..., :3, 3] = t
    T[..., 3, 3] = 1.0
    return T


def invert_pose(T: np.ndarray) -> np.ndarray:
    """Inverse of rigid transforms (..., 4, 4) without a general matrix inverse."""
    T = np.asarray(T, dtype=np.float64)
    Rt = np.swapaxes(T[..., :3, :3], -1, -2)
    return make_pose(Rt, -np.einsum("...ij,...j->...i", Rt, T[..., :3, 3]))


def transform_points(T: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Apply (4,4) or (...,4,4) transforms to (...,3) points."""
    T = np.asarray(T, dtype=np.float64)
    return np.einsum("...ij,...j->...i", T[..., :3, :3], p) + T[..., :3, 3]


def slerp(q0: np.ndarray, q1: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Spherical interpolation of (...,4) quaternions (any order, same in both) at weights w in [0,1].

    Takes the short arc (flips q1 when the dot product is negative); falls back to normalized linear
    interpolation when the quaternions are nearly equal.
    """
    q0 = np.asarray(q0, dtype=np.float64)
    q1 = np.asarray(q1, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)[..., None]
    dot = np.sum(q0 * q1, axis=-1, keepdims=True)
    q1 = np.where(dot < 0, -q1, q1)
    dot = np.abs(dot)
    theta = np.arccos(np.clip(dot, -1.0, 1.0))
    sin_t = np.sin(theta)
    small = sin_t < 1e-8
    safe = np.where(small, 1.0, sin_t)
    a = np.where(small, 1.0 - w, np.sin((1.0 - w) * theta) / safe)
    b = np.where(small, w, np.sin(w * theta) / safe)
    q = a * q0 + b * q1
    return q / np.linalg.norm(q, axis=-1, keepdims=True)


def rotation_errors(R: np.ndarray) -> tuple[float, float]:
    """(max |R R^T - I|, max |det R - 1|) over (...,3,3): how far from proper rotations."""
    R = np.asarray(R, dtype=np.float64)
    eye = np.eye(3)
    ortho = np.abs(np.einsum("...ij,...kj->...ik", R, R) - eye).max(initial=0.0)
    det = np.abs(np.linalg.det(R) - 1.0).max(initial=0.0) if R.size else 0.0
    return float(ortho), float(det)


def axis_angle_to_matrix(axis: np.ndarray, angle: float) -> np.ndarray:
    """Rodrigues' formula for one rotation of ``angle`` radians about ``axis``."""
    a = np.asarray(axis, dtype=np.float64)
    a = a / np.linalg.norm(a)
    K = np.array([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]])
    return np.eye(3) + np.sin(angle) * K + (1 - np.cos(angle)) * (K @ K)


def rotvec_to_matrix(w: np.ndarray) -> np.ndarray:
    """Rodrigues' formula for a batch: (B, 3) rotation vectors (axis · angle, radians) → (B, 3, 3)
    rotation matrices; a zero vector gives I."""
    theta = np.linalg.norm(w, axis=1)[:, None, None]
    k = np.zeros((len(w), 3, 3))
    k[:, 0, 1], k[:, 0, 2], k[:, 1, 2] = -w[:, 2], w[:, 1], -w[:, 0]
    k = k - np.swapaxes(k, 1, 2)
    small = theta < 1e-12
    th = np.where(small, 1.0, theta)
    a, b = np.where(small, 1.0, np.sin(th) / th), np.where(small, 0.5, (1 - np.cos(th)) / th ** 2)
    return np.eye(3) + a * k + b * (k @ k)


def look_at_opencv(eye: np.ndarray, target: np.ndarray, up: np.ndarray = (0.0, 0.0, 1.0)) -> np.ndarray:
    """OpenCV camera-to-world (4,4) at ``eye`` looking at ``target``; image up follows world ``up``."""
    eye = np.asarray(eye, dtype=np.float64)
    z = np.asarray(target, dtype=np.float64) - eye
    z /= np.linalg.norm(z)
    x = np.cross(z, np.asarray(up, dtype=np.float64))
    if np.linalg.norm(x) < 1e-9:
        raise ValueError("look_at: view direction parallel to up")
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    return make_pose(np.stack([x, y, z], axis=1), eye)
