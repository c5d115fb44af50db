"""ARCTIC-like layout: tabletop, distorted egocentric view 0, world-to-camera poses.

File contract (``<sid>`` = s01…, ``<seq>`` like ``box_grab_01``)::

    <out>/arctic_data/data/images/<sid>/<seq>/0/<NNNNN>.jpg     280x200 (real 2800x2000), 5-digit 1-based
                                                               stems, DISTORTED (OpenCV rational dist8)
    <out>/arctic_data/data/raw_seqs/<sid>/<seq>.egocam.dist.npy pickled dict (np.save, allow_pickle):
        R_k_cam_np (F,3,3), T_k_cam_np (F,3,1) world->camera (OpenCV axes, metres), intrinsics (3,3),
        dist8 (8,), R0, T0, ego_markers.ref, ego_markers.label
    <out>/arctic_data/data/meta/misc.json   {sid: {"ioi_offset": 2, "image_size": [[280, 200]] * 9, "gender"}}
Image stem s shows GT index ``vidx = s - ioi_offset``; stem 1 (vidx -1) has no ground truth. 30 fps. No
gaze, no depth.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from egom2p.cameras import OpenCVRational
from egom2p.geometry import invert_pose
from egom2p.io import atomic_path, write_bytes

from ..common import frame_count, write_jpeg
from ..frames import iter_sequences, render_frames

NAME = "arctic"
IOI_OFFSET = 2
CAMERA = OpenCVRational(((220.0, 0.0, 139.5), (0.0, 220.0, 99.5), (0.0, 0.0, 1.0)),
                        (0.1, -0.05, 0.0005, -0.0003, 0.01, 0.2, -0.05, 0.01), 280, 200)
SEQUENCES = ("box_grab_01", "capsulemachine_use_01", "espressomachine_grab_01", "ketchup_use_02",
             "laptop_use_01", "mixer_grab_01", "phone_use_01", "scissors_grab_01")


def distorted_rays(cam: OpenCVRational) -> np.ndarray:
    u, v = np.meshgrid(np.arange(cam.width, dtype=np.float64), np.arange(cam.height, dtype=np.float64))
    return cam.unproject(np.stack([u, v], -1))


def write_arctic(out_dir: Path, sequences: int, seconds: float, seed: int, progress: bool = True) -> list[str]:
    data = Path(out_dir) / "arctic_data" / "data"
    n = frame_count(seconds)
    rays = distorted_rays(CAMERA)
    ids, misc = [], {}
    for k, seq, bar in iter_sequences(NAME, "tabletop", sequences, seconds, seed, progress, n + 1):
        sid, name = f"s{k // len(SEQUENCES) + 1:02d}", SEQUENCES[k % len(SEQUENCES)]
        misc[sid] = {"ioi_offset": IOI_OFFSET, "image_size": [[CAMERA.width, CAMERA.height]] * 9, "gender": "male"}
        # one extra leading image (vidx -1) without ground truth, as the offset implies
        frames = list(render_frames(seq, rays, n + 1, bar=bar))
        w2c = invert_pose(np.stack([f.c2w for f in frames[1:]]))
        for f in frames:
            write_jpeg(data / "images" / sid / name / "0" / f"{f.i + 1:05d}.jpg", f.rgb, 95)
        egocam = {"R_k_cam_np": w2c[:, :3, :3], "T_k_cam_np": w2c[:, :3, 3:4],
                  "intrinsics": np.asarray(CAMERA.K), "dist8": np.asarray(CAMERA.dist8),
                  "R0": w2c[0, :3, :3], "T0": w2c[0, :3, 3:4], "ego_markers.ref": np.zeros((4, 3)),
                  "ego_markers.label": ["m0", "m1", "m2", "m3"]}
        target = data / "raw_seqs" / sid / f"{name}.egocam.dist.npy"
        with atomic_path(target) as tmp:
            np.save(tmp, np.array(egocam, dtype=object), allow_pickle=True)
        ids.append(f"{sid}/{name}")
    write_bytes(data / "meta" / "misc.json", json.dumps(misc, indent=1).encode())
    return ids
