"""Project Aria pieces of the synthetic layouts: the RGB rig and MPS-style files.

Frames and transforms (``T_a_b`` maps b to a):

- the motion's head camera is the *upright* RGB camera (OpenCV axes, upright image);
- raw RGB sensor: ``T_world_rawrgb = T_world_upright @ [RAW_FROM_UPRIGHT.T | 0]`` (raw image rotated 90°
  clockwise gives the upright one);
- device (= left SLAM camera): ``T_world_device = T_world_rawrgb @ inv(T_device_rgb)`` with the CAD
  ``T_device_rgb`` (DVT-L); CPF: ``T_world_cpf = T_world_device @ T_device_cpf`` (CAD).

Time: motion time ``τ`` (s) and device time (ns) relate by ``device_ns = t0_ns + τ·1e9``. MPS files use
``tracking_timestamp_us`` = device µs. The RGB lens is the ADT factory FISHEYE624 (§0.4 golden params,
given at 1408²) scaled to the full 2880² sensor, as MPS online calibration stores it.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from egom2p.aria import RAW_FROM_UPRIGHT, cad_T_device_cpf, cad_T_device_sensor, point_to_vergence
from egom2p.cameras import Fisheye624
from egom2p.geometry import invert_pose, make_pose, matrix_to_quat, transform_points
from egom2p.io import write_json

from .common import write_text
from .motion import EgoMotion

ADT_RGB_PARAMS_1408 = (
    610.9410078676575, 715.1148341104505, 716.7147122529825, 0.4060356696288849, -0.489948419647729,
    0.1745652818132035, 1.132983686620576, -1.701635218233742, 0.6511555293441647, 0.0006211469747214578,
    1.932200015697112e-05, -1.485525650871087e-05, 0.0002601225712292815, -0.0006582109778598294,
    3.761395141407565e-05)
RGB_FULL_RES = 2880
SLAM_PARAMS_640 = (241.7, 320.6, 242.6, -0.0269, 0.1032, -0.0725, 0.0123, 0.0015, -0.0005, 0.0019, 0.0019,
                   -0.0031, -0.0003, -0.0026, 0.0)
FISHEYE_DESCRIPTION = "fx, cx, cy, k_0, k_1, k_2, k_3, k_4, k_5, p_0, p_1, s_0, s_1, s_2, s_3"
T_DEVICE_RGB = cad_T_device_sensor("camera-rgb")
T_DEVICE_CPF = cad_T_device_cpf()
UPRIGHT_TO_RAW = make_pose(RAW_FROM_UPRIGHT.T, np.zeros(3))  # T_upright_raw

TRAJECTORY_HEADER = (
    "graph_uid,tracking_timestamp_us,utc_timestamp_ns,tx_world_device,ty_world_device,tz_world_device,"
    "qx_world_device,qy_world_device,qz_world_device,qw_world_device,device_linear_velocity_x_device,"
    "device_linear_velocity_y_device,device_linear_velocity_z_device,angular_velocity_x_device,"
    "angular_velocity_y_device,angular_velocity_z_device,gravity_x_world,gravity_y_world,gravity_z_world,"
    "quality_score")
VERGENCE_HEADER = (
    "tracking_timestamp_us,left_yaw_rads_cpf,right_yaw_rads_cpf,pitch_rads_cpf,depth_m,left_yaw_low_rads_cpf,"
    "right_yaw_low_rads_cpf,pitch_low_rads_cpf,left_yaw_high_rads_cpf,right_yaw_high_rads_cpf,"
    "pitch_high_rads_cpf,tx_left_eye_cpf,ty_left_eye_cpf,tz_left_eye_cpf,tx_right_eye_cpf,ty_right_eye_cpf,"
    "tz_right_eye_cpf,session_uid")
GAZE_BOUND_RAD = 0.05


def rgb_calibration(size: int = RGB_FULL_RES) -> Fisheye624:
    """The RGB FISHEYE624 lens for a ``size``² image (ADT golden params scaled from 1408 via 2880)."""
    full = Fisheye624(ADT_RGB_PARAMS_1408, 1408, 1408).scaled(RGB_FULL_RES / 1408)
    return full if size == RGB_FULL_RES else full.scaled(size / RGB_FULL_RES)


def raw_rgb_poses(c2w_upright: np.ndarray) -> np.ndarray:
    """(..., 4, 4) T_world_rawrgb from upright head-camera poses."""
    return np.asarray(c2w_upright) @ UPRIGHT_TO_RAW


def device_poses(c2w_upright: np.ndarray) -> np.ndarray:
    """(..., 4, 4) T_world_device (left SLAM camera) from upright head-camera poses."""
    return raw_rgb_poses(c2w_upright) @ invert_pose(T_DEVICE_RGB)


def motion_time(device_ns: np.ndarray, t0_ns: int) -> np.ndarray:
    """Motion seconds of device timestamps (ns)."""
    return (np.asarray(device_ns, dtype=np.int64) - np.int64(t0_ns)).astype(np.float64) * 1e-9


def _rotvec(R: np.ndarray) -> np.ndarray:
    """(N, 3) rotation vectors of (N, 3, 3) small rotations."""
    v = 0.5 * np.stack([R[:, 2, 1] - R[:, 1, 2], R[:, 0, 2] - R[:, 2, 0], R[:, 1, 0] - R[:, 0, 1]], -1)
    s = np.linalg.norm(v, axis=-1, keepdims=True)
    ang = np.arctan2(s, (np.trace(R, axis1=1, axis2=2)[:, None] - 1.0) / 2.0)
    return v * np.where(s > 1e-12, ang / np.maximum(s, 1e-300), 1.0)


def write_closed_loop_trajectory(path: Path, motion: EgoMotion, tracking_us: np.ndarray, t0_ns: int,
                                 utc_offset_ns: int | None, graph_uid: str,
                                 T_out_world: np.ndarray | None = None) -> Path:
    """MPS ``closed_loop_trajectory.csv``: T_world_device (qx,qy,qz,qw), device-frame linear and angular
    velocity (central differences over ±0.5 ms), gravity (0, 0, -9.81), quality 1.

    ``T_out_world`` re-expresses poses and gravity in another world frame (ADT's Y-up scene:
    T_scene_device); ``utc_offset_ns=None`` writes ``utc_timestamp_ns = -1`` (unknown, as ADT)."""
    tau = motion_time(np.asarray(tracking_us, np.int64) * 1000, t0_ns)
    h = 5e-4
    T_out = np.eye(4) if T_out_world is None else np.asarray(T_out_world, np.float64)
    T = T_out @ device_poses(motion.head(tau))
    Tm, Tp = T_out @ device_poses(motion.head(tau - h)), T_out @ device_poses(motion.head(tau + h))
    g = T_out[:3, :3] @ np.array([0.0, 0.0, -9.81]) + 0.0
    R = T[:, :3, :3]
    v_dev = np.einsum("nji,nj->ni", R, (Tp[:, :3, 3] - Tm[:, :3, 3]) / (2 * h))
    w_dev = _rotvec(np.einsum("nji,njk->nik", Tm[:, :3, :3], Tp[:, :3, :3])) / (2 * h)
    q = matrix_to_quat(R)
    lines = [TRAJECTORY_HEADER]
    for i, us in enumerate(np.asarray(tracking_us, np.int64)):
        t, v, w = T[i, :3, 3], v_dev[i], w_dev[i]
        utc = -1 if utc_offset_ns is None else us * 1000 + utc_offset_ns
        lines.append(f"{graph_uid},{us},{utc},{t[0]:.9f},{t[1]:.9f},{t[2]:.9f},"
                     f"{q[i, 0]:.10f},{q[i, 1]:.10f},{q[i, 2]:.10f},{q[i, 3]:.10f},"
                     f"{v[0]:.6f},{v[1]:.6f},{v[2]:.6f},{w[0]:.6f},{w[1]:.6f},{w[2]:.6f},"
                     f"{g[0]:.6g},{g[1]:.6g},{g[2]:.6g},1.0")
    return write_text(path, lines)


def _pose_json(T: np.ndarray) -> dict:
    x, y, z, w = matrix_to_quat(T[:3, :3])
    return {"Translation": [float(v) for v in T[:3, 3]], "UnitQuaternion": [float(w), [float(x), float(y), float(z)]]}


def camera_calibrations() -> list[dict]:
    """Online-calibration camera entries: ``camera-slam-left`` (identity) and ``camera-rgb`` (2880²)."""
    def entry(label: str, params, T: np.ndarray, serial: str) -> dict:
        return {"Calibrated": True, "Label": label, "SerialNumber": serial, "T_Device_Camera": _pose_json(T),
                "Projection": {"Name": "FisheyeRadTanThinPrism", "Description": FISHEYE_DESCRIPTION,
                               "Params": [float(p) for p in params]}}
    return [entry("camera-slam-left", SLAM_PARAMS_640, np.eye(4), "0072510f1b2100050300001812090001"),
            entry("camera-rgb", rgb_calibration().params, T_DEVICE_RGB, "1WM103600M1292")]


def write_online_calibration(path: Path, tracking_us: np.ndarray, utc_offset_ns: int) -> Path:
    """MPS ``online_calibration.jsonl``: one line per timestamp, constant calibration."""
    cams = camera_calibrations()
    lines = [json.dumps({"utc_timestamp_ns": int(us) * 1000 + utc_offset_ns, "tracking_timestamp_us": int(us),
                         "ImuCalibrations": [], "CameraCalibrations": cams}, separators=(",", ":"))
             for us in np.asarray(tracking_us, np.int64)]
    return write_text(path, lines)


def gaze_vergence(motion: EgoMotion, tau: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, 4) left yaw, right yaw, pitch (rad, CPF) and depth (m) at motion times ``tau``, and (N,)
    validity (False during blinks or when the point is not in front of the CPF)."""
    g, valid = motion.gaze(tau)
    T_cpf_world = invert_pose(device_poses(motion.head(tau)) @ T_DEVICE_CPF)
    p = transform_points(T_cpf_world, np.where(valid[:, None], g, 0.0))
    valid = valid & (p[:, 2] > 0.05)
    left, right, pitch = point_to_vergence(p)
    return np.stack([left, right, pitch, np.linalg.norm(p, axis=-1)], -1), valid


