"""HOT3D-like layouts: tabletop hand-object worlds seen from a seated wearer, in the
extracted form of the real ``recording.vrs`` (VRS cannot be written here; the readers accept both).

File contract, one folder per recording ``<out>/P<pid:04d>_<hex8>/`` (``k`` = sequence index)::

    metadata.json            {"gt_available_status": {...}, "headset": "Aria" | "Quest3",
                              "participant_id": "P<pid>", "recording_name": <folder>}
    headset_trajectory.csv   object_uid,timestamp[ns],t_wo_x[m],t_wo_y[m],t_wo_z[m],q_wo_w,q_wo_x,q_wo_y,q_wo_z
                             T_world_device (world Z-up, metres), quaternion **w first**, TIME_CODE ns
                             (= device ns - offset, offset drawn per recording); two rows per frame
                             (the frame and +90 µs, like HOT3D's interleaved RGB/SLAM stamps), 2 frames
                             of margin either side
    frames/timecode.csv      device_time_ns,timecode_ns at every trajectory row (VRS stream 285-2)
    masks/mask_headset_pose_available.csv, masks/mask_good_exposure.csv
                             timestamp[ns],stream_id,mask (True/False), HOT3D's QA masks: one row per
                             trajectory stamp and stream (TIME_CODE ns; frame stamps: the camera stream,
                             214-1 or 1201-1; +90 µs stamps: the SLAM stream(s)); frame ``masked_pose_frame(n)``
                             has no headset pose, frame ``bad_exposure_frame(n)`` is badly exposed (all streams)

``hot3d_aria`` adds::

    frames/214-1/<device_ns>.jpg    128x128 raw (sensor-orientation) RGB through the Aria FISHEYE624 lens
                                    (ADT golden params), JPEG q95, 30 Hz with ±0.2 ms jitter
    frames/calibration.json         HOT3D-Clips calibration schema: camera-rgb at 1408x1408 (15 params,
                                    T_device_from_camera = CAD T_device_rgb), camera-slam-left (identity)
    mps/eye_gaze/general_eye_gaze.csv   vergence schema at 10 Hz, device µs

``hot3d_quest3`` adds::

    frames/1201-1/<device_ns>.png   160x128 grey (the 1280x1024 mono SLAM camera at 1/8), 30 Hz
    camera_models.json              camera-slam-left / -right, FISHEYE624 with **16** params
                                    (fx != fy) at 1280x1024, T_Device_Camera quaternion_wxyz

The head camera of the motion is the Aria upright RGB camera (T_world_device via the CAD rig) or the
Quest3 left SLAM camera (T_world_device = T_world_cam · inv(T_device_camera)).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from egom2p.cameras import Fisheye624
from egom2p.geometry import axis_angle_to_matrix, invert_pose, make_pose, matrix_to_quat
from egom2p.io import write_bytes, write_json

from .. import aria_mps
from ..common import Sequence, deterministic_uuid, frame_count, make_sequence, progress_bar, write_jpeg, write_text
from ..render import fisheye_rays, render

ARIA_SIZE = 128
ARIA_CALIB_SIZE = 1408
Q3_FULL = (1280, 1024)
Q3_SCALE = 1 / 8
Q3_PARAMS = (600.2, 601.1, 639.6, 511.8, 0.0440, -0.0449, 0.0161, -0.0109, 0.0035, -0.0005, 0.0005, -0.00005,
             0.0, 0.0, 0.0, 0.0)
T_Q3_DEVICE_LEFT = make_pose(axis_angle_to_matrix([1.0, 0.3, 0.0], 0.35), [0.027, -0.129, -0.031])
T_Q3_DEVICE_RIGHT = make_pose(axis_angle_to_matrix([1.0, -0.3, 0.0], 0.35), [-0.023, -0.129, -0.031])
SLAM_DT_NS = 90_000
HEADSET_UID = "1234567890123"
MASK_STREAMS = {"Aria": (("214-1",), ("1201-1", "1201-2")), "Quest3": (("1201-1",), ("1201-2",))}


def masked_pose_frame(n: int) -> int:
    """Index of the frame (of ``n``) whose headset pose the synthetic QA mask marks unavailable."""
    return n // 2


def bad_exposure_frame(n: int) -> int:
    """Index of the frame (of ``n``) the synthetic QA mask marks badly exposed."""
    return n // 3


@dataclass
class Recording:
    seq: Sequence
    name: str
    participant: str
    t0_ns: int            # device ns at motion time 0
    tc_offset_ns: int     # device ns - TIME_CODE ns
    frame_ns: np.ndarray  # (n,) device ns of the frames

    def tau(self, device_ns: np.ndarray) -> np.ndarray:
        return aria_mps.motion_time(device_ns, self.t0_ns)


def plan_recording(layout: str, seed: int, k: int, seconds: float) -> Recording:
    """World, motion, names and clocks of recording ``k``."""
    seq = make_sequence(layout, seed, k, "tabletop", seconds)
    rng = seq.rng
    pid = int(rng.integers(1, 30))
    name = f"P{pid:04d}_{deterministic_uuid(rng)[:8]}"
    t0_ns = int(rng.uniform(50_000.0, 120_000.0) * 1e9)
    n = frame_count(seconds)
    frame_ns = t0_ns + np.round(np.arange(n) * (1e9 / 30.0) + rng.uniform(-2e5, 2e5, n)).astype(np.int64)
    return Recording(seq, name, f"P{pid:04d}", t0_ns, int(rng.uniform(1e13, 6e13)), frame_ns)


def write_common(root: Path, rec: Recording, headset: str, T_world_device_fn) -> None:
    """metadata.json, headset_trajectory.csv (w-first, TIME_CODE) and frames/timecode.csv."""
    write_json(root / "metadata.json", {
        "gt_available_status": {"mano_hand_pose_gt": False, "umetrack_hand_pose_gt": False, "object_pose_gt": False},
        "headset": headset, "participant_id": rec.participant, "recording_name": rec.name})
    step = int(1e9 / 30)
    base = np.concatenate([rec.frame_ns[0] - step * np.array([2, 1]), rec.frame_ns,
                           rec.frame_ns[-1] + step * np.array([1, 2])])
    dev = np.sort(np.concatenate([base, base + SLAM_DT_NS]))
    T = T_world_device_fn(rec.tau(dev))
    q = matrix_to_quat(T[:, :3, :3])
    lines = ["object_uid,timestamp[ns],t_wo_x[m],t_wo_y[m],t_wo_z[m],q_wo_w,q_wo_x,q_wo_y,q_wo_z"]
    for ns, Ti, qi in zip(dev - rec.tc_offset_ns, T, q):
        lines.append(f"{HEADSET_UID},{ns},{Ti[0, 3]:.10f},{Ti[1, 3]:.10f},{Ti[2, 3]:.10f},"
                     f"{qi[3]:.12f},{qi[0]:.12f},{qi[1]:.12f},{qi[2]:.12f}")
    write_text(root / "headset_trajectory.csv", lines)
    aria_mps.write_timecode_csv(root / "frames" / "timecode.csv", dev, dev - rec.tc_offset_ns)
    n = len(rec.frame_ns)
    for name, bad in (("headset_pose_available", masked_pose_frame(n)), ("good_exposure", bad_exposure_frame(n))):
        rows = ["timestamp[ns],stream_id,mask"]
        for k, ns in enumerate(rec.frame_ns - rec.tc_offset_ns):
            for stamp, streams in zip((ns, ns + SLAM_DT_NS), MASK_STREAMS[headset]):
                rows += [f"{stamp},{sid},{k != bad}" for sid in streams]
        write_text(root / "masks" / f"mask_{name}.csv", rows)


def write_hot3d_aria(out_dir: Path, sequences: int, seconds: float, seed: int, progress: bool = True) -> list[str]:
    """Write ``sequences`` HOT3D-Aria-like recordings of ``seconds`` each; returns recording names."""
    out_dir, names = Path(out_dir), []
    rays = fisheye_rays(aria_mps.rgb_calibration(ARIA_SIZE))
    with progress_bar(sequences * frame_count(seconds), "hot3d_aria", progress) as bar:
        for k in range(sequences):
            rec = plan_recording("hot3d_aria", seed, k, seconds)
            root, motion = out_dir / rec.name, rec.seq.motion
            write_common(root, rec, "Aria", lambda tau: aria_mps.device_poses(motion.head(tau)))
            write_json(root / "frames" / "calibration.json", [
                aria_mps.calibration_entry("camera-rgb", "214-1", aria_mps.rgb_calibration(ARIA_CALIB_SIZE),
                                           aria_mps.T_DEVICE_RGB),
                aria_mps.calibration_entry("camera-slam-left", "1201-1",
                                           Fisheye624(aria_mps.SLAM_PARAMS_640, 640, 480), np.eye(4))])
            gaze_us = np.arange(rec.frame_ns[0] // 1000 + 1_547, rec.frame_ns[-1] // 1000 + 1, 100_000, dtype=np.int64)
            aria_mps.write_vergence_gaze(root / "mps" / "eye_gaze" / "general_eye_gaze.csv", motion, gaze_us,
                                         rec.t0_ns, deterministic_uuid(rec.seq.rng))
            raw = aria_mps.raw_rgb_poses(motion.head(rec.tau(rec.frame_ns)))
            for ns, T, t in zip(rec.frame_ns, raw, rec.tau(rec.frame_ns)):
                write_jpeg(root / "frames" / "214-1" / f"{ns}.jpg", render(rec.seq.world, T, rays, float(t))[0], 95)
                bar.update(1)
            names.append(rec.name)
    return names


def quest3_lens(scale: float = 1.0) -> Fisheye624:
    lens = Fisheye624(Q3_PARAMS, *Q3_FULL)
    return lens if scale == 1.0 else lens.scaled(scale)


def write_hot3d_quest3(out_dir: Path, sequences: int, seconds: float, seed: int, progress: bool = True) -> list[str]:
    """Write ``sequences`` HOT3D-Quest3-like recordings of ``seconds`` each; returns recording names."""
    out_dir, names = Path(out_dir), []
    rays = fisheye_rays(quest3_lens(Q3_SCALE))
    with progress_bar(sequences * frame_count(seconds), "hot3d_quest3", progress) as bar:
        for k in range(sequences):
            rec = plan_recording("hot3d_quest3", seed, k, seconds)
            root, motion = out_dir / rec.name, rec.seq.motion
            write_common(root, rec, "Quest3", lambda tau: motion.head(tau) @ invert_pose(T_Q3_DEVICE_LEFT))
            write_json(root / "camera_models.json", [
                aria_mps.calibration_entry(label, sid, quest3_lens(), T, hot3d_clips=False)
                for label, sid, T in (("camera-slam-left", "1201-1", T_Q3_DEVICE_LEFT),
                                      ("camera-slam-right", "1201-2", T_Q3_DEVICE_RIGHT))])
            tau = rec.tau(rec.frame_ns)
            for ns, T, t in zip(rec.frame_ns, motion.head(tau), tau):
                rgb = render(rec.seq.world, T, rays, float(t))[0]
                ok, buf = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))
                write_bytes(root / "frames" / "1201-1" / f"{ns}.png", buf.tobytes())
                bar.update(1)
            names.append(rec.name)
    return names
