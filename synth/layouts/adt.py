"""Aria-Digital-Twin-like layout: apartment-scale walking with Aria fisheye RGB, exact
GT depth, GT trajectory and GT gaze, in the extracted form of the real VRS files.

File contract, one folder per sequence ``<out>/Apartment_release_synth_seq<k:03d>_M1292/``::

    metadata.json              serial, scene "Apartment", gt_time_domain "DEVICE_CAPTURE", dataset_version
    frames/214-1/<device_ns>.jpg   128x128 raw (sensor-orientation) RGB through the Aria FISHEYE624 lens,
                                   JPEG q95, 30 Hz with ±0.2 ms jitter (capture_timestamp_ns)
    frames/calibration.json    HOT3D-Clips calibration schema: camera-rgb at 1408x1408 (ADT golden
                               params, T_device_from_camera = CAD T_device_rgb), camera-slam-left identity
    depth/345-1/<gt_ns>.png    uint16 z-depth in millimetres along the raw RGB camera's axis, raw RGB
                               geometry (128x128), 0 = no hit; one per frame, rendered at the GT time
    aria_trajectory.csv        MPS closed-loop schema, T_Scene_Device in a **Y-up** scene
                               (scene = (x, z, -y) of the Z-up world), gravity 0,-9.81,0,
                               utc_timestamp_ns -1, one row per GT time plus 3 after the last frame
    eyegaze.csv                legacy v1 gaze at the same GT times, depth_m = |p_cpf|; blinks missing

GT times are ``gt_ns = (frame_ns // 1000 + 97) * 1000``: like the real sample, ground truth is stamped
~97 µs after each RGB capture timestamp, so the first frame precedes the first GT sample.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from egom2p.cameras import Fisheye624
from egom2p.io import write_bytes, write_json

from .. import aria_mps
from ..common import frame_count, make_sequence, progress_bar, write_jpeg
from ..render import fisheye_rays, render, render_depth

NAME = "adt"
SIZE = 128
GT_DELAY_US = 97
# world (Z-up) -> ADT scene (Y-up): the inverse of the reader's T_world_scene
T_SCENE_WORLD = np.array([[1.0, 0, 0, 0], [0, 0, 1.0, 0], [0, -1.0, 0, 0], [0, 0, 0, 1.0]])


def sequence_name(k: int) -> str:
    return f"Apartment_release_synth_seq{k:03d}_M1292"


def plan_frames(seed: int, k: int, seconds: float):
    """(sequence, t0_ns, frame_ns (n,), gt_ns (n,)) of sequence ``k``."""
    seq = make_sequence(NAME, seed, k, "room", seconds)
    t0_ns = int(seq.rng.uniform(50_000.0, 90_000.0) * 1e9)
    n = frame_count(seconds)
    frame_ns = t0_ns + np.round(np.arange(n) * (1e9 / 30.0) + seq.rng.uniform(-2e5, 2e5, n)).astype(np.int64)
    return seq, t0_ns, frame_ns, (frame_ns // 1000 + GT_DELAY_US) * 1000


def write_adt(out_dir: Path, sequences: int, seconds: float, seed: int, progress: bool = True) -> list[str]:
    """Write ``sequences`` ADT-like sequences of ``seconds`` each; returns folder names."""
    out_dir, names = Path(out_dir), []
    rays = fisheye_rays(aria_mps.rgb_calibration(SIZE))
    with progress_bar(sequences * frame_count(seconds), NAME, progress) as bar:
        for k in range(sequences):
            seq, t0_ns, frame_ns, gt_ns = plan_frames(seed, k, seconds)
            root, motion, name = out_dir / sequence_name(k), seq.motion, sequence_name(k)
            write_json(root / "metadata.json", {
                "serial": "1WM103600M1292", "scene": "Apartment", "is_multi_person": False, "num_skeletons": 0,
                "timecode_enabled": 1, "gt_time_domain": "DEVICE_CAPTURE", "concurrent_sequence": "",
                "dataset_name": "ADT_2023", "dataset_version": "2.0"})
            write_json(root / "frames" / "calibration.json", [
                aria_mps.calibration_entry("camera-rgb", "214-1", aria_mps.rgb_calibration(1408),
                                           aria_mps.T_DEVICE_RGB),
                aria_mps.calibration_entry("camera-slam-left", "1201-1",
                                           Fisheye624(aria_mps.SLAM_PARAMS_640, 640, 480), np.eye(4))])
            gt_us = np.concatenate([gt_ns // 1000, gt_ns[-1] // 1000 + np.arange(1, 4) * 33_328])
            aria_mps.write_closed_loop_trajectory(root / "aria_trajectory.csv", motion, gt_us, t0_ns, None,
                                                  "f2705772-synth", T_out_world=T_SCENE_WORLD)
            aria_mps.write_v1_gaze(root / "eyegaze.csv", motion, gt_us, t0_ns)
            for f_ns, g_ns in zip(frame_ns, gt_ns):
                t_f, t_g = aria_mps.motion_time(np.array([f_ns, g_ns]), t0_ns)
                raw_f, raw_g = aria_mps.raw_rgb_poses(motion.head(np.array([t_f, t_g])))
                write_jpeg(root / "frames" / "214-1" / f"{f_ns}.jpg", render(seq.world, raw_f, rays, float(t_f))[0], 95)
                depth = render_depth(seq.world, raw_g, rays, float(t_g))
                mm = np.clip(np.round(depth * 1000.0), 0, 65535).astype(np.uint16)
                ok, buf = cv2.imencode(".png", mm)
                write_bytes(root / "depth" / "345-1" / f"{g_ns}.png", buf.tobytes())
                bar.update(1)
            names.append(name)
    return names