def write_vergence_gaze(path: Path, motion: EgoMotion, tracking_us: np.ndarray, t0_ns: int,
                        session_uid: str) -> Path:
    """MPS ``general_eye_gaze.csv`` in the vergence schema; blinks are missing rows."""
    us = np.asarray(tracking_us, np.int64)
    vals, valid = gaze_vergence(motion, motion_time(us * 1000, t0_ns))
    b = GAZE_BOUND_RAD
    lines = [VERGENCE_HEADER]
    for t, (ly, ry, pitch, depth) in zip(us[valid], vals[valid]):
        lines.append(f"{t},{ly:.12g},{ry:.12g},{pitch:.12g},{depth:.12g},{ly - b:.12g},{ry - b:.12g},"
                     f"{pitch - b:.12g},{ly + b:.12g},{ry + b:.12g},{pitch + b:.12g},"
                     f"0.0315,0.0,0.0,-0.0315,0.0,0.0,{session_uid}")
    return write_text(path, lines)


def write_summaries(trajectory_dir: Path, eye_gaze_dir: Path) -> None:
    """MPS status files: ``trajectory/summary.json`` and ``eye_gaze/summary.json``."""
    ok = {"status": "SUCCESS", "info": [], "warnings": [], "errors": []}
    write_json(trajectory_dir / "summary.json", {"SLAM": ok, "Optimization": ok, "version": "1.2.3"})
    write_json(eye_gaze_dir / "summary.json", {"GazeInference": {"status": "SUCCESS", "message": ""}, "version": "3.0"})


