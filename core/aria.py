"""Project Aria conventions shared by the Aria-based datasets and the synthetic world.

- CAD extrinsics of Gen1 DVT-L/DVT-S (``T_device_cpf``, ``T_device_<sensor>``); device frame = the left
  SLAM camera.
- MPS eye gaze: yaw/pitch in the Central Pupil Frame (CPF: +X wearer's left, +Y up, +Z forward), and
  the vergence form (left/right yaw, IPD 0.063 m).
- The 90° clockwise rotation between the raw RGB sensor image and the upright image/mp4.
"""
from __future__ import annotations

import numpy as np

from .geometry import invert_pose, make_pose

IPD_M = 0.063
DEFAULT_GAZE_DEPTH_M = 1.0

# component: tx, ty, tz (m), Y axis (i,j,k), Z axis (i,j,k), all in CPF (core/calibration/ConfigData.cpp)
CAD_DVT_L = {
    "camera-slam-left": (0.071351, 0.002372, 0.008454, 0.793353, 0.000000, -0.608761, 0.607927, -0.052336, 0.792266),
    "camera-slam-right": (-0.071351, 0.002372, 0.008454, 0.793353, 0.000000, 0.608761, -0.607927, -0.052336, 0.792266),
    "camera-rgb": (0.058250, 0.007186, 0.012096, 1.000000, 0.000000, 0.000000, 0.000000, -0.130526, 0.991445),
}
CAD_DVT_S = {
    **CAD_DVT_L,
    "camera-slam-left": (0.069051, *CAD_DVT_L["camera-slam-left"][1:]),
    "camera-slam-right": (-0.069051, *CAD_DVT_L["camera-slam-right"][1:]),
    "camera-rgb": (0.056000, 0.007121, 0.012883, *CAD_DVT_L["camera-rgb"][3:]),
}
CAD_TABLES = {"DVT-L": CAD_DVT_L, "DVT-S": CAD_DVT_S}

# Upright image from raw: right-multiply T_device_camera by this (90° clockwise pixel rotation,
# raw (x, y) -> upright (W-1-y, x)). Columns are the upright camera's axes in the raw camera frame.
RAW_FROM_UPRIGHT = np.array([[0.0, 1.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])


def cad_T_cpf_sensor(label: str, build: str = "DVT-L") -> np.ndarray:
    """(4,4) pose of a sensor in CPF from the CAD row (X = Y x Z)."""
    tx, ty, tz, yi, yj, yk, zi, zj, zk = CAD_TABLES[build][label]
    y = np.array([yi, yj, yk])
    z = np.array([zi, zj, zk])
    y /= np.linalg.norm(y)
    z /= np.linalg.norm(z)
    x = np.cross(y, z)
    return make_pose(np.stack([x, y, z], axis=1), [tx, ty, tz])


def cad_T_device_cpf(build: str = "DVT-L") -> np.ndarray:
    """T_device_cpf: inverse of the CAD pose of the origin sensor (left SLAM camera) in CPF."""
    return invert_pose(cad_T_cpf_sensor("camera-slam-left", build))


def cad_T_device_sensor(label: str, build: str = "DVT-L") -> np.ndarray:
    return cad_T_device_cpf(build) @ cad_T_cpf_sensor(label, build)


def gaze_direction_cpf(yaw: np.ndarray, pitch: np.ndarray) -> np.ndarray:
    """Unit gaze directions (...,3) in CPF from yaw/pitch (radians): normalize(tan yaw, tan pitch, 1)."""
    d = np.stack([np.tan(yaw), np.tan(pitch), np.ones_like(np.asarray(yaw, dtype=np.float64))], -1)
    return d / np.linalg.norm(d, axis=-1, keepdims=True)


def gaze_point_cpf(yaw, pitch, depth=None) -> np.ndarray:
    """3D gaze points (...,3) in CPF at ``depth`` metres along the ray (missing/0/NaN -> 1 m)."""
    yaw = np.asarray(yaw, dtype=np.float64)
    if depth is None:
        depth = np.full(yaw.shape, DEFAULT_GAZE_DEPTH_M)
    depth = np.asarray(depth, dtype=np.float64)
    depth = np.where(~np.isfinite(depth) | (depth <= 0), DEFAULT_GAZE_DEPTH_M, depth)
    return gaze_direction_cpf(yaw, pitch) * depth[..., None]


def vergence_to_yaw_depth(left_yaw, right_yaw, pitch) -> tuple[np.ndarray, np.ndarray]:
    """Combined yaw and depth from the vergence schema (EyeGazeReader.h, IPD 0.063 m)."""
    tl, tr = np.tan(np.asarray(left_yaw, np.float64)), np.tan(np.asarray(right_yaw, np.float64))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = IPD_M / (tr - tl)
        x = (IPD_M / 2) * (tl + tr) / (tr - tl)
    y = z * np.tan(np.asarray(pitch, np.float64))
    return np.arctan(x / z), np.sqrt(x * x + y * y + z * z)


def point_to_vergence(p_cpf: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inverse of ``vergence_to_yaw_depth``: CPF points (...,3) -> (left_yaw, right_yaw, pitch).

    The left eye sits at x = +IPD/2 (+X is the wearer's left), the right eye at x = -IPD/2.
    """
    p = np.asarray(p_cpf, dtype=np.float64)
    x, y, z = p[..., 0], p[..., 1], p[..., 2]
    return np.arctan((x - IPD_M / 2) / z), np.arctan((x + IPD_M / 2) / z), np.arctan(y / z)
