"""Readers for Project Aria MPS outputs, shared by Ego-Exo4D, HOT3D-Aria and ADT.

- ``read_closed_loop_trajectory``: T_world_device (world-from-device, metres), device time in seconds.
- ``read_eye_gaze``: the four eye-gaze CSV schemas, detected by header -> yaw, pitch (radians, CPF) and
  depth (metres, NaN when unknown).
- ``read_online_calibration``: FISHEYE624 intrinsics and T_device_camera of one camera label.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from egom2p.aria import vergence_to_yaw_depth
from egom2p.cameras import Fisheye624
from egom2p.geometry import make_pose, quat_to_matrix, wxyz_to_xyzw

from .sequence import SequenceError, check_poses, check_times
from .tables import read_csv

TRAJ_COLUMNS = ["tracking_timestamp_us", "tx_world_device", "ty_world_device", "tz_world_device",
                "qx_world_device", "qy_world_device", "qz_world_device", "qw_world_device"]

# header detection for eye gaze: (schema name, columns that identify it)
# (gen2 before vergence: a Gen2 header also holds left/right yaw and pitch_rads_cpf; only Gen2 has
# left_pitch_rads_cpf and a stored combined yaw)
GAZE_SCHEMAS = [
    ("gen2", ["yaw_rads_cpf", "pitch_rads_cpf", "left_yaw_rads_cpf", "left_pitch_rads_cpf"]),
    ("vergence", ["left_yaw_rads_cpf", "right_yaw_rads_cpf", "pitch_rads_cpf"]),
    ("v1_or_v2", ["yaw_rads_cpf", "pitch_rads_cpf"]),
]


@dataclass
class GazeSamples:
    """times (K,) s device time; yaw, pitch (K,) radians in CPF; depth (K,) metres, NaN = unknown."""
    schema: str
    times: np.ndarray
    yaw: np.ndarray
    pitch: np.ndarray
    depth: np.ndarray


def read_closed_loop_trajectory(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """-> (times (M,) seconds, T_world_device (M,4,4)); validates order and pose values."""
    c = read_csv(path, TRAJ_COLUMNS)
    name = Path(path).name
    times = check_times(c["tracking_timestamp_us"] * 1e-6, name)
    q = np.stack([c["qx_world_device"], c["qy_world_device"], c["qz_world_device"], c["qw_world_device"]], -1)
    t = np.stack([c["tx_world_device"], c["ty_world_device"], c["tz_world_device"]], -1)
    finite = np.isfinite(q).all(1) & np.isfinite(t).all(1)
    if not finite.all():
        raise SequenceError(f"{name}: non-finite (NaN/inf) pose at row {int(np.argmin(finite))}")
    norms = np.linalg.norm(q, axis=1)
    if (np.abs(norms - 1) > 1e-3).any():
        raise SequenceError(f"{name}: quaternion not unit length at row {int(np.argmax(np.abs(norms - 1) > 1e-3))}")
    return times, check_poses(make_pose(quat_to_matrix(q), t), name)


def detect_gaze_schema(columns: list[str]) -> str:
    for schema, needed in GAZE_SCHEMAS:
        if all(c in columns for c in needed):
            return schema
    raise SequenceError(f"eye gaze CSV: unknown schema (columns: {', '.join(columns[:6])} …)")


def read_eye_gaze(path: str | os.PathLike) -> GazeSamples:
    """Any of the four MPS eye-gaze schemas -> yaw/pitch/depth in CPF."""
    path = Path(path)
    if not path.exists():
        raise SequenceError(f"missing file {path.name}")
    with open(path) as f:
        header = f.readline().strip().split(",")
    schema = detect_gaze_schema(header)
    if schema == "vergence":
        c = read_csv(path, ["tracking_timestamp_us", "left_yaw_rads_cpf", "right_yaw_rads_cpf", "pitch_rads_cpf"])
        yaw, depth = vergence_to_yaw_depth(c["left_yaw_rads_cpf"], c["right_yaw_rads_cpf"], c["pitch_rads_cpf"])
        pitch = c["pitch_rads_cpf"]
    else:
        c = read_csv(path, ["tracking_timestamp_us", "yaw_rads_cpf", "pitch_rads_cpf"], optional=["depth_m"])
        yaw, pitch = c["yaw_rads_cpf"], c["pitch_rads_cpf"]
        depth = c.get("depth_m", np.full(yaw.shape, np.nan))
    depth = np.where(np.isfinite(depth) & (depth > 0), depth, np.nan)
    times = check_times(c["tracking_timestamp_us"] * 1e-6, path.name)
    return GazeSamples(schema, times, np.asarray(yaw, float), np.asarray(pitch, float), depth)


@dataclass
class CameraCalibration:
    label: str
    model: Fisheye624            # at the calibration's resolution
    T_device_camera: np.ndarray  # (4,4)


def parse_camera_calibration(entry: dict, resolution: int) -> CameraCalibration:
    """One ``CameraCalibrations`` entry (calib JSON / online_calibration.jsonl) -> model + extrinsics."""
    proj = entry.get("Projection", {})
    if proj.get("Name") != "FisheyeRadTanThinPrism":
        raise SequenceError(f"camera {entry.get('Label')}: unsupported projection {proj.get('Name')!r}")
    T = entry["T_Device_Camera"]
    w, (x, y, z) = T["UnitQuaternion"]
    R = quat_to_matrix(wxyz_to_xyzw(np.array([w, x, y, z])))
    return CameraCalibration(entry["Label"], Fisheye624(tuple(proj["Params"]), resolution, resolution),
                             make_pose(R, T["Translation"]))


def read_online_calibration(path: str | os.PathLike, label: str = "camera-rgb",
                            resolution: int = 2880) -> CameraCalibration:
    """First calibration of ``label`` in online_calibration.jsonl (RGB intrinsics are at 2880²)."""
    path = Path(path)
    if not path.exists():
        raise SequenceError(f"missing file {path.name}")
    with open(path) as f:
        for line in f:
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as e:
                raise SequenceError(f"{path.name}: invalid JSON line ({e})") from None
            for entry in record.get("CameraCalibrations", []):
                if entry.get("Label") == label:
                    return parse_camera_calibration(entry, resolution)
    raise SequenceError(f"{path.name}: no calibration for {label}")