V1_GAZE_HEADER = ("tracking_timestamp_us,yaw_rads_cpf,pitch_rads_cpf,depth_m,yaw_low_rads_cpf,pitch_low_rads_cpf,"
                  "yaw_high_rads_cpf,pitch_high_rads_cpf")


def write_v1_gaze(path: Path, motion: EgoMotion, tracking_us: np.ndarray, t0_ns: int) -> Path:
    """Legacy v1 ``eyegaze.csv`` (ADT): yaw = atan(x/z), pitch = atan(y/z) of the CPF gaze point, depth_m =
    |p_cpf| (ground-truth depth, as ADT fills it), bounds ∓0.05 rad; blinks are missing rows."""
    us = np.asarray(tracking_us, np.int64)
    tau = motion_time(us * 1000, t0_ns)
    g, valid = motion.gaze(tau)
    p = transform_points(invert_pose(device_poses(motion.head(tau)) @ T_DEVICE_CPF), np.where(valid[:, None], g, 0.0))
    valid = valid & (p[:, 2] > 0.05)
    yaw, pitch = np.arctan(p[:, 0] / np.where(valid, p[:, 2], 1.0)), np.arctan(p[:, 1] / np.where(valid, p[:, 2], 1.0))
    depth, b = np.linalg.norm(p, axis=-1), GAZE_BOUND_RAD
    lines = [V1_GAZE_HEADER] + [f"{t},{y:.12g},{pi:.12g},{d:.12g},{y - b:.12g},{pi - b:.12g},{y + b:.12g},{pi + b:.12g}"
                                for t, y, pi, d in zip(us[valid], yaw[valid], pitch[valid], depth[valid])]
    return write_text(path, lines)


# ------------------------------------------------------------------ extracted VRS form (aria_common reader)

def calibration_entry(label: str, stream_id: str, lens: Fisheye624, T_device_camera: np.ndarray,
                      hot3d_clips: bool = True) -> dict:
    """One camera calibration in the HOT3D-Clips schema (``hot3d_clips``) or HOT3D-Quest3's
    ``camera_models.json`` schema; quaternions w,x,y,z."""
    x, y, z, w = matrix_to_quat(np.asarray(T_device_camera)[:3, :3])
    pose = {"translation_xyz": [float(v) for v in np.asarray(T_device_camera)[:3, 3]],
            "quaternion_wxyz": [float(w), float(x), float(y), float(z)]}
    params = [float(p) for p in lens.params]
    if hot3d_clips:
        return {"label": label, "stream_id": stream_id, "serial_number": f"synth-{stream_id}",
                "image_width": lens.width, "image_height": lens.height,
                "projection_model_type": "CameraModelType.FISHEYE624", "projection_params": params,
                "T_device_from_camera": pose, "max_solid_angle": 1.5}
    return {"T_Device_Camera": pose, "imageHeight": lens.height, "imageWidth": lens.width, "label": label,
            "maxSolidAngle": 1.5, "projectionModelType": "CameraModelType.FISHEYE624", "projectionParams": params,
            "serialNumber": f"synth-{stream_id}", "stream_id": stream_id}


def write_timecode_csv(path: Path, device_ns: np.ndarray, timecode_ns: np.ndarray) -> Path:
    """``timecode.csv``: the samples of VRS stream 285-2 (device_time_ns,timecode_ns)."""
    return write_text(path, ["device_time_ns,timecode_ns"] + [f"{int(d)},{int(t)}" for d, t in zip(device_ns, timecode_ns)])
