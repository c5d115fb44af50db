"""Ego-Exo4D-like layout: room-scale, Aria fisheye RGB, trajectory, gaze; no depth.

File contract (``<k>`` = sequence index, two digits; capture = take name minus its trailing ``_<n>``)::

    <out>/takes.json                     list of takes: take_name "synth_cooking_<k>_1", take_uid,
                                         capture_uid, root_dir "takes/<take_name>", timesync_start_idx,
                                         timesync_end_idx, duration_sec, has_trimmed_eye_gaze true,
                                         frame_aligned_videos.aria01.rgb {cam_id "aria01", stream_id
                                         "214-1", readable_stream_id "camera-rgb", relative_path
                                         "frame_aligned_videos/aria01_214-1.mp4"}, and a few more keys
    <out>/captures/<capture>/timesync.csv
        header aria01_214-1_capture_timestamp_ns,cam01_pts,cam01_frame_number; one row per synced
        instant at 30 Hz (device ns, ±0.3 ms jitter): 10 rows before the take, n take rows, 5 after
    <out>/takes/<take>/frame_aligned_videos/aria01_214-1.mp4
        256x256 H.264 (CRF 18) 30 fps, n = end_idx - start_idx frames; frame i = timesync row
        start_idx + 1 + i, rendered at that row's device time through the FISHEYE624 RGB lens and stored
        rotated 90° clockwise (raw pixel (x, y) -> (W-1-y, x))
    <out>/takes/<take>/trajectory/closed_loop_trajectory.csv
        MPS 20-column schema at 1 kHz from 0.5 s before the first frame to 0.5 s after the last;
        T_world_device with T_world_device = T_world_rawrgb @ inv(T_device_rgb) (CAD), Z-up world
    <out>/takes/<take>/trajectory/online_calibration.jsonl
        10 Hz; camera-slam-left (identity) and camera-rgb (FisheyeRadTanThinPrism, 15 params at
        2880x2880 = ADT golden params scaled by 2880/1408; T_Device_Camera = CAD T_device_rgb)
    <out>/takes/<take>/trajectory/summary.json, eye_gaze/summary.json   MPS status ("SUCCESS")
    <out>/takes/<take>/eye_gaze/general_eye_gaze.csv
        vergence schema (18 columns) at 10 Hz over the take, yaw/pitch in CPF of the world gaze point,
        depth_m = |p_cpf|, bounds ∓0.05 rad, eye origins ±0.0315; blinks are missing rows

Device time of motion time 0 (the take's nominal first frame) is drawn in [2000, 8000] s.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from egom2p.io import write_json
from egom2p.video import write_video

from .. import aria_mps
from ..common import Sequence, deterministic_uuid, frame_count, make_sequence, progress_bar, write_text
from ..render import fisheye_rays, render, rotate_upright

NAME = "egoexo4d"
VIDEO_SIZE = 256
ROWS_BEFORE, ROWS_AFTER = 10, 5
VIDEO_REL = "frame_aligned_videos/aria01_214-1.mp4"
TIMESYNC_HEADER = "aria01_214-1_capture_timestamp_ns,cam01_pts,cam01_frame_number"


@dataclass
class Take:
    """Everything a take's files are derived from (reproducible from (seed, k, seconds))."""
    seq: Sequence
    take_name: str
    capture_name: str
    take_uid: str
    capture_uid: str
    session_uid: str
    graph_uid: str
    t0_ns: int             # device ns at motion time 0
    utc_offset_ns: int     # utc_ns - device_ns
    row_ns: np.ndarray     # (R,) int64 device ns of every timesync row
    start_idx: int         # timesync_start_idx; take frames are rows start_idx+1 .. end_idx
    end_idx: int

    @property
    def frame_ns(self) -> np.ndarray:
        """(n,) device ns of the mp4 frames."""
        return self.row_ns[self.start_idx + 1:self.end_idx + 1]


def plan_take(seed: int, k: int, seconds: float) -> Take:
    """Draw take ``k``: world, motion, names, uids and the device-time base."""
    seq = make_sequence(NAME, seed, k, "room", seconds)
    rng = seq.rng
    n = frame_count(seconds)
    take_name = f"synth_cooking_{k:02d}_1"
    t0_ns = int(rng.uniform(2000.0, 8000.0) * 1e9)
    j = np.arange(ROWS_BEFORE + n + ROWS_AFTER) - ROWS_BEFORE
    row_ns = t0_ns + np.round(j * (1e9 / 30.0) + rng.uniform(-3e5, 3e5, len(j))).astype(np.int64)
    uids = [deterministic_uuid(rng) for _ in range(4)]
    return Take(seq, take_name, take_name.rsplit("_", 1)[0], *uids, t0_ns=t0_ns,
                utc_offset_ns=int(1_700_000_000e9 + rng.uniform(0, 1e16)) - t0_ns, row_ns=row_ns,
                start_idx=ROWS_BEFORE - 1, end_idx=ROWS_BEFORE - 1 + n)


def take_entry(take: Take) -> dict:
    """The take's ``takes.json`` record."""
    return {
        "take_name": take.take_name, "take_uid": take.take_uid, "capture_uid": take.capture_uid,
        "root_dir": f"takes/{take.take_name}", "take_idx": 1,
        "capture": {"capture_name": take.capture_name, "capture_uid": take.capture_uid},
        "timesync_start_idx": take.start_idx, "timesync_end_idx": take.end_idx,
        "duration_sec": (take.end_idx - take.start_idx) / 30.0,
        "task_name": "Cooking", "parent_task_name": "Cooking", "university_name": "synth",
        "is_narrated": False, "validated": True, "best_exo": None,
        "has_trimmed_eye_gaze": True, "has_trimmed_gaze": True, "has_trimmed_trajectory": True,
        "frame_aligned_videos": {"aria01": {"rgb": {"cam_id": "aria01", "stream_id": "214-1",
                                                    "readable_stream_id": "camera-rgb",
                                                    "relative_path": VIDEO_REL}}},
    }


def _frames(take: Take, bar):
    """Upright 256² RGB frames of the take (generator)."""
    rays = fisheye_rays(aria_mps.rgb_calibration(VIDEO_SIZE))
    tau = aria_mps.motion_time(take.frame_ns, take.t0_ns)
    raw = aria_mps.raw_rgb_poses(take.seq.motion.head(tau))
    for t, T in zip(tau, raw):
        rgb, _ = render(take.seq.world, T, rays, float(t))
        bar.update(1)
        yield rotate_upright(rgb)


def gaze_sample_us(take: Take) -> np.ndarray:
    """(K,) device µs of the 10 Hz eye-gaze rows: from 2.547 ms after the first frame to the last frame."""
    first_us, last_us = int(take.frame_ns[0] // 1000), int(take.frame_ns[-1] // 1000)
    return np.arange(first_us + 2_547, last_us + 1, 100_000, dtype=np.int64)


def write_take(out_dir: Path, take: Take, bar) -> None:
    """All files of one take (and its capture's timesync.csv)."""
    root = out_dir / "takes" / take.take_name
    rows = [TIMESYNC_HEADER] + [f"{ns},{(100 + j) * 1001},{100 + j}" for j, ns in enumerate(take.row_ns)]
    write_text(out_dir / "captures" / take.capture_name / "timesync.csv", rows)

    first_us, last_us = int(take.frame_ns[0] // 1000), int(take.frame_ns[-1] // 1000)
    traj_us = np.arange(first_us - 500_000 + 151, last_us + 500_001, 1000, dtype=np.int64)
    calib_us = np.arange(first_us - 500_000 + 2_611, last_us + 500_001, 100_000, dtype=np.int64)
    gaze_us = gaze_sample_us(take)
    motion = take.seq.motion
    aria_mps.write_closed_loop_trajectory(root / "trajectory" / "closed_loop_trajectory.csv", motion, traj_us,
                                          take.t0_ns, take.utc_offset_ns, take.graph_uid)
    aria_mps.write_online_calibration(root / "trajectory" / "online_calibration.jsonl", calib_us,
                                      take.utc_offset_ns)
    aria_mps.write_vergence_gaze(root / "eye_gaze" / "general_eye_gaze.csv", motion, gaze_us, take.t0_ns,
                                 take.session_uid)
    aria_mps.write_summaries(root / "trajectory", root / "eye_gaze")
    write_video(root / VIDEO_REL, _frames(take, bar), fps=30.0, crf=18)


def write_egoexo4d(out_dir: Path, sequences: int, seconds: float, seed: int, progress: bool = True) -> list[str]:
    """Write ``sequences`` Ego-Exo4D-like takes of ``seconds`` each under ``out_dir``; returns take names."""
    out_dir = Path(out_dir)
    entries = []
    with progress_bar(sequences * frame_count(seconds), NAME, progress) as bar:
        for k in range(sequences):
            take = plan_take(seed, k, seconds)
            write_take(out_dir, take, bar)
            entries.append(take_entry(take))
    write_json(out_dir / "takes.json", entries)
    return [e["take_name"] for e in entries]
